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

/// Stores `message` in the Maildir `LAYER/save/CLASS/` (tmp, then new),
/// and `analysis` as `LAYER/save/CLASS/analysis/NAME.yaml`. Returns the
/// path of the message in `new/`.
pub fn keep(
    layer: &Path,
    class: &str,
    message: &[u8],
    analysis: &str,
) -> io::Result<PathBuf> {
    let maildir = layer.join("save").join(class);
    for sub in ["tmp", "new", "cur", "analysis"] {
        ensure_dir(&maildir.join(sub))?;
    }
    let name = format!("{}.{}", stamp::unique(), stamp::hostname());
    let tmp = maildir.join("tmp").join(&name);
    let new = maildir.join("new").join(&name);
    write_new(&tmp, message)?;
    let analysis_path = maildir.join("analysis").join(format!("{name}.yaml"));
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
    use super::{safe_sender, write_new};

    #[test]
    fn a_link_at_the_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msg");
        std::os::unix::fs::symlink("/dev/full", &path).unwrap();
        assert!(write_new(&path, b"x").is_err());
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
