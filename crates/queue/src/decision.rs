/*!
The decisions of SPEC.md section 7, pure: what becomes of one group of
recipients, what the transaction comes to, and how a reply is put on
descriptor 6 or into an exit code.
*/

use qmvc_delivery::{Action, Disposition};

/// What becomes of one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// pass, inspect: handed to the real qmail-queue.
    Queue,
    /// block, bounce, keep: refused, with the text of the reply.
    Refuse(String),
    /// trash: accepted and dropped.
    Trash,
    /// Not judged (a scanner under `tempfail` down, an internal error):
    /// the whole transaction is deferred, with this text.
    Defer(String),
}

/// The fate of a group whose delivery ended with `disposition` and
/// `actions`; `reason` names the condition and what matched.
pub fn fate(
    disposition: Disposition,
    actions: &[Action],
    reason: &str,
) -> Fate {
    let refuse = || Fate::Refuse(format!("{reason} (#5.7.1)"));
    match disposition {
        Disposition::Continue => Fate::Queue,
        Disposition::Bounce => refuse(),
        Disposition::Stop => {
            if actions
                .iter()
                .any(|a| matches!(a, Action::Block | Action::Keep))
            {
                refuse()
            } else {
                Fate::Trash
            }
        }
    }
}

/// The text of the refusal of a message over `queuesize`.
pub const TOO_LARGE: &str = "message too large (#5.3.4)";

/// Whether a message of `size` bytes is over a group's `queuesize`.
pub fn too_large(size: u64, queue_size: Option<u64>) -> bool {
    queue_size.is_some_and(|max| size > max)
}

/// Field 4 of a group's qmvc.log line once the transaction is known,
/// from the delivery's `actions` (`block+keep`), and whether the line is
/// the only trace of the group (it was dropped). A refused group that
/// is not refused after all (others were queued, or the message is a
/// bounce that is never refused) was dropped: `block` and `bounce` are
/// `trash` then, `keep` stays (its copy is in `save/`). In a deferred
/// transaction every group is `defer`: the message comes back.
pub fn logged_actions(
    fate: &Fate,
    transaction: &Transaction,
    actions: &str,
) -> (String, bool) {
    match (transaction, fate) {
        (Transaction::Defer(_), _) => ("defer".to_string(), false),
        (Transaction::Queue(_) | Transaction::Drop, Fate::Refuse(_)) => {
            let mut words: Vec<&str> = Vec::new();
            for word in actions.split('+') {
                let word = match word {
                    "block" | "bounce" => "trash",
                    other => other,
                };
                if !words.contains(&word) {
                    words.push(word);
                }
            }
            (words.join("+"), true)
        }
        (_, Fate::Trash) => (actions.to_string(), true),
        _ => (actions.to_string(), false),
    }
}

/// A message with the null sender that did not come over SMTP (no
/// `TCPREMOTEIP`) is qmail-send's own bounce or a local one: refusing it
/// would make qmail-send retry for ever, so a refusal becomes trash.
pub fn never_refused(sender: &str, remote_ip: Option<&str>) -> bool {
    sender.is_empty() && remote_ip.is_none()
}

/// What the transaction comes to, given every group's fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// Hand these groups (indexes) to qmail-queue; the reply is theirs.
    /// Refused groups among the others are dropped: one reply cannot
    /// speak for part of the recipients.
    Queue(Vec<usize>),
    /// Nothing to queue, the reply is 250: every group was dropped.
    Drop,
    /// A permanent refusal with this text.
    Refuse(String),
    /// A temporary refusal with this text; nothing is queued.
    Defer(String),
}

/// The transaction rule of SPEC.md section 7. `bounce_only` is
/// [`never_refused`] for the envelope: refusals are trash then.
pub fn transaction(fates: &[Fate], bounce_only: bool) -> Transaction {
    if let Some(text) = fates.iter().find_map(|f| match f {
        Fate::Defer(text) => Some(text),
        _ => None,
    }) {
        return Transaction::Defer(text.clone());
    }
    let queued: Vec<usize> = fates
        .iter()
        .enumerate()
        .filter(|(_, f)| **f == Fate::Queue)
        .map(|(i, _)| i)
        .collect();
    if !queued.is_empty() {
        return Transaction::Queue(queued);
    }
    let refusal = fates.iter().find_map(|f| match f {
        Fate::Refuse(text) => Some(text),
        _ => None,
    });
    match refusal {
        Some(text) if !bounce_only => Transaction::Refuse(text.clone()),
        _ => Transaction::Drop,
    }
}

/// What the transaction ends with after the hand-off: the exit codes of
/// qmail-queue for the queued groups, in order, `None` for one that was
/// not started (it and the later ones were not tried). The first code
/// that is not 0 is passed on, unless a group was already queued: then
/// the reply is a temporary one (a duplicate for the first group is
/// better than a lost message).
pub fn handed_off(codes: &[Option<u8>]) -> Result<(), Handoff> {
    let Some(failed) = codes.iter().position(|c| *c != Some(0)) else {
        return Ok(());
    };
    match codes.get(failed).copied().flatten() {
        Some(code) if failed == 0 => Err(Handoff::PassOn(code)),
        _ => Err(Handoff::Defer),
    }
}

/// How a failed hand-off is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handoff {
    /// qmail-queue's own exit code, for the first group.
    PassOn(u8),
    /// A temporary refusal by qmvc-queue.
    Defer,
}

/// The longest reply text qmail-smtpd uses.
pub const REPLY_MAX: usize = 254;

