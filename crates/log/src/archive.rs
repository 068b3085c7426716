/*!
`qmvcmonth -a`: archiving a layer's logs without losing a record.

For each of `log/qmvc.log`, `log/qmvc.rep` and `log/qmvc.error` that is
not empty, the log is opened, locked exclusively (the `flock(2)` qmvc
takes for every record), renamed to `log/NAME.archiving.PID` and
unlocked. qmvc checks after taking the lock that the name still means the
file it opened and opens the name anew otherwise, so no record is written
into the renamed file after the unlock, and a record written meanwhile
starts a fresh log. The renamed file is then compressed into
`log/archive/NAME-YYYY-MM-DD.gz` (or `.1.gz`, `.2.gz`, ... when that
name is taken), written under a temporary name, synced and renamed into
place; only then is the renamed log removed.

A `NAME.archiving.*` file left by a run that was killed is archived by
the next run before the live log, never removed unarchived. Runs in the
same layer take turns on `log/archive/.lock`, so one never archives what
another is still compressing.

Like the writer ([`crate::write`]), archiving never follows a symbolic
link at a log's name or at the lock: it refuses it with
[`Error::SymbolicLink`], and the other logs are still archived.
*/

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, BufWriter};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::time::Day;
use crate::write::still_named;
use crate::{Error, LOGS};

/// What follows a log's name while it is set aside: `NAME.archiving.PID`.
const ASIDE: &str = ".archiving.";

/// How often the log is opened again when it is replaced between our
/// open and our lock (by hand; qmvc never renames a log).
const TRIES: usize = 8;

/// The most numbered archives of one log on one day.
const MAX_NUMBER: u32 = 10_000;

/// Archives the logs of `layer` under the date `day`; returns the
/// archives written. A layer without `log/` has nothing to archive.
pub fn archive_logs(layer: &Path, day: Day) -> Result<Vec<PathBuf>, Error> {
    let dir = layer.join("log");
    // Never through a symbolic link at log/ or log/archive/: run by root
    // (qmvcmonth -a), a planted link would have it write elsewhere.
    let no_link = |path: &Path| match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(Error::SymbolicLink { path: path.to_path_buf() })
        }
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(_) => Err(Error::NotADirectory { path: path.to_path_buf() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("read", path, e)),
    };
    if !no_link(&dir)? {
        return Ok(Vec::new());
    }
    let archive = dir.join("archive");
    match DirBuilder::new().mode(0o700).create(&archive) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create", &archive, e)),
    }
    no_link(&archive)?;
    let _turn = take_turn(&archive)?;
    let mut written = Vec::new();
    let mut errors = Vec::new();
    // One log failing (a full disk, say) does not keep the others from
    // being archived; what failed stays in place for the next run.
    for name in LOGS {
        match archive_one(&dir, &archive, name, day) {
            Ok(mut paths) => written.append(&mut paths),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(written),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Several(errors)),
    }
}

/// The name of the `n`th archive of log `name` on `day`:
/// `NAME-DAY.gz`, then `NAME-DAY.1.gz`, ...
pub fn archive_name(name: &str, day: Day, n: u32) -> String {
    if n == 0 {
        format!("{name}-{day}.gz")
    } else {
        format!("{name}-{day}.{n}.gz")
    }
}

/// Waits for other archiving runs in this layer; the turn ends when the
/// returned file is closed.
fn take_turn(archive: &Path) -> Result<File, Error> {
    let path = archive.join(".lock");
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true).mode(0o600);
    crate::lock::open_exclusive(&mut options, &path)
        .map_err(|(step, e)| Error::io(step, &path, e))
}

/// Opens `path` for reading, refusing a symbolic link.
fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)
}

/// Archives what an earlier run left set aside, then the live log.
fn archive_one(
    dir: &Path,
    archive: &Path,
    name: &str,
    day: Day,
) -> Result<Vec<PathBuf>, Error> {
    let mut written = Vec::new();
    for aside in leftovers(dir, name)? {
        written.extend(compress(&aside, archive, name, day)?);
    }
    if let Some(aside) = set_aside(dir, name)? {
        written.extend(compress(&aside, archive, name, day)?);
    }
    Ok(written)
}

