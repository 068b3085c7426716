/*!
The time field of every log record: ISO 8601 local time with its offset
(`2026-11-22T04:45:56+01:00`), whose day and hour are the ones the report
programs count under (the local day of the mail system).
*/

use chrono::NaiveDate;

/// A calendar day.
pub use chrono::NaiveDate as Day;

/// A time field as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The field, e.g. `2026-11-22T04:45:56+01:00`.
    pub text: String,
}

impl Stamp {
    /// Now, local time, to the second.
    pub fn now() -> Stamp {
        let now = chrono::Local::now();
        Stamp { text: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false) }
    }

    /// The field as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its day and hour (see [`day_and_hour`]); the first day of 1970 at
    /// 0 h for a stamp that is not a time field.
    pub fn day_and_hour(&self) -> (Day, u8) {
        day_and_hour(&self.text).unwrap_or_default()
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Option<Day> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// The day and hour (0 to 23) of a time field such as
/// `2026-11-22T14:03:05+01:00`; `None` when it is not one.
pub fn day_and_hour(time: &str) -> Option<(Day, u8)> {
    let day = parse_day(time.get(..10)?)?;
    if time.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let hour: u8 = time.get(11..13)?.parse().ok()?;
    if hour > 23 {
        return None;
    }
    Some((day, hour))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_a_time_field() {
        let now = Stamp::now();
        assert!(day_and_hour(now.as_str()).is_some(), "{now:?}");
        assert_eq!(
            day_and_hour("2026-11-22T14:03:05Z").map(|d| d.1),
            Some(14)
        );
        assert!(day_and_hour("2026-11-22 14:03").is_none());
        assert!(day_and_hour("2026-11-22T24:00:00Z").is_none());
    }
}
