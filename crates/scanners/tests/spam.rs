//! The spamd and rspamd clients against a real spamd (one per test
//! binary, plus private ones for the tests that stop it) and a real
//! rspamd, both set up as `../shared/spam/README.md` describes.
//!
//! Only what a real daemon cannot be made to do on demand (never
//! answering, an error reply, showing the exact bytes it was sent) uses a
//! loopback listener of the test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use qmvc_profile::Endpoint;
use qmvc_scanners::spam::{SpamAnswer, SpamRequest, SpamVerdict};
use qmvc_scanners::testing::{
    gtube_message, ham_message, rspamd_available, shared_spamd,
    spamd_available, Rspamd, Spamd,
};
use qmvc_scanners::{rspamd, spamd};

/// Skips the test (with a note) where the daemon is not installed; fails
/// it under `CI=true`, where the test command has installed it.
macro_rules! need {
    ($available:expr, $what:literal) => {
        if !$available {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                concat!("CI=true and ", $what, " is not installed")
            );
            eprintln!(concat!(
                "!!! ",
                $what,
                " is not installed: test SKIPPED !!!"
            ));
            return;
        }
    };
}

const CONNECT: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(30);

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("qmvc-t").tempdir().expect("tempdir")
}

fn request<'a>(message: &'a [u8], user: &'a str) -> SpamRequest<'a> {
    SpamRequest {
        message,
        user,
        sender: "carol@example.com",
        recipients: &[],
        client_ip: None,
    }
}

fn judged(answer: SpamAnswer) -> SpamVerdict {
    match answer {
        SpamAnswer::Judged(v) => v,
        SpamAnswer::Failed(why) => panic!("no verdict: {why}"),
    }
}

fn failed(answer: SpamAnswer) -> String {
    match answer {
        SpamAnswer::Failed(why) => why,
        SpamAnswer::Judged(v) => {
            panic!("a verdict where a failure was due: {v:?}")
        }
    }
}

fn missing_socket() -> Endpoint {
    Endpoint::Unix(PathBuf::from("/nonexistent/qmvc-test/spamd.sock"))
}

fn tcp(port: u16) -> Endpoint {
    Endpoint::Tcp { host: "127.0.0.1".to_string(), port }
}

/// A loopback listener that records what each connection sends up to
/// its end (the client's half-close), answers `reply` and closes.
/// Returns its endpoint and the requests it got.
fn recorder(reply: &'static [u8]) -> (Endpoint, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut got = Vec::new();
            let _ = stream.read_to_end(&mut got);
            let _ = stream.write_all(reply);
            if tx.send(got).is_err() {
                return;
            }
        }
    });
    (tcp(port), rx)
}

/// A listener that reads an HTTP request (header and Content-Length
/// bytes), records it, answers `reply` and closes.
fn http_recorder(reply: &'static [u8]) -> (Endpoint, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|l| l.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if got.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let _ = stream.write_all(reply);
            if tx.send(got).is_err() {
                return;
            }
        }
    });
    (tcp(port), rx)
}

/// A listener that accepts connections and never answers.
fn silent() -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    tcp(port)
}

// ---- spamd ----------------------------------------------------------

#[test]
fn spamd_gtube_is_spam() {
    need!(spamd_available(), "spamd");
    let spamd = shared_spamd();
    let message = gtube_message();
    let v = judged(spamd::check(
        &[spamd.endpoint_unix()],
        CONNECT,
        TIMEOUT,
        &request(&message, ""),
    ));
    assert!(v.spam, "{v:?}");
    assert_eq!(v.score_text, "1000.0");
    assert_eq!(v.score, 1000.0);
    assert_eq!(v.required_text, "5.0");
    assert!(v.symbols.iter().any(|s| s == "GTUBE"), "{v:?}");
    assert_eq!(v.action, None);
}

