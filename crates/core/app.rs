/*!
The modes of qmvc and the one place where an outcome becomes an exit code.
*/

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use qmvc_engine::{
    describe_parts, evaluate, Disposition, Options as EvalOptions, Verdict,
};
use qmvc_message::Message;
use qmvc_profile::{Action, Layers, Profile, Scope};

use crate::analysis::{self, Facts};
use crate::cli::{self, Mode, Options};
use crate::envelope::Envelope;
use crate::{actions, input, logs, probes, reactions, stamp};

/// How old a file in `tmp/` must be before `-z` removes it.
const STALE: Duration = Duration::from_secs(30 * 3600);

/// A failure that is not the message's fault: exit 111 with `reason` as
/// the first line on standard output.
struct Defer(String);

impl<T: std::fmt::Display> From<T> for Defer {
    fn from(e: T) -> Defer {
        Defer(e.to_string())
    }
}

/// Runs qmvc and returns its exit code.
pub fn run() -> u8 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match cli::parse(&args) {
        Ok(options) => options,
        Err(why) => {
            // A typo in a dot-qmail file must defer mail, not lose it.
            println!("qmvc: {why}; message deferred (#4.3.5)");
            eprintln!("qmvc: {why}\n{}", cli::USAGE);
            return Disposition::Defer.code();
        }
    };
    match options.mode {
        Mode::Help => {
            print!("{}", cli::help());
            0
        }
        Mode::Version => {
            println!("qmvc {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Mode::Lint => lint(&options),
        Mode::Status => status(&options),
        Mode::Cleanup => cleanup(&options),
        Mode::Deliver | Mode::Test => {
            let started = Instant::now();
            let envelope = Envelope::from_env(options.prepend.as_deref());
            match deliver(&options, &envelope, started) {
                Ok(code) => code,
                Err(Defer(reason)) => {
                    let reason = logs::one_line(&reason);
                    println!("qmvc: {reason} (#4.3.0)");
                    eprintln!("qmvc: fatal: {reason}");
                    if options.mode == Mode::Deliver {
                        if let Ok(layers) = layers(&options) {
                            log_error(&layers, &envelope, "defer", &reason);
                        }
                    }
                    Disposition::Defer.code()
                }
            }
        }
    }
}

/// The layers named by the command line and the environment.
fn layers(options: &Options) -> Result<Layers, Defer> {
    let system = std::env::var_os("QMVCHOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/qmvc"));
    let user = if options.user {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .ok_or_else(|| {
                Defer("-u needs HOME set to an absolute path".into())
            })?;
        Some(home.join("qmvc"))
    } else {
        None
    };
    Ok(Layers { system, domain: options.domain.clone(), user })
}

fn log_error(layers: &Layers, envelope: &Envelope, level: &str, reason: &str) {
    let record = logs::line(&[
        &stamp::now_iso(),
        level,
        &envelope.sender,
        &envelope.recipient,
        reason,
    ]);
    if let Err(e) =
        logs::append(layers.state_dir(), "qmvc.error", record.as_bytes())
    {
        eprintln!("qmvc: warning: cannot write qmvc.error: {e}");
    }
}

