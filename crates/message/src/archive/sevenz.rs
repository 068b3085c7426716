/*!
A 7z archive: its header (member names, which members are encrypted,
how their data is packed), and the unpacking of the folders whose coders
liblzma decodes (no well-kept 7z crate has a licence GPL-2.0 can take).

A 7z archive is a 32-byte signature header pointing at the "next
header" at its end. That header is either plain (`kHeader`) or encoded
(`kEncodedHeader`): a description of one folder whose unpacked bytes are
the plain header, usually LZMA-compressed. An encoded header is decoded
with liblzma's raw decoder, at most `room` bytes (the caller's budget);
one whose coder is AES means the names themselves are encrypted. In the
plain header, only what leads to the names and to the members' data is
interpreted; everything else is skipped by its stored length. Every
length and count read is checked against the bytes that are there
before anything is reserved or sliced.

The members' data lie in folders ([`Block`]): each one packed stream
that unpacks to its members one after another, split by the header's
substream sizes. [`open`] unpacks a folder whose coders are copy, LZMA
or LZMA2, optionally behind the x86 branch filter (BCJ, which 7-Zip
puts on executables): 7-Zip's defaults. Other coders (PPMd, BZip2,
Deflate, the ARM and other branch filters, BCJ2) are named in
[`Unpack::Unknown`]; the caller notes that those members were not
looked into.
*/

use std::io::Read;
use std::ops::Range;

use super::{Data, Entry};

/// The 7z signature.
pub const MAGIC: &[u8] = b"7z\xbc\xaf\x27\x1c";

/// The coder ids that matter: copy, AES-256 + SHA-256 (7zAES), LZMA,
/// LZMA2, and the x86 branch filter (BCJ) that 7-Zip puts on
/// executables.
const COPY: &[u8] = &[0x00];
const AES: &[u8] = &[0x06, 0xf1, 0x07, 0x01];
const LZMA: &[u8] = &[0x03, 0x01, 0x01];
const LZMA2: &[u8] = &[0x21];
const BCJ: &[u8] = &[0x03, 0x03, 0x01, 0x03];

/// The names of coders that are not decoded, for the note that says
/// which members were not looked into (7-Zip's `Methods.txt` ids).
const CODER_NAMES: &[(&[u8], &str)] = &[
    (&[0x03], "Delta"),
    (&[0x03, 0x03, 0x01, 0x1b], "BCJ2"),
    (&[0x03, 0x03, 0x02, 0x05], "PPC"),
    (&[0x03, 0x03, 0x04, 0x01], "IA64"),
    (&[0x03, 0x03, 0x05, 0x01], "ARM"),
    (&[0x03, 0x03, 0x07, 0x01], "ARMT"),
    (&[0x03, 0x03, 0x08, 0x05], "SPARC"),
    (&[0x0a], "ARM64"),
    (&[0x0b], "RISCV"),
    (&[0x03, 0x04, 0x01], "PPMd"),
    (&[0x04, 0x01, 0x08], "Deflate"),
    (&[0x04, 0x01, 0x09], "Deflate64"),
    (&[0x04, 0x02, 0x02], "BZip2"),
];

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
    /// The folders that hold the members' data, in order.
    pub blocks: Vec<Block>,
}

/// One folder as the members see it: one stream, unpacked from one
/// packed stream, that holds its members' data one after another (more
/// than one member: a solid folder).
#[derive(Debug)]
pub struct Block {
    /// Whether and how it can be unpacked.
    pub unpack: Unpack,
    /// Where its packed stream lies in the archive (`None`: the sizes
    /// do not add up).
    packed: Option<Range<usize>>,
    /// Its unpacked size.
    pub size: usize,
    /// Its members in order: the index in [`Header::entries`] and the
    /// unpacked size.
    pub members: Vec<(usize, usize)>,
}

