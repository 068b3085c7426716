/*!
`virulator -s`: the state of the layer's virus scanners, from `qmvc -s`
run as a child (no shell, a time-out), its lines parsed into a table.

`qmvc -s` prints one line per scanner,
`I ENGINE (FULL NAME): answers at X; engine V; signatures S, DATE` or
`I ENGINE (FULL NAME): NOT REACHABLE: WHY; engine V; signatures S, DATE`,
and exits 111 when one does not answer, which is news for the table,
not a failure. Lines of another shape are kept as they are.
*/

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use qmvc_process::{Exit, Spec};

use crate::html::esc;

/// How long `qmvc -s` may take: it asks every scanner, each with its
/// own time-out.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The most output kept of `qmvc -s` (a line per scanner, at most four).
const CAPTURE: usize = 64 << 10;

/// Whether a scanner answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// It answers at this address.
    Answers(String),
    /// It does not, and why.
    Unreachable(String),
}

/// One scanner as `qmvc -s` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannerState {
    /// Its initial in `qmvc.log`.
    pub initial: String,
    /// Its engine (`clamd`).
    pub engine: String,
    /// Its full name.
    pub full_name: String,
    /// Whether it answers.
    pub reach: Reach,
    /// The engine version (`unknown` when it did not say).
    pub engine_version: String,
    /// The signature version.
    pub signatures: String,
    /// The signature date.
    pub date: String,
}

/// A line of `qmvc -s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A scanner.
    Scanner(ScannerState),
    /// Anything else (`no scanner configured`, a problem), as printed.
    Other(String),
}

/// What `qmvc -s` gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// It ran.
    Ran {
        /// The command, for the page.
        command: String,
        /// Its lines, standard output then standard error.
        lines: Vec<Line>,
        /// Why its exit is unexpected (not 0, not 111), if it is.
        trouble: Option<String>,
    },
    /// It could not be run at all.
    Failed(String),
}

/// Parses one line of `qmvc -s`; `None` when it is not a scanner's.
pub fn parse_line(line: &str) -> Option<ScannerState> {
    let (initial, rest) = line.split_once(' ')?;
    let (engine, rest) = rest.split_once(" (")?;
    let (full_name, rest) = rest.split_once("): ")?;
    // What a scanner said about itself comes last and is short; the
    // reason it is unreachable may be anything, so split from the end.
    let (reach, rest) = rest.rsplit_once("; engine ")?;
    let (engine_version, rest) = rest.split_once("; signatures ")?;
    let (signatures, date) = rest.split_once(", ")?;
    if initial.is_empty() || engine.is_empty() || engine.contains(' ') {
        return None;
    }
    let reach = if let Some(at) = reach.strip_prefix("answers at ") {
        Reach::Answers(at.to_string())
    } else if let Some(why) = reach.strip_prefix("NOT REACHABLE") {
        Reach::Unreachable(why.trim_start_matches(':').trim().to_string())
    } else {
        return None;
    };
    Some(ScannerState {
        initial: initial.to_string(),
        engine: engine.to_string(),
        full_name: full_name.to_string(),
        reach,
        engine_version: engine_version.to_string(),
        signatures: signatures.to_string(),
        date: date.to_string(),
    })
}

/// Parses the output of `qmvc -s`.
pub fn parse(text: &str) -> Vec<Line> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match parse_line(l) {
            Some(state) => Line::Scanner(state),
            None => Line::Other(l.to_string()),
        })
        .collect()
}

/// The qmvc to run: `$QMVC` when absolute, else `qmvc` next to this
/// program, else `qmvc` along `PATH`.
fn program() -> OsString {
    if let Some(path) = std::env::var_os("QMVC").filter(|p| !p.is_empty()) {
        if Path::new(&path).is_absolute() {
            return path;
        }
        qmvc_process::esay!(
            "virulator: warning: QMVC={} is not an absolute path and is \
             ignored",
            Path::new(&path).display()
        );
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("qmvc")))
        .filter(|path| path.is_file());
    match beside {
        Some(path) => path.into_os_string(),
        None => OsString::from("qmvc"),
    }
}

