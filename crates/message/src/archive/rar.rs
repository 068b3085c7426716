/*!
Member names of a RAR archive (versions 4 and 5), read from the block
headers alone: no crate lists them under a licence GPL-2.0 can take, and
the names need no unpacking. Every length read from the file is checked
against the bytes that are there; a block that points past the end is
damage, and the names before it are kept.

Layouts from the published RAR technical notes (RAR 4: `technote.txt`
of RAR 3.x/4.x; RAR 5: "RAR 5.0 archive format").
*/

use super::{Data, Entry};

/// The RAR 4 signature (`Rar!` 1A 07 00).
pub const MAGIC4: &[u8] = b"Rar!\x1a\x07\x00";
/// The RAR 5 signature (`Rar!` 1A 07 01 00).
pub const MAGIC5: &[u8] = b"Rar!\x1a\x07\x01\x00";

/// What the headers say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// The members in order (directories included).
    pub entries: Vec<Entry>,
    /// The headers (so the names) are encrypted.
    pub encrypted: bool,
    /// Damage met (the entries before it are kept).
    pub damage: Option<String>,
}

/// Reads the block headers of the RAR archive `bytes`.
pub fn read(bytes: &[u8]) -> Headers {
    let mut out = Headers::default();
    let done = if let Some(rest) = bytes.strip_prefix(MAGIC5) {
        read5(rest, &mut out)
    } else if let Some(rest) = bytes.strip_prefix(MAGIC4) {
        read4(rest, &mut out)
    } else {
        Err("rar: no signature")
    };
    if let Err(e) = done {
        out.damage = Some(e.to_owned());
    }
    out
}

// RAR 4 block types and flags.
const MAIN4: u8 = 0x73;
const FILE4: u8 = 0x74;
const END4: u8 = 0x7b;
/// Main header: the block headers are encrypted.
const MAIN4_PASSWORD: u16 = 0x0080;
/// File header: the data continues from the previous volume, in the
/// next volume.
const FILE4_SPLIT: u16 = 0x0001 | 0x0002;
/// File header: the file is encrypted.
const FILE4_PASSWORD: u16 = 0x0004;
/// File header: the dictionary bits all set mean a directory.
const FILE4_DIRECTORY: u16 = 0x00e0;
/// The RAR 4 method "store".
const STORE4: u8 = 0x30;
/// File header: 64-bit sizes follow the attributes.
const FILE4_LARGE: u16 = 0x0100;
/// File header: the name holds a Unicode form after a NUL.
const FILE4_UNICODE: u16 = 0x0200;
/// Any block: a 32-bit data size follows the header size.
const LONG_BLOCK: u16 = 0x8000;

fn read4(bytes: &[u8], out: &mut Headers) -> Result<(), &'static str> {
    let mut at = 0usize;
    while at < bytes.len() {
        let block = bytes.get(at..).ok_or("rar: truncated")?;
        let mut head = Reader::new(block);
        head.skip(2)?; // header CRC
        let kind = head.byte()?;
        let flags = head.u16()?;
        let size = usize::from(head.u16()?);
        if size < 7 {
            return Err("rar: a block header is too short");
        }
        let header = block.get(..size).ok_or("rar: a block is truncated")?;
        let mut data = match flags & LONG_BLOCK {
            0 => 0u64,
            _ => u64::from(head.u32()?),
        };
        match kind {
            MAIN4 if flags & MAIN4_PASSWORD != 0 => {
                out.encrypted = true;
                return Ok(());
            }
            FILE4 => {
                let mut file =
                    Reader::new(header.get(7..).unwrap_or_default());
                data = u64::from(file.u32()?);
                file.skip(4 + 1 + 4 + 4 + 1)?; // size, OS, CRC, time, version
                let method = file.byte()?;
                let name_size = usize::from(file.u16()?);
                file.skip(4)?; // attributes
                if flags & FILE4_LARGE != 0 {
                    data |= u64::from(file.u32()?) << 32;
                    file.skip(4)?;
                }
                let raw = file.take(name_size)?;
                let name = match flags & FILE4_UNICODE {
                    0 => super::decode_name(raw),
                    _ => unicode4(raw),
                };
                // RAR 4 divides paths with backslashes, whatever system
                // made the archive (as unrar reads them); patterns and
                // reports use the slash, as for every other format.
                let name = name.replace('\\', "/");
                let encrypted = flags & FILE4_PASSWORD != 0;
                let data = content(
                    encrypted
                        || flags & FILE4_DIRECTORY == FILE4_DIRECTORY
                        || data == 0,
                    flags & FILE4_SPLIT != 0,
                    method == STORE4,
                    MAGIC4
                        .len()
                        .checked_add(at)
                        .and_then(|a| a.checked_add(size)),
                    data,
                );
                out.entries.push(Entry { name, encrypted, data });
            }
            END4 => return Ok(()),
            _ => {}
        }
        let data = usize::try_from(data).map_err(|_| "rar: size too large")?;
        at = at
            .checked_add(size)
            .and_then(|a| a.checked_add(data))
            .ok_or("rar: size too large")?;
        if at > bytes.len() {
            return Err("rar: a block is truncated");
        }
    }
    Err("rar: no end of archive (truncated)")
}

