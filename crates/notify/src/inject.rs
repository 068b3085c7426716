/*!
Handing a message to the injector: `INJECTOR -a -f '' RECIPIENT` (a
notification), or `INJECTOR -a -f SENDER RECIPIENT...` (a released
message, [`crate::inject_as`]), no
shell, the message on a pipe, output discarded, `QMAILQUEUE` removed
from its environment, in a process group of its own that is killed
whole after the time-out ([`qmvc_process`]). Every program of qmvc that
sends mail sends it here.
*/

use std::path::Path;
use std::time::Duration;

use qmvc_process::{Error, Exit, Spec};

use crate::error::InjectError;

/// Variables the injector must not inherit. `QMAILQUEUE` names the
/// program qmail-inject queues through; when qmvc runs as that program
/// (queue mode), a notification must go to the real queue, not back to
/// the filter.
const UNSET: [&str; 1] = ["QMAILQUEUE"];

/// See [`crate::inject()`] and [`crate::inject_as`].
pub(crate) fn run(
    injector: &Path,
    sender: &str,
    recipients: &[&str],
    message: &[u8],
    timeout: Duration,
) -> Result<(), InjectError> {
    check_envelope(sender, recipients)?;
    let mut args: Vec<String> =
        ["-a", "-f", sender].into_iter().map(String::from).collect();
    args.extend(recipients.iter().map(|r| (*r).to_owned()));
    // Write errors (an injector that exits early) are not judged: its
    // exit code is.
    let spec = Spec {
        program: injector.as_os_str(),
        args: &args,
        stdin: Some(message),
        capture: None,
        env: &[],
        timeout,
    };
    let injector = injector.to_path_buf();
    match qmvc_process::run_unsetting(&spec, &UNSET) {
        Ok(output) => match output.exit {
            Exit::Code(0) => Ok(()),
            Exit::Code(code) => Err(InjectError::Exited { injector, code }),
            Exit::Signal(signal) => {
                Err(InjectError::Killed { injector, signal })
            }
        },
        Err(Error::TimedOut) => {
            Err(InjectError::TimedOut { injector, after: timeout })
        }
        Err(Error::Spawn(error)) => {
            Err(InjectError::Start { injector, error })
        }
        Err(Error::Wait(error)) => Err(InjectError::Wait { injector, error }),
    }
}

/// Checks an envelope as [`crate::inject_as`] hands it to the injector,
/// without running anything: each address one plain address (no option,
/// no list, nothing a shell or qmail-inject's address parser could read
/// as more), at least one recipient; the sender may be empty (the null
/// sender of a bounce or notification).
pub fn check_envelope(
    sender: &str,
    recipients: &[&str],
) -> Result<(), InjectError> {
    if !sender.is_empty() {
        crate::address::check(sender).map_err(|error| {
            InjectError::Sender {
                sender: sender.to_owned(),
                error: Box::new(error),
            }
        })?;
    }
    if recipients.is_empty() {
        return Err(InjectError::Recipient {
            recipient: String::new(),
            error: crate::error::AddressError::NotPlain {
                why: "no recipient".into(),
            },
        });
    }
    for recipient in recipients {
        crate::address::check(recipient).map_err(|error| {
            InjectError::Recipient {
                recipient: (*recipient).to_owned(),
                error,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
