/*!
Carrying out the reactions the engine planned: notifications rendered from
the layered templates, guard forwards, each handed to the injector. In
two steps, so that qmvc.rep can say what is due before anything goes out:
`prepare` decides and renders (a reaction that must not go out, by a
backscatter rule, a forwarding loop or an address that does not expand
safely, is recorded as refused), `send` hands each to the injector and
notes it in the delivery's journal. An injector that fails defers the
whole delivery, so that qmail tries again; the retry sends only what the
journal does not have as sent.

Nothing is done for a message without a due reaction: a template is read
and compiled, and the facts for it gathered, only when a notification is
actually sent.
*/

use std::cell::OnceCell;
use std::time::Duration;

use qmvc_engine::{Hit, ReactionStatus, Verdict};
use qmvc_message::Message;
use qmvc_notify::{Facts, Kind, MatchView};
use qmvc_profile::{Action, Condition, Layers, Profile, Reaction};

use crate::journal::Journal;
use crate::{Context, Error};

/// How long the injector may take for one message.
const INJECT_TIMEOUT: Duration = Duration::from_secs(120);

/// Everything a reaction needs to know about the delivery.
struct Delivery<'a> {
    profile: &'a Profile,
    context: &'a Context<'a>,
    message: &'a Message<'a>,
}

/// The facts for the templates of one met condition, gathered the first
/// time a notification for it is rendered.
struct LazyFacts<'a> {
    cell: OnceCell<Facts>,
    delivery: &'a Delivery<'a>,
    verdict: &'a Verdict,
    condition: Condition,
    action: Action,
}

impl LazyFacts<'_> {
    fn get(&self) -> &Facts {
        self.cell.get_or_init(|| {
            facts(self.delivery, self.verdict, self.condition, self.action)
        })
    }
}

/// The facts of the message for the templates.
fn facts(
    delivery: &Delivery<'_>,
    verdict: &Verdict,
    condition: Condition,
    action: Action,
) -> Facts {
    let envelope = delivery.context.envelope;
    let header = &delivery.message.header;
    let findings = verdict
        .hits
        .iter()
        .flat_map(|h| {
            let condition = h.condition.name();
            h.matches.iter().map(move |m| MatchView::new(condition, m))
        })
        .collect::<Vec<_>>();
    let viruses = findings
        .iter()
        .filter(|f| !f.virus.is_empty())
        .map(|f| f.virus.clone())
        .collect();
    let host = qmvc_notify::local_host();
    Facts {
        sender: envelope.sender.clone(),
        recipient: envelope.recipient.clone(),
        subject: header.value("subject").unwrap_or_default(),
        from: header.value("from").unwrap_or_default(),
        message_id: header.value("message-id").unwrap_or_default(),
        date: header.value("date").unwrap_or_default(),
        size: delivery.context.raw.len(),
        result: verdict.result(),
        condition: condition.name().into(),
        action: action.name().into(),
        findings,
        findings_left_out: verdict.hits.iter().map(|h| h.unlisted).sum(),
        viruses,
        guard: guard(delivery.profile, &host),
        host,
        now: chrono::Local::now().to_rfc2822(),
    }
}

/// The From address of notifications.
fn guard(profile: &Profile, host: &str) -> String {
    profile
        .reactions
        .guard
        .clone()
        .unwrap_or_else(|| format!("MAILER-DAEMON@{host}"))
}

/// The template `kind` in `lang` (then its language without region, then
/// English), from the layers or the built-in copies.
fn template(layers: &Layers, lang: &str, kind: Kind) -> Result<String, Error> {
    let name = kind.template();
    let mut tried = vec![lang.to_string()];
    if let Some((main, _)) = lang.split_once('-') {
        tried.push(main.to_string());
    }
    tried.push("en".into());
    for lang in &tried {
        let built_in = qmvc_notify::built_in(lang, name);
        match layers.read_template(lang, name, built_in) {
            Ok(Some(source)) => return Ok(source.text.into_owned()),
            Ok(None) => {}
            Err(e) => {
                return Err(Error::Template { file: e.file, reason: e.reason })
            }
        }
    }
    Err(Error::Template {
        file: format!("tpl/{lang}/{name}.hbs"),
        reason: String::new(),
    })
}

/// A reaction ready to go: its place in the verdict, its recipient and
/// the message for the injector.
pub(crate) struct Pending {
    /// The index of its hit in `verdict.hits`.
    hit: usize,
    /// The index of its plan in that hit's reactions.
    plan: usize,
    /// The recipient.
    to: String,
    /// The whole message.
    bytes: Vec<u8>,
}

