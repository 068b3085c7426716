/*!
Unique names for files kept in `save/` and `inspect/` (the Maildir
convention). The time field of the logs is qmvc-log's
([`qmvc_log::Stamp`]).
*/

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// This host's name, made safe for a Maildir file name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name =
        if rc == 0 { buf.get(..end).unwrap_or(&[]) } else { b"localhost" };
    let mut out = String::new();
    for &b in name {
        match b {
            b'/' => out.push_str("\\057"),
            b':' => out.push_str("\\072"),
            b if b.is_ascii_graphic() => out.push(b as char),
            _ => out.push('_'),
        }
    }
    if out.is_empty() {
        out.push_str("localhost");
    }
    out
}

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// A name unique on this host: `SECONDS.MMICROSECONDSPpidQn`, the
/// Maildir convention.
pub fn unique() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.M{}P{}Q{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        n
    )
}
