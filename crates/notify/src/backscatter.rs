/*!
The backscatter rules: when the sender of a message must not be told.

A notification to the sender of spam or a virus goes to a forged address
far more often than not, and one to an automatic sender starts a mail
loop. So the sender is never told when

- the envelope sender is empty or `#@[]` (a bounce, or qmail's own null
  sender for double bounces),
- it is not one plain address (see [`crate::check_address`]: white
  space, control characters, a leading `-`, a list, brackets...), which
  no notice could safely be addressed to,
- its local part is `MAILER-DAEMON` or `postmaster` (any case, with or
  without a domain),
- the message carries `Precedence: bulk`, `list` or `junk`,
- it carries any mailing list field of RFC 2919 and RFC 2369
  (`List-Id`, `List-Help`, `List-Unsubscribe`, `List-Subscribe`,
  `List-Post`, `List-Owner`, `List-Archive`),
- it carries `Auto-Submitted` with any value other than `no`
  (RFC 3834; comments and parameters are ignored).
*/

use qmvc_message::Header;

/// The mailing list fields of RFC 2919 and RFC 2369.
const LIST_FIELDS: [&str; 7] = [
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
];

/// The `Precedence` values that mark bulk mail.
const BULK: [&str; 3] = ["bulk", "list", "junk"];

/// Local parts of senders that are automatic.
const ROBOTS: [&str; 2] = ["mailer-daemon", "postmaster"];

/// See [`crate::sender_refusal`].
pub(crate) fn sender_refusal(
    sender: &str,
    header: &Header<'_>,
) -> Option<String> {
    // Automatic mail first: no one is told about it (see [`automatic`]).
    if let Some(why) = automatic(sender, header) {
        return Some(why);
    }
    // Not trimmed: a sender with white space or a line end around it is
    // no plain address.
    let bare = sender
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(sender);
    if crate::address::check(bare).is_err() {
        return Some("the envelope sender is not a plain address".into());
    }
    let local = bare.rsplit_once('@').map_or(bare, |(local, _)| local);
    if let Some(robot) =
        ROBOTS.iter().find(|robot| local.eq_ignore_ascii_case(robot))
    {
        let name = if *robot == "postmaster" {
            "postmaster"
        } else {
            "MAILER-DAEMON"
        };
        return Some(format!("the envelope sender is a {name}"));
    }
    for field in &header.fields {
        let name = field.name.trim();
        if name.eq_ignore_ascii_case("Precedence") {
            let value = first_token(&field.decoded());
            if let Some(bulk) = BULK.iter().find(|b| value == **b) {
                return Some(format!("the message has Precedence: {bulk}"));
            }
        } else if let Some(list) =
            LIST_FIELDS.iter().find(|l| name.eq_ignore_ascii_case(l))
        {
            return Some(format!("the message has a {list} field"));
        }
    }
    None
}

/// See [`crate::automatic`].
pub(crate) fn automatic(sender: &str, header: &Header<'_>) -> Option<String> {
    let bare = sender
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(sender);
    if bare.is_empty() {
        return Some("the envelope sender is empty".into());
    }
    if bare == "#@[]" {
        return Some("the envelope sender is #@[]".into());
    }
    for field in &header.fields {
        if field.name.trim().eq_ignore_ascii_case("Auto-Submitted") {
            let value = first_token(&field.decoded());
            if value != "no" {
                return Some(format!(
                    "the message has Auto-Submitted: {}",
                    if value.is_empty() { "(empty)" } else { &value }
                ));
            }
        }
    }
    None
}