/// Decides every due reaction of `verdict` without sending anything:
/// the ones that must not go out are recorded as refused in their plan,
/// the others rendered, marked ready (`due to ADDRESS` in qmvc.rep) and
/// returned. `Err` defers the
/// delivery (a template that cannot be read or rendered) before anything
/// went out.
pub(crate) fn prepare(
    profile: &Profile,
    context: &Context<'_>,
    message: &Message<'_>,
    verdict: &mut Verdict,
) -> Result<Vec<Pending>, Error> {
    let due = |hit: &Hit| {
        hit.reactions.iter().any(|p| p.status == ReactionStatus::Due)
    };
    let mut pending = Vec::new();
    if !verdict.hits.iter().any(due) {
        return Ok(pending);
    }
    let delivery = Delivery { profile, context, message };
    let vars = context.address_vars;
    let snapshot = verdict.clone();
    let automatic =
        qmvc_notify::automatic(&context.envelope.sender, &message.header);
    for (hit_index, hit) in verdict.hits.iter_mut().enumerate() {
        if !due(hit) {
            continue;
        }
        let Some(rule) = profile.rule_at(hit.condition, &hit.rule) else {
            continue;
        };
        let lang = rule
            .options
            .lang
            .clone()
            .unwrap_or_else(|| profile.reactions.language.clone());
        let facts = LazyFacts {
            cell: OnceCell::new(),
            delivery: &delivery,
            verdict: &snapshot,
            condition: hit.condition,
            action: hit.action,
        };
        for (plan_index, plan) in hit.reactions.iter_mut().enumerate() {
            if plan.status != ReactionStatus::Due {
                continue;
            }
            // No notification about automatic mail, to anyone: a
            // notification that met a condition would be notified about
            // in turn (guard forwards have their own loop trace).
            if !matches!(plan.reaction, Reaction::ForwardGuard(_)) {
                if let Some(why) = &automatic {
                    plan.status = ReactionStatus::Refused(why.clone());
                    continue;
                }
            }
            let outgoing = match &plan.reaction {
                // The recipient's extension, like the sender, is the
                // remote stranger's choice: an address that is not plain
                // is refused, never deferred on every retry.
                Reaction::NotifyRecipient => {
                    let to = &context.envelope.recipient;
                    notification(
                        &delivery,
                        &facts,
                        &lang,
                        Kind::NotifyRecipient,
                        qmvc_notify::check_address(to).map(|()| to.clone()),
                    )
                }
                Reaction::NotifySender => {
                    let sender = &context.envelope.sender;
                    let header = &message.header;
                    match qmvc_notify::sender_refusal(sender, header) {
                        Some(why) => Err(Refusal::Refused(why)),
                        None => notification(
                            &delivery,
                            &facts,
                            &lang,
                            Kind::NotifySender,
                            Ok(sender.clone()),
                        ),
                    }
                }
                Reaction::InformGuard(address) => notification(
                    &delivery,
                    &facts,
                    &lang,
                    Kind::InformGuard,
                    qmvc_notify::expand_address(address, vars),
                ),
                Reaction::ForwardGuard(address) => {
                    forwarding(&delivery, vars, address)
                }
            };
            match outgoing {
                Ok((to, bytes)) => {
                    plan.status = ReactionStatus::Ready(to.clone());
                    pending.push(Pending {
                        hit: hit_index,
                        plan: plan_index,
                        to,
                        bytes,
                    })
                }
                Err(Refusal::Refused(why)) => {
                    plan.status = ReactionStatus::Refused(why)
                }
                Err(Refusal::Defer(e)) => return Err(e),
            }
        }
    }
    Ok(pending)
}

