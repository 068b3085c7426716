/*!
The effects the engine asks for: running badbodytexts commands (no shell,
message on a pipe, time-out, whole process group killed) and, later, the
virus scanners.
*/

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use qmvc_engine::{CommandOutcome, Probes, ScanOutcome};
use std::path::Path;

use qmvc_profile::{CommandRule, Scanner};
use qmvc_scanners::Answer;

use crate::signals::CHILD_GROUP;

/// Runs commands and scanners for real.
pub struct System<'a> {
    /// The message, written to each command's standard input.
    pub message: &'a [u8],
    /// The layer's `tmp/`, where command-line scanners get their file.
    pub spool: &'a Path,
    /// The injector, given to commands as `QMVC_INJECTOR` (plainmail
    /// sends with it).
    pub injector: &'a Path,
    /// `-t`: commands are not run (they may have effects of their own,
    /// such as plainmail forwarding); they count as not met.
    pub dry_run: bool,
}

impl Probes for System<'_> {
    fn run_command(
        &mut self,
        rule: &CommandRule,
    ) -> Result<CommandOutcome, String> {
        if self.dry_run {
            return Ok(CommandOutcome::NotRun);
        }
        run(rule, self.message, self.injector)
    }

    fn scan(&mut self, scanner: &Scanner) -> ScanOutcome {
        // Scanners run in test mode too: asking one has no effect beyond
        // a temporary file that is gone again when it answers.
        match qmvc_scanners::scan(
            &scanner.definition,
            self.message,
            self.spool,
        ) {
            Answer::Clean => ScanOutcome::Clean,
            Answer::Infected(names) => ScanOutcome::Infected(names),
            Answer::Unscanned(why) => ScanOutcome::Unscanned(why),
            Answer::Failed(why) => ScanOutcome::Failed(why),
        }
    }
}

/// Runs `rule` with `message` on a pipe to its standard input and its
/// output discarded (qmail-local reads qmvc's standard output as the
/// reason; a child must not write there). The child leads its own process
/// group so that a time-out kills whatever it started, too.
fn run(
    rule: &CommandRule,
    message: &[u8],
    injector: &Path,
) -> Result<CommandOutcome, String> {
    let mut child = Command::new(&rule.program)
        .args(&rule.args)
        .env("QMVC_INJECTOR", injector)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| {
            format!("{}: cannot run {}: {e}", rule.origin, rule.program)
        })?;
    let group = i32::try_from(child.id()).unwrap_or(0);
    CHILD_GROUP.store(group, Ordering::SeqCst);
    let outcome = supervise(&mut child, rule, message);
    CHILD_GROUP.store(0, Ordering::SeqCst);
    outcome
}

/// Feeds `message` to `child` and waits for it until `rule`'s time-out.
fn supervise(
    child: &mut Child,
    rule: &CommandRule,
    message: &[u8],
) -> Result<CommandOutcome, String> {
    let stdin = child.stdin.take();
    let deadline = Instant::now() + rule.timeout;
    thread::scope(|scope| {
        // A command need not read its input; the write then ends with
        // EPIPE (Rust ignores SIGPIPE), which is fine.
        if let Some(mut pipe) = stdin {
            scope.spawn(move || {
                let _ = pipe.write_all(message);
            });
        }
        let mut pause = Duration::from_millis(1);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    let code = status.code().unwrap_or(255);
                    kill_group(child.id());
                    return Ok(CommandOutcome::Exited(code));
                }
                Ok(None) => {}
                Err(e) => {
                    kill_group(child.id());
                    let _ = child.wait();
                    return Err(format!(
                        "{}: waiting for {}: {e}",
                        rule.origin, rule.program
                    ));
                }
            }
            if Instant::now() >= deadline {
                kill_group(child.id());
                let _ = child.wait();
                return Ok(CommandOutcome::TimedOut);
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    })
}

/// Kills the process group led by `pid`, so that no descendant keeps the
/// pipe (and the writer thread) alive.
fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals that process group;
        // it has no memory effects.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}
