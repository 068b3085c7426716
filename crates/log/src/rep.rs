/*!
`qmvc.rep` (qmvc-log(5)): one YAML document per message that met a
condition, written by [`Report::document`] and read back by [`for_each`]
with the same types, so a key is named once.

The writer caps every string taken from the message at [`TEXT_MAX`]
bytes. The reader takes one document at a time, so memory does not grow
with the file; a document larger than [`DOCUMENT_MAX`] or one that is not
a report is skipped and counted, never fatal: a damaged record must not
cost the day's page. Any scalar is read as text (a Subject of `123` or
`yes` stays what it was); a missing key or null is empty.
*/

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::line::BADMAIL;
use crate::read;
use crate::time::{day_and_hour, Day};
use crate::Error;

/// The longest a message-derived string may be in a document, in bytes.
pub const TEXT_MAX: usize = 4096;

/// The largest document read; the writer caps each string at
/// [`TEXT_MAX`], so only a damaged file comes near.
pub const DOCUMENT_MAX: usize = 4 << 20;

/// One message of qmvc.rep.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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
    /// Processing time in seconds (written with three decimals).
    #[serde(serialize_with = "millis")]
    pub seconds: f64,
    /// Size in bytes.
    pub size: u64,
    /// The envelope sender.
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub sender: String,
    /// The original recipient.
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub recipient: String,
    /// The Message-ID.
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub message_id: String,
    /// The Subject, decoded.
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub subject: String,
    /// The ID of the copy kept in `save/CLASS/` (its Maildir file name,
    /// what qmvc-release takes), left out when nothing was kept.
    #[serde(
        deserialize_with = "scalar",
        skip_serializing_if = "str::is_empty"
    )]
    pub saved: String,
    /// What was not examined, and why (left out when empty).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "capped_list"
    )]
    pub skipped: Vec<String>,
    /// Each condition met, in evaluation order.
    pub conditions: Vec<Hit>,
    /// The SMTP client, in queue mode only (left out otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    /// What each spam engine that judged the message said, in the order
    /// of `spamscanners` (left out when none did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spam: Vec<Spam>,
}

/// What one spam engine said about the message (spammail, SPEC 8). The
/// engine's words are untrusted text: capped when written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Spam {
    /// The engine and its initial, as `spamd (A)`.
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub engine: String,
    /// The score as the engine gave it (`1000.0`, `-0.0`).
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub score: String,
    /// The engine's threshold as it gave it (spamd's required score,
    /// rspamd's reject score).
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub required: String,
    /// Whether the engine calls it spam.
    pub spam: bool,
    /// The user the engine was asked for (empty: none).
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub user: String,
    /// rspamd's action (`add header`, `reject`, ...); empty for spamd.
    #[serde(
        deserialize_with = "scalar",
        serialize_with = "capped",
        skip_serializing_if = "str::is_empty"
    )]
    pub engine_action: String,
    /// The names of the rules that hit (left out when none).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "capped_symbols"
    )]
    pub symbols: Vec<String>,
    /// The spammail line it reached, `FILE:LINE` with its action (e.g.
    /// `filters:3 keep`); empty when it reached none.
    #[serde(
        deserialize_with = "scalar",
        serialize_with = "capped",
        skip_serializing_if = "str::is_empty"
    )]
    pub rung: String,
}

/// Most symbols one [`Spam`] lists: SpamAssassin can name hundreds.
pub const MAX_SYMBOLS: usize = 100;

/// The longest symbol written, in bytes.
const SYMBOL_MAX: usize = 128;

fn capped_symbols<S: Serializer>(
    values: &[String],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        values.iter().take(MAX_SYMBOLS).map(|v| cap_at(v, SYMBOL_MAX)),
    )
}

/// What qmail-smtpd's environment says about the SMTP client (queue
/// mode). Every value is the client's or tcpserver's word, untrusted
/// text like a header field: capped at [`CLIENT_MAX`] bytes here and
/// at [`TEXT_MAX`] again when written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Client {
    /// `TCPREMOTEIP`.
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub ip: String,
    /// `TCPREMOTEHOST` (from the client's DNS).
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub host: String,
    /// `TCPREMOTEINFO` (the client's ident answer, or the SMTP AUTH
    /// user where a patched qmail-smtpd sets it).
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub info: String,
    /// Whether `RELAYCLIENT` was set.
    pub relayclient: bool,
    /// `PROTO` (`TCP`, `TCP6`, ...).
    #[serde(deserialize_with = "scalar", serialize_with = "capped")]
    pub proto: String,
}

/// The longest value of a [`Client`] kept, in bytes: a host name is at
/// most 253, an address far less; more is noise or an attack.
pub const CLIENT_MAX: usize = 256;

