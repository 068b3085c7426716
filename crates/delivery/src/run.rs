/*!
One delivery from verdict to logs, in an order that never repeats mail on
a retry: evaluate; keep and inspect; the reactions decided; qmvc.rep (what
is due); the reactions sent; the warnings in qmvc.error and the qmvc.log
line; each step that must not happen twice noted in the delivery's
journal ([`crate::journal`]) as it is done, so that a retry resumes. A
failure after the message was read leaves a qmvc.log line with the action
`defer`.
*/

use qmvc_engine::{evaluate, Disposition, Options, ReactionStatus, Verdict};
use qmvc_log::error::{Entry, Level};
use qmvc_log::{Logs, Stamp};
use qmvc_message::Message;
use qmvc_profile::{Action, Layers, Profile};

use crate::analysis::{self, Facts};
use crate::journal::{self, Journal};
use crate::probes::{Answers, System};
use crate::{
    actions, reactions, spool, Context, Envelope, Error, Mode, Outcome,
};

/// Evaluates `profile` against `message` and, unless `context.mode` is
/// [`Mode::DryRun`], carries out what the verdict asks and writes the
/// logs. `Err` means the message must be tried again later; a qmvc.log
/// line with the action `defer` is written then (not in a dry run), but
/// no qmvc.error line: the front end writes that one, for every
/// deferral it decides on ([`record_error`]).
pub fn deliver(
    message: &Message<'_>,
    profile: &Profile,
    context: &Context<'_>,
) -> Result<Outcome, Error> {
    deliver_sharing(message, profile, context, &Answers::default())
}

/// [`deliver`], for one of several deliveries of the same message (the
/// groups of qmvc-queue): a scanner already asked about the message in
/// `answers` is not asked again, and what a scanner says goes into
/// `answers`.
pub fn deliver_sharing(
    message: &Message<'_>,
    profile: &Profile,
    context: &Context<'_>,
    answers: &Answers,
) -> Result<Outcome, Error> {
    let dry_run = context.mode == Mode::DryRun;
    // The envelope recipients: one in dot-qmail mode, the group's
    // (joined by commas in the envelope) in queue mode.
    let recipients: Vec<String> = context
        .envelope
        .recipient
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    let mut probes = System {
        message: context.raw,
        file: context.file,
        spool: context.spool,
        injector: &profile.reactions.injector,
        dry_run,
        answers,
        sender: &context.envelope.sender,
        recipients: &recipients,
        client_ip: context.client.map(|c| c.ip.as_str()),
        spam_user: context.spam_user,
    };
    let options = Options { noscan: context.noscan };
    let mut facts = Facts {
        time: Stamp::now(),
        size: context.raw.len(),
        sender: context.envelope.sender.clone(),
        recipient: context.envelope.recipient.clone(),
        message_id: message.header.value("message-id").unwrap_or_default(),
        subject: message.header.value("subject").unwrap_or_default(),
        actions: String::new(),
        seconds: 0.0,
        client: context.client.cloned(),
    };
    if context.mode != Mode::Queue {
        if let Some(outcome) = released(profile, context, message, &mut facts)
        {
            return Ok(outcome);
        }
    }
    let mut verdict = match evaluate(message, profile, &options, &mut probes) {
        Ok(verdict) => verdict,
        Err(e) => {
            if !dry_run {
                log_deferral(profile, context, &mut facts, None);
            }
            return Err(Error::Evaluation(e));
        }
    };
    facts.actions = actions_field(&verdict);
    if !dry_run {
        if let Err(e) =
            carry_out(profile, context, message, &mut facts, &mut verdict)
        {
            log_deferral(profile, context, &mut facts, Some(&verdict));
            return Err(e);
        }
    }
    facts.seconds = context.started.elapsed().as_secs_f64();
    Ok(Outcome { disposition: verdict.disposition, verdict, facts })
}

/// The outcome of a message that qmvc-release let go (SPEC 11): one
/// whose first `X-Qmvc-Released` field verifies under the
/// `control/releasekey` of the layer that keeps the copies
/// ([`qmvc_release::mark::key_layer`]). It passes
/// unexamined, with a qmvc.log line whose action is `release` (not in
/// a dry run); a failure to write that line only warns, as for any
/// message that passes. `None` for any other message, a mark that does
/// not verify included: that one is evaluated as usual. A key that
/// cannot be read is a warning, and the message is evaluated as usual
/// (kept again, never lost).
fn released(
    profile: &Profile,
    context: &Context<'_>,
    message: &Message<'_>,
    facts: &mut Facts,
) -> Option<Outcome> {
    use qmvc_release::mark;
    if !mark::is_marked(&message.header) {
        return None;
    }
    let key = match mark::Key::read(mark::key_layer(context.layers)) {
        Ok(key) => key,
        Err(e) => {
            (context.warn)(&format!(
                "{e}; the {} mark of this message is not honoured",
                mark::FIELD
            ));
            return None;
        }
    };
    mark::check(&key, &message.header, context.raw)?;
    let verdict = Verdict::passing();
    facts.actions = "release".into();
    facts.seconds = context.started.elapsed().as_secs_f64();
    if context.mode != Mode::DryRun {
        if let Err(e) = write_log(profile, context, facts, Some(&verdict)) {
            (context.warn)(&e);
        }
    }
    Some(Outcome {
        disposition: Disposition::Continue,
        verdict,
        facts: facts.clone(),
    })
}

