/*!
The command line: errors defer (111) with a reason on standard output and
the usage on standard error; grouped options; `-h`, `-V`, `-s`; `-t`
changes nothing and exits as a real run would; `-z` removes stale files.
*/

use std::fs::{self, File};
use std::time::{Duration, SystemTime};

use crate::mail::{Mail, Part};
use crate::util::{files_in, Dir, Layer, Outcome};

#[track_caller]
fn assert_usage_error(dir: &Dir, args: &[&str]) {
    let out = dir.run(args, &Mail::new().bytes());
    out.assert_code(111);
    assert!(!out.reason().trim().is_empty(), "{}", out.describe());
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.describe());
    assert!(out.stderr.contains("usage:"), "{}", out.describe());
}

qmvctest!(unknown_option_defers_with_usage, |dir: Dir| {
    assert_usage_error(&dir, &["-x"]);
    assert!(dir.log(Layer::System).is_empty());
});

dotqmailtest!(unknown_option_in_dot_qmail_defers, |dir: Dir| {
    let msg = dir.message(&Mail::new().bytes());
    let delivery = dir.deliver("|qmvc -Q\n./Maildir/\n", &msg);
    assert!(
        matches!(&delivery.outcome, Outcome::Deferred(r) if !r.is_empty()),
        "{delivery:?}"
    );
    assert!(dir.maildir().is_empty());
});

qmvctest!(missing_option_argument_defers, |dir: Dir| {
    assert_usage_error(&dir, &["-v"]);
    assert_usage_error(&dir, &["-u", "-c"]);
});

qmvctest!(extra_argument_defers, |dir: Dir| {
    assert_usage_error(&dir, &["-u", "extra"]);
});

qmvctest!(exclusive_modes_defer, |dir: Dir| {
    assert_usage_error(&dir, &["-tL"]);
    assert_usage_error(&dir, &["-t", "-z"]);
});

qmvctest!(grouped_n_and_u, |dir: Dir| {
    dir.run(&["-nu"], &Mail::new().bytes()).assert_code(0);
    assert_eq!(dir.log(Layer::User).len(), 1);
    assert!(dir.log(Layer::System).is_empty());
});

qmvctest!(grouped_with_argument_attached, |dir: Dir| {
    dir.control(Layer::Domain("d"), "filters", "badsubject ; bounce\n");
    dir.control(Layer::Domain("d"), "badsubjects", "spam\n");
    let domain = dir.layer(Layer::Domain("d")).display().to_string();
    let spam = Mail::new().subject("spam").bytes();
    dir.run(&[&format!("-nc{domain}")], &spam).assert_code(100);
    assert_eq!(dir.log(Layer::Domain("d")).len(), 1);
});

qmvctest!(help_exits_0, |dir: Dir| {
    let out = dir.qmvc(&["-h"]).run();
    out.assert_code(0);
    assert!(out.stdout.contains("usage"), "{}", out.describe());
    for letter in ["u", "n", "c", "v", "t", "L", "z", "s", "h", "V"] {
        assert!(out.stdout.contains(&format!("-{letter}")), "-{letter}");
    }
});

qmvctest!(version_exits_0, |dir: Dir| {
    let out = dir.qmvc(&["-V"]).run();
    out.assert_code(0);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(out.stdout.trim(), format!("qmvc {version}"));
});

qmvctest!(status_without_scanners, |dir: Dir| {
    let out = dir.qmvc(&["-s"]).run();
    out.assert_code(0);
    assert!(
        out.stdout.contains("no scanner configured"),
        "{}",
        out.describe()
    );
});

/// For each action: a profile and a message that meets it.
fn profile(dir: &Dir, action: &str) -> Vec<u8> {
    dir.filters(&format!(
        "badsubject ; {action} ; ; ;\nerrormail ; inspect ; ; ;\n"
    ));
    dir.control(Layer::System, "badsubjects", "make money fast\n");
    dir.control(Layer::System, "mailheaders", "to=required\n");
    Mail::new().subject("make money fast").bytes()
}

qmvctest!(test_mode_writes_nothing, |dir: Dir| {
    for (action, code) in [
        ("block", 99),
        ("keep", 99),
        ("trash", 99),
        ("bounce", 100),
        ("inspect", 0),
    ] {
        let msg = profile(&dir, action);
        let msg = dir.message(&msg);
        let without_to = dir.message(&Mail::new().without("To").bytes());
        let before = dir.tree();
        let out = dir.qmvc(&["-t"]).stdin_file(&msg).run();
        out.assert_code(code);
        assert!(out.stdout.contains("decision:"), "{}", out.describe());
        assert!(out.stdout.contains("badsubject"), "{}", out.describe());
        dir.qmvc(&["-t"]).stdin_file(&without_to).run().assert_code(0);
        dir.qmvc(&["-ut"]).stdin_file(&msg).run().assert_code(code);
        assert_eq!(dir.tree(), before, "-t with {action} wrote something");
    }
    assert!(!dir.layer(Layer::System).join("log").exists());
    assert!(!dir.layer(Layer::User).exists());
});

