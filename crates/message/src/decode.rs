/*!
Decoding: RFC 2047 encoded words, transfer encodings, charsets.
*/

/// Decodes RFC 2047 encoded words in `raw` (any charset encoding_rs
/// knows; unknown charsets are kept as they are) and unfolds it.
pub fn decode_words(raw: &[u8]) -> String {
    let _ = raw;
    todo!()
}

/// A decoded body.
#[derive(Clone, Debug, Default)]
pub struct Decoded {
    /// The decoded bytes, at most the `max` that was asked for.
    pub bytes: Vec<u8>,
    /// More decoded content exists beyond `bytes`.
    pub truncated: bool,
}
