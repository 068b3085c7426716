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
that qmail-smtpd does not refuse yet and that is not an address of the
site itself (`local`: qmail's `locals`, `rcpthosts`, `virtualdomains`;
those are named on standard output instead). Only plain addresses are taken: a
line of badmailfrom is a whole address or `@domain`, so anything else
(the null sender, a bounce's `#@[]`, a name with a blank or a control
character) could refuse the wrong mail or none. Lines of badmailfrom
are kept byte for byte; new ones come after a comment with the date.

The file is replaced atomically (a temporary file in `control/`, same
mode and owner, synced, renamed), only when something is added, and
runs are serialised by a lock in the system layer's `log/`, not in
qmail's `control/`. With an ADMIN address the news goes to ADMIN through
the injector of the system layer.

This file has the command line and the run; the sender list is
`list`'s, badmailfrom's merge [`merge()`]'s, its atomic replacement and
the lock `files`', the mail to the admin `report`'s.
*/

#![deny(missing_docs)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use qmvc_profile::trust;
use qmvc_report::cli::{self, Failure};

mod files;
mod list;
mod local;
mod merge;
mod report;

pub use list::{blockable, parse_line};
pub use local::Site;
pub use merge::{merge, Merged};

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
    let listed = list::read(&options.list, options.threshold)?;
    let system = cli::system_layer();
    // Read before badmailfrom changes, so that a profile that cannot be
    // read or trusted stops the run with nothing done.
    let injector = match &options.admin {
        Some(_) => Some(injector(&system)?),
        None => None,
    };
    let control = options.qmail.join("control");
    let badmailfrom = control.join("badmailfrom");
    check_site_files(&control)?;
    let site = Site::read(&control)?;
    let (local, candidates): (Vec<Candidate>, Vec<Candidate>) =
        listed.into_iter().partition(|c| site.is_local(&c.address));
    for c in &local {
        qmvc_process::say!(
            "{PROGRAM}: not added, an address of this site (qmail's \
             locals, rcpthosts or virtualdomains): {} ({} virusmails)",
            c.address,
            c.count
        );
    }
    let added = {
        let _lock = files::lock(&system)?;
        let old = files::read_old(&badmailfrom)?;
        let comment = format!(
            "# added by {PROGRAM} on {} ({} or more virusmails)",
            chrono::Local::now().format("%Y-%m-%d %H:%M"),
            options.threshold
        );
        match merge(&old.text, &candidates, &comment) {
            Some(merged) => {
                files::replace(
                    &control,
                    &badmailfrom,
                    &merged.text,
                    old.meta,
                )?;
                merged.added
            }
            None => return Ok(()),
        }
    };
    if let (Some(admin), Some(injector)) = (&options.admin, injector) {
        let message =
            report::message(admin, &added, &local, options, &badmailfrom)?;
        qmvc_notify::inject(&injector, admin, &message, INJECT_TIMEOUT)
            .map_err(|why| {
                Failure::transient(format!(
                    "{} added to {}, but the report to {admin} was not \
                     sent: {why}",
                    report::senders(added.len()),
                    badmailfrom.display()
                ))
            })?;
    }
    Ok(())
}

/// The injector of the system layer's profile, read as qmvc reads it.
fn injector(system: &Path) -> Result<PathBuf, Failure> {
    use qmvc_profile::{Layers, Profile, Scope};
    let layers = Layers::new(system.to_path_buf(), None, None);
    let (profile, problems) =
        Profile::load(&layers, Scope::All).map_err(|e| {
            Failure::failed(format!("cannot read the profile: {e}"))
        })?;
    for problem in problems {
        let file = Path::new(&problem.origin.file).file_name();
        if file.is_some_and(|f| f == "injector") {
            qmvc_process::esay!("{PROGRAM}: warning: {problem}");
        }
    }
    // Root runs what the layer names: the control file, the program and
    // every directory on their way must be root's alone (SPEC 9). The
    // profile checked the layer and its control/ already.
    let refused = |e: qmvc_profile::Error| {
        Failure::failed(format!("refused to run the injector: {e}"))
    };
    trust::check_path(&system.join("control").join("injector"))
        .map_err(refused)?;
    trust::check_path(&profile.reactions.injector).map_err(refused)?;
    Ok(profile.reactions.injector)
}

/// Checks the files of qmail's `control/` that say which domains are
/// the site's own as [`trust::check_path`] does: whoever could write
/// them could have root block the site's own mail.
fn check_site_files(control: &Path) -> Result<(), Failure> {
    for name in local::FILES {
        trust::check_path(&control.join(name)).map_err(|e| {
            Failure::failed(format!("refused to read qmail's {name}: {e}"))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
