/*!
Why plainmail did not forward, each kind saying whose fault it is, and
the exit code each maps to (plainmail(8)): a usage error is the filter
line's (2, a retry cannot help), everything else 111 (qmail-local keeps
the message and tries again).
*/

use std::fmt;
use std::io;
use std::path::PathBuf;

use qmvc_notify::{AddressError, HeaderError, InjectError};

/// Exit code of a usage error.
pub const EXIT_USAGE: u8 = 2;

/// Exit code of every other failure: neither 0 nor 1, so a `:0` or `:1`
/// line is not met.
pub const EXIT_FAILURE: u8 = 111;

/// A failure of plainmail.
#[derive(Debug)]
pub enum Error {
    /// The command line is wrong: the filter line's fault.
    Usage(Usage),
    /// Standard input could not be read: the environment's.
    Read(io::Error),
    /// `QMVC_INJECTOR` is not an absolute path: the configuration's
    /// (qmvc sets it from its control file `injector`).
    Injector(PathBuf),
    /// The forward's header cannot be built (the host name or the
    /// address cannot go into a header line).
    Header {
        /// The address forwarded to.
        address: String,
        /// What is wrong.
        error: HeaderError,
    },
    /// The injector failed: transient, or the environment's.
    Inject {
        /// The address forwarded to.
        address: String,
        /// What went wrong.
        error: InjectError,
    },
}

/// What is wrong with the command line.
#[derive(Debug)]
pub enum Usage {
    /// More than one argument.
    TooMany,
    /// The argument is empty.
    Empty,
    /// The argument starts with `-`.
    Option(String),
    /// White space, control or non-ASCII characters.
    Characters(String),
    /// `$` variables that do not expand to one plain address.
    Address {
        /// The argument.
        address: String,
        /// Why.
        error: AddressError,
    },
}

impl Error {
    /// The exit code this failure maps to.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Usage::TooMany => f.write_str("more than one argument"),
            Usage::Empty => f.write_str("empty address"),
            Usage::Option(arg) => write!(f, "unknown option {arg:?}"),
            Usage::Characters(arg) => write!(
                f,
                "bad address {arg:?}: white space, control or non-ASCII \
                 characters"
            ),
            Usage::Address { address, error } => {
                write!(f, "bad address {address:?}: {error}")
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(usage) => {
                write!(f, "{usage}\nusage: plainmail [ADDRESS]")
            }
            Error::Read(e) => write!(f, "cannot read the message: {e}"),
            Error::Injector(path) => write!(
                f,
                "QMVC_INJECTOR {:?} is not an absolute path; fix qmvc's \
                 control file injector",
                path.display()
            ),
            Error::Header { address, error } => {
                write!(f, "cannot forward to {address}: {error}")
            }
            Error::Inject { address, error } => {
                write!(f, "forward to {address} failed: {error}")
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_2_the_rest_111() {
        assert_eq!(Error::Usage(Usage::Empty).exit_code(), 2);
        let text = Error::Usage(Usage::TooMany).to_string();
        assert!(text.ends_with("\nusage: plainmail [ADDRESS]"), "{text}");
        let read = Error::Read(io::Error::other("x"));
        assert_eq!(read.exit_code(), 111);
        assert_eq!(Error::Injector("x".into()).exit_code(), 111);
    }
}
