/*!
The standard streams of every qmvc program, made safe to use whatever
state they arrive in (SPEC section 9).

- [`guard`] runs first in every `main`: a descriptor 0, 1 or 2 that is
  closed is opened on `/dev/null`. Otherwise the first file the program
  opens (a log, a kept message) would become descriptor 1, and what the
  program prints would land in it.
- [`out`] and [`err`] write whole texts and ignore every error: a closed
  or broken standard output (EPIPE; Rust ignores SIGPIPE) must never turn
  into a panic and exit 101, or into any code the program does not
  document. What cannot be said is lost, the exit code still tells.
*/

use std::io::{self, Write};

/// Opens `/dev/null` on every one of descriptors 0, 1 and 2 that is
/// closed. Call it before anything opens a file.
pub fn guard() {
    for fd in 0..=2 {
        // SAFETY: fcntl(F_GETFD) only asks whether `fd` is open.
        let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1;
        if open {
            continue;
        }
        // SAFETY: a plain open(2) of a constant path; the lowest free
        // descriptor is `fd` itself, since every one below it is open.
        let got = unsafe {
            libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC)
        };
        if got >= 0 && got != fd {
            // Not the descriptor we wanted (cannot happen, see above):
            // put it in place, keep the standard descriptor inheritable.
            // SAFETY: dup2 onto a closed standard descriptor.
            unsafe {
                libc::dup2(got, fd);
                libc::close(got);
            }
        } else if got == fd {
            // Standard descriptors are inherited by children.
            // SAFETY: clears FD_CLOEXEC on a descriptor we own.
            unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        }
    }
}

/// Writes `text` to standard output; errors are ignored.
pub fn out(text: &str) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes `text` to standard error; errors are ignored.
pub fn err(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// `println!` that never panics: a closed or broken standard output
/// loses the text, nothing else ([`out`]).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::stdio::out(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics ([`err`]).
#[macro_export]
macro_rules! esay {
    ($($arg:tt)*) => {
        $crate::stdio::err(&format!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn writing_never_panics() {
        super::out("");
        super::err("");
        crate::say!("{}", "");
        super::guard();
    }
}
