/*!
Decoding: RFC 2047 encoded words, transfer encodings, charsets.
*/

use std::borrow::Cow;

use charset::Charset;

/// Decodes RFC 2047 encoded words in `raw` (any charset encoding_rs
/// knows; unknown charsets are kept as they are) and unfolds it.
pub fn decode_words(raw: &[u8]) -> String {
    let text = unfold(raw);
    let text: &[u8] = &text;
    let mut out = String::with_capacity(text.len());
    // Consecutive words in one charset are joined as bytes before
    // charset decoding: encoders split multi-byte characters across words.
    let mut pending: Vec<u8> = Vec::new();
    let mut pending_charset: Option<Charset> = None;
    let mut plain_from = 0;
    let mut after_word = false;
    let mut search = 0;
    while let Some(found) = text.get(search..).and_then(encoded_start) {
        let start = search + found;
        let Some(word) = encoded_word(text, start) else {
            search = start + 2;
            continue;
        };
        let between = text.get(plain_from..start).unwrap_or_default();
        let blank = between.iter().all(|&b| b == b' ' || b == b'\t');
        // RFC 2047 section 6.2: white space between adjacent encoded words
        // is not displayed.
        if !(after_word && blank) {
            flush(&mut out, &mut pending, pending_charset);
            out.push_str(&String::from_utf8_lossy(between));
        }
        if pending_charset != Some(word.charset) {
            flush(&mut out, &mut pending, pending_charset);
        }
        pending_charset = Some(word.charset);
        pending.extend_from_slice(&word.bytes);
        plain_from = word.end;
        search = word.end;
        after_word = true;
    }
    flush(&mut out, &mut pending, pending_charset);
    out.push_str(&String::from_utf8_lossy(
        text.get(plain_from..).unwrap_or_default(),
    ));
    out
}

fn flush(out: &mut String, pending: &mut Vec<u8>, charset: Option<Charset>) {
    if pending.is_empty() {
        return;
    }
    match charset {
        Some(charset) => {
            out.push_str(&charset.decode_without_bom_handling(pending).0)
        }
        None => out.push_str(&String::from_utf8_lossy(pending)),
    }
    pending.clear();
}

/// Removes every CR and LF: unfolding keeps the white space after a line
/// break, and a stray line break must never reach a log or a header.
pub(crate) fn unfold(raw: &[u8]) -> Cow<'_, [u8]> {
    if crate::bytes::find2(b'\r', b'\n', raw).is_none() {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(
        raw.iter().copied().filter(|&b| b != b'\r' && b != b'\n').collect(),
    )
}

struct Word {
    end: usize,
    charset: Charset,
    bytes: Vec<u8>,
}

/// Where the first `=?` of `text` is (a possible encoded word).
fn encoded_start(text: &[u8]) -> Option<usize> {
    crate::bytes::positions(b'=', text)
        .find(|&i| text.get(i + 1) == Some(&b'?'))
}

/// The encoded word `=?charset?X?text?=` starting at `start`. Every run
/// between question marks stops at white space, so each byte is looked at
/// by at most three attempts and the whole scan stays linear.
fn encoded_word(text: &[u8], start: usize) -> Option<Word> {
    let (label, next) = word_run(text, start + 2)?;
    let (coding, next) = word_run(text, next)?;
    let (data, next) = word_run(text, next)?;
    if text.get(next) != Some(&b'=') {
        return None;
    }
    // RFC 2231 section 5 allows a language after the charset.
    let label = match crate::bytes::find(b'*', label) {
        Some(star) => label.get(..star)?,
        None => label,
    };
    if label.len() > 64 {
        return None;
    }
    let charset = Charset::for_label_no_replacement(label)?;
    let bytes = match coding {
        b"B" | b"b" => base64(data, usize::MAX).bytes,
        b"Q" | b"q" => q_word(data),
        _ => return None,
    };
    Some(Word { end: next + 1, charset, bytes })
}

/// The bytes from `from` up to the next `?` (which must come before any
/// white space or the end), and the position after that `?`.
fn word_run(text: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = text.get(from..)?;
    let len = rest.iter().position(|&b| {
        b == b'?' || b == b' ' || b == b'\t' || b == b'\r' || b == b'\n'
    })?;
    if rest.get(len) != Some(&b'?') {
        return None;
    }
    Some((rest.get(..len)?, from + len + 1))
}

