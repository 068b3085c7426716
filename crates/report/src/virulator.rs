/*!
virulator: the sources and sinks of virusmails and badmails, from a
layer's `qmvc.rep` (qmvc-log(5)), as a page per day; the list of virus
senders that blockvirussender reads; with `-m` the day in the month's
virus database; with `-s` the state of the scanners from `qmvc -s`.

The file is read once, one document at a time, into bounded counters
(`tally`): memory does not grow with the file. A damaged document, or
one without a parsable time, is skipped and counted on every page.
*/

mod page;
mod scanners;
mod tally;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::{self, Days, Domain, Failure};
use crate::dates::{Day, Month};
use crate::monthdb::{self, DayViruses};
use crate::names;
use crate::output;
use crate::stats::Top;

const PROGRAM: &str = "virulator";
const USAGE: &str = "virulator [-c | -D DAY] [-m] [-s] [-d DOMAIN] \
                     [-f REPFILE] [-n TOP] [LAYER]";

/// Rows per table without `-n`.
const TOP_DEFAULT: usize = 20;
/// The most rows per table: what a [`Top`] holds for sure.
const TOP_MAX: usize = Top::CAPACITY;
/// Virus names per day in the month database.
const DB_VIRUSES: usize = 20;

/// The command line.
#[derive(Debug)]
struct Options {
    days: Days,
    store: bool,
    scanners: bool,
    domain: Domain,
    file: Option<PathBuf>,
    top: usize,
    layer: PathBuf,
}

/// Runs virulator with `args` (without the program name); the exit code.
pub fn main(args: &[OsString]) -> u8 {
    cli::run_with(PROGRAM, USAGE, || options(args), run)
}

/// The options, or `None` for `-h`.
fn options(args: &[OsString]) -> Result<Option<Options>, Failure> {
    let mut o = getopts::Options::new();
    o.optflag("c", "", "today only");
    o.optopt("D", "", "that day only", "DAY");
    o.optflag("m", "", "store the days in the month database");
    o.optflag("s", "", "show the scanners' state from qmvc -s");
    o.optopt("d", "", "domain name for titles and file names", "DOMAIN");
    o.optopt("f", "", "read this file instead of LAYER/log/qmvc.rep", "FILE");
    o.optopt("n", "", "rows per table", "TOP");
    o.optflag("h", "", "usage");
    let m = cli::parse(PROGRAM, USAGE, &o, args)?;
    if m.opt_present("h") {
        return Ok(None);
    }
    let top = match m.opt_str("n") {
        None => TOP_DEFAULT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=TOP_MAX).contains(&n) => n,
            _ => {
                return Err(Failure::usage(format!(
                    "-n {text:?}: rows per table are a number from 1 to \
                     {TOP_MAX}\nusage: {USAGE}"
                )))
            }
        },
    };
    let file = match m.opt_str("f") {
        Some(f) if f.is_empty() => {
            return Err(Failure::usage("-f: the file name is empty"))
        }
        other => other.map(PathBuf::from),
    };
    Ok(Some(Options {
        days: Days::from_flags(m.opt_present("c"), m.opt_str("D"))?,
        store: m.opt_present("m"),
        scanners: m.opt_present("s"),
        domain: Domain::parse(m.opt_str("d"))?,
        file,
        top,
        layer: cli::layer(&m.free)?,
    }))
}

fn run(options: &Options) -> Result<(), Failure> {
    let source = options
        .file
        .clone()
        .unwrap_or_else(|| options.layer.join("log").join("qmvc.rep"));
    let tally = tally::read(&source, options.days, options.file.is_some())?;
    let html = output::html_dir(&options.layer)?;
    let status = options.scanners.then(|| scanners::status(&options.layer));
    let context = page::Context {
        domain: &options.domain,
        top: options.top,
        damaged: tally.damaged,
        source: source.display().to_string(),
        scanners: status.as_ref(),
    };
    let empty = tally::DayTally::default();
    let days = reported_days(options.days, &tally);
    let prefix = options.domain.prefix();
    for &day in &days {
        let counts = tally.days.get(&day).unwrap_or(&empty);
        let text = page::render(&context, day, counts);
        output::replace(
            &html.join(names::virus_page(&prefix, day)),
            text.as_bytes(),
        )?;
    }
    output::replace(
        &html.join(names::TOPVIRUS_SENDERS),
        sender_list(&tally.virus_senders).as_bytes(),
    )?;
    if options.store {
        store(&html, &prefix, &days, &tally)?;
    }
    Ok(())
}

/// The days that get a page: the one asked for even without reports,
/// else each day the file held.
fn reported_days(days: Days, tally: &tally::Tally) -> Vec<Day> {
    match days {
        Days::One(day) => vec![day],
        Days::All => tally.days.keys().copied().collect(),
    }
}

/// `-m`: each reported day in its month's virus database.
fn store(
    html: &Path,
    prefix: &str,
    days: &[Day],
    tally: &tally::Tally,
) -> Result<(), Failure> {
    let mut months: BTreeMap<Month, BTreeMap<Day, DayViruses>> =
        BTreeMap::new();
    for &day in days {
        let facts = match tally.days.get(&day) {
            Some(t) => DayViruses {
                virusmails: t.virusmails,
                badmails: t.badmails,
                viruses: t.viruses.names.top(DB_VIRUSES),
            },
            None => DayViruses::default(),
        };
        months.entry(Month::of(day)).or_default().insert(day, facts);
    }
    for (month, days) in &months {
        monthdb::store_viruses(
            &html.join(names::virus_db(prefix, *month)),
            days,
        )?;
    }
    Ok(())
}

/// Whether `sender` may stand in `topvirus_Sender1`: a real sender on
/// one line with no blank in it, as its line format needs.
pub fn listable(sender: &str) -> bool {
    !matches!(sender, "" | "-" | "<>" | "#@[]")
        && !sender.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `topvirus_Sender1`: `COUNT SENDER` a line, most first, ties by
/// sender.
pub fn sender_list(senders: &Top) -> String {
    let mut text = String::new();
    for (sender, count) in senders.at_least(1) {
        if listable(&sender) {
            let _ = writeln!(text, "{count} {sender}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn sender_list_order_and_filter() {
        let mut top = Top::new();
        for (s, n) in [
            ("b@x", 2),
            ("a@x", 2),
            ("c@x", 5),
            ("", 9),
            ("-", 9),
            ("<>", 9),
            ("#@[]", 9),
            ("a b@x", 9),
            ("evil@x\nrm -rf /", 9),
            ("tab\t@x", 9),
        ] {
            top.add_n(s, n);
        }
        assert_eq!(sender_list(&top), "5 c@x\n2 a@x\n2 b@x\n");
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["-n", "0"][..],
            &["-n", "x"],
            &["-n", "-3"],
            &["-c", "-D", "2026-11-22"],
            &["-D", "2026-13-01"],
            &["-d", "../x"],
            &["a", "b"],
            &["-x"],
            &["-f", ""],
        ] {
            let got = options(&args(bad));
            assert_eq!(got.unwrap_err().code(), cli::EXIT_USAGE, "{bad:?}");
        }
        let o = options(&args(&["-m", "-s", "-c", "-d", "fehcom", "/l"]))
            .unwrap()
            .unwrap();
        assert!(o.store && o.scanners);
        assert_eq!(o.top, TOP_DEFAULT);
        assert_eq!(o.layer, PathBuf::from("/l"));
        assert!(options(&args(&["-h"])).unwrap().is_none());
    }
}
