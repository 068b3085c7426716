/*!
The one builder of every message qmvc and its programs send: the
notifications, plainmail's forwards and blockvirussender's report.

[`Outgoing`] writes the header in one order, `Date`, `Message-ID`,
`From`, `To`, `Subject`, `Auto-Submitted`, the caller's own fields (a
trace), `MIME-Version`, `Content-Type: text/plain; charset=utf-8`,
`Content-Transfer-Encoding`, then an empty line and the body, all with
LF line ends (the injector makes them what the queue wants).

Its invariants, whatever the caller passes:
- no control character, line end or line separator of any input
  reaches a header line: the Subject is cleaned, folded and RFC 2047
  encoded by [`crate::headers`]; From, To and the caller's field values
  must be printable ASCII, or [`Outgoing::new`] and [`Outgoing::field`]
  refuse them; a field name must be a plain token that the builder does
  not write itself;
- every message carries `Auto-Submitted` with a value other than `no`
  (RFC 3834 section 5), so that no auto-responder answers it;
- the body is a text/plain body: LF line ends (CR LF and a lone CR
  become LF), no control character but TAB and FF (others become
  U+FFFD), no line over 998 bytes, a final LF.
*/

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{HeaderError, HeaderProblem};
use crate::headers::subject_field;

/// Longest body line (RFC 5322 section 2.1.1, without the line end).
pub(crate) const MAX_LINE: usize = 998;

/// Longest From, To or caller's field value accepted.
const MAX_VALUE: usize = 900;

/// Fields the builder writes itself; a caller cannot add them again.
const OWN_FIELDS: [&str; 9] = [
    "Date",
    "Message-ID",
    "From",
    "To",
    "Subject",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// Why a message is sent, as its `Auto-Submitted` field says (RFC 3834
/// section 5; `auto-forwarded` is RFC 5436's). There is no `no`: every
/// message built here is automatic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoSubmitted {
    /// `auto-replied`: an answer to a message (a notification).
    Replied,
    /// `auto-generated`: not an answer to one message (a report).
    Generated,
    /// `auto-forwarded`: a message's content passed on (plainmail).
    Forwarded,
}

impl AutoSubmitted {
    /// The field's value.
    pub fn value(self) -> &'static str {
        match self {
            AutoSubmitted::Replied => "auto-replied",
            AutoSubmitted::Generated => "auto-generated",
            AutoSubmitted::Forwarded => "auto-forwarded",
        }
    }
}

/// A text/plain message being built; see the module documentation for
/// what it guarantees.
///
/// ```
/// use qmvc_notify::{AutoSubmitted, Outgoing};
/// let message = Outgoing::new(
///     "MAILER-DAEMON@example.org",
///     "admin@example.org",
///     AutoSubmitted::Generated,
/// )?
/// .host("example.org")
/// .subject("Report\r\nBcc: nobody")
/// .build("Hello.\n");
/// let text = String::from_utf8(message).unwrap();
/// assert!(text.contains("\nSubject: Report Bcc: nobody\n"));
/// # Ok::<(), qmvc_notify::HeaderError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Outgoing {
    from: String,
    to: String,
    auto: AutoSubmitted,
    host: Option<String>,
    subject: String,
    fields: Vec<(String, String)>,
    eight_bit: bool,
}

impl Outgoing {
    /// A message from `from` to `to` (each a header value: an address,
    /// or a name and an address, printable ASCII), automatic as `auto`
    /// says. Its Message-ID names [`crate::local_host`] until
    /// [`Outgoing::host`] says otherwise.
    pub fn new(
        from: &str,
        to: &str,
        auto: AutoSubmitted,
    ) -> Result<Outgoing, HeaderError> {
        check_value("From", from)?;
        check_value("To", to)?;
        Ok(Outgoing {
            from: from.to_owned(),
            to: to.to_owned(),
            auto,
            host: None,
            subject: String::new(),
            fields: Vec::new(),
            eight_bit: false,
        })
    }

    /// The host that the Message-ID names (any text: only letters,
    /// digits, `.` and `-` of it are kept; `localhost` when none is
    /// left).
    pub fn host(mut self, host: &str) -> Outgoing {
        self.host = Some(host.to_owned());
        self
    }

    /// The Subject: any text, attacker data included. It becomes one
    /// line of at most 200 characters, RFC 2047 encoded unless it is
    /// printable ASCII.
    pub fn subject(mut self, subject: &str) -> Outgoing {
        self.subject = subject.to_owned();
        self
    }

