/*!
The effects at the edge: descriptor 6, the message on descriptor 0
spooled to the system layer's `tmp/`, the envelope on descriptor 1, and
the hand-off to the real qmail-queue: in the common case of one queued
group and a message a pipe can hold, qmvc-queue fills two pipes and
becomes the real qmail-queue ([`exec_hand_off`]); otherwise a child is fed
through pipes as it reads ([`hand_off`]).
*/

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use memmap2::Mmap;

/// The descriptor on which qmail-smtpd reads a custom reply.
const REPLY_FD: libc::c_int = 6;

/// Descriptor 6 as it came, moved out of the way of every child.
pub struct ReplyChannel {
    fd: Option<OwnedFd>,
    is_pipe: bool,
}

impl ReplyChannel {
    /// Takes descriptor 6: duplicated to a close-on-exec descriptor and
    /// closed, so that no child (a scanner, the injector, qmail-queue)
    /// holds it open and delays qmail-smtpd's reply. Call it first.
    pub fn take() -> ReplyChannel {
        // SAFETY: F_DUPFD_CLOEXEC on a descriptor we may not own only
        // makes a new one, checked below; then 6 is closed.
        let dup = unsafe { libc::fcntl(REPLY_FD, libc::F_DUPFD_CLOEXEC, 10) };
        if dup < 0 {
            return ReplyChannel { fd: None, is_pipe: false };
        }
        // SAFETY: `dup` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(dup) };
        // SAFETY: closing 6, which we duplicated above.
        unsafe { libc::close(REPLY_FD) };
        // SAFETY: a zeroed stat is valid for fstat to fill.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on our own descriptor.
        let ok = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0;
        let is_pipe = ok && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO;
        ReplyChannel { fd: Some(fd), is_pipe }
    }

    /// Whether replies go here, by `customerror`.
    pub fn usable(&self, setting: qmvc_profile::CustomError) -> bool {
        use qmvc_profile::CustomError::*;
        match setting {
            Auto => self.fd.is_some() && self.is_pipe,
            Yes => self.fd.is_some(),
            No => false,
        }
    }

    /// Writes `bytes` (one write, a pipe takes it whole); false if it
    /// could not be written.
    pub fn write(&self, bytes: &[u8]) -> bool {
        let Some(Ok(fd)) = self.fd.as_ref().map(OwnedFd::try_clone) else {
            return false;
        };
        File::from(fd).write_all(bytes).is_ok()
    }
}

/// Why the message could not be read, with qmail-queue's exit code.
#[derive(Debug)]
pub struct Failed {
    /// 51, 53 or 54.
    pub code: u8,
    /// What went wrong, for standard error.
    pub why: String,
}

/// The message, spooled and mapped.
pub struct Spooled {
    map: Option<Mmap>,
    /// The spool file opened again for reading only: what clamd is
    /// handed (it gets no right to write the message).
    reader: Option<File>,
    size: u64,
}

impl Spooled {
    /// The spool file, open for reading only, when the whole message is
    /// in it (clamd may be handed its descriptor).
    pub fn file(&self) -> Option<BorrowedFd<'_>> {
        if self.too_large() {
            return None;
        }
        self.reader.as_ref().map(AsFd::as_fd)
    }

    /// Its bytes: the whole message unless [`Spooled::too_large`].
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    /// The bytes read from descriptor 0, spooled or not.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether more was read than was spooled: the message is larger
    /// than the bound [`spool_message`] had, and only its size is known.
    pub fn too_large(&self) -> bool {
        self.size > self.bytes().len() as u64
    }
}

