/*!
Files in and out: the `html/` directory of a layer, pages and databases
replaced atomically (a temporary file in the same directory, renamed
over the old one, so a web server never serves half a page), and logs
opened for reading whether plain or gzip-compressed (archived by
`qmvcmonth -a`).
*/

use std::fs::{self, DirBuilder, File, Permissions};
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::cli::Failure;

/// `LAYER/html`, created (mode 0755) when missing, the layer too. A
/// symbolic link (or anything but a directory) at `html/` is refused,
/// not followed: a report program runs as root, and a link planted there
/// would have it write its pages wherever the link points.
pub fn html_dir(layer: &Path) -> Result<PathBuf, Failure> {
    if !layer.is_dir() {
        DirBuilder::new().recursive(true).mode(0o755).create(layer).map_err(
            |e| {
                Failure::failed(format!(
                    "cannot create {}: {e}; check that its parent exists and \
                     is writable",
                    layer.display()
                ))
            },
        )?;
    }
    let dir = layer.join("html");
    own_dir(&dir, 0o755)?;
    Ok(dir)
}

/// Creates the directory `dir` with `mode` when missing, never through
/// a symbolic link: `mkdir` does not follow one, and what is there is
/// then opened with `O_DIRECTORY | O_NOFOLLOW`, so a link (or a file) at
/// `dir` is refused with what to do.
pub fn own_dir(dir: &Path, mode: u32) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    match DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed("create", dir, &e)),
    }
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir);
    let link =
        || fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    match opened {
        Ok(_) => Ok(()),
        // With O_DIRECTORY, Linux says ENOTDIR for a link, others ELOOP.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ELOOP | libc::ENOTDIR)
            ) && link() =>
        {
            Err(Failure::failed(format!(
                "{}: a symbolic link, refused (it is not followed, so that \
                 nothing is written where it points); remove it, or name \
                 the real directory instead",
                dir.display()
            )))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            Err(Failure::failed(format!(
                "{}: not a directory; move it away and run again",
                dir.display()
            )))
        }
        Err(e) => Err(failed("open", dir, &e)),
    }
}

/// A file being written under a temporary name in its final directory;
/// [`Replacement::commit`] renames it over `path`, dropping it without
/// commit removes it.
pub struct Replacement {
    path: PathBuf,
    file: BufWriter<tempfile::NamedTempFile>,
}

impl Replacement {
    /// Starts replacing `path` (mode 0644 once committed).
    pub fn new(path: &Path) -> Result<Replacement, Failure> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(dir)
            .map_err(|e| failed("create a file in", dir, &e))?;
        Ok(Replacement {
            path: path.to_path_buf(),
            file: BufWriter::with_capacity(256 << 10, temp),
        })
    }

    /// Where it goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.file.write_all(bytes).map_err(|e| failed("write", &self.path, &e))
    }

    /// Appends all of `reader` (a table written aside, say).
    pub fn copy_from(
        &mut self,
        reader: &mut impl Read,
    ) -> Result<(), Failure> {
        io::copy(reader, &mut self.file)
            .map(|_| ())
            .map_err(|e| failed("write", &self.path, &e))
    }

    /// Flushes, sets mode 0644 and renames the file into place.
    pub fn commit(self) -> Result<(), Failure> {
        let path = self.path;
        let temp = self
            .file
            .into_inner()
            .map_err(|e| failed("write", &path, e.error()))?;
        temp.as_file()
            .set_permissions(Permissions::from_mode(0o644))
            .map_err(|e| failed("set the mode of", &path, &e))?;
        temp.persist(&path)
            .map_err(|e| failed("rename a new file to", &path, &e.error))?;
        Ok(())
    }
}

/// Replaces `path` with `bytes` atomically.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut out = Replacement::new(path)?;
    out.write(bytes)?;
    out.commit()
}

/// Opens a log for reading, plain or gzip; a missing file is `Ok(None)`
/// (the reader is `qmvc_log::read`'s, shared by every report program).
pub fn open_log(path: &Path) -> Result<Option<Box<dyn BufRead>>, Failure> {
    Ok(qmvc_log::read::open(path)?)
}

/// Reads the next line of a log into `line` (cleared first); `Ok(false)`
/// at the end (see `qmvc_log::read::next_line`).
pub fn next_line(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    path: &Path,
) -> Result<bool, Failure> {
    Ok(qmvc_log::read::next_line(reader, buf, path)?)
}

/// Opens (creating with `mode`) the lock file `path` and waits for an
/// exclusive `flock(2)` on it, at most [`qmvc_log::lock::WAIT`]; the lock
/// ends when the file is closed. A symbolic link at `path` is refused,
/// not followed (a planted link would make root create or truncate any
/// file).
pub fn lock_file(path: &Path, mode: u32) -> Result<File, Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = fs::OpenOptions::new();
    options.create(true).truncate(false).write(true).mode(mode);
    qmvc_log::lock::open_exclusive(&mut options, path)
        .map_err(|(step, e)| failed(step, path, &e))
}

/// Whether a regular file exists at `path`.
pub fn exists(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_file()).unwrap_or(false)
}

/// `cannot VERB PATH: ERROR`, and what to do when the error says: a
/// failure of the environment.
pub fn failed(verb: &str, path: &Path, error: &io::Error) -> Failure {
    let advice = match error.kind() {
        io::ErrorKind::PermissionDenied => {
            "; check the owner and mode of the file and its directory"
        }
        io::ErrorKind::StorageFull => "; free some space on that disk",
        io::ErrorKind::ReadOnlyFilesystem => {
            "; the file system is mounted read-only"
        }
        io::ErrorKind::NotFound => "; check the path",
        _ => "",
    };
    Failure::failed(format!(
        "cannot {verb} {}: {error}{advice}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_and_read_back_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("p");
        replace(&plain, b"a\nb").unwrap();
        let mode = fs::metadata(&plain).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        let gz = dir.path().join("g.gz");
        let mut enc = flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        );
        enc.write_all(b"a\nb").unwrap();
        let mut bytes = enc.finish().unwrap();
        // A second member, as appending to an archive would make.
        let mut enc = flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        );
        enc.write_all(b"\nc\n").unwrap();
        bytes.extend(enc.finish().unwrap());
        fs::write(&gz, bytes).unwrap();
        for (path, want) in
            [(&plain, vec!["a", "b"]), (&gz, vec!["a", "b", "c"])]
        {
            let mut r = open_log(path).unwrap().unwrap();
            let mut buf = Vec::new();
            let mut lines = Vec::new();
            while next_line(&mut *r, &mut buf, path).unwrap() {
                lines.push(String::from_utf8(buf.clone()).unwrap());
            }
            assert_eq!(lines, want);
        }
        assert!(open_log(&dir.path().join("none")).unwrap().is_none());
        assert!(fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp-")));
    }
}
