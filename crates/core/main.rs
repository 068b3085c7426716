/*!
The qmvc binary: the dot-qmail front end of the delivery library.

It reads what qmail-local gives it (the command line, the environment,
the message on standard input), loads the profile, calls
[`qmvc_delivery::deliver`], and maps the outcome or the failure to one of
the four exit codes qmail-local understands ([`exit`]). A panic anywhere
becomes 111, never 101: the hook prints one line on standard error, the
catch one line on standard output (qmail-local's reason), each once.
*/

use std::io::{self, Write};
use std::panic::{self, UnwindSafe};
use std::process::ExitCode;

mod app;
mod cli;
mod envelope;
mod exit;
mod input;
mod signals;

/// What qmail-local reports for a caught panic (standard output).
const PANIC_REASON: &str = "qmvc: internal error, message deferred (#4.3.0)";

fn main() -> ExitCode {
    // Before anything opens a file: a closed descriptor 1 must not become
    // qmvc.log and receive the bounce reason.
    qmvc_process::stdio::guard();
    signals::install();
    // A panic must defer the mail (111), not look like "soft failure 101"
    // with a backtrace in the bounce. The hook prints one line only, on
    // standard error; the catch one line on standard output.
    panic::set_hook(Box::new(|info| {
        qmvc_process::esay!("qmvc: fatal: internal error: {info} (#4.3.0)");
    }));
    ExitCode::from(guarded(app::run, &mut io::stdout()))
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
