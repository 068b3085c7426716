/*!
The values the engine returns: what was found, and what follows from it.
*/

use qmvc_profile::{Action, Condition, Origin, Reaction};

/// What the message's fate is, by the most severe action of the met
/// conditions. Front ends map it to their own codes: qmvc (dot-qmail) to
/// 0, 99 and 100, qmvc-queue to queueing, 250 and 554. A deferral is no
/// disposition: it is an [`crate::Error`] (or the delivery library's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Disposition {
    /// The message goes on as if qmvc were not there: no condition met,
    /// or only `inspect`.
    Continue,
    /// The message goes no further and nobody is told by a bounce:
    /// `block`, `keep`, `trash`.
    Stop,
    /// The message is refused back to its sender: `bounce`.
    Bounce,
}

impl Disposition {
    /// What an action means for the message.
    pub fn of(action: Action) -> Disposition {
        match action {
            Action::Block | Action::Keep | Action::Trash => Disposition::Stop,
            Action::Bounce => Disposition::Bounce,
            Action::Inspect => Disposition::Continue,
        }
    }
}

/// One thing that matched: the one type the logs write and read back.
pub use qmvc_log::Match;

/// What becomes of a reaction: planned by the engine, then carried out
/// (or refused) by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReactionStatus {
    /// Due: to be carried out (`qmvc -t` shows it so).
    Due,
    /// Left out: the sender or recipient is already notified for an
    /// earlier condition.
    AlreadyNotified,
    /// Left out by `goodmail`.
    Goodmail,
    /// Left out: the sender of a virus is not notified without the
    /// option `virussender` (the address is almost always forged).
    VirusSender,
    /// Decided and made ready to go out to this address, not sent yet:
    /// qmvc.rep is written in this state, before anything goes out.
    Ready(String),
    /// Sent to this address.
    Sent(String),
    /// Not sent, for this reason (a backscatter rule, a forwarding loop,
    /// an address that did not expand safely).
    Refused(String),
}

impl ReactionStatus {
    /// As written in qmvc.rep and by `qmvc -t`.
    pub fn describe(&self) -> String {
        match self {
            ReactionStatus::Due => "due".into(),
            ReactionStatus::AlreadyNotified => "already notified".into(),
            ReactionStatus::Goodmail => "left out (goodmail)".into(),
            ReactionStatus::VirusSender => {
                "left out (virus sender; option virussender)".into()
            }
            ReactionStatus::Ready(to) => format!("due to {to}"),
            ReactionStatus::Sent(to) => format!("sent to {to}"),
            ReactionStatus::Refused(why) => format!("not sent: {why}"),
        }
    }
}

/// A reaction of a met condition and what becomes of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionPlan {
    /// The reaction as written (address unexpanded).
    pub reaction: Reaction,
    /// What becomes of it.
    pub status: ReactionStatus,
}

/// A met condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The condition.
    pub condition: Condition,
    /// Its filter line's action.
    pub action: Action,
    /// Where its filter line is.
    pub rule: Origin,
    /// What matched.
    pub matches: Vec<Match>,
    /// The reactions due.
    pub reactions: Vec<ReactionPlan>,
    /// How many matches beyond `matches` were found and not listed (the
    /// engine lists at most 100 a condition; `skipped` says so too).
    pub unlisted: usize,
    /// Met through a badbodytexts command.
    pub via_command: bool,
}

/// What became of one condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evaluation {
    /// No filter line: not evaluated.
    NoRule,
    /// Evaluated and not met.
    NotMet,
    /// Evaluated and met (see the [`Hit`]).
    Met,
    /// Not evaluated, for this reason (quitasap, limits, no scanner).
    Skipped(String),
}

