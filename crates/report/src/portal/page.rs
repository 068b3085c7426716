/*!
The portal page: a table of rows, each with links to the newest pages
of its layer, relative or under a base URL.
*/

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Component, Path, PathBuf};

use super::{Kind, Newest, Row, PROGRAM};
use crate::html::{self, esc, url_path};

/// How links are made.
#[derive(Clone, Debug)]
pub enum Links {
    /// Relative paths from this directory (the portal's `html/`,
    /// canonical).
    Relative(PathBuf),
    /// `URL/FILE` for the system row, `URL/NAME/FILE` for the others.
    Url(String),
}

/// The relative path from the directory `from` to `to`, both absolute
/// and free of `.` and `..`.
pub fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in to.iter().skip(common) {
        out.push(part);
    }
    out
}

/// The link to `file` in the `html/` of `row`'s layer, or `None` when
/// it cannot be expressed (a path that is not UTF-8).
fn link(links: &Links, row: &Row, layer: &Path, file: &str) -> Option<String> {
    match links {
        Links::Url(url) if row.kind == Kind::System => {
            Some(format!("{url}/{}", url_path(file)))
        }
        Links::Url(url) => {
            let name = row.name.trim_start_matches('.');
            Some(format!("{url}/{}/{}", url_path(name), url_path(file)))
        }
        Links::Relative(from) => {
            let html = fs::canonicalize(layer.join("html")).ok()?;
            let path = relative_path(from, &html).join(file);
            Some(url_path(path.to_str()?))
        }
    }
}

/// The portal page.
pub fn render(qmail: &Path, rows: &[Row], links: &Links) -> String {
    let mut out = String::new();
    html::head(&mut out, "qmvc portal", &[]);
    let domains = rows.iter().filter(|r| r.kind == Kind::VirtualDomain);
    let accounts = rows.iter().filter(|r| r.kind == Kind::Account);
    let _ = writeln!(
        out,
        "<p class=\"note\">{} virtual domains and {} accounts, from {} and \
         {}; an account's layer is HOME/qmvc. Each row links to the newest \
         pages of its layer.</p>",
        domains.count(),
        accounts.count(),
        esc(&qmail.join("control/virtualdomains").to_string_lossy()),
        esc(&qmail.join("users/assign").to_string_lossy())
    );
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>name</th><th>pages</th>\
         <th>kind</th><th>user</th><th>layer</th></tr></thead>\n<tbody>\n",
    );
    let mut scans: BTreeMap<PathBuf, Newest> = BTreeMap::new();
    for row in rows {
        // The pages come second, so a phone shows them without scrolling.
        let _ = write!(out, "<tr><td class=\"w\">{}</td><td>", esc(&row.name));
        if let Some(layer) = &row.layer {
            let newest = scans
                .entry(layer.clone())
                .or_insert_with(|| Newest::scan(&layer.join("html")));
            page_links(&mut out, links, row, layer, newest);
        }
        if let Some(note) = &row.note {
            let _ = write!(out, "<p class=\"note\">{}</p>", esc(note));
        }
        let _ = writeln!(
            out,
            "</td><td>{}</td><td>{}</td><td class=\"w\">{}</td></tr>",
            row.kind.label(),
            esc(row.user.as_deref().unwrap_or("")),
            esc(&row
                .layer
                .as_deref()
                .map(|l| l.to_string_lossy())
                .unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table></div>\n");
    html::tail(&mut out, PROGRAM);
    out
}

fn page_links(
    out: &mut String,
    links: &Links,
    row: &Row,
    layer: &Path,
    newest: &Newest,
) {
    let pages = newest.pages();
    if pages.is_empty() {
        let note = if newest.readable {
            "no pages yet"
        } else {
            "no html/ directory, or not readable"
        };
        let _ = write!(out, "<p class=\"note\">{note}</p>");
        return;
    }
    let mut first = true;
    for (label, file) in pages {
        let Some(href) = link(links, row, layer, file) else { continue };
        if !first {
            out.push_str(" \u{b7} ");
        }
        first = false;
        let _ = write!(out, "<a href=\"{}\">{}</a>", esc(&href), esc(&label));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        let rel = |a: &str, b: &str| {
            relative_path(Path::new(a), Path::new(b))
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(
            rel("/var/qmvc/html", "/home/fehcom/qmvc/html"),
            "../../../home/fehcom/qmvc/html"
        );
        assert_eq!(rel("/var/qmvc/html", "/var/qmvc/html"), "");
        assert_eq!(rel("/a/b", "/a/b/c"), "c");
        assert_eq!(rel("/a/b/c", "/a"), "../..");
    }
}
