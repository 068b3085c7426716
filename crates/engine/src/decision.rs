/*!
The CAR decision: conditions in their fixed order, `quitasap`, reactions
once per message, and the most severe disposition.
*/

use qmvc_message::Message;
use qmvc_profile::{
    Action, Condition, FilterRule, Profile, Reaction, CONDITIONS,
};

use crate::conditions;
use crate::content::Content;
use crate::error::Error;
use crate::probes::Probes;
use crate::spam;
use crate::verdict::{
    Disposition, Evaluation, Hit, Match, ReactionPlan, ReactionStatus, Verdict,
};

/// How a delivery was asked to evaluate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `-n`: ask the virus scanners only when some part is of a type not
    /// listed in `noscantypes`.
    pub noscan: bool,
}

/// Most matches recorded per condition: a message of ten thousand parts
/// named `*.exe` needs no ten thousand lines to say so.
const MAX_MATCHES: usize = 100;

/// Evaluates `profile` against `message`. `Err` is a failure that is not
/// the message's fault (a command that cannot be run, a scanner that
/// cannot be asked under a `tempfail` policy): the caller defers the
/// delivery.
pub fn evaluate(
    message: &Message<'_>,
    profile: &Profile,
    options: &Options,
    probes: &mut dyn Probes,
) -> Result<Verdict, Error> {
    let limits = &profile.settings.message;
    let content = Content::new(message, limits);
    let mut verdict = Verdict::passing();
    if message.too_large {
        verdict.skipped.push(format!(
            "content not inspected: {} bytes is over scansize {}",
            message.raw.len(),
            limits.scan_size
        ));
    }
    let mut stopped_by: Option<Condition> = None;
    for condition in CONDITIONS {
        let Some(rule) = profile.rule(condition) else {
            verdict.evaluations.push((condition, Evaluation::NoRule));
            continue;
        };
        if let Some(stopper) = stopped_by {
            let why =
                format!("not evaluated: quitasap after {}", stopper.name());
            verdict.evaluations.push((condition, Evaluation::Skipped(why)));
            continue;
        }
        let mut via_command = false;
        let matches: Vec<Match> = match condition {
            Condition::Errormail => {
                let (code, matches) =
                    conditions::errormail(&content, &profile.mailheaders);
                verdict.errormail = code;
                let met = errormail_hits(profile, code, &matches);
                if met.is_empty() {
                    verdict.evaluations.push((condition, Evaluation::NotMet));
                    continue;
                }
                verdict.evaluations.push((condition, Evaluation::Met));
                for hit in met {
                    let stops = hit.1.options.quitasap
                        && hit.1.action != Action::Inspect;
                    verdict.hits.push(hit.0);
                    if stops {
                        stopped_by = Some(condition);
                    }
                }
                continue;
            }
            Condition::SpamMail => {
                // Last in the order: the most costly question, asked only
                // when nothing before stopped the evaluation.
                if profile.spamscanners.is_empty() {
                    let why = "not evaluated: no spam engine configured \
                               (spamscanners)"
                        .to_string();
                    verdict
                        .evaluations
                        .push((condition, Evaluation::Skipped(why)));
                    continue;
                }
                let Some((winner, matches)) =
                    spam::spammail(profile, probes, &mut verdict)?
                else {
                    verdict.evaluations.push((condition, Evaluation::NotMet));
                    continue;
                };
                verdict.evaluations.push((condition, Evaluation::Met));
                verdict.hits.push(Hit {
                    condition,
                    action: winner.action,
                    rule: winner.origin.clone(),
                    matches,
                    reactions: Vec::new(),
                    unlisted: 0,
                    via_command: false,
                });
                continue;
            }
            Condition::BadSubject => conditions::badsubject(message, profile),
            // The engines have limits of their own (max_size for spam).
            _ if message.too_large
                && !matches!(
                    condition,
                    Condition::VirusMail | Condition::SpamMail
                ) =>
            {
                let why = "not evaluated: message over scansize".to_string();
                verdict
                    .evaluations
                    .push((condition, Evaluation::Skipped(why)));
                continue;
            }
            Condition::BadBodyText => {
                let (matches, command) = conditions::badbodytext(
                    &content,
                    profile,
                    probes,
                    &mut verdict,
                )?;
                via_command = command;
                matches
            }
            Condition::BadFilename => conditions::badfilename(
                &content,
                profile,
                &mut verdict.skipped,
            ),
            Condition::BadMimeType => {
                conditions::badmimetype(&content, &profile.badmimetypes)
            }
            Condition::BadLoaderType => {
                conditions::badloadertype(&content, &profile.badloadertypes)
            }
            Condition::VirusMail => {
                let why = if profile.scanners.is_empty() {
                    Some("not evaluated: no scanner configured")
                } else if options.noscan
                    && conditions::harmless(&content, profile)
                {
                    Some("not evaluated: every part is of a type in noscantypes (-n)")
                } else {
                    None
                };
                if let Some(why) = why {
                    let why = why.to_string();
                    verdict
                        .evaluations
                        .push((condition, Evaluation::Skipped(why)));
                    continue;
                }
                conditions::virusmail(
                    profile,
                    rule.options.quitasap,
                    probes,
                    &mut verdict,
                )?
            }
        };
        if matches.is_empty() {
            verdict.evaluations.push((condition, Evaluation::NotMet));
            continue;
        }
        let mut matches = matches;
        let unlisted = matches.len().saturating_sub(MAX_MATCHES);
        if unlisted > 0 {
            verdict.skipped.push(format!(
                "{}: {} more matches not listed",
                condition.name(),
                unlisted
            ));
            matches.truncate(MAX_MATCHES);
        }
        verdict.evaluations.push((condition, Evaluation::Met));
        verdict.hits.push(Hit {
            condition,
            action: rule.action,
            rule: rule.origin.clone(),
            matches,
            reactions: Vec::new(),
            unlisted,
            via_command,
        });
        if rule.options.quitasap && rule.action != Action::Inspect {
            stopped_by = Some(condition);
        }
    }
    plan_reactions(profile, &mut verdict.hits);
    verdict.disposition = verdict
        .hits
        .iter()
        .map(|h| Disposition::of(h.action))
        .max()
        .unwrap_or(Disposition::Continue);
    Ok(verdict)
}

