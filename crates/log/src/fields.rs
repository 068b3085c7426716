/*!
Field normalisation for qmvc.log and qmvc.error (qmvc-log(5)), the
one-line form of a reason that qmail-local reports, and the visible form
of text shown to an administrator ([`visible`]).
*/

use std::borrow::Cow;
use std::fmt::Write as _;

/// The longest a normalised log field may be, in bytes.
pub const FIELD_MAX: usize = 1024;

/// A log field as qmvc-log(5) defines it: white space and control
/// characters folded to `_`, at most [`FIELD_MAX`] bytes (cut at a
/// character boundary), `-` when empty.
pub fn field(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(FIELD_MAX));
    push_field(&mut out, value);
    out
}

/// Appends `value` normalised as [`field`] says to `out`.
pub fn push_field(out: &mut String, value: &str) {
    let start = out.len();
    for c in value.chars() {
        let c = if c.is_whitespace() || c.is_control() { '_' } else { c };
        if out.len() - start + c.len_utf8() > FIELD_MAX {
            break;
        }
        out.push(c);
    }
    if out.len() == start {
        out.push('-');
    }
}

/// A reason for qmail-local's one-line report: control characters (CR
/// and LF among them) become spaces, at most [`FIELD_MAX`] bytes.
pub fn one_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(FIELD_MAX));
    for c in value.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > FIELD_MAX {
            break;
        }
        out.push(c);
    }
    out
}

/// Whether `c` must not reach a terminal or a page as itself: a control
/// character (C0, DEL, C1) or a Unicode bidirectional control
/// (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), with which a
/// name like `invoice<U+202E>fdp.exe` reads as `invoiceexe.pdf`.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `text` as `qmvc -t` and the HTML reports show it: every character of
/// [`is_hidden`] written as `<U+XXXX>`, so that an escape sequence or a
/// right-to-left override from a message is seen, not obeyed. Text
/// without one is returned as it is. qmvc.rep keeps the exact text as
/// data.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) {
            let _ = write!(out, "<U+{:04X}>", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Joins `fields`, each normalised, with tabs and ends the line.
pub fn line(fields: &[&str]) -> String {
    let mut text = String::with_capacity(256);
    for (i, value) in fields.iter().enumerate() {
        if i > 0 {
            text.push('\t');
        }
        push_field(&mut text, value);
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_become_visible() {
        assert_eq!(visible("plain.pdf"), "plain.pdf");
        assert_eq!(visible("a\u{202E}fdp.exe"), "a<U+202E>fdp.exe");
        assert_eq!(
            visible("\u{1b}[2J\u{7f}\u{85}"),
            "<U+001B>[2J<U+007F><U+0085>"
        );
        assert_eq!(visible("x\u{2066}y\u{200F}"), "x<U+2066>y<U+200F>");
    }

    #[test]
    fn fields_are_normalised() {
        assert_eq!(field(""), "-");
        assert_eq!(field("a b\tc\r\nd"), "a_b_c__d");
        assert_eq!(field("x\u{0}y"), "x_y");
        let long = "ä".repeat(600);
        let f = field(&long);
        assert!(f.len() <= FIELD_MAX && f.is_char_boundary(f.len()));
        assert_eq!(line(&["a", "", "c d"]), "a\t-\tc_d\n");
        assert_eq!(one_line("a_b\r\nBcc: x"), "a_b  Bcc: x");
    }
}
