/*!
The child itself: started (tried again while "text file busy"),
published for [`crate::kill_running`], waited for without being reaped (so that
its pid still names its process group), its group killed, reaped. A
[`Running`] dropped before it was reaped kills the group and reaps it.
*/

use std::io;
use std::process::ExitStatus;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use std::thread;
use std::time::{Duration, Instant};

/// How often "text file busy" is tried again, 20 ms more each time.
const BUSY_RETRIES: u64 = 5;

/// The longest pause between two looks at the child.
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// A started child, not yet reaped.
pub(crate) struct Running {
    child: Child,
    /// Its process group (its pid), 0 if that does not fit a pid_t.
    group: libc::pid_t,
    /// Where the group is published for [`crate::kill_running`].
    slot: Option<usize>,
    reaped: bool,
}

impl Running {
    /// Starts `command`, which makes the child lead a process group of
    /// its own, and publishes that group.
    pub(crate) fn spawn(command: &mut Command) -> io::Result<Running> {
        let child = spawn(command)?;
        let group = libc::pid_t::try_from(child.id()).unwrap_or(0);
        let slot = if group > 0 { crate::publish_group(group) } else { None };
        Ok(Running { child, group, slot, reaped: false })
    }

    /// Our end of its standard input pipe, if there is one left.
    pub(crate) fn stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Our end of its standard output pipe, if there is one left.
    pub(crate) fn stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Our end of its standard error pipe, if there is one left.
    pub(crate) fn stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Waits until the child has ended (`true`) or `deadline` has passed
    /// (`false`; `None` is no deadline), leaving it unreaped.
    pub(crate) fn wait_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> io::Result<bool> {
        let mut pause = Duration::from_millis(1);
        loop {
            if self.has_ended()? {
                return Ok(true);
            }
            let left = match deadline {
                Some(deadline) => {
                    deadline.saturating_duration_since(Instant::now())
                }
                None => MAX_PAUSE,
            };
            if left.is_zero() {
                return Ok(false);
            }
            thread::sleep(pause.min(left));
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// Whether the child has ended, leaving it unreaped.
    fn has_ended(&self) -> io::Result<bool> {
        let pid: libc::id_t = self.child.id();
        loop {
            // SAFETY: waitid writes only into `info`, a zeroed siginfo_t
            // owned here; WNOWAIT leaves the child to be reaped by
            // `Child::wait`.
            let (rc, info) = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let rc = libc::waitid(
                    libc::P_PID,
                    pid,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                );
                (rc, info)
            };
            if rc == 0 {
                // SAFETY: after a successful waitid the pid field is set
                // (0 when the child has not changed state).
                return Ok(unsafe { info.si_pid() } != 0);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Sends SIGKILL to the child's process group.
    pub(crate) fn kill_group(&self) {
        if self.reaped || self.group <= 0 {
            return;
        }
        // SAFETY: a plain system call; the child is not reaped, so its
        // pid still names its own process group.
        unsafe {
            libc::kill(-self.group, libc::SIGKILL);
        }
    }

    /// Reaps the child, first withdrawing its group from the slots of
    /// [`crate::kill_running`]: once reaped, the id may name another
    /// process.
    pub(crate) fn reap(&mut self) -> io::Result<ExitStatus> {
        if let Some(slot) = self.slot.take() {
            crate::withdraw_group(slot, self.group);
        }
        let status = self.child.wait();
        self.reaped = true;
        status
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_group();
            let _ = self.reap();
        }
    }
}

/// Starts `command`, trying again a few times while the program is "text
/// file busy" (see the crate documentation).
fn spawn(command: &mut Command) -> io::Result<Child> {
    let mut tries = 0u64;
    loop {
        match command.spawn() {
            Err(e)
                if e.raw_os_error() == Some(libc::ETXTBSY)
                    && tries < BUSY_RETRIES =>
            {
                tries += 1;
                thread::sleep(Duration::from_millis(20 * tries));
            }
            other => return other,
        }
    }
}
