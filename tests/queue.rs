/*!
qmvc-queue(8) end to end: SMTP sessions through the real qmail-smtpd
(built from `../shared/qmail` with qmail-local, see
[`crate::qmail_local`]) with `QMAILQUEUE` set to the built qmvc-queue,
whose control file `qmailqueue` names a recorder: a script that stores
what it got on descriptors 0 and 1 and its environment, and exits 0 or a
chosen code. The envelope cases run qmvc-queue directly, with the
envelope in a file on descriptor 1.
*/

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::mail::{crlf, Mail, Part};
use qmvc_profile::Endpoint;

use crate::util::{run_child, Dir, Layer};

const QMVC_QUEUE: &str = env!("CARGO_BIN_EXE_qmvc-queue");

/// The real qmail-smtpd, its PREFIX/control/me and rcpthosts written
/// (`example.org` is ours); `None` where qmail could not be built
/// (outside `CI=true`; [`crate::qmail_local::binary`] says so loudly).
fn smtpd() -> Option<PathBuf> {
    let local = crate::qmail_local::binary()?;
    let prefix = local.parent()?.to_path_buf();
    let control = prefix.join("control");
    fs::create_dir_all(&control).unwrap();
    for (name, text) in
        [("me", "mx.example.org\n"), ("rcpthosts", "example.org\n")]
    {
        let path = control.join(name);
        if !path.is_file() {
            // Written whole and renamed: tests run at the same time.
            let tmp = control.join(format!("{name}.{}", std::process::id()));
            fs::write(&tmp, text).unwrap();
            fs::rename(&tmp, &path).unwrap();
        }
    }
    Some(prefix.join("qmail-smtpd"))
}

/// Makes `qmailqueue` name a recorder exiting `code`; returns where it
/// records (`N.msg`, `N.env`, `N.vars` per run).
fn recorder(dir: &Dir, code: i32) -> PathBuf {
    let records = dir.path("records");
    fs::create_dir_all(&records).unwrap();
    let r = records.display();
    let script = dir.script(
        "recorder",
        &format!(
            "cat >'{r}'/$$.msg\ncat <&1 >'{r}'/$$.env\nenv >'{r}'/$$.vars\n\
             ls -l /proc/$$/fd/ >'{r}'/$$.fds\n\
             cat /proc/$PPID/comm >'{r}'/$$.parent\nexit {code}"
        ),
    );
    dir.control(
        Layer::System,
        "qmailqueue",
        &format!("{}\n", script.display()),
    );
    records
}

/// What the recorder got in one run.
struct Record {
    msg: Vec<u8>,
    env: Vec<u8>,
    vars: String,
    fds: String,
    /// The name of the program that ran the recorder.
    parent: String,
}

fn recorded(dir: &Path) -> Vec<Record> {
    let mut runs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "msg"))
        .collect();
    runs.sort();
    runs.iter()
        .map(|msg| Record {
            msg: fs::read(msg).unwrap(),
            env: fs::read(msg.with_extension("env")).unwrap(),
            vars: fs::read_to_string(msg.with_extension("vars")).unwrap(),
            fds: fs::read_to_string(msg.with_extension("fds")).unwrap(),
            parent: fs::read_to_string(msg.with_extension("parent"))
                .unwrap()
                .trim()
                .to_string(),
        })
        .collect()
}

/// One SMTP session through qmail-smtpd: `sender`, `rcpts`, the message
/// `mail` (LF, made CRLF and dot-stuffed here); `remote_ip` as tcpserver
/// sets it. Returns the reply to the final dot.
fn session(
    dir: &Dir,
    smtpd: &Path,
    sender: &str,
    rcpts: &[&str],
    mail: &[u8],
    remote_ip: Option<&str>,
) -> String {
    let name = format!("{}", rcpts.len());
    let cmd = smtp_command(dir, smtpd, &name, sender, rcpts, mail, remote_ip);
    let out = run_child(cmd);
    out.assert_code(0);
    data_reply(&out.stdout)
        .unwrap_or_else(|| panic!("no reply after DATA\n{}", out.describe()))
}

/// The qmail-smtpd of [`session`], its SMTP input kept as
/// `smtp-in-NAME`.
fn smtp_command(
    dir: &Dir,
    smtpd: &Path,
    name: &str,
    sender: &str,
    rcpts: &[&str],
    mail: &[u8],
    remote_ip: Option<&str>,
) -> Command {
    let mut script =
        format!("HELO client.example\r\nMAIL FROM:<{sender}>\r\n");
    for r in rcpts {
        script.push_str(&format!("RCPT TO:<{r}>\r\n"));
    }
    script.push_str("DATA\r\n");
    let mut bytes = script.into_bytes();
    for line in crlf(mail).split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            bytes.push(b'.');
        }
        bytes.extend_from_slice(line);
    }
    bytes.extend_from_slice(b".\r\nQUIT\r\n");
    let input = dir.write(&format!("smtp-in-{name}"), &bytes);
    let mut cmd = Command::new(smtpd);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("QMAILQUEUE", QMVC_QUEUE)
        .env("QMVCHOME", dir.layer(Layer::System))
        .env("TCPLOCALHOST", "mx.example.org")
        .env("PROTO", "TCP")
        .stdin(File::open(&input).unwrap());
    if let Some(ip) = remote_ip {
        cmd.env("TCPREMOTEIP", ip);
    }
    cmd
}

/// The reply to the final dot in qmail-smtpd's output.
fn data_reply(stdout: &str) -> Option<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let data = lines.iter().position(|l| l.starts_with("354"))?;
    Some(lines.get(data + 1)?.trim_end_matches('\r').to_string())
}

/// A message with an attachment named `name`.
fn with_attachment(name: &str) -> Vec<u8> {
    Mail::new()
        .subject("queue test")
        .mixed(vec![
            Part::text("see the attachment\n"),
            Part::attachment(name, "application/octet-stream", b"MZ data"),
        ])
        .bytes()
}

const IP: Option<&str> = Some("192.0.2.7");

