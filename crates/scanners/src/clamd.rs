/*!
The clamd protocol: `zFILDES`, `zINSTREAM`, `zPING` and `zVERSION` over
`unix:PATH` and `tcp:HOST:PORT` endpoints.

One connection per command. A connection attempt is bounded by the
definition's connect time-out (for TCP, per resolved address; a host name
is resolved under the same bound), and everything after it, sending the
message and reading the reply, by the scan time-out as one deadline.
Replies are read up to the first NUL or the end of the connection, at
most [`MAX_REPLY`] bytes.

How the message is sent ([`how`]): when it is an open regular file (the
standard input qmail-local gives, qmvc-queue's spool file), the endpoint
a unix socket and the definition's `fildes` is `auto`, clamd is handed
the file's descriptor (`zFILDES`, the descriptor passed as `SCM_RIGHTS`):
clamd reads the file itself, nothing is copied, and its
`StreamMaxLength` does not apply. clamd reads a passed descriptor by
position (libclamav maps the file or reads it with `pread` from offset
0), so the descriptor's own offset does not matter and is left alone.
Otherwise (TCP, a pipe, `fildes: never`) the message is streamed with
`zINSTREAM`. Which way it went is part of the answer ([`Scanned`]): the
logs show it.

[`scan`] tries the endpoints in order. It moves on to the next endpoint
when an endpoint cannot be reached, or when it was reached but gave no
usable answer: the connection closed or was reset before a reply, the
reply was empty or not understood, or clamd answered with an `ERROR`
other than the size limit (out of memory, a reload: another clamd of a
pool may well succeed). It stops at the first answer that settles the
message: `OK`, `FOUND`, the size-limit error (every clamd of a pool would
say the same), and at a time-out (the scan time-out is spent: trying the
next endpoint would make the message wait longer than the definition
allows).

The size-limit reply (`INSTREAM size limit exceeded. ERROR`: the message
is larger than clamd's `StreamMaxLength`) is a limit like clamd's own
`Heuristics.Limits.Exceeded.*` alerts, so it is reported under the name
[`SIZE_LIMIT_NAME`]: when that name matches one of the definition's
`unscanned` globs (e.g. `Heuristics.Limits.Exceeded*`), the answer is
[`Answer::Unscanned`] and the `on_unscanned` policy applies; otherwise it
is [`Answer::Failed`] and `on_error` applies. It is never clean and never
a virus.
*/

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use std::os::fd::BorrowedFd;

use qmvc_profile::{Endpoint, Fildes};

pub use crate::connect::endpoint_name;
use crate::connect::{
    connect, is_timeout, read_reply as read_bounded, send_all, send_fd, Conn,
    ReadError,
};
use crate::{
    classify, glob_match, one_line, seconds, Answer, Message, Status,
};

/// Size of the chunks the message is sent in.
pub const CHUNK: usize = 64 * 1024;

/// The longest reply read from clamd, in bytes.
pub const MAX_REPLY: usize = 4096;

/// The name under which clamd's size-limit reply is checked against a
/// definition's `unscanned` globs.
pub const SIZE_LIMIT_NAME: &str = "Heuristics.Limits.Exceeded.StreamMaxLength";

/// What clamd answered to `zINSTREAM`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `stream: OK`.
    Clean,
    /// `stream: NAME FOUND`: the names (at least one).
    Found(Vec<String>),
    /// `INSTREAM size limit exceeded. ERROR`: the message is larger than
    /// clamd's `StreamMaxLength`.
    SizeLimit,
    /// Another `... ERROR` reply: its text without ` ERROR`.
    Error(String),
}

/// Why asking one clamd failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// No connection: the socket is missing, the connection refused, the
    /// host unknown, or the connect time-out passed.
    Connect(String),
    /// Connected, but the connection closed or failed before a reply
    /// (an empty reply is this too).
    Broken(String),
    /// No complete reply within the time-out.
    Timeout(Duration),
    /// A reply that is not what clamd says to this command.
    Garbled(String),
}

impl std::error::Error for Error {}

impl qmvc_fault::Blame for Error {
    /// clamd down, slow or confused: usually for a moment.
    fn fault(&self) -> qmvc_fault::Fault {
        qmvc_fault::Fault::Transient
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(why) => write!(f, "cannot connect: {why}"),
            Error::Broken(why) => write!(f, "{why}"),
            Error::Timeout(d) => write!(f, "timed out after {}", seconds(*d)),
            Error::Garbled(reply) => write!(f, "unexpected reply: {reply}"),
        }
    }
}

/// How the message went to clamd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Its descriptor was passed (`zFILDES`).
    Fildes,
    /// Its bytes were streamed (`zINSTREAM`).
    Instream,
}