    /// Adds the field `name: value` after `Auto-Submitted` (a trace).
    /// `name` must be letters, digits and `-`, and not a field the
    /// builder writes; `value` printable ASCII, not empty.
    pub fn field(
        mut self,
        name: &str,
        value: &str,
    ) -> Result<Outgoing, HeaderError> {
        let plain = !name.is_empty()
            && name.len() <= 76
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let own = OWN_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name));
        if !plain || own {
            return Err(HeaderError {
                field: name.to_owned(),
                problem: HeaderProblem::Name,
            });
        }
        check_value(name, value)?;
        self.fields.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// Declares `Content-Transfer-Encoding: 8bit` even for a body that
    /// is plain ASCII (by default an ASCII body is declared `7bit`).
    pub fn always_8bit(mut self) -> Outgoing {
        self.eight_bit = true;
        self
    }

    /// The whole message with `body` (any text; made a text/plain body
    /// as the module documentation says).
    pub fn build(&self, body: &str) -> Vec<u8> {
        let body = text_body(body);
        let host = self.host.clone().unwrap_or_else(crate::local_host);
        let mut out = String::with_capacity(body.len() + 512);
        out.push_str("Date: ");
        out.push_str(&date());
        out.push_str("\nMessage-ID: ");
        out.push_str(&message_id(&host));
        out.push_str("\nFrom: ");
        out.push_str(&self.from);
        out.push_str("\nTo: ");
        out.push_str(&self.to);
        out.push('\n');
        out.push_str(&subject_field(&self.subject));
        out.push_str("Auto-Submitted: ");
        out.push_str(self.auto.value());
        out.push('\n');
        for (name, value) in &self.fields {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push('\n');
        }
        out.push_str("MIME-Version: 1.0\n");
        out.push_str("Content-Type: text/plain; charset=utf-8\n");
        out.push_str("Content-Transfer-Encoding: ");
        let seven = body.is_ascii() && !self.eight_bit;
        out.push_str(if seven { "7bit" } else { "8bit" });
        out.push_str("\n\n");
        out.push_str(&body);
        out.into_bytes()
    }
}

/// Checks the value of a header field the caller made: not empty,
/// printable ASCII only (so no control character, no line end), and of
/// a sane length.
fn check_value(field: &str, value: &str) -> Result<(), HeaderError> {
    let error = |problem| HeaderError { field: field.to_owned(), problem };
    if value.trim().is_empty() {
        return Err(error(HeaderProblem::Empty));
    }
    if let Some(c) = value.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(error(HeaderProblem::Character(c)));
    }
    if value.len() > MAX_VALUE {
        return Err(error(HeaderProblem::TooLong(MAX_VALUE)));
    }
    Ok(())
}

/// `body` as a text/plain body: [`plain_text`] with lines of at most
/// [`MAX_LINE`] bytes, and a final LF. Text that already is so comes
/// back unchanged.
pub(crate) fn text_body(body: &str) -> String {
    let mut out = plain_text(body, MAX_LINE);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `text` as lines a text/plain body may carry: CR LF and lone CR become
/// LF, TAB and FF stay, every other control character becomes U+FFFD,
/// and a line longer than `max_line` bytes is broken (at a character
/// boundary). No final LF is added. The one cleaner of outgoing text
/// (plainmail cleans its pieces with it before [`Outgoing::build`]).
pub fn plain_text(text: &str, max_line: usize) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    let mut line = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                '\n'
            }
            '\n' | '\t' | '\x0c' => c,
            c if c.is_control() => char::REPLACEMENT_CHARACTER,
            c => c,
        };
        if c == '\n' {
            line = 0;
        } else {
            if line + c.len_utf8() > max_line {
                out.push('\n');
                line = 0;
            }
            line += c.len_utf8();
        }
        out.push(c);
    }
    out
}

/// Now as an RFC 5322 date in local time with its zone.
pub(crate) fn date() -> String {
    let now = chrono::Local::now();
    let mut out = String::with_capacity(32);
    if write!(out, "{}", now.format("%a, %-d %b %Y %H:%M:%S %z")).is_err() {
        out.clear();
        out.push_str(&now.to_rfc2822());
    }
    out
}

/// A new `<UNIQUE@HOST>`: time to the nanosecond, process id, and a
/// counter for several messages of one process.
pub(crate) fn message_id(host: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let since =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "<{}.{:09}.{}.{count}.qmvc@{}>",
        since.as_secs(),
        since.subsec_nanos(),
        std::process::id(),
        safe_host(host)
    )
}

