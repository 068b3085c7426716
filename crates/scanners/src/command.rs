/*!
Command-line engines: the message written to a private file (mode 0600)
or directory (mode 0700, holding `message.eml` mode 0600) in the layer's
`tmp/`, the command run without a shell with that path in place of each
`{}` argument, its exit code and output mapped to an [`Answer`].

The command runs through [`qmvc_process`]: stdin from `/dev/null`, in a
process group of its own; stdout and stderr are captured by threads, at
most [`MAX_OUTPUT`] bytes each (the rest is read and dropped, so the
command never blocks on a full pipe). When the time-out passes, the
whole group is killed and the answer is [`Answer::Failed`]; when the
command ends, whatever it left running in its group is killed too. The
file or directory is removed on every way out, panics included (it is
owned by a guard).

The names are the first capture group of the `virus` regex on each
output line (stdout, then stderr). An exit code in `infected` means
infected, with those names, or `unknown` when none matches; an exit code
in `clean` means [`Answer::Clean`] unless a line names a virus (some
engines exit 0 whatever they find). Names matching an `unscanned` glob
make the answer [`Answer::Unscanned`]. Any other exit
code, or a signal, is [`Answer::Failed`] with the code and the first line
of output.
*/

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use qmvc_process::{Error, Spec};
use qmvc_profile::Target;

use crate::{classify, one_line, seconds, Answer, Status, Unreachable};

/// The most output kept of each of stdout and stderr, in bytes.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// The name of the message file in a [`Target::Directory`].
pub const MESSAGE_FILE: &str = "message.eml";

/// How long the version command of `qmvc -s` may take.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// The argument replaced by the path to scan.
pub const PLACEHOLDER: &str = "{}";

/// A command-line engine, as [`qmvc_profile::Method::Command`] and the
/// definition's time-out and `unscanned` describe it.
#[derive(Clone, Copy, Debug)]
pub struct Engine<'a> {
    /// Program and arguments, `{}` for the path.
    pub argv: &'a [String],
    /// File or directory.
    pub target: Target,
    /// Exit codes meaning clean.
    pub clean: &'a [i32],
    /// Exit codes meaning infected.
    pub infected: &'a [i32],
    /// Finds virus names in output lines (first capture group).
    pub virus: Option<&'a regex::Regex>,
    /// How long the command may run.
    pub timeout: Duration,
    /// Globs of names meaning "not scanned".
    pub unscanned: &'a [String],
}

/// How a command ended.
pub use qmvc_process::Exit;

/// What a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// How it ended.
    pub exit: Exit,
    /// Its standard output, at most [`MAX_OUTPUT`] bytes.
    pub stdout: Vec<u8>,
    /// Its standard error, at most [`MAX_OUTPUT`] bytes.
    pub stderr: Vec<u8>,
}

impl Output {
    /// The output lines, stdout's then stderr's, without line ends.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for stream in [&self.stdout, &self.stderr] {
            let text = String::from_utf8_lossy(stream);
            lines.extend(text.lines().map(|l| l.trim_end().to_string()));
        }
        lines
    }

    /// The first non-empty line, stderr's before stdout's (where tools
    /// say what went wrong).
    pub fn first_line(&self) -> Option<String> {
        [&self.stderr, &self.stdout].into_iter().find_map(|stream| {
            String::from_utf8_lossy(stream)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| one_line(l, 200))
        })
    }
}

/// Scans `message` with the command-line `engine`, handing it a file or
/// directory in `spool` (created, mode 0700, when missing).
pub fn scan(engine: &Engine<'_>, message: &[u8], spool: &Path) -> Answer {
    if !engine.argv.iter().any(|a| a == PLACEHOLDER) {
        return Answer::Failed(format!(
            "the command has no {PLACEHOLDER} argument for the message"
        ));
    }
    let scratch = match Scratch::create(engine.target, message, spool) {
        Ok(scratch) => scratch,
        Err(e) => {
            return Answer::Failed(format!(
                "cannot write the message to {}: {e}",
                spool.display()
            ))
        }
    };
    let path = scratch.target().to_string_lossy().into_owned();
    let argv: Vec<String> = engine
        .argv
        .iter()
        .map(|a| if a == PLACEHOLDER { path.clone() } else { a.clone() })
        .collect();
    let output = match run(&argv, engine.timeout) {
        Ok(output) => output,
        Err(why) => return Answer::Failed(why.to_string()),
    };
    drop(scratch);
    let program = argv.first().map(String::as_str).unwrap_or_default();
    let first =
        output.first_line().map(|l| format!(": {l}")).unwrap_or_default();
    let mut names = virus_names(&output, engine.virus);
    match output.exit {
        Exit::Code(code) if engine.infected.contains(&code) => {
            if names.is_empty() {
                names.push("unknown".to_string());
            }
            classify(names, engine.unscanned)
        }
        // Some engines (Dr.Web's drweb-ctl) exit 0 whatever they find: a
        // line naming a virus outweighs a clean exit code.
        Exit::Code(code) if engine.clean.contains(&code) => {
            if names.is_empty() {
                Answer::Clean
            } else {
                classify(names, engine.unscanned)
            }
        }
        Exit::Code(code) => {
            Answer::Failed(format!("{program} exited with code {code}{first}"))
        }
        Exit::Signal(signal) => Answer::Failed(format!(
            "{program} was killed by signal {signal}{first}"
        )),
    }
}

