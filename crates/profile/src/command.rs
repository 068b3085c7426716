/*!
The `|COMMAND ARGS[:RC]` lines of badbodytexts.

The `|` is stripped, then an optional `:RC` at the very end (a colon and a
whole number 0 to 255; an argument that itself ends in `:N` therefore
needs an explicit `:0` after it), and the rest is split on white space:
the first word is the program, the others its arguments. No shell is
involved and nothing is expanded. Lint also checks that the program can be
found, as a delivery would look for it.
*/

use std::env;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::lines::Sink;
use crate::CommandRule;

/// Parses a command line (without its `|`).
pub(crate) fn parse_command(
    command: &str,
    line: usize,
    timeout: Duration,
    sink: &mut Sink<'_>,
) -> Option<CommandRule> {
    let (words, rc) = match split_rc(command) {
        Ok(split) => split,
        Err(message) => {
            sink.report(line, message);
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
    if sink.lint() {
        if let Err(why) = find_program(&program) {
            sink.report(line, why);
        }
    }
    Some(CommandRule {
        program,
        args: words.collect(),
        rc,
        timeout,
        origin: sink.origin(line),
    })
}

/// Splits off an optional `:RC` suffix: the command and the exit code
/// (0 when there is none).
fn split_rc(command: &str) -> Result<(&str, i32), String> {
    let Some((words, suffix)) = command.rsplit_once(':') else {
        return Ok((command, 0));
    };
    let digits = suffix.strip_prefix('-').unwrap_or(suffix);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok((command, 0));
    }
    match suffix.parse::<i32>() {
        Ok(rc) if (0..=255).contains(&rc) => Ok((words, rc)),
        _ => Err(format!(
            "exit code {suffix} out of range (expected :RC from 0 to 255 at \
             the end of the line)"
        )),
    }
}

/// Whether `program` can be run: an absolute path to an executable file,
/// or a name found in `PATH`.
pub(crate) fn find_program(program: &str) -> Result<(), String> {
    if program.starts_with('/') {
        return if is_executable(Path::new(program)) {
            Ok(())
        } else {
            Err(format!(
                "program {program} does not exist or is not executable; \
                 fix the path or its mode"
            ))
        };
    }
    if program.contains('/') {
        return Err(format!(
            "program {program} is a relative path; write an absolute path \
             or a bare name found in PATH"
        ));
    }
    let path = env::var_os("PATH").unwrap_or_default();
    if env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .any(|dir| is_executable(&dir.join(program)))
    {
        Ok(())
    } else {
        Err(format!(
            "program \"{program}\" not found in PATH; write its absolute \
             path"
        ))
    }
}

/// Whether `path` is a file with an execute bit set.
fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
