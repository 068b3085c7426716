/*!
`badfilenames`, `badmimetypes` and `noscantypes`: globs.

A file-name glob is parsed (and so checked) with globset, `*` also
matching `/` (zip member names have directories), `\` escaping the next
character; its matcher is compiled only when a message has a file name to
match. Globs are case-insensitive by lower-casing the pattern here and the
name at match time, not by globset's own option: that option turns every
glob into a regular expression, while `*.exe` kept literal becomes a hash
look-up of the extension, and compiling the regex set cost more than the
rest of a delivery. The common forms, `*LITERAL` and a literal, are not
given to globset at all: they are matched by suffix or equality. A type
glob is `type/subtype`, lower-cased, where `*`
matches any run of characters on either side.
*/

use globset::GlobBuilder;

use crate::lines::{entries, Sink};
use crate::patterns::BIDI_KEYWORD;
use crate::{FilenameGlob, TypeGlob};

/// Parses `badfilenames`.
pub(crate) fn parse_filenames(
    text: &str,
    sink: &mut Sink<'_>,
) -> Vec<FilenameGlob> {
    let mut globs = Vec::new();
    for (line, entry) in entries(text) {
        let lowered = entry.to_lowercase();
        let origin = sink.origin(line);
        if lowered == BIDI_KEYWORD {
            globs.push(FilenameGlob::bidi(origin));
            continue;
        }
        if let Some(glob) = FilenameGlob::simple(&lowered, origin) {
            globs.push(glob);
            continue;
        }
        let built = GlobBuilder::new(&lowered)
            .literal_separator(false)
            .backslash_escape(true)
            .build();
        match built {
            Ok(glob) => {
                globs.push(FilenameGlob::parsed(glob, sink.origin(line)))
            }
            Err(e) => sink.report(
                line,
                format!(
                    "bad file name glob \"{entry}\": {}; fix it, or escape \
                     the character with \\",
                    e.kind()
                ),
            ),
        }
    }
    globs
}

/// Parses `badmimetypes` or `noscantypes`.
pub(crate) fn parse_types(text: &str, sink: &mut Sink<'_>) -> Vec<TypeGlob> {
    let mut types = Vec::new();
    for (line, entry) in entries(text) {
        let pattern = entry.to_ascii_lowercase();
        if is_type_glob(&pattern) {
            types.push(TypeGlob { pattern, origin: sink.origin(line) });
        } else {
            sink.report(
                line,
                format!(
                    "\"{entry}\" is not a MIME type (expected type/subtype, \
                     e.g. application/x-msdownload; * matches any run of \
                     characters)"
                ),
            );
        }
    }
    types
}

/// Whether `pattern` (lower-case) looks like `type/subtype`.
fn is_type_glob(pattern: &str) -> bool {
    let Some((kind, subtype)) = pattern.split_once('/') else {
        return false;
    };
    let name = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b"!#$&^_.+-*".contains(&b)
            })
    };
    name(kind) && name(subtype)
}
