/*!
The part of YAML an engine definition is written in, read into keys and
values that remember their lines.

A definition is one mapping of `key: value` lines starting in column 1.
A value is a scalar on the key's line (plain, `'single'` with `''` for
one `'`, or `"double"` with backslash escapes), a flow list `[a, 'b']`
(which may go on over several lines), or, after a bare `key:`, a block
list of `- item` lines. `#` starts a comment at the start of a line or
after white space outside quotes; a `---` line may open the document. This
is what the shipped definitions and qmvc-scanners(5) use; anchors,
aliases, tags, block scalars, nested collections and a second document
are refused with a message that says so. Every message is ours, so that
it says what to do and does not change with a library.
*/

use std::borrow::Cow;
use std::fmt;

/// A key of the top-level mapping and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Entry<'t> {
    /// The key as written.
    pub(super) key: &'t str,
    /// Its line (1-based).
    pub(super) line: usize,
    /// Its value.
    pub(super) value: Value<'t>,
}

/// A value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Value<'t> {
    /// Nothing (`key:` alone, `~` or `null`): as if the key were absent.
    Null,
    /// One scalar.
    Scalar(Scalar<'t>),
    /// A list of scalars.
    List(Vec<Scalar<'t>>),
}

/// A scalar and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Scalar<'t> {
    /// The text, quotes removed and escapes replaced.
    pub(super) text: Cow<'t, str>,
    /// Whether it was quoted (a quoted number is text).
    pub(super) quoted: bool,
    /// Its line.
    pub(super) line: usize,
}

/// What makes a text not a definition in our part of YAML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Syntax {
    /// A line indented where a key was expected.
    Indented,
    /// A tab in the indentation.
    Tab,
    /// A list (or a flow collection) where the mapping was expected.
    NotAMapping,
    /// A line without `KEY:`.
    NotAKey,
    /// A second document.
    SecondDocument,
    /// A YAML feature we do not read.
    Unsupported(&'static str),
    /// A plain scalar starting with a reserved character.
    Reserved(char),
    /// A quote not closed on its line.
    UnclosedQuote,
    /// An unknown escape in a double-quoted scalar.
    Escape(char),
    /// Text after a closing quote.
    AfterQuote,
    /// `: ` in a plain value.
    Colon,
    /// An unquoted `{}`.
    Placeholder,
    /// A flow indicator inside a plain value of a flow list.
    FlowIndicator(char),
    /// A list inside a list.
    NestedList,
    /// A `-` without a value.
    EmptyItem,
    /// A `[` without its `]`.
    UnclosedList,
    /// Text after the `]` of a flow list.
    AfterList,
}

impl fmt::Display for Syntax {
    /// What is wrong and what to do; all but the placeholder message,
    /// which is complete, point to the man page.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.what(f)?;
        if *self == Syntax::Placeholder {
            return Ok(());
        }
        f.write_str(" (see qmvc-scanners(5))")
    }
}

impl Syntax {
    /// What is wrong and what to do.
    fn what(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Syntax::Indented => f.write_str(
                "unexpected indentation: a key starts in column 1, and only \
                 list items (- item) are indented",
            ),
            Syntax::Tab => {
                f.write_str("a tab in the indentation; indent with spaces")
            }
            Syntax::NotAMapping => f.write_str(
                "expected a mapping of keys, e.g. protocol: clamd, not a \
                 list",
            ),
            Syntax::NotAKey => f.write_str(
                "expected KEY: VALUE, e.g. protocol: clamd (a space after \
                 the colon)",
            ),
            Syntax::SecondDocument => f.write_str(
                "a second YAML document; a definition is one mapping: \
                 remove this line and what follows",
            ),
            Syntax::Unsupported(what) => write!(
                f,
                "{what} not supported in a definition; write the value \
                 plainly or in quotes"
            ),
            Syntax::Reserved(c) => {
                write!(f, "a value cannot start with {c} unquoted; quote it")
            }
            Syntax::UnclosedQuote => f.write_str(
                "the quoted value does not end on its line; close the quote",
            ),
            Syntax::Escape(c) => write!(
                f,
                "unknown escape \\{c} in a \"...\" value; write the value in \
                 single quotes, where \\ is an ordinary character"
            ),
            Syntax::AfterQuote => f.write_str(
                "text after the closing quote; quote the whole value",
            ),
            Syntax::Colon => {
                f.write_str("a value holding ': ' must be quoted, e.g. 'a: b'")
            }
            Syntax::Placeholder => f.write_str(
                "quote the placeholder: write '{}' (unquoted, {} is an \
                 empty YAML mapping)",
            ),
            Syntax::FlowIndicator(c) => write!(
                f,
                "a value in a [...] list holds '{c}': quote it, e.g. \
                 ['tcp:[::1]:3310']"
            ),
            Syntax::NestedList => {
                f.write_str("a list inside a list; give plain values")
            }
            Syntax::EmptyItem => f.write_str(
                "an empty list item; give a value or remove the line",
            ),
            Syntax::UnclosedList => {
                f.write_str("the [...] list is not closed; add ]")
            }
            Syntax::AfterList => {
                f.write_str("text after the closing ] of the list; remove it")
            }
        }
    }
}

