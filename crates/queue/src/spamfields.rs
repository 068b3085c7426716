/*!
The spam fields of a queued copy (SPEC 8): `X-Spam-Flag`, `X-Spam-Score`
and `X-Spam-Status` as qmvc-queue writes them, and the same fields that
arrived with the message taken out first.

A sender can put `X-Spam-Status: No` into a message to fool a later
`+x-spam-status=yes` check in a user's profile or a mail client's filter.
So when a spam engine was asked about a group, every field of these names
in the message's header goes, continuation lines included (spamd's own
X-Spam-Status is folded with a TAB), and only ours stay.
*/

/// The names of the fields this module owns, lower case.
pub const NAMES: [&str; 3] = ["x-spam-flag", "x-spam-score", "x-spam-status"];

/// The longest line of a field written here, before folding.
const WIDTH: usize = 78;

/// At most this many rule names go into `tests=`.
const MAX_TESTS: usize = 100;

/// What a spam engine said, as the fields show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement<'a> {
    /// Whether the engine calls it spam.
    pub spam: bool,
    /// The score as the engine gave it.
    pub score: &'a str,
    /// The engine's threshold as it gave it.
    pub required: &'a str,
    /// The rule names that hit.
    pub tests: &'a [String],
}

/// The message without the spam fields of its header: the spans of
/// `message` to write, in order. Only the header is looked at; the body
/// is one span whatever it holds.
pub fn without_spam_fields(message: &[u8]) -> Vec<&[u8]> {
    let mut spans = Vec::new();
    let mut kept_from = 0;
    let mut at = 0;
    // Whether the field the current line continues is being dropped.
    let mut dropping = false;
    while at < message.len() {
        let rest = message.get(at..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |i| at + i + 1);
        let line = message.get(at..end).unwrap_or_default();
        if line == b"\n" || line == b"\r\n" {
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        let drop = if continuation { dropping } else { is_spam_field(line) };
        if drop && !dropping {
            if let Some(span) = message.get(kept_from..at) {
                if !span.is_empty() {
                    spans.push(span);
                }
            }
        }
        if !drop && dropping {
            kept_from = at;
        }
        dropping = drop;
        at = end;
    }
    if !dropping {
        if let Some(span) = message.get(kept_from..) {
            if !span.is_empty() {
                spans.push(span);
            }
        }
    } else if let Some(span) = message.get(at..) {
        if !span.is_empty() {
            spans.push(span);
        }
    }
    spans
}

/// Whether the header line `line` starts one of [`NAMES`].
fn is_spam_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line.get(..colon).unwrap_or_default();
    // RFC 5322 allows blanks before the colon; a sender may use them.
    let name = name.trim_ascii_end();
    NAMES.iter().any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
}

/// The fields for `judgement`, each line ending in LF (qmail's queue
/// format), folded at 78 columns with a TAB. Engine text is reduced to
/// printable ASCII without blanks or commas: it goes into a header.
pub fn fields(judgement: &Judgement<'_>) -> String {
    let score = token(judgement.score);
    let required = token(judgement.required);
    let mut out = String::new();
    if judgement.spam {
        out.push_str("X-Spam-Flag: YES\n");
    }
    out.push_str(&format!("X-Spam-Score: {score}\n"));
    let verdict = if judgement.spam { "Yes" } else { "No" };
    let tests: Vec<String> = judgement
        .tests
        .iter()
        .take(MAX_TESTS)
        .map(|t| token(t))
        .filter(|t| !t.is_empty())
        .collect();
    let tests =
        if tests.is_empty() { "none".to_owned() } else { tests.join(",") };
    let words = [
        format!("X-Spam-Status: {verdict},"),
        format!("score={score}"),
        format!("required={required}"),
        format!("tests={tests}"),
    ];
    let mut line_len = 0;
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            if line_len + 1 + word.len() > WIDTH {
                out.push_str("\n\t");
                line_len = 1;
            } else {
                out.push(' ');
                line_len += 1;
            }
        }
        // A long tests= list is folded after its commas.
        for (j, piece) in word.split_inclusive(',').enumerate() {
            if j > 0 && line_len + piece.len() > WIDTH {
                out.push_str("\n\t");
                line_len = 1;
            }
            out.push_str(piece);
            line_len += piece.len();
        }
    }
    out.push('\n');
    out
}

/// `text` as one header token: printable ASCII but blanks and commas.
fn token(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() && *c != ',')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(message: &[u8]) -> String {
        String::from_utf8(without_spam_fields(message).concat()).unwrap()
    }

    #[test]
    fn forged_fields_go_with_their_continuations() {
        let m = b"Received: x\nX-Spam-Status: No, score=-5\n\tNO_RELAYS\n\
                  Subject: hi\nx-spam-flag : NO\nX-Spam-Score: 0\n  more\n\
                  \nX-Spam-Status: in the body\n";
        assert_eq!(
            joined(m),
            "Received: x\nSubject: hi\n\nX-Spam-Status: in the body\n"
        );
    }

    #[test]
    fn crlf_and_missing_body() {
        assert_eq!(
            joined(b"X-Spam-Flag: YES\r\nA: b\r\n\r\nbody"),
            "A: b\r\n\r\nbody"
        );
        assert_eq!(joined(b"A: b\nX-Spam-Score: 9\n"), "A: b\n");
        assert_eq!(joined(b"X-Spam-Score: 9"), "");
        assert_eq!(joined(b""), "");
        assert_eq!(joined(b"A: b\n"), "A: b\n");
        // Not our fields: a name that only starts like one.
        assert_eq!(joined(b"X-Spam-Level: **\n"), "X-Spam-Level: **\n");
    }

    #[test]
    fn our_fields() {
        let tests = vec!["GTUBE".to_owned(), "NO_RELAYS".to_owned()];
        let f = fields(&Judgement {
            spam: true,
            score: "1000.0",
            required: "5.0",
            tests: &tests,
        });
        assert_eq!(
            f,
            "X-Spam-Flag: YES\nX-Spam-Score: 1000.0\n\
             X-Spam-Status: Yes, score=1000.0 required=5.0 \
             tests=GTUBE,NO_RELAYS\n"
        );
        let f = fields(&Judgement {
            spam: false,
            score: "-0.0\r\nX-Evil: 1",
            required: "5.0",
            tests: &[],
        });
        assert_eq!(
            f,
            "X-Spam-Score: -0.0X-Evil:1\n\
             X-Spam-Status: No, score=-0.0X-Evil:1 required=5.0 tests=none\n"
        );
    }

    #[test]
    fn long_lists_fold() {
        let tests: Vec<String> =
            (0..40).map(|i| format!("SOME_LONG_RULE_{i}")).collect();
        let f = fields(&Judgement {
            spam: true,
            score: "7.5",
            required: "5.0",
            tests: &tests,
        });
        for line in f.lines() {
            assert!(line.len() <= WIDTH, "{line:?}");
        }
        let unfolded = f.replace("\n\t", "");
        assert!(unfolded.contains("SOME_LONG_RULE_0,SOME_LONG_RULE_1,"));
        assert!(unfolded.contains("SOME_LONG_RULE_39\n"));
        // Read back, the fields are ours and nothing else.
        assert_eq!(joined(f.as_bytes()), "");
    }
}
