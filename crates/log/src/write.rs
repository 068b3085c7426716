/*!
The one writer of the logs of a layer.

Every record is one buffer appended to a file opened with `O_APPEND`
(and `O_NOFOLLOW`: a symbolic link at a log's name is refused) while
holding an exclusive `flock(2)`, so any number of concurrent qmvc
processes never interleave or lose a record. A record that cannot be
written whole (a full disk, the file size limit) is taken back: the
file is cut to its length before, under the same lock.

`qmvcmonth -a` ([`crate::archive`]) archives a log by renaming it while
it holds the lock; a writer that opened the old file before the rename
sees, once it has the lock, that the name now means another file (or
none), and opens the name again, so no record lands in a log already
archived.
*/

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::Entry;
use crate::line::Record;
use crate::rep::Report;
use crate::{Error, ERROR, LOG, REP};

/// Why the syslog copy of a qmvc.log line was not sent; its message
/// says what to do.
#[derive(Debug)]
pub struct SyslogError(pub std::io::Error);

impl std::fmt::Display for SyslogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "syslog: cannot send the qmvc.log line to {} ({}); it is in \
             qmvc.log only: start the syslog daemon, or empty the control \
             file syslog",
            crate::syslog::SOCKET,
            self.0
        )
    }
}

/// How often a record follows a log that is being archived before the
/// writer gives up; archiving renames a log once a day, so two tries
/// suffice.
const REOPEN_TRIES: usize = 8;

/// The logs of one layer: `LAYER/log/`.
#[derive(Clone, Debug)]
pub struct Logs {
    dir: PathBuf,
}

impl Logs {
    /// The logs of the layer `layer` (its `log/` is made on the first
    /// record).
    pub fn of_layer(layer: &Path) -> Logs {
        Logs { dir: layer.join("log") }
    }

    /// `LAYER/log/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `record` to qmvc.log.
    pub fn log(&self, record: &Record<'_>) -> Result<PathBuf, Error> {
        self.append(LOG, record.to_line().as_bytes())
    }

    /// Appends `record` to qmvc.log and, when `syslog` names a facility
    /// (the control file `syslog`), sends the same line to `/dev/log`:
    /// the one way every program that logs (qmvc, qmvc-queue,
    /// qmvc-release) writes a qmvc.log line. The copy is sent even when
    /// the append failed (it may be the only trace then) and never
    /// waits; the second value is why it could not be sent, which the
    /// caller only warns about: syslog is a copy for central log hosts,
    /// not the log.
    pub fn log_with_copy(
        &self,
        record: &Record<'_>,
        syslog: Option<crate::syslog::Facility>,
    ) -> (Result<PathBuf, Error>, Option<SyslogError>) {
        let line = record.to_line();
        let written = self.append(LOG, line.as_bytes());
        let copy = syslog.and_then(|facility| {
            crate::syslog::send(facility, &line).err().map(SyslogError)
        });
        (written, copy)
    }

    /// Appends `report` to qmvc.rep.
    pub fn report(&self, report: &Report) -> Result<PathBuf, Error> {
        self.append(REP, report.document().as_bytes())
    }

    /// Appends `entry` to qmvc.error.
    pub fn error(&self, entry: &Entry<'_>) -> Result<PathBuf, Error> {
        self.append(ERROR, entry.to_line().as_bytes())
    }

    /// Appends `record` to `LAYER/log/NAME` as one locked write; returns
    /// the path written.
    fn append(&self, name: &str, record: &[u8]) -> Result<PathBuf, Error> {
        ensure_dir(&self.dir)?;
        let path = self.dir.join(name);
        for _ in 0..REOPEN_TRIES {
            let mut options = OpenOptions::new();
            options.append(true).create(true).mode(0o600);
            let mut file: File =
                crate::lock::open_exclusive(&mut options, &path)
                    .map_err(|(step, e)| Error::io(step, &path, e))?;
            if !still_named(&file, &path) {
                let _ = file.unlock();
                continue;
            }
            let written = write_whole(&mut file, record);
            let _ = file.unlock();
            return match written {
                Ok(()) => Ok(path),
                Err(e) => Err(Error::io("write", &path, e)),
            };
        }
        Err(Error::Replaced { path, tries: REOPEN_TRIES })
    }
}

/// Appends `record` to `file` (open with `O_APPEND`, its lock held) whole
/// or not at all: a write that fails part-way (a full disk, the file
/// size limit) cuts the file back to its length before, so that no
/// partial line or document is left for the next record to run into.
fn write_whole(file: &mut File, record: &[u8]) -> std::io::Result<()> {
    let before = file.metadata()?.len();
    let written = file.write_all(record);
    if written.is_err() {
        // Shrinking needs no room; if even that fails, the error stands.
        let _ = file.set_len(before);
    }
    written
}

/// Creates `dir` (and parents) with mode 0700 if it is missing.
pub fn ensure_dir(dir: &Path) -> Result<(), Error> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("create", dir, e))
}

/// Whether `path` itself (not what a link there points to) is the open
/// `file`.
pub(crate) fn still_named(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => {
            open.dev() == named.dev() && open.ino() == named.ino()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_renamed_away_is_not_written_to() {
        let layer = tempfile::tempdir().unwrap();
        let logs = Logs::of_layer(layer.path());
        let path = logs.append(LOG, b"one\n").unwrap();
        // What qmvcmonth -a does under the lock: the name moves away
        // while a writer may still hold the old file open.
        let held = File::open(&path).unwrap();
        assert!(still_named(&held, &path));
        let aside = layer.path().join("log/qmvc.log.archiving.1");
        fs::rename(&path, &aside).unwrap();
        assert!(!still_named(&held, &path));
        logs.append(LOG, b"two\n").unwrap();
        assert_eq!(fs::read(&aside).unwrap(), b"one\n");
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
    }

    #[test]
    fn a_link_at_a_log_is_refused() {
        let layer = tempfile::tempdir().unwrap();
        let logs = Logs::of_layer(layer.path());
        fs::create_dir(logs.dir()).unwrap();
        let target = layer.path().join("elsewhere");
        fs::write(&target, "keep\n").unwrap();
        std::os::unix::fs::symlink(&target, logs.dir().join(REP)).unwrap();
        let e = logs.append(REP, b"x\n").unwrap_err();
        assert!(matches!(e, Error::SymbolicLink { .. }), "{e:?}");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read(&target).unwrap(), b"keep\n");
    }
}
