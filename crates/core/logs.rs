/*!
The three logs of a layer: `qmvc.log` (a line per message), `qmvc.rep` (a
YAML document per message that met a condition) and `qmvc.error`.

Every record is one buffer appended to a file opened with `O_APPEND` while
holding an exclusive `flock(2)`, so any number of concurrent qmvc processes
never interleave or lose a record.
*/

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The longest a normalised log field may be, in bytes.
const FIELD_MAX: usize = 1024;

/// Creates `dir` (and parents) with mode 0700 if it is missing.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// How often a record follows a log that is being archived before qmvc
/// gives up; archiving renames a log once a day, so two tries suffice.
const REOPEN_TRIES: usize = 8;

/// Appends `record` to `LAYER/log/NAME` as one locked write.
///
/// qmvcmonth(8) archives a log by renaming it while it holds the lock; a
/// process that opened the old file before the rename sees, once it has
/// the lock, that the name now means another file (or none), and opens
/// the name again, so no record lands in a log already archived.
pub fn append(layer: &Path, name: &str, record: &[u8]) -> io::Result<PathBuf> {
    let dir = layer.join("log");
    ensure_dir(&dir)?;
    let path = dir.join(name);
    for _ in 0..REOPEN_TRIES {
        let mut file: File = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)?;
        file.lock()?;
        if !still_named(&file, &path) {
            let _ = file.unlock();
            continue;
        }
        let written = file.write_all(record);
        let _ = file.unlock();
        return written.map(|()| path);
    }
    Err(io::Error::other(format!(
        "{} was replaced {REOPEN_TRIES} times while qmvc wrote to it",
        path.display()
    )))
}

/// Whether `path` still names the open `file`.
fn still_named(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(open), Ok(named)) => {
            open.dev() == named.dev() && open.ino() == named.ino()
        }
        _ => false,
    }
}

/// A log field as qmvc-log(5) defines it: white space and control
/// characters folded to `_`, at most 1024 bytes (cut at a character
/// boundary), `-` when empty.
pub fn field(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(FIELD_MAX));
    for c in value.chars() {
        let c = if c.is_whitespace() || c.is_control() { '_' } else { c };
        if out.len() + c.len_utf8() > FIELD_MAX {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        out.push('-');
    }
    out
}

/// A reason for qmail-local's one-line report: control characters (CR
/// and LF among them) become spaces, at most 1024 bytes.
pub fn one_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(FIELD_MAX));
    for c in value.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > FIELD_MAX {
            break;
        }
        out.push(c);
    }
    out
}

/// Joins normalised fields with tabs and ends the line.
pub fn line(fields: &[&str]) -> String {
    let normalised: Vec<String> = fields.iter().map(|f| field(f)).collect();
    let mut text = normalised.join("\t");
    text.push('\n');
    text
}

/// Removes files older than `age` from `dir`; returns how many went.
pub fn remove_older(
    dir: &Path,
    age: std::time::Duration,
) -> io::Result<usize> {
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let meta = entry.metadata()?;
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|d| d > age);
        if !old {
            continue;
        }
        let path = entry.path();
        let gone = if meta.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_renamed_away_is_not_written_to() {
        let layer = tempfile::tempdir().unwrap();
        let path = append(layer.path(), "qmvc.log", b"one\n").unwrap();
        // What qmvcmonth -a does under the lock: the name moves away
        // while a writer may still hold the old file open.
        let held = File::open(&path).unwrap();
        assert!(still_named(&held, &path));
        let aside = layer.path().join("log/qmvc.log.archiving.1");
        fs::rename(&path, &aside).unwrap();
        assert!(!still_named(&held, &path));
        append(layer.path(), "qmvc.log", b"two\n").unwrap();
        assert_eq!(fs::read(&aside).unwrap(), b"one\n");
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
    }

    #[test]
    fn fields_are_normalised() {
        assert_eq!(field(""), "-");
        assert_eq!(field("a b\tc\r\nd"), "a_b_c__d");
        assert_eq!(field("x\u{0}y"), "x_y");
        let long = "ä".repeat(600);
        let f = field(&long);
        assert!(f.len() <= FIELD_MAX && f.is_char_boundary(f.len()));
        assert_eq!(line(&["a", "", "c d"]), "a\t-\tc_d\n");
        assert_eq!(one_line("a_b\r\nBcc: x"), "a_b  Bcc: x");
    }
}
