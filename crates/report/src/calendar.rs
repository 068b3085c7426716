/*!
webcalendar: the year page of a layer, twelve month tables whose days
link to the qmvclog2html pages that exist in `html/` and whose names link
to the qmvcmonth pages.

Weeks start on Monday and carry their ISO 8601 week number, computed
with chrono (no ncal, no cal).
*/

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use chrono::{Datelike, NaiveDate};

use crate::cli::{self, Domain, Failure};
use crate::dates::{self, Day, Month};
use crate::html::{self, esc, url_path};
use crate::{names, output};

const PROGRAM: &str = "webcalendar";
const USAGE: &str = "webcalendar [-d DOMAIN] [-y YEAR] [LAYER]";

/// The column heads after the week number.
const WEEKDAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];

/// Runs webcalendar with `args` (without the program name); the exit code.
pub fn main(args: &[OsString]) -> u8 {
    cli::run(PROGRAM, || run(args))
}

fn run(args: &[OsString]) -> Result<(), Failure> {
    let mut options = getopts::Options::new();
    options.optflag("h", "", "show the usage");
    options.optopt("d", "", "the domain of titles and file names", "DOMAIN");
    options.optopt("y", "", "the year instead of this one", "YEAR");
    let matches = cli::parse(PROGRAM, USAGE, &options, args)?;
    if matches.opt_present("h") {
        qmvc_process::say!("usage: {USAGE}");
        return Ok(());
    }
    let domain = Domain::parse(matches.opt_str("d"))?;
    let today = dates::today();
    let year = match matches.opt_str("y") {
        None => today.year(),
        Some(text) => parse_year(&text).ok_or_else(|| {
            Failure::usage(format!(
                "-y {text:?}: a year is four digits, such as 2026"
            ))
        })?,
    };
    let layer = cli::layer(&matches.free)?;
    let html = output::html_dir(&layer)?;
    let pages = file_names(&html)?;
    let page = render(&domain, year, today, &pages);
    let path = html.join(names::calendar_page(&domain.prefix(), year));
    output::replace(&path, page.as_bytes())
}

/// `YYYY`, four digits.
fn parse_year(text: &str) -> Option<i32> {
    if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = text.parse().ok()?;
    NaiveDate::from_ymd_opt(year, 1, 1).map(|_| year)
}

/// The names of the files in `dir`, read once.
fn file_names(dir: &Path) -> Result<HashSet<String>, Failure> {
    let entries =
        fs::read_dir(dir).map_err(|e| output::failed("read", dir, &e))?;
    let mut names = HashSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| output::failed("read", dir, &e))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.insert(name);
        }
    }
    Ok(names)
}

/// The weeks of `month`, Monday first: each row has the days of the
/// month in their weekday columns and `None` around them.
pub fn weeks(month: Month) -> Vec<[Option<Day>; 7]> {
    let mut rows: Vec<[Option<Day>; 7]> = Vec::new();
    for day in month.days() {
        let column = day.weekday().num_days_from_monday() as usize;
        if column == 0 || rows.is_empty() {
            rows.push([None; 7]);
        }
        if let Some(slot) = rows.last_mut().and_then(|r| r.get_mut(column)) {
            *slot = Some(day);
        }
    }
    rows
}

/// The ISO 8601 week of a row (all its days share it).
pub fn week_number(row: &[Option<Day>; 7]) -> Option<u32> {
    row.iter().flatten().next().map(|d| d.iso_week().week())
}

/// The year page; `pages` are the file names in `html/`.
pub fn render(
    domain: &Domain,
    year: i32,
    today: Day,
    pages: &HashSet<String>,
) -> String {
    let prefix = domain.prefix();
    let title = domain.title(&format!("qmvc calendar {year}"));
    let mut nav = vec![(
        names::calendar_page(&prefix, year - 1),
        format!("\u{2039} {}", year - 1),
    )];
    // No link into the future: that page cannot exist yet.
    if year < today.year() {
        nav.push((
            names::calendar_page(&prefix, year + 1),
            format!("{} \u{203a}", year + 1),
        ));
    }
    let mut out = String::new();
    html::head(&mut out, &title, &nav);
    out.push_str(
        "<p class=\"note\">Days with a qmvclog2html page are links; \
         a month's name leads to its qmvcmonth page.</p>\n\
         <div class=\"months\">\n",
    );
    for number in 1..=12 {
        month_table(
            &mut out,
            &prefix,
            Month { year, month: number },
            today,
            pages,
        );
    }
    out.push_str("</div>\n");
    html::tail(&mut out, PROGRAM);
    out
}

