/*!
What virulator counts while it streams qmvc.rep: per reported day the
virusmails and badmails with their top lists, and over all reported days
the senders of virusmails for `topvirus_Sender1`.

Every list is a [`Top`], so memory is bounded per day however long the
file; values counted once per message (a message with the same file
name in two parts counts once).
*/

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use crate::cli::{Days, Failure};
use crate::dates::Day;
use crate::output;
use crate::stats::Top;
use qmvc_log::line::BADMAIL;
use qmvc_log::rep::{self, Report};
use qmvc_log::Match;

/// The most scanners listed one by one per day; the hits of any further
/// one (only a damaged file names so many) are counted together.
const SCANNERS_MAX: usize = 16;

/// The most days one run reports: each holds its counters until the
/// end, so a file of years is reported a day at a time with `-D`.
pub const DAYS_MAX: usize = 1000;

/// What the hits of scanners beyond [`SCANNERS_MAX`] are listed under.
pub const OTHER_SCANNERS: &str = "(other scanners)";

/// The virusmails of a day.
#[derive(Clone, Debug, Default)]
pub struct Viruses {
    /// Envelope senders, the null sender as `<>`.
    pub senders: Top,
    /// Original recipients.
    pub recipients: Top,
    /// Virus names.
    pub names: Top,
    /// File names of infected parts.
    pub files: Top,
    /// Per scanner (as the report names it), its virus names.
    pub scanners: BTreeMap<String, Top>,
}

/// The badmails of a day that were not virusmails.
#[derive(Clone, Debug, Default)]
pub struct Badmails {
    /// The badmail conditions met.
    pub conditions: Top,
    /// Envelope senders.
    pub senders: Top,
    /// Original recipients.
    pub recipients: Top,
    /// File names of matching parts.
    pub files: Top,
    /// Detected (magic) MIME types of matching parts.
    pub types: Top,
    /// Executable loader types of matching parts.
    pub loaders: Top,
    /// `CONDITION: PATTERN (FILE:LINE)` of the control lines that matched.
    pub patterns: Top,
    /// Subjects of badsubject hits.
    pub subjects: Top,
}

/// The spammails of a day (whatever else they were): what the spam
/// engines said.
#[derive(Clone, Debug, Default)]
pub struct Spams {
    /// Envelope senders, the null sender as `<>`.
    pub senders: Top,
    /// Original recipients.
    pub recipients: Top,
    /// The rules that hit (SpamAssassin's and rspamd's symbols), once
    /// per message.
    pub symbols: Top,
    /// The scores, by engine: `spamd (A): 1000.0`.
    pub scores: Top,
}

/// One day of qmvc.rep.
#[derive(Clone, Debug, Default)]
pub struct DayTally {
    /// Every report of the day.
    pub reports: u64,
    /// Virusmails (whatever else they were).
    pub virusmails: u64,
    /// Badmails that were not virusmails.
    pub badmails: u64,
    /// Spammails (whatever else they were).
    pub spammails: u64,
    /// The spammails' lists.
    pub spam: Spams,
    /// The virusmails' lists.
    pub viruses: Viruses,
    /// The badmails' lists.
    pub bad: Badmails,
}

/// What one read of qmvc.rep gave.
#[derive(Debug, Default)]
pub struct Tally {
    /// Each reported day that had reports.
    pub days: BTreeMap<Day, DayTally>,
    /// The senders of the reported virusmails, for `topvirus_Sender1`.
    pub virus_senders: Top,
    /// Documents skipped: damaged, too large, or without a parsable
    /// time (so no day to report them on).
    pub damaged: u64,
    /// Whether days beyond [`DAYS_MAX`] were found (and not counted).
    pub too_many_days: bool,
}

/// Reads the reports of `days` from `path` (plain or gzip), once, one
/// document at a time. A missing file is empty unless it `must_exist`.
pub fn read(
    path: &Path,
    days: Days,
    must_exist: bool,
) -> Result<Tally, Failure> {
    let mut tally = Tally::default();
    let Some(mut reader) = output::open_log(path)? else {
        if must_exist {
            return Err(Failure::failed(format!(
                "{} does not exist",
                path.display()
            )));
        }
        return Ok(tally);
    };
    let summary = rep::for_each(&mut *reader, path, |report| {
        tally.add(&report, days);
    })?;
    tally.damaged += summary.damaged;
    if tally.too_many_days {
        return Err(Failure::data(format!(
            "{} holds more than {DAYS_MAX} days; report them a day at a \
             time with -D DAY, or today's with -c",
            path.display()
        )));
    }
    Ok(tally)
}

impl Tally {
    /// Counts `report` if its day is reported.
    pub fn add(&mut self, report: &Report, days: Days) {
        let Some(day) = report.day() else {
            self.damaged += 1;
            return;
        };
        if !days.contains(day) {
            return;
        }
        if self.days.len() >= DAYS_MAX && !self.days.contains_key(&day) {
            self.too_many_days = true;
            return;
        }
        self.days.entry(day).or_default().add(report);
        if report.is_virus() {
            self.virus_senders.add(&report.sender);
        }
    }
}

