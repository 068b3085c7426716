/*!
Exclusive locks that give up: every lock qmvc and its programs take on a
log, a month database or badmailfrom waits at most [`WAIT`], then fails
with `ErrorKind::TimedOut`. A process that hangs while holding a lock (a
stopped report program, a full NFS server) then defers deliveries (111)
with a reason instead of stacking them up forever.
*/

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// How long a lock is waited for. Every holder keeps its lock for one
/// write or one rename, milliseconds; half a minute means something is
/// stuck.
pub const WAIT: Duration = Duration::from_secs(30);

/// Opens `path` with `options`, never through a symbolic link
/// (`O_NOFOLLOW`: a planted link would make the opener create or append
/// to any file it may write), and locks it exclusively within [`WAIT`].
/// An error names the step that failed, `open` or `lock`.
pub fn open_exclusive(
    options: &mut OpenOptions,
    path: &Path,
) -> Result<File, (&'static str, io::Error)> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| ("open", e))?;
    exclusive(&file, WAIT).map_err(|e| ("lock", e))?;
    Ok(file)
}

/// Locks `file` exclusively, waiting at most `wait`.
pub fn exclusive(file: &File, wait: Duration) -> io::Result<()> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::Error(e)) => return Err(e),
            Err(TryLockError::WouldBlock) => {}
        }
        if start.elapsed() >= wait {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "still locked by another process after {} s",
                    wait.as_secs()
                ),
            ));
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        let held = File::create(&path).unwrap();
        held.lock().unwrap();
        let other = File::open(&path).unwrap();
        let start = Instant::now();
        let e = exclusive(&other, Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(200));
        held.unlock().unwrap();
        exclusive(&other, Duration::from_millis(200)).unwrap();
    }
}
