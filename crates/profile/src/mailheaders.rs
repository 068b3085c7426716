/*!
`mailheaders`: the errormail checks and their bits.
*/

use crate::Origin;

/// A `+FIELD=CONTENT` check (bit 128).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderCheck {
    /// Field name, lower-cased.
    pub field: String,
    /// Content, lower-cased; met when the decoded field contains it.
    pub content: String,
    /// Where the line is.
    pub origin: Origin,
}

/// The errormail settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailHeaders {
    /// `header=strict` (bit 1).
    pub strict_header: bool,
    /// `date=required` (bit 2).
    pub date: bool,
    /// `to=required` (bit 4).
    pub to: bool,
    /// `msgid=required` (bit 8).
    pub msgid: bool,
    /// `from=required` (bit 16).
    pub from: bool,
    /// `subject=required` (bit 32).
    pub subject: bool,
    /// `mime=strict` (bit 64).
    pub strict_mime: bool,
    /// `+FIELD=CONTENT` lines (bit 128).
    pub contains: Vec<HeaderCheck>,
}
