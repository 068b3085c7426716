//! Turns the freedesktop.org shared MIME database embedded by
//! tree_magic_db into static tables for `magic::could_match`, so the
//! prefilter never parses anything at run time.
//!
//! The magic file is read with the grammar tree_magic_mini 3.2 uses (see
//! its `fdo_magic/ruleset.rs`), so both see the same types and rules:
//!
//! ```text
//! MIME-Magic\0\n
//! [priority:type]\n
//! [indent]>offset=LEN(2 bytes, big-endian)VALUE[&MASK][~word][+range]\n
//! ```
//!
//! Where the database cannot be read by that grammar, tree_magic_mini
//! stops loading; this script stops at the same point and says so.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The types tree_magic_mini's basetype checker answers without magic.
const BASETYPES: [&str; 5] = [
    "all/all",
    "all/allfiles",
    "inode/directory",
    "text/plain",
    "application/octet-stream",
];

/// One magic rule line.
struct Rule<'a> {
    indent: u32,
    offset: u32,
    value: &'a [u8],
    mask: Option<&'a [u8]>,
    /// 1 when the line has no `~`.
    word: u32,
    /// 0 when the line has no `+`.
    range: u32,
}

/// A cursor over the magic file.
struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    fn tag(&mut self, tag: &[u8]) -> Option<()> {
        let rest = self.bytes.get(self.at..)?;
        rest.starts_with(tag).then(|| self.at += tag.len())
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    /// Bytes up to (not including) `stop`; at least one, as nom's
    /// `is_not`.
    fn until(&mut self, stop: u8) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.at..)?;
        let n = rest.iter().position(|&b| b == stop).unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        self.take(n)
    }

    /// A run of decimal digits (possibly empty), as a u32; `default` when
    /// empty or too large, as tree_magic_mini's `int_or`.
    fn number(&mut self, default: u32) -> u32 {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let digits = self.take(n).unwrap_or_default();
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(default)
    }

    /// `[priority:type]\n`.
    fn section(&mut self) -> Option<&'a str> {
        let start = self.at;
        let name = (|| {
            self.tag(b"[")?;
            self.until(b':')?;
            self.tag(b":")?;
            let name = self.until(b']')?;
            self.tag(b"]\n")?;
            std::str::from_utf8(name).ok()
        })();
        if name.is_none() {
            self.at = start;
        }
        name
    }

    /// One rule line, or None (and nothing consumed) if the grammar does
    /// not match.
    fn rule(&mut self) -> Option<Rule<'a>> {
        let start = self.at;
        let rule = (|| {
            let indent = self.number(0);
            self.tag(b">")?;
            let offset = self.number(0);
            self.tag(b"=")?;
            let len = self.take(2)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            let value = self.take(len)?;
            let mask = self.optional(|i| {
                i.tag(b"&")?;
                i.take(len)
            });
            let word = self.optional(|i| {
                i.tag(b"~")?;
                Some(i.number(1))
            });
            let range = self.optional(|i| {
                i.tag(b"+")?;
                Some(i.number(0))
            });
            self.tag(b"\n")?;
            Some(Rule {
                indent,
                offset,
                value,
                mask,
                word: word.unwrap_or(1),
                range: range.unwrap_or(0),
            })
        })();
        if rule.is_none() {
            self.at = start;
        }
        rule
    }

    /// nom's `opt`: on failure, nothing consumed.
    fn optional<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        let start = self.at;
        let parsed = parse(self);
        if parsed.is_none() {
            self.at = start;
        }
        parsed
    }
}

/// The sections of the magic file, same-named sections merged in file
/// order (as tree_magic_mini merges priorities).
fn parse(magic: &[u8]) -> BTreeMap<&str, Vec<Rule<'_>>> {
    let mut input = Input { bytes: magic, at: 0 };
    let mut types: BTreeMap<&str, Vec<Rule<'_>>> = BTreeMap::new();
    if input.tag(b"MIME-Magic\0\n").is_none() {
        println!("cargo:warning=magic database has no MIME-Magic header");
        return types;
    }
    while let Some(name) = input.section() {
        let rules = types.entry(name).or_default();
        while let Some(rule) = input.rule() {
            rules.push(rule);
        }
    }
    if input.at != magic.len() {
        println!(
            "cargo:warning=magic database unreadable from byte {} on; \
             tree_magic_mini ignores the rest too",
            input.at
        );
    }
    types
}

/// The rules tree_magic_mini tries first for each type: the roots of its
/// rule graph, i.e. each rule whose indent is not above every earlier
/// rule's of the type (indent 0 in a well-formed file).
fn roots<'r, 'a>(rules: &'r [Rule<'a>]) -> Vec<&'r Rule<'a>> {
    let mut lowest = u32::MAX;
    let mut out = Vec::new();
    for rule in rules {
        if rule.indent <= lowest {
            out.push(rule);
        }
        lowest = lowest.min(rule.indent);
    }
    out
}

/// The `first second` lines of a database text file, as tree_magic_mini
/// reads them (empty lines skipped).
fn pairs(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?, words.next()?))
        })
        .collect()
}