#[test]
fn clean_mail_is_queued_byte_exact_with_x_qmvc() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-clean");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    let mail = with_attachment("report.pdf");
    let reply = session(
        &dir,
        &smtpd,
        "alice@example.net",
        &["bob@example.org", "carol@example.org"],
        &mail,
        IP,
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    let got = recorded(&records);
    assert_eq!(got.len(), 1);
    let record = &got[0];
    assert_eq!(
        record.env,
        b"Falice@example.net\0Tbob@example.org\0Tcarol@example.org\0\0"
    );
    // X-Qmvc, then qmail-smtpd's Received line, then the message as sent.
    let text = String::from_utf8_lossy(&record.msg).into_owned();
    let (first, rest) = text.split_once('\n').unwrap();
    assert!(first.starts_with("X-Qmvc: clear; -; "), "{first}");
    assert!(first.len() > "X-Qmvc: clear; -; ".len(), "{first}");
    assert!(rest.starts_with("Received: "), "{rest}");
    assert!(record.msg.ends_with(&mail), "the message is byte-exact");
    // QMAILQUEUE is gone from the child's environment; fd 6 closed.
    assert!(!record.vars.contains("QMAILQUEUE"), "{}", record.vars);
    assert!(record.vars.contains("TCPREMOTEIP=192.0.2.7"));
    assert!(!record.fds.contains(" 6 -> "), "{}", record.fds);
    // One group: qmvc-queue became the recorder, nothing in between.
    assert_eq!(record.parent, "qmail-smtpd");
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "clear", "{}", line.raw);
    assert_eq!(line.recipient(), "bob@example.org,carol@example.org");
    assert_eq!(line.sender(), "alice@example.net");
    // Field 12 waits for the spam score; field 13 is the client's IP.
    assert_eq!((line.field(12), line.field(13)), ("-", "192.0.2.7"));
}

#[test]
fn the_client_s_data_is_logged_as_untrusted_text() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-client");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    recorder(&dir, 0);
    let mut cmd = smtp_command(
        &dir,
        &smtpd,
        "client",
        "alice@example.net",
        &["bob@example.org"],
        &with_attachment("invoice.exe"),
        Some("192.0.2.7\tx"),
    );
    // tcpserver passes on what DNS and ident said: hostile text.
    cmd.env("TCPREMOTEHOST", "evil.example\n---\nresult: clear")
        .env("TCPREMOTEINFO", "<b>joe</b>")
        .env("RELAYCLIENT", "");
    let out = run_child(cmd);
    let reply = data_reply(&out.stdout).unwrap_or_default();
    assert!(reply.starts_with("554 badfilename"), "{reply}");
    let line = dir.last_log(Layer::System);
    assert_eq!(line.fields.len(), 13, "{}", line.raw);
    assert_eq!(line.field(13), "192.0.2.7_x", "{}", line.raw);
    let reports = dir.reports(Layer::System);
    assert_eq!(reports.len(), 1, "{}", dir.rep_text(Layer::System));
    let client = &reports[0]["client"];
    assert_eq!(client["ip"].as_str(), Some("192.0.2.7\tx"));
    assert_eq!(
        client["host"].as_str(),
        Some("evil.example\n---\nresult: clear")
    );
    assert_eq!(client["info"].as_str(), Some("<b>joe</b>"));
    assert_eq!(client["relayclient"].as_bool(), Some(true));
    assert_eq!(client["proto"].as_str(), Some("TCP"));
    assert_eq!(reports[0]["result"].as_str(), Some("badfilename"));
}

#[test]
fn a_refusal_is_554_with_its_text_and_nothing_queued() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-refused");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    let reply = session(
        &dir,
        &smtpd,
        "alice@example.net",
        &["bob@example.org"],
        &with_attachment("invoice.exe"),
        IP,
    );
    assert!(reply.starts_with("554 badfilename"), "{reply}");
    assert!(reply.contains("invoice.exe"), "{reply}");
    assert!(reply.ends_with("(#5.7.1)"), "{reply}");
    assert!(recorded(&records).is_empty());
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "badfilename", "{}", line.raw);
    assert_eq!(line.action(), "block", "{}", line.raw);
}

#[test]
fn trash_is_250_and_dropped() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-trash");
    dir.filters("badfilename ; trash ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    let reply = session(
        &dir,
        &smtpd,
        "alice@example.net",
        &["bob@example.org"],
        &with_attachment("invoice.exe"),
        IP,
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    assert!(recorded(&records).is_empty());
    assert_eq!(dir.last_log(Layer::System).action(), "trash");
}

#[test]
fn a_bounce_from_qmail_send_is_never_refused() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-bounce");
    dir.filters("badfilename ; bounce ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    let mail = with_attachment("invoice.exe");
    // Null sender, no TCPREMOTEIP: qmail-send's own bounce.
    let reply = session(&dir, &smtpd, "", &["bob@example.org"], &mail, None);
    assert!(reply.starts_with("250 ok"), "{reply}");
    assert!(recorded(&records).is_empty());
    // The same over SMTP is refused.
    let reply = session(&dir, &smtpd, "", &["bob@example.org"], &mail, IP);
    assert!(reply.starts_with("554 badfilename"), "{reply}");
}

#[test]
fn a_deferral_is_451_and_nothing_queued() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-defer");
    let records = recorder(&dir, 0);
    // A profile with a problem is not used: the mail waits.
    dir.control(Layer::System, "customerror", "perhaps\n");
    let mail = with_attachment("report.pdf");
    let reply = session(
        &dir,
        &smtpd,
        "alice@example.net",
        &["bob@example.org"],
        &mail,
        IP,
    );
    assert!(reply.starts_with("451 "), "{reply}");
    assert!(reply.contains("customerror"), "{reply}");
    assert!(recorded(&records).is_empty());
    // qmailqueue naming qmvc-queue itself under another name: deferred.
    fs::remove_file(dir.layer(Layer::System).join("control/customerror"))
        .unwrap();
    let alias = dir.path("bin/real-queue");
    fs::hard_link(QMVC_QUEUE, &alias)
        .or_else(|_| std::os::unix::fs::symlink(QMVC_QUEUE, &alias))
        .unwrap();
    dir.control(
        Layer::System,
        "qmailqueue",
        &format!("{}\n", alias.display()),
    );
    let reply = session(
        &dir,
        &smtpd,
        "alice@example.net",
        &["bob@example.org"],
        &mail,
        IP,
    );
    assert!(reply.starts_with("451 "), "{reply}");
    assert!(reply.contains("qmvc-queue itself"), "{reply}");
}

#[test]
fn the_queue_program_s_code_is_passed_on() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-passon");
    dir.filters("badfilename ; block ; ; ;\n");
    let records = recorder(&dir, 71);
    let reply = session(
        &dir,
        &smtpd,
        "alice@example.net",
        &["bob@example.org"],
        &with_attachment("report.pdf"),
        IP,
    );
    assert!(
        reply.starts_with("451 mail server temporarily rejected"),
        "{reply}"
    );
    assert_eq!(recorded(&records).len(), 1);
}

/// Runs qmvc-queue directly: `message` on descriptor 0, `envelope` in a
/// file on descriptor 1, no descriptor 6. Returns its exit code.
fn direct(dir: &Dir, message: &[u8], envelope: &[u8]) -> i32 {
    direct_with(dir, message, envelope, false)
}

