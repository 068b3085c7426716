/*!
Structured header values with parameters (Content-Type,
Content-Disposition): the main value and RFC 2045 parameters, with
RFC 2231 continuations and charsets and RFC 2047 words in quoted values.
*/

use crate::decode::{decode_words, percent_decode, to_utf8, unfold};

/// A parsed `value; name=value; ...` header.
#[derive(Debug, Default)]
pub(crate) struct Params {
    /// The main value, lower-cased and trimmed (`multipart/mixed`).
    pub value: String,
    list: Vec<Param>,
    /// Parameters past [`MAX_PARAMS`], not recorded.
    pub dropped: usize,
}

/// Most parameters one field value records: real mail has a handful, and
/// a hostile list of millions would otherwise cost memory many times its
/// size. The rest are counted in [`Params::dropped`].
pub(crate) const MAX_PARAMS: usize = 64;

#[derive(Debug)]
struct Param {
    /// Lower-cased name as written, RFC 2231 section marks included
    /// (`filename*0*`).
    name: String,
    /// The value, quotes and backslash escapes removed.
    value: Vec<u8>,
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

impl Params {
    /// Parses the raw field value `raw` (folds included). Never fails:
    /// what is not a parameter is skipped.
    pub fn parse(raw: &[u8]) -> Params {
        let text = unfold(raw);
        let text: &[u8] = &text;
        // The main value ends at the first `;`, white space or comment.
        let mut pos = skip_space(text, 0);
        let start = pos;
        while let Some(&b) = text.get(pos) {
            if b == b';' || b == b'(' || is_space(b) {
                break;
            }
            pos += 1;
        }
        let value =
            String::from_utf8_lossy(text.get(start..pos).unwrap_or_default())
                .to_lowercase();
        let mut list = Vec::new();
        let mut dropped = 0;
        loop {
            pos = skip_separators(text, pos);
            if pos >= text.len() {
                break;
            }
            let name_start = pos;
            while let Some(&b) = text.get(pos) {
                if b == b'=' || b == b';' || is_space(b) {
                    break;
                }
                pos += 1;
            }
            let name = text.get(name_start..pos).unwrap_or_default();
            pos = skip_space(text, pos);
            if text.get(pos) != Some(&b'=') {
                // Not a parameter: skip to the next `;`.
                pos = next_semicolon(text, pos);
                continue;
            }
            pos = skip_space(text, pos + 1);
            let value;
            if text.get(pos) == Some(&b'"') {
                let (v, end) = quoted(text, pos + 1);
                value = v;
                pos = next_semicolon(text, end);
            } else {
                let end = next_semicolon(text, pos);
                value = trim(text.get(pos..end).unwrap_or_default()).to_vec();
                pos = end;
            }
            if name.is_empty() {
                continue;
            }
            if list.len() >= MAX_PARAMS {
                dropped += 1;
                continue;
            }
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            list.push(Param { name, value });
        }
        Params { value, list, dropped }
    }

    /// The raw bytes of the plain parameter `name` (lower-case), without
    /// any decoding: what a boundary is compared as.
    pub fn raw(&self, name: &str) -> Option<&[u8]> {
        self.list.iter().find(|p| p.name == name).map(|p| p.value.as_slice())
    }

    /// The decoded value of parameter `name` (lower-case): an RFC 2231
    /// extended value (`name*`) or continuation (`name*0`, `name*0*`, ...)
    /// before the plain `name`, whose RFC 2047 words are decoded.
    pub fn get(&self, name: &str) -> Option<String> {
        let extended = format!("{name}*");
        if let Some(p) = self.list.iter().find(|p| p.name == extended) {
            return Some(extended_value(&p.value));
        }
        if let Some(v) = self.continued(name) {
            return Some(v);
        }
        self.raw(name).map(decode_words)
    }

