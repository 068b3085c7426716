/*!
qmvc-queue: the qmvc engine at SMTP time, as a QMAILQUEUE wrapper
(SPEC.md section 7).

qmail-smtpd (or qmail-inject, or anything built with the QMAILQUEUE
patch) runs it instead of qmail-queue: the message on descriptor 0, the
envelope on descriptor 1, a pipe for a reply on descriptor 6. [`run`]
spools the message to the system layer's `tmp/`, reads the envelope,
judges the message for each group of recipients with the same profile and delivery library as
`qmvc` ([`qmvc_delivery::deliver`]), and then queues, refuses, drops or
defers the transaction ([`decision`]); accepted mail goes on to the real
qmail-queue named by the control file `qmailqueue` with an `X-Qmvc`
field on top ([`edge::hand_off`]). Every way out is one of qmail-queue's
exit codes.

The administrator's modes: [`lint`] (`-L`) and [`test()`] (`-t`), which
judges a message and an envelope from files and prints what the SMTP
client would be told, writing nothing.

Installed setuid, it trusts no environment variable but those of
[`TRUSTED_VARIABLES`] ([`setuid_keeps`]): `QMVCHOME` goes (else a local
user could point it at a layer of their own), `PATH` is its own.

The recipients form groups by their layers ([`groups`]): one profile,
delivery and qmvc.log line per group; the message is parsed once and each
scanner asked once ([`qmvc_delivery::deliver_sharing`]). The qmvc.log
lines are written once the transaction is known ([`decision::logged_actions`]):
a group refused beside queued ones was dropped, and says so.
*/
#![deny(missing_docs)]

pub mod decision;
pub mod edge;
pub mod envelope;
pub mod groups;
pub mod spamfields;

use std::os::fd::BorrowedFd;
use std::path::Path;
use std::time::Instant;

use qmvc_delivery::{AddressVars, Answers, Context, Envelope, Mode};
use qmvc_fault::Blame;
use qmvc_log::error::Level;
use qmvc_message::{Arena, Message};
use qmvc_profile::{CustomError, Layers, Profile, Scope};

use decision::{Fate, Handoff, Reply, Transaction};
use edge::ReplyChannel;

/// Exit 81: "internal bug" in qmail-queue(8), for a caught panic or
/// signal.
pub const INTERNAL_BUG: u8 = 81;

/// The variables a setuid qmvc-queue keeps: what qmail-smtpd and
/// tcpserver say about the client (untrusted text, only shown and
/// compared).
pub const TRUSTED_VARIABLES: &[&str] = &[
    "TCPREMOTEIP",
    "TCPREMOTEHOST",
    "TCPREMOTEINFO",
    "TCPLOCALIP",
    "TCPLOCALHOST",
    "TCPLOCALPORT",
    "RELAYCLIENT",
    "PROTO",
];

/// The `PATH` of a setuid qmvc-queue.
pub const SETUID_PATH: &str = "/usr/bin:/bin";

/// Whether a setuid qmvc-queue keeps the variable `name` of its caller.
pub fn setuid_keeps(name: &str) -> bool {
    TRUSTED_VARIABLES.contains(&name)
}

/// Where qmail keeps `control/me`, the host name of the `X-Qmvc` field.
const QMAIL_ME: &str = "/var/qmail/control/me";

