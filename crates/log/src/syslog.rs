/*!
qmvc.log lines to syslog as well (the control file `syslog`, SPEC 11).

One datagram per line to the local syslog socket (`/dev/log`), in the
form the C library's `syslog(3)` sends: `<PRI>Mmm dd hh:mm:ss TAG[PID]:
TEXT`, severity `info`. It never blocks and never fails a delivery: the
socket is non-blocking, and a missing socket, a daemon that does not
listen or a full queue only lose the syslog copy (qmvc.log has the line).
*/

use std::fmt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use crate::time::Stamp;

/// Where the local syslog daemon listens.
pub const SOCKET: &str = "/dev/log";

/// The tag of every message.
pub const TAG: &str = "qmvc";

/// The longest text sent, in bytes: longer lines are cut (syslog
/// daemons drop or cut long datagrams anyway; 2 KiB is what every
/// daemon takes whole).
pub const MAX_TEXT: usize = 2000;

/// A syslog facility, as the control file `syslog` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facility(u8);

/// The names of the facilities a mail filter may log to, and their codes
/// (RFC 5424).
const FACILITIES: [(&str, u8); 12] = [
    ("mail", 2),
    ("daemon", 3),
    ("user", 1),
    ("news", 7),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// A facility name that is not one of the facilities a mail filter may log to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFacility(pub String);

impl fmt::Display for UnknownFacility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = FACILITIES.iter().map(|(n, _)| *n).collect();
        write!(
            f,
            "unknown syslog facility \"{}\" (expected {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownFacility {}

impl Facility {
    /// The facility called `name` (any case).
    pub fn parse(name: &str) -> Result<Facility, UnknownFacility> {
        FACILITIES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|&(_, code)| Facility(code))
            .ok_or_else(|| UnknownFacility(name.to_owned()))
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        FACILITIES
            .iter()
            .find(|(_, code)| *code == self.0)
            .map_or("user", |(n, _)| n)
    }
}

/// The datagram for `text` logged at `stamp` by process `pid`: control
/// characters become blanks and the text is cut at [`MAX_TEXT`] bytes
/// (on a character boundary).
pub fn datagram(
    facility: Facility,
    stamp: &Stamp,
    pid: u32,
    text: &str,
) -> String {
    const INFO: u8 = 6;
    let priority = u16::from(facility.0) * 8 + u16::from(INFO);
    let mut clean: String = text
        .trim_end_matches(['\n', '\r'])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        clean.truncate(cut);
    }
    format!("<{priority}>{} {TAG}[{pid}]: {clean}", bsd_time(stamp))
}

/// `Mmm dd hh:mm:ss` (RFC 3164) of a time field
/// (`2026-11-22T04:45:56+01:00`); the local time it holds is the
/// time syslog(3) would write.
fn bsd_time(stamp: &Stamp) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
        "Nov", "Dec",
    ];
    let text = stamp.as_str();
    let month = text
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    let day = text.get(8..10).and_then(|d| d.parse::<u8>().ok());
    let clock = text.get(11..19);
    match (month, day, clock) {
        (Some(month), Some(day), Some(clock)) => {
            format!("{month} {day:>2} {clock}")
        }
        _ => "Jan  1 00:00:00".to_owned(),
    }
}

/// Sends `text` to the syslog socket at `socket` without waiting; what
/// went wrong, for a caller that wants to say so (delivery goes on
/// either way).
pub fn send_to(
    socket: &Path,
    facility: Facility,
    text: &str,
) -> std::io::Result<()> {
    let datagram = datagram(facility, &Stamp::now(), std::process::id(), text);
    let sock = UnixDatagram::unbound()?;
    sock.set_nonblocking(true)?;
    sock.send_to(datagram.as_bytes(), socket).map(|_| ())
}

/// Sends `text` to `/dev/log`; see [`send_to`].
pub fn send(facility: Facility, text: &str) -> std::io::Result<()> {
    send_to(Path::new(SOCKET), facility, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(text: &str) -> Stamp {
        Stamp { text: text.to_owned() }
    }

    #[test]
    fn facilities() {
        assert_eq!(Facility::parse("mail"), Ok(Facility(2)));
        assert_eq!(Facility::parse(" LOCAL3 "), Ok(Facility(19)));
        assert_eq!(
            Facility::parse("local3").map(Facility::name),
            Ok("local3")
        );
        let e = Facility::parse("mial").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown syslog facility \"mial\" (expected mail, daemon, user, \
             news, local0, local1, local2, local3, local4, local5, local6, \
             local7)"
        );
    }

    #[test]
    fn datagrams() {
        let mail = Facility::parse("mail").unwrap();
        assert_eq!(
            datagram(
                mail,
                &stamp("2026-11-02T04:45:56+01:00"),
                42,
                "a\tb\r\n"
            ),
            "<22>Nov  2 04:45:56 qmvc[42]: a b"
        );
        let long = "é".repeat(MAX_TEXT);
        let d = datagram(mail, &stamp("2026-12-24T23:00:00Z"), 1, &long);
        assert!(d.starts_with("<22>Dec 24 23:00:00 qmvc[1]: é"));
        assert!(d.len() <= MAX_TEXT + 40);
        assert_eq!(
            datagram(mail, &stamp("garbage"), 1, "x"),
            "<22>Jan  1 00:00:00 qmvc[1]: x"
        );
    }

    #[test]
    fn a_bound_socket_gets_the_line_and_none_is_no_failure_to_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let local7 = Facility::parse("local7").unwrap();
        send_to(&path, local7, "hello").unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(got.starts_with("<190>"), "{got}");
        assert!(
            got.ends_with(&format!(" qmvc[{}]: hello", std::process::id()))
        );
        drop(server);
        // Nobody listens: an error, at once.
        assert!(send_to(&path, local7, "lost").is_err());
        assert!(send_to(&dir.path().join("none"), local7, "lost").is_err());
    }
}