/// `host` as the right-hand side of a Message-ID: letters, digits, `.`
/// and `-` only, no empty label; `localhost` when nothing is left.
fn safe_host(host: &str) -> String {
    let kept: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .take(200)
        .collect();
    let labels: Vec<&str> = kept
        .split('.')
        .map(|l| l.trim_matches('-'))
        .filter(|l| !l.is_empty())
        .collect();
    if labels.is_empty() {
        "localhost".to_owned()
    } else {
        labels.join(".")
    }
}

#[cfg(test)]
mod tests {
    use qmvc_message::Header;

    use super::*;

    fn names(message: &[u8]) -> Vec<String> {
        let (header, _) = Header::parse(message);
        assert!(header.defects.is_empty(), "{:?}", header.defects);
        header.fields.iter().map(|f| f.name.to_owned()).collect()
    }

    #[test]
    fn order_and_every_field() {
        let m = Outgoing::new("a@b", "c@d", AutoSubmitted::Forwarded)
            .unwrap()
            .host("h.example")
            .subject("S")
            .field("X-Trace", "c@d")
            .unwrap()
            .build("body");
        assert_eq!(
            names(&m),
            [
                "Date",
                "Message-ID",
                "From",
                "To",
                "Subject",
                "Auto-Submitted",
                "X-Trace",
                "MIME-Version",
                "Content-Type",
                "Content-Transfer-Encoding",
            ]
        );
        let text = String::from_utf8(m).unwrap();
        assert!(text.contains("\nAuto-Submitted: auto-forwarded\n"));
        assert!(text.contains("@h.example>\n"));
        assert!(text.contains("\nContent-Transfer-Encoding: 7bit\n"));
        assert!(text.ends_with("\n\nbody\n"));
    }

    #[test]
    fn eight_bit_when_asked_or_needed() {
        let o = Outgoing::new("a@b", "c@d", AutoSubmitted::Generated).unwrap();
        let text = String::from_utf8(o.build("ä")).unwrap();
        assert!(text.contains("\nContent-Transfer-Encoding: 8bit\n"));
        let text = String::from_utf8(o.always_8bit().build("a")).unwrap();
        assert!(text.contains("\nContent-Transfer-Encoding: 8bit\n"));
    }

    #[test]
    fn nothing_breaks_a_header_line() {
        let m = Outgoing::new("a@b", "c@d", AutoSubmitted::Replied)
            .unwrap()
            .subject("x\r\nBcc: e@f\u{2028}\u{85}")
            .build("b");
        assert_eq!(names(&m).len(), 9);
        for bad in ["", " ", "a@b\n", "a@b\rBcc: x", "ä@b", "a\u{2028}@b"] {
            assert!(
                Outgoing::new(bad, "c@d", AutoSubmitted::Replied).is_err(),
                "{bad:?}"
            );
            assert!(
                Outgoing::new("a@b", bad, AutoSubmitted::Replied).is_err(),
                "{bad:?}"
            );
        }
        let o = Outgoing::new("a@b", "c@d", AutoSubmitted::Replied).unwrap();
        for (name, value) in [
            ("X-Ok", "a\nb"),
            ("X-Ok", ""),
            ("Bcc:", "x"),
            ("X Y", "x"),
            ("", "x"),
            ("subject", "x"),
            ("Auto-Submitted", "no"),
        ] {
            assert!(o.clone().field(name, value).is_err(), "{name} {value}");
        }
    }

    #[test]
    fn body_is_text_plain() {
        assert_eq!(
            text_body("a\r\nb\rc\0d\te\x0cf"),
            "a\nb\nc\u{fffd}d\te\x0cf\n"
        );
        let long = "ä".repeat(1000);
        let body = text_body(&long);
        assert!(body.lines().all(|l| l.len() <= MAX_LINE));
        assert_eq!(body.replace('\n', ""), long);
        let clean = "line\n\tindented\n";
        assert_eq!(text_body(clean), clean);
    }

    #[test]
    fn hosts() {
        assert_eq!(safe_host("mail.example.com"), "mail.example.com");
        assert_eq!(safe_host("a>\n<b@c"), "abc");
        assert_eq!(safe_host("..-x-..y."), "x.y");
        assert_eq!(safe_host(""), "localhost");
        assert_eq!(safe_host("@@@"), "localhost");
    }
}
