/*!
Magic MIME types, from the freedesktop.org shared MIME database embedded by
tree_magic_mini. Loading that database costs about a millisecond, so call
this only for parts that need it: [`could_match`] tells, from static tables,
when no pattern can possibly match and [`detect`] need not run.
*/

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::panic::catch_unwind;
use std::sync::OnceLock;

mod prefilter;

/// How many decoded bytes magic detection looks at.
pub const PREFIX: usize = 64 << 10;

/// The detected type of `bytes` (the start of a decoded part), with its
/// aliases and all its parent types (`application/octet-stream` or
/// `text/plain` last). The first entry is the detected type itself.
///
/// Each content is detected once per process: the answer is remembered
/// under the length and a keyed hash of `bytes` (SipHash with this
/// process's random keys, so that no message can be made to collide), and
/// a second question about the same bytes (`qmvc -t` describing the
/// parts after evaluating them, a scanner's `noscantypes` after
/// badmimetype) costs a hash instead of a run over the magic rules.
pub fn detect(bytes: &[u8]) -> Vec<&'static str> {
    let key = (bytes.len(), digest(bytes));
    let known = SEEN.with(|seen| {
        seen.borrow().iter().find(|(k, _)| *k == key).map(|(_, t)| t.clone())
    });
    if let Some(types) = known {
        return types;
    }
    // tree_magic_mini unwraps internally; a panic is "nothing detected".
    let found = catch_unwind(|| tree_magic_mini::from_u8(bytes))
        .unwrap_or(OCTET_STREAM);
    let types = lineage(found);
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if seen.len() < REMEMBERED {
            seen.push((key, types.clone()));
        }
    });
    types
}

/// How many detections [`detect`] remembers (a message has at most a few
/// thousand parts; past this, detection simply runs again).
const REMEMBERED: usize = 4096;

/// One remembered detection: (length, digest) of the bytes, the answer.
type Detection = ((usize, u64), Vec<&'static str>);

thread_local! {
    /// The detections made so far.
    static SEEN: RefCell<Vec<Detection>> = const { RefCell::new(Vec::new()) };
}

/// A keyed 64-bit hash of `bytes`, the same for the whole process.
fn digest(bytes: &[u8]) -> u64 {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::new).hash_one(bytes)
}

const OCTET_STREAM: &str = "application/octet-stream";
const TEXT_PLAIN: &str = "text/plain";

/// The type relations of the embedded database, read once on first use.
struct Relations {
    /// Type to its parent types.
    parents: HashMap<&'static str, Vec<&'static str>>,
    /// Canonical type to its aliases.
    aliases: HashMap<&'static str, Vec<&'static str>>,
    /// Alias to its canonical type.
    canonical: HashMap<&'static str, &'static str>,
}

fn relations() -> &'static Relations {
    static RELATIONS: OnceLock<Relations> = OnceLock::new();
    RELATIONS.get_or_init(|| {
        let mut r = Relations {
            parents: HashMap::new(),
            aliases: HashMap::new(),
            canonical: HashMap::new(),
        };
        for (child, parent) in pairs(tree_magic_db::subclasses()) {
            r.parents.entry(child).or_default().push(parent);
        }
        for (alias, canonical) in pairs(tree_magic_db::aliases()) {
            r.aliases.entry(canonical).or_default().push(alias);
            r.canonical.insert(alias, canonical);
        }
        r
    })
}

/// The `first second` lines of a database text file.
fn pairs(
    text: &'static str,
) -> impl Iterator<Item = (&'static str, &'static str)> {
    text.lines().filter_map(|line| {
        let mut words = line.split_ascii_whitespace();
        Some((words.next()?, words.next()?))
    })
}

