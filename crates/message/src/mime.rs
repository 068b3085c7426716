/*!
The MIME tree, walked iteratively (no recursion, so no nesting depth can
exhaust the stack) into a flat list of parts.
*/

use std::cell::{Cell, OnceCell};

use crate::decode::{self, to_utf8};
use crate::header::MAX_FIELDS;
use crate::params::{Params, MAX_PARAMS};
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
    /// A bound stopped the examination of part of the message: deeper
    /// than [`Limits::mime_depth`], more parts than [`Limits::parts`],
    /// more header fields, parameters or declared names than are read.
    /// The rest was not inspected (errormail bit 256 with
    /// `limits=strict`).
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
    /// RFC 2047 decoded. The name shown; checks use [`Part::names`].
    pub filename: Option<String>,
    /// Every name the part declares, without duplicates: each
    /// `filename` of each Content-Disposition field, then each `name` of
    /// each Content-Type field, in all their forms (RFC 2231 extended
    /// and continued, plain with RFC 2047 words). The first is
    /// [`Part::filename`]. At most [`MAX_NAMES`].
    pub names: Vec<String>,
    /// The raw (still transfer-encoded) body of the part.
    pub body: &'a [u8],
}

impl<'a> Part<'a> {
    /// Decodes the transfer encoding, producing at most `max` bytes.
    /// Undecodable input is decoded leniently (invalid base64 characters
    /// skipped); [`Message::encoding_defects`] reports it.
    pub fn decode(&self, max: usize) -> Decoded {
        match self.encoding {
            Encoding::Base64 => decode::base64(self.body, max),
            Encoding::QuotedPrintable => {
                decode::quoted_printable(self.body, max)
            }
            // An unknown encoding is scanned as it stands: that is better
            // than not at all.
            Encoding::Identity | Encoding::Unknown(_) => {
                decode::identity(self.body, max)
            }
        }
    }

    /// For a `text/plain` or `text/html` leaf: the content decoded from
    /// transfer encoding and charset to UTF-8 (invalid sequences become
    /// U+FFFD; NUL bytes kept), at most `max` bytes decoded. `None` for
    /// any other part.
    pub fn text(&self, max: usize) -> Option<String> {
        if self.kind != PartKind::Leaf || !self.is_text() {
            return None;
        }
        Some(to_utf8(&self.decode(max).bytes, self.charset.as_deref()))
    }

    fn is_text(&self) -> bool {
        self.mime_type == "text/plain" || self.mime_type == "text/html"
    }

