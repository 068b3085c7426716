/*!
qmvc's delivery library: one message through the engine and every action
that follows, for any front end.

A front end (the dot-qmail program `qmvc`; next, the QMAILQUEUE wrapper
`qmvc-queue`) reads its own environment, loads the [`Profile`], parses
the message, and calls [`deliver`] with one [`Context`]. It gets back an
[`Outcome`] (the engine's [`Disposition`], the reason text, what was
met) or an [`Error`] that says whose fault the failure is
([`qmvc_fault::Blame`]). Mapping either to exit codes is the front end's
job alone: nothing here exits or prints, and what qmail's environment
says reaches it only through the [`Context`] (qmvc-notify still reads
`HOST` for the host name of its messages).

This crate owns
- the order of effects of a verdict ([`deliver`]): keep and inspect
  first ([`actions`], files written whole and synced), then the
  reactions decided and rendered ([`reactions`]: notifications from the
  layered templates only when one is actually sent, guard forwards),
  then qmvc.rep (what is due), then each reaction handed to the
  injector, then the warnings in qmvc.error and the qmvc.log line; each
  step that must not happen twice noted in the delivery's journal
  ([`journal`], `tmp/due/`) as it is done, so that a retry after a
  failure repeats nothing;
- the deferral record: a delivery that fails after the message was read
  is a qmvc.log line with the action `defer`;
- the effects the engine asks for ([`probes`]): badbodytexts commands
  and virus scanners, run for real (not in a dry run, for commands);
- the analysis in its two written forms ([`analysis`]): the qmvc.rep
  document (a [`qmvc_log::rep::Report`]) and the text of `qmvc -t`;
- the layer's spool `tmp/` and its clean-up ([`spool`]), the journals
  in `tmp/due/` included.

What is written where is qmvc-log's (the formats) and qmvc-notify's (the
mail); what a condition means is qmvc-engine's.
*/
#![deny(missing_docs)]

pub mod actions;
pub mod analysis;
mod error;
pub mod journal;
pub mod probes;
pub mod reactions;
mod run;
pub mod spool;
pub mod stamp;

use std::path::Path;
use std::time::Instant;

use qmvc_engine::Verdict;
use qmvc_profile::Layers;

pub use qmvc_profile::Action;

pub use error::Error;
pub use probes::Answers;
pub use qmvc_engine::Disposition;
pub use qmvc_notify::AddressVars;
pub use qmvc_profile::Profile;
pub use run::{
    deliver, deliver_sharing, log_line, log_unexamined, record_error,
};

/// Who sent the message to whom. Every value here may come from a
/// remote stranger: it is only ever logged (normalised), compared, or
/// checked before it becomes an address; never a path or a shell word.
#[derive(Clone, Debug, Default)]
pub struct Envelope {
    /// The envelope sender (empty for bounces).
    pub sender: String,
    /// The original recipient.
    pub recipient: String,
}

/// Whether a run may change anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Carry everything out and write the logs.
    Deliver,
    /// `qmvc -t`: evaluate only. Commands are not run (they may have
    /// effects of their own), scanners are asked; nothing is kept,
    /// sent or logged.
    DryRun,
    /// qmvc-queue: [`Mode::Deliver`] but for the qmvc.log line, which
    /// the front end writes ([`log_line`]) once the transaction is
    /// decided: a group refused beside queued ones is logged as dropped.
    Queue,
}

/// Everything one delivery needs besides the message and the profile.
pub struct Context<'a> {
    /// The layers in use; the most specific one holds the logs, `save/`
    /// and `inspect/`, and the templates are looked up through them.
    pub layers: &'a Layers,
    /// Sender and recipient.
    pub envelope: &'a Envelope,
    /// The message as received.
    pub raw: &'a [u8],
    /// The regular file `raw` is the contents of, open for reading, when
    /// there is one (qmail-local's standard input, qmvc-queue's spool
    /// file): clamd may be handed its descriptor instead of the bytes.
    /// `None` for a message read from a pipe.
    pub file: Option<std::os::fd::BorrowedFd<'a>>,
    /// When the delivery started (for the processing time).
    pub started: Instant,
    /// Deliver or only evaluate.
    pub mode: Mode,
    /// Where command-line scanners get their copy of the message: the
    /// layer's `tmp/` (see [`spool::dir`]), or a private directory in a
    /// dry run.
    pub spool: &'a Path,
    /// `-n`: ask the scanners only about parts not in `noscantypes`.
    pub noscan: bool,
    /// What `$LOCAL`, `$EXT`, `$HOST` and `$USER` mean in a guard's
    /// address.
    pub address_vars: &'a AddressVars,
    /// Told about failures that must not stop the delivery (a log line
    /// that could not be written); the front end shows them.
    pub warn: &'a dyn Fn(&dyn std::fmt::Display),
    /// The SMTP client (qmvc-queue); `None` in dot-qmail mode. Shown in
    /// qmvc.log field 13, the qmvc.rep document and `-t`.
    pub client: Option<&'a qmvc_log::rep::Client>,
    /// Whose preferences the spam engines apply (SPEC 8), as the front
    /// end sees it: in dot-qmail mode the recipient's local part (`USER`,
    /// or with `-v` the original recipient's), in queue mode the one
    /// recipient of a group of one; `None` for the definition's `user`.
    /// Untrusted: it is checked ([`qmvc_profile::spam_user_ok`]) before
    /// it is sent, and replaced by the definition's `user` when bad.
    pub spam_user: Option<&'a str>,
}

/// What a delivery came to.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The message's fate, by the most severe action.
    pub disposition: Disposition,
    /// Everything the engine found and decided, with what became of
    /// each reaction.
    pub verdict: Verdict,
    /// The facts the logs hold about the message.
    pub facts: analysis::Facts,
}

impl Outcome {
    /// The distinct actions of the met conditions, in order of first
    /// appearance; empty when the message passes. [`Disposition::Stop`]
    /// covers `block`, `keep` and `trash` alike: a front end that must
    /// tell them apart (qmvc-queue accepts and drops on `trash`, refuses
    /// on `block`) reads them here.
    pub fn actions(&self) -> Vec<Action> {
        self.verdict.actions()
    }

    /// One line saying why, for a bounce or a refusal: the first
    /// bouncing condition and what matched (`badfilename (*.exe)`, or
    /// `virus Eicar-Test-Signature found`),
    /// control characters made spaces.
    pub fn reason(&self) -> String {
        qmvc_log::fields::one_line(&self.verdict.reason())
    }
}
