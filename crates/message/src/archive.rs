/*!
Member names of archives: zip, tar, 7z and rar (4 and 5), and the
compression layers gzip, bzip2 and xz around anything, nested archives
followed to a bounded depth.

The kind of an archive is found from its first bytes ([`kind`]), never
from a declared name. Names are listed without inflating where the
format allows (zip, tar held in memory, 7z and rar from their headers:
the private modules `sevenz` and `rar`; only a 7z header that is itself
compressed is inflated); bytes are inflated only to look into a member
(is it an archive itself?) or through a compression layer, and every one
of them is charged to the message's [`Budget`]. Reading is pulled
through `take`, so a decompression bomb stops at the bound after
inflating no more than the bound.

Every member is looked into the same way (`Walk::consider`): its
first bytes say whether it is an archive, which is then listed in turn.
Zip and tar members are read one by one. A 7z folder is one stream
holding its members one after another: to reach a member of a solid
folder, those before it are unpacked, within the budget. 7z folders
packed with coders that are not decoded, and rar members that are
compressed (no RAR decoder has a licence GPL-2.0 can take; members
stored uncompressed are read from the archive as they are), are listed
but not looked into: the listing says so in [`Listing::truncated`], as
for a limit that cut the examination short, so that such a message is
not taken as fully examined (errormail bit 256).
*/

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

use zip::ZipArchive;

use crate::Limits;

mod rar;
mod sevenz;

/// How many first bytes [`kind`] needs (a tar header's `ustar` magic
/// ends at byte 262).
pub const PEEK: usize = 265;

/// How much memory an xz block may ask for (KiB): `xz -9` needs some
/// 65 MiB; a header asking for more is a bound reached, not opened.
const XZ_MEMORY_KB: u32 = 96 << 10;

/// A kind of archive or compression layer, known from its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A zip archive (also jar, docx, ...).
    Zip,
    /// A tar archive (ustar, pax or GNU).
    Tar,
    /// A gzip stream.
    Gzip,
    /// A bzip2 stream.
    Bzip2,
    /// An xz stream.
    Xz,
    /// A 7z archive.
    SevenZ,
    /// A RAR archive (version 4 or 5).
    Rar,
}

impl Kind {
    /// The name used in notes, e.g. `gzip`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Tar => "tar",
            Kind::Gzip => "gzip",
            Kind::Bzip2 => "bzip2",
            Kind::Xz => "xz",
            Kind::SevenZ => "7z",
            Kind::Rar => "rar",
        }
    }

    /// Whether the kind compresses one stream rather than holding
    /// members.
    fn is_stream(self) -> bool {
        matches!(self, Kind::Gzip | Kind::Bzip2 | Kind::Xz)
    }

    /// The suffixes a name of this kind ends in, and what replaces each
    /// (`.tgz` names a gzipped `.tar`).
    fn suffixes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Gzip => &[(".tgz", ".tar"), (".gz", ""), (".z", "")],
            Kind::Bzip2 => &[
                (".tbz2", ".tar"),
                (".tbz", ".tar"),
                (".bz2", ""),
                (".bz", ""),
            ],
            Kind::Xz => &[(".txz", ".tar"), (".xz", "")],
            Kind::Zip | Kind::Tar | Kind::SevenZ | Kind::Rar => &[],
        }
    }
}

/// The kind of archive `head` (the first [`PEEK`] bytes or more of a
/// part or member) starts like, if any.
pub fn kind(head: &[u8]) -> Option<Kind> {
    if is_zip(head) {
        return Some(Kind::Zip);
    }
    if head.starts_with(b"\x1f\x8b\x08") {
        return Some(Kind::Gzip);
    }
    if let Some(&[b'B', b'Z', b'h', level]) = head.get(..4) {
        if (b'1'..=b'9').contains(&level) {
            return Some(Kind::Bzip2);
        }
    }
    if head.starts_with(b"\xfd7zXZ\x00") {
        return Some(Kind::Xz);
    }
    if head.starts_with(sevenz::MAGIC) {
        return Some(Kind::SevenZ);
    }
    if head.starts_with(rar::MAGIC4) || head.starts_with(rar::MAGIC5) {
        return Some(Kind::Rar);
    }
    // POSIX `ustar\0` and GNU `ustar  \0` alike.
    if head.get(257..262) == Some(b"ustar") {
        return Some(Kind::Tar);
    }
    None
}