    /// A leaf whose content is not text for reading: it has a file name,
    /// or its type is not `text/plain` or `text/html`. These are the parts
    /// that magic and loader detection look at.
    pub fn is_attachment(&self) -> bool {
        self.kind == PartKind::Leaf
            && (self.filename.is_some() || !self.is_text())
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

/// The owner of the bytes decoded from message/rfc822 parts that came
/// base64 or quoted-printable encoded (RFC 2045 forbids it, senders do
/// it to hide an attachment): the parts found inside borrow from it, so
/// it lives as long as the [`Message`]. It holds at most [`MAX_ENCODED`]
/// decoded messages; all of them together count against
/// [`Limits::scan_size`].
#[derive(Debug)]
pub struct Arena {
    slots: Vec<OnceCell<Box<[u8]>>>,
    used: Cell<usize>,
}

impl Default for Arena {
    fn default() -> Arena {
        Arena {
            slots: (0..MAX_ENCODED).map(|_| OnceCell::new()).collect(),
            used: Cell::new(0),
        }
    }
}

impl Arena {
    /// Stores `bytes` for as long as the arena lives; `None` when every
    /// slot is taken.
    fn keep(&self, bytes: Vec<u8>) -> Option<&[u8]> {
        let slot = self.slots.get(self.used.get())?;
        slot.set(bytes.into_boxed_slice()).ok()?;
        self.used.set(self.used.get() + 1);
        slot.get().map(|b| &b[..])
    }
}

/// Most encoded message/rfc822 parts one message has decoded
/// ([`Arena`]); more is a [`DefectKind::Limit`] defect.
pub const MAX_ENCODED: usize = 100;

impl<'a> Message<'a> {
    /// Parses `raw` like [`Message::parse_in`] but without an [`Arena`]:
    /// a base64 or quoted-printable message/rfc822 part stays a leaf,
    /// and, since what is inside it is not examined, that is a
    /// [`DefectKind::Limit`] defect. For callers that only read text.
    pub fn parse(raw: &'a [u8], limits: &Limits) -> Message<'a> {
        Message::walk(raw, limits, None)
    }

    /// Parses `raw`, decoding an encoded message/rfc822 part into `arena`
    /// and walking the message inside it. Never fails and never panics:
    /// what cannot be understood becomes a [`Defect`].
    pub fn parse_in(
        raw: &'a [u8],
        limits: &Limits,
        arena: &'a Arena,
    ) -> Message<'a> {
        Message::walk(raw, limits, Some(arena))
    }

    fn walk(
        raw: &'a [u8],
        limits: &Limits,
        arena: Option<&'a Arena>,
    ) -> Message<'a> {
        let (header, body, more) = Header::parse_bounded(raw, MAX_FIELDS);
        if raw.len() > limits.scan_size {
            return Message {
                raw,
                header,
                parts: Vec::new(),
                defects: Vec::new(),
                too_large: true,
            };
        }
        let mut walk = Walk {
            raw,
            limits,
            arena,
            decoded_left: limits.scan_size,
            parts: Vec::new(),
            defects: Vec::new(),
            fields_left: TOTAL_FIELDS.saturating_sub(header.fields.len()),
            depth_reported: false,
        };
        if more {
            // The fields past the bound are not checked (a second
            // Content-Type, a name): the rest of the message still is.
            let detail = format!("more header fields than {MAX_FIELDS}");
            walk.defect(DefectKind::Limit, "1", detail);
        }
        walk.run(header.clone(), body);
        Message {
            raw,
            header,
            parts: walk.parts,
            defects: walk.defects,
            too_large: false,
        }
    }

    /// Checks every base64 leaf for characters outside the alphabet and
    /// for data that does not decode. Separate from [`Message::parse`]
    /// because it reads every byte of every attachment and only
    /// `mime=strict` needs it.
    pub fn encoding_defects(&self) -> Vec<Defect> {
        self.parts
            .iter()
            .filter(|p| p.kind == PartKind::Leaf)
            .filter(|p| p.encoding == Encoding::Base64)
            .filter_map(|p| {
                decode::base64_problem(p.body).map(|detail| Defect {
                    kind: DefectKind::Encoding,
                    part: p.id.clone(),
                    detail: detail.to_owned(),
                })
            })
            .collect()
    }
}

/// Most header fields recorded over all parts of one message, so that
/// thousands of parts with thousands of fields each cannot exhaust memory.
const TOTAL_FIELDS: usize = 200_000;

/// Most names one part records (see [`Part::names`]): a real part has one
/// or two.
pub const MAX_NAMES: usize = 16;

/// A part found but not yet parsed.
struct Pending<'a> {
    /// The bytes it is in: the message, or a decoded message/rfc822.
    buf: &'a [u8],
    /// Its bytes, header and body (positions in `buf`).
    start: usize,
    end: usize,
    /// The header, when it is parsed already (the message's own), and
    /// the position of the body.
    parsed: Option<(Header<'a>, usize)>,
    id: String,
    depth: usize,
    /// Inside a multipart/digest the default type is message/rfc822.
    in_digest: bool,
}

/// The state of one walk over the MIME tree.
struct Walk<'a, 'l> {
    raw: &'a [u8],
    limits: &'l Limits,
    /// Where decoded message/rfc822 parts are kept, if anywhere.
    arena: Option<&'a Arena>,
    /// What may still be decoded from encoded message/rfc822 parts.
    decoded_left: usize,
    parts: Vec<Part<'a>>,
    defects: Vec<Defect>,
    fields_left: usize,
    depth_reported: bool,
}

impl<'a> Walk<'a, '_> {
    fn defect(&mut self, kind: DefectKind, part: &str, detail: String) {
        self.defects.push(Defect { kind, part: part.to_owned(), detail });
    }

