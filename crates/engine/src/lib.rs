/*!
The engine of qmvc: the Conditions evaluated in their fixed order, and the
CAR decision that follows from them.

This crate owns
- evaluating each condition of the profile against a parsed message
  ([`evaluate`]), in the order errormail, badsubject, badbodytext,
  badfilename, badmimetype, badloadertype, virusmail, spammail, with
  `quitasap`, and the spammail ladder of `score=` lines,
- the decision: which actions to carry out, which reactions are due, and
  the message's fate ([`Verdict`], [`Disposition`]),
- why an evaluation could not decide ([`Error`], which says whose fault
  it is through [`qmvc_fault::Blame`]).

It has no side effects of its own: whatever touches the world (running a
badbodytexts command, asking a virus scanner or a spam engine) is asked of the caller
through [`Probes`], and the result is a value. What matched is a
[`Match`], the type qmvc-log writes into qmvc.rep and the report programs
read back. Carrying the verdict out (keeping, notifying, logging) belongs
to `qmvc-delivery`; exit codes belong to each front end.
*/
#![deny(missing_docs)]

mod conditions;
mod content;
mod decision;
mod error;
mod probes;
mod spam;
mod verdict;

pub use content::{describe_parts, PartDetail};
pub use decision::{evaluate, Options};
pub use error::Error;
pub use probes::{
    CommandError, CommandOutcome, Probes, ScanOutcome, SpamJudgement,
    SpamOutcome,
};
pub use verdict::{
    Disposition, Evaluation, Hit, Match, ReactionPlan, ReactionStatus, Verdict,
};
