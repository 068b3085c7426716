/*!
`scanners.d/ENGINE.yaml`: engine definitions.

A definition is a YAML mapping read with serde into [`RawDefinition`],
which knows every key and refuses any other, then checked and turned into
an [`EngineDef`]. serde stops at the first error it meets, and reports
where; a key with a bad value is reported at the line of the key, found in
the text (a key of the top-level mapping starts its line). Any problem
makes the definition unusable; only the lint check that a program exists
does not, since a program can be installed after the profile is written:
in a delivery a missing program is a scanner failure at scan time.

The definitions shipped in `control-defaults/scanners.d/` are compiled in
([`BUILT_IN_ENGINES`]) and used when no layer has the file.
*/

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::time::Duration;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::command::find_program;
use crate::lines::Sink;
use crate::text::{brief, DFA_SIZE_LIMIT, REGEX_SIZE_LIMIT};
use crate::{Endpoint, EngineDef, Method, Policy, Problem, Target};

/// The engine definitions shipped with qmvc, `(engine, YAML text)`:
/// `control-defaults/scanners.d/ENGINE.yaml`, compiled in.
pub const BUILT_IN_ENGINES: &[(&str, &str)] = &[
    ("clamd", include_str!("../../../control-defaults/scanners.d/clamd.yaml")),
    (
        "clamdscan",
        include_str!("../../../control-defaults/scanners.d/clamdscan.yaml"),
    ),
    (
        "clamscan",
        include_str!("../../../control-defaults/scanners.d/clamscan.yaml"),
    ),
    (
        "sophos",
        include_str!("../../../control-defaults/scanners.d/sophos.yaml"),
    ),
    (
        "fsecure",
        include_str!("../../../control-defaults/scanners.d/fsecure.yaml"),
    ),
    (
        "mcafee",
        include_str!("../../../control-defaults/scanners.d/mcafee.yaml"),
    ),
    ("eset", include_str!("../../../control-defaults/scanners.d/eset.yaml")),
    ("drweb", include_str!("../../../control-defaults/scanners.d/drweb.yaml")),
    ("avast", include_str!("../../../control-defaults/scanners.d/avast.yaml")),
    (
        "bitdefender",
        include_str!("../../../control-defaults/scanners.d/bitdefender.yaml"),
    ),
    (
        "kaspersky",
        include_str!("../../../control-defaults/scanners.d/kaspersky.yaml"),
    ),
];

/// The built-in definition of `engine`, if one ships.
pub(crate) fn built_in(engine: &str) -> Option<&'static str> {
    BUILT_IN_ENGINES.iter().find(|(name, _)| *name == engine).map(|(_, t)| *t)
}

/// Whether `name` is an engine name: `[a-z0-9_-]+`.
pub(crate) fn is_engine_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'_'
                || b == b'-'
        })
}

/// Every key, for messages.
const KEYS: &str = "protocol, endpoints, connect_timeout, command, target, \
                    clean, infected, virus, timeout, on_error, \
                    on_unscanned, unscanned, version";

/// The keys only a clamd definition may have.
const CLAMD_KEYS: [&str; 2] = ["endpoints", "connect_timeout"];

/// The keys only a command definition may have.
const COMMAND_KEYS: [&str; 6] =
    ["command", "target", "clean", "infected", "virus", "version"];

/// The longest time-out, in seconds: an hour.
const MAX_SECONDS: u64 = 3600;

/// The placeholder argument for the path to scan.
const PLACEHOLDER: &str = "{}";

/// Defaults (see qmvc-scanners(5)).
const CLAMD_TIMEOUT: u64 = 60;
const COMMAND_TIMEOUT: u64 = 120;
const CONNECT_TIMEOUT: u64 = 5;
const CLAMD_UNSCANNED: [&str; 2] =
    ["Heuristics.Limits.Exceeded*", "Heuristics.Encrypted.*"];

