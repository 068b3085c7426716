/*!
qmvc-release (SPEC 11, qmvc-release(8)): the messages kept in a layer's
`save/` ([`kept`]), and releasing one: handed to the injector with its
original envelope sender and recipient (or the addresses given), marked
with `X-Qmvc-Released` ([`mark`]) so that the same dot-qmail line lets
it through once, flagged released (moved to `cur/` with the `S` flag),
and logged in qmvc.log with the action `release`.

The order never sends a message twice: the copy is flagged released
first (a rename inside its Maildir, never replacing a file), then
handed to the injector; when the injector fails, the flag is taken
back, so that the release can be tried again. The mark's rule has one
owner, [`mark`], which qmvc's delivery uses to check it.

The envelope of a kept message is in its qmvc.rep document
(`analysis/ID.yaml`, written by the keep): `sender:` and `recipient:`
(several recipients joined by `,` in queue mode). A copy without a
readable document is refused: its envelope is unknown.
*/
#![deny(missing_docs)]

pub mod kept;
pub mod mark;

use std::ffi::CString;
use std::fmt;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use qmvc_fault::{Blame, Fault};
use qmvc_log::line::Record;
use qmvc_log::{Logs, Stamp};
use qmvc_message::Header;
use qmvc_notify::InjectError;

pub use kept::Kept;
pub use mark::{Key, KeyError};

/// How long the injector may take.
pub const INJECT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a release did not happen (or happened only in part).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The ID cannot be a kept message's name.
    BadId(String),
    /// No kept message has this ID in the layer.
    NotFound {
        /// The ID asked for.
        id: String,
        /// The layer's `save/`.
        save: PathBuf,
    },
    /// It was released before.
    AlreadyReleased {
        /// The ID.
        id: String,
        /// The released copy.
        path: PathBuf,
    },
    /// The copy or its qmvc.rep document is missing, unreadable or
    /// damaged.
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The envelope cannot go to the injector: a sender or recipient
    /// that is not one plain address, or no recipient.
    Envelope(Box<InjectError>),
    /// The release key cannot be used.
    Key(KeyError),
    /// Flagging the copy released failed: nothing was sent.
    Flag {
        /// The copy.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The injector failed: nothing was sent, and the copy is kept as it
    /// was (`unflagged` is the error of taking the flag back, if that
    /// failed too).
    Inject {
        /// What the injector did.
        error: Box<InjectError>,
        /// The copy, and why its flag could not be taken back.
        unflagged: Option<(PathBuf, io::Error)>,
    },
}

