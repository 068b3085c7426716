/*!
Rendering a template with the facts of a message, and building the
RFC 5322 / MIME notification around it.

A template file is a `Subject:` line, an empty line and the body (after
optional leading Handlebars comments). The Subject line and the body are
rendered separately, so that whatever the facts hold (CR, LF, a whole
header block) they cannot move the boundary between header and body:
the rendered Subject always goes through [`crate::Outgoing`], the body
only ever lands below the empty line.

Every string of the facts is made one line (control characters become
spaces) before rendering, so that the message's text cannot lay out
lines of its own in the body either. Rendering is bounded: the facts
are cut to [`facts::MAX_TEXT`] bytes a string and [`facts::MAX_LIST`]
entries a list, inline partials are refused (no recursion), and a
rendered text that would pass [`MAX_PART`] bytes is cut there, the body
with a line saying so: the notification is sent, under [`MAX_RENDERED`]
bytes whole, never deferred for what the message holds.

The template file's layout is `layout`'s, the facts as a template sees
them `facts`', the rendered body made text/plain `body`'s; this file
renders and hands the result to [`crate::Outgoing`].
*/

use std::io;

use handlebars::{
    no_escape, Context, Decorator, Handlebars, RenderContext, RenderError,
    RenderErrorReason, Template,
};

use crate::error::{ComposeError, TemplateError};
use crate::{AutoSubmitted, Facts, MatchView, Outgoing};

mod body;
mod facts;
mod layout;

use body::clean_body;
use facts::{bounded, BoundedFacts};
#[cfg(test)]
use facts::{MAX_FIELD, MAX_LIST, MAX_TEXT};
use layout::split;

/// Most bytes of a whole notification.
pub(crate) const MAX_RENDERED: usize = 1 << 20;

/// Most bytes a rendered Subject line or body keeps; the rest is cut.
/// The room left to [`MAX_RENDERED`] holds the header, the note of the
/// cut and the line breaks that wrapping at 998 bytes adds (one in 998).
pub(crate) const MAX_PART: usize = MAX_RENDERED - (64 << 10);

/// The last line of a body cut at [`MAX_PART`].
const CUT_NOTE: &str = "\n[qmvc: this notice was cut here: the template \
                        rendered more than 983040 bytes]\n";

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
    let set = |s: &str| Some(s.to_string());
    let found = qmvc_log::Match {
        pattern: set("*.exe"),
        origin: set("control/filters:1"),
        part: set("1.2"),
        filename: set("invoice.exe"),
        detected_type: set("application/x-dosexec"),
        loader_type: set("exe"),
        scanner: set("clamd"),
        sent: set("FILDES"),
        virus: set("Eicar-Signature"),
        detail: set("detail"),
    };
    let finding = MatchView::new("badfilename", &found);
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
        findings_left_out: 1,
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
    let (subject, _) = render_part(
        &registry,
        parts.subject,
        &facts,
        parts.subject_line,
        "Subject:".len(),
    )?;
    // A Subject cut at MAX_PART is cut again to 200 characters by
    // Outgoing: no note there.
    let (mut body, cut) =
        render_part(&registry, parts.body, &facts, parts.body_line, 0)?;
    if cut {
        body.push_str(CUT_NOTE);
    }
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

/// Renders one part, and whether it was cut at [`MAX_PART`] (after its
/// last whole line); errors say `line L, column C: what`, counted in the
/// template file (`first_line` is where the part starts, `column_shift`
/// what precedes it on that line).
fn render_part(
    registry: &Handlebars<'_>,
    source: &str,
    facts: &BoundedFacts,
    first_line: usize,
    column_shift: usize,
) -> Result<(String, bool), TemplateError> {
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
    let mut out = Capped { buf: Vec::new(), cut: false };
    match registry.render_template_to_write(source, facts, &mut out) {
        Ok(()) => Ok((String::from_utf8_lossy(&out.buf).into_owned(), false)),
        // The writer stopped the rendering at the cap: what it holds is
        // sent, not refused (an administrator's template that shows a
        // list three times must not make a poison message).
        Err(_) if out.cut => Ok((out.whole_lines(), true)),
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

/// A writer that keeps at most [`MAX_PART`] bytes and then stops the
/// rendering (an error that [`render_part`] recognises by `cut`).
struct Capped {
    buf: Vec<u8>,
    cut: bool,
}

impl Capped {
    /// What was kept, up to its last line end (or its last whole
    /// character when it has no line end).
    fn whole_lines(&self) -> String {
        let valid = match std::str::from_utf8(&self.buf) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(
                self.buf.get(..e.valid_up_to()).unwrap_or_default(),
            )
            .unwrap_or_default(),
        };
        match valid.rfind('\n') {
            Some(end) => valid.get(..=end).unwrap_or(valid).to_string(),
            None => valid.to_string(),
        }
    }
}

impl io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = MAX_PART.saturating_sub(self.buf.len());
        if self.cut || data.len() > room {
            self.buf.extend_from_slice(data.get(..room).unwrap_or_default());
            self.cut = true;
            return Err(io::Error::other(format!(
                "the rendered text is longer than {MAX_PART} bytes"
            )));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
