/*!
spammail (SPEC 8): each engine of `spamscanners` asked once, its answer
put to the ladder of `spammail` lines, and one line chosen.

The ladder, for one engine's judgement: a line with `score=N` applies when
the score is at least N, spam verdict or not; a line without `score=`
applies when the engine says spam, and ranks as if N were the engine's
threshold (its required score). Of the lines that apply, the one with the
highest rank wins; on a tie, the most severe action ([`severity`]).

With several engines, each engine's judgement is put to the ladder on its
own (scores are on each engine's scale, so ranks of different engines do
not compare); the condition is met when a line applies for any engine, and
of the engines' lines the most severe action wins, the first engine in
`spamscanners` order on a tie.
*/

use std::cmp::Ordering;

use qmvc_profile::{Action, Condition, FilterRule, Policy, Profile, Scanner};

use crate::error::Error;
use crate::probes::{Probes, SpamJudgement, SpamOutcome};
use crate::verdict::{Match, Spam, Verdict};

/// How severe an action is, to break ties on the ladder: bounce (refused
/// to the sender) over keep (stopped, recorded and stored) over block
/// (stopped and recorded) over trash (stopped, only logged) over inspect
/// (delivered).
pub(crate) fn severity(action: Action) -> u8 {
    match action {
        Action::Inspect => 0,
        Action::Trash => 1,
        Action::Block => 2,
        Action::Keep => 3,
        Action::Bounce => 4,
    }
}

/// The line of `rules` that one engine's `judgement` reaches, if any.
pub(crate) fn rung<'p>(
    rules: &[&'p FilterRule],
    judgement: &SpamJudgement,
) -> Option<&'p FilterRule> {
    let applying = rules.iter().filter_map(|&rule| match rule.options.score {
        Some(n) => (judgement.score >= n.value()).then_some((n.value(), rule)),
        None => judgement.spam.then_some((judgement.required, rule)),
    });
    applying
        .max_by(|(a, ra), (b, rb)| {
            a.total_cmp(b).then(severity(ra.action).cmp(&severity(rb.action)))
        })
        .map(|(_, rule)| rule)
}

/// The line a failed engine under `on_error: block` is met by: the line
/// without `score=` (the engine's threshold), else the lowest rung.
fn fallback<'p>(rules: &[&'p FilterRule]) -> Option<&'p FilterRule> {
    rules
        .iter()
        .copied()
        .find(|r| r.options.score.is_none())
        .or_else(|| rules.iter().copied().min_by_key(|r| r.options.score))
}

/// How a line is written in the logs: `score=N`, or `spam` for a line
/// that applies on the engine's verdict.
fn rung_text(rule: &FilterRule) -> String {
    match rule.options.score {
        Some(n) => format!("score={n}"),
        None => "spam".to_owned(),
    }
}

/// The engine of a spamscanners line as the logs show it.
fn engine_name(scanner: &Scanner) -> String {
    format!("{} ({})", scanner.engine, scanner.initial)
}