/// A RAR 4 Unicode name: the plain name, a NUL, then the Unicode form
/// packed against it (each run says whether its characters take their
/// high byte from a common one, from the plain name, or store it).
fn unicode4(raw: &[u8]) -> String {
    let Some(nul) = raw.iter().position(|&b| b == 0) else {
        // No packed form: the name is UTF-8.
        return super::decode_name(raw);
    };
    let (plain, packed) = raw.split_at(nul);
    let packed = packed.get(1..).unwrap_or_default();
    let mut name: Vec<u16> = Vec::new();
    let mut input = packed.iter().copied();
    let Some(high) = input.next() else {
        return super::decode_name(plain);
    };
    let high = u16::from(high);
    let mut flags = 0u8;
    let mut flag_bits = 0u32;
    // Every pass reads a byte or ends; the cap bounds a run of repeats.
    while name.len() < NAME_MAX {
        if flag_bits == 0 {
            let Some(f) = input.next() else { break };
            flags = f;
            flag_bits = 8;
        }
        flag_bits -= 2;
        let mut next = || input.next().map(u16::from);
        match (flags >> flag_bits) & 3 {
            0 => match next() {
                Some(low) => name.push(low),
                None => break,
            },
            1 => match next() {
                Some(low) => name.push(low | (high << 8)),
                None => break,
            },
            2 => match (next(), next()) {
                (Some(low), Some(hi)) => name.push(low | (hi << 8)),
                _ => break,
            },
            _ => {
                let Some(len) = next() else { break };
                let count = (len & 0x7f) + 2;
                let correction = match len & 0x80 {
                    0 => None,
                    _ => match next() {
                        Some(c) => Some(c),
                        None => break,
                    },
                };
                for _ in 0..count {
                    let Some(&b) = plain.get(name.len()) else { break };
                    let unit = match correction {
                        Some(c) => {
                            (u16::from(b).wrapping_add(c) & 0xff) | (high << 8)
                        }
                        None => u16::from(b),
                    };
                    name.push(unit);
                }
            }
        }
    }
    String::from_utf16_lossy(&name)
}

/// The longest RAR 4 Unicode name decoded (UTF-16 units).
const NAME_MAX: usize = 4096;

// RAR 5 header types, flags and records.
const FILE5: u64 = 2;
const SERVICE5: u64 = 3;
const CRYPT5: u64 = 4;
const END5: u64 = 5;
/// Header flags: an extra area, a data area follow.
const HAS_EXTRA: u64 = 0x01;
const HAS_DATA: u64 = 0x02;
/// Header flags: the data continues from the previous volume, in the
/// next volume.
const SPLIT5: u64 = 0x08 | 0x10;
/// File flags: a directory.
const FILE5_DIRECTORY: u64 = 0x01;
/// File flags: the time, the CRC are stored.
const FILE5_TIME: u64 = 0x02;
const FILE5_CRC: u64 = 0x04;
/// The file encryption record of the extra area.
const RECORD_CRYPT: u64 = 0x01;

