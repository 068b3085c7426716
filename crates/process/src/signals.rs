/*!
The signals that would end a front end and can be caught: one list for
`qmvc` (which defers, exit 111) and `qmvc-queue` (exit 81, "internal
bug"), each with a handler of its own.
*/

/// Every catchable signal whose default action ends the process, but
/// SIGSEGV (which needs an alternate stack to be caught on a stack
/// overflow; each front end installs it its own way), SIGPIPE and
/// SIGXFSZ (ignored by [`install`]).
pub const FATAL: [libc::c_int; 10] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGALRM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGXCPU,
];

/// Installs `handler` for every signal of [`FATAL`]; `handler` must call
/// only async-signal-safe functions. SIGPIPE and SIGXFSZ are ignored: a
/// write to a closed pipe fails with EPIPE, and one past the file size
/// limit with EFBIG, like any other failed write, and are handled as one.
pub fn install(handler: extern "C" fn(libc::c_int)) {
    let handler = handler as libc::sighandler_t;
    for signal in FATAL {
        // SAFETY: the caller's handler is async-signal-safe.
        unsafe {
            libc::signal(signal, handler);
        }
    }
    // SAFETY: ignoring signals.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
