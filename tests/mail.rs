/*!
Test messages built in code: headers, multipart trees, base64 and
message/rfc822 parts, stored zip archives, and executables taken from the
shared corpus.

Invariants: every message has LF line ends (as qmail stores mail) unless a
test converts it with [`crlf`]; every multipart gets a fresh boundary that
occurs nowhere else; a default [`Mail`] is clean under every `mailheaders`
check (all required fields present, strict syntax, strict MIME).
*/
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use crate::util::CORPUS;

// The encoders live with the other shared test fixtures.
pub use qmvc_scanners::testing::{base64, zip, zip_of, ZipMember};

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn next() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// A message: header fields in order, and a body.
#[derive(Clone, Debug)]
pub struct Mail {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Default for Mail {
    fn default() -> Mail {
        Mail::new()
    }
}

impl Mail {
    /// A clean single-part text message with every usual header.
    pub fn new() -> Mail {
        let n = next();
        Mail {
            headers: vec![
                ("Date".into(), "Mon, 03 Mar 2025 10:00:00 +0000".into()),
                ("From".into(), "Alice Sender <alice@example.net>".into()),
                ("To".into(), "Bob Recipient <bob@example.org>".into()),
                ("Subject".into(), "Test message".into()),
                ("Message-ID".into(), format!("<test.{n}@qmvc.example>")),
                ("MIME-Version".into(), "1.0".into()),
                ("Content-Type".into(), "text/plain; charset=us-ascii".into()),
                ("Content-Transfer-Encoding".into(), "7bit".into()),
            ],
            body: b"Hello Bob,\n\nnothing to see here.\n\nAlice\n".to_vec(),
        }
    }

    /// Sets field `name`: replaces the first one of that name, else
    /// appends it.
    pub fn header(mut self, name: &str, value: &str) -> Mail {
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(field) => field.1 = value.to_string(),
            None => self.headers.push((name.into(), value.into())),
        }
        self
    }

    /// Appends a field (also a second one of the same name).
    pub fn add_header(mut self, name: &str, value: &str) -> Mail {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Appends `line` to the header as it is (no colon added), e.g. a
    /// line that is not a header field.
    pub fn raw_header(mut self, line: &str) -> Mail {
        self.headers.push((String::new(), line.into()));
        self
    }

    /// Removes every field named `name`.
    pub fn without(mut self, name: &str) -> Mail {
        self.headers
            .retain(|(n, _)| n.is_empty() || !n.eq_ignore_ascii_case(name));
        self
    }

    /// Sets the Subject.
    pub fn subject(self, subject: &str) -> Mail {
        self.header("Subject", subject)
    }

    /// A plain us-ascii text body.
    pub fn text(self, text: &str) -> Mail {
        self.part(Part::text(text))
    }

    /// The raw body, content headers unchanged.
    pub fn body(mut self, body: &[u8]) -> Mail {
        self.body = body.to_vec();
        self
    }

    /// Makes the message a single part: `part`'s content fields replace
    /// the message's, its body becomes the body.
    pub fn part(mut self, part: Part) -> Mail {
        self.headers
            .retain(|(n, _)| !n.to_ascii_lowercase().starts_with("content-"));
        for (name, value) in part.headers {
            self.headers.push((name, value));
        }
        self.body = part.body;
        self
    }

    /// A `multipart/SUBTYPE` message of `parts`.
    pub fn multipart(self, subtype: &str, parts: Vec<Part>) -> Mail {
        self.part(Part::multipart(subtype, parts))
    }

    /// A `multipart/mixed` message of `parts`.
    pub fn mixed(self, parts: Vec<Part>) -> Mail {
        self.multipart("mixed", parts)
    }

    /// The message as bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.headers {
            if !name.is_empty() {
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b": ");
            }
            out.extend_from_slice(value.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out
    }
}

