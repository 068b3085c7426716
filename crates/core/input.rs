/*!
The message on standard input, read once. qmail-local hands over a seekable
regular file, which is mapped rather than copied (and kept open: clamd
can be handed its descriptor); anything else (a pipe, in
a manual `qmvc -t`) is read into memory up to a hard bound.
*/

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::os::fd::{AsFd, BorrowedFd};

use memmap2::Mmap;

/// The largest message read from a pipe. qmail never uses one; this only
/// bounds a manual run.
const PIPE_MAX: u64 = 1 << 30;

/// The message bytes.
pub enum Input {
    /// The map of a regular file, and the file (its descriptor may be
    /// handed to clamd).
    Mapped(Mmap, File),
    Read(Vec<u8>),
}

impl Input {
    /// The regular file the message is the contents of, when it is one.
    pub fn file(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Input::Mapped(_, file) => Some(file.as_fd()),
            Input::Read(_) => None,
        }
    }
}

impl Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m, _) => m,
            Input::Read(v) => v,
        }
    }
}

/// Reads standard input.
pub fn read_stdin() -> io::Result<Input> {
    let stdin = io::stdin();
    let file = File::from(stdin.as_fd().try_clone_to_owned()?);
    let meta = file.metadata()?;
    if meta.is_file() {
        if meta.len() == 0 {
            return Ok(Input::Read(Vec::new()));
        }
        // SAFETY: qmail-local's message file is not truncated or written
        // while a delivery program runs; the map is read-only.
        let map = unsafe { Mmap::map(&file)? };
        return Ok(Input::Mapped(map, file));
    }
    let mut buf = Vec::new();
    (&file).take(PIPE_MAX + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > PIPE_MAX {
        return Err(io::Error::other(format!(
            "message on a pipe is over {PIPE_MAX} bytes"
        )));
    }
    Ok(Input::Read(buf))
}
