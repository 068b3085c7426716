/*!
The rules for text that crosses to and from a spam engine, shared by
[`crate::spamd`] and [`crate::rspamd`]: which rule names a verdict keeps,
which scores are taken, and which envelope values may be sent in a
request header.
*/

/// A verdict keeps at most this many rule names.
pub const MAX_SYMBOLS: usize = 200;

/// Longer rule names are dropped.
pub const MAX_SYMBOL_LEN: usize = 64;

/// A score as an engine writes it is at most this long.
const MAX_SCORE_LEN: usize = 24;

/// The rule names worth keeping: printable ASCII without spaces, at
/// most [`MAX_SYMBOL_LEN`] bytes; sorted, each once, at most
/// [`MAX_SYMBOLS`]. Anything else an engine sends is dropped: these names
/// end up in logs and reports.
pub fn symbols<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut kept: Vec<String> = names
        .into_iter()
        .map(str::trim)
        .filter(|n| {
            !n.is_empty()
                && n.len() <= MAX_SYMBOL_LEN
                && n.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_string)
        .collect();
    kept.sort();
    kept.dedup();
    kept.truncate(MAX_SYMBOLS);
    kept
}

/// A score as written by an engine (`1000.0`, `-0.0`, `5`, `1e2`): its
/// value when it is a finite decimal number of sane length.
pub fn score(text: &str) -> Option<f64> {
    let ok = !text.is_empty()
        && text.len() <= MAX_SCORE_LEN
        && text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && text.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Whether `value` may go into a request header line: no control
/// characters (CR and LF would end the line and start a header of the
/// sender's choosing), at most `max` bytes.
pub fn header_value_ok(value: &str, max: usize) -> bool {
    value.len() <= max && !value.chars().any(char::is_control)
}

/// Why `engine` must not be asked at all: a user that cannot be sent
/// (control characters, longer than 256 bytes) or no endpoints.
pub fn refuse(engine: &str, user: &str, endpoints: usize) -> Option<String> {
    if !header_value_ok(user, 256) {
        Some(format!(
            "{engine}: the user {:?} holds control characters or is too \
             long; nothing was sent",
            crate::one_line(user, 64)
        ))
    } else if endpoints == 0 {
        Some(format!("no {engine} endpoints"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_symbols() {
        assert_eq!(
            symbols(["NO_RELAYS", " GTUBE", "", "GTUBE", "A B", "x\u{7f}"]),
            vec!["GTUBE".to_string(), "NO_RELAYS".to_string()]
        );
        let long = "A".repeat(MAX_SYMBOL_LEN + 1);
        assert!(symbols([long.as_str()]).is_empty());
        assert!(symbols(["ÄÖ"]).is_empty());
        let many: Vec<String> = (0..500).map(|i| format!("R{i:03}")).collect();
        let kept = symbols(many.iter().map(String::as_str));
        assert_eq!(kept.len(), MAX_SYMBOLS);
        assert_eq!(kept.first().map(String::as_str), Some("R000"));
    }

    #[test]
    fn scores() {
        assert_eq!(score("1000.0"), Some(1000.0));
        assert_eq!(score("-0.0"), Some(-0.0));
        assert_eq!(score("-2.5"), Some(-2.5));
        assert_eq!(score("15"), Some(15.0));
        for bad in ["", "-", ".", "NaN", "inf", "1.0x", "1 ", &"9".repeat(400)]
        {
            assert_eq!(score(bad), None, "{bad}");
        }
    }

    #[test]
    fn header_values() {
        assert!(header_value_ok("alice@example.com", 100));
        assert!(header_value_ok("", 100));
        assert!(!header_value_ok("a\r\nX: y", 100));
        assert!(!header_value_ok("a\nb", 100));
        assert!(!header_value_ok("a\0b", 100));
        assert!(!header_value_ok("a\tb", 100));
        assert!(!header_value_ok("a\u{85}b", 100));
        assert!(!header_value_ok("abc", 2));
    }
}
