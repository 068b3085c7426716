/*!
blockvirussender (blockvirussender(8)): the senders of many virusmails
into qmail's `control/badmailfrom`, so that qmail-smtpd refuses their
next message.

This crate owns that program: reading virulator's sender list, merging
it into badmailfrom (which senders badmailfrom already refuses is
qmvc-qmail's), replacing the file atomically under a lock, and the
report to the admin (built by qmvc-notify's [`qmvc_notify::Outgoing`],
sent by [`qmvc_notify::inject`]). The binary under `crates/aux/` only
calls [`main`].

It reads the list virulator writes (`COUNT SENDER` a line,
`topvirus_Sender1`) and appends each sender with at least `-n` virusmails
that qmail-smtpd does not refuse yet. Only plain addresses are taken: a
line of badmailfrom is a whole address or `@domain`, so anything else
(the null sender, a bounce's `#@[]`, a name with a blank or a control
character) could refuse the wrong mail or none. Lines of badmailfrom
are kept byte for byte; new ones come after a comment with the date.

The file is replaced atomically (a temporary file in `control/`, same
mode and owner, synced, renamed), only when something is added, and
runs are serialised by a lock in the system layer's `log/`, not in
qmail's `control/`. With an ADMIN address the news goes to ADMIN through
the injector of the system layer.
*/

#![deny(missing_docs)]

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, DirBuilder, File, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use qmvc_notify::{AutoSubmitted, Outgoing};
use qmvc_qmail::badmailfrom::Badmailfrom;
use qmvc_report::cli::{self, Failure};
use qmvc_report::output;

const PROGRAM: &str = "blockvirussender";
const USAGE: &str = "blockvirussender [-n N] [-f FILE] [-q QMAILDIR] [ADMIN]";

/// Virusmails that make a sender blocked, without `-n`.
const THRESHOLD_DEFAULT: u64 = 10;
/// qmail's home, without `-q`.
const QMAIL_DEFAULT: &str = "/var/qmail";
/// The most of the sender list read: virulator writes at most some
/// 20,000 lines.
const LIST_MAX: u64 = 64 << 20;
/// Lines that are not `COUNT SENDER` warned about one by one; the rest
/// are counted.
const WARNINGS_MAX: usize = 10;
/// How long the injector may take.
const INJECT_TIMEOUT: Duration = Duration::from_secs(60);

/// The command line.
#[derive(Debug)]
struct Options {
    threshold: u64,
    list: PathBuf,
    qmail: PathBuf,
    admin: Option<String>,
}

/// A sender to block and its virusmails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The address as listed.
    pub address: String,
    /// Its virusmails.
    pub count: u64,
}

/// What [`merge`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The new badmailfrom.
    pub text: Vec<u8>,
    /// What was added, in lowercase, in list order.
    pub added: Vec<Candidate>,
}

/// Runs blockvirussender with `args` (without the program name); the exit
/// code.
pub fn main(args: &[OsString]) -> u8 {
    cli::run_with(PROGRAM, USAGE, || options(args), run)
}

/// The options, or `None` for `-h`.
fn options(args: &[OsString]) -> Result<Option<Options>, Failure> {
    let mut o = getopts::Options::new();
    o.optopt("n", "", "virusmails that make a sender blocked", "N");
    o.optopt("f", "", "the sender list", "FILE");
    o.optopt("q", "", "qmail's home", "QMAILDIR");
    o.optflag("h", "", "usage");
    let m = cli::parse(PROGRAM, USAGE, &o, args)?;
    if m.opt_present("h") {
        return Ok(None);
    }
    let usage =
        |what: String| Failure::usage(format!("{what}\nusage: {USAGE}"));
    let threshold = match m.opt_str("n") {
        None => THRESHOLD_DEFAULT,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(usage(format!(
                    "-n {text:?}: a number of virusmails, 1 or more"
                )))
            }
        },
    };
    let path = |flag: &str, default: PathBuf| match m.opt_str(flag) {
        Some(p) if p.is_empty() => {
            Err(usage(format!("-{flag}: the path is empty")))
        }
        Some(p) => Ok(PathBuf::from(p)),
        None => Ok(default),
    };
    let list = path(
        "f",
        cli::system_layer()
            .join("html")
            .join(qmvc_report::names::TOPVIRUS_SENDERS),
    )?;
    let qmail = path("q", PathBuf::from(QMAIL_DEFAULT))?;
    let admin = match m.free.as_slice() {
        [] => None,
        [one] => match qmvc_notify::check_address(one) {
            Ok(()) => Some(one.clone()),
            Err(why) => {
                return Err(usage(format!("ADMIN {one:?}: {why}")));
            }
        },
        more => {
            return Err(usage(format!(
                "one ADMIN address expected, {} given",
                more.len()
            )))
        }
    };
    Ok(Some(Options { threshold, list, qmail, admin }))
}