/// Everything the engine found and decided about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Each condition in evaluation order with what became of it.
    pub evaluations: Vec<(Condition, Evaluation)>,
    /// The met conditions in evaluation order.
    pub hits: Vec<Hit>,
    /// The errormail code (sum of bits), 0 when none.
    pub errormail: u16,
    /// The initials of the scanners that were asked, in order.
    pub scanners: String,
    /// Bounds reached and checks left out (for the logs).
    pub skipped: Vec<String>,
    /// Failures that were not the message's fault and did not defer it
    /// (a scanner failing under policy `pass` or `block`, a command that
    /// timed out): each is a warning line in qmvc.error.
    pub warnings: Vec<String>,
    /// The exit disposition: the most severe of the actions.
    pub disposition: Disposition,
    /// What each spam engine that judged the message said, in the order
    /// of `spamscanners`: qmvc.rep, `qmvc -t`, qmvc.log field 12.
    pub spam: Vec<Spam>,
}

/// What one spam engine said: the one type qmvc.rep writes and reads.
pub use qmvc_log::rep::Spam;

impl Verdict {
    /// A verdict with nothing found and nothing decided: the message goes
    /// on (the start of an evaluation, or a message released unexamined).
    pub fn passing() -> Verdict {
        Verdict {
            evaluations: Vec::new(),
            hits: Vec::new(),
            errormail: 0,
            scanners: String::new(),
            skipped: Vec::new(),
            warnings: Vec::new(),
            disposition: Disposition::Continue,
            spam: Vec::new(),
        }
    }

    /// The log's result field: `clear`, or the met conditions joined
    /// by `+`.
    pub fn result(&self) -> String {
        if self.hits.is_empty() {
            return "clear".to_string();
        }
        // errormail may be met through several filter lines: it is
        // still one condition.
        let mut names: Vec<&str> = Vec::new();
        for hit in &self.hits {
            let name = hit.condition.name();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.join("+")
    }

    /// The distinct actions in order of first appearance.
    pub fn actions(&self) -> Vec<Action> {
        let mut out: Vec<Action> = Vec::new();
        for hit in &self.hits {
            if !out.contains(&hit.action) {
                out.push(hit.action);
            }
        }
        out
    }

    /// Whether `action` is among the met conditions' actions.
    pub fn has(&self, action: Action) -> bool {
        self.hits.iter().any(|h| h.action == action)
    }

    /// The condition whose class the message is kept under when some
    /// action is `keep`: virusmail before any other, errormail only when
    /// nothing else keeps it (a virus that also has a broken header
    /// belongs with the viruses).
    pub fn keep_class(&self) -> Option<Condition> {
        let keeps = || self.hits.iter().filter(|h| h.action == Action::Keep);
        let rank = |c: Condition| match c {
            Condition::VirusMail => 0,
            Condition::Errormail => 2,
            _ => 1,
        };
        keeps().map(|h| h.condition).min_by_key(|c| rank(*c))
    }

    /// qmvc.log field 12: the score of each spam engine that judged the
    /// message, as it gave it, joined by `+` in the order of
    /// `spamscanners`; empty when none did (written `-`).
    pub fn spam_scores(&self) -> String {
        let scores: Vec<&str> =
            self.spam.iter().map(|s| s.score.as_str()).collect();
        scores.join("+")
    }

    /// A one-line reason for a bounce, from the first bouncing hit.
    pub fn reason(&self) -> String {
        let hit = self
            .hits
            .iter()
            .find(|h| h.action == Action::Bounce)
            .or(self.hits.first());
        let Some(hit) = hit else {
            return "message accepted".to_string();
        };
        // SPEC 7's wording for a virus: `virus Eicar-Test-Signature found`.
        let virus = hit.matches.iter().find_map(|m| m.virus.as_deref());
        if let (Condition::VirusMail, Some(name)) = (hit.condition, virus) {
            return format!("virus {name} found");
        }
        let what = hit.matches.first().and_then(|m| {
            let named = m.virus.clone().or_else(|| m.filename.clone());
            named.or_else(|| m.pattern.clone())
        });
        match what {
            Some(w) => format!("{} ({})", hit.condition.name(), w),
            None => hit.condition.name().to_string(),
        }
    }
}