impl DayTally {
    /// Counts one report of this day.
    pub fn add(&mut self, report: &Report) {
        self.reports += 1;
        if report.is_virus() {
            self.virusmails += 1;
            self.viruses.add(report);
        } else if report.is_bad() {
            self.badmails += 1;
            self.bad.add(report);
        }
        if report.conditions().any(is_spam) {
            self.spammails += 1;
            self.spam.add(report);
        }
    }
}

/// The matches of `report`'s conditions for which `wanted` holds, with
/// their condition.
fn matches<'r>(
    report: &'r Report,
    wanted: impl Fn(&str) -> bool + 'r,
) -> impl Iterator<Item = (&'r str, &'r Match)> + 'r {
    report
        .conditions
        .iter()
        .filter(move |hit| wanted(&hit.condition))
        .flat_map(|hit| {
            hit.matches.iter().map(move |m| (hit.condition.as_str(), m))
        })
}

/// Counts each distinct non-empty value of `values` once.
fn add_once<'v>(top: &mut Top, values: impl Iterator<Item = &'v str>) {
    let mut seen = HashSet::new();
    for value in values {
        if !value.is_empty() && seen.insert(value) {
            top.add(value);
        }
    }
}

fn is_virus(condition: &str) -> bool {
    condition == "virusmail"
}

fn is_spam(condition: &str) -> bool {
    condition == "spammail"
}

fn is_bad(condition: &str) -> bool {
    BADMAIL.contains(&condition)
}

/// A sender as the lists count it: the null sender as `<>`.
fn sender(report: &Report) -> &str {
    if report.sender.is_empty() {
        "<>"
    } else {
        &report.sender
    }
}

impl Viruses {
    fn add(&mut self, report: &Report) {
        self.senders.add(sender(report));
        self.recipients.add(&report.recipient);
        let found = || matches(report, is_virus).map(|(_, m)| m);
        add_once(&mut self.names, found().map(|m| text(&m.virus)));
        add_once(&mut self.files, found().map(|m| text(&m.filename)));
        let mut seen = HashSet::new();
        for m in found() {
            let (scanner, virus) = (text(&m.scanner), text(&m.virus));
            if virus.is_empty() || !seen.insert((scanner, virus)) {
                continue;
            }
            self.scanner(scanner).add(virus);
        }
    }

    /// The list of `scanner`, made when there is room.
    fn scanner(&mut self, scanner: &str) -> &mut Top {
        let name = if self.scanners.contains_key(scanner)
            || self.scanners.len() < SCANNERS_MAX
        {
            scanner
        } else {
            OTHER_SCANNERS
        };
        self.scanners.entry(name.to_string()).or_default()
    }
}

impl Spams {
    fn add(&mut self, report: &Report) {
        self.senders.add(sender(report));
        self.recipients.add(&report.recipient);
        add_once(
            &mut self.symbols,
            report
                .spam
                .iter()
                .flat_map(|s| s.symbols.iter().map(String::as_str)),
        );
        let scores: Vec<String> = report
            .spam
            .iter()
            .filter(|s| s.spam || !s.rung.is_empty())
            .map(|s| format!("{}: {}", s.engine, s.score))
            .collect();
        add_once(&mut self.scores, scores.iter().map(String::as_str));
    }
}

impl Badmails {
    fn add(&mut self, report: &Report) {
        self.senders.add(sender(report));
        self.recipients.add(&report.recipient);
        add_once(
            &mut self.conditions,
            report.conditions().filter(|c| is_bad(c)),
        );
        if report.conditions().any(|c| c == "badsubject") {
            self.subjects.add(&report.subject);
        }
        let found = || matches(report, is_bad);
        add_once(&mut self.files, found().map(|(_, m)| text(&m.filename)));
        add_once(
            &mut self.types,
            found().map(|(_, m)| text(&m.detected_type)),
        );
        add_once(
            &mut self.loaders,
            found().map(|(_, m)| text(&m.loader_type)),
        );
        let patterns: Vec<String> = found()
            .filter(|(_, m)| m.pattern.is_some())
            .map(|(condition, m)| pattern(condition, m))
            .collect();
        add_once(&mut self.patterns, patterns.iter().map(String::as_str));
    }
}

/// `CONDITION: PATTERN (FILE:LINE)`, without the origin when there is
/// none.
fn pattern(condition: &str, m: &Match) -> String {
    let pattern = text(&m.pattern);
    match &m.origin {
        None => format!("{condition}: {pattern}"),
        Some(origin) => format!("{condition}: {pattern} ({origin})"),
    }
}

/// A field of a match as the lists count it: empty when absent.
fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    const REP: &str = "---
time: 2026-11-22T10:00:00+01:00
result: badfilename+virusmail
sender: bad@example.net
recipient: joe@example.com
subject: hi
conditions:
- condition: badfilename
  matches:
  - pattern: '*.exe'
    origin: /var/qmvc/control/badfilenames:1
    filename: x.exe
- condition: virusmail
  matches:
  - scanner: C
    virus: Eicar
    filename: x.exe
  - scanner: C
    virus: Eicar
    filename: x.exe
  - scanner: K
    virus: Eicar
