/*!
`limits`: resource bounds, one `key=value` a line.
*/

use std::time::Duration;

use crate::lines::{entries, Sink};

/// Everything `limits` sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Bounds for the message model.
    pub message: qmvc_message::Limits,
    /// How long a badbodytexts command may run.
    pub command_timeout: Duration,
    /// qmvc-queue: the largest message it accepts (`queuesize`); `None`,
    /// the default, leaves the bound to qmail-smtpd's `databytes`.
    pub queue_size: Option<u64>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            message: qmvc_message::Limits::default(),
            command_timeout: Duration::from_secs(30),
            queue_size: None,
        }
    }
}

/// The unit of a setting's value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Bytes, with an optional `K`, `M` or `G` suffix (powers of 1024).
    Bytes,
    /// A plain count.
    Count,
    /// Seconds, with an optional `s` or `m` suffix.
    Seconds,
}

/// One key of `limits`.
struct Key {
    name: &'static str,
    unit: Unit,
    /// The smallest sensible value.
    min: u64,
    /// The largest allowed value: nesting depths bound recursion.
    max: u64,
    set: fn(&mut Settings, u64),
    /// The value in effect (`None`: no bound).
    get: fn(&Settings) -> Option<u64>,
}

/// Sets a `usize` field; values beyond `usize` were refused before.
fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Every key of `limits`.
const KEYS: [Key; 9] = [
    Key {
        name: "scansize",
        unit: Unit::Bytes,
        min: 1,
        max: u64::MAX,
        set: |s, v| s.message.scan_size = to_usize(v),
        get: |s| Some(s.message.scan_size as u64),
    },
    Key {
        name: "mimedepth",
        unit: Unit::Count,
        min: 1,
        max: 1000,
        set: |s, v| s.message.mime_depth = to_usize(v),
        get: |s| Some(s.message.mime_depth as u64),
    },
    Key {
        name: "parts",
        unit: Unit::Count,
        min: 1,
        max: u64::MAX,
        set: |s, v| s.message.parts = to_usize(v),
        get: |s| Some(s.message.parts as u64),
    },
    Key {
        name: "archivemembers",
        unit: Unit::Count,
        min: 0,
        max: u64::MAX,
        set: |s, v| s.message.archive_members = to_usize(v),
        get: |s| Some(s.message.archive_members as u64),
    },
    Key {
        name: "archivedepth",
        unit: Unit::Count,
        min: 0,
        max: 16,
        set: |s, v| s.message.archive_depth = to_usize(v),
        get: |s| Some(s.message.archive_depth as u64),
    },
    Key {
        name: "archivemembersize",
        unit: Unit::Bytes,
        min: 0,
        max: u64::MAX,
        set: |s, v| s.message.archive_member_size = to_usize(v),
        get: |s| Some(s.message.archive_member_size as u64),
    },
    Key {
        name: "archivebytes",
        unit: Unit::Bytes,
        min: 0,
        max: u64::MAX,
        set: |s, v| s.message.archive_bytes = to_usize(v),
        get: |s| Some(s.message.archive_bytes as u64),
    },
    Key {
        name: "commandtimeout",
        unit: Unit::Seconds,
        min: 1,
        max: u64::MAX,
        set: |s, v| s.command_timeout = Duration::from_secs(v),
        get: |s| Some(s.command_timeout.as_secs()),
    },
    Key {
        name: "queuesize",
        unit: Unit::Bytes,
        min: 1,
        max: u64::MAX,
        set: |s, v| s.queue_size = Some(v),
        get: |s| s.queue_size,
    },
];

/// Every key with the value `settings` give it, as `limits` would set
/// it (bytes and seconds as plain numbers; `none` for no bound): what
/// `-C` shows as effective.
pub fn effective(settings: &Settings) -> Vec<(&'static str, String)> {
    KEYS.iter()
        .map(|key| {
            let value = (key.get)(settings)
                .map_or_else(|| "none".to_string(), |v| v.to_string());
            (key.name, value)
        })
        .collect()
}

/// The keys, for messages.
const KEY_WORDS: &str = "scansize, mimedepth, parts, archivemembers, \
     archivedepth, archivemembersize, archivebytes, commandtimeout, queuesize";

/// Parses `limits` over the defaults. A later line for the same key wins;
/// lint reports the repetition.
pub(crate) fn parse(text: &str, sink: &mut Sink<'_>) -> Settings {
    let mut settings = Settings::default();
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (line, entry) in entries(text) {
        let Some((key, value)) = entry.split_once('=') else {
            sink.report(
                line,
                format!(
                    "\"{entry}\" is not a setting (expected KEY=VALUE, e.g. \
                     scansize=32M)"
                ),
            );
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let Some(spec) =
            KEYS.iter().find(|k| k.name.eq_ignore_ascii_case(key))
        else {
            sink.report(
                line,
                format!("unknown limit \"{key}\" (expected {KEY_WORDS})"),
            );
            continue;
        };
        let name = spec.name;
        let Some(number) = parse_value(spec.unit, value) else {
            let expected = match spec.unit {
                Unit::Bytes => {
                    "a number of bytes with an optional K, M or G suffix, \
                     e.g. 32M"
                }
                Unit::Count => "a whole number",
                Unit::Seconds => {
                    "a number of seconds with an optional s or m suffix, \
                     e.g. 30s or 2m"
                }
            };
            sink.report(
                line,
                format!(
                    "bad value \"{value}\" for {name} (expected {expected})"
                ),
            );
            continue;
        };
        if number < spec.min {
            sink.report(
                line,
                format!(
                    "{name} must be at least {}; remove the line for the \
                     default",
                    spec.min
                ),
            );
            continue;
        }
        if number > spec.max || usize::try_from(number).is_err() {
            let max = spec.max.min(usize::MAX as u64);
            sink.report(
                line,
                format!("{name} must be at most {max}; use a smaller value"),
            );
            continue;
        }
        sink.setting(&mut seen, name, line);
        (spec.set)(&mut settings, number);
    }
    settings
}

/// A value in its base unit (bytes or seconds); `None` when malformed or
/// too big.
fn parse_value(unit: Unit, value: &str) -> Option<u64> {
    let digits =
        value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, suffix) = value.split_at(digits);
    if number.is_empty() {
        return None;
    }
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match (unit, suffix.to_ascii_lowercase().as_str()) {
        (_, "") => 1,
        (Unit::Bytes, "k") => 1 << 10,
        (Unit::Bytes, "m") => 1 << 20,
        (Unit::Bytes, "g") => 1 << 30,
        (Unit::Seconds, "s") => 1,
        (Unit::Seconds, "m") => 60,
        _ => return None,
    };
    number.checked_mul(factor)
}