/// A definition as written: every key optional, no other key allowed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    protocol: Option<String>,
    endpoints: Option<Vec<String>>,
    connect_timeout: Option<u64>,
    command: Option<Vec<String>>,
    target: Option<String>,
    clean: Option<Vec<i64>>,
    infected: Option<Vec<i64>>,
    virus: Option<String>,
    timeout: Option<u64>,
    on_error: Option<String>,
    on_unscanned: Option<String>,
    unscanned: Option<Vec<String>>,
    version: Option<Vec<String>>,
}

impl RawDefinition {
    /// Whether `key` is given.
    fn has(&self, key: &str) -> bool {
        match key {
            "endpoints" => self.endpoints.is_some(),
            "connect_timeout" => self.connect_timeout.is_some(),
            "command" => self.command.is_some(),
            "target" => self.target.is_some(),
            "clean" => self.clean.is_some(),
            "infected" => self.infected.is_some(),
            "virus" => self.virus.is_some(),
            "version" => self.version.is_some(),
            _ => false,
        }
    }
}

impl EngineDef {
    /// Parses the definition `text` (the YAML of `scanners.d/ENGINE.yaml`)
    /// shown as `file`, without the lint check that its programs exist.
    /// The problems when it is not usable.
    pub fn parse(text: &str, file: &str) -> Result<EngineDef, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut sink = Sink::new(file, &mut problems, false);
        match parse(text, &mut sink, false) {
            Some(definition) if problems.is_empty() => Ok(definition),
            _ => Err(problems),
        }
    }
}

/// Parses the definition `text` of the file `sink` reports for. `programs`:
/// check that the programs it runs exist (lint, for an engine that
/// `scanners` names). `None` when the definition has a problem.
pub(crate) fn parse(
    text: &str,
    sink: &mut Sink<'_>,
    programs: bool,
) -> Option<EngineDef> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw: RawDefinition = match serde_yaml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let (line, message) = yaml_problem(text, &e);
            sink.report(line, message);
            return None;
        }
    };
    let mut check = Check { text, sink, ok: true, checked: None };
    let definition = check.definition(raw, programs);
    if check.ok {
        definition
    } else {
        None
    }
}

/// The line and the message for a serde_yaml error.
fn yaml_problem(text: &str, e: &serde_yaml::Error) -> (usize, String) {
    let mut line = e.location().map_or(0, |l| l.line());
    let full = e.to_string();
    let message = strip_marks(&full);
    if let Some(key) = quoted_name(&message, "unknown field `") {
        let message = format!("unknown key \"{key}\" (expected {KEYS})");
        return (line, message);
    }
    if let Some(key) = quoted_name(&message, "duplicate field `") {
        // serde_yaml points at the start of the mapping: find the second.
        line = key_lines(text, key).nth(1).unwrap_or(line);
        let message = format!("{key} is given twice; keep one");
        return (line, message);
    }
    let placeholder = ["command", "version"]
        .iter()
        .any(|key| message.starts_with(&format!("{key}[")))
        && message.contains("invalid type: map, expected a string");
    if placeholder {
        let message = "quote the placeholder: write '{}' (unquoted, {} is \
                       an empty YAML mapping)"
            .to_owned();
        return (line, message);
    }
    let message = message
        .replace(", expected u64", ", expected a whole number")
        .replace(", expected i64", ", expected a whole number")
        .replace("expected a sequence", "expected a list, e.g. [0]")
        .replace(
            "expected struct RawDefinition",
            "expected a mapping of keys, e.g. protocol: clamd",
        );
    let hint = if message.contains("while scanning a plain scalar") {
        " (quote a value that holds ':', '[' or '{' inside a [...] list, \
         e.g. ['tcp:[::1]:3310'])"
    } else {
        ""
    };
    (line, format!("{message}{hint}; fix it (see qmvc-scanners(5))"))
}

