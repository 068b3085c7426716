/*!
The control files of qmvc-queue (SPEC.md section 7): `qmailqueue`, the
real qmail-queue that accepted mail goes to, and `customerror`, whether a
refusal is answered with qmvc-queue's own text on fd 6.
*/

use std::path::PathBuf;

use crate::lines::{program, single, Sink};

/// The name of the wrapper itself: `qmailqueue` must never name it, or
/// every accepted message would come back to it for ever.
pub const QMVC_QUEUE: &str = "qmvc-queue";

/// `customerror`: when a refusal carries qmvc-queue's own text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomError {
    /// When fd 6 is open and is a pipe (notqmail gives one).
    Auto,
    /// Always (the administrator knows the qmail-smtpd reads fd 6).
    Yes,
    /// Never: exit 31 or 71 only.
    No,
}

/// What qmvc-queue needs besides the filter lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    /// The real qmail-queue.
    pub qmailqueue: PathBuf,
    /// Whether refusals carry a text on fd 6.
    pub customerror: CustomError,
}

impl Default for QueueSettings {
    fn default() -> QueueSettings {
        QueueSettings {
            qmailqueue: "/var/qmail/bin/qmail-queue".into(),
            customerror: CustomError::Auto,
        }
    }
}

/// Parses `qmailqueue` into `settings`.
pub(crate) fn parse_qmailqueue(
    text: &str,
    sink: &mut Sink<'_>,
    settings: &mut QueueSettings,
) {
    let Some((line, value)) =
        program(text, sink, "qmailqueue", "/var/qmail/bin/qmail-queue")
    else {
        return;
    };
    if value.rsplit('/').next() == Some(QMVC_QUEUE) {
        sink.report(
            line,
            format!("qmailqueue \"{value}\" names qmvc-queue itself, which would loop; name the real qmail-queue (e.g. /var/qmail/bin/qmail-queue)"),
        );
        return;
    }
    settings.qmailqueue = PathBuf::from(value);
}

/// Parses `customerror` into `settings`.
pub(crate) fn parse_customerror(
    text: &str,
    sink: &mut Sink<'_>,
    settings: &mut QueueSettings,
) {
    let Some((line, value)) = single(text, sink) else { return };
    settings.customerror = match value {
        "auto" => CustomError::Auto,
        "yes" => CustomError::Yes,
        "no" => CustomError::No,
        _ => {
            sink.report(
                line,
                format!("customerror \"{value}\" is not auto, yes or no"),
            );
            return;
        }
    };
}
