/*!
The layer's spool `tmp/`: where command-line scanners get their copy of
the message, and what `qmvc -z` cleans up after runs that were killed.
*/

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use qmvc_profile::Layers;

/// How old a file in `tmp/` must be before [`remove_stale`] removes it.
pub const STALE: Duration = Duration::from_secs(30 * 3600);

/// The spool of `layers`: `LAYER/tmp` of the most specific layer.
pub fn dir(layers: &Layers) -> PathBuf {
    layers.state_dir().join("tmp")
}

/// Removes files and directories older than `age` from `dir`; returns how
/// many went. A missing `dir` has nothing to remove. The journals of
/// deferred deliveries, `dir/due/` ([`crate::journal`]), are kept for
/// [`crate::journal::STALE`] (longer than qmail retries), whatever `age`
/// says: one removed too early would let a retry send its reactions
/// again. Nothing is followed:
/// `dir` itself must not be a symbolic link (a link planted there would
/// make `-z` delete files elsewhere), and a link inside it is removed as
/// a link.
pub fn remove_stale(dir: &Path, age: Duration) -> io::Result<usize> {
    let now = SystemTime::now();
    let mut removed = 0;
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(io::Error::other(
                "a symbolic link, not a directory: refused (remove the \
                 link; qmvc recreates tmp/)",
            ))
        }
        _ => {}
    }
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
        let path = entry.path();
        if meta.is_dir() && entry.file_name() == crate::journal::DIR {
            removed += remove_stale(&path, age.max(crate::journal::STALE))?;
            continue;
        }
        if !old {
            continue;
        }
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
    fn a_link_at_tmp_is_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = root.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        fs::write(elsewhere.join("precious"), b"x").unwrap();
        let tmp = root.path().join("tmp");
        std::os::unix::fs::symlink(&elsewhere, &tmp).unwrap();
        assert!(remove_stale(&tmp, Duration::ZERO).is_err());
        assert!(elsewhere.join("precious").exists());
        fs::remove_file(&tmp).unwrap();
        fs::create_dir(&tmp).unwrap();
        std::os::unix::fs::symlink(&elsewhere, tmp.join("link")).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(remove_stale(&tmp, Duration::ZERO).unwrap(), 1);
        assert!(elsewhere.join("precious").exists());
    }

    #[test]
    fn journals_stay_while_qmail_may_retry() {
        let root = tempfile::tempdir().unwrap();
        let due = root.path().join(crate::journal::DIR);
        fs::create_dir(&due).unwrap();
        let day = Duration::from_secs(24 * 3600);
        let aged = |name: &str, age: Duration| {
            let file = fs::File::create(due.join(name)).unwrap();
            file.set_modified(SystemTime::now() - age).unwrap();
        };
        aged("two-days", 2 * day);
        aged("nine-days", 9 * day);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(remove_stale(root.path(), STALE).unwrap(), 1);
        assert!(due.join("two-days").exists());
        assert!(!due.join("nine-days").exists());
        assert!(due.exists());
    }
}