/// `message` without serde_yaml's ` at line L column C` marks.
fn strip_marks(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " at line ".len()..];
        let digits =
            |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let n = digits(after);
        let tail = after[n..].strip_prefix(" column ");
        match tail {
            Some(tail) if n > 0 && digits(tail) > 0 => {
                rest = &tail[digits(tail)..];
            }
            _ => {
                out.push_str(" at line ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The name in `` prefix`NAME` `` at the start of `message`.
fn quoted_name<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// The lines (1-based) where the top-level key `key` starts.
fn key_lines<'t>(
    text: &'t str,
    key: &'t str,
) -> impl Iterator<Item = usize> + 't {
    text.lines().enumerate().filter_map(move |(index, line)| {
        let rest = line.strip_prefix(key)?;
        rest.trim_start().starts_with(':').then_some(index + 1)
    })
}

/// The line of the top-level key `key`; 0 when it cannot be found (the
/// file as a whole).
fn key_line(text: &str, key: &str) -> usize {
    key_lines(text, key).next().unwrap_or(0)
}

/// The line of the list item `item` of the key `key`: the first line
/// from the key's on, before the next key, that is the item (`- item`,
/// quoted or not), else that holds it (a flow list); else the key's line.
fn item_line(text: &str, key: &str, item: &str) -> usize {
    let start = key_line(text, key);
    if start == 0 {
        return 0;
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .skip(start - 1)
        .take_while(|&(index, line)| {
            index + 1 == start
                || !line.starts_with(|c: char| {
                    !c.is_whitespace() && c != '-' && c != '#'
                })
        })
        .map(|(index, line)| (index + 1, line))
        .collect();
    let is_item = |line: &str| {
        let value = line.trim_start().strip_prefix('-').map(str::trim);
        value.is_some_and(|v| {
            v == item
                || [('\'', '\''), ('"', '"')].iter().any(|&(open, close)| {
                    v.strip_prefix(open).and_then(|v| v.strip_suffix(close))
                        == Some(item)
                })
        })
    };
    lines
        .iter()
        .find(|(_, line)| is_item(line))
        .or_else(|| lines.iter().find(|(_, line)| line.contains(item)))
        .map_or(start, |&(number, _)| number)
}

/// Parses a policy keyword.
fn policy(word: &str) -> Option<Policy> {
    [Policy::Tempfail, Policy::Pass, Policy::Block]
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(word))
}

/// `s` without the ASCII prefix `prefix`, compared case-insensitively.
fn strip_prefix_ci<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// The endpoint forms, for messages.
const ENDPOINTS: &str = "expected unix:/PATH or tcp:HOST:PORT, e.g. \
                         unix:/var/run/clamav/clamd.ctl or \
                         tcp:127.0.0.1:3310";

/// Parses `unix:/PATH`, `tcp:HOST:PORT` or `tcp:[IPV6]:PORT`.
pub(crate) fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    if let Some(path) = strip_prefix_ci(s, "unix:") {
        if !path.starts_with('/') {
            return Err(format!(
                "bad endpoint \"{s}\": the socket path must be absolute \
                 ({ENDPOINTS})"
            ));
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    let Some(rest) = strip_prefix_ci(s, "tcp:") else {
        return Err(format!("bad endpoint \"{s}\" ({ENDPOINTS})"));
    };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let Some((host, port)) = bracketed.split_once("]:") else {
            return Err(format!(
                "bad endpoint \"{s}\": expected tcp:[IPV6]:PORT, e.g. \
                 tcp:[::1]:3310"
            ));
        };
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "bad endpoint \"{s}\": \"{host}\" is not an IPv6 address"
            ));
        }
        (host, port)
    } else {
        let Some((host, port)) = rest.rsplit_once(':') else {
            return Err(format!(
                "bad endpoint \"{s}\": the port is missing ({ENDPOINTS})"
            ));
        };
        if host.contains(':') {
            return Err(format!(
                "bad endpoint \"{s}\": write an IPv6 address in brackets, \
                 e.g. tcp:[::1]:3310"
            ));
        }
        let name = |b: u8| b.is_ascii_alphanumeric() || b"._-".contains(&b);
        if host.is_empty() || !host.bytes().all(name) {
            return Err(format!(
                "bad endpoint \"{s}\": \"{host}\" is not a host name or \
                 address ({ENDPOINTS})"
            ));
        }
        (host, port)
    };
    match port.parse::<u16>() {
        Ok(port) if port > 0 => {
            Ok(Endpoint::Tcp { host: host.to_owned(), port })
        }
        _ => Err(format!(
            "bad endpoint \"{s}\": \"{port}\" is not a port (expected 1 to \
             65535)"
        )),
    }
}

