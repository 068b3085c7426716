/*!
`filters`: Condition ; Action ; Reaction(s) ; Option(s).
*/

use crate::Origin;

/// A Condition, in the fixed order of evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    /// Header or MIME structure violates `mailheaders`.
    Errormail,
    /// The decoded Subject matches `badsubjects`.
    BadSubject,
    /// A decoded text part matches `badbodytexts`, or a command says so.
    BadBodyText,
    /// A file name (or zip member name) matches `badfilenames`.
    BadFilename,
    /// A part's magic type matches `badmimetypes`.
    BadMimeType,
    /// A part is an executable listed in `badloadertypes`.
    BadLoaderType,
    /// A virus scanner finds something.
    VirusMail,
}

/// Every condition in evaluation order.
pub const CONDITIONS: [Condition; 7] = [
    Condition::Errormail,
    Condition::BadSubject,
    Condition::BadBodyText,
    Condition::BadFilename,
    Condition::BadMimeType,
    Condition::BadLoaderType,
    Condition::VirusMail,
];

impl Condition {
    /// The keyword in `filters` and the logs.
    pub fn name(self) -> &'static str {
        match self {
            Condition::Errormail => "errormail",
            Condition::BadSubject => "badsubject",
            Condition::BadBodyText => "badbodytext",
            Condition::BadFilename => "badfilename",
            Condition::BadMimeType => "badmimetype",
            Condition::BadLoaderType => "badloadertype",
            Condition::VirusMail => "virusmail",
        }
    }
}

/// An Action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Exit 99; record in qmvc.rep.
    Block,
    /// Like block, and store the message in `save/CLASS/`.
    Keep,
    /// Exit 99; only the short log line.
    Trash,
    /// Exit 100 with the reason.
    Bounce,
    /// Pass (exit 0) and keep the analysis in `inspect/`.
    Inspect,
}

impl Action {
    /// The keyword in `filters` and the logs.
    pub fn name(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Keep => "keep",
            Action::Trash => "trash",
            Action::Bounce => "bounce",
            Action::Inspect => "inspect",
        }
    }
}

/// A Reaction (carried out by a later version; parsed and checked now).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reaction {
    /// Tell the recipient.
    NotifyRecipient,
    /// Tell the sender.
    NotifySender,
    /// Tell the guard at this address (may hold `$LOCAL`, `$EXT`,
    /// `$HOST`, `$USER`, unexpanded).
    InformGuard(String),
    /// Forward the message to the guard at this address.
    ForwardGuard(String),
}

impl Reaction {
    /// The keyword (without address).
    pub fn name(&self) -> &'static str {
        match self {
            Reaction::NotifyRecipient => "notifyrecipient",
            Reaction::NotifySender => "notifysender",
            Reaction::InformGuard(_) => "informguard",
            Reaction::ForwardGuard(_) => "forwardguard",
        }
    }
}

/// Options of a filter line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterOptions {
    /// Evaluate nothing further once this condition is met and its
    /// action blocks, keeps, trashes or bounces.
    pub quitasap: bool,
    /// badbodytext only: take the reactions only when met through a
    /// command line and no other condition was met.
    pub goodmail: bool,
    /// Language of this line's notifications (`lang=LL`).
    pub lang: Option<String>,
}

/// One line of `filters`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterRule {
    /// The condition (a `badmail` line yields five rules).
    pub condition: Condition,
    /// The action (`block` when the field is empty).
    pub action: Action,
    /// The reactions, in line order.
    pub reactions: Vec<Reaction>,
    /// The options.
    pub options: FilterOptions,
    /// Where the line is.
    pub origin: Origin,
}
