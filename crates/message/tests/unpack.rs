/*!
Members of 7z and rar archives looked into: 7z folders (copy, LZMA2,
the x86 branch filter before LZMA2) split into their members by the
header's substream sizes, solid folders unpacked only within the
message's budget, coders that are not decoded noted as a limit; rar
members stored uncompressed read from the archive, compressed ones
noted. The 7z archives are written here field by field from
7zFormat.txt (the packed streams by liblzma's raw encoder), the rar
ones from the published RAR 4 and RAR 5 layouts.
*/

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use qmvc_message::archive::{self, Budget, Listing};
use qmvc_message::Limits;
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

fn list(bytes: &[u8], budget: &Budget) -> Listing {
    archive::list(bytes, None, &Limits::default(), budget)
}

fn names(listing: &Listing) -> Vec<String> {
    listing.members.iter().map(|m| m.full_name()).collect()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, SimpleFileOptions::default()).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

/// How a folder of the hand-written 7z archive is packed.
#[derive(Clone, Copy)]
enum Pack {
    Copy,
    Lzma2,
    /// The x86 branch filter, then LZMA2.
    BcjLzma2,
    /// A coder id qmvc does not decode (BZip2), with the data copied.
    Bzip2Id,
}

/// 7z's variable-length number.
fn number(v: u64) -> Vec<u8> {
    for extra in 0..8usize {
        if v < 1u64 << (8 * extra + 7 - extra) {
            let first = !(0xffu8 >> extra) | (v >> (8 * extra)) as u8;
            let mut out = vec![first];
            out.extend(&v.to_le_bytes()[..extra]);
            return out;
        }
    }
    let mut out = vec![0xff];
    out.extend(v.to_le_bytes());
    out
}

/// LZMA2 with a 1 MiB dictionary (property byte 16), behind the x86
/// filter when `bcj`, as a raw stream.
fn lzma2(data: &[u8], bcj: bool) -> Vec<u8> {
    let mut opts = liblzma::stream::LzmaOptions::new_preset(1).expect("opts");
    opts.dict_size(1 << 20);
    let mut filters = liblzma::stream::Filters::new();
    if bcj {
        filters.x86();
    }
    filters.lzma2(&opts);
    let stream =
        liblzma::stream::Stream::new_raw_encoder(&filters).expect("encoder");
    let mut w = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    w.write_all(data).expect("lzma2");
    w.finish().expect("lzma2")
}

/// A folder: how it is packed, and its members (name, data).
type Folder<'a> = (Pack, Vec<(&'a str, Vec<u8>)>);

