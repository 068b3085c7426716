/*!
The header block: fields in order, with their raw bytes, and the syntax
defects that make errormail bit 1 (strict RFC 5322 header syntax).
*/

/// One header field as it stands in the message.
#[derive(Clone, Debug)]
pub struct Field<'a> {
    /// The field name as written (not case-folded), e.g. `Subject`.
    pub name: &'a str,
    /// The raw value after the colon, folds (CRLF/LF + WSP) included.
    pub raw: &'a [u8],
}

impl<'a> Field<'a> {
    /// The value unfolded, RFC 2047 encoded words decoded, surrounding
    /// white space trimmed. Invalid bytes become U+FFFD.
    pub fn decoded(&self) -> String {
        crate::decode_words(self.raw).trim().to_owned()
    }
}

/// A parsed header block.
#[derive(Clone, Debug, Default)]
pub struct Header<'a> {
    /// The fields in order of appearance.
    pub fields: Vec<Field<'a>>,
    /// Syntax problems (human-readable, e.g. `line 7: not a header field`),
    /// empty when the block is strict RFC 5322. Judged: every line is a
    /// field or a folded continuation, field names are printable ASCII
    /// without colon, no raw 8-bit byte, no line over 998 octets, at most
    /// one Date, From, Sender, To, Subject, Message-ID.
    pub defects: Vec<String>,
}

impl<'a> Header<'a> {
    /// Parses the header block at the start of `raw` (LF or CRLF line
    /// ends) and returns it with the offset at which the body starts
    /// (after the empty line, or `raw.len()` when there is none).
    pub fn parse(raw: &'a [u8]) -> (Header<'a>, usize) {
        let (header, body, _) = Header::parse_bounded(raw, MAX_FIELDS);
        (header, body)
    }

    /// The first field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Strict header syntax beyond [`Header::defects`]: From, Sender,
    /// Reply-To, To, Cc and Bcc that do not parse as address lists.
    /// Separate because only `header=strict` needs it.
    pub fn address_defects(&self) -> Vec<String> {
        crate::structured::defects(self)
    }

    /// The decoded value of the first field named `name`.
    pub fn value(&self, name: &str) -> Option<String> {
        self.get(name).map(Field::decoded)
    }
}

/// Most fields one header block records: far beyond any real mail, and
/// it keeps a hostile header of millions of tiny fields from taking
/// gigabytes.
pub(crate) const MAX_FIELDS: usize = 100_000;

/// Most defects one header block lists; the rest are summed up.
const MAX_DEFECTS: usize = 100;

/// RFC 5322 section 2.1.1, without the CRLF.
const MAX_LINE: usize = 998;

/// The fields that RFC 5322 section 3.6 allows once only.
const SINGLE: [&str; 6] =
    ["Date", "From", "Sender", "To", "Subject", "Message-ID"];

/// Collects defects up to [`MAX_DEFECTS`].
struct Defects {
    list: Vec<String>,
    more: usize,
}

impl Defects {
    fn add(&mut self, defect: impl FnOnce() -> String) {
        if self.list.len() < MAX_DEFECTS {
            self.list.push(defect());
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.list.push(format!("{} more defects not listed", self.more));
        }
        self.list
    }
}

/// What the previous physical line was, for a continuation line.
enum Previous {
    Nothing,
    /// A field: its index in the list and where its value starts.
    Field(usize, usize),
    /// A field past the bound on fields: not recorded.
    Dropped,
    Garbage,
}

impl<'a> Header<'a> {
    /// Parses like [`Header::parse`], recording at most `max_fields`
    /// fields; the flag says whether there were more.
    pub(crate) fn parse_bounded(
        raw: &'a [u8],
        max_fields: usize,
    ) -> (Header<'a>, usize, bool) {
        let mut fields: Vec<Field<'a>> = Vec::new();
        let mut defects = Defects { list: Vec::new(), more: 0 };
        let mut counts = [0usize; SINGLE.len()];
        let mut previous = Previous::Nothing;
        let mut overflow = false;
        let mut eight_bit = false;
        let mut number = 0usize;
        let mut pos = 0;
        let body = loop {
            let Some(rest) = raw.get(pos..).filter(|r| !r.is_empty()) else {
                break raw.len();
            };
            let (end, next) = match crate::bytes::find(b'\n', rest) {
                Some(i) => (pos + i, pos + i + 1),
                None => (raw.len(), raw.len()),
            };
            let line = raw.get(pos..end).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let content_end = pos + line.len();
            number += 1;
            if line.is_empty() {
                break next;
            }
            if line.len() > MAX_LINE {
                defects.add(|| {
                    format!("line {number}: longer than {MAX_LINE} octets")
                });
            }
            if !eight_bit && !line.is_ascii() {
                // One defect is enough: a raw 8-bit header usually has it
                // on many lines.
                eight_bit = true;
                defects.add(|| format!("line {number}: raw 8-bit byte"));
            }
            if matches!(line.first(), Some(b' ' | b'\t')) {
                match previous {
                    Previous::Field(index, start) => {
                        if let Some(field) = fields.get_mut(index) {
                            field.raw = raw
                                .get(start..content_end)
                                .unwrap_or_default();
                        }
                    }
                    Previous::Dropped | Previous::Garbage => {}
                    Previous::Nothing => defects.add(|| {
                        format!("line {number}: continuation without a field")
                    }),
                }
                pos = next;
                continue;
            }
            previous = match field_name(line) {
                Err(()) => {
                    defects
                        .add(|| format!("line {number}: not a header field"));
                    Previous::Garbage
                }
                Ok((name, strict, colon)) => {
                    if !strict {
                        defects.add(|| {
                            format!("line {number}: invalid field name")
                        });
                    }
                    if let Some(i) = SINGLE
                        .iter()
                        .position(|s| s.eq_ignore_ascii_case(name))
                    {
                        if let Some(count) = counts.get_mut(i) {
                            *count += 1;
                            if *count == 2 {
                                let single = SINGLE.get(i).unwrap_or(&name);
                                defects.add(|| {
                                    format!(
                                        "line {number}: second {single} field"
                                    )
                                });
                            }
                        }
                    }
                    if fields.len() < max_fields {
                        let start = pos + colon + 1;
                        let value =
                            raw.get(start..content_end).unwrap_or_default();
                        fields.push(Field { name, raw: value });
                        Previous::Field(fields.len() - 1, start)
                    } else {
                        overflow = true;
                        Previous::Dropped
                    }
                }
            };
            pos = next;
        };
        if overflow {
            defects.add(|| format!("more than {max_fields} fields"));
        }
        (Header { fields, defects: defects.finish() }, body, overflow)
    }
}

