/*!
The modes of qmvc. Delivering reads the environment and standard input,
loads the profile, calls the delivery library, and leaves the exit code to
[`crate::exit`]; the other modes (`-L`, `-s`, `-z`, `-h`, `-V`) are the
administrator's tools.
*/

use std::fmt;
use std::io::Write;
use std::time::Instant;

use qmvc_delivery::{
    analysis, reactions, spool, Context, Envelope, Mode as RunMode, Outcome,
};
use qmvc_fault::{Blame, Fault};
use qmvc_log::error::Level;
use qmvc_message::{Arena, Message};
use qmvc_profile::{Layers, Profile, Scope};

use crate::cli::{self, Mode, Options};
use crate::exit::{self, Exit};
use crate::{envelope, input};

/// Why a delivery did not come to an outcome: the message is deferred.
enum Failure {
    /// Before the library was called: the layers, the profile, the
    /// message on standard input, the scratch directory of `-t`.
    Setup(String),
    /// In the library.
    Delivery(qmvc_delivery::Error),
}

impl Failure {
    fn fault(&self) -> Fault {
        match self {
            Failure::Setup(_) => Fault::Environment,
            Failure::Delivery(e) => e.fault(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Setup(why) => f.write_str(why),
            Failure::Delivery(e) => write!(f, "{e}"),
        }
    }
}

/// Runs qmvc and returns its exit code.
pub fn run() -> u8 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match cli::parse(&args) {
        Ok(options) => options,
        Err(why) => {
            // A typo in a dot-qmail file must defer mail, not lose it.
            qmvc_process::say!("qmvc: {why}; message deferred (#4.3.5)");
            qmvc_process::esay!("qmvc: {why}\n{}", cli::USAGE);
            return Exit::Defer.code();
        }
    };
    match options.mode {
        Mode::Help => {
            qmvc_process::stdio::out(&cli::help());
            0
        }
        Mode::Version => {
            qmvc_process::say!("qmvc {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Mode::Lint => lint(&options),
        Mode::Config => config(&options),
        Mode::Status => status(&options),
        Mode::Cleanup => cleanup(&options),
        Mode::Deliver | Mode::Test => {
            let started = Instant::now();
            let envelope = envelope::from_env(options.prepend.as_deref());
            let result = deliver(&options, &envelope, started);
            finish(&options, &envelope, result)
        }
    }
}

/// The one place where a delivery's result becomes qmvc's exit code,
/// with what qmail-local reports: a bounce's reason, or a deferral's
/// (once on standard output, once on standard error, once in
/// qmvc.error).
fn finish(
    options: &Options,
    envelope: &Envelope,
    result: Result<Outcome, Failure>,
) -> u8 {
    match result {
        Ok(outcome) => {
            let exit = exit::of_outcome(&outcome);
            if exit == Exit::Bounce && options.mode == Mode::Deliver {
                let reason = outcome.reason();
                qmvc_process::say!(
                    "qmvc: message rejected: {reason} (#5.7.1)"
                );
            }
            exit.code()
        }
        Err(failure) => {
            let exit = exit::of_fault(&failure.fault());
            let reason = qmvc_log::fields::one_line(&failure.to_string());
            // One enhanced status code: a reason that carries its own
            // (`... (#4.7.0)`) gets no second one.
            let code = if has_status_code(&reason) { "" } else { " (#4.3.0)" };
            qmvc_process::say!("qmvc: {reason}{code}");
            qmvc_process::esay!("qmvc: fatal: {reason}");
            if options.mode == Mode::Deliver {
                if let Ok(layers) = layers(options) {
                    let logged = qmvc_delivery::record_error(
                        &layers,
                        envelope,
                        Level::Defer,
                        &reason,
                    );
                    if let Err(e) = logged {
                        qmvc_process::esay!("qmvc: warning: {e}");
                    }
                }
            }
            exit.code()
        }
    }
}

/// Whether `reason` ends in an enhanced status code such as `(#4.7.0)`.
fn has_status_code(reason: &str) -> bool {
    let Some(open) = reason.trim_end().strip_suffix(')') else {
        return false;
    };
    let Some((_, code)) = open.rsplit_once("(#") else { return false };
    let mut parts = code.split('.');
    parts.clone().count() == 3
        && parts
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The layers named by the command line and the environment.
fn layers(options: &Options) -> Result<Layers, String> {
    qmvc_profile::command_line_layers(options.domain.as_deref(), options.user)
}

/// Delivers (or, with `-t`, analyses) the message on standard input.
fn deliver(
    options: &Options,
    envelope: &Envelope,
    started: Instant,
) -> Result<Outcome, Failure> {
    let test = options.mode == Mode::Test;
    let layers = layers(options).map_err(Failure::Setup)?;
    let (profile, problems) =
        Profile::load(&layers, Scope::Needed { noscan: options.noscan })
            .map_err(|e| Failure::Setup(e.to_string()))?;
    if let Some(first) = problems.first() {
        let more = match problems.len() - 1 {
            0 => String::new(),
            n => format!("and {n} more; "),
        };
        return Err(Failure::Setup(format!("{first} ({more}run qmvc -L)")));
    }
    let raw = input::read_stdin()
        .map_err(|e| Failure::Setup(format!("reading the message: {e}")))?;
    // Holds what is decoded from encoded message/rfc822 parts.
    let arena = Arena::default();
    let message = Message::parse_in(&raw, &profile.settings.message, &arena);
    // `-t` writes nothing into the layers: a command-line scanner gets
    // its file in a private directory of the system's that goes again.
    let scratch = if test {
        let dir = tempfile::Builder::new().prefix("qmvc-t.").tempdir();
        Some(dir.map_err(|e| {
            Failure::Setup(format!("cannot make a temporary directory: {e}"))
        })?)
    } else {
        None
    };
    let spool = match &scratch {
        Some(dir) => dir.path().to_path_buf(),
        None => spool::dir(&layers),
    };
    let warn =
        |what: &dyn fmt::Display| qmvc_process::esay!("qmvc: warning: {what}");
    let spam_user = envelope::spam_user(options.prepend.as_deref(), envelope);
    let context = Context {
        layers: &layers,
        envelope,
        raw: &raw,
        file: raw.file(),
        started,
        mode: if test { RunMode::DryRun } else { RunMode::Deliver },
        spool: &spool,
        noscan: options.noscan,
        address_vars: &envelope::address_vars(),
        warn: &warn,
        client: None,
        spam_user: Some(&spam_user),
    };
    let outcome = qmvc_delivery::deliver(&message, &profile, &context)
        .map_err(Failure::Delivery)?;
    if test {
        let parts =
            qmvc_engine::describe_parts(&message, &profile.settings.message);
        let exit = exit::of_outcome(&outcome).code();
        let text =
            analysis::text(&outcome.facts, &parts, &outcome.verdict, exit);
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
    Ok(outcome)
}

/// `-L`: every problem as `FILE:LINE: message`; 0 when clean, 1 if not.
fn lint(options: &Options) -> u8 {
    let layers = match layers(options) {
        Ok(layers) => layers,
        Err(why) => {
            qmvc_process::say!("qmvc: {why}");
            return 1;
        }
    };
    let (profile, problems) = match Profile::load(&layers, Scope::All) {
        Ok(loaded) => loaded,
        Err(e) => {
            qmvc_process::say!("{e}");
            return 1;
        }
    };
    let mut report: Vec<String> =
        problems.iter().map(ToString::to_string).collect();
    report.extend(reactions::lint(&profile, &layers));
    report.extend(qmvc_release::mark::lint(&layers).map(|p| p.to_string()));
    for line in &report {
        qmvc_process::say!("{line}");
    }
    u8::from(!report.is_empty())
}

/// `-C`: the effective profile, file by file with the layer each comes
/// from (see [`qmvc_profile::show`]); 0 even with problems, which `-L`
/// reports.
fn config(options: &Options) -> u8 {
    match layers(options) {
        Ok(layers) => {
            let mut text = qmvc_profile::show(
                &layers,
                &qmvc_notify::built_in_templates(),
            );
            text.push('\n');
            text.push_str(&qmvc_release::mark::describe(&layers));
            qmvc_process::stdio::out(&text);
        }
        Err(why) => qmvc_process::say!("qmvc: {why}"),
    }
    0
}

/// `-s`: for each configured scanner, whether it answers, its engine
/// version and its signature version and date. 0 when every scanner
/// answers, 111 otherwise (a cron job can alert on it).
fn status(options: &Options) -> u8 {
    let layers = match layers(options) {
        Ok(layers) => layers,
        Err(why) => {
            qmvc_process::say!("qmvc: {why}");
            return Exit::Defer.code();
        }
    };
    let profile = match Profile::load(&layers, Scope::All) {
        Ok((profile, _)) => profile,
        Err(e) => {
            qmvc_process::say!("qmvc: {e}");
            return Exit::Defer.code();
        }
    };
    if profile.scanners.is_empty() && profile.spamscanners.is_empty() {
        qmvc_process::say!("no scanner configured (see qmvc-scanners(5))");
        return 0;
    }
    let mut all_answer = true;
    // Virus scanners first, then the spam engines of spamscanners.
    let spam = profile.spamscanners.iter().map(|s| (s, true));
    for (scanner, is_spam) in
        profile.scanners.iter().map(|s| (s, false)).chain(spam)
    {
        let status = qmvc_scanners::status(&scanner.definition);
        let unknown = || "unknown".to_string();
        let reach = match &status.reachable {
            Ok(at) => format!("answers at {at}"),
            Err(why) => {
                all_answer = false;
                format!("NOT REACHABLE: {why}")
            }
        };
        let engine = status.engine.unwrap_or_else(unknown);
        if is_spam {
            // Spam engines have rules, not signatures: the version is
            // all they tell.
            qmvc_process::say!(
                "{} {} ({}): spam engine; {reach}; engine {engine}",
                scanner.initial,
                scanner.engine,
                scanner.full_name,
            );
        } else {
            qmvc_process::say!(
                "{} {} ({}): {reach}; engine {engine}; signatures {}, {}",
                scanner.initial,
                scanner.engine,
                scanner.full_name,
                status.signatures.unwrap_or_else(unknown),
                status.date.unwrap_or_else(unknown),
            );
        }
    }
    if all_answer {
        0
    } else {
        Exit::Defer.code()
    }
}

/// `-z`: removes what killed runs left in the layer's `tmp/`.
fn cleanup(options: &Options) -> u8 {
    let layers = match layers(options) {
        Ok(layers) => layers,
        Err(why) => {
            qmvc_process::say!("qmvc: {why}");
            return Exit::Defer.code();
        }
    };
    let tmp = spool::dir(&layers);
    match spool::remove_stale(&tmp, spool::STALE) {
        Ok(n) => {
            qmvc_process::say!(
                "qmvc: removed {n} stale entries from {}",
                tmp.display()
            );
            0
        }
        Err(e) => {
            qmvc_process::say!("qmvc: cleaning {}: {e}", tmp.display());
            Exit::Defer.code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::has_status_code;

    #[test]
    fn status_codes_are_recognised() {
        assert!(has_status_code("writable; fix with chmod go-w (#4.7.0)"));
        assert!(has_status_code("x (#5.3.4) "));
        assert!(!has_status_code("scanner down"));
        assert!(!has_status_code("odd (#4.x.0)"));
        assert!(!has_status_code("(#4.3)"));
    }
}
