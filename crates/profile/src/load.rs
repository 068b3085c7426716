/*!
Loading the profile: which control files to read for a scope, in which
order, and into which field.

`filters` comes first, since it decides what else a delivery needs; then
`limits`, since badbodytexts commands take their time-out from it; then
the control file of every condition that has a filter line, and
`noscantypes` with `-n`. The control file of virusmail is `scanners`,
and with it the definition `scanners.d/ENGINE.yaml` of each engine it
names. Nothing else is read or compiled: qmvc is a process per message.
For lint every file is read, and a file that cannot be read is one more
problem (at line 0) instead of the end of the report; lint also checks
that the programs of the named engines exist, and the definition of every
engine that ships with qmvc, named or not, so that a broken one is found
before it is used.
*/

use crate::lines::Sink;
use crate::{
    definitions, filters, globs, limits, loaders, mailheaders, reactions,
    scanners, text, Condition, Control, EngineDef, Layers, Origin, Problem,
    Profile, ReadError, Scanner, Scope, Source, BUILT_IN_ENGINES, CONTROLS,
};

/// The control file that condition `condition` needs, if any.
fn control_of(condition: Condition) -> Option<Control> {
    match condition {
        Condition::Errormail => Some(Control::MailHeaders),
        Condition::BadSubject => Some(Control::BadSubjects),
        Condition::BadBodyText => Some(Control::BadBodyTexts),
        Condition::BadFilename => Some(Control::BadFilenames),
        Condition::BadMimeType => Some(Control::BadMimeTypes),
        Condition::BadLoaderType => Some(Control::BadLoaderTypes),
        Condition::VirusMail => Some(Control::Scanners),
    }
}

fn is_reaction_control(control: Control) -> bool {
    matches!(control, Control::Injector | Control::Guard | Control::Language)
}

/// Whether a delivery may send mail: a filter line has reactions, or a
/// badbodytexts command (plainmail, say) may want the injector.
fn needs_reactions(profile: &Profile) -> bool {
    profile.filters.iter().any(|r| {
        !r.reactions.is_empty() || r.condition == Condition::BadBodyText
    })
}

/// See [`Profile::load`].
pub(crate) fn load(
    layers: &Layers,
    scope: Scope,
) -> Result<(Profile, Vec<Problem>), ReadError> {
    let lint = scope == Scope::All;
    let mut problems = Vec::new();
    let mut profile = Profile::default();
    let read = |control: Control, problems: &mut Vec<Problem>| {
        read_one(layers, control, lint, problems)
    };
    if let Some(source) = read(Control::Filters, &mut problems)? {
        let mut sink = Sink::new(&source.file, &mut problems, lint);
        profile.filters = filters::parse(&source.text, &mut sink);
    }
    if let Some(source) = read(Control::Limits, &mut problems)? {
        let mut sink = Sink::new(&source.file, &mut problems, lint);
        profile.settings = limits::parse(&source.text, &mut sink);
    }
    let patterns = CONTROLS
        .iter()
        .copied()
        .filter(|c| !matches!(c, Control::Filters | Control::Limits));
    for control in patterns {
        let wanted = match scope {
            Scope::All => true,
            Scope::Needed { noscan } => {
                (control == Control::NoScanTypes && noscan)
                    || (is_reaction_control(control)
                        && needs_reactions(&profile))
                    || profile
                        .filters
                        .iter()
                        .any(|r| control_of(r.condition) == Some(control))
            }
        };
        if !wanted {
            continue;
        }
        if control == Control::Scanners {
            profile.scanners = load_scanners(layers, lint, &mut problems)?;
            continue;
        }
        let Some(source) = read(control, &mut problems)? else { continue };
        let mut sink = Sink::new(&source.file, &mut problems, lint);
        parse_into(&mut profile, control, &source.text, &mut sink);
    }
    Ok((profile, problems))
}

