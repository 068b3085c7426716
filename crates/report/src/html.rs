/*!
The pages' HTML: one escaping function for every value, one page
skeleton, one stylesheet, and inline SVG charts.

Every page is self-contained: the CSS and the charts are inline, nothing
is loaded from anywhere, and a Content Security Policy forbids scripts
outright, so even a value that escaped escaping could not run. Values
from messages (subjects, file names, addresses, virus names) only ever
reach a page through [`esc`].
*/

use std::fmt::{self, Write as _};

/// A value escaped for HTML text and for quoted attribute values.
pub struct Esc<'a>(pub &'a str);

/// Escapes `text` for HTML (`&`, `<`, `>`, `"`, `'`).
pub fn esc(text: &str) -> Esc<'_> {
    Esc(text)
}

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Control characters and bidirectional controls are shown as
        // `<U+XXXX>` (escaped below like any `<`), not rendered.
        let shown = qmvc_log::fields::visible(self.0);
        let mut rest: &str = &shown;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            let (plain, tail) = rest.split_at(at);
            f.write_str(plain)?;
            let mut chars = tail.chars();
            let entity = match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                _ => "&#39;",
            };
            f.write_str(entity)?;
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

/// A relative URL path: every byte but unreserved characters and `/`
/// percent-encoded, so a name can never leave the `href` it is in.
pub fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The policy: styles inline, images from data: URLs, nothing else.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
                      img-src data:; base-uri 'none'; form-action 'none'";

/// The stylesheet of every page: readable from a phone to a desktop,
/// light and dark.
pub const CSS: &str = r#"
:root{color-scheme:light dark;--fg:#1b1f23;--bg:#fff;--mute:#5c6670;
--line:#d8dde3;--head:#f3f5f7;--clear:#3b8f5a;--bad:#d08a1d;
--virus:#c23b3b;--error:#6d5bb8;--link:#1f5fbf}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8ea;--bg:#16191c;
--mute:#9aa4ad;--line:#333a41;--head:#20252a;--link:#7fb0ff}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:72rem;padding:1rem;font:15px/1.45 system-ui,
-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
h1{font-size:1.45rem;margin:.2rem 0 .6rem}
h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid
var(--line);padding-bottom:.2rem}
a{color:var(--link)}
nav{display:flex;flex-wrap:wrap;gap:.4rem 1rem;margin:.3rem 0 1rem;
font-size:.95rem}
p.note{color:var(--mute);font-size:.9rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));
gap:.6rem}
.card{border:1px solid var(--line);border-radius:.4rem;padding:.5rem .7rem}
.card b{display:block;font-size:1.35rem}
.card span{color:var(--mute);font-size:.85rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));
gap:0 1.2rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.3rem 0}
th,td{border-bottom:1px solid var(--line);padding:.25rem .45rem;
text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
td.w{overflow-wrap:anywhere;word-break:break-word;min-width:8rem}
table.full td{white-space:nowrap}
table.full td.w{white-space:normal}
svg.chart{width:100%;min-width:34rem;height:auto;display:block;
margin:.3rem 0}
svg.chart text{font:11px system-ui,sans-serif;fill:var(--mute)}
svg.chart .clear{fill:var(--clear)}
svg.chart .bad{fill:var(--bad)}
svg.chart .virus{fill:var(--virus)}
svg.chart .error{fill:var(--error)}
svg.chart .other{fill:var(--mute)}
svg.chart a:hover rect,svg.chart g.bar:hover rect{opacity:.75}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;
vertical-align:-.1rem;border-radius:.15rem}
.legend .clear{background:var(--clear)}.legend .bad{background:var(--bad)}
.legend .virus{background:var(--virus)}.legend .error{background:var(--error)}
.legend .other{background:var(--mute)}
.months{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));
gap:1rem}
.months table{font-size:.85rem}
.months td,.months th{text-align:center;padding:.15rem}
.months td.today{outline:2px solid var(--link)}
.months td.wk{color:var(--mute)}
footer{margin-top:2rem;color:var(--mute);font-size:.8rem}
"#;