fn run(options: &Options) -> Result<(), Failure> {
    let candidates = read_list(&options.list, options.threshold)?;
    let system = cli::system_layer();
    // Read before badmailfrom changes, so that a profile that cannot be
    // read stops the run with nothing done.
    let injector = match &options.admin {
        Some(_) => Some(injector(&system)?),
        None => None,
    };
    let control = options.qmail.join("control");
    let badmailfrom = control.join("badmailfrom");
    let added = {
        let _lock = lock(&system)?;
        let old = read_old(&badmailfrom)?;
        let comment = format!(
            "# added by {PROGRAM} on {} ({} or more virusmails)",
            chrono::Local::now().format("%Y-%m-%d %H:%M"),
            options.threshold
        );
        match merge(&old.text, &candidates, &comment) {
            Some(merged) => {
                replace(&control, &badmailfrom, &merged.text, old.meta)?;
                merged.added
            }
            None => return Ok(()),
        }
    };
    if let (Some(admin), Some(injector)) = (&options.admin, injector) {
        let message = report(admin, &added, options, &badmailfrom)?;
        qmvc_notify::inject(&injector, admin, &message, INJECT_TIMEOUT)
            .map_err(|why| {
                Failure::transient(format!(
                    "{} added to {}, but the report to {admin} was not \
                     sent: {why}",
                    senders(added.len()),
                    badmailfrom.display()
                ))
            })?;
    }
    Ok(())
}

/// `N sender(s)`.
fn senders(n: usize) -> String {
    if n == 1 {
        "1 sender".into()
    } else {
        format!("{n} senders")
    }
}

/// One line of the sender list, `COUNT SENDER`; `None` when it is not
/// one (a count that is not a decimal number that fits, no sender).
pub fn parse_line(line: &str) -> Option<(u64, &str)> {
    let (count, sender) = line.split_once(' ')?;
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count = count.parse().ok()?;
    if sender.is_empty() {
        return None;
    }
    Some((count, sender))
}

/// Whether `sender` can be a line of badmailfrom: one plain address
/// (exactly one `@`, local part and domain not empty, printable ASCII
/// without blanks, not starting with `#` or `@`, and an address the
/// injector would take), and not the null sender or a MAILER-DAEMON.
pub fn blockable(sender: &str) -> bool {
    let Some((local, domain)) = sender.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && sender.bytes().all(|b| b.is_ascii_graphic())
        && !sender.starts_with('#')
        && qmvc_notify::check_address(sender).is_ok()
        && !local.eq_ignore_ascii_case("mailer-daemon")
}

/// The senders of `path` with at least `threshold` virusmails that can
/// be blocked, in list order. Lines that are not `COUNT SENDER` are
/// warned about and skipped.
fn read_list(path: &Path, threshold: u64) -> Result<Vec<Candidate>, Failure> {
    let file = File::open(path).map_err(|e| {
        Failure::failed(format!(
            "cannot open {}: {e}; virulator writes it (is its cron job \
             running?)",
            path.display()
        ))
    })?;
    let mut bytes = Vec::new();
    file.take(LIST_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| output::failed("read", path, &e))?;
    if bytes.len() as u64 > LIST_MAX {
        bytes.truncate(LIST_MAX as usize);
        eprintln!(
            "{PROGRAM}: warning: {} is larger than {} MiB; the rest is \
             ignored",
            path.display(),
            LIST_MAX >> 20
        );
    }
    let mut out = Vec::new();
    let mut bad = 0usize;
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = std::str::from_utf8(line).ok().and_then(parse_line);
        let Some((count, sender)) = parsed else {
            bad += 1;
            if bad <= WARNINGS_MAX {
                eprintln!(
                    "{PROGRAM}: warning: {}:{}: not COUNT SENDER, skipped: \
                     {}",
                    path.display(),
                    n + 1,
                    shown(line)
                );
            }
            continue;
        };
        if count >= threshold && blockable(sender) {
            out.push(Candidate { address: sender.to_string(), count });
        }
    }
    if bad > WARNINGS_MAX {
        eprintln!(
            "{PROGRAM}: warning: {}: {} more lines that are not COUNT \
             SENDER were skipped",
            path.display(),
            bad - WARNINGS_MAX
        );
    }
    Ok(out)
}