    /// Walks the tree depth-first with an explicit stack, children pushed
    /// in reverse so that they come out in order.
    fn run(&mut self, header: Header<'a>, body: usize) {
        let mut stack = vec![Pending {
            buf: self.raw,
            start: 0,
            end: self.raw.len(),
            parsed: Some((header, body)),
            id: "1".to_owned(),
            depth: 0,
            in_digest: false,
        }];
        while let Some(mut pending) = stack.pop() {
            // The message itself is always a part, whatever the bound.
            if self.parts.len() >= self.limits.parts.max(1) {
                let detail = format!("more than {} parts", self.limits.parts);
                self.defect(DefectKind::Limit, &pending.id, detail);
                return;
            }
            let (header, body_start, complete) = match pending.parsed.take() {
                Some((header, body)) => (header, body, true),
                None => {
                    let bytes = pending
                        .buf
                        .get(pending.start..pending.end)
                        .unwrap_or_default();
                    let max = self.fields_left.min(MAX_FIELDS);
                    let (header, body, more) =
                        Header::parse_bounded(bytes, max);
                    self.fields_left -=
                        header.fields.len().min(self.fields_left);
                    (header, pending.start + body, !more)
                }
            };
            let body =
                pending.buf.get(body_start..pending.end).unwrap_or_default();
            let (part, boundary) = self.describe(header, body, &pending);
            let kind = part.kind;
            let encoding = part.encoding.clone();
            self.parts.push(part);
            if !complete {
                let detail = format!(
                    "more header fields than {MAX_FIELDS} in a part or \
                     {TOTAL_FIELDS} in all"
                );
                self.defect(DefectKind::Limit, &pending.id, detail);
                return;
            }
            if kind == PartKind::Leaf {
                continue;
            }
            if pending.depth >= self.limits.mime_depth {
                if !self.depth_reported {
                    self.depth_reported = true;
                    let detail = format!(
                        "nesting deeper than {} levels",
                        self.limits.mime_depth
                    );
                    self.defect(DefectKind::Limit, &pending.id, detail);
                }
                continue;
            }
            let depth = pending.depth + 1;
            if kind == PartKind::Message && encoding != Encoding::Identity {
                // Decoded once, into the arena; the message inside is
                // walked like any other (its own encoded parts too, each
                // level decoded once, all of them within the budget).
                match self.decode_message(body, &pending.id) {
                    Some(decoded) => stack.push(Pending {
                        buf: decoded,
                        start: 0,
                        end: decoded.len(),
                        parsed: None,
                        id: format!("{}.1", pending.id),
                        depth,
                        in_digest: false,
                    }),
                    None => {
                        // Not walked: inspected as a whole, as a leaf.
                        if let Some(part) = self.parts.last_mut() {
                            part.kind = PartKind::Leaf;
                        }
                    }
                }
                continue;
            }
            if kind == PartKind::Message {
                stack.push(Pending {
                    buf: pending.buf,
                    start: body_start,
                    end: pending.end,
                    parsed: None,
                    id: format!("{}.1", pending.id),
                    depth,
                    in_digest: false,
                });
                continue;
            }
            let room = self.limits.parts.saturating_sub(self.parts.len());
            let split = split(body, &boundary, room.saturating_add(1));
            if !split.closed && !split.capped {
                // The boundary is the sender's: keep the log line short.
                let shown = boundary.get(..100).unwrap_or(&boundary);
                let detail = format!(
                    "no close delimiter --{}--",
                    String::from_utf8_lossy(shown)
                );
                self.defect(DefectKind::Structure, &pending.id, detail);
            }
            let in_digest = self
                .parts
                .last()
                .is_some_and(|p| p.mime_type == "multipart/digest");
            for (n, (start, end)) in split.children.iter().enumerate().rev() {
                stack.push(Pending {
                    buf: pending.buf,
                    start: body_start + start,
                    end: body_start + end,
                    parsed: None,
                    id: format!("{}.{}", pending.id, n + 1),
                    depth,
                    in_digest,
                });
            }
        }
    }

