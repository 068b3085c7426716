/*!
forwardguard: the original message, unchanged, with one trace field in
front, and loop detection by that trace.
*/

use qmvc_message::Header;

use crate::TRACE;

/// See [`crate::forward()`].
pub(crate) fn forward(
    original: &[u8],
    header: &Header<'_>,
    guard: &str,
) -> Option<Vec<u8>> {
    let guard = guard.trim();
    // The guard address goes into a header line: printable ASCII only,
    // and never empty.
    if guard.is_empty() || !guard.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return None;
    }
    let looped = header.fields.iter().any(|field| {
        field.name.trim().eq_ignore_ascii_case(TRACE)
            && field.decoded().eq_ignore_ascii_case(guard)
    });
    if looped {
        return None;
    }
    let mut out =
        Vec::with_capacity(TRACE.len() + guard.len() + 3 + original.len());
    out.extend_from_slice(TRACE.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(guard.as_bytes());
    // The trace line ends as the original's first line does (CR LF or
    // LF), so that the message keeps one kind of line end.
    let first = original.split(|&b| b == b'\n').next().unwrap_or_default();
    if first.ends_with(b"\r") && first.len() < original.len() {
        out.push(b'\r');
    }
    out.push(b'\n');
    out.extend_from_slice(original);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(raw: &[u8], guard: &str) -> Option<Vec<u8>> {
        let (header, _) = Header::parse(raw);
        forward(raw, &header, guard)
    }

    const RAW: &[u8] =
        b"From: a@b\r\nSubject: x\r\n\r\nbody\r\nwith \xff bytes\r\n";

    #[test]
    fn adds_one_trace_and_keeps_the_rest() {
        let out = forwarded(RAW, "spam@example.com").unwrap();
        let trace = b"X-QMVC-Forwarded: spam@example.com\r\n";
        assert_eq!(&out[..trace.len()], trace);
        assert_eq!(&out[trace.len()..], RAW);
        let (header, _) = Header::parse(&out);
        assert_eq!(header.fields.len(), 3);
        assert_eq!(header.value(TRACE).as_deref(), Some("spam@example.com"));
    }

    #[test]
    fn trace_line_ends_like_the_original() {
        let lf = b"From: a@b\nSubject: x\n\nbody\r\n";
        let out = forwarded(lf, "g@x").unwrap();
        assert_eq!(&out[..], &[&b"X-QMVC-Forwarded: g@x\n"[..], lf].concat());
        for raw in [&b""[..], b"\r", b"no line end"] {
            let out = forwarded(raw, "g@x").unwrap();
            assert_eq!(&out[..22], b"X-QMVC-Forwarded: g@x\n");
        }
    }

    #[test]
    fn loop_is_refused() {
        let once = forwarded(RAW, "spam@example.com").unwrap();
        assert_eq!(forwarded(&once, "spam@example.com"), None);
        assert_eq!(forwarded(&once, "SPAM@Example.COM"), None);
        assert_eq!(forwarded(&once, " spam@example.com "), None);
        // Another guard still gets it, and then neither again.
        let twice = forwarded(&once, "virus@example.com").unwrap();
        assert_eq!(forwarded(&twice, "spam@example.com"), None);
        assert_eq!(forwarded(&twice, "virus@example.com"), None);
        assert!(forwarded(&twice, "third@example.com").is_some());
    }

    #[test]
    fn trace_anywhere_in_the_header_and_folded() {
        let raw = b"From: a@b\nx-qmvc-forwarded:\n  spam@example.com \n\
                    Subject: x\n\nb\n";
        assert_eq!(forwarded(raw, "spam@example.com"), None);
        // In the body it is no trace.
        let raw = b"From: a@b\n\nX-QMVC-Forwarded: spam@example.com\n";
        assert!(forwarded(raw, "spam@example.com").is_some());
    }

    #[test]
    fn bad_guard_is_refused() {
        for guard in ["", " ", "a@b\nBcc: c@d", "a b@c", "ä@b", "a@b\0"] {
            assert_eq!(forwarded(RAW, guard), None, "{guard:?}");
        }
    }
}
