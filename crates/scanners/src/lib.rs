/*!
The scanners of qmvc: asking a virus or spam engine about one message,
and asking it for its versions.

This crate owns
- the clamd protocol (`zFILDES`, `zINSTREAM`, `PING`, `VERSION`) over
  unix and TCP endpoints tried in order, with connect and read time-outs
  ([`clamd`]),
- command-line engines: the message handed over as a private file or
  directory in the layer's `tmp/`, removed on every way out, the command
  run without a shell under a time-out, its exit code and output mapped
  to an [`Answer`] ([`command`]),
- the spam engines: SpamAssassin's spamd ([`spamd`]) and rspamd
  ([`rspamd`]), asked and understood the same way ([`spam`]),
- telling "not scanned" names (`Heuristics.Limits.Exceeded`) from viruses.

It does not own what the answer means for the message (the engine crate
applies the policies and `quitasap`) nor which scanners run (the profile).
Every failure is an [`Answer::Failed`]; nothing here panics or blocks
past its time-out.
*/
#![deny(missing_docs)]

pub mod clamd;
pub mod command;
mod connect;
pub mod rspamd;
pub mod spam;
pub mod spamd;
mod spamtext;
#[cfg(feature = "testing")]
pub mod testing;

use std::os::fd::BorrowedFd;
use std::path::Path;
use std::time::Duration;

use qmvc_profile::{EngineDef, Method};

/// What one scanner said about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Nothing found.
    Clean,
    /// Viruses found, by name (at least one).
    Infected(Vec<String>),
    /// The scanner could not scan the message fully (a name listed in
    /// the definition's `unscanned`, such as
    /// `Heuristics.Limits.Exceeded`): why.
    Unscanned(String),
    /// The scanner could not be asked, failed, or timed out: why.
    Failed(String),
}

/// The message as a scanner gets it: its bytes, and the open regular
/// file they are the contents of, when there is one (clamd can be handed
/// its descriptor, see [`clamd`]).
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The whole message.
    pub bytes: &'a [u8],
    /// A descriptor of a regular file holding exactly `bytes`, open for
    /// reading; `None` for a message read from a pipe.
    pub file: Option<BorrowedFd<'a>>,
}

impl<'a> Message<'a> {
    /// A message known only by its bytes.
    pub fn bytes(bytes: &'a [u8]) -> Message<'a> {
        Message { bytes, file: None }
    }
}

/// What [`scan_message`] came to: the answer, and how the message went
/// to the engine when there is more than one way (clamd: `FILDES` or
/// `INSTREAM`), for the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanned {
    /// What the engine said.
    pub answer: Answer,
    /// How the message went: `FILDES`, `INSTREAM`; `None` for engines
    /// with one way only, or when no clamd endpoint was tried.
    pub sent: Option<&'static str>,
}

/// Asks the engine of `definition` about `message` (its bytes only).
/// `spool` is the layer's `tmp/` directory, where command-line engines
/// get their file.
pub fn scan(definition: &EngineDef, message: &[u8], spool: &Path) -> Answer {
    scan_message(definition, Message::bytes(message), spool).answer
}

/// Asks the engine of `definition` about `message`, passing its file to
/// clamd when the definition and the endpoint allow ([`clamd::how`]).
/// `spool` is the layer's `tmp/` directory, where command-line engines
/// get their file.
pub fn scan_message(
    definition: &EngineDef,
    message: Message<'_>,
    spool: &Path,
) -> Scanned {
    let answer = match &definition.method {
        Method::Clamd { endpoints, connect_timeout, fildes } => {
            let scanned = clamd::scan(
                endpoints,
                *connect_timeout,
                definition.timeout,
                message,
                *fildes,
                &definition.unscanned,
            );
            return Scanned {
                answer: scanned.answer,
                sent: scanned.sent.map(clamd::Sent::name),
            };
        }
        Method::Command { argv, target, clean, infected, virus } => {
            command::scan(
                &command::Engine {
                    argv,
                    target: *target,
                    clean,
                    infected,
                    virus: virus.as_ref(),
                    timeout: definition.timeout,
                    unscanned: &definition.unscanned,
                },
                message.bytes,
                spool,
            )
        }
        // Spam engines judge, they find no virus: they are asked
        // through spamd::check and rspamd::check (the spammail probe).
        Method::Spamd { .. } | Method::Rspamd { .. } => {
            Answer::Failed(format!(
                "{} is a spam engine: list it in spamscanners, not scanners",
                definition.method.protocol()
            ))
        }
    };
    Scanned { answer, sent: None }
}

/// Why an engine does not answer `qmvc -s`: every endpoint's or the
/// program's failure, in one line. Reads as the text it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreachable(pub String);

impl std::ops::Deref for Unreachable {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

impl qmvc_fault::Blame for Unreachable {
    /// A scanner that does not answer is usually down for a moment.
    fn fault(&self) -> qmvc_fault::Fault {
        qmvc_fault::Fault::Transient
    }
}

/// What `qmvc -s` reports of one engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Whether the engine answers: `Ok` with what answered (endpoint or
    /// program), `Err` with why not.
    pub reachable: Result<String, Unreachable>,
    /// Engine version, e.g. `ClamAV 1.4.6`.
    pub engine: Option<String>,
    /// Signature version, e.g. `27456`.
    pub signatures: Option<String>,
    /// Signature date as the engine prints it.
    pub date: Option<String>,
}

