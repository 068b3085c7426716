/*!
A day's page of qmvclog2html: the summary (cards, the hours chart, the
tables by kind, processing time, top lists), then the spooled rows of
the full table, written atomically.
*/

use std::fmt::Write as _;
use std::path::Path;

use chrono::Datelike;

use super::collect::DayState;
use super::table::{Spool, COLUMNS};
use super::{PROGRAM, SERIES};
use crate::cli::Failure;
use crate::dates::{self, Day, Month};
use crate::html::{self, Bar};
use crate::names;
use crate::output::Replacement;
use crate::stats::{Delays, Top};

/// Rows of each top list of senders and recipients.
const TOP_ROWS: usize = 20;

/// Rows of the tables by result, action and condition.
const KIND_ROWS: usize = 50;

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
pub(super) struct Page<'a> {
    pub(super) day: Day,
    pub(super) prefix: &'a str,
    /// Damaged lines in the whole log.
    pub(super) damaged: u64,
}

impl Page<'_> {
    /// Writes the page to `path`: the summary, the spooled rows, the end.
    pub(super) fn write(
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
    if state.spam > 0 {
        cards.push((state.spam.to_string(), "spammail"));
    }
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
    use super::super::collect::Scan;
    use super::*;
    use crate::cli::Days;

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
    fn spam_scores_and_the_spammail_card() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        let mut scan = Scan::new(Days::All, None);
        let spam = "2026-11-22T01:02:03+01:00\tspammail\t0\tkeep\t-\t0.1\t\
                    10\ts@x\tr@y\t<1@x>\thi\t<b>7.5\t-\n";
        let ham = "2026-11-22T01:02:04+01:00\tclear\t0\tpass\t-\t0.1\t\
                   10\ts@x\tr@y\t<2@x>\thi\t-\t-\n";
        scan.line(spam, &mut spool).unwrap();
        scan.line(ham, &mut spool).unwrap();
        let state = scan.days.pop_first().unwrap().1;
        assert_eq!(state.spam, 1);
        let path = dir.path().join("page.html");
        let page = Page { day: day("2026-11-22"), prefix: "x_", damaged: 0 };
        page.write(&path, "t", &state, &mut spool).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("<th class=\"n\">spam score</th>"), "{text}");
        assert!(text.contains("<td class=\"n\">&lt;b&gt;7.5</td>"), "{text}");
        assert!(text.contains("<td class=\"n\"></td><td>s@x</td>"));
        assert!(text.contains("spammail"));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 << 20), "5.0 MiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
    }
}
