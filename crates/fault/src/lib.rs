/*!
Whose fault an error is: the one vocabulary every library crate of qmvc
uses to classify its errors, so that each front end maps them to its own
exit codes without knowing the libraries' error types.

Every library error type (`qmvc_log::Error`, `qmvc_engine::Error`,
`qmvc_scanners::RunError`, `qmvc_process::Error`,
`qmvc_delivery::Error`, ...) implements [`Blame`]. A front end asks
[`Blame::fault`] and decides; qmvc's choice, and the one qmail-queue's
codes suggest for qmvc-queue:

| [`Fault`] | qmvc (dot-qmail) | qmvc-queue (QMAILQUEUE) |
| --- | --- | --- |
| [`Fault::Message`] | 100 (bounce) | 31 (permanent) |
| [`Fault::Config`] | 111 | 71 (temporary) |
| [`Fault::Environment`] | 111 | 53 (write error) / 71 |
| [`Fault::Transient`] | 111 | 71 |
| [`Fault::Internal`] | 111 | 81 (internal bug) |

This crate has no dependencies and no behaviour beyond that table's left
column.
*/
#![deny(missing_docs)]

use std::fmt;

/// Whose fault a failure is, and so whether retrying can help.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The message itself: retrying the same bytes fails the same way.
    Message,
    /// The configuration: a control file, a filter line, a template, a
    /// scanner definition. `file` and `line` say where when known (line
    /// 0 when the whole file is meant); fixing it and retrying helps.
    Config {
        /// The file at fault, as the administrator names it.
        file: String,
        /// Its line, 1-based; 0 for the whole file.
        line: usize,
    },
    /// The system qmvc runs on: a full disk, a permission, a missing
    /// directory, a program that cannot be started.
    Environment,
    /// Something that usually passes by itself: a scanner that timed out
    /// or is unreachable, an injector that failed.
    Transient,
    /// A bug in qmvc (a caught panic).
    Internal,
}

impl Fault {
    /// Whether a later retry of the same message can succeed: every
    /// fault but [`Fault::Message`].
    pub fn retry_can_help(&self) -> bool {
        !matches!(self, Fault::Message)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Message => f.write_str("the message"),
            Fault::Config { file, line: 0 } => {
                write!(f, "the configuration ({file})")
            }
            Fault::Config { file, line } => {
                write!(f, "the configuration ({file}:{line})")
            }
            Fault::Environment => f.write_str("the system"),
            Fault::Transient => f.write_str("a temporary failure"),
            Fault::Internal => f.write_str("an internal error"),
        }
    }
}

/// An error that can say whose fault it is.
pub trait Blame {
    /// Whose fault this error is.
    fn fault(&self) -> Fault;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_message_is_final() {
        assert!(!Fault::Message.retry_can_help());
        assert!(Fault::Transient.retry_can_help());
        let config = Fault::Config { file: "control/filters".into(), line: 3 };
        assert_eq!(
            config.to_string(),
            "the configuration (control/filters:3)"
        );
    }
}
