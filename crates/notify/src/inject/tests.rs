use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::thread;
use std::time::Instant;

use super::*;
use crate::{inject, inject_as};

/// Writes an executable shell script `name` with `body` into `dir`.
fn stub(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn argv_and_stdin_reach_the_injector() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let body = format!(
        "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > '{out}/argv'\n\
         cat > '{out}/stdin'\nexit 0"
    );
    let injector = stub(dir.path(), "inject", &body);
    let message = b"Subject: x\n\nbody \xc3\xa4\n".repeat(20_000);
    inject(&injector, "joe@example.com", &message, Duration::from_secs(20))
        .unwrap();
    let argv = fs::read_to_string(dir.path().join("argv")).unwrap();
    assert_eq!(argv, "[-a]\n[-f]\n[]\n[joe@example.com]\n");
    assert_eq!(fs::read(dir.path().join("stdin")).unwrap(), message);
}

#[test]
fn a_release_keeps_its_sender_and_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let body = format!(
        "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > '{out}/argv'\n\
         cat > /dev/null"
    );
    let injector = stub(dir.path(), "inject", &body);
    let timeout = Duration::from_secs(20);
    inject_as(&injector, "s@x", &["a@y", "b@z"], b"m\n", timeout).unwrap();
    let argv = fs::read_to_string(dir.path().join("argv")).unwrap();
    assert_eq!(argv, "[-a]\n[-f]\n[s@x]\n[a@y]\n[b@z]\n");
    // A sender that is not one plain address, or no recipient at all,
    // runs nothing.
    fs::remove_file(dir.path().join("argv")).unwrap();
    let err = inject_as(&injector, "a b@x", &["a@y"], b"m\n", timeout);
    assert!(matches!(err, Err(InjectError::Sender { .. })), "{err:?}");
    let err = inject_as(&injector, "", &[], b"m\n", timeout);
    assert!(matches!(err, Err(InjectError::Recipient { .. })), "{err:?}");
    assert!(!dir.path().join("argv").exists());
}

#[test]
fn no_shell_sees_the_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let injector = stub(
        dir.path(),
        "inject",
        &format!("printf '%s' \"$4\" > '{out}/rcpt'\ncat >/dev/null"),
    );
    let recipient = "a'`id`*&{x}@b";
    inject(&injector, recipient, b"x\n", Duration::from_secs(20)).unwrap();
    let got = fs::read_to_string(dir.path().join("rcpt")).unwrap();
    assert_eq!(got, recipient);
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn failure_is_an_error_with_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let injector = stub(dir.path(), "inject", "cat >/dev/null\nexit 1");
    let err = inject(&injector, "joe@x", b"m\n", Duration::from_secs(20))
        .unwrap_err()
        .to_string();
    assert_eq!(err, format!("injector {} exited 1", injector.display()));
    // One that does not even read its input fails just as plainly.
    let injector = stub(dir.path(), "early", "exit 111");
    let big = vec![b'x'; 1 << 20];
    let err = inject(&injector, "joe@x", &big, Duration::from_secs(20))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("exited 111"), "{err}");
}

#[test]
fn hanging_injector_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    // The child sleeps in the background and would mark its survival.
    let injector = stub(
        dir.path(),
        "hang",
        &format!("(sleep 3; touch '{out}/survived') &\nsleep 30"),
    );
    let start = Instant::now();
    let err = inject(&injector, "joe@x", b"m\n", Duration::from_secs(1))
        .unwrap_err()
        .to_string();
    let took = start.elapsed();
    assert!(err.contains("timed out after 1 s"), "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    thread::sleep(Duration::from_secs(4));
    assert!(!dir.path().join("survived").exists());
}

#[test]
fn a_blocked_writer_does_not_hold_us() {
    // The injector never reads a message larger than a pipe holds.
    let dir = tempfile::tempdir().unwrap();
    let injector = stub(dir.path(), "deaf", "sleep 30");
    let big = vec![b'x'; 4 << 20];
    let start = Instant::now();
    let err = inject(&injector, "joe@x", &big, Duration::from_secs(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("timed out"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn missing_program() {
    let err = inject(
        Path::new("/nonexistent/qmail-inject"),
        "joe@x",
        b"m\n",
        Duration::from_secs(5),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("cannot run injector /nonexistent/qmail-inject: "),
        "{err}"
    );
}

#[test]
fn bad_recipients_are_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let injector =
        stub(dir.path(), "inject", &format!("touch '{out}/ran'\nexit 0"));
    for recipient in [
        "",
        "-oi",
        "-fattacker@x",
        "a b@c",
        "a@b\nc",
        "ä@b",
        "a@b,c@d",
        "<a@b>",
    ] {
        assert!(
            inject(&injector, recipient, b"m\n", Duration::from_secs(5))
                .is_err(),
            "{recipient:?}"
        );
    }
    assert!(!dir.path().join("ran").exists());
}

#[test]
fn killed_by_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let injector = stub(dir.path(), "inject", "kill -TERM $$");
    let err = inject(&injector, "joe@x", b"m\n", Duration::from_secs(20))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("was killed by signal 15"), "{err}");
}

#[test]
fn the_injector_never_sees_qmailqueue() {
    // Set for this test process only; no other test of this crate reads
    // it, and the injector of every test runs without it.
    std::env::set_var("QMAILQUEUE", "/usr/local/bin/qmvc-queue");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let body = format!(
        "printf '%s' \"${{QMAILQUEUE-unset}}\" > '{out}/env'\n\
         cat >/dev/null"
    );
    let injector = stub(dir.path(), "inject", &body);
    inject(&injector, "joe@x", b"m\n", Duration::from_secs(20)).unwrap();
    let got = fs::read_to_string(dir.path().join("env")).unwrap();
    assert_eq!(got, "unset");
}