/// The virus names `virus` finds in the output, each once, in order.
pub fn virus_names(
    output: &Output,
    virus: Option<&regex::Regex>,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Some(virus) = virus {
        for line in output.lines() {
            let Some(name) = virus
                .captures(&line)
                .and_then(|c| c.get(1))
                .map(|m| one_line(m.as_str(), 200))
            else {
                continue;
            };
            if !name.is_empty() && !names.contains(&name) && names.len() < 100
            {
                names.push(name);
            }
        }
    }
    names
}

/// `qmvc -s` for a command-line engine: whether its program is there,
/// and what its `version` command prints.
pub fn status(argv: &[String], version: Option<&[String]>) -> Status {
    let reachable = match argv.first() {
        None => Err(Unreachable("empty command".to_string())),
        Some(program) => match qmvc_process::find_program(program) {
            Some(path) => Ok(path.to_string_lossy().into_owned()),
            None => Err(Unreachable(format!(
                "{program}: not found or not executable"
            ))),
        },
    };
    let (mut engine, mut signatures, mut date) = (None, None, None);
    if let Some(version) = version.filter(|v| !v.is_empty()) {
        if let Ok(output) = run(version, VERSION_TIMEOUT) {
            let line = String::from_utf8_lossy(&output.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&output.stderr).lines())
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string);
            if let (Exit::Code(0), Some(line)) = (output.exit, line) {
                if line.starts_with("ClamAV ") {
                    (engine, signatures, date) =
                        crate::clamd::parse_version(&line);
                } else {
                    engine = Some(one_line(&line, 200));
                }
            }
        }
    }
    Status { reachable, engine, signatures, date }
}

/// Why a scanner command has no [`Output`].
#[derive(Debug)]
pub enum RunError {
    /// The definition's command is empty.
    Empty,
    /// Running it failed or timed out.
    Process {
        /// The program.
        program: String,
        /// What failed.
        source: Error,
        /// The time-out it had.
        timeout: Duration,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Empty => f.write_str("empty command"),
            RunError::Process { program, source, timeout } => match source {
                Error::Spawn(e) => write!(f, "cannot run {program}: {e}"),
                Error::Wait(e) => write!(f, "cannot wait for {program}: {e}"),
                Error::TimedOut => write!(
                    f,
                    "{program} timed out after {}",
                    seconds(*timeout)
                ),
            },
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Empty => None,
            RunError::Process { source, .. } => Some(source),
        }
    }
}

impl qmvc_fault::Blame for RunError {
    /// An empty command is its definition's fault; otherwise as
    /// [`qmvc_process::Error`] says.
    fn fault(&self) -> qmvc_fault::Fault {
        match self {
            RunError::Empty => qmvc_fault::Fault::Config {
                file: "scanners".to_string(),
                line: 0,
            },
            RunError::Process { source, .. } => source.fault(),
        }
    }
}

/// Runs `argv` without a shell, stdin `/dev/null`, output captured, in a
/// process group of its own that is killed when `timeout` passes (an
/// `Err` saying so) and when the command ends.
pub fn run(argv: &[String], timeout: Duration) -> Result<Output, RunError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(RunError::Empty);
    };
    let spec = Spec {
        program: OsStr::new(program),
        args,
        stdin: None,
        capture: Some(MAX_OUTPUT),
        env: &[],
        timeout,
    };
    match qmvc_process::run(&spec) {
        Ok(output) => Ok(Output {
            exit: output.exit,
            stdout: output.stdout,
            stderr: output.stderr,
        }),
        Err(source) => Err(RunError::Process {
            program: program.clone(),
            source,
            timeout,
        }),
    }
}

/// The message as handed to a command: removed when dropped.
enum Scratch {
    File(tempfile::TempPath),
    Directory(tempfile::TempDir),
}

impl Scratch {
    fn create(
        target: Target,
        message: &[u8],
        spool: &Path,
    ) -> io::Result<Scratch> {
        if !spool.is_dir() {
            DirBuilder::new().recursive(true).mode(0o700).create(spool)?;
        }
        match target {
            Target::File => {
                let mut file = tempfile::Builder::new()
                    .prefix("qmvc-scan-")
                    .suffix(".eml")
                    .permissions(fs::Permissions::from_mode(0o600))
                    .tempfile_in(spool)?;
                file.write_all(message)?;
                file.flush()?;
                Ok(Scratch::File(file.into_temp_path()))
            }
            Target::Directory => {
                let dir = tempfile::Builder::new()
                    .prefix("qmvc-scan-")
                    .permissions(fs::Permissions::from_mode(0o700))
                    .tempdir_in(spool)?;
                let path = dir.path().join(MESSAGE_FILE);
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                file.write_all(message)?;
                file.flush()?;
                Ok(Scratch::Directory(dir))
            }
        }
    }

    /// The path given to the command.
    fn target(&self) -> &Path {
        match self {
            Scratch::File(path) => path,
            Scratch::Directory(dir) => dir.path(),
        }
    }
}
