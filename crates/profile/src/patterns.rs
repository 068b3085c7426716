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
    /// The parsed, lower-cased glob; compile its matcher only when a
    /// message has a file name to match.
    pub glob: globset::Glob,
    /// Where the line is.
    pub origin: Origin,
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
