/*!
Member names of zip archives, nested archives followed to a bounded depth.
*/

use crate::Limits;

/// What was found inside an archive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Members, those of nested archives included ([`Member::path`]
    /// says where each came from).
    pub members: Vec<Member>,
    /// A bound was reached ([`Limits::archive_members`],
    /// [`Limits::archive_depth`] or [`Limits::archive_member_size`]): what
    /// it was, for the log.
    pub truncated: Option<String>,
    /// The archive could not be read (not a zip, or damaged).
    pub error: Option<String>,
}

/// One member of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member's name as stored (directories included), e.g.
    /// `bin/setup.exe`.
    pub name: String,
    /// The enclosing nested archives' names, outermost first; empty for a
    /// member of the attachment itself.
    pub path: Vec<String>,
}

/// Whether `bytes` start like a zip archive (local file header or empty
/// archive signature).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Lists the members of the zip archive `bytes`, and of zip archives
/// inside it to [`Limits::archive_depth`].
pub fn list_zip(bytes: &[u8], limits: &Limits) -> Listing {
    let _ = (bytes, limits);
    todo!()
}
