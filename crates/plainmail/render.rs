/*!
The forwarded text: HTML rendered as readable text with html2text, every
piece made safe for a text/plain body in 8bit, the whole bounded.

html2text builds a DOM and lays it out; that is quadratic in the nesting
depth and has no time bound of its own. So HTML that is very large or very
deeply nested is not given to it, rendering runs on a worker thread under a
time budget, and whatever is not rendered in time, fails or panics is
reduced to its text by qmvc-message's linear tag stripper instead.
*/

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::collect::Piece;

/// Width of the rendered HTML.
const WIDTH: usize = 78;

/// Largest HTML part given to html2text.
const MAX_HTML: usize = 512 << 10;

/// Deepest estimated element nesting given to html2text.
const MAX_NESTING: usize = 400;

/// Time for rendering all HTML parts of one message.
const BUDGET: Duration = Duration::from_secs(10);

/// Stack of the rendering thread (html2text recurses over the tree).
const STACK: usize = 64 << 20;

/// Most bytes of text forwarded.
pub const MAX_TEXT: usize = 8 << 20;

/// Longest line in the body, in bytes (RFC 5322 allows 998).
const MAX_LINE: usize = 996;

/// The forwarded text of `pieces`; `truncated` says that the message was
/// not read to its end.
pub fn text(pieces: Vec<Piece>, truncated: bool) -> String {
    let html: Vec<String> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Html(h) => Some(h.clone()),
            _ => None,
        })
        .collect();
    let mut rendered = render_all(html).into_iter();
    let mut out = String::new();
    if truncated {
        out.push_str(&format!(
            "[plainmail: the message is larger than {} MiB; only the \
             text in its first {} MiB is forwarded.]\n\n",
            crate::MAX_MESSAGE >> 20,
            crate::MAX_MESSAGE >> 20
        ));
    }
    let mut any = false;
    for piece in pieces {
        let text = match piece {
            Piece::Plain(text) | Piece::Note(text) => text,
            Piece::Html(_) => rendered.next().unwrap_or_default(),
        };
        let text = clean(&text);
        let text = text.trim_matches('\n');
        if text.trim().is_empty() {
            continue;
        }
        if any {
            out.push_str("\n\n");
        }
        any = true;
        out.push_str(text);
    }
    if !any {
        out.push_str("[plainmail: the message has no text part.]");
    }
    out.push('\n');
    if out.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        let left = out.len() - end;
        out.truncate(end);
        out.push_str(&format!(
            "\n\n[plainmail: {left} more bytes of text left out.]\n"
        ));
    }
    out
}