/// [`direct`], with standard error closed when `close_stderr`.
fn direct_with(
    dir: &Dir,
    message: &[u8],
    envelope: &[u8],
    close_stderr: bool,
) -> i32 {
    use std::os::unix::process::CommandExt;
    let msg = dir.write("direct.msg", message);
    let env = dir.write("direct.env", envelope);
    let mut cmd = Command::new(QMVC_QUEUE);
    if close_stderr {
        // SAFETY: close(2) between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::close(2);
                Ok(())
            });
        }
    }
    let out = cmd
        .env("QMVCHOME", dir.layer(Layer::System))
        .env_remove("TCPREMOTEIP")
        .stdin(File::open(msg).unwrap())
        .stdout(Stdio::from(File::open(env).unwrap()))
        .stderr(if close_stderr { Stdio::inherit() } else { Stdio::piped() })
        .output()
        .unwrap();
    out.status.code().unwrap_or(-1)
}

#[test]
fn without_a_pipe_on_fd_6_the_codes_are_31_and_71() {
    let dir = Dir::new("queue-nofd6");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    let env = b"Falice@example.net\0Tbob@example.org\0\0";
    assert_eq!(direct(&dir, &with_attachment("invoice.exe"), env), 31);
    dir.control(Layer::System, "customerror", "maybe\n");
    assert_eq!(direct(&dir, &with_attachment("invoice.exe"), env), 71);
    fs::remove_file(dir.layer(Layer::System).join("control/customerror"))
        .unwrap();
    assert_eq!(direct(&dir, &with_attachment("report.pdf"), env), 0);
    assert_eq!(recorded(&records).len(), 1);
}

#[test]
fn bad_envelopes_get_qmail_queue_s_codes() {
    let dir = Dir::new("queue-envelope");
    let records = recorder(&dir, 0);
    let mail = with_attachment("report.pdf");
    assert_eq!(direct(&dir, &mail, b"Xa@b\0Tc@d\0\0"), 91);
    assert_eq!(direct(&dir, &mail, b"Fa@b\0Tc@d\0"), 54);
    assert_eq!(direct(&dir, &mail, b""), 54);
    let long = format!("Fa@b\0T{}@example.org\0\0", "x".repeat(1024));
    assert_eq!(direct(&dir, &mail, long.as_bytes()), 11);
    assert!(recorded(&records).is_empty());
    // Nothing is left in the spool.
    let tmp = dir.layer(Layer::System).join("tmp");
    assert_eq!(fs::read_dir(tmp).unwrap().count(), 0);
}

#[test]
fn codes_hold_with_standard_error_closed() {
    let dir = Dir::new("queue-closed");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    let env = b"Falice@example.net\0Tbob@example.org\0\0";
    let bad = with_attachment("invoice.exe");
    assert_eq!(direct_with(&dir, &bad, env, true), 31);
    assert_eq!(direct_with(&dir, &bad, b"Fa@b\0X\0\0", true), 91);
    dir.control(Layer::System, "customerror", "maybe\n");
    assert_eq!(direct_with(&dir, &bad, env, true), 71);
    assert!(recorded(&records).is_empty());
}

#[test]
fn dash_t_prints_the_reply_and_writes_nothing() {
    let dir = Dir::new("queue-t");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    let env = dir.write("t.env", b"Falice@example.net\0Tbob@example.org\0\0");
    let msg = dir.message(&with_attachment("invoice.exe"));
    let before = dir.tree();
    let out = Command::new(QMVC_QUEUE)
        .env("QMVCHOME", dir.layer(Layer::System))
        .env("TCPREMOTEIP", "192.0.2.9")
        .env("TCPREMOTEHOST", "evil\u{1b}[2J")
        .env_remove("RELAYCLIENT")
        .arg("-t")
        .args([env.as_os_str(), msg.as_os_str()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(82), "{text}");
    assert!(text.contains("badfilename    MET -> block"), "{text}");
    // The client as qmail-smtpd's environment says, made visible.
    assert!(
        text.contains("client:     ip=192.0.2.9 host=evil<U+001B>[2J info= "),
        "{text}"
    );
    assert!(
        text.ends_with("SMTP reply: 554 badfilename (invoice.exe) (#5.7.1)\n"),
        "{text}"
    );
    // The message on standard input, a clean one: 250, exit 0.
    let clean = dir.message(&with_attachment("report.pdf"));
    let out = Command::new(QMVC_QUEUE)
        .env("QMVCHOME", dir.layer(Layer::System))
        .arg("-t")
        .env_remove("TCPREMOTEIP")
        .arg(&env)
        .stdin(File::open(clean).unwrap())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.ends_with("SMTP reply: 250 ok (queued)\n"), "{text}");
    assert!(!text.contains("client:"), "no SMTP client: {text}");
    // Nothing written, nothing queued.
    let mut after = dir.tree();
    after.retain(|p| !p.contains("messages/"));
    let mut before = before;
    before.retain(|p| !p.contains("messages/"));
    assert_eq!(before, after);
    assert!(recorded(&records).is_empty());
}

#[test]
fn dash_l_lints_the_queue_controls() {
    let dir = Dir::new("queue-lint");
    let run = |dir: &Dir| {
        Command::new(QMVC_QUEUE)
            .env("QMVCHOME", dir.layer(Layer::System))
            .arg("-L")
            .output()
            .unwrap()
    };
    assert_eq!(run(&dir).status.code(), Some(0));
    let path = dir.control(
        Layer::System,
        "qmailqueue",
        "/var/qmail/bin/qmvc-queue\n",
    );
    let out = run(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with(&format!("{}:1: qmailqueue", path.display())),
        "{text}"
    );
    assert!(text.contains("names qmvc-queue itself"), "{text}");
}

#[test]
fn a_20_mb_message_is_queued_byte_exact() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-big");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    // Lines of printable text, some starting with a dot (stuffed on the
    // wire, unstuffed by qmail-smtpd).
    let mut body = String::with_capacity(21 << 20);
    let mut n = 0u64;
    while body.len() < 20 << 20 {
        let lead = if n.is_multiple_of(7) { "." } else { "" };
        body.push_str(&format!(
            "{lead}line {n} of a large message, plain text\n"
        ));
        n += 1;
    }
    let mail = Mail::new().subject("big").text(&body).bytes();
    let reply = session(
        &dir,
        &smtpd,
        "alice@example.net",
        &["bob@example.org"],
        &mail,
        IP,
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    let got = recorded(&records);
    assert_eq!(got.len(), 1);
    assert!(got[0].msg.ends_with(&mail), "the message is byte-exact");
    assert!(got[0].msg.starts_with(b"X-Qmvc: clear; -; "));
    // More than a pipe is filled with: a child fed as it reads.
    assert_eq!(got[0].parent, "qmvc-queue");
}

