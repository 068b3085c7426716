/*!
`qmvc.rep` (qmvc-log(5)) as a stream of YAML documents, each one message
that met a condition: read one document at a time, so memory does not
grow with the file. A document larger than [`DOCUMENT_MAX`] or one that
is not a report is skipped and counted, never fatal: a damaged record
must not cost the day's page.
*/

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Deserializer};

use crate::cli::Failure;
use crate::dates::{self, Day};
use crate::output;

/// The largest document read; qmvc caps each string at 4 KiB, so only a
/// damaged file comes near.
pub const DOCUMENT_MAX: usize = 4 << 20;

/// One message of qmvc.rep.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Report {
    /// When, as in qmvc.log.
    #[serde(deserialize_with = "scalar")]
    pub time: String,
    /// The conditions met, joined by `+`.
    #[serde(deserialize_with = "scalar")]
    pub result: String,
    /// The errormail code.
    pub errormail: u32,
    /// The actions, joined by `+`.
    #[serde(deserialize_with = "scalar")]
    pub action: String,
    /// The initials of the scanners that ran.
    #[serde(deserialize_with = "scalar")]
    pub scanners: String,
    /// Processing time.
    pub seconds: f64,
    /// Size in bytes.
    pub size: u64,
    /// The envelope sender.
    #[serde(deserialize_with = "scalar")]
    pub sender: String,
    /// The original recipient.
    #[serde(deserialize_with = "scalar")]
    pub recipient: String,
    /// The Message-ID.
    #[serde(deserialize_with = "scalar")]
    pub message_id: String,
    /// The Subject, decoded.
    #[serde(deserialize_with = "scalar")]
    pub subject: String,
    /// What was not examined, and why.
    pub skipped: Vec<String>,
    /// Each condition met.
    pub conditions: Vec<Hit>,
}

/// One condition met.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Hit {
    /// `virusmail`, `badfilename`, ...
    #[serde(deserialize_with = "scalar")]
    pub condition: String,
    /// Its action.
    #[serde(deserialize_with = "scalar")]
    pub action: String,
    /// The filters line that decided, `FILE:LINE`.
    #[serde(deserialize_with = "scalar")]
    pub rule: String,
    /// The reactions and what became of them.
    pub reactions: Vec<ReactionDone>,
    /// What matched.
    pub matches: Vec<Found>,
}

/// A reaction of a condition.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReactionDone {
    /// `notifyrecipient`, `informguard`, ...
    #[serde(deserialize_with = "scalar")]
    pub reaction: String,
    /// The guard's address, if any.
    #[serde(deserialize_with = "scalar")]
    pub address: String,
    /// `sent`, `refused: ...`, ...
    #[serde(deserialize_with = "scalar")]
    pub status: String,
}

/// One thing that matched; every field may be empty.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Found {
    /// The pattern, glob or type of the control line.
    #[serde(deserialize_with = "scalar")]
    pub pattern: String,
    /// `FILE:LINE` of that line.
    #[serde(deserialize_with = "scalar")]
    pub origin: String,
    /// The MIME part.
    #[serde(deserialize_with = "scalar")]
    pub part: String,
    /// The attachment's file name.
    #[serde(deserialize_with = "scalar")]
    pub filename: String,
    /// The magic MIME type detected.
    #[serde(deserialize_with = "scalar")]
    pub detected_type: String,
    /// The executable loader type.
    #[serde(deserialize_with = "scalar")]
    pub loader_type: String,
    /// The scanner's initial or name.
    #[serde(deserialize_with = "scalar")]
    pub scanner: String,
    /// The virus name.
    #[serde(deserialize_with = "scalar")]
    pub virus: String,
    /// Anything else.
    #[serde(deserialize_with = "scalar")]
    pub detail: String,
}

/// Any YAML scalar as text (a Subject of `123` or `yes` stays what it
/// was); null is empty.
fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde_yaml::Value;
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => serde_yaml::to_string(&other)
            .unwrap_or_default()
            .trim_end()
            .to_string(),
    })
}