impl Error {
    /// Whether the release was refused for what was asked (exit 100):
    /// a bad or unknown ID, a copy released before, a damaged copy, an
    /// address that cannot be given to the injector. Anything else is
    /// temporary (exit 111).
    pub fn refused(&self) -> bool {
        matches!(
            self,
            Error::BadId(_)
                | Error::NotFound { .. }
                | Error::AlreadyReleased { .. }
                | Error::Damaged { .. }
                | Error::Envelope(_)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |s: &str| qmvc_log::fields::visible(s).into_owned();
        match self {
            Error::BadId(id) => write!(
                f,
                "{:?} is not the ID of a kept message; qmvc-release -l \
                 lists them",
                shown(id)
            ),
            Error::NotFound { id, save } => write!(
                f,
                "no kept message {} in {}; qmvc-release -l lists them (with \
                 -c or -u for another layer)",
                shown(id),
                save.display()
            ),
            Error::AlreadyReleased { id, path } => write!(
                f,
                "{} was released already ({}); it is not released twice",
                shown(id),
                path.display()
            ),
            Error::Damaged { path, why } => write!(
                f,
                "{}: {why}; the message cannot be released, look at the \
                 copy by hand",
                path.display()
            ),
            Error::Envelope(e) => write!(
                f,
                "{e}; give the recipients as arguments: qmvc-release ID \
                 ADDRESS..."
            ),
            Error::Key(e) => write!(f, "{e}"),
            Error::Flag { path, error } => write!(
                f,
                "cannot flag {} released: {error}; nothing was sent",
                path.display()
            ),
            Error::Inject { error, unflagged: None } => {
                write!(f, "{error}; nothing was sent, try again later")
            }
            Error::Inject { error, unflagged: Some((path, why)) } => write!(
                f,
                "{error}; nothing was sent, but {} stays flagged released \
                 ({why}): move it back to new/ by hand before trying again",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

impl Blame for Error {
    fn fault(&self) -> Fault {
        match self {
            Error::Key(e) => e.fault(),
            Error::Inject { error, .. } => error.fault(),
            Error::Flag { .. } => Fault::Environment,
            // A refusal: the request's, not the system's.
            _ => Fault::Message,
        }
    }
}

/// A release done.
#[derive(Debug)]
pub struct Released {
    /// The copy as it is now, in `cur/` with the `S` flag.
    pub path: PathBuf,
    /// The envelope sender it went out with.
    pub sender: String,
    /// The recipients it went to.
    pub recipients: Vec<String>,
    /// A warning: the qmvc.log line could not be written.
    pub log_error: Option<qmvc_log::Error>,
    /// A warning: its syslog copy (the control file `syslog`) could not
    /// be sent.
    pub syslog_error: Option<qmvc_log::SyslogError>,
}

/// What a release needs besides the ID.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The state directory of the layer (`Layers::state_dir`): its
    /// `save/` holds the copies, its `control/releasekey` signs the
    /// mark ([`mark::key_layer`]).
    pub state: &'a Path,
    /// The system layer: its `control/releasekey` is the installer's
    /// to make, never qmvc-release's ([`Key::read_or_make`]).
    pub system: &'a Path,
    /// The injector (the control file `injector`).
    pub injector: &'a Path,
    /// Where the qmvc.log line also goes (the control file `syslog`).
    pub syslog: Option<qmvc_log::syslog::Facility>,
    /// The recipients to use instead of the original one; empty: the
    /// original.
    pub addresses: &'a [String],
}

/// Releases the kept message `id` as [`crate`] describes.
pub fn release(request: &Request<'_>, id: &str) -> Result<Released, Error> {
    if !kept::valid_id(id) {
        return Err(Error::BadId(id.to_owned()));
    }
    let save = request.state.join("save");
    let Some(kept) = kept::find(request.state, id) else {
        return Err(Error::NotFound { id: id.to_owned(), save });
    };
    if kept.released {
        return Err(Error::AlreadyReleased { id: kept.id, path: kept.path });
    }
    let report = kept.report().ok_or_else(|| Error::Damaged {
        path: kept.analysis(),
        why: "its qmvc.rep document is missing or damaged, so its envelope \
              is unknown"
            .into(),
    })?;
    let message = read_copy(&kept.path)?;
    let recipients: Vec<String> = if request.addresses.is_empty() {
        report
            .recipient
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        request.addresses.to_vec()
    };
    let sender = report.sender.clone();
    check_envelope(&sender, &recipients)
        .map_err(|e| Error::Envelope(Box::new(e)))?;
    // The key of the layer that keeps the copies (mark::key_layer): the
    // state layer; a user's is made on their first release.
    let key = Key::read_or_make(request.state, request.system)
        .map_err(Error::Key)?;
    let (header, _) = Header::parse(&message);
    let field =
        key.field(&kept.id, &mark::message_id(&header), mark::body(&message));
    let marked = prepend(&field, &message);
    // Flagged first: a failure after the injector took the message can
    // then never lead to a second release.
    let cur = kept.maildir.join("cur");
    let name = kept
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let flagged = cur.join(kept::released_name(&name));
    rename_noreplace(&kept.path, &flagged)
        .map_err(|error| Error::Flag { path: kept.path.clone(), error })?;
    let targets: Vec<&str> = recipients.iter().map(String::as_str).collect();
    if let Err(error) = qmvc_notify::inject_as(
        request.injector,
        &sender,
        &targets,
        &marked,
        INJECT_TIMEOUT,
    ) {
        let unflagged = rename_noreplace(&flagged, &kept.path)
            .err()
            .map(|why| (flagged.clone(), why));
        return Err(Error::Inject { error: Box::new(error), unflagged });
    }
    let stamp = Stamp::now();
    let joined = recipients.join(",");
    let size = marked.len() as u64;
    let record = Record {
        result: &report.result,
        action: "release",
        sender: &sender,
        recipient: &joined,
        message_id: &report.message_id,
        subject: &report.subject,
        size,
        spam: "-",
        client_ip: "-",
        ..Record::new(&stamp)
    };
    let (written, syslog_error) =
        Logs::of_layer(request.state).log_with_copy(&record, request.syslog);
    let log_error = written.err();
    Ok(Released { path: flagged, sender, recipients, log_error, syslog_error })
}

/// Checks the envelope as the injector would, without running it
/// ([`qmvc_notify::check_envelope`]).
fn check_envelope(
    sender: &str,
    recipients: &[String],
) -> Result<(), InjectError> {
    let recipients: Vec<&str> =
        recipients.iter().map(String::as_str).collect();
    qmvc_notify::check_envelope(sender, &recipients)
}

/// The kept copy's bytes, read without following a link.
fn read_copy(path: &Path) -> Result<Vec<u8>, Error> {
    let damaged = |e: io::Error| Error::Damaged {
        path: path.to_path_buf(),
        why: format!("cannot read it: {e}"),
    };
    let mut file = kept::open_regular(path).map_err(damaged)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(damaged)?;
    if bytes.is_empty() {
        return Err(Error::Damaged {
            path: path.to_path_buf(),
            why: "it is empty".into(),
        });
    }
    Ok(bytes)
}

/// `message` with the header field `field` in front, ending its line as
/// the message's first line ends (CRLF or LF); the message itself is
/// not changed by a byte.
pub fn prepend(field: &str, message: &[u8]) -> Vec<u8> {
    let first = message.split(|&b| b == b'\n').next().unwrap_or_default();
    let crlf = first.ends_with(b"\r") && first.len() < message.len();
    let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::with_capacity(field.len() + 2 + message.len());
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(end);
    out.extend_from_slice(message);
    out
}

/// Renames `from` to `to` (in the same file system) unless `to` exists:
/// `renameat2(RENAME_NOREPLACE)`, which never follows a link at either
/// name.
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
    };
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: both are NUL-terminated strings that live across the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_goes_in_front_with_the_message_line_end() {
        assert_eq!(prepend("X: 1", b"A: b\n\nc\n"), b"X: 1\nA: b\n\nc\n");
        assert_eq!(
            prepend("X: 1", b"A: b\r\n\r\nc\r\n"),
            b"X: 1\r\nA: b\r\n\r\nc\r\n"
        );
    }

    #[test]
    fn a_rename_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        assert!(rename_noreplace(&a, &b).is_err());
        assert_eq!(std::fs::read(&b).unwrap(), b"b");
        std::fs::remove_file(&b).unwrap();
        rename_noreplace(&a, &b).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"a");
    }
}
