/*!
The journal of one delivery: what is done of the effects that must never
happen twice (a kept copy, a copy in `inspect/`, qmvc.rep, each sent
reaction), so that when qmail tries a deferred message again, the retry
does only what is left.

A journal is the file `LAYER/tmp/due/KEY`, KEY the SHA-256 of the
envelope sender, the recipient and the message bytes (each
length-prefixed): the same message to the same recipient, tried again,
finds it; any other message cannot (a collision would make one message
skip another's steps). It holds one line for each step done, appended
and synced right after the step succeeded: `keeping NAME` (before the
copy is made: the name a retry looks for, so that a copy put in place
by a try killed before it could say `kept` is found, not made again),
`kept PATH`, `inspected PATH`, `reported`, `sent CONDITION N TO` (the
N-th reaction of the filter line of CONDITION). A line without its line end (a crash while
writing) counts as not written. The journal goes when the delivery is
complete; `qmvc -z` removes one left older than [`STALE`].

Nothing here follows a symbolic link: `tmp/` and `due/` must be real
directories, and the journal is opened with `O_NOFOLLOW`.

A digest is computed only for a message with something to keep, record
or send: a message that passes costs nothing here.
*/

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The directory of the journals under the layer's `tmp/`.
pub const DIR: &str = "due";

/// How old a journal must be before `qmvc -z` removes it: longer than
/// qmail's default `queuelifetime` (a week), so that no retry qmail
/// still makes finds its journal gone.
pub const STALE: Duration = Duration::from_secs(8 * 24 * 3600);

/// Most bytes of a journal that are read: a few lines per reaction.
const MAX_READ: u64 = 1 << 20;

/// The journal's name for the message `raw` from `sender` to
/// `recipient`: 64 hex digits.
pub fn key(sender: &str, recipient: &str, raw: &[u8]) -> String {
    let mut hash = Sha256::new();
    for field in [sender.as_bytes(), recipient.as_bytes(), raw] {
        hash.update((field.len() as u64).to_be_bytes());
        hash.update(field);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One delivery's journal: the steps already done, and where to add the
/// next.
#[derive(Debug)]
pub struct Journal {
    spool: PathBuf,
    path: PathBuf,
    done: Vec<String>,
}

/// Makes `dir` (mode 0700, and the layer above it when it is new, as
/// keep does) unless it is there; a symbolic link or anything else that
/// is not a directory at its name is an error.
fn real_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::other(format!(
            "{}: not a directory (a symbolic link is refused; remove it, \
             qmvc makes the directory)",
            dir.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
            {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
                _ => real_dir_exists(dir),
            }
        }
        Err(e) => Err(e),
    }
}

/// After a create that may have raced: `dir` is a directory.
fn real_dir_exists(dir: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dir)?.is_dir() {
        Ok(())
    } else {
        Err(io::Error::other(format!("{}: not a directory", dir.display())))
    }
}

impl Journal {
    /// The journal `KEY` under `spool` (the layer's `tmp/`), with the
    /// steps an earlier try did; none when there was no earlier try.
    /// `tmp/` is made now (a layer that cannot have one defers before
    /// anything is done); `tmp/due/` and the file at the first
    /// [`Journal::record`].
    pub fn open(spool: &Path, key: &str) -> io::Result<Journal> {
        real_dir(spool)?;
        let dir = spool.join(DIR);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if !meta.is_dir() => {
                return Err(io::Error::other(format!(
                    "{}: not a directory (a symbolic link is refused; \
                     remove it, qmvc makes the directory)",
                    dir.display()
                )))
            }
            _ => {}
        }
        let path = dir.join(key);
        let mut text = Vec::new();
        match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(file) => {
                file.take(MAX_READ).read_to_end(&mut text)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let text = String::from_utf8_lossy(&text);
        // Only whole lines: one cut by a crash was not done.
        let done = text
            .split_inclusive('\n')
            .filter_map(|line| line.strip_suffix('\n'))
            .map(str::to_string)
            .collect();
        Ok(Journal { spool: spool.to_path_buf(), path, done })
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the step `step` (a whole line) is done.
    pub fn is_done(&self, step: &str) -> bool {
        self.done.iter().any(|d| d == step)
    }

    /// The value of the first step `WORD VALUE` done, if any.
    pub fn value(&self, word: &str) -> Option<&str> {
        self.done.iter().find_map(|d| d.strip_prefix(word)?.strip_prefix(' '))
    }

    /// Adds the step `step` as done: appended as one line and synced
    /// before this returns. Line ends in `step` become spaces.
    pub fn record(&mut self, step: &str) -> io::Result<()> {
        let step: String = step
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        let open = || {
            real_dir(&self.spool.join(DIR))?;
            OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&self.path)
        };
        // A delivery that completed may remove an empty `due/` between
        // our making it and opening the file in it: once more then.
        let mut file: File = match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => open()?,
            other => other?,
        };
        file.write_all(format!("{step}\n").as_bytes())?;
        file.sync_all()?;
        self.done.push(step);
        Ok(())
    }

    /// Removes the journal: the delivery is complete. `tmp/due/` goes
    /// too when it is left empty (`tmp/` is scratch space, empty between
    /// runs).
    pub fn remove(self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // Fails, harmlessly, while another delivery has its journal
        // there.
        let _ = fs::remove_dir(self.spool.join(DIR));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_every_field_apart() {
        let k = key("a", "b", b"c");
        assert_eq!(k.len(), 64);
        assert_eq!(k, key("a", "b", b"c"));
        assert_ne!(k, key("ab", "", b"c"));
        assert_ne!(k, key("a", "bc", b""));
    }

    #[test]
    fn steps_survive_and_a_cut_line_does_not() {
        let root = tempfile::tempdir().unwrap();
        let tmp = root.path().join("tmp");
        let mut j = Journal::open(&tmp, "k").unwrap();
        assert!(!j.is_done("reported"));
        j.record("kept /x/new/1").unwrap();
        j.record("reported").unwrap();
        let mut file = OpenOptions::new().append(true).open(j.path()).unwrap();
        file.write_all(b"sent virusmail 0 a@b").unwrap();
        let j = Journal::open(&tmp, "k").unwrap();
        assert!(j.is_done("reported"));
        assert_eq!(j.value("kept"), Some("/x/new/1"));
        assert!(!j.is_done("sent virusmail 0 a@b"));
        j.remove().unwrap();
        assert!(!tmp.join(DIR).exists(), "an empty due/ is left");
        assert!(!Journal::open(&tmp, "k").unwrap().is_done("reported"));
    }

    #[test]
    fn links_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = root.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let tmp = root.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        std::os::unix::fs::symlink(&elsewhere, tmp.join(DIR)).unwrap();
        assert!(Journal::open(&tmp, "k").is_err());
        fs::remove_file(tmp.join(DIR)).unwrap();
        fs::create_dir(tmp.join(DIR)).unwrap();
        let target = elsewhere.join("target");
        std::os::unix::fs::symlink(&target, tmp.join(DIR).join("k")).unwrap();
        let mut j = Journal::open(&tmp, "k").unwrap_or_else(|_| Journal {
            spool: tmp.clone(),
            path: tmp.join(DIR).join("k"),
            done: Vec::new(),
        });
        assert!(j.record("reported").is_err());
        assert!(!target.exists());
    }
}