---
time: 2026-11-22T11:00:00+01:00
result: badsubject+badfilename
sender: spam@example.net
recipient: joe@example.com
subject: Buy now
conditions:
- condition: badsubject
  matches:
  - pattern: (?i)buy
    origin: /var/qmvc/control/badsubjects:2
- condition: badfilename
  matches:
  - pattern: '*.scr'
    filename: a.scr
    detected_type: application/x-dosexec
    loader_type: PE32
---
time: 2026-11-23T11:00:00+01:00
result: errormail
---
result: virusmail
sender: undated@example.net
";

    fn tally(days: Days) -> Tally {
        let mut tally = Tally::default();
        let mut reader = REP.as_bytes();
        let summary = rep::for_each(&mut reader, Path::new("r"), |r| {
            tally.add(&r, days)
        })
        .unwrap();
        tally.damaged += summary.damaged;
        tally
    }

    fn day(text: &str) -> Day {
        crate::dates::parse_day(text).unwrap()
    }

    #[test]
    fn spammails_are_counted_with_their_rules_and_scores() {
        let rep = "---
time: 2026-11-22T10:00:00+01:00
result: spammail
sender: ''
recipient: joe@example.com
spam:
- engine: spamd (A)
  score: '1000.0'
  required: '5.0'
  spam: true
  symbols: [GTUBE, GTUBE, NO_RELAYS]
  rung: filters:3 keep
---
time: 2026-11-22T11:00:00+01:00
result: clear
spam:
- engine: spamd (A)
  score: '-0.0'
  required: '5.0'
  spam: false
  symbols: [NO_RELAYS]
";
        let mut tally = Tally::default();
        rep::for_each(&mut rep.as_bytes(), Path::new("r"), |r| {
            tally.add(&r, Days::All)
        })
        .unwrap();
        let d = &tally.days[&day("2026-11-22")];
        assert_eq!((d.reports, d.spammails, d.badmails), (2, 1, 0));
        assert_eq!(d.spam.senders.top(5), [("<>".to_string(), 1)]);
        assert_eq!(
            d.spam.symbols.top(5),
            [("GTUBE".to_string(), 1), ("NO_RELAYS".to_string(), 1)]
        );
        assert_eq!(
            d.spam.scores.top(5),
            [("spamd (A): 1000.0".to_string(), 1)]
        );
    }

    #[test]
    fn counts_per_day_and_message() {
        let all = tally(Days::All);
        assert_eq!(all.damaged, 1);
        assert_eq!(all.days.len(), 2);
        let d = &all.days[&day("2026-11-22")];
        assert_eq!((d.reports, d.virusmails, d.badmails), (2, 1, 1));
        assert_eq!(d.viruses.names.top(5), [("Eicar".to_string(), 1)]);
        assert_eq!(d.viruses.files.top(5), [("x.exe".to_string(), 1)]);
        assert_eq!(d.viruses.scanners.len(), 2);
        assert_eq!(d.viruses.scanners["C"].top(5)[0].1, 1);
        assert_eq!(
            d.bad.conditions.top(5),
            [("badfilename".to_string(), 1), ("badsubject".to_string(), 1)]
        );
        assert_eq!(d.bad.subjects.top(5), [("Buy now".to_string(), 1)]);
        assert_eq!(
            d.bad.patterns.top(5),
            [
                ("badfilename: *.scr".to_string(), 1),
                (
                    "badsubject: (?i)buy (/var/qmvc/control/badsubjects:2)"
                        .to_string(),
                    1
                )
            ]
        );
        assert_eq!(d.bad.loaders.top(5), [("PE32".to_string(), 1)]);
        let other = &all.days[&day("2026-11-23")];
        assert_eq!((other.reports, other.virusmails), (1, 0));
        assert_eq!(all.virus_senders.top(5), [("bad@example.net".into(), 1)]);
    }

    #[test]
    fn only_the_reported_day() {
        let one = tally(Days::One(day("2026-11-23")));
        assert_eq!(one.days.len(), 1);
        assert!(one.virus_senders.is_empty());
        assert_eq!(one.damaged, 1);
    }

    #[test]
    fn days_are_bounded() {
        let mut tally = Tally::default();
        let first = day("2020-01-01");
        for (i, d) in first.iter_days().take(DAYS_MAX + 1).enumerate() {
            let report = Report {
                time: format!("{d}T12:00:00Z"),
                result: "virusmail".into(),
                ..Report::default()
            };
            tally.add(&report, Days::All);
            assert_eq!(tally.too_many_days, i == DAYS_MAX, "{i}");
        }
        assert_eq!(tally.days.len(), DAYS_MAX);
    }

    #[test]
    fn scanners_are_bounded() {
        let mut v = Viruses::default();
        for i in 0..100 {
            v.scanner(&format!("s{i}")).add("x");
        }
        assert_eq!(v.scanners.len(), SCANNERS_MAX + 1);
        assert_eq!(v.scanners[OTHER_SCANNERS].top(1)[0].1, 84);
    }
}
