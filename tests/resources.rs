/*!
Memory bounds (qmvc(8), RESOURCES): the peak resident set of the real
`qmvc` and `qmvc-queue` for a 10 MB and a 100 MB message stays under
1.5 × the message plus 6 MB.

The peak is `ru_maxrss` from `wait4(2)`. Linux carries into it the
resident set of the process the program was started from (see
`util.rs`), which for this test process, with other tests running
beside it, can be far above a bound of 21 MB. So the program is started
from a fresh, small copy of this test binary ([`probe`], run by
[`measure`]) that does nothing but spawn it, wait for it and print its
`ru_maxrss`: what is measured is the program's own peak.

The messages are written to the test's directory in pieces (never whole
in this process) and removed after the run.
*/

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use qmvc_scanners::testing::base64;

use crate::mail::random_bytes;
use crate::util::{Dir, Layer};

const QMVC: &str = env!("CARGO_BIN_EXE_qmvc");
const QMVC_QUEUE: &str = env!("CARGO_BIN_EXE_qmvc-queue");

/// The variable that makes [`probe`] run a program: its path, the file
/// for its descriptor 0, the file for its descriptor 1 (read; empty for
/// `/dev/null`), its directory, and its arguments, one a line.
const PROBE: &str = "QMVC_TEST_RSS_PROBE";

/// The goal of qmvc(8): at most 1.5 × the message plus 6 MB, in KiB.
fn bound_kb(message: u64) -> i64 {
    let kb = i64::try_from(message / 1024).unwrap();
    kb + kb / 2 + 6 * 1024
}

/// Writes a message of about `size` bytes to `path` in pieces: a text
/// part, then a base64 attachment of pseudo-random bytes (decoded when
/// the profile looks at it), then a closing text part.
fn write_message(path: &Path, size: usize) -> u64 {
    let mut out = BufWriter::new(File::create(path).unwrap());
    write!(
        out,
        "From: alice@example.net\nTo: bob@example.org\n\
         Date: Mon, 03 Mar 2025 10:00:00 +0000\n\
         Subject: a large message\nMessage-ID: <big@example.net>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nThe data, as promised.\n\n\
         --b\nContent-Type: application/octet-stream; name=\"data.bin\"\n\
         Content-Disposition: attachment; filename=\"data.bin\"\n\
         Content-Transfer-Encoding: base64\n\n"
    )
    .unwrap();
    // 57 bytes make one base64 line of 76 characters.
    let chunk = 57 * 1024;
    let mut written = 0usize;
    let mut seed = 1;
    while written < size / 4 * 3 {
        let data = random_bytes(chunk, seed);
        let text = base64(&data);
        out.write_all(text.as_bytes()).unwrap();
        if !text.ends_with('\n') {
            out.write_all(b"\n").unwrap();
        }
        written += chunk;
        seed += 1;
    }
    out.write_all(b"\n--b\nContent-Type: text/plain\n\nBye.\n\n--b--\n")
        .unwrap();
    out.flush().unwrap();
    fs::metadata(path).unwrap().len()
}

/// What [`measure`] got: the exit code and the peak RSS in KiB.
pub struct Measured {
    pub code: i32,
    pub max_rss_kb: i64,
}

