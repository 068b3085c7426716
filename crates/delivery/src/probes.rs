/*!
The effects the engine asks for, for real: running badbodytexts commands
(no shell, message on a pipe, time-out, whole process group killed) and
asking the virus scanners.
*/

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::Path;

use qmvc_engine::{CommandError, CommandOutcome, Probes, ScanOutcome};
use qmvc_process::{Error, Exit, Spec};
use qmvc_profile::{CommandRule, Scanner};
use qmvc_scanners::Answer;

/// Runs commands and scanners for real.
pub struct System<'a> {
    /// The message, written to each command's standard input.
    pub message: &'a [u8],
    /// The layer's `tmp/`, where command-line scanners get their file.
    pub spool: &'a Path,
    /// The injector, given to commands as `QMVC_INJECTOR` (plainmail
    /// sends with it).
    pub injector: &'a Path,
    /// `-t`: commands are not run (they may have effects of their own,
    /// such as plainmail forwarding); they count as not met.
    pub dry_run: bool,
    /// What each engine already said about this message, shared by the
    /// deliveries of one message to several groups (qmvc-queue): each
    /// scanner runs at most once per message.
    pub answers: &'a Answers,
}

/// The scanners' answers about one message, by engine name (see
/// [`crate::deliver_sharing`]). Only one message's deliveries may share
/// it.
#[derive(Debug, Default)]
pub struct Answers {
    by_engine: RefCell<HashMap<String, ScanOutcome>>,
}

impl Answers {
    /// What `engine` said, if it was asked already.
    fn get(&self, engine: &str) -> Option<ScanOutcome> {
        self.by_engine.borrow().get(engine).cloned()
    }

    /// Notes what `engine` said.
    fn put(&self, engine: &str, outcome: &ScanOutcome) {
        self.by_engine.borrow_mut().insert(engine.to_owned(), outcome.clone());
    }
}

impl Probes for System<'_> {
    fn run_command(
        &mut self,
        rule: &CommandRule,
    ) -> Result<CommandOutcome, CommandError> {
        if self.dry_run {
            return Ok(CommandOutcome::NotRun);
        }
        run(rule, self.message, self.injector)
    }

    fn scan(&mut self, scanner: &Scanner) -> ScanOutcome {
        if let Some(known) = self.answers.get(&scanner.engine) {
            return known;
        }
        // Scanners run in test mode too: asking one has no effect beyond
        // a temporary file that is gone again when it answers.
        let outcome = match qmvc_scanners::scan(
            &scanner.definition,
            self.message,
            self.spool,
        ) {
            Answer::Clean => ScanOutcome::Clean,
            Answer::Infected(names) => ScanOutcome::Infected(names),
            Answer::Unscanned(why) => ScanOutcome::Unscanned(why),
            Answer::Failed(why) => ScanOutcome::Failed(why),
        };
        self.answers.put(&scanner.engine, &outcome);
        outcome
    }
}

/// Runs `rule` with `message` on its standard input and its output
/// discarded (qmail-local reads qmvc's standard output as the reason; a
/// child must not write there), its whole process group killed at the
/// time-out ([`qmvc_process`], which also lets the signal handler kill
/// it). A signal ending it counts as exit code 255.
fn run(
    rule: &CommandRule,
    message: &[u8],
    injector: &Path,
) -> Result<CommandOutcome, CommandError> {
    let spec = Spec {
        program: OsStr::new(&rule.program),
        args: &rule.args,
        stdin: Some(message),
        capture: None,
        env: &[("QMVC_INJECTOR", injector.as_os_str())],
        timeout: rule.timeout,
    };
    match qmvc_process::run(&spec) {
        Ok(output) => Ok(CommandOutcome::Exited(match output.exit {
            Exit::Code(code) => code,
            Exit::Signal(_) => 255,
        })),
        Err(Error::TimedOut) => Ok(CommandOutcome::TimedOut),
        Err(Error::Spawn(e)) => Err(CommandError::Start(e)),
        Err(Error::Wait(e)) => Err(CommandError::Wait(e)),
    }
}
