/*!
SpamAssassin's spamd: SPAMC/1.5 over `unix:PATH` and `tcp:HOST:PORT`
endpoints tried in order.
*/

use std::time::Duration;

use qmvc_profile::Endpoint;

use crate::spam::{SpamAnswer, SpamRequest};
use crate::{Status, Unreachable};

/// Asks the first of `endpoints` that answers about `request` (`SYMBOLS`).
pub fn check(
    endpoints: &[Endpoint],
    connect_timeout: Duration,
    timeout: Duration,
    request: &SpamRequest<'_>,
) -> SpamAnswer {
    let _ = (endpoints, connect_timeout, timeout, request);
    SpamAnswer::Failed("the spamd protocol is not built yet".into())
}

/// Whether spamd answers, and its version, for `qmvc -s`.
pub fn status(
    endpoints: &[Endpoint],
    connect_timeout: Duration,
    timeout: Duration,
) -> Status {
    let _ = (endpoints, connect_timeout, timeout);
    Status {
        reachable: Err(Unreachable("not built yet".into())),
        engine: None,
        signatures: None,
        date: None,
    }
}
