/*!
The control file `syslog` (SPEC.md section 11): the facility under which
each qmvc.log line is also sent to syslog; no entry, no syslog copy. The
names and their codes are qmvc-log's ([`qmvc_log::syslog::Facility`]),
which also sends the lines.
*/

use qmvc_log::syslog::Facility;

use crate::lines::{entries, Sink};

/// Parses `syslog`: one facility name; `None` when the file has no
/// entry or names no known facility (reported, with the names expected).
pub(crate) fn parse(text: &str, sink: &mut Sink<'_>) -> Option<Facility> {
    let mut found = entries(text);
    let (line, name) = found.next()?;
    if let Some((extra, _)) = found.next() {
        sink.report(extra, "only one line is read; remove the others");
    }
    match Facility::parse(name) {
        Ok(facility) => Some(facility),
        Err(e) => {
            sink.report(line, e.to_string());
            None
        }
    }
}
