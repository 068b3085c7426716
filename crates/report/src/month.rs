/*!
qmvcmonth: the month page of a layer, from the month databases that
`qmvclog2html -m` and `virulator -m` keep in `html/`; with `-a` it first
archives the layer's logs ([`qmvc_log::archive`]).

The page has the month's totals, a bar chart of the days (each day with
data links to its qmvclog2html page, the hover text gives its numbers),
a table by day with links to the day pages and the virulator pages, and
the month's most frequent virus names.
*/

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;

use chrono::Datelike;

use crate::cli::{self, Domain, Failure};
use crate::dates::{self, Day, Month};
use crate::html::{self, esc, url_path, Bar, Series};
use crate::monthdb::{self, DayCounts, DayViruses};
use crate::stats::Top;
use crate::{names, output};
use qmvc_log::archive;

const PROGRAM: &str = "qmvcmonth";
const USAGE: &str = "qmvcmonth [-a] [-d DOMAIN] [-M YYYY-MM] [LAYER]";

/// How many virus names the page lists.
const TOP_VIRUSES: usize = 25;

/// The chart series ([`html::CLASSES`]).
const SERIES: [Series; 5] = html::CLASSES;

/// Runs qmvcmonth with `args` (without the program name); the exit code.
pub fn main(args: &[OsString]) -> u8 {
    cli::run(PROGRAM, || run(args))
}

fn run(args: &[OsString]) -> Result<(), Failure> {
    let mut options = getopts::Options::new();
    options.optflag("h", "", "show the usage");
    options.optflag("a", "", "archive the logs first");
    options.optopt("d", "", "the domain of titles and file names", "DOMAIN");
    options.optopt("M", "", "the month instead of this one", "YYYY-MM");
    let matches = cli::parse(PROGRAM, USAGE, &options, args)?;
    if matches.opt_present("h") {
        qmvc_process::say!("usage: {USAGE}");
        return Ok(());
    }
    let domain = Domain::parse(matches.opt_str("d"))?;
    let month = match matches.opt_str("M") {
        None => Month::of(dates::today()),
        Some(text) => Month::parse(&text).ok_or_else(|| {
            Failure::usage(format!(
                "-M {text:?}: a month is YYYY-MM, such as 2026-11"
            ))
        })?,
    };
    let layer = cli::layer(&matches.free)?;
    let archived = if matches.opt_present("a") {
        archive::archive_logs(&layer, dates::today())
            .map(drop)
            .map_err(Failure::from)
    } else {
        Ok(())
    };
    // The page is written even when archiving failed: it does not
    // depend on the logs, and the failure is still reported.
    write_page(&layer, &domain, month)?;
    archived
}

/// Writes the page of `month` into `LAYER/html/`.
fn write_page(
    layer: &Path,
    domain: &Domain,
    month: Month,
) -> Result<(), Failure> {
    let html = output::html_dir(layer)?;
    let prefix = domain.prefix();
    let mut days =
        monthdb::read_month(&html.join(names::month_db(&prefix, month)))?;
    let mut viruses =
        monthdb::read_viruses(&html.join(names::virus_db(&prefix, month)))?;
    // A hand-edited database may hold days of other months.
    days.retain(|day, _| Month::of(*day) == month);
    viruses.retain(|day, _| Month::of(*day) == month);
    let page = render(domain, month, &days, &viruses);
    output::replace(
        &html.join(names::month_page(&prefix, month)),
        page.as_bytes(),
    )
}

/// The chart values of a day, in the order of [`SERIES`].
fn values(c: &DayCounts) -> Vec<u64> {
    vec![c.clear, c.bad, c.virus, c.error, c.other]
}

/// The sum of `days`.
fn total<'a>(days: impl Iterator<Item = &'a DayCounts>) -> DayCounts {
    let mut sum = DayCounts::default();
    for c in days {
        sum.received += c.received;
        sum.clear += c.clear;
        sum.bad += c.bad;
        sum.virus += c.virus;
        sum.error += c.error;
        sum.other += c.other;
        sum.deferred += c.deferred;
    }
    sum
}

/// The month page.
pub fn render(
    domain: &Domain,
    month: Month,
    days: &BTreeMap<Day, DayCounts>,
    viruses: &BTreeMap<Day, DayViruses>,
) -> String {
    let prefix = domain.prefix();
    let title = domain.title(&format!("qmvc month {}", month.name()));
    let mut nav = vec![
        (
            names::month_page(&prefix, month.previous()),
            format!("\u{2039} {}", month.previous().name()),
        ),
        (
            names::calendar_page(&prefix, month.year),
            format!("calendar {}", month.year),
        ),
    ];
    // No link into the future: that page cannot exist yet.
    let next = month.next();
    if next <= crate::dates::Month::of(crate::dates::today()) {
        nav.insert(
            1,
            (
                names::month_page(&prefix, next),
                format!("{} \u{203a}", next.name()),
            ),
        );
    }
    let mut out = String::new();
    html::head(&mut out, &title, &nav);
    let sum = total(days.values());
    cards(&mut out, &sum, days.len());
    if days.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">No data for {} yet: <code>qmvclog2html -m</code> \
             stores each day it reports in {}.</p>",
            esc(&month.name()),
            esc(&names::month_db(&prefix, month))
        );
    }
    out.push_str("<h2>Day by day</h2>\n");
    html::legend(&mut out, &SERIES);
    html::bar_chart(&mut out, &title, &SERIES, &bars(&prefix, month, days));
    day_table(&mut out, &prefix, days, viruses, &sum);
    virus_section(&mut out, &prefix, month, viruses);
    html::tail(&mut out, PROGRAM);
    out
}

