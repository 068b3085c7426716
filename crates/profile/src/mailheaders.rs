/*!
`mailheaders`: the errormail checks and their bits.
*/

use crate::lines::{entries, Sink};
use crate::Origin;

/// A `+FIELD=CONTENT` check (bit 128).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderCheck {
    /// Field name, lower-cased.
    pub field: String,
    /// Content, lower-cased; met when the decoded field contains it.
    pub content: String,
    /// Where the line is.
    pub origin: Origin,
}

/// The errormail settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailHeaders {
    /// `header=strict` (bit 1).
    pub strict_header: bool,
    /// `date=required` (bit 2).
    pub date: bool,
    /// `to=required` (bit 4).
    pub to: bool,
    /// `msgid=required` (bit 8).
    pub msgid: bool,
    /// `from=required` (bit 16).
    pub from: bool,
    /// `subject=required` (bit 32).
    pub subject: bool,
    /// `mime=strict` (bit 64).
    pub strict_mime: bool,
    /// `+FIELD=CONTENT` lines (bit 128).
    pub contains: Vec<HeaderCheck>,
    /// `limits=strict` (bit 256): a `limits` bound stopped the
    /// examination of part of the message.
    pub strict_limits: bool,
}

/// Every bit an errormail code can have (1 to 256): what a `bits=` mask
/// of a filter line may name.
pub const ERRORMAIL_BITS: u16 = 511;

/// What a setting's value means: a strict/lax or a required/optional
/// switch.
#[derive(Clone, Copy)]
enum Kind {
    Strict,
    Required,
}

/// The switch a setting turns on or off.
type Field = fn(&mut MailHeaders) -> &mut bool;

/// The settings: keyword, kind, and the field it sets.
const SETTINGS: [(&str, Kind, Field); 8] = [
    ("header", Kind::Strict, |m| &mut m.strict_header),
    ("date", Kind::Required, |m| &mut m.date),
    ("to", Kind::Required, |m| &mut m.to),
    ("msgid", Kind::Required, |m| &mut m.msgid),
    ("from", Kind::Required, |m| &mut m.from),
    ("subject", Kind::Required, |m| &mut m.subject),
    ("mime", Kind::Strict, |m| &mut m.strict_mime),
    ("limits", Kind::Strict, |m| &mut m.strict_limits),
];

/// Parses `mailheaders`. A later line for the same setting wins; lint
/// reports the repetition.
pub(crate) fn parse(text: &str, sink: &mut Sink<'_>) -> MailHeaders {
    let mut headers = MailHeaders::default();
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (line, entry) in entries(text) {
        if let Some(check) = entry.strip_prefix('+') {
            if let Some(check) = parse_check(check, line, sink) {
                headers.contains.push(check);
            }
            continue;
        }
        let Some((key, value)) = entry.split_once('=') else {
            sink.report(
                line,
                format!(
                    "\"{entry}\" is not a setting (expected KEY=VALUE, e.g. \
                     date=required, or +FIELD=CONTENT)"
                ),
            );
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let Some(&(name, kind, field)) =
            SETTINGS.iter().find(|(name, ..)| name.eq_ignore_ascii_case(key))
        else {
            sink.report(
                line,
                format!(
                    "unknown setting \"{key}\" (expected header, date, to, \
                     msgid, from, subject, mime, limits, or +FIELD=CONTENT)"
                ),
            );
            continue;
        };
        let Some(on) = parse_switch(kind, value) else {
            let expected = match kind {
                Kind::Strict => "strict (s) or lax (l)",
                Kind::Required => "required (r) or optional (o)",
            };
            sink.report(
                line,
                format!(
                    "bad value \"{value}\" for {name} (expected {expected})"
                ),
            );
            continue;
        };
        sink.setting(&mut seen, name, line);
        *field(&mut headers) = on;
    }
    headers
}

/// The value of a switch: the full word or its first letter.
fn parse_switch(kind: Kind, value: &str) -> Option<bool> {
    let (on, off) = match kind {
        Kind::Strict => ("strict", "lax"),
        Kind::Required => ("required", "optional"),
    };
    let is = |word: &str| {
        value.eq_ignore_ascii_case(word)
            || value.eq_ignore_ascii_case(&word[..1])
    };
    if is(on) {
        Some(true)
    } else if is(off) {
        Some(false)
    } else {
        None
    }
}

/// A `+FIELD=CONTENT` line (without the `+`).
fn parse_check(
    check: &str,
    line: usize,
    sink: &mut Sink<'_>,
) -> Option<HeaderCheck> {
    let (field, content) = match check.split_once('=') {
        Some((field, content)) => (field.trim(), content.trim()),
        None => (check.trim(), ""),
    };
    let field_ok = !field.is_empty()
        && field.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !field_ok {
        sink.report(
            line,
            format!(
                "bad header field name \"{field}\" (expected +FIELD=CONTENT, \
                 FIELD printable ASCII without ':', e.g. \
                 +x-spam-status=yes)"
            ),
        );
        return None;
    }
    if content.is_empty() {
        sink.report(
            line,
            format!(
                "missing content for +{field} (expected +FIELD=CONTENT, e.g. \
                 +x-spam-status=yes)"
            ),
        );
        return None;
    }
    Some(HeaderCheck {
        field: field.to_ascii_lowercase(),
        content: content.to_lowercase(),
        origin: sink.origin(line),
    })
}