/// Runs one transaction and returns the exit code. `reply` is
/// descriptor 6, taken before anything else ran.
pub fn run(reply: &ReplyChannel) -> u8 {
    let started = Instant::now();
    let system = qmvc_profile::system_home();
    // The layers known before the envelope bound the spool (`queuesize`);
    // a problem in them is found again, and deferred, below.
    let base = groups::layers_of(&system, relay(), None, &is_dir);
    let mut first = load(&base).ok();
    let max = first.as_ref().and_then(|p| p.settings.queue_size);
    let spooled = match edge::spool_message(&system.join("tmp"), max) {
        Ok(spooled) => spooled,
        Err(failed) => {
            qmvc_process::esay!(
                "qmvc-queue: {} (exit {})",
                failed.why,
                failed.code
            );
            return failed.code;
        }
    };
    let envelope = match edge::read_envelope() {
        Ok(bytes) => match envelope::parse(&bytes) {
            Ok(envelope) => envelope,
            Err(bad) => {
                qmvc_process::esay!(
                    "qmvc-queue: the envelope on descriptor 1 is {bad:?} (exit {})",
                    bad.code()
                );
                return bad.code();
            }
        },
        Err(failed) => {
            qmvc_process::esay!(
                "qmvc-queue: {} (exit {})",
                failed.why,
                failed.code
            );
            return failed.code;
        }
    };
    let everyone = group_of(&envelope, &all(&envelope));
    let system_only = system_layers(&system);
    let groups = groups::group(&system, relay(), &envelope, &is_dir);
    let mut profiles = Vec::new();
    for group in &groups {
        // Most messages have one group with the layers loaded already.
        let loaded = match first.take() {
            Some(profile) if group.layers == base => Ok(profile),
            other => {
                first = other;
                load(&group.layers)
            }
        };
        match loaded {
            Ok(profile) => profiles.push(profile),
            Err(why) => {
                let customerror = profiles
                    .first()
                    .map_or(CustomError::Auto, |p| p.queue.customerror);
                return defer(
                    reply,
                    customerror,
                    &system_only,
                    &everyone,
                    &why,
                );
            }
        }
    }
    // The first group's setting speaks for the transaction: there is
    // one reply.
    let customerror =
        profiles.first().map_or(CustomError::Auto, |p| p.queue.customerror);
    for profile in &profiles {
        if edge::is_self(&profile.queue.qmailqueue) {
            let why = format!(
                "control file qmailqueue names qmvc-queue itself ({}); name the real qmail-queue",
                profile.queue.qmailqueue.display()
            );
            return defer(reply, customerror, &system_only, &everyone, &why);
        }
    }
    let raw = spooled.bytes();
    let spool = system.join("tmp");
    let judged = judge(&Judging {
        groups: &groups,
        profiles: &profiles,
        envelope: &envelope,
        raw,
        file: spooled.file(),
        size: Size { bytes: spooled.size(), cut: spooled.too_large() },
        started,
        mode: Mode::Queue,
        spool: &spool,
    });
    let fates: Vec<Fate> = judged.iter().map(|j| j.fate.clone()).collect();
    let stamps: Vec<String> = judged.iter().map(|j| j.stamp.clone()).collect();
    let spam_tops: Vec<String> = judged
        .iter()
        .map(|j| j.outcome.as_ref().map(spam_top).unwrap_or_default())
        .collect();
    let remote_ip = std::env::var("TCPREMOTEIP").ok();
    let bounce_only =
        decision::never_refused(&everyone.sender, remote_ip.as_deref());
    let transaction = decision::transaction(&fates, bounce_only);
    if let Err(why) =
        log_groups(&groups, &profiles, judged, &transaction, started)
    {
        return defer(reply, customerror, &system_only, &everyone, &why);
    }
    match transaction {
        Transaction::Queue(queued) => {
            let host = host();
            let mut codes = Vec::new();
            let alone = queued.len() == 1;
            for i in queued {
                let (Some(group), Some(profile), Some(stamp)) =
                    (groups.get(i), profiles.get(i), stamps.get(i))
                else {
                    codes.push(None);
                    break;
                };
                let spam = spam_tops.get(i).map_or("", String::as_str);
                let top = format!("X-Qmvc: {stamp}; {host}\n{spam}");
                // A group a spam engine is asked for carries only our
                // spam fields, never the sender's (SPEC 8).
                let message = if profile.spamscanners.is_empty() {
                    vec![raw]
                } else {
                    spamfields::without_spam_fields(raw)
                };
                let envelope_bytes = envelope.frame(&group.members);
                if alone {
                    if let Err(e) = become_queue(
                        &profile.queue.qmailqueue,
                        top.as_bytes(),
                        &message,
                        &envelope_bytes,
                    ) {
                        qmvc_process::esay!(
                            "qmvc-queue: cannot run {}: {e}; check the control file qmailqueue",
                            profile.queue.qmailqueue.display()
                        );
                        codes.push(None);
                        break;
                    }
                }
                match edge::hand_off(
                    &profile.queue.qmailqueue,
                    top.as_bytes(),
                    &message,
                    &envelope_bytes,
                ) {
                    Ok(code) => codes.push(Some(code)),
                    Err(e) => {
                        qmvc_process::esay!(
                            "qmvc-queue: cannot run {}: {e}; check the control file qmailqueue",
                            profile.queue.qmailqueue.display()
                        );
                        codes.push(None);
                    }
                }
                if codes.last() != Some(&Some(0)) {
                    break;
                }
            }
            match decision::handed_off(&codes) {
                Ok(()) => 0,
                Err(Handoff::PassOn(code)) => code,
                Err(Handoff::Defer) => defer(
                    reply,
                    customerror,
                    &system_only,
                    &everyone,
                    "the queue failed; try again later",
                ),
            }
        }
        Transaction::Drop => 0,
        Transaction::Refuse(text) => {
            answer(reply, customerror, &Reply::Permanent(text))
        }
        Transaction::Defer(why) => {
            defer(reply, customerror, &system_only, &everyone, &why)
        }
    }
}