    /// The decoded bytes of the encoded message/rfc822 part `id`, kept
    /// in the arena; `None` (a limit defect) when there is no arena, it
    /// is full, or the decoded bytes of the message would pass
    /// [`Limits::scan_size`].
    fn decode_message(&mut self, body: &[u8], id: &str) -> Option<&'a [u8]> {
        let Some(arena) = self.arena else {
            let detail = "encoded message/rfc822 not decoded".to_owned();
            self.defect(DefectKind::Limit, id, detail);
            return None;
        };
        let encoding = match self.parts.last().map(|p| &p.encoding) {
            Some(Encoding::Base64) => Encoding::Base64,
            _ => Encoding::QuotedPrintable,
        };
        let decoded = match encoding {
            Encoding::Base64 => decode::base64(body, self.decoded_left),
            _ => decode::quoted_printable(body, self.decoded_left),
        };
        if decoded.truncated {
            let detail = format!(
                "encoded message/rfc822 not decoded: the decoded parts of \
                 the message would pass scansize {}",
                self.limits.scan_size
            );
            self.defect(DefectKind::Limit, id, detail);
            return None;
        }
        self.decoded_left -= decoded.bytes.len().min(self.decoded_left);
        let kept = arena.keep(decoded.bytes);
        if kept.is_none() {
            let detail = format!(
                "encoded message/rfc822 not decoded: more than \
                 {MAX_ENCODED} in one message"
            );
            self.defect(DefectKind::Limit, id, detail);
        }
        kept
    }

    /// Every name that `header` declares for its part (see
    /// [`Part::names`]); a parameter list cut short is a limit defect.
    fn declared_names(
        &mut self,
        header: &Header<'a>,
        id: &str,
    ) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (field_name, param) in
            [("content-disposition", "filename"), ("content-type", "name")]
        {
            for field in &header.fields {
                if !field.name.eq_ignore_ascii_case(field_name) {
                    continue;
                }
                let params = Params::parse(field.raw);
                if params.dropped > 0 {
                    let detail = format!(
                        "{}: {} parameters past the first {MAX_PARAMS} \
                         not read",
                        field.name, params.dropped
                    );
                    self.defect(DefectKind::Limit, id, detail);
                }
                for name in params.get_all(param) {
                    let name = name.trim();
                    if name.is_empty() || names.iter().any(|n| n == name) {
                        continue;
                    }
                    if names.len() >= MAX_NAMES {
                        let detail = format!(
                            "more than {MAX_NAMES} declared names not read"
                        );
                        self.defect(DefectKind::Limit, id, detail);
                        return names;
                    }
                    names.push(name.to_owned());
                }
            }
        }
        names
    }

    /// The part described by `header`, and its boundary if it is a
    /// multipart (empty otherwise).
    fn describe(
        &mut self,
        header: Header<'a>,
        body: &'a [u8],
        pending: &Pending<'a>,
    ) -> (Part<'a>, Vec<u8>) {
        let content_type =
            header.get("content-type").map(|f| Params::parse(f.raw));
        let declared =
            content_type.as_ref().map(|c| c.value.as_str()).unwrap_or("");
        let mime_type = if !declared.is_empty() {
            declared.to_owned()
        } else if pending.in_digest {
            "message/rfc822".to_owned()
        } else {
            "text/plain".to_owned()
        };
        let charset = content_type
            .as_ref()
            .and_then(|c| c.get("charset"))
            .map(|c| first_token(c.as_bytes()))
            .filter(|c| !c.is_empty());
        let boundary = content_type
            .as_ref()
            .and_then(|c| match c.raw("boundary") {
                Some(b) => Some(b.to_vec()),
                None => c.get("boundary").map(String::into_bytes),
            })
            .unwrap_or_default();
        let disposition_params =
            header.get("content-disposition").map(|f| Params::parse(f.raw));
        let disposition = disposition_params
            .as_ref()
            .map(|d| d.value.clone())
            .filter(|d| !d.is_empty());
        let names = self.declared_names(&header, &pending.id);
        let filename = names.first().cloned();
        let encoding = match header.get("content-transfer-encoding") {
            None => Encoding::Identity,
            Some(field) => {
                let cte = first_token(&decode::unfold(field.raw));
                match cte.as_str() {
                    "" | "7bit" | "8bit" | "binary" => Encoding::Identity,
                    "quoted-printable" => Encoding::QuotedPrintable,
                    "base64" => Encoding::Base64,
                    _ => {
                        let detail =
                            format!("unknown Content-Transfer-Encoding {cte}");
                        self.defect(
                            DefectKind::Structure,
                            &pending.id,
                            detail,
                        );
                        Encoding::Unknown(cte)
                    }
                }
            }
        };
        let composite = mime_type.starts_with("multipart/")
            || mime_type.starts_with("message/");
        if composite
            && matches!(encoding, Encoding::Base64 | Encoding::QuotedPrintable)
        {
            // RFC 2045 section 6.4: a multipart or message entity is 7bit,
            // 8bit or binary. An encoded one hides its parts from any
            // reader that follows the rule.
            let cte = match encoding {
                Encoding::Base64 => "base64",
                _ => "quoted-printable",
            };
            let detail = format!(
                "{mime_type} with Content-Transfer-Encoding {cte} \
                 (RFC 2045 section 6.4)"
            );
            self.defect(DefectKind::Structure, &pending.id, detail);
        }
        let kind = if mime_type.starts_with("multipart/") {
            if boundary.is_empty() {
                let detail = "multipart without boundary parameter".to_owned();
                self.defect(DefectKind::Structure, &pending.id, detail);
                PartKind::Leaf
            } else {
                PartKind::Multipart
            }
        } else if (mime_type == "message/rfc822"
            || mime_type == "message/global")
            && matches!(
                encoding,
                Encoding::Identity
                    | Encoding::Base64
                    | Encoding::QuotedPrintable
            )
        {
            // An encoded one breaks RFC 2046 but is decoded and walked
            // all the same (Walk::decode_message): it hides the
            // attachments inside from any reader that follows the rule.
            PartKind::Message
        } else {
            PartKind::Leaf
        };
        let part = Part {
            id: pending.id.clone(),
            depth: pending.depth,
            kind,
            header,
            mime_type,
            charset,
            encoding,
            disposition,
            filename,
            names,
            body,
        };
        (part, boundary)
    }
}

