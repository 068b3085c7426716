/*!
Member names of a 7z archive, read from its header without unpacking a
member (no well-kept 7z crate has a licence GPL-2.0 can take).

A 7z archive is a 32-byte signature header pointing at the "next
header" at its end. That header is either plain (`kHeader`) or encoded
(`kEncodedHeader`): a description of one folder whose unpacked bytes are
the plain header, usually LZMA-compressed. An encoded header is decoded
with liblzma's raw LZMA decoder, at most `room` bytes (the caller's
budget); one whose coder is AES means the names themselves are
encrypted. In the plain header, only what leads to the names and to
which folders use AES is interpreted; everything else is skipped by its
stored length. Every length and count read is checked against the bytes
that are there before anything is reserved or sliced.
*/

use std::io::Read;

use super::Entry;

/// The 7z signature.
pub const MAGIC: &[u8] = b"7z\xbc\xaf\x27\x1c";

/// The coder ids that matter: AES-256 + SHA-256 (7zAES), LZMA, LZMA2.
const AES: &[u8] = &[0x06, 0xf1, 0x07, 0x01];
const LZMA: &[u8] = &[0x03, 0x01, 0x01];
const LZMA2: &[u8] = &[0x21];

// Property ids of the header (7zFormat.txt).
const END: u64 = 0x00;
const HEADER: u64 = 0x01;
const ARCHIVE_PROPERTIES: u64 = 0x02;
const ADDITIONAL_STREAMS: u64 = 0x03;
const MAIN_STREAMS: u64 = 0x04;
const FILES: u64 = 0x05;
const PACK_INFO: u64 = 0x06;
const UNPACK_INFO: u64 = 0x07;
const SUBSTREAMS: u64 = 0x08;
const SIZE: u64 = 0x09;
const CRC: u64 = 0x0a;
const FOLDER: u64 = 0x0b;
const UNPACK_SIZE: u64 = 0x0c;
const NUM_UNPACK_STREAM: u64 = 0x0d;
const EMPTY_STREAM: u64 = 0x0e;
const NAMES: u64 = 0x11;
const ENCODED_HEADER: u64 = 0x17;

/// What the header says.
#[derive(Debug, Default)]
pub struct Header {
    /// The members in order (name, encrypted).
    pub entries: Vec<Entry>,
    /// The header (so the names) is encrypted.
    pub encrypted: bool,
    /// Bytes inflated to decode the header (for the budget).
    pub inflated: usize,
    /// The header is larger than `room`: not read.
    pub too_large: Option<usize>,
    /// Damage met (the entries before it are kept).
    pub damage: Option<String>,
}

type Parsed<T> = Result<T, String>;

/// Reads the header of the 7z archive `bytes`, decoding at most `room`
/// bytes of an encoded header.
pub fn read(bytes: &[u8], room: usize) -> Header {
    let mut header = Header::default();
    if let Err(e) = read_into(bytes, room, &mut header) {
        header.damage = Some(e);
    }
    header
}

fn read_into(bytes: &[u8], room: usize, out: &mut Header) -> Parsed<()> {
    let mut start = Bytes::new(bytes.get(..32).ok_or("7z: truncated")?);
    start.skip(MAGIC.len() + 2 + 4)?;
    let offset = start.u64_le()?;
    let size = start.u64_le()?;
    let next = usize::try_from(offset)
        .ok()
        .and_then(|o| o.checked_add(32))
        .zip(usize::try_from(size).ok())
        .and_then(|(from, size)| bytes.get(from..from.checked_add(size)?))
        .ok_or("7z: the header is past the end (truncated)")?;
    if next.is_empty() {
        return Ok(()); // an empty archive
    }
    let mut at = Bytes::new(next);
    match at.number()? {
        HEADER => plain(&mut at, out),
        ENCODED_HEADER => {
            let streams = streams_info(&mut at)?;
            let folder = streams.folders.first().ok_or("7z: no folder")?;
            if folder.coders.iter().any(|c| c.id == AES) {
                out.encrypted = true;
                return Ok(());
            }
            let packed = streams
                .pack_pos
                .checked_add(32)
                .and_then(|from| bytes.get(from..))
                .ok_or("7z: the packed header is past the end")?;
            let size = folder.unpack_size;
            if size > room {
                out.too_large = Some(room);
                return Ok(());
            }
            let decoded = decode(folder, packed, size)?;
            out.inflated = decoded.len();
            if decoded.len() < size {
                return Err("7z: the packed header is truncated".to_owned());
            }
            let mut at = Bytes::new(&decoded);
            match at.number()? {
                HEADER => plain(&mut at, out),
                _ => Err("7z: the decoded header is no header".to_owned()),
            }
        }
        _ => Err("7z: unknown header type".to_owned()),
    }
}

