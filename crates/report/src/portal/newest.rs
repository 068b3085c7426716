/*!
The newest page of each kind in a layer's `html/`, by the names of
[`crate::names`].
*/

use std::fs;
use std::path::Path;

use crate::dates::{Day, Month};
use crate::names::PageName;

/// The newest page of each kind in a layer's `html/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Newest {
    /// Whether `html/` could be read.
    pub readable: bool,
    /// The newest qmvclog2html page.
    pub log: Option<(Day, String)>,
    /// The newest virulator page.
    pub virus: Option<(Day, String)>,
    /// The newest qmvcmonth page.
    pub month: Option<(Month, String)>,
    /// The newest webcalendar page.
    pub calendar: Option<(i32, String)>,
}

/// Keeps `(key, name)` in `slot` if it is newer (or, on the same date,
/// sorts later by name, so the choice does not depend on the directory
/// order).
fn keep<K: Ord>(slot: &mut Option<(K, String)>, key: K, name: &str) {
    let newer = match slot {
        None => true,
        Some((k, n)) => (&key, name) > (&*k, n.as_str()),
    };
    if newer {
        *slot = Some((key, name.to_string()));
    }
}

impl Newest {
    /// Notes the file `name` if it is one of our pages.
    pub fn add(&mut self, name: &str) {
        match PageName::parse(name) {
            Some(PageName::Log { day, .. }) => keep(&mut self.log, day, name),
            Some(PageName::Virus { day, .. }) => {
                keep(&mut self.virus, day, name)
            }
            Some(PageName::Month { month, .. }) => {
                keep(&mut self.month, month, name)
            }
            Some(PageName::Calendar { year, .. }) => {
                keep(&mut self.calendar, year, name)
            }
            None => {}
        }
    }

    /// Scans `html`.
    pub fn scan(html: &Path) -> Newest {
        let mut newest = Newest::default();
        let Ok(entries) = fs::read_dir(html) else { return newest };
        newest.readable = true;
        for entry in entries.flatten() {
            if let Ok(name) = entry.file_name().into_string() {
                newest.add(&name);
            }
        }
        newest
    }

    /// `(label, file)` of each page found.
    pub(crate) fn pages(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if let Some((day, file)) = &self.log {
            out.push((format!("log {day}"), file.as_str()));
        }
        if let Some((day, file)) = &self.virus {
            out.push((format!("viruses {day}"), file.as_str()));
        }
        if let Some((month, file)) = &self.month {
            out.push((format!("month {month}"), file.as_str()));
        }
        if let Some((year, file)) = &self.calendar {
            out.push((format!("calendar {year}"), file.as_str()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_pages_win() {
        let mut n = Newest::default();
        for name in [
            "qmvclog-2026-11-20.html",
            "fehcom_qmvclog-2026-11-22.html",
            "qmvclog-2026-11-21.html",
            "calendar-2025.html",
            "x_calendar-2026.html",
            "index.html",
        ] {
            n.add(name);
        }
        assert_eq!(n.log.unwrap().1, "fehcom_qmvclog-2026-11-22.html");
        assert_eq!(n.calendar.unwrap().1, "x_calendar-2026.html");
        assert!(n.virus.is_none());
    }
}
