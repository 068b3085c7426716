/*!
badmailfrom with the new senders appended: the old text kept byte for
byte, the senders it does not refuse yet (qmvc-qmail's
[`Badmailfrom`]) after a comment, in lowercase and list order.
*/

use qmvc_qmail::badmailfrom::Badmailfrom;

use crate::Candidate;

/// What [`merge`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The new badmailfrom.
    pub text: Vec<u8>,
    /// What was added, in lowercase, in list order.
    pub added: Vec<Candidate>,
}

/// badmailfrom with the `candidates` it does not block yet appended
/// after `comment` (a `#` line), in lowercase and list order; `None`
/// when there is nothing new. A sender is blocked when a line equals it
/// or is `@` and its domain, compared case-insensitively and without
/// trailing blanks, as qmail-smtpd compares. `old` is kept byte for
/// byte.
pub fn merge(
    old: &[u8],
    candidates: &[Candidate],
    comment: &str,
) -> Option<Merged> {
    let mut blocked = Badmailfrom::parse(old);
    let mut added = Vec::new();
    for candidate in candidates {
        let address = candidate.address.to_ascii_lowercase();
        if !address.contains('@') || blocked.refuses(&address) {
            continue;
        }
        blocked.add(&address);
        added.push(Candidate { address, count: candidate.count });
    }
    if added.is_empty() {
        return None;
    }
    let mut text = old.to_vec();
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(comment.as_bytes());
    text.push(b'\n');
    for candidate in &added {
        text.extend_from_slice(candidate.address.as_bytes());
        text.push(b'\n');
    }
    Some(Merged { text, added })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(address: &str, count: u64) -> Candidate {
        Candidate { address: address.into(), count }
    }

    #[test]
    fn merge_keeps_old_and_appends_news() {
        let old = b"# badmailfrom\n\nspam@x.org\n@evil.com\nMixed@Case.ORG\n\
                    \xff binary\nlast@x.org";
        let candidates = [
            c("New@One.org", 30),
            c("a@EVIL.com", 20),
            c("mixed@case.org", 15),
            c("spam@x.org", 12),
            c("new@one.org", 11),
            c("two@x.org", 10),
        ];
        let merged = merge(old, &candidates, "# added").unwrap();
        let mut want = old.to_vec();
        want.extend_from_slice(b"\n# added\nnew@one.org\ntwo@x.org\n");
        assert_eq!(merged.text, want);
        assert_eq!(merged.added, [c("new@one.org", 30), c("two@x.org", 10)]);
        assert_eq!(merge(&merged.text, &candidates, "# again"), None);
        assert_eq!(merge(old, &[], "#"), None);
        assert_eq!(
            merge(b"", &[c("a@b", 1)], "# c").unwrap().text,
            b"# c\na@b\n"
        );
        assert_eq!(
            merge(b"A@B \r\n", &[c("a@b", 1)], "# c"),
            None,
            "blanks after a line"
        );
        let lead = merge(b" a@b\n", &[c("a@b", 1)], "# c");
        assert_eq!(lead.unwrap().text, b" a@b\n# c\na@b\n", "qmail: no match");
    }
}
