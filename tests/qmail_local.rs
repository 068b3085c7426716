/*!
The real qmail-local: built once per test run from `../shared/qmail`
(notqmail, `build PREFIX OUTDIR`, cc and make only) into
`target/tmp/qmail/`, and a [`deliver`] that hands a message to it the way
qmail-lspawn does, so that the dot-qmail tests (`dotqmailtest!`) run
through it as well as through the emulator of [`crate::util`].

How a delivery runs: the test's dot-qmail text is written verbatim to
`HOME/.qmail` (`HOME/.qmail-EXT` when `EXT` is set) with mode 0644, and
`qmail-local -- USER HOME LOCAL DASH EXT HOST SENDER ./Maildir/` runs
unprivileged with the message file as its (seekable) standard input and
the test's qmail environment, which qmail-local itself overrides with
the values it derives from its arguments (so `RECIPIENT` must be
`LOCAL@HOST`, as it is in qmail). qmail-local runs each `|qmvc ...`
line with `/bin/sh -c` and maps its exit code: 0 goes on to the next
line, 99 stops after it, 100 (and 64, 65, 70, 76, 77, 78, 112) bounces,
anything else defers; `./Maildir/` lines are delivered by qmail-local
itself, with its own Return-Path and Delivered-To lines.

The tests look at what each qmvc printed and how it exited, which the
real qmail-local does not report separately (it passes the programs'
output through as its own). So `PATH` starts with a recording `qmvc`
(`ROOT/ql-spy/qmvc`, a shell script): it runs the real qmvc with the
same arguments, standard input and environment, keeps its exit code,
time and output in `ROOT/ql-spy/runs/N/`, writes the output on and exits
with the same code. The outcome itself comes from qmail-local's exit
code and the Maildir, and is cross-checked with the recorded codes.

Under `CI=true` a qmail-local that does not build fails the tests;
elsewhere they are skipped with a loud note.
*/

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::util::{
    files_in, in_ci, note, run_child, CommandRun, Delivery, Dir, Outcome,
    Output, QMVC, ROOT,
};

/// Where qmail-local is built (PREFIX and OUTDIR of `build`).
fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("qmail")
}

/// The real qmail-local, built on first use (once per test run; an
/// earlier run's binary is reused). `None` with a loud note when it cannot
/// be built; under `CI=true` that panics.
pub fn binary() -> Option<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build) {
        Ok(path) => Some(path.clone()),
        Err(why) => {
            let text = format!(
                "the real qmail-local could not be built ({why}): the \
                 dot-qmail test through it is SKIPPED"
            );
            assert!(!in_ci(), "CI=true and {text}");
            note(&format!("!!! {text} !!!"));
            None
        }
    }
}

fn build() -> Result<PathBuf, String> {
    let out = build_dir();
    let bin = out.join("qmail-local");
    // qmail compiles its PREFIX in (control/, the queue): a build made
    // for another directory (a copied or moved target/) reads the wrong
    // control files, so it is reused only where it was made.
    let stamp = out.join("built-for");
    let here = out.display().to_string();
    if bin.is_file() && fs::read_to_string(&stamp).is_ok_and(|s| s == here) {
        return Ok(bin);
    }
    let script = format!("{ROOT}/../shared/qmail/build");
    if !Path::new(&script).is_file() {
        return Err(format!("no {script}"));
    }
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let run = Command::new("/bin/sh")
        .arg(&script)
        .arg(&out)
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{script}: {e}"))?;
    if !run.status.success() || !bin.is_file() {
        return Err(format!(
            "{script} exited {:?}: {}",
            run.status.code(),
            String::from_utf8_lossy(&run.stderr)
        ));
    }
    fs::write(&stamp, &here)
        .map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(bin)
}

