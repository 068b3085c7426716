/*!
`filters`: Condition ; Action ; Reaction(s) ; Option(s).
*/

use crate::address::check_address;
use crate::lines::{entries, Sink};
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
    /// virusmail only: `notifysender` may notify the sender of a virus
    /// (whose address is almost always forged: backscatter).
    pub virussender: bool,
    /// errormail only (`bits=N`): the line applies only when the code
    /// has one of these bits; `None` for any non-zero code.
    pub bits: Option<u16>,
}

impl FilterOptions {
    /// Whether a line with these options applies to errormail `code`.
    pub fn applies_to(&self, code: u16) -> bool {
        code & self.bits.unwrap_or(u16::MAX) != 0
    }
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

/// The conditions a `filters` line may name, for messages.
const CONDITION_WORDS: &str = "errormail, badsubject, badbodytext, \
     badfilename, badmimetype, badloadertype, virusmail, badmail";

/// The conditions `badmail` stands for.
const BADMAIL: [Condition; 5] = [
    Condition::BadSubject,
    Condition::BadBodyText,
    Condition::BadFilename,
    Condition::BadMimeType,
    Condition::BadLoaderType,
];

/// Parses `filters`. A line with a bad condition or action is left out;
/// a bad reaction or option is left out of its line, which is kept, so
/// that a typo in an option never switches a blocking condition off. The
/// first line for a condition wins; lint reports the others. errormail
/// may have several lines (each for the bits of its `bits=` option):
/// every one that applies is carried out.
pub(crate) fn parse(text: &str, sink: &mut Sink<'_>) -> Vec<FilterRule> {
    let mut rules: Vec<FilterRule> = Vec::new();
    for (line, entry) in entries(text) {
        let Some(new) = parse_line(line, entry, sink) else { continue };
        for rule in new {
            let first = rules.iter().find(|r| r.condition == rule.condition);
            let first =
                first.filter(|_| rule.condition != Condition::Errormail);
            if let Some(first) = first {
                let at = first.origin.line;
                sink.lint_report(
                    line,
                    format!(
                        "a second line for {}; only the first one (line \
                         {at}) counts: remove or merge this one",
                        rule.condition.name()
                    ),
                );
                continue;
            }
            rules.push(rule);
        }
    }
    rules
}

/// The rules of one line: five for `badmail`, else one.
fn parse_line(
    line: usize,
    entry: &str,
    sink: &mut Sink<'_>,
) -> Option<Vec<FilterRule>> {
    let mut fields = entry.split([';', '|']).map(str::trim);
    let condition = fields.next().unwrap_or("");
    let action = fields.next().unwrap_or("");
    let reactions = fields.next().unwrap_or("");
    let options = fields.next().unwrap_or("");
    if fields.any(|f| !f.is_empty()) {
        sink.report(
            line,
            "too many fields (expected Condition ; Action ; Reaction(s) ; \
             Option(s) ;); separate several reactions or options with ','",
        );
        return None;
    }
    let conditions = parse_condition(condition, line, sink)?;
    let action = parse_action(action, line, sink)?;
    let reactions = parse_reactions(reactions, action, line, sink);
    let mut options = parse_options(options, line, sink);
    // Options that belong to one condition only.
    let owned = [
        ("goodmail", Condition::BadBodyText, &mut options.goodmail),
        ("virussender", Condition::VirusMail, &mut options.virussender),
    ];
    for (name, owner, flag) in owned {
        if *flag && !conditions.contains(&owner) {
            sink.report(
                line,
                format!(
                    "option {name} is only for {}, not {condition}; remove it",
                    owner.name()
                ),
            );
            *flag = false;
        }
    }
    if options.bits.is_some() && !conditions.contains(&Condition::Errormail) {
        sink.report(
            line,
            format!(
                "option bits is only for errormail, not {condition}; \
                 remove it"
            ),
        );
        options.bits = None;
    }
    let origin = sink.origin(line);
    Some(
        conditions
            .iter()
            .map(|&condition| FilterRule {
                condition,
                action,
                reactions: reactions.clone(),
                options: FilterOptions {
                    goodmail: options.goodmail
                        && condition == Condition::BadBodyText,
                    ..options.clone()
                },
                origin: origin.clone(),
            })
            .collect(),
    )
}

/// The condition(s) a keyword names; `None` (reported) when none.
fn parse_condition(
    word: &str,
    line: usize,
    sink: &mut Sink<'_>,
) -> Option<Vec<Condition>> {
    if word.is_empty() {
        sink.report(
            line,
            format!(
                "missing condition; a line starts with one of \
                 {CONDITION_WORDS}"
            ),
        );
        return None;
    }
    if word.eq_ignore_ascii_case("badmail") {
        return Some(BADMAIL.to_vec());
    }
    let found =
        CONDITIONS.into_iter().find(|c| c.name().eq_ignore_ascii_case(word));
    if found.is_none() {
        sink.report(
            line,
            format!(
                "unknown condition \"{word}\" (expected {CONDITION_WORDS})"
            ),
        );
    }
    found.map(|c| vec![c])
}

/// The action a keyword names, an empty field `block`; `None`
/// (reported) when none.
fn parse_action(
    word: &str,
    line: usize,
    sink: &mut Sink<'_>,
) -> Option<Action> {
    if word.is_empty() {
        return Some(Action::Block);
    }
    let found = [
        Action::Block,
        Action::Keep,
        Action::Trash,
        Action::Bounce,
        Action::Inspect,
    ]
    .into_iter()
    .find(|a| a.name().eq_ignore_ascii_case(word));
    if found.is_none() {
        sink.report(
            line,
            format!(
                "unknown action \"{word}\" (expected block, keep, trash, \
                 bounce, inspect)"
            ),
        );
    }
    found
}

/// The comma-separated items of a field, trimmed, empty ones skipped.
fn items(field: &str) -> impl Iterator<Item = &str> {
    field.split(',').map(str::trim).filter(|item| !item.is_empty())
}

/// Splits `key=value` into the lower-case key and the trimmed value.
fn key_value(item: &str) -> (String, Option<&str>) {
    match item.split_once('=') {
        Some((key, value)) => {
            (key.trim().to_ascii_lowercase(), Some(value.trim()))
        }
        None => (item.to_ascii_lowercase(), None),
    }
}

/// The reactions field; bad items are reported and left out.
fn parse_reactions(
    field: &str,
    action: Action,
    line: usize,
    sink: &mut Sink<'_>,
) -> Vec<Reaction> {
    let mut reactions = Vec::new();
    for item in items(field) {
        let (key, value) = key_value(item);
        let reaction = match (key.as_str(), value) {
            ("notifyrecipient", None) => Reaction::NotifyRecipient,
            ("notifysender", None) => Reaction::NotifySender,
            ("notifyrecipient" | "notifysender", Some(_)) => {
                sink.report(
                    line,
                    format!(
                        "reaction {key} takes no address; remove \"=...\""
                    ),
                );
                continue;
            }
            ("informguard" | "forwardguard", value) => {
                let address = value.unwrap_or("");
                if let Err(why) = check_address(address) {
                    sink.report(
                        line,
                        format!(
                            "bad address \"{address}\" for {key}: {why} \
                             (expected {key}=LOCAL@DOMAIN)"
                        ),
                    );
                    continue;
                }
                let address = address.to_owned();
                if key == "informguard" {
                    Reaction::InformGuard(address)
                } else {
                    Reaction::ForwardGuard(address)
                }
            }
            _ => {
                sink.report(
                    line,
                    format!(
                        "unknown reaction \"{item}\" (expected \
                         notifyrecipient, notifysender, \
                         informguard=ADDRESS, forwardguard=ADDRESS)"
                    ),
                );
                continue;
            }
        };
        reactions.push(reaction);
    }
    if !reactions.is_empty() && !matches!(action, Action::Block | Action::Keep)
    {
        sink.report(
            line,
            format!(
                "reactions are only allowed with block and keep, not with \
                 {}; remove the reactions or change the action",
                action.name()
            ),
        );
        reactions.clear();
    }
    reactions
}

/// The options field; bad items are reported and left out.
fn parse_options(
    field: &str,
    line: usize,
    sink: &mut Sink<'_>,
) -> FilterOptions {
    let mut options = FilterOptions::default();
    for item in items(field) {
        let (key, value) = key_value(item);
        match (key.as_str(), value) {
            ("quitasap", None) => options.quitasap = true,
            ("goodmail", None) => options.goodmail = true,
            ("virussender", None) => options.virussender = true,
            ("quitasap" | "goodmail" | "virussender", Some(_)) => sink.report(
                line,
                format!("option {key} takes no value; remove \"=...\""),
            ),
            ("bits", value) => {
                let value = value.unwrap_or("");
                match parse_bits(value) {
                    Ok(_) if options.bits.is_some() => sink.report(
                        line,
                        "option bits given twice; keep one".to_owned(),
                    ),
                    Ok(bits) => options.bits = Some(bits),
                    Err(why) => sink.report(
                        line,
                        format!("bad option bits=\"{value}\": {why}"),
                    ),
                }
            }
            ("lang", value) => {
                let value = value.unwrap_or("");
                match check_lang(value) {
                    Some(_) if options.lang.is_some() => sink.report(
                        line,
                        "option lang given twice; keep one".to_owned(),
                    ),
                    Some(lang) => options.lang = Some(lang),
                    None => sink.report(
                        line,
                        format!(
                            "bad language \"{value}\" (expected lang=LL, \
                             2 to 8 letters with an optional region, e.g. \
                             lang=en or lang=de-CH)"
                        ),
                    ),
                }
            }
            _ => sink.report(
                line,
                format!(
                    "unknown option \"{item}\" (expected quitasap, \
                     goodmail, virussender, lang=LL, bits=N)"
                ),
            ),
        }
    }
    options
}

/// The mask of `bits=N`: a decimal number, not 0, made of errormail bits
/// only (1 to 256, see mailheaders).
fn parse_bits(value: &str) -> Result<u16, String> {
    let number = value.parse::<u32>().ok().filter(|_| {
        !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
    });
    let Some(number) = number else {
        return Err("not a decimal number (expected bits=N, the sum of \
             the errormail bits to act on, e.g. bits=256 or bits=65)"
            .to_owned());
    };
    if number == 0 {
        return Err("0 selects no bit; give the sum of the errormail \
             bits to act on (1 to 256), or leave bits= out to act on \
             any code"
            .to_owned());
    }
    let defined = u32::from(crate::ERRORMAIL_BITS);
    if number & !defined != 0 {
        return Err(format!(
            "{number} has bits that errormail does not define (the bits \
             are 1, 2, 4, 8, 16, 32, 64, 128 and 256, at most {defined} \
             together)"
        ));
    }
    u16::try_from(number).map_err(|_| "too large".to_owned())
}

/// A language tag `LL` or `LL-RR` (2 to 8 letters, region 2 letters) in
/// its canonical form: language lower-case, region upper-case.
pub(crate) fn check_lang(value: &str) -> Option<String> {
    let (language, region) = match value.split_once('-') {
        Some((language, region)) => (language, Some(region)),
        None => (value, None),
    };
    let letters = |s: &str| s.bytes().all(|b| b.is_ascii_alphabetic());
    if !(2..=8).contains(&language.len()) || !letters(language) {
        return None;
    }
    let mut lang = language.to_ascii_lowercase();
    if let Some(region) = region {
        if region.len() != 2 || !letters(region) {
            return None;
        }
        lang.push('-');
        lang.push_str(&region.to_ascii_uppercase());
    }
    Some(lang)
}
