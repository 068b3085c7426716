/*!
`injector`, `guard` and `language`: one value each, for the Reactions.
*/

use std::path::PathBuf;

use crate::filters::check_lang;
use crate::lines::{program, single, Sink};
use crate::ReactionSettings;

/// Parses `injector` into `settings`.
pub(crate) fn parse_injector(
    text: &str,
    sink: &mut Sink<'_>,
    settings: &mut ReactionSettings,
) {
    let Some((_, value)) =
        program(text, sink, "injector", "/var/qmail/bin/qmail-inject")
    else {
        return;
    };
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