/// Checks a definition, reporting at the line of each key.
struct Check<'c, 's> {
    text: &'c str,
    sink: &'c mut Sink<'s>,
    /// No problem that makes the definition unusable so far.
    ok: bool,
    /// The program last checked for existence, so that a `version` run
    /// by the same program is not reported twice.
    checked: Option<String>,
}

impl Check<'_, '_> {
    /// Reports a problem with `key` at its line.
    fn fail(&mut self, key: &str, message: String) {
        let line = key_line(self.text, key);
        self.sink.report(line, message);
        self.ok = false;
    }

    /// Reports a problem with the item `item` of `key` at its line.
    fn fail_item(&mut self, key: &str, item: &str, message: String) {
        let line = item_line(self.text, key, item);
        self.sink.report(line, message);
        self.ok = false;
    }

    /// The definition, if it can be built (see [`Check::ok`] as well).
    fn definition(
        &mut self,
        raw: RawDefinition,
        programs: bool,
    ) -> Option<EngineDef> {
        let Some(protocol) = raw.protocol.as_deref() else {
            self.sink.report(
                0,
                "missing protocol (expected protocol: clamd or protocol: \
                 command; see qmvc-scanners(5))",
            );
            self.ok = false;
            return None;
        };
        let clamd = if protocol.eq_ignore_ascii_case("clamd") {
            true
        } else if protocol.eq_ignore_ascii_case("command") {
            false
        } else {
            self.fail(
                "protocol",
                format!(
                    "unknown protocol \"{protocol}\" (expected clamd or \
                     command)"
                ),
            );
            return None;
        };
        let (foreign, other): (&[&str], &str) = if clamd {
            (&COMMAND_KEYS, "command")
        } else {
            (&CLAMD_KEYS, "clamd")
        };
        for &key in foreign {
            if raw.has(key) {
                let why = if key == "version" {
                    " (clamd is asked with VERSION)"
                } else {
                    ""
                };
                self.fail(
                    key,
                    format!(
                        "{key} is only for protocol: {other}{why}; remove it"
                    ),
                );
            }
        }
        let default = if clamd { CLAMD_TIMEOUT } else { COMMAND_TIMEOUT };
        let timeout = self.seconds("timeout", raw.timeout, default);
        let on_error = self.policy("on_error", raw.on_error.as_deref());
        let on_unscanned =
            self.policy("on_unscanned", raw.on_unscanned.as_deref());
        let unscanned = match raw.unscanned {
            Some(globs) => self.unscanned(globs),
            None if clamd => {
                CLAMD_UNSCANNED.iter().map(|&g| g.to_owned()).collect()
            }
            None => Vec::new(),
        };
        let (method, version) = if clamd {
            (self.clamd(raw.endpoints, raw.connect_timeout), None)
        } else {
            let method = self.command(
                raw.command,
                raw.target.as_deref(),
                raw.clean,
                raw.infected,
                raw.virus.as_deref(),
                programs,
            );
            (method, self.version(raw.version, programs))
        };
        let method = method?;
        Some(EngineDef {
            method,
            timeout,
            on_error,
            on_unscanned,
            unscanned,
            version,
            file: self.sink.origin(0).file,
        })
    }

