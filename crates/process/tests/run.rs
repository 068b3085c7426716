/*!
`run` against real children (`/bin/sh` scripts): exit codes and signals,
input, bounded output, the time-out killing the whole group, leftovers
killed after an exit, "text file busy" tried again.
*/

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use qmvc_process::{run, run_unsetting, Error, Exit, Output, Spec};

const LONG: Duration = Duration::from_secs(20);

/// A spec running `sh -c script` with no input and output discarded.
fn sh<'a>(args: &'a [String]) -> Spec<'a> {
    Spec {
        program: OsStr::new("/bin/sh"),
        args,
        stdin: None,
        capture: None,
        env: &[],
        timeout: LONG,
    }
}

fn script(body: &str) -> Vec<String> {
    vec!["-c".to_string(), body.to_string()]
}

/// Whether process `pid` is gone (or a zombie waiting for its reaper).
fn dead(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| {
            rest.trim_start().starts_with(['Z', 'X'])
        }),
    }
}

/// Waits a little for `pid` to be dead.
fn dies(pid: &str) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if dead(pid) {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn exit_codes() {
    for code in [0, 1, 3, 100, 111, 255] {
        let args = script(&format!("exit {code}"));
        let output = run(&sh(&args)).unwrap();
        assert_eq!(
            output,
            Output { exit: Exit::Code(code), stdout: vec![], stderr: vec![] }
        );
    }
}

#[test]
fn a_signal_is_not_an_exit_code() {
    let args = script("kill -TERM $$");
    assert_eq!(run(&sh(&args)).unwrap().exit, Exit::Signal(libc::SIGTERM));
    let args = script("kill -KILL $$");
    assert_eq!(run(&sh(&args)).unwrap().exit, Exit::Signal(libc::SIGKILL));
}

#[test]
fn arguments_reach_the_program_untouched() {
    // No shell parses them: sh receives them as $1… itself.
    let args: Vec<String> =
        ["-c", "printf '[%s]' \"$@\"", "sh", "a b", "$(id)", "*", ""]
            .map(String::from)
            .to_vec();
    let output = run(&Spec { capture: Some(1000), ..sh(&args) }).unwrap();
    assert_eq!(output.stdout, b"[a b][$(id)][*][]");
}

#[test]
fn environment_is_added() {
    let args = script("printf '%s|%s' \"$QMVC_TEST\" \"$HOME\"");
    let env = [("QMVC_TEST", OsStr::new("x y"))];
    let output =
        run(&Spec { capture: Some(1000), env: &env, ..sh(&args) }).unwrap();
    let home = std::env::var("HOME").unwrap_or_default();
    assert_eq!(output.stdout, format!("x y|{home}").into_bytes());
}

#[test]
fn environment_is_removed() {
    // HOME is set in any test environment; PATH too.
    let args = script("printf '%s|%s' \"${HOME-unset}\" \"${QMVC_X-no}\"");
    let env = [("QMVC_X", OsStr::new("yes"))];
    let spec = Spec { capture: Some(1000), env: &env, ..sh(&args) };
    let output = run_unsetting(&spec, &["HOME", "QMVC_X"]).unwrap();
    assert_eq!(output.stdout, b"unset|yes", "env is added after");
}

#[test]
fn stdin_is_delivered_whole() {
    let message = b"Subject: x\n\nbody \xc3\xa4\n".repeat(50_000);
    let args = script("cat");
    let output = run(&Spec {
        stdin: Some(&message),
        capture: Some(message.len()),
        ..sh(&args)
    })
    .unwrap();
    assert_eq!(output.exit, Exit::Code(0));
    assert!(output.stdout == message, "{} bytes", output.stdout.len());
}

#[test]
fn stdin_not_read_is_no_error() {
    // EPIPE for the feeder; the exit code judges the child.
    let big = vec![b'x'; 4 << 20];
    let args = script("exit 7");
    let output = run(&Spec { stdin: Some(&big), ..sh(&args) }).unwrap();
    assert_eq!(output.exit, Exit::Code(7));
}

#[test]
fn without_input_or_capture_it_is_dev_null() {
    let args = script(
        "for fd in 0 1 2; do \
           [ \"$(readlink /proc/$$/fd/$fd)\" = /dev/null ] || exit $((fd+1)); \
         done",
    );
    assert_eq!(run(&sh(&args)).unwrap().exit, Exit::Code(0));
}

#[test]
fn capture_is_bounded_and_never_blocks_the_child() {
    // Far more than a pipe holds, on both streams.
    let args = script(
        "head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2; \
         echo end >&2; exit 5",
    );
    let output = run(&Spec { capture: Some(1000), ..sh(&args) }).unwrap();
    assert_eq!(output.exit, Exit::Code(5));
    assert_eq!(output.stdout, vec![0; 1000]);
    assert_eq!(output.stderr, vec![0; 1000]);
    let args = script("printf out; printf err >&2");
    let output = run(&Spec { capture: Some(2), ..sh(&args) }).unwrap();
    assert_eq!(
        (&output.stdout[..], &output.stderr[..]),
        (&b"ou"[..], &b"er"[..])
    );
}

#[test]
fn time_out_kills_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let args = script(&format!(
        "sleep 60 & echo $! > '{}'; sleep 60",
        pid_file.display()
    ));
    let start = Instant::now();
    let got = run(&Spec { timeout: Duration::from_millis(500), ..sh(&args) });
    let took = start.elapsed();
    assert!(matches!(got, Err(Error::TimedOut)), "{got:?}");
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let grandchild = fs::read_to_string(&pid_file).unwrap();
    assert!(dies(grandchild.trim()), "grandchild {grandchild} survived");
}

