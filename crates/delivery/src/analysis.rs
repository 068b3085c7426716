/*!
The analysis of one message in its two written forms: the qmvc.rep
document (kept also in `save/` and `inspect/`), built here as a
[`qmvc_log::rep::Report`] and written by qmvc-log, and the plain text of
`qmvc -t`.
*/

use std::fmt::Write as _;

use qmvc_engine::{Evaluation, Match, PartDetail, Verdict};
use qmvc_log::line::Record;
use qmvc_log::rep::{self, Report};
use qmvc_log::Stamp;
use qmvc_profile::Reaction;

/// What the logs say about one message, beyond the verdict.
#[derive(Clone, Debug)]
pub struct Facts {
    /// When the delivery started: the time field of every record.
    pub time: Stamp,
    /// Processing time so far, in seconds.
    pub seconds: f64,
    /// The message's size in bytes.
    pub size: usize,
    /// The envelope sender.
    pub sender: String,
    /// The original recipient.
    pub recipient: String,
    /// The Message-ID, decoded.
    pub message_id: String,
    /// The Subject, decoded.
    pub subject: String,
    /// qmvc.log's field 4: the actions joined by `+`, `pass` for none,
    /// `defer` for a deferral.
    pub actions: String,
    /// The SMTP client, in queue mode ([`crate::Context::client`]).
    pub client: Option<rep::Client>,
}

impl Facts {
    /// The facts of a message refused without being examined
    /// (qmvc-queue's `queuesize`): the envelope, and the Message-ID and
    /// Subject of its header, read (and bounded) as for any message;
    /// nothing is evaluated. `actions` is field 4.
    pub fn unexamined(
        envelope: &crate::Envelope,
        raw: &[u8],
        client: Option<&rep::Client>,
        actions: &str,
    ) -> Facts {
        let (header, _) = qmvc_message::Header::parse(raw);
        Facts {
            time: Stamp::now(),
            seconds: 0.0,
            size: raw.len(),
            sender: envelope.sender.clone(),
            recipient: envelope.recipient.clone(),
            message_id: header.value("message-id").unwrap_or_default(),
            subject: header.value("subject").unwrap_or_default(),
            actions: actions.to_owned(),
            client: client.cloned(),
        }
    }

    /// The qmvc.log line of these facts with the verdict's fields
    /// (`result`, `errormail`, `scanners`, and `spam`, field 12: the
    /// spam scores, empty when no spam engine judged the message).
    pub fn record<'a>(
        &'a self,
        result: &'a str,
        errormail: u32,
        scanners: &'a str,
        spam: &'a str,
    ) -> Record<'a> {
        Record {
            result,
            errormail,
            action: &self.actions,
            scanners,
            seconds: self.seconds,
            size: self.size as u64,
            sender: &self.sender,
            recipient: &self.recipient,
            message_id: &self.message_id,
            subject: &self.subject,
            spam: if spam.is_empty() { "-" } else { spam },
            client_ip: self.client.as_ref().map_or("-", |c| c.ip.as_str()),
            ..Record::new(&self.time)
        }
    }
}

/// The guard's address of a reaction, as written.
fn address(reaction: &Reaction) -> Option<String> {
    match reaction {
        Reaction::InformGuard(a) | Reaction::ForwardGuard(a) => {
            Some(a.clone())
        }
        Reaction::NotifyRecipient | Reaction::NotifySender => None,
    }
}