/// Decodes `size` bytes of a folder of one LZMA or LZMA2 coder.
fn decode(folder: &Folder, packed: &[u8], size: usize) -> Parsed<Vec<u8>> {
    let [coder] = folder.coders.as_slice() else {
        return Err("7z: the header has more than one coder".to_owned());
    };
    // The dictionary never needs to be larger than what is decoded: a
    // smaller one bounds liblzma's allocation to the room.
    let cap = u32::try_from(size.max(4096)).unwrap_or(u32::MAX);
    let mut filters = liblzma::stream::Filters::new();
    let props = coder.props.as_slice();
    if coder.id == LZMA {
        let &[lclppb, d0, d1, d2, d3] = props else {
            return Err("7z: bad LZMA properties".to_owned());
        };
        let (pb, rest) = (lclppb / 45, lclppb % 45);
        let (lp, lc) = (rest / 9, rest % 9);
        let dict = u32::from_le_bytes([d0, d1, d2, d3]).clamp(4096, cap);
        let mut opts = lzma_options()?;
        opts.literal_context_bits(lc.into())
            .literal_position_bits(lp.into())
            .position_bits(pb.into())
            .dict_size(dict);
        filters.lzma1(&opts);
    } else if coder.id == LZMA2 {
        let &[p] = props else {
            return Err("7z: bad LZMA2 properties".to_owned());
        };
        let dict = match p {
            0..=39 => (2u32 | u32::from(p & 1)) << (p / 2 + 11),
            _ => u32::MAX,
        };
        let mut opts = lzma_options()?;
        opts.dict_size(dict.clamp(4096, cap));
        filters.lzma2(&opts);
    } else {
        return Err("7z: the header's coder is not LZMA".to_owned());
    }
    let stream = liblzma::stream::Stream::new_raw_decoder(&filters)
        .map_err(|e| format!("7z: header decoder: {e}"))?;
    let mut reader = liblzma::read::XzDecoder::new_stream(packed, stream);
    let mut out = Vec::new();
    let read = (&mut reader).take(size as u64).read_to_end(&mut out);
    match read {
        Ok(_) => Ok(out),
        Err(_) if out.len() >= size => Ok(out),
        Err(e) => Err(format!("7z: the header does not decode: {e}")),
    }
}

fn lzma_options() -> Parsed<liblzma::stream::LzmaOptions> {
    liblzma::stream::LzmaOptions::new_preset(0)
        .map_err(|e| format!("7z: header decoder: {e}"))
}

/// One coder of a folder.
#[derive(Debug, Default)]
struct Coder {
    id: Vec<u8>,
    props: Vec<u8>,
}

/// One folder: its coders and unpacked size (of its main output).
#[derive(Debug, Default)]
struct Folder {
    coders: Vec<Coder>,
    unpack_size: usize,
    has_crc: bool,
}

/// A streams-info block, as far as it matters.
#[derive(Debug, Default)]
struct Streams {
    pack_pos: usize,
    folders: Vec<Folder>,
    /// Files (unpacked streams) per folder.
    per_folder: Vec<usize>,
}

/// The plain header, after its `kHeader` id.
fn plain(at: &mut Bytes<'_>, out: &mut Header) -> Parsed<()> {
    let mut streams = Streams::default();
    loop {
        match at.number()? {
            END => return Ok(()),
            ARCHIVE_PROPERTIES => loop {
                if at.number()? == END {
                    break;
                }
                let size = at.size()?;
                at.skip(size)?;
            },
            ADDITIONAL_STREAMS => {
                streams_info(at)?;
            }
            MAIN_STREAMS => streams = streams_info(at)?,
            FILES => return files(at, &streams, out),
            _ => return Err("7z: unknown header property".to_owned()),
        }
    }
}

