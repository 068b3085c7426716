/*!
SpamAssassin's spamd: SPAMC/1.5 over `unix:PATH` and `tcp:HOST:PORT`
endpoints tried in order.

[`check`] sends one `SYMBOLS` request per connection:

```text
SYMBOLS SPAMC/1.5\r\n
Content-length: N\r\n        (small l: spamd ignores `Content-Length`)
User: USER\r\n               (only when the request names a user)
\r\n
<the N bytes of the message, as received>
```

and then half-closes the connection (spamd reads the body line by line
and, when the last line has no LF, waits for the end of the input). The
reply is `SPAMD/1.x 0 EX_OK`, `Content-length`, `Spam: True ; S / R`, an
empty line and the names of the rules that hit, comma-separated; at most
[`MAX_REPLY`] bytes are read. An error reply `SPAMD/1.x CODE TEXT` (a
sysexits code: 76 protocol, 69 unavailable, 79 time-out) fails with
`spamd: CODE TEXT`.

A `User` holding control characters (CR or LF would end the line and
let the rest pose as a header of its own, such as a second
`Content-length`) is refused before anything is sent.

Time bounds and order are clamd's ([`crate::clamd`]): a connection
attempt is bounded by the connect time-out, sending and the whole reply
by `timeout` as one deadline. [`check`] moves on to the next endpoint
when one cannot be reached, breaks before a reply, gives a reply it
does not understand, or an error other than 76 (out of service, its own
time-out: another spamd may do); it stops at a verdict, at a 76 (every
spamd says the same to the same request) and at a time-out (the time is
spent).
*/

use std::time::Duration;

use qmvc_profile::Endpoint;

use crate::connect::{endpoint_name, exchange, Failure};
use crate::spam::{SpamAnswer, SpamRequest, SpamVerdict};
use crate::spamtext;
use crate::{one_line, Status};

/// The longest reply read from spamd, in bytes.
pub const MAX_REPLY: usize = 64 * 1024;

/// The sysexits code of spamd's protocol errors (`76 Bad header line`):
/// the request itself is refused, by every spamd.
const EX_PROTOCOL: u32 = 76;

/// The tiny message [`status`] asks spamd to add its headers to.
const PROBE: &[u8] =
    b"From: qmvc@localhost\r\nSubject: qmvc -s\r\n\r\nstatus\r\n";

/// A reply of spamd: its status line and what follows.
#[derive(Clone, Debug, PartialEq)]
enum Reply {
    /// `SPAMD/1.x 0 TEXT`: the header lines (name, value) and the body.
    Done { text: String, headers: Vec<(String, String)>, body: Vec<u8> },
    /// `SPAMD/1.x CODE TEXT` with a code other than 0.
    Error { code: u32, text: String },
}