/// For sorted `keys` below `n`: `starts[k]..starts[k + 1]` are the
/// positions of the keys equal to `k`.
fn starts_of(keys: impl Iterator<Item = u16>, n: usize) -> Vec<u32> {
    let mut starts = vec![0u32; n + 1];
    for key in keys {
        starts[usize::from(key) + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    starts
}

fn bytes_literal(bytes: &[u8]) -> String {
    let mut s = String::from("b\"");
    for b in bytes {
        let _ = write!(s, "\\x{b:02x}");
    }
    s.push('"');
    s
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let types = parse(tree_magic_db::magic());
    let aliases = pairs(tree_magic_db::aliases());
    let subclasses = pairs(tree_magic_db::subclasses());

    // Every name: sorted by ASCII-lowercase spelling (then by spelling),
    // so a case-insensitive prefix is a contiguous, searchable range.
    let mut names: BTreeSet<&str> = BASETYPES.into_iter().collect();
    names.extend(types.keys());
    names.extend(aliases.iter().flat_map(|&(a, b)| [a, b]));
    names.extend(subclasses.iter().flat_map(|&(a, b)| [a, b]));
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_by_key(|n| (n.to_ascii_lowercase(), *n));
    assert!(names.len() < usize::from(u16::MAX), "too many types");
    let index: HashMap<&str, u16> =
        names.iter().enumerate().map(|(i, &n)| (n, i as u16)).collect();

    // tree_magic_mini resolves each subclass line's child and parent
    // through its alias map (a HashMap: the last line for an alias wins).
    let resolve: HashMap<&str, &str> = aliases.iter().copied().collect();
    let canonical = |n| resolve.get(n).copied().unwrap_or(n);
    let mut edges: Vec<(u16, u16)> = subclasses
        .iter()
        .map(|&(c, p)| (index[canonical(c)], index[canonical(p)]))
        .collect();
    edges.sort_by_key(|&(child, parent)| (parent, child));
    edges.dedup();
    let mut alias_pairs: Vec<(u16, u16)> =
        aliases.iter().map(|&(a, c)| (index[a], index[c])).collect();
    alias_pairs.sort_unstable();
    alias_pairs.dedup();
    let mut aliased: Vec<(u16, u16)> =
        alias_pairs.iter().map(|&(a, c)| (c, a)).collect();
    aliased.sort_unstable();

    let mut out = String::new();
    out.push_str(
        "// Generated by crates/message/build.rs from tree_magic_db.\n\n",
    );
    let _ = writeln!(
        out,
        "/// Every type name of the database, sorted by lower-case \
         spelling.\npub static NAMES: [&str; {}] = [",
        names.len()
    );
    for name in &names {
        let _ = writeln!(out, "    {name:?},");
    }
    out.push_str("];\n\n");
    let _ = writeln!(
        out,
        "/// `NAMES`, ASCII-lowercased (so sorted).\n\
         pub static LOWER: [&str; {}] = [",
        names.len()
    );
    for name in &names {
        let _ = writeln!(out, "    {:?},", name.to_ascii_lowercase());
    }
    out.push_str("];\n\n");

    let mut starts = vec![0usize];
    let mut rules = String::new();
    let mut count = 0;
    for name in &names {
        for rule in types.get(name).map(|r| roots(r)).unwrap_or_default() {
            let mask = match rule.mask {
                Some(mask) => format!("Some({})", bytes_literal(mask)),
                None => "None".into(),
            };
            let _ = writeln!(
                rules,
                "    Rule {{ offset: {}, range: {}, value: {}, mask: {mask}, \
                 word: {} }},",
                rule.offset,
                rule.range,
                bytes_literal(rule.value),
                rule.word,
            );
            count += 1;
        }
        starts.push(count);
    }
    let _ = writeln!(
        out,
        "/// The top-level magic rules of `NAMES[i]` are \
         `RULES[RULE_STARTS[i]..RULE_STARTS[i + 1]]`.\n\
         pub static RULE_STARTS: [u32; {}] = {starts:?};\n",
        starts.len()
    );
    let _ = writeln!(
        out,
        "/// Top-level magic rules, grouped by type.\n\
         pub static RULES: [Rule; {count}] = [\n{rules}];\n"
    );
    let n = names.len();
    let _ = writeln!(
        out,
        "/// Subclass edges `(child, parent)` as indices into `NAMES`, both \
         resolved through the alias map as tree_magic_mini does; sorted by \
         parent, those of parent `p` at \
         `SUBCLASS_STARTS[p]..SUBCLASS_STARTS[p + 1]`.\n\
         pub static SUBCLASSES: [(u16, u16); {}] = {edges:?};\n\
         pub static SUBCLASS_STARTS: [u32; {}] = {:?};\n",
        edges.len(),
        n + 1,
        starts_of(edges.iter().map(|e| e.1), n),
    );
    let _ = writeln!(
        out,
        "/// The alias map: `(alias, canonical)` as indices into `NAMES`, \
         sorted by alias, grouped by `ALIAS_STARTS`.\n\
         pub static ALIASES: [(u16, u16); {}] = {alias_pairs:?};\n\
         pub static ALIAS_STARTS: [u32; {}] = {:?};\n",
        alias_pairs.len(),
        n + 1,
        starts_of(alias_pairs.iter().map(|a| a.0), n),
    );
    let _ = writeln!(
        out,
        "/// `(canonical, alias)`: `ALIASES` sorted by canonical, grouped by \
         `ALIASED_STARTS`.\n\
         pub static ALIASED: [(u16, u16); {}] = {aliased:?};\n\
         pub static ALIASED_STARTS: [u32; {}] = {:?};\n",
        aliased.len(),
        n + 1,
        starts_of(aliased.iter().map(|a| a.0), n),
    );
    let base: Vec<u16> = BASETYPES.iter().map(|b| index[b]).collect();
    let _ = writeln!(
        out,
        "/// The types tree_magic_mini detects without magic rules.\n\
         pub static BASETYPES: [u16; {}] = {base:?};",
        base.len()
    );

    let dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(dir.join("magic_tables.rs"), out)
        .expect("write magic_tables.rs");
}