/// The spam fields of a queued copy (SPEC 8): from the first engine that
/// calls the message spam, else the first that judged it; empty when no
/// engine judged it (not asked, failed, or the message over `max_size`).
fn spam_top(outcome: &qmvc_delivery::Outcome) -> String {
    let spam = &outcome.verdict.spam;
    let Some(first) = spam.iter().find(|s| s.spam).or(spam.first()) else {
        return String::new();
    };
    spamfields::fields(&spamfields::Judgement {
        spam: first.spam,
        score: &first.score,
        required: &first.required,
        tests: &first.symbols,
    })
}

/// The size of the message, for `queuesize`.
#[derive(Clone, Copy)]
struct Size {
    /// The bytes read.
    bytes: u64,
    /// Whether the spool stopped short of them: the message is too large
    /// whatever a group allows.
    cut: bool,
}

/// What [`judge`] needs: the groups, their profiles, the message.
struct Judging<'a> {
    groups: &'a [groups::Group],
    profiles: &'a [Profile],
    envelope: &'a envelope::Envelope,
    raw: &'a [u8],
    /// The spool file `raw` is mapped from, open for reading only.
    file: Option<BorrowedFd<'a>>,
    size: Size,
    started: Instant,
    mode: Mode,
    spool: &'a Path,
}

/// One group judged.
struct Judged {
    /// What becomes of it.
    fate: Fate,
    /// `RESULT; INITIALS` of its `X-Qmvc` field.
    stamp: String,
    /// What the delivery found; `None` when it failed or the message
    /// was too large to judge.
    outcome: Option<qmvc_delivery::Outcome>,
    /// The facts of a message refused unexamined for `queuesize`, for
    /// its qmvc.log line.
    unexamined: Option<qmvc_delivery::analysis::Facts>,
    /// The parts as `-t` shows them (a dry run only).
    parts: Vec<qmvc_engine::PartDetail>,
}

/// Judges the message for every group, in order: one parse (again only
/// for a group that parses differently) and one scan per scanner
/// ([`qmvc_delivery::deliver_sharing`]). A group whose `queuesize` the
/// message exceeds is refused without a look.
fn judge(what: &Judging<'_>) -> Vec<Judged> {
    let arena = Arena::default();
    let parsed = if what.size.cut {
        Vec::new()
    } else {
        parse_once(what.raw, what.profiles, &arena)
    };
    let warn = |w: &dyn std::fmt::Display| {
        qmvc_process::esay!("qmvc-queue: warning: {w}")
    };
    let vars = AddressVars::default();
    let client = smtp_client();
    let answers = Answers::default();
    let mut judged = Vec::new();
    for (i, (group, profile)) in
        what.groups.iter().zip(what.profiles).enumerate()
    {
        let allowed = profile.settings.queue_size;
        let message = parsed.get(i);
        let message = match message {
            Some(m) if !decision::too_large(what.size.bytes, allowed) => m,
            _ => {
                let envelope = group_of(what.envelope, &group.members);
                let facts = qmvc_delivery::analysis::Facts::unexamined(
                    &envelope,
                    what.raw,
                    client.as_ref(),
                    "block",
                );
                judged.push(Judged {
                    fate: Fate::Refuse(decision::TOO_LARGE.into()),
                    stamp: String::new(),
                    outcome: None,
                    unexamined: Some(facts),
                    parts: Vec::new(),
                });
                continue;
            }
        };
        let envelope = group_of(what.envelope, &group.members);
        let context = Context {
            layers: &group.layers,
            envelope: &envelope,
            raw: what.raw,
            file: what.file,
            started: what.started,
            mode: what.mode,
            spool: what.spool,
            noscan: false,
            address_vars: &vars,
            warn: &warn,
            client: client.as_ref(),
            // SPEC 8: the full recipient of a one-recipient group; a
            // larger group gets the definition's user.
            spam_user: (group.members.len() == 1)
                .then_some(envelope.recipient.as_str()),
        };
        let one = match qmvc_delivery::deliver_sharing(
            message, profile, &context, &answers,
        ) {
            Ok(outcome) => {
                let initials = match outcome.verdict.scanners.as_str() {
                    "" => "-".to_string(),
                    s => s.to_string(),
                };
                let stamp =
                    format!("{}; {initials}", outcome.verdict.result());
                let fate = decision::fate(
                    outcome.disposition,
                    &outcome.actions(),
                    &outcome.reason(),
                );
                Judged {
                    fate,
                    stamp,
                    outcome: Some(outcome),
                    unexamined: None,
                    parts: Vec::new(),
                }
            }
            Err(e) => {
                let why = format!("{e} ({:?})", e.fault());
                Judged {
                    fate: Fate::Defer(qmvc_log::fields::one_line(&why)),
                    stamp: String::new(),
                    outcome: None,
                    unexamined: None,
                    parts: Vec::new(),
                }
            }
        };
        let parts = if what.mode == Mode::DryRun {
            qmvc_engine::describe_parts(message, &profile.settings.message)
        } else {
            Vec::new()
        };
        judged.push(Judged { parts, ..one });
    }
    judged
}