/// Asks the first of `endpoints` that answers about `request` (`SYMBOLS`).
pub fn check(
    endpoints: &[Endpoint],
    connect_timeout: Duration,
    timeout: Duration,
    request: &SpamRequest<'_>,
) -> SpamAnswer {
    if let Some(why) = spamtext::refuse("spamd", request.user, endpoints.len())
    {
        return SpamAnswer::Failed(why);
    }
    let head = request_head("SYMBOLS", request.message.len(), request.user);
    let mut failures = Vec::new();
    for endpoint in endpoints {
        let name = endpoint_name(endpoint);
        let reply = exchange(
            endpoint,
            connect_timeout,
            timeout,
            &[head.as_bytes(), request.message],
            true,
            MAX_REPLY,
            |_| false,
        );
        let reply = match reply {
            Ok(reply) => reply,
            Err(e @ Failure::Timeout(_)) => {
                failures.push(format!("{name}: {e}"));
                break;
            }
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        match parse_reply(&reply.bytes) {
            Ok(Reply::Error { code, text }) => {
                failures.push(format!("{name}: spamd: {code} {text}"));
                if code == EX_PROTOCOL {
                    break;
                }
            }
            Ok(Reply::Done { .. }) if !reply.sent_whole => failures.push(
                format!("{name}: connection lost while sending the message"),
            ),
            Ok(Reply::Done { headers, body, .. }) => {
                match verdict(&headers, &body) {
                    Ok(v) => return SpamAnswer::Judged(v),
                    Err(why) => failures.push(format!("{name}: {why}")),
                }
            }
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    SpamAnswer::Failed(failures.join("; "))
}

/// Whether spamd answers, and its version, for `qmvc -s`: the first
/// endpoint answering `PING` with `PONG`; its version from the
/// `X-Spam-Checker-Version` field it adds to a tiny message (`HEADERS`),
/// e.g. `SpamAssassin 4.0.1 (2024-03-26)`.
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
                return Status {
                    reachable: Ok(name),
                    engine: version(endpoint, connect_timeout, timeout),
                    signatures: None,
                    date: None,
                }
            }
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    Status::unreachable(failures, "spamd")
}

/// Asks the spamd at `endpoint` for `PONG`.
pub(crate) fn ping(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<(), String> {
    let reply = exchange(
        endpoint,
        connect_timeout,
        timeout,
        &[b"PING SPAMC/1.5\r\n\r\n"],
        true,
        MAX_REPLY,
        |_| false,
    )
    .map_err(|e| e.to_string())?;
    match parse_reply(&reply.bytes)? {
        Reply::Done { text, .. } if text == "PONG" => Ok(()),
        Reply::Done { text, .. } => {
            Err(format!("unexpected reply to PING: {}", one_line(&text, 100)))
        }
        Reply::Error { code, text } => Err(format!("spamd: {code} {text}")),
    }
}

/// spamd's version: `X-Spam-Checker-Version` of a tiny message, without
/// its ` on HOST`.
fn version(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    timeout: Duration,
) -> Option<String> {
    let head = request_head("HEADERS", PROBE.len(), "");
    let reply = exchange(
        endpoint,
        connect_timeout,
        timeout,
        &[head.as_bytes(), PROBE],
        true,
        MAX_REPLY,
        |_| false,
    )
    .ok()?;
    match parse_reply(&reply.bytes).ok()? {
        Reply::Done { body, .. } => checker_version(&body),
        Reply::Error { .. } => None,
    }
}

/// The command line and header of a request with a body of `length`
/// bytes, up to and with the empty line. `user` is checked already.
fn request_head(command: &str, length: usize, user: &str) -> String {
    let mut head =
        format!("{command} SPAMC/1.5\r\nContent-length: {length}\r\n");
    if !user.is_empty() {
        head.push_str(&format!("User: {user}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// The verdict in a whole `SYMBOLS` reply, or why there is none: what
/// [`check`] makes of the bytes one spamd sent back, without the
/// connection (the fuzz targets, `fuzz/`, feed it any bytes).
pub fn read_reply(reply: &[u8]) -> Result<SpamVerdict, String> {
    match parse_reply(reply)? {
        Reply::Error { code, text } => Err(format!("spamd: {code} {text}")),
        Reply::Done { headers, body, .. } => verdict(&headers, &body),
    }
}

/// Splits a reply into its status line, header lines and body (as long
/// as its `Content-length` says, when it has one).
fn parse_reply(reply: &[u8]) -> Result<Reply, String> {
    let (first, mut rest) = split_line(reply);
    let first = String::from_utf8_lossy(first);
    let garbled = || format!("unexpected reply: {}", one_line(&first, 100));
    let mut words = first.splitn(3, ' ');
    let protocol = words.next().unwrap_or_default();
    let version = protocol.strip_prefix("SPAMD/").ok_or_else(garbled)?;
    if version.is_empty()
        || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Err(garbled());
    }
    let code = words
        .next()
        .filter(|c| c.len() <= 3 && !c.is_empty())
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or_else(garbled)?;
    let text = one_line(words.next().unwrap_or_default(), 200);
    if code != 0 {
        return Ok(Reply::Error { code, text });
    }
    let mut headers = Vec::new();
    let mut ended = false;
    while !rest.is_empty() {
        let (line, after) = split_line(rest);
        rest = after;
        if line.is_empty() {
            ended = true;
            break;
        }
        let line = String::from_utf8_lossy(line);
        let (name, value) = line.split_once(':').ok_or_else(|| {
            format!("unexpected reply line: {}", one_line(&line, 100))
        })?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length = header(&headers, "Content-length")
        .map(|v| v.parse::<usize>().map_err(|_| garbled_length(v)))
        .transpose()?;
    let body = match length {
        Some(n) if !ended || rest.len() < n => {
            return Err(format!(
                "reply cut short: {} of {n} bytes",
                rest.len()
            ))
        }
        Some(n) => rest.get(..n).unwrap_or_default().to_vec(),
        None => rest.to_vec(),
    };
    Ok(Reply::Done { text, headers, body })
}

fn garbled_length(value: &str) -> String {
    format!("unexpected Content-length: {}", one_line(value, 40))
}

/// The first line of `bytes` without its CRLF (or LF), and the rest.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let line = bytes.get(..lf).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line, bytes.get(lf + 1..).unwrap_or_default())
        }
        None => (bytes, &[]),
    }
}

/// The value of the first header line called `name` (spamd's case).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The verdict of a `SYMBOLS` reply: its `Spam:` line and the rule names
/// of its body.
fn verdict(
    headers: &[(String, String)],
    body: &[u8],
) -> Result<SpamVerdict, String> {
    let line = header(headers, "Spam")
        .ok_or_else(|| "reply without a Spam: line".to_string())?;
    let (spam, score_text, required_text) = parse_spam_line(line)?;
    let body = String::from_utf8_lossy(body);
    Ok(SpamVerdict {
        spam,
        score: spamtext::score(&score_text).unwrap_or_default(),
        required: spamtext::score(&required_text).unwrap_or_default(),
        score_text,
        required_text,
        symbols: spamtext::symbols(body.split(',')),
        action: None,
    })
}

/// `True ; 1000.0 / 5.0` → (spam, score, required score).
fn parse_spam_line(value: &str) -> Result<(bool, String, String), String> {
    let garbled =
        || format!("unexpected Spam: line: {}", one_line(value, 100));
    let (flag, scores) = value.split_once(';').ok_or_else(garbled)?;
    let spam = match flag.trim() {
        "True" | "Yes" => true,
        "False" | "No" => false,
        _ => return Err(garbled()),
    };
    let (score, required) = scores.split_once('/').ok_or_else(garbled)?;
    let (score, required) = (score.trim(), required.trim());
    if spamtext::score(score).is_none() || spamtext::score(required).is_none()
    {
        return Err(garbled());
    }
    Ok((spam, score.to_string(), required.to_string()))
}

/// `X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-26) on host` in a
/// message header (folded or not) → `SpamAssassin 4.0.1 (2024-03-26)`.
fn checker_version(message: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let lines = text.lines().take_while(|l| !l.trim().is_empty());
    let mut value = None;
    for line in lines {
        if value.is_some() {
            match line.strip_prefix([' ', '\t']) {
                Some(more) => {
                    value =
                        value.map(|v: String| format!("{v} {}", more.trim()));
                    continue;
                }
                None => break,
            }
        }
        if let Some((name, rest)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("X-Spam-Checker-Version") {
                value = Some(rest.trim().to_string());
            }
        }
    }
    let value = value?;
    let value = match value.rfind(" on ") {
        Some(at) => value.get(..at).unwrap_or(&value),
        None => &value,
    };
    Some(one_line(value, 200)).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(reply: &str) -> (Vec<(String, String)>, Vec<u8>) {
        match parse_reply(reply.as_bytes()) {
            Ok(Reply::Done { headers, body, .. }) => (headers, body),
            other => panic!("{reply:?}: {other:?}"),
        }
    }

    #[test]
    fn requests() {
        assert_eq!(
            request_head("SYMBOLS", 12, "alice"),
            "SYMBOLS SPAMC/1.5\r\nContent-length: 12\r\nUser: alice\r\n\r\n"
        );
        assert_eq!(
            request_head("HEADERS", 0, ""),
            "HEADERS SPAMC/1.5\r\nContent-length: 0\r\n\r\n"
        );
    }

    #[test]
    fn verdicts() {
        let (h, b) = done(
            "SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\n\
             Spam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED,NO_RELAYS",
        );
        let v = verdict(&h, &b).expect("a verdict");
        assert!(v.spam);
        assert_eq!(v.score, 1000.0);
        assert_eq!(v.score_text, "1000.0");
        assert_eq!(v.required_text, "5.0");
        assert_eq!(v.symbols, ["GTUBE", "NO_RECEIVED", "NO_RELAYS"]);
        assert_eq!(v.action, None);

        let (h, b) = done(
            "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\
             Spam: False ; -0.0 / 5.0\r\n\r\n",
        );
        let v = verdict(&h, &b).expect("a verdict");
        assert!(!v.spam);
        assert_eq!(v.score_text, "-0.0");
        assert!(v.symbols.is_empty());

        let (h, b) = done(
            "SPAMD/1.1 0 EX_OK\r\nSpam: False ; -3.2 / 5.0\r\n\r\nA,B\r\n",
        );
        let v = verdict(&h, &b).expect("a verdict");
        assert_eq!(v.score, -3.2);
        assert_eq!(v.symbols, ["A", "B"]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_reply(
                b"SPAMD/1.0 76 Bad header line: (User header contains \
                  control chars)\r\n"
            ),
            Ok(Reply::Error {
                code: 76,
                text: "Bad header line: (User header contains control chars)"
                    .to_string()
            })
        );
        assert_eq!(
            parse_reply(b"SPAMD/1.5 0 PONG\r\n"),
            Ok(Reply::Done {
                text: "PONG".to_string(),
                headers: vec![],
                body: vec![]
            })
        );
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "HTTP/1.1 200 OK\r\n\r\n",
            "SPAMD/ 0 EX_OK\r\n",
            "SPAMD/1.1 x EX_OK\r\n",
            "SPAMD/1.1 99999 EX_OK\r\n",
            "SPAMD/1.1\r\n",
            "SPAMD/1.1 0 EX_OK\r\nno colon\r\n\r\n",
            "SPAMD/1.1 0 EX_OK\r\nContent-length: x\r\n\r\n",
            "SPAMD/1.1 0 EX_OK\r\nContent-length: 99\r\n\r\nGTUBE",
            "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1 / 5",
        ] {
            assert!(parse_reply(bad.as_bytes()).is_err(), "{bad:?}");
        }
        for bad in [
            "",
            "True",
            "True ; 1000.0",
            "Maybe ; 1.0 / 5.0",
            "True ; x / 5.0",
            "True ; 1.0 / NaN",
            "True ; 1.0 / ",
        ] {
            assert!(parse_spam_line(bad).is_err(), "{bad:?}");
        }
        let (h, b) = done("SPAMD/1.1 0 EX_OK\r\n\r\nGTUBE");
        assert!(verdict(&h, &b).is_err(), "no Spam: line");
    }

    #[test]
    fn huge_symbol_lists() {
        let names: Vec<String> =
            (0..5000).map(|i| format!("RULE_{i}")).collect();
        let body = format!("{},{}", names.join(","), "X".repeat(70));
        let reply = format!(
            "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9.0 / 5.0\r\n\r\n{body}"
        );
        let (h, b) = done(&reply);
        let v = verdict(&h, &b).expect("a verdict");
        assert_eq!(v.symbols.len(), spamtext::MAX_SYMBOLS);
        assert!(v.symbols.iter().all(|s| s.starts_with("RULE_")));
    }

    #[test]
    fn versions() {
        let message = b"Received: x\r\nX-Spam-Checker-Version: SpamAssassin \
            4.0.1 (2024-03-26) on\r\n\thost.example\r\nSubject: y\r\n\r\nbody";
        assert_eq!(
            checker_version(message).as_deref(),
            Some("SpamAssassin 4.0.1 (2024-03-26)")
        );
        assert_eq!(
            checker_version(b"X-Spam-Checker-Version: SpamAssassin 4.0.1\n\n")
                .as_deref(),
            Some("SpamAssassin 4.0.1")
        );
        assert_eq!(
            checker_version(b"Subject: x\n\nX-Spam-Checker-Version: y"),
            None
        );
    }
}
