/*!
One delivery from verdict to logs, in an order that never repeats mail on
a retry: evaluate; keep and inspect; the reactions; qmvc.rep, the
warnings in qmvc.error and the qmvc.log line. A failure after the message
was read leaves a qmvc.log line with the action `defer`.
*/

use qmvc_engine::{evaluate, Options, Verdict};
use qmvc_log::error::{Entry, Level};
use qmvc_log::{Logs, Stamp};
use qmvc_message::Message;
use qmvc_profile::{Action, Layers, Profile};

use crate::analysis::{self, Facts};
use crate::probes::System;
use crate::{actions, reactions, Context, Envelope, Error, Mode, Outcome};

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
    let dry_run = context.mode == Mode::DryRun;
    let mut probes = System {
        message: context.raw,
        spool: context.spool,
        injector: &profile.reactions.injector,
        dry_run,
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
    };
    let mut verdict = match evaluate(message, profile, &options, &mut probes) {
        Ok(verdict) => verdict,
        Err(e) => {
            if !dry_run {
                log_deferral(context, &mut facts, None);
            }
            return Err(Error::Evaluation(e));
        }
    };
    facts.actions = actions_field(&verdict);
    if !dry_run {
        if let Err(e) =
            carry_out(profile, context, message, &mut facts, &mut verdict)
        {
            log_deferral(context, &mut facts, Some(&verdict));
            return Err(e);
        }
    }
    facts.seconds = context.started.elapsed().as_secs_f64();
    Ok(Outcome { disposition: verdict.disposition, verdict, facts })
}

/// The effects of a verdict: keep and inspect, then the reactions, then
/// qmvc.rep, warnings and qmvc.log.
fn carry_out(
    profile: &Profile,
    context: &Context<'_>,
    message: &Message<'_>,
    facts: &mut Facts,
    verdict: &mut Verdict,
) -> Result<(), Error> {
    let state = context.layers.state_dir();
    let recorded = verdict.hits.iter().any(|h| h.action != Action::Trash);
    facts.seconds = context.started.elapsed().as_secs_f64();
    // The analysis kept beside a message or in inspect/; most messages
    // need none, and rendering it is not free.
    let keeps = verdict.keep_class().is_some() || verdict.has(Action::Inspect);
    let document =
        if keeps { analysis::yaml(facts, verdict) } else { String::new() };
    if let Some(condition) = verdict.keep_class() {
        let class = actions::save_class(condition);
        actions::keep(state, class, context.raw, &document)
            .map_err(|source| Error::Keep { class, source })?;
    }
    if verdict.has(Action::Inspect) {
        let sender = &context.envelope.sender;
        actions::inspect(state, sender, context.raw, &document)
            .map_err(Error::Inspect)?;
    }
    // Reactions after everything local: a local write that fails defers
    // the delivery before any mail went out, so a retry sends nothing
    // twice. The analyses kept above show them as due; qmvc.rep says
    // what became of them.
    reactions::carry_out(profile, context, message, verdict)?;
    let logs = Logs::of_layer(state);
    if recorded {
        facts.seconds = context.started.elapsed().as_secs_f64();
        logs.report(&analysis::report(facts, verdict))
            .map_err(Error::Report)?;
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
    write_log(context, facts, Some(verdict));
    Ok(())
}

/// The qmvc.log line of a deferred delivery: action `defer`, with the
/// conditions met so far when there are any (`-` and 0 when the
/// evaluation itself failed).
fn log_deferral(
    context: &Context<'_>,
    facts: &mut Facts,
    verdict: Option<&Verdict>,
) {
    facts.actions = "defer".into();
    facts.seconds = context.started.elapsed().as_secs_f64();
    write_log(context, facts, verdict);
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

/// The qmvc.log line; a failure only warns (it must not defer mail).
fn write_log(context: &Context<'_>, facts: &Facts, verdict: Option<&Verdict>) {
    let (result, errormail, scanners) = match verdict {
        Some(v) => (v.result(), u32::from(v.errormail), v.scanners.as_str()),
        None => ("-".to_string(), 0, ""),
    };
    let record = facts.record(&result, errormail, scanners);
    let logs = Logs::of_layer(context.layers.state_dir());
    if let Err(e) = logs.log(&record) {
        (context.warn)(&e);
    }
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