/// Renders each HTML text, in order, on a worker thread within
/// [`BUDGET`]; what is not done in time is stripped of its tags instead.
fn render_all(html: Vec<String>) -> Vec<String> {
    if html.is_empty() {
        return Vec::new();
    }
    let count = html.len();
    let fallbacks: Vec<String> = html.clone();
    let (send, receive) = mpsc::channel();
    let worker = thread::Builder::new().stack_size(STACK).spawn(move || {
        for (i, h) in html.into_iter().enumerate() {
            let result = std::panic::catch_unwind(|| render(&h));
            if send.send((i, result.ok().flatten())).is_err() {
                return;
            }
        }
    });
    let mut done: Vec<Option<String>> = vec![None; count];
    if worker.is_ok() {
        let deadline = Instant::now() + BUDGET;
        while let Some(left) = deadline.checked_duration_since(Instant::now())
        {
            match receive.recv_timeout(left) {
                Ok((i, text)) => {
                    if let Some(slot) = done.get_mut(i) {
                        *slot = text;
                    }
                    if i + 1 == count {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
    // A worker still busy is left behind: the process ends soon.
    done.into_iter()
        .zip(fallbacks)
        .map(|(text, html)| text.unwrap_or_else(|| strip(&html)))
        .collect()
}

/// html2text's rendering of `html`, `None` when it is not given to it or
/// fails.
fn render(html: &str) -> Option<String> {
    if html.len() > MAX_HTML || nesting(html) > MAX_NESTING {
        return None;
    }
    let config = || {
        html2text::config::plain_no_decorate()
            .link_footnotes(true)
            .no_table_borders()
    };
    let text = match config().string_from_read(html.as_bytes(), WIDTH) {
        Ok(text) => text,
        // Nesting that indents past the width: wider lines will do.
        Err(html2text::Error::TooNarrow) => config()
            .allow_width_overflow()
            .string_from_read(html.as_bytes(), WIDTH)
            .ok()?,
        Err(_) => return None,
    };
    // Layout can blow a small input up (wide tables): keep it in bounds.
    (text.len() <= html.len().saturating_mul(4) + (64 << 10)).then_some(text)
}

/// The text of `html` without html2text: tags removed, references
/// decoded, blank runs folded.
fn strip(html: &str) -> String {
    let text = qmvc_message::html_text(html);
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        out.push_str(&words.join(" "));
    }
    out
}

/// Elements that never hold others, or that the parser closes when a
/// sibling starts: they do not deepen the tree.
const FLAT: [&str; 30] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link",
    "meta", "param", "source", "track", "wbr", "p", "li", "dt", "dd", "tr",
    "td", "th", "option", "optgroup", "thead", "tbody", "tfoot", "colgroup",
    "rb", "rt", "rp",
];

/// Elements whose content is text up to their end tag.
const RAW: [&str; 4] = ["script", "style", "textarea", "title"];

/// An estimate of the deepest element nesting of `html`: start tags
/// minus end tags, in one linear pass. It errs on the high side.
fn nesting(html: &str) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut deepest, mut pos) = (0usize, 0usize, 0usize);
    while let Some(lt) = memchr(b'<', bytes, pos) {
        let rest = bytes.get(lt + 1..).unwrap_or_default();
        if rest.starts_with(b"!--") {
            pos = match find(bytes, b"-->", lt) {
                Some(end) => end + 3,
                None => return deepest,
            };
            continue;
        }
        let Some(gt) = memchr(b'>', bytes, lt) else { return deepest };
        pos = gt + 1;
        let tag = bytes.get(lt + 1..gt).unwrap_or_default();
        let closing = tag.first() == Some(&b'/');
        let name: Vec<u8> = tag
            .iter()
            .skip(usize::from(closing))
            .take_while(|b| b.is_ascii_alphanumeric())
            .map(u8::to_ascii_lowercase)
            .collect();
        let Ok(name) = std::str::from_utf8(&name) else { continue };
        if name.is_empty() || FLAT.contains(&name) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        if RAW.contains(&name) {
            let end = format!("</{name}");
            let content = bytes.get(pos..).unwrap_or_default();
            let Some(at) = content
                .windows(end.len())
                .position(|w| w.eq_ignore_ascii_case(end.as_bytes()))
            else {
                return deepest.max(depth + 1);
            };
            // Past the end tag, which closes nothing counted.
            match memchr(b'>', bytes, pos + at) {
                Some(gt) => pos = gt + 1,
                None => return deepest.max(depth + 1),
            }
            continue;
        }
        if !tag.ends_with(b"/") {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

fn memchr(byte: u8, bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter().position(|&b| b == byte).map(|i| from + i)
}

fn find(bytes: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.windows(needle.len()).position(|w| w == needle).map(|i| from + i)
}

/// `text` made safe for a text/plain body in 8bit: CRLF and lone CR become
/// LF, tabs and form feeds stay, every other control character becomes
/// U+FFFD, and a line longer than [`MAX_LINE`] bytes is broken.
pub fn clean(text: &str) -> String {
    qmvc_notify::plain_text(text, MAX_LINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_readable() {
        let html = "<html><head><style>p{}</style></head><body>\
            <h1>Hi &amp; bye</h1><p>A <b>bold</b> \
            <a href=\"https://example.com/\">link</a>.</p></body></html>";
        let got = text(vec![Piece::Html(html.into())], false);
        assert!(got.contains("Hi & bye"), "{got}");
        assert!(got.contains("A bold [link][1]."), "{got}");
        assert!(got.contains("[1]: https://example.com/"), "{got}");
        assert!(!got.contains('<') && !got.contains("p{}"), "{got}");
    }

    #[test]
    fn deep_nesting_is_stripped_instead() {
        let html = format!("{}deep{}", "<div>".repeat(5000), "</div>");
        assert!(nesting(&html) > MAX_NESTING);
        let got = text(vec![Piece::Html(html)], false);
        assert_eq!(got, "deep\n");
    }

    #[test]
    fn nesting_estimate() {
        assert_eq!(nesting("<p>a<p>b<br><img src=x/>"), 0);
        assert_eq!(nesting("<div><div></div><div><b>x</b></div></div>"), 3);
        assert_eq!(nesting("<script>if (a<b && c<d) {}</script><i>"), 1);
        assert_eq!(nesting("<!-- <div><div> --><div/>"), 0);
        assert_eq!(nesting("<div"), 0);
    }

    #[test]
    fn wide_nesting_overflows_instead_of_failing() {
        let html = "<blockquote>q".repeat(60);
        let got = text(vec![Piece::Html(html)], false);
        assert!(got.contains('q') && !got.contains('<'), "{got}");
    }

    #[test]
    fn control_characters_and_long_lines() {
        let got = clean("a\r\nb\rc\x00d\x1b[1m\te\u{85}");
        assert_eq!(got, "a\nb\nc\u{fffd}d\u{fffd}[1m\te\u{fffd}");
        let long = "é".repeat(1000);
        let got = clean(&long);
        assert!(got.lines().all(|l| l.len() <= MAX_LINE));
        assert_eq!(got.replace('\n', ""), long);
    }

    #[test]
    fn pieces_are_joined_and_bounded() {
        let got = text(
            vec![
                Piece::Plain("one\n\n".into()),
                Piece::Plain("  \n".into()),
                Piece::Note("note".into()),
                Piece::Plain("two".into()),
            ],
            true,
        );
        assert!(got.starts_with("[plainmail: the message is larger"));
        assert!(got.ends_with("one\n\nnote\n\ntwo\n"), "{got}");
        assert_eq!(
            text(Vec::new(), false),
            "[plainmail: the message has no text part.]\n"
        );
        let big = text(vec![Piece::Plain("x".repeat(MAX_TEXT + 10))], false);
        assert!(big.len() < MAX_TEXT + 100);
        assert!(big.ends_with("more bytes of text left out.]\n"));
    }
}
