/*!
plainmail(8): the second program, run directly as qmvc runs it (no shell,
the message on a pipe, the qmail environment and `QMVC_INJECTOR`) and once
through qmvc from a badbodytexts line, with the injector stub of
an injector stub
that records each call.

What is held here:
- of a multipart/alternative only the text/plain alternative goes out; an
  HTML-only message goes out as readable text without markup; a body in
  a non-UTF-8 charset arrives as correct UTF-8;
- the forward is a text/plain UTF-8 message to ADDRESS, given to the
  injector as exactly `-a -f '' ADDRESS`, and plainmail exits 1 so that a
  `:0` line is never met;
- without ADDRESS it exits 0 and sends nothing; bad usage exits 2 and
  sends nothing; a failing injector makes it exit 111;
- no text of the message can add a header line to the forward, and a
  forward is never forwarded again.
*/

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use qmvc_message::{Header, Limits, Message};

use crate::mail::{base64, Mail, Part};
use crate::util::{Dir, Layer};

/// The program under test.
const PLAINMAIL: &str = env!("CARGO_BIN_EXE_plainmail");

/// Where the tests forward to.
const ADDRESS: &str = "plain@example.org";

/// One call of the injector stub.
#[derive(Debug)]
struct Call {
    /// Its arguments.
    args: Vec<String>,
    /// What it read on standard input.
    message: Vec<u8>,
}

impl Call {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.message).into_owned()
    }
}

/// Installs an injector stub that records each call in
/// `ROOT/injected/N/` (`args`, each as `[ARG]` on a line of its own, and
/// `stdin`), reads all of its input and exits 0; it is also the system
/// layer's `injector`, for qmvc.
fn injector(dir: &Dir) -> PathBuf {
    injector_exiting(dir, 0)
}

/// [`injector`] exiting `code`.
fn injector_exiting(dir: &Dir, code: i32) -> PathBuf {
    let calls = dir.path("injected");
    let script = dir.script(
        "inject",
        &format!(
            "calls='{}'\n\
             mkdir -p \"$calls\" || exit 111\n\
             n=$(ls \"$calls\" | wc -l)\n\
             mkdir \"$calls/$n\" || exit 111\n\
             for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done \
             >\"$calls/$n/args\"\n\
             cat >\"$calls/$n/stdin\"\n\
             exit {code}",
            calls.display()
        ),
    );
    dir.control(Layer::System, "injector", &format!("{}\n", script.display()));
    script
}

/// The calls of the stub, in order.
fn injected(dir: &Dir) -> Vec<Call> {
    let mut out = Vec::new();
    for n in 0.. {
        let call = dir.path(&format!("injected/{n}"));
        if !call.exists() {
            return out;
        }
        let args = fs::read_to_string(call.join("args")).unwrap();
        let args = args
            .lines()
            .map(|l| {
                let arg =
                    l.strip_prefix('[').and_then(|l| l.strip_suffix(']'));
                arg.expect("an argument with a line end").to_owned()
            })
            .collect();
        let message = fs::read(call.join("stdin")).unwrap();
        out.push(Call { args, message });
    }
    out
}

/// What one plainmail run did.
struct Run {
    code: i32,
    stderr: String,
}

/// Runs plainmail with `args` as qmvc does: no shell, `message` on a pipe,
/// the cleared qmail environment of `dir` plus `QMVC_INJECTOR`
/// (`injector`, when given).
fn plainmail(
    dir: &Dir,
    args: &[&str],
    message: &[u8],
    injector: Option<&Path>,
) -> Run {
    let mut cmd = Command::new(PLAINMAIL);
    cmd.args(args).current_dir(dir.home());
    cmd.env_clear().envs(dir.environment());
    if let Some(injector) = injector {
        cmd.env("QMVC_INJECTOR", injector);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let message = message.to_vec();
    // plainmail need not read everything (without ADDRESS it reads
    // nothing): the write may end with EPIPE.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&message);
    });
    let mut stderr = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("plainmail ran longer than 60 s");
        }
        thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    let stderr = reader.join().unwrap();
    Run { code: status.code().unwrap_or(-1), stderr }
}

/// Runs plainmail ADDRESS on `message` with a recording injector and
/// returns the one call it made.
fn forward(dir: &Dir, message: &[u8]) -> Call {
    let injector = injector(dir);
    let run = plainmail(dir, &[ADDRESS], message, Some(&injector));
    assert_eq!(run.code, 1, "plainmail: {}", run.stderr);
    let mut calls = injected(dir);
    assert_eq!(calls.len(), 1, "injector calls: {calls:?}");
    calls.remove(0)
}

/// The body of a forward as text (it is UTF-8 in 8bit).
fn body(call: &Call) -> String {
    let text = String::from_utf8(call.message.clone())
        .unwrap_or_else(|e| panic!("the forward is not UTF-8: {e}"));
    let start = text.find("\n\n").expect("no header end") + 2;
    text[start..].to_owned()
}