    /// A number of seconds, 1 to an hour.
    fn seconds(
        &mut self,
        key: &str,
        value: Option<u64>,
        default: u64,
    ) -> Duration {
        let seconds = value.unwrap_or(default);
        if !(1..=MAX_SECONDS).contains(&seconds) {
            self.fail(
                key,
                format!(
                    "{key} must be from 1 to {MAX_SECONDS} seconds; remove \
                     the line for the default ({default})"
                ),
            );
            return Duration::from_secs(default);
        }
        Duration::from_secs(seconds)
    }

    /// A policy; `tempfail` for `on_error` by default, `pass` for
    /// `on_unscanned`.
    fn policy(&mut self, key: &str, value: Option<&str>) -> Policy {
        let default =
            if key == "on_error" { Policy::Tempfail } else { Policy::Pass };
        let Some(word) = value else { return default };
        policy(word).unwrap_or_else(|| {
            self.fail(
                key,
                format!(
                    "unknown policy \"{word}\" for {key} (expected \
                     tempfail, pass or block)"
                ),
            );
            default
        })
    }

    /// The `unscanned` globs.
    fn unscanned(&mut self, globs: Vec<String>) -> Vec<String> {
        if globs.iter().any(String::is_empty) {
            self.fail(
                "unscanned",
                "an empty name in unscanned; remove it (a name may use * \
                 for any run of characters)"
                    .to_owned(),
            );
        }
        globs
    }

    /// The clamd method.
    fn clamd(
        &mut self,
        endpoints: Option<Vec<String>>,
        connect_timeout: Option<u64>,
    ) -> Option<Method> {
        let connect_timeout =
            self.seconds("connect_timeout", connect_timeout, CONNECT_TIMEOUT);
        let written = endpoints.unwrap_or_default();
        if written.is_empty() {
            self.fail(
                "endpoints",
                format!(
                    "clamd needs endpoints, a list of where clamd listens \
                     ({ENDPOINTS})"
                ),
            );
            return None;
        }
        let mut endpoints = Vec::new();
        for item in &written {
            match parse_endpoint(item) {
                Ok(endpoint) => endpoints.push(endpoint),
                Err(message) => self.fail_item("endpoints", item, message),
            }
        }
        Some(Method::Clamd { endpoints, connect_timeout })
    }

    /// The command method (without `version`).
    fn command(
        &mut self,
        command: Option<Vec<String>>,
        target: Option<&str>,
        clean: Option<Vec<i64>>,
        infected: Option<Vec<i64>>,
        virus: Option<&str>,
        programs: bool,
    ) -> Option<Method> {
        let argv = self.argv("command", command, true, programs);
        let target = match target {
            None => Target::File,
            Some(word) if word.eq_ignore_ascii_case("file") => Target::File,
            Some(word) if word.eq_ignore_ascii_case("directory") => {
                Target::Directory
            }
            Some(word) => {
                self.fail(
                    "target",
                    format!(
                        "unknown target \"{word}\" (expected file or \
                         directory)"
                    ),
                );
                Target::File
            }
        };
        let no_clean = clean.as_ref().is_some_and(Vec::is_empty);
        let no_infected = infected.as_ref().is_some_and(Vec::is_empty);
        let clean = self.codes("clean", clean, 0);
        let infected = self.codes("infected", infected, 1);
        if no_clean {
            self.fail(
                "clean",
                "clean is empty; list at least one exit code".to_owned(),
            );
        }
        if no_infected && virus.is_none() {
            self.fail(
                "infected",
                "infected is empty and there is no virus expression, so \
                 nothing could ever be found; list the exit codes of a \
                 find, or give virus"
                    .to_owned(),
            );
        }
        if let Some(both) = clean.iter().find(|c| infected.contains(c)) {
            self.fail(
                "infected",
                format!(
                    "exit code {both} is in both clean and infected; keep \
                     it in one"
                ),
            );
        }
        let virus = virus.and_then(|pattern| self.virus(pattern));
        Some(Method::Command { argv: argv?, target, clean, infected, virus })
    }