    /// Every decoded value that parameter `name` (lower-case) has: each
    /// RFC 2231 extended value, the continuation, and each plain copy, in
    /// that order, without duplicates. A sender who names a part twice
    /// must not choose which name a check sees.
    pub fn get_all(&self, name: &str) -> Vec<String> {
        let extended = format!("{name}*");
        let mut out: Vec<String> = Vec::new();
        let mut add = |v: String| {
            if !out.contains(&v) {
                out.push(v);
            }
        };
        for p in self.list.iter().filter(|p| p.name == extended) {
            add(extended_value(&p.value));
        }
        if let Some(v) = self.continued(name) {
            add(v);
        }
        for p in self.list.iter().filter(|p| p.name == name) {
            add(decode_words(&p.value));
        }
        out
    }

    /// RFC 2231 section 3 and 4.1: the sections `name*0`, `name*1`, ...
    /// joined, each optionally percent-encoded (`name*1*`), the charset
    /// taken from the first section.
    fn continued(&self, name: &str) -> Option<String> {
        let mut sections: Vec<(usize, bool, &[u8])> = Vec::new();
        for p in &self.list {
            let Some(rest) = p.name.strip_prefix(name) else { continue };
            let Some(rest) = rest.strip_prefix('*') else { continue };
            let (digits, encoded) = match rest.strip_suffix('*') {
                Some(d) => (d, true),
                None => (rest, false),
            };
            // Sections are numbered without leading zeros, and more than
            // four digits is no real name.
            if digits.is_empty()
                || digits.len() > 4
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || (digits.len() > 1 && digits.starts_with('0'))
            {
                continue;
            }
            let Ok(index) = digits.parse::<usize>() else { continue };
            sections.push((index, encoded, &p.value));
        }
        if sections.is_empty() {
            return None;
        }
        sections.sort_by_key(|s| s.0);
        let mut bytes = Vec::new();
        let mut charset: Option<String> = None;
        let mut expect = 0;
        for (index, encoded, value) in sections {
            if index < expect {
                // A repeated section: the first one counts.
                continue;
            }
            if index != expect {
                break;
            }
            expect += 1;
            if !encoded {
                bytes.extend_from_slice(value);
                continue;
            }
            let mut value = value;
            if index == 0 {
                if let Some((label, data)) = split_charset(value) {
                    charset =
                        Some(String::from_utf8_lossy(label).into_owned());
                    value = data;
                }
            }
            bytes.extend_from_slice(&percent_decode(value));
        }
        if expect == 0 {
            return None;
        }
        Some(to_utf8(&bytes, charset.as_deref()))
    }
}

/// `charset'language'data` of an RFC 2231 value, split into the charset
/// and the data.
fn split_charset(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let first = crate::bytes::find(b'\'', value)?;
    let rest = value.get(first + 1..)?;
    let second = crate::bytes::find(b'\'', rest)?;
    Some((value.get(..first)?, rest.get(second + 1..)?))
}

fn extended_value(value: &[u8]) -> String {
    match split_charset(value) {
        Some((label, data)) => {
            let label = String::from_utf8_lossy(label);
            to_utf8(&percent_decode(data), Some(&label))
        }
        None => to_utf8(&percent_decode(value), None),
    }
}

fn skip_space(text: &[u8], mut pos: usize) -> usize {
    while text.get(pos).is_some_and(|&b| is_space(b)) {
        pos += 1;
    }
    pos
}

/// Skips white space, `;` and comments between parameters.
fn skip_separators(text: &[u8], mut pos: usize) -> usize {
    loop {
        match text.get(pos) {
            Some(&b) if is_space(b) || b == b';' => pos += 1,
            Some(b'(') => pos = comment_end(text, pos),
            _ => return pos,
        }
    }
}

/// The position after the comment opening at `pos` (nested comments and
/// quoted pairs allowed; an unclosed comment runs to the end).
fn comment_end(text: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&b) = text.get(pos) {
        pos += 1;
        match b {
            b'\\' => pos += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return pos;
                }
            }
            _ => {}
        }
    }
    text.len()
}

fn next_semicolon(text: &[u8], pos: usize) -> usize {
    match text.get(pos..).and_then(|rest| crate::bytes::find(b';', rest)) {
        Some(i) => pos + i,
        None => text.len(),
    }
}

