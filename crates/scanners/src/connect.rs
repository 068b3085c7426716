/*!
Connections to a daemon at an endpoint, bounded in time: the one place
where clamd, spamd and rspamd connections are made, written to and read.

A connection attempt is bounded by a connect time-out (for TCP, per
resolved address, at most [`MAX_ADDRESSES`] of them; a host name is
resolved under the same bound). Everything after it, sending and
reading, is bounded by one deadline the caller sets. Writes never raise
SIGPIPE; reads stop at a size bound.
*/

use std::io::{self, Read};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use qmvc_profile::Endpoint;

use crate::seconds;

/// At most this many addresses of a TCP host name are tried.
pub const MAX_ADDRESSES: usize = 8;

/// An endpoint as the user writes it: `unix:/run/clamav/clamd.ctl`,
/// `tcp:10.0.0.5:3310`, `tcp:[::1]:3310`.
pub fn endpoint_name(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Unix(path) => format!("unix:{}", path.display()),
        Endpoint::Tcp { host, port } if host.contains(':') => {
            format!("tcp:[{host}]:{port}")
        }
        Endpoint::Tcp { host, port } => format!("tcp:{host}:{port}"),
    }
}

/// A connection to a daemon.
pub(crate) enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn fd(&self) -> RawFd {
        match self {
            Conn::Unix(s) => s.as_raw_fd(),
            Conn::Tcp(s) => s.as_raw_fd(),
        }
    }

    fn set_read_timeout(&self, d: Duration) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_read_timeout(Some(d)),
            Conn::Tcp(s) => s.set_read_timeout(Some(d)),
        }
    }

    fn set_write_timeout(&self, d: Duration) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_write_timeout(Some(d)),
            Conn::Tcp(s) => s.set_write_timeout(Some(d)),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }

    /// Half-closes the connection: the peer reads the end of the
    /// request, we can still read its reply.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.shutdown(Shutdown::Write),
            Conn::Tcp(s) => s.shutdown(Shutdown::Write),
        }
    }
}

/// Connects to `endpoint` within `timeout` (per address for TCP); the
/// error says why, in one line.
pub(crate) fn connect(
    endpoint: &Endpoint,
    timeout: Duration,
) -> Result<Conn, String> {
    let timeout = timeout.max(Duration::from_millis(1));
    match endpoint {
        Endpoint::Unix(path) => connect_unix(path.clone(), timeout),
        Endpoint::Tcp { host, port } => {
            let addresses = resolve(host, *port, timeout)?;
            let mut failures = Vec::new();
            for address in addresses.iter().take(MAX_ADDRESSES) {
                match TcpStream::connect_timeout(address, timeout) {
                    Ok(stream) => {
                        // Only what is left; a failure costs nothing.
                        let _ = stream.set_nodelay(true);
                        return Ok(Conn::Tcp(stream));
                    }
                    Err(e) if is_timeout(&e) => failures.push(format!(
                        "{address}: timed out after {}",
                        seconds(timeout)
                    )),
                    Err(e) => failures.push(format!("{address}: {e}")),
                }
            }
            if failures.is_empty() {
                failures.push(format!("{host}: no addresses"));
            }
            Err(failures.join(", "))
        }
    }
}

/// A unix-socket connect, which can block when the daemon's listen
/// queue is full, run in a thread so that it is bounded by `timeout`. A
/// thread left behind finishes, or fails, on its own and closes its
/// socket.
fn connect_unix(path: PathBuf, timeout: Duration) -> Result<Conn, String> {
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name("scanner-connect".to_string())
        .spawn(move || {
            let _ = tx.send(UnixStream::connect(&path));
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(stream)) => Ok(Conn::Unix(stream)),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("timed out after {}", seconds(timeout))),
    }
}

