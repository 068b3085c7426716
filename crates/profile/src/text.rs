/*!
`badsubjects` and `badbodytexts`: substrings, regular expressions and (in
badbodytexts) commands.

A plain line is a case-insensitive substring, stored lower-cased. A line
`/…/` is a case-insensitive regular expression, compiled here with bounded
size, so that a hostile or careless pattern cannot take unbounded memory.
A line `|COMMAND ARGS[:RC]` of badbodytexts is a [`crate::CommandRule`], see
[`crate::command`].
*/

use std::time::Duration;

use regex::RegexBuilder;

use crate::command::parse_command;
use crate::lines::{entries, Sink};
use crate::{BodyRule, TextPattern};

/// The most memory a compiled expression may take.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The most memory the lazy DFA of one expression may take.
pub(crate) const DFA_SIZE_LIMIT: usize = 1 << 20;

/// Parses `badsubjects`.
pub(crate) fn parse_subjects(
    text: &str,
    sink: &mut Sink<'_>,
) -> Vec<TextPattern> {
    entries(text)
        .filter_map(|(line, entry)| parse_pattern(line, entry, sink))
        .collect()
}

/// Parses `badbodytexts`; commands get `timeout`.
pub(crate) fn parse_bodies(
    text: &str,
    timeout: Duration,
    sink: &mut Sink<'_>,
) -> Vec<BodyRule> {
    entries(text)
        .filter_map(|(line, entry)| match entry.strip_prefix('|') {
            Some(command) => parse_command(command, line, timeout, sink)
                .map(BodyRule::Command),
            None => parse_pattern(line, entry, sink).map(BodyRule::Pattern),
        })
        .collect()
}

/// A substring or `/regex/` line.
fn parse_pattern(
    line: usize,
    entry: &str,
    sink: &mut Sink<'_>,
) -> Option<TextPattern> {
    let origin = sink.origin(line);
    let regex = entry
        .strip_prefix('/')
        .and_then(|rest| rest.strip_suffix('/'))
        .filter(|_| entry.len() >= 3);
    let Some(expression) = regex else {
        return Some(TextPattern::Substring {
            needle: crate::patterns::fold(entry),
            origin,
        });
    };
    let built = RegexBuilder::new(expression)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build();
    match built {
        Ok(regex) => {
            if regex.is_match("") {
                sink.lint_report(
                    line,
                    format!(
                        "regular expression {entry} matches every text, \
                         even an empty one; make it more specific"
                    ),
                );
            }
            Some(TextPattern::Regex {
                regex,
                source: entry.to_owned(),
                origin,
            })
        }
        Err(e) => {
            sink.report(
                line,
                format!(
                    "bad regular expression {entry}: {}; fix it, or write \
                     a plain line to match text literally",
                    brief(&e)
                ),
            );
            None
        }
    }
}

/// The gist of a regex error on one line: its last line without the
/// `error: ` prefix.
pub(crate) fn brief(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().rev().map(str::trim).find(|l| !l.is_empty());
    let last = last.unwrap_or("invalid");
    last.strip_prefix("error: ").unwrap_or(last).trim_end_matches('.').into()
}
