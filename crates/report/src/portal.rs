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

Every name and path comes from admin files (read and parsed by
qmvc-qmail), and is still treated as data: escaped in text,
percent-encoded in links.

The rows are [`rows()`]'s, what each layer's `html/` holds
[`Newest`]'s, the page [`render`]'s; this file has the command line.
*/

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use qmvc_qmail::passwd::PASSWD;
use qmvc_qmail::{assign, virtualdomains};

use crate::cli::{self, Failure};
use crate::names;
use crate::output;

mod newest;
mod page;
mod rows;

pub use newest::Newest;
pub use page::{relative_path, render, Links};
pub use rows::{rows, Kind, Row};

const PROGRAM: &str = "qmvcportal";
const USAGE: &str = "qmvcportal [-q QMAILDIR] [-b URL] [LAYER]";

/// qmail's home when `-q` is not given.
const QMAILDIR: &str = "/var/qmail";

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
        qmvc_process::say!("usage: {USAGE}");
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
    let virtuals = virtualdomains::parse(&read_admin_file(
        &qmail.join("control/virtualdomains"),
    )?);
    let assign = assign::parse(&read_admin_file(&qmail.join("users/assign"))?);
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

/// Reads an admin file ([`qmvc_qmail::read`]); a missing file is empty.
fn read_admin_file(path: &Path) -> Result<String, Failure> {
    qmvc_qmail::read(path)
        .map(Option::unwrap_or_default)
        .map_err(|e| output::failed("read", &e.path, &e.error))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