/// Whether a folder's coders are ones qmvc decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unpack {
    /// Copy, LZMA or LZMA2, optionally behind the x86 branch filter:
    /// the coders from the folder's output back to its packed stream
    /// (the order liblzma's filter chains take).
    Coders(Vec<Coder>),
    /// AES: the members are marked encrypted.
    Encrypted,
    /// Coders that are not decoded (PPMd, BZip2, ARM filters, ...),
    /// named for the note.
    Unknown(String),
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
            let blocks = blocks(&streams);
            let block = blocks.first().ok_or("7z: no folder")?;
            let size = block.size;
            match &block.unpack {
                Unpack::Encrypted => {
                    out.encrypted = true;
                    return Ok(());
                }
                Unpack::Unknown(coders) => {
                    return Err(format!("7z: the header's coder {coders}"));
                }
                Unpack::Coders(_) if size > room => {
                    out.too_large = Some(room);
                    return Ok(());
                }
                Unpack::Coders(_) => {}
            }
            let mut decoded = Vec::new();
            let read = open(bytes, block, size).and_then(|reader| {
                reader.take(size as u64).read_to_end(&mut decoded).map_err(
                    |e| format!("7z: the header does not decode: {e}"),
                )
            });
            out.inflated = decoded.len();
            match read {
                Err(e) if decoded.len() < size => return Err(e),
                _ if decoded.len() < size => {
                    return Err("7z: the packed header is truncated".into())
                }
                _ => {}
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

/// A reader of the unpacked stream of `block` (of the archive `bytes`)
/// that will be asked for at most `want` bytes: a smaller dictionary
/// than the archive asks for then does, and bounds liblzma's allocation
/// to what is read.
pub fn open<'a>(
    bytes: &'a [u8],
    block: &Block,
    want: usize,
) -> Parsed<Box<dyn Read + 'a>> {
    let Unpack::Coders(coders) = &block.unpack else {
        return Err("7z: the folder's coders are not decoded".to_owned());
    };
    let packed = block
        .packed
        .clone()
        .and_then(|range| bytes.get(range))
        .ok_or("7z: the packed data is past the end (truncated)")?;
    let Some((last, filters)) = coders.split_last() else {
        return Err("7z: a folder without coders".to_owned());
    };
    if last.id == COPY && filters.is_empty() {
        return Ok(Box::new(packed));
    }
    let cap = u32::try_from(want.max(4096)).unwrap_or(u32::MAX);
    let mut chain = liblzma::stream::Filters::new();
    // liblzma's raw LZMA decoder never sees the end of a stream without
    // an end marker, so a filter behind it would keep the last bytes:
    // LZMA is decoded alone, and its output is handed to the filters
    // as the stored chunks of an LZMA2 stream, whose end they see.
    let behind_lzma = last.id == LZMA && !filters.is_empty();
    if !behind_lzma {
        branch_filters(&mut chain, filters)?;
    }
    let props = last.props.as_slice();
    if last.id == LZMA {
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
        chain.lzma1(&opts);
    } else if last.id == LZMA2 {
        let &[p] = props else {
            return Err("7z: bad LZMA2 properties".to_owned());
        };
        let dict = match p {
            0..=39 => (2u32 | u32::from(p & 1)) << (p / 2 + 11),
            _ => u32::MAX,
        };
        let mut opts = lzma_options()?;
        opts.dict_size(dict.clamp(4096, cap));
        chain.lzma2(&opts);
    } else {
        return Err("7z: the last coder is not LZMA".to_owned());
    }
    let stream = liblzma::stream::Stream::new_raw_decoder(&chain)
        .map_err(|e| format!("7z: decoder: {e}"))?;
    let decoded = liblzma::read::XzDecoder::new_stream(packed, stream);
    if !behind_lzma {
        return Ok(Box::new(decoded));
    }
    let mut chain = liblzma::stream::Filters::new();
    branch_filters(&mut chain, filters)?;
    // Stored chunks only: the dictionary is never read.
    chain.lzma2(lzma_options()?.dict_size(4096));
    let stream = liblzma::stream::Stream::new_raw_decoder(&chain)
        .map_err(|e| format!("7z: decoder: {e}"))?;
    let framed = Stored {
        inner: decoded,
        left: block.size,
        chunk: Vec::new(),
        at: 0,
        first: true,
        ended: false,
    };
    Ok(Box::new(liblzma::read::XzDecoder::new_stream(framed, stream)))
}

/// Adds the branch filters `filters` (BCJ only) to `chain`.
fn branch_filters(
    chain: &mut liblzma::stream::Filters,
    filters: &[Coder],
) -> Parsed<()> {
    for filter in filters {
        if filter.id != BCJ {
            return Err("7z: a filter other than BCJ".to_owned());
        }
        match filter.props.as_slice() {
            [] => chain.x86(),
            // A start offset, in liblzma's form too.
            props => chain
                .x86_properties(props)
                .map_err(|e| format!("7z: bad BCJ properties: {e}"))?,
        };
    }
    Ok(())
}

/// The `left` bytes of `inner` as an LZMA2 stream of stored chunks
/// (control byte 1 for the first, which resets the dictionary, 2 for
/// the others; then the size less one, big-endian), ended by a 0 byte.
struct Stored<R> {
    inner: R,
    left: usize,
    chunk: Vec<u8>,
    at: usize,
    first: bool,
    ended: bool,
}

/// The most data an LZMA2 chunk holds.
const CHUNK: usize = 1 << 16;

