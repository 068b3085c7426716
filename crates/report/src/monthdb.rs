/*!
The month databases in `html/`: text files of one line per fact, the day
first, tab-separated, so an administrator can read and mend them.

- `Pqmvcmonth-YYYY-MM.db` (qmvclog2html -m): a line per day,
  `DAY received clear badmail virusmail errormail other deferred`.
- `Pvirulator-YYYY-MM.db` (virulator -m): per day a line
  `DAY total VIRUSMAILS BADMAILS` and a line `DAY virus COUNT NAME` for
  each of the day's most frequent virus names.

Storing a day replaces every line of that day, so a report run twice
(hourly, say) never counts a day twice. Updates hold an exclusive lock
on `FILE.lock` and replace the file atomically. Lines starting with `#`
are comments; damaged lines are dropped with a warning.
*/

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::cli::Failure;
use crate::dates::{self, Day};
use crate::output;

/// What one day of qmvc.log held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// Every message logged.
    pub received: u64,
    /// No condition met.
    pub clear: u64,
    /// Badmails that were not virusmails.
    pub bad: u64,
    /// Virusmails.
    pub virus: u64,
    /// Only errormail.
    pub error: u64,
    /// Anything else (deferred before a condition was met).
    pub other: u64,
    /// Deferred deliveries (action `defer`), whatever their class.
    pub deferred: u64,
}

const MONTH_HEADER: &str =
    "# day\treceived\tclear\tbadmail\tvirusmail\terrormail\tother\tdeferred\n";
const VIRUS_HEADER: &str = "# day\ttotal\tvirusmails\tbadmails\n\
                            # day\tvirus\tcount\tname\n";

/// Reads `qmvcmonth-*.db`; a missing file is empty.
pub fn read_month(path: &Path) -> Result<BTreeMap<Day, DayCounts>, Failure> {
    let mut days = BTreeMap::new();
    for (day, fields) in read_lines(path)? {
        let numbers: Vec<u64> =
            fields.iter().filter_map(|f| f.parse().ok()).collect();
        match numbers.as_slice() {
            [received, clear, bad, virus, error, other, deferred]
                if numbers.len() == fields.len() =>
            {
                days.insert(
                    day,
                    DayCounts {
                        received: *received,
                        clear: *clear,
                        bad: *bad,
                        virus: *virus,
                        error: *error,
                        other: *other,
                        deferred: *deferred,
                    },
                );
            }
            _ => warn_damaged(path, day),
        }
    }
    Ok(days)
}

/// Stores `days` in `qmvcmonth-*.db`, replacing what it held for them.
pub fn store_month(
    path: &Path,
    days: &BTreeMap<Day, DayCounts>,
) -> Result<(), Failure> {
    let mut lines = String::new();
    for (day, c) in days {
        let _ = writeln!(
            lines,
            "{day}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            c.received, c.clear, c.bad, c.virus, c.error, c.other, c.deferred
        );
    }
    let keys: BTreeSet<Day> = days.keys().copied().collect();
    replace_days(path, MONTH_HEADER, &keys, &lines)
}

/// What one day of qmvc.rep held, for the month.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayViruses {
    /// Virusmails.
    pub virusmails: u64,
    /// Badmails that were not virusmails.
    pub badmails: u64,
    /// The most frequent virus names with their counts.
    pub viruses: Vec<(String, u64)>,
}

/// Reads `virulator-*.db`; a missing file is empty.
pub fn read_viruses(
    path: &Path,
) -> Result<BTreeMap<Day, DayViruses>, Failure> {
    let mut days: BTreeMap<Day, DayViruses> = BTreeMap::new();
    for (day, fields) in read_lines(path)? {
        let entry = days.entry(day).or_default();
        match fields.as_slice() {
            [kind, v, b] if kind == "total" => match (v.parse(), b.parse()) {
                (Ok(v), Ok(b)) => {
                    entry.virusmails = v;
                    entry.badmails = b;
                }
                _ => warn_damaged(path, day),
            },
            [kind, count, name] if kind == "virus" => match count.parse() {
                Ok(count) => entry.viruses.push((name.clone(), count)),
                Err(_) => warn_damaged(path, day),
            },
            _ => warn_damaged(path, day),
        }
    }
    Ok(days)
}

/// Stores `days` in `virulator-*.db`, replacing what it held for them.
pub fn store_viruses(
    path: &Path,
    days: &BTreeMap<Day, DayViruses>,
) -> Result<(), Failure> {
    let mut lines = String::new();
    for (day, d) in days {
        let _ =
            writeln!(lines, "{day}\ttotal\t{}\t{}", d.virusmails, d.badmails);
        for (name, count) in &d.viruses {
            let _ = writeln!(lines, "{day}\tvirus\t{count}\t{}", field(name));
        }
    }
    let keys: BTreeSet<Day> = days.keys().copied().collect();
    replace_days(path, VIRUS_HEADER, &keys, &lines)
}