/// The effects of a verdict, in an order that a retry can resume
/// without repeating anything (qmvc-log(5) and qmvc(8) say it too):
/// keep and inspect; the reactions decided and rendered; qmvc.rep, which
/// says what is due; the reactions sent; the warnings in qmvc.error and
/// the qmvc.log line. A message with anything to keep, record or send
/// has a journal ([`Journal`]) that holds each of these steps once done,
/// so that the retry of a deferral skips them.
///
/// What a message needs written before it may leave: a message that
/// stops (block, keep, bounce) needs its qmvc.rep document (and for
/// keep, its copy), written before any reaction goes out, else it is
/// deferred; a trashed message needs its qmvc.log line, the only trace
/// of it (it has no qmvc.rep), else it is deferred (nothing sent twice:
/// the journal); a message that passes (no condition, or only inspect
/// whose copy was kept) is delivered even when its qmvc.rep or qmvc.log
/// cannot be written, with a warning.
fn carry_out(
    profile: &Profile,
    context: &Context<'_>,
    message: &Message<'_>,
    facts: &mut Facts,
    verdict: &mut Verdict,
) -> Result<(), Error> {
    let state = context.layers.state_dir();
    let recorded = verdict.hits.iter().any(|h| h.action != Action::Trash);
    let stops = verdict.disposition != Disposition::Continue;
    let trashed = stops && !recorded;
    let keeps = verdict.keep_class().is_some() || verdict.has(Action::Inspect);
    let reacts = verdict
        .hits
        .iter()
        .any(|h| h.reactions.iter().any(|p| p.status == ReactionStatus::Due));
    // The journal, for a message with anything that must not happen
    // twice; a message that passes untouched hashes nothing.
    let mut journal = if keeps || reacts || recorded {
        let envelope = context.envelope;
        let key =
            journal::key(&envelope.sender, &envelope.recipient, context.raw);
        Some(
            Journal::open(&spool::dir(context.layers), &key)
                .map_err(Error::Journal)?,
        )
    } else {
        None
    };
    facts.seconds = context.started.elapsed().as_secs_f64();
    // The analysis kept beside a message or in inspect/; most messages
    // need none, and rendering it is not free. It shows the reactions
    // as due.
    let document =
        if keeps { analysis::yaml(facts, verdict) } else { String::new() };
    // The kept copy's ID for qmvc.rep's `saved:` (qmvc-release(8)),
    // from the journal on a retry.
    let mut saved = String::new();
    if let (Some(condition), Some(journal)) =
        (verdict.keep_class(), journal.as_mut())
    {
        let class = actions::save_class(condition);
        match journal.value("kept") {
            Some(path) => saved = file_name(std::path::Path::new(path)),
            None => {
                // The name goes into the journal before the copy is made,
                // so that a try killed between putting the copy in place
                // and noting it as kept is not kept twice by the retry.
                let (name, retry) = match journal.value("keeping") {
                    Some(name) if actions::is_keep_name(name) => {
                        (name.to_string(), true)
                    }
                    _ => {
                        let name = actions::keep_name();
                        note(context, journal, &format!("keeping {name}"));
                        (name, false)
                    }
                };
                let kept = actions::keep(
                    state,
                    class,
                    &name,
                    retry,
                    context.raw,
                    &document,
                )
                .map_err(|source| Error::Keep { class, source })?;
                saved = file_name(&kept);
                note(context, journal, &format!("kept {}", kept.display()));
            }
        }
    }
    if let (true, Some(journal)) =
        (verdict.has(Action::Inspect), journal.as_mut())
    {
        if journal.value("inspected").is_none() {
            let sender = &context.envelope.sender;
            let dir = actions::inspect(state, sender, context.raw, &document)
                .map_err(Error::Inspect)?;
            note(context, journal, &format!("inspected {}", dir.display()));
        }
    }
    // Every reaction decided and rendered before anything goes out: a
    // template that fails defers with nothing sent.
    let pending = reactions::prepare(profile, context, message, verdict)?;
    let logs = Logs::of_layer(state);
    if let (true, Some(journal)) = (recorded, journal.as_mut()) {
        if !journal.is_done("reported") {
            facts.seconds = context.started.elapsed().as_secs_f64();
            let mut report = analysis::report(facts, verdict);
            report.saved = saved;
            match logs.report(&report) {
                Ok(_) => note(context, journal, "reported"),
                Err(e) if stops => return Err(Error::Report(e)),
                Err(e) => (context.warn)(&e),
            }
        }
    }
    if let Some(journal) = journal.as_mut() {
        reactions::send(profile, pending, verdict, journal, context.warn)?;
    }
    for warning in &verdict.warnings {
        record_error(
            context.layers,
            context.envelope,
            Level::Warning,
            warning,
        )
        .unwrap_or_else(|e| (context.warn)(&e));
    }
    facts.seconds = context.started.elapsed().as_secs_f64();
    let logged = match context.mode {
        Mode::Queue => Ok(()),
        Mode::Deliver | Mode::DryRun => {
            write_log(profile, context, facts, Some(verdict))
        }
    };
    match logged {
        Err(e) if trashed => return Err(Error::Log(e)),
        Err(e) => (context.warn)(&e),
        Ok(()) => {}
    }
    if let Some(journal) = journal {
        let path = journal.path().to_path_buf();
        if let Err(e) = journal.remove() {
            (context.warn)(&format!("{}: {e}", path.display()));
        }
    }
    Ok(())
}

