/*!
The day page of virulator: where the day's virusmails and badmails came
from and went to, what they carried, and which rules caught them. Every
value from a report reaches the page through [`html::esc`] (by way of
[`html::count_table`]).
*/

use std::fmt::Write as _;

use super::scanners::{self, Status};
use super::tally::{Badmails, DayTally, Spams, Viruses};
use crate::cli::Domain;
use crate::dates::{self, Day, Month};
use crate::html::{self, esc};
use crate::names;
use crate::stats::Top;

/// What every page of a run shares.
pub struct Context<'a> {
    /// `-d DOMAIN`.
    pub domain: &'a Domain,
    /// Rows per table (`-n`).
    pub top: usize,
    /// Documents of the file that no day could show.
    pub damaged: u64,
    /// The file read, as shown.
    pub source: String,
    /// `qmvc -s`, with `-s`.
    pub scanners: Option<&'a Status>,
}

/// The page of `day`.
pub fn render(context: &Context<'_>, day: Day, tally: &DayTally) -> String {
    let prefix = context.domain.prefix();
    let month = Month::of(day);
    let title = context.domain.title(&format!("Virulator {day}"));
    let mut nav = vec![
        (names::log_page(&prefix, day), "log of the day".to_string()),
        (names::month_page(&prefix, month), month.name()),
        (
            names::calendar_page(&prefix, month.year),
            format!("calendar {}", month.year),
        ),
    ];
    if let Some(before) = day.pred_opt() {
        nav.push((names::virus_page(&prefix, before), format!("← {before}")));
    }
    // No link into the future: that page cannot exist yet.
    if let Some(after) = day.succ_opt().filter(|d| *d <= dates::today()) {
        nav.push((names::virus_page(&prefix, after), format!("{after} →")));
    }
    let mut out = String::with_capacity(64 << 10);
    html::head(&mut out, &title, &nav);
    let _ = writeln!(
        out,
        "<p class=\"note\">Sources and sinks of virusmails and badmails, \
         from {}.</p>",
        esc(&context.source)
    );
    cards(&mut out, tally);
    if context.damaged > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} damaged document(s) of the file were \
             skipped (unreadable, too large, or without a time), so no \
             day shows them.</p>",
            context.damaged
        );
    }
    viruses(&mut out, &tally.viruses, context.top);
    badmails(&mut out, &tally.bad, context.top);
    if tally.spammails > 0 {
        spam(&mut out, &tally.spam, context.top);
    }
    if let Some(status) = context.scanners {
        scanners::section(&mut out, status);
    }
    html::tail(&mut out, "virulator");
    out
}

fn cards(out: &mut String, tally: &DayTally) {
    let cards = [
        (tally.virusmails, "virusmails"),
        (tally.badmails, "badmails (not virus)"),
        (tally.spammails, "spammails"),
        (tally.reports, "reports in all"),
    ];
    html::cards(out, &cards.map(|(n, label)| (n.to_string(), label)));
}

/// A top list as a table; its heading says when rare values were
/// dropped while counting, so counts may be low.
fn table(out: &mut String, heading: &str, what: &str, top: &Top, n: usize) {
    if top.approximate() {
        let heading = format!("{heading} (counts may be low)");
        html::count_table(out, &heading, what, &top.top(n));
    } else {
        html::count_table(out, heading, what, &top.top(n));
    }
}

fn viruses(out: &mut String, v: &Viruses, n: usize) {
    out.push_str("<h2>Virusmails</h2>\n<div class=\"grid\">\n");
    table(out, "Top senders", "sender", &v.senders, n);
    table(out, "Top recipients", "recipient", &v.recipients, n);
    table(out, "Virus names", "virus", &v.names, n);
    table(out, "Infected files", "file name", &v.files, n);
    // A list per scanner: what each one found (a message two scanners
    // found counts in both).
    for (scanner, names) in &v.scanners {
        let heading = if scanner.is_empty() {
            "Scanner (unnamed)".to_string()
        } else {
            format!("Scanner {scanner}")
        };
        table(out, &heading, "virus", names, n);
    }
    out.push_str("</div>\n");
}

fn spam(out: &mut String, s: &Spams, n: usize) {
    out.push_str(
        "<h2>Spammails</h2>\n<p class=\"note\">Messages that met \
         spammail: what the spam engines said.</p>\n<div class=\"grid\">\n",
    );
    table(out, "Top senders", "sender", &s.senders, n);
    table(out, "Top recipients", "recipient", &s.recipients, n);
    table(out, "Rules that hit", "rule", &s.symbols, n);
    table(out, "Scores", "engine: score", &s.scores, n);
    out.push_str("</div>\n");
}

fn badmails(out: &mut String, b: &Badmails, n: usize) {
    out.push_str(
        "<h2>Badmails</h2>\n<p class=\"note\">Messages that met a badmail \
         condition and were not virusmails.</p>\n<div class=\"grid\">\n",
    );
    table(out, "By condition", "condition", &b.conditions, n);
    table(out, "Top senders", "sender", &b.senders, n);
    table(out, "Top recipients", "recipient", &b.recipients, n);
    table(out, "File names", "file name", &b.files, n);
    table(out, "Detected types", "type", &b.types, n);
    table(out, "Loader types", "loader type", &b.loaders, n);
    table(out, "Patterns that matched", "pattern (file:line)", &b.patterns, n);
    table(out, "Subjects of badsubject hits", "subject", &b.subjects, n);
    out.push_str("</div>\n");
}
