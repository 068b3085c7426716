/*!
The profile of qmvc: which layers exist, which control file each setting
comes from, and every control file parsed once into typed values that
remember their file and line.

This crate owns
- the layers (system, domain, user), where the system layer is
  ([`system_home`]: `$QMVCHOME`, else `/var/qmvc`), and the per-file
  fall-back to the built-in defaults compiled in from `control-defaults/`
  ([`Layers`]),
- the registry of control files ([`Control`], [`CONTROLS`]): one row per
  file with its name, description, built-in default, whether it can name
  a command, when a delivery needs it, its parser and its lint checks,
- the syntax of every control file and of the engine definitions
  `scanners.d/ENGINE.yaml`, and their typed form ([`Profile`]),
- whom the layers and the root-run programs trust ([`trust`]: owned by
  root or the running user, not writable by group or others),
- lint: every problem as `FILE:LINE: message` ([`Problem`]),
- the view of `qmvc -C` and `qmvc-queue -C`: each control file with
  its layer and entries ([`fn@show`]),
- the errors that stop loading, each saying whose fault it is
  ([`Error`], through [`qmvc_fault::Blame`]).

It does not own evaluation (the engine crate decides what matches) or any
effect on the world beyond reading control files.

A new control file is a row in the registry (`controls.rs`), a parser
module, and the field of [`Profile`] the parser fills.
*/
#![deny(missing_docs)]

mod address;
mod command;
mod controls;
mod definitions;
mod error;
mod filters;
mod globs;
mod layers;
mod limits;
mod lines;
mod load;
mod loaders;
mod mailheaders;
mod patterns;
mod queue;
mod reactions;
mod scanners;
mod show;
mod syslog;
#[cfg(test)]
mod tests;
mod text;
pub mod trust;

use std::fmt;

pub use address::{plain_address, AddressError};
pub use controls::{Control, CONTROLS};
pub use definitions::BUILT_IN_ENGINES;
pub use error::Error;
pub use filters::{
    Action, Condition, FilterOptions, FilterRule, Reaction, Score, CONDITIONS,
};
pub use layers::{
    command_line_layers, system_home, Layer, Layers, Source,
    DEFAULT_SYSTEM_HOME,
};
pub use limits::Settings;
pub use mailheaders::{HeaderCheck, MailHeaders, ERRORMAIL_BITS};
pub use patterns::{
    fold, BodyRule, CommandRule, FilenameGlob, LoaderRule, TextPattern,
    TypeGlob,
};
pub use queue::{CustomError, QueueSettings, QMVC_QUEUE};
pub use scanners::{
    spam_user_ok, Endpoint, EngineDef, Fildes, Method, Policy, Scanner,
    Target, MAX_SPAM_USER,
};
pub use show::{layer_name, show, BuiltInTemplate};

/// Where a value came from: a control file and a line in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file as shown to the user: its path, or
    /// `(built-in)/control/NAME` for a compiled-in default.
    pub file: String,
    /// 1-based line number; 0 for the file as a whole.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A problem found in a control file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub origin: Origin,
    /// What, and what to do about it, e.g. `unknown action "blok"
    /// (expected block, keep, trash, bounce, inspect)`.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// How much of the profile to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only what the filters use: the control file of each condition
    /// that has a filter line (for `virusmail`: `scanners` and the
    /// definition of each engine it names), `limits`, and `noscantypes`
    /// when `noscan` is true. What a delivery needs.
    Needed {
        /// `-n` is in effect.
        noscan: bool,
    },
    /// What qmvc-queue needs: what [`Scope::Needed`] reads (without
    /// `-n`) and the queue's own files, `qmailqueue` and `customerror`,
    /// which no dot-qmail delivery reads.
    Queue,
    /// Every control file, for `-L`: also `scanners` with the
    /// definitions it names (and whether their programs exist) and the
    /// definition of every engine that ships with qmvc.
    All,
}

