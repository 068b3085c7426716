/*!
Logs written by the tests for the aux programs: [`Entry`] is one message
as qmvc would have logged it, [`write`] appends entries to a layer's
`log/qmvc.log` and `log/qmvc.rep` in qmvc-log(5) format (a qmvc.log line
for every entry, a qmvc.rep document for every entry that met a
condition).
*/
#![allow(dead_code)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util::{Dir, Layer};

/// Values from messages that must show as text on every page.
pub const HOSTILE: [&str; 2] =
    ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"];

/// One thing that matched.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Matched {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loader_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virus: Option<String>,
}

/// One condition met.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Hit {
    pub condition: String,
    pub action: String,
    pub rule: String,
    pub matches: Vec<Matched>,
}

/// One message as qmvc logs it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// ISO 8601 with zone, such as `2026-11-22T14:03:05+01:00`.
    pub time: String,
    pub errormail: u32,
    pub action: String,
    pub scanners: String,
    pub seconds: f64,
    pub size: u64,
    pub sender: String,
    pub recipient: String,
    pub message_id: String,
    pub subject: String,
    /// Empty for a clear message.
    pub hits: Vec<Hit>,
}

impl Entry {
    /// A clear message at `time`.
    pub fn clear(time: &str) -> Entry {
        Entry {
            time: time.to_string(),
            errormail: 0,
            action: "pass".into(),
            scanners: "C".into(),
            seconds: 0.012,
            size: 2048,
            sender: "alice@example.net".into(),
            recipient: "bob@example.org".into(),
            message_id: "<1@example.net>".into(),
            subject: "Hello".into(),
            hits: Vec::new(),
        }
    }

    /// A virusmail found by clamd (initial C).
    pub fn virus(time: &str, sender: &str, virus: &str) -> Entry {
        let mut e = Entry::clear(time);
        e.sender = sender.into();
        e.action = "block".into();
        e.hits.push(Hit {
            condition: "virusmail".into(),
            action: "block".into(),
            rule: "/var/qmvc/control/filters:7".into(),
            matches: vec![Matched {
                scanner: Some("C".into()),
                virus: Some(virus.into()),
                part: Some("2".into()),
                filename: Some("eicar.com".into()),
                ..Matched::default()
            }],
        });
        e
    }

    /// A badfilename match of `filename` (pattern `*.exe`).
    pub fn bad_file(time: &str, sender: &str, filename: &str) -> Entry {
        let mut e = Entry::clear(time);
        e.sender = sender.into();
        e.action = "block".into();
        e.hits.push(Hit {
            condition: "badfilename".into(),
            action: "block".into(),
            rule: "/var/qmvc/control/filters:3".into(),
            matches: vec![Matched {
                pattern: Some("*.exe".into()),
                origin: Some("/var/qmvc/control/badfilenames:1".into()),
                part: Some("2".into()),
                filename: Some(filename.into()),
                detected_type: Some("application/x-msdownload".into()),
                loader_type: Some("PE32".into()),
                ..Matched::default()
            }],
        });
        e
    }

    /// Field 2 of qmvc.log.
    pub fn result(&self) -> String {
        if self.hits.is_empty() {
            return "clear".into();
        }
        let names: Vec<&str> =
            self.hits.iter().map(|h| h.condition.as_str()).collect();
        names.join("+")
    }

    /// The qmvc.log line, with its newline.
    pub fn log_line(&self) -> String {
        let fields = [
            self.time.clone(),
            self.result(),
            self.errormail.to_string(),
            self.action.clone(),
            self.scanners.clone(),
            format!("{:.3}", self.seconds),
            self.size.to_string(),
            self.sender.clone(),
            self.recipient.clone(),
            self.message_id.clone(),
            self.subject.clone(),
        ];
        let fields: Vec<String> = fields.iter().map(|f| field(f)).collect();
        format!("{}\n", fields.join("\t"))
    }

    /// The qmvc.rep document, for an entry that met a condition.
    pub fn rep_document(&self) -> Option<String> {
        if self.hits.is_empty() {
            return None;
        }
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            time: &'a str,
            result: String,
            errormail: u32,
            action: &'a str,
            scanners: &'a str,
            seconds: f64,
            size: u64,
            sender: &'a str,
            recipient: &'a str,
            message_id: &'a str,
            subject: &'a str,
            conditions: &'a [Hit],
        }
        let doc = Doc {
            time: &self.time,
            result: self.result(),
            errormail: self.errormail,
            action: &self.action,
            scanners: &self.scanners,
            seconds: self.seconds,
            size: self.size,
            sender: &self.sender,
            recipient: &self.recipient,
            message_id: &self.message_id,
            subject: &self.subject,
            conditions: &self.hits,
        };
        Some(format!("---\n{}", serde_yaml::to_string(&doc).unwrap()))
    }
}

/// A qmvc.log field: white space and controls folded to `_`, `-` when
/// empty (qmvc-log(5)).
fn field(value: &str) -> String {
    let f: String = value
        .chars()
        .map(|c| if c.is_whitespace() || c.is_control() { '_' } else { c })
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f
    }
}

/// Appends `entries` to `LAYER/log/qmvc.log` and `LAYER/log/qmvc.rep`.
pub fn write(layer: &Path, entries: &[Entry]) {
    let dir = layer.join("log");
    fs::create_dir_all(&dir).unwrap();
    let open = |name: &str| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
            .unwrap()
    };
    let mut log = open("qmvc.log");
    let mut rep = open("qmvc.rep");
    for entry in entries {
        log.write_all(entry.log_line().as_bytes()).unwrap();
        if let Some(doc) = entry.rep_document() {
            rep.write_all(doc.as_bytes()).unwrap();
        }
    }
}

/// A time field of `day` (`YYYY-MM-DD`) at `hms`, zone +01:00.
pub fn at(day: &str, hms: &str) -> String {
    format!("{day}T{hms}+01:00")
}

/// `NAME` in the system layer's `html/`.
pub fn html(dir: &Dir, name: &str) -> PathBuf {
    dir.layer(Layer::System).join("html").join(name)
}

/// A file's text; the panic names the file.
pub fn read(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The file names in the system layer's `html/`, sorted.
pub fn html_names(dir: &Dir) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir.layer(Layer::System).join("html"))
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Panics unless a summary card of `page` shows `n` over `label`.
#[track_caller]
pub fn assert_card(page: &str, label: &str, n: u64) {
    let card = format!("<b>{n}</b><span>{label}</span>");
    assert!(page.contains(&card), "no {card:?} in the page");
}

/// Today's local date as `YYYY-MM-DD` (what `-c` reports).
pub fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

/// A time field today at `hh:mm:ss`, in the local zone.
pub fn today_at(hms: &str) -> String {
    let now = chrono::Local::now();
    format!("{}T{hms}{}", now.format("%Y-%m-%d"), now.format("%:z"))
}
