/*!
The logs of a qmvc layer (qmvc-log(5)): `LAYER/log/qmvc.log`,
`LAYER/log/qmvc.rep` and `LAYER/log/qmvc.error`.

This crate is the one owner of those three formats. Whatever writes or
reads them goes through it, so a field, a key or a locking rule is
written down once:

- the records, each a type that is written and parsed by the same code:
  a [`line::Record`] is one line of qmvc.log (its eleven fields), a
  [`rep::Report`] one YAML document of qmvc.rep (with [`Match`], the one
  type for "what matched", which the engine fills in and the report
  programs read back), an [`error::Entry`] one line of qmvc.error;
- field normalisation ([`fields`]) and the time field ([`time`]);
- the one writer ([`write::Logs`]): each record one buffer appended with
  `O_APPEND` under an exclusive `flock(2)`, re-opened when the log was
  renamed away meanwhile;
- the one reader every report program uses ([`read`]): plain or gzip
  files, line by line or document by document, in memory that does not
  grow with the file, damaged records skipped and counted;
- archiving (`qmvcmonth -a`, [`archive`]): the lock and rename protocol
  the writer honours.

Neither the writer nor the archiver follows a symbolic link at a log's
name: a link there is refused with [`Error::SymbolicLink`] (qmvc runs as
the mail's recipient; a link could make it append to any file that user
may write).

It knows nothing of messages or profiles: the delivery library
(`qmvc-delivery`) fills the records in, the report crate reads them.
Every error is an [`Error`] that says whose fault it is
([`qmvc_fault::Blame`]).
*/
#![deny(missing_docs)]

pub mod archive;
pub mod error;
pub mod fields;
pub mod line;
pub mod lock;
pub mod read;
pub mod rep;
pub mod syslog;
pub mod time;
pub mod write;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use qmvc_fault::{Blame, Fault};

pub use rep::Match;
pub use time::{Day, Stamp};
pub use write::{Logs, SyslogError};

/// The names of the three logs in `LAYER/log/`.
pub const LOG: &str = "qmvc.log";
/// See [`LOG`].
pub const REP: &str = "qmvc.rep";
/// See [`LOG`].
pub const ERROR: &str = "qmvc.error";
/// The logs archived by `qmvcmonth -a`, in that order.
pub const LOGS: [&str; 3] = [LOG, REP, ERROR];

/// Why a log could not be written, read or archived.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A system call on `path` failed (a full disk, a permission).
    Io {
        /// What was being done: `open`, `write`, `lock`, ...
        doing: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// A symbolic link stands where a log (or its directory) must be.
    SymbolicLink {
        /// The link.
        path: PathBuf,
    },
    /// Something other than a directory stands where one must be.
    NotADirectory {
        /// That thing.
        path: PathBuf,
    },
    /// The log was replaced again and again while it was being locked.
    Replaced {
        /// The log.
        path: PathBuf,
        /// How often it was tried.
        tries: usize,
    },
    /// Every numbered archive name of a log for a day is taken.
    ArchivesFull {
        /// The archive directory.
        dir: PathBuf,
        /// The log.
        name: String,
        /// The day.
        day: Day,
    },
    /// Several logs failed to archive (each failure, in order).
    Several(Vec<Error>),
}

impl Error {
    /// An [`Error::Io`], or [`Error::SymbolicLink`] when the system says
    /// `ELOOP` (an `O_NOFOLLOW` open of a link).
    pub(crate) fn io(doing: &'static str, path: &Path, e: io::Error) -> Error {
        if e.raw_os_error() == Some(libc::ELOOP) {
            return Error::SymbolicLink { path: path.to_path_buf() };
        }
        Error::Io { doing, path: path.to_path_buf(), source: e }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { doing, path, source } => {
                write!(f, "cannot {doing} {}: {source}", path.display())?;
                if source.kind() == io::ErrorKind::PermissionDenied {
                    f.write_str(" (check its owner and mode)")?;
                }
                Ok(())
            }
            Error::SymbolicLink { path } => write!(
                f,
                "{} is a symbolic link; qmvc does not follow links for its \
                 logs: replace it with a regular file or directory",
                path.display()
            ),
            Error::NotADirectory { path } => write!(
                f,
                "{} is not a directory; move it away so that one can be \
                 made there",
                path.display()
            ),
            Error::Replaced { path, tries } => write!(
                f,
                "{} was replaced {tries} times while it was locked; stop \
                 whatever renames it and try again",
                path.display()
            ),
            Error::ArchivesFull { dir, name, day } => write!(
                f,
                "{}: every archive name of {name} for {day} is taken; \
                 move old archives away",
                dir.display()
            ),
            Error::Several(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Blame for Error {
    /// Every log failure is the system's: a disk, a permission, a file
    /// put where a log belongs. None is the message's.
    fn fault(&self) -> Fault {
        Fault::Environment
    }
}