/// A streams-info block (pack info, folders, substreams).
fn streams_info(at: &mut Bytes<'_>) -> Parsed<Streams> {
    let mut streams = Streams::default();
    loop {
        match at.number()? {
            END => break,
            PACK_INFO => {
                streams.pack_pos = at.size()?;
                let count = at.count()?;
                loop {
                    match at.number()? {
                        END => break,
                        SIZE => {
                            for _ in 0..count {
                                at.number()?;
                            }
                        }
                        CRC => digests(at, count)?,
                        _ => return Err("7z: bad pack info".to_owned()),
                    }
                }
            }
            UNPACK_INFO => streams.folders = folders(at)?,
            SUBSTREAMS => streams.per_folder = substreams(at, &streams)?,
            _ => return Err("7z: bad streams info".to_owned()),
        }
    }
    if streams.per_folder.is_empty() {
        streams.per_folder = vec![1; streams.folders.len()];
    }
    Ok(streams)
}

/// The unpack info: the folders, their unpacked sizes and digests.
fn folders(at: &mut Bytes<'_>) -> Parsed<Vec<Folder>> {
    if at.number()? != FOLDER {
        return Err("7z: bad unpack info".to_owned());
    }
    let count = at.count()?;
    if at.byte()? != 0 {
        return Err("7z: external folders are not supported".to_owned());
    }
    let mut folders = Vec::new();
    let mut outputs = Vec::new();
    for _ in 0..count {
        let (folder, outs) = folder(at)?;
        folders.push(folder);
        outputs.push(outs);
    }
    if at.number()? != UNPACK_SIZE {
        return Err("7z: bad unpack info".to_owned());
    }
    for (folder, outs) in folders.iter_mut().zip(&outputs) {
        // The last output is the folder's main one in every coder
        // arrangement 7-Zip writes; it is only used for a header.
        for _ in 0..*outs {
            folder.unpack_size = at.size()?;
        }
    }
    loop {
        match at.number()? {
            END => return Ok(folders),
            CRC => {
                let defined = defined(at, folders.len())?;
                for (folder, &has) in folders.iter_mut().zip(&defined) {
                    folder.has_crc = has;
                }
                for _ in defined.iter().filter(|&&d| d) {
                    at.skip(4)?;
                }
            }
            _ => return Err("7z: bad unpack info".to_owned()),
        }
    }
}

/// One folder: its coders, bind pairs and packed streams. Also returns
/// how many outputs it has.
fn folder(at: &mut Bytes<'_>) -> Parsed<(Folder, usize)> {
    let mut folder = Folder::default();
    let (mut inputs, mut outputs) = (0usize, 0usize);
    for _ in 0..at.count()? {
        let flags = at.byte()?;
        if flags & 0x80 != 0 {
            return Err("7z: alternative coders are not supported".to_owned());
        }
        let id = at.take(usize::from(flags & 0x0f))?.to_vec();
        let (ins, outs) = match flags & 0x10 {
            0 => (1, 1),
            _ => (at.count()?, at.count()?),
        };
        inputs = inputs.checked_add(ins).ok_or("7z: too many streams")?;
        outputs = outputs.checked_add(outs).ok_or("7z: too many streams")?;
        let props = match flags & 0x20 {
            0 => Vec::new(),
            _ => {
                let size = at.size()?;
                at.take(size)?.to_vec()
            }
        };
        folder.coders.push(Coder { id, props });
    }
    let pairs = outputs.checked_sub(1).ok_or("7z: a folder without coders")?;
    for _ in 0..pairs {
        at.number()?;
        at.number()?;
    }
    let packed = inputs.checked_sub(pairs).ok_or("7z: bad bind pairs")?;
    if packed > 1 {
        for _ in 0..packed {
            at.number()?;
        }
    }
    Ok((folder, outputs))
}

/// The substreams info: how many files each folder holds.
fn substreams(at: &mut Bytes<'_>, streams: &Streams) -> Parsed<Vec<usize>> {
    let mut per_folder = vec![1; streams.folders.len()];
    let mut id = at.number()?;
    if id == NUM_UNPACK_STREAM {
        for count in per_folder.iter_mut() {
            *count = at.count()?;
        }
        id = at.number()?;
    }
    if id == SIZE {
        for &count in &per_folder {
            for _ in 1..count {
                at.number()?;
            }
        }
        id = at.number()?;
    }
    if id == CRC {
        let mut count = 0usize;
        for (folder, &n) in streams.folders.iter().zip(&per_folder) {
            if !(n == 1 && folder.has_crc) {
                count = count.checked_add(n).ok_or("7z: too many streams")?;
            }
        }
        digests(at, count)?;
        id = at.number()?;
    }
    match id {
        END => Ok(per_folder),
        _ => Err("7z: bad substreams info".to_owned()),
    }
}

