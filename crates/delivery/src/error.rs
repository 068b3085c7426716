/*!
Why a delivery could not be carried out: each failure with whose fault it
is, and text that says what to do.
*/

use std::fmt;
use std::io;

use qmvc_fault::{Blame, Fault};

/// A delivery that failed; the message must be tried again later.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The engine could not decide (a command that cannot run, a scanner
    /// down under policy `tempfail`).
    Evaluation(qmvc_engine::Error),
    /// `keep` could not store the message in `save/CLASS/`.
    Keep {
        /// `virus`, `error` or `policy`.
        class: &'static str,
        /// The system's error.
        source: io::Error,
    },
    /// `inspect` could not store the analysis in `inspect/`.
    Inspect(io::Error),
    /// A notification's template could not be read or is missing.
    Template {
        /// The template file, as the administrator names it.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A notification's template does not render.
    Render {
        /// The template's name (`notifysender`, ...).
        name: &'static str,
        /// What is wrong, with its line.
        reason: Box<qmvc_notify::ComposeError>,
    },
    /// The injector failed for a reaction.
    Inject {
        /// The reaction (`informguard`, ...).
        reaction: &'static str,
        /// Its recipient.
        to: String,
        /// What went wrong (boxed: an error stays small on the way
        /// back).
        reason: Box<qmvc_notify::InjectError>,
    },
    /// qmvc.rep could not be written for a message that stops (the
    /// delivery is deferred before any reaction: the report is the
    /// record of what was done).
    Report(qmvc_log::Error),
    /// The qmvc.log line of a trashed message could not be written (it
    /// is the only trace of the message).
    Log(qmvc_log::Error),
    /// The delivery's journal (`tmp/due/`) could not be opened or read.
    Journal(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Evaluation(e) => write!(f, "{e}"),
            Error::Keep { class, source } => write!(
                f,
                "cannot keep the message in save/{class}: {source}{}",
                hint(source)
            ),
            Error::Inspect(e) => write!(
                f,
                "cannot keep the analysis in inspect/: {e}{}",
                hint(e)
            ),
            Error::Template { file, reason } if reason.is_empty() => {
                write!(f, "no template {file} (nor in English)")
            }
            Error::Template { file, reason } => write!(f, "{file}: {reason}"),
            Error::Render { name, reason } => write!(
                f,
                "template {name}: {reason} (qmvc -L checks templates)"
            ),
            Error::Inject { reaction, to, reason } => {
                write!(f, "{reaction} to {to}: {reason}")
            }
            Error::Report(e) => write!(f, "{e}"),
            Error::Log(e) => {
                write!(f, "{e} (a trashed message needs its qmvc.log line)")
            }
            Error::Journal(e) => write!(
                f,
                "cannot use the delivery journal in tmp/due/: {e}{}",
                hint(e)
            ),
        }
    }
}

/// What to do about a system error, when it is plain.
fn hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            " (check the layer's owner and mode)"
        }
        io::ErrorKind::StorageFull => " (the disk is full)",
        _ => "",
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Evaluation(e) => Some(e),
            Error::Keep { source, .. }
            | Error::Inspect(source)
            | Error::Journal(source) => Some(source),
            Error::Report(e) | Error::Log(e) => Some(e),
            _ => None,
        }
    }
}

impl Blame for Error {
    fn fault(&self) -> Fault {
        match self {
            Error::Evaluation(e) => e.fault(),
            Error::Keep { .. } | Error::Inspect(_) | Error::Journal(_) => {
                Fault::Environment
            }
            Error::Template { file, .. } => {
                Fault::Config { file: file.clone(), line: 0 }
            }
            Error::Render { reason, name }
                if matches!(
                    **reason,
                    qmvc_notify::ComposeError::Template(_)
                ) =>
            {
                Fault::Config { file: format!("tpl/*/{name}.hbs"), line: 0 }
            }
            Error::Render { reason, .. } => reason.fault(),
            Error::Inject { reason, .. } => reason.fault(),
            Error::Report(e) | Error::Log(e) => e.fault(),
        }
    }
}

impl From<qmvc_engine::Error> for Error {
    fn from(e: qmvc_engine::Error) -> Error {
        Error::Evaluation(e)
    }
}