/// The first word of a field value in lower case, with comments and
/// parameters (`auto-generated (x); y=z` gives `auto-generated`); only
/// letters, digits and `-` are kept, at most 40 of them, so that the
/// reason never carries odd text.
fn first_token(value: &str) -> String {
    let mut depth = 0usize;
    let mut token = String::new();
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            ';' => break,
            c if c.is_whitespace() => {
                if !token.is_empty() {
                    break;
                }
            }
            c => {
                if token.len() >= 40 {
                    break;
                }
                if c.is_ascii_alphanumeric() || c == '-' {
                    token.push(c.to_ascii_lowercase());
                } else {
                    token.push('?');
                }
            }
        }
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sender: &str, header: &str) -> Option<String> {
        let (header, _) = Header::parse(header.as_bytes());
        sender_refusal(sender, &header)
    }

    const PLAIN: &str = "From: a@b\nTo: c@d\nSubject: hi\n\nbody\n";

    #[test]
    fn ordinary_senders_are_told() {
        assert_eq!(refusal("joe@example.org", PLAIN), None);
        assert_eq!(refusal("mailer@example.org", PLAIN), None);
        assert_eq!(refusal("postmaster-x@example.org", PLAIN), None);
        let header = "Precedence: first-class\nAuto-Submitted: no\n\n";
        assert_eq!(refusal("joe@example.org", header), None);
        let header = "Auto-Submitted: No (a human)\n\n";
        assert_eq!(refusal("joe@example.org", header), None);
        let header = "X-List-Id: not a list\nListId: x\n\n";
        assert_eq!(refusal("joe@example.org", header), None);
    }

    #[test]
    fn empty_and_null_senders() {
        for sender in ["", "  ", "<>", "#@[]"] {
            assert!(refusal(sender, PLAIN).is_some(), "{sender:?}");
        }
        assert_eq!(
            refusal("", PLAIN).as_deref(),
            Some("the envelope sender is empty")
        );
        assert_eq!(
            refusal("#@[]", PLAIN).as_deref(),
            Some("the envelope sender is #@[]")
        );
    }

    #[test]
    fn odd_senders() {
        for sender in [
            "-oi@example.net",
            "-f",
            "alice@example.net\nBcc: evil@example.com",
            "alice@example.net\r",
            "a@b,c@d",
            "a b@c",
            "\"quoted\"@example.net",
            "a@[192.0.2.1]",
            "ä@example.net",
        ] {
            assert_eq!(
                refusal(sender, PLAIN).as_deref(),
                Some("the envelope sender is not a plain address"),
                "{sender:?}"
            );
        }
        assert_eq!(refusal("<joe@example.org>", PLAIN), None);
    }

    #[test]
    fn robots() {
        for sender in [
            "MAILER-DAEMON@example.org",
            "mailer-daemon@example.org",
            "Mailer-Daemon",
            "MAILER-DAEMON",
        ] {
            assert_eq!(
                refusal(sender, PLAIN).as_deref(),
                Some("the envelope sender is a MAILER-DAEMON"),
                "{sender}"
            );
        }
        for sender in ["postmaster@example.org", "PostMaster", "POSTMASTER@x"]
        {
            assert_eq!(
                refusal(sender, PLAIN).as_deref(),
                Some("the envelope sender is a postmaster"),
                "{sender}"
            );
        }
    }

    #[test]
    fn precedence() {
        for value in [
            "bulk",
            "List",
            " JUNK ",
            "bulk (newsletter)",
            "=?us-ascii?Q?bulk?=",
        ] {
            let header = format!("Subject: x\nPrecedence: {value}\n\n");
            assert!(refusal("a@b", &header).is_some(), "{value}");
        }
        let header = "Precedence: list\n\n";
        assert_eq!(
            refusal("a@b", header).as_deref(),
            Some("the message has Precedence: list")
        );
        // Any Precedence field counts, not only the first.
        let header = "Precedence: normal\nPRECEDENCE: bulk\n\n";
        assert!(refusal("a@b", header).is_some());
    }

    #[test]
    fn list_fields() {
        let header = "Subject: x\nList-Id: <x.lists.example.org>\n\n";
        assert_eq!(
            refusal("a@b", header).as_deref(),
            Some("the message has a List-Id field")
        );
        for name in ["list-id", "List-Unsubscribe", "List-Post", "LIST-HELP"] {
            let header = format!("{name}: <mailto:x@y>\n\n");
            assert!(refusal("a@b", &header).is_some(), "{name}");
        }
        // An empty List-Id is still a List-Id.
        assert!(refusal("a@b", "List-Id:\n\n").is_some());
    }

    #[test]
    fn auto_submitted() {
        for value in [
            "auto-generated",
            "auto-replied",
            "Auto-Replied",
            "auto-generated; x=y",
            "(comment) auto-notified",
            "",
            "yes",
            "no-thanks",
        ] {
            let header = format!("Auto-Submitted: {value}\n\n");
            assert!(refusal("a@b", &header).is_some(), "{value:?}");
        }
        assert_eq!(
            refusal("a@b", "Auto-Submitted: auto-generated; x=y\n\n")
                .as_deref(),
            Some("the message has Auto-Submitted: auto-generated")
        );
        assert_eq!(
            refusal("a@b", "Auto-Submitted: a<b>\n\n").as_deref(),
            Some("the message has Auto-Submitted: a?b?")
        );
        for value in ["no", "NO", " no ", "no; reason=x", "no (human)"] {
            let header = format!("Auto-Submitted: {value}\n\n");
            assert_eq!(refusal("a@b", &header), None, "{value:?}");
        }
    }

    #[test]
    fn header_rules_are_independent_of_the_body() {
        let raw = "Subject: x\n\nList-Id: in the body\nPrecedence: bulk\n";
        assert_eq!(refusal("a@b", raw), None);
    }
}
