/*!
What every aux program shares on its command line: the layer directory
(default: the system layer), `-d DOMAIN`, and the exit-code contract.
*/

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// Success.
pub const EXIT_OK: u8 = 0;
/// A usage error: an unknown flag, a bad value. Retrying cannot help.
pub const EXIT_USAGE: u8 = 100;
/// A failure that may pass: a file that cannot be read or written.
pub const EXIT_FAILURE: u8 = 111;

/// The longest `-d DOMAIN`.
const DOMAIN_MAX: usize = 253;

/// Which class of failure a [`Failure`] is, which decides the report
/// program's exit code as its man page documents it. (Not a
/// [`qmvc_fault::Fault`]: a report program is a front end, and this is
/// its own exit policy; [`Failure`] still says whose fault it is through
/// [`qmvc_fault::Blame`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitClass {
    /// The command line: an unknown flag, a bad value. Retrying the
    /// same command cannot help ([`EXIT_USAGE`]).
    Usage,
    /// The environment: a file or directory that cannot be read or
    /// written, a full disk, a lock ([`EXIT_FAILURE`]).
    Environment,
    /// The data: a log, list or database that cannot be reported as it
    /// is (too many days, too large) ([`EXIT_FAILURE`]).
    Data,
    /// Another program failed or timed out (the injector); a later run
    /// may succeed ([`EXIT_FAILURE`]).
    Transient,
}

/// A failed run: its class, and what to print.
#[derive(Debug)]
pub struct Failure {
    /// Its class; it decides the exit code ([`Failure::code`]).
    pub class: ExitClass,
    /// One line saying what is wrong and what to do.
    pub message: String,
}

impl Failure {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { class: ExitClass::Usage, message: message.into() }
    }

    /// A failure of the environment (see [`crate::output::failed`] for
    /// one of a file).
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure { class: ExitClass::Environment, message: message.into() }
    }

    /// Data that cannot be reported as it is.
    pub fn data(message: impl Into<String>) -> Failure {
        Failure { class: ExitClass::Data, message: message.into() }
    }

    /// Another program failed; a later run may succeed.
    pub fn transient(message: impl Into<String>) -> Failure {
        Failure { class: ExitClass::Transient, message: message.into() }
    }

    /// The exit code: [`EXIT_USAGE`] for a usage error, else
    /// [`EXIT_FAILURE`].
    pub fn code(&self) -> u8 {
        match self.class {
            ExitClass::Usage => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl qmvc_fault::Blame for Failure {
    /// A usage error is the configuration's (the command line, line 0);
    /// data that cannot be reported as it is, the data's (as the
    /// message's: the same run fails the same way); the rest as its class
    /// says.
    fn fault(&self) -> qmvc_fault::Fault {
        match self.class {
            ExitClass::Usage => qmvc_fault::Fault::Config {
                file: "the command line".to_string(),
                line: 0,
            },
            ExitClass::Data => qmvc_fault::Fault::Message,
            ExitClass::Environment => qmvc_fault::Fault::Environment,
            ExitClass::Transient => qmvc_fault::Fault::Transient,
        }
    }
}

/// A log that cannot be read or archived is a failure of the run.
impl From<qmvc_log::Error> for Failure {
    fn from(e: qmvc_log::Error) -> Failure {
        Failure::failed(e.to_string())
    }
}

/// The system layer: `$QMVCHOME` if set and not empty, else `/var/qmvc`,
/// as qmvc(8) finds it.
pub fn system_layer() -> PathBuf {
    qmvc_profile::system_home()
}

/// The layer operand: at most one; the system layer when absent.
pub fn layer(free: &[String]) -> Result<PathBuf, Failure> {
    match free {
        [] => Ok(system_layer()),
        [one] if !one.is_empty() => Ok(PathBuf::from(one)),
        [_] => Err(Failure::usage("the layer directory is empty")),
        more => Err(Failure::usage(format!(
            "one layer directory expected, {} given",
            more.len()
        ))),
    }
}

/// `-d DOMAIN`: a name for titles and a prefix for file names, so it is
/// held to letters, digits, `.`, `-` and `_`, not starting with `.`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Domain(Option<String>);

impl Domain {
    /// No `-d`.
    pub fn none() -> Domain {
        Domain(None)
    }

    /// Checks the value of `-d`.
    pub fn parse(value: Option<String>) -> Result<Domain, Failure> {
        let Some(name) = value else { return Ok(Domain(None)) };
        let good = !name.is_empty()
            && name.len() <= DOMAIN_MAX
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if good {
            Ok(Domain(Some(name)))
        } else {
            Err(Failure::usage(format!(
                "-d {name:?}: a domain name is letters, digits, '.', '-' \
                 and '_', not starting with '.', at most {DOMAIN_MAX} bytes"
            )))
        }
    }

    /// The name, if `-d` was given.
    pub fn name(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The file-name prefix: `DOMAIN_`, or nothing.
    pub fn prefix(&self) -> String {
        match &self.0 {
            Some(name) => format!("{name}_"),
            None => String::new(),
        }
    }

    /// `TITLE for DOMAIN`, or `TITLE`.
    pub fn title(&self, title: &str) -> String {
        match &self.0 {
            Some(name) => format!("{title} for {name}"),
            None => title.to_string(),
        }
    }
}

/// Parses `args` (without the program name) with `options`; a usage
/// error names the program and shows `usage`.
pub fn parse(
    program: &str,
    usage: &str,
    options: &getopts::Options,
    args: &[OsString],
) -> Result<getopts::Matches, Failure> {
    let mut strings = Vec::with_capacity(args.len());
    for arg in args {
        match arg.to_str() {
            Some(s) => strings.push(s.to_string()),
            None => {
                return Err(Failure::usage(format!(
                    "{program}: an argument is not UTF-8\nusage: {usage}"
                )))
            }
        }
    }
    options
        .parse(&strings)
        .map_err(|e| Failure::usage(format!("{program}: {e}\nusage: {usage}")))
}

/// Runs a program's body: prints a failure as `PROGRAM: message` on
/// standard error and maps it to its exit code; a panic is
/// [`EXIT_FAILURE`], never 101.
pub fn run(program: &str, body: impl FnOnce() -> Result<(), Failure>) -> u8 {
    // Before any file is opened: a closed descriptor 1 must not become a
    // page or a log.
    qmvc_process::stdio::guard();
    let name = program.to_string();
    std::panic::set_hook(Box::new(move |info| {
        qmvc_process::esay!("{name}: internal error: {info}");
    }));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(())) => EXIT_OK,
        Ok(Err(failure)) => {
            if failure.message.starts_with(program) {
                qmvc_process::esay!("{}", failure.message);
            } else {
                qmvc_process::esay!("{program}: {}", failure.message);
            }
            failure.code()
        }
        Err(_) => EXIT_FAILURE,
    }
}

/// Which days a report covers: `-c` today, `-D DAY` that day, neither
/// every day its log holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Days {
    /// Every day found in the log, a page each.
    All,
    /// One day.
    One(crate::dates::Day),
}