fn q_word(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                if let Some(byte) = hex_pair(data, i + 1) {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The byte written as two hex digits at `at`, if there are two.
fn hex_pair(data: &[u8], at: usize) -> Option<u8> {
    let high = hex_digit(*data.get(at)?)?;
    let low = hex_digit(*data.get(at + 1)?)?;
    Some(high << 4 | low)
}

/// RFC 2231 percent decoding; a `%` not followed by two hex digits stays.
pub(crate) fn percent_decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        if b == b'%' {
            if let Some(byte) = hex_pair(data, i + 1) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// `bytes` in the charset `label` converted to UTF-8. No label, an
/// ASCII label (which WHATWG would read as windows-1252) and unknown labels
/// are read as UTF-8, invalid sequences replaced.
pub(crate) fn to_utf8(bytes: &[u8], label: Option<&str>) -> String {
    let label = label.map(str::trim).unwrap_or("");
    let ascii = ["", "us-ascii", "ascii", "us_ascii", "utf-8", "utf8"];
    if ascii.iter().any(|a| a.eq_ignore_ascii_case(label)) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    match Charset::for_label_no_replacement(label.as_bytes()) {
        Some(charset) => {
            charset.decode_without_bom_handling(bytes).0.into_owned()
        }
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A decoded body.
#[derive(Clone, Debug, Default)]
pub struct Decoded {
    /// The decoded bytes, at most the `max` that was asked for.
    pub bytes: Vec<u8>,
    /// More decoded content exists beyond `bytes`.
    pub truncated: bool,
}

impl Decoded {
    fn with_capacity(max: usize, input: usize) -> Decoded {
        // Never trust `max` for the allocation: callers pass usize::MAX.
        Decoded { bytes: Vec::with_capacity(max.min(input)), truncated: false }
    }

    /// Appends `byte` unless `max` is reached; false when it was.
    fn push(&mut self, byte: u8, max: usize) -> bool {
        if self.bytes.len() >= max {
            self.truncated = true;
            return false;
        }
        self.bytes.push(byte);
        true
    }

    /// Appends as much of `chunk` as `max` allows; false when it was cut.
    fn extend(&mut self, chunk: &[u8], max: usize) -> bool {
        let room = max.saturating_sub(self.bytes.len());
        if chunk.len() > room {
            self.bytes
                .extend_from_slice(chunk.get(..room).unwrap_or_default());
            self.truncated = true;
            return false;
        }
        self.bytes.extend_from_slice(chunk);
        true
    }
}

/// Marks in [`B64`] for bytes that are not base64 digits.
const PAD: u8 = 64;
const SPACE: u8 = 65;
const INVALID: u8 = 255;

/// Base64 digit values, [`PAD`] for `=`, [`SPACE`] for the white space
/// a mail body may carry, [`INVALID`] for everything else.
static B64: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table[b'=' as usize] = PAD;
    table[b' ' as usize] = SPACE;
    table[b'\t' as usize] = SPACE;
    table[b'\r' as usize] = SPACE;
    table[b'\n' as usize] = SPACE;
    table
};

/// Lenient base64: anything outside the alphabet is skipped, and padding
/// ends a quantum but not the data, so that concatenated base64 blocks
/// (which some mail clients decode) are all seen.
pub(crate) fn base64(input: &[u8], max: usize) -> Decoded {
    let mut out = Decoded::with_capacity(max, input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut digits = 0u8;
    for line in lines(input) {
        // Nearly every line of a real attachment is whole quantums of
        // digits: decode those without a branch per byte.
        let room = max.saturating_sub(out.bytes.len());
        if digits == 0 && all_digits(line) && line.len() / 4 * 3 <= room {
            let quads = line.chunks_exact(4);
            let tail = quads.remainder();
            for quad in quads {
                let [a, b, c, d] = [0, 1, 2, 3].map(|i| {
                    u32::from(quad.get(i).map_or(0, |&x| B64[usize::from(x)]))
                });
                let v = a << 18 | b << 12 | c << 6 | d;
                out.bytes.extend_from_slice(&[
                    (v >> 16) as u8,
                    (v >> 8) as u8,
                    v as u8,
                ]);
            }
            for &x in tail {
                acc = acc << 6 | u32::from(B64[usize::from(x)]);
                digits += 1;
            }
            continue;
        }
        for &b in line {
            let v = B64[usize::from(b)];
            if v < 64 {
                acc = acc << 6 | u32::from(v);
                digits += 1;
                if digits == 4 {
                    let group =
                        [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
                    if !out.extend(&group, max) {
                        return out;
                    }
                    acc = 0;
                    digits = 0;
                }
            } else if v == PAD && digits > 0 {
                if !flush_quantum(&mut out, acc, digits, max) {
                    return out;
                }
                acc = 0;
                digits = 0;
            }
        }
    }
    flush_quantum(&mut out, acc, digits, max);
    out
}

/// The lines of `input` without their line ends (LF or CRLF).
fn lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let ends = crate::bytes::positions(b'\n', input)
        .chain(std::iter::once(input.len()));
    ends.filter_map(move |end| {
        let line = input.get(start..end)?;
        start = end + 1;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// Whether every byte of `line` is a base64 digit (no padding, no space).
fn all_digits(line: &[u8]) -> bool {
    // Digits are 0..=63; PAD, SPACE and INVALID all have a high bit set.
    line.iter().fold(0u8, |seen, &b| seen | B64[usize::from(b)]) & 0xC0 == 0
}

/// The bytes of an incomplete quantum of `digits` base64 digits.
fn flush_quantum(out: &mut Decoded, acc: u32, digits: u8, max: usize) -> bool {
    match digits {
        2 => out.push((acc >> 4) as u8, max),
        3 => out.extend(&[(acc >> 10) as u8, (acc >> 2) as u8], max),
        // A single digit holds no whole byte.
        _ => true,
    }
}

/// Why `input` is not strict base64, if it is not: a byte outside the
/// alphabet and white space, data after padding, or a length that cannot
/// be decoded.
pub(crate) fn base64_problem(input: &[u8]) -> Option<&'static str> {
    let mut digits = 0usize;
    let mut pads = 0usize;
    let mut after_pad = false;
    for line in lines(input) {
        if pads == 0 && all_digits(line) {
            digits += line.len();
            continue;
        }
        for &b in line {
            match B64[usize::from(b)] {
                INVALID => {
                    return Some("characters outside the base64 alphabet");
                }
                SPACE => {}
                PAD => pads += 1,
                _ if pads > 0 => after_pad = true,
                _ => digits += 1,
            }
        }
    }
    if after_pad {
        return Some("base64 data after padding");
    }
    if digits % 4 == 1 {
        return Some("base64 of impossible length");
    }
    let needed = (4 - digits % 4) % 4;
    if pads != needed {
        return Some("base64 with wrong padding");
    }
    None
}

/// Quoted-printable, leniently: soft line breaks (`=` before the line end,
/// white space allowed between) are removed, `=XX` becomes the byte, any
/// other `=` stays as it is.
pub(crate) fn quoted_printable(input: &[u8], max: usize) -> Decoded {
    let mut out = Decoded::with_capacity(max, input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = input.get(i..).unwrap_or_default();
        let Some(eq) = crate::bytes::find(b'=', rest) else {
            out.extend(rest, max);
            return out;
        };
        if !out.extend(rest.get(..eq).unwrap_or_default(), max) {
            return out;
        }
        i += eq;
        if let Some(byte) = hex_pair(input, i + 1) {
            if !out.push(byte, max) {
                return out;
            }
            i += 3;
            continue;
        }
        let mut j = i + 1;
        while matches!(input.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        match (input.get(j), input.get(j + 1)) {
            (Some(b'\n'), _) => i = j + 1,
            (Some(b'\r'), Some(b'\n')) => i = j + 2,
            // A lone `=` (and its padding) at the very end is a soft
            // break before nothing.
            (None, _) => i = j,
            _ => {
                if !out.push(b'=', max) {
                    return out;
                }
                i += 1;
            }
        }
    }
    out
}

/// The first `max` bytes of `input`, unchanged.
pub(crate) fn identity(input: &[u8], max: usize) -> Decoded {
    let mut out = Decoded::with_capacity(max, input.len());
    out.extend(input, max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            decode_words(b" =?UTF-8?Q?make_money_fast?="),
            " make money fast"
        );
        assert_eq!(
            decode_words(b"=?iso-8859-1?Q?=A1Hola,_se=F1or!?="),
            "\u{a1}Hola, se\u{f1}or!"
        );
        assert_eq!(
            decode_words(b"=?UTF-8?B?UmVjaG51bmcgTcOkcnouZXhl?="),
            "Rechnung M\u{e4}rz.exe"
        );
        // Adjacent words join; text between words stays.
        assert_eq!(decode_words(b"=?utf-8?q?a?=  =?utf-8?q?b?="), "ab");
        assert_eq!(decode_words(b"=?utf-8?q?a?=\r\n =?utf-8?q?b?="), "ab");
        assert_eq!(decode_words(b"=?utf-8?q?a?= x =?utf-8?q?b?="), "a x b");
        // A character split over two words.
        assert_eq!(
            decode_words(b"=?utf-8?q?M=C3?= =?utf-8?q?=A4rz?="),
            "M\u{e4}rz"
        );
        // Unknown charset, bad coding, unfinished word: kept.
        assert_eq!(decode_words(b"=?x-nope?q?a?="), "=?x-nope?q?a?=");
        assert_eq!(decode_words(b"=?utf-8?x?a?="), "=?utf-8?x?a?=");
        assert_eq!(decode_words(b"a =?utf-8?q?b"), "a =?utf-8?q?b");
        assert_eq!(decode_words(b"=?=?=?=?"), "=?=?=?=?");
        assert_eq!(decode_words(b"=?utf-8*en?q?a?="), "a");
        assert_eq!(decode_words(b"Gr\xfc\xdfe"), "Gr\u{fffd}\u{fffd}e");
        assert_eq!(decode_words(b"a\r\n\tb\n c"), "a\tb c");
    }

    #[test]
    fn base64_lenient() {
        assert_eq!(base64(b"Zm9v\nYmFy\n", 100).bytes, b"foobar");
        assert_eq!(base64(b"Zm9v*!YmFy", 100).bytes, b"foobar");
        assert_eq!(base64(b"Zg==Zm8=", 100).bytes, b"ffo");
        assert_eq!(base64(b"Zm8", 100).bytes, b"fo");
        let d = base64(b"Zm9vYmFy", 4);
        assert_eq!((d.bytes.as_slice(), d.truncated), (&b"foob"[..], true));
        let d = base64(b"Zm9vYmFy", 6);
        assert_eq!((d.bytes.as_slice(), d.truncated), (&b"foobar"[..], false));
        let d = base64(b"Zm9vYmFy\n\n", 3);
        assert_eq!((d.bytes.as_slice(), d.truncated), (&b"foo"[..], true));
        let d = base64(b"Zm9v\n\n", 3);
        assert_eq!((d.bytes.as_slice(), d.truncated), (&b"foo"[..], false));
    }

    #[test]
    fn base64_strict() {
        assert_eq!(base64_problem(b"Zm9v\r\nYmE=\r\n"), None);
        assert_eq!(base64_problem(b""), None);
        assert!(base64_problem(b"Zm9*v").is_some());
        assert!(base64_problem(b"Zm9vY").is_some());
        assert!(base64_problem(b"Zg==Zg==").is_some());
        assert!(base64_problem(b"Zm9=").is_none());
        assert!(base64_problem(b"Zm9").is_some());
        assert!(base64_problem(b"Zm===").is_some());
    }

    #[test]
    fn qp() {
        let d = quoted_printable(b"Kill the =\nBoss=21 a=3d=\r\nb =x", 100);
        assert_eq!(d.bytes, b"Kill the Boss! a=b =x");
        assert_eq!(quoted_printable(b"a= \t\nb=", 100).bytes, b"ab");
        let d = quoted_printable(b"abc=41def", 4);
        assert_eq!((d.bytes.as_slice(), d.truncated), (&b"abcA"[..], true));
        let d = quoted_printable(b"abc=41", 4);
        assert_eq!((d.bytes.as_slice(), d.truncated), (&b"abcA"[..], false));
    }

    #[test]
    fn charsets() {
        assert_eq!(to_utf8(b"M\xe4rz", Some("iso-8859-1")), "M\u{e4}rz");
        assert_eq!(to_utf8(b"a\0b", None), "a\0b");
        assert_eq!(
            to_utf8("M\u{e4}rz".as_bytes(), Some("us-ascii")),
            "M\u{e4}rz"
        );
        assert_eq!(to_utf8(b"x\xff", Some("x-unknown")), "x\u{fffd}");
        assert_eq!(percent_decode(b"invoice%2Eexe%zz%4"), b"invoice.exe%zz%4");
    }

    /// The plain per-byte decoder the fast path must agree with.
    fn reference(input: &[u8], max: usize) -> Vec<u8> {
        let mut out = Decoded::with_capacity(max, input.len());
        let (mut acc, mut digits) = (0u32, 0u8);
        for &b in input {
            let v = B64[usize::from(b)];
            if v < 64 {
                acc = acc << 6 | u32::from(v);
                digits += 1;
                if digits == 4 {
                    let g = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
                    if !out.extend(&g, max) {
                        return out.bytes;
                    }
                    (acc, digits) = (0, 0);
                }
            } else if v == PAD && digits > 0 {
                if !flush_quantum(&mut out, acc, digits, max) {
                    return out.bytes;
                }
                (acc, digits) = (0, 0);
            }
        }
        flush_quantum(&mut out, acc, digits, max);
        out.bytes
    }

    #[test]
    fn fast_base64_agrees_with_the_plain_decoder() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\
                         0123456789+/=\n\r \t*!";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..3000 {
            let len = (next() % 400) as usize;
            // Mostly well-formed lines, sometimes any byte of the mix.
            let noisy = round % 3 == 0;
            let input: Vec<u8> = (0..len)
                .map(|i| {
                    if !noisy && i % 77 == 76 {
                        b'\n'
                    } else {
                        let pick = next() as usize
                            % if noisy { alphabet.len() } else { 64 };
                        alphabet[pick]
                    }
                })
                .collect();
            for max in [0, 1, 5, 64, usize::MAX] {
                let fast = base64(&input, max).bytes;
                assert_eq!(fast, reference(&input, max), "{input:?} {max}");
            }
        }
    }
}