impl Sent {
    /// The command's name, as the logs show it: `FILDES`, `INSTREAM`.
    pub fn name(self) -> &'static str {
        match self {
            Sent::Fildes => "FILDES",
            Sent::Instream => "INSTREAM",
        }
    }
}

/// How a message goes to `endpoint` under the definition's `fildes`:
/// by descriptor only when there is a file to pass (`file`), the
/// endpoint is a unix socket (TCP cannot carry a descriptor, and a
/// remote clamd could not open it) and `fildes` is `auto`.
pub fn how(endpoint: &Endpoint, fildes: Fildes, file: bool) -> Sent {
    match (endpoint, fildes, file) {
        (Endpoint::Unix(_), Fildes::Auto, true) => Sent::Fildes,
        _ => Sent::Instream,
    }
}

/// What [`scan`] came to: the answer, and how the message went to the
/// endpoint that gave it (or to the last one tried; `None` when none
/// was).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanned {
    /// What clamd said, or why it could not be asked.
    pub answer: Answer,
    /// How the message went.
    pub sent: Option<Sent>,
}

/// Scans `message` with the first of `endpoints` that gives an answer,
/// following the rules in the module documentation, each endpoint asked
/// the way [`how`] says; names matching an `unscanned` glob make the
/// answer [`Answer::Unscanned`].
pub fn scan(
    endpoints: &[Endpoint],
    connect_timeout: Duration,
    timeout: Duration,
    message: Message<'_>,
    fildes: Fildes,
    unscanned: &[String],
) -> Scanned {
    let mut sent = None;
    let answer = |answer, sent| Scanned { answer, sent };
    if endpoints.is_empty() {
        return answer(Answer::Failed("no clamd endpoints".to_string()), sent);
    }
    let mut failures = Vec::new();
    for endpoint in endpoints {
        let name = endpoint_name(endpoint);
        let way = how(endpoint, fildes, message.file.is_some());
        sent = Some(way);
        let reply = match (way, message.file) {
            (Sent::Fildes, Some(fd)) => {
                by_descriptor(endpoint, fd, connect_timeout, timeout)
            }
            _ => instream(endpoint, message.bytes, connect_timeout, timeout),
        };
        match reply {
            Ok(Reply::Clean) => return answer(Answer::Clean, sent),
            Ok(Reply::Found(names)) => {
                return answer(classify(names, unscanned), sent)
            }
            Ok(Reply::SizeLimit) => {
                if unscanned.iter().any(|g| glob_match(g, SIZE_LIMIT_NAME)) {
                    return answer(
                        Answer::Unscanned(SIZE_LIMIT_NAME.to_string()),
                        sent,
                    );
                }
                failures.push(format!("{name}: INSTREAM size limit exceeded"));
                break;
            }
            Ok(Reply::Error(text)) => {
                failures.push(format!("{name}: clamd error: {text}"));
            }
            Err(e @ Error::Timeout(_)) => {
                failures.push(format!("{name}: {e}"));
                break;
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    answer(Answer::Failed(failures.join("; ")), sent)
}

/// Hands the open regular file `file` to the clamd at the unix
/// `endpoint` with `zFILDES` and reads the reply. `timeout` bounds
/// everything after the connection. clamd closes the descriptor it
/// received when it is done; ours stays open.
pub fn by_descriptor(
    endpoint: &Endpoint,
    file: BorrowedFd<'_>,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<Reply, Error> {
    let mut conn =
        connect(endpoint, connect_timeout).map_err(Error::Connect)?;
    let deadline = Instant::now() + timeout;
    let sent = send_all(&conn, b"zFILDES\0", deadline)
        .and_then(|()| send_fd(&conn, file, deadline));
    match sent {
        Ok(()) => parse_instream(&read_reply(&mut conn, deadline, timeout)?),
        Err(e) if is_timeout(&e) => Err(Error::Timeout(timeout)),
        Err(e) => {
            Err(Error::Broken(format!("cannot pass the descriptor: {e}")))
        }
    }
}

/// Sends `message` to the clamd at `endpoint` with `zINSTREAM` and reads
/// the reply. `timeout` bounds everything after the connection.
pub fn instream(
    endpoint: &Endpoint,
    message: &[u8],
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<Reply, Error> {
    let mut conn =
        connect(endpoint, connect_timeout).map_err(Error::Connect)?;
    let deadline = Instant::now() + timeout;
    let sent = send_stream(&conn, message, deadline);
    match sent {
        Ok(()) => parse_instream(&read_reply(&mut conn, deadline, timeout)?),
        Err(e) if is_timeout(&e) => Err(Error::Timeout(timeout)),
        Err(e) => {
            // clamd closes the connection right after the size-limit
            // reply, possibly while we are still sending: the reply is
            // waiting to be read. Whatever it says, a message not sent
            // whole is never clean.
            let lost = || {
                Error::Broken(format!("connection lost while sending: {e}"))
            };
            match read_reply(&mut conn, deadline, timeout)
                .and_then(|reply| parse_instream(&reply))
            {
                Ok(Reply::Clean) | Err(_) => Err(lost()),
                Ok(reply) => Ok(reply),
            }
        }
    }
}

/// Asks the clamd at `endpoint` for `PONG`.
pub fn ping(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<(), Error> {
    let reply = command(endpoint, b"zPING\0", connect_timeout, timeout)?;
    match reply.trim() {
        "PONG" => Ok(()),
        "" => Err(Error::Broken("empty reply".to_string())),
        other => Err(Error::Garbled(one_line(other, 200))),
    }
}

/// Asks the clamd at `endpoint` for its version line, e.g.
/// `ClamAV 1.4.6/27456/Sat Nov 21 09:24:02 2026` (see [`parse_version`]).
pub fn version(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<String, Error> {
    let reply = command(endpoint, b"zVERSION\0", connect_timeout, timeout)?;
    let reply = reply.trim();
    if reply.is_empty() {
        Err(Error::Broken("empty reply".to_string()))
    } else if reply.starts_with("ClamAV ") {
        Ok(one_line(reply, 200))
    } else {
        Err(Error::Garbled(one_line(reply, 200)))
    }
}

/// Splits a ClamAV version line `ClamAV 1.4.6/27456/Sat Nov 21 09:24:02
/// 2026` into engine (`ClamAV 1.4.6`), signature version (`27456`) and
/// signature date; `ClamAV 1.4.6` alone (no daily database loaded) has
/// neither of the last two.
pub fn parse_version(
    line: &str,
) -> (Option<String>, Option<String>, Option<String>) {
    let mut parts = line.trim().splitn(3, '/').map(str::trim);
    let nonempty = |s: Option<&str>| {
        s.filter(|s| !s.is_empty()).map(|s| one_line(s, 200))
    };
    let engine = nonempty(parts.next());
    let signatures = nonempty(parts.next());
    let date = nonempty(parts.next());
    (engine, signatures, date)
}

/// `qmvc -s` for a clamd definition: the first endpoint answering
/// `PING`, and its `VERSION`.
pub fn status(
    endpoints: &[Endpoint],
    connect_timeout: Duration,
    timeout: Duration,
) -> Status {
    let mut failures = Vec::new();
    for endpoint in endpoints {
        let name = endpoint_name(endpoint);
        match ping(endpoint, connect_timeout, timeout) {
            Ok(()) => {
                let (engine, signatures, date) =
                    match version(endpoint, connect_timeout, timeout) {
                        Ok(line) => parse_version(&line),
                        Err(_) => (None, None, None),
                    };
                return Status {
                    reachable: Ok(name),
                    engine,
                    signatures,
                    date,
                };
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    Status::unreachable(failures, "clamd")
}

/// Parses the reply to `zINSTREAM` (without its NUL).
pub fn parse_instream(reply: &str) -> Result<Reply, Error> {
    let mut names = Vec::new();
    let mut size_limit = false;
    let mut errors = Vec::new();
    let mut clean = false;
    let lines = reply.split(['\n', '\0']).map(str::trim);
    for line in lines.filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_suffix(" FOUND") {
            let name = strip_detection_info(strip_stream(rest));
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(Error::Garbled(one_line(line, 200)));
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        } else if let Some(rest) = line.strip_suffix("ERROR") {
            let text = strip_stream(rest.trim());
            if text.contains("size limit exceeded") {
                size_limit = true;
            } else {
                errors.push(one_line(text, 200));
            }
        } else if strip_stream(line) == "OK" {
            clean = true;
        } else {
            return Err(Error::Garbled(one_line(line, 200)));
        }
    }
    if !names.is_empty() {
        Ok(Reply::Found(names))
    } else if size_limit {
        Ok(Reply::SizeLimit)
    } else if !errors.is_empty() {
        Ok(Reply::Error(errors.join("; ")))
    } else if clean {
        Ok(Reply::Clean)
    } else {
        Err(Error::Broken("connection closed without a reply".to_string()))
    }
}

/// `stream: X` (`zINSTREAM`) or `fd[N]: X` (`zFILDES`) → `X`.
fn strip_stream(text: &str) -> &str {
    if let Some(rest) = text.strip_prefix("stream:") {
        return rest.trim();
    }
    let fd = text.strip_prefix("fd[").and_then(|rest| rest.split_once("]:"));
    match fd {
        Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => {
            rest.trim()
        }
        _ => text,
    }
}

/// `Name(44d88612fea8a8f36de82e1278abb02f:68)` (`ExtendedDetectionInfo`)
/// → `Name`.
fn strip_detection_info(name: &str) -> &str {
    let name = name.trim();
    if let Some(open) = name.rfind('(') {
        let info = name.get(open..).unwrap_or_default();
        if info.ends_with(')') && info.contains(':') {
            return name.get(..open).unwrap_or(name).trim_end();
        }
    }
    name
}

/// Sends one command and reads its reply.
fn command(
    endpoint: &Endpoint,
    command: &[u8],
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<String, Error> {
    let mut conn =
        connect(endpoint, connect_timeout).map_err(Error::Connect)?;
    let deadline = Instant::now() + timeout;
    match send_all(&conn, command, deadline) {
        Ok(()) => {}
        Err(e) if is_timeout(&e) => return Err(Error::Timeout(timeout)),
        Err(e) => {
            return Err(Error::Broken(format!("cannot send command: {e}")))
        }
    }
    read_reply(&mut conn, deadline, timeout)
}

/// `zINSTREAM\0`, the message in chunks, and the terminating empty
/// chunk.
fn send_stream(
    conn: &Conn,
    message: &[u8],
    deadline: Instant,
) -> io::Result<()> {
    send_all(conn, b"zINSTREAM\0", deadline)?;
    for chunk in message.chunks(CHUNK) {
        // A chunk is at most CHUNK bytes, which fits in a u32.
        let length = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        send_all(conn, &length.to_be_bytes(), deadline)?;
        send_all(conn, chunk, deadline)?;
    }
    send_all(conn, &0u32.to_be_bytes(), deadline)
}

/// Reads a reply up to its NUL or the end of the connection. A reply
/// cut short by a reset still counts: clamd resets the connection when
/// it closes it with part of the message unread.
fn read_reply(
    conn: &mut Conn,
    deadline: Instant,
    timeout: Duration,
) -> Result<String, Error> {
    let mut reply =
        match read_bounded(conn, deadline, MAX_REPLY, |r| r.contains(&0)) {
            Ok(reply) => reply,
            Err(ReadError::Timeout) => return Err(Error::Timeout(timeout)),
            Err(ReadError::TooLong(reply)) => {
                let text = String::from_utf8_lossy(&reply);
                return Err(Error::Garbled(format!(
                    "reply longer than {MAX_REPLY} bytes: {}",
                    one_line(&text, 100)
                )));
            }
            Err(ReadError::Lost(e)) => {
                return Err(Error::Broken(format!(
                    "connection lost before a reply: {e}"
                )))
            }
        };
    if let Some(nul) = reply.iter().position(|&b| b == 0) {
        reply.truncate(nul);
    }
    if reply.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Broken(
            "connection closed without a reply".to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse_instream("stream: OK"), Ok(Reply::Clean));
        assert_eq!(
            parse_instream("stream: Eicar-Signature FOUND"),
            Ok(Reply::Found(vec!["Eicar-Signature".into()]))
        );
        assert_eq!(
            parse_instream(
                "stream: Eicar(44d88612fea8a8f36de82e1278abb02f:68) FOUND"
            ),
            Ok(Reply::Found(vec!["Eicar".into()]))
        );
        assert_eq!(
            parse_instream(
                "stream: A FOUND\nstream: B FOUND\nstream: A FOUND"
            ),
            Ok(Reply::Found(vec!["A".into(), "B".into()]))
        );
        assert_eq!(
            parse_instream("INSTREAM size limit exceeded. ERROR"),
            Ok(Reply::SizeLimit)
        );
        assert_eq!(
            parse_instream("stream: Can't allocate memory ERROR"),
            Ok(Reply::Error("Can't allocate memory".into()))
        );
        assert!(matches!(parse_instream(""), Err(Error::Broken(_))));
        assert!(matches!(parse_instream(" \n"), Err(Error::Broken(_))));
        assert!(matches!(
            parse_instream("UNKNOWN COMMAND"),
            Err(Error::Garbled(_))
        ));
        assert!(matches!(
            parse_instream("stream:  FOUND"),
            Err(Error::Garbled(_))
        ));
        assert!(matches!(parse_instream("PONG"), Err(Error::Garbled(_))));
        assert_eq!(parse_instream("fd[10]: OK"), Ok(Reply::Clean));
        assert_eq!(
            parse_instream("fd[7]: Eicar FOUND"),
            Ok(Reply::Found(vec!["Eicar".into()]))
        );
        assert!(matches!(parse_instream("fd[x]: OK"), Err(Error::Garbled(_))));
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("ClamAV 1.4.6/27456/Sat Nov 21 09:24:02 2026"),
            (
                Some("ClamAV 1.4.6".into()),
                Some("27456".into()),
                Some("Sat Nov 21 09:24:02 2026".into())
            )
        );
        assert_eq!(
            parse_version("ClamAV 1.4.6\n"),
            (Some("ClamAV 1.4.6".into()), None, None)
        );
        assert_eq!(parse_version(""), (None, None, None));
    }
}
