/*!
The names of everything the aux programs write into a layer's `html/`,
fixed in one place so that pages link to each other and qmvcportal finds
them. `P` is the `-d DOMAIN` prefix (`DOMAIN_`, or nothing).

| file | written by |
|---|---|
| `Pqmvclog-YYYY-MM-DD.html` | qmvclog2html |
| `Pvirulator-YYYY-MM-DD.html` | virulator |
| `Pqmvcmonth-YYYY-MM.html` | qmvcmonth |
| `Pqmvcmonth-YYYY-MM.db` | qmvclog2html -m |
| `Pvirulator-YYYY-MM.db` | virulator -m |
| `Pcalendar-YYYY.html` | webcalendar |
| `topvirus_Sender1` | virulator (no prefix: one per layer) |
| `index.html` | qmvcportal |
*/

use crate::dates::{Day, Month};

/// The day page of qmvclog2html.
pub fn log_page(prefix: &str, day: Day) -> String {
    format!("{prefix}qmvclog-{day}.html")
}

/// The day page of virulator.
pub fn virus_page(prefix: &str, day: Day) -> String {
    format!("{prefix}virulator-{day}.html")
}

/// The month page of qmvcmonth.
pub fn month_page(prefix: &str, month: Month) -> String {
    format!("{prefix}qmvcmonth-{month}.html")
}

/// The month database of qmvclog2html -m.
pub fn month_db(prefix: &str, month: Month) -> String {
    format!("{prefix}qmvcmonth-{month}.db")
}

/// The month database of virulator -m.
pub fn virus_db(prefix: &str, month: Month) -> String {
    format!("{prefix}virulator-{month}.db")
}

/// The year page of webcalendar.
pub fn calendar_page(prefix: &str, year: i32) -> String {
    format!("{prefix}calendar-{year:04}.html")
}

/// The list blockvirussender reads.
pub const TOPVIRUS_SENDERS: &str = "topvirus_Sender1";

/// The portal page.
pub const PORTAL: &str = "index.html";

/// What kind of page a file name in `html/` is, with its prefix and date
/// part: how qmvcportal finds the newest pages of a layer whatever `-d`
/// its cron jobs used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageName {
    /// `Pqmvclog-DAY.html`.
    Log { prefix: String, day: Day },
    /// `Pvirulator-DAY.html`.
    Virus { prefix: String, day: Day },
    /// `Pqmvcmonth-MONTH.html`.
    Month { prefix: String, month: Month },
    /// `Pcalendar-YEAR.html`.
    Calendar { prefix: String, year: i32 },
}

impl PageName {
    /// Recognises one of our page names.
    pub fn parse(name: &str) -> Option<PageName> {
        let stem = name.strip_suffix(".html")?;
        for kind in ["qmvclog-", "virulator-", "qmvcmonth-", "calendar-"] {
            let Some(at) = stem.rfind(kind) else { continue };
            let prefix = stem.get(..at)?;
            if !(prefix.is_empty() || prefix.ends_with('_')) {
                return None;
            }
            let date = stem.get(at + kind.len()..)?;
            let prefix = prefix.to_string();
            let day = || crate::dates::parse_day(date);
            return match kind {
                "qmvclog-" => Some(PageName::Log { prefix, day: day()? }),
                "virulator-" => Some(PageName::Virus { prefix, day: day()? }),
                "qmvcmonth-" => Some(PageName::Month {
                    prefix,
                    month: Month::parse(date)?,
                }),
                _ if date.len() == 4 => Some(PageName::Calendar {
                    prefix,
                    year: date.parse().ok()?,
                }),
                _ => None,
            };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let day = crate::dates::parse_day("2026-11-22").unwrap();
        let month = Month::of(day);
        for (name, want) in [
            (
                log_page("fehcom_", day),
                PageName::Log { prefix: "fehcom_".into(), day },
            ),
            (log_page("", day), PageName::Log { prefix: "".into(), day }),
            (
                virus_page("a.b_", day),
                PageName::Virus { prefix: "a.b_".into(), day },
            ),
            (
                month_page("", month),
                PageName::Month { prefix: "".into(), month },
            ),
            (
                calendar_page("x_", 2026),
                PageName::Calendar { prefix: "x_".into(), year: 2026 },
            ),
        ] {
            assert_eq!(PageName::parse(&name), Some(want), "{name}");
        }
        assert_eq!(log_page("", day), "qmvclog-2026-11-22.html");
        for other in [
            "index.html",
            "qmvclog-2026-13-01.html",
            "qmvcmonth-2026-11.db",
            "foo-2026.html",
        ] {
            assert_eq!(PageName::parse(other), None, "{other}");
        }
    }
}