fn read5(bytes: &[u8], out: &mut Headers) -> Result<(), &'static str> {
    let mut at = 0usize;
    while at < bytes.len() {
        let block = bytes.get(at..).ok_or("rar: truncated")?;
        let mut head = Reader::new(block);
        head.skip(4)?; // header CRC
        let size = head.size()?;
        let lead = block.len() - head.rest.len();
        let header = head.take(size)?;
        let mut fields = Reader::new(header);
        let kind = fields.number()?;
        let flags = fields.number()?;
        let extra = match flags & HAS_EXTRA {
            0 => 0,
            _ => fields.size()?,
        };
        let data = match flags & HAS_DATA {
            0 => 0,
            _ => fields.size()?,
        };
        match kind {
            CRYPT5 => {
                out.encrypted = true;
                return Ok(());
            }
            FILE5 | SERVICE5 => {
                let body = fields.rest;
                let cut =
                    body.len().checked_sub(extra).ok_or("rar: bad extra")?;
                let (body, extra) = body.split_at(cut);
                let mut file = Reader::new(body);
                let file_flags = file.number()?;
                file.number()?; // unpacked size
                file.number()?; // attributes
                if file_flags & FILE5_TIME != 0 {
                    file.skip(4)?;
                }
                if file_flags & FILE5_CRC != 0 {
                    file.skip(4)?;
                }
                // Bits 7 to 9 of the compression information: the
                // method, 0 for "store".
                let stored = (file.number()? >> 7) & 7 == 0;
                file.number()?; // host OS
                let len = file.size()?;
                let name = super::decode_name(file.take(len)?);
                // Service headers (comments, streams) name no member.
                if kind == FILE5 {
                    let encrypted = has_record(extra, RECORD_CRYPT)?;
                    let data = content(
                        encrypted
                            || file_flags & FILE5_DIRECTORY != 0
                            || data == 0,
                        flags & SPLIT5 != 0,
                        stored,
                        MAGIC5
                            .len()
                            .checked_add(at)
                            .and_then(|a| a.checked_add(lead))
                            .and_then(|a| a.checked_add(size)),
                        data as u64,
                    );
                    out.entries.push(Entry { name, encrypted, data });
                }
            }
            END5 => return Ok(()),
            _ => {}
        }
        at = lead
            .checked_add(size)
            .and_then(|s| s.checked_add(data))
            .and_then(|s| s.checked_add(at))
            .ok_or("rar: size too large")?;
        if at > bytes.len() {
            return Err("rar: a block is truncated");
        }
    }
    Err("rar: no end of archive (truncated)")
}

/// Where a member's bytes are: none to look into (`nothing`: encrypted,
/// a directory, empty), part of them only (`split` across volumes), as
/// they are at `start` of the archive and `size` long (`stored`), or
/// compressed.
fn content(
    nothing: bool,
    split: bool,
    stored: bool,
    start: Option<usize>,
    size: u64,
) -> Data {
    let range = start
        .zip(usize::try_from(size).ok())
        .and_then(|(start, size)| Some(start..start.checked_add(size)?));
    match (nothing, split, stored, range) {
        (true, _, _, _) => Data::None,
        (false, true, _, _) => Data::Packed("split across volumes"),
        (false, false, true, Some(range)) => Data::Stored(range),
        // A range that does not fit is damage the walk notes anyway.
        (false, false, true, None) => Data::None,
        (false, false, false, _) => Data::Packed("compressed"),
    }
}

/// Whether the extra area holds a record of type `wanted`.
fn has_record(extra: &[u8], wanted: u64) -> Result<bool, &'static str> {
    let mut records = Reader::new(extra);
    while !records.rest.is_empty() {
        let size = records.size()?;
        let mut record = Reader::new(records.take(size)?);
        if record.number()? == wanted {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A bounded reader over header bytes.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.rest.len() {
            return Err("rar: a header is truncated");
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn skip(&mut self, n: usize) -> Result<(), &'static str> {
        self.take(n).map(|_| ())
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        let (&b, tail) =
            self.rest.split_first().ok_or("rar: a header is truncated")?;
        self.rest = tail;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        let low = u32::from(self.u16()?);
        let high = u32::from(self.u16()?);
        Ok(low | high << 16)
    }

    /// RAR 5's vint: 7 bits a byte, low first, the high bit says more
    /// follow; at most 10 bytes.
    fn number(&mut self) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("rar: a number is too long")
    }

    fn size(&mut self) -> Result<usize, &'static str> {
        usize::try_from(self.number()?).map_err(|_| "rar: size too large")
    }
}

#[cfg(test)]
mod tests {
    //! The archives are built here field by field from the published
    //! layouts (RAR 4 technote, RAR 5.0 format description), not copied
    //! from samples; CRCs are left zero (the reader does not check them).

    use super::*;

