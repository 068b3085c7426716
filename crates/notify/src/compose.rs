/*!
Rendering a template with the facts of a message, and building the
RFC 5322 / MIME notification around it.

A template file is a `Subject:` line, an empty line and the body (after
optional leading Handlebars comments). The Subject line and the body are
rendered separately, so that whatever the facts hold (CR, LF, a whole
header block) they cannot move the boundary between header and body:
the rendered Subject always goes through [`crate::headers`], the body
only ever lands below the empty line.

Every string of the facts is made one line (control characters become
spaces) before rendering, so that the message's text cannot lay out
lines of its own in the body either. Rendering is bounded: the facts are
cut to [`MAX_TEXT`] bytes a string and [`MAX_LIST`] entries a list,
inline partials are refused (no recursion), and the rendered text may
not pass [`MAX_RENDERED`] bytes.
*/

use std::io;

use handlebars::{
    no_escape, Context, Decorator, Handlebars, RenderContext, RenderError,
    RenderErrorReason, Template,
};

use crate::error::{ComposeError, TemplateError};
use crate::headers::is_breaking;
use crate::outgoing::MAX_LINE;
use crate::{AutoSubmitted, Facts, Finding, Outgoing};

/// Most bytes a rendered Subject line or body may have.
pub(crate) const MAX_RENDERED: usize = 1 << 20;

/// Most bytes of one string of the facts that a template sees.
pub(crate) const MAX_TEXT: usize = 16 << 10;

/// Most findings and most virus names that a template sees.
pub(crate) const MAX_LIST: usize = 1000;

/// A template split into its Subject line and its body, with the line
/// numbers at which each starts in the file (for error messages).
struct Parts<'t> {
    subject: &'t str,
    subject_line: usize,
    body: &'t str,
    body_line: usize,
}

/// Builds the notification; see [`crate::compose()`].
pub(crate) fn compose(
    template: &str,
    facts: &Facts,
    from: &str,
    to: &str,
) -> Result<Vec<u8>, ComposeError> {
    let outgoing = Outgoing::new(from, to, AutoSubmitted::Replied)?;
    let (subject, body) = render(template, facts)?;
    Ok(outgoing.host(&facts.host).subject(&subject).build(&clean_body(&body)))
}

/// Checks a template: its layout, its syntax, and that it renders with
/// facts in which every field is set (so that an unknown variable shows
/// up, unless it hides in a branch that such facts do not take).
pub(crate) fn check(template: &str) -> Result<(), TemplateError> {
    let finding = Finding {
        condition: "badfilename".into(),
        pattern: "*.exe".into(),
        filename: "invoice.exe".into(),
        part: "1.2".into(),
        virus: "Eicar-Signature".into(),
        scanner: "clamd".into(),
        detail: "detail".into(),
    };
    let facts = Facts {
        sender: "sender@example.org".into(),
        recipient: "joe@example.com".into(),
        subject: "Subject".into(),
        from: "Sender <sender@example.org>".into(),
        message_id: "<1@example.org>".into(),
        date: "Mon, 1 Jan 2024 12:00:00 +0000".into(),
        size: 1234,
        result: "badfilename+virusmail".into(),
        condition: "badfilename".into(),
        action: "block".into(),
        findings: vec![finding],
        viruses: vec!["Eicar-Signature".into()],
        host: "example.com".into(),
        guard: "postmaster@example.com".into(),
        now: "Mon, 1 Jan 2024 12:00:01 +0000".into(),
    };
    // Both sides of the usual branches: {{#if viruses}} with and without,
    // {{#if (eq action "keep")}} for both actions. An error in a branch
    // no delivery takes is still an error an administrator wants to see.
    let empty = Facts::default();
    for base in [&facts, &empty] {
        for action in ["block", "keep"] {
            let facts = Facts { action: action.into(), ..base.clone() };
            render(template, &facts)?;
        }
    }
    Ok(())
}

/// The rendered Subject (without `Subject:`) and body of `template`.
fn render(
    template: &str,
    facts: &Facts,
) -> Result<(String, String), TemplateError> {
    let parts = split(template)?;
    let facts = bounded(facts);
    let registry = registry();
    // "Subject:" is 8 characters before the rendered text's column 1.
    let subject = render_part(
        &registry,
        parts.subject,
        &facts,
        parts.subject_line,
        "Subject:".len(),
    )?;
    let body = render_part(&registry, parts.body, &facts, parts.body_line, 0)?;
    Ok((subject, body))
}

/// A registry for text: strict (an unknown variable is an error), no
/// escaping (the body is text/plain), no inline partials (no recursion).
fn registry() -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(no_escape);
    registry.register_decorator("inline", Box::new(no_inline));
    registry
}

/// The `inline` decorator, refused: inline partials could include each
/// other without end.
fn no_inline(
    _: &Decorator<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
) -> Result<(), RenderError> {
    Err(RenderErrorReason::Other("inline partials are not supported".into())
        .into())
}

