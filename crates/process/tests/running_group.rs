/*!
`RUNNING_GROUP` names the child's group while it runs and is 0 before
and after. A test binary of its own: no other test starts children
meanwhile.
*/

use std::ffi::OsStr;
use std::fs;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use qmvc_process::{run, Error, Exit, Spec, RUNNING_GROUP};

/// Runs `sh -c script` in a thread, waits for the pid it writes to
/// `pid_file` and returns that pid, the value of `RUNNING_GROUP` then,
/// and what `run` answered.
fn observe(
    script: &str,
    pid_file: &std::path::Path,
    timeout: Duration,
) -> (i32, i32, Result<Exit, String>) {
    let args = vec!["-c".to_string(), script.to_string()];
    let child = thread::spawn(move || {
        let spec = Spec {
            program: OsStr::new("/bin/sh"),
            args: &args,
            stdin: None,
            capture: None,
            env: &[],
            timeout,
        };
        run(&spec).map(|o| o.exit).map_err(|e| e.to_string())
    });
    let until = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        let text = fs::read_to_string(pid_file).unwrap_or_default();
        if text.ends_with('\n') {
            break text.trim().parse::<i32>().unwrap();
        }
        assert!(Instant::now() < until, "no pid");
        thread::sleep(Duration::from_millis(5));
    };
    let during = RUNNING_GROUP.load(Ordering::SeqCst);
    (pid, during, child.join().unwrap())
}

#[test]
fn set_while_the_child_runs_and_cleared_after() {
    assert_eq!(RUNNING_GROUP.load(Ordering::SeqCst), 0);
    let dir = tempfile::tempdir().unwrap();

    let pid_file = dir.path().join("exits");
    let script = format!("echo $$ > '{}'; sleep 1", pid_file.display());
    let (pid, during, got) =
        observe(&script, &pid_file, Duration::from_secs(20));
    assert_eq!(got, Ok(Exit::Code(0)));
    assert_eq!(during, pid, "the child leads its group");
    assert_eq!(RUNNING_GROUP.load(Ordering::SeqCst), 0);

    // A time-out clears it as well.
    let pid_file = dir.path().join("hangs");
    let script = format!("echo $$ > '{}'; sleep 60", pid_file.display());
    let (pid, during, got) =
        observe(&script, &pid_file, Duration::from_secs(1));
    assert_eq!(got, Err(Error::TimedOut.to_string()));
    assert_eq!(during, pid);
    assert_eq!(RUNNING_GROUP.load(Ordering::SeqCst), 0);

    // And so does a failed start.
    let spec = Spec {
        program: OsStr::new("/nonexistent/program"),
        args: &[],
        stdin: None,
        capture: None,
        env: &[],
        timeout: Duration::from_secs(1),
    };
    assert!(matches!(run(&spec), Err(Error::Spawn(_))));
    assert_eq!(RUNNING_GROUP.load(Ordering::SeqCst), 0);
}
