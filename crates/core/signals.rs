/*!
Signals that would end qmvc are turned into exit 111: qmail-local must see
"try again later", never a crash, whatever stops a delivery half-way (a
TERM from an administrator, a BUS from a message file truncated under the
map, an ABRT from the runtime). SIGXFSZ is ignored: a write past the file
size limit then fails like one on a full disk, and is handled as one.
*/

use std::sync::atomic::Ordering;

use qmvc_process::RUNNING_GROUP;

const REASON: &[u8] =
    b"qmvc: interrupted by a signal; message deferred (#4.3.0)\n";

extern "C" fn defer(_: libc::c_int) {
    // The process group of the child running now (a badbodytexts
    // command, a scanner, the injector), 0 when none: it must not
    // outlive qmvc.
    let group = RUNNING_GROUP.load(Ordering::SeqCst);
    // SAFETY: kill(2), write(2) and _exit(2) are async-signal-safe; the
    // buffer is a static.
    unsafe {
        if group > 0 {
            libc::kill(-group, libc::SIGKILL);
        }
        libc::write(1, REASON.as_ptr().cast(), REASON.len());
        libc::_exit(111);
    }
}

/// Installs the handler for every signal that would otherwise kill qmvc
/// and can be caught.
pub fn install() {
    let handler = defer as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for signal in [
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
    ] {
        // SAFETY: installing a handler that only calls async-signal-safe
        // functions.
        unsafe {
            libc::signal(signal, handler);
        }
    }
    // A file grown past RLIMIT_FSIZE: the write fails with EFBIG instead,
    // so the partial file is removed and the delivery defers (or passes,
    // if it needed no file) the ordinary way.
    // SAFETY: ignoring a signal.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
