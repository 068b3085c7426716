/*!
The sender list virulator writes (`COUNT SENDER` a line,
`topvirus_Sender1`): read bounded, its lines parsed, the senders that
can be a line of badmailfrom kept, the rest warned about.
*/

use std::fs::File;
use std::io::Read;
use std::path::Path;

use qmvc_report::cli::Failure;
use qmvc_report::output;

use crate::{Candidate, LIST_MAX, PROGRAM, WARNINGS_MAX};

/// One line of the sender list, `COUNT SENDER`; `None` when it is not
/// one (a count that is not a decimal number that fits, no sender).
pub fn parse_line(line: &str) -> Option<(u64, &str)> {
    let (count, sender) = line.split_once(' ')?;
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count = count.parse().ok()?;
    if sender.is_empty() {
        return None;
    }
    Some((count, sender))
}

/// Whether `sender` can be a line of badmailfrom: one plain address
/// (exactly one `@`, local part and domain not empty, printable ASCII
/// without blanks, not starting with `#` or `@`, and an address the
/// injector would take), and not the null sender or a MAILER-DAEMON.
pub fn blockable(sender: &str) -> bool {
    let Some((local, domain)) = sender.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && sender.bytes().all(|b| b.is_ascii_graphic())
        && !sender.starts_with('#')
        && qmvc_notify::check_address(sender).is_ok()
        && !local.eq_ignore_ascii_case("mailer-daemon")
}

/// The senders of `path` with at least `threshold` virusmails that can
/// be blocked, in list order. Lines that are not `COUNT SENDER` are
/// warned about and skipped.
pub(crate) fn read(
    path: &Path,
    threshold: u64,
) -> Result<Vec<Candidate>, Failure> {
    let file = File::open(path).map_err(|e| {
        Failure::failed(format!(
            "cannot open {}: {e}; virulator writes it (is its cron job \
             running?)",
            path.display()
        ))
    })?;
    let mut bytes = Vec::new();
    file.take(LIST_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| output::failed("read", path, &e))?;
    if bytes.len() as u64 > LIST_MAX {
        bytes.truncate(LIST_MAX as usize);
        qmvc_process::esay!(
            "{PROGRAM}: warning: {} is larger than {} MiB; the rest is \
             ignored",
            path.display(),
            LIST_MAX >> 20
        );
    }
    let mut out = Vec::new();
    let mut bad = 0usize;
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = std::str::from_utf8(line).ok().and_then(parse_line);
        let Some((count, sender)) = parsed else {
            bad += 1;
            if bad <= WARNINGS_MAX {
                qmvc_process::esay!(
                    "{PROGRAM}: warning: {}:{}: not COUNT SENDER, skipped: \
                     {}",
                    path.display(),
                    n + 1,
                    shown(line)
                );
            }
            continue;
        };
        if count >= threshold && blockable(sender) {
            out.push(Candidate { address: sender.to_string(), count });
        }
    }
    if bad > WARNINGS_MAX {
        qmvc_process::esay!(
            "{PROGRAM}: warning: {}: {} more lines that are not COUNT \
             SENDER were skipped",
            path.display(),
            bad - WARNINGS_MAX
        );
    }
    Ok(out)
}

/// A line for a warning: escaped and cut, so it cannot move the
/// terminal.
fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out: String = format!("{text:?}");
    if out.len() > 100 {
        let mut end = 100;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_lines() {
        assert_eq!(parse_line("12 a@b.c"), Some((12, "a@b.c")));
        for bad in [
            "",
            "12",
            "12 ",
            "-5 a@b",
            "+5 a@b",
            " 5 a@b",
            "x a@b",
            "99999999999999999999999 a@b",
        ] {
            assert_eq!(parse_line(bad), None, "{bad:?}");
        }
        assert_eq!(parse_line("7 a b@c"), Some((7, "a b@c")));
    }

    #[test]
    fn only_plain_addresses() {
        for good in ["a@b.c", "Evil.Sender+x@Example.COM", "x@y"] {
            assert!(blockable(good), "{good}");
        }
        for bad in [
            "",
            "<>",
            "#@[]",
            "-",
            "a b@c",
            "a@b@c",
            "@b.c",
            "a@",
            "#a@b",
            "ab",
            "<script>@x",
            "a@b\r",
            "évil@x",
            "MAILER-DAEMON@x.org",
            "mailer-daemon@x",
            "-a@b",
        ] {
            assert!(!blockable(bad), "{bad:?}");
        }
    }
}
