/*!
qmvcportal: one page, `LAYER/html/index.html`, that leads to the newest
pages of every layer of the host: the layer itself (the system layer by
default), every virtual domain of qmail's `control/virtualdomains`
resolved to its account through `users/assign`, and every account of
`users/assign`. An account's layer is `HOME/qmvc`, where `qmvc -u`
looks.

qmail-send rewrites a local part `L` of a virtual domain with prepend
`P` to `P-L`; qmail-lspawn gives it to the `users/assign` entry `+PRE`
with the longest `PRE` that `P-L` begins with, so here the longest that
`P-` begins with (or `=P` as a last guess).
Without such an entry qmail falls back to the passwd user named by the
part of `P` before its first `-`.

Every name and path comes from admin files, and is still treated as
data: escaped in text, percent-encoded in links.
*/

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::cli::{self, Failure};
use crate::dates::{Day, Month};
use crate::html::{self, esc, url_path};
use crate::names::{self, PageName};
use crate::output;

const PROGRAM: &str = "qmvcportal";
const USAGE: &str = "qmvcportal [-q QMAILDIR] [-b URL] [LAYER]";

/// qmail's home when `-q` is not given.
const QMAILDIR: &str = "/var/qmail";

/// Where the passwd fallback looks.
const PASSWD: &str = "/etc/passwd";

/// The longest `-b URL`.
const URL_MAX: usize = 2048;

/// Runs qmvcportal with `args` (without the program name); the exit code.
pub fn main(args: &[OsString]) -> u8 {
    cli::run(PROGRAM, || run(args))
}

fn run(args: &[OsString]) -> Result<(), Failure> {
    let mut options = getopts::Options::new();
    options.optflag("h", "", "show the usage");
    options.optopt("q", "", "qmail's home directory", "QMAILDIR");
    options.optopt("b", "", "the base URL of the layers' pages", "URL");
    let matches = cli::parse(PROGRAM, USAGE, &options, args)?;
    if matches.opt_present("h") {
        println!("usage: {USAGE}");
        return Ok(());
    }
    let qmail = match matches.opt_str("q") {
        Some(dir) if dir.is_empty() => {
            return Err(Failure::usage("-q: the qmail directory is empty"))
        }
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(QMAILDIR),
    };
    let base_url = matches.opt_str("b").map(|u| check_url(&u)).transpose()?;
    let layer = cli::layer(&matches.free)?;
    let virtuals = parse_virtualdomains(&read_admin_file(
        &qmail.join("control/virtualdomains"),
    )?);
    let assign = parse_assign(&read_admin_file(&qmail.join("users/assign"))?);
    let passwd = read_admin_file(Path::new(PASSWD)).unwrap_or_default();
    let html = output::html_dir(&layer)?;
    let rows = rows(&layer, &virtuals, &assign, &passwd);
    let links = match &base_url {
        Some(url) => Links::Url(url.clone()),
        None => Links::Relative(
            fs::canonicalize(&html)
                .map_err(|e| output::failed("resolve", &html, &e))?,
        ),
    };
    let page = render(&qmail, &rows, &links);
    output::replace(&html.join(names::PORTAL), page.as_bytes())
}

/// Checks `-b URL`: `http://`, `https://` or an absolute path, without
/// white space or control characters; the trailing `/` dropped.
pub fn check_url(url: &str) -> Result<String, Failure> {
    let scheme_ok = ["http://", "https://", "/"]
        .iter()
        .any(|start| url.starts_with(start));
    let chars_ok = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if scheme_ok && chars_ok && url.len() <= URL_MAX {
        Ok(url.trim_end_matches('/').to_string())
    } else {
        Err(Failure::usage(format!(
            "-b {url:?}: the base URL starts with http://, https:// or /, \
             and has no white space"
        )))
    }
}

/// Reads an admin file lossily; a missing file is empty.
fn read_admin_file(path: &Path) -> Result<String, Failure> {
    match fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(output::failed("read", path, &e)),
    }
}

