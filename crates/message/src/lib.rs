/*!
The message model of qmvc: everything that can be learnt from the bytes of a
message without running anything and without touching the file system.

This crate owns
- splitting the header block into fields and judging its syntax
  ([`Header`], errormail bit 1),
- walking the MIME tree, message/rfc822 attachments included, into a flat
  list of [`Part`]s, bounded by [`Limits`] (depth, part count), and recording
  every structural defect ([`Defect`], errormail bit 64),
- decoding: RFC 2047 words, RFC 2231 parameters, transfer encodings and
  charsets ([`Part::decode`], [`Part::text`]),
- identifying content: magic MIME type ([`magic`]), executable loader type
  ([`loader`]) and archive member names: zip, tar, gzip, bzip2, xz
  ([`archive`]).

It does not own the profile (what is bad), the decision (what to do), or
any I/O: the caller hands in the bytes and gets values back. Nothing in here
may panic on any input; every loop and buffer is bounded by [`Limits`].
*/
#![deny(missing_docs)]

pub mod archive;
mod bytes;
mod date;
mod decode;
mod header;
mod html;
pub mod loader;
pub mod magic;
mod mime;
mod params;
mod structured;

pub use decode::{decode_words, Decoded};
pub use header::{Field, Header};
pub use html::html_text;
pub use mime::{
    Arena, Defect, DefectKind, Encoding, Message, Part, PartKind, MAX_ENCODED,
    MAX_NAMES,
};

/// The first Unicode bidirectional embedding, override or isolate
/// control (U+202A to U+202E, U+2066 to U+2069) in `name`, if any: in a
/// file name it only serves to make `invoice<U+202E>fdp.exe` read as
/// `invoiceexe.pdf`, so the built-in badfilenames block it (the line
/// `:bidi`). The marks U+200E and U+200F are left out: they occur in
/// honest right-to-left names.
pub fn bidi_control(name: &str) -> Option<char> {
    name.chars().find(|c| {
        ('\u{202A}'..='\u{202E}').contains(c)
            || ('\u{2066}'..='\u{2069}').contains(c)
    })
}

/// Resource bounds for one message. Every one of them is a control-file
/// setting (`limits`); the defaults suit a busy real server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (bytes) whose content is inspected at all. A larger
    /// message has its header checked only; the caller logs the skip.
    pub scan_size: usize,
    /// Deepest MIME nesting followed (multipart and message/rfc822 levels
    /// counted alike); deeper structure is a [`DefectKind::Limit`] defect.
    pub mime_depth: usize,
    /// Most parts (containers included) recorded; more is a
    /// [`DefectKind::Limit`] defect and the rest is not inspected.
    pub parts: usize,
    /// Most member names listed from all archives of one part, nested
    /// ones included.
    pub archive_members: usize,
    /// Deepest nesting of archives inside archives followed (a
    /// compression layer around an archive is not a level).
    pub archive_depth: usize,
    /// Largest decompressed member read from an archive to look inside
    /// it (nested archives and compression layers only; zip and tar
    /// names are listed without decompressing).
    pub archive_member_size: usize,
    /// Most bytes inflated from all archives of one message together
    /// ([`archive::Budget`]).
    pub archive_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            scan_size: 32 << 20,
            mime_depth: 100,
            parts: 10_000,
            archive_members: 1_000,
            archive_depth: 3,
            archive_member_size: 16 << 20,
            archive_bytes: 256 << 20,
        }
    }
}