#[test]
fn twenty_concurrent_sessions_keep_the_log_intact() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-concurrent");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    // All twenty started before any is waited for.
    let children: Vec<_> = (0..20u32)
        .map(|i| {
            let name =
                if i.is_multiple_of(2) { "report.pdf" } else { "invoice.exe" };
            let rcpt = format!("user{i}@example.org");
            let mut cmd = smtp_command(
                &dir,
                &smtpd,
                &format!("s{i}"),
                "alice@example.net",
                &[&rcpt],
                &with_attachment(name),
                IP,
            );
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let replies: Vec<String> = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            data_reply(&text).unwrap_or_else(|| panic!("{text}"))
        })
        .collect();
    for (i, reply) in replies.iter().enumerate() {
        let want =
            if i.is_multiple_of(2) { "250 ok" } else { "554 badfilename" };
        assert!(reply.starts_with(want), "{i}: {reply}");
    }
    assert_eq!(recorded(&records).len(), 10);
    let log = dir.log(Layer::System);
    assert_eq!(log.len(), 20);
    let mut rcpts: Vec<String> =
        log.iter().map(|l| l.recipient().to_string()).collect();
    rcpts.sort();
    let mut want: Vec<String> =
        (0..20).map(|i| format!("user{i}@example.org")).collect();
    want.sort();
    assert_eq!(rcpts, want);
}

#[test]
fn setuid_ignores_qmvchome() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        crate::util::note(
            "not root: the setuid test of qmvc-queue is SKIPPED",
        );
        return;
    }
    let dir = Dir::new("queue-setuid");
    dir.filters("badfilename ; block ; ; ;\n");
    let records = recorder(&dir, 0);
    let copy = dir.path("bin/qmvc-queue-setuid");
    fs::copy(QMVC_QUEUE, &copy).unwrap();
    let run = |program: &Path| {
        let msg = dir.write("s.msg", &with_attachment("report.pdf"));
        let env = dir.write("s.env", b"Fa@example.net\0Tb@example.org\0\0");
        Command::new(program)
            .env("QMVCHOME", dir.layer(Layer::System))
            .stdin(File::open(msg).unwrap())
            .stdout(Stdio::from(File::open(env).unwrap()))
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    // Not setuid: the layer of QMVCHOME is used.
    assert_eq!(run(&copy).status.code(), Some(0));
    assert_eq!(recorded(&records).len(), 1);
    // Setuid nobody, run by root: QMVCHOME is ignored, so the default
    // system layer /var/qmvc is used, which is not there (53), and the
    // test layer sees nothing.
    assert!(!Path::new("/var/qmvc").exists(), "a test needs no /var/qmvc");
    let lines = dir.log(Layer::System).len();
    std::os::unix::fs::chown(&copy, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o4711)).unwrap();
    let out = run(&copy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(53), "{err}");
    assert!(err.contains("/var/qmvc/tmp"), "{err}");
    assert_eq!(recorded(&records).len(), 1);
    assert_eq!(dir.log(Layer::System).len(), lines);
}

/// Writes control file `name` of the layer `sys/LAYER/` (`relay`,
/// `domains/DOMAIN`) with mode 0644.
fn layer_control(dir: &Dir, layer: &str, name: &str, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.layer(Layer::System).join(layer).join("control").join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
}

/// [`session`] with `RELAYCLIENT` set (empty: nothing appended).
fn relay_session(
    dir: &Dir,
    smtpd: &Path,
    rcpts: &[&str],
    mail: &[u8],
) -> String {
    let name = format!("relay-{}", rcpts.len());
    let mut cmd =
        smtp_command(dir, smtpd, &name, "alice@example.net", rcpts, mail, IP);
    cmd.env("RELAYCLIENT", "");
    let out = run_child(cmd);
    out.assert_code(0);
    data_reply(&out.stdout)
        .unwrap_or_else(|| panic!("no reply after DATA\n{}", out.describe()))
}

/// The system layer refuses `.exe`.
fn refuse_exe(dir: &Dir, action: &str) {
    dir.filters(&format!("badfilename ; {action} ; ; ;\n"));
    dir.control(Layer::System, "badfilenames", "*.exe\n");
}

#[test]
fn the_relay_layer_is_used_only_with_relayclient() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-relay");
    refuse_exe(&dir, "block");
    // The LAN may send .exe: no filters in relay/.
    layer_control(&dir, "relay", "filters", "");
    let records = recorder(&dir, 0);
    let mail = with_attachment("setup.exe");
    let rcpts = ["bob@example.org"];
    let reply = session(&dir, &smtpd, "alice@example.net", &rcpts, &mail, IP);
    assert!(reply.starts_with("554 badfilename"), "{reply}");
    assert!(recorded(&records).is_empty());
    let reply = relay_session(&dir, &smtpd, &rcpts, &mail);
    assert!(reply.starts_with("250 ok"), "{reply}");
    assert_eq!(recorded(&records).len(), 1);
    // Records stay in the system layer.
    assert_eq!(dir.log(Layer::System).len(), 2);
    assert!(!dir.layer(Layer::System).join("relay/qmvc.log").exists());
    assert!(!dir.layer(Layer::System).join("relay/tmp").exists());
}

#[test]
fn groups_with_different_decisions_queue_one_and_drop_the_other() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-groups");
    refuse_exe(&dir, "block");
    // other.example takes .exe.
    layer_control(&dir, "domains/other.example", "filters", "");
    let records = recorder(&dir, 0);
    let reply = relay_session(
        &dir,
        &smtpd,
        &["bob@example.org", "Eve@Other.EXAMPLE", "carol@example.org"],
        &with_attachment("setup.exe"),
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    let got = recorded(&records);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].env, b"Falice@example.net\0TEve@Other.EXAMPLE\0\0");
    let text = String::from_utf8_lossy(&got[0].msg).into_owned();
    assert!(text.starts_with("X-Qmvc: clear; -; "), "{text}");
    // One line per group in the system layer's log.
    let log = dir.log(Layer::System);
    assert_eq!(
        log.len(),
        2,
        "{:?}",
        log.iter().map(|l| &l.raw).collect::<Vec<_>>()
    );
    let refused = log
        .iter()
        .find(|l| l.recipient() == "bob@example.org,carol@example.org")
        .expect("the refused group's line");
    // Refused beside a queued group: dropped, and logged so (SPEC 7).
    assert_eq!(refused.action(), "trash", "{}", refused.raw);
    assert_eq!(refused.result(), "badfilename", "{}", refused.raw);
    let queued = log
        .iter()
        .find(|l| l.recipient() == "Eve@Other.EXAMPLE")
        .expect("the queued group's line");
    assert_eq!(queued.result(), "clear", "{}", queued.raw);
}

#[test]
fn all_groups_refusing_is_554() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-groups-554");
    refuse_exe(&dir, "block");
    // A group of its own that refuses too.
    layer_control(
        &dir,
        "domains/other.example",
        "badfilenames",
        "*.exe\n*.scr\n",
    );
    let records = recorder(&dir, 0);
    let reply = relay_session(
        &dir,
        &smtpd,
        &["bob@example.org", "eve@other.example"],
        &with_attachment("setup.exe"),
    );
    assert!(reply.starts_with("554 badfilename"), "{reply}");
    assert!(recorded(&records).is_empty());
    assert_eq!(dir.log(Layer::System).len(), 2);
}