/// What a line of `control/virtualdomains` covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `domain:prepend`.
    Domain,
    /// `.domain:prepend`: every subdomain.
    Subdomains,
    /// `user@domain:prepend`: one address.
    Address,
}

/// A line of `control/virtualdomains`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Virtual {
    /// The left side, as written.
    pub name: String,
    /// What it covers.
    pub scope: Scope,
    /// The right side.
    pub prepend: String,
}

/// Parses `control/virtualdomains`: blank and `#` lines skipped, and
/// lines with an empty prepend (exceptions: not virtual).
pub fn parse_virtualdomains(text: &str) -> Vec<Virtual> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, prepend)) = line.split_once(':') else { continue };
        let (name, prepend) = (name.trim(), prepend.trim());
        if name.is_empty() || prepend.is_empty() {
            continue;
        }
        let scope = if name.starts_with('.') {
            Scope::Subdomains
        } else if name.contains('@') {
            Scope::Address
        } else {
            Scope::Domain
        };
        out.push(Virtual {
            name: name.to_string(),
            scope,
            prepend: prepend.to_string(),
        });
    }
    out
}

/// An entry of `users/assign` (qmail-users(5)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assign {
    /// `+loc` (local parts starting with `loc`) rather than `=local`.
    pub prefix: bool,
    /// `loc` or `local`.
    pub local: String,
    /// The user it delivers as.
    pub user: String,
    /// Their home directory.
    pub home: String,
}

/// Parses `users/assign` up to its `.` line; damaged lines are skipped.
pub fn parse_assign(text: &str) -> Vec<Assign> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line == "." {
            break;
        }
        let prefix = match line.as_bytes().first() {
            Some(b'+') => true,
            Some(b'=') => false,
            _ => continue,
        };
        let fields: Vec<&str> =
            line.get(1..).unwrap_or_default().split(':').collect();
        if let [local, user, _uid, _gid, home, _, _, ..] = fields.as_slice() {
            if user.is_empty() || home.is_empty() {
                continue;
            }
            out.push(Assign {
                prefix,
                local: local.to_string(),
                user: user.to_string(),
                home: home.to_string(),
            });
        }
    }
    out
}

/// The entry of `assign` that receives the mail of a virtual domain
/// with `prepend`: the `+` entry with the longest prefix of `PREPEND-`
/// (the first of equals, as qmail-newu keeps), else `=PREPEND`. Local
/// parts are compared without regard to case, as qmail does.
pub fn resolve<'a>(assign: &'a [Assign], prepend: &str) -> Option<&'a Assign> {
    let local = format!("{prepend}-").to_ascii_lowercase();
    let mut best: Option<&Assign> = None;
    for entry in assign.iter().filter(|a| a.prefix) {
        let matches = local.starts_with(&entry.local.to_ascii_lowercase());
        if matches && best.is_none_or(|b| entry.local.len() > b.local.len()) {
            best = Some(entry);
        }
    }
    best.or_else(|| {
        assign
            .iter()
            .find(|a| !a.prefix && a.local.eq_ignore_ascii_case(prepend))
    })
}

/// The passwd user qmail falls back to for `prepend` (the part before
/// its first `-`, in lower case) and their home, if `passwd` has them
/// with a user id other than 0 (qmail never delivers as root).
pub fn passwd_user(passwd: &str, prepend: &str) -> Option<(String, String)> {
    let wanted = prepend.split('-').next()?.to_ascii_lowercase();
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            [name, _, uid, _, _, home, ..]
                if *name == wanted && *uid != "0" && !home.is_empty() =>
            {
                Some((name.to_string(), home.to_string()))
            }
            _ => None,
        }
    })
}

/// What a row of the portal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The portal's own layer.
    System,
    /// A line of `virtualdomains`.
    VirtualDomain,
    /// An account of `users/assign`.
    Account,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::System => "system",
            Kind::VirtualDomain => "virtual domain",
            Kind::Account => "account",
        }
    }
}

