/*!
What the engine asks of the world, and the answers it understands.
*/

use std::io;

use qmvc_profile::{CommandRule, Scanner};

/// How a badbodytexts command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandOutcome {
    /// It exited with this code (a signal counts as no code: 255).
    Exited(i32),
    /// It ran longer than its time-out and was killed.
    TimedOut,
    /// It was not run (`qmvc -t`): counts as not met.
    NotRun,
}

/// What one virus scanner said about the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// Nothing found.
    Clean,
    /// Viruses found, by name.
    Infected(Vec<String>),
    /// The scanner could not scan the message fully: why.
    Unscanned(String),
    /// The scanner could not be asked, failed or timed out: why.
    Failed(String),
}

/// Why a badbodytexts command has no outcome (not the message's fault:
/// the delivery is deferred).
#[derive(Debug)]
pub enum CommandError {
    /// It could not be started.
    Start(io::Error),
    /// Waiting for it failed.
    Wait(io::Error),
}

impl qmvc_fault::Blame for CommandError {
    /// The system's: the command could not be run or waited for (the
    /// engine's [`crate::Error`] knows its line, and blames the line for
    /// a command that does not exist or may not run).
    fn fault(&self) -> qmvc_fault::Fault {
        qmvc_fault::Fault::Environment
    }
}

/// The effects the engine needs, provided by the caller.
pub trait Probes {
    /// Runs `rule` with the message on its standard input. `Err` means
    /// the command could not be run at all (not the message's fault:
    /// the delivery is deferred).
    fn run_command(
        &mut self,
        rule: &CommandRule,
    ) -> Result<CommandOutcome, CommandError>;

    /// Asks `scanner` about the message.
    fn scan(&mut self, scanner: &Scanner) -> ScanOutcome;
}