#[test]
fn a_kept_group_s_copy_is_in_the_system_layer() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-groups-keep");
    refuse_exe(&dir, "block");
    layer_control(
        &dir,
        "domains/other.example",
        "filters",
        "badfilename ; keep ; ; ;\n",
    );
    let records = recorder(&dir, 0);
    let reply = relay_session(
        &dir,
        &smtpd,
        &["bob@example.org", "eve@other.example"],
        &with_attachment("setup.exe"),
    );
    assert!(reply.starts_with("554 badfilename"), "{reply}");
    assert!(recorded(&records).is_empty());
    let files = |rel: &str| -> usize {
        let save = dir.layer(Layer::System).join(rel);
        fs::read_dir(save).map_or(0, |d| d.count())
    };
    assert!(files("save") > 0, "{:?}", dir.tree());
    assert_eq!(files("domains/other.example/save"), 0, "{:?}", dir.tree());
}

#[test]
fn a_domain_that_is_a_path_is_no_layer() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-groups-path");
    refuse_exe(&dir, "block");
    // sys/domains/x/../../evil is sys/evil: a layer that lets .exe pass.
    fs::create_dir_all(dir.layer(Layer::System).join("domains/x")).unwrap();
    layer_control(&dir, "evil", "filters", "");
    let records = recorder(&dir, 0);
    for rcpt in ["bob@x/../../evil", "bob@.."] {
        let reply = relay_session(
            &dir,
            &smtpd,
            &[rcpt],
            &with_attachment("setup.exe"),
        );
        assert!(reply.starts_with("554 badfilename"), "{rcpt}: {reply}");
    }
    assert!(recorded(&records).is_empty());
}

#[test]
fn a_scanner_runs_once_for_all_groups() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-groups-scan");
    let counter = dir.path("scans");
    let script = dir.script(
        "countscan",
        &format!("echo x >>'{}'\nexit 0", counter.display()),
    );
    let yaml = format!(
        "protocol: command\ncommand: [\"{}\", \"{{}}\"]\n\
         target: file\nclean: [0]\ninfected: [1]\n\
         virus: ': (\\S+) FOUND$'\ntimeout: 20\n",
        script.display()
    );
    dir.scanners(&[("countscan", 'K', &yaml)]);
    dir.filters("virusmail ; block ; ; ;\n");
    // Three groups: example.org, other.example, third.example.
    layer_control(&dir, "domains/other.example", "badsubjects", "a\n");
    layer_control(&dir, "domains/third.example", "badsubjects", "b\n");
    let records = recorder(&dir, 0);
    let reply = relay_session(
        &dir,
        &smtpd,
        &["bob@example.org", "eve@other.example", "tom@third.example"],
        &with_attachment("report.pdf"),
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    assert_eq!(recorded(&records).len(), 3);
    assert_eq!(dir.log(Layer::System).len(), 3);
    let scans = fs::read_to_string(&counter).unwrap();
    assert_eq!(scans.lines().count(), 1, "the scanner ran {scans:?}");
    for record in recorded(&records) {
        let text = String::from_utf8_lossy(&record.msg).into_owned();
        assert!(text.starts_with("X-Qmvc: clear; K; "), "{text}");
        // Several groups: qmvc-queue runs each and waits for it.
        assert_eq!(record.parent, "qmvc-queue");
    }
}

#[test]
fn an_envelope_too_large_for_a_pipe_is_still_queued_whole() {
    // One group, so qmvc-queue would become qmail-queue with the
    // envelope in a pipe written beforehand; 1.2 MB of recipients are
    // more than it puts in one, and go through the pipes of a child.
    let dir = Dir::new("queue-big-envelope");
    dir.filters("badsubject ; block ; ; ;\n");
    let records = recorder(&dir, 0);
    let mut envelope = b"Falice@example.net\0".to_vec();
    for i in 0..25000 {
        envelope.extend_from_slice(
            format!("Tuser{i:05}.with.a.long.local.part@example.org\0")
                .as_bytes(),
        );
    }
    envelope.push(0);
    assert!(envelope.len() > 1 << 20);
    let mail = with_attachment("report.pdf");
    assert_eq!(direct(&dir, &mail, &envelope), 0);
    let got = recorded(&records);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].env, envelope, "the envelope whole");
    assert!(got[0].msg.ends_with(&mail));
    assert!(got[0].msg.starts_with(b"X-Qmvc: clear; -; "));
    assert_eq!(got[0].parent, "qmvc-queue");
}

#[test]
fn dash_l_lints_relay_and_every_domain_layer() {
    let dir = Dir::new("queue-lint-layers");
    let run = || {
        let out = Command::new(QMVC_QUEUE)
            .env("QMVCHOME", dir.layer(Layer::System))
            .arg("-L")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    layer_control(&dir, "relay", "filters", "");
    layer_control(&dir, "domains/a.example", "filters", "");
    assert_eq!(run(), (Some(0), String::new()));
    layer_control(&dir, "relay", "customerror", "perhaps\n");
    layer_control(&dir, "domains/b.example", "customerror", "maybe\n");
    let (code, text) = run();
    assert_eq!(code, Some(1), "{text}");
    let sys = dir.layer(Layer::System);
    for layer in ["relay", "domains/b.example"] {
        let file = sys.join(layer).join("control/customerror");
        let want = format!("{}:1:", file.display());
        assert_eq!(text.matches(&want).count(), 1, "{want}\n{text}");
    }
}

#[test]
fn queue_controls_are_read_by_qmvc_queue_only() {
    let dir = Dir::new("queue-scope");
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "customerror", "sometimes\n");
    // qmvc (dot-qmail) delivers: the queue's files are not its business.
    dir.run(&[], &with_attachment("report.pdf")).assert_code(0);
    // qmvc-queue reads them and defers on the bad one.
    let envelope = b"Falice@example.net\0Tbob@example.org\0\0";
    let code = direct(&dir, &with_attachment("report.pdf"), envelope);
    assert_eq!(code, 71, "deferred: qmvc-queue reads customerror");
}

/// A message of `size` bytes or a little more.
fn sized_mail(size: usize) -> Vec<u8> {
    let line = "x".repeat(75) + "\n";
    let body = line.repeat(size / line.len() + 1);
    Mail::new().subject("big").body(body.as_bytes()).bytes()
}