/// `found`, its aliases and all its ancestors with theirs, breadth
/// first; the implicit roots of the type graph (`text/plain` for text
/// types, `application/octet-stream` for the rest) last.
fn lineage(found: &'static str) -> Vec<&'static str> {
    let r = relations();
    let mut out = vec![found];
    let mut seen: HashSet<&'static str> = HashSet::from([found]);
    let mut roots: Vec<&'static str> = Vec::new();
    let mut next = 0;
    while let Some(&current) = out.get(next) {
        next += 1;
        let canonical = r.canonical.get(current).copied().unwrap_or(current);
        let aliases = r.aliases.get(canonical).into_iter().flatten();
        let parents = r.parents.get(canonical).into_iter().flatten();
        let mut has_parent = false;
        for &relative in std::iter::once(&canonical).chain(aliases) {
            if seen.insert(relative) {
                out.push(relative);
            }
        }
        for &parent in parents {
            has_parent = true;
            if seen.insert(parent) {
                out.push(parent);
            }
        }
        if !has_parent && current == canonical {
            let root = if canonical.starts_with("text/") {
                TEXT_PLAIN
            } else {
                OCTET_STREAM
            };
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
    }
    // A root that is itself in the list moves to the end.
    for root in roots {
        out.retain(|&t| t != root);
        out.push(root);
    }
    out
}

/// Whether the glob `pattern` (lower-case, `*` allowed) matches one of
/// the `types` returned by [`detect`], or, for a pattern without `*`,
/// whether the database's own rules for that type match `bytes`.
pub fn matches(pattern: &str, types: &[&str], bytes: &[u8]) -> bool {
    let pattern = pattern.trim();
    if types.iter().any(|t| glob(pattern.as_bytes(), t.as_bytes())) {
        return true;
    }
    // The roots would match almost anything by the database's rules
    // (text/plain is "no NUL in the first bytes"): a `noscantypes` line
    // text/plain must not let a binary skip the virus scan.
    if pattern.contains('*')
        || pattern == TEXT_PLAIN
        || pattern == OCTET_STREAM
    {
        return false;
    }
    let pattern = pattern.to_ascii_lowercase();
    catch_unwind(|| tree_magic_mini::match_u8(&pattern, bytes))
        .unwrap_or(false)
}

/// Whether some pattern of `patterns` could match `prefix` (the start of
/// a decoded part, as given to [`detect`]): false only when it is certain
/// that [`matches()`]`(p, &detect(prefix), prefix)` is false for every `p`.
///
/// Why: qmvc runs once per message, and the first [`detect`] costs about
/// 0.8 ms, tree_magic_mini parsing its whole embedded magic database into
/// graphs. A PDF or PNG attachment cannot be any of the usual bad types
/// (programs, libraries, shortcuts); this tells so from static tables
/// that `build.rs` generated from the same database (no parsing, no heap
/// allocation, a few microseconds), and the database is never loaded.
///
/// How: a pattern can only match if the detected type, one of its aliases
/// or one of its ancestors matches it, or (without `*`) if the database's
/// rules for the pattern's own type match. tree_magic_mini reports a type
/// only if one of that type's top-level magic rules matches, or if it is
/// one it tells without magic (`text/plain`, `application/octet-stream`,
/// `all/all`, `all/allfiles`, `inode/directory`). So this walks from the
/// names the patterns match down to every type that has them in its
/// lineage, and is true as soon as it meets one of those base types or a
/// top-level rule that could match `prefix`.
///
/// Why it is safe: every step over-approximates. Nested rules, which can
/// only narrow a match, are ignored; subclass edges are followed through
/// aliases both ways; a rule with a word size matches its bytes as they
/// are (as tree_magic_mini compares) or swapped (as the specification
/// says); names are compared ignoring ASCII case. Only a value that does
/// not fit in `prefix` at any allowed position is ruled out, as
/// tree_magic_mini rules it out. The test `tests/magic_prefilter.rs`
/// checks all this against tree_magic_mini itself as the oracle, on the
/// corpus attachments, system programs, libraries and files, and inputs
/// built from every rule of the database.
pub fn could_match(patterns: &[&str], prefix: &[u8]) -> bool {
    prefilter::could_match(patterns, prefix, true)
}

/// [`could_match`] on the first bytes of a part only: `complete` says
/// whether `head` is the whole decoded part. When it is not, a rule that
/// reaches past its end counts as possible, so that the answer stays
/// safe while the part need not be decoded further (a few KiB instead of
/// [`PREFIX`] for most attachments).
pub fn could_match_head(
    patterns: &[&str],
    head: &[u8],
    complete: bool,
) -> bool {
    prefilter::could_match(patterns, head, complete)
}

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// bytes, ASCII case ignored. Backtracks to the last star only, so it
/// takes at most pattern × text steps.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&q) if q.eq_ignore_ascii_case(&c) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    p = sp + 1;
                    t = st + 1;
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).unwrap_or_default().iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(b"application/x-*", b"application/x-msdownload"));
        assert!(glob(b"*", b""));
        assert!(glob(b"*/*exe*", b"application/x-executable"));
        assert!(glob(b"TEXT/PLAIN", b"text/plain"));
        assert!(!glob(b"text/plain", b"text/plainx"));
        assert!(!glob(b"a*b", b"acbc"));
        assert!(glob(b"a*b*", b"acbc"));
    }

    #[test]
    fn database_rules() {
        let pe = b"MZ\x90\0";
        let found = detect(b"MZ is text");
        assert!(matches("application/x-msdownload", &found, b"MZ is text"));
        assert!(matches("application/x-ms-dos-executable", &[], pe));
        assert!(matches("Application/X-MSDownload", &[], pe));
        assert!(!matches("image/png", &[], pe));
        assert!(!matches("text/plain", &[], b"PK\x03\x04"));
        assert!(!matches("application/octet-stream", &[], b"\0"));
        assert!(matches("text/plain", &detect(b"plain"), b"plain"));
    }

    #[test]
    fn detection_is_remembered_per_content() {
        let pe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff";
        let first = detect(pe);
        assert_eq!(detect(pe), first);
        let key = (pe.len(), digest(pe));
        SEEN.with(|seen| {
            let seen = seen.borrow();
            assert_eq!(seen.iter().filter(|(k, _)| *k == key).count(), 1);
        });
        // Other bytes of the same length are detected on their own.
        let text = b"plain text her";
        assert_eq!(text.len(), pe.len());
        assert_eq!(detect(text).first(), Some(&TEXT_PLAIN));
        assert_ne!(detect(pe), detect(text));
    }

    #[test]
    fn lineage_of_pe() {
        let types = lineage("application/vnd.microsoft.portable-executable");
        assert_eq!(types[0], "application/vnd.microsoft.portable-executable");
        assert!(types.contains(&"application/x-msdownload"));
        assert!(types.contains(&"application/x-ms-dos-executable"));
        assert!(types.contains(&"application/x-executable"));
        assert_eq!(types.last(), Some(&OCTET_STREAM));
        assert_eq!(lineage(TEXT_PLAIN), [TEXT_PLAIN]);
        assert_eq!(lineage(OCTET_STREAM), [OCTET_STREAM]);
    }
}
