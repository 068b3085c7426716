/*!
`scanners` and `scanners.d/ENGINE.yaml`: which virus scanners run, in which
order, and how each engine is reached and understood.

This module has the types and the syntax of `scanners`:
`Engine ; Initial ; Full name ; Comment`, at most four lines, and puts each
line together with the definition of its engine (parsed in
[`crate::definitions`]) when the profile is loaded.
*/

use std::path::PathBuf;
use std::time::Duration;

use crate::definitions::{self, is_engine_name};
use crate::lines::{entries, Sink};
use crate::load::Load;
use crate::{Error, Origin, Source, BUILT_IN_ENGINES};

/// What to do when a scanner fails, or cannot scan a message fully.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Defer the delivery (exit 111) with a line in qmvc.error.
    Tempfail,
    /// Deliver as if the scanner had found nothing; record it.
    Pass,
    /// Treat the message as virusmail.
    Block,
}

impl Policy {
    /// The keyword in engine definitions and the logs.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Tempfail => "tempfail",
            Policy::Pass => "pass",
            Policy::Block => "block",
        }
    }
}

/// Where a clamd listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `tcp:HOST:PORT` (`tcp:[::1]:3310` for IPv6 literals).
    Tcp {
        /// Host name or address literal, without brackets.
        host: String,
        /// Port.
        port: u16,
    },
}

/// What a command-line engine is handed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The message as one file (mode 0600) in the layer's `tmp/`.
    File,
    /// A private directory in `tmp/` holding the message file.
    Directory,
}

/// Whether clamd is handed the message's file descriptor (`FILDES`)
/// rather than its bytes (`INSTREAM`): the key `fildes` of a clamd
/// definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fildes {
    /// `FILDES` when the message is a regular file and the endpoint a
    /// unix socket; `INSTREAM` otherwise.
    Auto,
    /// Always `INSTREAM`.
    Never,
}

/// How an engine is asked.
#[derive(Clone, Debug)]
pub enum Method {
    /// The clamd protocol: `zFILDES` or `zINSTREAM` of the raw message
    /// to the first endpoint that accepts a connection.
    Clamd {
        /// Endpoints, tried in order.
        endpoints: Vec<Endpoint>,
        /// How long a connection attempt to one endpoint may take.
        connect_timeout: Duration,
        /// Whether the message's descriptor may be passed.
        fildes: Fildes,
    },
    /// A command line run without a shell.
    Command {
        /// Program and arguments; the argument `{}` is replaced by the
        /// path of the file or directory to scan.
        argv: Vec<String>,
        /// File or directory.
        target: Target,
        /// Exit codes meaning clean.
        clean: Vec<i32>,
        /// Exit codes meaning infected.
        infected: Vec<i32>,
        /// Applied to each line of the output (stdout and stderr): the
        /// first capture group of a matching line is a virus name.
        virus: Option<regex::Regex>,
    },
    /// SpamAssassin's spamd: SPAMC/1.5 to the first endpoint that
    /// accepts a connection (a spam engine: `spamscanners` only).
    Spamd {
        /// Endpoints, tried in order.
        endpoints: Vec<Endpoint>,
        /// How long a connection attempt to one endpoint may take.
        connect_timeout: Duration,
    },
    /// rspamd: `POST /checkv2` to the first endpoint that accepts a
    /// connection (a spam engine: `spamscanners` only).
    Rspamd {
        /// Endpoints, tried in order.
        endpoints: Vec<Endpoint>,
        /// How long a connection attempt to one endpoint may take.
        connect_timeout: Duration,
    },
}

impl Method {
    /// Whether this is a spam engine (`spamscanners`, the condition
    /// spammail) rather than a virus engine (`scanners`, virusmail).
    pub fn is_spam(&self) -> bool {
        matches!(self, Method::Spamd { .. } | Method::Rspamd { .. })
    }

    /// The `protocol:` keyword of the definition.
    pub fn protocol(&self) -> &'static str {
        match self {
            Method::Clamd { .. } => "clamd",
            Method::Command { .. } => "command",
            Method::Spamd { .. } => "spamd",
            Method::Rspamd { .. } => "rspamd",
        }
    }
}

/// The longest spam user (SPEC 8).
pub const MAX_SPAM_USER: usize = 64;

/// Whether `user` may be sent to a spam engine as its user (spamd and
/// rspamd `User:`): only `A-Za-z0-9.+_@-`, at most 64 bytes (SPEC 8).
/// The one owner of that rule: the name is attacker-influenced (a local
/// part, a recipient address), and a CR or LF in it could truncate what
/// spamd scans. The empty name (no user) passes.
pub fn spam_user_ok(user: &str) -> bool {
    user.len() <= MAX_SPAM_USER
        && user.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'+' | b'_' | b'@' | b'-')
        })
}