#[test]
fn queuesize_refuses_a_larger_message_after_reading_it_whole() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-size");
    dir.control(Layer::System, "limits", "queuesize=4K\n");
    let records = recorder(&dir, 0);
    let rcpts = ["bob@example.org"];
    let small = sized_mail(1000);
    let reply = session(&dir, &smtpd, "alice@example.net", &rcpts, &small, IP);
    assert!(reply.starts_with("250 ok"), "{reply}");
    // 2 MB: far more than a pipe holds, so qmail-smtpd only gets to read
    // our reply if every byte was read.
    let big = sized_mail(2 << 20);
    let reply = session(&dir, &smtpd, "alice@example.net", &rcpts, &big, IP);
    assert_eq!(reply, "554 message too large (#5.3.4)");
    assert_eq!(recorded(&records).len(), 1);
    // Logged, unexamined: field 2 `-`, action block.
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "-", "{line:?}");
    assert_eq!(line.action(), "block", "{line:?}");
    assert_eq!(line.recipient(), "bob@example.org");
    assert_eq!(line.subject(), "big");
    assert_eq!(dir.log(Layer::System).len(), 2);
    // Nothing is left in the spool; without a pipe on fd 6 it is 31.
    let tmp = dir.layer(Layer::System).join("tmp");
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
    let env = b"Falice@example.net\0Tbob@example.org\0\0";
    assert_eq!(direct(&dir, &big, env), 31);
    assert_eq!(direct(&dir, &small, env), 0);
    assert_eq!(recorded(&records).len(), 2);
}

#[test]
fn a_domain_s_smaller_queuesize_drops_its_group_only() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-size-domain");
    layer_control(&dir, "domains/small.example", "limits", "queuesize=2K\n");
    let records = recorder(&dir, 0);
    let reply = relay_session(
        &dir,
        &smtpd,
        &["eve@small.example", "bob@example.org"],
        &sized_mail(8000),
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    let got = recorded(&records);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].env, b"Falice@example.net\0Tbob@example.org\0\0");
    // The dropped group's line is its only trace: trash.
    let log = dir.log(Layer::System);
    let dropped = log
        .iter()
        .find(|l| l.recipient() == "eve@small.example")
        .unwrap_or_else(|| panic!("no line for the dropped group: {log:?}"));
    assert_eq!((dropped.result(), dropped.action()), ("-", "trash"));
    let reply =
        relay_session(&dir, &smtpd, &["eve@small.example"], &sized_mail(8000));
    assert_eq!(reply, "554 message too large (#5.3.4)");
    assert_eq!(recorded(&records).len(), 1);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.recipient(), "eve@small.example");
    assert_eq!((line.result(), line.action()), ("-", "block"));
}

#[test]
fn a_kept_group_beside_a_queued_one_is_kept_and_not_refused() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-mixed-keep");
    refuse_exe(&dir, "keep");
    layer_control(&dir, "domains/other.example", "filters", "");
    let records = recorder(&dir, 0);
    let reply = relay_session(
        &dir,
        &smtpd,
        &["bob@example.org", "eve@other.example"],
        &with_attachment("setup.exe"),
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    let got = recorded(&records);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].env, b"Falice@example.net\0Teve@other.example\0\0");
    let log = dir.log(Layer::System);
    let kept = log
        .iter()
        .find(|l| l.recipient() == "bob@example.org")
        .expect("the kept group's line");
    assert_eq!(kept.action(), "keep", "{}", kept.raw);
    let kept = dir.layer(Layer::System).join("save/policy/new");
    assert_eq!(fs::read_dir(kept).unwrap().count(), 1, "{:?}", dir.tree());
}

#[test]
fn the_refusal_text_is_the_first_refused_group_s() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-first-text");
    // example.org drops .exe, two.example refuses it, three.example
    // refuses the subject.
    dir.filters("badfilename ; trash ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    layer_control(
        &dir,
        "domains/two.example",
        "filters",
        "badfilename ; block ; ; ;\n",
    );
    layer_control(
        &dir,
        "domains/three.example",
        "filters",
        "badsubject ; block ; ; ;\n",
    );
    layer_control(
        &dir,
        "domains/three.example",
        "badsubjects",
        "queue test\n",
    );
    let records = recorder(&dir, 0);
    let mail = with_attachment("setup.exe");
    let rcpts = ["bob@example.org", "ann@two.example", "tom@three.example"];
    let reply = relay_session(&dir, &smtpd, &rcpts, &mail);
    assert!(reply.starts_with("554 badfilename"), "{reply}");
    let rcpts = ["bob@example.org", "tom@three.example", "ann@two.example"];
    let reply = relay_session(&dir, &smtpd, &rcpts, &mail);
    assert!(reply.starts_with("554 badsubject"), "{reply}");
    assert!(recorded(&records).is_empty());
}

/// Runs `program` in a mount namespace of its own where `var` is
/// mounted on `/var`, so that the system layer a setuid qmvc-queue must
/// use (`/var/qmvc`) is the test's; `None` where namespaces are not
/// allowed.
fn with_var(
    var: &Path,
    program: &Path,
    message: &Path,
    envelope: &Path,
) -> Option<std::process::Output> {
    let probe = Command::new("unshare").args(["-m", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        crate::util::note(
            "unshare -m fails: the setuid layer test is SKIPPED",
        );
        return None;
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount --bind \"$1\" /var && exec \"$2\""])
        .arg("sh")
        .arg(var)
        .arg(program)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(File::open(message).unwrap())
        .stdout(Stdio::from(File::open(envelope).unwrap()))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Some(out)
}