/// The last component of `path` as text (empty when it has none).
fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Adds `step` to `journal` right after it was done. A journal that
/// cannot say so only warns: the step is done, and deferring now would
/// make the retry do it again for certain.
fn note(context: &Context<'_>, journal: &mut Journal, step: &str) {
    if let Err(e) = journal.record(step) {
        (context.warn)(&format!(
            "{}: {e} (a retry may repeat: {step})",
            journal.path().display()
        ));
    }
}

/// The qmvc.log line of a deferred delivery: action `defer`, with the
/// conditions met so far when there are any (`-` and 0 when the
/// evaluation itself failed).
fn log_deferral(
    profile: &Profile,
    context: &Context<'_>,
    facts: &mut Facts,
    verdict: Option<&Verdict>,
) {
    facts.actions = "defer".into();
    facts.seconds = context.started.elapsed().as_secs_f64();
    if let Err(e) = write_log(profile, context, facts, verdict) {
        (context.warn)(&e);
    }
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

/// Appends the qmvc.log line, and sends it to syslog when the profile
/// names a facility (`syslog`); the caller decides what a failure to
/// append means. The syslog copy is sent even when the append failed (it
/// may be the only trace then), never waits, and a failure to send it is
/// only a warning: syslog is a copy for central log hosts, not the log.
fn write_log(
    profile: &Profile,
    context: &Context<'_>,
    facts: &Facts,
    verdict: Option<&Verdict>,
) -> Result<(), qmvc_log::Error> {
    let (result, errormail, scanners, spam) = match verdict {
        Some(v) => (
            v.result(),
            u32::from(v.errormail),
            v.scanners.as_str(),
            v.spam_scores(),
        ),
        None => ("-".to_string(), 0, "", String::new()),
    };
    let record = facts.record(&result, errormail, scanners, &spam);
    append(profile, context.layers, &record, context.warn)
}

/// Appends `record` to the qmvc.log of the most specific layer of
/// `layers` and sends its copy to syslog (see [`write_log`]).
fn append(
    profile: &Profile,
    layers: &Layers,
    record: &qmvc_log::line::Record<'_>,
    warn: &dyn Fn(&dyn std::fmt::Display),
) -> Result<(), qmvc_log::Error> {
    let logs = Logs::of_layer(layers.state_dir());
    let (written, copy) = logs.log_with_copy(record, profile.syslog);
    if let Some(e) = copy {
        warn(&e);
    }
    written.map(drop)
}

/// The qmvc.log line of `outcome` (and its syslog copy), for a front
/// end that ran [`Mode::Queue`], in the most specific layer of `layers`.
pub fn log_line(
    profile: &Profile,
    layers: &Layers,
    outcome: &Outcome,
    warn: &dyn Fn(&dyn std::fmt::Display),
) -> Result<(), qmvc_log::Error> {
    let verdict = &outcome.verdict;
    let result = verdict.result();
    let spam = verdict.spam_scores();
    let record = outcome.facts.record(
        &result,
        u32::from(verdict.errormail),
        verdict.scanners.as_str(),
        &spam,
    );
    append(profile, layers, &record, warn)
}

/// The qmvc.log line of a message refused without being examined
/// ([`Facts::unexamined`]): field 2 `-` (no condition was evaluated),
/// no errormail, no scanner, no spam score.
pub fn log_unexamined(
    profile: &Profile,
    layers: &Layers,
    facts: &Facts,
    warn: &dyn Fn(&dyn std::fmt::Display),
) -> Result<(), qmvc_log::Error> {
    append(profile, layers, &facts.record("-", 0, "", ""), warn)
}

/// Appends a line to the qmvc.error of the most specific layer of
/// `layers`: `level` (a deferral, or a warning), the envelope and what
/// went wrong.
pub fn record_error(
    layers: &Layers,
    envelope: &Envelope,
    level: Level,
    reason: &str,
) -> Result<(), qmvc_log::Error> {
    let stamp = Stamp::now();
    let entry = Entry {
        time: stamp.as_str(),
        level,
        sender: &envelope.sender,
        recipient: &envelope.recipient,
        reason,
    };
    Logs::of_layer(layers.state_dir()).error(&entry).map(drop)
}