/// What was found inside an archive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Members, those of nested archives included ([`Member::path`]
    /// says where each came from).
    pub members: Vec<Member>,
    /// A bound was reached ([`Limits::archive_members`],
    /// [`Limits::archive_depth`], [`Limits::archive_member_size`] or the
    /// [`Budget`]): what it was, for the log.
    pub truncated: Option<String>,
    /// The archive, or one inside it, is damaged (truncated, corrupt):
    /// the names before the damage are listed.
    pub error: Option<String>,
}

impl Listing {
    /// Whether a member (of any nesting level) is encrypted.
    pub fn encrypted(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.encrypted)
    }
}

/// One member of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member's name as stored (directories included), e.g.
    /// `bin/setup.exe`; for a compression layer, the name it stores or
    /// the archive's name without its suffix.
    pub name: String,
    /// The enclosing nested archives' names, outermost first; empty for a
    /// member of the attachment itself.
    pub path: Vec<String>,
    /// The member is encrypted (zip: general purpose flag bit 0; 7z:
    /// an AES coder; rar: the encryption flag or record): no scanner can
    /// look inside it. An archive whose names are encrypted lists one
    /// such member named [`ENCRYPTED_NAMES`].
    pub encrypted: bool,
}

/// The name of the one member listed for a 7z or rar archive whose
/// headers (so its names) are encrypted.
pub const ENCRYPTED_NAMES: &str = "(encrypted names)";

/// A member as a header reader ([`sevenz`], [`rar`]) finds it.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    name: String,
    encrypted: bool,
    data: Data,
}

/// Where a member's bytes are, as its header reader sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Data {
    /// Nothing the reader hands out: a directory, an empty or encrypted
    /// member, or a 7z member (its folder, [`sevenz::Block`], has it).
    None,
    /// Stored as they are, at this range of the archive.
    Stored(std::ops::Range<usize>),
    /// Compressed by a method qmvc does not decode (named for the
    /// note), or split across volumes.
    Packed(&'static str),
}

impl Member {
    /// The member's name with its enclosing archives', `/` between them.
    pub fn full_name(&self) -> String {
        let mut shown = self.path.clone();
        shown.push(self.name.clone());
        shown.join("/")
    }
}

/// What may still be inflated from archives for one message: the
/// `limits` key `archivebytes`. Every byte inflated from every archive of
/// the message counts against it, whatever part, format or nesting level
/// it came from, so that no arrangement of many small bombs costs more
/// CPU than one large one. Once it is used up, nested archives are no
/// longer opened and the listing says so ([`Listing::truncated`]).
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

/// Lists the members of the archive `bytes` (of any [`Kind`]; nothing
/// for other content), and of archives inside it to
/// [`Limits::archive_depth`], inflating at most what `budget` (the
/// message's, shared by all its archives) allows. `name` is the part's
/// declared file name: a compression layer that stores no name lists
/// it without its suffix.
pub fn list(
    bytes: &[u8],
    name: Option<&str>,
    limits: &Limits,
    budget: &Budget,
) -> Listing {
    let mut walk = Walk { limits, budget, listing: Listing::default() };
    // The readers are careful, but this is attacker input: a panic in
    // one must not take the delivery down.
    let walked = catch_unwind(AssertUnwindSafe(|| {
        walk.run(bytes, name);
    }));
    let mut listing = walk.listing;
    if walked.is_err() {
        note(&mut listing.error, &[], "an archive reader failed");
    }
    listing
}

