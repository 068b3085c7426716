/*!
What a spam engine is asked and what it answers, whatever its protocol:
SpamAssassin's spamd ([`crate::spamd`]) and rspamd ([`crate::rspamd`]).

The caller decides who the user is (SPEC 8: checked against
`A-Za-z0-9.+_@-` and 64 bytes), whether the message is small enough to
send (`max_size`), and what the verdict means for the message (the
`spammail` ladder); this crate only asks and understands.
*/

/// One question to a spam engine.
#[derive(Clone, Debug)]
pub struct SpamRequest<'a> {
    /// The message, exactly as received.
    pub message: &'a [u8],
    /// Whose preferences the engine applies (spamd `User:`, rspamd
    /// `User:`), already checked by the caller; empty for none.
    pub user: &'a str,
    /// The envelope sender (rspamd `From:`); empty for the null sender.
    pub sender: &'a str,
    /// The envelope recipients (rspamd `Rcpt:`, one header each).
    pub recipients: &'a [String],
    /// The SMTP client's address in queue mode (rspamd `IP:`).
    pub client_ip: Option<&'a str>,
}

/// What a spam engine said about one message.
#[derive(Clone, Debug, PartialEq)]
pub struct SpamVerdict {
    /// Whether the engine calls it spam: spamd `Spam: True`; rspamd an
    /// action of `add header`, `rewrite subject` or `reject`.
    pub spam: bool,
    /// The score.
    pub score: f64,
    /// The score as the engine gave it (`1000.0`, `-0.0`, `9.9`): what
    /// X-Spam-Score and qmvc.log field 12 show.
    pub score_text: String,
    /// The engine's threshold: spamd's required score, rspamd's
    /// `required_score` (its reject threshold).
    pub required: f64,
    /// The threshold as the engine gave it.
    pub required_text: String,
    /// The names of the rules that hit (SpamAssassin SYMBOLS, rspamd
    /// symbols), bounded.
    pub symbols: Vec<String>,
    /// rspamd's action (`no action`, `add header`, ...); `None` for spamd.
    pub action: Option<String>,
}

/// The answer of a spam engine.
#[derive(Clone, Debug, PartialEq)]
pub enum SpamAnswer {
    /// The engine judged the message.
    Judged(SpamVerdict),
    /// The engine could not be asked, failed or timed out: why, in one
    /// line.
    Failed(String),
}
