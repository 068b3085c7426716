/*!
qmvclog2html(8): a page per day of `qmvc.log`.

The log is read once, line by line, plain or gzip-compressed. Each
reported day keeps bounded counters (`DayState`: class counts, an
hour-by-hour histogram, top lists and a delay histogram from
[`crate::stats`]), and the rows of its full table are written aside as
they come (`Spool`), so memory does not grow with the log. Once the log
is read, each day's page is written atomically: the summary, then the
rows copied from the spool. With `-m` each day's counts go to the month
database ([`monthdb::store_month`]), replacing that day's line.

This file has the command line and the run; the counting is
`collect`'s, the spool of the full table's rows `table`'s, the page
`page`'s.
*/

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::{self, Days, Domain, Failure};
use crate::dates::{Day, Month};
use crate::html::{self, Series};
use crate::monthdb::{self, DayCounts};
use crate::names;
use crate::output;

mod collect;
mod page;
mod table;

use collect::Scan;
use page::Page;
use table::Spool;

const PROGRAM: &str = "qmvclog2html";

const USAGE: &str = "qmvclog2html [-c | -D DAY] [-m] [-d DOMAIN] \
                     [-f LOGFILE] [-n ROWS] [LAYER]";

/// The most days one run reports: each open day holds its counters, so
/// a log of years is reported a day at a time with `-D`.
pub const MAX_DAYS: usize = 1000;

/// The chart series ([`html::CLASSES`]).
const SERIES: [Series; 5] = html::CLASSES;

/// Runs qmvclog2html with `args` (without the program name); the exit code.
pub fn main(args: &[OsString]) -> u8 {
    cli::run_with(PROGRAM, USAGE, || parse(args), run)
}

/// The command line.
#[derive(Debug)]
struct Options {
    days: Days,
    store: bool,
    domain: Domain,
    file: Option<PathBuf>,
    rows: Option<u64>,
    layer: PathBuf,
}

/// The options, or `None` for `-h`.
fn parse(args: &[OsString]) -> Result<Option<Options>, Failure> {
    let mut o = getopts::Options::new();
    o.optflag("c", "", "today only");
    o.optopt("D", "", "that day only", "DAY");
    o.optflag("m", "", "store the days in the month database");
    o.optopt("d", "", "the domain of titles and file names", "DOMAIN");
    o.optopt("f", "", "the log to read", "LOGFILE");
    o.optopt("n", "", "the most rows of the full table", "ROWS");
    o.optflag("h", "", "this help");
    let m = cli::parse(PROGRAM, USAGE, &o, args)?;
    if m.opt_present("h") {
        return Ok(None);
    }
    let rows = match m.opt_str("n") {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            Failure::usage(format!(
                "-n {text:?}: the number of rows is a whole number, such \
                 as 500"
            ))
        })?),
    };
    Ok(Some(Options {
        days: Days::from_flags(m.opt_present("c"), m.opt_str("D"))?,
        store: m.opt_present("m"),
        domain: Domain::parse(m.opt_str("d"))?,
        file: m.opt_str("f").map(PathBuf::from),
        rows,
        layer: cli::layer(&m.free)?,
    }))
}

fn run(options: &Options) -> Result<(), Failure> {
    let path = match &options.file {
        Some(file) => file.clone(),
        None => options.layer.join("log").join("qmvc.log"),
    };
    let reader = output::open_log(&path)?;
    if reader.is_none() {
        if options.file.is_some() {
            return Err(Failure::failed(format!(
                "cannot open {}: no such file",
                path.display()
            )));
        }
        if options.days == Days::All {
            qmvc_process::esay!(
                "{PROGRAM}: {}: no log yet; no page written",
                path.display()
            );
            return Ok(());
        }
    }
    let html_dir = output::html_dir(&options.layer)?;
    let mut spool = Spool::new(&html_dir)?;
    let mut scan = Scan::new(options.days, options.rows);
    if let Some(mut reader) = reader {
        let mut buf = Vec::with_capacity(4096);
        while output::next_line(&mut *reader, &mut buf, &path)? {
            scan.line(&String::from_utf8_lossy(&buf), &mut spool)?;
        }
    }
    if scan.days.is_empty() {
        qmvc_process::esay!(
            "{PROGRAM}: {}: no record of any day; no page written",
            path.display()
        );
        return Ok(());
    }
    let prefix = options.domain.prefix();
    let mut months: BTreeMap<Month, BTreeMap<Day, DayCounts>> =
        BTreeMap::new();
    for (day, state) in &scan.days {
        months.entry(Month::of(*day)).or_default().insert(*day, state.counts);
    }
    let damaged = scan.damaged;
    // Each day's state is dropped once its page is written.
    while let Some((day, state)) = scan.days.pop_first() {
        let page = Page { day, prefix: &prefix, damaged };
        let title = options.domain.title(&format!("qmvc log of {day}"));
        let path = html_dir.join(names::log_page(&prefix, day));
        page.write(&path, &title, &state, &mut spool)?;
    }
    if options.store {
        for (month, days) in &months {
            let db = html_dir.join(names::month_db(&prefix, *month));
            monthdb::store_month(&db, days)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors() {
        let args = |a: &[&str]| -> Vec<OsString> {
            a.iter().map(OsString::from).collect()
        };
        for bad in [
            &["-c", "-D", "2026-11-22"][..],
            &["-D", "2026-11-31"],
            &["-d", "../x"],
            &["a", "b"],
            &["-n", "x"],
            &["-x"],
        ] {
            let e = parse(&args(bad)).unwrap_err();
            assert_eq!(e.code(), cli::EXIT_USAGE, "{bad:?}");
        }
        assert!(parse(&args(&["-h"])).unwrap().is_none());
        let o = parse(&args(&["-mc", "-n", "5", "/l"])).unwrap().unwrap();
        assert!(o.store && o.rows == Some(5));
        assert_eq!(o.layer, PathBuf::from("/l"));
    }
}