/// A syntax problem and its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SyntaxError {
    /// The line (1-based).
    pub(super) line: usize,
    /// What is wrong.
    pub(super) syntax: Syntax,
}

type Read<T> = Result<T, SyntaxError>;

fn fail<T>(line: usize, syntax: Syntax) -> Read<T> {
    Err(SyntaxError { line, syntax })
}

/// Whether `line` is blank or only a comment.
fn is_blank(line: &str) -> bool {
    let rest = line.trim_start();
    rest.is_empty() || rest.starts_with('#')
}

/// Reads `text` into its entries, in file order; the first syntax
/// problem otherwise.
pub(super) fn read(text: &str) -> Read<Vec<Entry<'_>>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let mut entries = Vec::new();
    let mut started = false;
    let mut ended = false;
    let mut at = 0;
    while let Some(&(number, line)) = lines.get(at) {
        at += 1;
        if is_blank(line) {
            continue;
        }
        if ended {
            return fail(number, Syntax::SecondDocument);
        }
        if let Some(rest) = line.strip_prefix("---") {
            if !is_blank(rest) || !rest.is_empty() && !rest.starts_with(' ') {
                return fail(number, Syntax::NotAKey);
            }
            if started {
                return fail(number, Syntax::SecondDocument);
            }
            started = true;
            continue;
        }
        if line == "..." {
            ended = true;
            continue;
        }
        started = true;
        if line.starts_with('\t') {
            return fail(number, Syntax::Tab);
        }
        if line.starts_with(' ') {
            return fail(number, Syntax::Indented);
        }
        if line == "-"
            || line.starts_with("- ")
            || line.starts_with('[')
            || line.starts_with('{')
        {
            return fail(number, Syntax::NotAMapping);
        }
        let Some((key, rest)) = line.split_once(':') else {
            return fail(number, Syntax::NotAKey);
        };
        let key_ok = !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !key_ok || !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            return fail(number, Syntax::NotAKey);
        }
        let rest = rest.trim_start();
        let value = if is_blank(rest) {
            block_list(&lines, &mut at)?
        } else if let Some(inner) = rest.strip_prefix('[') {
            Value::List(flow_list(&lines, &mut at, number, inner)?)
        } else {
            match block_scalar(rest, number)? {
                Some(scalar) => Value::Scalar(scalar),
                None => Value::Null,
            }
        };
        entries.push(Entry { key, line: number, value });
    }
    Ok(entries)
}

/// The `- item` lines after a bare `key:`, from `lines[*at]` on;
/// [`Value::Null`] when there are none.
fn block_list<'t>(
    lines: &[(usize, &'t str)],
    at: &mut usize,
) -> Read<Value<'t>> {
    let mut items = Vec::new();
    while let Some(&(number, line)) = lines.get(*at) {
        if is_blank(line) {
            *at += 1;
            continue;
        }
        let rest = line.trim_start_matches(' ');
        if rest.starts_with('\t') {
            return fail(number, Syntax::Tab);
        }
        let item = if rest == "-" {
            ""
        } else if let Some(item) = rest.strip_prefix("- ") {
            item.trim_start()
        } else if line.starts_with(' ') {
            return fail(number, Syntax::Indented);
        } else {
            break; // the next key
        };
        *at += 1;
        if is_blank(item) {
            return fail(number, Syntax::EmptyItem);
        }
        if item.starts_with('[') || item == "-" || item.starts_with("- ") {
            return fail(number, Syntax::NestedList);
        }
        match block_scalar(item, number)? {
            Some(scalar) => items.push(scalar),
            None => return fail(number, Syntax::EmptyItem),
        }
    }
    Ok(if items.is_empty() { Value::Null } else { Value::List(items) })
}