/// A line for a warning: escaped and cut, so it cannot move the
/// terminal.
fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out: String = format!("{text:?}");
    if out.len() > 100 {
        let mut end = 100;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("...");
    }
    out
}

/// badmailfrom with the `candidates` it does not block yet appended
/// after `comment` (a `#` line), in lowercase and list order; `None`
/// when there is nothing new. A sender is blocked when a line equals it
/// or is `@` and its domain, compared case-insensitively and without
/// trailing blanks, as qmail-smtpd compares. `old` is kept byte for
/// byte.
pub fn merge(
    old: &[u8],
    candidates: &[Candidate],
    comment: &str,
) -> Option<Merged> {
    let mut blocked = Badmailfrom::parse(old);
    let mut added = Vec::new();
    for candidate in candidates {
        let address = candidate.address.to_ascii_lowercase();
        if !address.contains('@') || blocked.refuses(&address) {
            continue;
        }
        blocked.add(&address);
        added.push(Candidate { address, count: candidate.count });
    }
    if added.is_empty() {
        return None;
    }
    let mut text = old.to_vec();
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(comment.as_bytes());
    text.push(b'\n');
    for candidate in &added {
        text.extend_from_slice(candidate.address.as_bytes());
        text.push(b'\n');
    }
    Some(Merged { text, added })
}

/// badmailfrom as it is, and its metadata (`None` when there is none).
struct Old {
    text: Vec<u8>,
    meta: Option<fs::Metadata>,
}

fn read_old(path: &Path) -> Result<Old, Failure> {
    match fs::read(path) {
        Ok(text) => {
            let meta = fs::metadata(path)
                .map_err(|e| output::failed("stat", path, &e))?;
            Ok(Old { text, meta: Some(meta) })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Ok(Old { text: Vec::new(), meta: None })
        }
        Err(e) => Err(output::failed("read", path, &e)),
    }
}

/// Replaces `path` (in `dir`) with `text` atomically: same mode as the
/// old file (0644 when new), its owner when running as root, synced
/// before the rename.
fn replace(
    dir: &Path,
    path: &Path,
    text: &[u8],
    old: Option<fs::Metadata>,
) -> Result<(), Failure> {
    let temp = tempfile::Builder::new()
        .prefix(".badmailfrom.")
        .tempfile_in(dir)
        .map_err(|e| output::failed("create a file in", dir, &e))?;
    let write = |e: io::Error| output::failed("write", path, &e);
    let mut file: &File = temp.as_file();
    file.write_all(text).map_err(write)?;
    if let Some(old) = &old {
        let mine = file.metadata().map_err(write)?;
        // A new file belongs to the effective user: 0 means root, who
        // must hand the file back to its owner; anyone else cannot.
        let moved = (mine.uid(), mine.gid()) != (old.uid(), old.gid());
        if mine.uid() == 0 && moved {
            std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
                .map_err(|e| output::failed("chown", path, &e))?;
        }
    }
    let mode = old.map(|m| m.mode() & 0o7777).unwrap_or(0o644);
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(|e| output::failed("set the mode of", path, &e))?;
    file.sync_all().map_err(write)?;
    temp.persist(path)
        .map_err(|e| output::failed("rename a new file to", path, &e.error))?;
    // The rename is durable once the directory is; a failure here leaves
    // the new file in place all the same.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Takes `SYSTEM/log/blockvirussender.lock`; held until the file closes.
fn lock(system: &Path) -> Result<File, Failure> {
    let log = system.join("log");
    match DirBuilder::new().mode(0o700).create(&log) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(output::failed("create", &log, &e)),
    }
    output::lock_file(&log.join("blockvirussender.lock"), 0o600)
}

/// The injector of the system layer's profile, read as qmvc reads it.
fn injector(system: &Path) -> Result<PathBuf, Failure> {
    use qmvc_profile::{Layers, Profile, Scope};
    let layers =
        Layers { system: system.to_path_buf(), domain: None, user: None };
    let (profile, problems) =
        Profile::load(&layers, Scope::All).map_err(|e| {
            Failure::failed(format!("cannot read the profile: {e}"))
        })?;
    for problem in problems {
        let file = Path::new(&problem.origin.file).file_name();
        if file.is_some_and(|f| f == "injector") {
            eprintln!("{PROGRAM}: warning: {problem}");
        }
    }
    Ok(profile.reactions.injector)
}