/// An engine definition, `scanners.d/ENGINE.yaml`.
#[derive(Clone, Debug)]
pub struct EngineDef {
    /// How the engine is asked.
    pub method: Method,
    /// How long one scan may take (read time-out for clamd).
    pub timeout: Duration,
    /// What to do when the scanner fails or times out.
    pub on_error: Policy,
    /// What to do with a message the scanner says it could not scan
    /// fully (names in `unscanned`).
    pub on_unscanned: Policy,
    /// Globs (case-sensitive, `*` any run) of names that mean "not
    /// scanned" rather than a virus, e.g. `Heuristics.Limits.Exceeded*`.
    pub unscanned: Vec<String>,
    /// A command (no shell) printing the engine and signature version,
    /// for `qmvc -s`; clamd is asked with `VERSION` instead.
    pub version: Option<Vec<String>>,
    /// The definition file, as shown to the user.
    pub file: String,
    /// Spam engines: the largest message sent, in bytes; a larger one is
    /// not scanned for spam (as spamc, 512000 by default).
    pub max_size: u64,
    /// Spam engines: the user sent when the delivery has no usable one
    /// of its own (see [`EngineDef::spam_user`]); empty for none.
    pub user: String,
}

impl EngineDef {
    /// The user to send to this spam engine for the delivery's
    /// `candidate` (the recipient's local part, or the one recipient of a
    /// queue-mode group): the candidate when [`spam_user_ok`] accepts it
    /// and it is not empty, else the definition's `user`.
    pub fn spam_user<'a>(&'a self, candidate: Option<&'a str>) -> &'a str {
        match candidate {
            Some(user) if !user.is_empty() && spam_user_ok(user) => user,
            _ => &self.user,
        }
    }
}

/// A line of `scanners` or `spamscanners`.
#[derive(Clone, Debug)]
pub struct Scanner {
    /// The engine name: its definition is `scanners.d/ENGINE.yaml`.
    pub engine: String,
    /// One letter for qmvc.log.
    pub initial: char,
    /// The full name, for reports.
    pub full_name: String,
    /// The engine's definition.
    pub definition: EngineDef,
    /// Where the line is.
    pub origin: Origin,
}

/// At most this many scanners run.
pub(crate) const MAX_SCANNERS: usize = 4;

/// The fields of a `scanners` line, for messages.
const SYNTAX: &str = "expected Engine ; Initial ; Full name ; Comment, \
                      e.g. clamd ; C ; ClamAV daemon ;";

/// A line of `scanners` whose engine is still to be looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScannerLine {
    /// The engine name.
    pub(crate) engine: String,
    /// The letter for qmvc.log.
    pub(crate) initial: char,
    /// The full name (the engine name when the field is empty).
    pub(crate) full_name: String,
    /// The line number.
    pub(crate) line: usize,
}

/// Parses `scanners`. Fields are separated by `;` or `|`; the Comment is
/// the rest of the line and is ignored. A bad line, a line naming an
/// engine or an initial again, and every line after the fourth are
/// reported and left out.
pub(crate) fn parse(text: &str, sink: &mut Sink<'_>) -> Vec<ScannerLine> {
    let mut lines: Vec<ScannerLine> = Vec::new();
    for (count, (line, entry)) in entries(text).enumerate() {
        if count >= MAX_SCANNERS {
            sink.report(
                line,
                format!(
                    "more than {MAX_SCANNERS} scanner lines; at most \
                     {MAX_SCANNERS} scanners run: remove this line or an \
                     earlier one"
                ),
            );
            continue;
        }
        let Some(new) = parse_line(line, entry, sink) else { continue };
        if let Some(first) = lines.iter().find(|l| l.engine == new.engine) {
            sink.report(
                line,
                format!(
                    "engine {} is listed again (also on line {}); remove \
                     this line",
                    new.engine, first.line
                ),
            );
            continue;
        }
        let same_initial = lines
            .iter()
            .find(|l| l.initial.eq_ignore_ascii_case(&new.initial));
        if let Some(first) = same_initial {
            sink.report(
                line,
                format!(
                    "initial {} is taken by {} (line {}); give each \
                     scanner its own letter",
                    new.initial, first.engine, first.line
                ),
            );
            continue;
        }
        lines.push(new);
    }
    lines
}

