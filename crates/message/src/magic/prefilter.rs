/*!
The static side of [`super::could_match`]: the type names, top-level magic
rules, subclass edges and aliases of the database tree_magic_mini embeds,
turned into tables by `build.rs`, and the walk over them.
*/

use std::cmp::Ordering;

use super::glob;

/// A top-level (indent 0) magic rule, as tree_magic_mini reads it: the
/// `value` must occur, under `mask`, at a position in
/// `offset ..= offset + range`, entirely inside the bytes.
struct Rule {
    offset: u32,
    /// Extra start positions after `offset` (0 when the line has none).
    range: u32,
    value: &'static [u8],
    /// Same length as `value` when present.
    mask: Option<&'static [u8]>,
    /// Word size (1 when the line has none).
    word: u32,
}

/// The generated tables; see `build.rs`.
mod tables {
    use super::Rule;
    include!(concat!(env!("OUT_DIR"), "/magic_tables.rs"));
}

use tables::{ALIASED, ALIASED_STARTS, ALIASES, ALIAS_STARTS, BASETYPES};
use tables::{LOWER, NAMES, RULES, RULE_STARTS, SUBCLASSES, SUBCLASS_STARTS};

/// The walk over the type graph: every name is visited at most once; no
/// heap allocation.
struct Walk {
    seen: [u64; NAMES.len().div_ceil(64)],
    stack: [u16; NAMES.len()],
    len: usize,
}

impl Walk {
    fn new() -> Walk {
        Walk {
            seen: [0; NAMES.len().div_ceil(64)],
            stack: [0; NAMES.len()],
            len: 0,
        }
    }

    fn push(&mut self, name: u16) {
        let bit = 1u64 << (name % 64);
        let Some(word) = self.seen.get_mut(usize::from(name / 64)) else {
            return;
        };
        if *word & bit != 0 {
            return;
        }
        *word |= bit;
        // Each name is pushed once, so the stack never overflows.
        if let Some(slot) = self.stack.get_mut(self.len) {
            *slot = name;
            self.len += 1;
        }
    }

    fn pop(&mut self) -> Option<u16> {
        self.len = self.len.checked_sub(1)?;
        self.stack.get(self.len).copied()
    }
}

/// See [`super::could_match`]; `complete` says whether `prefix` is the
/// whole content (else a rule that reaches past its end may match).
pub(super) fn could_match(
    patterns: &[&str],
    prefix: &[u8],
    complete: bool,
) -> bool {
    let mut walk = Walk::new();
    // The names the patterns match, found by their literal head.
    for pattern in patterns {
        let pattern = pattern.trim().as_bytes();
        let head = pattern.split(|&b| b == b'*').next().unwrap_or_default();
        let start = LOWER.partition_point(|n| {
            compare_head(n.as_bytes(), head) == Ordering::Less
        });
        let end = LOWER.partition_point(|n| {
            compare_head(n.as_bytes(), head) != Ordering::Greater
        });
        let names = NAMES.get(start..end).unwrap_or_default();
        for (i, name) in (start..).zip(names) {
            if glob(pattern, name.as_bytes()) {
                if BASETYPES.contains(&(i as u16)) {
                    return true;
                }
                walk.push(i as u16);
            }
        }
    }
    // Every type whose lineage holds a matched name: down the subclass
    // edges, across aliases both ways. Stop at the first that could be
    // detected from `prefix`.
    while let Some(name) = walk.pop() {
        if BASETYPES.contains(&name)
            || rules(name).iter().any(|r| {
                r.may_match(prefix) || (!complete && r.reaches_past(prefix))
            })
        {
            return true;
        }
        for &(_, canonical) in group(&ALIASES, &ALIAS_STARTS, name) {
            walk.push(canonical);
        }
        for &(_, alias) in group(&ALIASED, &ALIASED_STARTS, name) {
            walk.push(alias);
        }
        for &(child, _) in group(&SUBCLASSES, &SUBCLASS_STARTS, name) {
            walk.push(child);
        }
    }
    false
}

/// The first `head.len()` bytes of `lower` (a name of `LOWER`) against
/// `head`, ASCII case ignored: the order of `LOWER`, truncated.
fn compare_head(lower: &[u8], head: &[u8]) -> Ordering {
    let lower = lower.get(..head.len()).unwrap_or(lower);
    if !head.iter().any(u8::is_ascii_uppercase) {
        return lower.cmp(head);
    }
    lower.iter().copied().cmp(head.iter().map(u8::to_ascii_lowercase))
}

