/*!
The facts as a template sees them: every string one line, cut, every
list bounded.
*/

use crate::headers::is_breaking;
use crate::{Facts, MatchView};

/// Most bytes of one string of the facts that a template sees.
pub(crate) const MAX_TEXT: usize = 1 << 10;

/// Most bytes of one field of a finding, and of one virus name.
pub(crate) const MAX_FIELD: usize = 512;

/// Most findings and most virus names that a template sees.
pub(crate) const MAX_LIST: usize = 100;

/// The facts as a template sees them: every string one line of at most
/// [`MAX_TEXT`] bytes ([`MAX_FIELD`] in the lists), every list at most
/// [`MAX_LIST`] entries, with the count of the entries left out. So the
/// text of the message cannot lay out lines of its own in the body
/// either (a forged "Subject" line, a fake instruction), and the
/// shipped templates, which show every fact once, render to well under
/// a third of [`super::MAX_RENDERED`] whatever the message holds: a
/// message of thousands of bad names gets its notification, never a
/// deferral.
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
    findings_left_out: usize,
    viruses: Vec<String>,
    viruses_left_out: usize,
    host: String,
    guard: String,
    now: String,
}

/// `facts` bounded as [`BoundedFacts`] says.
pub(super) fn bounded(facts: &Facts) -> BoundedFacts {
    let finding = |f: &MatchView| MatchView {
        condition: cut(&f.condition, MAX_FIELD),
        pattern: cut(&f.pattern, MAX_FIELD),
        filename: cut(&f.filename, MAX_FIELD),
        part: cut(&f.part, MAX_FIELD),
        virus: cut(&f.virus, MAX_FIELD),
        scanner: cut(&f.scanner, MAX_FIELD),
        detail: cut(&f.detail, MAX_FIELD),
    };
    let text = |s: &String| cut(s, MAX_TEXT);
    BoundedFacts {
        sender: text(&facts.sender),
        recipient: text(&facts.recipient),
        subject: text(&facts.subject),
        from: text(&facts.from),
        message_id: text(&facts.message_id),
        date: text(&facts.date),
        size: facts.size,
        result: text(&facts.result),
        condition: text(&facts.condition),
        action: text(&facts.action),
        findings: facts.findings.iter().take(MAX_LIST).map(finding).collect(),
        findings_left_out: facts
            .findings
            .len()
            .saturating_sub(MAX_LIST)
            .saturating_add(facts.findings_left_out),
        viruses: facts
            .viruses
            .iter()
            .take(MAX_LIST)
            .map(|v| cut(v, MAX_FIELD))
            .collect(),
        viruses_left_out: facts.viruses.len().saturating_sub(MAX_LIST),
        host: text(&facts.host),
        guard: text(&facts.guard),
        now: text(&facts.now),
    }
}

/// `s` as one line (every control character, U+2028 and U+2029 a
/// space), cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end)
        .unwrap_or_default()
        .chars()
        .map(|c| if is_breaking(c) { ' ' } else { c })
        .collect()
}
