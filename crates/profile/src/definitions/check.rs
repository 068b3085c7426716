/*!
What the values of an engine definition mean: a [`RawDefinition`] checked
and turned into an [`EngineDef`], each problem at the line of its key or
list item. Any problem makes the definition unusable; only the lint check
that a program exists does not, since a program can be installed after the
profile is written: in a delivery a missing program is a scanner failure
at scan time.
*/

use std::time::Duration;

use regex::{Regex, RegexBuilder};

use super::endpoint::{parse_endpoint, ENDPOINTS};
use super::schema::{Item, RawDefinition};
use crate::command::find_program;
use crate::lines::Sink;
use crate::scanners::spam_user_ok;
use crate::text::{brief, DFA_SIZE_LIMIT, REGEX_SIZE_LIMIT};
use crate::{
    Endpoint, EngineDef, Fildes, Method, Policy, Target, MAX_SPAM_USER,
};

/// The protocols of a definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Clamd,
    Command,
    Spamd,
    Rspamd,
}

/// Every protocol, for messages and look-up.
const PROTOCOLS: [(Protocol, &str); 4] = [
    (Protocol::Clamd, "clamd"),
    (Protocol::Command, "command"),
    (Protocol::Spamd, "spamd"),
    (Protocol::Rspamd, "rspamd"),
];

/// The keys that only some protocols take, and which: one table, so
/// that a key a protocol does not take is refused naming the ones that
/// do. `protocol`, `timeout` and `on_error` are for every protocol.
const PROTOCOL_KEYS: [(&str, &[Protocol]); 13] = [
    ("endpoints", &[Protocol::Clamd, Protocol::Spamd, Protocol::Rspamd]),
    ("connect_timeout", &[Protocol::Clamd, Protocol::Spamd, Protocol::Rspamd]),
    ("fildes", &[Protocol::Clamd]),
    ("command", &[Protocol::Command]),
    ("target", &[Protocol::Command]),
    ("clean", &[Protocol::Command]),
    ("infected", &[Protocol::Command]),
    ("virus", &[Protocol::Command]),
    ("version", &[Protocol::Command]),
    ("on_unscanned", &[Protocol::Clamd, Protocol::Command]),
    ("unscanned", &[Protocol::Clamd, Protocol::Command]),
    ("max_size", &[Protocol::Spamd, Protocol::Rspamd]),
    ("user", &[Protocol::Spamd, Protocol::Rspamd]),
];

/// The name of `protocol`.
fn protocol_name(protocol: Protocol) -> &'static str {
    PROTOCOLS.iter().find(|(p, _)| *p == protocol).map_or("", |(_, n)| n)
}

/// The longest time-out, in seconds: an hour.
const MAX_SECONDS: u64 = 3600;

/// The placeholder argument for the path to scan.
const PLACEHOLDER: &str = "{}";

/// Defaults (see qmvc-scanners(5)).
const CLAMD_TIMEOUT: u64 = 60;
const COMMAND_TIMEOUT: u64 = 120;
const SPAM_TIMEOUT: u64 = 30;
const CONNECT_TIMEOUT: u64 = 5;
/// As spamc's `-s`: 500 KB.
const SPAM_MAX_SIZE: u64 = 512_000;
/// The largest `max_size`: 100 MB, beyond any message qmail takes.
const MAX_MAX_SIZE: u64 = 100_000_000;
const CLAMD_UNSCANNED: [&str; 2] =
    ["Heuristics.Limits.Exceeded*", "Heuristics.Encrypted.*"];

/// Parses a policy keyword.
fn policy(word: &str) -> Option<Policy> {
    [Policy::Tempfail, Policy::Pass, Policy::Block]
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(word))
}

/// Checks `raw` (from the file `sink` reports for); `programs`: check
/// that the programs it runs exist. `None` when it has a problem.
pub(super) fn check(
    raw: RawDefinition,
    sink: &mut Sink<'_>,
    programs: bool,
) -> Option<EngineDef> {
    let lines = raw.key_lines();
    let mut check = Check { lines, sink, ok: true, checked: None };
    let definition = check.definition(raw, programs);
    if check.ok {
        definition
    } else {
        None
    }
}

