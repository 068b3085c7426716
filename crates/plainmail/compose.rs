/*!
The forward: a new text/plain message in UTF-8 with a short preface that
names the original, then the collected text, built by qmvc-notify's
[`Outgoing`] as every message of qmvc is.

Nothing of the original reaches a header line but its Subject, and that
only after every control character (CR and LF included, however they were
encoded) and line separator has become a space, and RFC 2047 encoded when
it is not plain ASCII (the builder's rules).
*/

use qmvc_message::Header;
use qmvc_notify::{AutoSubmitted, HeaderError, Outgoing};

/// The trace field of a forward; a message that has it is not forwarded
/// again (a forward delivered to an address that runs plainmail too).
pub const TRACE: &str = "X-QMVC-Plainmail";

/// Most characters of a field shown in the preface.
const MAX_SHOWN: usize = 500;

/// The width of the preface's rule, and more.
const FOLD: usize = 78;

/// The whole forward of the message with header `original` and the text
/// `text` (already clean, ending in LF) to `address` (one plain
/// address); `Err` when `address` or `host` cannot go into a header
/// line.
pub fn forward(
    original: &Header<'_>,
    text: &str,
    address: &str,
    host: &str,
) -> Result<Vec<u8>, HeaderError> {
    let field = |name: &str| original.value(name).unwrap_or_default();
    let from = format!("plainmail <MAILER-DAEMON@{host}>");
    let outgoing = Outgoing::new(&from, address, AutoSubmitted::Forwarded)?
        .host(host)
        .subject(&format!("[plain] {}", field("subject")))
        .field(TRACE, address)?
        .always_8bit();
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
    let mut body = crate::render::clean(&preface);
    body.push_str(text);
    Ok(outgoing.build(&body))
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
            c if qmvc_notify::is_breaking(c) => char::REPLACEMENT_CHARACTER,
            c => c,
        })
        .collect();
    if value.chars().nth(MAX_SHOWN).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preface_values_show_control_characters() {
        assert_eq!(shown("a\r\nb\tc"), "a\u{fffd}\u{fffd}b c");
    }
}