/// Writes each judged group's qmvc.log line to the system layer once
/// the transaction is known: a group refused beside queued ones (or a
/// bounce's refusal) is logged as dropped, every group of a deferred
/// transaction as deferred. A dropped group's line is its only trace:
/// when it cannot be written, `Err` (the transaction is deferred, with
/// nothing queued yet).
fn log_groups(
    groups: &[groups::Group],
    profiles: &[Profile],
    judged: Vec<Judged>,
    transaction: &Transaction,
    started: Instant,
) -> Result<(), String> {
    let warn = |what: &dyn std::fmt::Display| {
        qmvc_process::esay!("qmvc-queue: warning: {what}")
    };
    for ((group, profile), one) in groups.iter().zip(profiles).zip(judged) {
        // Refused for queuesize, a group was not examined: its facts
        // alone, with `block` (or `trash` when dropped beside queued
        // groups) as any refusal.
        let (mut outcome, mut unexamined) = (one.outcome, one.unexamined);
        let facts = match (outcome.as_mut(), unexamined.as_mut()) {
            (Some(outcome), _) => &mut outcome.facts,
            (None, Some(facts)) => facts,
            (None, None) => continue,
        };
        let (actions, needed) =
            decision::logged_actions(&one.fate, transaction, &facts.actions);
        facts.actions = actions;
        facts.seconds = started.elapsed().as_secs_f64();
        let layers = &group.layers;
        let written = match (&outcome, &unexamined) {
            (Some(outcome), _) => {
                qmvc_delivery::log_line(profile, layers, outcome, &warn)
            }
            (None, Some(facts)) => {
                qmvc_delivery::log_unexamined(profile, layers, facts, &warn)
            }
            (None, None) => continue,
        };
        if let Err(e) = written {
            if needed {
                return Err(format!("cannot log a dropped group: {e}"));
            }
            qmvc_process::esay!("qmvc-queue: warning: {e}");
        }
    }
    Ok(())
}

/// Whether the client is an authorised or local one: `RELAYCLIENT` set,
/// even empty (qmail-smtpd's own test).
fn relay() -> bool {
    std::env::var_os("RELAYCLIENT").is_some()
}

/// Whether a domain layer directory exists.
fn is_dir(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// Every recipient's index.
fn all(envelope: &envelope::Envelope) -> Vec<usize> {
    (0..envelope.recipients.len()).collect()
}

/// The message parsed once for every group: again only for a group whose
/// profile parses differently (its `limits` differ).
fn parse_once<'a>(
    raw: &'a [u8],
    profiles: &[Profile],
    arena: &'a Arena,
) -> Vec<Message<'a>> {
    let mut parsed: Vec<Message<'a>> = Vec::new();
    for (i, profile) in profiles.iter().enumerate() {
        let settings = &profile.settings.message;
        let same = profiles
            .get(..i)
            .unwrap_or_default()
            .iter()
            .zip(&parsed)
            .find(|(earlier, _)| earlier.settings.message == *settings)
            .map(|(_, message)| message.clone());
        parsed.push(
            same.unwrap_or_else(|| Message::parse_in(raw, settings, arena)),
        );
    }
    parsed
}

