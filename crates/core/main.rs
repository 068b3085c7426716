/*!
The qmvc binary: the dot-qmail front end of the delivery library.

It reads what qmail-local gives it (the command line, the environment,
the message on standard input), loads the profile, calls
[`qmvc_delivery::deliver`], and maps the outcome or the failure to one of
the four exit codes qmail-local understands ([`exit`]). A panic anywhere
becomes 111, never 101: the hook prints one line on standard error, the
catch one line on standard output (qmail-local's reason), each once.

qmvc is a process per message, so it starts without Rust's runtime
start-up (`#![no_main]`, a C `main`): that start-up reads and parses
`/proc/self/maps` to find the main thread's stack guard (glibc's
`pthread_getattr_np`, about a tenth of the instructions of a whole
delivery) and maps an alternate signal stack, only to print "stack
overflow" before aborting. What of it qmvc needs is done here: SIGPIPE
ignored (a write to a closed pipe is an error, EPIPE), an alternate
signal stack so that a stack overflow, like any SIGSEGV, defers the
message ([`signals`]), and standard output flushed before exit.
*/
#![cfg_attr(not(test), no_main)]

use std::io::{self, Write};
use std::panic::{self, UnwindSafe};

mod app;
mod cli;
mod envelope;
mod exit;
mod input;
mod signals;

/// What qmail-local reports for a caught panic (standard output).
const PANIC_REASON: &str = "qmvc: internal error, message deferred (#4.3.0)";

/// The C entry point (see the crate doc: no Rust runtime start-up).
/// Arguments and environment come from `std::env` as usual.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(
    _argc: libc::c_int,
    _argv: *const *const libc::c_char,
) -> libc::c_int {
    let code = run_main();
    let _ = io::stdout().flush();
    libc::c_int::from(code)
}

/// What `main` does: the exit code.
#[cfg_attr(test, allow(dead_code))]
fn run_main() -> u8 {
    // Before anything opens a file: a closed descriptor 1 must not become
    // qmvc.log and receive the bounce reason.
    qmvc_process::stdio::guard();
    signals::install_runtime();
    signals::install();
    // A panic must defer the mail (111), not look like "soft failure 101"
    // with a backtrace in the bounce. The hook prints one line only, on
    // standard error; the catch one line on standard output.
    panic::set_hook(Box::new(|info| {
        qmvc_process::esay!("qmvc: fatal: internal error: {info} (#4.3.0)");
    }));
    guarded(app::run, &mut io::stdout())
}

/// Runs `run` and returns its exit code; a panic in it is 111, with one
/// line [`PANIC_REASON`] on `reason`.
fn guarded(
    run: impl FnOnce() -> u8 + UnwindSafe,
    reason: &mut dyn Write,
) -> u8 {
    match panic::catch_unwind(run) {
        Ok(code) => code,
        Err(_) => {
            let _ = writeln!(reason, "{PANIC_REASON}");
            let _ = reason.flush();
            exit::Exit::Defer.code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_one_deferral() {
        let mut out = Vec::new();
        assert_eq!(guarded(|| 99, &mut out), 99);
        assert!(out.is_empty());
        let code = guarded(|| panic!("a test panic, not a failure"), &mut out);
        assert_eq!(code, 111);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{PANIC_REASON}\n")
        );
    }
}