#[test]
fn spamd_business_mail_is_ham() {
    need!(spamd_available(), "spamd");
    let spamd = shared_spamd();
    let message = ham_message();
    let v = judged(spamd::check(
        &[spamd.endpoint_tcp()],
        CONNECT,
        TIMEOUT,
        &request(&message, ""),
    ));
    assert!(!v.spam, "{v:?}");
    assert!(v.score < 5.0, "{v:?}");
    assert!(!v.symbols.iter().any(|s| s == "GTUBE"), "{v:?}");
}

/// A message far larger than a socket buffer, without a final LF,
/// reaches spamd whole (spamd answers `76 ... Content-Length mismatch`
/// to anything less, and waits for ever for the end of the last line
/// without the half-close). SpamAssassin scans only the first 50 000
/// bytes of a body part: GTUBE comes first.
#[test]
fn spamd_large_message_is_sent_whole() {
    need!(spamd_available(), "spamd");
    let spamd = shared_spamd();
    let mut message = gtube_message();
    for i in 0..8000 {
        message.extend_from_slice(
            format!("Line {i} of the quarterly figures, as agreed.\n")
                .as_bytes(),
        );
    }
    message.extend_from_slice(b"no final line feed");
    assert!(message.len() > 300_000);
    let v = judged(spamd::check(
        &[spamd.endpoint_unix()],
        CONNECT,
        TIMEOUT,
        &request(&message, ""),
    ));
    assert!(v.symbols.iter().any(|s| s == "GTUBE"), "{v:?}");
}

