/*!
Notifications of qmvc: what a Reaction sends, and how it leaves.

This crate owns
- the one builder of every message that qmvc and its programs send
  ([`Outgoing`]: notifications, plainmail's forwards, blockvirussender's
  report): Date, Message-ID, From, To, a Subject RFC 2047-encoded when it
  is not ASCII, `Auto-Submitted` (never `no`), MIME-Version, a UTF-8
  text/plain body — with no CR, LF or other control character from the
  input ever reaching a header line, whatever encoding it arrived in,
- rendering a notification from a Handlebars template and the facts of
  one message ([`Facts`], [`compose()`]) into such a message,
- the backscatter rules: when the sender must not be told
  ([`sender_refusal`]),
- guard forwarding: the original message with one trace header, and loop
  detection by that trace ([`forward()`]),
- expanding `$LOCAL`, `$EXT`, `$HOST`, `$USER` in a guard address and
  nothing else ([`expand_address`]),
- handing a message to the injector: no shell, the recipient as argument,
  the null envelope sender, no `QMAILQUEUE` ([`inject()`]), the one way
  every program of qmvc sends mail.

Its errors ([`ComposeError`], [`TemplateError`], [`AddressError`],
[`InjectError`]) say whose fault a failure is; the front ends map them.

It does not decide which reactions are due (the engine does) nor where
templates come from (the profile's layers; the caller passes their text).
*/
#![deny(missing_docs)]

mod address;
mod backscatter;
mod compose;
mod error;
mod forward;
mod headers;
mod host;
mod inject;
mod outgoing;
mod templates;

pub use error::{
    AddressError, ComposeError, HeaderError, HeaderProblem, InjectError,
    TemplateError,
};
pub use headers::is_breaking;
pub use host::local_host;
pub use inject::check_envelope;
pub use outgoing::{plain_text, AutoSubmitted, Outgoing};
pub use templates::{built_in, built_in_templates};

use std::path::Path;
use std::time::Duration;

use qmvc_message::Header;
use serde::Serialize;

/// How a template shows one match (an entry of `{{#each findings}}`):
/// not a second "what matched" (that is [`qmvc_log::Match`]) but its
/// rendering view, built from it in one place ([`MatchView::new`]).
///
/// It differs from the match in what a template needs: it names the
/// condition the match belongs to, every field is a plain string (empty
/// when the match has none, so that `{{virus}}` never fails in strict
/// mode), and it shows only the fields qmvc-templates(5) documents (not
/// `origin`, `detected_type` or `loader_type`). [`compose()`] makes each
/// field one line and cuts it before rendering, like every fact.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MatchView {
    /// The condition (`badfilename`).
    pub condition: String,
    /// What matched: pattern, glob, type or keyword.
    pub pattern: String,
    /// The file name concerned, if any.
    pub filename: String,
    /// The part id, if any.
    pub part: String,
    /// The virus name, if any.
    pub virus: String,
    /// The scanner that found it, if any.
    pub scanner: String,
    /// Any other detail.
    pub detail: String,
}

impl MatchView {
    /// The view of `found`, a match of the condition named `condition`.
    pub fn new(condition: &str, found: &qmvc_log::Match) -> MatchView {
        let text = |field: &Option<String>| field.clone().unwrap_or_default();
        MatchView {
            condition: condition.to_string(),
            pattern: text(&found.pattern),
            filename: text(&found.filename),
            part: text(&found.part),
            virus: text(&found.virus),
            scanner: text(&found.scanner),
            detail: text(&found.detail),
        }
    }
}

/// The facts of one message that a template may use. Every string is as
/// decoded from the message (attacker data): templates print it in a
/// text/plain body, and [`compose()`] keeps it out of header lines.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Facts {
    /// Envelope sender (may be empty).
    pub sender: String,
    /// Original recipient.
    pub recipient: String,
    /// Decoded Subject of the message.
    pub subject: String,
    /// Decoded From of the message.
    pub from: String,
    /// Message-ID of the message.
    pub message_id: String,
    /// Date field of the message.
    pub date: String,
    /// Size in bytes.
    pub size: usize,
    /// The met conditions joined by `+` (`badfilename+virusmail`).
    pub result: String,
    /// The condition this notification is for.
    pub condition: String,
    /// Its action (`block`, `keep`).
    pub action: String,
    /// What matched, for every met condition, as templates show it.
    pub findings: Vec<MatchView>,
    /// How many matches were found beyond `findings` (the engine lists
    /// at most 100 a condition); templates see this plus what their own
    /// bound leaves out.
    pub findings_left_out: usize,
    /// The virus names found.
    pub viruses: Vec<String>,
    /// This host's name (`$HOST` of qmail, else the system's).
    pub host: String,
    /// The guard's address (From of notifications).
    pub guard: String,
    /// When qmvc handled the message (RFC 5322 date).
    pub now: String,
}