#[test]
fn setuid_runs_commands_only_from_root_owned_layers() {
    use std::os::unix::fs::{chown, PermissionsExt};
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        crate::util::note("not root: the setuid layer test is SKIPPED");
        return;
    }
    const QMVCQ: u32 = 65534;
    let dir = Dir::new("queue-setuid-layers");
    let var = dir.path("var");
    let sys = var.join("qmvc");
    let mode = |path: &Path, mode: u32| {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap()
    };
    // The system layer as qmvc-queue(8) installs it: root's control/,
    // qmvcq's tmp/, log/ and save/.
    for sub in ["control", "tmp", "log", "save"] {
        fs::create_dir_all(sys.join(sub)).unwrap();
    }
    for sub in ["tmp", "log", "save"] {
        chown(sys.join(sub), Some(QMVCQ), Some(QMVCQ)).unwrap();
        mode(&sys.join(sub), 0o700);
    }
    for d in [&var, &sys, &sys.join("control")] {
        mode(d, 0o755);
    }
    let records = dir.path("records");
    fs::create_dir_all(&records).unwrap();
    mode(&records, 0o777);
    let recorder = dir.script(
        "recorder",
        &format!(
            "cat >'{0}'/$$.msg\ncat <&1 >'{0}'/$$.env\nexit 0",
            records.display()
        ),
    );
    let control = |layer: &Path, name: &str, text: &str| {
        let path = layer.join("control").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        mode(&path, 0o644);
    };
    control(&sys, "filters", "badfilename ; block ; ; ;\n");
    control(&sys, "badfilenames", "*.exe\n");
    control(&sys, "qmailqueue", &format!("{}\n", recorder.display()));
    // other.example lets .exe through; its layer belongs to qmvcq.
    let other = sys.join("domains/other.example");
    control(&other, "filters", "");
    for d in [&sys.join("domains"), &other, &other.join("control")] {
        mode(d, 0o755);
    }
    // The test directory itself must be passable for qmvcq.
    mode(dir.root(), 0o755);
    let copy = dir.path("bin/qmvc-queue");
    fs::create_dir_all(copy.parent().unwrap()).unwrap();
    mode(copy.parent().unwrap(), 0o755);
    fs::copy(QMVC_QUEUE, &copy).unwrap();
    chown(&copy, Some(QMVCQ), Some(QMVCQ)).unwrap();
    mode(&copy, 0o4711);
    let msg = dir.write("m.msg", &with_attachment("setup.exe"));
    let env = dir.write("m.env", b"Fa@example.net\0Teve@other.example\0\0");
    let count = || fs::read_dir(&records).unwrap().count();
    // Root-owned: the domain layer is trusted and lets .exe through.
    let Some(out) = with_var(&var, &copy, &msg, &env) else { return };
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(count(), 2, "{err}");
    // Owned by qmvcq, whom a setuid qmvc-queue runs as: not trusted, the
    // message is deferred (71: no pipe on fd 6), nothing queued.
    chown(&other, Some(QMVCQ), Some(QMVCQ)).unwrap();
    let out = with_var(&var, &copy, &msg, &env).unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(71), "{err}");
    assert!(err.contains("not by root"), "{err}");
    assert_eq!(count(), 2);
    // The same for its control/.
    chown(&other, Some(0), Some(0)).unwrap();
    chown(other.join("control"), Some(QMVCQ), Some(QMVCQ)).unwrap();
    let out = with_var(&var, &copy, &msg, &env).unwrap();
    assert_eq!(out.status.code(), Some(71));
    assert_eq!(count(), 2);
}

/// The real qmail-inject, beside qmail-smtpd.
fn inject() -> Option<PathBuf> {
    Some(smtpd()?.with_file_name("qmail-inject"))
}