fn month_table(
    out: &mut String,
    prefix: &str,
    month: Month,
    today: Day,
    pages: &HashSet<String>,
) {
    let name = dates::MONTH_NAMES
        .get(month.month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("?");
    let page = names::month_page(prefix, month);
    // A past month's page is linked even if it is not there yet (it
    // will be: this page is not rewritten once the year is over), a
    // future month's only when it exists.
    let linked = pages.contains(&page) || month <= Month::of(today);
    out.push_str("<table><caption>");
    if linked {
        let _ =
            write!(out, "<a href=\"{}\">{name}</a>", esc(&url_path(&page)));
    } else {
        out.push_str(name);
    }
    out.push_str("</caption>\n<thead><tr><th class=\"wk\">wk</th>");
    for weekday in WEEKDAYS {
        let _ = write!(out, "<th>{weekday}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in weeks(month) {
        let _ = write!(
            out,
            "<tr><td class=\"wk\">{}</td>",
            week_number(&row).unwrap_or(0)
        );
        for cell in row {
            day_cell(out, prefix, cell, today, pages);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

fn day_cell(
    out: &mut String,
    prefix: &str,
    cell: Option<Day>,
    today: Day,
    pages: &HashSet<String>,
) {
    let Some(day) = cell else {
        out.push_str("<td></td>");
        return;
    };
    if day == today {
        out.push_str("<td class=\"today\">");
    } else {
        out.push_str("<td>");
    }
    let page = names::log_page(prefix, day);
    if pages.contains(&page) {
        let _ = write!(
            out,
            "<a href=\"{}\">{}</a>",
            esc(&url_path(&page)),
            day.day()
        );
    } else {
        let _ = write!(out, "{}", day.day());
    }
    out.push_str("</td>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(text: &str) -> Month {
        Month::parse(text).unwrap()
    }

    #[test]
    fn weeks_start_on_monday() {
        // November 2026 starts on a Sunday: six rows.
        let rows = weeks(month("2026-11"));
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[0][..6], [None; 6]);
        assert_eq!(rows[0][6].unwrap().to_string(), "2026-11-01");
        assert_eq!(rows[1][0].unwrap().to_string(), "2026-11-02");
        assert_eq!(rows[5][0].unwrap().to_string(), "2026-11-30");
        // February 2027 starts on a Monday and has four full weeks.
        let rows = weeks(month("2027-02"));
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.iter().all(Option::is_some)));
        assert_eq!(
            weeks(month("2028-02")).iter().flatten().flatten().count(),
            29
        );
    }

    #[test]
    fn iso_week_numbers() {
        let rows = weeks(month("2026-12"));
        assert_eq!(week_number(rows.last().unwrap()), Some(53));
        let rows = weeks(month("2027-01"));
        // 2027-01-01 is a Friday of week 53 of 2026.
        assert_eq!(week_number(&rows[0]), Some(53));
        assert_eq!(week_number(&rows[1]), Some(1));
        assert_eq!(week_number(&weeks(month("2026-11"))[0]), Some(44));
    }

    #[test]
    fn years() {
        assert_eq!(parse_year("2026"), Some(2026));
        for bad in ["26", "20266", "-202", "+202", "abcd", ""] {
            assert_eq!(parse_year(bad), None, "{bad}");
        }
    }

    #[test]
    fn links_only_existing_day_pages() {
        let today = dates::parse_day("2026-11-22").unwrap();
        let pages = HashSet::from(["qmvclog-2026-11-20.html".to_string()]);
        let page = render(&Domain::none(), 2026, today, &pages);
        assert!(page.contains("<a href=\"qmvclog-2026-11-20.html\">20</a>"));
        assert!(!page.contains("qmvclog-2026-11-21.html"));
        assert!(page.contains("<td class=\"today\">22</td>"));
        assert!(page.contains("href=\"qmvcmonth-2026-11.html\">November<"));
        assert!(!page.contains("qmvcmonth-2026-12.html"));
        assert_eq!(page.matches("<caption>").count(), 12);
    }
}
