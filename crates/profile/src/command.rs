/*!
The `|COMMAND ARGS[:RC]` lines of badbodytexts.

The `|` is stripped, then an optional `:RC` at the very end (a colon and a
whole number 0 to 255; an argument that itself ends in `:N` therefore
needs an explicit `:0` after it), and the rest is split on white space:
the first word is the program, the others its arguments. No shell is
involved and nothing is expanded. Lint also checks that the program can be
found, as a delivery would look for it.
*/

use std::time::Duration;

use crate::lines::Sink;
use crate::load::Load;
use crate::{BodyRule, CommandRule, Error, Problem};

/// Parses a command line (without its `|`).
pub(crate) fn parse_command(
    command: &str,
    line: usize,
    timeout: Duration,
    sink: &mut Sink<'_>,
) -> Option<CommandRule> {
    let (words, rc) = match split_rc(command) {
        Ok(split) => split,
        Err(suffix) => {
            sink.report(
                line,
                format!(
                    "exit code {suffix} out of range (expected :RC from 0 \
                     to 255 at the end of the line)"
                ),
            );
            return None;
        }
    };
    let mut words = words.split_whitespace().map(str::to_owned);
    let Some(program) = words.next() else {
        sink.report(
            line,
            "a command line needs a program (expected |COMMAND ARGS[:RC], \
             e.g. |/usr/local/bin/check-body:1)",
        );
        return None;
    };
    Some(CommandRule {
        program,
        args: words.collect(),
        rc,
        timeout,
        origin: sink.origin(line),
    })
}

/// Lint: whether the program of each command line of badbodytexts can
/// be found, as a delivery would look for it.
pub(crate) fn lint_programs(cx: &mut Load<'_>) -> Result<(), Error> {
    for rule in &cx.profile.badbodytexts {
        let BodyRule::Command(command) = rule else { continue };
        if let Err(e) = find_program(&command.program) {
            cx.problems.push(Problem {
                origin: command.origin.clone(),
                message: e.to_string(),
            });
        }
    }
    Ok(())
}

/// Splits off an optional `:RC` suffix: the command and the exit code
/// (0 when there is none); `Err` with the suffix when it is a number out
/// of range.
fn split_rc(command: &str) -> Result<(&str, i32), &str> {
    let Some((words, suffix)) = command.rsplit_once(':') else {
        return Ok((command, 0));
    };
    let digits = suffix.strip_prefix('-').unwrap_or(suffix);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok((command, 0));
    }
    match suffix.parse::<i32>() {
        Ok(rc) if (0..=255).contains(&rc) => Ok((words, rc)),
        _ => Err(suffix),
    }
}

/// Why a program cannot be run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProgramError {
    /// An absolute path that is not an executable file.
    Missing(String),
    /// A relative path with a `/`.
    Relative(String),
    /// A bare name not found in `PATH`.
    NotInPath(String),
}

impl ProgramError {
    /// What is wrong, without what to do about it.
    pub(crate) fn what(&self) -> String {
        match self {
            ProgramError::Missing(p) => {
                format!("program {p} does not exist or is not executable")
            }
            ProgramError::Relative(p) => {
                format!("program {p} is a relative path")
            }
            ProgramError::NotInPath(p) => {
                format!("program \"{p}\" not found in PATH")
            }
        }
    }

    /// What to do about it.
    fn fix(&self) -> &'static str {
        match self {
            ProgramError::Missing(_) => "fix the path or its mode",
            ProgramError::Relative(_) => {
                "write an absolute path or a bare name found in PATH"
            }
            ProgramError::NotInPath(_) => "write its absolute path",
        }
    }
}

impl std::fmt::Display for ProgramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.what(), self.fix())
    }
}

/// Whether `program` can be run: an absolute path to an executable file,
/// or a name found in `PATH` (by [`qmvc_process::find_program`], the
/// same search that runs it).
pub(crate) fn find_program(program: &str) -> Result<(), ProgramError> {
    if program.contains('/') && !program.starts_with('/') {
        return Err(ProgramError::Relative(program.to_owned()));
    }
    match qmvc_process::find_program(program) {
        Some(_) => Ok(()),
        None if program.starts_with('/') => {
            Err(ProgramError::Missing(program.to_owned()))
        }
        None => Err(ProgramError::NotInPath(program.to_owned())),
    }
}
