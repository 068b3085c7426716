/*!
rspamd: `POST /checkv2` over HTTP/1.1 at `unix:PATH` and `tcp:HOST:PORT`
endpoints tried in order.

[`check`] sends, on a connection of its own,

```text
POST /checkv2 HTTP/1.1\r\n
Host: HOST\r\n                 (`localhost` for a unix socket)
Connection: close\r\n
Content-Length: N\r\n
User: USER\r\n                 (when the request names a user)
From: SENDER\r\n               (the envelope sender; `<>` when null)
Rcpt: RECIPIENT\r\n            (one line per recipient, at most 100)
IP: ADDRESS\r\n                (the SMTP client, when known)
\r\n
<the N bytes of the message>
```

Envelope values are hostile: a sender, recipient or address holding
control characters (CR or LF would start a header of the sender's
choosing) or longer than [`MAX_HEADER_VALUE`] is left out (they only
help rspamd's rules), and an `IP` that is not an address too; a `User`
like that fails the request before anything is sent, as for spamd.

The reply's status line, header and body (by `Content-Length`, chunked,
or up to the end of the connection) are read, at most [`MAX_REPLY`]
bytes. A status other than 200 fails with it. The body is JSON: `score`,
`required_score` (the reject threshold), `action` and the names of
`symbols`. rspamd has no yes or no: the message is spam when the action
is `add header`, `rewrite subject` or `reject`.

Time bounds and the order of endpoints are spamd's ([`crate::spamd`]):
the next endpoint when one cannot be reached, breaks before a reply,
gives a reply that is not understood or a 5xx status; stop at a verdict,
another status (the request itself is refused) or a time-out.
*/

use std::net::IpAddr;
use std::time::Duration;

use qmvc_profile::Endpoint;
use serde_json::Value;

use crate::connect::{endpoint_name, exchange, Failure};
use crate::spam::{SpamAnswer, SpamRequest, SpamVerdict};
use crate::spamtext::{self, header_value_ok};
use crate::{one_line, Status};

/// The longest reply read from rspamd, in bytes.
pub const MAX_REPLY: usize = 1024 * 1024;

/// Longer envelope values are not sent.
pub const MAX_HEADER_VALUE: usize = 998;

/// At most this many `Rcpt` lines are sent.
pub const MAX_RCPT: usize = 100;

/// The actions that make a message spam.
const SPAM_ACTIONS: [&str; 3] = ["add header", "rewrite subject", "reject"];

/// An HTTP reply: status, header lines, body.
#[derive(Debug, PartialEq)]
struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Why an HTTP reply could not be read.
#[derive(Debug, PartialEq)]
enum HttpError {
    /// Not all of it is there (yet).
    Incomplete,
    /// Not HTTP: why.
    Garbled(String),
}