/// The files info: names, and which have no data (and so no folder).
fn files(
    at: &mut Bytes<'_>,
    streams: &Streams,
    out: &mut Header,
) -> Parsed<()> {
    let count = at.count()?;
    let mut empty = vec![false; count];
    let mut names = Vec::new();
    loop {
        let id = at.number()?;
        if id == END {
            break;
        }
        let size = at.size()?;
        let mut data = Bytes::new(at.take(size)?);
        match id {
            EMPTY_STREAM => empty = bits(&mut data, count)?,
            NAMES => {
                if data.byte()? != 0 {
                    return Err("7z: external names are not supported".into());
                }
                names = utf16_names(data.rest());
            }
            _ => {}
        }
    }
    // Files with data take the folders' streams in order.
    let mut encrypted =
        streams.folders.iter().zip(&streams.per_folder).flat_map(
            |(folder, &n)| {
                let aes = folder.coders.iter().any(|c| c.id == AES);
                std::iter::repeat_n(aes, n)
            },
        );
    for (index, name) in names.into_iter().enumerate() {
        let has_data = !empty.get(index).copied().unwrap_or(false);
        let locked = has_data && encrypted.next().unwrap_or(false);
        out.entries.push(Entry { name, encrypted: locked });
    }
    if out.entries.len() < count {
        return Err("7z: fewer names than files".to_owned());
    }
    Ok(())
}

/// NUL-terminated UTF-16LE names.
fn utf16_names(raw: &[u8]) -> Vec<String> {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            &[low, high] => Some(u16::from_le_bytes([low, high])),
            _ => None,
        })
        .collect();
    let mut names: Vec<String> =
        units.split(|&u| u == 0).map(String::from_utf16_lossy).collect();
    // The last terminator leaves an empty piece after it.
    if units.last() == Some(&0) {
        names.pop();
    }
    names
}

/// A digests block for `count` streams.
fn digests(at: &mut Bytes<'_>, count: usize) -> Parsed<()> {
    let defined = defined(at, count)?;
    for _ in defined.iter().filter(|&&d| d) {
        at.skip(4)?;
    }
    Ok(())
}

/// An "all defined" byte, else a bit vector.
fn defined(at: &mut Bytes<'_>, count: usize) -> Parsed<Vec<bool>> {
    match at.byte()? {
        0 => bits(at, count),
        _ => Ok(vec![true; count]),
    }
}

/// `count` bits, most significant first.
fn bits(at: &mut Bytes<'_>, count: usize) -> Parsed<Vec<bool>> {
    let raw = at.take(count.div_ceil(8))?;
    Ok((0..count)
        .map(|i| raw.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0))
        .collect())
}

/// A bounded reader over header bytes.
struct Bytes<'a> {
    rest: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Bytes { rest: bytes }
    }

    fn rest(&self) -> &'a [u8] {
        self.rest
    }

    fn take(&mut self, n: usize) -> Parsed<&'a [u8]> {
        if n > self.rest.len() {
            return Err("7z: the header is truncated".to_owned());
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn skip(&mut self, n: usize) -> Parsed<()> {
        self.take(n).map(|_| ())
    }

    fn byte(&mut self) -> Parsed<u8> {
        let (&b, tail) =
            self.rest.split_first().ok_or("7z: the header is truncated")?;
        self.rest = tail;
        Ok(b)
    }

    fn u64_le(&mut self) -> Parsed<u64> {
        let raw = self.take(8)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(raw);
        Ok(u64::from_le_bytes(le))
    }

    /// 7z's variable-length number: the first byte's leading one bits
    /// say how many little-endian bytes follow.
    fn number(&mut self) -> Parsed<u64> {
        let first = self.byte()?;
        let extra = first.leading_ones() as usize;
        let mut value = 0u64;
        for i in 0..extra.min(8) {
            value |= u64::from(self.byte()?) << (8 * i);
        }
        if extra < 8 {
            let high = u64::from(first) & (0xff >> (extra + 1));
            value |= high << (8 * extra);
        }
        Ok(value)
    }

    /// A size or offset: must fit in memory.
    fn size(&mut self) -> Parsed<usize> {
        usize::try_from(self.number()?)
            .map_err(|_| "7z: size too large".into())
    }

    /// A count of things each at least one byte long: no more than
    /// bytes are left, so that nothing is reserved for a lie.
    fn count(&mut self) -> Parsed<usize> {
        let n = self.size()?;
        if n > self.rest.len() {
            return Err("7z: a count larger than the header".to_owned());
        }
        Ok(n)
    }
}
