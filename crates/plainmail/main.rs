/*!
plainmail: forwards the readable text of a message to an address.

Meant for a `|plainmail ADDRESS:0` line of qmvc's badbodytexts: qmvc runs
it without a shell, with the message on standard input and the qmail
environment. It collects the text/plain parts, and the text/html parts
rendered as text, into a new text/plain message for ADDRESS, hands that to
the injector, and exits 1 so that the command line is never met: the
forward is a side effect. Without ADDRESS it exits 0 at once, so that the
command line is always met and the filters line (with `goodmail`)
decides, as the plainmail of the old QMVC did.

Exit codes (see plainmail(8)): 0 no ADDRESS, 1 forwarded (or deliberately
not: the message is a plainmail forward itself), 2 usage, 111 failure.
*/

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use qmvc_message::{Limits, Message};
use qmvc_notify::AddressVars;

mod collect;
mod compose;
mod error;
mod render;

use error::{Error, Usage, EXIT_FAILURE};

/// Most bytes of the message read; the rest is not forwarded.
const MAX_MESSAGE: usize = 32 << 20;

/// The injector when qmvc does not name one.
const DEFAULT_INJECTOR: &str = "/var/qmail/bin/qmail-inject";

/// How long the injector may take. qmvc's own `commandtimeout` (30 s by
/// default) usually ends plainmail first; this bound holds when plainmail
/// runs on its own or under a longer one.
const INJECT_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    qmvc_process::stdio::guard();
    std::panic::set_hook(Box::new(|info| {
        qmvc_process::esay!("plainmail: internal error: {info}");
    }));
    let code = match std::panic::catch_unwind(run) {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => {
            qmvc_process::esay!("plainmail: {error}");
            error.exit_code()
        }
        // A panic ends here too, never in exit code 101.
        Err(_) => EXIT_FAILURE,
    };
    ExitCode::from(code)
}

/// Forwards, or says why not; the exit code of success: 0 without an
/// address, 1 when forwarded or deliberately not.
fn run() -> Result<u8, Error> {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let address = match args.as_slice() {
        [] => return Ok(0),
        [address] => address,
        _ => return Err(Error::Usage(Usage::TooMany)),
    };
    check_argument(address).map_err(Error::Usage)?;
    let address =
        qmvc_notify::expand_address(address, &vars()).map_err(|error| {
            Error::Usage(Usage::Address { address: address.clone(), error })
        })?;
    let (raw, truncated) = read_message().map_err(Error::Read)?;
    let message = Message::parse(&raw, &Limits::default());
    if message.header.get(compose::TRACE).is_some() {
        qmvc_process::esay!(
            "plainmail: not forwarded: the message is a plainmail forward \
             itself"
        );
        return Ok(1);
    }
    let pieces = collect::pieces(&message);
    let text = render::text(pieces, truncated);
    let host = qmvc_notify::local_host();
    let forward = compose::forward(&message.header, &text, &address, &host)
        .map_err(|error| Error::Header { address: address.clone(), error })?;
    let injector = injector()?;
    qmvc_notify::inject(&injector, &address, &forward, INJECT_TIMEOUT)
        .map_err(|error| Error::Inject { address, error })?;
    Ok(1)
}

/// The checks of the argument as given: what could be taken for an
/// option or break a header line is refused before anything else.
fn check_argument(address: &str) -> Result<(), Usage> {
    if address.is_empty() {
        return Err(Usage::Empty);
    }
    if address.starts_with('-') {
        return Err(Usage::Option(address.to_owned()));
    }
    if address.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(Usage::Characters(address.to_owned()));
    }
    Ok(())
}

/// `$LOCAL`, `$EXT`, `$HOST`, `$USER` from the qmail environment.
fn vars() -> AddressVars {
    let get = |name: &str| {
        std::env::var_os(name)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    AddressVars {
        local: get("LOCAL"),
        ext: get("EXT"),
        host: get("HOST"),
        user: get("USER"),
    }
}

/// Reads standard input up to [`MAX_MESSAGE`] bytes; the flag says that
/// there was more.
fn read_message() -> std::io::Result<(Vec<u8>, bool)> {
    let mut raw = Vec::new();
    let limit = u64::try_from(MAX_MESSAGE).unwrap_or(u64::MAX);
    std::io::stdin().lock().take(limit + 1).read_to_end(&mut raw)?;
    let truncated = raw.len() > MAX_MESSAGE;
    raw.truncate(MAX_MESSAGE);
    Ok((raw, truncated))
}

/// `QMVC_INJECTOR` (set by qmvc from its control file `injector`), else
/// the qmail default. Only an absolute path is run.
fn injector() -> Result<PathBuf, Error> {
    match std::env::var_os("QMVC_INJECTOR").filter(|v| !v.is_empty()) {
        None => Ok(PathBuf::from(DEFAULT_INJECTOR)),
        Some(path) => {
            let path = PathBuf::from(path);
            if path.is_absolute() {
                Ok(path)
            } else {
                Err(Error::Injector(path))
            }
        }
    }
}