/// A scalar that is the rest of a line (after `key: ` or `- `); `None`
/// for a null.
fn block_scalar(rest: &str, line: usize) -> Read<Option<Scalar<'_>>> {
    if rest.starts_with(['\'', '"']) {
        let (text, after) = quoted(rest, line)?;
        if !is_blank(after) || !after.is_empty() && !after.starts_with(' ') {
            return fail(line, Syntax::AfterQuote);
        }
        return Ok(Some(Scalar { text, quoted: true, line }));
    }
    check_plain_start(rest, line)?;
    let text = match rest.find(" #").or_else(|| rest.find("\t#")) {
        Some(comment) => &rest[..comment],
        None => rest,
    }
    .trim_end();
    if text.contains(": ") || text.ends_with(':') {
        return fail(line, Syntax::Colon);
    }
    if matches!(text, "~" | "null" | "Null" | "NULL") {
        return Ok(None);
    }
    Ok(Some(Scalar { text: Cow::Borrowed(text), quoted: false, line }))
}

/// Refuses what cannot start a plain scalar.
fn check_plain_start(rest: &str, line: usize) -> Read<()> {
    let Some(first) = rest.chars().next() else { return Ok(()) };
    let unsupported = match first {
        '{' if rest.starts_with("{}") => {
            return fail(line, Syntax::Placeholder)
        }
        '{' => "flow mappings ({...}) are",
        '&' => "anchors (&) are",
        '*' => "aliases (*) are",
        '!' => "tags (!) are",
        '|' | '>' => "block scalars (| and >) are",
        '%' => "directives (%) are",
        '@' | '`' => return fail(line, Syntax::Reserved(first)),
        _ => return Ok(()),
    };
    fail(line, Syntax::Unsupported(unsupported))
}

/// A quoted scalar at the start of `rest`: its text and what follows the
/// closing quote.
fn quoted(rest: &str, line: usize) -> Read<(Cow<'_, str>, &str)> {
    let mut chars = rest.char_indices();
    let Some((_, quote)) = chars.next() else {
        return fail(line, Syntax::UnclosedQuote);
    };
    let mut text = String::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '\'' if quote == '\'' => {
                if rest[at + 1..].starts_with('\'') {
                    chars.next();
                    text.push('\'');
                } else {
                    return Ok((Cow::Owned(text), &rest[at + 1..]));
                }
            }
            '"' if quote == '"' => {
                return Ok((Cow::Owned(text), &rest[at + 1..]));
            }
            '\\' if quote == '"' => {
                let Some((_, escape)) = chars.next() else {
                    return fail(line, Syntax::UnclosedQuote);
                };
                let plain = match escape {
                    '\\' | '"' | '/' | ' ' => escape,
                    'n' => '\n',
                    't' | '\t' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    'e' => '\u{1b}',
                    'x' | 'u' | 'U' => {
                        let digits = match escape {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = chars
                            .by_ref()
                            .take(digits)
                            .map(|(_, c)| c)
                            .collect();
                        let code = u32::from_str_radix(&hex, 16).ok();
                        match code.and_then(char::from_u32) {
                            Some(c) if hex.len() == digits => c,
                            _ => return fail(line, Syntax::Escape(escape)),
                        }
                    }
                    other => return fail(line, Syntax::Escape(other)),
                };
                text.push(plain);
            }
            c => text.push(c),
        }
    }
    fail(line, Syntax::UnclosedQuote)
}

/// A flow list whose `[` was just read; `inner` is the rest of line
/// `number`, and `lines[*at]` the line after it.
fn flow_list<'t>(
    lines: &[(usize, &'t str)],
    at: &mut usize,
    number: usize,
    inner: &'t str,
) -> Read<Vec<Scalar<'t>>> {
    let mut items = Vec::new();
    let (mut line, mut rest) = (number, inner);
    // Whether an item may come (after `[` or `,`).
    let mut open = true;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('#') {
            // The list goes on on the next line.
            let Some(&(next, text)) = lines.get(*at) else {
                return fail(number, Syntax::UnclosedList);
            };
            *at += 1;
            (line, rest) = (next, text);
            continue;
        }
        if let Some(after) = rest.strip_prefix(']') {
            if !is_blank(after) || !after.is_empty() && !after.starts_with(' ')
            {
                return fail(line, Syntax::AfterList);
            }
            return Ok(items);
        }
        if let Some(after) = rest.strip_prefix(',') {
            if open {
                return fail(line, Syntax::EmptyItem);
            }
            open = true;
            rest = after;
            continue;
        }
        if !open {
            // Only a quoted item ends before `,` or `]`.
            return fail(line, Syntax::AfterQuote);
        }
        open = false;
        if rest.starts_with(['\'', '"']) {
            let (text, after) = quoted(rest, line)?;
            items.push(Scalar { text, quoted: true, line });
            rest = after;
            continue;
        }
        if rest.starts_with('[') {
            return fail(line, Syntax::NestedList);
        }
        check_plain_start(rest, line)?;
        let end = plain_end(rest, line)?;
        let text = rest[..end].trim_end();
        items.push(Scalar { text: Cow::Borrowed(text), quoted: false, line });
        rest = &rest[end..];
    }
}

