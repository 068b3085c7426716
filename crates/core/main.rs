/*!
The qmvc binary: glue between qmail-local and the library crates.

`main` only runs [`app::run`] and maps its outcome to one of the four exit
codes qmail-local understands; a panic anywhere becomes 111, never 101.
*/

use std::process::ExitCode;

mod actions;
mod analysis;
mod app;
mod cli;
mod envelope;
mod input;
mod logs;
mod probes;
mod reactions;
mod signals;
mod stamp;

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
            ExitCode::from(111)
        }
    }
}
