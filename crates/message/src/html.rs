/*!
The text of an HTML part, for matching: tags removed, character references
decoded, in one linear pass without a DOM, so that no input can make it
recurse or allocate beyond the size of the part. Layout is not kept; a
readable rendering is not what matching needs.
*/

/// The text of `html`: every tag (and comment) becomes a space, `&amp;`,
/// `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;` and numeric references are
/// decoded; any other `&` stays as it is.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(rest.get(..pos).unwrap_or(""));
        let tail = rest.get(pos..).unwrap_or("");
        if tail.starts_with('<') {
            let end = if tail.starts_with("<!--") {
                tail.find("-->").map(|e| e + 3)
            } else {
                tail.find('>').map(|e| e + 1)
            };
            match end {
                Some(end) => {
                    out.push(' ');
                    rest = tail.get(end..).unwrap_or("");
                }
                // Nothing after an unclosed `<` can close a tag either:
                // the rest is text (and scanning on would be quadratic).
                None => {
                    out.push_str(tail);
                    return out;
                }
            }
        } else {
            let (decoded, used) = reference(tail);
            out.push(decoded);
            rest = tail.get(used..).unwrap_or("");
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the character reference at the start of `text` (which starts
/// with `&`); returns the character and the bytes used (1 and `&` when it
/// is none).
fn reference(text: &str) -> (char, usize) {
    let Some(semi) = text.get(..12).unwrap_or(text).find(';') else {
        return ('&', 1);
    };
    let name = text.get(1..semi).unwrap_or("");
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let number = if let Some(hex) =
                name.strip_prefix("#x").or_else(|| name.strip_prefix("#X"))
            {
                u32::from_str_radix(hex, 16).ok()
            } else {
                name.strip_prefix('#').and_then(|d| d.parse::<u32>().ok())
            };
            number.and_then(char::from_u32)
        }
    };
    match decoded {
        Some(c) => (c, semi + 1),
        None => ('&', 1),
    }
}

#[cfg(test)]
mod tests {
    use super::html_text;

    #[test]
    fn tags_and_references() {
        assert_eq!(html_text("kill the <b>boss</b>"), "kill the  boss ");
        assert_eq!(
            html_text("a&amp;b &lt;x&gt; &#107;&#x69;ll"),
            "a&b <x> kill"
        );
        assert_eq!(html_text("x<!-- <b> -->y"), "x y");
        assert_eq!(html_text("1 < 2 & 3"), "1 < 2 & 3");
        assert_eq!(
            html_text("&bogus; &#xZZ; &#1114112;"),
            "&bogus; &#xZZ; &#1114112;"
        );
        assert_eq!(html_text("tail <unclosed"), "tail <unclosed");
    }

    #[test]
    fn linear_on_hostile_input() {
        let deep = "<div>".repeat(200_000) + "text";
        let start = std::time::Instant::now();
        assert!(html_text(&deep).ends_with("text"));
        let amps = "&".repeat(500_000);
        assert_eq!(html_text(&amps).len(), 500_000);
        let opens = "<".repeat(2_000_000);
        assert_eq!(html_text(&opens).len(), 2_000_000);
        assert!(start.elapsed().as_secs() < 2);
    }
}
