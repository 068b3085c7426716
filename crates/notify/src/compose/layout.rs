/*!
The layout of a template file: optional leading blank lines and
Handlebars comments, a `Subject:` line, an empty line, the body; the
line numbers at which the Subject and the body start, for errors.
*/

use crate::error::TemplateError;

/// A template split into its Subject line and its body, with the line
/// numbers at which each starts in the file (for error messages).
pub(super) struct Parts<'t> {
    pub(super) subject: &'t str,
    pub(super) subject_line: usize,
    pub(super) body: &'t str,
    pub(super) body_line: usize,
}

/// Splits `template` into the Subject line and the body.
pub(super) fn split(template: &str) -> Result<Parts<'_>, TemplateError> {
    let text = template.strip_prefix('\u{feff}').unwrap_or(template);
    let mut rest = text;
    let mut line_no = 1;
    // Leading blank lines and Handlebars comments.
    let subject = loop {
        let Some((line, after)) = next_line(rest) else {
            return Err(TemplateError::whole(
                "the template is empty: it must start with a \"Subject:\" \
                 line",
            ));
        };
        let trimmed = line.trim();
        if trimmed.is_empty() || one_line_comment(trimmed) {
            rest = after;
            line_no += 1;
        } else if trimmed.starts_with("{{!--") {
            // A comment over several lines ends with "--}}" at the end of
            // a line.
            let mut found = None;
            let mut scan = rest;
            let mut scanned = 0;
            while let Some((l, a)) = next_line(scan) {
                scanned += 1;
                if l.trim_end().ends_with("--}}") {
                    found = Some(a);
                    break;
                }
                scan = a;
            }
            let Some(after_comment) = found else {
                return Err(TemplateError::at_line(
                    line_no,
                    "the comment \"{{!--\" is not closed by \"--}}\" at \
                     the end of a line",
                ));
            };
            rest = after_comment;
            line_no += scanned;
        } else {
            let start = line.trim_start();
            let Some(value) = strip_prefix_ignore_case(start, "subject:")
            else {
                return Err(TemplateError::at_line(
                    line_no,
                    "the template must start with a \"Subject:\" line",
                ));
            };
            rest = after;
            break value;
        };
    };
    let subject_line = line_no;
    match next_line(rest) {
        None => Err(TemplateError::at_line(
            subject_line + 1,
            "an empty line and the body must follow the Subject line",
        )),
        Some((line, _)) if !line.trim().is_empty() => {
            Err(TemplateError::at_line(
                subject_line + 1,
                "the Subject line must be followed by an empty line",
            ))
        }
        Some((_, body)) => Ok(Parts {
            subject: subject.trim_end_matches(['\r', '\n']),
            subject_line,
            body,
            body_line: subject_line + 2,
        }),
    }
}

/// The first line of `text` (without its line end) and the text after
/// it; `None` when `text` is empty.
fn next_line(text: &str) -> Option<(&str, &str)> {
    if text.is_empty() {
        return None;
    }
    Some(match text.split_once('\n') {
        Some((line, rest)) => (line.strip_suffix('\r').unwrap_or(line), rest),
        None => (text, ""),
    })
}

/// Whether `line` (trimmed) is exactly one Handlebars comment.
fn one_line_comment(line: &str) -> bool {
    if let Some(inner) =
        line.strip_prefix("{{!--").and_then(|l| l.strip_suffix("--}}"))
    {
        return !inner.contains("--}}");
    }
    if line.starts_with("{{!--") {
        return false;
    }
    line.strip_prefix("{{!")
        .and_then(|l| l.strip_suffix("}}"))
        .is_some_and(|inner| !inner.contains("}}"))
}

/// `line` without `prefix` (ASCII case-insensitive), if it starts so.
fn strip_prefix_ignore_case<'l>(
    line: &'l str,
    prefix: &str,
) -> Option<&'l str> {
    let head = line.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        line.get(prefix.len()..)
    } else {
        None
    }
}
