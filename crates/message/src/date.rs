/*!
The RFC 5322 date-time grammar (section 3.3, with the obsolete forms of
section 4.3), for strict header syntax: a Date or Resent-Date that does
not follow it is a defect (errormail bit 1). "Date: yesterday afternoon"
is an error; "Tue, 1 Jul 2003 10:52:37 +0200", the same without the day
of the week, with comments, with a two-digit year or with a zone name
such as `GMT` or `EST` is not.

The check is a pure, linear scan of a bounded value: comments (nested,
with quoted pairs) and folding white space are separators, so the
obsolete forms that allow CFWS around every token are covered.
*/

/// Longest value checked; a longer Date is a defect of its own.
const MAX_VALUE: usize = 4096;

/// The day names of RFC 5322 section 3.3.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The month names of RFC 5322 section 3.3.
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
    "nov", "dec",
];

/// The zone names of obs-zone (RFC 5322 section 4.3), besides the
/// single military letters.
const ZONES: [&str; 10] =
    ["ut", "gmt", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt"];

/// One token of a date-time after comments and white space are gone.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Number(&'a str),
    Comma,
    Colon,
    Sign(u8),
}

/// Why `value` (the unfolded field body) is not an RFC 5322 date-time,
/// or `None` when it is one.
pub(crate) fn date_problem(value: &str) -> Option<&'static str> {
    if value.len() > MAX_VALUE {
        return Some("date too long");
    }
    let Some(tokens) = tokens(value) else {
        return Some("a character or comment no date-time has");
    };
    let mut at = tokens.iter().peekable();
    // [ day-of-week "," ]
    if let Some(Token::Word(word)) = at.peek() {
        if !DAYS.iter().any(|d| word.eq_ignore_ascii_case(d)) {
            return Some("not a day of the week or a day of the month");
        }
        at.next();
        if at.next() != Some(&Token::Comma) {
            return Some("no comma after the day of the week");
        }
    }
    // day month year
    let day = match at.next() {
        Some(Token::Number(n)) if n.len() <= 2 => number(n),
        _ => return Some("no day of the month"),
    };
    if !(1..=31).contains(&day) {
        return Some("day of the month out of range");
    }
    match at.next() {
        Some(Token::Word(m))
            if MONTHS.iter().any(|x| m.eq_ignore_ascii_case(x)) => {}
        _ => return Some("no month name"),
    }
    match at.next() {
        // obs-year allows two or three digits.
        Some(Token::Number(y)) if y.len() >= 2 => {}
        _ => return Some("no year"),
    }
    // hour ":" minute [ ":" second ]
    let mut clock = [0u32; 3];
    let mut fields = 0;
    loop {
        match at.next() {
            Some(Token::Number(n)) if n.len() == 2 => {
                if let Some(slot) = clock.get_mut(fields) {
                    *slot = number(n);
                }
                fields += 1;
            }
            _ => return Some("no time of day"),
        }
        if fields == 3 || at.peek() != Some(&&Token::Colon) {
            break;
        }
        at.next();
    }
    let [hour, minute, second] = clock;
    if fields < 2 {
        return Some("no minutes in the time of day");
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Some("time of day out of range");
    }
    // zone
    match at.next() {
        Some(Token::Sign(_)) => match at.next() {
            Some(Token::Number(z)) if z.len() == 4 => {
                if number(z.get(2..).unwrap_or("99")) > 59 {
                    return Some("zone minutes out of range");
                }
            }
            _ => return Some("zone not four digits"),
        },
        Some(Token::Word(z)) if obsolete_zone(z) => {}
        _ => return Some("no time zone"),
    }
    match at.next() {
        None => None,
        Some(_) => Some("text after the time zone"),
    }
}

