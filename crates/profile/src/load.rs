/*!
Loading the profile: which control files to read for a scope, in which
order; the registry ([`crate::controls`]) says what each file is.

The files needed always (`filters`, which decides what else a delivery
needs, and `limits`, since badbodytexts commands take their time-out from
it) come first; then, in the order of the registry, the control file of
every condition that has a filter line, `noscantypes` with `-n`, and the
files of the Reactions when a delivery may send mail. The control file of
virusmail is `scanners`, and with it the definition
`scanners.d/ENGINE.yaml` of each engine it names. Nothing else is read or
compiled: qmvc is a process per message. A file that no layer has and
whose built-in default has no entry is not parsed at all.

For lint every file is read, and a file that cannot be read is one more
problem (at line 0) instead of the end of the report; then each file's
lint-only checks run (the programs that badbodytexts and the named
engines run exist; the definition of every engine that ships with qmvc,
named or not, is sound, so that a broken one is found before it is used).
*/

use crate::controls::{Needed, Parse};
use crate::layers::Listing;
use crate::lines::Sink;
use crate::{
    Condition, Control, Error, Layers, Problem, Profile, Scope, Source,
    CONTROLS,
};

/// What the parsers and lint checks of the registry work on.
pub(crate) struct Load<'a> {
    /// The layers.
    pub(crate) layers: &'a Layers,
    /// Lint: report what only lint cares about, and make a file that
    /// cannot be read a problem.
    pub(crate) lint: bool,
    /// The problems so far.
    pub(crate) problems: &'a mut Vec<Problem>,
    /// The profile so far.
    pub(crate) profile: &'a mut Profile,
    /// The engines `scanners` names, usable or not, for lint.
    pub(crate) named_engines: Vec<String>,
}

impl Load<'_> {
    /// A collector of the problems of `file`.
    pub(crate) fn sink<'s>(&'s mut self, file: &'s str) -> Sink<'s> {
        Sink::new(file, self.problems, self.lint)
    }

    /// For lint, reports `e` as a problem of the file as a whole (line
    /// 0; the reason says more) and returns `Ok`; else `Err`.
    pub(crate) fn lint_or_fail(&mut self, e: Error) -> Result<(), Error> {
        if !self.lint {
            return Err(e);
        }
        self.sink(&e.file).report(0, e.reason);
        Ok(())
    }
}

/// Whether a delivery may send mail: a filter line has reactions, or a
/// badbodytexts command (plainmail, say) may want the injector.
fn needs_reactions(profile: &Profile) -> bool {
    profile.filters.iter().any(|r| {
        !r.reactions.is_empty() || r.condition == Condition::BadBodyText
    })
}

/// Whether `scope` reads `control`, given what is loaded so far.
fn wanted(control: Control, scope: Scope, profile: &Profile) -> bool {
    let (noscan, queue) = match scope {
        Scope::All => return true,
        Scope::Needed { noscan } => (noscan, false),
        Scope::Queue => (false, true),
    };
    match control.needed() {
        Needed::Always => true,
        Needed::By(condition) => profile.rule(condition).is_some(),
        Needed::NoScan => noscan,
        Needed::Reactions => needs_reactions(profile),
        Needed::Queue => queue,
    }
}

/// See [`Profile::load`].
pub(crate) fn load(
    layers: &Layers,
    scope: Scope,
) -> Result<(Profile, Vec<Problem>), Error> {
    let mut problems = Vec::new();
    let mut profile = Profile::default();
    let mut cx = Load {
        layers,
        lint: scope == Scope::All,
        problems: &mut problems,
        profile: &mut profile,
        named_engines: Vec::new(),
    };
    // Before anything is read: a layer others can write to is refused.
    if let Err(e) = layers.check_trust() {
        cx.lint_or_fail(e)?;
    }
    let listing = layers.listing();
    let always = |c: &&Control| c.needed() == Needed::Always;
    let first = CONTROLS.iter().filter(always);
    let then = CONTROLS.iter().filter(|c| !always(c));
    for &control in first.chain(then) {
        if wanted(control, scope, cx.profile) {
            load_one(&mut cx, control, &listing)?;
        }
    }
    Ok((profile, problems))
}

/// See [`Profile::parse_control`]: `text` parsed as `control` alone,
/// without lint, onto an empty profile.
pub(crate) fn parse_control(
    layers: &Layers,
    control: Control,
    text: &str,
) -> Result<(Profile, Vec<Problem>), Error> {
    let mut problems = Vec::new();
    let mut profile = Profile::default();
    let mut cx = Load {
        layers,
        lint: false,
        problems: &mut problems,
        profile: &mut profile,
        named_engines: Vec::new(),
    };
    let source = Source {
        text: text.to_string().into(),
        file: format!("control/{}", control.name()),
        layer: crate::Layer::System,
    };
    match control.parse() {
        Parse::Text(parse) => {
            let mut sink = Sink::new(&source.file, cx.problems, false);
            parse(&source.text, &mut sink, cx.profile);
        }
        Parse::Layered(parse) => parse(&mut cx, &source)?,
    }
    Ok((profile, problems))
}

/// Reads and parses `control`, then runs its lint checks when linting.
/// A file no layer has and whose built-in default has no entry is
/// neither copied nor parsed.
fn load_one(
    cx: &mut Load<'_>,
    control: Control,
    listing: &Listing,
) -> Result<(), Error> {
    let source = match cx.layers.read_listed(control, listing) {
        Ok(Some(source)) => Some(source),
        Ok(None) if control.default_is_empty() => None,
        Ok(None) => Some(Layers::built_in(control)),
        Err(e) => cx.lint_or_fail(e).map(|()| None)?,
    };
    if let Some(source) = source {
        match control.parse() {
            Parse::Text(parse) => {
                let mut sink = Sink::new(&source.file, cx.problems, cx.lint);
                parse(&source.text, &mut sink, cx.profile);
            }
            Parse::Layered(parse) => parse(cx, &source)?,
        }
    }
    match control.lint() {
        Some(lint) if cx.lint => lint(cx),
        _ => Ok(()),
    }
}