/// Which notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `notifyrecipient`.
    NotifyRecipient,
    /// `notifysender`.
    NotifySender,
    /// `informguard`.
    InformGuard,
}

impl Kind {
    /// The template name (`tpl/LANG/NAME.hbs`).
    pub fn template(self) -> &'static str {
        match self {
            Kind::NotifyRecipient => "notifyrecipient",
            Kind::NotifySender => "notifysender",
            Kind::InformGuard => "informguard",
        }
    }
}

/// Renders `template` (Handlebars; its first line is `Subject: ...`, then
/// an empty line, then the body) with `facts`, and builds the message
/// from `from` to `to` with [`Outgoing`] (`Auto-Submitted:
/// auto-replied`). `Err` says what is wrong with the template, or with
/// `from` or `to`.
///
/// Leading blank lines and Handlebars comments before the Subject line
/// are skipped. Every string of `facts` is made one line (control
/// characters become spaces), cut to 1 KiB (512 bytes in the lists),
/// every list to 100 entries (`findings_left_out` and
/// `viruses_left_out` count the rest). The Subject line and the body are
/// rendered separately (strict mode: an unknown variable is an error; no
/// HTML escaping; no inline partials), so no fact can move the end of
/// the header. A body that renders over 960 KiB is cut after its last
/// whole line there, with a line saying so: the message stays under
/// 1 MiB and is built, never refused for what the facts hold. The header is `Date`, `Message-ID`, `From`, `To`,
/// `Subject` (control characters made spaces, at most 200 characters,
/// RFC 2047 UTF-8 words unless printable ASCII), `Auto-Submitted:
/// auto-replied`, `MIME-Version`, `Content-Type: text/plain;
/// charset=utf-8` and `Content-Transfer-Encoding` `7bit` or `8bit`; the
/// body has LF line ends and no line over 998 bytes. `from` and `to`
/// must be printable ASCII. Errors about the template name its line
/// (`line 3, column 7: unknown variable "subjekt"`).
pub fn compose(
    template: &str,
    facts: &Facts,
    from: &str,
    to: &str,
) -> Result<Vec<u8>, ComposeError> {
    compose::compose(template, facts, from, to)
}

/// Checks `template` as [`compose()`] would use it: its layout, its syntax,
/// and that it renders with facts in which every field and list is set
/// (so an unknown variable shows, unless it hides in a branch such facts
/// do not take). For `qmvc -L`; the error names the line of the
/// template when it can ([`TemplateError::line`]).
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    compose::check(template)
}

/// Why the sender of a message with envelope sender `sender` and header
/// `header` must not be notified, if so: empty sender, `#@[]`, a
/// MAILER-DAEMON or postmaster, `Precedence: bulk|list|junk`, a
/// `List-Id`, or `Auto-Submitted` other than `no`.
///
/// `MAILER-DAEMON` and `postmaster` are matched on the local part, any
/// case, with or without a domain; all of RFC 2369's and RFC 2919's
/// `List-*` fields count (`List-Id`, `List-Help`, `List-Unsubscribe`,
/// `List-Subscribe`, `List-Post`, `List-Owner`, `List-Archive`); in
/// `Precedence` and `Auto-Submitted` comments and parameters are ignored.
/// A sender that is not one plain address ([`check_address`]) is
/// refused too. The reason is one line of fixed text and at most one
/// short keyword.
pub fn sender_refusal(sender: &str, header: &Header<'_>) -> Option<String> {
    backscatter::sender_refusal(sender, header)
}