/// Renders one part; errors say `line L, column C: what`, counted in the
/// template file (`first_line` is where the part starts, `column_shift`
/// what precedes it on that line).
fn render_part(
    registry: &Handlebars<'_>,
    source: &str,
    facts: &BoundedFacts,
    first_line: usize,
    column_shift: usize,
) -> Result<String, TemplateError> {
    let at = |place: Option<(usize, usize)>, reason: String| match place {
        Some((line, column)) => TemplateError {
            line: Some((first_line + line).saturating_sub(1)),
            column: Some(if line == 1 {
                column + column_shift
            } else {
                column
            }),
            reason,
        },
        None => TemplateError::whole(reason),
    };
    if let Err(e) = Template::compile(source) {
        return Err(at(e.pos(), e.reason().to_string()));
    }
    let mut out = Capped { buf: Vec::new() };
    match registry.render_template_to_write(source, facts, &mut out) {
        Ok(()) => Ok(String::from_utf8_lossy(&out.buf).into_owned()),
        Err(e) => {
            let place = match (e.line_no, e.column_no) {
                (Some(l), Some(c)) => Some((l, c)),
                _ => None,
            };
            Err(at(place, describe(e.reason())))
        }
    }
}

/// A short description of a render error.
fn describe(reason: &RenderErrorReason) -> String {
    match reason {
        RenderErrorReason::MissingVariable(Some(name)) => {
            format!("unknown variable \"{name}\"")
        }
        RenderErrorReason::MissingVariable(None) => "unknown variable".into(),
        RenderErrorReason::IOError(e) => e.to_string(),
        RenderErrorReason::TemplateError(e) => e.reason().to_string(),
        other => other.to_string(),
    }
}

/// A writer that refuses to grow past [`MAX_RENDERED`] bytes.
struct Capped {
    buf: Vec<u8>,
}

impl io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > MAX_RENDERED {
            return Err(io::Error::other(format!(
                "the rendered text is longer than {MAX_RENDERED} bytes"
            )));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Splits `template` into the Subject line and the body.
fn split(template: &str) -> Result<Parts<'_>, TemplateError> {
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

/// The facts as a template sees them: every string one line of at most
/// [`MAX_TEXT`] bytes, every list at most [`MAX_LIST`] entries. So the
/// text of the message cannot lay out lines of its own in the body
/// either (a forged "Subject" line, a fake instruction).
#[derive(serde::Serialize)]
struct BoundedFacts {
    sender: String,
    recipient: String,
    subject: String,
    from: String,
    message_id: String,
    date: String,
    size: usize,
    result: String,
    condition: String,
    action: String,
    findings: Vec<Finding>,
    viruses: Vec<String>,
    host: String,
    guard: String,
    now: String,
}

fn bounded(facts: &Facts) -> BoundedFacts {
    let finding = |f: &Finding| Finding {
        condition: cut(&f.condition),
        pattern: cut(&f.pattern),
        filename: cut(&f.filename),
        part: cut(&f.part),
        virus: cut(&f.virus),
        scanner: cut(&f.scanner),
        detail: cut(&f.detail),
    };
    BoundedFacts {
        sender: cut(&facts.sender),
        recipient: cut(&facts.recipient),
        subject: cut(&facts.subject),
        from: cut(&facts.from),
        message_id: cut(&facts.message_id),
        date: cut(&facts.date),
        size: facts.size,
        result: cut(&facts.result),
        condition: cut(&facts.condition),
        action: cut(&facts.action),
        findings: facts.findings.iter().take(MAX_LIST).map(finding).collect(),
        viruses: facts.viruses.iter().take(MAX_LIST).map(|v| cut(v)).collect(),
        host: cut(&facts.host),
        guard: cut(&facts.guard),
        now: cut(&facts.now),
    }
}

/// `s` as one line (every control character, U+2028 and U+2029 a
/// space), cut to at most [`MAX_TEXT`] bytes at a character boundary.
fn cut(s: &str) -> String {
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end)
        .unwrap_or_default()
        .chars()
        .map(|c| if is_breaking(c) { ' ' } else { c })
        .collect()
}

/// The rendered body as a text/plain body: LF line ends (CR LF and a lone
/// CR become LF), other control characters but TAB replaced by U+FFFD,
/// no line over [`MAX_LINE`] bytes, a final LF.
fn clean_body(body: &str) -> String {
    let mut text = String::with_capacity(body.len() + 1);
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                text.push('\n');
            }
            '\n' | '\t' => text.push(c),
            c if c.is_control() => text.push('\u{fffd}'),
            c => text.push(c),
        }
    }
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.split_inclusive('\n') {
        let (mut line, end) = match line.strip_suffix('\n') {
            Some(l) => (l, true),
            None => (line, false),
        };
        while line.len() > MAX_LINE {
            let (head, tail) = wrap_at(line);
            out.push_str(head);
            out.push('\n');
            line = tail;
        }
        out.push_str(line);
        if end {
            out.push('\n');
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Splits a line longer than [`MAX_LINE`] bytes: after the last space
/// within the limit, else at the last character boundary within it.
fn wrap_at(line: &str) -> (&str, &str) {
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let head = line.get(..end).unwrap_or_default();
    let split = match head.rfind(' ') {
        Some(space) if space > 0 => space + 1,
        _ => end,
    };
    (
        line.get(..split).unwrap_or_default(),
        line.get(split..).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests;
