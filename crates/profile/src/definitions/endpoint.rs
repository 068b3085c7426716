/*!
The endpoints of a clamd definition: `unix:/PATH`, `tcp:HOST:PORT` and
`tcp:[IPV6]:PORT`.
*/

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;

use crate::Endpoint;

/// The endpoint forms, for messages.
pub(super) const ENDPOINTS: &str = "expected unix:/PATH or tcp:HOST:PORT, \
                                    e.g. unix:/var/run/clamav/clamd.ctl or \
                                    tcp:127.0.0.1:3310";

/// What is wrong with an endpoint; each holds the endpoint as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EndpointError {
    /// Neither `unix:` nor `tcp:`.
    Form(String),
    /// `unix:` with a relative path.
    RelativeSocket(String),
    /// `tcp:[` without `]:PORT`.
    Bracketed(String),
    /// `tcp:[HOST]` where HOST is not an IPv6 address.
    NotIpv6(String, String),
    /// `tcp:HOST` without a port.
    NoPort(String),
    /// An IPv6 address without brackets.
    Unbracketed(String),
    /// A host that is not a name or an address.
    Host(String, String),
    /// A port that is not 1 to 65535.
    Port(String, String),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::Form(s) => {
                write!(f, "bad endpoint \"{s}\" ({ENDPOINTS})")
            }
            EndpointError::RelativeSocket(s) => write!(
                f,
                "bad endpoint \"{s}\": the socket path must be absolute \
                 ({ENDPOINTS})"
            ),
            EndpointError::Bracketed(s) => write!(
                f,
                "bad endpoint \"{s}\": expected tcp:[IPV6]:PORT, e.g. \
                 tcp:[::1]:3310"
            ),
            EndpointError::NotIpv6(s, host) => write!(
                f,
                "bad endpoint \"{s}\": \"{host}\" is not an IPv6 address"
            ),
            EndpointError::NoPort(s) => write!(
                f,
                "bad endpoint \"{s}\": the port is missing ({ENDPOINTS})"
            ),
            EndpointError::Unbracketed(s) => write!(
                f,
                "bad endpoint \"{s}\": write an IPv6 address in brackets, \
                 e.g. tcp:[::1]:3310"
            ),
            EndpointError::Host(s, host) => write!(
                f,
                "bad endpoint \"{s}\": \"{host}\" is not a host name or \
                 address ({ENDPOINTS})"
            ),
            EndpointError::Port(s, port) => write!(
                f,
                "bad endpoint \"{s}\": \"{port}\" is not a port (expected 1 \
                 to 65535)"
            ),
        }
    }
}

/// `s` without the ASCII prefix `prefix`, compared case-insensitively.
fn strip_prefix_ci<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// Parses `unix:/PATH`, `tcp:HOST:PORT` or `tcp:[IPV6]:PORT`.
pub(crate) fn parse_endpoint(s: &str) -> Result<Endpoint, EndpointError> {
    let owned = || s.to_owned();
    if let Some(path) = strip_prefix_ci(s, "unix:") {
        if !path.starts_with('/') {
            return Err(EndpointError::RelativeSocket(owned()));
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    let Some(rest) = strip_prefix_ci(s, "tcp:") else {
        return Err(EndpointError::Form(owned()));
    };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let Some((host, port)) = bracketed.split_once("]:") else {
            return Err(EndpointError::Bracketed(owned()));
        };
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(EndpointError::NotIpv6(owned(), host.to_owned()));
        }
        (host, port)
    } else {
        let Some((host, port)) = rest.rsplit_once(':') else {
            return Err(EndpointError::NoPort(owned()));
        };
        if host.contains(':') {
            return Err(EndpointError::Unbracketed(owned()));
        }
        let name = |b: u8| b.is_ascii_alphanumeric() || b"._-".contains(&b);
        if host.is_empty() || !host.bytes().all(name) {
            return Err(EndpointError::Host(owned(), host.to_owned()));
        }
        (host, port)
    };
    match port.parse::<u16>() {
        Ok(port) if port > 0 => {
            Ok(Endpoint::Tcp { host: host.to_owned(), port })
        }
        _ => Err(EndpointError::Port(owned(), port.to_owned())),
    }
}
