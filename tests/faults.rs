/*!
Faults injected into real runs of the real binary: a full disk under the
layer's `save/` and `log/` (a small tmpfs, and RLIMIT_FSIZE), a clamd
killed while qmvc waits for its answer, qmvc itself killed with SIGKILL
while it keeps a large message, SIGTERM while a `|command` runs, and 50
runs at once into one layer.

What every test holds qmvc to: an error that is not the message's fault
defers (exit 111) with a reason on standard output; nothing partial is
ever visible in a Maildir's `new/` or `cur/` or in a log; a message is
never kept twice.

The tmpfs tests mount it in a private mount namespace (`unshare -m`,
root, as CI runs), so nothing outlives the test: a script mounts the
tmpfs over the layer's directory, runs qmvc, and copies what the tmpfs
holds afterwards out to the test's directory. They fail under `CI=true`
when `unshare` or `mount` cannot do that (never a silent skip).
*/

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::BufReader;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use qmvc_scanners::testing::Clamd;

use crate::mail::{self, Mail, Part};
use crate::util::{
    entries_in, files_in, have_clamd, missing, run_child, Dir, Layer, Output,
    QMVC,
};

/// A keep rule for a subject with "keep me".
fn keep_rule(dir: &Dir) {
    dir.filters("badsubject ; keep ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "keep me\n");
}

/// Block rules for a subject with "keep me" and for `*.exe` attachments
/// (whose names make a long qmvc.rep document, see [`many_names`]).
fn block_rules(dir: &Dir) {
    dir.filters("badsubject ; block ; ; ;\nbadfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "keep me\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
}

/// A message meeting [`keep_rule`] of about `size` bytes (random text
/// in base64, so that no engine finds anything else in it).
fn big_message(size: usize, seed: u64) -> Vec<u8> {
    let data = mail::random_bytes(size * 3 / 4, seed);
    Mail::new()
        .subject("keep me")
        .mixed(vec![
            Part::text("see the attachment\n"),
            Part::attachment("data.bin", "application/octet-stream", &data),
        ])
        .bytes()
}

/// qmvc with the qmail environment of `dir` in `HOME`, the file
/// `message` on standard input.
fn qmvc_command(dir: &Dir, message: &Path) -> Command {
    let mut cmd = Command::new(QMVC);
    cmd.current_dir(dir.home())
        .env_clear()
        .envs(dir.environment())
        .stdin(File::open(message).unwrap());
    cmd
}

/// qmvc as [`qmvc_command`], its file size limit (RLIMIT_FSIZE) `limit`
/// bytes, set in the child before exec: no root needed.
fn qmvc_with_fsize(dir: &Dir, message: &Path, limit: u64) -> Output {
    let mut cmd = qmvc_command(dir, message);
    // SAFETY: setrlimit(2) is async-signal-safe and touches no memory
    // of the parent.
    unsafe {
        cmd.pre_exec(move || {
            let rlim = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run_child(cmd)
}

/// Mounts a tmpfs of `size` (`64k`) at its first argument, copies the
/// second argument's content into it (when it is a directory), fills
/// what is left with a file `.fill` when the third is `full`, runs the
/// rest of the arguments, removes `.fill` and copies the tmpfs's content
/// to the fourth argument; exits with the program's code.
const FULL_DISK: &str = r#"set -e
mnt=$1 size=$2 seed=$3 fill=$4 copy=$5
shift 5
mount -t tmpfs -o "size=$size,mode=0700" qmvc-full "$mnt"
[ -d "$seed" ] && cp -a "$seed/." "$mnt/"
[ "$fill" = full ] && { dd if=/dev/zero of="$mnt/.fill" bs=1024 2>/dev/null || :; }
set +e
"$@"
rc=$?
rm -f "$mnt/.fill"
mkdir -p "$copy"
cp -a "$mnt/." "$copy/"
exit $rc
"#;

/// Whether tmpfs tests can run here (root, `unshare -m`); when they
/// cannot, [`missing`] (a failure under `CI=true`).
fn can_mount() -> bool {
    let ok = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs qmvc-probe /mnt"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        missing("root with unshare -m and mount -t tmpfs");
    }
    ok
}

/// Runs qmvc on `message` with the layer's directory `sub` (`save`,
/// `log`) a tmpfs of `size`, seeded with the content of `ROOT/seed` and
/// filled up when `fill`; returns the run and the directory holding a
/// copy of what the tmpfs held afterwards.
fn on_tmpfs(
    dir: &Dir,
    sub: &str,
    size: &str,
    fill: bool,
    message: &Path,
) -> (Output, PathBuf) {
    let mnt = dir.layer(Layer::System).join(sub);
    fs::create_dir_all(&mnt).unwrap();
    let copy = dir.path(&format!("after-{sub}"));
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", FULL_DISK, "sh"])
        .arg(&mnt)
        .arg(size)
        .arg(dir.path("seed"))
        .arg(if fill { "full" } else { "room" })
        .arg(&copy)
        .arg(QMVC)
        .current_dir(dir.home())
        .env_clear()
        .envs(dir.environment())
        .stdin(File::open(message).unwrap());
    let out = run_child(cmd);
    assert!(
        !out.stderr.contains("unshare:") && !out.stderr.contains("mount:"),
        "this test needs root and unshare -m\n{}",
        out.describe()
    );
    (out, copy)
}

/// Checks that `out` deferred: exit 111, by its own decision (no
/// signal), with a reason on standard output.
#[track_caller]
fn assert_deferred(out: &Output) {
    assert_eq!(out.signal, None, "killed by a signal\n{}", out.describe());
    out.assert_code(111);
    assert!(
        !out.reason().trim().is_empty() && out.reason().contains("#4."),
        "no reason on standard output\n{}",
        out.describe()
    );
}

/// Every Maildir file in `save/CLASS/new` and `save/CLASS/cur` under
/// `save`.
fn kept_files(save: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for class in entries_in(save) {
        for sub in ["new", "cur"] {
            out.extend(files_in(&class.join(sub)));
        }
    }
    out
}

/// Checks that nothing at all is in a Maildir under `save` (new, cur or
/// tmp).
#[track_caller]
fn assert_nothing_kept(save: &Path) {
    assert_eq!(kept_files(save), Vec::<PathBuf>::new(), "a file was kept");
    for class in entries_in(save) {
        let tmp = files_in(&class.join("tmp"));
        assert!(tmp.is_empty(), "a partial copy is left: {tmp:?}");
    }
}

/// The qmvc.error lines of the system layer.
fn error_lines(dir: &Dir) -> Vec<String> {
    let path = dir.layer(Layer::System).join("log/qmvc.error");
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

// 1. A full disk, and a file size limit.

qmvctest!(keep_on_a_full_save_tmpfs_defers, |dir: Dir| {
    if !can_mount() {
        return;
    }
    keep_rule(&dir);
    let msg = dir.message(&big_message(256 << 10, 1));
    let (out, save) = on_tmpfs(&dir, "save", "64k", false, &msg);
    assert_deferred(&out);
    assert!(out.reason().contains("save"), "{}", out.describe());
    assert_nothing_kept(&save);
    // The deferral is on record where the disk has room.
    let errors = error_lines(&dir);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("\tdefer\t"), "{errors:?}");
    assert_eq!(dir.last_log(Layer::System).action(), "defer");
    assert_eq!(dir.rep_text(Layer::System), "");
});

qmvctest!(block_on_a_full_log_tmpfs_defers, |dir: Dir| {
    if !can_mount() {
        return;
    }
    block_rules(&dir);
    // The first block is recorded whole.
    let first = Mail::new().subject("keep me").bytes();
    dir.run(&[], &first).assert_code(99);
    let before = dir.rep_text(Layer::System);
    fs::rename(dir.layer(Layer::System).join("log"), dir.path("seed"))
        .unwrap();
    // The second finds its log/ full: no record, no block. Its document
    // is longer than what is left of qmvc.rep's last page: the start of
    // it could be written.
    let msg = dir.message(&many_names("keep me"));
    let (out, log) = on_tmpfs(&dir, "log", "64k", true, &msg);
    assert_deferred(&out);
    let rep = fs::read_to_string(log.join("qmvc.rep")).unwrap();
    assert_eq!(rep, before, "qmvc.rep holds a partial document");
    for name in ["qmvc.log", "qmvc.error"] {
        let text = fs::read_to_string(log.join(name)).unwrap_or_default();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{name} ends in a partial line: {text:?}"
        );
    }
});

qmvctest!(keep_past_the_file_size_limit_defers, |dir: Dir| {
    keep_rule(&dir);
    let msg = dir.message(&big_message(256 << 10, 2));
    let out = qmvc_with_fsize(&dir, &msg, 64 << 10);
    // SIGXFSZ is ignored: the write fails with EFBIG and qmvc defers.
    assert_deferred(&out);
    assert!(out.reason().contains("save"), "{}", out.describe());
    assert_nothing_kept(&dir.layer(Layer::System).join("save"));
    let errors = error_lines(&dir);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("\tdefer\t"), "{errors:?}");
    // With room again, the retry keeps it once.
    dir.qmvc(&[]).stdin_file(&msg).run().assert_code(99);
    let kept = kept_files(&dir.layer(Layer::System).join("save"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), fs::read(&msg).unwrap());
});

/// A message meeting the rule on `subject` whose qmvc.rep document is
/// some kilobytes (many attachments, each name a match of badfilename).
fn many_names(subject: &str) -> Vec<u8> {
    let parts = (0..40)
        .map(|i| {
            let name = format!("{}{i}.exe", "n".repeat(100));
            Part::attachment(&name, "application/octet-stream", b"MZ x")
        })
        .collect();
    Mail::new().subject(subject).mixed(parts).bytes()
}

qmvctest!(a_record_cut_by_the_file_size_limit_is_taken_back, |dir: Dir| {
    block_rules(&dir);
    dir.run(&[], &Mail::new().subject("keep me").bytes()).assert_code(99);
    let rep = dir.layer(Layer::System).join("log/qmvc.rep");
    let before = fs::read(&rep).unwrap();
    // Room for the start of the next document only.
    let limit = before.len() as u64 + 200;
    let msg = dir.message(&many_names("keep me again"));
    let out = qmvc_with_fsize(&dir, &msg, limit);
    assert_deferred(&out);
    assert_eq!(
        String::from_utf8_lossy(&fs::read(&rep).unwrap()),
        String::from_utf8_lossy(&before),
        "qmvc.rep holds a partial document"
    );
    // The next record starts on a document of its own.
    dir.qmvc(&[]).stdin_file(&msg).run().assert_code(99);
    let reports = dir.reports(Layer::System);
    assert_eq!(reports.len(), 2, "{}", dir.rep_text(Layer::System));
});

// 2. clamd killed while qmvc waits for its answer.

qmvctest!(clamd_killed_mid_scan_defers, |dir: Dir| {
    if !have_clamd() {
        return;
    }
    let home = dir.path("clamd");
    fs::create_dir_all(&home).unwrap();
    let clamd = Clamd::start(&home, &[]);
    dir.filters("virusmail ; block ; ; ;\n");
    let yaml = format!(
        "protocol: clamd\nendpoints:\n  - \"unix:{}\"\n\
         connect_timeout: 2\ntimeout: 10\non_error: tempfail\n",
        clamd.socket().display()
    );
    dir.scanners(&[("clamd", 'C', &yaml)]);
    let msg = dir.message(&Mail::new().text("nothing to see\n").bytes());
    // Stopped, clamd still has its socket: qmvc connects, sends the
    // message and waits for an answer that never comes.
    let pid = clamd.pid() as libc::pid_t;
    // SAFETY: signals to our own child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let run = dir.qmvc(&[]).stdin_file(&msg).spawn();
    thread::sleep(Duration::from_millis(700));
    assert!(running(run.pid()), "qmvc did not wait for clamd");
    let killed = Instant::now();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let out = run.wait();
    assert_deferred(&out);
    assert!(out.reason().contains("clamd (C)"), "{}", out.describe());
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "not within the 10 s time-out: {:?}",
        killed.elapsed()
    );
    let errors = error_lines(&dir);
    assert!(
        errors.iter().any(|l| l.contains("clamd")),
        "no qmvc.error line names clamd: {errors:?}"
    );
    assert!(dir.maildir().is_empty());
    drop(clamd);
});

/// Whether process `pid` still runs (not gone, not a zombie).
fn running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.contains(") Z"))
}

