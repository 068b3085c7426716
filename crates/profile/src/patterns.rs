/*!
The pattern lists: text patterns, body commands, file-name globs, type
globs, loader rules.
*/

use std::time::Duration;

use qmvc_message::loader::LoaderType;

use crate::Origin;

/// A badsubjects or badbodytexts pattern.
#[derive(Clone, Debug)]
pub enum TextPattern {
    /// A plain line: a case-insensitive substring in which any run of
    /// white space matches any other (stored [`fold`]ed).
    Substring {
        /// The substring, [`fold`]ed.
        needle: String,
        /// Where the line is.
        origin: Origin,
    },
    /// A `/.../` line: a case-insensitive regular expression.
    Regex {
        /// The compiled expression (size-limited).
        regex: regex::Regex,
        /// The line as written, slashes included.
        source: String,
        /// Where the line is.
        origin: Origin,
    },
}

impl TextPattern {
    /// Whether the pattern matches `text`; `lowered` is [`fold`] of
    /// `text`, computed once by the caller for all substring patterns.
    pub fn is_match(&self, text: &str, lowered: &str) -> bool {
        match self {
            TextPattern::Substring { needle, .. } => lowered.contains(needle),
            TextPattern::Regex { regex, .. } => regex.is_match(text),
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        match self {
            TextPattern::Substring { needle, .. } => needle,
            TextPattern::Regex { source, .. } => source,
        }
    }

    /// Where the line is.
    pub fn origin(&self) -> &Origin {
        match self {
            TextPattern::Substring { origin, .. }
            | TextPattern::Regex { origin, .. } => origin,
        }
    }
}

/// `text` lower-cased with every run of white space made one space, the
/// form substring patterns are matched in: a phrase broken over two lines
/// of a body is still the phrase.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    if text.is_ascii() {
        // The common case, a byte at a time: no per-character case tables.
        let mut bytes = Vec::with_capacity(text.len());
        for &b in text.as_bytes() {
            if b.is_ascii_whitespace() || b == 0x0b {
                space = true;
                continue;
            }
            if space && !bytes.is_empty() {
                bytes.push(b' ');
            }
            space = false;
            bytes.push(b.to_ascii_lowercase());
        }
        return String::from_utf8(bytes).unwrap_or_default();
    }
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// A `|COMMAND ARGS[:RC]` line of badbodytexts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRule {
    /// The program (a path, or a name looked up in `PATH`).
    pub program: String,
    /// Its arguments (the rest of the line split on white space).
    pub args: Vec<String>,
    /// The exit code that meets the condition (default 0).
    pub rc: i32,
    /// How long it may run (from `limits`).
    pub timeout: Duration,
    /// Where the line is.
    pub origin: Origin,
}

/// A line of badbodytexts.
#[derive(Clone, Debug)]
pub enum BodyRule {
    /// Matched against the decoded text parts.
    Pattern(TextPattern),
    /// Run with the message on stdin.
    Command(CommandRule),
}

/// A badfilenames glob (`*`, `?`, `[...]`), case-insensitive: the
/// pattern is lower-cased, so match it against a lower-cased name.
#[derive(Clone, Debug)]
pub struct FilenameGlob {
    /// The glob, lower-cased, as globset would see it.
    pattern: String,
    /// How to match it.
    kind: GlobKind,
    /// Where the line is.
    pub origin: Origin,
}

/// How a [`FilenameGlob`] is matched: the common forms without globset.
#[derive(Clone, Debug)]
enum GlobKind {
    /// `*` then a literal (`*.exe`): the name ends with the literal
    /// (`*` matches any run of characters, `/` included).
    Suffix,
    /// A literal: the name is the literal.
    Literal,
    /// The keyword `:bidi`: the name holds a Unicode bidirectional
    /// control ([`qmvc_message::bidi_control`]).
    Bidi,
    /// Anything else: a parsed glob, whose matcher is compiled only when
    /// a message has a file name to match.
    Glob(globset::Glob),
}

/// The badfilenames line that is a keyword, not a glob: no real file
/// name is `:bidi` (Windows forbids `:` in names).
pub(crate) const BIDI_KEYWORD: &str = ":bidi";

/// The characters that make a glob more than a literal.
const GLOB_SPECIAL: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

impl FilenameGlob {
    /// The glob of `pattern` (lower-cased) when it is `*LITERAL` or a
    /// literal, which need no globset; `None` for the rest.
    pub(crate) fn simple(pattern: &str, origin: Origin) -> Option<Self> {
        let (kind, literal) = match pattern.strip_prefix('*') {
            Some(rest) => (GlobKind::Suffix, rest),
            None => (GlobKind::Literal, pattern),
        };
        if literal.contains(GLOB_SPECIAL) || pattern.is_empty() {
            return None;
        }
        Some(FilenameGlob { pattern: pattern.to_owned(), kind, origin })
    }

    /// The keyword [`BIDI_KEYWORD`].
    pub(crate) fn bidi(origin: Origin) -> Self {
        FilenameGlob {
            pattern: BIDI_KEYWORD.to_owned(),
            kind: GlobKind::Bidi,
            origin,
        }
    }

    /// A glob that globset parsed.
    pub(crate) fn parsed(glob: globset::Glob, origin: Origin) -> Self {
        FilenameGlob {
            pattern: glob.glob().to_owned(),
            kind: GlobKind::Glob(glob),
            origin,
        }
    }

    /// The glob as globset sees it (the line lower-cased).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The globset glob to compile, `None` when the glob is matched
    /// without globset (see [`FilenameGlob::simple_match`]).
    pub fn glob(&self) -> Option<&globset::Glob> {
        match &self.kind {
            GlobKind::Glob(glob) => Some(glob),
            GlobKind::Suffix | GlobKind::Literal | GlobKind::Bidi => None,
        }
    }

    /// Whether the glob matches `lowered` (a lower-cased name) when it
    /// needs no globset; `None` when it does (see
    /// [`FilenameGlob::glob`]).
    pub fn simple_match(&self, lowered: &str) -> Option<bool> {
        match &self.kind {
            GlobKind::Suffix => {
                let literal = self.pattern.get(1..).unwrap_or_default();
                Some(lowered.ends_with(literal))
            }
            GlobKind::Literal => Some(lowered == self.pattern),
            GlobKind::Bidi => {
                Some(qmvc_message::bidi_control(lowered).is_some())
            }
            GlobKind::Glob(_) => None,
        }
    }

    /// Whether the glob matches `lowered` (a lower-cased name),
    /// compiling a globset matcher when the glob needs one.
    pub fn is_match(&self, lowered: &str) -> bool {
        match &self.kind {
            GlobKind::Glob(glob) => glob.compile_matcher().is_match(lowered),
            GlobKind::Suffix | GlobKind::Literal | GlobKind::Bidi => {
                self.simple_match(lowered).unwrap_or(false)
            }
        }
    }
}

/// A MIME type glob of badmimetypes or noscantypes (lower-cased; `*`
/// matches any run of characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeGlob {
    /// The glob, lower-cased.
    pub pattern: String,
    /// Where the line is.
    pub origin: Origin,
}

/// A line of badloadertypes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoaderRule {
    /// A loader type keyword.
    Type {
        /// The type.
        loader: LoaderType,
        /// Where the line is.
        origin: Origin,
    },
    /// At least five base64 characters matched against the start of a
    /// base64 part's encoded text (case-sensitive).
    Base64Prefix {
        /// The characters.
        prefix: String,
        /// Where the line is.
        origin: Origin,
    },
}
