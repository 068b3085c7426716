/*!
`scanners.d/ENGINE.yaml`: engine definitions, in three steps, each in a
module of its own:

1. [`yaml`] reads the text (the part of YAML a definition is written in)
   into keys and values that remember their lines;
2. [`schema`] knows every key and the type of its value, and refuses any
   other key, a key given twice, or a value of the wrong type;
3. [`check`] checks what the values mean and builds the [`EngineDef`].

Every message is ours and names its line: the key's, or the list item's.
The definitions shipped in `control-defaults/scanners.d/` are compiled in
([`BUILT_IN_ENGINES`]) and used when no layer has the file.
*/

mod check;
mod endpoint;
mod schema;
mod shipped;
mod yaml;

#[cfg(test)]
pub(crate) use endpoint::parse_endpoint;
pub use shipped::BUILT_IN_ENGINES;
pub(crate) use shipped::{built_in, is_engine_name};

use crate::lines::Sink;
use crate::{EngineDef, Problem};

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
    let entries = match yaml::read(text) {
        Ok(entries) => entries,
        Err(e) => {
            sink.report(e.line, e.syntax.to_string());
            return None;
        }
    };
    let raw = schema::typed(entries, sink)?;
    check::check(raw, sink, programs)
}
