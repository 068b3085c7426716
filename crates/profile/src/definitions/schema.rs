/*!
The keys of an engine definition and the type of each value: the entries
read by [`super::yaml`] become a [`RawDefinition`], in which every key is
optional and has its type, and which remembers the line of each key and
list item. An unknown key, a key given twice and a value of the wrong type
are problems at their line; what the values mean is checked in
[`super::check`].
*/

use super::yaml::{Entry, Scalar, Value};
use crate::lines::Sink;

/// The type of a key's value.
#[derive(Clone, Copy)]
enum Kind {
    /// One word or text.
    Text,
    /// A list of texts.
    Texts,
    /// A whole number, at least 0.
    Number,
    /// A list of whole numbers.
    Numbers,
}

/// Every key and its type, in the order of qmvc-scanners(5).
const SCHEMA: [(&str, Kind); 16] = [
    ("protocol", Kind::Text),
    ("endpoints", Kind::Texts),
    ("connect_timeout", Kind::Number),
    ("fildes", Kind::Text),
    ("command", Kind::Texts),
    ("target", Kind::Text),
    ("clean", Kind::Numbers),
    ("infected", Kind::Numbers),
    ("virus", Kind::Text),
    ("timeout", Kind::Number),
    ("on_error", Kind::Text),
    ("on_unscanned", Kind::Text),
    ("unscanned", Kind::Texts),
    ("version", Kind::Texts),
    ("max_size", Kind::Number),
    ("user", Kind::Text),
];

/// Every key, for messages.
fn key_words() -> String {
    let keys: Vec<&str> = SCHEMA.iter().map(|(key, _)| *key).collect();
    keys.join(", ")
}

/// A list item and its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Item<T> {
    /// The value.
    pub(super) value: T,
    /// Its line.
    pub(super) line: usize,
}

/// A typed value.
enum Typed {
    Text(String),
    Texts(Vec<Item<String>>),
    Number(u64),
    Numbers(Vec<i64>),
}

/// A definition as written: every key optional, each with its type.
#[derive(Debug, Default)]
pub(super) struct RawDefinition {
    pub(super) protocol: Option<String>,
    pub(super) endpoints: Option<Vec<Item<String>>>,
    pub(super) connect_timeout: Option<u64>,
    pub(super) fildes: Option<String>,
    pub(super) command: Option<Vec<Item<String>>>,
    pub(super) target: Option<String>,
    pub(super) clean: Option<Vec<i64>>,
    pub(super) infected: Option<Vec<i64>>,
    pub(super) virus: Option<String>,
    pub(super) timeout: Option<u64>,
    pub(super) on_error: Option<String>,
    pub(super) on_unscanned: Option<String>,
    pub(super) unscanned: Option<Vec<Item<String>>>,
    pub(super) version: Option<Vec<Item<String>>>,
    pub(super) max_size: Option<u64>,
    pub(super) user: Option<String>,
    /// The line of each key that has a value.
    lines: Vec<(&'static str, usize)>,
}

impl RawDefinition {
    /// The line of each key that has a value.
    pub(super) fn key_lines(&self) -> Vec<(&'static str, usize)> {
        self.lines.clone()
    }

    /// Whether `key` has a value.
    pub(super) fn has(&self, key: &str) -> bool {
        self.lines.iter().any(|(k, _)| *k == key)
    }