/// A MIME part: its header fields and its (already encoded) body.
#[derive(Clone, Debug)]
pub struct Part {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Part {
    /// A part with these fields and this body, as given.
    pub fn new(headers: &[(&str, &str)], body: &[u8]) -> Part {
        Part {
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    /// `text/plain; charset=us-ascii`, 7bit.
    pub fn text(text: &str) -> Part {
        Part::new(
            &[
                ("Content-Type", "text/plain; charset=us-ascii"),
                ("Content-Transfer-Encoding", "7bit"),
            ],
            text.as_bytes(),
        )
    }

    /// `text/html; charset=us-ascii`, 7bit.
    pub fn html(html: &str) -> Part {
        Part::new(
            &[
                ("Content-Type", "text/html; charset=us-ascii"),
                ("Content-Transfer-Encoding", "7bit"),
            ],
            html.as_bytes(),
        )
    }

    /// `content_type` with `data` base64-encoded, and these further
    /// fields.
    pub fn base64(
        content_type: &str,
        fields: &[(&str, &str)],
        data: &[u8],
    ) -> Part {
        let mut headers = vec![("Content-Type", content_type)];
        headers.extend_from_slice(fields);
        headers.push(("Content-Transfer-Encoding", "base64"));
        Part::new(&headers, base64(data).as_bytes())
    }

    /// An attachment `filename` of type `content_type`, base64.
    pub fn attachment(
        filename: &str,
        content_type: &str,
        data: &[u8],
    ) -> Part {
        let ctype = format!("{content_type}; name=\"{filename}\"");
        let disposition = format!("attachment; filename=\"{filename}\"");
        Part::base64(&ctype, &[("Content-Disposition", &disposition)], data)
    }

    /// A `message/rfc822` part holding `mail`.
    pub fn message(mail: &Mail) -> Part {
        Part::new(
            &[
                ("Content-Type", "message/rfc822"),
                ("Content-Disposition", "inline"),
            ],
            &mail.bytes(),
        )
    }

    /// A `multipart/SUBTYPE` part of `parts`.
    pub fn multipart(subtype: &str, parts: Vec<Part>) -> Part {
        let boundary = format!("=_qmvc_test_{}", next());
        let mut body =
            b"This is a multi-part message in MIME format.\n".to_vec();
        for part in parts {
            body.extend_from_slice(format!("\n--{boundary}\n").as_bytes());
            for (name, value) in &part.headers {
                body.extend_from_slice(
                    format!("{name}: {value}\n").as_bytes(),
                );
            }
            body.push(b'\n');
            body.extend_from_slice(&part.body);
        }
        body.extend_from_slice(format!("\n--{boundary}--\n").as_bytes());
        let ctype = format!("multipart/{subtype}; boundary=\"{boundary}\"");
        Part::new(&[("Content-Type", &ctype)], &body)
    }
}

const ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Decodes base64, skipping anything outside the alphabet.
pub fn unbase64(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in text {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else { continue };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Converts LF line ends to CRLF (existing CRLF pairs stay as they are).
pub fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    let mut previous = 0u8;
    for &b in bytes {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// The decoded content of the base64 attachment `filename` in corpus
/// message `file`.
pub fn corpus_attachment(file: &str, filename: &str) -> Vec<u8> {
    let path = format!("{CORPUS}/{file}");
    let text = std::fs::read(&path).unwrap();
    let needle = format!("filename=\"{filename}\"");
    let at = find(&text, needle.as_bytes())
        .unwrap_or_else(|| panic!("{path}: no {needle}"));
    let rest = &text[at..];
    let start = find(rest, b"\n\n").unwrap() + 2;
    let rest = &rest[start..];
    let end = find(rest, b"\n--").unwrap_or(rest.len());
    unbase64(&rest[..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A real PE32 executable (from corpus message 10).
pub fn pe() -> Vec<u8> {
    let bytes = corpus_attachment("10-pe-invoice-exe.eml", "invoice.exe");
    assert!(bytes.starts_with(b"MZ"), "corpus PE does not start with MZ");
    bytes
}

/// A real ELF executable (from corpus message 12).
pub fn elf() -> Vec<u8> {
    let bytes = corpus_attachment("12-elf-nopie-data-bin.eml", "data.bin");
    assert!(bytes.starts_with(b"\x7fELF"), "corpus ELF is not ELF");
    bytes
}

/// `n` pseudo-random bytes (xorshift, fixed seed: the same every run).
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

#[test]
fn base64_round_trips() {
    for n in 0..200 {
        let data = random_bytes(n, 7 + n as u64);
        assert_eq!(unbase64(base64(&data).as_bytes()), data);
    }
    assert_eq!(base64(b"make money fast"), "bWFrZSBtb25leSBmYXN0");
}

#[test]
fn crlf_conversion_keeps_existing_pairs() {
    assert_eq!(crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
}