    /// A RAR 4 block: CRC, type, flags, size, then `fields`.
    fn block4(kind: u8, flags: u16, fields: &[u8]) -> Vec<u8> {
        let size = u16::try_from(7 + fields.len()).unwrap();
        let mut out = vec![0, 0, kind];
        out.extend(flags.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(fields);
        out
    }

    /// A RAR 4 file block and `data` packed bytes after it.
    fn file4(name: &[u8], flags: u16, data: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(u32::try_from(data.len()).unwrap().to_le_bytes()); // packed
        f.extend(u32::try_from(data.len()).unwrap().to_le_bytes()); // unpacked
        f.push(3); // Unix
        f.extend([0; 4]); // CRC
        f.extend([0; 4]); // time
        f.extend([29, 0x30]); // version 2.9, stored
        f.extend(u16::try_from(name.len()).unwrap().to_le_bytes());
        f.extend([0; 4]); // attributes
        f.extend(name);
        let mut out = block4(FILE4, flags | LONG_BLOCK, &f);
        out.extend(data);
        out
    }

    fn rar4(main_flags: u16, files: &[Vec<u8>]) -> Vec<u8> {
        let mut out = MAGIC4.to_vec();
        out.extend(block4(MAIN4, main_flags, &[0; 6]));
        for file in files {
            out.extend(file);
        }
        out.extend(block4(END4, 0, &[]));
        out
    }

    fn vint(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(low);
                return out;
            }
            out.push(low | 0x80);
        }
    }

    /// A RAR 5 block: CRC, header size, then type, flags, the extra
    /// and data sizes when there are any, `fields`, the extra area, and
    /// the data.
    fn block5(kind: u64, fields: &[u8], extra: &[u8], data: &[u8]) -> Vec<u8> {
        let mut flags = 0;
        let mut sizes = Vec::new();
        if !extra.is_empty() {
            flags |= HAS_EXTRA;
            sizes.extend(vint(extra.len() as u64));
        }
        if !data.is_empty() {
            flags |= HAS_DATA;
            sizes.extend(vint(data.len() as u64));
        }
        let mut header = vint(kind);
        header.extend(vint(flags));
        header.extend(sizes);
        header.extend(fields);
        header.extend(extra);
        let mut out = vec![0; 4];
        out.extend(vint(header.len() as u64));
        out.extend(header);
        out.extend(data);
        out
    }

    fn file5(name: &str, encrypted: bool, data: &[u8]) -> Vec<u8> {
        let mut f = vint(0); // file flags
        f.extend(vint(data.len() as u64));
        f.extend(vint(0o644)); // attributes
        f.extend(vint(0)); // compression: stored
        f.extend(vint(1)); // Unix
        f.extend(vint(name.len() as u64));
        f.extend(name.as_bytes());
        let extra = match encrypted {
            // Size 2: type 1 (encryption), version 0 (the rest is cut).
            true => vec![2, RECORD_CRYPT as u8, 0],
            false => Vec::new(),
        };
        block5(FILE5, &f, &extra, data)
    }

    fn rar5(blocks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = MAGIC5.to_vec();
        out.extend(block5(1, &vint(0), &[], &[])); // main, no flags
        for block in blocks {
            out.extend(block);
        }
        out.extend(block5(END5, &vint(0), &[], &[]));
        out
    }

    fn names(headers: &Headers) -> Vec<(&str, bool)> {
        headers
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.encrypted))
            .collect()
    }

    /// Real archives made by the rar program (tests/data/rar/README):
    /// every name (RAR 4's backslashes as slashes, its Unicode form
    /// beyond the Basic Multilingual Plane), the encryption, no damage.
    #[test]
    fn real_archives() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/rar");
        let subdirs = [
            "sub/dir2/file2.txt",
            "sub/with space/long fn.txt",
            "sub/üȵĩöḋè/file.txt",
            "sub/dir1/file1.txt",
            "sub/dir2",
            "sub/with space",
            "sub/empty",
            "sub/üȵĩöḋè",
            "sub/dir1",
            "sub",
        ];
        let expected: [(&str, &[&str], bool, bool); 9] = [
            ("rar3-subdirs.rar", &subdirs, false, false),
            ("rar5-subdirs.rar", &subdirs, false, false),
            ("unicode.rar", &["уииоотивл.txt", "𝐀𝐁𝐁𝐂.txt"], false, false),
            (
                "rar3-comment-plain.rar",
                &["file1.txt", "file2.txt"],
                false,
                false,
            ),
            ("rar3-comment-psw.rar", &["file1.txt", "file2.txt"], true, false),
            ("rar3-comment-hpsw.rar", &[], false, true),
            ("rar5-crc.rar", &["stest1.txt", "stest2.txt"], false, false),
            ("rar5-psw.rar", &["stest1.txt", "stest2.txt"], true, false),
            ("rar5-hpsw.rar", &[], false, true),
        ];
        for (file, members, members_encrypted, headers_encrypted) in expected {
            let path = format!("{dir}/{file}");
            let bytes =
                std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let headers = read(&bytes);
            let want: Vec<_> =
                members.iter().map(|m| (*m, members_encrypted)).collect();
            assert_eq!(names(&headers), want, "{file}");
            assert_eq!(headers.encrypted, headers_encrypted, "{file}");
            assert_eq!(headers.damage, None, "{file}");
        }
    }

    #[test]
    fn rar4_names_and_encryption() {
        let archive = rar4(
            0,
            &[
                file4(b"docs/readme.txt", 0, b"hello"),
                file4(b"bin/setup.exe", FILE4_PASSWORD, b"xyz"),
            ],
        );
        let read = read(&archive);
        assert_eq!(read.damage, None);
        assert!(!read.encrypted);
        assert_eq!(
            names(&read),
            [("docs/readme.txt", false), ("bin/setup.exe", true)]
        );
        let locked = rar4(MAIN4_PASSWORD, &[]);
        assert!(super::read(&locked).encrypted);
    }

    #[test]
    fn rar4_unicode_names() {
        // "a\u{202e}b": plain "a?b", then high byte 0x20, flags 00 10 00
        // (a low byte, a stored pair, a low byte), and the bytes.
        let mut name = b"a?b\0".to_vec();
        name.extend([0x20, 0b0010_0000, b'a', 0x2e, 0x20, b'b']);
        let archive = rar4(0, &[file4(&name, FILE4_UNICODE, b"")]);
        assert_eq!(names(&read(&archive)), [("a\u{202e}b", false)]);
    }

    #[test]
    fn rar5_names_and_encryption() {
        let archive = rar5(&[
            file5("docs/readme.txt", false, b"hello"),
            file5("bin/setup.exe", true, b"xyz"),
        ]);
        let read = read(&archive);
        assert_eq!(read.damage, None);
        assert_eq!(
            names(&read),
            [("docs/readme.txt", false), ("bin/setup.exe", true)]
        );
        let locked = rar5(&[block5(CRYPT5, &[0; 4], &[], &[])]);
        assert!(super::read(&locked).encrypted);
    }

    #[test]
    fn truncated_archives_keep_the_names_before() {
        let archive = rar5(&[
            file5("first.txt", false, b"hello"),
            file5("second.exe", false, b"xyz"),
        ]);
        let cut = &archive[..archive.len() - 12];
        let read = read(cut);
        assert!(read.damage.is_some());
        assert_eq!(names(&read).first(), Some(&("first.txt", false)));
        let archive = rar4(0, &[file4(b"only.txt", 0, b"hello")]);
        let read = super::read(&archive[..archive.len() - 9]);
        assert!(read.damage.is_some(), "{read:?}");
    }

    /// Every prefix and many byte flips of both formats: no panic, and
    /// damage or a listing, never a hang.
    #[test]
    fn hostile_headers_do_not_panic() {
        let samples = [
            rar4(
                0,
                &[
                    file4(b"a.txt", 0, b"data"),
                    file4(b"b\0\x20\x00b", FILE4_UNICODE | FILE4_LARGE, b""),
                ],
            ),
            rar5(&[file5("a.txt", true, b"data"), file5("b.exe", false, b"")]),
        ];
        // A small linear congruential generator: reproducible flips.
        let mut state = 0x2545_f491_u32;
        for sample in &samples {
            for len in 0..=sample.len() {
                let _ = read(&sample[..len]);
            }
            for _ in 0..5000 {
                let mut flipped = sample.clone();
                for _ in 0..3 {
                    state =
                        state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let at = (state >> 8) as usize % flipped.len();
                    state =
                        state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    flipped[at] ^= (state >> 16) as u8 | 1;
                }
                let _ = read(&flipped);
            }
        }
    }
}