fn deliver(
    options: &Options,
    envelope: &Envelope,
    started: Instant,
) -> Result<u8, Defer> {
    let test = options.mode == Mode::Test;
    let layers = layers(options)?;
    let (profile, problems) =
        Profile::load(&layers, Scope::Needed { noscan: options.noscan })?;
    if let Some(first) = problems.first() {
        return Err(Defer(
            format!("{first} (and {} more; run qmvc -L)", problems.len() - 1)
                .replace(" (and 0 more; run qmvc -L)", " (run qmvc -L)"),
        ));
    }
    let raw = input::read_stdin()
        .map_err(|e| format!("reading the message: {e}"))?;
    let message = Message::parse(&raw, &profile.settings.message);
    // `-t` writes nothing into the layers: a command-line scanner gets
    // its file in a private directory of the system's that goes again.
    let scratch = if test {
        Some(
            tempfile::Builder::new().prefix("qmvc-t.").tempdir().map_err(
                |e| format!("cannot make a temporary directory: {e}"),
            )?,
        )
    } else {
        None
    };
    let spool = match &scratch {
        Some(dir) => dir.path().to_path_buf(),
        None => layers.state_dir().join("tmp"),
    };
    let mut probes = probes::System {
        message: &raw,
        spool: &spool,
        injector: &profile.reactions.injector,
        dry_run: test,
    };
    let options = EvalOptions { noscan: options.noscan };
    let mut facts = Facts {
        time: stamp::now_iso(),
        size: raw.len(),
        sender: envelope.sender.clone(),
        recipient: envelope.recipient.clone(),
        message_id: message.header.value("message-id").unwrap_or_default(),
        subject: message.header.value("subject").unwrap_or_default(),
        actions: String::new(),
        seconds: 0.0,
    };
    let mut verdict = match evaluate(&message, &profile, &options, &mut probes)
    {
        Ok(verdict) => verdict,
        Err(why) => {
            if !test {
                let unknown = ("-", "0", "");
                log_deferral(&layers, &mut facts, started, unknown);
            }
            return Err(Defer(why));
        }
    };
    facts.actions = actions_field(&verdict);
    let exit = verdict.disposition;
    if test {
        let parts = describe_parts(&message, &profile.settings.message);
        facts.seconds = started.elapsed().as_secs_f64();
        let text = analysis::text(&facts, &parts, &verdict, exit.code());
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        return Ok(exit.code());
    }
    let done = carry_out(
        &layers,
        &profile,
        envelope,
        &message,
        &raw,
        &mut facts,
        &mut verdict,
        started,
    );
    if let Err(Defer(why)) = done {
        let (result, code) = (verdict.result(), verdict.errormail.to_string());
        let known =
            (result.as_str(), code.as_str(), verdict.scanners.as_str());
        log_deferral(&layers, &mut facts, started, known);
        return Err(Defer(why));
    }
    if exit == Disposition::Bounce {
        let reason = logs::one_line(&verdict.reason());
        println!("qmvc: message rejected: {reason} (#5.7.1)");
    }
    Ok(exit.code())
}

/// The effects of a verdict, in an order that never repeats mail on a
/// retry: keep and inspect, then the reactions, then qmvc.rep, warnings
/// and qmvc.log.
#[allow(clippy::too_many_arguments)]
fn carry_out(
    layers: &Layers,
    profile: &Profile,
    envelope: &Envelope,
    message: &Message<'_>,
    raw: &[u8],
    facts: &mut Facts,
    verdict: &mut Verdict,
    started: Instant,
) -> Result<(), Defer> {
    let state = layers.state_dir();
    let recorded = verdict.hits.iter().any(|h| h.action != Action::Trash);
    facts.seconds = started.elapsed().as_secs_f64();
    // The analysis kept beside a message or in inspect/; most messages
    // need none, and rendering it is not free.
    let keeps = verdict.keep_class().is_some() || verdict.has(Action::Inspect);
    let document =
        if keeps { analysis::yaml(facts, verdict) } else { String::new() };
    if let Some(condition) = verdict.keep_class() {
        let class = actions::save_class(condition);
        actions::keep(state, class, raw, &document).map_err(|e| {
            format!("cannot keep the message in save/{class}: {e}")
        })?;
    }
    if verdict.has(Action::Inspect) {
        actions::inspect(state, &envelope.sender, raw, &document).map_err(
            |e| format!("cannot keep the analysis in inspect/: {e}"),
        )?;
    }
    // Reactions after everything local: a local write that fails defers
    // the delivery before any mail went out, so a retry sends nothing
    // twice. The analyses kept above show them as due; qmvc.rep says
    // what became of them.
    let delivery =
        reactions::Delivery { profile, layers, envelope, message, raw };
    reactions::carry_out(&delivery, verdict)?;
    if recorded {
        facts.seconds = started.elapsed().as_secs_f64();
        let document = analysis::yaml(facts, verdict);
        logs::append(state, "qmvc.rep", document.as_bytes())
            .map_err(|e| format!("cannot write log/qmvc.rep: {e}"))?;
    }
    for warning in &verdict.warnings {
        log_error(layers, envelope, "warning", warning);
    }
    facts.seconds = started.elapsed().as_secs_f64();
    let errormail = verdict.errormail.to_string();
    write_log(state, facts, &verdict.result(), &errormail, &verdict.scanners);
    Ok(())
}