/// The qmvc.rep document of `verdict` (see qmvc-log(5)).
pub fn report(facts: &Facts, verdict: &Verdict) -> Report {
    // A message of thousands of bad parts must not make a document of
    // megabytes that the report programs choke on: the engine lists at
    // most its MAX_MATCHES a condition, and all of them together are cut
    // at rep::MATCH_BYTES here; the cut is noted.
    let mut skipped = verdict.skipped.clone();
    let mut budget = rep::MATCH_BYTES;
    let mut listed: Vec<Vec<Match>> = Vec::new();
    for hit in &verdict.hits {
        let mut kept = Vec::new();
        for m in &hit.matches {
            let size: usize = m
                .fields()
                .map(|(k, v)| k.len() + v.len().min(rep::TEXT_MAX))
                .sum();
            if size > budget {
                break;
            }
            budget -= size;
            kept.push(m.clone());
        }
        let more = hit.matches.len() - kept.len();
        if more > 0 {
            skipped.push(format!(
                "{}: {more} more matches not listed",
                hit.condition.name()
            ));
        }
        listed.push(kept);
    }
    let mut listed = listed.into_iter();
    Report {
        time: facts.time.text.clone(),
        result: verdict.result(),
        errormail: u32::from(verdict.errormail),
        action: facts.actions.clone(),
        scanners: verdict.scanners.clone(),
        seconds: facts.seconds,
        size: facts.size as u64,
        sender: facts.sender.clone(),
        recipient: facts.recipient.clone(),
        message_id: facts.message_id.clone(),
        subject: facts.subject.clone(),
        saved: String::new(),
        skipped,
        conditions: verdict
            .hits
            .iter()
            .map(|hit| rep::Hit {
                condition: hit.condition.name().to_string(),
                action: hit.action.name().to_string(),
                rule: hit.rule.to_string(),
                reactions: hit
                    .reactions
                    .iter()
                    .map(|r| rep::Reaction {
                        reaction: r.reaction.name().to_string(),
                        address: address(&r.reaction).unwrap_or_default(),
                        status: r.status.describe(),
                    })
                    .collect(),
                matches: listed.next().unwrap_or_default(),
            })
            .collect(),
        client: facts.client.clone(),
        spam: verdict.spam.clone(),
    }
}

/// The document of [`report`], as written.
pub fn yaml(facts: &Facts, verdict: &Verdict) -> String {
    report(facts, verdict).document()
}

/// A message-derived string for a terminal: control characters and
/// bidirectional controls are shown as `<U+XXXX>`
/// ([`qmvc_log::fields::visible`]) so that `-t` output can neither be
/// forged nor drive the terminal.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    qmvc_log::fields::visible(text)
}

/// A match on one line of `qmvc -t`: `pattern=... part=... (FILE:LINE)`.
fn describe(m: &Match) -> String {
    let mut out = String::new();
    for (key, value) in m.fields() {
        let label = match key {
            "origin" => continue,
            "filename" => "file",
            "detected_type" => "type",
            "loader_type" => "loader",
            other => other,
        };
        let _ = write!(out, " {label}={}", shown(value));
    }
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
    let _ = writeln!(out, "sender:     {}", &facts.sender);
    let _ = writeln!(out, "recipient:  {}", &facts.recipient);
    let _ = writeln!(out, "message-id: {}", &facts.message_id);
    let _ = writeln!(out, "subject:    {}", &facts.subject);
    if let Some(c) = &facts.client {
        let relay = if c.relayclient { "set" } else { "not set" };
        let _ = writeln!(
            out,
            "client:     ip={} host={} info={} proto={} relayclient {relay}",
            shown(&c.ip),
            shown(&c.host),
            shown(&c.info),
            shown(&c.proto),
        );
    }
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
                // errormail may be met through several filter lines
                // (bits=): each is shown.
                let hits =
                    verdict.hits.iter().filter(|h| h.condition == *condition);
                for hit in hits {
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
    }
    if !verdict.scanners.is_empty() {
        let _ = writeln!(out, "  scanners asked: {}", verdict.scanners);
    }
    for s in &verdict.spam {
        let _ = write!(
            out,
            "  spam: {} score {} required {} {}",
            s.engine,
            s.score,
            s.required,
            if s.spam { "spam" } else { "not spam" }
        );
        if !s.engine_action.is_empty() {
            let _ = write!(out, " action \"{}\"", s.engine_action);
        }
        let user = if s.user.is_empty() { "(none)" } else { &s.user };
        let _ = write!(out, " user {user}");
        if !s.rung.is_empty() {
            let _ = write!(out, " -> {}", s.rung);
        }
        let _ = writeln!(out);
        if !s.symbols.is_empty() {
            let shown: Vec<&str> = s
                .symbols
                .iter()
                .take(rep::MAX_SYMBOLS)
                .map(String::as_str)
                .collect();
            let _ = writeln!(out, "      symbols: {}", shown.join(","));
        }
    }
    for s in &verdict.skipped {
        let _ = writeln!(out, "  note: {}", s);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "decision: {} (exit {exit})",
        if facts.actions.is_empty() { "pass" } else { &facts.actions }
    );
    // Every line, once: whatever a message put into it (a subject, a
    // name, a skipped part's description, a refused reaction's reason)
    // is shown, not obeyed. Line ends are the analysis's own.
    out.split_inclusive('\n')
        .map(|line| match line.strip_suffix('\n') {
            Some(body) => format!("{}\n", shown(body)),
            None => shown(line).into_owned(),
        })
        .collect()
}