#[test]
fn through_qmail_inject_a_refusal_is_exit_100_and_no_notification_loops() {
    let Some(inject) = inject() else { return };
    let dir = Dir::new("queue-inject");
    dir.filters("badfilename ; block ; informguard=guard@example.org ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let records = recorder(&dir, 0);
    // The notification goes through the real qmail-inject too, to a
    // recorder of its own unless QMAILQUEUE leaked to it: then it would
    // come back to qmvc-queue.
    let notes = dir.path("notes");
    fs::create_dir_all(&notes).unwrap();
    let note_queue = dir.script(
        "note-queue",
        &format!(
            "cat >'{0}'/$$.msg\ncat <&1 >'{0}'/$$.env\nexit 0",
            notes.display()
        ),
    );
    let wrapper = dir.script(
        "inject-wrap",
        &format!(
            "env >'{n}'/injector.vars\n\
             QMAILQUEUE=\"${{QMAILQUEUE:-{q}}}\" exec '{i}' \"$@\"",
            n = notes.display(),
            q = note_queue.display(),
            i = inject.display()
        ),
    );
    dir.control(
        Layer::System,
        "injector",
        &format!("{}\n", wrapper.display()),
    );
    let mail = dir.write("inject.msg", &with_attachment("setup.exe"));
    let out = run_child({
        let mut cmd = Command::new(&inject);
        cmd.args(["-falice@example.net", "-a", "bob@example.org"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("QMAILQUEUE", QMVC_QUEUE)
            .env("QMVCHOME", dir.layer(Layer::System))
            .stdin(File::open(&mail).unwrap());
        cmd
    });
    // qmail-inject turns the D reply on fd 6 into exit 100, and says it.
    out.assert_code(100);
    assert!(out.stderr.contains("badfilename"), "{}", out.describe());
    assert!(recorded(&records).is_empty());
    // The guard's notification went out through qmail-inject to its own
    // queue, not back through qmvc-queue: one qmvc.log line.
    let vars = fs::read_to_string(notes.join("injector.vars")).unwrap();
    assert!(!vars.contains("QMAILQUEUE"), "{vars}");
    let envs: Vec<Vec<u8>> = fs::read_dir(&notes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "env"))
        .map(|p| fs::read(p).unwrap())
        .collect();
    assert_eq!(envs.len(), 1, "{:?}", dir.tree());
    let env = String::from_utf8_lossy(&envs[0]).into_owned();
    assert!(env.contains("Tguard@example.org\0"), "{env:?}");
    assert_eq!(dir.log(Layer::System).len(), 1);
}

/// The shared test spamd as the system layer's only spam engine, asked
/// for `spammail ; inspect`: every message is queued, spam or not.
fn spamd_inspects(dir: &Dir) -> Option<()> {
    if !qmvc_scanners::testing::spamd_available() {
        crate::util::missing("spamd (spamassassin, spamd)");
        return None;
    }
    let spamd = qmvc_scanners::testing::shared_spamd();
    let Endpoint::Unix(socket) = spamd.endpoint_unix() else { return None };
    dir.control(
        Layer::System,
        "scanners.d/spamd.yaml",
        &format!(
            "protocol: spamd\nendpoints: [\"unix:{}\"]\ntimeout: 30\n",
            socket.display()
        ),
    );
    dir.control(Layer::System, "spamscanners", "spamd ; A ; SpamAssassin ;\n");
    dir.filters("spammail ; inspect ; ; ;\n");
    Some(())
}

/// `message` with forged spam fields on top (one folded with a TAB, as
/// spamd folds its own).
fn forged(message: &[u8]) -> Vec<u8> {
    let mut out = b"X-Spam-Status: No, score=-9.9 required=5.0\n\
                    \ttests=FORGED_CONTINUATION autolearn=no\n\
                    x-spam-flag: NO\nX-Spam-Score: -9.9\n"
        .to_vec();
    out.extend_from_slice(message);
    out
}

#[test]
fn queued_spam_carries_our_spam_fields_and_never_the_senders() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-spam-fields");
    if spamd_inspects(&dir).is_none() {
        return;
    }
    let records = recorder(&dir, 0);
    let gtube = forged(&qmvc_scanners::testing::gtube_message());
    let reply = session(
        &dir,
        &smtpd,
        "s@example.net",
        &["bob@example.org"],
        &gtube,
        IP,
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    let ham = forged(&qmvc_scanners::testing::ham_message());
    let reply =
        session(&dir, &smtpd, "c@example.net", &["bob@example.org"], &ham, IP);
    assert!(reply.starts_with("250 ok"), "{reply}");
    let runs = recorded(&records);
    assert_eq!(runs.len(), 2);
    let texts: Vec<String> = runs
        .iter()
        .map(|r| String::from_utf8_lossy(&r.msg).into_owned())
        .collect();
    let (spam, ham) = if texts[0].contains("GTUBE") {
        (&texts[0], &texts[1])
    } else {
        (&texts[1], &texts[0])
    };
    for text in [spam, ham] {
        assert!(!text.contains("-9.9"), "a forged field is left:\n{text}");
        assert!(!text.contains("FORGED_CONTINUATION"), "{text}");
        assert!(!text.contains("X-Spam-Flag: NO"), "{text}");
        assert!(!text.contains("x-spam-flag"), "{text}");
        assert_eq!(text.matches("X-Spam-Status: ").count(), 1, "{text}");
        assert_eq!(text.matches("X-Spam-Score: ").count(), 1, "{text}");
    }
    let head = spam.split("\r\n\r\n").next().unwrap_or(spam);
    let head = head.split("\n\n").next().unwrap_or(head);
    assert!(head.starts_with("X-Qmvc: spammail; -; "), "{spam}");
    assert!(
        head.contains("\nX-Spam-Flag: YES\nX-Spam-Score: 10"),
        "GTUBE scores 1000 and more: {spam}"
    );
    assert!(head.contains("\nX-Spam-Status: Yes, score=10"), "{spam}");
    assert!(head.contains(" required=5.0\n\ttests=GTUBE,"), "{spam}");
    assert!(head.contains("GTUBE"), "{spam}");
    assert!(!ham.contains("X-Spam-Flag"), "{ham}");
    assert!(ham.contains("X-Spam-Status: No, score="), "{ham}");
    // The queued copies are the messages but for the fields.
    let body = |t: &str| t.split("Subject:").nth(1).map(str::to_owned);
    assert!(body(spam).is_some_and(|b| b.contains("XJS*C4JDBQADN1")));
}

#[test]
fn without_spam_engines_the_senders_fields_stay() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-spam-fields-none");
    let records = recorder(&dir, 0);
    let mail = forged(&Mail::new().subject("hi").text("hello\n").bytes());
    let reply = session(
        &dir,
        &smtpd,
        "s@example.net",
        &["bob@example.org"],
        &mail,
        IP,
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    let text =
        String::from_utf8_lossy(&recorded(&records)[0].msg).into_owned();
    assert!(text.contains("X-Spam-Score: -9.9"), "{text}");
}

/// A real clamd in `dir`, or `None` (loudly; a failure under `CI=true`).
fn clamd_in(dir: &Dir) -> Option<qmvc_scanners::testing::Clamd> {
    if !crate::util::have_clamd() {
        return None;
    }
    let home = dir.path("clamd");
    fs::create_dir_all(&home).unwrap();
    Some(qmvc_scanners::testing::Clamd::start(&home, &[]))
}

#[test]
fn a_virus_is_refused_at_smtp_time_and_clamd_asked_once() {
    let Some(smtpd) = smtpd() else { return };
    let dir = Dir::new("queue-clamd");
    let Some(clamd) = clamd_in(&dir) else { return };
    let Endpoint::Unix(socket) = clamd.endpoint_unix() else { return };
    dir.scanners(&[(
        "clamd",
        'C',
        &format!(
            "protocol: clamd\nendpoints: [\"unix:{}\"]\ntimeout: 30\n",
            socket.display()
        ),
    )]);
    dir.filters("virusmail ; block ; ; ;\n");
    // Two groups: example.org and other.example (its own layer).
    layer_control(&dir, "domains/other.example", "badsubjects", "zzz\n");
    let records = recorder(&dir, 0);
    let eicar = Mail::new().subject("invoice").mixed(vec![
        Part::text("The file is attached.\n"),
        Part::attachment(
            "eicar.com",
            "application/octet-stream",
            qmvc_scanners::testing::eicar(),
        ),
    ]);
    let reply = relay_session(
        &dir,
        &smtpd,
        &["bob@example.org", "eve@other.example"],
        &eicar.bytes(),
    );
    assert_eq!(
        reply,
        format!(
            "554 virus {} found (#5.7.1)",
            qmvc_scanners::testing::EICAR_FOUND
        )
    );
    assert!(recorded(&records).is_empty(), "nothing is queued");
    let lines = dir.log(Layer::System);
    assert_eq!(lines.len(), 2, "one line per group");
    // The test clamd runs in the foreground: each of its log lines is in
    // clamd.log once from LogFile and once from its standard output. Its
    // one start-up line counts how often a line is there.
    let log = clamd.log();
    let copies = log.matches("Global time limit set").count();
    assert!(copies > 0, "{log}");
    assert_eq!(
        log.matches(qmvc_scanners::testing::EICAR_FOUND).count(),
        copies,
        "clamd scanned once for both groups:\n{log}"
    );
    // A clean message through the same clamd is queued for both.
    let reply = relay_session(
        &dir,
        &smtpd,
        &["bob@example.org", "eve@other.example"],
        &Mail::new().subject("clean").text("hello\n").bytes(),
    );
    assert!(reply.starts_with("250 ok"), "{reply}");
    assert_eq!(recorded(&records).len(), 2);
}

// qmvc-queue's spool file is a regular file: clamd over its unix socket
// is handed it (FILDES), and qmvc.rep says so.
#[test]
fn clamd_gets_the_spool_file_by_descriptor() {
    if !crate::util::have_clamd() {
        return;
    }
    let dir = Dir::new("queue-fildes");
    let home = dir.path("clamd");
    fs::create_dir_all(&home).unwrap();
    let clamd = qmvc_scanners::testing::Clamd::start(&home, &[]);
    let Endpoint::Unix(socket) = clamd.endpoint_unix() else { unreachable!() };
    let yaml = format!(
        "protocol: clamd\nendpoints: [\"unix:{}\"]\ntimeout: 20\n",
        socket.display()
    );
    dir.scanners(&[("clamd", 'C', &yaml)]);
    dir.filters("virusmail ; block ; ; ;\n");
    let records = recorder(&dir, 0);
    let eicar = std::str::from_utf8(qmvc_scanners::testing::eicar()).unwrap();
    let mail = Mail::new().text(&format!("{eicar}\n")).bytes();
    let env = b"Falice@example.net\0Tbob@example.org\0\0";
    assert_eq!(direct(&dir, &mail, env), 31);
    assert!(recorded(&records).is_empty());
    let rep =
        fs::read_to_string(dir.layer(Layer::System).join("log/qmvc.rep"))
            .unwrap();
    assert!(rep.contains("sent: FILDES"), "{rep}");
    assert!(rep.contains(qmvc_scanners::testing::EICAR_FOUND), "{rep}");
}
