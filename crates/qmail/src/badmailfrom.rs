/*!
`control/badmailfrom` (qmail-smtpd(8)): which envelope senders
qmail-smtpd refuses.

A line refuses the sender it equals, or, as `@domain`, every sender of
that domain; lines are compared without regard to ASCII case and
without their trailing blanks (qmail strips those, and nothing else).
Lines that are neither still count as written: a sender equal to one is
refused as well.
*/

use std::collections::HashSet;

/// The senders a badmailfrom refuses.
#[derive(Clone, Debug, Default)]
pub struct Badmailfrom {
    lines: HashSet<String>,
}

impl Badmailfrom {
    /// The refusals of badmailfrom's `text` (any bytes).
    pub fn parse(text: &[u8]) -> Badmailfrom {
        let lines = text
            .split(|&b| b == b'\n')
            .map(|line| {
                String::from_utf8_lossy(line.trim_ascii_end())
                    .to_ascii_lowercase()
            })
            .filter(|line| !line.is_empty())
            .collect();
        Badmailfrom { lines }
    }

    /// Whether qmail-smtpd refuses `sender`: a line equals it, or is `@`
    /// and its domain.
    pub fn refuses(&self, sender: &str) -> bool {
        let sender = sender.to_ascii_lowercase();
        if self.lines.contains(&sender) {
            return true;
        }
        match sender.rsplit_once('@') {
            Some((_, domain)) => self.lines.contains(&format!("@{domain}")),
            None => false,
        }
    }

    /// Counts `sender` as refused from now on (a line added for it).
    pub fn add(&mut self, sender: &str) {
        self.lines.insert(sender.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_domains() {
        let b = Badmailfrom::parse(
            b"# c\n\nspam@x.org \r\n@Evil.COM\n \xff\n lead@x.org\n",
        );
        assert!(b.refuses("SPAM@x.org"));
        assert!(b.refuses("anyone@evil.com"));
        assert!(!b.refuses("lead@x.org"), "leading blanks stay");
        assert!(!b.refuses("ham@x.org"));
        let mut b = b;
        b.add("New@One.org");
        assert!(b.refuses("new@one.ORG"));
    }
}
