/*!
The effective profile as text, in the way `qmail-showctl` shows qmail's
control files: for `qmvc -C` and `qmvc-queue -C`.

For every control file of the registry ([`crate::CONTROLS`]): the file it
comes from (a layer's path, or `(built-in)/control/NAME`) and its layer,
then each entry as the parser sees it (`LINE: entry`, comments and blank
lines left out); then the engine definitions of the engines `scanners`
and `spamscanners` name; then which layer each notification template
comes from. Problems are shown where they belong (`problem: FILE:LINE:
message`) and never stop the report: finding them is `-L`'s job, this is
a view. The caller passes the built-in templates, which are compiled into
qmvc-notify, not into this crate.

Pure but for reading the layers; the caller writes the text out.
*/

use std::fmt::Write as _;

use crate::lines::entries;
use crate::{
    Control, Layer, Layers, Problem, Profile, Scope, Source, CONTROLS,
};

/// A template compiled into qmvc: language, name and text.
#[derive(Clone, Copy, Debug)]
pub struct BuiltInTemplate {
    /// `en`, `de`.
    pub lang: &'static str,
    /// `notifyrecipient`, ….
    pub name: &'static str,
    /// The text.
    pub text: &'static str,
}

/// The name of `layer` as the report shows it.
pub fn layer_name(layer: Layer) -> &'static str {
    match layer {
        Layer::User => "user",
        Layer::Domain => "domain",
        Layer::Relay => "relay",
        Layer::System => "system",
        Layer::BuiltIn => "built-in",
    }
}

/// The report of the profile `layers` make: see the module
/// documentation. `templates` are the built-in ones; a language that a
/// layer has in `tpl/` but none of them has is not looked for.
pub fn show(layers: &Layers, templates: &[BuiltInTemplate]) -> String {
    let mut out = String::new();
    show_layers(&mut out, layers);
    // Everything is loaded, as for lint, so that every problem is known;
    // a layer that cannot be trusted is one more problem line.
    let (profile, problems) = match Profile::load(layers, Scope::All) {
        Ok(loaded) => loaded,
        Err(e) => {
            let _ = writeln!(out, "problem: {e}");
            (Profile::default(), Vec::new())
        }
    };
    let mut shown = vec![false; problems.len()];
    let _ = writeln!(out, "\ncontrol files:");
    for &control in CONTROLS {
        let source = layers.read(control);
        let _ = write!(out, "\n{}: ", control.name());
        show_source(
            &mut out,
            source.as_ref().map_err(ToString::to_string),
            false,
        );
        show_effective(&mut out, control, &profile);
        if let Ok(source) = &source {
            show_problems(&mut out, &source.file, &problems, &mut shown);
        }
    }
    show_engines(&mut out, layers, &profile, &problems, &mut shown);
    show_templates(&mut out, layers, &profile, templates);
    // Problems of no file shown above (a layer's directory, say).
    let rest: Vec<&Problem> = problems
        .iter()
        .zip(&shown)
        .filter(|(_, seen)| !**seen)
        .map(|(p, _)| p)
        .collect();
    if !rest.is_empty() {
        let _ = writeln!(out, "\nother problems:");
        for problem in rest {
            let _ = writeln!(out, "  problem: {problem}");
        }
    }
    out
}

/// For a control file of settings, the values in effect once its entries
/// are read over the defaults (`qmail-showctl`'s "(Default.)" view): a
/// file with no entries still says what applies.
fn show_effective(out: &mut String, control: Control, profile: &Profile) {
    let values: Vec<(&str, String)> = match control {
        Control::Limits => crate::limits::effective(&profile.settings),
        Control::Injector => vec![(
            "injector",
            profile.reactions.injector.display().to_string(),
        )],
        Control::Guard => vec![(
            "guard",
            profile.reactions.guard.clone().unwrap_or_else(|| {
                "none (MAILER-DAEMON at this host)".to_string()
            }),
        )],
        Control::Language => {
            vec![("language", profile.reactions.language.clone())]
        }
        Control::QmailQueue => vec![(
            "qmailqueue",
            profile.queue.qmailqueue.display().to_string(),
        )],
        Control::CustomError => {
            use crate::CustomError::*;
            let value = match profile.queue.customerror {
                Auto => "auto",
                Yes => "yes",
                No => "no",
            };
            vec![("customerror", value.to_string())]
        }
        Control::Syslog => vec![(
            "syslog",
            profile
                .syslog
                .map_or("none (qmvc.log only)", |f| f.name())
                .to_string(),
        )],
        _ => return,
    };
    for (key, value) in values {
        let _ = writeln!(out, "  effective: {key}={value}");
    }
}

/// The layer directories, most specific first.
fn show_layers(out: &mut String, layers: &Layers) {
    let _ = writeln!(out, "layers (most specific first):");
    let dirs = [
        (Layer::User, layers.user.as_deref()),
        (Layer::Domain, layers.domain.as_deref()),
        (Layer::Relay, layers.relay.as_deref()),
        (Layer::System, Some(layers.system.as_path())),
    ];
    for (layer, dir) in dirs {
        if let Some(dir) = dir {
            let _ =
                writeln!(out, "  {}: {}", layer_name(layer), dir.display());
        }
    }
    let _ = writeln!(out, "  built-in: the defaults compiled into qmvc");
    let _ = writeln!(out, "state (logs, tmp/, save/, inspect/): {}", {
        layers.state_dir().display()
    });
}

