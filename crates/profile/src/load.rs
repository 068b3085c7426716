/*!
Loading the profile: which control files to read for a scope, in which
order, and into which field.

`filters` comes first, since it decides what else a delivery needs; then
`limits`, since badbodytexts commands take their time-out from it; then
the control file of every condition that has a filter line, and
`noscantypes` with `-n`. Nothing else is read or compiled: qmvc is a
process per message. For lint every file is read, and a file that cannot
be read is one more problem (at line 0) instead of the end of the report.
*/

use crate::lines::Sink;
use crate::{
    filters, globs, limits, loaders, mailheaders, text, Condition, Control,
    Layers, Problem, Profile, ReadError, Scope, Source, CONTROLS,
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
        Condition::VirusMail => None,
    }
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
                    || profile
                        .filters
                        .iter()
                        .any(|r| control_of(r.condition) == Some(control))
            }
        };
        if !wanted {
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
    }
}