fn cards(out: &mut String, sum: &DayCounts, days: usize) {
    let cards = [
        (sum.received, "received"),
        (sum.clear, "clear"),
        (sum.bad, "badmail"),
        (sum.virus, "virusmail"),
        (sum.error, "errormail"),
        (sum.deferred, "deferred"),
        (days as u64, "days with data"),
    ];
    html::cards(out, &cards.map(|(n, label)| (n.to_string(), label)));
}

/// A bar for every day of the month; days with data link to their page.
fn bars(
    prefix: &str,
    month: Month,
    days: &BTreeMap<Day, DayCounts>,
) -> Vec<Bar> {
    month
        .days()
        .map(|day| {
            let counts = days.get(&day);
            Bar {
                label: day.day().to_string(),
                long_label: day.to_string(),
                values: counts.map_or_else(|| vec![0; SERIES.len()], values),
                href: counts.map(|_| names::log_page(prefix, day)),
            }
        })
        .collect()
}

fn day_table(
    out: &mut String,
    prefix: &str,
    days: &BTreeMap<Day, DayCounts>,
    viruses: &BTreeMap<Day, DayViruses>,
    sum: &DayCounts,
) {
    let all: BTreeSet<Day> =
        days.keys().chain(viruses.keys()).copied().collect();
    if all.is_empty() {
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"full\"><thead><tr>\
         <th>day</th><th class=\"n\">received</th><th class=\"n\">clear</th>\
         <th class=\"n\">badmail</th><th class=\"n\">virusmail</th>\
         <th class=\"n\">errormail</th><th class=\"n\">deferred</th>\
         <th>viruses</th></tr></thead>\n<tbody>\n",
    );
    for day in &all {
        let counts = days.get(day);
        out.push_str("<tr><td>");
        if counts.is_some() {
            let _ = write!(
                out,
                "<a href=\"{}\">{day}</a>",
                esc(&url_path(&names::log_page(prefix, *day)))
            );
        } else {
            let _ = write!(out, "{day}");
        }
        out.push_str("</td>");
        number_cells(out, counts);
        out.push_str("<td>");
        if viruses.contains_key(day) {
            let _ = write!(
                out,
                "<a href=\"{}\">viruses</a>",
                esc(&url_path(&names::virus_page(prefix, *day)))
            );
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n<tfoot><tr><th>month</th>");
    number_cells(out, Some(sum));
    out.push_str("<th></th></tr></tfoot></table></div>\n");
}

fn number_cells(out: &mut String, counts: Option<&DayCounts>) {
    match counts {
        Some(c) => {
            for n in [c.received, c.clear, c.bad, c.virus, c.error, c.deferred]
            {
                let _ = write!(out, "<td class=\"n\">{n}</td>");
            }
        }
        None => out.push_str(&"<td class=\"n\"></td>".repeat(6)),
    }
}

fn virus_section(
    out: &mut String,
    prefix: &str,
    month: Month,
    viruses: &BTreeMap<Day, DayViruses>,
) {
    out.push_str("<h2>Viruses</h2>\n");
    if viruses.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">No virus data for {}: <code>virulator -m</code> \
             stores each day it reports in {}.</p>",
            esc(&month.name()),
            esc(&names::virus_db(prefix, month))
        );
        return;
    }
    let mut top = Top::new();
    let (mut virusmails, mut badmails) = (0u64, 0u64);
    for day in viruses.values() {
        virusmails += day.virusmails;
        badmails += day.badmails;
        for (name, count) in &day.viruses {
            top.add_n(name, *count);
        }
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">virulator counted {virusmails} virusmails and \
         {badmails} other badmails this month. The counts below add up each \
         day's most frequent names, so a rare name may be counted short.</p>"
    );
    html::count_table(
        out,
        "Most frequent viruses",
        "virus",
        &top.top(TOP_VIRUSES),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        dates::parse_day(s).unwrap()
    }

    #[test]
    fn page_links_days_with_data() {
        let month = Month::parse("2026-11").unwrap();
        let days = BTreeMap::from([(
            day("2026-11-05"),
            DayCounts {
                received: 9,
                clear: 5,
                bad: 1,
                virus: 2,
                error: 1,
                other: 0,
                deferred: 1,
            },
        )]);
        let viruses = BTreeMap::from([(
            day("2026-11-05"),
            DayViruses {
                virusmails: 2,
                badmails: 1,
                viruses: vec![("<script>x".into(), 2)],
            },
        )]);
        let domain = Domain::parse(Some("fehcom".into())).unwrap();
        let page = render(&domain, month, &days, &viruses);
        assert!(page.contains("qmvc month November 2026 for fehcom"));
        assert!(page.contains("href=\"fehcom_qmvclog-2026-11-05.html\""));
        assert!(page.contains("href=\"fehcom_virulator-2026-11-05.html\""));
        assert!(page.contains("href=\"fehcom_qmvcmonth-2026-10.html\""));
        assert!(page.contains("href=\"fehcom_calendar-2026.html\""));
        assert!(page.contains(
            "2026-11-05: 9 in all, clear 5, badmail 1, virusmail 2, \
             errormail 1, other 0"
        ));
        assert!(!page.contains("qmvclog-2026-11-06.html"));
        assert_eq!(page.matches("<g class=\"bar\">").count(), 30);
        assert!(
            page.contains("&lt;script&gt;x") && !page.contains("<script>")
        );
    }
}
