/*!
The child's pipes, each served by a thread so that the caller can wait
for the child and kill it whatever the child does with them.

The feeder writes the input through a non-blocking pipe, waiting for
room with poll(2) a tick at a time, and gives up when told to stop (the
child is gone; only a process that left its group can still hold the
pipe) or on any write error (EPIPE: the child does not read). It borrows
the input, in a scoped thread that always ends promptly.

A [`Capture`] reads one output pipe to its end, keeping at most its
bound and dropping the rest. Its thread owns the pipe and is not waited
for past a given instant: a process that left the group may keep the
pipe open for as long as it likes.
*/

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::process::ChildStdin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, Scope};
use std::time::Instant;

/// How long, in milliseconds, the feeder waits for room in the pipe
/// before it looks at its stop flag again.
const TICK_MS: libc::c_int = 20;

/// Starts a thread in `scope` writing `bytes` to `pipe` until all is
/// written, the child stops reading, or `stop` is set. `Err` when the
/// pipe cannot be made non-blocking or no thread can be started.
pub(crate) fn feed<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    pipe: ChildStdin,
    bytes: &'env [u8],
    stop: &'env AtomicBool,
) -> io::Result<()> {
    set_nonblocking(pipe.as_raw_fd())?;
    thread::Builder::new()
        .name("process-stdin".to_string())
        .spawn_scoped(scope, move || write_all(pipe, bytes, stop))?;
    Ok(())
}

/// The feeder's loop; dropping `pipe` at the end gives the child EOF.
fn write_all(mut pipe: ChildStdin, bytes: &[u8], stop: &AtomicBool) {
    let mut rest = bytes;
    while !rest.is_empty() && !stop.load(Ordering::SeqCst) {
        match pipe.write(rest) {
            Ok(0) => break,
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_for_room(pipe.as_raw_fd());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // EPIPE (SIGPIPE is ignored, as in every Rust program): the
            // child does not read, and its exit alone judges it.
            Err(_) => break,
        }
    }
}

/// Waits up to a tick for room in the pipe `fd` (or for its reader to
/// be gone).
fn wait_for_room(fd: RawFd) {
    let mut poll = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
    // SAFETY: poll(2) reads and writes only `poll`, one pollfd owned
    // here, for the one entry it is told of.
    unsafe {
        libc::poll(&mut poll, 1, TICK_MS);
    }
}

/// Sets O_NONBLOCK on our end of a pipe (the child's end is another
/// open file description and stays as it is).
fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl(2) on a descriptor owned by the caller; it touches no
    // memory of this process.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    let rc =
        unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Output of one pipe, read by a thread.
pub(crate) struct Capture {
    kept: Arc<Mutex<Vec<u8>>>,
    done: Option<mpsc::Receiver<()>>,
}

impl Capture {
    /// Starts reading `pipe`, keeping at most `limit` bytes. Without a
    /// thread the pipe is dropped: the child gets EPIPE on output, which
    /// is better than blocking.
    pub(crate) fn start<R: Read + Send + 'static>(
        pipe: Option<R>,
        limit: usize,
    ) -> Capture {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let Some(mut pipe) = pipe else {
            return Capture { kept, done: None };
        };
        let (tx, rx) = mpsc::channel();
        let shared = Arc::clone(&kept);
        let spawned = thread::Builder::new()
            .name("process-output".to_string())
            .spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            let Ok(mut kept) = shared.lock() else { break };
                            let room = limit.saturating_sub(kept.len());
                            let got =
                                buf.get(..n.min(room)).unwrap_or_default();
                            kept.extend_from_slice(got);
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                let _ = tx.send(());
            });
        Capture { kept, done: spawned.ok().map(|_| rx) }
    }

    /// What was read, waiting for the end of the pipe until `until`.
    pub(crate) fn finish(self, until: Instant) -> Vec<u8> {
        if let Some(done) = &self.done {
            let left = until.saturating_duration_since(Instant::now());
            let _ = done.recv_timeout(left);
        }
        match self.kept.lock() {
            Ok(mut kept) => std::mem::take(&mut *kept),
            Err(_) => Vec::new(),
        }
    }
}
