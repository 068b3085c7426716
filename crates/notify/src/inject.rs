/*!
Handing a message to the injector: `INJECTOR -a -f '' RECIPIENT`, no
shell, the message on a pipe, output discarded, in a process group of
its own that is killed whole after the time-out ([`qmvc_process`]).
*/

use std::path::Path;
use std::time::Duration;

use qmvc_process::{Error, Exit, Spec};

/// See [`crate::inject()`].
pub(crate) fn inject(
    injector: &Path,
    recipient: &str,
    message: &[u8],
    timeout: Duration,
) -> Result<(), String> {
    let name = injector.display();
    // One plain address: no option, no list, nothing a shell or
    // qmail-inject's address parser could read as more.
    crate::address::check(recipient).map_err(|why| {
        format!("recipient {recipient:?} refused for the injector: {why}")
    })?;
    let args = ["-a", "-f", "", recipient].map(String::from);
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
    match qmvc_process::run(&spec) {
        Ok(output) => match output.exit {
            Exit::Code(0) => Ok(()),
            Exit::Code(code) => Err(format!("injector {name} exited {code}")),
            Exit::Signal(signal) => {
                Err(format!("injector {name} was killed by signal {signal}"))
            }
        },
        Err(Error::TimedOut) => Err(format!(
            "injector {name} timed out after {} s and was killed",
            timeout.as_secs_f64()
        )),
        Err(Error::Spawn(e)) => {
            Err(format!("cannot run injector {name}: {e}"))
        }
        Err(Error::Wait(e)) => {
            Err(format!("cannot wait for injector {name}: {e}"))
        }
    }
}

#[cfg(test)]
mod tests;
