/*!
The MIME tree, walked iteratively (no recursion, so no nesting depth can
exhaust the stack) into a flat list of parts.
*/

use crate::{Decoded, Header, Limits};

/// Why a message is not strict MIME.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefectKind {
    /// A multipart without boundary parameter or without its closing
    /// delimiter, or an unknown Content-Transfer-Encoding.
    Structure,
    /// A base64 body with characters outside the alphabet or that does
    /// not decode (found by [`Message::encoding_defects`]).
    Encoding,
    /// Deeper than [`Limits::mime_depth`] or more parts than
    /// [`Limits::parts`]: the rest was not inspected.
    Limit,
}

/// One reason why a message is not strict MIME (errormail bit 64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defect {
    /// What kind of problem.
    pub kind: DefectKind,
    /// The part it was found in (its [`Part::id`]).
    pub part: String,
    /// A short human-readable description.
    pub detail: String,
}

/// A Content-Transfer-Encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `7bit`, `8bit`, `binary`, or none given.
    Identity,
    /// `quoted-printable`.
    QuotedPrintable,
    /// `base64`.
    Base64,
    /// Anything else (lower-cased): cannot be decoded, a
    /// [`DefectKind::Structure`] defect.
    Unknown(String),
}

/// What a part is in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// A leaf with content.
    Leaf,
    /// A `multipart/*` container; its children follow it in the list.
    Multipart,
    /// A `message/rfc822` (or `message/global`) container; the attached
    /// message is its single child.
    Message,
}

/// One part of the MIME tree (the whole message is the first part).
#[derive(Clone, Debug)]
pub struct Part<'a> {
    /// Position in the tree: `1` is the message, `1.2` its second child,
    /// `1.2.1` that one's first child, and so on.
    pub id: String,
    /// Nesting depth: 0 for the message itself.
    pub depth: usize,
    /// Leaf or container.
    pub kind: PartKind,
    /// The part's own header.
    pub header: Header<'a>,
    /// Declared media type, lower-cased, parameters stripped
    /// (`text/plain` when none is declared, or `message/rfc822` in a
    /// `multipart/digest`).
    pub mime_type: String,
    /// Declared charset, lower-cased, if any.
    pub charset: Option<String>,
    /// Transfer encoding.
    pub encoding: Encoding,
    /// Disposition type (`attachment`, `inline`), lower-cased, if any.
    pub disposition: Option<String>,
    /// Decoded file name: Content-Disposition `filename`, else
    /// Content-Type `name`; RFC 2231 (continuations, charsets) and
    /// RFC 2047 decoded.
    pub filename: Option<String>,
    /// The raw (still transfer-encoded) body of the part.
    pub body: &'a [u8],
}

impl<'a> Part<'a> {
    /// Decodes the transfer encoding, producing at most `max` bytes.
    /// Undecodable input is decoded leniently (invalid base64 characters
    /// skipped); [`Message::encoding_defects`] reports it.
    pub fn decode(&self, max: usize) -> Decoded {
        let _ = max;
        todo!()
    }

    /// For a `text/plain` or `text/html` leaf: the content decoded from
    /// transfer encoding and charset to UTF-8 (invalid sequences become
    /// U+FFFD; NUL bytes kept), at most `max` bytes decoded. `None` for
    /// any other part.
    pub fn text(&self, max: usize) -> Option<String> {
        let _ = max;
        todo!()
    }

    /// A leaf whose content is not text for reading: it has a file name,
    /// or its type is not `text/plain` or `text/html`. These are the parts
    /// that magic and loader detection look at.
    pub fn is_attachment(&self) -> bool {
        todo!()
    }
}

/// A parsed message.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    /// The whole raw message.
    pub raw: &'a [u8],
    /// The top-level header.
    pub header: Header<'a>,
    /// All parts in depth-first order; the first is the message itself.
    /// Empty only if `raw` was larger than [`Limits::scan_size`].
    pub parts: Vec<Part<'a>>,
    /// Structure and limit defects found while walking the tree.
    pub defects: Vec<Defect>,
    /// The content was not inspected: the message is larger than
    /// [`Limits::scan_size`] (the header still is).
    pub too_large: bool,
}

impl<'a> Message<'a> {
    /// Parses `raw`. Never fails and never panics: what cannot be
    /// understood becomes a [`Defect`].
    pub fn parse(raw: &'a [u8], limits: &Limits) -> Message<'a> {
        let _ = (raw, limits);
        todo!()
    }

    /// Checks every base64 leaf for characters outside the alphabet and
    /// for data that does not decode. Separate from [`Message::parse`]
    /// because it reads every byte of every attachment and only
    /// `mime=strict` needs it.
    pub fn encoding_defects(&self) -> Vec<Defect> {
        todo!()
    }
}
