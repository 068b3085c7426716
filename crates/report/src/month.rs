/*!
qmvcmonth: TODO.
*/

use std::ffi::OsString;

/// Runs qmvcmonth with `args` (without the program name); the exit code.
pub fn main(args: &[OsString]) -> u8 {
    let _ = args;
    crate::cli::EXIT_FAILURE
}
