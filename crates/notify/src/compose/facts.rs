/*!
The facts as a template sees them: every string one line, cut, every
list bounded.
*/

use crate::headers::is_breaking;
use crate::{Facts, MatchView};

/// Most bytes of one string of the facts that a template sees.
pub(crate) const MAX_TEXT: usize = 16 << 10;

/// Most findings and most virus names that a template sees.
pub(crate) const MAX_LIST: usize = 1000;

/// The facts as a template sees them: every string one line of at most
/// [`MAX_TEXT`] bytes, every list at most [`MAX_LIST`] entries. So the
/// text of the message cannot lay out lines of its own in the body
/// either (a forged "Subject" line, a fake instruction).
#[derive(serde::Serialize)]
pub(super) struct BoundedFacts {
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
    findings: Vec<MatchView>,
    viruses: Vec<String>,
    host: String,
    guard: String,
    now: String,
}

/// `facts` bounded as [`BoundedFacts`] says.
pub(super) fn bounded(facts: &Facts) -> BoundedFacts {
    let finding = |f: &MatchView| MatchView {
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
