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
    /// A spam engine's verdict or score reaches a `spammail` line
    /// (SPEC 8): evaluated last, since asking a spam engine costs most.
    SpamMail,
}

/// Every condition in evaluation order.
pub const CONDITIONS: [Condition; 8] = [
    Condition::Errormail,
    Condition::BadSubject,
    Condition::BadBodyText,
    Condition::BadFilename,
    Condition::BadMimeType,
    Condition::BadLoaderType,
    Condition::VirusMail,
    Condition::SpamMail,
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
            Condition::SpamMail => "spammail",
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
    /// spammail only (`score=N`): the line applies when the score is at
    /// least N, spam verdict or not; `None`: when the engine says spam
    /// (the line then ranks at the engine's threshold).
    pub score: Option<Score>,
}

/// The `N` of `score=N`: a decimal number with at most three places,
/// negative or not (`7.5`, `-1`, `20`), kept exactly in thousandths so
/// that lines compare and print as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(i64);

/// The largest `score=N` in magnitude: far beyond any engine's scale
/// (GTUBE is 1000 in SpamAssassin).
const MAX_SCORE: i64 = 1_000_000;

impl Score {
    /// The score in thousandths of a point.
    pub fn thousandths(self) -> i64 {
        self.0
    }

    /// The score as a number, to compare with an engine's.
    pub fn value(self) -> f64 {
        // Exact: |thousandths| is at most 10^9, well inside f64's 2^53,
        // and the division is correctly rounded, as parsing "7.5" is.
        #[allow(clippy::cast_precision_loss)]
        let n = self.0 as f64;
        n / 1000.0
    }

    /// Parses `N`: an optional sign, digits, and optionally a point and
    /// one to three digits.
    pub fn parse(text: &str) -> Option<Score> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (unsigned, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || fraction.len() > 3
            || (unsigned.contains('.') && fraction.is_empty())
            || whole.len() > 7
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let mut thousandths: i64 = 0;
        for (place, b) in fraction.bytes().enumerate() {
            let digit = i64::from(b - b'0');
            thousandths += digit * [100, 10, 1].get(place).copied()?;
        }
        let magnitude = whole.checked_mul(1000)?.checked_add(thousandths)?;
        if magnitude > MAX_SCORE * 1000 {
            return None;
        }
        Some(Score(if negative { -magnitude } else { magnitude }))
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let (whole, fraction) = (magnitude / 1000, magnitude % 1000);
        if fraction == 0 {
            return write!(f, "{sign}{whole}");
        }
        let places = format!("{fraction:03}");
        write!(f, "{sign}{whole}.{}", places.trim_end_matches('0'))
    }
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
     badfilename, badmimetype, badloadertype, virusmail, spammail, badmail";

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
/// every one that applies is carried out. spammail may have several
/// lines, one per `score=` (and one without): they form a ladder, of
/// which one line is carried out (SPEC 8).
pub(crate) fn parse(text: &str, sink: &mut Sink<'_>) -> Vec<FilterRule> {
    let mut rules: Vec<FilterRule> = Vec::new();
    for (line, entry) in entries(text) {
        let Some(new) = parse_line(line, entry, sink) else { continue };
        for rule in new {
            if rule.condition == Condition::SpamMail {
                let same = rules.iter().find(|r| {
                    r.condition == Condition::SpamMail
                        && r.options.score == rule.options.score
                });
                if let Some(first) = same {
                    let at = first.origin.line;
                    let rung = match rule.options.score {
                        Some(n) => format!("score={n}"),
                        None => "no score=".to_owned(),
                    };
                    sink.lint_report(
                        line,
                        format!(
                            "a second spammail line with {rung}; only the \
                             first one (line {at}) counts: remove this one \
                             or give it another score="
                        ),
                    );
                    continue;
                }
                rules.push(rule);
                continue;
            }
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
    if options.score.is_some() && !conditions.contains(&Condition::SpamMail) {
        sink.report(
            line,
            format!(
                "option score is only for spammail, not {condition}; \
                 remove it"
            ),
        );
        options.score = None;
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
            ("score", value) => {
                let value = value.unwrap_or("");
                match Score::parse(value) {
                    Some(_) if options.score.is_some() => sink.report(
                        line,
                        "option score given twice; keep one".to_owned(),
                    ),
                    Some(score) => options.score = Some(score),
                    None => sink.report(
                        line,
                        format!(
                            "bad option score=\"{value}\": not a decimal \
                             number (expected score=N with at most three \
                             decimal places, e.g. score=10, score=7.5 or \
                             score=-1)"
                        ),
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
                     goodmail, virussender, lang=LL, bits=N, score=N)"
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
