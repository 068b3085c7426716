/*!
The engine of qmvc: the Conditions evaluated in their fixed order, and the
CAR decision that follows from them.

This crate owns
- evaluating each condition of the profile against a parsed message
  ([`evaluate`]), in the order errormail, badsubject, badbodytext,
  badfilename, badmimetype, badloadertype, virusmail, with `quitasap`,
- the decision: which actions to carry out, which reactions are due, and
  the exit disposition ([`Verdict`], [`Disposition`]).

It has no side effects of its own: whatever touches the world (running a
badbodytexts command, asking a virus scanner) is asked of the caller
through [`Probes`], and the result is a value. Writing files, sending mail
and exiting belong to the binary.
*/
#![deny(missing_docs)]

mod conditions;
mod content;
mod decision;
mod probes;
mod verdict;

pub use content::{describe_parts, PartDetail};
pub use decision::{evaluate, Options};
pub use probes::{CommandOutcome, Probes, ScanOutcome};
pub use verdict::{
    Disposition, Evaluation, Hit, Match, ReactionPlan, ReactionStatus, Verdict,
};