/// A zone name of obs-zone: UT, GMT, the US zones, a military letter
/// other than J.
fn obsolete_zone(zone: &str) -> bool {
    if ZONES.iter().any(|z| zone.eq_ignore_ascii_case(z)) {
        return true;
    }
    let bytes = zone.as_bytes();
    bytes.len() == 1
        && bytes.first().is_some_and(|b| {
            b.is_ascii_alphabetic() && !b.eq_ignore_ascii_case(&b'j')
        })
}

/// The value of a string of at most four ASCII digits.
fn number(digits: &str) -> u32 {
    digits.bytes().take(4).fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

/// The tokens of `value`, or `None` when it holds a character that no
/// date-time has (or an unclosed comment).
fn tokens(value: &str) -> Option<Vec<Token<'_>>> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => i = skip_comment(bytes, i)?,
            b',' => {
                out.push(Token::Comma);
                i += 1;
            }
            b':' => {
                out.push(Token::Colon);
                i += 1;
            }
            b'+' | b'-' => {
                out.push(Token::Sign(b));
                i += 1;
            }
            b'0'..=b'9' => {
                let end = run(bytes, i, |c| c.is_ascii_digit());
                out.push(Token::Number(value.get(i..end)?));
                i = end;
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                let end = run(bytes, i, |c| c.is_ascii_alphabetic());
                out.push(Token::Word(value.get(i..end)?));
                i = end;
            }
            _ => return None,
        }
        if out.len() > 16 {
            // No date-time has this many tokens.
            return None;
        }
    }
    Some(out)
}

/// The end of the run of bytes from `start` that satisfy `class`.
fn run(bytes: &[u8], start: usize, class: impl Fn(u8) -> bool) -> usize {
    let mut end = start;
    while bytes.get(end).is_some_and(|&c| class(c)) {
        end += 1;
    }
    end
}

/// The index after the comment that opens at `start` (nested comments
/// and quoted pairs allowed), or `None` when it is not closed.
fn skip_comment(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::date_problem;

    #[test]
    fn rfc_5322_dates_pass() {
        for good in [
            "Tue, 1 Jul 2003 10:52:37 +0200",
            "Fri, 21 Nov 1997 09:55:06 -0600",
            "21 Nov 1997 09:55:06 -0600",
            "Sun, 22 Nov 2026 04:45:56 +0100 (CET)",
            "Thu,\r\n 13\r\n  Feb\r\n    1969\r\n  23:32\r\n  -0330 (Newfoundland Time)",
            "Fri, 21 Nov 97 09:55:06 GMT",
            "Fri, 21 Nov 1997 09 :   55  :  06 -0600",
            "mon, 3 jan 2000 00:00 z",
            "Mon, 3 Jan 2000 23:59:60 EST",
            "Mon (day), 3 (of) Jan ((nested) comment) 2000 10:00 +0000",
        ] {
            assert_eq!(date_problem(good), None, "{good}");
        }
    }

    #[test]
    fn other_text_fails() {
        for bad in [
            "yesterday afternoon",
            "",
            "Tue 1 Jul 2003 10:52:37 +0200",
            "Tue, 1 July 2003 10:52:37 +0200",
            "Tue, 32 Jul 2003 10:52:37 +0200",
            "Tue, 1 Jul 2003 24:52:37 +0200",
            "Tue, 1 Jul 2003 10:52:37",
            "Tue, 1 Jul 2003 10:52:37 +02",
            "Tue, 1 Jul 2003 10:52:37 +0260",
            "Tue, 1 Jul 2003 10:52:37 +0200 extra",
            "Tue, 1 Jul 2003 10:52:37 J",
            "Tue, 1 Jul 2003 10 +0200",
            "Tue, 1 Jul 2003 10:52:37 +0200 (open",
            "2003-07-01T10:52:37Z",
            "Tue, 1 Jul 2003 10:52:37 +0200\u{e9}",
        ] {
            assert!(date_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_values_are_bounded() {
        let long = "(".repeat(100_000);
        assert!(date_problem(&long).is_some());
        let many = "1 ".repeat(1000);
        assert!(date_problem(&many).is_some());
    }
}
