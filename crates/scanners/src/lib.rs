/*!
The virus scanners of qmvc: asking an engine about one message, and asking
it for its versions.

This crate owns
- the clamd protocol (`zINSTREAM`, `PING`, `VERSION`) over unix and TCP
  endpoints tried in order, with connect and read time-outs ([`clamd`]),
- command-line engines: the message handed over as a private file or
  directory in the layer's `tmp/`, removed on every way out, the command
  run without a shell under a time-out, its exit code and output mapped
  to an [`Answer`] ([`command`]),
- telling "not scanned" names (`Heuristics.Limits.Exceeded`) from viruses.

It does not own what the answer means for the message (the engine crate
applies the policies and `quitasap`) nor which scanners run (the profile).
Every failure is an [`Answer::Failed`]; nothing here panics or blocks
past its time-out.
*/
#![deny(missing_docs)]

pub mod clamd;
pub mod command;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::Path;

use qmvc_profile::EngineDef;

/// What one scanner said about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Nothing found.
    Clean,
    /// Viruses found, by name (at least one).
    Infected(Vec<String>),
    /// The scanner could not scan the message fully (a name listed in
    /// the definition's `unscanned`, such as
    /// `Heuristics.Limits.Exceeded`): why.
    Unscanned(String),
    /// The scanner could not be asked, failed, or timed out: why.
    Failed(String),
}

/// Asks the engine of `definition` about `message`. `spool` is the
/// layer's `tmp/` directory, where command-line engines get their file.
pub fn scan(definition: &EngineDef, message: &[u8], spool: &Path) -> Answer {
    let _ = (definition, message, spool);
    todo!()
}

/// What `qmvc -s` reports of one engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Whether the engine answers: `Ok` with what answered (endpoint or
    /// program), `Err` with why not.
    pub reachable: Result<String, String>,
    /// Engine version, e.g. `ClamAV 1.4.6`.
    pub engine: Option<String>,
    /// Signature version, e.g. `27456`.
    pub signatures: Option<String>,
    /// Signature date as the engine prints it.
    pub date: Option<String>,
}

/// Asks the engine of `definition` whether it answers, and for its
/// versions.
pub fn status(definition: &EngineDef) -> Status {
    let _ = definition;
    todo!()
}