/// Asks the first of `endpoints` that answers about `request` (`/checkv2`).
pub fn check(
    endpoints: &[Endpoint],
    connect_timeout: Duration,
    timeout: Duration,
    request: &SpamRequest<'_>,
) -> SpamAnswer {
    if let Some(why) =
        spamtext::refuse("rspamd", request.user, endpoints.len())
    {
        return SpamAnswer::Failed(why);
    }
    let mut failures = Vec::new();
    for endpoint in endpoints {
        let name = endpoint_name(endpoint);
        let head = check_head(endpoint, request);
        let reply = match ask(
            endpoint,
            connect_timeout,
            timeout,
            &[head.as_bytes(), request.message],
        ) {
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
        match reply {
            Ok(http) if http.status == 200 => match verdict(&http.body) {
                Ok(v) => return SpamAnswer::Judged(v),
                Err(why) => failures.push(format!("{name}: {why}")),
            },
            Ok(http) => {
                failures.push(format!(
                    "{name}: rspamd: HTTP status {}{}",
                    http.status,
                    error_text(&http.body)
                ));
                if http.status < 500 {
                    break;
                }
            }
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    SpamAnswer::Failed(failures.join("; "))
}

/// Whether rspamd answers, and its version, for `qmvc -s`: the first
/// endpoint answering `GET /ping` with `pong`; its version from the
/// `Server` field of that reply (`rspamd/3.4`), when it has one.
pub fn status(
    endpoints: &[Endpoint],
    connect_timeout: Duration,
    timeout: Duration,
) -> Status {
    let mut failures = Vec::new();
    for endpoint in endpoints {
        let name = endpoint_name(endpoint);
        match ping(endpoint, connect_timeout, timeout) {
            Ok(server) => {
                return Status {
                    reachable: Ok(name),
                    engine: server,
                    signatures: None,
                    date: None,
                }
            }
            Err(why) => failures.push(format!("{name}: {why}")),
        }
    }
    Status::unreachable(failures, "rspamd")
}

/// `GET /ping` at `endpoint`: `Ok` when it says `pong`, with its
/// `Server` field.
pub(crate) fn ping(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<Option<String>, String> {
    let head = format!(
        "GET /ping HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        host(endpoint)
    );
    let http = ask(endpoint, connect_timeout, timeout, &[head.as_bytes()])
        .map_err(|e| e.to_string())??;
    let body = String::from_utf8_lossy(&http.body);
    if http.status != 200 || body.trim() != "pong" {
        return Err(format!(
            "unexpected reply to /ping: {} {}",
            http.status,
            one_line(&body, 100)
        ));
    }
    Ok(field(&http.headers, "Server")
        .map(|s| one_line(s, 200))
        .filter(|s| !s.is_empty()))
}

/// Sends `request` to `endpoint` and reads the HTTP reply: `Err` when
/// no reply came, `Ok(Err)` when it is not HTTP.
fn ask(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    timeout: Duration,
    request: &[&[u8]],
) -> Result<Result<Http, String>, Failure> {
    let reply = exchange(
        endpoint,
        connect_timeout,
        timeout,
        request,
        false,
        MAX_REPLY,
        |r| parse_http(r, false).is_ok(),
    )?;
    Ok(match parse_http(&reply.bytes, true) {
        // A reply while the message was still being sent (rspamd refused
        // it early) is an error at best.
        Ok(http) if !reply.sent_whole && http.status == 200 => {
            Err("connection lost while sending the message".to_string())
        }
        Ok(http) => Ok(http),
        Err(HttpError::Incomplete) => Err("reply cut short".to_string()),
        Err(HttpError::Garbled(why)) => Err(why),
    })
}

/// The verdict in a whole `/checkv2` reply, or why there is none: what
/// [`check`] makes of the bytes one rspamd sent back, without the
/// connection (the fuzz targets, `fuzz/`, feed it any bytes). Whether
/// the reply is complete yet is asked of the same parser first, as
/// [`check`] does while it reads.
pub fn read_reply(reply: &[u8]) -> Result<SpamVerdict, String> {
    let _complete = parse_http(reply, false).is_ok();
    match parse_http(reply, true) {
        Ok(http) if http.status == 200 => verdict(&http.body),
        Ok(http) => Err(format!(
            "rspamd: HTTP status {}{}",
            http.status,
            error_text(&http.body)
        )),
        Err(HttpError::Incomplete) => Err("reply cut short".to_string()),
        Err(HttpError::Garbled(why)) => Err(why),
    }
}

/// The `Host` of a request to `endpoint`.
fn host(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Unix(_) => "localhost".to_string(),
        Endpoint::Tcp { host, port } if host.contains(':') => {
            format!("[{host}]:{port}")
        }
        Endpoint::Tcp { host, port } => format!("{host}:{port}"),
    }
}

/// The request line and header of a `/checkv2` request, up to and with
/// the empty line. `request.user` is checked already; the other values
/// are sent only when they are fit for a header line.
fn check_head(endpoint: &Endpoint, request: &SpamRequest<'_>) -> String {
    let fit = |v: &str| !v.is_empty() && header_value_ok(v, MAX_HEADER_VALUE);
    let mut head = format!(
        "POST /checkv2 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        host(endpoint),
        request.message.len()
    );
    if !request.user.is_empty() {
        head.push_str(&format!("User: {}\r\n", request.user));
    }
    if request.sender.is_empty() {
        // The null sender: a bounce, which rspamd's rules tell apart
        // from a sender it was not told.
        head.push_str("From: <>\r\n");
    } else if fit(request.sender) {
        head.push_str(&format!("From: {}\r\n", request.sender));
    }
    for rcpt in request.recipients.iter().filter(|r| fit(r)).take(MAX_RCPT) {
        head.push_str(&format!("Rcpt: {rcpt}\r\n"));
    }
    if let Some(ip) =
        request.client_ip.and_then(|ip| ip.parse::<IpAddr>().ok())
    {
        head.push_str(&format!("IP: {ip}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Parses an HTTP reply; `at_end` when the connection has ended (a body
/// without a length then ends there).
fn parse_http(reply: &[u8], at_end: bool) -> Result<Http, HttpError> {
    let garbled = |why: &str, text: &[u8]| {
        HttpError::Garbled(format!(
            "{why}: {}",
            one_line(&String::from_utf8_lossy(text), 100)
        ))
    };
    let end = find(reply, b"\r\n\r\n").ok_or(HttpError::Incomplete)?;
    let head = reply.get(..end).unwrap_or_default();
    let rest = reply.get(end + 4..).unwrap_or_default();
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut words = first.splitn(3, ' ');
    let protocol = words.next().unwrap_or_default();
    let status = words
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok());
    let status = match status {
        Some(s) if protocol.starts_with("HTTP/1.") => s,
        _ => return Err(garbled("not an HTTP reply", first.as_bytes())),
    };
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| garbled("bad HTTP header line", line.as_bytes()))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let chunked = field(&headers, "Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = field(&headers, "Content-Length") {
        let length = length
            .parse::<usize>()
            .map_err(|_| garbled("bad Content-Length", length.as_bytes()))?;
        rest.get(..length).ok_or(HttpError::Incomplete)?.to_vec()
    } else if at_end {
        rest.to_vec()
    } else {
        return Err(HttpError::Incomplete);
    };
    Ok(Http { status, headers, body })
}

/// The body of a chunked reply (trailers ignored).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let eol = find(rest, b"\r\n").ok_or(HttpError::Incomplete)?;
        let line =
            String::from_utf8_lossy(rest.get(..eol).unwrap_or_default());
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .ok()
            .filter(|_| !size.is_empty() && size.len() <= 8)
            .ok_or_else(|| {
                HttpError::Garbled(format!(
                    "bad chunk size: {}",
                    one_line(&line, 40)
                ))
            })?;
        rest = rest.get(eol + 2..).unwrap_or_default();
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or(HttpError::Incomplete)?;
        body.extend_from_slice(chunk);
        rest = rest.get(size..).unwrap_or_default();
        match rest.get(..2) {
            Some(b"\r\n") => rest = rest.get(2..).unwrap_or_default(),
            Some(_) => {
                return Err(HttpError::Garbled("bad chunk end".to_string()))
            }
            None => return Err(HttpError::Incomplete),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of the first header field called `name`, in any case.
fn field<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `: TEXT` of an error body (`{"error": "TEXT"}` or plain text).
fn error_text(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(json) => match json.get("error").and_then(Value::as_str) {
            Some(error) => error.to_string(),
            None => String::new(),
        },
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let text = one_line(&text, 200);
    if text.is_empty() {
        text
    } else {
        format!(": {text}")
    }
}

/// The verdict in a `/checkv2` JSON body.
fn verdict(body: &[u8]) -> Result<SpamVerdict, String> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| format!("rspamd: reply is not JSON: {e}"))?;
    let number = |key: &str| -> Result<(f64, String), String> {
        let found = json.get(key).and_then(|v| match v {
            Value::Number(n) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| (f, n.to_string())),
            _ => None,
        });
        found.ok_or_else(|| {
            let why = json
                .get("error")
                .and_then(Value::as_str)
                .map(|e| format!(" ({})", one_line(e, 200)))
                .unwrap_or_default();
            format!("rspamd: reply without a numeric {key}{why}")
        })
    };
    let (score, score_text) = number("score")?;
    let (required, required_text) = number("required_score")?;
    let action = json
        .get("action")
        .and_then(Value::as_str)
        .map(|a| one_line(a, 64))
        .ok_or_else(|| "rspamd: reply without an action".to_string())?;
    let symbols = match json.get("symbols") {
        Some(Value::Object(map)) => {
            spamtext::symbols(map.keys().map(String::as_str))
        }
        _ => Vec::new(),
    };
    Ok(SpamVerdict {
        spam: SPAM_ACTIONS.contains(&action.as_str()),
        score,
        score_text,
        required,
        required_text,
        symbols,
        action: Some(action),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(reply: &str) -> Result<Http, HttpError> {
        parse_http(reply.as_bytes(), true)
    }

    #[test]
    fn requests() {
        let recipients = vec![
            "bob@example.com".to_string(),
            "evil@example.com\r\nX-Evil: 1".to_string(),
            "carol@example.com".to_string(),
        ];
        let request = SpamRequest {
            message: b"Subject: x\n\nhi\n",
            user: "alice",
            sender: "a@b\nc",
            recipients: &recipients,
            client_ip: Some("192.0.2.1\r\nX: y"),
        };
        let endpoint = Endpoint::Tcp { host: "127.0.0.1".into(), port: 11333 };
        assert_eq!(
            check_head(&endpoint, &request),
            "POST /checkv2 HTTP/1.1\r\nHost: 127.0.0.1:11333\r\n\
             Connection: close\r\nContent-Length: 15\r\nUser: alice\r\n\
             Rcpt: bob@example.com\r\nRcpt: carol@example.com\r\n\r\n"
        );
        let request = SpamRequest {
            sender: "",
            client_ip: Some("::1"),
            recipients: &[],
            user: "",
            ..request
        };
        let unix = Endpoint::Unix("/run/rspamd.sock".into());
        assert_eq!(
            check_head(&unix, &request),
            "POST /checkv2 HTTP/1.1\r\nHost: localhost\r\n\
             Connection: close\r\nContent-Length: 15\r\nFrom: <>\r\n\
             IP: ::1\r\n\r\n"
        );
    }

    #[test]
    fn replies() {
        let r = http("HTTP/1.1 200 OK\r\nServer: rspamd/3.4\r\nContent-Length: 4\r\n\r\npongXX")
            .expect("a reply");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"pong"[..]));
        assert_eq!(field(&r.headers, "server"), Some("rspamd/3.4"));

        let r = http(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
             4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n",
        )
        .expect("a chunked reply");
        assert_eq!(r.body, b"{\"a\":1}");

        let r = http("HTTP/1.0 500 Oops\r\n\r\nbroken").expect("to the end");
        assert_eq!((r.status, r.body.as_slice()), (500, &b"broken"[..]));
        assert_eq!(
            parse_http(b"HTTP/1.0 200 OK\r\n\r\nmore to come", false),
            Err(HttpError::Incomplete)
        );
        for short in [
            "HTTP/1.1 200 OK\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
        ] {
            assert_eq!(http(short), Err(HttpError::Incomplete), "{short:?}");
        }
        for bad in [
            "SPAMD/1.1 0 EX_OK\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
        ] {
            assert!(matches!(http(bad), Err(HttpError::Garbled(_))), "{bad:?}");
        }
    }

    #[test]
    fn verdicts() {
        let v = verdict(
            br#"{"is_skipped":true,"score":15.0,"required_score":15.0,
                "action":"reject","symbols":{"GTUBE":{"score":0},
                "A B":{}, "ARC_NA":{}}}"#,
        )
        .expect("a verdict");
        assert!(v.spam);
        assert_eq!(v.score_text, "15.0");
        assert_eq!(v.required_text, "15.0");
        assert_eq!(v.symbols, ["ARC_NA", "GTUBE"]);
        assert_eq!(v.action.as_deref(), Some("reject"));

        let v = verdict(
            br#"{"score":-1.5,"required_score":15,"action":"no action"}"#,
        )
        .expect("a verdict");
        assert!(!v.spam);
        assert_eq!((v.score, v.score_text.as_str()), (-1.5, "-1.5"));
        assert_eq!(v.required_text, "15");
        assert!(v.symbols.is_empty());

        for action in ["add header", "rewrite subject"] {
            let body = format!(
                r#"{{"score":9.9,"required_score":15.0,"action":"{action}"}}"#
            );
            assert!(verdict(body.as_bytes()).expect("a verdict").spam);
        }
        for action in ["greylist", "soft reject", "no action"] {
            let body = format!(
                r#"{{"score":9.9,"required_score":15.0,"action":"{action}"}}"#
            );
            assert!(!verdict(body.as_bytes()).expect("a verdict").spam);
        }
    }

    #[test]
    fn malformed() {
        for bad in [
            &b""[..],
            b"pong",
            b"[1,2]",
            br#"{"required_score":15.0,"action":"reject"}"#,
            br#"{"score":"15.0","required_score":15.0,"action":"reject"}"#,
            br#"{"score":1.0,"action":"reject"}"#,
            br#"{"score":1.0,"required_score":15.0}"#,
            br#"{"score":1.0,"required_score":15.0,"action":7}"#,
            br#"{"score":1e999,"required_score":15.0,"action":"reject"}"#,
            br#"{"error":"Message has no data"}"#,
        ] {
            assert!(verdict(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(verdict(deep.as_bytes()).is_err());
        assert_eq!(error_text(br#"{"error":"no data"}"#), ": no data");
        assert_eq!(error_text(b""), "");
    }

    #[test]
    fn huge_symbol_lists() {
        let symbols: Vec<String> =
            (0..5000).map(|i| format!("\"SYM_{i}\":{{}}")).collect();
        let body = format!(
            r#"{{"score":1.0,"required_score":15.0,"action":"no action","symbols":{{{}}}}}"#,
            symbols.join(",")
        );
        let v = verdict(body.as_bytes()).expect("a verdict");
        assert_eq!(v.symbols.len(), spamtext::MAX_SYMBOLS);
    }
}
