/*!
The mail to the admin: what was added to badmailfrom, from which list,
which of the site's own addresses were not,
built by [`Outgoing`] (`Auto-Submitted: auto-generated`).
*/

use std::fmt::Write as _;
use std::path::Path;

use qmvc_notify::{AutoSubmitted, Outgoing};
use qmvc_report::cli::Failure;

use crate::{Candidate, Options, PROGRAM};

/// `N sender(s)`.
pub(crate) fn senders(n: usize) -> String {
    if n == 1 {
        "1 sender".into()
    } else {
        format!("{n} senders")
    }
}

/// The report to `admin`: what was added, from which list, and which
/// senders were not because they are the site's own.
pub(crate) fn message(
    admin: &str,
    added: &[Candidate],
    local: &[Candidate],
    options: &Options,
    badmailfrom: &Path,
) -> Result<Vec<u8>, Failure> {
    let host = qmvc_notify::local_host();
    let from = format!("MAILER-DAEMON@{host}");
    let outgoing = Outgoing::new(&from, admin, AutoSubmitted::Generated)
        .map_err(|e| Failure::usage(format!("the report: {e}")))?
        .host(&host)
        .subject(&format!(
            "{PROGRAM}: {} added to badmailfrom",
            senders(added.len())
        ))
        .always_8bit();
    let mut m = String::new();
    let _ = write!(
        m,
        "{PROGRAM} added {} to {}:\nthey sent {} or more virusmails each, \
         as {} counts them.\nqmail-smtpd refuses their mail from now on.\n\n\
         virusmails  sender\n",
        senders(added.len()),
        badmailfrom.display(),
        options.threshold,
        options.list.display(),
    );
    for candidate in added {
        let _ = writeln!(m, "{:>10}  {}", candidate.count, candidate.address);
    }
    if !local.is_empty() {
        let _ = write!(
            m,
            "\nNot added: addresses of this site (qmail's locals, rcpthosts \
             or virtualdomains),\nforged by the virus or sent by an infected \
             machine of your own:\n\nvirusmails  sender\n"
        );
        for candidate in local {
            let _ =
                writeln!(m, "{:>10}  {}", candidate.count, candidate.address);
        }
    }
    Ok(outgoing.build(&m))
}