/// Why no notification at all may be sent about this message, if none
/// may: it is automatic mail — the envelope sender is empty or `#@[]`
/// (a bounce), or it carries `Auto-Submitted` other than `no` (RFC 3834:
/// every notification qmvc sends carries it). Notifying about such a
/// message, to anyone, is how notification loops start: a notification
/// that meets a condition would be notified about in turn, forever.
pub fn automatic(sender: &str, header: &Header<'_>) -> Option<String> {
    backscatter::automatic(sender, header)
}

/// The name of the trace header [`forward()`] adds.
pub const TRACE: &str = "X-QMVC-Forwarded";

/// The original message with one trace header (`X-QMVC-Forwarded: GUARD`)
/// in front, to forward to `guard`; `None` when the message already
/// carries that trace for `guard` (a forwarding loop).
///
/// The trace line ends in CR LF when the original's first line does,
/// else in LF. Every `X-QMVC-Forwarded` field of `header` counts; it
/// matches when its value, trimmed, equals `guard` ignoring ASCII case.
/// A `guard` that is empty or not printable ASCII without spaces is
/// never forwarded to (`None` as well): it cannot go into a header line.
pub fn forward(
    original: &[u8],
    header: &Header<'_>,
    guard: &str,
) -> Option<Vec<u8>> {
    forward::forward(original, header, guard)
}

/// Checks that `address` is one plain address, as [`expand_address`]
/// requires of its result and [`inject()`] of its recipient: `LOCAL@DOMAIN`
/// or `LOCAL`, at most 254 bytes, the local part of letters, digits and
/// ``.!#%&'*+-/=?^_`{}~``, the domain of letters, digits, `.` and `-`,
/// neither with a leading, trailing or doubled dot, and no leading `-`.
/// So it cannot pass for an option, a list of addresses or a header.
pub fn check_address(address: &str) -> Result<(), AddressError> {
    address::check(address)
}

/// The values `$LOCAL`, `$EXT`, `$HOST`, `$USER` expand to.
#[derive(Clone, Debug, Default)]
pub struct AddressVars {
    /// `LOCAL`.
    pub local: String,
    /// `EXT`.
    pub ext: String,
    /// `HOST`.
    pub host: String,
    /// `USER`.
    pub user: String,
}

/// Expands `$LOCAL`, `$EXT`, `$HOST`, `$USER` in `address` and nothing
/// else. `Err` when the result is not a safe address (empty, white space
/// or control characters, a leading `-`, no or several `@`...).
///
/// A variable name is the longest run of letters, digits and `_` after
/// `$` and must be one of the four (`$EXT2`, `$ext`, `${EXT}` are
/// errors). The result must pass [`check_address`].
pub fn expand_address(
    address: &str,
    vars: &AddressVars,
) -> Result<String, AddressError> {
    address::expand_address(address, vars)
}

/// Hands `message` to `injector` (no shell): `injector -a -f '' RECIPIENT`
/// as qmail-inject wants it (null envelope sender, recipient from the
/// argument only), message on standard input, output discarded,
/// `QMAILQUEUE` removed from its environment, killed after `timeout`.
/// `Err` when it cannot be run, fails or times out.
///
/// The injector runs in a process group of its own, which is killed
/// whole (SIGKILL) at the time-out. Its exit code alone judges it: 0 is
/// success, anything else an error (`injector /x exited 1`). A recipient
/// that is not one plain address ([`check_address`]) is refused before
/// anything runs.
pub fn inject(
    injector: &Path,
    recipient: &str,
    message: &[u8],
    timeout: Duration,
) -> Result<(), InjectError> {
    inject::run(injector, "", &[recipient], message, timeout)
}

/// Hands `message` to `injector` on behalf of `sender`, as
/// `INJECTOR -a -f SENDER RECIPIENT...`: a released message
/// (qmvc-release(8)) going on to its recipients with its original
/// envelope sender. Otherwise as [`inject()`]: the sender must be empty
/// or one plain address, each recipient one plain address
/// ([`check_address`]), or nothing runs.
pub fn inject_as(
    injector: &Path,
    sender: &str,
    recipients: &[&str],
    message: &[u8],
    timeout: Duration,
) -> Result<(), InjectError> {
    inject::run(injector, sender, recipients, message, timeout)
}