/// Writes the start of a page: the document head with the policy and
/// the stylesheet, the title as `h1`, and a navigation bar of
/// `(href, label)` links (our own file names).
pub fn head(out: &mut String, title: &str, nav: &[(String, String)]) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    if !nav.is_empty() {
        out.push_str("<nav>");
        for (href, label) in nav {
            let _ = write!(
                out,
                "<a href=\"{}\">{}</a>",
                esc(&url_path(href)),
                esc(label)
            );
        }
        out.push_str("</nav>\n");
    }
}

/// Writes the end of a page, with the program that wrote it and when.
pub fn tail(out: &mut String, program: &str) {
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S %z");
    let _ = write!(
        out,
        "<footer>Written by {} (qmvc {}) at {}.</footer>\n</body>\n</html>\n",
        esc(program),
        env!("CARGO_PKG_VERSION"),
        now
    );
}

/// One series of a stacked bar chart: its name and CSS class (`clear`,
/// `bad`, `virus`, `error`, `other`).
#[derive(Clone, Copy, Debug)]
pub struct Series {
    /// Shown in the legend and the hover text.
    pub name: &'static str,
    /// The class that colours it.
    pub class: &'static str,
}

/// The series of the charts by message class: clear, badmail,
/// virusmail, errormail, other (deferred before any condition was met).
pub const CLASSES: [Series; 5] = [
    Series { name: "clear", class: "clear" },
    Series { name: "badmail", class: "bad" },
    Series { name: "virusmail", class: "virus" },
    Series { name: "errormail", class: "error" },
    Series { name: "other", class: "other" },
];

/// One bar of a chart.
#[derive(Clone, Debug, Default)]
pub struct Bar {
    /// Under the bar (`07`, `22`).
    pub label: String,
    /// What the hover text calls it (`07:00 to 07:59`, `2026-11-22`).
    pub long_label: String,
    /// One value per series, stacked from the bottom.
    pub values: Vec<u64>,
    /// Where a click on the bar goes (one of our own pages).
    pub href: Option<String>,
}

/// The legend of `series`, as HTML.
pub fn legend(out: &mut String, series: &[Series]) {
    out.push_str("<div class=\"legend\">");
    for s in series {
        let _ = write!(
            out,
            "<span><i class=\"{}\"></i>{}</span>",
            esc(s.class),
            esc(s.name)
        );
    }
    out.push_str("</div>\n");
}

/// A stacked bar chart as inline SVG that scales to the page width. Each
/// bar shows its numbers on hover (an SVG `title`, no script) and, with
/// an `href`, links to its page.
pub fn bar_chart(
    out: &mut String,
    caption: &str,
    series: &[Series],
    bars: &[Bar],
) {
    const HEIGHT: f64 = 160.0;
    const TOP: f64 = 14.0;
    const BOTTOM: f64 = 18.0;
    const LEFT: f64 = 40.0;
    const SLOT: f64 = 24.0;
    let width = LEFT + SLOT * bars.len().max(1) as f64 + 4.0;
    let total = |b: &Bar| b.values.iter().copied().sum::<u64>();
    let max = bars.iter().map(total).max().unwrap_or(0).max(1);
    let scale = (HEIGHT - TOP - BOTTOM) / max as f64;
    let base = HEIGHT - BOTTOM;
    // On a phone the chart keeps a legible size and scrolls sideways.
    out.push_str("<div class=\"scroll\">");
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {width:.0} {HEIGHT:.0}\" \
         role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{max}</text>\
         <text x=\"{:.0}\" y=\"{base:.0}\" text-anchor=\"end\">0</text>\
         <line x1=\"{LEFT:.0}\" y1=\"{base:.0}\" x2=\"{width:.0}\" y2=\"{base:.0}\" \
         stroke=\"currentColor\" stroke-opacity=\".3\"/>\n",
        esc(caption),
        LEFT - 4.0,
        TOP + 4.0,
        LEFT - 4.0,
    );
    for (i, bar) in bars.iter().enumerate() {
        let x = LEFT + SLOT * i as f64 + 3.0;
        let mut hover = format!("{}: {} in all", bar.long_label, total(bar));
        for (s, v) in series.iter().zip(&bar.values) {
            let _ = write!(hover, ", {} {v}", s.name);
        }
        if let Some(href) = &bar.href {
            let _ = write!(out, "<a href=\"{}\">", esc(&url_path(href)));
        }
        let _ = write!(out, "<g class=\"bar\"><title>{}</title>", esc(&hover));
        // An invisible full-height rectangle gives the hover and the link
        // a target even when the bar is short or empty.
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{TOP:.0}\" width=\"{:.1}\" height=\"{:.1}\" \
             fill=\"transparent\"/>",
            SLOT - 6.0,
            base - TOP
        );
        let mut y = base;
        for (s, v) in series.iter().zip(&bar.values) {
            if *v == 0 {
                continue;
            }
            let h = (*v as f64 * scale).max(1.0);
            y -= h;
            let _ = write!(
                out,
                "<rect class=\"{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" \
                 height=\"{h:.1}\"/>",
                esc(s.class),
                SLOT - 6.0
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text></g>",
            x + (SLOT - 6.0) / 2.0,
            HEIGHT - 4.0,
            esc(&bar.label)
        );
        if bar.href.is_some() {
            out.push_str("</a>");
        }
        out.push('\n');
    }
    out.push_str("</svg></div>\n");
}