impl Client {
    /// The client described by the variables that `var` returns (the
    /// process environment, in qmvc-queue); `None` when none of them is
    /// set, as for a local injection.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Client> {
        let get = |name: &str| {
            var(name).map(|v| cap_at(&v, CLIENT_MAX).into_owned())
        };
        let (ip, host, info, proto) = (
            get("TCPREMOTEIP"),
            get("TCPREMOTEHOST"),
            get("TCPREMOTEINFO"),
            get("PROTO"),
        );
        let relayclient = var("RELAYCLIENT").is_some();
        if ip.is_none() && host.is_none() && info.is_none() && !relayclient {
            return None;
        }
        Some(Client {
            ip: ip.unwrap_or_default(),
            host: host.unwrap_or_default(),
            info: info.unwrap_or_default(),
            relayclient,
            proto: proto.unwrap_or_default(),
        })
    }
}

/// The record of one condition met.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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
    /// The reactions and what became of them (left out when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// What matched.
    pub matches: Vec<Match>,
}

/// A reaction of a condition and what became of it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Reaction {
    /// `notifyrecipient`, `informguard`, ...
    #[serde(deserialize_with = "scalar")]
    pub reaction: String,
    /// The guard's address as written, if any (left out when empty).
    #[serde(
        deserialize_with = "scalar",
        skip_serializing_if = "str::is_empty"
    )]
    pub address: String,
    /// `due to ...` (written before it goes out), `not sent: ...`, ...
    #[serde(deserialize_with = "scalar")]
    pub status: String,
}

/// One thing that matched: the engine fills it in, qmvc.rep, `qmvc -t`
/// and the notifications show it, the report programs read it back.
/// Every field may be absent; an absent field is not written, and an
/// empty one reads as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Match {
    /// The pattern, glob, type or keyword that matched, as written.
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub pattern: Option<String>,
    /// `FILE:LINE` of the control line it is written on.
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub origin: Option<String>,
    /// The MIME part it matched in (its id, as `qmvc -t` shows it).
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub part: Option<String>,
    /// The file name (or archive member) concerned.
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub filename: Option<String>,
    /// The detected magic type.
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub detected_type: Option<String>,
    /// The detected loader type.
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub loader_type: Option<String>,
    /// The scanner that found it: engine name and initial.
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub scanner: Option<String>,
    /// How the message went to that scanner, when it has more than one
    /// way: clamd's `FILDES` (its descriptor passed) or `INSTREAM` (its
    /// bytes streamed).
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub sent: Option<String>,
    /// The virus name the scanner gave.
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub virus: Option<String>,
    /// Anything else worth telling (errormail bit and reason, a
    /// command's exit code, a scanner failure under policy `block`).
    #[serde(
        deserialize_with = "optional",
        serialize_with = "capped_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub detail: Option<String>,
}

impl Match {
    /// Each field that is present, with its key, in the written order.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("pattern", &self.pattern),
            ("origin", &self.origin),
            ("part", &self.part),
            ("filename", &self.filename),
            ("detected_type", &self.detected_type),
            ("loader_type", &self.loader_type),
            ("scanner", &self.scanner),
            ("sent", &self.sent),
            ("virus", &self.virus),
            ("detail", &self.detail),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_deref().map(|v| (key, v)))
    }
}

/// Cuts `text` to [`TEXT_MAX`] bytes at a character boundary, marking
/// the cut with `…`.
pub fn cap(text: &str) -> std::borrow::Cow<'_, str> {
    cap_at(text, TEXT_MAX)
}

/// `text` cut to at most `max` bytes at a character boundary, `…` added.
fn cap_at(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text.get(..end).unwrap_or("")).into()
}

fn capped<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&cap(value))
}

fn capped_optional<S: Serializer>(
    value: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_some(&cap(v)),
        None => s.serialize_none(),
    }
}

/// Most notes (`skipped`) one document lists; the rest are counted in
/// one last note. With [`MATCH_BYTES`] and the cap on every value, any
/// one document stays below 256 KiB, whatever the message holds.
pub const MAX_NOTES: usize = 50;

/// Most bytes the matches of one document take, all conditions together
/// (each value counted as capped at [`TEXT_MAX`]); matches past it are
/// counted in a note, not listed.
pub const MATCH_BYTES: usize = 128 << 10;

/// Longest note (`skipped`) written, in bytes.
pub const NOTE_MAX: usize = 1024;

fn capped_list<S: Serializer>(
    values: &[String],
    s: S,
) -> Result<S::Ok, S::Error> {
    let shown = values.iter().take(MAX_NOTES).map(|v| cap_at(v, NOTE_MAX));
    let more = values.len().saturating_sub(MAX_NOTES);
    let tail = (more > 0).then(|| format!("{more} more notes not listed"));
    s.collect_seq(shown.chain(tail.map(std::borrow::Cow::Owned)))
}

fn millis<S: Serializer>(seconds: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((seconds * 1000.0).round() / 1000.0)
}

/// Any YAML scalar as text; null is empty.
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

/// [`scalar`], empty as `None`.
fn optional<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let text = scalar(d)?;
    Ok(if text.is_empty() { None } else { Some(text) })
}

