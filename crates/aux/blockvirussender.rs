//! blockvirussender(8): see `qmvc_blocksender`.

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::ExitCode::from(qmvc_blocksender::main(&args))
}
