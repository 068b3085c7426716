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
        todo!()
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
        let _ = raw;
        todo!()
    }

    /// The first field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The decoded value of the first field named `name`.
    pub fn value(&self, name: &str) -> Option<String> {
        self.get(name).map(Field::decoded)
    }
}
