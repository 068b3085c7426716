/*!
Which parts are forwarded: the text bodies of the message in order, one
alternative of each multipart/alternative, attachments left out.
*/

use qmvc_message::{Message, Part, PartKind};

/// Most bytes decoded from one part.
const MAX_PART: usize = 32 << 20;

/// One piece of the forwarded text, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// A text/plain part, decoded to UTF-8.
    Plain(String),
    /// A text/html part, decoded to UTF-8, still to be rendered.
    Html(String),
    /// A line of plainmail's own (where an attached message starts).
    Note(String),
}

impl Piece {
    fn is_text(&self) -> bool {
        match self {
            Piece::Plain(t) | Piece::Html(t) => !t.trim().is_empty(),
            Piece::Note(_) => false,
        }
    }
}

/// The pieces of `message` to forward, in the order of its parts.
pub fn pieces(message: &Message<'_>) -> Vec<Piece> {
    let children = children(&message.parts);
    let mut out = Vec::new();
    if !message.parts.is_empty() {
        visit(&message.parts, &children, 0, &mut out);
    }
    out
}

/// For each part, the indexes of its children, from the depth-first list.
fn children(parts: &[Part<'_>]) -> Vec<Vec<usize>> {
    let mut children = vec![Vec::new(); parts.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        while open
            .last()
            .and_then(|&o| parts.get(o))
            .is_some_and(|o| o.depth >= part.depth)
        {
            open.pop();
        }
        if let Some(list) = open.last().and_then(|&o| children.get_mut(o)) {
            list.push(i);
        }
        open.push(i);
    }
    children
}

/// An attached file rather than a body: `Content-Disposition:
/// attachment`, or a file name without `Content-Disposition: inline`.
fn attached(part: &Part<'_>) -> bool {
    match part.disposition.as_deref() {
        Some("attachment") => true,
        Some("inline") => false,
        _ => part.filename.is_some(),
    }
}

/// Collects the pieces of part `i` and below. Recursion is bounded by the
/// MIME depth limit of the parse.
fn visit(
    parts: &[Part<'_>],
    children: &[Vec<usize>],
    i: usize,
    out: &mut Vec<Piece>,
) {
    let Some(part) = parts.get(i) else { return };
    if attached(part) {
        return;
    }
    let kids = children.get(i).map(Vec::as_slice).unwrap_or_default();
    match part.kind {
        PartKind::Leaf => match (part.mime_type.as_str(), part.text(MAX_PART))
        {
            ("text/plain", Some(text)) => out.push(Piece::Plain(text)),
            ("text/html", Some(text)) => out.push(Piece::Html(text)),
            _ => {}
        },
        PartKind::Multipart if part.mime_type == "multipart/alternative" => {
            out.extend(alternative(parts, children, kids));
        }
        PartKind::Multipart => {
            for &kid in kids {
                visit(parts, children, kid, out);
            }
        }
        PartKind::Message => {
            let inner = kids.first().and_then(|&k| parts.get(k));
            let field = |name: &str| {
                inner.and_then(|p| p.header.value(name)).unwrap_or_default()
            };
            out.push(Piece::Note(format!(
                "----- attached message -----\nFrom: {}\nSubject: {}",
                field("from"),
                field("subject")
            )));
            for &kid in kids {
                visit(parts, children, kid, out);
            }
        }
    }
}

/// One alternative: the first whose text is all plain and not blank,
/// else the last that has any text (the richest, by RFC 2046 order).
fn alternative(
    parts: &[Part<'_>],
    children: &[Vec<usize>],
    kids: &[usize],
) -> Vec<Piece> {
    let mut fallback = Vec::new();
    for &kid in kids {
        let mut pieces = Vec::new();
        visit(parts, children, kid, &mut pieces);
        if !pieces.iter().any(Piece::is_text) {
            continue;
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Html(_))) {
            return pieces;
        }
        fallback = pieces;
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;
    use qmvc_message::Limits;

    fn collect(raw: &str) -> Vec<Piece> {
        pieces(&Message::parse(raw.as_bytes(), &Limits::default()))
    }

    fn multipart(subtype: &str, parts: &[&str]) -> String {
        let mut out = format!(
            "Content-Type: multipart/{subtype}; boundary=\"b{subtype}\"\n\n"
        );
        for part in parts {
            out.push_str(&format!("--b{subtype}\n{part}\n"));
        }
        out.push_str(&format!("--b{subtype}--\n"));
        out
    }

    const PLAIN: &str = "Content-Type: text/plain\n\nplain text";
    const HTML: &str = "Content-Type: text/html\n\n<p>html text</p>";

    #[test]
    fn single_part() {
        let got = collect("Subject: x\n\nhello\n");
        assert_eq!(got, [Piece::Plain("hello\n".into())]);
    }

    #[test]
    fn alternative_prefers_plain() {
        let got = collect(&multipart("alternative", &[PLAIN, HTML]));
        assert_eq!(got, [Piece::Plain("plain text".into())]);
        let got = collect(&multipart("alternative", &[HTML, PLAIN]));
        assert_eq!(got, [Piece::Plain("plain text".into())]);
    }

    #[test]
    fn alternative_blank_plain_takes_html() {
        let blank = "Content-Type: text/plain\n\n \n";
        let got = collect(&multipart("alternative", &[blank, HTML]));
        assert_eq!(got, [Piece::Html("<p>html text</p>".into())]);
    }

    #[test]
    fn alternative_with_related_html() {
        let image = "Content-Type: image/png\n\nPNG";
        let related = multipart("related", &[HTML, image]);
        let calendar = "Content-Type: text/calendar\n\nBEGIN:VCALENDAR";
        let got = collect(&multipart("alternative", &[&related, calendar]));
        assert_eq!(got, [Piece::Html("<p>html text</p>".into())]);
    }

    #[test]
    fn mixed_keeps_bodies_skips_attachments() {
        let attached = "Content-Type: text/plain\n\
             Content-Disposition: attachment; filename=a.txt\n\nfile";
        let named = "Content-Type: text/plain; name=b.txt\n\nnamed";
        let inline = "Content-Type: text/plain; name=c.txt\n\
             Content-Disposition: inline\n\ninline";
        let alt = multipart("alternative", &[PLAIN, HTML]);
        let got = collect(&multipart(
            "mixed",
            &[&alt, attached, named, inline, HTML],
        ));
        assert_eq!(
            got,
            [
                Piece::Plain("plain text".into()),
                Piece::Plain("inline".into()),
                Piece::Html("<p>html text</p>".into()),
            ]
        );
    }

    #[test]
    fn attached_message() {
        let inner = "From: a@b\nSubject: inner\n\ninner text";
        let rfc822 = format!("Content-Type: message/rfc822\n\n{inner}");
        let got = collect(&multipart("mixed", &[PLAIN, &rfc822]));
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[1],
            Piece::Note(
                "----- attached message -----\nFrom: a@b\nSubject: inner"
                    .into()
            )
        );
        assert_eq!(got[2], Piece::Plain("inner text".into()));
        let attached = format!(
            "Content-Type: message/rfc822\n\
             Content-Disposition: attachment\n\n{inner}"
        );
        let got = collect(&multipart("mixed", &[PLAIN, &attached]));
        assert_eq!(got, [Piece::Plain("plain text".into())]);
    }
}
