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
    /// Now, local time, to the second. The C library's `localtime_r`
    /// reads the time zone once per process (chrono's `Local` parses
    /// `/etc/localtime` at every call, a cost on qmvc's hot path); chrono
    /// when the C library cannot say.
    pub fn now() -> Stamp {
        let text = libc_now().unwrap_or_else(|| {
            chrono::Local::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        });
        Stamp { text }
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

/// Now as `2026-11-22T04:45:56+01:00` from the C library; `None` when it
/// fails.
fn libc_now() -> Option<String> {
    // SAFETY: `time` with a null pointer only returns the time.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    // SAFETY: an all-zero `tm` is a valid value (integers, and a null
    // zone name on the systems that have one).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live values of the right types;
    // `localtime_r` writes only `tm`.
    let got = unsafe { libc::localtime_r(&now, &mut tm) };
    if got.is_null() {
        return None;
    }
    // `c_long`: 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    let offset = i64::from(tm.tm_gmtoff);
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.unsigned_abs() / 60;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec.min(59),
        minutes / 60,
        minutes % 60,
    ))
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

    /// The C library's local time reads as chrono's would: the same
    /// form, the same offset, at most a second or two apart.
    #[test]
    fn libc_now_is_chronos_now() {
        let ours = libc_now().expect("localtime_r");
        let chrono_now = chrono::Local::now();
        let parsed =
            chrono::DateTime::parse_from_rfc3339(&ours).expect("RFC 3339");
        assert_eq!(ours.len(), "2026-11-22T04:45:56+01:00".len(), "{ours}");
        assert_eq!(parsed.offset(), chrono_now.offset(), "{ours}");
        let apart = (chrono_now.timestamp() - parsed.timestamp()).abs();
        assert!(apart <= 2, "{ours} vs {chrono_now}");
    }
}