impl Report {
    /// The document as written to qmvc.rep, `save/` and `inspect/`:
    /// starting `---`, ending in a newline.
    pub fn document(&self) -> String {
        let body = serde_yaml::to_string(self)
            .unwrap_or_else(|e| format!("error: \"cannot serialise: {e}\"\n"));
        let body = body.strip_prefix("---\n").unwrap_or(&body);
        format!("---\n{body}")
    }

    /// The day of its time field.
    pub fn day(&self) -> Option<Day> {
        day_and_hour(&self.time).map(|(day, _)| day)
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
        self.conditions().any(|c| BADMAIL.contains(&c))
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

/// Calls `each` for every report in `reader` (the file `path`, named in
/// errors), in order.
pub fn for_each(
    reader: &mut dyn BufRead,
    path: &Path,
    mut each: impl FnMut(Report),
) -> Result<ReadSummary, Error> {
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
    while read::next_line(reader, &mut line, path)? {
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

    fn read(text: &str) -> (Vec<Report>, ReadSummary) {
        let mut reader = text.as_bytes();
        let mut got = Vec::new();
        let summary =
            for_each(&mut reader, Path::new("qmvc.rep"), |r| got.push(r))
                .unwrap();
        (got, summary)
    }

    #[test]
    fn reads_documents_and_skips_damaged_ones() {
        let (got, summary) = read(REP);
        assert_eq!(summary, ReadSummary { reports: 2, damaged: 1 });
        let first = &got[0];
        assert!(first.is_virus() && first.is_bad());
        assert_eq!(first.subject, "123");
        assert_eq!(
            first.conditions[0].matches[0].filename.as_deref(),
            Some("<script>alert(1)</script>.exe")
        );
        assert_eq!(
            first.conditions[1].matches[0].virus.as_deref(),
            Some("Eicar-Test-Signature")
        );
        assert_eq!(first.day().unwrap().to_string(), "2026-11-22");
        assert_eq!(got[1].subject, "42");
        assert!(got[1].day().is_none());
    }

    #[test]
    fn what_is_written_reads_back() {
        let report = Report {
            time: "2026-11-22T10:00:00+01:00".into(),
            result: "badfilename".into(),
            action: "block".into(),
            seconds: 0.0123,
            size: 783,
            subject: "yes".into(),
            sender: "x".repeat(TEXT_MAX + 10),
            recipient: "joe@example.com".into(),
            conditions: vec![Hit {
                condition: "badfilename".into(),
                action: "block".into(),
                rule: "filters:2".into(),
                reactions: Vec::new(),
                matches: vec![Match {
                    pattern: Some("*.exe".into()),
                    filename: Some("invoice.exe".into()),
                    ..Match::default()
                }],
            }],
            ..Report::default()
        };
        let text = report.document();
        assert!(text.starts_with("---\ntime: "), "{text}");
        assert!(text.contains("seconds: 0.012\n"), "{text}");
        assert!(!text.contains("skipped"), "{text}");
        assert!(!text.contains("reactions"), "{text}");
        assert!(!text.contains("virus"), "{text}");
        let (got, summary) = read(&format!("{text}{text}"));
        assert_eq!(summary.reports, 2);
        let back = &got[0];
        assert_eq!(back.subject, "yes");
        assert!(back.sender.len() <= TEXT_MAX + 3);
        assert_eq!(back.conditions[0].matches, report.conditions[0].matches);
        assert!(back.client.is_none());
    }

    #[test]
    fn the_client_is_capped_and_reads_back() {
        let env = |name: &str| match name {
            "TCPREMOTEIP" => Some("192.0.2.7".to_string()),
            "TCPREMOTEHOST" => Some("h".repeat(1000)),
            "TCPREMOTEINFO" => Some("joe\nbcc: x".to_string()),
            "RELAYCLIENT" => Some(String::new()),
            _ => None,
        };
        let client = Client::from_vars(env).unwrap();
        assert!(client.host.len() <= CLIENT_MAX + 3);
        assert!(client.relayclient);
        assert!(Client::from_vars(|_| None).is_none());
        let report =
            Report { client: Some(client.clone()), ..Report::default() };
        let text = report.document();
        assert!(text.contains("ip: 192.0.2.7\n"), "{text}");
        let (got, _) = read(&text);
        assert_eq!(got[0].client.as_ref(), Some(&client));
    }

    #[test]
    fn spam_results_read_back() {
        let spam = Spam {
            engine: "spamd (A)".into(),
            score: "-0.0".into(),
            required: "5.0".into(),
            spam: false,
            user: "alice".into(),
            engine_action: String::new(),
            symbols: vec!["GTUBE".into(), "NO_RELAYS".into()],
            rung: "filters:3 inspect".into(),
        };
        let report = Report { spam: vec![spam.clone()], ..Report::default() };
        let text = report.document();
        assert!(text.contains("score: '-0.0'\n"), "{text}");
        assert!(!text.contains("engine_action"), "{text}");
        let (got, _) = read(&text);
        assert_eq!(got[0].spam, vec![spam]);
        assert!(!Report::default().document().contains("spam"));
    }
}