/// Reads `control`; for lint, a read error becomes a problem and `None`.
fn read_one(
    layers: &Layers,
    control: Control,
    lint: bool,
    problems: &mut Vec<Problem>,
) -> Result<Option<Source>, ReadError> {
    match layers.read(control) {
        Ok(source) => Ok(Some(source)),
        Err(e) if lint => {
            let mut sink = Sink::new(&e.file, problems, lint);
            sink.report(0, e.reason);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Parses `text` as `control` into its field of `profile`.
fn parse_into(
    profile: &mut Profile,
    control: Control,
    text: &str,
    sink: &mut Sink<'_>,
) {
    match control {
        Control::Filters => profile.filters = filters::parse(text, sink),
        Control::Limits => profile.settings = limits::parse(text, sink),
        Control::MailHeaders => {
            profile.mailheaders = mailheaders::parse(text, sink)
        }
        Control::BadSubjects => {
            profile.badsubjects = text::parse_subjects(text, sink)
        }
        Control::BadBodyTexts => {
            let timeout = profile.settings.command_timeout;
            profile.badbodytexts = text::parse_bodies(text, timeout, sink)
        }
        Control::BadFilenames => {
            profile.badfilenames = globs::parse_filenames(text, sink)
        }
        Control::BadMimeTypes => {
            profile.badmimetypes = globs::parse_types(text, sink)
        }
        Control::BadLoaderTypes => {
            profile.badloadertypes = loaders::parse(text, sink)
        }
        Control::NoScanTypes => {
            profile.noscantypes = globs::parse_types(text, sink)
        }
        // Read with the definitions it names, by load_scanners.
        Control::Scanners => {}
        Control::Injector => {
            reactions::parse_injector(text, sink, &mut profile.reactions)
        }
        Control::Guard => {
            reactions::parse_guard(text, sink, &mut profile.reactions)
        }
        Control::Language => {
            reactions::parse_language(text, sink, &mut profile.reactions)
        }
    }
}

/// What looking up an engine's definition found.
enum Definition {
    /// No layer has one, and none ships.
    Missing,
    /// One with problems (reported), or one that could not be read
    /// (reported, for lint).
    Broken,
    /// A usable one.
    Good(Box<EngineDef>),
}

/// Reads `scanners` and the definition of each engine it names; for lint
/// also the definition of every shipped engine it does not name.
fn load_scanners(
    layers: &Layers,
    lint: bool,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Scanner>, ReadError> {
    let mut scanners = Vec::new();
    let mut named = Vec::new();
    if let Some(source) = read_one(layers, Control::Scanners, lint, problems)?
    {
        let lines = {
            let mut sink = Sink::new(&source.file, problems, lint);
            scanners::parse(&source.text, &mut sink)
        };
        for line in lines {
            named.push(line.engine.clone());
            match definition(layers, &line.engine, lint, lint, problems)? {
                Definition::Good(definition) => scanners.push(Scanner {
                    engine: line.engine,
                    initial: line.initial,
                    full_name: line.full_name,
                    definition: *definition,
                    origin: Origin {
                        file: source.file.clone(),
                        line: line.line,
                    },
                }),
                Definition::Broken => {}
                Definition::Missing => {
                    let mut sink = Sink::new(&source.file, problems, lint);
                    sink.report(
                        line.line,
                        format!(
                            "no definition for engine {0}: write one to \
                             control/scanners.d/{0}.yaml (see \
                             qmvc-scanners(5); shipped: {1})",
                            line.engine,
                            shipped_names()
                        ),
                    );
                }
            }
        }
    }
    if lint {
        for &(engine, _) in BUILT_IN_ENGINES {
            if !named.iter().any(|n| n == engine) {
                definition(layers, engine, lint, false, problems)?;
            }
        }
    }
    Ok(scanners)
}

/// The names of the shipped engines, for messages.
fn shipped_names() -> String {
    let names: Vec<&str> = BUILT_IN_ENGINES.iter().map(|(n, _)| *n).collect();
    names.join(", ")
}

/// Reads and parses the definition of `engine`; `programs`: check that
/// its programs exist.
fn definition(
    layers: &Layers,
    engine: &str,
    lint: bool,
    programs: bool,
    problems: &mut Vec<Problem>,
) -> Result<Definition, ReadError> {
    let source = match layers.read_engine(engine) {
        Ok(Some(source)) => source,
        Ok(None) => return Ok(Definition::Missing),
        Err(e) if lint => {
            Sink::new(&e.file, problems, lint).report(0, e.reason);
            return Ok(Definition::Broken);
        }
        Err(e) => return Err(e),
    };
    let mut sink = Sink::new(&source.file, problems, lint);
    Ok(match definitions::parse(&source.text, &mut sink, programs) {
        Some(definition) => Definition::Good(Box::new(definition)),
        None => Definition::Broken,
    })
}
