/*!
The qmvc-release binary (qmvc-release(8)): `qmvc-release [-u] [-c DIR] -l`
lists the messages kept in the layer's `save/`; `qmvc-release [-u] [-c
DIR] ID [ADDRESS...]` releases one ([`qmvc_release::release`]). It reads
its options, finds the layers as qmvc does, and maps the result to its
exit codes in one place ([`Exit`]).
*/

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use qmvc_log::fields::visible;
use qmvc_profile::{Layers, Profile, Scope};
use qmvc_release::{kept, Request};

/// qmvc-release's exit codes, as qmvc-release(8) says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    /// 0: listed, or released.
    Done = 0,
    /// 100: a usage error, an unknown ID, a release refused (released
    /// before, a damaged copy, an address the injector cannot take).
    Refused = 100,
    /// 111: a temporary failure (the profile, the key, the injector);
    /// nothing was sent.
    Temporary = 111,
}

const USAGE: &str = "usage: qmvc-release [-u] [-c DIR] -l\n       \
qmvc-release [-u] [-c DIR] ID [ADDRESS...]";

/// The parsed command line.
struct Options {
    user: bool,
    domain: Option<PathBuf>,
    list: bool,
    help: bool,
    version: bool,
    free: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = getopts::Options::new();
    o.parsing_style(getopts::ParsingStyle::StopAtFirstFree);
    o.optflag("u", "", "user layer: $HOME/qmvc");
    o.optopt("c", "", "domain layer directory", "DIR");
    o.optflag("l", "", "list the kept messages");
    o.optflag("h", "", "help");
    o.optflag("V", "", "version");
    let m = o.parse(args).map_err(|e| e.to_string())?;
    let domain = m.opt_str("c").map(PathBuf::from);
    if domain.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
        return Err("option -c needs a directory".into());
    }
    Ok(Options {
        user: m.opt_present("u"),
        domain,
        list: m.opt_present("l"),
        help: m.opt_present("h"),
        version: m.opt_present("V"),
        free: m.free,
    })
}

/// The layers of `-u` and `-c`, as qmvc finds them.
fn layers(options: &Options) -> Result<Layers, String> {
    qmvc_profile::command_line_layers(options.domain.as_deref(), options.user)
}

fn main() -> ExitCode {
    qmvc_process::stdio::guard();
    ExitCode::from(run() as u8)
}

fn run() -> Exit {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(why) => return usage(&why),
    };
    if options.help {
        qmvc_process::say!("{USAGE}");
        return Exit::Done;
    }
    if options.version {
        qmvc_process::say!("qmvc-release {}", env!("CARGO_PKG_VERSION"));
        return Exit::Done;
    }
    let layers = match layers(&options) {
        Ok(layers) => layers,
        Err(why) => return usage(&why),
    };
    match (options.list, options.free.split_first()) {
        (true, None) => list(&layers),
        (false, Some((id, addresses))) => release(&layers, id, addresses),
        (true, Some(_)) => usage("-l takes no ID"),
        (false, None) => usage("no ID given"),
    }
}

/// A usage error: the reason and the usage on standard error, 100.
fn usage(why: &str) -> Exit {
    qmvc_process::esay!("qmvc-release: {why}\n{USAGE}");
    Exit::Refused
}

/// `-l`: one line per kept message not released yet, tab-separated: ID,
/// time, class, sender, recipient, subject, reason. Every field is
/// shown with control and bidirectional characters as `<U+XXXX>`.
fn list(layers: &Layers) -> Exit {
    let mut out = String::new();
    for kept in kept::list(layers.state_dir()) {
        if kept.released {
            continue;
        }
        let report = kept.report().unwrap_or_default();
        let reason = if report.conditions.is_empty() {
            "qmvc.rep document missing or damaged".to_string()
        } else {
            report
                .conditions
                .iter()
                .map(|hit| {
                    format!("{} ({} {})", hit.condition, hit.rule, hit.action)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                visible(s).into_owned()
            }
        };
        let fields = [
            dash(&kept.id),
            dash(&report.time),
            dash(&kept.class),
            if report.time.is_empty() {
                "-".into()
            } else if report.sender.is_empty() {
                "<>".into()
            } else {
                dash(&report.sender)
            },
            dash(&report.recipient),
            dash(&report.subject),
            dash(&reason),
        ];
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).is_err()
    {
        return Exit::Temporary;
    }
    Exit::Done
}

/// `ID [ADDRESS...]`: releases one kept message.
fn release(layers: &Layers, id: &str, addresses: &[String]) -> Exit {
    // Every control file, as `qmvc -L` reads them: a delivery reads
    // `injector` only when a filter line has a reaction.
    let profile = match Profile::load(layers, Scope::All) {
        Ok((profile, _)) => profile,
        Err(e) => {
            qmvc_process::esay!("qmvc-release: {e}");
            return Exit::Temporary;
        }
    };
    let request = Request {
        state: layers.state_dir(),
        system: &layers.system,
        injector: &profile.reactions.injector,
        syslog: profile.syslog,
        addresses,
    };
    match qmvc_release::release(&request, id) {
        Ok(released) => {
            if let Some(e) = &released.log_error {
                qmvc_process::esay!(
                    "qmvc-release: warning: released, but no qmvc.log line: \
                     {e}"
                );
            }
            if let Some(e) = &released.syslog_error {
                qmvc_process::esay!("qmvc-release: warning: {e}");
            }
            qmvc_process::say!(
                "qmvc-release: {} released to {} (sender <{}>), now {}",
                visible(id),
                released.recipients.join(", "),
                released.sender,
                released.path.display()
            );
            Exit::Done
        }
        Err(e) => {
            qmvc_process::esay!("qmvc-release: {e}");
            if e.refused() {
                Exit::Refused
            } else {
                Exit::Temporary
            }
        }
    }
}
