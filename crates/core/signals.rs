/*!
Signals that would end qmvc are turned into exit 111: qmail-local must see
"try again later", never a crash, whatever stops a delivery half-way (a
TERM from an administrator, a BUS from a message file truncated under the
map, an ABRT from the runtime). SIGXFSZ is ignored: a write past the file
size limit then fails like one on a full disk, and is handled as one.
*/

const REASON: &[u8] =
    b"qmvc: interrupted by a signal; message deferred (#4.3.0)\n";

extern "C" fn defer(_: libc::c_int) {
    // The children running now (badbodytexts commands, scanners, the
    // injector) must not outlive qmvc.
    qmvc_process::kill_running();
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is
    // a static.
    unsafe {
        libc::write(1, REASON.as_ptr().cast(), REASON.len());
        libc::_exit(111);
    }
}

/// Size of the alternate signal stack [`install_runtime`] sets up.
const ALT_STACK: usize = 64 << 10;

/// What Rust's runtime start-up would have done and qmvc needs, since
/// qmvc starts without it (see the crate doc): SIGPIPE ignored, so that
/// writing to a closed pipe is an EPIPE error; an alternate signal stack
/// and a SIGSEGV handler on it, so that a stack overflow (or any other
/// SIGSEGV) defers the message, exit 111, like the SIGABRT with which
/// Rust's own handler would have ended it.
pub fn install_runtime() {
    // SAFETY: ignoring a signal.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // SAFETY: an anonymous private mapping, never unmapped: the stack
    // lives as long as the process. Its pages are touched only if a
    // signal comes (no allocation that zeroes 64 KiB at every start).
    unsafe {
        let stack = libc::mmap(
            std::ptr::null_mut(),
            ALT_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if stack == libc::MAP_FAILED {
            return;
        }
        let alt =
            libc::stack_t { ss_sp: stack, ss_flags: 0, ss_size: ALT_STACK };
        if libc::sigaltstack(&alt, std::ptr::null_mut()) != 0 {
            return;
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction =
            defer as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
    }
}

/// Installs the handler for every signal that would otherwise kill qmvc
/// and can be caught ([`qmvc_process::signals`]). A file grown past
/// RLIMIT_FSIZE: the write fails with EFBIG instead, so the partial file
/// is removed and the delivery defers (or passes, if it needed no file)
/// the ordinary way.
pub fn install() {
    qmvc_process::signals::install(defer);
}