/// A value as one field: white space and control characters folded to
/// `_`, as qmvc-log(5) does.
fn field(value: &str) -> String {
    let folded: String = value
        .chars()
        .map(|c| if c.is_whitespace() || c.is_control() { '_' } else { c })
        .collect();
    if folded.is_empty() {
        "-".into()
    } else {
        folded
    }
}

fn warn_damaged(path: &Path, day: Day) {
    qmvc_process::esay!(
        "warning: {}: a damaged line for {day} is ignored; the next run \
         with -m for that day writes it anew",
        path.display()
    );
}

/// The lines of a database as `(day, other fields)`.
fn read_lines(path: &Path) -> Result<Vec<(Day, Vec<String>)>, Failure> {
    let text = match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(output::failed("read", path, &e)),
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        match fields.next().and_then(dates::parse_day) {
            Some(day) => out.push((day, fields.map(str::to_string).collect())),
            None => qmvc_process::esay!(
                "warning: {}:{}: not a day; the line is ignored",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(out)
}

/// Takes `FILE.lock`; held until the returned file closes.
fn lock(path: &Path) -> Result<File, Failure> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    output::lock_file(&PathBuf::from(name), 0o644)
}

/// Rewrites `path`: its lines for days not in `days` kept, `lines` added,
/// all sorted by day (stable, so a day's lines keep their order).
fn replace_days(
    path: &Path,
    header: &str,
    days: &BTreeSet<Day>,
    lines: &str,
) -> Result<(), Failure> {
    let _lock = lock(path)?;
    let old = match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(output::failed("read", path, &e)),
    };
    let mut kept: Vec<(Day, &str)> = Vec::new();
    let keyed =
        |line: &str| line.split('\t').next().and_then(dates::parse_day);
    for line in old.lines().chain(lines.lines()) {
        if let Some(day) = keyed(line) {
            kept.push((day, line));
        }
    }
    let added = old.lines().filter(|l| keyed(l).is_some()).count();
    let mut all: Vec<(Day, &str)> = kept
        .iter()
        .enumerate()
        .filter(|(i, (day, _))| *i >= added || !days.contains(day))
        .map(|(_, x)| *x)
        .collect();
    all.sort_by_key(|(day, _)| *day);
    let mut text = String::from(header);
    for (_, line) in all {
        text.push_str(line);
        text.push('\n');
    }
    output::replace(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        dates::parse_day(s).unwrap()
    }

    #[test]
    fn month_days_are_replaced_not_added() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmvcmonth-2026-11.db");
        let one = DayCounts {
            received: 5,
            clear: 3,
            bad: 1,
            virus: 1,
            ..Default::default()
        };
        let two = DayCounts { received: 7, clear: 7, ..Default::default() };
        store_month(&path, &BTreeMap::from([(day("2026-11-22"), one)]))
            .unwrap();
        store_month(&path, &BTreeMap::from([(day("2026-11-01"), two)]))
            .unwrap();
        store_month(&path, &BTreeMap::from([(day("2026-11-22"), two)]))
            .unwrap();
        let read = read_month(&path).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[&day("2026-11-22")], two);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# day"));
        assert!(
            text.find("2026-11-01").unwrap()
                < text.find("2026-11-22").unwrap()
        );
    }

    #[test]
    fn virus_days_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("virulator-2026-11.db");
        let d = DayViruses {
            virusmails: 3,
            badmails: 2,
            viruses: vec![
                ("Eicar-Test-Signature".into(), 2),
                ("a b\tc".into(), 1),
            ],
        };
        store_viruses(&path, &BTreeMap::from([(day("2026-11-22"), d)]))
            .unwrap();
        let read = read_viruses(&path).unwrap();
        let got = &read[&day("2026-11-22")];
        assert_eq!(got.virusmails, 3);
        assert_eq!(got.viruses[1], ("a_b_c".to_string(), 1));
    }

    #[test]
    fn damaged_lines_do_not_stop_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        fs::write(
            &path,
            "garbage\n2026-11-02\t1\t1\t0\t0\t0\t0\t0\n2026-11-03\tx\n",
        )
        .unwrap();
        let read = read_month(&path).unwrap();
        assert_eq!(read.len(), 1);
        assert!(read_month(&dir.path().join("none")).unwrap().is_empty());
    }
}