/// The recording `qmvc` of module documentation, written once per
/// directory; returns its directory (for `PATH`).
pub fn spy(dir: &Dir) -> PathBuf {
    let bin = dir.path("ql-spy");
    let script = bin.join("qmvc");
    if script.is_file() {
        return bin;
    }
    let runs = bin.join("runs");
    fs::create_dir_all(&runs).unwrap();
    let text = format!(
        "#!/bin/sh\n\
         # records one qmvc run for the test harness (tests/qmail_local.rs)\n\
         runs='{runs}'\n\
         n=1\n\
         until mkdir \"$runs/$n\" 2>/dev/null; do\n\
         \x20 n=$((n + 1))\n\
         \x20 [ \"$n\" -gt 10000 ] && exit 111\n\
         done\n\
         start=$(date +%s%N)\n\
         '{qmvc}' \"$@\" >\"$runs/$n/stdout\" 2>\"$runs/$n/stderr\"\n\
         rc=$?\n\
         end=$(date +%s%N)\n\
         printf '%s %s\\n' \"$rc\" \"$((end - start))\" >\"$runs/$n/code\"\n\
         cat \"$runs/$n/stdout\"\n\
         cat \"$runs/$n/stderr\" >&2\n\
         exit \"$rc\"\n",
        runs = runs.display(),
        qmvc = QMVC,
    );
    fs::write(&script, text).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// The qmvc runs the spy recorded since `first` (numbered from 1).
fn recorded(spy: &Path, first: usize, rss: i64) -> Vec<CommandRun> {
    let mut runs = Vec::new();
    for n in first.. {
        let run = spy.join("runs").join(n.to_string());
        let Ok(code) = fs::read_to_string(run.join("code")) else {
            break;
        };
        let mut words = code.split_whitespace();
        let code: i32 = words.next().and_then(|c| c.parse().ok()).unwrap();
        let nanos: u64 = words.next().and_then(|n| n.parse().ok()).unwrap();
        let read = |name: &str| {
            String::from_utf8_lossy(&fs::read(run.join(name)).unwrap())
                .into_owned()
        };
        runs.push(CommandRun {
            command: "qmvc (recorded under the real qmail-local)".into(),
            out: Output {
                code,
                signal: None,
                stdout: read("stdout"),
                stderr: read("stderr"),
                elapsed: Duration::from_nanos(nanos),
                cpu: None,
                max_rss_kb: rss,
            },
        });
    }
    runs
}

/// [`Dir::deliver`] through the real qmail-local (see the module
/// documentation).
pub fn deliver(dir: &Dir, dotqmail: &str, message: &Path) -> Delivery {
    let Some(qmail_local) = binary() else {
        panic!("harness: deliver through a qmail-local that is not built");
    };
    let env = dir.environment();
    let get = |name: &str| env.get(name).cloned().unwrap_or_default();
    let (user, home, local) = (get("USER"), get("HOME"), get("LOCAL"));
    let (ext, host, sender) = (get("EXT"), get("HOST"), get("SENDER"));
    assert_eq!(
        get("RECIPIENT"),
        format!("{local}@{host}"),
        "harness: the real qmail-local sets RECIPIENT to LOCAL@HOST"
    );
    let (dash, file) = if ext.is_empty() {
        ("", ".qmail".to_string())
    } else {
        ("-", format!(".qmail-{}", ext.to_lowercase().replace('.', ":")))
    };
    let dot = Path::new(&home).join(file);
    fs::write(&dot, dotqmail).unwrap();
    fs::set_permissions(&dot, fs::Permissions::from_mode(0o644)).unwrap();

    let spy = spy(dir);
    let first = entries(&spy.join("runs")) + 1;
    let maildir_before = files_in(&Path::new(&home).join("Maildir/new"));
    let mut cmd = Command::new(&qmail_local);
    cmd.arg("--")
        .args([&user, &home, &local, dash, &ext, &host, &sender])
        .arg("./Maildir/")
        .current_dir(&home)
        .env_clear()
        .envs(&env)
        .env("PATH", format!("{}:{}", spy.display(), get("PATH")))
        .stdin(File::open(message).unwrap());
    let out = run_child(cmd);
    let runs = recorded(&spy, first, out.max_rss_kb);
    let describe = || {
        format!(
            "qmail-local: {}\nrecorded qmvc runs: {runs:#?}",
            out.describe()
        )
    };
    for run in &runs {
        assert!(
            matches!(run.out.code, 0 | 99 | 100 | 111),
            "harness: qmvc exited {}; qmail-local would treat that as {}, \
             qmvc must never do that\n{}",
            run.out.code,
            if matches!(run.out.code, 64 | 65 | 70 | 76 | 77 | 78 | 112) {
                "a bounce"
            } else {
                "a deferral"
            },
            describe()
        );
    }
    let last = runs.last().map(|r| r.out.code);
    let reason = || {
        let reason = runs.last().map(|r| r.out.reason()).unwrap_or("");
        assert!(
            out.stdout.contains(reason),
            "qmail-local did not report qmvc's reason\n{}",
            describe()
        );
        reason.to_string()
    };
    let outcome = match out.code {
        0 if last == Some(99) => Outcome::Stopped,
        0 => {
            assert!(
                runs.iter().all(|r| r.out.code == 0),
                "qmail-local exited 0\n{}",
                describe()
            );
            let mut delivered: Vec<PathBuf> =
                files_in(&Path::new(&home).join("Maildir/new"))
                    .into_iter()
                    .filter(|f| !maildir_before.contains(f))
                    .collect();
            delivered.sort();
            Outcome::Delivered(delivered)
        }
        100 if last == Some(100) => Outcome::Bounced(reason()),
        111 if last == Some(111) => Outcome::Deferred(reason()),
        _ => panic!(
            "harness: qmail-local's exit code and qmvc's disagree\n{}",
            describe()
        ),
    };
    Delivery { outcome, runs }
}

/// How many entries `path` has (0 when it does not exist).
fn entries(path: &Path) -> usize {
    fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

// The exit code contract itself, one program line at a time: what the
// emulator assumes is what the real qmail-local does.

/// A message with nothing to find.
const CLEAN: &[u8] = b"From: alice@example.net\nTo: bob@example.org\n\
Subject: hello\nMessage-ID: <ql.1@example.net>\n\nHello Bob.\n";

/// A message whose attachment name meets the built-in badfilename.
const EXE: &[u8] = b"From: alice@example.net\nTo: bob@example.org\n\
Subject: invoice\nMessage-ID: <ql.2@example.net>\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=b\n\n--b\n\
Content-Type: text/plain\n\nThe invoice.\n--b\n\
Content-Type: application/octet-stream; name=\"invoice.exe\"\n\
Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--b--\n";

/// Delivers `message` through `dotqmail` with the emulator and with the
/// real qmail-local, each in a fresh directory prepared by `setup`, and
/// checks that both end the same way and leave the same Maildir.
fn both(name: &str, dotqmail: &str, message: &[u8], setup: fn(&Dir)) {
    let emulated = Dir::new(name);
    setup(&emulated);
    let real = Dir::new(&format!("{name}-ql"));
    if !real.use_real_qmail_local() {
        return;
    }
    setup(&real);
    let e = emulated.deliver(dotqmail, &emulated.message(message));
    let r = real.deliver(dotqmail, &real.message(message));
    // Reasons may name the directory.
    let kind = |d: &Delivery, dir: &Dir| {
        let root = dir.root().display().to_string();
        match &d.outcome {
            Outcome::Delivered(files) => {
                format!("delivered {}", files.len())
            }
            Outcome::Stopped => "stopped".into(),
            Outcome::Bounced(why) => format!("bounced: {why}"),
            Outcome::Deferred(why) => format!("deferred: {why}"),
        }
        .replace(&root, "ROOT")
    };
    assert_eq!(
        kind(&r, &real),
        kind(&e, &emulated),
        "real {r:#?}\nemulated {e:#?}"
    );
    let codes = |d: &Delivery| -> Vec<i32> {
        d.runs.iter().map(|r| r.out.code).collect()
    };
    assert_eq!(codes(&r), codes(&e));
    let bodies = |d: &Dir| -> Vec<Vec<u8>> {
        d.maildir()
            .iter()
            .map(|f| {
                let bytes = fs::read(f).unwrap();
                // After qmail-local's Return-Path and Delivered-To.
                let cut = bytes
                    .windows(14)
                    .position(|w| w == b"Delivered-To: ")
                    .and_then(|at| {
                        bytes[at..]
                            .iter()
                            .position(|b| *b == b'\n')
                            .map(|n| at + n + 1)
                    })
                    .unwrap_or(0);
                bytes[cut..].to_vec()
            })
            .collect()
    };
    assert_eq!(bodies(&real), bodies(&emulated));
}

/// No profile: the built-in one.
fn builtin(_: &Dir) {}

/// A system layer whose profile bounces (badfilename `bounce`).
fn bouncing(dir: &Dir) {
    dir.filters("badfilename ; bounce ; ; ;\n");
}

/// A scanner that cannot be reached under `on_error: tempfail`: qmvc
/// defers.
fn deferring(dir: &Dir) {
    dir.filters("virusmail ; block ; ; ;\n");
    let socket = dir.path("no-such-clamd.sock");
    dir.scanners(&[(
        "clamd",
        'C',
        &format!(
            "protocol: clamd\nendpoints:\n  - \"unix:{}\"\n\
             connect_timeout: 2\ntimeout: 20\non_error: tempfail\n",
            socket.display()
        ),
    )]);
}

#[test]
fn exit_0_delivers_the_next_line() {
    both("ql-0", "|qmvc\n./Maildir/\n", CLEAN, builtin);
}

#[test]
fn exit_99_stops_before_the_next_line() {
    both("ql-99", "|qmvc\n./Maildir/\n", EXE, builtin);
}

#[test]
fn exit_100_bounces() {
    both("ql-100", "|qmvc\n./Maildir/\n", EXE, bouncing);
}

#[test]
fn exit_111_defers() {
    both("ql-111", "|qmvc\n./Maildir/\n", CLEAN, deferring);
}

#[test]
fn user_mode_and_comment_lines() {
    both("ql-u", "# filter first\n|qmvc -u\n./Maildir/\n", CLEAN, builtin);
}

#[test]
fn a_maildir_line_alone_is_delivered() {
    both("ql-md", "./Maildir/\n", CLEAN, builtin);
}