/// The addresses of `host`: an address literal as it is, a name
/// resolved in a thread bounded by `timeout`.
fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, String> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    let spawned = thread::Builder::new()
        .name("scanner-resolve".to_string())
        .spawn(move || {
            let found = (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.take(MAX_ADDRESSES).collect::<Vec<_>>());
            let _ = tx.send(found);
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(addresses)) => Ok(addresses),
        Ok(Err(e)) => Err(format!("{host}: {e}")),
        Err(_) => Err(format!(
            "{host}: name lookup timed out after {}",
            seconds(timeout)
        )),
    }
}

/// Writes all of `data` before `deadline`, without SIGPIPE.
pub(crate) fn send_all(
    conn: &Conn,
    mut data: &[u8],
    deadline: Instant,
) -> io::Result<()> {
    while !data.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        conn.set_write_timeout(left)?;
        // SAFETY: the pointer and length describe `data`, a live slice;
        // the descriptor belongs to `conn`, open for this call.
        let sent = unsafe {
            libc::send(
                conn.fd(),
                data.as_ptr().cast(),
                data.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if sent < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                // The write time-out passed: the loop decides.
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    continue
                }
                _ => return Err(e),
            }
        }
        let sent = usize::try_from(sent).unwrap_or(0);
        if sent == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = data.get(sent..).unwrap_or_default();
    }
    Ok(())
}

/// Passes the descriptor `fd` over the unix connection `conn` (one
/// byte, NUL, carrying it as `SCM_RIGHTS`) before `deadline`, without
/// SIGPIPE. A TCP connection cannot carry one: an error.
pub(crate) fn send_fd(
    conn: &Conn,
    fd: BorrowedFd<'_>,
    deadline: Instant,
) -> io::Result<()> {
    if !matches!(conn, Conn::Unix(_)) {
        return Err(io::Error::other("a descriptor needs a unix socket"));
    }
    let raw: RawFd = fd.as_raw_fd();
    let mut byte = [0u8; 1];
    // The control buffer, aligned for a cmsghdr: room for one descriptor.
    // SAFETY: CMSG_SPACE only computes a size.
    let space =
        unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) };
    let words = (space as usize).div_ceil(std::mem::size_of::<u64>());
    let mut control = vec![0u64; words];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        conn.set_write_timeout(left)?;
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: byte.len(),
        };
        // SAFETY: an all-zero msghdr is valid; its pointers are set
        // below to live buffers (`iov`, `control`) of the lengths given.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: `msg` describes a control buffer of `space` bytes,
        // enough for one header and one descriptor (CMSG_SPACE), so
        // CMSG_FIRSTHDR is not null and CMSG_DATA has room for `raw`.
        unsafe {
            let header = libc::CMSG_FIRSTHDR(&msg);
            if header.is_null() {
                return Err(io::Error::other("no room for a descriptor"));
            }
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len =
                libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
            std::ptr::write_unaligned(
                libc::CMSG_DATA(header).cast::<RawFd>(),
                raw,
            );
        }
        // SAFETY: `msg` and the buffers it points to live for the call;
        // the socket belongs to `conn`.
        let sent =
            unsafe { libc::sendmsg(conn.fd(), &msg, libc::MSG_NOSIGNAL) };
        if sent < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted
                | io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut => continue,
                _ => return Err(e),
            }
        }
        if sent == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        return Ok(());
    }
}

/// Why [`read_reply`] got no reply.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The deadline passed before the reply was complete.
    Timeout,
    /// More than the bound arrived: what was read.
    TooLong(Vec<u8>),
    /// The connection failed before any byte arrived.
    Lost(io::Error),
}