impl Report {
    /// The day of its time field.
    pub fn day(&self) -> Option<Day> {
        dates::day_and_hour(&self.time).map(|(day, _)| day)
    }

    /// The conditions met, in evaluation order.
    pub fn conditions(&self) -> impl Iterator<Item = &str> {
        self.result.split('+').filter(|c| !c.is_empty() && *c != "clear")
    }

    /// Whether it was a virusmail.
    pub fn is_virus(&self) -> bool {
        self.conditions().any(|c| c == "virusmail")
    }

    /// Whether it was a badmail (and maybe a virusmail too).
    pub fn is_bad(&self) -> bool {
        self.conditions().any(|c| crate::logline::BADMAIL.contains(&c))
    }
}

/// How a read went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Documents read as reports.
    pub reports: u64,
    /// Documents skipped: too large or not a report.
    pub damaged: u64,
}

/// Calls `each` for every report in `reader` (the file `path`), in order.
pub fn for_each(
    reader: &mut dyn BufRead,
    path: &Path,
    mut each: impl FnMut(Report),
) -> Result<ReadSummary, Failure> {
    let mut summary = ReadSummary::default();
    let mut document = String::new();
    let mut oversized = false;
    let mut started = false;
    let mut line = Vec::new();
    let mut finish = |document: &mut String, oversized: &mut bool| {
        if *oversized {
            summary.damaged += 1;
        } else if !document.trim().is_empty() {
            match serde_yaml::from_str::<Report>(document) {
                Ok(report) => {
                    summary.reports += 1;
                    each(report);
                }
                Err(_) => summary.damaged += 1,
            }
        }
        document.clear();
        *oversized = false;
    };
    while output::next_line(reader, &mut line, path)? {
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        if text == "---" || text.starts_with("--- ") {
            if started {
                finish(&mut document, &mut oversized);
            }
            started = true;
            if let Some(rest) = text.strip_prefix("--- ") {
                document.push_str(rest);
                document.push('\n');
            }
            continue;
        }
        started = true;
        if oversized {
            continue;
        }
        if document.len() + text.len() + 1 > DOCUMENT_MAX {
            oversized = true;
            document.clear();
            continue;
        }
        document.push_str(text);
        document.push('\n');
    }
    finish(&mut document, &mut oversized);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REP: &str = "---
time: 2026-11-22T10:00:00+01:00
result: badfilename+virusmail
errormail: 0
action: block
scanners: C
seconds: 0.02
size: 1234
sender: bad@example.net
recipient: joe@example.com
message_id: <1@x>
subject: '123'
conditions:
- condition: badfilename
  action: block
  rule: filters:3
  matches:
  - pattern: '*.exe'
    filename: <script>alert(1)</script>.exe
- condition: virusmail
  action: block
  rule: filters:7
  reactions:
  - reaction: notifyrecipient
    status: sent
  matches:
  - scanner: C
    virus: Eicar-Test-Signature
---
time: 2026-11-22T11:00:00+01:00
result: [broken
---
subject: 42
result: badsubject
";

    #[test]
    fn reads_documents_and_skips_damaged_ones() {
        let mut reader = REP.as_bytes();
        let mut got = Vec::new();
        let summary =
            for_each(&mut reader, Path::new("qmvc.rep"), |r| got.push(r))
                .unwrap();
        assert_eq!(summary, ReadSummary { reports: 2, damaged: 1 });
        let first = &got[0];
        assert!(first.is_virus() && first.is_bad());
        assert_eq!(first.subject, "123");
        assert_eq!(
            first.conditions[0].matches[0].filename,
            "<script>alert(1)</script>.exe"
        );
        assert_eq!(
            first.conditions[1].matches[0].virus,
            "Eicar-Test-Signature"
        );
        assert_eq!(first.day().unwrap().to_string(), "2026-11-22");
        assert_eq!(got[1].subject, "42");
        assert!(got[1].day().is_none());
    }
}