/// The qmvc.log line of a deferred delivery: action `defer`, with the
/// conditions met so far when there are any.
fn log_deferral(
    layers: &Layers,
    facts: &mut Facts,
    started: Instant,
    (result, errormail, scanners): (&str, &str, &str),
) {
    facts.actions = "defer".into();
    facts.seconds = started.elapsed().as_secs_f64();
    write_log(layers.state_dir(), facts, result, errormail, scanners);
}

/// Field 4 of qmvc.log: the actions joined by `+`, `pass` for none.
fn actions_field(verdict: &Verdict) -> String {
    let names: Vec<&str> =
        verdict.actions().iter().map(|a| a.name()).collect();
    if names.is_empty() {
        "pass".to_string()
    } else {
        names.join("+")
    }
}

/// The short log line; a failure only warns (it must not defer mail).
fn write_log(
    state: &std::path::Path,
    facts: &Facts,
    result: &str,
    errormail: &str,
    scanners: &str,
) {
    let record = logs::line(&[
        &facts.time,
        result,
        errormail,
        &facts.actions,
        scanners,
        &format!("{:.3}", facts.seconds),
        &facts.size.to_string(),
        &facts.sender,
        &facts.recipient,
        &facts.message_id,
        &facts.subject,
    ]);
    if let Err(e) = logs::append(state, "qmvc.log", record.as_bytes()) {
        eprintln!("qmvc: warning: cannot write log/qmvc.log: {e}");
    }
}

/// `-L`: every problem as `FILE:LINE: message`; 0 when clean, 1 if not.
fn lint(options: &Options) -> u8 {
    let layers = match layers(options) {
        Ok(layers) => layers,
        Err(Defer(why)) => {
            println!("qmvc: {why}");
            return 1;
        }
    };
    let (profile, problems) = match Profile::load(&layers, Scope::All) {
        Ok(loaded) => loaded,
        Err(e) => {
            println!("{e}");
            return 1;
        }
    };
    let mut report: Vec<String> =
        problems.iter().map(ToString::to_string).collect();
    report.extend(reactions::lint(&profile, &layers));
    for line in &report {
        println!("{line}");
    }
    u8::from(!report.is_empty())
}

/// `-s`: for each configured scanner, whether it answers, its engine
/// version and its signature version and date. 0 when every scanner
/// answers, 111 otherwise (a cron job can alert on it).
fn status(options: &Options) -> u8 {
    let layers = match layers(options) {
        Ok(layers) => layers,
        Err(Defer(why)) => {
            println!("qmvc: {why}");
            return Disposition::Defer.code();
        }
    };
    let profile = match Profile::load(&layers, Scope::All) {
        Ok((profile, _)) => profile,
        Err(e) => {
            println!("qmvc: {e}");
            return Disposition::Defer.code();
        }
    };
    if profile.scanners.is_empty() {
        println!("no scanner configured (see qmvc-scanners(5))");
        return 0;
    }
    let mut all_answer = true;
    for scanner in &profile.scanners {
        let status = qmvc_scanners::status(&scanner.definition);
        let unknown = || "unknown".to_string();
        let reach = match &status.reachable {
            Ok(at) => format!("answers at {at}"),
            Err(why) => {
                all_answer = false;
                format!("NOT REACHABLE: {why}")
            }
        };
        println!(
            "{} {} ({}): {reach}; engine {}; signatures {}, {}",
            scanner.initial,
            scanner.engine,
            scanner.full_name,
            status.engine.unwrap_or_else(unknown),
            status.signatures.unwrap_or_else(unknown),
            status.date.unwrap_or_else(unknown),
        );
    }
    if all_answer {
        0
    } else {
        Disposition::Defer.code()
    }
}

/// `-z`: removes what killed runs left in the layer's `tmp/`.
fn cleanup(options: &Options) -> u8 {
    let layers = match layers(options) {
        Ok(layers) => layers,
        Err(Defer(why)) => {
            println!("qmvc: {why}");
            return Disposition::Defer.code();
        }
    };
    let tmp = layers.state_dir().join("tmp");
    match logs::remove_older(&tmp, STALE) {
        Ok(n) => {
            println!("qmvc: removed {n} stale entries from {}", tmp.display());
            0
        }
        Err(e) => {
            println!("qmvc: cleaning {}: {e}", tmp.display());
            Disposition::Defer.code()
        }
    }
}
