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

use qmvc_profile::{Action, Condition, FilterRule, Profile, Scanner};

use crate::conditions;
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
                let blocked =
                    conditions::apply_policy(policy, said, scanner, verdict)?;
                if let (Some(said), Some(rule)) = (blocked, fallback(&rules)) {
                    let found = Match { detail: Some(said), ..base };
                    reached.push((rule, found));
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

/// The ladder through [`crate::evaluate`], with a probe that answers
/// as told and counts the questions.
#[cfg(test)]
mod evaluation {
    use qmvc_message::Message;
    use qmvc_profile::{
        CommandRule, EngineDef, FilterOptions, FilterRule, Origin, Profile,
        Scanner, Score,
    };

    use super::*;
    use crate::probes::{CommandError, CommandOutcome, ScanOutcome};
    use crate::{evaluate, Disposition, Evaluation, Options};

    /// Answers each spam engine with its outcome, by engine name.
    struct Fake {
        answers: Vec<(&'static str, SpamOutcome)>,
        asked: Vec<String>,
    }

    impl Probes for Fake {
        fn run_command(
            &mut self,
            _: &CommandRule,
        ) -> Result<CommandOutcome, CommandError> {
            Ok(CommandOutcome::Exited(0))
        }

        fn scan(&mut self, _: &Scanner) -> ScanOutcome {
            ScanOutcome::Clean
        }

        fn spam(&mut self, scanner: &Scanner) -> SpamOutcome {
            self.asked.push(scanner.engine.clone());
            self.answers
                .iter()
                .find(|(name, _)| *name == scanner.engine)
                .map_or(SpamOutcome::Failed("no answer".into()), |(_, o)| {
                    o.clone()
                })
        }
    }

    fn judged(score: f64, spam: bool) -> SpamOutcome {
        SpamOutcome::Judged(SpamJudgement {
            spam,
            score,
            score_text: format!("{score:.1}"),
            required: 5.0,
            required_text: "5.0".into(),
            symbols: vec!["GTUBE".into()],
            action: None,
            user: "alice".into(),
        })
    }

    fn engine(name: &str, initial: char, on_error: &str) -> Scanner {
        let text = format!(
            "protocol: spamd\nendpoints: [tcp:127.0.0.1:1]\non_error: \
             {on_error}\n"
        );
        Scanner {
            engine: name.into(),
            initial,
            full_name: name.into(),
            definition: EngineDef::parse(&text, "spamd.yaml").expect("def"),
            origin: Origin { file: "spamscanners".into(), line: 1 },
        }
    }

    fn rule(
        condition: Condition,
        line: usize,
        score: Option<&str>,
        action: Action,
        quitasap: bool,
    ) -> FilterRule {
        FilterRule {
            condition,
            action,
            reactions: Vec::new(),
            options: FilterOptions {
                score: score.and_then(Score::parse),
                quitasap,
                ..FilterOptions::default()
            },
            origin: Origin { file: "filters".into(), line },
        }
    }

    /// inspect at the threshold, keep from 10, bounce from 20.
    fn ladder(engines: Vec<Scanner>) -> Profile {
        Profile {
            filters: vec![
                rule(Condition::SpamMail, 1, None, Action::Inspect, false),
                rule(Condition::SpamMail, 2, Some("10"), Action::Keep, false),
                rule(
                    Condition::SpamMail,
                    3,
                    Some("20"),
                    Action::Bounce,
                    false,
                ),
            ],
            spamscanners: engines,
            ..Profile::default()
        }
    }

    const RAW: &[u8] = b"From: a@example.net\nSubject: hi\n\nhello\n";

    fn run(
        profile: &Profile,
        answers: Vec<(&'static str, SpamOutcome)>,
    ) -> (Result<Verdict, Error>, Vec<String>) {
        let message = Message::parse(RAW, &profile.settings.message);
        let mut fake = Fake { answers, asked: Vec::new() };
        let verdict =
            evaluate(&message, profile, &Options::default(), &mut fake);
        (verdict, fake.asked)
    }

    #[test]
    fn gtube_reaches_the_top_rung_and_ham_none() {
        let profile = ladder(vec![engine("spamd", 'A', "pass")]);
        let (verdict, asked) =
            run(&profile, vec![("spamd", judged(1000.0, true))]);
        let verdict = verdict.expect("verdict");
        assert_eq!(asked, ["spamd"]);
        assert_eq!(verdict.disposition, Disposition::Bounce);
        assert_eq!(verdict.result(), "spammail");
        let hit = &verdict.hits[0];
        assert_eq!((hit.action, hit.rule.line), (Action::Bounce, 3));
        assert_eq!(hit.matches[0].pattern.as_deref(), Some("score=20"));
        assert_eq!(verdict.reason(), "spammail (score=20)");
        assert_eq!(verdict.spam_scores(), "1000.0");
        assert_eq!(verdict.spam[0].rung, "filters:3 bounce");
        assert_eq!(verdict.spam[0].user, "alice");

        let (verdict, _) = run(&profile, vec![("spamd", judged(12.0, true))]);
        let verdict = verdict.expect("verdict");
        assert_eq!(verdict.hits[0].action, Action::Keep);

        let (verdict, _) = run(&profile, vec![("spamd", judged(6.0, true))]);
        let verdict = verdict.expect("verdict");
        assert_eq!(verdict.hits[0].action, Action::Inspect);
        assert_eq!(verdict.disposition, Disposition::Continue);

        let (verdict, _) = run(&profile, vec![("spamd", judged(-0.0, false))]);
        let verdict = verdict.expect("verdict");
        assert!(verdict.hits.is_empty());
        assert_eq!(verdict.spam_scores(), "-0.0");
        assert_eq!(verdict.spam[0].rung, "");
        assert!(verdict
            .evaluations
            .contains(&(Condition::SpamMail, Evaluation::NotMet)));
    }

    #[test]
    fn each_engine_is_judged_and_the_most_severe_line_wins() {
        let profile = ladder(vec![
            engine("spamd", 'A', "pass"),
            engine("rspamd", 'R', "pass"),
        ]);
        let (verdict, asked) = run(
            &profile,
            vec![("spamd", judged(6.0, true)), ("rspamd", judged(25.0, true))],
        );
        let verdict = verdict.expect("verdict");
        assert_eq!(asked, ["spamd", "rspamd"]);
        assert_eq!(verdict.hits.len(), 1);
        assert_eq!(verdict.hits[0].action, Action::Bounce);
        assert_eq!(verdict.hits[0].matches.len(), 2);
        assert_eq!(verdict.spam_scores(), "6.0+25.0");
    }

    #[test]
    fn failures_follow_the_policy_and_too_large_is_a_note() {
        let profile = ladder(vec![engine("spamd", 'A', "pass")]);
        let (verdict, _) =
            run(&profile, vec![("spamd", SpamOutcome::Failed("down".into()))]);
        let verdict = verdict.expect("pass delivers");
        assert!(verdict.hits.is_empty());
        assert_eq!(verdict.spam_scores(), "");
        assert_eq!(
            verdict.warnings,
            ["spam engine spamd (A) failed: down (on_error pass)"]
        );

        let profile = ladder(vec![engine("spamd", 'A', "tempfail")]);
        let (verdict, _) =
            run(&profile, vec![("spamd", SpamOutcome::Failed("down".into()))]);
        assert!(matches!(verdict, Err(Error::Scanner { .. })));

        let profile = ladder(vec![engine("spamd", 'A', "block")]);
        let (verdict, _) =
            run(&profile, vec![("spamd", SpamOutcome::Failed("down".into()))]);
        let verdict = verdict.expect("block is met");
        assert_eq!(verdict.hits[0].rule.line, 1);

        let profile = ladder(vec![engine("spamd", 'A', "tempfail")]);
        let big = SpamOutcome::TooLarge { size: 600_000, max: 512_000 };
        let (verdict, _) = run(&profile, vec![("spamd", big)]);
        let verdict = verdict.expect("too large passes");
        assert!(verdict.hits.is_empty() && verdict.warnings.is_empty());
        assert_eq!(
            verdict.skipped,
            ["not scanned for spam by spamd (A): 600000 bytes is over \
              max_size 512000"]
        );
    }

    #[test]
    fn nothing_is_asked_after_quitasap_or_without_an_engine() {
        let mut profile = ladder(vec![engine("spamd", 'A', "pass")]);
        profile.filters.push(rule(
            Condition::Errormail,
            4,
            None,
            Action::Block,
            true,
        ));
        profile.mailheaders.date = true;
        let (verdict, asked) =
            run(&profile, vec![("spamd", judged(1000.0, true))]);
        let verdict = verdict.expect("verdict");
        assert!(asked.is_empty(), "{asked:?}");
        assert_eq!(verdict.result(), "errormail");

        let profile = ladder(Vec::new());
        let (verdict, asked) = run(&profile, Vec::new());
        assert!(asked.is_empty());
        assert!(matches!(
            verdict.expect("verdict").evaluations.last(),
            Some((Condition::SpamMail, Evaluation::Skipped(_)))
        ));
    }
}
