/*!
`running_groups` names each child's group while it runs and nothing
before and after, however many run at once, and `kill_running` reaches
them all. A test binary of its own: no other test starts children
meanwhile.
*/

use std::ffi::OsStr;
use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use qmvc_process::{kill_running, run, running_groups, Error, Exit, Spec};

/// Runs `sh -c script` in a thread, waits for the pid it writes to
/// `pid_file` and returns that pid, the groups running then,
/// and what `run` answered.
fn observe(
    script: &str,
    pid_file: &std::path::Path,
    timeout: Duration,
) -> (i32, Vec<i32>, Result<Exit, String>) {
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
    let during = running_groups();
    (pid, during, child.join().unwrap())
}

#[test]
fn set_while_the_child_runs_and_cleared_after() {
    assert_eq!(running_groups(), Vec::<i32>::new());
    let dir = tempfile::tempdir().unwrap();

    let pid_file = dir.path().join("exits");
    let script = format!("echo $$ > '{}'; sleep 1", pid_file.display());
    let (pid, during, got) =
        observe(&script, &pid_file, Duration::from_secs(20));
    assert_eq!(got, Ok(Exit::Code(0)));
    assert_eq!(during, [pid], "the child leads its group");
    assert_eq!(running_groups(), Vec::<i32>::new());

    // A time-out clears it as well.
    let pid_file = dir.path().join("hangs");
    let script = format!("echo $$ > '{}'; sleep 60", pid_file.display());
    let (pid, during, got) =
        observe(&script, &pid_file, Duration::from_secs(1));
    assert_eq!(got, Err(Error::TimedOut.to_string()));
    assert_eq!(during, [pid]);
    assert_eq!(running_groups(), Vec::<i32>::new());

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
    assert_eq!(running_groups(), Vec::<i32>::new());
    kill_running_reaches_every_child_at_once();
}

/// Three children at once, all killed as a signal handler would. Run
/// after the checks above, not beside them: the slots are the process's.
fn kill_running_reaches_every_child_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<_> = (0..3)
        .map(|i| {
            let pid_file = dir.path().join(format!("child{i}"));
            let script = format!(
                "echo $$ > '{}.tmp' && mv '{0}.tmp' '{0}'; sleep 60",
                pid_file.display()
            );
            let args = vec!["-c".to_string(), script];
            let started = Instant::now();
            let handle = thread::spawn(move || {
                let spec = Spec {
                    program: OsStr::new("/bin/sh"),
                    args: &args,
                    stdin: None,
                    capture: None,
                    env: &[],
                    timeout: Duration::from_secs(30),
                };
                let got =
                    run(&spec).map(|o| o.exit).map_err(|e| e.to_string());
                (got, started.elapsed())
            });
            (pid_file, handle)
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(10);
    let mut pids: Vec<i32> = runs
        .iter()
        .map(|(pid_file, _)| loop {
            if let Ok(text) = fs::read_to_string(pid_file) {
                break text.trim().parse::<i32>().unwrap();
            }
            assert!(Instant::now() < until, "no pid");
            thread::sleep(Duration::from_millis(5));
        })
        .collect();
    let mut during = running_groups();
    pids.sort_unstable();
    during.sort_unstable();
    assert_eq!(during, pids, "three children, three groups");
    // What a signal handler does: every one ends now, not after 60 s.
    kill_running();
    for (_, handle) in runs {
        let (got, took) = handle.join().unwrap();
        assert_eq!(got, Ok(Exit::Signal(9)));
        assert!(took < Duration::from_secs(10), "{took:?}");
    }
    assert_eq!(running_groups(), Vec::<i32>::new());
}