/// Reads descriptor 0 to end of file into a new file in `tmp`, removed
/// at once (the open file holds it; a killed run leaves nothing), and
/// maps it. Past `max` bytes (`queuesize`) nothing more is written: the
/// rest is read and discarded, since qmail-smtpd writes the whole message
/// before it reads our answer. Reading fails with 54, writing with 53,
/// mapping with 51.
pub fn spool_message(tmp: &Path, max: Option<u64>) -> Result<Spooled, Failed> {
    let write_fail = |e: io::Error, what: &str| Failed {
        code: 53,
        why: format!("cannot write the spool {}: {what}: {e}", tmp.display()),
    };
    match fs::symlink_metadata(tmp) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(write_fail(
                io::Error::other("not a directory (a link is refused)"),
                "check the system layer",
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Concurrent first sessions race to make it: one that lost
            // finds a directory there, which is all it needs (a link or
            // a file is still refused: create_dir does not follow one).
            match fs::create_dir(tmp) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let dir = fs::symlink_metadata(tmp)
                        .map_err(|e| write_fail(e, "stat"))?;
                    if !dir.is_dir() {
                        return Err(write_fail(e, "mkdir"));
                    }
                }
                Err(e) => return Err(write_fail(e, "mkdir")),
            }
        }
        Err(e) => return Err(write_fail(e, "stat")),
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let name = format!(
        "queue.{}.{}.{}",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    );
    let path = tmp.join(name);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| write_fail(e, "create"))?;
    let _ = fs::remove_file(&path);
    let mut buf = vec![0u8; 64 << 10];
    let mut stdin = io::stdin().lock();
    let max = max.unwrap_or(u64::MAX);
    let mut size: u64 = 0;
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Failed {
                    code: 54,
                    why: format!("cannot read the message: {e}"),
                })
            }
        };
        let room = max.saturating_sub(size);
        size = size.saturating_add(n as u64);
        let keep = usize::try_from(room).map_or(n, |room| room.min(n));
        let chunk = buf.get(..keep).unwrap_or_default();
        if !chunk.is_empty() {
            file.write_all(chunk).map_err(|e| write_fail(e, "write"))?;
        }
    }
    // No fsync: the file is already unlinked, nothing of it outlives the
    // run, and the real qmail-queue makes its own copy durable.
    let len = file.metadata().map_err(|e| write_fail(e, "stat"))?.len();
    if len == 0 {
        return Ok(Spooled { map: None, reader: None, size });
    }
    // SAFETY: the file is ours alone (created exclusively, unlinked), and
    // nothing writes it any more; the map is read-only.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Failed {
        code: 51,
        why: format!("cannot map the message: {e}"),
    })?;
    // Opening the unlinked file again through /proc gives a descriptor
    // for reading only; without /proc the message is streamed instead.
    let reader =
        File::open(format!("/proc/self/fd/{}", file.as_raw_fd())).ok();
    Ok(Spooled { map: Some(map), reader, size })
}

/// The most bytes read from descriptor 1: far above any real envelope
/// (qmail-smtpd has at most a few thousand recipients under 1024 bytes).
const ENVELOPE_MAX: u64 = 64 << 20;

/// Reads descriptor 1 to end of file; a read error is 54, an envelope
/// over `ENVELOPE_MAX` 51.
pub fn read_envelope() -> Result<Vec<u8>, Failed> {
    // SAFETY: descriptor 1 is open (the stdio guard made sure); the
    // duplicate is ours.
    let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 10) };
    if fd < 0 {
        return Err(Failed {
            code: 54,
            why: format!(
                "cannot read the envelope: {}",
                io::Error::last_os_error()
            ),
        });
    }
    // SAFETY: a fresh descriptor nothing else owns.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut bytes = Vec::new();
    file.take(ENVELOPE_MAX + 1).read_to_end(&mut bytes).map_err(|e| {
        Failed { code: 54, why: format!("cannot read the envelope: {e}") }
    })?;
    if bytes.len() as u64 > ENVELOPE_MAX {
        return Err(Failed {
            code: 51,
            why: format!("the envelope is over {ENVELOPE_MAX} bytes"),
        });
    }
    Ok(bytes)
}

