/*!
Why an evaluation could not decide: never the message's fault, always a
reason to try again later (the front end defers).
*/

use std::fmt;
use std::io;

use qmvc_fault::{Blame, Fault};
use qmvc_profile::Origin;

use crate::probes::CommandError;

/// An evaluation that could not finish.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A badbodytexts command could not be run or waited for.
    Command {
        /// Its badbodytexts line.
        origin: Origin,
        /// The program.
        program: String,
        /// What failed.
        source: CommandError,
    },
    /// A scanner could not scan or be asked, and its policy for that is
    /// `tempfail`.
    Scanner {
        /// Its line in the scanners control file.
        origin: Origin,
        /// What it said, with the policy, e.g. `scanner clamd (C)
        /// failed: ... (on_error tempfail)`.
        said: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Command { origin, program, source } => {
                let (doing, e) = match source {
                    CommandError::Start(e) => ("cannot run", e),
                    CommandError::Wait(e) => ("waiting for", e),
                };
                write!(f, "{origin}: {doing} {program}: {e}")?;
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) {
                    f.write_str(" (fix the command on that line)")?;
                }
                Ok(())
            }
            Error::Scanner { said, .. } => write!(
                f,
                "{said}; the message is tried again later (see qmvc -s)"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Command {
                source: CommandError::Start(e) | CommandError::Wait(e),
                ..
            } => Some(e),
            Error::Scanner { .. } => None,
        }
    }
}

impl Blame for Error {
    /// A command that does not exist or may not run is its line's fault;
    /// any other failure to run it the system's; a scanner under
    /// `tempfail` is transient.
    fn fault(&self) -> Fault {
        match self {
            Error::Command {
                origin, source: CommandError::Start(e), ..
            } if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
            ) =>
            {
                Fault::Config { file: origin.file.clone(), line: origin.line }
            }
            Error::Command { .. } => Fault::Environment,
            Error::Scanner { .. } => Fault::Transient,
        }
    }
}
