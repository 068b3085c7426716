/*!
Days and months, computed natively with chrono's proleptic Gregorian
calendar (no ncal, no cal).

A record's day and hour are the ones written in its time field (ISO 8601
with the zone of the writing host): the local day of the mail system,
which is what an administrator means by "today's mail". Reading them is
`qmvc_log::time`'s (re-exported here); this module adds months.
*/

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// A record's day, its hour, and a day on the command line are read as
/// the log formats' owner reads them.
pub use qmvc_log::time::{day_and_hour, parse_day, Day};

/// Today, local time.
pub fn today() -> Day {
    chrono::Local::now().date_naive()
}

/// A month of a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// The year, such as 2026.
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

/// English month names, for titles.
pub const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Month {
    /// The month of `day`.
    pub fn of(day: Day) -> Month {
        Month { year: day.year(), month: day.month() }
    }

    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let month =
            Month { year: year.parse().ok()?, month: month.parse().ok()? };
        month.first().map(|_| month)
    }

    /// The first day, or `None` for a month out of range.
    pub fn first(self) -> Option<Day> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    /// Every day of the month, in order.
    pub fn days(self) -> impl Iterator<Item = Day> {
        let first = self.first();
        first
            .into_iter()
            .flat_map(|d| d.iter_days())
            .take_while(move |d| d.month() == self.month)
    }

    /// The English name, such as `November 2026`.
    pub fn name(self) -> String {
        let index = self.month.saturating_sub(1) as usize;
        let name = MONTH_NAMES.get(index).copied().unwrap_or("?");
        format!("{name} {}", self.year)
    }

    /// The month before.
    pub fn previous(self) -> Month {
        if self.month <= 1 {
            Month { year: self.year - 1, month: 12 }
        } else {
            Month { year: self.year, month: self.month - 1 }
        }
    }

    /// The month after.
    pub fn next(self) -> Month {
        if self.month >= 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_fields() {
        let (day, hour) = day_and_hour("2026-11-22T14:03:05+01:00").unwrap();
        assert_eq!(day.to_string(), "2026-11-22");
        assert_eq!(hour, 14);
        for bad in [
            "",
            "2026-11-22",
            "2026-13-01T00:00:00Z",
            "x".repeat(30).as_str(),
            "2026-11-22T25:00:00Z",
            "2026-11-22 01:00:00",
        ] {
            assert!(day_and_hour(bad).is_none(), "{bad}");
        }
        assert!(day_and_hour("2026-11-2ä:").is_none());
    }

    #[test]
    fn months() {
        let feb = Month::parse("2024-02").unwrap();
        assert_eq!(feb.days().count(), 29);
        assert_eq!(Month::parse("2026-02").unwrap().days().count(), 28);
        assert_eq!(
            Month::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        assert_eq!(
            Month::parse("2026-01").unwrap().previous().to_string(),
            "2025-12"
        );
        assert_eq!(feb.name(), "February 2024");
        assert!(Month::parse("2026-13").is_none());
        assert!(Month::parse("26-01").is_none());
    }
}
