/*!
Running one child process: a program with its arguments, never through a
shell, under a deadline, its whole process group killed.

This crate owns that mechanism and nothing about what the child means:
callers map [`Output`] and [`Error`] to their own results and messages.
[`run`] guarantees:

- the child leads a process group of its own. When the deadline passes,
  the whole group is killed with SIGKILL and the answer is
  [`Error::TimedOut`]. When the child ends by itself, whatever it left
  running in its group is killed too;
- the child is reaped on every way out, early returns and panics
  included, so no zombie is left;
- its standard input is the given bytes, fed by a thread, or
  `/dev/null`. A child that does not read them cuts them short (EPIPE),
  which is not an error: its exit judges it;
- its standard output and standard error are each kept up to a bound.
  Threads read them and drop the rest, so that a full pipe never blocks
  the child. Without a bound they go to `/dev/null`;
- a program that is "text file busy" is tried again a few times. A
  program written just before can be held open for writing for a moment
  by a process that another thread forked and that has not yet run exec;
- the group is published while the child runs, so that a signal handler
  that ends this process can kill it ([`kill_running`]): no child
  outlives qmvc, however many run at once.

It also owns the one search of a program along `PATH`
([`find_program`]), so that what a check finds and what runs agree.

Nothing here panics. A process that left the group and still holds a
pipe delays the answer by at most [`OUTPUT_GRACE`] and is not waited for.
*/
#![deny(missing_docs)]

mod child;
mod path;
mod pipes;
pub mod signals;
pub mod stdio;

pub use path::find_program;

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use child::Running;
use pipes::Capture;

/// How many children's process groups [`kill_running`] reaches at once:
/// more than the scanners and commands of one message run side by side
/// (a child started while every slot is taken runs, but a signal handler
/// cannot reach it; its own time-out still ends it).
pub const GROUP_SLOTS: usize = 32;

/// The process groups of the children that [`run`] is running now, from
/// any thread; 0 is a free slot. [`run`] takes a slot once the child is
/// started and frees it before reaping the child, after which the id
/// could name another process.
static RUNNING_GROUPS: [AtomicI32; GROUP_SLOTS] =
    [const { AtomicI32::new(0) }; GROUP_SLOTS];