/// What the Reactions need besides the filter lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionSettings {
    /// The program notifications and forwards are handed to.
    pub injector: std::path::PathBuf,
    /// The From address of notifications; `None`: MAILER-DAEMON at this
    /// host.
    pub guard: Option<String>,
    /// The language of notifications without `lang=LL`.
    pub language: String,
}

impl Default for ReactionSettings {
    fn default() -> ReactionSettings {
        ReactionSettings {
            injector: "/var/qmail/bin/qmail-inject".into(),
            guard: None,
            language: "en".into(),
        }
    }
}

/// The effective profile: every setting typed and checked.
#[derive(Debug, Default)]
pub struct Profile {
    /// The CAR triples, in file order, at most one per condition but
    /// errormail (one per `bits=` mask).
    pub filters: Vec<FilterRule>,
    /// errormail settings.
    pub mailheaders: MailHeaders,
    /// badsubject patterns.
    pub badsubjects: Vec<TextPattern>,
    /// badbodytext patterns and commands, in file order.
    pub badbodytexts: Vec<BodyRule>,
    /// badfilename globs.
    pub badfilenames: Vec<FilenameGlob>,
    /// badmimetype type globs.
    pub badmimetypes: Vec<TypeGlob>,
    /// badloadertype types and base64 prefixes.
    pub badloadertypes: Vec<LoaderRule>,
    /// Types that need no virus scan with `-n`.
    pub noscantypes: Vec<TypeGlob>,
    /// The virus scanners in the order they run (at most four).
    pub scanners: Vec<Scanner>,
    /// The spam engines of `spamscanners`, in the order they are asked
    /// (at most four).
    pub spamscanners: Vec<Scanner>,
    /// Resource bounds and time-outs from `limits`.
    pub settings: Settings,
    /// `injector`, `guard` and `language`, for the Reactions.
    pub reactions: ReactionSettings,
    /// `qmailqueue` and `customerror`, for qmvc-queue.
    pub queue: QueueSettings,
    /// `syslog`: the facility each qmvc.log line is also sent under;
    /// `None`: qmvc.log only.
    pub syslog: Option<qmvc_log::syslog::Facility>,
}

impl Profile {
    /// Loads the profile from `layers`: each control file from the most
    /// specific layer that has it, else the built-in default. Lines with
    /// problems are left out of the profile and reported (in `filters`, a
    /// bad reaction or option is left out of its line, which is kept).
    ///
    /// With [`Scope::Needed`] a file that cannot be used (see [`Error`])
    /// ends the loading; with [`Scope::All`] it is reported as a problem
    /// at line 0 and the rest of the profile is still checked.
    pub fn load(
        layers: &Layers,
        scope: Scope,
    ) -> Result<(Profile, Vec<Problem>), Error> {
        load::load(layers, scope)
    }

    /// Parses `text` as the control file `control` of the system layer,
    /// alone and without lint, onto an empty profile: the parser a
    /// delivery uses, for tools that check one file's text (the fuzz
    /// targets, `fuzz/`). A file that names engines (`scanners`,
    /// `spamscanners`) reads their definitions from `layers` as a
    /// delivery does.
    pub fn parse_control(
        layers: &Layers,
        control: Control,
        text: &str,
    ) -> Result<(Profile, Vec<Problem>), Error> {
        load::parse_control(layers, control, text)
    }

    /// The filter line for `condition`, if there is one (the first one
    /// for errormail).
    pub fn rule(&self, condition: Condition) -> Option<&FilterRule> {
        self.filters.iter().find(|r| r.condition == condition)
    }

    /// Every filter line for `condition`, in file order: several only
    /// for errormail (one per `bits=`) and spammail (one per `score=`).
    pub fn rules(
        &self,
        condition: Condition,
    ) -> impl Iterator<Item = &FilterRule> {
        self.filters.iter().filter(move |r| r.condition == condition)
    }

    /// The filter line for `condition` at `origin`: the line a hit came
    /// from, when errormail has several.
    pub fn rule_at(
        &self,
        condition: Condition,
        origin: &Origin,
    ) -> Option<&FilterRule> {
        self.rules(condition).find(|r| &r.origin == origin)
    }
}
