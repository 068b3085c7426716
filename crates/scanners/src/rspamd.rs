/*!
rspamd: `POST /checkv2` over HTTP/1.1 at `unix:PATH` and `tcp:HOST:PORT`
endpoints tried in order.
*/

use std::time::Duration;

use qmvc_profile::Endpoint;

use crate::spam::{SpamAnswer, SpamRequest};
use crate::{Status, Unreachable};

/// Asks the first of `endpoints` that answers about `request` (`/checkv2`).
pub fn check(
    endpoints: &[Endpoint],
    connect_timeout: Duration,
    timeout: Duration,
    request: &SpamRequest<'_>,
) -> SpamAnswer {
    let _ = (endpoints, connect_timeout, timeout, request);
    SpamAnswer::Failed("the rspamd protocol is not built yet".into())
}

/// Whether rspamd answers, and its version, for `qmvc -s`.
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