#[test]
fn spamd_gets_the_user() {
    need!(spamd_available(), "spamd");
    let spamd = shared_spamd();
    let message = with_message_id(&gtube_message(), "qmvc-user-test");
    judged(spamd::check(
        &[spamd.endpoint_unix()],
        CONNECT,
        TIMEOUT,
        &request(&message, "alice"),
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = spamd.log();
        let seen = log.lines().any(|l| {
            l.contains("<qmvc-user-test@example.com>")
                && l.contains("for alice:")
        });
        if seen {
            break;
        }
        assert!(Instant::now() < deadline, "spamd's log:\n{log}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// What the client sends, byte for byte: `Content-length` with a small
/// l, `User`, the message, and a half-close (the recorder reads to the
/// end of the input before it answers).
#[test]
fn spamd_request_bytes() {
    let (endpoint, sent) = recorder(
        b"SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: False ; -0.0 / 5.0\r\n\r\nA,B,C",
    );
    let v = judged(spamd::check(
        &[endpoint],
        CONNECT,
        Duration::from_secs(5),
        &request(b"Subject: x\n\nbody", "bob"),
    ));
    assert_eq!(v.score_text, "-0.0");
    assert_eq!(v.symbols, ["A", "B", "C"]);
    let got = sent.recv().expect("a request");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "SYMBOLS SPAMC/1.5\r\nContent-length: 16\r\nUser: bob\r\n\r\nSubject: x\n\nbody"
    );
}

#[test]
fn spamd_hostile_user_is_never_sent() {
    let (endpoint, sent) =
        recorder(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n");
    for user in [
        "al\r\nice",
        "a\nContent-length: 1",
        "a\rb",
        "a\u{1}b",
        "a\u{7f}b",
        "a\tb",
    ] {
        let why = failed(spamd::check(
            std::slice::from_ref(&endpoint),
            CONNECT,
            Duration::from_secs(5),
            &request(b"Subject: x\n\nbody\n", user),
        ));
        assert!(why.contains("control characters"), "{why}");
        assert!(!why.contains('\n') && !why.contains('\r'), "{why}");
    }
    assert!(
        sent.recv_timeout(Duration::from_millis(300)).is_err(),
        "something was sent"
    );
}

#[test]
fn spamd_error_replies_fail() {
    let (endpoint, _sent) = recorder(
        b"SPAMD/1.0 76 Bad header line: (Content-Length mismatch)\r\n",
    );
    let started = Instant::now();
    let why = failed(spamd::check(
        // A 76 is the request's fault: no other spamd is asked.
        &[endpoint.clone(), silent()],
        CONNECT,
        Duration::from_secs(5),
        &request(b"Subject: x\n\nbody\n", ""),
    ));
    assert!(
        why.contains("spamd: 76 Bad header line: (Content-Length mismatch)"),
        "{why}"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "{why}");

    // A 69 (out of service) sends the request on to the next spamd.
    let (unavailable, _sent) =
        recorder(b"SPAMD/1.0 69 Service Unavailable: busy\r\n");
    let (good, _sent) =
        recorder(b"SPAMD/1.1 0 EX_OK\r\nSpam: True ; 7.5 / 5.0\r\n\r\n");
    let v = judged(spamd::check(
        &[unavailable, good],
        CONNECT,
        Duration::from_secs(5),
        &request(b"Subject: x\n\nbody\n", ""),
    ));
    assert!(v.spam);
    assert_eq!(v.score_text, "7.5");

    // Nonsense is never a verdict.
    let (nonsense, _sent) = recorder(b"HTTP/1.1 200 OK\r\n\r\n");
    let why = failed(spamd::check(
        &[nonsense],
        CONNECT,
        Duration::from_secs(5),
        &request(b"x\n", ""),
    ));
    assert!(why.contains("unexpected reply"), "{why}");
    let (huge, _sent) = recorder(Box::leak(
        format!(
            "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 7.5 / 5.0\r\n\r\n{}",
            "A,".repeat(40_000)
        )
        .into_bytes()
        .into_boxed_slice(),
    ));
    let why = failed(spamd::check(
        &[huge],
        CONNECT,
        Duration::from_secs(5),
        &request(b"x\n", ""),
    ));
    assert!(why.contains("reply longer than 65536 bytes"), "{why}");
}

#[test]
fn spamd_first_endpoint_dead_second_answers() {
    need!(spamd_available(), "spamd");
    let spamd = shared_spamd();
    let message = gtube_message();
    let v = judged(spamd::check(
        &[missing_socket(), spamd.endpoint_tcp()],
        CONNECT,
        TIMEOUT,
        &request(&message, ""),
    ));
    assert!(v.spam);
    // A listener that closes without a reply counts as dead too.
    let (closes, _sent) = recorder(b"");
    let v = judged(spamd::check(
        &[closes, spamd.endpoint_unix()],
        CONNECT,
        TIMEOUT,
        &request(&message, ""),
    ));
    assert!(v.spam);
}

#[test]
fn spamd_stopped_fails_quickly() {
    need!(spamd_available(), "spamd");
    let dir = tmp();
    let mut spamd = Spamd::start(dir.path());
    let endpoints = [spamd.endpoint_unix(), spamd.endpoint_tcp()];
    let status = spamd::status(&endpoints, CONNECT, TIMEOUT);
    assert_eq!(
        status.reachable,
        Ok(format!("unix:{}", spamd.socket().display()))
    );
    spamd.stop();
    let started = Instant::now();
    let message = gtube_message();
    let why = failed(spamd::check(
        &endpoints,
        CONNECT,
        TIMEOUT,
        &request(&message, ""),
    ));
    assert!(started.elapsed() < Duration::from_secs(1), "{why}");
    assert!(why.contains("cannot connect"), "{why}");
    assert!(why.contains(&format!("tcp:127.0.0.1:{}", spamd.port())), "{why}");
    let status = spamd::status(&endpoints, CONNECT, TIMEOUT);
    assert!(status.reachable.is_err(), "{status:?}");
    assert_eq!(status.engine, None);
}

#[test]
fn spamd_silent_listener_times_out() {
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let (never_asked, sent) =
        recorder(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n");
    let why = failed(spamd::check(
        &[silent(), never_asked],
        CONNECT,
        timeout,
        &request(b"Subject: x\n\nbody\n", ""),
    ));
    let took = started.elapsed();
    assert!(why.contains("timed out after 2 s"), "{why}");
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(1),
        "{took:?}"
    );
    // The time is spent: the next spamd is not asked.
    assert!(sent.recv_timeout(Duration::from_millis(200)).is_err());
}

#[test]
fn spamd_status() {
    need!(spamd_available(), "spamd");
    let spamd = shared_spamd();
    let status = spamd::status(
        &[missing_socket(), spamd.endpoint_tcp()],
        CONNECT,
        TIMEOUT,
    );
    assert_eq!(
        status.reachable,
        Ok(format!("tcp:127.0.0.1:{}", spamd.port()))
    );
    let engine = status.engine.expect("a version");
    assert!(engine.starts_with("SpamAssassin 4."), "{engine}");
    assert!(!engine.contains(" on "), "{engine}");
    assert_eq!((status.signatures, status.date), (None, None));
    let status = spamd::status(&[missing_socket()], CONNECT, TIMEOUT);
    let why = status.reachable.expect_err("nothing answers");
    assert!(why.contains("/nonexistent/qmvc-test/spamd.sock"), "{why}");
}

// ---- rspamd ---------------------------------------------------------

/// One rspamd for every check (a start costs a second, the first of a
/// run much more): GTUBE, ham, hostile envelope values, status up and
/// down.
#[test]
fn rspamd_end_to_end() {
    need!(rspamd_available(), "rspamd");
    let dir = tmp();
    let mut rspamd = Rspamd::start(dir.path());
    let endpoints = [missing_socket(), rspamd.endpoint()];

    let status = rspamd::status(&endpoints, CONNECT, TIMEOUT);
    assert!(status.reachable.is_ok(), "{status:?}");
    let engine = status.engine.expect("a Server field");
    assert!(engine.starts_with("rspamd"), "{engine}");

    let gtube = gtube_message();
    let v = judged(rspamd::check(
        &endpoints,
        CONNECT,
        TIMEOUT,
        &request(&gtube, "alice"),
    ));
    assert!(v.spam, "{v:?}");
    assert_eq!(v.action.as_deref(), Some("reject"));
    assert!(v.symbols.iter().any(|s| s == "GTUBE"), "{v:?}");
    assert_eq!(v.score_text, "15.0");
    let v = judged(rspamd::check(
        &[rspamd.endpoint_unix()],
        CONNECT,
        TIMEOUT,
        &request(&gtube, ""),
    ));
    assert_eq!(v.action.as_deref(), Some("reject"), "{v:?}");

    let ham = ham_message();
    let recipients =
        vec!["alice@example.com".to_string(), "bob@example.com".to_string()];
    let v = judged(rspamd::check(
        &endpoints,
        CONNECT,
        TIMEOUT,
        &SpamRequest {
            message: &ham,
            user: "alice",
            sender: "carol@example.com",
            recipients: &recipients,
            client_ip: Some("198.51.100.7"),
        },
    ));
    assert!(!v.spam, "{v:?}");
    assert_eq!(v.action.as_deref(), Some("no action"));
    assert!(v.symbols.windows(2).all(|w| w[0] < w[1]), "{v:?}");

    let hostile = vec![
        "bob@example.com\r\nContent-Length: 0".to_string(),
        "\u{1}@x".to_string(),
        "x".repeat(5000),
    ];
    let v = judged(rspamd::check(
        &endpoints,
        CONNECT,
        TIMEOUT,
        &SpamRequest {
            message: &gtube,
            user: "",
            sender: "evil@example.com\r\n\r\nGET / HTTP/1.1",
            recipients: &hostile,
            client_ip: Some("1.2.3.4\r\nX: y"),
        },
    ));
    assert_eq!(v.action.as_deref(), Some("reject"), "{v:?}");

    rspamd.stop();
    let started = Instant::now();
    let why = failed(rspamd::check(
        &endpoints,
        CONNECT,
        TIMEOUT,
        &request(&gtube, ""),
    ));
    assert!(started.elapsed() < Duration::from_secs(1), "{why}");
    assert!(why.contains("cannot connect"), "{why}");
    let status = rspamd::status(&endpoints, CONNECT, TIMEOUT);
    assert!(status.reachable.is_err(), "{status:?}");
}

/// What goes over the wire to rspamd: hostile envelope values are left
/// out, a hostile user refuses the request.
#[test]
fn rspamd_request_bytes() {
    let (endpoint, sent) = http_recorder(
        b"HTTP/1.1 200 OK\r\nContent-Length: 57\r\n\r\n{\"score\":9.9,\"required_score\":15.0,\"action\":\"add header\"}XX",
    );
    let recipients =
        vec!["bob@example.com".to_string(), "x@y\r\nX-Evil: 1".to_string()];
    let v = judged(rspamd::check(
        std::slice::from_ref(&endpoint),
        CONNECT,
        Duration::from_secs(5),
        &SpamRequest {
            message: b"Subject: x\n\nhi\n",
            user: "alice",
            sender: "a@b\nX-Evil: 2",
            recipients: &recipients,
            client_ip: Some("192.0.2.1"),
        },
    ));
    assert!(v.spam);
    assert_eq!(v.score_text, "9.9");
    let got =
        String::from_utf8(sent.recv().expect("a request")).expect("text");
    assert!(got.starts_with("POST /checkv2 HTTP/1.1\r\n"), "{got}");
    assert!(got.contains("\r\nUser: alice\r\n"), "{got}");
    assert!(got.contains("\r\nRcpt: bob@example.com\r\n"), "{got}");
    assert!(got.contains("\r\nIP: 192.0.2.1\r\n"), "{got}");
    assert!(got.contains("\r\nContent-Length: 15\r\n"), "{got}");
    assert!(got.ends_with("\r\n\r\nSubject: x\n\nhi\n"), "{got}");
    assert!(!got.contains("X-Evil") && !got.contains("From:"), "{got}");

    let why = failed(rspamd::check(
        &[endpoint],
        CONNECT,
        Duration::from_secs(5),
        &request(b"x\n", "al\r\nice"),
    ));
    assert!(why.contains("control characters"), "{why}");
    assert!(
        sent.recv_timeout(Duration::from_millis(300)).is_err(),
        "something was sent"
    );

    let (refused, _sent) =
        http_recorder(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 28\r\n\r\n{\"error\":\"Message is empty\"}");
    let why = failed(rspamd::check(
        &[refused],
        CONNECT,
        Duration::from_secs(5),
        &request(b"", ""),
    ));
    assert!(
        why.contains("rspamd: HTTP status 400: Message is empty"),
        "{why}"
    );

    // A reply past 1 MiB is not read on.
    let (huge, _sent) = http_recorder(Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\n\r\n{{\"symbols\":\"{}\"}}",
            "A".repeat(1 << 21)
        )
        .into_bytes()
        .into_boxed_slice(),
    ));
    let why = failed(rspamd::check(
        &[huge],
        CONNECT,
        Duration::from_secs(5),
        &request(b"x\n", ""),
    ));
    assert!(why.contains("reply longer than 1048576 bytes"), "{why}");
}

#[test]
fn rspamd_silent_listener_times_out() {
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let why = failed(rspamd::check(
        &[silent()],
        CONNECT,
        timeout,
        &request(b"x\n", ""),
    ));
    let took = started.elapsed();
    assert!(why.contains("timed out after 2 s"), "{why}");
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(1),
        "{took:?}"
    );
}

/// `message` with a Message-ID of our own, to find its line in a log.
fn with_message_id(message: &[u8], id: &str) -> Vec<u8> {
    String::from_utf8_lossy(message)
        .replace("<gtube@example.com>", &format!("<{id}@example.com>"))
        .into_bytes()
}
