/*!
The errors of this crate, each saying whose fault it is.

A bad line in a control file is not an error but a [`crate::Problem`]: it
is collected, and lint goes on. An [`Error`] stops the loading of the
profile: a control file that cannot be used at all. It says whose fault
it is through [`Blame`] ([`qmvc_fault::Fault::Config`] with its file and
line, or [`qmvc_fault::Fault::Environment`]), which tells a front end
which of its exit codes fits (qmvc defers with 111 either way; a queue
front end may tell a broken configuration from a broken machine).
Checks of single values that are reported as problems have error types of
their own ([`crate::AddressError`]).
*/

use std::fmt;

use qmvc_fault::{Blame, Fault};

/// Which of the two faults an [`Error`] is; [`Blame::fault`] adds the
/// file and line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The configuration: a control file, or a name taken from one,
    /// cannot be used as written (not UTF-8 text, a name that is not a
    /// safe path). `Error::line` says where when it can.
    Configuration,
    /// The environment: a file cannot be read (permissions, an I/O
    /// error), is not a regular file, or is writable by group or others;
    /// a layer is refused.
    Environment,
}

/// A control file (or definition, or template) that cannot be used.
/// Always a temporary failure for a delivery: exit 111.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Error {
    /// Whose fault it is; see [`Blame::fault`].
    pub(crate) kind: Kind,
    /// The file as shown to the user.
    pub file: String,
    /// The 1-based line the fault is on; 0 for the file as a whole.
    pub line: usize,
    /// Why, and what to do about it, e.g. `group or world writable; fix
    /// with chmod go-w (#4.7.0)`.
    pub reason: String,
}

impl Error {
    /// An error of the environment about `file` as a whole.
    pub(crate) fn environment(file: String, reason: String) -> Error {
        Error { kind: Kind::Environment, file, line: 0, reason }
    }

    /// An error of the configuration at `line` of `file` (0: the file as
    /// a whole).
    pub(crate) fn configuration(
        file: String,
        line: usize,
        reason: String,
    ) -> Error {
        Error { kind: Kind::Configuration, file, line, reason }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

impl std::error::Error for Error {}

impl Blame for Error {
    /// The configuration, at [`Error::file`] and [`Error::line`]; or the
    /// environment.
    fn fault(&self) -> Fault {
        match self.kind {
            Kind::Configuration => {
                Fault::Config { file: self.file.clone(), line: self.line }
            }
            Kind::Environment => Fault::Environment,
        }
    }
}