/// The entries of `table` for `NAMES[name]`: those from `starts[name]`
/// to `starts[name + 1]`.
fn group<T>(table: &'static [T], starts: &[u32], name: u16) -> &'static [T] {
    let i = usize::from(name);
    match (starts.get(i), starts.get(i + 1)) {
        (Some(&start), Some(&end)) => {
            table.get(start as usize..end as usize).unwrap_or_default()
        }
        _ => &[],
    }
}

/// The top-level rules of `NAMES[name]`.
fn rules(name: u16) -> &'static [Rule] {
    group(&RULES, &RULE_STARTS, name)
}

impl Rule {
    /// Whether a match of this rule could lie (partly) beyond `bytes`.
    fn reaches_past(&self, bytes: &[u8]) -> bool {
        let extent = (self.offset as usize)
            .saturating_add(self.range as usize)
            .saturating_add(self.value.len());
        extent > bytes.len()
    }

    /// False only if tree_magic_mini certainly finds no match of this
    /// rule in `bytes`.
    fn may_match(&self, bytes: &[u8]) -> bool {
        let len = self.value.len();
        if len == 0 {
            // tree_magic_mini would panic (and detect nothing); no such
            // rule in the database, so no need to be clever.
            return true;
        }
        // tree_magic_mini: start positions offset ..= offset + range, the
        // whole value inside the bytes.
        let start = self.offset as usize;
        let end = start
            .saturating_add(len)
            .saturating_add(self.range as usize)
            .min(bytes.len());
        let Some(area) = bytes.get(start..end) else {
            return false;
        };
        // tree_magic_mini ignores the word size and compares the bytes as
        // they are; the specification swaps them on little-endian hosts.
        // Either order may match.
        let word = self.word as usize;
        if word > 1 && !len.is_multiple_of(word) {
            return area.len() >= len;
        }
        self.found(area, 1) || (word > 1 && self.found(area, word))
    }

    /// Whether the value, its bytes reversed within each `word`, occurs
    /// in `area`.
    fn found(&self, area: &[u8], word: usize) -> bool {
        if word <= 1 && self.mask.is_none() {
            return find(area, self.value);
        }
        area.windows(self.value.len()).any(|window| self.at(window, word))
    }

    /// Whether `window` holds the (word-swapped) value under the mask.
    fn at(&self, window: &[u8], word: usize) -> bool {
        window.iter().enumerate().all(|(i, &byte)| {
            let j = match word {
                0 | 1 => i,
                _ => i - i % word + (word - 1 - i % word),
            };
            let mask = match self.mask {
                Some(mask) => mask.get(j).copied(),
                None => Some(0xff),
            };
            match (self.value.get(j), mask) {
                (Some(&value), Some(mask)) => byte & mask == value,
                _ => true,
            }
        })
    }
}