/// The first token of a value, lower-cased: up to white space, `;` or
/// a comment, at most 100 bytes (it ends up in logs).
fn first_token(value: &[u8]) -> String {
    let value = value.trim_ascii_start();
    let end = value
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b';' || b == b'(')
        .unwrap_or(value.len())
        .min(100);
    String::from_utf8_lossy(value.get(..end).unwrap_or_default())
        .to_lowercase()
}

/// The children of a multipart body.
#[derive(Debug, Default)]
struct Split {
    /// Their positions in the body.
    children: Vec<(usize, usize)>,
    /// The close delimiter was found.
    closed: bool,
    /// The search stopped after the most children wanted.
    capped: bool,
}

/// Splits a multipart `body` at its delimiter lines (RFC 2046 5.1.1):
/// `--boundary` at the start of a line, then `--` for the close delimiter
/// or only white space to the end of the line. The line break before a
/// delimiter belongs to it. Stops after `most` children. Only the body is
/// searched, with one substring search: linear in its length.
fn split(body: &[u8], boundary: &[u8], most: usize) -> Split {
    let mut out = Split::default();
    let mut needle = Vec::with_capacity(boundary.len() + 3);
    needle.extend_from_slice(b"\n--");
    needle.extend_from_slice(boundary);
    let delimiter = needle.get(1..).unwrap_or_default();
    let first = body.starts_with(delimiter).then_some(0);
    let rest = crate::bytes::line_starts(body, &needle).map(|i| i + 1);
    // Where the current child starts, once a delimiter was seen.
    let mut child: Option<usize> = None;
    for dashes in first.into_iter().chain(rest) {
        let after = dashes + delimiter.len();
        let tail = body.get(after..).unwrap_or_default();
        let close = tail.starts_with(b"--");
        let line_end = if close {
            None
        } else {
            let padding = tail
                .iter()
                .position(|&b| !matches!(b, b' ' | b'\t' | b'\r'))
                .unwrap_or(tail.len());
            match tail.get(padding) {
                None => Some(body.len()),
                Some(b'\n') => Some(after + padding + 1),
                // Text after the boundary: an ordinary line.
                Some(_) => continue,
            }
        };
        if let Some(start) = child {
            let mut end = dashes.saturating_sub(1);
            if end > 0 && body.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
            out.children.push((start, end.max(start)));
            if out.children.len() >= most {
                out.capped = true;
                return out;
            }
        }
        match line_end {
            None => {
                out.closed = true;
                return out;
            }
            Some(next) => child = Some(next),
        }
    }
    if let Some(start) = child {
        out.children.push((start, body.len()));
    }
    out
}
