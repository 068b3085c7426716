/*!
`badloadertypes`: loader type keywords and base64 prefixes.

A keyword (`PE`, `ELF`, `MachO`, `COFF`, `MZ`, `archive`, any case) names
an executable format found by parsing the decoded content; `encrypted`
an encrypted archive member (keywords win over base64 prefixes, which
`encrypted` would also be). Any other line
of at least five characters of the base64 alphabet (such as `TVqQA`, the
start of a base64-encoded DOS header) matches, case-sensitively, the start
of a base64 part's encoded text.
*/

use qmvc_message::loader::LoaderType;

use crate::lines::{entries, Sink};
use crate::LoaderRule;

/// The fewest characters a base64 prefix must have.
const MIN_PREFIX: usize = 5;

/// Parses `badloadertypes`.
pub(crate) fn parse(text: &str, sink: &mut Sink<'_>) -> Vec<LoaderRule> {
    let mut rules = Vec::new();
    for (line, entry) in entries(text) {
        let origin = sink.origin(line);
        if let Some(loader) = LoaderType::from_keyword(entry) {
            rules.push(LoaderRule::Type { loader, origin });
        } else if is_base64_prefix(entry) {
            rules.push(LoaderRule::Base64Prefix {
                prefix: entry.to_owned(),
                origin,
            });
        } else {
            sink.report(
                line,
                format!(
                    "unknown loader type \"{entry}\" (expected PE, ELF, \
                     MachO, COFF, MZ, archive, encrypted, or at least \
                     {MIN_PREFIX} base64 characters such as TVqQA)"
                ),
            );
        }
    }
    rules
}

/// Whether `entry` is at least [`MIN_PREFIX`] characters of the base64
/// alphabet.
fn is_base64_prefix(entry: &str) -> bool {
    entry.len() >= MIN_PREFIX
        && entry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}
