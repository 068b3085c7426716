/*!
What the engine asks of the world, and the answers it understands.
*/

use qmvc_profile::CommandRule;

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

/// What the virus scanners said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// No scanner is configured: virusmail cannot be met.
    NotConfigured,
}

/// The effects the engine needs, provided by the caller.
pub trait Probes {
    /// Runs `rule` with the message on its standard input. `Err` means
    /// the command could not be run at all (not the message's fault:
    /// the delivery is deferred).
    fn run_command(
        &mut self,
        rule: &CommandRule,
    ) -> Result<CommandOutcome, String>;

    /// Asks the configured virus scanners about the message.
    fn scan(&mut self) -> Result<ScanOutcome, String>;
}
