/*!
The actions that write: `keep` into a Maildir under `save/`, and `inspect`
into `inspect/SENDER.UNIQUE/`. Files are written whole and synced before
they are put in place, so a crash never leaves a half message in `new/`.
*/

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use qmvc_profile::Condition;

use crate::stamp;

/// Creates `dir` (and parents) with mode 0700 if it is missing.
fn ensure_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// The `save/` folder for a kept message of class `condition`.
pub fn save_class(condition: Condition) -> &'static str {
    match condition {
        Condition::VirusMail => "virus",
        Condition::Errormail => "error",
        _ => "policy",
    }
}

/// Writes `bytes` to a new file `path` (mode 0600) and syncs it. A
/// write that fails (a full disk, a file size limit) removes what it
/// wrote at once: no partial file waits 30 hours for `-z`.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // O_EXCL: an existing name, a symbolic link included, is an error.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    written
}

/// A fresh name for a message to keep: `UNIQUE.HOST`, the Maildir
/// convention.
pub fn keep_name() -> String {
    format!("{}.{}", stamp::unique(), stamp::hostname())
}

/// Whether `name` (read back from a journal) can name a kept message:
/// one path component, not hidden, no `:` (the Maildir info separator).
pub fn is_keep_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', ':', '\0'])
}

/// The copy named `name` that an earlier try put in `new/` or that a
/// reader since moved to `cur/` (as `NAME` or `NAME:INFO`), if any.
fn already_kept(maildir: &Path, name: &str) -> io::Result<Option<PathBuf>> {
    let new = maildir.join("new").join(name);
    if fs::symlink_metadata(&new).is_ok() {
        return Ok(Some(new));
    }
    for entry in fs::read_dir(maildir.join("cur"))? {
        let entry = entry?;
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let base = file.split_once(':').map_or(&*file, |(base, _)| base);
        if base == name {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

/// Stores `message` in the Maildir `LAYER/save/CLASS/` as `name` (tmp,
/// then new), and `analysis` as `LAYER/save/CLASS/analysis/NAME.yaml`.
/// Returns the path of the message in `new/`.
///
/// `retry`: an earlier try was told to keep it as `name` and may have
/// been killed at any point. If its copy got to `new/` (or on to `cur/`),
/// that copy is the answer: a message is never kept twice. Otherwise
/// what it left (`tmp/NAME`, the analysis) is removed and the copy is
/// written again.
pub fn keep(
    layer: &Path,
    class: &str,
    name: &str,
    retry: bool,
    message: &[u8],
    analysis: &str,
) -> io::Result<PathBuf> {
    let maildir = layer.join("save").join(class);
    for sub in ["tmp", "new", "cur", "analysis"] {
        ensure_dir(&maildir.join(sub))?;
    }
    let tmp = maildir.join("tmp").join(name);
    let new = maildir.join("new").join(name);
    let analysis_path = maildir.join("analysis").join(format!("{name}.yaml"));
    if retry {
        if let Some(kept) = already_kept(&maildir, name)? {
            return Ok(kept);
        }
        // Unlinks names, never what a link there points to.
        for leftover in [&tmp, &analysis_path] {
            match fs::remove_file(leftover) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(e)
                }
                _ => {}
            }
        }
    }
    write_new(&tmp, message)?;
    if let Err(e) = write_new(&analysis_path, analysis.as_bytes()) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, &new) {
        let _ = fs::remove_file(&tmp);
        let _ = fs::remove_file(&analysis_path);
        return Err(e);
    }
    Ok(new)
}

/// The envelope sender made safe as a directory name: bytes other than
/// `A-Z a-z 0-9 . _ - + = @` become `_`, a leading `.` too, at most 64
/// bytes; an empty sender is `MAILER-DAEMON`.
pub fn safe_sender(sender: &str) -> String {
    let mut out: String = sender
        .bytes()
        .take(64)
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'.'
            | b'_'
            | b'-'
            | b'+'
            | b'='
            | b'@' => b as char,
            _ => '_',
        })
        .collect();
    if out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.is_empty() {
        out.push_str("MAILER-DAEMON");
    }
    out
}

/// Keeps the analysis (and the message) of an `inspect` action in
/// `LAYER/inspect/SENDER.UNIQUE/`.
pub fn inspect(
    layer: &Path,
    sender: &str,
    message: &[u8],
    analysis: &str,
) -> io::Result<PathBuf> {
    let base = layer.join("inspect");
    ensure_dir(&base)?;
    let dir =
        base.join(format!("{}.{}", safe_sender(sender), stamp::unique()));
    fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let result = write_new(&dir.join("analysis.yaml"), analysis.as_bytes())
        .and_then(|()| write_new(&dir.join("message"), message));
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::{is_keep_name, keep, safe_sender, write_new};

    #[test]
    fn a_link_at_the_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msg");
        std::os::unix::fs::symlink("/dev/full", &path).unwrap();
        assert!(write_new(&path, b"x").is_err());
    }

    #[test]
    fn a_retry_finds_the_copy_an_earlier_try_kept() {
        let layer = tempfile::tempdir().unwrap();
        let first =
            keep(layer.path(), "policy", "n1.h", false, b"m", "a").unwrap();
        let again =
            keep(layer.path(), "policy", "n1.h", true, b"m", "a").unwrap();
        assert_eq!(first, again);
        // Read since: moved to cur/ with its info.
        let cur = layer.path().join("save/policy/cur/n1.h:2,S");
        std::fs::rename(&first, &cur).unwrap();
        let again =
            keep(layer.path(), "policy", "n1.h", true, b"m", "a").unwrap();
        assert_eq!(again, cur);
        // Cut before new/: the leftovers go, the copy is written whole.
        let tmp = layer.path().join("save/policy/tmp/n2.h");
        std::fs::write(&tmp, b"par").unwrap();
        let kept =
            keep(layer.path(), "policy", "n2.h", true, b"whole", "a").unwrap();
        assert_eq!(std::fs::read(kept).unwrap(), b"whole");
        assert!(!tmp.exists());
        assert!(is_keep_name("1.M2P3Q4.host"));
        for bad in ["", "../x", ".hidden", "a:2,S", "a/b"] {
            assert!(!is_keep_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn senders_are_safe_for_paths() {
        assert_eq!(safe_sender("joe@example.com"), "joe@example.com");
        assert_eq!(safe_sender(""), "MAILER-DAEMON");
        assert_eq!(safe_sender("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(safe_sender("a/b\nc"), "a_b_c");
        assert_eq!(safe_sender(&"x".repeat(100)).len(), 64);
        assert_eq!(safe_sender("..."), "_..");
    }
}