/// [`list`] for a zip archive without a name (kept for callers that know
/// they hold a zip).
pub fn list_zip(bytes: &[u8], limits: &Limits, budget: &Budget) -> Listing {
    let mut listing = list(bytes, None, limits, budget);
    if !is_zip(bytes) && listing.error.is_none() {
        listing.error = Some("not a zip archive".to_owned());
    }
    listing
}

/// An archive still to list.
struct Pending<'b> {
    bytes: Cow<'b, [u8]>,
    /// Its own name (for a compression layer that stores none).
    name: Option<String>,
    /// The enclosing archives' names and its own, outermost first.
    path: Vec<String>,
    depth: usize,
    /// Only a prefix was read (a bound, or damage that is noted
    /// already): its own damage is not noted again.
    cut: bool,
}

/// The member bound was reached: stop listing.
struct Full;

/// One listing in progress.
struct Walk<'l> {
    limits: &'l Limits,
    budget: &'l Budget,
    listing: Listing,
}

impl Walk<'_> {
    fn run(&mut self, bytes: &[u8], name: Option<&str>) {
        let mut stack = vec![Pending {
            bytes: Cow::Borrowed(bytes),
            name: name.map(str::to_owned),
            path: Vec::new(),
            depth: 0,
            cut: false,
        }];
        while let Some(pending) = stack.pop() {
            let mut nested = Vec::new();
            let done = match kind(&pending.bytes) {
                Some(Kind::Zip) => self.zip(&pending, &mut nested),
                Some(Kind::Tar) => self.tar(&pending, &mut nested),
                Some(Kind::SevenZ) => self.sevenz(&pending, &mut nested),
                Some(Kind::Rar) => self.rar(&pending, &mut nested),
                Some(stream) => self.stream(stream, &pending, &mut nested),
                None => Ok(()),
            };
            if done.is_err() {
                return;
            }
            // Reversed so that nested archives are listed in their order.
            stack.extend(nested.into_iter().rev());
        }
    }

    /// Records a member, unless the member bound is reached.
    fn member(
        &mut self,
        name: &str,
        path: &[String],
        encrypted: bool,
    ) -> Result<(), Full> {
        if self.listing.members.len() >= self.limits.archive_members {
            let what =
                format!("more than {} members", self.limits.archive_members);
            note(&mut self.listing.truncated, &[], &what);
            return Err(Full);
        }
        self.listing.members.push(Member {
            name: name.to_owned(),
            path: path.to_vec(),
            encrypted,
        });
        Ok(())
    }

    /// Notes damage of the archive at `path`, unless it was read cut.
    fn damaged(&mut self, pending: &Pending<'_>, what: &str) {
        if !pending.cut {
            note(&mut self.listing.error, &pending.path, what);
        }
    }

    fn zip(
        &mut self,
        pending: &Pending<'_>,
        nested: &mut Vec<Pending<'static>>,
    ) -> Result<(), Full> {
        let mut archive = match ZipArchive::new(Cursor::new(&*pending.bytes)) {
            Ok(archive) => archive,
            Err(e) => {
                self.damaged(pending, &e.to_string());
                return Ok(());
            }
        };
        for index in 0..archive.len() {
            let decoded = archive
                .name_for_index(index)
                .and_then(Result::ok)
                .map(|name| name.into_owned());
            let (name, encrypted, is_dir) = match archive.by_index_raw(index) {
                Ok(file) => {
                    let name = decoded.unwrap_or_else(|| {
                        String::from_utf8_lossy(file.name_raw()).into_owned()
                    });
                    (name, file.encrypted(), file.is_dir())
                }
                Err(e) => {
                    self.damaged(pending, &e.to_string());
                    continue;
                }
            };
            self.member(&name, &pending.path, encrypted)?;
            // An encrypted member cannot be looked into.
            if is_dir || encrypted {
                continue;
            }
            let inflated = match archive.by_index(index) {
                Ok(mut file) => self.inflate(&mut file, pending.depth + 1),
                Err(e) => {
                    let mut inner = pending.path.clone();
                    inner.push(name);
                    note(&mut self.listing.error, &inner, &e.to_string());
                    continue;
                }
            };
            self.budget.charge(inflated.inflated);
            self.consider(inflated, pending, name, pending.depth + 1, nested);
        }
        Ok(())
    }

    fn tar(
        &mut self,
        pending: &Pending<'_>,
        nested: &mut Vec<Pending<'static>>,
    ) -> Result<(), Full> {
        let bytes: &[u8] = &pending.bytes;
        let mut archive = tar::Archive::new(Cursor::new(bytes));
        let entries = match archive.entries_with_seek() {
            Ok(entries) => entries,
            Err(e) => {
                self.damaged(pending, &e.to_string());
                return Ok(());
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.damaged(pending, &e.to_string());
                    return Ok(());
                }
            };
            let name = decode_name(&entry.path_bytes());
            self.member(&name, &pending.path, false)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            // The data is in memory already: a slice, nothing inflated.
            let start = usize::try_from(entry.raw_file_position()).ok();
            let size = usize::try_from(entry.size()).ok();
            let end = start.zip(size).and_then(|(s, n)| s.checked_add(n));
            let data = match start.zip(end).and_then(|(s, e)| bytes.get(s..e))
            {
                Some(data) => data,
                // Past the end: the read of the next header says so.
                None => bytes.get(start.unwrap_or(0)..).unwrap_or_default(),
            };
            let mut data = data;
            let inflated = self.inflate(&mut data, pending.depth + 1);
            self.consider(inflated, pending, name, pending.depth + 1, nested);
        }
        Ok(())
    }

    /// A 7z archive: the names from its header, which is decoded
    /// within the budget when it is compressed; then the members of
    /// every folder whose coders are decoded ([`Walk::block`]).
    fn sevenz(
        &mut self,
        pending: &Pending<'_>,
        nested: &mut Vec<Pending<'static>>,
    ) -> Result<(), Full> {
        let room = self.limits.archive_member_size.min(self.budget.left());
        let header = sevenz::read(&pending.bytes, room);
        self.budget.charge(header.inflated);
        if let Some(room) = header.too_large {
            let what = format!(
                "7z header larger than the {room} bytes the limits leave"
            );
            note(&mut self.listing.truncated, &pending.path, &what);
        }
        self.headers(
            pending,
            &header.entries,
            header.encrypted,
            header.damage,
        )?;
        for block in &header.blocks {
            self.block(pending, &header.entries, block, nested);
        }
        Ok(())
    }

    /// The members of one 7z folder, looked into one after another
    /// like zip members. A solid folder is one stream: to reach a
    /// member, those before it are unpacked whole, so it is unpacked
    /// only as far as its last member's first bytes, and not past the
    /// budget.
    fn block(
        &mut self,
        pending: &Pending<'_>,
        entries: &[Entry],
        block: &sevenz::Block,
        nested: &mut Vec<Pending<'static>>,
    ) {
        if block.members.is_empty() {
            return;
        }
        match &block.unpack {
            sevenz::Unpack::Coders(_) => {}
            // Its members are listed as encrypted.
            sevenz::Unpack::Encrypted => return,
            sevenz::Unpack::Unknown(coders) => {
                let what = format!(
                    "{} of its members compressed with {coders}, which qmvc \
                     does not unpack: their contents not looked into",
                    block.members.len()
                );
                note(&mut self.listing.truncated, &pending.path, &what);
                return;
            }
        }
        // What may be unpacked: the budget, overshot by at most one
        // first part a member (see `inflate`), and a margin for what
        // the decoder holds.
        let heads = block
            .members
            .len()
            .saturating_mul(PEEK + 1)
            .saturating_add(64 << 10);
        let want = block.size.min(self.budget.left().saturating_add(heads));
        let mut reader = match sevenz::open(&pending.bytes, block, want) {
            Ok(reader) => reader,
            Err(e) => {
                self.damaged(pending, &e);
                return;
            }
        };
        let depth = pending.depth + 1;
        let mut members = block.members.iter().peekable();
        while let Some(&(index, size)) = members.next() {
            let Some(entry) = entries.get(index) else { return };
            let mut member = (&mut reader).take(size as u64);
            let inflated = self.inflate(&mut member, depth);
            let read = inflated.inflated;
            self.budget.charge(read);
            let failed = matches!(
                inflated.outcome,
                Outcome::Failed(_) | Outcome::Memory
            );
            self.consider(
                inflated,
                pending,
                entry.name.clone(),
                depth,
                nested,
            );
            let Some(&&(next, _)) = members.peek() else { return };
            if failed {
                return; // the stream is broken from here on
            }
            let rest = size.saturating_sub(read);
            if rest > self.budget.left() {
                let next = entries.get(next).map_or("", |e| e.name.as_str());
                let what = format!(
                    "{next} and the members after it not looked into: the \
                     message's budget of {} inflated bytes (archivebytes) \
                     is used up",
                    self.limits.archive_bytes
                );
                note(&mut self.listing.truncated, &pending.path, &what);
                return;
            }
            // The rest of this member, to reach the next.
            let skipped = std::io::copy(&mut member, &mut std::io::sink());
            let skipped = match skipped {
                Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
                Err(e) => {
                    let mut inner = pending.path.clone();
                    inner.push(entry.name.clone());
                    note(&mut self.listing.error, &inner, &e.to_string());
                    return;
                }
            };
            self.budget.charge(skipped);
            if skipped < rest {
                self.damaged(pending, "7z: the packed data is truncated");
                return;
            }
        }
    }

    /// A RAR archive: the names from its block headers; members stored
    /// uncompressed are looked into like zip members (their bytes are
    /// in the archive as they are), compressed ones are not: no RAR
    /// decoder has a licence GPL-2.0 can take.
    fn rar(
        &mut self,
        pending: &Pending<'_>,
        nested: &mut Vec<Pending<'static>>,
    ) -> Result<(), Full> {
        let headers = rar::read(&pending.bytes);
        self.headers(
            pending,
            &headers.entries,
            headers.encrypted,
            headers.damage,
        )?;
        let mut packed = (0usize, None);
        for entry in &headers.entries {
            let range = match &entry.data {
                Data::None => continue,
                Data::Packed(why) => {
                    packed = (packed.0 + 1, packed.1.or(Some(*why)));
                    continue;
                }
                Data::Stored(range) => range.clone(),
            };
            // The reader checked the range; a short one is read short.
            let mut data = pending.bytes.get(range).unwrap_or_default();
            let inflated = self.inflate(&mut data, pending.depth + 1);
            self.budget.charge(inflated.inflated);
            let name = entry.name.clone();
            self.consider(inflated, pending, name, pending.depth + 1, nested);
        }
        if let (count, Some(why)) = packed {
            let what = format!(
                "{count} of its members {why}: their contents not looked \
                 into (qmvc reads only members stored uncompressed)"
            );
            note(&mut self.listing.truncated, &pending.path, &what);
        }
        Ok(())
    }

    /// Records what a header reader found.
    fn headers(
        &mut self,
        pending: &Pending<'_>,
        entries: &[Entry],
        encrypted: bool,
        damage: Option<String>,
    ) -> Result<(), Full> {
        for entry in entries {
            self.member(&entry.name, &pending.path, entry.encrypted)?;
        }
        if encrypted {
            self.member(ENCRYPTED_NAMES, &pending.path, true)?;
        }
        if let Some(what) = damage {
            self.damaged(pending, &what);
        }
        Ok(())
    }

    /// A compression layer: its one member is the decompressed stream,
    /// named by the stream (gzip) or by the archive's name without its
    /// suffix. It is not a level of nesting, unless it holds another
    /// compression layer (which also bounds a gzip quine).
    fn stream(
        &mut self,
        kind: Kind,
        pending: &Pending<'_>,
        nested: &mut Vec<Pending<'static>>,
    ) -> Result<(), Full> {
        let source = Cursor::new(&*pending.bytes);
        let mut reader: Box<dyn Read + '_> = match kind {
            Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(source)),
            Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(source)),
            _ => match liblzma::stream::Stream::new_stream_decoder(
                u64::from(XZ_MEMORY_KB) << 10,
                liblzma::stream::CONCATENATED,
            ) {
                Ok(stream) => Box::new(liblzma::read::XzDecoder::new_stream(
                    source, stream,
                )),
                // Only when liblzma cannot allocate its state.
                Err(e) => {
                    let why = format!("xz decoder: {e}");
                    note(&mut self.listing.truncated, &pending.path, &why);
                    return Ok(());
                }
            },
        };
        // The first bytes: enough to know the kind, and a gzip header is
        // parsed by then.
        let mut head = Vec::new();
        let first = (&mut reader).take(PEEK as u64).read_to_end(&mut head);
        let stored = match kind {
            Kind::Gzip => gzip_name(&pending.bytes),
            _ => None,
        };
        let derived = pending.name.as_deref().and_then(|n| strip(kind, n));
        let listed = stored.or(derived);
        if let Some(name) = &listed {
            self.member(name, &pending.path, false)?;
        }
        let inner_name = listed
            .or_else(|| pending.name.clone())
            .unwrap_or_else(|| format!("({})", kind.name()));
        let depth = match self::kind(&head) {
            Some(inner) if inner.is_stream() => pending.depth + 1,
            _ => pending.depth,
        };
        let inflated = match first {
            Err(e) => Inflated {
                inflated: head.len(),
                data: head,
                outcome: failure(e),
            },
            Ok(_) => self.inflate_rest(&mut reader, head, depth),
        };
        self.budget.charge(inflated.inflated);
        self.consider(inflated, pending, inner_name, depth, nested);
        Ok(())
    }

    /// Reads a member whose nesting depth would be `depth`: its first
    /// bytes, and when they are an archive's, the rest up to the room the
    /// bounds leave (none when it is nested too deep).
    fn inflate(&self, reader: &mut dyn Read, depth: usize) -> Inflated {
        let mut data = Vec::new();
        if let Err(e) = reader.take(PEEK as u64).read_to_end(&mut data) {
            let inflated = data.len();
            return Inflated { data, inflated, outcome: failure(e) };
        }
        self.inflate_rest(reader, data, depth)
    }

    /// [`Walk::inflate`] once the first bytes are in `data`.
    fn inflate_rest(
        &self,
        reader: &mut dyn Read,
        mut data: Vec<u8>,
        depth: usize,
    ) -> Inflated {
        let done = |data: Vec<u8>, outcome| Inflated {
            inflated: data.len(),
            data,
            outcome,
        };
        if kind(&data).is_none() {
            return done(data, Outcome::NotArchive);
        }
        if depth > self.limits.archive_depth {
            return done(data, Outcome::Unread);
        }
        let room = self.limits.archive_member_size.min(self.budget.left());
        // One byte more than allowed tells a member at the bound from one
        // beyond it; `take` stops a bomb there.
        let want = room.saturating_sub(data.len()).saturating_add(1) as u64;
        if let Err(e) = reader.take(want).read_to_end(&mut data) {
            return done(data, failure(e));
        }
        if data.len() > room {
            let inflated = data.len();
            data.truncate(room);
            return Inflated {
                data,
                inflated,
                outcome: Outcome::TooLarge(room),
            };
        }
        done(data, Outcome::Whole)
    }
    /// What to do with a member read by [`Walk::inflate`]: list it when
    /// it is an archive, note a bound or damage.
    fn consider(
        &mut self,
        inflated: Inflated,
        pending: &Pending<'_>,
        name: String,
        depth: usize,
        nested: &mut Vec<Pending<'static>>,
    ) {
        let mut path = pending.path.clone();
        path.push(name.clone());
        let Inflated { data, outcome, .. } = inflated;
        let cut = match outcome {
            Outcome::NotArchive => return,
            Outcome::Whole => pending.cut,
            Outcome::Unread => {
                let what = format!(
                    "nested deeper than {} archives",
                    self.limits.archive_depth
                );
                note(&mut self.listing.truncated, &path, &what);
                return;
            }
            Outcome::TooLarge(room)
                if room < self.limits.archive_member_size =>
            {
                let what = format!(
                    "not opened whole: the message's budget of {} inflated \
                     bytes (archivebytes) is used up",
                    self.limits.archive_bytes
                );
                note(&mut self.listing.truncated, &path, &what);
                true
            }
            Outcome::TooLarge(room) => {
                let what = format!("larger than {room} bytes");
                note(&mut self.listing.truncated, &path, &what);
                true
            }
            Outcome::Memory => {
                let what = format!(
                    "not opened: an xz block needs more than {} MiB to \
                     decompress",
                    XZ_MEMORY_KB >> 10
                );
                note(&mut self.listing.truncated, &path, &what);
                return;
            }
            Outcome::Failed(e) => {
                if !pending.cut {
                    note(&mut self.listing.error, &path, &e);
                }
                true
            }
        };
        // A zip cut short has lost its central directory: nothing more
        // to read from it.
        if cut && kind(&data) == Some(Kind::Zip) {
            return;
        }
        if kind(&data).is_some() {
            let base = name.rsplit(['/', '\\']).next().unwrap_or(&name);
            nested.push(Pending {
                name: Some(base.to_owned()),
                bytes: Cow::Owned(data),
                path,
                depth,
                cut,
            });
        }
    }
}

