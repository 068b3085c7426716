/*!
Member names of zip archives, nested archives followed to a bounded depth.
*/

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

use zip::ZipArchive;

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

/// What may still be inflated from archives for one message: the
/// `limits` key `archivebytes`. Every byte inflated from every archive of
/// the message counts against it, whatever part or nesting level it came
/// from, so that no arrangement of many small bombs costs more CPU than
/// one large one. Once it is used up, nested archives are no longer
/// opened and the listing says so ([`Listing::truncated`]).
#[derive(Debug)]
pub struct Budget {
    left: Cell<usize>,
}

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Budget {
        Budget { left: Cell::new(bytes) }
    }

    /// The bytes that may still be inflated.
    pub fn left(&self) -> usize {
        self.left.get()
    }

    /// Counts `bytes` inflated.
    fn charge(&self, bytes: usize) {
        self.left.set(self.left.get().saturating_sub(bytes));
    }
}

/// Whether `bytes` start like a zip archive (local file header or empty
/// archive signature).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Lists the members of the zip archive `bytes`, and of zip archives
/// inside it to [`Limits::archive_depth`], inflating at most what is
/// `budget` (the message's, shared by all its archives) allows.
pub fn list_zip(bytes: &[u8], limits: &Limits, budget: &Budget) -> Listing {
    let mut listing = Listing::default();
    // The zip reader is careful, but this is attacker input: a panic in
    // it must not take the delivery down.
    let walked = catch_unwind(AssertUnwindSafe(|| {
        walk(bytes, limits, budget, &mut listing);
    }));
    if walked.is_err() && listing.error.is_none() {
        listing.error = Some("the zip reader failed".to_owned());
    }
    listing
}

/// An archive still to list.
struct Pending<'b> {
    bytes: Cow<'b, [u8]>,
    path: Vec<String>,
    depth: usize,
}

fn walk(
    bytes: &[u8],
    limits: &Limits,
    budget: &Budget,
    listing: &mut Listing,
) {
    let mut stack = vec![Pending {
        bytes: Cow::Borrowed(bytes),
        path: Vec::new(),
        depth: 0,
    }];
    while let Some(pending) = stack.pop() {
        let mut archive = match ZipArchive::new(Cursor::new(&*pending.bytes)) {
            Ok(archive) => archive,
            Err(e) => {
                note(&mut listing.error, &pending.path, &e.to_string());
                continue;
            }
        };
        let mut nested = Vec::new();
        for index in 0..archive.len() {
            if listing.members.len() >= limits.archive_members {
                let what =
                    format!("more than {} members", limits.archive_members);
                note(&mut listing.truncated, &[], &what);
                return;
            }
            let name = match archive.name_for_index(index) {
                Some(Ok(name)) => name.into_owned(),
                _ => match archive.by_index_raw(index) {
                    Ok(file) => {
                        String::from_utf8_lossy(file.name_raw()).into_owned()
                    }
                    Err(_) => String::new(),
                },
            };
            let mut inner = pending.path.clone();
            inner.push(name.clone());
            listing.members.push(Member { name, path: pending.path.clone() });
            let room = limits.archive_member_size.min(budget.left());
            let deep = pending.depth >= limits.archive_depth;
            let found =
                read_nested(&mut archive, index, (!deep).then_some(room));
            budget.charge(found.inflated);
            match found.nested {
                Nested::No => {}
                Nested::Failed(e) => note(&mut listing.error, &inner, &e),
                Nested::TooLarge if room < limits.archive_member_size => {
                    let what = format!(
                        "not opened: the message's budget of {} inflated \
                         bytes (archivebytes) is used up",
                        limits.archive_bytes
                    );
                    note(&mut listing.truncated, &inner, &what);
                }
                Nested::TooLarge => {
                    let what = format!("larger than {room} bytes");
                    note(&mut listing.truncated, &inner, &what);
                }
                Nested::Unread => {
                    let what = format!(
                        "nested deeper than {} archives",
                        limits.archive_depth
                    );
                    note(&mut listing.truncated, &inner, &what);
                }
                Nested::Yes(data) => {
                    nested.push(Pending {
                        bytes: Cow::Owned(data),
                        path: inner,
                        depth: pending.depth + 1,
                    });
                }
            }
        }
        // Reversed so that nested archives are listed in their order.
        stack.extend(nested.into_iter().rev());
    }
}

/// What a member turned out to be.
enum Nested {
    /// Not an archive.
    No,
    /// An archive, read whole.
    Yes(Vec<u8>),
    /// An archive, not read because it is nested too deep.
    Unread,
    /// An archive larger than allowed.
    TooLarge,
    /// Looked like an archive but could not be read.
    Failed(String),
}

/// What a member turned out to be, and how many bytes were inflated to
/// find out (every one of them is charged to the budget).
struct Found {
    nested: Nested,
    inflated: usize,
}

/// Reads member `index` if it is a zip archive itself (its name ends in
/// `.zip` or its content starts like one), at most `room` bytes; with no
/// room it only finds out whether it is one.
fn read_nested(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    index: usize,
    room: Option<usize>,
) -> Found {
    let mut data = Vec::new();
    let nested = inflate_nested(archive, index, room, &mut data);
    let inflated = data.len();
    let nested = match nested {
        // The bytes are in `data`, not yet in the variant.
        Nested::Yes(_) => Nested::Yes(data),
        other => other,
    };
    Found { nested, inflated }
}

/// [`read_nested`] into `data`; `Nested::Yes` comes back empty, the
/// bytes are in `data`.
fn inflate_nested(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    index: usize,
    room: Option<usize>,
    data: &mut Vec<u8>,
) -> Nested {
    let named_zip = archive
        .name_for_index(index)
        .and_then(Result::ok)
        .is_some_and(|n| n.to_ascii_lowercase().ends_with(".zip"));
    let mut file = match archive.by_index(index) {
        Ok(file) if file.is_dir() => return Nested::No,
        Ok(file) => file,
        Err(e) if named_zip => return Nested::Failed(e.to_string()),
        Err(_) => return Nested::No,
    };
    if let Err(e) = (&mut file).take(4).read_to_end(data) {
        return match named_zip {
            true => Nested::Failed(e.to_string()),
            false => Nested::No,
        };
    }
    if !named_zip && !is_zip(data) {
        return Nested::No;
    }
    let Some(room) = room else { return Nested::Unread };
    // One byte more than allowed tells a member at the bound from one
    // beyond it; `take` stops a zip bomb there.
    let want = room.saturating_sub(data.len()).saturating_add(1) as u64;
    if let Err(e) = (&mut file).take(want).read_to_end(data) {
        return Nested::Failed(e.to_string());
    }
    if data.len() > room {
        return Nested::TooLarge;
    }
    Nested::Yes(Vec::new())
}

/// Records `what` for the archive at `path` in `slot`: the first note
/// stays, later ones only add that there was more.
fn note(slot: &mut Option<String>, path: &[String], what: &str) {
    let text = match path.is_empty() {
        true => what.to_owned(),
        false => format!("{}: {what}", path.join("/")),
    };
    match slot {
        None => *slot = Some(text),
        Some(first) if !first.ends_with(" more)") => {
            first.push_str(" (and more)")
        }
        Some(_) => {}
    }
}