/// The hits of errormail `code`: one for each errormail filter line that
/// applies to it (`bits=`), as if each line were a condition of its own,
/// with the matches of the bits it applies to.
fn errormail_hits<'p>(
    profile: &'p Profile,
    code: u16,
    matches: &[(u16, Match)],
) -> Vec<(Hit, &'p FilterRule)> {
    let mut out = Vec::new();
    for rule in profile.rules(Condition::Errormail) {
        if !rule.options.applies_to(code) {
            continue;
        }
        let mask = rule.options.bits.unwrap_or(u16::MAX);
        let mut mine: Vec<Match> = matches
            .iter()
            .filter(|(bit, _)| bit & mask != 0)
            .map(|(_, m)| m.clone())
            .collect();
        let unlisted = mine.len().saturating_sub(MAX_MATCHES);
        mine.truncate(MAX_MATCHES);
        out.push((
            Hit {
                condition: Condition::Errormail,
                action: rule.action,
                rule: rule.origin.clone(),
                matches: mine,
                reactions: Vec::new(),
                unlisted,
                via_command: false,
            },
            rule,
        ));
    }
    out
}

/// Marks each reaction of each hit: the sender and the recipient are
/// notified at most once per message, for the first condition that asks;
/// `goodmail` keeps a badbodytext line's reactions unless it was met
/// through a command and is the only condition met; the sender of a virus
/// is told only with the option `virussender`.
fn plan_reactions(profile: &Profile, hits: &mut [Hit]) {
    let alone = hits.len() == 1;
    let mut sender_done = false;
    let mut recipient_done = false;
    for hit in hits.iter_mut() {
        let Some(rule) = profile.rule_at(hit.condition, &hit.rule) else {
            continue;
        };
        let goodmail_blocks =
            rule.options.goodmail && !(hit.via_command && alone);
        for reaction in &rule.reactions {
            let once = match reaction {
                Reaction::NotifySender => Some(&mut sender_done),
                Reaction::NotifyRecipient => Some(&mut recipient_done),
                _ => None,
            };
            let virus_sender = *reaction == Reaction::NotifySender
                && hit.condition == Condition::VirusMail
                && !rule.options.virussender;
            let status = if goodmail_blocks {
                ReactionStatus::Goodmail
            } else if virus_sender {
                ReactionStatus::VirusSender
            } else if let Some(done) = once {
                if *done {
                    ReactionStatus::AlreadyNotified
                } else {
                    *done = true;
                    ReactionStatus::Due
                }
            } else {
                ReactionStatus::Due
            };
            hit.reactions
                .push(ReactionPlan { reaction: reaction.clone(), status });
        }
    }
}