/// The field name of `line` (trailing white space before the colon
/// dropped), whether it is strictly valid, and the colon's position; an
/// error when the line is no field at all (no colon, no name, or a name
/// that is not UTF-8).
fn field_name(line: &[u8]) -> Result<(&str, bool, usize), ()> {
    let colon = crate::bytes::find(b':', line).ok_or(())?;
    let name = line.get(..colon).ok_or(())?;
    let strict =
        !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b));
    let mut trimmed = name;
    while let [rest @ .., b' ' | b'\t'] = trimmed {
        trimmed = rest;
    }
    if trimmed.is_empty() {
        return Err(());
    }
    let name = std::str::from_utf8(trimmed).map_err(|_| ())?;
    Ok((name, strict, colon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_body() {
        let raw = b"Subject: a\n b\nTo: x\n\nbody";
        let (h, body) = Header::parse(raw);
        assert_eq!(h.fields.len(), 2);
        assert_eq!(h.fields[0].raw, b" a\n b");
        assert_eq!(h.value("subject").as_deref(), Some("a b"));
        assert_eq!(&raw[body..], b"body");
        assert!(h.defects.is_empty());
    }

    #[test]
    fn crlf() {
        let raw = b"Subject: a\r\n b\r\nTo: x\r\n\r\nbody";
        let (h, body) = Header::parse(raw);
        assert_eq!(h.fields[0].raw, b" a\r\n b");
        assert_eq!(h.fields[1].raw, b" x");
        assert_eq!(&raw[body..], b"body");
        assert!(h.defects.is_empty());
    }

    #[test]
    fn no_body_and_empty() {
        let (h, body) = Header::parse(b"Subject: a\n");
        assert_eq!((h.fields.len(), body), (1, 11));
        let (h, body) = Header::parse(b"Subject: a");
        assert_eq!((h.fields[0].raw, body), (&b" a"[..], 10));
        let (h, body) = Header::parse(b"");
        assert!(h.fields.is_empty() && h.defects.is_empty() && body == 0);
        let (h, body) = Header::parse(b"\nbody");
        assert!(h.fields.is_empty() && body == 1);
    }

    #[test]
    fn defects() {
        let (h, _) = Header::parse(b"A: 1\nnot a field\n\n");
        assert_eq!(h.defects, ["line 2: not a header field"]);
        let (h, _) = Header::parse(b" x\nA: 1\n");
        assert_eq!(h.defects.len(), 1);
        let (h, _) = Header::parse(b"Bad Name: 1\nSubject : x\n");
        assert_eq!(h.defects.len(), 2);
        assert_eq!(h.value("subject").as_deref(), Some("x"));
        let (h, _) = Header::parse(b"Subject: Gr\xc3\xbc\xc3\x9fe\n");
        assert_eq!(h.defects.len(), 1);
        let (h, _) = Header::parse(b"N\xff: 1\nA: 2\n");
        assert_eq!(h.fields.len(), 1);
        assert_eq!(h.defects.len(), 2);
        let (h, _) = Header::parse(b"To: a\nto: b\nTO: c\nSubject:\n");
        assert_eq!(h.defects, ["line 2: second To field"]);
        assert_eq!(h.value("subject").as_deref(), Some(""));
        let long = format!("Subject: {}\n", "x".repeat(989));
        assert!(Header::parse(long.as_bytes()).0.defects.is_empty());
        let long = format!("Subject: {}\n", "x".repeat(990 + 1));
        assert_eq!(Header::parse(long.as_bytes()).0.defects.len(), 1);
    }

    #[test]
    fn bounded() {
        let raw = "a: b\n".repeat(10);
        let (h, _, more) = Header::parse_bounded(raw.as_bytes(), 4);
        assert_eq!((h.fields.len(), more), (4, true));
        let raw = "garbage\n".repeat(500);
        let (h, _) = Header::parse(raw.as_bytes());
        assert_eq!(h.defects.len(), MAX_DEFECTS + 1);
    }
}
