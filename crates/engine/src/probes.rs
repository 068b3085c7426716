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

/// What one spam engine judged (its words, and whom it was asked for).
#[derive(Clone, Debug, PartialEq)]
pub struct SpamJudgement {
    /// Whether the engine calls it spam (spamd `Spam: True`; rspamd
    /// `add header`, `rewrite subject` or `reject`).
    pub spam: bool,
    /// The score.
    pub score: f64,
    /// The score as the engine gave it (`1000.0`, `-0.0`).
    pub score_text: String,
    /// The engine's threshold (spamd's required score, rspamd's
    /// `required_score`).
    pub required: f64,
    /// The threshold as the engine gave it.
    pub required_text: String,
    /// The names of the rules that hit.
    pub symbols: Vec<String>,
    /// rspamd's action; `None` for spamd.
    pub action: Option<String>,
    /// The user the engine was asked for (empty: none).
    pub user: String,
}

/// What asking one spam engine came to.
#[derive(Clone, Debug, PartialEq)]
pub enum SpamOutcome {
    /// The engine judged the message.
    Judged(SpamJudgement),
    /// The message is larger than the definition's `max_size`: it was
    /// not sent (not an error: it is logged as not scanned for spam).
    TooLarge {
        /// The message's size in bytes.
        size: usize,
        /// The definition's `max_size`.
        max: u64,
    },
    /// The engine could not be asked, failed or timed out: why.
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

    /// How the message went to `scanner` when it was asked (clamd:
    /// `FILDES` or `INSTREAM`), for the record of what it found; `None`
    /// when the engine has one way only, or was not asked.
    fn sent(&self, _scanner: &Scanner) -> Option<String> {
        None
    }

    /// Asks the spam engine `scanner` (a line of `spamscanners`) about
    /// the message, for the delivery's user.
    fn spam(&mut self, scanner: &Scanner) -> SpamOutcome;
}
