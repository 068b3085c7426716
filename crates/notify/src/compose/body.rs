/*!
The rendered body made a text/plain body: LF line ends, control
characters out, long lines wrapped at a space where one is near.
*/

use crate::outgoing::MAX_LINE;

/// The rendered body as a text/plain body: LF line ends (CR LF and a lone
/// CR become LF), other control characters but TAB replaced by U+FFFD,
/// no line over [`MAX_LINE`] bytes, a final LF.
pub(super) fn clean_body(body: &str) -> String {
    let mut text = String::with_capacity(body.len() + 1);
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                text.push('\n');
            }
            '\n' | '\t' => text.push(c),
            c if c.is_control() => text.push('\u{fffd}'),
            c => text.push(c),
        }
    }
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.split_inclusive('\n') {
        let (mut line, end) = match line.strip_suffix('\n') {
            Some(l) => (l, true),
            None => (line, false),
        };
        while line.len() > MAX_LINE {
            let (head, tail) = wrap_at(line);
            out.push_str(head);
            out.push('\n');
            line = tail;
        }
        out.push_str(line);
        if end {
            out.push('\n');
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Splits a line longer than [`MAX_LINE`] bytes: after the last space
/// within the limit, else at the last character boundary within it.
fn wrap_at(line: &str) -> (&str, &str) {
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let head = line.get(..end).unwrap_or_default();
    let split = match head.rfind(' ') {
        Some(space) if space > 0 => space + 1,
        _ => end,
    };
    (
        line.get(..split).unwrap_or_default(),
        line.get(split..).unwrap_or_default(),
    )
}
