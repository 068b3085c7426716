//! qmvcmonth(8): see `qmvc_report::month`.

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::ExitCode::from(qmvc_report::month::main(&args))
}