/// `-c LAYER` unless `layer` is the system layer (compared resolved).
fn layer_args(layer: &Path) -> Vec<String> {
    let resolve = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.into());
    let layer_path: PathBuf = resolve(layer);
    if layer_path == resolve(&crate::cli::system_layer()) {
        return Vec::new();
    }
    let shown = layer_path.to_str().or(layer.to_str());
    match shown {
        Some(dir) => vec!["-c".into(), dir.into()],
        // The layer operand is UTF-8 (cli::parse); only a symlink could
        // resolve to a name that is not, and the operand still works.
        None => vec!["-c".into(), layer.display().to_string()],
    }
}

/// Runs `qmvc -s` for `layer`. A failure to run is warned about on
/// standard error and becomes [`Status::Failed`].
pub fn status(layer: &Path) -> Status {
    let program = program();
    let mut args = vec!["-s".to_string()];
    args.extend(layer_args(layer));
    let command =
        format!("{} {}", Path::new(&program).display(), args.join(" "));
    // Run from root's cron: the program and every directory on its way
    // must be root's alone (SPEC 9). qmvc then holds the layer to the
    // same rule.
    let found = match Path::new(&program).is_absolute() {
        true => Some(PathBuf::from(&program)),
        false => program.to_str().and_then(qmvc_process::find_program),
    };
    if let Some(path) = found {
        if let Err(e) = qmvc_profile::trust::check_path(&path) {
            let why = format!("refused to run {command}: {e}");
            qmvc_process::esay!("virulator: warning: {why}; the pages say so");
            return Status::Failed(why);
        }
    }
    let spec = Spec {
        program: &program,
        args: &args,
        stdin: None,
        capture: Some(CAPTURE),
        env: &[],
        timeout: TIMEOUT,
    };
    let output = match qmvc_process::run(&spec) {
        Ok(output) => output,
        Err(e) => {
            let why = format!("cannot run {command}: {e}");
            qmvc_process::esay!("virulator: warning: {why}; the pages say so");
            return Status::Failed(why);
        }
    };
    let trouble = match output.exit {
        Exit::Code(0 | 111) => None,
        Exit::Code(code) => Some(format!("{command} exited {code}")),
        Exit::Signal(signal) => {
            Some(format!("{command} was killed by signal {signal}"))
        }
    };
    if let Some(why) = &trouble {
        qmvc_process::esay!("virulator: warning: {why}");
    }
    let mut lines = parse(&String::from_utf8_lossy(&output.stdout));
    lines.extend(parse(&String::from_utf8_lossy(&output.stderr)));
    Status::Ran { command, lines, trouble }
}

/// The section `Scanners` of a page.
pub fn section(out: &mut String, status: &Status) {
    out.push_str("<h2>Scanners</h2>\n");
    let (command, lines, trouble) = match status {
        Status::Failed(why) => {
            let _ = writeln!(
                out,
                "<p class=\"note\">The state of the scanners is unknown: \
                 {}.</p>",
                esc(why)
            );
            return;
        }
        Status::Ran { command, lines, trouble } => (command, lines, trouble),
    };
    let _ = writeln!(
        out,
        "<p class=\"note\">As <code>{}</code> told when this page was \
         written.</p>",
        esc(command)
    );
    if let Some(why) = trouble {
        let _ = writeln!(out, "<p class=\"note\">{}.</p>", esc(why));
    }
    let scanners: Vec<&ScannerState> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Scanner(s) => Some(s),
            Line::Other(_) => None,
        })
        .collect();
    if !scanners.is_empty() {
        table(out, &scanners);
    }
    let others: Vec<&str> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Other(text) => Some(text.as_str()),
            Line::Scanner(_) => None,
        })
        .collect();
    if !others.is_empty() {
        out.push_str("<div class=\"scroll\"><pre>");
        for text in others {
            let _ = writeln!(out, "{}", esc(text));
        }
        out.push_str("</pre></div>\n");
    }
    if scanners.is_empty() && lines.is_empty() {
        out.push_str("<p class=\"note\">It said nothing.</p>\n");
    }
}