impl Days {
    /// From `-c` and `-D DAY` (which exclude each other).
    pub fn from_flags(
        current: bool,
        day: Option<String>,
    ) -> Result<Days, Failure> {
        match (current, day) {
            (true, Some(_)) => {
                Err(Failure::usage("-c and -D exclude each other"))
            }
            (true, None) => Ok(Days::One(crate::dates::today())),
            (false, Some(text)) => crate::dates::parse_day(&text)
                .map(Days::One)
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "-D {text:?}: a day is YYYY-MM-DD, such as 2026-11-22"
                    ))
                }),
            (false, None) => Ok(Days::All),
        }
    }

    /// Whether a record of `day` is reported.
    pub fn contains(self, day: crate::dates::Day) -> bool {
        match self {
            Days::All => true,
            Days::One(one) => one == day,
        }
    }
}

/// [`run`] for a program whose `options` are `None` for `-h`: then the
/// usage goes to standard output and the exit code is 0.
pub fn run_with<O>(
    program: &str,
    usage: &str,
    options: impl FnOnce() -> Result<Option<O>, Failure>,
    body: impl FnOnce(&O) -> Result<(), Failure>,
) -> u8 {
    run(program, || match options()? {
        Some(options) => body(&options),
        None => {
            qmvc_process::say!("usage: {usage}");
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked() {
        assert_eq!(Domain::parse(None).unwrap().prefix(), "");
        let d = Domain::parse(Some("fehcom".into())).unwrap();
        assert_eq!(d.prefix(), "fehcom_");
        assert_eq!(d.title("qmvc log"), "qmvc log for fehcom");
        for bad in ["", "../x", ".hidden", "a/b", "a b", "<x>"] {
            assert!(Domain::parse(Some(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_fault_decides_the_code() {
        assert_eq!(Failure::usage("x").code(), EXIT_USAGE);
        for failure in
            [Failure::failed("x"), Failure::data("x"), Failure::transient("x")]
        {
            assert_eq!(failure.code(), EXIT_FAILURE, "{:?}", failure.class);
        }
    }

    #[test]
    fn one_layer_at_most() {
        assert!(layer(&["a".into(), "b".into()]).is_err());
        assert_eq!(layer(&["/x".into()]).unwrap(), PathBuf::from("/x"));
    }
}
