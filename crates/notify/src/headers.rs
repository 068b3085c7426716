/*!
The Subject line of every outgoing message (control characters out,
RFC 2047 when not plain ASCII, folded), for [`crate::Outgoing`].

Nothing that comes from the message can end a header line here: every
control character (C0, DEL, C1 with U+0085, and U+2028, U+2029) of the
Subject becomes a space before anything else happens.
*/

/// Most characters of a Subject; longer ones are cut and end in `...`.
pub(crate) const MAX_SUBJECT: usize = 200;

/// Where plain header lines are folded (RFC 5322 section 2.1.1).
const FOLD: usize = 78;

/// Most bytes of UTF-8 text in one encoded word: 39 bytes are 52 base64
/// characters, so `=?UTF-8?B?...?=` is 64 characters, and even the first
/// line `Subject: =?UTF-8?B?...?=` stays within the 76 characters that
/// RFC 2047 section 2 allows a line with an encoded word.
const WORD_BYTES: usize = 39;

/// Whether `c` may end or split a line somewhere: every Unicode control
/// character (C0, DEL, C1 including NEL U+0085) and the line and
/// paragraph separators U+2028, U+2029.
pub fn is_breaking(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// `subject` as one clean line: breaking characters become spaces, runs
/// of spaces one space, trimmed, at most [`MAX_SUBJECT`] characters.
pub(crate) fn clean_subject(subject: &str) -> String {
    let spaced: String = subject
        .chars()
        .map(|c| if is_breaking(c) { ' ' } else { c })
        .collect();
    let mut out = String::with_capacity(spaced.len().min(4 * MAX_SUBJECT));
    let mut count = 0;
    for word in spaced.split(' ').filter(|w| !w.is_empty()) {
        if count > 0 {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= MAX_SUBJECT {
                out.push_str("...");
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// The whole `Subject:` field for `subject` (any text), ending in LF:
/// plain and folded when it is printable ASCII, else RFC 2047 B-encoded
/// UTF-8 words, one a line.
pub(crate) fn subject_field(subject: &str) -> String {
    let text = clean_subject(subject);
    if text.is_empty() {
        return "Subject:\n".to_owned();
    }
    // Plain text that holds "=?" would be taken for an encoded word by a
    // reader, so it is encoded too and reads back as it was.
    let plain = text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !text.contains("=?");
    if plain {
        fold_plain("Subject:", &text)
    } else {
        encoded("Subject:", &text)
    }
}

/// `name` and the words of `text` (single spaces between them), folded
/// before a word that would take the line past [`FOLD`] characters.
fn fold_plain(name: &str, text: &str) -> String {
    let mut out = String::with_capacity(name.len() + text.len() + 8);
    out.push_str(name);
    let mut line = name.len();
    let mut first = true;
    for word in text.split(' ') {
        if !first && line + 1 + word.len() > FOLD {
            out.push_str("\n ");
            line = 1;
        } else {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
        first = false;
    }
    out.push('\n');
    out
}

/// `name` and `text` as RFC 2047 `=?UTF-8?B?...?=` words of whole
/// characters, each on its own (folded) line.
fn encoded(name: &str, text: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2 * text.len() + 32);
    out.push_str(name);
    let mut chunk = String::with_capacity(WORD_BYTES);
    let mut first = true;
    let mut emit = |chunk: &str, out: &mut String| {
        out.push_str(if first { " " } else { "\n " });
        out.push_str("=?UTF-8?B?");
        out.push_str(&base64(chunk.as_bytes()));
        out.push_str("?=");
        first = false;
    };
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > WORD_BYTES {
            emit(&chunk, &mut out);
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        emit(&chunk, &mut out);
    }
    out.push('\n');
    out
}

/// Standard base64 with padding (RFC 4648 section 4).
pub(crate) fn base64(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let mut bytes = [0u8; 3];
        for (slot, byte) in bytes.iter_mut().zip(chunk) {
            *slot = *byte;
        }
        let [a, b, c] = bytes;
        let n = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        out.push(sextet(n >> 18));
        out.push(sextet(n >> 12));
        out.push(if chunk.len() > 1 { sextet(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(n) } else { '=' });
    }
    out
}

/// The base64 character for the low six bits of `n`.
fn sextet(n: u32) -> char {
    let v = (n & 63) as u8;
    char::from(match v {
        0..=25 => b'A' + v,
        26..=51 => b'a' + (v - 26),
        52..=61 => b'0' + (v - 52),
        62 => b'+',
        _ => b'/',
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn clean() {
        assert_eq!(clean_subject("  a\r\nBcc: x  "), "a Bcc: x");
        assert_eq!(
            clean_subject("a\0b\u{85}c\u{2028}d\u{2029}e\tf"),
            "a b c d e f"
        );
        assert_eq!(clean_subject("a\u{7f}\u{9b}b"), "a b");
        let long = "x".repeat(300);
        assert_eq!(clean_subject(&long).chars().count(), MAX_SUBJECT + 3);
        assert!(clean_subject(&long).ends_with("..."));
        assert_eq!(clean_subject(&"ä".repeat(300)).chars().count(), 203);
    }

    #[test]
    fn plain_subject_folds() {
        assert_eq!(subject_field("Hello world"), "Subject: Hello world\n");
        assert_eq!(subject_field(""), "Subject:\n");
        assert_eq!(subject_field(" \r\n "), "Subject:\n");
        let long = "word ".repeat(30);
        let field = subject_field(&long);
        assert!(field.lines().count() > 1);
        for line in field.lines() {
            assert!(line.len() <= FOLD, "{line:?}");
        }
        let unfolded = field.replace("\n ", " ");
        assert_eq!(unfolded, format!("Subject: {}\n", long.trim()));
    }

    #[test]
    fn encoded_subject() {
        let field = subject_field("Grüße aus Köln");
        assert_eq!(field, "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n");
        let field = subject_field(&"Übergröße ".repeat(20));
        for line in field.lines() {
            assert!(line.len() <= 76, "{line:?}");
            let word = line.trim_start_matches("Subject:").trim();
            assert!(word.len() <= 75);
            assert!(word.starts_with("=?UTF-8?B?") && word.ends_with("?="));
        }
        // A literal "=?" is encoded so that it reads back literally.
        assert!(subject_field("=?UTF-8?B?QQ==?=").contains("=?UTF-8?B?PT"));
    }
}