#[test]
fn what_the_child_left_in_its_group_is_killed_after_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let args = script(&format!(
        "sleep 60 </dev/null >/dev/null 2>&1 & echo $! > '{}'; exit 0",
        pid_file.display()
    ));
    let output = run(&Spec { capture: Some(100), ..sh(&args) }).unwrap();
    assert_eq!(output.exit, Exit::Code(0));
    let grandchild = fs::read_to_string(&pid_file).unwrap();
    assert!(dies(grandchild.trim()), "grandchild {grandchild} survived");
}

#[test]
fn a_child_that_reads_nothing_is_killed_at_the_time_out() {
    // The feeder is blocked on a full pipe when the time-out passes.
    let big = vec![b'x'; 4 << 20];
    let args = script("sleep 60");
    let start = Instant::now();
    let got = run(&Spec {
        stdin: Some(&big),
        capture: Some(10),
        timeout: Duration::from_millis(300),
        ..sh(&args)
    });
    assert!(matches!(got, Err(Error::TimedOut)), "{got:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_process_that_left_the_group_does_not_hold_us() {
    // It keeps stdin, stdout and stderr open and reads nothing; it is
    // not ours to kill, so it is killed by hand at the end.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // The child waits until the other has left its group.
    let args = script(&format!(
        "setsid sh -c 'echo $$ > \"$0\"; exec sleep 10' '{0}' & \
         while [ ! -s '{0}' ]; do sleep 0.01; done; printf done",
        pid_file.display()
    ));
    let big = vec![b'x'; 4 << 20];
    let start = Instant::now();
    let output =
        run(&Spec { stdin: Some(&big), capture: Some(100), ..sh(&args) })
            .unwrap();
    let took = start.elapsed();
    let escaped = fs::read_to_string(&pid_file).unwrap();
    if let Ok(pid) = escaped.trim().parse::<i32>() {
        // SAFETY: signals the one process the test started.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    assert_eq!(output.exit, Exit::Code(0));
    assert_eq!(output.stdout, b"done");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn missing_program_is_a_spawn_error() {
    let spec = Spec { program: OsStr::new("/nonexistent/program"), ..sh(&[]) };
    match run(&spec) {
        Err(Error::Spawn(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::NotFound)
        }
        other => panic!("{other:?}"),
    }
}

/// Writes an executable script `name` into `dir`, returning the file
/// still open for writing.
fn busy_script(dir: &Path, name: &str) -> (std::path::PathBuf, fs::File) {
    let path = dir.join(name);
    let mut file = fs::File::create(&path).unwrap();
    file.write_all(b"#!/bin/sh\nexit 42\n").unwrap();
    file.flush().unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    (path, file)
}

#[test]
fn text_file_busy_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = busy_script(dir.path(), "fresh");
    let closer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        drop(file);
    });
    let spec = Spec { program: path.as_os_str(), ..sh(&[]) };
    let output = run(&spec).unwrap();
    closer.join().unwrap();
    assert_eq!(output.exit, Exit::Code(42));
}

#[test]
fn text_file_busy_for_good_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _file) = busy_script(dir.path(), "held");
    let spec = Spec { program: path.as_os_str(), ..sh(&[]) };
    let start = Instant::now();
    match run(&spec) {
        Err(Error::Spawn(e)) => {
            assert_eq!(e.raw_os_error(), Some(libc::ETXTBSY), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Five more tries, 20 ms more apart each time.
    assert!(start.elapsed() >= Duration::from_millis(300));
}
