/*!
`injector`, `guard` and `language`: one value each, for the Reactions.
*/

use std::path::PathBuf;

use crate::filters::check_lang;
use crate::lines::{entries, Sink};
use crate::ReactionSettings;

/// The first entry of `text`; a second one is a problem.
fn single<'t>(text: &'t str, sink: &mut Sink<'_>) -> Option<(usize, &'t str)> {
    let mut found = entries(text);
    let first = found.next();
    if let Some((line, _)) = found.next() {
        sink.report(line, "only one line is read; remove the others");
    }
    first
}

/// Parses `injector` into `settings`.
pub(crate) fn parse_injector(
    text: &str,
    sink: &mut Sink<'_>,
    settings: &mut ReactionSettings,
) {
    let Some((line, value)) = single(text, sink) else {
        sink.report(0, "no injector given (expected an absolute path, e.g. /var/qmail/bin/qmail-inject)");
        return;
    };
    if !value.starts_with('/') || value.chars().any(char::is_whitespace) {
        sink.report(
            line,
            format!("injector \"{value}\" is not an absolute path without blanks (e.g. /var/qmail/bin/qmail-inject)"),
        );
        return;
    }
    settings.injector = PathBuf::from(value);
}

/// Parses `guard` into `settings`.
pub(crate) fn parse_guard(
    text: &str,
    sink: &mut Sink<'_>,
    settings: &mut ReactionSettings,
) {
    let Some((line, value)) = single(text, sink) else { return };
    let plain = crate::plain_address(value);
    if plain.is_err() || !value.contains('@') {
        sink.report(
            line,
            format!("guard \"{value}\" is not an address (expected local@domain, e.g. postmaster@example.com)"),
        );
        return;
    }
    settings.guard = Some(value.to_string());
}

/// Parses `language` into `settings`.
pub(crate) fn parse_language(
    text: &str,
    sink: &mut Sink<'_>,
    settings: &mut ReactionSettings,
) {
    let Some((line, value)) = single(text, sink) else { return };
    match check_lang(value) {
        Some(lang) => settings.language = lang,
        None => sink.report(
            line,
            format!(
                "\"{value}\" is not a language code (expected e.g. en, de \
                 or de-CH)"
            ),
        ),
    }
}