/// One line of `scanners`.
fn parse_line(
    line: usize,
    entry: &str,
    sink: &mut Sink<'_>,
) -> Option<ScannerLine> {
    let mut fields = entry.splitn(4, [';', '|']).map(str::trim);
    let engine = fields.next().unwrap_or("");
    let initial = fields.next().unwrap_or("");
    let full_name = fields.next().unwrap_or("");
    if engine.is_empty() {
        sink.report(line, format!("missing engine ({SYNTAX})"));
        return None;
    }
    if !is_engine_name(engine) {
        sink.report(
            line,
            format!(
                "bad engine name \"{engine}\" (expected lower-case \
                 letters, digits, _ and -: the name of its definition \
                 scanners.d/ENGINE.yaml, e.g. clamd)"
            ),
        );
        return None;
    }
    let mut letters = initial.chars();
    let initial = match (letters.next(), letters.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => c,
        (None, _) => {
            sink.report(line, format!("missing initial ({SYNTAX})"));
            return None;
        }
        _ => {
            sink.report(
                line,
                format!(
                    "bad initial \"{initial}\" (expected one ASCII letter \
                     for qmvc.log, e.g. C)"
                ),
            );
            return None;
        }
    };
    let full_name =
        if full_name.is_empty() { engine } else { full_name }.to_owned();
    Some(ScannerLine { engine: engine.to_owned(), initial, full_name, line })
}

/// What looking up an engine's definition found.
enum Definition {
    /// No layer has one, and none ships.
    Missing,
    /// One with problems (reported), or one that could not be read
    /// (reported, for lint).
    Broken,
    /// A usable one.
    Good(Box<EngineDef>),
}

/// Parses `scanners` from `source` and reads the definition of each
/// engine it names into the profile: virus engines only.
pub(crate) fn load(cx: &mut Load<'_>, source: &Source) -> Result<(), Error> {
    load_kind(cx, source, false)
}

/// Parses `spamscanners` from `source` and reads the definition of each
/// engine it names into the profile: spam engines only.
pub(crate) fn load_spam(
    cx: &mut Load<'_>,
    source: &Source,
) -> Result<(), Error> {
    load_kind(cx, source, true)
}

/// Parses `scanners` (`spam` false) or `spamscanners` (`spam` true) and
/// reads the definition of each engine it names. An engine of the other
/// kind is reported at its line and left out: a spam engine cannot say
/// "virus", nor a virus engine give a score.
fn load_kind(
    cx: &mut Load<'_>,
    source: &Source,
    spam: bool,
) -> Result<(), Error> {
    let lines = parse(&source.text, &mut cx.sink(&source.file));
    for line in lines {
        cx.named_engines.push(line.engine.clone());
        let programs = cx.lint;
        match definition(cx, &line.engine, programs)? {
            Definition::Good(definition)
                if definition.method.is_spam() != spam =>
            {
                let (kind, file) = if spam {
                    ("a virus engine", "scanners")
                } else {
                    ("a spam engine", "spamscanners")
                };
                cx.sink(&source.file).report(
                    line.line,
                    format!(
                        "engine {} is {kind} (protocol: {}, {}); list it \
                         in {file} instead",
                        line.engine,
                        definition.method.protocol(),
                        definition.file
                    ),
                );
            }
            Definition::Good(definition) => {
                let scanner = Scanner {
                    engine: line.engine,
                    initial: line.initial,
                    full_name: line.full_name,
                    definition: *definition,
                    origin: Origin {
                        file: source.file.clone(),
                        line: line.line,
                    },
                };
                if spam {
                    cx.profile.spamscanners.push(scanner);
                } else {
                    cx.profile.scanners.push(scanner);
                }
            }
            Definition::Broken => {}
            Definition::Missing => cx.sink(&source.file).report(
                line.line,
                format!(
                    "no definition for engine {0}: write one to \
                     control/scanners.d/{0}.yaml (see qmvc-scanners(5); \
                     shipped: {1})",
                    line.engine,
                    shipped_names()
                ),
            ),
        }
    }
    Ok(())
}

/// Lint: the definition of every shipped engine that `scanners` does not
/// name, from whichever layer provides it.
pub(crate) fn lint_shipped(cx: &mut Load<'_>) -> Result<(), Error> {
    for &(engine, _) in BUILT_IN_ENGINES {
        if !cx.named_engines.iter().any(|n| n == engine) {
            definition(cx, engine, false)?;
        }
    }
    Ok(())
}

/// The names of the shipped engines, for messages.
fn shipped_names() -> String {
    let names: Vec<&str> = BUILT_IN_ENGINES.iter().map(|(n, _)| *n).collect();
    names.join(", ")
}

/// Reads and parses the definition of `engine`; `programs`: check that
/// its programs exist.
fn definition(
    cx: &mut Load<'_>,
    engine: &str,
    programs: bool,
) -> Result<Definition, Error> {
    let source = match cx.layers.read_engine(engine) {
        Ok(Some(source)) => source,
        Ok(None) => return Ok(Definition::Missing),
        Err(e) => {
            cx.lint_or_fail(e)?;
            return Ok(Definition::Broken);
        }
    };
    let mut sink = cx.sink(&source.file);
    Ok(match definitions::parse(&source.text, &mut sink, programs) {
        Some(definition) => Definition::Good(Box::new(definition)),
        None => Definition::Broken,
    })
}