/// A row of the portal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The domain, account or `system`.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// The user that receives its mail, if known.
    pub user: Option<String>,
    /// Its layer, if known.
    pub layer: Option<PathBuf>,
    /// Said about how it was resolved.
    pub note: Option<String>,
}

/// An account's layer.
fn account_layer(home: &str) -> PathBuf {
    Path::new(home).join("qmvc")
}

/// The rows: the layer itself, the virtual domains, the accounts (one
/// per home directory).
pub fn rows(
    layer: &Path,
    virtuals: &[Virtual],
    assign: &[Assign],
    passwd: &str,
) -> Vec<Row> {
    let mut rows = vec![Row {
        name: "system".into(),
        kind: Kind::System,
        user: None,
        layer: Some(layer.to_path_buf()),
        note: None,
    }];
    for v in virtuals {
        let mut row = Row {
            name: v.name.clone(),
            kind: Kind::VirtualDomain,
            user: None,
            layer: None,
            note: None,
        };
        if let Some(entry) = resolve(assign, &v.prepend) {
            row.user = Some(entry.user.clone());
            row.layer = Some(account_layer(&entry.home));
        } else if let Some((user, home)) = passwd_user(passwd, &v.prepend) {
            row.note =
                Some(format!("not in users/assign; {PASSWD} user {user}"));
            row.user = Some(user);
            row.layer = Some(account_layer(&home));
        } else {
            row.note =
                Some(format!("not in users/assign (prepend {})", v.prepend));
        }
        // A domain layer of its own (`qmvc -c LAYER/domains/NAME`, as
        // qmvc(8) suggests) holds the domain's logs, so its pages.
        let own = layer.join("domains").join(&v.name);
        if own.is_dir() {
            row.layer = Some(own);
        }
        rows.push(row);
    }
    let mut homes = std::collections::HashSet::new();
    for entry in assign {
        if homes.insert(entry.home.as_str()) {
            rows.push(Row {
                name: entry.user.clone(),
                kind: Kind::Account,
                user: Some(entry.user.clone()),
                layer: Some(account_layer(&entry.home)),
                note: None,
            });
        }
    }
    rows
}

/// The newest page of each kind in a layer's `html/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Newest {
    /// Whether `html/` could be read.
    pub readable: bool,
    /// The newest qmvclog2html page.
    pub log: Option<(Day, String)>,
    /// The newest virulator page.
    pub virus: Option<(Day, String)>,
    /// The newest qmvcmonth page.
    pub month: Option<(Month, String)>,
    /// The newest webcalendar page.
    pub calendar: Option<(i32, String)>,
}

/// Keeps `(key, name)` in `slot` if it is newer (or, on the same date,
/// sorts later by name, so the choice does not depend on the directory
/// order).
fn keep<K: Ord>(slot: &mut Option<(K, String)>, key: K, name: &str) {
    let newer = match slot {
        None => true,
        Some((k, n)) => (&key, name) > (&*k, n.as_str()),
    };
    if newer {
        *slot = Some((key, name.to_string()));
    }
}

impl Newest {
    /// Notes the file `name` if it is one of our pages.
    pub fn add(&mut self, name: &str) {
        match PageName::parse(name) {
            Some(PageName::Log { day, .. }) => keep(&mut self.log, day, name),
            Some(PageName::Virus { day, .. }) => {
                keep(&mut self.virus, day, name)
            }
            Some(PageName::Month { month, .. }) => {
                keep(&mut self.month, month, name)
            }
            Some(PageName::Calendar { year, .. }) => {
                keep(&mut self.calendar, year, name)
            }
            None => {}
        }
    }

    /// Scans `html`.
    pub fn scan(html: &Path) -> Newest {
        let mut newest = Newest::default();
        let Ok(entries) = fs::read_dir(html) else { return newest };
        newest.readable = true;
        for entry in entries.flatten() {
            if let Ok(name) = entry.file_name().into_string() {
                newest.add(&name);
            }
        }
        newest
    }