/// Hands each of `pending` to the injector, in order, recording in its
/// plan that it was sent, and in `journal` right after it went out. One
/// the journal has as sent (an earlier try sent it) is not sent again.
/// `Err` defers the delivery: an injector that failed; what went out
/// before it is in the journal.
pub(crate) fn send(
    profile: &Profile,
    pending: Vec<Pending>,
    verdict: &mut Verdict,
    journal: &mut Journal,
    warn: &dyn Fn(&dyn std::fmt::Display),
) -> Result<(), Error> {
    let injector = &profile.reactions.injector;
    for item in pending {
        let Some(hit) = verdict.hits.get_mut(item.hit) else {
            continue;
        };
        let condition = hit.condition.name();
        let Some(plan) = hit.reactions.get_mut(item.plan) else {
            continue;
        };
        let step = format!("sent {condition} {} {}", item.plan, item.to);
        if !journal.is_done(&step) {
            qmvc_notify::inject(
                injector,
                &item.to,
                &item.bytes,
                INJECT_TIMEOUT,
            )
            .map_err(|reason| Error::Inject {
                reaction: plan.reaction.name(),
                to: item.to.clone(),
                reason: Box::new(reason),
            })?;
            // It went out: a journal that cannot say so now only risks
            // a second copy if a later step fails too; deferring would
            // make one certain.
            if let Err(e) = journal.record(&step) {
                warn(&format!(
                    "{}: {e} (a retry may send {} to {} again)",
                    journal.path().display(),
                    plan.reaction.name(),
                    item.to
                ));
            }
        }
        plan.status = ReactionStatus::Sent(item.to);
    }
    Ok(())
}

/// Why a reaction does not go out.
enum Refusal {
    /// It must not (recorded, the delivery goes on).
    Refused(String),
    /// It cannot now (the delivery is deferred).
    Defer(Error),
}

/// A rendered notification of `kind` to `to`.
fn notification(
    delivery: &Delivery<'_>,
    facts: &LazyFacts<'_>,
    lang: &str,
    kind: Kind,
    to: Result<String, qmvc_notify::AddressError>,
) -> Result<(String, Vec<u8>), Refusal> {
    let to = to.map_err(|e| Refusal::Refused(e.to_string()))?;
    if to.is_empty() {
        return Err(Refusal::Refused("no address".into()));
    }
    let text = template(delivery.context.layers, lang, kind)
        .map_err(Refusal::Defer)?;
    let facts = facts.get();
    let bytes = qmvc_notify::compose(&text, facts, &facts.guard, &to)
        .map_err(|reason| {
            let reason = Box::new(reason);
            Refusal::Defer(Error::Render { name: kind.template(), reason })
        })?;
    Ok((to, bytes))
}

/// The original message with its trace header, for the guard.
fn forwarding(
    delivery: &Delivery<'_>,
    vars: &qmvc_notify::AddressVars,
    address: &str,
) -> Result<(String, Vec<u8>), Refusal> {
    let to = qmvc_notify::expand_address(address, vars)
        .map_err(|e| Refusal::Refused(e.to_string()))?;
    let header = &delivery.message.header;
    match qmvc_notify::forward(delivery.context.raw, header, &to) {
        Some(bytes) => Ok((to, bytes)),
        None => Err(Refusal::Refused(format!(
            "the message already carries {}: {to} (a forwarding loop)",
            qmvc_notify::TRACE
        ))),
    }
}

/// `qmvc -L`: every template a filter line can use, rendered once with
/// facts of every kind, each problem as `FILE:0: message`.
pub fn lint(profile: &Profile, layers: &Layers) -> Vec<String> {
    let mut problems = Vec::new();
    let mut wanted: Vec<(String, Kind)> = Vec::new();
    for rule in &profile.filters {
        let lang = rule
            .options
            .lang
            .clone()
            .unwrap_or_else(|| profile.reactions.language.clone());
        for reaction in &rule.reactions {
            let kind = match reaction {
                Reaction::NotifyRecipient => Kind::NotifyRecipient,
                Reaction::NotifySender => Kind::NotifySender,
                Reaction::InformGuard(_) => Kind::InformGuard,
                Reaction::ForwardGuard(_) => continue,
            };
            if !wanted.contains(&(lang.clone(), kind)) {
                wanted.push((lang.clone(), kind));
            }
        }
    }
    for (lang, kind) in wanted {
        let name = kind.template();
        let found = layers.read_template(
            &lang,
            name,
            qmvc_notify::built_in(&lang, name),
        );
        let source = match found {
            Ok(Some(source)) => source,
            Ok(None) => {
                // The English fall-back serves; say so only if it too is
                // missing.
                match template(layers, &lang, kind) {
                    Ok(_) => continue,
                    Err(e) => {
                        problems.push(format!("tpl/{lang}/{name}.hbs:0: {e}"));
                        continue;
                    }
                }
            }
            Err(e) => {
                problems.push(format!("{}:0: {}", e.file, e.reason));
                continue;
            }
        };
        if let Err(e) = qmvc_notify::check_template(&source.text) {
            // Lint wants FILE:LINE; the error keeps its own place too.
            let line = e.line.unwrap_or(0);
            problems.push(format!("{}:{line}: {e}", source.file));
        }
    }
    problems
}