    /// Sets `key` to `value` (of the type [`SCHEMA`] gives it).
    fn set(&mut self, key: &'static str, line: usize, value: Typed) {
        self.lines.push((key, line));
        match (key, value) {
            ("protocol", Typed::Text(v)) => self.protocol = Some(v),
            ("endpoints", Typed::Texts(v)) => self.endpoints = Some(v),
            ("connect_timeout", Typed::Number(v)) => {
                self.connect_timeout = Some(v);
            }
            ("fildes", Typed::Text(v)) => self.fildes = Some(v),
            ("command", Typed::Texts(v)) => self.command = Some(v),
            ("target", Typed::Text(v)) => self.target = Some(v),
            ("clean", Typed::Numbers(v)) => self.clean = Some(v),
            ("infected", Typed::Numbers(v)) => self.infected = Some(v),
            ("virus", Typed::Text(v)) => self.virus = Some(v),
            ("timeout", Typed::Number(v)) => self.timeout = Some(v),
            ("on_error", Typed::Text(v)) => self.on_error = Some(v),
            ("on_unscanned", Typed::Text(v)) => self.on_unscanned = Some(v),
            ("unscanned", Typed::Texts(v)) => self.unscanned = Some(v),
            ("version", Typed::Texts(v)) => self.version = Some(v),
            ("max_size", Typed::Number(v)) => self.max_size = Some(v),
            ("user", Typed::Text(v)) => self.user = Some(v),
            // SCHEMA and this match list the same keys and types.
            _ => {}
        }
    }
}

/// Types the entries; `None` when one has a problem (reported).
pub(super) fn typed(
    entries: Vec<Entry<'_>>,
    sink: &mut Sink<'_>,
) -> Option<RawDefinition> {
    let mut raw = RawDefinition::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut ok = true;
    for entry in entries {
        let Some(&(key, kind)) = SCHEMA.iter().find(|(k, _)| *k == entry.key)
        else {
            sink.report(
                entry.line,
                format!(
                    "unknown key \"{}\" (expected {})",
                    entry.key,
                    key_words()
                ),
            );
            ok = false;
            continue;
        };
        if seen.contains(&key) {
            sink.report(entry.line, format!("{key} is given twice; keep one"));
            ok = false;
            continue;
        }
        seen.push(key);
        match convert(key, kind, entry.value) {
            Ok(Some(value)) => raw.set(key, entry.line, value),
            Ok(None) => {}
            Err((line, message)) => {
                let line = if line == 0 { entry.line } else { line };
                sink.report(line, message);
                ok = false;
            }
        }
    }
    ok.then_some(raw)
}

/// What a kind of value looks like, for messages about `key`.
fn expected(key: &str, kind: Kind) -> String {
    match kind {
        Kind::Text => "one value".to_owned(),
        Kind::Texts => {
            format!("a list, e.g. {key}: [a, b], or one - item a line")
        }
        Kind::Number => "a whole number".to_owned(),
        Kind::Numbers => {
            format!("a list of whole numbers, e.g. {key}: [0]")
        }
    }
}

/// `value` as `kind`; `None` for a null. An error has a line (0: the
/// key's) and a message.
fn convert(
    key: &str,
    kind: Kind,
    value: Value<'_>,
) -> Result<Option<Typed>, (usize, String)> {
    let bad = |scalar: &Scalar<'_>| {
        (
            scalar.line,
            format!(
                "bad value \"{}\" for {key} (expected {})",
                scalar.text,
                expected(key, kind)
            ),
        )
    };
    let typed = match (kind, value) {
        (_, Value::Null) => return Ok(None),
        (Kind::Text, Value::Scalar(s)) => Typed::Text(s.text.into_owned()),
        (Kind::Number, Value::Scalar(s)) => {
            Typed::Number(number(&s).ok_or_else(|| bad(&s))?)
        }
        (Kind::Texts, Value::List(items)) => Typed::Texts(
            items
                .into_iter()
                .map(|s| Item { line: s.line, value: s.text.into_owned() })
                .collect(),
        ),
        (Kind::Numbers, Value::List(items)) => {
            let mut numbers = Vec::new();
            for item in &items {
                let Some(n) = number(item) else {
                    return Err((
                        item.line,
                        format!(
                            "bad value \"{}\" in {key} (expected a whole \
                             number)",
                            item.text
                        ),
                    ));
                };
                numbers.push(n);
            }
            Typed::Numbers(numbers)
        }
        (Kind::Texts | Kind::Numbers, Value::Scalar(s)) => {
            return Err(bad(&s))
        }
        (Kind::Text | Kind::Number, Value::List(_)) => {
            return Err((
                0,
                format!(
                    "{key} takes one value, not a list (expected {})",
                    expected(key, kind)
                ),
            ))
        }
    };
    Ok(Some(typed))
}

/// An unquoted whole number: `-`, `+` or none, then digits.
fn number<N: std::str::FromStr>(scalar: &Scalar<'_>) -> Option<N> {
    let text = scalar.text.as_ref();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if scalar.quoted
        || digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.strip_prefix('+').unwrap_or(text).parse().ok()
}
