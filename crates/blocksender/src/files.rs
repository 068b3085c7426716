/*!
badmailfrom on disk: read as it is, replaced atomically (a temporary
file in `control/`, same mode and owner, synced, renamed), and the lock
in the system layer's `log/` that serialises runs.
*/

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use qmvc_report::cli::Failure;
use qmvc_report::output;

/// badmailfrom as it is, and its metadata (`None` when there is none).
pub(crate) struct Old {
    pub(crate) text: Vec<u8>,
    pub(crate) meta: Option<fs::Metadata>,
}

pub(crate) fn read_old(path: &Path) -> Result<Old, Failure> {
    match fs::read(path) {
        Ok(text) => {
            let meta = fs::metadata(path)
                .map_err(|e| output::failed("stat", path, &e))?;
            Ok(Old { text, meta: Some(meta) })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Ok(Old { text: Vec::new(), meta: None })
        }
        Err(e) => Err(output::failed("read", path, &e)),
    }
}

/// Replaces `path` (in `dir`) with `text` atomically: same mode as the
/// old file (0644 when new), its owner when running as root, synced
/// before the rename.
pub(crate) fn replace(
    dir: &Path,
    path: &Path,
    text: &[u8],
    old: Option<fs::Metadata>,
) -> Result<(), Failure> {
    let temp = tempfile::Builder::new()
        .prefix(".badmailfrom.")
        .tempfile_in(dir)
        .map_err(|e| output::failed("create a file in", dir, &e))?;
    let write = |e: io::Error| output::failed("write", path, &e);
    let mut file: &File = temp.as_file();
    file.write_all(text).map_err(write)?;
    if let Some(old) = &old {
        let mine = file.metadata().map_err(write)?;
        // A new file belongs to the effective user: 0 means root, who
        // must hand the file back to its owner; anyone else cannot.
        let moved = (mine.uid(), mine.gid()) != (old.uid(), old.gid());
        if mine.uid() == 0 && moved {
            std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
                .map_err(|e| output::failed("chown", path, &e))?;
        }
    }
    let mode = old.map(|m| m.mode() & 0o7777).unwrap_or(0o644);
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(|e| output::failed("set the mode of", path, &e))?;
    file.sync_all().map_err(write)?;
    temp.persist(path)
        .map_err(|e| output::failed("rename a new file to", path, &e.error))?;
    // The rename is durable once the directory is; a failure here leaves
    // the new file in place all the same.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Takes `SYSTEM/log/blockvirussender.lock`; held until the file closes.
pub(crate) fn lock(system: &Path) -> Result<File, Failure> {
    let log = system.join("log");
    // Not through a planted link at log/: root would create the lock
    // wherever it points.
    output::own_dir(&log, 0o700)?;
    output::lock_file(&log.join("blockvirussender.lock"), 0o600)
}