/// The system layer alone, holding the records of every group.
fn system_layers(system: &Path) -> Layers {
    Layers::new(system.to_path_buf(), None, None)
}

/// The domain layers under `system`: the names of the directories in
/// `domains/`, sorted (a name that is not UTF-8 is no domain qmvc-queue
/// would look up).
fn domain_names(system: &Path) -> Vec<String> {
    let mut domains: Vec<String> =
        match std::fs::read_dir(system.join(groups::DOMAINS_DIR)) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter(|e| is_dir(&e.path()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(_) => Vec::new(),
        };
    domains.sort();
    domains
}

/// `-C`: the queue profile as [`qmvc_profile::show`] shows it: the
/// system layer alone, with `relay/` above it (saying whether a client
/// with `RELAYCLIENT` set would get it), and each `domains/DOMAIN/`
/// above the system layer. Always 0: problems are `-L`'s job.
pub fn config() -> u8 {
    let system = qmvc_profile::system_home();
    let templates = qmvc_notify::built_in_templates();
    let mut out = String::new();
    let mut section = |title: String, layers: &qmvc_profile::Layers| {
        out.push_str(&format!("=== {title}\n"));
        out.push_str(&qmvc_profile::show(layers, &templates));
        out.push('\n');
    };
    section(
        "the system layer: a client without RELAYCLIENT, a recipient \
         without a domain layer"
            .into(),
        &system_layers(&system),
    );
    let relay_dir = system.join(groups::RELAY_DIR);
    let relay = is_dir(&relay_dir);
    if relay {
        section(
            format!(
                "relay/ ({}): used for a client with RELAYCLIENT set, \
                 between the system and the domain layer",
                relay_dir.display()
            ),
            &groups::layers_of(&system, true, None, &is_dir),
        );
    }
    let domains = domain_names(&system);
    for domain in &domains {
        let with_relay = if relay {
            "; with RELAYCLIENT set, relay/ is between the two"
        } else {
            ""
        };
        section(
            format!(
                "domains/{domain}/: recipients at {domain}, above the \
                 system layer{with_relay}"
            ),
            &groups::layers_of(&system, false, Some(domain), &is_dir),
        );
    }
    let relay_note = if relay {
        "relay/: present, used when RELAYCLIENT is set".to_string()
    } else {
        format!(
            "relay/: none ({} is not a directory): RELAYCLIENT changes \
             nothing",
            relay_dir.display()
        )
    };
    out.push_str(&format!(
        "=== summary\n{relay_note}\ndomain layers: {}\n",
        if domains.is_empty() { "none".into() } else { domains.join(", ") }
    ));
    qmvc_process::stdio::out(&out);
    0
}

/// `-L`: every problem of the queue profile, of the system layer alone,
/// with `relay/` and with each `domains/DOMAIN/` above it, as
/// `FILE:LINE: message` on standard output (each line once); 0 when
/// clean, 1 if not.
pub fn lint() -> u8 {
    let system = qmvc_profile::system_home();
    let mut stacks = vec![system_layers(&system)];
    let relay_dir = system.join(groups::RELAY_DIR);
    if is_dir(&relay_dir) {
        stacks.push(groups::layers_of(&system, true, None, &is_dir));
    }
    for domain in &domain_names(&system) {
        for relay in [false, true] {
            if relay && !is_dir(&relay_dir) {
                continue;
            }
            stacks.push(groups::layers_of(
                &system,
                relay,
                Some(domain),
                &is_dir,
            ));
        }
    }
    let mut report: Vec<String> = Vec::new();
    for layers in &stacks {
        let lines = match Profile::load(layers, Scope::All) {
            Ok((profile, problems)) => {
                let mut lines: Vec<String> =
                    problems.iter().map(ToString::to_string).collect();
                lines.extend(qmvc_delivery::reactions::lint(&profile, layers));
                lines
            }
            Err(e) => vec![e.to_string()],
        };
        for line in lines {
            if !report.contains(&line) {
                report.push(line);
            }
        }
    }
    for line in &report {
        qmvc_process::say!("{line}");
    }
    u8::from(!report.is_empty())
}

/// The largest message `-t` reads.
const TEST_MAX: u64 = 1 << 30;

/// The SMTP client as qmail-smtpd's environment describes it (untrusted
/// text, see [`qmvc_log::rep::Client`]); a value that is not UTF-8 is
/// shown with replacement characters rather than dropped.
fn smtp_client() -> Option<qmvc_log::rep::Client> {
    qmvc_log::rep::Client::from_vars(|name| {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    })
}

/// `-t ENVELOPE [MESSAGE]`: judges the message in the file `message`
/// (standard input when `None`) for the envelope in the file `envelope`
/// (qmail-queue's framing), grouping its recipients as a real run would
/// (with `RELAYCLIENT` as set), prints each group's analysis and the
/// SMTP reply the client would get, and writes nothing (scanners get
/// their copy in a private temporary directory). Returns what a run with
/// a pipe on descriptor 6 would: 0 queued or dropped, 82 refused or
/// deferred, the envelope's code for a bad envelope, 54 when a file
/// cannot be read.
pub fn test(envelope: &Path, message: Option<&Path>) -> u8 {
    use std::io::Read;
    let started = Instant::now();
    let bytes = match std::fs::read(envelope) {
        Ok(bytes) => bytes,
        Err(e) => {
            qmvc_process::say!("qmvc-queue: {}: {e}", envelope.display());
            return 54;
        }
    };
    let envelope = match envelope::parse(&bytes) {
        Ok(envelope) => envelope,
        Err(bad) => {
            qmvc_process::say!(
                "qmvc-queue: the envelope is {bad:?} (exit {})",
                bad.code()
            );
            return bad.code();
        }
    };
    let mut raw = Vec::new();
    let read = match message {
        Some(path) => std::fs::File::open(path)
            .and_then(|f| f.take(TEST_MAX).read_to_end(&mut raw)),
        None => std::io::stdin().lock().take(TEST_MAX).read_to_end(&mut raw),
    };
    if let Err(e) = read {
        qmvc_process::say!("qmvc-queue: reading the message: {e}");
        return 54;
    }
    let system = qmvc_profile::system_home();
    let groups = groups::group(&system, relay(), &envelope, &is_dir);
    let told = |reply: &str, code: u8| {
        qmvc_process::say!("SMTP reply: {reply}");
        code
    };
    let mut profiles = Vec::new();
    for group in &groups {
        match load(&group.layers) {
            Ok(profile) => profiles.push(profile),
            Err(why) => {
                return told(
                    &format!("451 {}", decision::reply_text(&why)),
                    82,
                )
            }
        }
    }
    let scratch =
        match tempfile::Builder::new().prefix("qmvc-queue-t.").tempdir() {
            Ok(dir) => dir,
            Err(e) => {
                qmvc_process::say!(
                    "qmvc-queue: cannot make a temporary directory: {e}"
                );
                return 53;
            }
        };
    let judged = judge(&Judging {
        groups: &groups,
        profiles: &profiles,
        envelope: &envelope,
        raw: &raw,
        file: None,
        size: Size { bytes: raw.len() as u64, cut: false },
        started,
        mode: Mode::DryRun,
        spool: scratch.path(),
    });
    let fates: Vec<Fate> = judged.iter().map(|j| j.fate.clone()).collect();
    let remote_ip = std::env::var("TCPREMOTEIP").ok();
    let sender = envelope::Envelope::text(&envelope.sender);
    let bounce_only = decision::never_refused(&sender, remote_ip.as_deref());
    let (reply, code) = match decision::transaction(&fates, bounce_only) {
        Transaction::Queue(_) => ("250 ok (queued)".to_string(), 0),
        Transaction::Drop => {
            ("250 ok (dropped, nothing queued)".to_string(), 0)
        }
        Transaction::Refuse(text) => {
            (format!("554 {}", decision::reply_text(&text)), 82)
        }
        Transaction::Defer(text) => {
            (format!("451 {}", decision::reply_text(&text)), 82)
        }
    };
    for (group, one) in groups.iter().zip(&judged) {
        if groups.len() > 1 {
            let recipients = group_of(&envelope, &group.members).recipient;
            qmvc_process::say!("Group {recipients}: {:?}", one.fate);
        }
        if let Some(outcome) = &one.outcome {
            let text = qmvc_delivery::analysis::text(
                &outcome.facts,
                &one.parts,
                &outcome.verdict,
                code,
            );
            qmvc_process::stdio::out(&text);
        }
    }
    told(&reply, code)
}

/// The delivery envelope of the recipients `members`: the sender, the
/// recipients joined by `,` (field 9 of qmvc.log).
fn group_of(envelope: &envelope::Envelope, members: &[usize]) -> Envelope {
    let recipients: Vec<String> = members
        .iter()
        .filter_map(|&i| envelope.recipients.get(i))
        .map(|r| envelope::Envelope::text(r))
        .collect();
    Envelope {
        sender: envelope::Envelope::text(&envelope.sender),
        recipient: recipients.join(","),
    }
}

/// The profile of a group's layers; a problem in it is a deferral.
fn load(layers: &Layers) -> Result<Profile, String> {
    let (profile, problems) =
        Profile::load(layers, Scope::Queue).map_err(|e| e.to_string())?;
    if let Some(first) = problems.first() {
        return Err(format!("{first} (run qmvc-queue -L)"));
    }
    Ok(profile)
}

/// A temporary refusal for `why`, recorded in qmvc.error and on
/// standard error.
/// Becomes the real qmail-queue `program` for the one queued group
/// ([`edge::exec_hand_off`]): `top` and the `message` spans in one pipe
/// as its descriptor 0, the `envelope` in another as its descriptor 1,
/// both written beforehand, so that no process of ours waits in between.
/// Returns `Ok` when the pipes cannot hold them (the caller's child and
/// pipes then do it); `Err` is qmail-queue that could not be run.
fn become_queue(
    program: &Path,
    top: &[u8],
    message: &[&[u8]],
    envelope: &[u8],
) -> std::io::Result<()> {
    let mut parts = vec![top];
    parts.extend_from_slice(message);
    let Ok(Some(message)) = edge::filled_pipe(&parts) else {
        return Ok(());
    };
    let Ok(Some(envelope)) = edge::filled_pipe(&[envelope]) else {
        return Ok(());
    };
    Err(edge::exec_hand_off(program, message, envelope))
}

fn defer(
    reply: &ReplyChannel,
    customerror: CustomError,
    layers: &Layers,
    group: &Envelope,
    why: &str,
) -> u8 {
    let why = qmvc_log::fields::one_line(why);
    qmvc_process::esay!("qmvc-queue: deferred: {why}");
    if let Err(e) =
        qmvc_delivery::record_error(layers, group, Level::Defer, &why)
    {
        qmvc_process::esay!("qmvc-queue: warning: {e}");
    }
    answer(reply, customerror, &Reply::Temporary(format!("{why} (#4.3.0)")))
}

/// Puts `answer` on descriptor 6 when `customerror` allows, else into
/// the exit code alone.
fn answer(
    reply: &ReplyChannel,
    customerror: CustomError,
    answer: &Reply,
) -> u8 {
    let (bytes, code) = answer.render(reply.usable(customerror));
    match bytes {
        Some(bytes) if reply.write(&bytes) => code,
        Some(_) => answer.render(false).1,
        None => code,
    }
}

/// The host of the `X-Qmvc` field: qmail's `control/me`, else this
/// host's name; only letters, digits, `.` and `-`.
fn host() -> String {
    let me = qmvc_qmail::read(Path::new(QMAIL_ME))
        .ok()
        .flatten()
        .and_then(|text| qmvc_qmail::control::me(&text).map(str::to_owned))
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 253
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
                })
        });
    me.unwrap_or_else(qmvc_notify::local_host)
}

#[cfg(test)]
mod tests {
    #[test]
    fn setuid_keeps_only_the_client_data() {
        for name in ["TCPREMOTEIP", "RELAYCLIENT", "PROTO"] {
            assert!(super::setuid_keeps(name));
        }
        for name in ["QMVCHOME", "PATH", "HOME", "LD_PRELOAD", "QMAILQUEUE"] {
            assert!(!super::setuid_keeps(name), "{name}");
        }
    }
}