fn table(out: &mut String, scanners: &[&ScannerState]) {
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>initial</th>\
         <th>engine</th><th>full name</th><th>reachable</th>\
         <th>engine version</th><th>signature version</th>\
         <th>signature date</th></tr></thead><tbody>\n",
    );
    for s in scanners {
        let reach = match &s.reach {
            Reach::Answers(at) => format!("answers at {at}"),
            Reach::Unreachable(why) if why.is_empty() => {
                "NOT REACHABLE".to_string()
            }
            Reach::Unreachable(why) => format!("NOT REACHABLE: {why}"),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"w\">{}</td>\
             <td class=\"w\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.initial),
            esc(&s.engine),
            esc(&s.full_name),
            esc(&reach),
            esc(&s.engine_version),
            esc(&s.signatures),
            esc(&s.date),
        );
    }
    out.push_str("</tbody></table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reachable_and_unreachable_lines() {
        let up = parse_line(
            "C clamd (ClamAV daemon): answers at unix:/run/clamd.sock; \
             engine 1.4.2; signatures 27000, Sat Nov 21 09:10:11 2026",
        )
        .unwrap();
        assert_eq!(up.initial, "C");
        assert_eq!(up.engine, "clamd");
        assert_eq!(up.full_name, "ClamAV daemon");
        assert_eq!(up.reach, Reach::Answers("unix:/run/clamd.sock".into()));
        assert_eq!(up.engine_version, "1.4.2");
        assert_eq!(up.signatures, "27000");
        assert_eq!(up.date, "Sat Nov 21 09:10:11 2026");
        let down = parse_line(
            "K kaspersky (Kaspersky (KAV) scanner): NOT REACHABLE: connect \
             127.0.0.1:1344: refused; engine x; engine unknown; signatures \
             unknown, unknown",
        )
        .unwrap();
        assert_eq!(down.full_name, "Kaspersky (KAV) scanner");
        assert_eq!(
            down.reach,
            Reach::Unreachable(
                "connect 127.0.0.1:1344: refused; engine x".into()
            )
        );
        assert_eq!(down.engine_version, "unknown");
        assert_eq!(down.date, "unknown");
    }

    #[test]
    fn other_lines_stay_verbatim() {
        let lines = parse(
            "no scanner configured (see qmvc-scanners(5))\n\n\
             qmvc: <b>x</b>\nC clamd (x): maybe; engine 1; signatures 2, 3\n",
        );
        assert_eq!(
            lines,
            [
                Line::Other(
                    "no scanner configured (see qmvc-scanners(5))".into()
                ),
                Line::Other("qmvc: <b>x</b>".into()),
                Line::Other(
                    "C clamd (x): maybe; engine 1; signatures 2, 3".into()
                ),
            ]
        );
        let mut out = String::new();
        let status =
            Status::Ran { command: "q -s".into(), lines, trouble: None };
        section(&mut out, &status);
        assert!(out.contains("qmvc: &lt;b&gt;x&lt;/b&gt;"));
        assert!(!out.contains("<b>x"));
    }

    #[test]
    fn a_table_row_per_scanner() {
        let mut out = String::new();
        let lines = parse(
            "C clamd (<i>): NOT REACHABLE; engine unknown; signatures \
             unknown, unknown\n",
        );
        section(
            &mut out,
            &Status::Ran { command: "q".into(), lines, trouble: None },
        );
        assert!(
            out.contains("<td>NOT REACHABLE</td>")
                || out.contains(">NOT REACHABLE<")
        );
        assert!(out.contains("&lt;i&gt;"));
    }
}