/// The content of the quoted string whose opening quote is before `pos`,
/// and the position after its closing quote (or the end).
fn quoted(text: &[u8], mut pos: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    while let Some(&b) = text.get(pos) {
        pos += 1;
        match b {
            b'"' => return (out, pos),
            b'\\' => {
                if let Some(&next) = text.get(pos) {
                    out.push(next);
                    pos += 1;
                }
            }
            _ => out.push(b),
        }
    }
    (out, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type() {
        let p = Params::parse(
            b" Multipart/Mixed;\n boundary=\"=_b; x\"; charset=UTF-8 (c)",
        );
        assert_eq!(p.value, "multipart/mixed");
        assert_eq!(p.raw("boundary"), Some(&b"=_b; x"[..]));
        assert_eq!(p.get("charset").as_deref(), Some("UTF-8 (c)"));
        let p = Params::parse(b"text/plain (comment); (c) name=a.exe");
        assert_eq!(p.value, "text/plain");
        assert_eq!(p.get("name").as_deref(), Some("a.exe"));
        assert_eq!(Params::parse(b"").value, "");
        let p = Params::parse(b"x; ;;=;a;b=\"\\\"q\\\\\"; c=\"open");
        assert_eq!(p.get("b").as_deref(), Some("\"q\\"));
        assert_eq!(p.get("c").as_deref(), Some("open"));
    }

    #[test]
    fn rfc2231() {
        let p = Params::parse(b"attachment; filename*=UTF-8''invoice%2Eexe");
        assert_eq!(p.get("filename").as_deref(), Some("invoice.exe"));
        let p = Params::parse(
            b"attachment;\n filename*0*=UTF-8''in;\n filename*1*=voice%2E;\n \
              filename*2*=e%78e",
        );
        assert_eq!(p.get("filename").as_deref(), Some("invoice.exe"));
        let p = Params::parse(
            b"attachment; filename*1=\"ice.exe\"; filename*0=\"invo\"",
        );
        assert_eq!(p.get("filename").as_deref(), Some("invoice.exe"));
        let p = Params::parse(b"a; name*=iso-8859-1'de'M%E4rz.exe");
        assert_eq!(p.get("name").as_deref(), Some("M\u{e4}rz.exe"));
        // Split multi-byte character.
        let p = Params::parse(b"a; name*0*=utf-8''M%C3; name*1*=%A4rz");
        assert_eq!(p.get("name").as_deref(), Some("M\u{e4}rz"));
        // Extended beats plain.
        let p = Params::parse(b"a; name=\"a.txt\"; name*=utf-8''b.exe");
        assert_eq!(p.get("name").as_deref(), Some("b.exe"));
        // A gap ends the sections; no section 0, no value.
        let p = Params::parse(b"a; name*0=a; name*2=c");
        assert_eq!(p.get("name").as_deref(), Some("a"));
        let p = Params::parse(b"a; name*1=a; name*01=b");
        assert_eq!(p.get("name"), None);
    }

    #[test]
    fn every_copy_of_a_name() {
        let p = Params::parse(
            b"attachment; filename=\"a.pdf\"; filename*=UTF-8''b%2Eexe; \
              filename=c.scr; filename=\"a.pdf\"",
        );
        assert_eq!(p.get_all("filename"), ["b.exe", "a.pdf", "c.scr"]);
        assert_eq!(p.get("filename").as_deref(), Some("b.exe"));
    }

    #[test]
    fn parameter_lists_are_bounded() {
        let raw = "application/x; a=b".to_string() + &"; x=y".repeat(10_000);
        let p = Params::parse(raw.as_bytes());
        assert_eq!(p.list.len(), MAX_PARAMS);
        assert_eq!(p.dropped, 10_001 - MAX_PARAMS);
    }

    #[test]
    fn rfc2047_in_quotes() {
        let p = Params::parse(
            b"attachment; filename=\"=?UTF-8?B?UmVjaG51bmcgTcOkcnouZXhl?=\"",
        );
        assert_eq!(
            p.get("filename").as_deref(),
            Some("Rechnung M\u{e4}rz.exe")
        );
    }
}