    /// A command list: `command` (which needs the placeholder) or
    /// `version`.
    fn argv(
        &mut self,
        key: &str,
        argv: Option<Vec<String>>,
        placeholder: bool,
        programs: bool,
    ) -> Option<Vec<String>> {
        let argv = argv.unwrap_or_default();
        let Some(program) = argv.first() else {
            let what = if placeholder {
                format!(
                    "a command engine needs {key}, a list of the program \
                     and its arguments, e.g. [/usr/bin/clamscan, \
                     --no-summary, '{PLACEHOLDER}']"
                )
            } else {
                format!(
                    "{key} is empty; give the program and its arguments, \
                     or remove the line"
                )
            };
            self.fail(key, what);
            return None;
        };
        if program.is_empty() || program == PLACEHOLDER {
            self.fail(
                key,
                format!(
                    "bad program \"{program}\" in {key}; the first item is \
                     the program, e.g. /usr/bin/clamscan"
                ),
            );
            return None;
        }
        if placeholder {
            if !argv.iter().any(|a| a == PLACEHOLDER) {
                self.fail(
                    key,
                    format!(
                        "{key} has no argument '{PLACEHOLDER}' for the path \
                         to scan; add one"
                    ),
                );
            }
            let partial =
                argv.iter().find(|a| *a != PLACEHOLDER && a.contains("{}"));
            if let Some(partial) = partial {
                self.fail_item(
                    key,
                    partial,
                    format!(
                        "argument \"{partial}\" holds {PLACEHOLDER} but is \
                         not {PLACEHOLDER} itself: only a whole argument \
                         {PLACEHOLDER} is replaced by the path; make it an \
                         argument of its own"
                    ),
                );
            }
        }
        if programs && self.checked.as_deref() != Some(program.as_str()) {
            if let Err(why) = find_program(program) {
                let built_in =
                    self.sink.origin(0).file.starts_with("(built-in)");
                let message = if built_in {
                    format!(
                        "{}; install the engine, or copy this file into \
                         control/scanners.d/ and fix the path there",
                        why.what()
                    )
                } else {
                    why.to_string()
                };
                let line = key_line(self.text, key);
                self.sink.report(line, message);
            }
            self.checked = Some(program.clone());
        }
        Some(argv)
    }

    /// The `version` command.
    fn version(
        &mut self,
        version: Option<Vec<String>>,
        programs: bool,
    ) -> Option<Vec<String>> {
        version
            .and_then(|argv| self.argv("version", Some(argv), false, programs))
    }

    /// A list of exit codes, `[default]` when not given.
    fn codes(
        &mut self,
        key: &str,
        codes: Option<Vec<i64>>,
        default: i32,
    ) -> Vec<i32> {
        let Some(codes) = codes else { return vec![default] };
        let mut out = Vec::new();
        for code in codes {
            match i32::try_from(code) {
                Ok(c) if (0..=255).contains(&c) => out.push(c),
                _ => self.fail(
                    key,
                    format!(
                        "exit code {code} in {key} is out of range \
                         (expected 0 to 255)"
                    ),
                ),
            }
        }
        out
    }

    /// The `virus` regular expression.
    fn virus(&mut self, pattern: &str) -> Option<Regex> {
        let built = RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build();
        let regex = match built {
            Ok(regex) => regex,
            Err(e) => {
                self.fail(
                    "virus",
                    format!(
                        "bad regular expression in virus: {}; fix it",
                        brief(&e)
                    ),
                );
                return None;
            }
        };
        if regex.captures_len() != 2 {
            self.fail(
                "virus",
                format!(
                    "virus needs exactly one capture group (…) for the \
                     virus name, not {}; use (?:…) for other groups",
                    regex.captures_len() - 1
                ),
            );
            return None;
        }
        if regex.is_match("") {
            self.fail(
                "virus",
                "virus matches an empty line, so every output would \
                 name a virus; make it more specific"
                    .to_owned(),
            );
            return None;
        }
        Some(regex)
    }
}