/// Waits up to two seconds for process `pid` to be gone (or a zombie).
#[track_caller]
fn assert_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while running(pid) {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"));
        assert!(Instant::now() < deadline, "still runs: {stat:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

// 3. qmvc killed with SIGKILL while it keeps a large message.

/// The size of the message kept while qmvc is killed.
const LARGE: usize = 20 << 20;

/// How many times qmvc is killed.
const KILLS: u32 = 30;

qmvctest!(sigkill_while_keeping_never_leaves_a_partial_copy, |dir: Dir| {
    keep_rule(&dir);
    let bytes = big_message(LARGE, 3);
    let msg = dir.message(&bytes);
    let save = dir.layer(Layer::System).join("save");
    // How long a whole run takes, in a layer of its own.
    let other = Dir::new("sigkill-calibration");
    keep_rule(&other);
    let out = qmvc_command(&other, &msg);
    let whole = run_child(out).elapsed;
    let mut completed = false;
    for i in 0..KILLS {
        let delay = whole.mul_f64(f64::from(i) / f64::from(KILLS));
        let run = dir.qmvc(&[]).stdin_file(&msg).spawn();
        thread::sleep(delay);
        // SAFETY: a signal to our own unreaped child.
        unsafe { libc::kill(run.pid() as libc::pid_t, libc::SIGKILL) };
        let out = run.wait();
        for file in kept_files(&save) {
            let len = fs::metadata(&file).unwrap().len();
            assert_eq!(len, bytes.len() as u64, "{file:?} is cut short");
        }
        if out.signal.is_none() {
            // It finished before the kill: delivered, qmail would not
            // try again.
            out.assert_code(99);
            completed = true;
            break;
        }
        // Killed after its last step (the qmvc.log line; the journal
        // goes right after it), before it could exit: qmail would try
        // again and keep it again (see qmvc(8) BUGS); the copy made is
        // whole and there is one.
        if !dir.log(Layer::System).is_empty() {
            completed = true;
            break;
        }
    }
    if !completed {
        dir.qmvc(&[]).stdin_file(&msg).run().assert_code(99);
    }
    let kept = kept_files(&save);
    assert_eq!(kept.len(), 1, "kept {} times: {kept:?}", kept.len());
    assert!(fs::read(&kept[0]).unwrap() == bytes, "the copy differs");
    assert_eq!(dir.reports(Layer::System).len(), 1);
    // What the killed runs left under the copy's name went with the
    // retry that wrote it again.
    let policy = save.join("policy");
    assert!(files_in(&policy.join("tmp")).is_empty(), "left in tmp/");
    assert_eq!(files_in(&policy.join("analysis")).len(), 1);
    // Its journal is gone with the delivery.
    let due = dir.layer(Layer::System).join("tmp/due");
    assert!(entries_in(&due).is_empty(), "{:?}", entries_in(&due));
});

// 4. SIGTERM while a |command runs.

qmvctest!(sigterm_during_a_command_kills_its_group, |dir: Dir| {
    let pids = dir.path("pids");
    fs::create_dir_all(&pids).unwrap();
    let script = dir.script(
        "slow",
        &format!(
            "echo $$ > {p}/script.tmp && mv {p}/script.tmp {p}/script\n\
             sleep 30 &\n\
             echo $! > {p}/sleep.tmp && mv {p}/sleep.tmp {p}/sleep\n\
             wait",
            p = pids.display()
        ),
    );
    dir.filters("badbodytext ; block ; ; ;\n");
    dir.control(
        Layer::System,
        "badbodytexts",
        &format!("|{}\n", script.display()),
    );
    let msg = dir.message(&Mail::new().text("hello\n").bytes());
    let run = dir.qmvc(&[]).stdin_file(&msg).spawn();
    let started = Instant::now();
    while !pids.join("sleep").exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "no command ran");
        thread::sleep(Duration::from_millis(10));
    }
    let pid = |name: &str| -> u32 {
        fs::read_to_string(pids.join(name)).unwrap().trim().parse().unwrap()
    };
    let (script_pid, sleep_pid) = (pid("script"), pid("sleep"));
    let termed = Instant::now();
    // SAFETY: a signal to our own unreaped child.
    unsafe { libc::kill(run.pid() as libc::pid_t, libc::SIGTERM) };
    let out = run.wait();
    assert!(
        termed.elapsed() < Duration::from_secs(2),
        "SIGTERM took {:?}",
        termed.elapsed()
    );
    assert_deferred(&out);
    assert_gone(script_pid);
    assert_gone(sleep_pid);
});