/// Whether `program` is the running qmvc-queue itself (the same file).
pub fn is_self(program: &Path) -> bool {
    let (Ok(me), Ok(it)) =
        (fs::metadata("/proc/self/exe"), fs::metadata(program))
    else {
        return false;
    };
    me.dev() == it.dev() && me.ino() == it.ino()
}

/// The most [`filled_pipe`] puts in a pipe: the kernel's default bound
/// for an unprivileged pipe (`/proc/sys/fs/pipe-max-size`), which root
/// could pass, pinning that much unswappable memory per session.
const PIPE_FILL_MAX: usize = 1 << 20;

/// `parts` in a new pipe, written whole and closed, for one of the real
/// qmail-queue's descriptors; `None` when the pipe cannot hold them
/// before anyone reads: past its 64 KiB it is grown, up to
/// 1 MiB (`PIPE_FILL_MAX`) and what the kernel allows (a user over the pipe
/// quota gets one page).
pub fn filled_pipe(parts: &[&[u8]]) -> io::Result<Option<io::PipeReader>> {
    let need: usize = parts.iter().map(|p| p.len()).sum();
    if need > PIPE_FILL_MAX {
        return Ok(None);
    }
    let (reader, mut writer) = io::pipe()?;
    let fd = writer.as_raw_fd();
    // SAFETY: F_GETPIPE_SZ on our own pipe.
    let mut capacity = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    if usize::try_from(capacity).is_ok_and(|c| c < need) {
        let Ok(want) = libc::c_int::try_from(need) else {
            return Ok(None);
        };
        // SAFETY: F_SETPIPE_SZ on our own pipe; it fails rather than
        // grow past the limit.
        capacity = unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, want) };
    }
    if usize::try_from(capacity).map_or(true, |c| c < need) {
        return Ok(None);
    }
    for part in parts {
        writer.write_all(part)?;
    }
    Ok(Some(reader))
}

/// Becomes `program` (the real qmail-queue), reading `message` as
/// descriptor 0 and `envelope` as descriptor 1, both filled and closed
/// ([`filled_pipe`]): its exit code is qmvc-queue's as qmail-smtpd sees
/// it, and no process of ours stands in between. `QMAILQUEUE` is not
/// passed on, descriptor 6 is already close-on-exec
/// ([`ReplyChannel::take`]), and SIGXFSZ, which qmvc-queue ignores, is
/// default again (std does the same for SIGPIPE). Returns only when
/// `program` could not be run.
pub fn exec_hand_off(
    program: &Path,
    message: io::PipeReader,
    envelope: io::PipeReader,
) -> io::Error {
    let mut command = Command::new(program);
    command
        .stdin(Stdio::from(message))
        .stdout(Stdio::from(envelope))
        .stderr(Stdio::inherit())
        .env_remove("QMAILQUEUE");
    // SAFETY: changing a signal's disposition.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
    }
    let failed = command.exec();
    // SAFETY: as above: back to qmvc-queue's own disposition.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    failed
}

/// Runs `program` (the real qmail-queue) with `top` and the spans of
/// `message` on its descriptor 0 and `envelope` on its descriptor 1, and returns its exit
/// code; a signal that ended it is 81, as qmail-smtpd reads a crash.
/// It reads descriptor 0 to end of file before descriptor 1, so both are
/// written in that order by this thread.
pub fn hand_off(
    program: &Path,
    top: &[u8],
    message: &[&[u8]],
    envelope: &[u8],
) -> io::Result<u8> {
    let (reader, mut writer) = io::pipe()?;
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(reader))
        .stderr(Stdio::inherit())
        .env_remove("QMAILQUEUE")
        .spawn()?;
    // A child that stops reading early is judged by its exit code.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(top).and_then(|()| {
            message.iter().try_for_each(|span| stdin.write_all(span))
        });
    }
    let _ = writer.write_all(envelope);
    drop(writer);
    let status = child.wait()?;
    Ok(status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(81))
}