impl<R: Read> Read for Stored<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.chunk.len() {
            if self.ended {
                return Ok(0);
            }
            self.chunk.clear();
            self.at = 0;
            let want = self.left.min(CHUNK);
            let mut data = Vec::with_capacity(want);
            (&mut self.inner).take(want as u64).read_to_end(&mut data)?;
            match data.len().checked_sub(1) {
                // The end; or, short (damage), the end of what there was.
                None => {
                    self.ended = true;
                    self.chunk.push(0);
                }
                Some(less) => {
                    self.left = self.left.saturating_sub(data.len());
                    let control = if self.first { 1 } else { 2 };
                    self.first = false;
                    let [.., high, low] = less.to_be_bytes();
                    self.chunk.extend([control, high, low]);
                    self.chunk.extend(data);
                }
            }
        }
        let rest = self.chunk.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) else {
            return Ok(0);
        };
        to.copy_from_slice(from);
        self.at += n;
        Ok(n)
    }
}

fn lzma_options() -> Parsed<liblzma::stream::LzmaOptions> {
    liblzma::stream::LzmaOptions::new_preset(0)
        .map_err(|e| format!("7z: decoder: {e}"))
}

/// One coder of a folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coder {
    id: Vec<u8>,
    props: Vec<u8>,
    /// Its input and output streams.
    ins: usize,
    outs: usize,
}

impl Coder {
    /// The coder's name in 7-Zip's terms, for notes.
    fn name(&self) -> String {
        let known = [(COPY, "Copy"), (LZMA, "LZMA"), (LZMA2, "LZMA2")];
        let known = known.iter().chain([(BCJ, "BCJ"), (AES, "AES")].iter());
        match known.chain(CODER_NAMES).find(|(id, _)| *id == self.id) {
            Some((_, name)) => (*name).to_owned(),
            None => {
                let hex: Vec<String> =
                    self.id.iter().map(|b| format!("{b:02x}")).collect();
                format!("coder {}", hex.concat())
            }
        }
    }
}

/// One folder: its coders, how they are bound, and the unpacked sizes
/// of their outputs.
#[derive(Debug, Default)]
struct Folder {
    coders: Vec<Coder>,
    /// Bind pairs: (input index, output index) over all coders.
    binds: Vec<(usize, usize)>,
    /// The inputs fed by packed streams, in the packed streams' order.
    packed: Vec<usize>,
    /// The unpacked size of every output.
    sizes: Vec<usize>,
    has_crc: bool,
}

impl Folder {
    /// The output that no coder reads: the folder's unpacked stream.
    fn main_output(&self) -> Option<usize> {
        (0..self.sizes.len())
            .find(|out| !self.binds.iter().any(|&(_, o)| o == *out))
    }

    /// The folder's unpacked size.
    fn size(&self) -> usize {
        self.main_output()
            .and_then(|out| self.sizes.get(out))
            .copied()
            .unwrap_or(0)
    }

    /// Whether qmvc decodes this folder: a chain of single-stream
    /// coders from the main output back to the one packed stream,
    /// whose last is copy, LZMA or LZMA2 and whose others are BCJ.
    fn unpack(&self) -> Unpack {
        if self.coders.iter().any(|c| c.id == AES) {
            return Unpack::Encrypted;
        }
        let names = || {
            let names: Vec<String> =
                self.coders.iter().map(Coder::name).collect();
            Unpack::Unknown(names.join(" "))
        };
        // With single-stream coders only, coder `i` owns input `i` and
        // output `i`.
        if self.coders.iter().any(|c| c.ins != 1 || c.outs != 1) {
            return names();
        }
        let Some(mut index) = self.main_output() else { return names() };
        let mut chain = Vec::new();
        loop {
            if chain.len() >= self.coders.len() {
                return names(); // bound in a circle
            }
            let Some(coder) = self.coders.get(index) else { return names() };
            chain.push(coder.clone());
            match self.binds.iter().find(|&&(input, _)| input == index) {
                Some(&(_, output)) => index = output,
                None if self.packed == [index] => break,
                None => return names(),
            }
        }
        if chain.len() != self.coders.len() {
            return names();
        }
        let decodable = match chain.split_last() {
            Some((last, [])) => [COPY, LZMA, LZMA2].contains(&&*last.id),
            Some((last, filters)) => {
                [LZMA, LZMA2].contains(&&*last.id)
                    && filters.iter().all(|f| f.id == BCJ)
            }
            None => false,
        };
        match decodable {
            true => Unpack::Coders(chain),
            false => names(),
        }
    }
}

