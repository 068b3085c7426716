/*!
The counting of qmvclog2html: one pass over the log ([`Scan`]), each
reported day's bounded counters ([`DayState`]), its rows handed to the
spool as they come.
*/

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use super::table::{Rows, Spool};
use super::MAX_DAYS;
use crate::cli::{Days, Failure};
use crate::dates::Day;
use crate::monthdb::DayCounts;
use crate::stats::{Delays, Top};
use qmvc_log::line::{Class, Record};

/// One pass over the log: a state per reported day.
pub(super) struct Scan {
    pub(super) days: BTreeMap<Day, DayState>,
    /// Lines that are not qmvc.log records, whatever their day.
    pub(super) damaged: u64,
    select: Days,
    limit: Option<u64>,
}

impl Scan {
    /// A scan for `select`; a single day is reported even when the log
    /// holds none of it.
    pub(super) fn new(select: Days, limit: Option<u64>) -> Scan {
        let mut days = BTreeMap::new();
        if let Days::One(day) = select {
            days.insert(day, DayState::new());
        }
        Scan { days, damaged: 0, select, limit }
    }

    /// Counts one line of the log.
    pub(super) fn line(
        &mut self,
        line: &str,
        spool: &mut Spool,
    ) -> Result<(), Failure> {
        if line.is_empty() {
            return Ok(());
        }
        let Some(record) = Record::parse(line) else {
            self.damaged += 1;
            return Ok(());
        };
        if !self.select.contains(record.day) {
            return Ok(());
        }
        let open = self.days.len();
        let state = match self.days.entry(record.day) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                if open >= MAX_DAYS {
                    return Err(Failure::data(format!(
                        "the log holds more than {MAX_DAYS} days; report \
                         them a day at a time with -D DAY, or today's \
                         with -c"
                    )));
                }
                e.insert(DayState::new())
            }
        };
        state.count(&record);
        state.rows.push(&record, self.limit, spool)
    }
}

/// What one day of the log held, in bounded memory.
#[derive(Debug)]
pub(super) struct DayState {
    pub(super) counts: DayCounts,
    /// Messages that met spammail (whatever else they met): not a class
    /// of their own in the month databases, a card of the day.
    pub(super) spam: u64,
    /// Bytes in all.
    pub(super) size: u64,
    /// Per hour, a count per [`super::SERIES`].
    pub(super) hours: [[u64; 5]; 24],
    pub(super) results: Top,
    pub(super) actions: Top,
    pub(super) conditions: Top,
    pub(super) senders: Top,
    pub(super) recipients: Top,
    /// Senders of badmail and virusmail.
    pub(super) bad_senders: Top,
    pub(super) delays: Delays,
    pub(super) rows: Rows,
}

/// Where a class goes in [`super::SERIES`].
fn series_index(class: Class) -> usize {
    match class {
        Class::Clear => 0,
        Class::Bad => 1,
        Class::Virus => 2,
        Class::Error => 3,
        Class::Other => 4,
    }
}

impl DayState {
    fn new() -> DayState {
        DayState {
            counts: DayCounts::default(),
            spam: 0,
            size: 0,
            hours: [[0; 5]; 24],
            results: Top::new(),
            actions: Top::new(),
            conditions: Top::new(),
            senders: Top::new(),
            recipients: Top::new(),
            bad_senders: Top::new(),
            delays: Delays::new(),
            rows: Rows::default(),
        }
    }

    /// Counts `r` (not its row).
    fn count(&mut self, r: &Record) {
        let class = r.class();
        let c = &mut self.counts;
        c.received += 1;
        match class {
            Class::Clear => c.clear += 1,
            Class::Bad => c.bad += 1,
            Class::Virus => c.virus += 1,
            Class::Error => c.error += 1,
            Class::Other => c.other += 1,
        }
        if r.deferred() {
            c.deferred += 1;
        }
        self.size = self.size.saturating_add(r.size);
        if let Some(slot) = self
            .hours
            .get_mut(usize::from(r.hour))
            .and_then(|h| h.get_mut(series_index(class)))
        {
            *slot += 1;
        }
        self.results.add(r.result);
        for action in r.actions() {
            self.actions.add(action);
        }
        for condition in r.conditions() {
            self.conditions.add(condition);
            if condition == "spammail" {
                self.spam += 1;
            }
        }
        self.senders.add(r.sender);
        self.recipients.add(r.recipient);
        if matches!(class, Class::Bad | Class::Virus) {
            self.bad_senders.add(r.sender);
        }
        self.delays.add(r.seconds);
    }

    /// Whether a top list dropped rare values.
    pub(super) fn approximate(&self) -> bool {
        [&self.senders, &self.recipients, &self.bad_senders]
            .iter()
            .any(|t| t.approximate())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time: &str, result: &str, action: &str, sender: &str) -> String {
        format!(
            "{time}\t{result}\t0\t{action}\tC\t0.250\t1000\t{sender}\t\
             bob@example.org\t<1@x>\tHello"
        )
    }

    fn day(text: &str) -> Day {
        crate::dates::parse_day(text).unwrap()
    }

    #[test]
    fn a_day_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        let mut scan = Scan::new(Days::All, None);
        for l in [
            line("2026-11-22T01:00:00+01:00", "clear", "pass", "a@x"),
            line("2026-11-22T01:30:00+01:00", "virusmail", "block", "v@x"),
            line("2026-11-22T13:00:00+01:00", "badsubject", "block", "v@x"),
            line("2026-11-22T13:00:01+01:00", "errormail", "keep", "e@x"),
            line("2026-11-22T23:59:59+01:00", "-", "defer", "d@x"),
            line("2026-11-23T00:00:00+01:00", "clear", "pass", "a@x"),
            "garbage".into(),
            String::new(),
        ] {
            scan.line(&l, &mut spool).unwrap();
        }
        assert_eq!(scan.damaged, 1);
        assert_eq!(scan.days.len(), 2);
        let s = &scan.days[&day("2026-11-22")];
        let want = DayCounts {
            received: 5,
            clear: 1,
            bad: 1,
            virus: 1,
            error: 1,
            other: 1,
            deferred: 1,
        };
        assert_eq!(s.counts, want);
        assert_eq!(s.size, 5000);
        assert_eq!(s.hours[1], [1, 0, 1, 0, 0]);
        assert_eq!(s.hours[13], [0, 1, 0, 1, 0]);
        assert_eq!(s.hours[23], [0, 0, 0, 0, 1]);
        assert_eq!(s.bad_senders.top(5), [("v@x".to_string(), 2)]);
        assert_eq!(s.actions.top(1), [("block".to_string(), 2)]);
        assert_eq!(s.conditions.len(), 3);
        assert_eq!(s.delays.count(), 5);
        assert_eq!(s.rows.shown, 5);
    }

    #[test]
    fn one_day_is_reported_even_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        let mut scan = Scan::new(Days::One(day("2026-11-21")), None);
        let l = line("2026-11-22T01:00:00+01:00", "clear", "pass", "a@x");
        scan.line(&l, &mut spool).unwrap();
        assert_eq!(scan.days.len(), 1);
        assert_eq!(scan.days[&day("2026-11-21")].counts.received, 0);
    }

    #[test]
    fn days_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        let mut scan = Scan::new(Days::All, None);
        let first = day("2020-01-01");
        for (i, d) in first.iter_days().take(MAX_DAYS + 1).enumerate() {
            let l = line(&format!("{d}T12:00:00Z"), "clear", "pass", "a@x");
            let done = scan.line(&l, &mut spool);
            assert_eq!(done.is_err(), i == MAX_DAYS, "{i}");
        }
    }
}