impl Status {
    /// An engine that did not answer at any of its endpoints: each
    /// endpoint's failure, or that `engine` has no endpoints.
    pub(crate) fn unreachable(failures: Vec<String>, engine: &str) -> Status {
        let why = if failures.is_empty() {
            format!("no {engine} endpoints")
        } else {
            failures.join("; ")
        };
        Status {
            reachable: Err(Unreachable(why)),
            engine: None,
            signatures: None,
            date: None,
        }
    }
}

/// How long `status` waits for a clamd reply or a version command.
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks the engine of `definition` whether it answers, and for its
/// versions.
pub fn status(definition: &EngineDef) -> Status {
    match &definition.method {
        Method::Clamd { endpoints, connect_timeout, .. } => clamd::status(
            endpoints,
            *connect_timeout,
            definition.timeout.min(STATUS_TIMEOUT),
        ),
        Method::Command { argv, .. } => {
            command::status(argv, definition.version.as_deref())
        }
        Method::Spamd { endpoints, connect_timeout } => spamd::status(
            endpoints,
            *connect_timeout,
            definition.timeout.min(STATUS_TIMEOUT),
        ),
        Method::Rspamd { endpoints, connect_timeout } => rspamd::status(
            endpoints,
            *connect_timeout,
            definition.timeout.min(STATUS_TIMEOUT),
        ),
    }
}

/// Whether `text` matches the glob `pattern`: `*` matches any run of
/// characters (also none), every other character only itself; case
/// matters. This is how names in a definition's `unscanned` are read.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and where in `text` it started matching.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if t.get(ti) == Some(&c) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Whether the virus name `name` means "not scanned": it matches one of
/// the `unscanned` globs.
pub fn is_unscanned(name: &str, unscanned: &[String]) -> bool {
    unscanned.iter().any(|g| glob_match(g, name))
}

/// The answer for the names an engine reported: `Infected` with the
/// real viruses among them, or `Unscanned` when every name matches an
/// `unscanned` glob. No names at all count as one unknown virus.
pub fn classify(names: Vec<String>, unscanned: &[String]) -> Answer {
    if names.is_empty() {
        return Answer::Infected(vec!["unknown".to_string()]);
    }
    let (not_scanned, real): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| is_unscanned(n, unscanned));
    if real.is_empty() {
        Answer::Unscanned(not_scanned.join(", "))
    } else {
        Answer::Infected(real)
    }
}

/// A duration for messages: `30 s`, `1.5 s`.
pub(crate) fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} s", (d.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}

/// Text from an engine made fit for one line of a log: control
/// characters replaced, at most `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.trim().chars().count() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let yes = [
            ("Heuristics.Limits.Exceeded*", "Heuristics.Limits.Exceeded"),
            (
                "Heuristics.Limits.Exceeded*",
                "Heuristics.Limits.Exceeded.MaxFileSize",
            ),
            ("Heuristics.Encrypted.*", "Heuristics.Encrypted.Zip"),
            ("*", ""),
            ("*", "abc"),
            ("a*b*c", "aXXbYYc"),
            ("a*b*c", "abbbc"),
            ("*.UNOFFICIAL", "Foo.UNOFFICIAL"),
            ("a?c", "a?c"),
            ("", ""),
        ];
        for (p, t) in yes {
            assert!(glob_match(p, t), "{p} should match {t}");
        }
        let no = [
            ("Heuristics.Encrypted.*", "Heuristics.Encrypted"),
            ("Heuristics.Encrypted.*", "heuristics.encrypted.Zip"),
            ("a*b*c", "aXXbYY"),
            ("a?c", "abc"),
            ("abc", "abcd"),
            ("", "a"),
            ("a.b", "aXb"),
        ];
        for (p, t) in no {
            assert!(!glob_match(p, t), "{p} should not match {t}");
        }
    }

    #[test]
    fn classification() {
        let globs = vec![
            "Heuristics.Limits.Exceeded*".to_string(),
            "Heuristics.Encrypted.*".to_string(),
        ];
        let names = |v: &[&str]| -> Vec<String> {
            v.iter().map(|s| s.to_string()).collect()
        };
        assert_eq!(
            classify(names(&["Eicar"]), &globs),
            Answer::Infected(names(&["Eicar"]))
        );
        assert_eq!(
            classify(
                names(&[
                    "Heuristics.Encrypted.Zip",
                    "Heuristics.Limits.Exceeded"
                ]),
                &globs
            ),
            Answer::Unscanned(
                "Heuristics.Encrypted.Zip, Heuristics.Limits.Exceeded".into()
            )
        );
        assert_eq!(
            classify(names(&["Heuristics.Encrypted.Zip", "Worm.X"]), &globs),
            Answer::Infected(names(&["Worm.X"]))
        );
        assert_eq!(
            classify(names(&["Heuristics.Encrypted.Zip"]), &[]),
            Answer::Infected(names(&["Heuristics.Encrypted.Zip"]))
        );
        assert_eq!(
            classify(vec![], &globs),
            Answer::Infected(names(&["unknown"]))
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(one_line(" a\tb\nc ", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc...");
    }
}
