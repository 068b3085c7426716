/*!
The analysis of one message in its two written forms: the YAML document of
qmvc.rep, `save/` and `inspect/`, and the plain text of `qmvc -t`.
*/

use std::fmt::Write as _;

use serde::Serialize;

use qmvc_engine::{Evaluation, Match, PartDetail, Verdict};
use qmvc_profile::Reaction;

/// The longest a message-derived string may be in a YAML document.
const TEXT_MAX: usize = 4096;

/// What the logs say about one message, beyond the verdict.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub time: String,
    pub seconds: f64,
    pub size: usize,
    pub sender: String,
    pub recipient: String,
    pub message_id: String,
    pub subject: String,
    pub actions: String,
}

#[derive(Serialize)]
struct Report<'a> {
    time: &'a str,
    result: String,
    errormail: u8,
    action: &'a str,
    scanners: &'a str,
    seconds: f64,
    size: usize,
    sender: String,
    recipient: String,
    message_id: String,
    subject: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<String>,
    conditions: Vec<ConditionReport>,
}

#[derive(Serialize)]
struct ConditionReport {
    condition: &'static str,
    action: &'static str,
    rule: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reactions: Vec<ReactionReport>,
    matches: Vec<MatchReport>,
}

#[derive(Serialize)]
struct ReactionReport {
    reaction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    status: String,
}

#[derive(Serialize)]
struct MatchReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detected_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    loader_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scanner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    virus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// Cuts `text` to [`TEXT_MAX`] bytes at a character boundary.
fn cap(text: &str) -> String {
    if text.len() <= TEXT_MAX {
        return text.to_string();
    }
    let mut end = TEXT_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or(""))
}

fn match_report(m: &Match) -> MatchReport {
    MatchReport {
        pattern: m.pattern.as_deref().map(cap),
        origin: m.origin.as_ref().map(|o| o.to_string()),
        part: m.part.clone(),
        filename: m.filename.as_deref().map(cap),
        detected_type: m.detected_type.clone(),
        loader_type: m.loader_type.clone(),
        scanner: m.scanner.clone(),
        virus: m.virus.as_deref().map(cap),
        detail: m.detail.as_deref().map(cap),
    }
}

fn address(reaction: &Reaction) -> Option<String> {
    match reaction {
        Reaction::InformGuard(a) | Reaction::ForwardGuard(a) => {
            Some(a.clone())
        }
        Reaction::NotifyRecipient | Reaction::NotifySender => None,
    }
}

/// The YAML document (starting `---`) for `verdict`.
pub fn yaml(facts: &Facts, verdict: &Verdict) -> String {
    let report = Report {
        time: &facts.time,
        result: verdict.result(),
        errormail: verdict.errormail,
        action: &facts.actions,
        scanners: &verdict.scanners,
        seconds: (facts.seconds * 1000.0).round() / 1000.0,
        size: facts.size,
        sender: cap(&facts.sender),
        recipient: cap(&facts.recipient),
        message_id: cap(&facts.message_id),
        subject: cap(&facts.subject),
        skipped: verdict.skipped.iter().map(|s| cap(s)).collect(),
        conditions: verdict
            .hits
            .iter()
            .map(|hit| ConditionReport {
                condition: hit.condition.name(),
                action: hit.action.name(),
                rule: hit.rule.to_string(),
                reactions: hit
                    .reactions
                    .iter()
                    .map(|r| ReactionReport {
                        reaction: r.reaction.name(),
                        address: address(&r.reaction),
                        status: r.status.describe(),
                    })
                    .collect(),
                matches: hit.matches.iter().map(match_report).collect(),
            })
            .collect(),
    };
    let body = serde_yaml::to_string(&report)
        .unwrap_or_else(|e| format!("error: \"cannot serialise: {e}\"\n"));
    let body = body.strip_prefix("---\n").unwrap_or(&body);
    format!("---\n{body}")
}

/// Escapes a message-derived string for a terminal: control characters
/// are shown as `\u{..}` so that `-t` output cannot be forged.
fn shown(text: &str) -> String {
    text.chars().flat_map(char::escape_debug).collect()
}

fn describe(m: &Match) -> String {
    let mut out = String::new();
    let mut add = |label: &str, value: &Option<String>| {
        if let Some(v) = value {
            let _ = write!(out, " {label}={}", shown(v));
        }
    };
    add("pattern", &m.pattern);
    add("part", &m.part);
    add("file", &m.filename);
    add("type", &m.detected_type);
    add("loader", &m.loader_type);
    add("scanner", &m.scanner);
    add("virus", &m.virus);
    add("detail", &m.detail);
    if let Some(origin) = &m.origin {
        let _ = write!(out, " ({origin})");
    }
    out
}

/// The plain-text analysis printed by `qmvc -t`.
pub fn text(
    facts: &Facts,
    parts: &[PartDetail],
    verdict: &Verdict,
    exit: u8,
) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "qmvc -t: analysis only, nothing done, nothing written");
    let _ = writeln!(out, "sender:     {}", shown(&facts.sender));
    let _ = writeln!(out, "recipient:  {}", shown(&facts.recipient));
    let _ = writeln!(out, "message-id: {}", shown(&facts.message_id));
    let _ = writeln!(out, "subject:    {}", shown(&facts.subject));
    let _ = writeln!(
        out,
        "size:       {} bytes, {} parts",
        facts.size,
        parts.len()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "parts:");
    for p in parts {
        let indent = "  ".repeat(p.depth.min(20));
        let _ = write!(
            out,
            "  {indent}{} {} ({}, {} bytes)",
            p.id, p.declared, p.encoding, p.size
        );
        if let Some(name) = &p.filename {
            let _ = write!(out, " name=\"{}\"", shown(name));
        }
        if let Some(t) = &p.detected {
            let _ = write!(out, " detected={t}");
        }
        if let Some(l) = &p.loader {
            let _ = write!(out, " loader={l}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "conditions:");
    for (condition, evaluation) in &verdict.evaluations {
        let name = condition.name();
        match evaluation {
            Evaluation::NoRule => {
                let _ = writeln!(out, "  {name:<14} no filter line");
            }
            Evaluation::NotMet => {
                let _ = writeln!(out, "  {name:<14} not met");
            }
            Evaluation::Skipped(why) => {
                let _ = writeln!(out, "  {name:<14} {why}");
            }
            Evaluation::Met => {
                let Some(hit) =
                    verdict.hits.iter().find(|h| h.condition == *condition)
                else {
                    continue;
                };
                let code = if hit.condition.name() == "errormail" {
                    format!(" code {}", verdict.errormail)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "  {name:<14} MET{code} -> {} ({})",
                    hit.action.name(),
                    hit.rule
                );
                for m in &hit.matches {
                    let _ = writeln!(out, "      match:{}", describe(m));
                }
                for r in &hit.reactions {
                    let to = address(&r.reaction)
                        .map(|a| format!("={a}"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "      reaction: {}{to} ({})",
                        r.reaction.name(),
                        r.status.describe()
                    );
                }
            }
        }
    }
    if !verdict.scanners.is_empty() {
        let _ = writeln!(out, "  scanners asked: {}", verdict.scanners);
    }
    for s in &verdict.skipped {
        let _ = writeln!(out, "  note: {}", shown(s));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "decision: {} (exit {exit})",
        if facts.actions.is_empty() { "pass" } else { &facts.actions }
    );
    out
}
