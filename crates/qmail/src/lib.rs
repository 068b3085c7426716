/*!
qmail's admin files, read as qmail reads them: typed, bounded parsers
that never panic, and one reader that knows where a file ends.

This crate owns
- reading an admin file ([`read`]): a missing file is `Ok(None)`, any
  other failure an [`Error`] naming the file; at most [`MAX_FILE`]
  bytes; bytes that are not UTF-8 become U+FFFD,
- the control-file line rules of qmail's `control_readfile`
  ([`control::lines`]) and the files built on them: `control/me`,
  `control/locals`, `control/rcpthosts` ([`control`]),
- `control/virtualdomains` ([`virtualdomains`]), `users/assign` and the
  way qmail-lspawn picks an entry ([`assign`]), the passwd fallback
  ([`passwd`]), and which senders `control/badmailfrom` refuses
  ([`badmailfrom`]).

It does not write any of these files (blockvirussender does, for
badmailfrom) nor know about qmvc's own control files (qmvc-profile).
Every name it returns comes from an admin file and is data: callers
escape it for HTML and never put it into a shell.
*/
#![deny(missing_docs)]

pub mod assign;
pub mod badmailfrom;
pub mod control;
pub mod passwd;
pub mod virtualdomains;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most bytes read of one admin file (a users/assign of 100,000
/// accounts is some 8 MiB); the rest is ignored.
pub const MAX_FILE: u64 = 64 << 20;

/// The most entries any parser here returns; the rest are ignored.
pub const MAX_ENTRIES: usize = 1_000_000;

/// An admin file that exists but cannot be read: the environment's
/// fault (permissions, a disk error).
#[derive(Debug)]
pub struct Error {
    /// The file.
    pub path: PathBuf,
    /// Why it cannot be read.
    pub error: io::Error,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read {}: {}; check that it is readable by this user",
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl qmvc_fault::Blame for Error {
    /// The environment's: the file exists but cannot be read.
    fn fault(&self) -> qmvc_fault::Fault {
        qmvc_fault::Fault::Environment
    }
}

/// The text of the admin file `path`, `None` when it does not exist; at
/// most [`MAX_FILE`] bytes, lossily UTF-8.
pub fn read(path: &Path) -> Result<Option<String>, Error> {
    let error = |error| Error { path: path.to_path_buf(), error };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut bytes).map_err(error)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_none_and_bytes_are_lossy() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("none")).unwrap().is_none());
        let path = dir.path().join("me");
        std::fs::write(&path, b"a\xffb\n").unwrap();
        assert_eq!(read(&path).unwrap().unwrap(), "a\u{fffd}b\n");
        let err = read(dir.path()).unwrap_err();
        assert!(err.to_string().starts_with("cannot read "), "{err}");
    }
}