/// Kills (SIGKILL) the process group of every child [`run`] is running
/// now, so that none outlives this process: for a signal handler that
/// ends it. Only atomic loads and `kill(2)`: async-signal-safe.
pub fn kill_running() {
    for slot in &RUNNING_GROUPS {
        let group = slot.load(Ordering::SeqCst);
        if group > 0 {
            // SAFETY: kill(2) is async-signal-safe; a group id taken
            // from a slot names a child not yet reaped.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
    }
}

/// The process groups of the children running now (tests, diagnostics).
pub fn running_groups() -> Vec<i32> {
    RUNNING_GROUPS
        .iter()
        .map(|slot| slot.load(Ordering::SeqCst))
        .filter(|&group| group > 0)
        .collect()
}

/// Publishes `group` in a free slot; the slot, or `None` when every slot
/// is taken.
fn publish_group(group: libc::pid_t) -> Option<usize> {
    RUNNING_GROUPS.iter().position(|slot| {
        slot.compare_exchange(0, group, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    })
}

/// Frees `slot`, which [`publish_group`] gave `group`.
fn withdraw_group(slot: usize, group: libc::pid_t) {
    if let Some(slot) = RUNNING_GROUPS.get(slot) {
        let _ = slot.compare_exchange(
            group,
            0,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

/// How long output is still collected after the child ended. Only a
/// process that left the group and kept a pipe open makes [`run`] wait
/// this long.
pub const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// What to run, and how.
#[derive(Clone, Copy, Debug)]
pub struct Spec<'a> {
    /// The program: a path, or a name looked up along `PATH`.
    pub program: &'a OsStr,
    /// Its arguments, each passed as it is (no shell sees them).
    pub args: &'a [String],
    /// Its standard input, or `None` for `/dev/null`.
    pub stdin: Option<&'a [u8]>,
    /// The most bytes kept of its standard output and, separately, of
    /// its standard error; `None` sends both to `/dev/null`.
    pub capture: Option<usize>,
    /// Variables added to the environment it inherits.
    pub env: &'a [(&'a str, &'a OsStr)],
    /// How long it may run before its group is killed.
    pub timeout: Duration,
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// This signal ended it.
    Signal(i32),
}

/// What a child did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// How it ended.
    pub exit: Exit,
    /// Its standard output, at most [`Spec::capture`] bytes (empty
    /// without a capture).
    pub stdout: Vec<u8>,
    /// Its standard error, at most [`Spec::capture`] bytes (empty
    /// without a capture).
    pub stderr: Vec<u8>,
}

/// Why [`run`] has no [`Output`]. In every case the child, if it was
/// started, has been killed with its group and reaped.
#[derive(Debug)]
pub enum Error {
    /// The child could not be started (or not given its input).
    Spawn(io::Error),
    /// Waiting for the child failed.
    Wait(io::Error),
    /// The time-out passed.
    TimedOut,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn(e) => write!(f, "cannot start the child: {e}"),
            Error::Wait(e) => write!(f, "cannot wait for the child: {e}"),
            Error::TimedOut => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn(e) | Error::Wait(e) => Some(e),
            Error::TimedOut => None,
        }
    }
}

impl qmvc_fault::Blame for Error {
    /// Starting or waiting failing is the system's fault (the caller,
    /// which knows where the program is named, may say the
    /// configuration's); a time-out is transient.
    fn fault(&self) -> qmvc_fault::Fault {
        match self {
            Error::Spawn(_) | Error::Wait(_) => qmvc_fault::Fault::Environment,
            Error::TimedOut => qmvc_fault::Fault::Transient,
        }
    }
}

/// Runs `spec` to its end or its time-out, as the crate documentation
/// describes.
pub fn run(spec: &Spec<'_>) -> Result<Output, Error> {
    run_unsetting(spec, &[])
}

/// As [`run`], with the variables named in `unset` removed from the
/// environment the child inherits (before [`Spec::env`] is added).
/// The injector of a message runs without `QMAILQUEUE`, for example, so
/// that a filter that runs as qmail-queue never sees its own mail.
pub fn run_unsetting(
    spec: &Spec<'_>,
    unset: &[&str],
) -> Result<Output, Error> {
    let piped = |yes: bool| if yes { Stdio::piped() } else { Stdio::null() };
    let mut command = Command::new(spec.program);
    for name in unset {
        command.env_remove(name);
    }
    command
        .args(spec.args)
        .envs(spec.env.iter().copied())
        .stdin(piped(spec.stdin.is_some()))
        .stdout(piped(spec.capture.is_some()))
        .stderr(piped(spec.capture.is_some()))
        .process_group(0);
    let limit = spec.capture.unwrap_or(0);
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        let mut child = Running::spawn(&mut command).map_err(Error::Spawn)?;
        // Dropped first on every way out of the scope (then the child,
        // killed and reaped if it is not yet), before the scope waits
        // for the feeder.
        let _stop = StopOnDrop(&stop);
        let stdout = Capture::start(child.stdout(), limit);
        let stderr = Capture::start(child.stderr(), limit);
        if let (Some(pipe), Some(bytes)) = (child.stdin(), spec.stdin) {
            pipes::feed(scope, pipe, bytes, &stop).map_err(Error::Spawn)?;
        }
        let deadline = Instant::now().checked_add(spec.timeout);
        let ended = child.wait_until(deadline).map_err(Error::Wait)?;
        // On a time-out the child itself, after an exit whatever it left
        // running in its group.
        child.kill_group();
        let status = child.reap().map_err(Error::Wait)?;
        if !ended {
            return Err(Error::TimedOut);
        }
        let now = Instant::now();
        let until = now.checked_add(OUTPUT_GRACE).unwrap_or(now);
        Ok(Output {
            exit: exit(status),
            stdout: stdout.finish(until),
            stderr: stderr.finish(until),
        })
    })
}

/// How `status` says the child ended.
fn exit(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        // A reaped child has exited or was killed; this is not reached.
        (None, None) => Exit::Signal(0),
    }
}

/// Tells the feeder to stop when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