/// A row of summary cards: each a big value over its label.
pub fn cards(out: &mut String, cards: &[(String, &str)]) {
    out.push_str("<div class=\"cards\">\n");
    for (value, label) in cards {
        let _ = writeln!(
            out,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            esc(value),
            esc(label)
        );
    }
    out.push_str("</div>\n");
}

/// A table of `(value, count)` rows with a heading, or a note that there
/// is nothing to show.
pub fn count_table(
    out: &mut String,
    heading: &str,
    what: &str,
    rows: &[(String, u64)],
) {
    let _ = write!(out, "<section>\n<h3>{}</h3>\n", esc(heading));
    if rows.is_empty() {
        out.push_str("<p class=\"note\">None.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<div class=\"scroll\"><table><thead><tr><th class=\"n\">#</th>\
         <th>{}</th><th class=\"n\">count</th></tr></thead><tbody>",
        esc(what)
    );
    for (i, (value, count)) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><td class=\"n\">{}</td><td class=\"w\">{}</td>\
             <td class=\"n\">{count}</td></tr>",
            i + 1,
            esc(value)
        );
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_shown() {
        let shown = esc("a\u{202E}fdp.exe\u{1b}[2J").to_string();
        assert_eq!(shown, "a&lt;U+202E&gt;fdp.exe&lt;U+001B&gt;[2J");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<script>alert(1)</script>").to_string(),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            esc("\"><img src=x onerror=alert(1)>").to_string(),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(esc("a&b 'c' ü").to_string(), "a&amp;b &#39;c&#39; ü");
        assert_eq!(esc("").to_string(), "");
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("a-b_2026-11.html"), "a-b_2026-11.html");
        assert_eq!(url_path("x\"y z/<"), "x%22y%20z/%3C");
        assert_eq!(
            url_path("javascript:alert(1)"),
            "javascript%3Aalert%281%29"
        );
    }

    #[test]
    fn charts_escape_and_link() {
        let mut out = String::new();
        let series = [Series { name: "clear", class: "clear" }];
        let bars = [Bar {
            label: "<b>".into(),
            long_label: "\"x".into(),
            values: vec![3],
            href: Some("d\".html".into()),
        }];
        bar_chart(&mut out, "c<", &series, &bars);
        assert!(out.contains("&lt;b&gt;") && !out.contains("<b>"));
        assert!(out.contains("href=\"d%22.html\""));
        assert!(out.contains("&quot;x: 3 in all, clear 3"));
    }
}
