/*!
qmvc's end-to-end tests: every test drives the real binary
(`CARGO_BIN_EXE_qmvc`) in a hermetic temporary qmail home, directly or
through a qmail-local emulator, and checks what qmail and the user see:
exit codes, standard output, Maildir, logs, save/ and inspect/.

Run them in release mode (`cargo test --release --test integration`): the
hostile-input tests hold qmvc to real time bounds.
*/

// The harness: qmvctest!, Dir, the runner and the qmail-local emulator.
#[macro_use]
mod macros;
mod util;
// Test messages built in code: MIME trees, base64, zip archives.
mod mail;

// Each condition met, and its near misses not met.
mod conditions;
// Each action: exit code, later dot-qmail lines, qmvc.rep, save/, inspect/.
mod actions;
// Each errormail bit of mailheaders on its own.
mod errormail;
// Archives of every format and disguised names (issue 14).
mod archives;
// Layers: user over domain over system over built-in; state and modes.
mod layers;
// -v PREPEND and -v-: the original recipient.
mod virtual_domain;
// The command line: errors, grouping, -h, -V, -s, -t, -z.
mod cli;
// -L: FILE:LINE: message.
mod lint;
// -C: the effective profile, file by file with its layer.
mod showctl;
// badbodytexts |COMMAND ARGS:RC lines.
mod commands;
// qmvc.log and qmvc.rep: fields, YAML, concurrency.
mod logs;
// Reactions: notifications, guard forwards, the injector, templates.
mod reactions;
// No poison notification, nothing sent or kept twice on a retry.
mod retry;
// virusmail: clamd over unix and TCP, command engines, policies, -n, -s.
mod virus;
// spammail: a real spamd and rspamd, the ladder, max_size, policies, the
// user, -t and -s.
mod spam;
// Memory bounds for 10 MB and 100 MB messages (qmvc(8) RESOURCES).
mod resources;
// Hostile input: time, memory and exit code bounds.
mod hostile;
// The shared corpus in LF and CRLF form.
mod corpus;
// The man pages.
mod man;
// README.md's first command, run verbatim.
mod readme;
// The dot-qmail tests again through the real qmail-local.
mod qmail_local;
// plainmail(8): what it forwards, to whom, how it fails.
mod plainmail;
// Logs written for the aux programs' tests.
mod logbook;
// qmvclog2html(8): the day page of qmvc.log, -m, -c, -D.
mod aux_log2html;
// virulator(8) and blockvirussender(8): qmvc.rep, topvirus_Sender1,
// badmailfrom.
mod aux_virulator;
// qmvcmonth(8) with -a, webcalendar(8), qmvcportal(8).
mod aux_month;
// Every generated page in headless Chromium: no script runs, no console
// error, hostile values shown as text; screenshots.
mod aux_browser;
// qmvc-queue(8): SMTP sessions through the real qmail-smtpd.
mod queue;
// Exit codes with standard output and error closed or a broken pipe.
mod streams;
// The control file syslog: qmvc.log lines to /dev/log.
mod syslog;
// Faults injected: a full disk, killed scanners and qmvc, signals, many
// runs at once.
mod faults;
// scripts/install into a DESTDIR, and the installed programs.
mod install;
// The Debian package (scripts/deb): contents, and a real dpkg install
// into a private root.
mod package;
// qmvc-release(8): -l, a release through the injector, the mark qmvc
// honours once through the real qmail-local.
mod release;