/// A 7z archive of `folders`, each one packed stream holding its
/// members one after another, with a plain header; `empty` names files
/// without data. CRCs are left out (optional in the format).
fn sevenz(folders: &[Folder<'_>], empty: &[&str]) -> Vec<u8> {
    let mut packed = Vec::new();
    let mut pack_sizes = Vec::new();
    let mut coders = Vec::new();
    for (pack, members) in folders {
        let data: Vec<u8> = members.iter().flat_map(|m| m.1.clone()).collect();
        let stream = match pack {
            Pack::Copy | Pack::Bzip2Id => data.clone(),
            Pack::Lzma2 => lzma2(&data, false),
            Pack::BcjLzma2 => lzma2(&data, true),
        };
        pack_sizes.push(stream.len());
        packed.extend(stream);
        let size = number(data.len() as u64);
        let mut folder = Vec::new();
        match pack {
            Pack::Copy => folder.extend([1, 0x01, 0x00]),
            Pack::Lzma2 => folder.extend([1, 0x21, 0x21, 1, 16]),
            Pack::Bzip2Id => folder.extend([1, 0x03, 0x04, 0x02, 0x02]),
            // Coder 0 the filter (the folder's output), coder 1 LZMA2
            // (fed by the packed stream); bind pair: input 0 from
            // output 1.
            Pack::BcjLzma2 => {
                folder.extend([2, 0x04, 0x03, 0x03, 0x01, 0x03]);
                folder.extend([0x21, 0x21, 1, 16, 0, 1]);
            }
        }
        let sizes = match pack {
            Pack::BcjLzma2 => [size.clone(), size].concat(),
            _ => size,
        };
        coders.push((folder, sizes));
    }
    let mut h = vec![0x01, 0x04]; // header, main streams
    h.push(0x06); // pack info
    h.extend(number(0));
    h.extend(number(folders.len() as u64));
    h.push(0x09);
    for size in &pack_sizes {
        h.extend(number(*size as u64));
    }
    h.push(0x00);
    h.extend([0x07, 0x0b]); // unpack info, folders
    h.extend(number(folders.len() as u64));
    h.push(0); // not external
    for (folder, _) in &coders {
        h.extend(folder);
    }
    h.push(0x0c); // unpack sizes
    for (_, sizes) in &coders {
        h.extend(sizes);
    }
    h.push(0x00);
    h.extend([0x08, 0x0d]); // substreams, counts
    for (_, members) in folders {
        h.extend(number(members.len() as u64));
    }
    h.push(0x09);
    for (_, members) in folders {
        for (_, data) in members.iter().take(members.len() - 1) {
            h.extend(number(data.len() as u64));
        }
    }
    h.extend([0x00, 0x00]); // end of substreams, of streams
    let mut files: Vec<&str> = empty.to_vec();
    files.extend(folders.iter().flat_map(|f| f.1.iter().map(|m| m.0)));
    h.push(0x05); // files info
    h.extend(number(files.len() as u64));
    if !empty.is_empty() {
        // The empty files come first.
        let mut bits = vec![0u8; files.len().div_ceil(8)];
        for i in 0..empty.len() {
            bits[i / 8] |= 0x80 >> (i % 8);
        }
        h.push(0x0e);
        h.extend(number(bits.len() as u64));
        h.extend(bits);
    }
    let mut names = vec![0u8]; // not external
    for name in &files {
        for unit in name.encode_utf16().chain([0]) {
            names.extend(unit.to_le_bytes());
        }
    }
    h.push(0x11);
    h.extend(number(names.len() as u64));
    h.extend(names);
    h.extend([0x00, 0x00]); // end of files, of header
    let mut out = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    out.extend([0; 4]); // start header CRC
    out.extend((packed.len() as u64).to_le_bytes());
    out.extend((h.len() as u64).to_le_bytes());
    out.extend([0; 4]); // next header CRC
    out.extend(packed);
    out.extend(h);
    out
}

fn evil_zip() -> Vec<u8> {
    zip_of(&[("evil.exe", b"MZ\x90\x00")])
}

#[test]
fn sevenz_folders_split_into_members() {
    let tar = {
        let mut b = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_size(2);
        header.set_mode(0o644);
        b.append_data(&mut header, "deep.scr", &b"MZ"[..]).expect("tar");
        b.into_inner().expect("tar")
    };
    for pack in [Pack::Copy, Pack::Lzma2, Pack::BcjLzma2] {
        // Solid: the zip and the tar after members of odd sizes, so
        // that a split at the wrong place finds no magic.
        let members = vec![
            ("a.txt", b"hello\n".to_vec()),
            ("inner.zip", evil_zip()),
            ("b.bin", vec![0xe8; 1001]),
            ("c.tar", tar.clone()),
        ];
        let archive = sevenz(&[(pack, members)], &["empty.txt"]);
        let l = list(&archive, &Budget::new(1 << 20));
        assert_eq!(
            names(&l),
            [
                "empty.txt",
                "a.txt",
                "inner.zip",
                "b.bin",
                "c.tar",
                "inner.zip/evil.exe",
                "c.tar/deep.scr"
            ],
            "{l:?}"
        );
        assert_eq!((&l.truncated, &l.error), (&None, &None));
    }
    // Folders one after another, each its own packed stream.
    let archive = sevenz(
        &[
            (Pack::Lzma2, vec![("one.txt", b"one".to_vec())]),
            (Pack::Copy, vec![("two.zip", evil_zip())]),
            (Pack::BcjLzma2, vec![("three.zip", evil_zip())]),
        ],
        &[],
    );
    let l = list(&archive, &Budget::new(1 << 20));
    let found = names(&l);
    assert!(found.contains(&"two.zip/evil.exe".to_owned()), "{l:?}");
    assert!(found.contains(&"three.zip/evil.exe".to_owned()), "{l:?}");
    assert_eq!((&l.truncated, &l.error), (&None, &None));
}

#[test]
fn sevenz_solid_folder_stops_at_the_budget() {
    // 64 MiB of zeros before the zip: reaching it means unpacking them.
    let members =
        vec![("zeros.bin", vec![0; 64 << 20]), ("z.zip", evil_zip())];
    let archive = sevenz(&[(Pack::Lzma2, members)], &[]);
    assert!(archive.len() < 1 << 20);
    let budget = Budget::new(16 << 20);
    let started = Instant::now();
    let l = list(&archive, &budget);
    assert!(started.elapsed() < Duration::from_secs(1));
    // The names are listed; the zip is not looked into.
    assert_eq!(names(&l), ["zeros.bin", "z.zip"]);
    let why = l.truncated.as_deref().unwrap_or_default();
    assert!(why.contains("z.zip and the members after it"), "{why}");
    assert!(why.contains("archivebytes"), "{why}");
    // Nothing past the budget was unpacked: only the first bytes.
    assert!(budget.left() > (16 << 20) - 4096, "{}", budget.left());
    // Within the budget, the zeros are unpacked and charged, and the zip
    // is looked into.
    let budget = Budget::new(100 << 20);
    let l = list(&archive, &budget);
    assert!(names(&l).contains(&"z.zip/evil.exe".to_owned()), "{l:?}");
    assert_eq!(l.truncated, None);
    let used = (100 << 20) - budget.left();
    assert!((64 << 20..(64 << 20) + 8192).contains(&used), "{used}");
}

#[test]
fn sevenz_unknown_coders_are_noted() {
    let members = vec![("in.zip", evil_zip()), ("b.txt", b"b".to_vec())];
    let archive = sevenz(&[(Pack::Bzip2Id, members)], &[]);
    let l = list(&archive, &Budget::new(1 << 20));
    assert_eq!(names(&l), ["in.zip", "b.txt"]);
    let why = l.truncated.as_deref().unwrap_or_default();
    assert!(why.contains("2 of its members compressed with BZip2"), "{why}");
    assert_eq!(l.error, None);
}

#[test]
fn sevenz_damaged_data_is_an_error() {
    let members = vec![("a.txt", vec![b'a'; 500]), ("in.zip", evil_zip())];
    for pack in [Pack::Copy, Pack::Lzma2] {
        let whole = sevenz(&[(pack, members.clone())], &[]);
        // Junk in the packed stream (which starts at byte 32).
        let mut flipped = whole;
        for byte in &mut flipped[40..60] {
            *byte ^= 0x55;
        }
        let l = list(&flipped, &Budget::new(1 << 20));
        assert_eq!(names(&l)[..2], ["a.txt", "in.zip"]);
        if let Pack::Lzma2 = pack {
            assert!(l.error.is_some(), "{l:?}");
        }
    }
}

/// A RAR 5 archive of `(name, data, stored)` members (CRCs zero).
fn rar5(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    fn vint(mut n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while n >= 0x80 {
            out.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out
    }
    fn block(kind: usize, fields: &[u8], data: &[u8]) -> Vec<u8> {
        let mut header = vint(kind);
        header.extend(vint(if data.is_empty() { 0 } else { 2 }));
        if !data.is_empty() {
            header.extend(vint(data.len()));
        }
        header.extend(fields);
        let mut out = vec![0; 4];
        out.extend(vint(header.len()));
        out.extend(header);
        out.extend(data);
        out
    }
    let mut out = b"Rar!\x1a\x07\x01\x00".to_vec();
    out.extend(block(1, &[0], &[]));
    for (name, data, stored) in members {
        let mut fields = vec![0];
        fields.extend(vint(data.len()));
        fields.push(0); // attributes
                        // Compression information: method in bits 7 to 9.
        fields.extend(vint(if *stored { 0 } else { 3 << 7 }));
        fields.push(1); // Unix
        fields.extend(vint(name.len()));
        fields.extend(name.as_bytes());
        out.extend(block(2, &fields, data));
    }
    out.extend(block(5, &[0], &[]));
    out
}

/// A RAR 4 archive of `(name, data, stored)` members (CRCs zero).
fn rar4(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    fn block(kind: u8, flags: u16, fields: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, kind];
        out.extend(flags.to_le_bytes());
        out.extend((7 + fields.len() as u16).to_le_bytes());
        out.extend(fields);
        out
    }
    let mut out = b"Rar!\x1a\x07\x00".to_vec();
    out.extend(block(0x73, 0, &[0; 6]));
    for (name, data, stored) in members {
        let mut f = Vec::new();
        f.extend((data.len() as u32).to_le_bytes());
        f.extend((data.len() as u32).to_le_bytes());
        f.push(3); // Unix
        f.extend([0; 8]); // CRC, time
        f.extend([29, if *stored { 0x30 } else { 0x33 }]);
        f.extend((name.len() as u16).to_le_bytes());
        f.extend([0; 4]);
        f.extend(name.as_bytes());
        out.extend(block(0x74, 0x8000, &f));
        out.extend(*data);
    }
    out.extend(block(0x7b, 0, &[]));
    out
}

#[test]
fn rar_stored_members_are_looked_into() {
    let zip = evil_zip();
    for rar in [rar4, rar5] {
        let archive = rar(&[("a.txt", b"text", true), ("in.zip", &zip, true)]);
        let budget = Budget::new(1 << 20);
        let l = list(&archive, &budget);
        assert_eq!(names(&l), ["a.txt", "in.zip", "in.zip/evil.exe"]);
        assert_eq!((&l.truncated, &l.error), (&None, &None));
        // Read out of the archive: charged like inflated bytes.
        assert!((1 << 20) - budget.left() >= zip.len());
        // Compressed: listed, not looked into, noted as a limit.
        let archive =
            rar(&[("a.txt", b"text", true), ("in.zip", &zip, false)]);
        let l = list(&archive, &Budget::new(1 << 20));
        assert_eq!(names(&l), ["a.txt", "in.zip"]);
        let why = l.truncated.as_deref().unwrap_or_default();
        assert!(why.contains("1 of its members compressed"), "{why}");
        // All stored and not archives: nothing to note.
        let archive = rar(&[("a.txt", b"text", true)]);
        assert_eq!(list(&archive, &Budget::new(1 << 20)).truncated, None);
    }
}