    /// `(label, file)` of each page found.
    fn pages(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if let Some((day, file)) = &self.log {
            out.push((format!("log {day}"), file.as_str()));
        }
        if let Some((day, file)) = &self.virus {
            out.push((format!("viruses {day}"), file.as_str()));
        }
        if let Some((month, file)) = &self.month {
            out.push((format!("month {month}"), file.as_str()));
        }
        if let Some((year, file)) = &self.calendar {
            out.push((format!("calendar {year}"), file.as_str()));
        }
        out
    }
}

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

    const ASSIGN: &str = "=fehcom:fehcom:1001:1001:/home/fehcom:::\n\
                          +fehcom-:fehcom:1001:1001:/home/fehcom:-::\n\
                          +shop-:shop:1002:1002:/home/shop:-::\n\
                          +shop-eu-:shopeu:1003:1003:/home/shopeu:-::\n\
                          =alias:alias:7790:2108:/var/qmail/alias:::\n\
                          broken line\n\
                          .\n\
                          +after-:x:1:1:/x:-::\n";

    #[test]
    fn assign_is_parsed_up_to_the_dot() {
        let entries = parse_assign(ASSIGN);
        assert_eq!(entries.len(), 5);
        assert_eq!(
            entries[1],
            Assign {
                prefix: true,
                local: "fehcom-".into(),
                user: "fehcom".into(),
                home: "/home/fehcom".into(),
            }
        );
        assert!(!entries[0].prefix);
        assert!(parse_assign("").is_empty());
    }

    #[test]
    fn prepends_resolve_by_longest_prefix() {
        let entries = parse_assign(ASSIGN);
        assert_eq!(resolve(&entries, "shop").unwrap().user, "shop");
        assert_eq!(resolve(&entries, "shop-eu").unwrap().user, "shopeu");
        assert_eq!(resolve(&entries, "SHOP").unwrap().user, "shop");
        assert_eq!(resolve(&entries, "alias").unwrap().user, "alias");
        assert!(resolve(&entries, "nobody").is_none());
        let catch_all = parse_assign("+:all:1:1:/home/all:-::\n.\n");
        assert_eq!(resolve(&catch_all, "x").unwrap().user, "all");
    }

    #[test]
    fn virtualdomains_lines() {
        let v = parse_virtualdomains(
            "# comment\n\nexample.com:fehcom\n.example.net:shop\n\
             joe@example.org:joe\nnot.virtual.com:\nbroken\n",
        );
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].scope, Scope::Domain);
        assert_eq!(v[1].scope, Scope::Subdomains);
        assert_eq!(v[2].scope, Scope::Address);
        assert_eq!(v[2].prepend, "joe");
    }

    #[test]
    fn passwd_fallback() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\n\
                      joe:x:1000:1000:Joe:/home/joe:/bin/sh\n";
        assert_eq!(
            passwd_user(passwd, "Joe-lists"),
            Some(("joe".into(), "/home/joe".into()))
        );
        assert_eq!(passwd_user(passwd, "root"), None);
        assert_eq!(passwd_user(passwd, "ann"), None);
    }

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

    #[test]
    fn urls() {
        assert_eq!(
            check_url("https://x.org/qmvc/").unwrap(),
            "https://x.org/qmvc"
        );
        assert_eq!(check_url("/").unwrap(), "");
        for bad in ["javascript:alert(1)", "x", "http://a b", "", "ftp://x"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn newest_pages_win() {
        let mut n = Newest::default();
        for name in [
            "qmvclog-2026-11-20.html",
            "fehcom_qmvclog-2026-11-22.html",
            "qmvclog-2026-11-21.html",
            "calendar-2025.html",
            "x_calendar-2026.html",
            "index.html",
        ] {
            n.add(name);
        }
        assert_eq!(n.log.unwrap().1, "fehcom_qmvclog-2026-11-22.html");
        assert_eq!(n.calendar.unwrap().1, "x_calendar-2026.html");
        assert!(n.virus.is_none());
    }
}