/// A streams-info block, as far as it matters.
#[derive(Debug, Default)]
struct Streams {
    pack_pos: usize,
    /// The sizes of the packed streams.
    pack_sizes: Vec<usize>,
    folders: Vec<Folder>,
    /// The unpacked sizes of the files (substreams) of each folder.
    per_folder: Vec<Vec<usize>>,
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
    let mut substreams_read = false;
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
                            streams.pack_sizes = (0..count)
                                .map(|_| at.size())
                                .collect::<Parsed<_>>()?;
                        }
                        CRC => digests(at, count)?,
                        _ => return Err("7z: bad pack info".to_owned()),
                    }
                }
            }
            UNPACK_INFO => streams.folders = folders(at)?,
            SUBSTREAMS => {
                streams.per_folder = substreams(at, &streams)?;
                substreams_read = true;
            }
            _ => return Err("7z: bad streams info".to_owned()),
        }
    }
    if !substreams_read {
        // One file per folder, the folder's whole stream.
        streams.per_folder =
            streams.folders.iter().map(|f| vec![f.size()]).collect();
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
        folder.sizes = (0..*outs).map(|_| at.size()).collect::<Parsed<_>>()?;
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
        folder.coders.push(Coder { id, props, ins, outs });
    }
    let pairs = outputs.checked_sub(1).ok_or("7z: a folder without coders")?;
    for _ in 0..pairs {
        folder.binds.push((at.size()?, at.size()?));
    }
    let packed = inputs.checked_sub(pairs).ok_or("7z: bad bind pairs")?;
    if packed > 1 {
        for _ in 0..packed {
            folder.packed.push(at.size()?);
        }
    } else {
        // The one input no bind pair feeds.
        folder.packed = (0..inputs)
            .filter(|input| !folder.binds.iter().any(|&(i, _)| i == *input))
            .take(1)
            .collect();
    }
    Ok((folder, outputs))
}

/// The substreams info: the sizes of the files each folder holds.
fn substreams(
    at: &mut Bytes<'_>,
    streams: &Streams,
) -> Parsed<Vec<Vec<usize>>> {
    let mut counts = vec![1; streams.folders.len()];
    let mut id = at.number()?;
    if id == NUM_UNPACK_STREAM {
        for count in counts.iter_mut() {
            *count = at.count()?;
        }
        id = at.number()?;
    }
    let mut per_folder = Vec::new();
    let with_sizes = id == SIZE;
    for (folder, &count) in streams.folders.iter().zip(&counts) {
        let mut sizes = Vec::new();
        let mut sum = 0usize;
        // The sizes of all but the last; the last is what remains.
        for _ in 1..count {
            if !with_sizes {
                return Err("7z: substream sizes missing".to_owned());
            }
            let size = at.size()?;
            sum = sum.checked_add(size).ok_or("7z: size too large")?;
            sizes.push(size);
        }
        if count > 0 {
            let last = folder.size().checked_sub(sum);
            sizes.push(last.ok_or("7z: files larger than their folder")?);
        }
        per_folder.push(sizes);
    }
    if with_sizes {
        id = at.number()?;
    }
    if id == CRC {
        let mut count = 0usize;
        for (folder, &n) in streams.folders.iter().zip(&counts) {
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

/// The folders of `streams` as [`Block`]s, without their members.
fn blocks(streams: &Streams) -> Vec<Block> {
    let mut blocks = Vec::new();
    // Each folder takes the next packed streams, in order.
    let mut stream = 0usize;
    let mut offset = streams.pack_pos.checked_add(32);
    for folder in &streams.folders {
        let size = streams.pack_sizes.get(stream).copied();
        let start = offset;
        for _ in 0..folder.packed.len() {
            let size = streams.pack_sizes.get(stream).copied().unwrap_or(0);
            offset = offset.and_then(|o| o.checked_add(size));
            stream = stream.saturating_add(1);
        }
        let packed = start
            .zip(size)
            .and_then(|(start, size)| Some(start..start.checked_add(size)?));
        blocks.push(Block {
            unpack: folder.unpack(),
            packed,
            size: folder.size(),
            members: Vec::new(),
        });
    }
    blocks
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
    let mut blocks = blocks(streams);
    // Files with data take the folders' streams in order.
    let mut streams = streams
        .per_folder
        .iter()
        .enumerate()
        .flat_map(|(f, sizes)| sizes.iter().map(move |&size| (f, size)));
    for (index, name) in names.into_iter().enumerate() {
        let has_data = !empty.get(index).copied().unwrap_or(false);
        let stream = if has_data { streams.next() } else { None };
        let block =
            stream.and_then(|(f, size)| Some((blocks.get_mut(f)?, size)));
        let mut encrypted = false;
        if let Some((block, size)) = block {
            encrypted = block.unpack == Unpack::Encrypted;
            block.members.push((out.entries.len(), size));
        }
        out.entries.push(Entry { name, encrypted, data: Data::None });
    }
    out.blocks = blocks;
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
