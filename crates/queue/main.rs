/*!
The qmvc-queue binary: the QMAILQUEUE wrapper (qmvc-queue(8)). It takes
descriptor 6 out of the way of every child, removes `QMAILQUEUE` from the
environment every child inherits, and runs [`qmvc_queue::run`]; a panic
or a signal that ends it is exit 81, "internal bug" in qmail-queue(8),
never anything qmail-queue does not document.
*/

use std::panic;

use qmvc_queue::INTERNAL_BUG;

extern "C" fn internal_bug(_: libc::c_int) {
    qmvc_process::kill_running();
    // SAFETY: _exit(2) is async-signal-safe.
    unsafe {
        libc::_exit(libc::c_int::from(INTERNAL_BUG));
    }
}

/// Signals that would end the program some other way end it with 81
/// ([`qmvc_process::signals`], and SIGSEGV); a write to a closed pipe is
/// an error (EPIPE), a file past the size limit too (EFBIG).
fn install_signals() {
    qmvc_process::signals::install(internal_bug);
    let handler =
        internal_bug as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: a handler that only calls async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGSEGV, handler);
    }
}

/// A setuid program trusts nothing of its caller's: every variable but
/// the client data goes (`QMVCHOME` first: a layer of the caller's own
/// would make it run the caller's commands), `PATH` and the umask are
/// its own.
fn distrust_caller() {
    let names: Vec<std::ffi::OsString> = std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| !name.to_str().is_some_and(qmvc_queue::setuid_keeps))
        .collect();
    for name in names {
        std::env::remove_var(name);
    }
    std::env::set_var("PATH", qmvc_queue::SETUID_PATH);
    // SAFETY: umask(2) cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

fn main() {
    // Descriptor 6 first, before anything opens a file that could take
    // its number; then the standard descriptors.
    let reply = qmvc_queue::edge::ReplyChannel::take();
    qmvc_process::stdio::guard();
    install_signals();
    // Every child inherits this environment: an injector that saw
    // QMAILQUEUE would hand a notification back to us.
    std::env::remove_var("QMAILQUEUE");
    if qmvc_profile::trust::setuid() {
        distrust_caller();
    }
    panic::set_hook(Box::new(|info| {
        qmvc_process::esay!(
            "qmvc-queue: fatal: internal error: {info} (exit 81)"
        );
    }));
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code =
        panic::catch_unwind(|| mode(&args, &reply)).unwrap_or(INTERNAL_BUG);
    std::process::exit(i32::from(code));
}

const USAGE: &str = "usage: qmvc-queue (as QMAILQUEUE, no arguments) | \
                     qmvc-queue -L | qmvc-queue -C | qmvc-queue -t ENVELOPE [MESSAGE]";

/// The mode the arguments ask for. qmail-smtpd gives none; anything it
/// cannot mean is a usage error, exit 81, so that mail run through a
/// misconfigured wrapper is deferred, never lost.
fn mode(
    args: &[std::ffi::OsString],
    reply: &qmvc_queue::edge::ReplyChannel,
) -> u8 {
    use std::path::Path;
    let words: Vec<&str> =
        args.iter().map(|a| a.to_str().unwrap_or("")).collect();
    match words.as_slice() {
        [] => qmvc_queue::run(reply),
        ["-L"] => qmvc_queue::lint(),
        ["-C"] => qmvc_queue::config(),
        ["-t", _] | ["-t", _, _] => {
            let envelope = args.get(1).map(Path::new);
            let message =
                args.get(2).map(Path::new).filter(|m| *m != Path::new("-"));
            match envelope {
                Some(envelope) => qmvc_queue::test(envelope, message),
                None => INTERNAL_BUG,
            }
        }
        _ => {
            qmvc_process::esay!("{USAGE}");
            INTERNAL_BUG
        }
    }
}