/// Checks a definition, reporting at the line of each key.
struct Check<'c, 's> {
    /// The line of each key; 0 for a key not given.
    lines: Vec<(&'static str, usize)>,
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
        let line = self.line(key);
        self.fail_at(line, message);
    }

    /// Reports a problem at line `line`.
    fn fail_at(&mut self, line: usize, message: String) {
        self.sink.report(line, message);
        self.ok = false;
    }

    /// The line of `key`; 0 when it is not given.
    fn line(&self, key: &str) -> usize {
        self.lines.iter().find(|(k, _)| *k == key).map_or(0, |&(_, l)| l)
    }

    /// The definition, if it can be built (see [`Check::ok`] as well).
    fn definition(
        &mut self,
        raw: RawDefinition,
        programs: bool,
    ) -> Option<EngineDef> {
        let Some(written) = raw.protocol.as_deref() else {
            self.sink.report(
                0,
                "missing protocol (expected protocol: clamd, command, spamd \
                 or rspamd; see qmvc-scanners(5))",
            );
            self.ok = false;
            return None;
        };
        let found =
            PROTOCOLS.iter().find(|(_, n)| n.eq_ignore_ascii_case(written));
        let Some(&(protocol, _)) = found else {
            self.fail(
                "protocol",
                format!(
                    "unknown protocol \"{written}\" (expected clamd, \
                     command, spamd or rspamd)"
                ),
            );
            return None;
        };
        for (key, takers) in PROTOCOL_KEYS {
            if raw.has(key) && !takers.contains(&protocol) {
                let names: Vec<&str> =
                    takers.iter().map(|&p| protocol_name(p)).collect();
                let why = if key == "version" && protocol != Protocol::Command
                {
                    format!(
                        " ({} is asked for its version itself)",
                        protocol_name(protocol)
                    )
                } else {
                    String::new()
                };
                // "a", "a or b", "a, b or c".
                let names = match names.split_last() {
                    Some((last, [])) => (*last).to_owned(),
                    Some((last, rest)) => {
                        format!("{} or {last}", rest.join(", "))
                    }
                    None => String::new(),
                };
                self.fail(
                    key,
                    format!(
                        "{key} is only for protocol: {names}{why}, not {}; \
                         remove it",
                        protocol_name(protocol)
                    ),
                );
            }
        }
        let spam = matches!(protocol, Protocol::Spamd | Protocol::Rspamd);
        let default = match protocol {
            Protocol::Clamd => CLAMD_TIMEOUT,
            Protocol::Command => COMMAND_TIMEOUT,
            Protocol::Spamd | Protocol::Rspamd => SPAM_TIMEOUT,
        };
        let timeout = self.seconds("timeout", raw.timeout, default);
        // Mail flows when a spam engine is down (SPEC 8); a virus engine
        // that is down defers it.
        let on_error = self.policy(
            "on_error",
            raw.on_error.as_deref(),
            if spam { Policy::Pass } else { Policy::Tempfail },
        );
        let on_unscanned = self.policy(
            "on_unscanned",
            raw.on_unscanned.as_deref(),
            Policy::Pass,
        );
        let unscanned = match raw.unscanned {
            Some(globs) => self.unscanned(globs),
            None if protocol == Protocol::Clamd => {
                CLAMD_UNSCANNED.iter().map(|&g| g.to_owned()).collect()
            }
            None => Vec::new(),
        };
        let max_size = self.max_size(raw.max_size);
        let user = self.user(raw.user);
        let fildes = self.fildes(raw.fildes.as_deref());
        let (method, version) = match protocol {
            Protocol::Clamd | Protocol::Spamd | Protocol::Rspamd => {
                let name = protocol_name(protocol);
                let reach =
                    self.endpoints(name, raw.endpoints, raw.connect_timeout);
                let method =
                    reach.map(|(endpoints, connect_timeout)| match protocol {
                        Protocol::Spamd => {
                            Method::Spamd { endpoints, connect_timeout }
                        }
                        Protocol::Rspamd => {
                            Method::Rspamd { endpoints, connect_timeout }
                        }
                        _ => Method::Clamd {
                            endpoints,
                            connect_timeout,
                            fildes,
                        },
                    });
                (method, None)
            }
            Protocol::Command => {
                let method = self.command(
                    raw.command,
                    raw.target.as_deref(),
                    raw.clean,
                    raw.infected,
                    raw.virus.as_deref(),
                    programs,
                );
                (method, self.version(raw.version, programs))
            }
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
            max_size,
            user,
        })
    }

    /// `fildes`: `auto` (the default) or `never`.
    fn fildes(&mut self, value: Option<&str>) -> Fildes {
        match value {
            None => Fildes::Auto,
            Some(word) if word.eq_ignore_ascii_case("auto") => Fildes::Auto,
            Some(word) if word.eq_ignore_ascii_case("never") => Fildes::Never,
            Some(word) => {
                self.fail(
                    "fildes",
                    format!(
                        "unknown fildes \"{word}\" (expected auto or never)"
                    ),
                );
                Fildes::Auto
            }
        }
    }

    /// `max_size`: 1 byte to 100 MB, 512000 by default.
    fn max_size(&mut self, value: Option<u64>) -> u64 {
        let size = value.unwrap_or(SPAM_MAX_SIZE);
        if !(1..=MAX_MAX_SIZE).contains(&size) {
            self.fail(
                "max_size",
                format!(
                    "max_size must be from 1 to {MAX_MAX_SIZE} bytes; remove \
                     the line for the default ({SPAM_MAX_SIZE}, as spamc)"
                ),
            );
            return SPAM_MAX_SIZE;
        }
        size
    }

    /// `user`: a name the spam user rule accepts (it is sent as is).
    fn user(&mut self, value: Option<String>) -> String {
        let user = value.unwrap_or_default();
        if !spam_user_ok(&user) {
            self.fail(
                "user",
                format!(
                    "bad user \"{user}\" (expected at most {MAX_SPAM_USER} \
                     of A-Z a-z 0-9 . + _ @ -, e.g. user: spamd)"
                ),
            );
            return String::new();
        }
        user
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

    /// A policy, `default` when not given.
    fn policy(
        &mut self,
        key: &str,
        value: Option<&str>,
        default: Policy,
    ) -> Policy {
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
    fn unscanned(&mut self, globs: Vec<Item<String>>) -> Vec<String> {
        let globs: Vec<String> =
            globs.into_iter().map(|item| item.value).collect();
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

    /// The endpoints and connect time-out of protocol `name` (clamd,
    /// spamd, rspamd).
    fn endpoints(
        &mut self,
        name: &str,
        endpoints: Option<Vec<Item<String>>>,
        connect_timeout: Option<u64>,
    ) -> Option<(Vec<Endpoint>, Duration)> {
        let connect_timeout =
            self.seconds("connect_timeout", connect_timeout, CONNECT_TIMEOUT);
        let written = endpoints.unwrap_or_default();
        if written.is_empty() {
            self.fail(
                "endpoints",
                format!(
                    "{name} needs endpoints, a list of where {name} listens \
                     ({ENDPOINTS})"
                ),
            );
            return None;
        }
        let mut endpoints = Vec::new();
        for item in &written {
            match parse_endpoint(&item.value) {
                Ok(endpoint) => endpoints.push(endpoint),
                Err(e) => self.fail_at(item.line, e.to_string()),
            }
        }
        Some((endpoints, connect_timeout))
    }

    /// The command method (without `version`).
    fn command(
        &mut self,
        command: Option<Vec<Item<String>>>,
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
        argv: Option<Vec<Item<String>>>,
        placeholder: bool,
        programs: bool,
    ) -> Option<Vec<String>> {
        let items = argv.unwrap_or_default();
        let argv: Vec<String> =
            items.iter().map(|item| item.value.clone()).collect();
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
            let partial = items.iter().find(|a| {
                a.value != PLACEHOLDER && a.value.contains(PLACEHOLDER)
            });
            if let Some(Item { value: partial, line }) = partial {
                self.fail_at(
                    *line,
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
                let line = self.line(key);
                self.sink.report(line, message);
            }
            self.checked = Some(program.clone());
        }
        Some(argv)
    }

    /// The `version` command.
    fn version(
        &mut self,
        version: Option<Vec<Item<String>>>,
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
