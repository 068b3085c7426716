/*!
The registry of control files: one row each, with everything qmvc knows
about the file in one place.

A row gives the file's name under `control/`, a one-line description (the
`meaning` column of the table in qmvc-control(5), which a test compares
with this registry), its built-in default (`control-defaults/NAME`,
compiled in), whether it can name a command to run (SPEC.md section 9:
such a file must come from a trusted layer), when a delivery needs it,
its parser, and its lint-only checks. The rows drive loading
([`crate::load`]), `qmvc -L` (which loads every row), the man page test
and the tests that walk every control file.

Adding a control file is one row here, its parser, and the typed field of
[`crate::Profile`] the parser fills.
*/

use crate::lines::Sink;
use crate::load::Load;
use crate::{
    command, filters, globs, limits, loaders, mailheaders, queue, reactions,
    scanners, syslog, text, Condition, Error, Profile, Source,
};

/// When a delivery ([`crate::Scope::Needed`]) reads a control file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Needed {
    /// Always, and before every other file: `filters` decides what else
    /// is needed, and `limits` gives badbodytexts commands their
    /// time-out; `syslog` says where every qmvc.log line also goes.
    Always,
    /// When `filters` has a line for the condition.
    By(Condition),
    /// With `-n`.
    NoScan,
    /// When a delivery may send mail (see [`crate::load`]).
    Reactions,
    /// Only for qmvc-queue ([`crate::Scope::Queue`]): a file about
    /// queueing must not defer a dot-qmail delivery when it is broken.
    Queue,
}