/// `text` as one line of a reply on descriptor 6: printable ASCII only
/// (anything else becomes `?`, so that a hostile file name cannot break
/// the SMTP framing), at most [`REPLY_MAX`] characters, never so short
/// that qmail-smtpd replaces it (2 characters or fewer).
pub fn reply_text(text: &str) -> String {
    let mut clean: String = text
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .take(REPLY_MAX)
        .collect();
    if clean.trim().len() <= 2 {
        clean = "message refused by qmvc-queue".into();
    }
    clean
}

/// A reply: permanent (554) or temporary (451).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 554.
    Permanent(String),
    /// 451.
    Temporary(String),
}

impl Reply {
    /// With a text on descriptor 6 (`custom`): the bytes to write there
    /// (`D` or `Z` and the clean text, no newline) and exit 82; else no
    /// bytes and 31 or 71.
    pub fn render(&self, custom: bool) -> (Option<Vec<u8>>, u8) {
        let (tag, text, code) = match self {
            Reply::Permanent(t) => (b'D', t, 31),
            Reply::Temporary(t) => (b'Z', t, 71),
        };
        if !custom {
            return (None, code);
        }
        let mut bytes = vec![tag];
        bytes.extend_from_slice(reply_text(text).as_bytes());
        (Some(bytes), 82)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refuse(t: &str) -> Fate {
        Fate::Refuse(t.into())
    }

    #[test]
    fn group_fates() {
        use Action::*;
        assert_eq!(fate(Disposition::Continue, &[Inspect], "x"), Fate::Queue);
        assert_eq!(
            fate(Disposition::Bounce, &[Bounce], "v"),
            refuse("v (#5.7.1)")
        );
        for actions in [&[Block][..], &[Keep], &[Trash, Keep]] {
            assert_eq!(
                fate(Disposition::Stop, actions, "b"),
                refuse("b (#5.7.1)")
            );
        }
        assert_eq!(fate(Disposition::Stop, &[Trash], "t"), Fate::Trash);
    }

    #[test]
    fn the_transaction_table() {
        let d = Fate::Defer("down".into());
        assert_eq!(
            transaction(&[Fate::Queue, d.clone(), refuse("r")], false),
            Transaction::Defer("down".into())
        );
        assert_eq!(
            transaction(&[Fate::Queue], false),
            Transaction::Queue(vec![0])
        );
        assert_eq!(
            transaction(
                &[refuse("r"), Fate::Queue, Fate::Trash, Fate::Queue],
                false
            ),
            Transaction::Queue(vec![1, 3])
        );
        assert_eq!(
            transaction(&[Fate::Trash, refuse("r1"), refuse("r2")], false),
            Transaction::Refuse("r1".into())
        );
        assert_eq!(transaction(&[Fate::Trash], false), Transaction::Drop);
        // A bounce is never refused, but still deferred.
        assert_eq!(transaction(&[refuse("r")], true), Transaction::Drop);
        assert_eq!(transaction(&[d], true), Transaction::Defer("down".into()));
        assert!(never_refused("", None));
        assert!(!never_refused("", Some("192.0.2.1")));
        assert!(!never_refused("a@b", None));
    }

    #[test]
    fn dropped_groups_are_logged_as_trash() {
        let queue = Transaction::Queue(vec![1]);
        let r = refuse("x");
        for (actions, want) in [
            ("block", "trash"),
            ("bounce", "trash"),
            ("keep", "keep"),
            ("block+keep", "trash+keep"),
            ("trash+block", "trash"),
        ] {
            assert_eq!(
                logged_actions(&r, &queue, actions),
                (want.to_string(), true)
            );
            assert_eq!(
                logged_actions(&r, &Transaction::Drop, actions).0,
                want
            );
        }
        let refused = Transaction::Refuse("x".into());
        assert_eq!(logged_actions(&r, &refused, "block").0, "block");
        assert_eq!(
            logged_actions(&Fate::Queue, &queue, "pass"),
            ("pass".to_string(), false)
        );
        assert_eq!(
            logged_actions(
                &Fate::Queue,
                &Transaction::Defer("d".into()),
                "pass"
            )
            .0,
            "defer"
        );
        assert!(too_large(11, Some(10)));
        assert!(!too_large(10, Some(10)));
        assert!(!too_large(u64::MAX, None));
    }

    #[test]
    fn hand_off_codes() {
        assert_eq!(handed_off(&[Some(0), Some(0)]), Ok(()));
        assert_eq!(handed_off(&[Some(71)]), Err(Handoff::PassOn(71)));
        assert_eq!(handed_off(&[None]), Err(Handoff::Defer));
        assert_eq!(handed_off(&[Some(0), Some(31)]), Err(Handoff::Defer));
        assert_eq!(handed_off(&[Some(0), None]), Err(Handoff::Defer));
    }

    #[test]
    fn replies_are_one_clean_line() {
        let text = format!("bad\r\nname\u{e9}\t{}", "x".repeat(400));
        let (bytes, code) = Reply::Permanent(text).render(true);
        let bytes = bytes.unwrap();
        assert_eq!(code, 82);
        assert_eq!(bytes[0], b'D');
        assert_eq!(bytes.len(), 1 + REPLY_MAX);
        assert!(bytes[1..].iter().all(|b| (0x20..0x7f).contains(b)));
        assert!(bytes.starts_with(b"Dbad??name??"));
        assert_eq!(Reply::Temporary("x".into()).render(false), (None, 71));
        assert_eq!(Reply::Permanent("x".into()).render(false), (None, 31));
        let (short, _) = Reply::Temporary("ab".into()).render(true);
        assert!(short.unwrap().len() > 3);
    }
}