/// The collected text of a forward: its body after the preface.
fn collected(call: &Call) -> String {
    let text = body(call);
    let rule = format!("\n{}\n\n", "-".repeat(72));
    let start = text.find(&rule).expect("no preface rule") + rule.len();
    text[start..].to_owned()
}

/// The header block of a forward.
fn header(call: &Call) -> Header<'_> {
    let header = Header::parse(&call.message).0;
    assert!(header.defects.is_empty(), "{:?}", header.defects);
    header
}

qmvctest!(alternative_forwards_only_the_plain_text, |dir: Dir| {
    let mail = Mail::new().multipart(
        "alternative",
        vec![
            Part::text("The plain alternative.\n"),
            Part::html("<p>The <b>HTML</b> alternative.</p>\n"),
        ],
    );
    let call = forward(&dir, &mail.bytes());
    let text = collected(&call);
    assert!(text.contains("The plain alternative."), "{text}");
    assert!(!text.contains("HTML"), "{text}");
    let header = header(&call);
    let value = |name: &str| header.value(name).unwrap_or_default();
    assert_eq!(value("To"), ADDRESS);
    assert_eq!(value("Subject"), "[plain] Test message");
    assert_eq!(value("Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(value("Content-Transfer-Encoding"), "8bit");
    assert_eq!(value("MIME-Version"), "1.0");
    assert_eq!(value("Auto-Submitted"), "auto-forwarded");
    assert_eq!(value("From"), "plainmail <MAILER-DAEMON@example.org>");
    for name in ["Date", "Message-ID"] {
        assert!(!value(name).is_empty(), "no {name}");
    }
    // The preface names the original.
    let text = body(&call);
    assert!(text.contains("Alice Sender <alice@example.net>"), "{text}");
    assert!(text.contains("Test message"), "{text}");
});

qmvctest!(html_only_becomes_readable_text, |dir: Dir| {
    let html = "<html><head><title>t</title><style>p { color: red }\
        </style></head><body><h1>Quarterly news</h1>\
        <p>Sales &amp; <b>profits</b> rose.</p>\
        <ul><li>first point</li><li>second point</li></ul>\
        <p>Read <a href=\"https://example.com/news\">more</a>.</p>\
        </body></html>";
    let call = forward(&dir, &Mail::new().part(Part::html(html)).bytes());
    let text = collected(&call);
    for want in [
        "Quarterly news",
        "Sales & profits rose.",
        "first point",
        "second point",
        "https://example.com/news",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    for markup in ["<", ">", "&amp;", "color: red"] {
        assert!(!text.contains(markup), "{markup:?} in\n{text}");
    }
});

qmvctest!(non_utf8_charsets_arrive_as_utf8, |dir: Dir| {
    let latin1 = Part::new(
        &[
            ("Content-Type", "text/plain; charset=iso-8859-1"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        b"Gr\xfc\xdfe aus K\xf6ln\n",
    );
    let cp1252_html = Part::new(
        &[
            ("Content-Type", "text/html; charset=windows-1252"),
            ("Content-Transfer-Encoding", "base64"),
        ],
        base64(b"<p>Preis: 20 \x80, \x84Angebot\x93</p>").as_bytes(),
    );
    let mail = Mail::new()
        .subject("=?iso-8859-1?Q?Gr=FC=DFe?=")
        .mixed(vec![latin1, cp1252_html]);
    let call = forward(&dir, &mail.bytes());
    let text = body(&call);
    assert!(text.contains("Grüße aus Köln"), "{text}");
    assert!(text.contains("Preis: 20 €, „Angebot“"), "{text}");
    assert_eq!(
        header(&call).value("Subject").as_deref(),
        Some("[plain] Grüße")
    );
    assert!(
        Header::parse(&call.message).0.fields.iter().all(|f| f.raw.is_ascii()),
        "a raw 8-bit header"
    );
});

qmvctest!(no_address_exits_0_and_sends_nothing, |dir: Dir| {
    let injector = injector(&dir);
    let run = plainmail(&dir, &[], &Mail::new().bytes(), Some(&injector));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(injected(&dir).is_empty(), "the injector was called");
});

qmvctest!(injector_gets_null_sender_and_address, |dir: Dir| {
    let call = forward(&dir, &Mail::new().bytes());
    assert_eq!(call.args, ["-a", "-f", "", ADDRESS]);
});

qmvctest!(address_variables_expand, |dir: Dir| {
    let injector = injector(&dir);
    let run = plainmail(
        &dir,
        &["$LOCAL-plain@$HOST"],
        &Mail::new().bytes(),
        Some(&injector),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let calls = injected(&dir);
    assert_eq!(calls[0].args, ["-a", "-f", "", "bob-plain@example.org"]);
    assert_eq!(
        header(&calls[0]).value("To").as_deref(),
        Some("bob-plain@example.org")
    );
});

qmvctest!(encoded_line_breaks_add_no_header, |dir: Dir| {
    // "x\r\nBcc: y" in the Subject and in From, RFC 2047 encoded.
    let mail = Mail::new()
        .subject("=?UTF-8?B?eA0KQmNjOiB5?=")
        .header("From", "=?UTF-8?B?eA0KQmNjOiB5?= <alice@example.net>")
        .text("x\r\nBcc: z\n");
    let call = forward(&dir, &mail.bytes());
    let header = header(&call);
    for field in &header.fields {
        for bad in ["bcc", "cc"] {
            assert!(
                !field.name.eq_ignore_ascii_case(bad),
                "a {bad} field in the forward:\n{}",
                call.text()
            );
        }
    }
    assert_eq!(header.value("Subject").as_deref(), Some("[plain] x Bcc: y"));
    // The preface shows what was there without a line break.
    let text = body(&call);
    assert!(text.contains("x\u{fffd}\u{fffd}Bcc: y <alice"), "{text}");
});

qmvctest!(bad_usage_exits_2_and_sends_nothing, |dir: Dir| {
    let injector = injector(&dir);
    for args in [
        &["a@example.org", "b@example.org"][..],
        &["-h"],
        &["-f"],
        &["a b@example.org"],
        &["a@example.org\nBcc: x@example.org"],
        &[""],
        &["$PATH@example.org"],
    ] {
        let run = plainmail(&dir, args, &Mail::new().bytes(), Some(&injector));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("usage"), "{args:?}: {}", run.stderr);
    }
    assert!(injected(&dir).is_empty(), "the injector was called");
});

qmvctest!(failing_injector_exits_111, |dir: Dir| {
    let injector = injector_exiting(&dir, 111);
    let run =
        plainmail(&dir, &[ADDRESS], &Mail::new().bytes(), Some(&injector));
    assert_eq!(run.code, 111, "{}", run.stderr);
    assert!(run.stderr.contains("111"), "{}", run.stderr);
    let missing = dir.path("bin/no-such-injector");
    let run =
        plainmail(&dir, &[ADDRESS], &Mail::new().bytes(), Some(&missing));
    assert_eq!(run.code, 111, "{}", run.stderr);
});

qmvctest!(a_forward_is_not_forwarded_again, |dir: Dir| {
    let call = forward(&dir, &Mail::new().bytes());
    let injector = injector(&dir);
    let run = plainmail(&dir, &[ADDRESS], &call.message, Some(&injector));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(injected(&dir).len(), 1, "the forward was forwarded");
});

qmvctest!(attachments_are_left_out, |dir: Dir| {
    let mail = Mail::new().mixed(vec![
        Part::text("The body.\n"),
        Part::attachment("notes.txt", "text/plain", b"attached notes\n"),
        Part::attachment("page.html", "text/html", b"<p>attached page</p>"),
    ]);
    let text = collected(&forward(&dir, &mail.bytes()));
    assert!(text.contains("The body."), "{text}");
    assert!(!text.contains("attached"), "{text}");
});

qmvctest!(hostile_html_is_bounded, |dir: Dir| {
    let deep = format!("{}deep text{}", "<div>".repeat(200_000), "</div>");
    let mail = Mail::new().part(Part::html(&deep));
    let started = Instant::now();
    let text = body(&forward(&dir, &mail.bytes()));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(text.contains("deep text"), "{}", &text[..text.len().min(500)]);
});

qmvctest!(oversized_message_is_forwarded_in_part, |dir: Dir| {
    let line = "0123456789 abcdefghijklmnopqrstuvwxyz 0123456789 abcdefghij\n";
    let mail = Mail::new().text(&line.repeat((33 << 20) / line.len()));
    let text = collected(&forward(&dir, &mail.bytes()));
    assert!(
        text.starts_with("[plainmail: the message is larger than 32 MiB"),
        "{}",
        &text[..200]
    );
    assert!(text.contains(line), "{}", &text[..500]);
    assert!(text.len() < (9 << 20), "{} bytes forwarded", text.len());
    assert!(text.ends_with("more bytes of text left out.]\n"));
});

qmvctest!(through_qmvc_from_badbodytexts, |dir: Dir| {
    // qmvc gives the path of its injector (control file `injector`,
    // written by injector()) to commands as QMVC_INJECTOR.
    injector(&dir);
    dir.filters("badbodytext ; inspect ; ; goodmail ;\n");
    dir.control(
        Layer::System,
        "badbodytexts",
        &format!("|{PLAINMAIL} {ADDRESS}:0\n"),
    );
    let mail = Mail::new().multipart(
        "alternative",
        vec![Part::text("Plain through qmvc.\n"), Part::html("<p>html</p>")],
    );
    dir.run(&[], &mail.bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).result(), "clear");
    let calls = injected(&dir);
    assert_eq!(calls.len(), 1, "injector calls: {calls:?}");
    assert_eq!(calls[0].args, ["-a", "-f", "", ADDRESS]);
    let text = collected(&calls[0]);
    assert!(text.contains("Plain through qmvc."), "{text}");
    assert!(!text.contains("html"), "{text}");
    // The forward is a well-formed message.
    let parsed = Message::parse(&calls[0].message, &Limits::default());
    assert!(parsed.defects.is_empty(), "{:?}", parsed.defects);
});
