/*!
The qmvc binary: the dot-qmail front end of the delivery library.

It reads what qmail-local gives it (the command line, the environment,
the message on standard input), loads the profile, calls
[`qmvc_delivery::deliver`], and maps the outcome or the failure to one of
the four exit codes qmail-local understands ([`exit`]). A panic anywhere
becomes 111, never 101: the hook prints one line on standard error, the
catch one line on standard output (qmail-local's reason), each once.
*/

use std::process::ExitCode;

mod app;
mod cli;
mod envelope;
mod exit;
mod input;
mod signals;

fn main() -> ExitCode {
    signals::install();
    // A panic must defer the mail (111), not look like "soft failure 101"
    // with a backtrace in the bounce. The hook prints one line only.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("qmvc: fatal: internal error: {info} (#4.3.0)");
    }));
    match std::panic::catch_unwind(app::run) {
        Ok(code) => ExitCode::from(code),
        Err(_) => {
            println!("qmvc: internal error, message deferred (#4.3.0)");
            ExitCode::from(exit::Exit::Defer.code())
        }
    }
}
