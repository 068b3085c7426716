/*!
Handing a message to the injector: `INJECTOR -a -f '' RECIPIENT`, no
shell, the message on a pipe, output discarded, in a process group of
its own that is killed whole after the time-out.
*/

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// See [`crate::inject`].
pub(crate) fn inject(
    injector: &Path,
    recipient: &str,
    message: &[u8],
    timeout: Duration,
) -> Result<(), String> {
    let name = injector.display();
    // One plain address: no option, no list, nothing a shell or
    // qmail-inject's address parser could read as more.
    crate::address::check(recipient).map_err(|why| {
        format!("recipient {recipient:?} refused for the injector: {why}")
    })?;
    let mut command = Command::new(injector);
    command
        .args(["-a", "-f", "", recipient])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = spawn(&mut command)
        .map_err(|e| format!("cannot run injector {name}: {e}"))?;
    // The message is fed from a thread so that an injector that does not
    // read can still be waited for and killed. Write errors (an injector
    // that exits early) are not judged: its exit code is.
    let writer = child.stdin.take().map(|mut stdin| {
        let message = message.to_vec();
        thread::spawn(move || {
            let _ = stdin.write_all(&message);
        })
    });
    let status = wait(&mut child, timeout);
    if let Some(writer) = writer {
        // A writer still blocked has a reader that outlived the injector;
        // it is left to end with the process rather than waited for.
        if writer.is_finished() {
            let _ = writer.join();
        }
    }
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(match (status.code(), status.signal()) {
            (Some(code), _) => format!("injector {name} exited {code}"),
            (None, Some(signal)) => {
                format!("injector {name} was killed by signal {signal}")
            }
            (None, None) => format!("injector {name} failed"),
        }),
        Err(Waited::TimedOut) => Err(format!(
            "injector {name} timed out after {} s and was killed",
            timeout.as_secs_f64()
        )),
        Err(Waited::Failed(e)) => {
            Err(format!("cannot wait for injector {name}: {e}"))
        }
    }
}

/// Starts `command`, trying again a few times while the program is
/// "text file busy": a program written just before (a freshly installed
/// injector) can be held open for writing for a moment by a process that
/// another thread forked and that has not yet run exec.
fn spawn(command: &mut Command) -> std::io::Result<Child> {
    let mut tries = 0u64;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 5 => {
                tries += 1;
                thread::sleep(Duration::from_millis(20 * tries));
            }
            other => return other,
        }
    }
}

/// Why waiting gave no exit status.
enum Waited {
    TimedOut,
    Failed(std::io::Error),
}

/// Waits for `child` up to `timeout`; after that, or when waiting
/// fails, kills its process group and reaps it.
fn wait(child: &mut Child, timeout: Duration) -> Result<ExitStatus, Waited> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => {
                kill_group(child);
                return Err(Waited::Failed(e));
            }
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            kill_group(child);
            return Err(Waited::TimedOut);
        }
        thread::sleep(pause.min(timeout - elapsed));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Kills the process group that `child` leads (it is not reaped yet, so
/// the group id is still its own), then reaps it.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        if pid > 0 {
            // SAFETY: kill(2) with a negative pid signals a process group;
            // it touches no memory of this process.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests;