/// Whether `value` (not empty) occurs in `area`: a byte search for its first
/// byte, then a compare; much faster than `windows` on the ranges of
/// script rules.
fn find(area: &[u8], value: &[u8]) -> bool {
    let Some((&first, rest)) = value.split_first() else {
        return true;
    };
    let Some(last) = area.len().checked_sub(value.len()) else {
        return false;
    };
    let starts = area.get(..=last).unwrap_or_default();
    crate::bytes::positions(first, starts)
        .any(|i| area.get(i + 1..i + value.len()) == Some(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(name: &str) -> u16 {
        let i = NAMES.iter().position(|&n| n == name);
        i.unwrap_or_else(|| panic!("{name} not in NAMES")) as u16
    }

    #[test]
    fn tables() {
        assert!(NAMES.len() > 1000);
        assert!(NAMES.windows(2).all(|w| {
            let lower = |s: &str| s.to_ascii_lowercase();
            (lower(w[0]), w[0]) < (lower(w[1]), w[1])
        }));
        assert_eq!(RULE_STARTS.len(), NAMES.len() + 1);
        assert!(NAMES
            .iter()
            .zip(LOWER)
            .all(|(n, l)| n.eq_ignore_ascii_case(l)));
        assert!(LOWER.is_sorted());
        for base in [
            "all/all",
            "all/allfiles",
            "inode/directory",
            "text/plain",
            "application/octet-stream",
        ] {
            assert!(BASETYPES.contains(&index(base)), "{base}");
        }
        let elf = rules(index("application/x-executable"));
        assert!(elf.iter().any(|r| r.value == b"\x7fELF" && r.offset == 0));
        assert!(rules(index("application/x-msi")).is_empty());
        let pdf = rules(index("application/pdf"));
        assert!(pdf.iter().any(|r| r.value == b"%PDF-" && r.range > 0));
        // Nested rules are not in the table: PE's "PE\0\0" is indent 1.
        let pe = rules(index("application/vnd.microsoft.portable-executable"));
        assert!(pe.iter().all(|r| r.value == b"MZ"));
        let (dos, down) = (
            index("application/x-ms-dos-executable"),
            index("application/x-msdownload"),
        );
        assert_eq!(group(&ALIASES, &ALIAS_STARTS, dos), [(dos, down)]);
        assert!(group(&ALIASED, &ALIASED_STARTS, down).contains(&(down, dos)));
        let pe = index("application/vnd.microsoft.portable-executable");
        assert!(SUBCLASSES.contains(&(pe, down)));
        assert!(SUBCLASSES.is_sorted_by_key(|&(c, p)| (p, c)));
        assert!(ALIASES.is_sorted() && ALIASED.is_sorted());
        for name in 0..NAMES.len() as u16 {
            let of = |table: &[(u16, u16)], key: fn(&(u16, u16)) -> u16| {
                table.iter().filter(|e| key(e) == name).count()
            };
            let subclasses = group(&SUBCLASSES, &SUBCLASS_STARTS, name);
            assert!(subclasses.iter().all(|e| e.1 == name));
            assert_eq!(subclasses.len(), of(&SUBCLASSES, |e| e.1));
            let aliases = group(&ALIASES, &ALIAS_STARTS, name);
            assert!(aliases.iter().all(|e| e.0 == name));
            assert_eq!(aliases.len(), of(&ALIASES, |e| e.0));
            let aliased = group(&ALIASED, &ALIASED_STARTS, name);
            assert!(aliased.iter().all(|e| e.0 == name));
            assert_eq!(aliased.len(), of(&ALIASED, |e| e.0));
        }
    }

    #[test]
    fn rules_as_tree_magic_mini() {
        let rule = |offset, range, value, mask, word| Rule {
            offset,
            range,
            value,
            mask,
            word,
        };
        let r = rule(2, 0, b"ab", None, 1);
        assert!(r.may_match(b"xxab"));
        assert!(!r.may_match(b"xxa"));
        assert!(!r.may_match(b"xab"));
        assert!(!r.may_match(b""));
        let r = rule(1, 2, b"ab", None, 1);
        assert!(r.may_match(b"xab") && r.may_match(b"xxxab"));
        assert!(!r.may_match(b"xxxxab") && !r.may_match(b"ab"));
        let r = rule(0, 0, b"\x10\x20", Some(b"\xf0\xff"), 1);
        assert!(r.may_match(b"\x1f\x20") && !r.may_match(b"\x20\x20"));
        let r = rule(0, 0, b"\x01\x10", None, 2);
        assert!(r.may_match(b"\x01\x10") && r.may_match(b"\x10\x01"));
        assert!(!r.may_match(b"\x01\x01") && !r.may_match(b"\x01"));
        let r = rule(0, 0, b"\x01\x02\x03", None, 2);
        assert!(r.may_match(b"xyz") && !r.may_match(b"xy"));
        let r = rule(0, 0, b"", None, 1);
        assert!(r.may_match(b""));
        let r = rule(u32::MAX, u32::MAX, b"a", None, 1);
        assert!(!r.may_match(b"aaaa"));
    }

    #[test]
    fn heads() {
        assert_eq!(compare_head(b"audio/amr", b"Audio/A"), Ordering::Equal);
        assert_eq!(compare_head(b"audio/amr", b"audio/a"), Ordering::Equal);
        assert_eq!(compare_head(b"audio", b"audio/a"), Ordering::Less);
        assert_eq!(compare_head(b"audio", b"AUDIO/A"), Ordering::Less);
        assert_eq!(compare_head(b"image/png", b"audio/"), Ordering::Greater);
        assert_eq!(compare_head(b"", b""), Ordering::Equal);
    }
}