qmvctest!(test_mode_exits_like_a_real_run, |dir: Dir| {
    let cases: [(&str, Vec<u8>); 3] = [
        ("block", Mail::new().subject("make money fast").bytes()),
        ("bounce", Mail::new().subject("make money fast").bytes()),
        ("block", Mail::new().without("To").bytes()),
    ];
    for (action, msg) in cases {
        profile(&dir, action);
        let test = dir.run(&["-t"], &msg);
        let real = dir.run(&[], &msg);
        assert_eq!(
            test.code,
            real.code,
            "{}\n{}",
            test.describe(),
            real.describe()
        );
    }
    // badfilename with the built-in badfilenames.
    let msg = Mail::new()
        .mixed(vec![Part::attachment(
            "a.exe",
            "application/octet-stream",
            b"x",
        )])
        .bytes();
    dir.filters("badfilename ; bounce\n");
    let test = dir.run(&["-t"], &msg);
    test.assert_code(100);
    dir.run(&[], &msg).assert_code(100);
});

qmvctest!(test_mode_on_a_pipe, |dir: Dir| {
    // A manual `qmvc -t < file` may also come through a pipe.
    profile(&dir, "bounce");
    let mut child = std::process::Command::new(crate::util::QMVC)
        .arg("-t")
        .env_clear()
        .envs(dir.environment())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(&Mail::new().subject("make money fast").bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(100));
});

fn age(path: &std::path::Path, hours: u64) {
    let file = File::options().write(true).open(path).unwrap();
    let when = SystemTime::now() - Duration::from_secs(hours * 3600);
    file.set_modified(when).unwrap();
}

qmvctest!(cleanup_removes_only_stale_tmp_files, |dir: Dir| {
    let tmp = dir.layer(Layer::System).join("tmp");
    let old = dir.write("sys/tmp/old", b"left by a killed run");
    let new = dir.write("sys/tmp/new", b"in use");
    let recent = dir.write("sys/tmp/recent", b"29 hours old");
    age(&old, 31);
    age(&recent, 29);
    let out = dir.qmvc(&["-z"]).run();
    out.assert_code(0);
    assert!(!old.exists(), "stale file kept");
    assert!(new.exists() && recent.exists(), "fresh file removed");
    assert_eq!(files_in(&tmp).len(), 2);
});

qmvctest!(cleanup_in_user_layer, |dir: Dir| {
    let old = dir.write("home/qmvc/tmp/old", b"x");
    let system = dir.write("sys/tmp/old", b"x");
    age(&old, 48);
    age(&system, 48);
    dir.qmvc(&["-uz"]).run().assert_code(0);
    assert!(!old.exists());
    assert!(system.exists(), "-uz cleaned the system layer");
});

qmvctest!(cleanup_without_tmp_is_fine, |dir: Dir| {
    dir.qmvc(&["-z"]).run().assert_code(0);
    assert!(fs::metadata(dir.layer(Layer::System).join("log")).is_err());
});

qmvctest!(a_fatal_signal_defers_with_111, |dir: Dir| {
    // A command that outlives the signal keeps qmvc busy mid-delivery.
    let pidfile = dir.path("slow.pid");
    let slow = dir.script(
        "slow",
        &format!("#!/bin/sh\necho $$ > {}\nexec sleep 3\n", pidfile.display()),
    );
    dir.filters("badbodytext ; block ; ; ;\n");
    dir.control(
        Layer::System,
        "badbodytexts",
        &format!("|{}\n", slow.display()),
    );
    dir.control(Layer::System, "limits", "commandtimeout=30\n");
    let msg = dir.message(&Mail::new().bytes());
    let running = dir.qmvc(&[]).stdin_file(&msg).spawn();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(running.pid() as libc::pid_t, libc::SIGTERM);
    }
    let out = running.wait();
    out.assert_code(111);
    assert!(out.reason().contains("deferred"), "{}", out.describe());
    // The command was killed with qmvc (gone, or a zombie for init).
    std::thread::sleep(Duration::from_millis(100));
    let pid = fs::read_to_string(&pidfile).unwrap();
    let stat = fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    if let Ok(stat) = stat {
        assert!(stat.contains(") Z"), "command still running: {stat}");
    }
});

qmvctest!(test_mode_shows_control_and_bidi_characters, |dir: Dir| {
    // A subject that would clear the terminal and a name that reads
    // backwards: -t shows both, obeys neither.
    let name = "invoice\u{202E}fdp.exe";
    let msg = Mail::new()
        .subject("\u{1b}[2J\u{1b}]0;owned\u{7}hi")
        .mixed(vec![
            Part::text("See attachment.\n"),
            Part::attachment(name, "application/octet-stream", b"x"),
        ])
        .bytes();
    let out = dir.run(&["-t"], &msg);
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.describe());
    assert!(!out.stdout.contains('\u{202E}'), "{}", out.describe());
    assert!(!out.stdout.contains('\u{7}'), "{}", out.describe());
    assert!(out.stdout.contains("<U+001B>[2J"), "{}", out.describe());
    assert!(out.stdout.contains("invoice<U+202E>fdp.exe"), "{}", out.stdout);
});