/// Reads a reply until the end of the connection, or until `complete`
/// says what was read is a whole reply, before `deadline` and at most
/// `max` bytes. A reply cut short by a reset still counts (daemons reset
/// a connection they close with part of the request unread): the
/// caller's parser judges whether it is whole.
pub(crate) fn read_reply(
    conn: &mut Conn,
    deadline: Instant,
    max: usize,
    complete: impl Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, ReadError> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Timeout);
        }
        conn.set_read_timeout(left).map_err(ReadError::Lost)?;
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                reply.extend_from_slice(buf.get(..n).unwrap_or_default());
                if reply.len() > max {
                    return Err(ReadError::TooLong(reply));
                }
                if complete(&reply) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => continue,
            Err(_) if !reply.is_empty() => break,
            Err(e) => return Err(ReadError::Lost(e)),
        }
    }
    Ok(reply)
}

/// Why [`exchange`] got no reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection: the socket is missing, the connection refused, the
    /// host unknown, or the connect time-out passed.
    Connect(String),
    /// Connected, but the connection closed or failed before a reply.
    Broken(String),
    /// No complete reply within the time-out.
    Timeout(Duration),
    /// A reply longer than the bound.
    TooLong(usize),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(why) => write!(f, "cannot connect: {why}"),
            Failure::Broken(why) => f.write_str(why),
            Failure::Timeout(d) => {
                write!(f, "timed out after {}", seconds(*d))
            }
            Failure::TooLong(max) => {
                write!(f, "reply longer than {max} bytes")
            }
        }
    }
}

/// What [`exchange`] read.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The reply, not empty.
    pub bytes: Vec<u8>,
    /// Whether the whole request was sent: a reply to a request cut
    /// short (an error the daemon gave while we were still sending) can
    /// be an error, never a verdict.
    pub sent_whole: bool,
}

/// One request and its reply on a fresh connection to `endpoint`:
/// `request`'s parts sent in order, then (when `half_close`) the write
/// side shut, then the reply read as [`read_reply`] does. The connect
/// time-out bounds the connection, `timeout` everything after it.
pub(crate) fn exchange(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    timeout: Duration,
    request: &[&[u8]],
    half_close: bool,
    max: usize,
    complete: impl Fn(&[u8]) -> bool,
) -> Result<Reply, Failure> {
    let mut conn =
        connect(endpoint, connect_timeout).map_err(Failure::Connect)?;
    let deadline = Instant::now() + timeout;
    let mut sent =
        request.iter().try_for_each(|part| send_all(&conn, part, deadline));
    if sent.is_ok() && half_close {
        sent = conn.shutdown_write();
    }
    let unsent = match sent {
        Ok(()) => None,
        Err(e) if is_timeout(&e) => return Err(Failure::Timeout(timeout)),
        Err(e) => Some(e),
    };
    let bytes = match read_reply(&mut conn, deadline, max, complete) {
        Ok(bytes) if !bytes.is_empty() => bytes,
        Ok(_) | Err(ReadError::Lost(_)) if unsent.is_some() => {
            let e = unsent.map(|e| e.to_string()).unwrap_or_default();
            return Err(Failure::Broken(format!(
                "connection lost while sending: {e}"
            )));
        }
        Ok(_) => {
            return Err(Failure::Broken(
                "connection closed without a reply".to_string(),
            ))
        }
        Err(ReadError::Timeout) => return Err(Failure::Timeout(timeout)),
        Err(ReadError::TooLong(_)) => return Err(Failure::TooLong(max)),
        Err(ReadError::Lost(e)) => {
            return Err(Failure::Broken(format!(
                "connection lost before a reply: {e}"
            )))
        }
    };
    Ok(Reply { bytes, sent_whole: unsent.is_none() })
}

/// Whether an I/O error is a time-out.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            endpoint_name(&Endpoint::Unix("/run/clamd.ctl".into())),
            "unix:/run/clamd.ctl"
        );
        let tcp = |h: &str| Endpoint::Tcp { host: h.into(), port: 3310 };
        assert_eq!(endpoint_name(&tcp("10.0.0.5")), "tcp:10.0.0.5:3310");
        assert_eq!(endpoint_name(&tcp("::1")), "tcp:[::1]:3310");
    }
}