/// The regular files `NAME.archiving.*` in `dir`, by name.
fn leftovers(dir: &Path, name: &str) -> Result<Vec<PathBuf>, Error> {
    let start = format!("{name}{ASIDE}");
    let mut found = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", dir, e))?;
        let file_name = entry.file_name();
        let is_leftover =
            file_name.to_str().is_some_and(|n| n.starts_with(&start));
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if is_leftover && regular {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Renames the log `name` to a free `NAME.archiving.PID` name while
/// holding its lock; `None` when it is missing or empty.
fn set_aside(dir: &Path, name: &str) -> Result<Option<PathBuf>, Error> {
    let path = dir.join(name);
    for _ in 0..TRIES {
        let file = match open_no_follow(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open", &path, e)),
        };
        crate::lock::exclusive(&file, crate::lock::WAIT)
            .map_err(|e| Error::io("lock", &path, e))?;
        if !still_named(&file, &path) {
            continue;
        }
        let meta = file.metadata().map_err(|e| Error::io("read", &path, e))?;
        if !meta.is_file() || meta.len() == 0 {
            return Ok(None);
        }
        let aside = free_aside_name(dir, name);
        fs::rename(&path, &aside)
            .map_err(|e| Error::io("rename", &path, e))?;
        // Closing releases the lock: waiting writers find the name gone
        // and open a fresh log.
        let _ = file.unlock();
        return Ok(Some(aside));
    }
    Err(Error::Replaced { path, tries: TRIES })
}

/// `NAME.archiving.PID`, or `NAME.archiving.PID.N` if a leftover that
/// could not be archived holds that name (a rename would replace it).
fn free_aside_name(dir: &Path, name: &str) -> PathBuf {
    let base = format!("{name}{ASIDE}{}", std::process::id());
    let mut candidate = dir.join(&base);
    let mut n = 0u32;
    while fs::symlink_metadata(&candidate).is_ok() {
        n += 1;
        candidate = dir.join(format!("{base}.{n}"));
    }
    candidate
}

/// Compresses the set-aside log `aside` into a new archive and removes
/// it; `None` (and the empty file removed) when it holds nothing.
fn compress(
    aside: &Path,
    archive: &Path,
    name: &str,
    day: Day,
) -> Result<Option<PathBuf>, Error> {
    let mut input =
        open_no_follow(aside).map_err(|e| Error::io("open", aside, e))?;
    let size =
        input.metadata().map_err(|e| Error::io("read", aside, e))?.len();
    if size == 0 {
        fs::remove_file(aside).map_err(|e| Error::io("remove", aside, e))?;
        return Ok(None);
    }
    let temp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(archive)
        .map_err(|e| Error::io("create a file in", archive, e))?;
    let mut encoder = GzEncoder::new(
        BufWriter::with_capacity(256 << 10, temp),
        Compression::default(),
    );
    io::copy(&mut input, &mut encoder)
        .map_err(|e| Error::io("compress", aside, e))?;
    let temp = encoder
        .finish()
        .map_err(|e| Error::io("compress", aside, e))?
        .into_inner()
        .map_err(|e| Error::io("write into", archive, e.into_error()))?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(0o600))
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io("write into", archive, e))?;
    let target = persist(temp, archive, name, day)?;
    // The new name must be on disk before the only other copy goes.
    File::open(archive)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Error::io("sync", archive, e))?;
    fs::remove_file(aside).map_err(|e| Error::io("remove", aside, e))?;
    Ok(Some(target))
}

/// Renames `temp` to the first free archive name, never replacing one.
fn persist(
    mut temp: tempfile::NamedTempFile,
    archive: &Path,
    name: &str,
    day: Day,
) -> Result<PathBuf, Error> {
    for n in 0..MAX_NUMBER {
        let target = archive.join(archive_name(name, day, n));
        if fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        match temp.persist_noclobber(&target) {
            Ok(_) => return Ok(target),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                temp = e.file;
            }
            Err(e) => {
                return Err(Error::io("rename a file to", &target, e.error))
            }
        }
    }
    Err(Error::ArchivesFull {
        dir: archive.to_path_buf(),
        name: name.to_string(),
        day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;

    fn day() -> Day {
        crate::time::parse_day("2026-11-22").unwrap()
    }

    fn gunzip(path: &Path) -> String {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn names() {
        assert_eq!(
            archive_name("qmvc.log", day(), 0),
            "qmvc.log-2026-11-22.gz"
        );
        assert_eq!(
            archive_name("qmvc.rep", day(), 2),
            "qmvc.rep-2026-11-22.2.gz"
        );
    }

    #[test]
    fn logs_move_into_numbered_archives() {
        let layer = tempfile::tempdir().unwrap();
        let log = layer.path().join("log");
        fs::create_dir(&log).unwrap();
        assert!(archive_logs(layer.path(), day()).unwrap().is_empty());
        fs::write(log.join("qmvc.log"), "one\n").unwrap();
        fs::write(log.join("qmvc.error"), "").unwrap();
        fs::write(log.join("qmvc.rep.archiving.1"), "left\n").unwrap();
        let first = archive_logs(layer.path(), day()).unwrap();
        assert_eq!(first.len(), 2, "{first:?}");
        assert!(!log.join("qmvc.log").exists());
        assert!(!log.join("qmvc.rep.archiving.1").exists());
        assert!(log.join("qmvc.error").exists(), "an empty log stays");
        let archive = log.join("archive");
        assert_eq!(gunzip(&archive.join("qmvc.log-2026-11-22.gz")), "one\n");
        assert_eq!(gunzip(&archive.join("qmvc.rep-2026-11-22.gz")), "left\n");
        fs::write(log.join("qmvc.log"), "two\n").unwrap();
        archive_logs(layer.path(), day()).unwrap();
        assert_eq!(gunzip(&archive.join("qmvc.log-2026-11-22.1.gz")), "two\n");
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&archive), 0o700);
        assert_eq!(mode(&archive.join("qmvc.log-2026-11-22.1.gz")), 0o600);
        let names: Vec<String> = fs::read_dir(&archive)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with(".tmp-")), "{names:?}");
    }

    #[test]
    fn no_log_directory_is_nothing_to_do() {
        let layer = tempfile::tempdir().unwrap();
        assert!(archive_logs(layer.path(), day()).unwrap().is_empty());
        assert!(!layer.path().join("log").exists());
    }

    #[test]
    fn a_link_at_a_log_is_refused_and_the_others_archived() {
        let layer = tempfile::tempdir().unwrap();
        let log = layer.path().join("log");
        fs::create_dir(&log).unwrap();
        let target = layer.path().join("elsewhere");
        fs::write(&target, "keep\n").unwrap();
        std::os::unix::fs::symlink(&target, log.join("qmvc.rep")).unwrap();
        fs::write(log.join("qmvc.log"), "one\n").unwrap();
        let e = archive_logs(layer.path(), day()).unwrap_err();
        assert!(matches!(e, Error::SymbolicLink { .. }), "{e:?}");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!log.join("qmvc.log").exists(), "the others go on");
        assert_eq!(fs::read(&target).unwrap(), b"keep\n");
    }
}
