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
*/

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use chrono::Datelike;

use crate::cli::{self, Days, Domain, Failure};
use crate::dates::{self, Day, Month};
use crate::html::{self, Bar, Series};
use crate::monthdb::{self, DayCounts};
use crate::names;
use crate::output::{self, Replacement};
use crate::stats::{Delays, Top};
use qmvc_log::line::{Class, Record};

const PROGRAM: &str = "qmvclog2html";

const USAGE: &str = "qmvclog2html [-c | -D DAY] [-m] [-d DOMAIN] \
                     [-f LOGFILE] [-n ROWS] [LAYER]";

/// The most days one run reports: each open day holds its counters, so
/// a log of years is reported a day at a time with `-D`.
pub const MAX_DAYS: usize = 1000;

/// Rows of each top list of senders and recipients.
const TOP_ROWS: usize = 20;

/// Rows of the tables by result, action and condition.
const KIND_ROWS: usize = 50;

/// Rows are kept in memory per day until this many bytes, then spooled.
const CHUNK: usize = 32 << 10;

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
            eprintln!(
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
        eprintln!(
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

/// One pass over the log: a state per reported day.
struct Scan {
    days: BTreeMap<Day, DayState>,
    /// Lines that are not qmvc.log records, whatever their day.
    damaged: u64,
    select: Days,
    limit: Option<u64>,
}

impl Scan {
    /// A scan for `select`; a single day is reported even when the log
    /// holds none of it.
    fn new(select: Days, limit: Option<u64>) -> Scan {
        let mut days = BTreeMap::new();
        if let Days::One(day) = select {
            days.insert(day, DayState::new());
        }
        Scan { days, damaged: 0, select, limit }
    }

    /// Counts one line of the log.
    fn line(&mut self, line: &str, spool: &mut Spool) -> Result<(), Failure> {
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
                    return Err(Failure::failed(format!(
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
struct DayState {
    counts: DayCounts,
    /// Bytes in all.
    size: u64,
    /// Per hour, a count per [`SERIES`].
    hours: [[u64; 5]; 24],
    results: Top,
    actions: Top,
    conditions: Top,
    senders: Top,
    recipients: Top,
    /// Senders of badmail and virusmail.
    bad_senders: Top,
    delays: Delays,
    rows: Rows,
}

/// Where a class goes in [`SERIES`].
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
        }
        self.senders.add(r.sender);
        self.recipients.add(r.recipient);
        if matches!(class, Class::Bad | Class::Virus) {
            self.bad_senders.add(r.sender);
        }
        self.delays.add(r.seconds);
    }

    /// Whether a top list dropped rare values.
    fn approximate(&self) -> bool {
        [&self.senders, &self.recipients, &self.bad_senders]
            .iter()
            .any(|t| t.approximate())
    }
}

/// A stretch of the spool.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    offset: u64,
    len: u64,
}

/// One unnamed temporary file holding the rows of every day in chunks,
/// so a run over many days needs one descriptor, not one per day.
struct Spool {
    file: File,
    end: u64,
    dir: PathBuf,
}

impl Spool {
    /// A spool in `dir` (the html directory: on the disk of the pages).
    fn new(dir: &Path) -> Result<Spool, Failure> {
        let file = tempfile::tempfile_in(dir)
            .map_err(|e| output::failed("create a file in", dir, &e))?;
        Ok(Spool { file, end: 0, dir: dir.to_path_buf() })
    }

    /// Appends `bytes`; where they are.
    fn append(&mut self, bytes: &[u8]) -> Result<Chunk, Failure> {
        self.file
            .seek(SeekFrom::Start(self.end))
            .and_then(|_| self.file.write_all(bytes))
            .map_err(|e| output::failed("write a file in", &self.dir, &e))?;
        let chunk = Chunk { offset: self.end, len: bytes.len() as u64 };
        self.end += chunk.len;
        Ok(chunk)
    }

    /// Copies `chunk` to `out`.
    fn copy(
        &mut self,
        chunk: Chunk,
        out: &mut Replacement,
    ) -> Result<(), Failure> {
        self.file
            .seek(SeekFrom::Start(chunk.offset))
            .map_err(|e| output::failed("read a file in", &self.dir, &e))?;
        out.copy_from(&mut (&mut self.file).take(chunk.len))
    }
}

/// The rows of a day's full table: the latest in memory, the rest in the
/// spool.
#[derive(Debug, Default)]
struct Rows {
    chunks: Vec<Chunk>,
    buf: Vec<u8>,
    shown: u64,
    left_out: u64,
}

impl Rows {
    /// Adds the row of `r`, unless `limit` rows are there already.
    fn push(
        &mut self,
        r: &Record,
        limit: Option<u64>,
        spool: &mut Spool,
    ) -> Result<(), Failure> {
        if limit.is_some_and(|n| self.shown >= n) {
            self.left_out += 1;
            return Ok(());
        }
        self.shown += 1;
        write_row(&mut self.buf, r);
        if self.buf.len() >= CHUNK {
            self.chunks.push(spool.append(&self.buf)?);
            self.buf.clear();
        }
        Ok(())
    }
}

/// The columns of the full table.
const COLUMNS: [(&str, &str); 11] = [
    ("time", ""),
    ("result", ""),
    ("action", ""),
    ("errormail", " class=\"n\""),
    ("scanners", ""),
    ("seconds", " class=\"n\""),
    ("size", " class=\"n\""),
    ("sender", ""),
    ("recipient", ""),
    ("Message-ID", ""),
    ("Subject", " class=\"w\""),
];

/// One row of the full table, every value escaped.
fn write_row(out: &mut Vec<u8>, r: &Record) {
    let time = r.time.get(11..19).unwrap_or(r.time);
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
         <td>{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td class=\"w\">{}</td></tr>",
        html::esc(time),
        html::esc(r.result),
        html::esc(r.action),
        r.errormail,
        html::esc(r.scanners),
        r.seconds,
        r.size,
        html::esc(r.sender),
        html::esc(r.recipient),
        html::esc(r.message_id),
        html::esc(r.subject),
    );
}

/// `1.5 MiB`, `812 B`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("EiB");
    format!("{value:.1} {name}")
}

/// What a day's page needs besides the day's state.
struct Page<'a> {
    day: Day,
    prefix: &'a str,
    /// Damaged lines in the whole log.
    damaged: u64,
}

impl Page<'_> {
    /// Writes the page to `path`: the summary, the spooled rows, the end.
    fn write(
        &self,
        path: &Path,
        title: &str,
        state: &DayState,
        spool: &mut Spool,
    ) -> Result<(), Failure> {
        let mut out = Replacement::new(path)?;
        out.write(self.summary(title, state).as_bytes())?;
        for chunk in &state.rows.chunks {
            spool.copy(*chunk, &mut out)?;
        }
        out.write(&state.rows.buf)?;
        out.write(self.end(state).as_bytes())?;
        out.commit()
    }

    fn nav(&self) -> Vec<(String, String)> {
        let (day, prefix) = (self.day, self.prefix);
        let month = Month::of(day);
        let mut nav = vec![
            (names::virus_page(prefix, day), "viruses of the day".into()),
            (names::month_page(prefix, month), month.name()),
            (
                names::calendar_page(prefix, day.year()),
                format!("calendar {}", day.year()),
            ),
        ];
        if let Some(before) = day.pred_opt() {
            nav.push((names::log_page(prefix, before), format!("← {before}")));
        }
        // No link into the future: that page cannot exist yet.
        if let Some(after) = day.succ_opt().filter(|d| *d <= dates::today()) {
            nav.push((names::log_page(prefix, after), format!("{after} →")));
        }
        nav
    }

    /// Everything before the rows of the full table.
    fn summary(&self, title: &str, state: &DayState) -> String {
        let mut out = String::with_capacity(64 << 10);
        html::head(&mut out, title, &self.nav());
        if state.counts.received == 0 {
            out.push_str("<p class=\"note\">No mail logged that day.</p>\n");
        }
        if self.damaged > 0 {
            let _ = writeln!(
                out,
                "<p class=\"note\">{} damaged {} skipped (not in the \
                 format of qmvc-log(5)); they may be of any day.</p>",
                self.damaged,
                if self.damaged == 1 { "line was" } else { "lines were" }
            );
        }
        cards(&mut out, state);
        hours(&mut out, state);
        kinds(&mut out, state);
        delays(&mut out, &state.delays);
        tops(&mut out, state);
        out.push_str("<h2>Every message</h2>\n");
        let rows = &state.rows;
        if rows.left_out > 0 {
            let _ = writeln!(
                out,
                "<p class=\"note\">The first {} messages are shown; {} \
                 more were left out (option -n).</p>",
                rows.shown, rows.left_out
            );
        }
        if rows.shown == 0 {
            out.push_str("<p class=\"note\">None.</p>\n");
            return out;
        }
        out.push_str(
            "<div class=\"scroll\"><table class=\"full\"><thead><tr>",
        );
        for (name, class) in COLUMNS {
            let _ = write!(out, "<th{class}>{name}</th>");
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        out
    }

    /// Everything after the rows.
    fn end(&self, state: &DayState) -> String {
        let mut out = String::new();
        if state.rows.shown > 0 {
            out.push_str("</tbody></table></div>\n");
        }
        html::tail(&mut out, PROGRAM);
        out
    }
}

fn cards(out: &mut String, state: &DayState) {
    let c = &state.counts;
    out.push_str("<h2>Summary</h2>\n");
    let mut cards = vec![
        (c.received.to_string(), "received"),
        (c.clear.to_string(), "clear"),
        (c.bad.to_string(), "badmail"),
        (c.virus.to_string(), "virusmail"),
        (c.error.to_string(), "errormail"),
    ];
    if c.other > 0 {
        cards.push((c.other.to_string(), "other"));
    }
    cards.push((c.deferred.to_string(), "deferred"));
    cards.push((human_size(state.size), "total size"));
    html::cards(out, &cards);
}

fn hours(out: &mut String, state: &DayState) {
    out.push_str("<h2>By hour</h2>\n");
    html::legend(out, &SERIES);
    let bars: Vec<Bar> = state
        .hours
        .iter()
        .enumerate()
        .map(|(h, values)| Bar {
            label: format!("{h:02}"),
            long_label: format!("{h:02}:00 to {h:02}:59"),
            values: values.to_vec(),
            href: None,
        })
        .collect();
    html::bar_chart(out, "messages by hour", &SERIES, &bars);
}

fn kinds(out: &mut String, state: &DayState) {
    out.push_str("<h2>Results and actions</h2>\n<div class=\"grid\">\n");
    html::count_table(
        out,
        "By result",
        "result",
        &state.results.top(KIND_ROWS),
    );
    html::count_table(
        out,
        "By action",
        "action",
        &state.actions.top(KIND_ROWS),
    );
    html::count_table(
        out,
        "By condition",
        "condition",
        &state.conditions.top(KIND_ROWS),
    );
    out.push_str("</div>\n");
}

fn delays(out: &mut String, delays: &Delays) {
    out.push_str(
        "<h2>Processing time</h2>\n<div class=\"scroll\"><table><thead>\
         <tr><th>of the day's messages</th><th class=\"n\">seconds</th>\
         </tr></thead><tbody>\n",
    );
    for (name, value) in [
        ("median", delays.quantile(0.5)),
        ("95th percentile", delays.quantile(0.95)),
        ("maximum", delays.max()),
        ("mean", delays.mean()),
    ] {
        let _ = writeln!(
            out,
            "<tr><th>{name}</th><td class=\"n\">{value:.3}</td></tr>"
        );
    }
    out.push_str("</tbody></table></div>\n");
}

fn tops(out: &mut String, state: &DayState) {
    out.push_str("<h2>Senders and recipients</h2>\n");
    if state.approximate() {
        let _ = writeln!(
            out,
            "<p class=\"note\">Approximate: the day had more than {} \
             different values, so rare ones were dropped along the way and \
             a count may be a little low.</p>",
            2 * Top::CAPACITY
        );
    }
    out.push_str("<div class=\"grid\">\n");
    html::count_table(
        out,
        "Top senders",
        "sender",
        &state.senders.top(TOP_ROWS),
    );
    html::count_table(
        out,
        "Top recipients",
        "recipient",
        &state.recipients.top(TOP_ROWS),
    );
    html::count_table(
        out,
        "Top senders of badmail and virusmail",
        "sender",
        &state.bad_senders.top(TOP_ROWS),
    );
    out.push_str("</div>\n");
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

    #[test]
    fn rows_are_escaped_capped_and_spooled() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        let mut scan = Scan::new(Days::All, Some(3000));
        for i in 0..5000 {
            let l = line(
                "2026-11-22T01:02:03+01:00",
                "clear",
                "pass",
                &format!("<script>{i}"),
            );
            scan.line(&l, &mut spool).unwrap();
        }
        let state = scan.days.pop_first().unwrap().1;
        assert_eq!((state.rows.shown, state.rows.left_out), (3000, 2000));
        assert!(!state.rows.chunks.is_empty(), "rows were spooled");
        let path = dir.path().join("page.html");
        let page = Page { day: day("2026-11-22"), prefix: "x_", damaged: 2 };
        page.write(&path, "t", &state, &mut spool).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("<tr><td>01:02:03</td>").count(), 3000);
        assert!(text.contains("&lt;script&gt;2999<"));
        assert!(!text.contains("<script>"));
        assert!(text.contains("2000 more were left out"));
        assert!(text.contains("2 damaged lines were skipped"));
        assert!(text.contains("href=\"x_qmvclog-2026-11-21.html\""));
        assert!(text.contains("href=\"x_virulator-2026-11-22.html\""));
        assert!(text.ends_with("</html>\n"));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 << 20), "5.0 MiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
    }

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
            assert_eq!(e.code, cli::EXIT_USAGE, "{bad:?}");
        }
        assert!(parse(&args(&["-h"])).unwrap().is_none());
        let o = parse(&args(&["-mc", "-n", "5", "/l"])).unwrap().unwrap();
        assert!(o.store && o.rows == Some(5));
        assert_eq!(o.layer, PathBuf::from("/l"));
    }
}
