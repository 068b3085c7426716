/*!
The forward: a new text/plain message in UTF-8 with a short preface that
names the original, then the collected text.

Nothing of the original reaches a header line but its Subject, and that
only after every control character (CR and LF included, however they were
encoded) and line separator has become a space, and RFC 2047 encoded when
it is not plain ASCII.
*/

use std::time::{SystemTime, UNIX_EPOCH};

use qmvc_message::Header;

/// The trace field of a forward; a message that has it is not forwarded
/// again (a forward delivered to an address that runs plainmail too).
pub const TRACE: &str = "X-QMVC-Plainmail";

/// Most characters of the forwarded Subject after `[plain] `.
const MAX_SUBJECT: usize = 200;

/// Most characters of a field shown in the preface.
const MAX_SHOWN: usize = 500;

/// Where plain header lines are folded.
const FOLD: usize = 78;

/// UTF-8 bytes in one encoded word: 52 base64 characters, so that the
/// first line `Subject: =?UTF-8?B?...?=` stays within the 76 characters
/// RFC 2047 allows a line with an encoded word.
const WORD_BYTES: usize = 39;

/// The whole forward of the message with header `original` and the text
/// `text` (already clean, ending in LF) to `address`.
pub fn forward(
    original: &Header<'_>,
    text: &str,
    address: &str,
    host: &str,
) -> Vec<u8> {
    let field = |name: &str| original.value(name).unwrap_or_default();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut out = String::with_capacity(text.len() + 2048);
    out.push_str(&format!("From: plainmail <MAILER-DAEMON@{host}>\n"));
    out.push_str(&format!("To: {address}\n"));
    out.push_str(&subject_field(&format!("[plain] {}", field("subject"))));
    out.push_str(&format!("Date: {}\n", chrono::Local::now().to_rfc2822()));
    out.push_str(&format!(
        "Message-ID: <{}.{}.{}.plainmail@{host}>\n",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    ));
    out.push_str("Auto-Submitted: auto-forwarded\n");
    out.push_str(&format!("{TRACE}: {address}\n"));
    out.push_str("MIME-Version: 1.0\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\n");
    out.push_str("Content-Transfer-Encoding: 8bit\n\n");
    let mut preface = String::from(
        "The readable text of a message, forwarded by plainmail.\n\n",
    );
    for (name, label) in [
        ("from", "From:      "),
        ("to", "To:        "),
        ("cc", "Cc:        "),
        ("date", "Date:      "),
        ("subject", "Subject:   "),
        ("message-id", "Message-ID:"),
    ] {
        if original.get(name).is_some() {
            preface.push_str(&format!("{label} {}\n", shown(&field(name))));
        }
    }
    preface.push_str(&format!("\n{}\n\n", "-".repeat(FOLD - 6)));
    // A long value is broken into lines that a body may have.
    out.push_str(&crate::render::clean(&preface));
    out.push_str(text);
    out.into_bytes()
}

/// Whether `c` can end or split a line: every control character (C0, DEL,
/// C1 with NEL) and U+2028, U+2029.
fn breaking(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// A field value for the preface, on one line: a tab becomes a space,
/// any other breaking character U+FFFD, so that it shows; at most
/// [`MAX_SHOWN`] characters.
fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(MAX_SHOWN)
        .map(|c| match c {
            '\t' => ' ',
            c if breaking(c) => char::REPLACEMENT_CHARACTER,
            c => c,
        })
        .collect();
    if value.chars().nth(MAX_SHOWN).is_some() {
        out.push_str("...");
    }
    out
}

/// The `Subject:` field for `subject`, ending in LF: breaking characters
/// become spaces, runs of spaces one; plain and folded when printable
/// ASCII without `=?`, else RFC 2047 B-encoded UTF-8 words, one a line.
fn subject_field(subject: &str) -> String {
    let spaced: String =
        subject.chars().map(|c| if breaking(c) { ' ' } else { c }).collect();
    let mut text = String::new();
    let mut count = 0;
    'words: for word in spaced.split_whitespace() {
        if count > 0 {
            text.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= MAX_SUBJECT {
                text.push_str("...");
                break 'words;
            }
            text.push(c);
            count += 1;
        }
    }
    let mut out = String::from("Subject:");
    let plain = text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !text.contains("=?");
    let mut line = out.len();
    if plain {
        for word in text.split(' ') {
            if line + 1 + word.len() > FOLD && line > "Subject:".len() {
                out.push_str("\n ");
                line = 1;
            } else {
                out.push(' ');
                line += 1;
            }
            out.push_str(word);
            line += word.len();
        }
    } else {
        let mut rest = text.as_str();
        let mut first = true;
        while !rest.is_empty() {
            let mut end = rest.len().min(WORD_BYTES);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            let (chunk, tail) = rest.split_at(end);
            out.push_str(if first { " " } else { "\n " });
            out.push_str(&format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            first = false;
            rest = tail;
        }
    }
    out.push('\n');
    out
}

/// Base64 (RFC 4648) with padding, no line breaks.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = usize::try_from((n >> (18 - 6 * i)) & 63);
                let c = index.ok().and_then(|i| ALPHABET.get(i));
                out.push(char::from(c.copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// This host's name for From and Message-ID: `$HOST` as qmail-local sets
/// it, else the system's host name, each only when it is a plain domain
/// name; else `localhost`.
pub fn host() -> String {
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

    fn decode_subject(field: &str) -> String {
        let raw = field.strip_prefix("Subject:").unwrap();
        qmvc_message::decode_words(raw.as_bytes()).trim().to_owned()
    }

    #[test]
    fn plain_subject() {
        assert_eq!(subject_field("[plain] Hello"), "Subject: [plain] Hello\n");
        let long = format!("[plain] {}", "word ".repeat(30));
        let field = subject_field(&long);
        assert!(field.lines().all(|l| l.len() <= FOLD), "{field}");
        assert_eq!(decode_subject(&field), long.trim());
    }

    #[test]
    fn encoded_subject() {
        for subject in [
            "[plain] Grüße aus Köln, schöne Grüße".to_owned(),
            "[plain] =?x?=".to_owned(),
            format!("[plain] {}", "日本語".repeat(20)),
        ] {
            let field = subject_field(&subject);
            assert!(field.is_ascii(), "{field}");
            assert!(field.lines().all(|l| l.len() <= 76), "{field}");
            assert_eq!(decode_subject(&field), subject);
        }
    }

    #[test]
    fn subject_never_breaks_the_header() {
        let field = subject_field("[plain] x\r\nBcc: y\u{85}\u{2028}z\0");
        assert_eq!(field, "Subject: [plain] x Bcc: y z\n");
        let field = subject_field(&"x".repeat(500));
        assert_eq!(field.trim_end().len(), "Subject: ".len() + 203);
    }

    #[test]
    fn preface_values_show_control_characters() {
        assert_eq!(shown("a\r\nb\tc"), "a\u{fffd}\u{fffd}b c");
    }

    #[test]
    fn base64_vectors() {
        for (input, output) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }

    #[test]
    fn domains() {
        assert!(is_domain("mail.example.org"));
        for bad in ["", "a..b", "-a.b", "a b", "a>b", "x\nBcc: y", "ä.de"] {
            assert!(!is_domain(bad), "{bad:?}");
        }
        assert!(is_domain(&host()));
    }
}
