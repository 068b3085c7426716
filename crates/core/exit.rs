/*!
The exit contract with qmail-local (qmail-command(8)), and the one place
where a delivery's outcome or failure becomes an exit code.
*/

use qmvc_delivery::{Disposition, Outcome};
use qmvc_fault::Fault;

/// qmvc's exit codes in dot-qmail mode, as qmail-command(8) defines them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: "Success. Continue with the next instruction" — the message
    /// passes (no condition met, or only `inspect`).
    Continue = 0,
    /// 99: "Success. Ignore all further instructions" — `block`,
    /// `keep`, `trash`.
    Stop = 99,
    /// 100: "Failure. Bounce the message" — `bounce`.
    Bounce = 100,
    /// 111: "Temporary failure. Try again later" — anything that is not
    /// the message's fault.
    Defer = 111,
}

impl Exit {
    /// The exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The exit code of a delivery that ended with `outcome`.
pub fn of_outcome(outcome: &Outcome) -> Exit {
    match outcome.disposition {
        Disposition::Continue => Exit::Continue,
        Disposition::Stop => Exit::Stop,
        Disposition::Bounce => Exit::Bounce,
    }
}

/// The exit code of a delivery that failed for `fault`: every failure
/// defers. Even one that is the message's (none is today) is better
/// tried again than bounced by accident: a bounce is only ever a filter
/// line's deliberate `bounce`.
pub fn of_fault(fault: &Fault) -> Exit {
    match fault {
        Fault::Message
        | Fault::Config { .. }
        | Fault::Environment
        | Fault::Transient
        | Fault::Internal => Exit::Defer,
        _ => Exit::Defer,
    }
}