/// A member read by [`Walk::inflate`].
struct Inflated {
    /// What was read (at most the room).
    data: Vec<u8>,
    /// How many bytes were inflated to read it (for the budget).
    inflated: usize,
    outcome: Outcome,
}

/// How far a member was read.
enum Outcome {
    /// Not an archive: only its first bytes were read.
    NotArchive,
    /// An archive, read whole.
    Whole,
    /// An archive nested too deep, not read.
    Unread,
    /// An archive larger than the room (its first that many bytes read).
    TooLarge(usize),
    /// An xz block that asks for more memory than the reader allows.
    Memory,
    /// Damaged after the bytes read.
    Failed(String),
}

/// How a read that failed ended.
fn failure(e: std::io::Error) -> Outcome {
    let memory = matches!(
        e.get_ref().and_then(|inner| inner.downcast_ref()),
        Some(liblzma::stream::Error::MemLimit)
    );
    if memory {
        Outcome::Memory
    } else {
        Outcome::Failed(e.to_string())
    }
}

/// The original name a gzip header stores (FNAME), read as UTF-8 when
/// it is, else as Latin-1 (as gzip writes it).
fn gzip_name(bytes: &[u8]) -> Option<String> {
    let flags = *bytes.get(3)?;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    if flags & FNAME == 0 {
        return None;
    }
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let len = bytes.get(at..at + 2)?;
        let len =
            usize::from(u16::from_le_bytes([*len.first()?, *len.get(1)?]));
        at = at.checked_add(2 + len)?;
    }
    let rest = bytes.get(at..)?;
    let end = memchr::memchr(0, rest)?;
    let name = rest.get(..end)?;
    (!name.is_empty()).then(|| decode_name(name))
}

/// `name` without the suffix of a `kind` compression layer (`.tgz`
/// becomes `.tar`); `None` when it has none.
fn strip(kind: Kind, name: &str) -> Option<String> {
    let lowered = name.to_ascii_lowercase();
    kind.suffixes().iter().find_map(|(suffix, replacement)| {
        let stem = name.get(..name.len().checked_sub(suffix.len())?)?;
        (lowered.ends_with(suffix) && !stem.is_empty())
            .then(|| format!("{stem}{replacement}"))
    })
}

/// A stored name: UTF-8 when it is valid UTF-8, else Latin-1.
fn decode_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_owned(),
        Err(_) => latin1(raw),
    }
}

/// Latin-1 bytes as text.
fn latin1(raw: &[u8]) -> String {
    raw.iter().map(|&b| char::from(b)).collect()
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