/// Where a plain scalar in a flow list ends: at `,`, `]`, a comment or
/// the end of the line.
fn plain_end(rest: &str, line: usize) -> Read<usize> {
    let bytes = rest.as_bytes();
    for (at, &b) in bytes.iter().enumerate() {
        let next = bytes.get(at + 1).copied();
        let space_before = at > 0 && bytes.get(at - 1) == Some(&b' ');
        match b {
            b',' | b']' => return Ok(at),
            b'#' if space_before => return Ok(at),
            b'[' | b'{' | b'}' => {
                return fail(line, Syntax::FlowIndicator(char::from(b)))
            }
            b':' if matches!(next, None | Some(b' ' | b',' | b']')) => {
                return fail(line, Syntax::Colon)
            }
            _ => {}
        }
    }
    Ok(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str, quoted: bool, line: usize) -> Scalar<'_> {
        Scalar { text: Cow::Borrowed(text), quoted, line }
    }

    fn error(text: &str) -> (usize, String) {
        let e = read(text).expect_err(text);
        (e.line, e.syntax.to_string())
    }

    #[test]
    fn reads_the_forms_definitions_use() {
        let text = "# c\n---\nprotocol: command # c\ncommand:\n  - /bin/x\n\
                    \x20 - '{}'\n\n  # c\nclean: [0, 1,\n  2]\n\
                    virus: '^''(.+)'' #found'\nv: \"a\\tb\\u00e4\"\n\
                    e: []\nn:\nt: ~\n";
        let entries = read(text).expect("reads");
        let values: Vec<(&str, usize, Value<'_>)> =
            entries.into_iter().map(|e| (e.key, e.line, e.value)).collect();
        assert_eq!(
            values,
            [
                ("protocol", 3, Value::Scalar(scalar("command", false, 3))),
                (
                    "command",
                    4,
                    Value::List(vec![
                        scalar("/bin/x", false, 5),
                        scalar("{}", true, 6)
                    ])
                ),
                (
                    "clean",
                    9,
                    Value::List(vec![
                        scalar("0", false, 9),
                        scalar("1", false, 9),
                        scalar("2", false, 10)
                    ])
                ),
                (
                    "virus",
                    11,
                    Value::Scalar(scalar("^'(.+)' #found", true, 11))
                ),
                ("v", 12, Value::Scalar(scalar("a\tb\u{e4}", true, 12))),
                ("e", 13, Value::List(vec![])),
                ("n", 14, Value::Null),
                ("t", 15, Value::Null),
            ]
        );
    }

    #[test]
    fn refuses_what_it_does_not_read_at_the_line() {
        let cases: [(&str, usize, &str); 12] = [
            ("protocol: clamd\n  endpoints: x\n", 2, "unexpected indentation"),
            ("- protocol: clamd\n", 1, "expected a mapping"),
            ("a: 1\n---\na: 2\n", 2, "a second YAML document"),
            ("protocol clamd\n", 1, "expected KEY: VALUE"),
            ("a: [tcp:[::1]:3310]\n", 1, "holds '['"),
            ("a:\n  - {}\n", 2, "quote the placeholder"),
            ("a: &x 1\n", 1, "anchors (&) are not supported"),
            ("a: |\n  x\n", 1, "block scalars"),
            ("a: 'x\n", 1, "does not end on its line"),
            ("a: \"\\d\"\n", 1, "unknown escape \\d"),
            ("a: [1, 2\n", 1, "not closed"),
            ("a: b: c\n", 1, "must be quoted"),
        ];
        for (text, line, needle) in cases {
            let (got_line, message) = error(text);
            assert_eq!(got_line, line, "{text:?}: {message}");
            assert!(message.contains(needle), "{text:?}: {message}");
        }
    }
}