/// The lines of an engine definition (YAML) worth showing: not blank,
/// not a comment, their indentation kept, which is their structure.
fn yaml_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(index, raw)| {
        let content = raw.trim();
        let shown = !content.is_empty() && !content.starts_with('#');
        shown.then_some((index + 1, raw.trim_end()))
    })
}

/// `FILE (LAYER)` and the entries of `source` (of a control file, or with
/// `yaml` of an engine definition), or why it cannot be read.
fn show_source(out: &mut String, source: Result<&Source, String>, yaml: bool) {
    match source {
        Ok(source) => {
            let _ = writeln!(
                out,
                "{} ({})",
                source.file,
                layer_name(source.layer)
            );
            let mut any = false;
            let lines: Box<dyn Iterator<Item = (usize, &str)>> = if yaml {
                Box::new(yaml_lines(&source.text))
            } else {
                Box::new(entries(&source.text))
            };
            for (line, entry) in lines {
                let _ = writeln!(out, "  {line}: {entry}");
                any = true;
            }
            if !any {
                let _ = writeln!(out, "  (no entries)");
            }
        }
        Err(why) => {
            let _ = writeln!(out, "not readable");
            let _ = writeln!(out, "  problem: {why}");
        }
    }
}

/// The problems of `file` not shown yet.
fn show_problems(
    out: &mut String,
    file: &str,
    problems: &[Problem],
    shown: &mut [bool],
) {
    for (problem, seen) in problems.iter().zip(shown.iter_mut()) {
        if !*seen && problem.origin.file == file {
            let _ = writeln!(out, "  problem: {problem}");
            *seen = true;
        }
    }
}

/// The definitions of the engines `scanners` and `spamscanners` name
/// (the first field of each entry), each once.
fn show_engines(
    out: &mut String,
    layers: &Layers,
    profile: &Profile,
    problems: &[Problem],
    shown: &mut [bool],
) {
    let mut engines: Vec<String> = Vec::new();
    for control in [Control::Scanners, Control::SpamScanners] {
        let Ok(source) = layers.read(control) else { continue };
        for (_, entry) in entries(&source.text) {
            let engine = entry.split(';').next().unwrap_or("").trim();
            if !engine.is_empty() && !engines.iter().any(|e| e == engine) {
                engines.push(engine.to_owned());
            }
        }
    }
    let _ = writeln!(out, "\nengine definitions (scanners.d/ENGINE.yaml):");
    if engines.is_empty() {
        let _ = writeln!(out, "  (no engine named)");
    }
    for engine in &engines {
        let _ = write!(out, "\n{engine}: ");
        match layers.read_engine(engine) {
            Ok(Some(source)) => {
                show_source(out, Ok(&source), true);
                let used = profile
                    .scanners
                    .iter()
                    .chain(&profile.spamscanners)
                    .any(|s| &s.engine == engine);
                if !used {
                    let _ = writeln!(out, "  (not usable: see the problems)");
                }
                show_problems(out, &source.file, problems, shown);
            }
            Ok(None) => {
                let _ = writeln!(out, "no definition");
                let _ = writeln!(
                    out,
                    "  problem: no layer has scanners.d/{engine}.yaml and \
                     none ships with qmvc; write one (qmvc-scanners(5))"
                );
            }
            Err(e) => show_source(out, Err(e.to_string()), true),
        }
    }
}

/// Where each template comes from, in every language of the built-in
/// ones and in the language of `language`.
fn show_templates(
    out: &mut String,
    layers: &Layers,
    profile: &Profile,
    templates: &[BuiltInTemplate],
) {
    let _ = writeln!(
        out,
        "\ntemplates (tpl/LANG/NAME.hbs; default language {}):",
        profile.reactions.language
    );
    let mut wanted: Vec<(&str, &str)> =
        templates.iter().map(|t| (t.lang, t.name)).collect();
    let language = profile.reactions.language.as_str();
    let mut names: Vec<&str> = templates.iter().map(|t| t.name).collect();
    names.dedup();
    for name in names {
        if !wanted.contains(&(language, name)) {
            wanted.push((language, name));
        }
    }
    for (lang, name) in wanted {
        let built_in = templates
            .iter()
            .find(|t| t.lang == lang && t.name == name)
            .map(|t| t.text);
        let _ = write!(out, "  {lang}/{name}: ");
        let _ = match layers.read_template(lang, name, built_in) {
            Ok(Some(source)) => {
                writeln!(out, "{} ({})", source.file, layer_name(source.layer))
            }
            Ok(None) => writeln!(
                out,
                "none (a notification in {lang} uses the language \
                 without region, then en)"
            ),
            Err(e) => writeln!(out, "not readable\n    problem: {e}"),
        };
    }
}