/// The report to `admin`: what was added, from which list.
fn report(
    admin: &str,
    added: &[Candidate],
    options: &Options,
    badmailfrom: &Path,
) -> Result<Vec<u8>, Failure> {
    let host = qmvc_notify::local_host();
    let from = format!("MAILER-DAEMON@{host}");
    let outgoing = Outgoing::new(&from, admin, AutoSubmitted::Generated)
        .map_err(|e| Failure::usage(format!("the report: {e}")))?
        .host(&host)
        .subject(&format!(
            "{PROGRAM}: {} added to badmailfrom",
            senders(added.len())
        ))
        .always_8bit();
    let mut m = String::new();
    let _ = write!(
        m,
        "{PROGRAM} added {} to {}:\nthey sent {} or more virusmails each, \
         as {} counts them.\nqmail-smtpd refuses their mail from now on.\n\n\
         virusmails  sender\n",
        senders(added.len()),
        badmailfrom.display(),
        options.threshold,
        options.list.display(),
    );
    for candidate in added {
        let _ = writeln!(m, "{:>10}  {}", candidate.count, candidate.address);
    }
    Ok(outgoing.build(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(address: &str, count: u64) -> Candidate {
        Candidate { address: address.into(), count }
    }

    #[test]
    fn list_lines() {
        assert_eq!(parse_line("12 a@b.c"), Some((12, "a@b.c")));
        for bad in [
            "",
            "12",
            "12 ",
            "-5 a@b",
            "+5 a@b",
            " 5 a@b",
            "x a@b",
            "99999999999999999999999 a@b",
        ] {
            assert_eq!(parse_line(bad), None, "{bad:?}");
        }
        assert_eq!(parse_line("7 a b@c"), Some((7, "a b@c")));
    }

    #[test]
    fn only_plain_addresses() {
        for good in ["a@b.c", "Evil.Sender+x@Example.COM", "x@y"] {
            assert!(blockable(good), "{good}");
        }
        for bad in [
            "",
            "<>",
            "#@[]",
            "-",
            "a b@c",
            "a@b@c",
            "@b.c",
            "a@",
            "#a@b",
            "ab",
            "<script>@x",
            "a@b\r",
            "évil@x",
            "MAILER-DAEMON@x.org",
            "mailer-daemon@x",
            "-a@b",
        ] {
            assert!(!blockable(bad), "{bad:?}");
        }
    }

    #[test]
    fn merge_keeps_old_and_appends_news() {
        let old = b"# badmailfrom\n\nspam@x.org\n@evil.com\nMixed@Case.ORG\n\
                    \xff binary\nlast@x.org";
        let candidates = [
            c("New@One.org", 30),
            c("a@EVIL.com", 20),
            c("mixed@case.org", 15),
            c("spam@x.org", 12),
            c("new@one.org", 11),
            c("two@x.org", 10),
        ];
        let merged = merge(old, &candidates, "# added").unwrap();
        let mut want = old.to_vec();
        want.extend_from_slice(b"\n# added\nnew@one.org\ntwo@x.org\n");
        assert_eq!(merged.text, want);
        assert_eq!(merged.added, [c("new@one.org", 30), c("two@x.org", 10)]);
        assert_eq!(merge(&merged.text, &candidates, "# again"), None);
        assert_eq!(merge(old, &[], "#"), None);
        assert_eq!(
            merge(b"", &[c("a@b", 1)], "# c").unwrap().text,
            b"# c\na@b\n"
        );
        assert_eq!(
            merge(b"A@B \r\n", &[c("a@b", 1)], "# c"),
            None,
            "blanks after a line"
        );
        let lead = merge(b" a@b\n", &[c("a@b", 1)], "# c");
        assert_eq!(lead.unwrap().text, b" a@b\n# c\na@b\n", "qmail: no match");
    }

    #[test]
    fn usage_errors() {
        let args = |l: &[&str]| -> Vec<OsString> {
            l.iter().map(OsString::from).collect()
        };
        for bad in [
            &["-n", "0"][..],
            &["-n", "x"],
            &["-n", "+3"],
            &["a@b", "c@d"],
            &["not an address"],
            &["-x"],
            &["-q", ""],
        ] {
            let got = options(&args(bad));
            assert_eq!(got.unwrap_err().code(), cli::EXIT_USAGE, "{bad:?}");
        }
        let o = options(&args(&["-n", "3", "-q", "/q", "admin@example.com"]))
            .unwrap()
            .unwrap();
        assert_eq!(o.threshold, 3);
        assert_eq!(o.admin.as_deref(), Some("admin@example.com"));
    }
}