/// Runs `program` with `args` in `cwd`, `stdin` on descriptor 0 and
/// `fd1` (read) or `/dev/null` on descriptor 1, the environment `env`,
/// from a fresh copy of this test binary (see the module documentation).
pub fn measure(
    program: &str,
    args: &[&str],
    cwd: &Path,
    stdin: &Path,
    fd1: Option<&Path>,
    env: &[(String, String)],
) -> Measured {
    let mut spec = vec![
        program.to_string(),
        stdin.display().to_string(),
        fd1.map(|p| p.display().to_string()).unwrap_or_default(),
        cwd.display().to_string(),
    ];
    spec.extend(args.iter().map(|a| a.to_string()));
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "resources::probe", "--nocapture"])
        .args(["--test-threads", "1", "--quiet"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env(PROBE, spec.join("\n"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> i64 {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "the probe said no {name}: {text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    };
    Measured {
        code: i32::try_from(field("PROBE_CODE=")).unwrap(),
        max_rss_kb: field("PROBE_RSS_KB="),
    }
}

/// Runs the program [`PROBE`] names, when it is set (in a copy of this
/// binary started by [`measure`]), and prints its exit code and peak
/// RSS; does nothing otherwise.
#[test]
fn probe() {
    use std::os::unix::process::ExitStatusExt;
    let Ok(spec) = std::env::var(PROBE) else { return };
    let mut spec = spec.split('\n');
    let program = spec.next().unwrap();
    let stdin = spec.next().unwrap();
    let fd1 = spec.next().unwrap();
    let cwd = spec.next().unwrap();
    let args: Vec<&str> = spec.collect();
    let mut cmd = Command::new(program);
    cmd.args(&args).current_dir(cwd).env_remove(PROBE);
    cmd.stdin(File::open(stdin).unwrap());
    if fd1.is_empty() {
        cmd.stdout(Stdio::null());
    } else {
        cmd.stdout(File::open(fd1).unwrap());
    }
    cmd.stderr(Stdio::null());
    // Reaped by wait4 below, which Child::wait does not offer (no rusage).
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let status = std::process::ExitStatus::from_raw(status);
    let code = status.code().unwrap_or(128 + status.signal().unwrap_or(0));
    println!("PROBE_CODE={code} PROBE_RSS_KB={}", usage.ru_maxrss);
}

/// `limits` raising `scansize` above a message of `size` bytes, so that
/// it is examined whole (the built-in 32 MiB leaves a 100 MB message
/// unexamined, which costs nothing).
fn examine_whole(dir: &Dir, size: u64) {
    let limits = format!("scansize={}\n", size + (1 << 20));
    dir.control(Layer::System, "limits", &limits);
}

/// The message of `megabytes` MB through `qmvc` (standard input a
/// regular file, so mapped) with the built-in profile, `scansize`
/// raised to examine it whole: delivered clear, and the peak under the
/// bound.
fn qmvc_within_bound(megabytes: usize) {
    let dir = Dir::new(&format!("resources-qmvc-{megabytes}"));
    let path = dir.path("big.eml");
    let size = write_message(&path, megabytes * 1_000_000);
    examine_whole(&dir, size);
    let env: Vec<(String, String)> = dir.environment().into_iter().collect();
    let got = measure(QMVC, &[], &dir.home(), &path, None, &env);
    fs::remove_file(&path).unwrap();
    eprintln!(
        "qmvc, {size} bytes: exit {}, peak RSS {} KiB (bound {} KiB)",
        got.code,
        got.max_rss_kb,
        bound_kb(size)
    );
    assert_eq!(got.code, 0);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "clear", "{}", line.raw);
    assert!(
        got.max_rss_kb < bound_kb(size),
        "peak RSS {} KiB over the bound {} KiB for {size} bytes",
        got.max_rss_kb,
        bound_kb(size)
    );
}

/// The message of `megabytes` MB through `qmvc-queue` (spooled and
/// mapped; `scansize` raised to examine it whole), handed to a queue
/// program that reads it: queued, and the peak under the bound.
fn queue_within_bound(megabytes: usize) {
    let dir = Dir::new(&format!("resources-queue-{megabytes}"));
    let sink = dir.script("sink", "cat >/dev/null\ncat <&1 >/dev/null\n");
    dir.control(Layer::System, "qmailqueue", &format!("{}\n", sink.display()));
    let path = dir.path("big.eml");
    let size = write_message(&path, megabytes * 1_000_000);
    examine_whole(&dir, size);
    let envelope =
        dir.write("big.env", b"Falice@example.net\0Tbob@example.org\0\0");
    let env = vec![(
        "QMVCHOME".to_string(),
        dir.layer(Layer::System).display().to_string(),
    )];
    let got =
        measure(QMVC_QUEUE, &[], &dir.home(), &path, Some(&envelope), &env);
    fs::remove_file(&path).unwrap();
    eprintln!(
        "qmvc-queue, {size} bytes: exit {}, peak RSS {} KiB (bound {} KiB)",
        got.code,
        got.max_rss_kb,
        bound_kb(size)
    );
    assert_eq!(got.code, 0);
    assert!(
        got.max_rss_kb < bound_kb(size),
        "peak RSS {} KiB over the bound {} KiB for {size} bytes",
        got.max_rss_kb,
        bound_kb(size)
    );
}

#[test]
fn qmvc_10_mb() {
    qmvc_within_bound(10);
}

#[test]
fn qmvc_100_mb() {
    qmvc_within_bound(100);
}

#[test]
fn queue_10_mb() {
    queue_within_bound(10);
}

#[test]
fn queue_100_mb() {
    queue_within_bound(100);
}