/// How a control file is parsed into its field of the profile.
#[derive(Clone, Copy)]
pub(crate) enum Parse {
    /// From its text alone.
    Text(fn(&str, &mut Sink<'_>, &mut Profile)),
    /// Also reading other files of the layers (`scanners`: the
    /// definition of each engine it names).
    Layered(fn(&mut Load<'_>, &Source) -> Result<(), Error>),
}

/// Checks only lint makes, after the file is parsed (or could not be
/// read), such as whether the programs it names exist.
pub(crate) type Lint = fn(&mut Load<'_>) -> Result<(), Error>;

/// One row of the registry.
struct Row {
    name: &'static str,
    about: &'static str,
    default_text: &'static str,
    /// Whether the built-in default has an entry (computed when qmvc is
    /// compiled): when it has none and no layer has the file, the file
    /// costs a delivery nothing but the look-ups.
    default_has_entries: bool,
    names_command: bool,
    needed: Needed,
    parse: Parse,
    lint: Option<Lint>,
}

/// Whether `text` has an entry: a line that is not blank and has no `#`
/// in column 1 (see [`crate::lines::entries`]; ASCII white space only,
/// which is enough for the built-in defaults, as a test checks).
const fn has_entries(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut line_start = true;
    let mut comment = false;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == b'\n' {
            line_start = true;
            comment = false;
        } else {
            if line_start && byte == b'#' {
                comment = true;
            } else if !comment && !byte.is_ascii_whitespace() {
                return true;
            }
            line_start = false;
        }
        at += 1;
    }
    false
}

/// A row; see [`Row`].
#[allow(clippy::too_many_arguments)]
const fn row(
    name: &'static str,
    about: &'static str,
    default_text: &'static str,
    names_command: bool,
    needed: Needed,
    parse: Parse,
    lint: Option<Lint>,
) -> Row {
    Row {
        name,
        about,
        default_text,
        default_has_entries: has_entries(default_text),
        names_command,
        needed,
        parse,
        lint,
    }
}

/// Defines [`Control`], [`CONTROLS`] and the row of each control file.
macro_rules! registry {
    ($($(#[$doc:meta])* $control:ident => $row:expr,)+) => {
        /// A control file of the profile: a key of the registry.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Control {
            $($(#[$doc])* $control,)+
        }

        /// Every control file, in the order of the table in
        /// qmvc-control(5).
        pub const CONTROLS: &[Control] = &[$(Control::$control,)+];

        impl Control {
            /// The row of the registry.
            fn row(self) -> &'static Row {
                match self {
                    $(Control::$control => {
                        static ROW: Row = $row;
                        &ROW
                    })+
                }
            }
        }
    };
}

registry! {
    /// `filters`: the CAR triples.
    Filters => row(
        "filters",
        "the CAR triples, see qmvc-filters(5)",
        include_str!("../../../control-defaults/filters"),
        false,
        Needed::Always,
        Parse::Text(|text, sink, p| p.filters = filters::parse(text, sink)),
        None,
    ),
    /// `mailheaders`: errormail settings.
    MailHeaders => row(
        "mailheaders",
        "errormail checks",
        include_str!("../../../control-defaults/mailheaders"),
        false,
        Needed::By(Condition::Errormail),
        Parse::Text(|text, sink, p| {
            p.mailheaders = mailheaders::parse(text, sink);
        }),
        None,
    ),
    /// `badsubjects`.
    BadSubjects => row(
        "badsubjects",
        "badsubject patterns",
        include_str!("../../../control-defaults/badsubjects"),
        false,
        Needed::By(Condition::BadSubject),
        Parse::Text(|text, sink, p| {
            p.badsubjects = text::parse_subjects(text, sink);
        }),
        None,
    ),
    /// `badbodytexts`: patterns and `|command` lines.
    BadBodyTexts => row(
        "badbodytexts",
        "badbodytext patterns, commands",
        include_str!("../../../control-defaults/badbodytexts"),
        true,
        Needed::By(Condition::BadBodyText),
        Parse::Text(|text, sink, p| {
            let timeout = p.settings.command_timeout;
            p.badbodytexts = text::parse_bodies(text, timeout, sink);
        }),
        Some(command::lint_programs),
    ),
    /// `badfilenames`.
    BadFilenames => row(
        "badfilenames",
        "badfilename globs",
        include_str!("../../../control-defaults/badfilenames"),
        false,
        Needed::By(Condition::BadFilename),
        Parse::Text(|text, sink, p| {
            p.badfilenames = globs::parse_filenames(text, sink);
        }),
        None,
    ),
    /// `badmimetypes`.
    BadMimeTypes => row(
        "badmimetypes",
        "badmimetype type globs",
        include_str!("../../../control-defaults/badmimetypes"),
        false,
        Needed::By(Condition::BadMimeType),
        Parse::Text(|text, sink, p| {
            p.badmimetypes = globs::parse_types(text, sink);
        }),
        None,
    ),
    /// `badloadertypes`.
    BadLoaderTypes => row(
        "badloadertypes",
        "badloadertype formats",
        include_str!("../../../control-defaults/badloadertypes"),
        false,
        Needed::By(Condition::BadLoaderType),
        Parse::Text(|text, sink, p| {
            p.badloadertypes = loaders::parse(text, sink);
        }),
        None,
    ),
    /// `noscantypes`.
    NoScanTypes => row(
        "noscantypes",
        "types not scanned with -n",
        include_str!("../../../control-defaults/noscantypes"),
        false,
        Needed::NoScan,
        Parse::Text(|text, sink, p| {
            p.noscantypes = globs::parse_types(text, sink);
        }),
        None,
    ),
    /// `scanners`: the virus scanners, each defined in
    /// `scanners.d/ENGINE.yaml` (a command engine runs a command).
    Scanners => row(
        "scanners",
        "virus scanners, see qmvc-scanners(5)",
        include_str!("../../../control-defaults/scanners"),
        true,
        Needed::By(Condition::VirusMail),
        Parse::Layered(scanners::load),
        Some(scanners::lint_shipped),
    ),
    /// `spamscanners`: the spam engines of spammail, each defined in
    /// `scanners.d/ENGINE.yaml` (spamd or rspamd: no command is run).
    SpamScanners => row(
        "spamscanners",
        "spam engines, see qmvc-scanners(5)",
        include_str!("../../../control-defaults/spamscanners"),
        false,
        Needed::By(Condition::SpamMail),
        Parse::Layered(scanners::load_spam),
        None,
    ),
    /// `injector`: the program that sends notifications.
    Injector => row(
        "injector",
        "sends notifications and forwards",
        include_str!("../../../control-defaults/injector"),
        true,
        Needed::Reactions,
        Parse::Text(|text, sink, p| {
            reactions::parse_injector(text, sink, &mut p.reactions);
        }),
        None,
    ),
    /// `guard`: the From address of notifications.
    Guard => row(
        "guard",
        "From of notifications",
        include_str!("../../../control-defaults/guard"),
        false,
        Needed::Reactions,
        Parse::Text(|text, sink, p| {
            reactions::parse_guard(text, sink, &mut p.reactions);
        }),
        None,
    ),
    /// `language`: the default language of notifications.
    Language => row(
        "language",
        "language of notifications",
        include_str!("../../../control-defaults/language"),
        false,
        Needed::Reactions,
        Parse::Text(|text, sink, p| {
            reactions::parse_language(text, sink, &mut p.reactions);
        }),
        None,
    ),
    /// `qmailqueue`: the real qmail-queue behind qmvc-queue, read by
    /// qmvc-queue and lint only.
    QmailQueue => row(
        "qmailqueue",
        "the real qmail-queue of qmvc-queue",
        include_str!("../../../control-defaults/qmailqueue"),
        true,
        Needed::Queue,
        Parse::Text(|text, sink, p| {
            queue::parse_qmailqueue(text, sink, &mut p.queue);
        }),
        None,
    ),
    /// `customerror`: whether qmvc-queue's refusals carry a text; read
    /// by qmvc-queue and lint only.
    CustomError => row(
        "customerror",
        "SMTP refusal texts of qmvc-queue",
        include_str!("../../../control-defaults/customerror"),
        false,
        Needed::Queue,
        Parse::Text(|text, sink, p| {
            queue::parse_customerror(text, sink, &mut p.queue);
        }),
        None,
    ),
    /// `limits`: resource bounds.
    Limits => row(
        "limits",
        "resource bounds and time-outs",
        include_str!("../../../control-defaults/limits"),
        false,
        Needed::Always,
        Parse::Text(|text, sink, p| p.settings = limits::parse(text, sink)),
        None,
    ),
    /// `syslog`: the facility of the syslog copy of qmvc.log.
    Syslog => row(
        "syslog",
        "qmvc.log lines to syslog too",
        include_str!("../../../control-defaults/syslog"),
        false,
        Needed::Always,
        Parse::Text(|text, sink, p| p.syslog = syslog::parse(text, sink)),
        None,
    ),
}

impl Control {
    /// The file name under `control/`.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// What the file is for, in a few words: the `meaning` column of
    /// qmvc-control(5).
    pub fn about(self) -> &'static str {
        self.row().about
    }

    /// The built-in default: `control-defaults/NAME`, compiled in.
    pub fn default_text(self) -> &'static str {
        self.row().default_text
    }

    /// Whether the file can name a command that qmvc runs (`injector`,
    /// the `|command` lines of `badbodytexts`, the command engines of
    /// `scanners`): such a file must come from a layer that may name
    /// commands (SPEC.md section 9).
    pub fn names_command(self) -> bool {
        self.row().names_command
    }

    /// Whether the built-in default has no entry (only comments).
    pub fn default_is_empty(self) -> bool {
        !self.row().default_has_entries
    }

    /// The control file called `name`, if there is one.
    pub fn named(name: &str) -> Option<Control> {
        CONTROLS.iter().copied().find(|c| c.name() == name)
    }

    /// When a delivery reads the file.
    pub(crate) fn needed(self) -> Needed {
        self.row().needed
    }

    /// Its parser.
    pub(crate) fn parse(self) -> Parse {
        self.row().parse
    }

    /// Its lint-only checks.
    pub(crate) fn lint(self) -> Option<Lint> {
        self.row().lint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::entries;

    #[test]
    fn has_entries_agrees_with_entries() {
        for text in ["", "#x\n", "#x\n\n  \n", "a", "#x\n b \n", "\n\n#\nx"] {
            assert_eq!(has_entries(text), entries(text).next().is_some());
        }
        for &control in CONTROLS {
            let text = control.default_text();
            assert_eq!(
                control.default_is_empty(),
                entries(text).next().is_none(),
                "{}",
                control.name()
            );
        }
    }

    #[test]
    fn names_are_unique_and_found() {
        for &control in CONTROLS {
            assert_eq!(Control::named(control.name()), Some(control));
        }
        assert_eq!(Control::named("nonesuch"), None);
    }

    #[test]
    fn the_files_that_name_commands() {
        let naming: Vec<&str> = CONTROLS
            .iter()
            .filter(|c| c.names_command())
            .map(|c| c.name())
            .collect();
        assert_eq!(
            naming,
            ["badbodytexts", "scanners", "injector", "qmailqueue"]
        );
    }
}
