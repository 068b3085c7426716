/*!
Field normalisation for qmvc.log and qmvc.error (qmvc-log(5)), and the
one-line form of a reason that qmail-local reports.
*/

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
