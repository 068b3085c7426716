/*!
Syntax of the structured fields of the top-level header, for strict
header syntax (errormail bit 1): From, Sender, Reply-To, To, Cc and Bcc
must parse as RFC 5322 address lists, and Date and Resent-Date must follow
the RFC 5322 date-time grammar ([`crate::date`]). mailparse parses the
addresses; this module bounds what it is given and turns a failure or a
panic into a defect. (mailparse's date parser is lenient by design, it
takes "yesterday" for a date, so dates have a grammar of their own.)
*/

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::Header;

/// Fields that hold an address list (RFC 5322 section 3.6.2, 3.6.3).
const ADDRESS_FIELDS: [&str; 6] =
    ["From", "Sender", "Reply-To", "To", "Cc", "Bcc"];

/// Fields that hold a date-time (RFC 5322 section 3.6.1, 3.6.6).
const DATE_FIELDS: [&str; 2] = ["Date", "Resent-Date"];

/// Longest value handed to the parser: a longer address list is a defect
/// of its own (no real one comes near).
const MAX_VALUE: usize = 64 << 10;

/// The defects of the address fields of `header`.
pub(crate) fn defects(header: &Header<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for field in &header.fields {
        let is_date =
            DATE_FIELDS.iter().any(|n| field.name.eq_ignore_ascii_case(n));
        if is_date {
            let why = match std::str::from_utf8(field.raw) {
                Ok(value) if value.trim().is_empty() => None,
                Ok(value) => crate::date::date_problem(value),
                Err(_) => Some("raw 8-bit bytes in a date"),
            };
            if let Some(why) = why {
                out.push(format!(
                    "{}: not an RFC 5322 date ({why})",
                    field.name
                ));
            }
            continue;
        }
        let is_address =
            ADDRESS_FIELDS.iter().any(|n| field.name.eq_ignore_ascii_case(n));
        if !is_address {
            continue;
        }
        let value = field.decoded();
        if value.is_empty() {
            // Missing or empty fields have errormail bits of their own.
            continue;
        }
        if value.len() > MAX_VALUE {
            out.push(format!("{}: value too long to parse", field.name));
            continue;
        }
        if let Some(why) = address_problem(&value) {
            out.push(format!("{}: {why}", field.name));
        }
    }
    out
}

/// Why `value` is not an address list, if it is not.
fn address_problem(value: &str) -> Option<String> {
    let parsed =
        catch_unwind(AssertUnwindSafe(|| mailparse::addrparse(value)));
    match parsed {
        Ok(Ok(list)) if !list.is_empty() => None,
        Ok(Ok(_)) => Some("no address".into()),
        Ok(Err(e)) => Some(format!("not an address list ({e})")),
        Err(_) => Some("not an address list".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &str) -> Vec<String> {
        let (parsed, _) = Header::parse(header.as_bytes());
        defects(&parsed)
    }

    #[test]
    fn good_fields_pass() {
        let good = "From: \"Joe Q. Public\" <joe@example.com>\n\
                    To: undisclosed-recipients:;\n\
                    Cc: a@b.example, Mary <mary@x.example>\n\
                    Date: Sun, 22 Nov 2026 04:45:56 +0100 (CET)\n\n";
        assert_eq!(check(good), Vec::<String>::new());
    }

    #[test]
    fn bad_fields_are_defects() {
        assert_eq!(check("From: <<<@@@\n\n").len(), 1);
        assert_eq!(check("To: a@b, \"unclosed <c@d>\n\n").len(), 1);
        assert_eq!(check("Date: yesterday afternoon\n\n").len(), 1);
        assert_eq!(check("Resent-Date: 2003-07-01\n\n").len(), 1);
    }

    #[test]
    fn bounded_time_on_hostile_values() {
        let long = format!("To: {}\n\n", "a@b, ".repeat(20_000));
        let start = std::time::Instant::now();
        let _ = check(&long);
        let nested = format!("From: {}\n\n", "(".repeat(60_000));
        let _ = check(&nested);
        assert!(start.elapsed().as_secs() < 2);
    }
}
