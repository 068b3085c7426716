/*!
The common syntax of every control file, and the problem collector.

A control file is UTF-8 text, one entry a line. A line with `#` in column 1
is a comment, blank lines are ignored, and surrounding white space is
trimmed. [`entries`] yields what is left as `(line number, entry)`, so a
parser never sees a comment or an empty entry. [`Sink`] turns a line number
and a message into a [`Problem`] for the file being parsed.
*/

use crate::{Origin, Problem};

/// The entries of `text`: `(1-based line number, trimmed line)` for every
/// line that is neither blank nor a comment. A leading byte-order mark is
/// ignored; CR LF line ends are accepted.
pub(crate) fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().enumerate().filter_map(|(index, raw)| {
        if raw.starts_with('#') {
            return None;
        }
        let entry = raw.trim();
        (!entry.is_empty()).then_some((index + 1, entry))
    })
}

/// Collects the problems of one control file.
pub(crate) struct Sink<'a> {
    file: &'a str,
    problems: &'a mut Vec<Problem>,
    lint: bool,
}

impl<'a> Sink<'a> {
    /// A collector for `file` appending to `problems`; `lint` is true for
    /// [`crate::Scope::All`], which also reports what only lint cares
    /// about.
    pub(crate) fn new(
        file: &'a str,
        problems: &'a mut Vec<Problem>,
        lint: bool,
    ) -> Sink<'a> {
        Sink { file, problems, lint }
    }

    /// Where line `line` of this file is.
    pub(crate) fn origin(&self, line: usize) -> Origin {
        Origin { file: self.file.to_owned(), line }
    }

    /// Records a problem at line `line`.
    pub(crate) fn report(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            origin: self.origin(line),
            message: message.into(),
        });
    }

    /// Notes that setting `name` is made on line `line`; when linting,
    /// reports a setting made again (`seen` holds the first line of each).
    pub(crate) fn setting<'n>(
        &mut self,
        seen: &mut Vec<(&'n str, usize)>,
        name: &'n str,
        line: usize,
    ) {
        if let Some(&(_, first)) = seen.iter().find(|(n, _)| *n == name) {
            self.lint_report(
                line,
                format!(
                    "{name} is set again (also on line {first}); the last \
                     line wins: keep one"
                ),
            );
        } else {
            seen.push((name, line));
        }
    }

    /// Records a problem at line `line` when linting only.
    pub(crate) fn lint_report(
        &mut self,
        line: usize,
        message: impl Into<String>,
    ) {
        if self.lint {
            self.report(line, message);
        }
    }
}

/// The only entry of `text`, reporting any further one.
pub(crate) fn single<'t>(
    text: &'t str,
    sink: &mut Sink<'_>,
) -> Option<(usize, &'t str)> {
    let mut found = entries(text);
    let first = found.next();
    if let Some((line, _)) = found.next() {
        sink.report(line, "only one line is read; remove the others");
    }
    first
}

/// The program named by the control file `name` (`injector`,
/// `qmailqueue`): its only entry, an absolute path without blanks, with
/// its line; else a problem reported, `example` showing what to write.
pub(crate) fn program<'t>(
    text: &'t str,
    sink: &mut Sink<'_>,
    name: &str,
    example: &str,
) -> Option<(usize, &'t str)> {
    let Some((line, value)) = single(text, sink) else {
        let what = if name == "injector" { "injector" } else { "program" };
        sink.report(
            0,
            format!(
                "no {what} given (expected an absolute path, e.g. {example})"
            ),
        );
        return None;
    };
    if !value.starts_with('/') || value.chars().any(char::is_whitespace) {
        sink.report(
            line,
            format!("{name} \"{value}\" is not an absolute path without blanks (e.g. {example})"),
        );
        return None;
    }
    Some((line, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_comments_and_blank_lines_and_trims() {
        let text = "\u{feff}# comment\n\n  a  \r\n #not a comment\n\t\nb";
        let got: Vec<_> = entries(text).collect();
        assert_eq!(got, vec![(3, "a"), (4, "#not a comment"), (6, "b")]);
    }

    #[test]
    fn empty_text_has_no_entries() {
        assert_eq!(entries("").count(), 0);
        assert_eq!(entries("#x\n#y\n").count(), 0);
    }
}