// 5. 50 runs at once into one layer.

qmvctest!(fifty_concurrent_runs_keep_every_record, |dir: Dir| {
    keep_rule(&dir);
    let messages: Vec<PathBuf> = (0..50)
        .map(|i| {
            let text = format!("message {i}\n");
            dir.message(&Mail::new().subject("keep me").text(&text).bytes())
        })
        .collect();
    let runs: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, msg)| {
            dir.qmvc(&[])
                .stdin_file(msg)
                .env("RECIPIENT", &format!("rcpt{i}@example.org"))
                .spawn()
        })
        .collect();
    for run in runs {
        run.wait().assert_code(99);
    }
    let expected: BTreeSet<String> =
        (0..50).map(|i| format!("rcpt{i}@example.org")).collect();
    let log = dir.layer(Layer::System).join("log");
    // qmvc.log through the reader of the report programs.
    let text = fs::read_to_string(log.join("qmvc.log")).unwrap();
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        let record = qmvc_log::line::Record::parse(line)
            .unwrap_or_else(|| panic!("not a qmvc.log line: {line:?}"));
        assert_eq!(record.action, "keep", "{line}");
        assert_eq!(record.result, "badsubject", "{line}");
        assert!(seen.insert(record.recipient.to_string()), "{line}");
    }
    assert_eq!(seen, expected);
    // qmvc.rep through its reader: 50 documents, none damaged.
    let path = log.join("qmvc.rep");
    let mut reader = BufReader::new(File::open(&path).unwrap());
    let mut seen = BTreeSet::new();
    let summary = qmvc_log::rep::for_each(&mut reader, &path, |report| {
        assert_eq!(report.action, "keep");
        seen.insert(report.recipient);
    })
    .unwrap();
    assert_eq!(summary.damaged, 0, "{summary:?}");
    assert_eq!(seen, expected);
    // Each message kept once, whole.
    let save = dir.layer(Layer::System).join("save");
    let kept = kept_files(&save);
    assert_eq!(kept.len(), 50, "{kept:?}");
    let mut bodies: BTreeSet<Vec<u8>> =
        messages.iter().map(|m| fs::read(m).unwrap()).collect();
    for file in &kept {
        assert!(bodies.remove(&fs::read(file).unwrap()), "{file:?}");
    }
    assert!(bodies.is_empty());
});