/// spammail: asks each spam engine, notes what it said in
/// `verdict.spam`, and returns the winning line and what matched
/// (`None`: not met). `Err` when an engine failed under `on_error:
/// tempfail`.
pub(crate) fn spammail<'p>(
    profile: &'p Profile,
    probes: &mut dyn Probes,
    verdict: &mut Verdict,
) -> Result<Option<(&'p FilterRule, Vec<Match>)>, Error> {
    let rules: Vec<&FilterRule> = profile.rules(Condition::SpamMail).collect();
    // Per engine that reached a line: the line and its match.
    let mut reached: Vec<(&FilterRule, Match)> = Vec::new();
    for scanner in &profile.spamscanners {
        let base = Match {
            scanner: Some(engine_name(scanner)),
            origin: Some(scanner.origin.to_string()),
            ..Match::default()
        };
        match probes.spam(scanner) {
            SpamOutcome::Judged(judgement) => {
                let line = rung(&rules, &judgement);
                verdict.spam.push(Spam {
                    engine: engine_name(scanner),
                    score: judgement.score_text.clone(),
                    required: judgement.required_text.clone(),
                    spam: judgement.spam,
                    user: judgement.user.clone(),
                    engine_action: judgement
                        .action
                        .clone()
                        .unwrap_or_default(),
                    symbols: judgement.symbols.clone(),
                    rung: line.map_or_else(String::new, |r| {
                        format!("{} {}", r.origin, r.action.name())
                    }),
                });
                if let Some(rule) = line {
                    let user = if judgement.user.is_empty() {
                        String::new()
                    } else {
                        format!(", user {}", judgement.user)
                    };
                    let detail = format!(
                        "score {} (required {}{}){user}",
                        judgement.score_text,
                        judgement.required_text,
                        if judgement.spam { ", spam" } else { "" },
                    );
                    let found = Match {
                        pattern: Some(rung_text(rule)),
                        detail: Some(detail),
                        ..base
                    };
                    reached.push((rule, found));
                }
            }
            SpamOutcome::TooLarge { size, max } => {
                verdict.skipped.push(format!(
                    "not scanned for spam by {}: {size} bytes is over \
                     max_size {max}",
                    engine_name(scanner)
                ));
            }
            SpamOutcome::Failed(why) => {
                let policy = scanner.definition.on_error;
                let said = format!(
                    "spam engine {} failed: {why} (on_error {})",
                    engine_name(scanner),
                    policy.name()
                );
                match policy {
                    Policy::Tempfail => {
                        let origin = scanner.origin.clone();
                        return Err(Error::Scanner { origin, said });
                    }
                    Policy::Pass => {
                        verdict.warnings.push(said.clone());
                        verdict.skipped.push(said);
                    }
                    Policy::Block => {
                        verdict.warnings.push(said.clone());
                        if let Some(rule) = fallback(&rules) {
                            let found = Match { detail: Some(said), ..base };
                            reached.push((rule, found));
                        }
                    }
                }
            }
        }
    }
    // The most severe action wins; the first engine on a tie.
    let winner = reached.iter().map(|(rule, _)| *rule).reduce(|best, rule| {
        match severity(rule.action).cmp(&severity(best.action)) {
            Ordering::Greater => rule,
            _ => best,
        }
    });
    Ok(winner.map(|rule| {
        (rule, reached.into_iter().map(|(_, found)| found).collect())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qmvc_profile::{FilterOptions, Origin, Score};

    fn line(n: usize, score: Option<&str>, action: Action) -> FilterRule {
        FilterRule {
            condition: Condition::SpamMail,
            action,
            reactions: Vec::new(),
            options: FilterOptions {
                score: score.map(|s| Score::parse(s).expect("score")),
                ..FilterOptions::default()
            },
            origin: Origin { file: "filters".into(), line: n },
        }
    }

    fn judged(score: f64, spam: bool) -> SpamJudgement {
        SpamJudgement {
            spam,
            score,
            score_text: format!("{score:.1}"),
            required: 5.0,
            required_text: "5.0".into(),
            symbols: Vec::new(),
            action: None,
            user: String::new(),
        }
    }

    #[test]
    fn the_ladder_takes_the_highest_line_that_applies() {
        let inspect = line(1, None, Action::Inspect);
        let keep = line(2, Some("10"), Action::Keep);
        let bounce = line(3, Some("20"), Action::Bounce);
        let rules = [&inspect, &keep, &bounce];
        let at = |score, spam| {
            rung(&rules, &judged(score, spam)).map(|r| r.origin.line)
        };
        assert_eq!(at(1.0, false), None);
        assert_eq!(at(5.0, true), Some(1));
        assert_eq!(at(9.9, true), Some(1));
        assert_eq!(at(10.0, true), Some(2));
        // score= applies without a spam verdict (a user's own threshold).
        assert_eq!(at(12.0, false), Some(2));
        assert_eq!(at(20.0, true), Some(3));
        assert_eq!(at(1000.0, true), Some(3));
        assert_eq!(at(f64::NAN, false), None);
    }

    #[test]
    fn a_tie_goes_to_the_most_severe_action() {
        // score=5 and the threshold line rank the same at required 5.0.
        let at_threshold = line(1, None, Action::Keep);
        let five = line(2, Some("5"), Action::Inspect);
        let rules = [&five, &at_threshold];
        let got = rung(&rules, &judged(6.0, true)).map(|r| r.origin.line);
        assert_eq!(got, Some(1));
        let rules = [&at_threshold, &five];
        let got = rung(&rules, &judged(6.0, true)).map(|r| r.origin.line);
        assert_eq!(got, Some(1));
    }

    #[test]
    fn negative_and_fractional_scores() {
        let low = line(1, Some("-1.5"), Action::Inspect);
        let rules = [&low];
        assert!(rung(&rules, &judged(-1.5, false)).is_some());
        assert!(rung(&rules, &judged(-1.6, false)).is_none());
        let seven = line(2, Some("7.5"), Action::Block);
        let rules = [&seven];
        assert!(rung(&rules, &judged(7.5, true)).is_some());
        assert!(rung(&rules, &judged(7.4, true)).is_none());
    }

    #[test]
    fn severity_orders_the_actions() {
        let order = [
            Action::Inspect,
            Action::Trash,
            Action::Block,
            Action::Keep,
            Action::Bounce,
        ];
        for pair in order.windows(2) {
            assert!(severity(pair[0]) < severity(pair[1]));
        }
    }

    #[test]
    fn a_failed_engine_under_block_meets_the_threshold_line() {
        let keep = line(2, Some("10"), Action::Keep);
        let bounce = line(3, Some("20"), Action::Bounce);
        let inspect = line(1, None, Action::Inspect);
        assert_eq!(
            fallback(&[&keep, &bounce, &inspect]).map(|r| r.origin.line),
            Some(1)
        );
        assert_eq!(
            fallback(&[&bounce, &keep]).map(|r| r.origin.line),
            Some(2)
        );
    }
}
