/*!
This host's name, as notifications and forwards name it.
*/

/// This host's name for From and Message-ID: `$HOST` as qmail-local sets
/// it, else the system's host name, each only when it is a plain domain
/// name; else `localhost`.
pub fn local_host() -> String {
    let env = std::env::var("HOST").ok().filter(|h| is_domain(h));
    env.or_else(|| system_host().filter(|h| is_domain(h)))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Letters, digits and `-` in non-empty labels separated by `.`, no
/// label starting or ending in `-`, at most 253 bytes.
fn is_domain(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// gethostname(2).
fn system_host() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; gethostname writes
    // at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf.get(..end)?.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert!(is_domain("mail.example.org"));
        for bad in ["", "a..b", "-a.b", "a b", "a>b", "x\nBcc: y", "ä.de"] {
            assert!(!is_domain(bad), "{bad:?}");
        }
        assert!(is_domain(&local_host()));
    }
}
