/*!
Archive listings of every format, built here with the formats' writers:
tar (ustar, pax, GNU long names), gzip, bzip2 and xz around anything,
nesting, bombs, damage and encrypted zip members. Each format has a clean
twin whose names must come out exactly.
*/

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use qmvc_message::archive::{self, Budget, Kind, Listing};
use qmvc_message::Limits;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn list(bytes: &[u8], name: Option<&str>) -> Listing {
    let limits = Limits::default();
    archive::list(bytes, name, &limits, &Budget::new(limits.archive_bytes))
}

fn names(listing: &Listing) -> Vec<String> {
    listing.members.iter().map(|m| m.full_name()).collect()
}

fn tar_header(size: usize) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar_header(data.len());
        builder.append_data(&mut header, path, *data).expect("append");
    }
    builder.into_inner().expect("finish")
}

fn gzip(data: &[u8], name: Option<&[u8]>) -> Vec<u8> {
    let mut builder = flate2::GzBuilder::new();
    if let Some(name) = name {
        builder = builder.filename(name);
    }
    let mut w = builder.write(Vec::new(), flate2::Compression::default());
    w.write_all(data).expect("gzip");
    w.finish().expect("gzip")
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut w =
        bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    w.write_all(data).expect("bzip2");
    w.finish().expect("bzip2")
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut w = liblzma::write::XzEncoder::new(Vec::new(), 1);
    w.write_all(data).expect("xz");
    w.finish().expect("xz")
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, options).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

#[test]
fn kinds_from_magic() {
    let tar = tar_of(&[("a.txt", b"a")]);
    assert_eq!(archive::kind(&tar), Some(Kind::Tar));
    assert_eq!(archive::kind(&gzip(b"x", None)), Some(Kind::Gzip));
    assert_eq!(archive::kind(&bzip2(b"x")), Some(Kind::Bzip2));
    assert_eq!(archive::kind(&xz(b"x")), Some(Kind::Xz));
    assert_eq!(archive::kind(&zip_of(&[("a", b"")])), Some(Kind::Zip));
    assert_eq!(archive::kind(b"plain text, not an archive"), None);
    assert_eq!(archive::kind(b"BZh0"), None);
    // A tar under another name is listed; a .tar name on text is not.
    assert_eq!(names(&list(&tar, Some("report.pdf"))), ["a.txt"]);
    assert!(list(b"just text", Some("x.tar.gz")).members.is_empty());
}

#[test]
fn tar_names_ustar_gnu_pax() {
    let long = format!("{}/setup.exe", "d".repeat(150));
    let mut builder = tar::Builder::new(Vec::new());
    // ustar with a short name.
    let mut header = tar_header(2);
    builder.append_data(&mut header, "readme.txt", &b"hi"[..]).expect("a");
    // A GNU long name (././@LongLink), as the tar crate writes it.
    let mut header = tar::Header::new_gnu();
    header.set_size(1);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, &long, &b"x"[..]).expect("gnu");
    // A pax `path` record naming the member.
    builder
        .append_pax_extensions([("path", &b"pax/invoice.scr"[..])])
        .expect("pax");
    let mut header = tar_header(1);
    builder.append_data(&mut header, "short", &b"x"[..]).expect("pax data");
    let tar = builder.into_inner().expect("tar");
    let l = list(&tar, Some("files.tar"));
    assert_eq!(names(&l), ["readme.txt", long.as_str(), "pax/invoice.scr"]);
    assert_eq!(l.error, None);
    assert_eq!(l.truncated, None);
}

#[test]
fn compression_layers_name_their_member() {
    // The stored name wins; else the part's name without the suffix.
    let l = list(&gzip(b"text", Some(b"inner.exe")), Some("x.gz"));
    assert_eq!(names(&l), ["inner.exe"]);
    let l = list(&gzip(b"text", None), Some("Setup.EXE.gz"));
    assert_eq!(names(&l), ["Setup.EXE"]);
    // Latin-1 when the stored name is not UTF-8.
    let l = list(&gzip(b"text", Some(b"caf\xe9.exe")), None);
    assert_eq!(names(&l), ["caf\u{e9}.exe"]);
    let l = list(&bzip2(b"text"), Some("tool.scr.bz2"));
    assert_eq!(names(&l), ["tool.scr"]);
    let l = list(&xz(b"text"), Some("tool.js.xz"));
    assert_eq!(names(&l), ["tool.js"]);
    // No name anywhere: nothing to list, and no error.
    let l = list(&xz(b"text"), None);
    assert!(l.members.is_empty() && l.error.is_none());
}

#[test]
fn tar_inside_every_compression() {
    let tar = tar_of(&[("docs/a.txt", b"a"), ("bin/run.exe", b"MZ")]);
    for (name, packed) in [
        ("x.tgz", gzip(&tar, None)),
        ("x.tbz", bzip2(&tar)),
        ("x.txz", xz(&tar)),
    ] {
        let l = list(&packed, Some(name));
        assert_eq!(
            names(&l),
            ["x.tar", "x.tar/docs/a.txt", "x.tar/bin/run.exe"],
            "{name}"
        );
        assert_eq!((l.error.clone(), l.truncated.clone()), (None, None));
    }
    // The clean twin: nothing but the documents.
    let clean = gzip(&tar_of(&[("docs/a.txt", b"a")]), None);
    let l = list(&clean, Some("docs.tar.gz"));
    assert_eq!(names(&l), ["docs.tar", "docs.tar/docs/a.txt"]);
}

#[test]
fn nesting_across_formats() {
    // zip > tar.gz > zip: a compression layer is not a level.
    let inner = zip_of(&[("deep.exe", b"MZ")]);
    let tgz = gzip(&tar_of(&[("in.zip", &inner)]), Some(b"t.tar"));
    let outer = zip_of(&[("t.tar.gz", &tgz)]);
    let limits = Limits { archive_depth: 2, ..Limits::default() };
    let l = archive::list(&outer, None, &limits, &Budget::new(1 << 30));
    assert_eq!(
        names(&l),
        [
            "t.tar.gz",
            "t.tar.gz/t.tar",
            "t.tar.gz/t.tar/in.zip",
            "t.tar.gz/t.tar/in.zip/deep.exe"
        ]
    );
    assert_eq!(l.truncated, None);
    let limits = Limits { archive_depth: 1, ..Limits::default() };
    let l = archive::list(&outer, None, &limits, &Budget::new(1 << 30));
    assert_eq!(names(&l).len(), 3);
    assert!(l.truncated.is_some_and(|t| t.contains("in.zip")));

    // gzip in gzip in gzip...: each extra layer counts, so a stack (or a
    // quine) ends at the depth.
    let mut packed = b"payload".to_vec();
    for _ in 0..10 {
        packed = gzip(&packed, None);
    }
    let l = list(&packed, Some("p.gz"));
    assert!(l.truncated.is_some_and(|t| t.contains("nested deeper")));
}

/// Concatenated copies of one compressed block of 16 MiB of zeros: a
/// small attachment that inflates to `copies` times 16 MiB.
fn bomb(pack: fn(&[u8]) -> Vec<u8>, copies: usize) -> Vec<u8> {
    let head = tar_of(&[("bomb.bin", &[])]);
    let block = pack(&vec![0u8; 16 << 20]);
    let mut out = pack(&head[..512]);
    for _ in 0..copies {
        out.extend_from_slice(&block);
    }
    out
}

#[test]
fn bombs_stop_at_the_bound_quickly() {
    let gz = |d: &[u8]| gzip(d, None);
    for (label, packed) in [
        ("gzip", bomb(gz, 64)),
        ("bzip2", bomb(bzip2, 64)),
        ("xz", bomb(xz, 64)),
    ] {
        assert!(packed.len() < 8 << 20, "{label}: {}", packed.len());
        let started = Instant::now();
        let l = list(&packed, Some("bomb.tar.gz"));
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{label} took {took:?}");
        assert!(
            l.truncated.as_deref().is_some_and(|t| t.contains("larger than")),
            "{label}: {l:?}"
        );
        // The names before the bound are still listed.
        assert!(names(&l).iter().any(|n| n.ends_with("bomb.bin")), "{label}");
    }
    // One budget for the message: a second bomb finds it used up.
    let limits = Limits::default();
    let budget = Budget::new(20 << 20);
    let packed = bomb(gz, 2);
    let first = archive::list(&packed, None, &limits, &budget);
    assert!(first.truncated.is_some());
    let second = archive::list(&packed, None, &limits, &budget);
    assert!(
        second
            .truncated
            .as_deref()
            .is_some_and(|t| t.contains("archivebytes")),
        "{second:?}"
    );
}

#[test]
fn damaged_archives_keep_names_before_the_damage() {
    let tar = tar_of(&[("first.txt", &[b'a'; 600]), ("second.exe", b"MZ")]);
    // Headers at 0 and 1536 (600 bytes of data padded to 1024); cut
    // inside the second member's data.
    let cut = &tar[..2049];
    let l = list(cut, None);
    assert_eq!(names(&l), ["first.txt", "second.exe"]);
    // Cut inside the second header: the first is listed, damage noted.
    let l = list(&tar[..1536 + 200], None);
    assert_eq!(names(&l), ["first.txt"]);
    assert!(l.error.is_some());
    // A gzip cut short: what inflated before the damage is listed.
    let gz = gzip(&tar, None);
    let l = list(&gz[..gz.len() - 30], Some("x.tgz"));
    assert!(names(&l).contains(&"x.tar/first.txt".to_owned()), "{l:?}");
    assert!(l.error.is_some());
    // Garbage after a magic never panics and is an error.
    for magic in [&b"\x1f\x8b\x08"[..], b"BZh9", b"\xfd7zXZ\x00"] {
        let mut junk = magic.to_vec();
        junk.extend_from_slice(&[0x55; 300]);
        let l = list(&junk, Some("junk.gz"));
        assert!(l.error.is_some(), "{magic:?}");
    }
}

#[test]
fn encrypted_zip_members() {
    let mut bytes = zip_of(&[("secret.doc", b"data"), ("plain.txt", b"x")]);
    // Set the encryption flag (general purpose bit 0) of the first
    // member in its local header and its central directory entry.
    let local = 6;
    bytes[local] |= 1;
    let central = bytes
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    bytes[central + 8] |= 1;
    let l = list(&bytes, None);
    assert_eq!(names(&l), ["secret.doc", "plain.txt"]);
    assert_eq!(l.encrypted().map(|m| m.name.as_str()), Some("secret.doc"));
    // The clean twin.
    let clean = zip_of(&[("secret.doc", b"data")]);
    assert!(list(&clean, None).encrypted().is_none());
}

#[test]
fn every_cut_and_flip_is_safe() {
    let tar = tar_of(&[("a.txt", &[b'a'; 700]), ("b/c.exe", b"MZ")]);
    let zip = zip_of(&[("in.tar", &tar)]);
    for packed in [tar.clone(), gzip(&tar, None), bzip2(&tar), xz(&tar), zip] {
        for cut in (0..packed.len()).step_by(7) {
            let l = list(&packed[..cut], Some("x.tgz"));
            let failed = l.error.as_deref().unwrap_or_default();
            assert!(!failed.contains("reader failed"), "cut {cut}: {l:?}");
        }
        for at in (0..packed.len()).step_by(5) {
            let mut flipped = packed.clone();
            flipped[at] ^= 0x5a;
            let l = list(&flipped, Some("x.tgz"));
            let failed = l.error.as_deref().unwrap_or_default();
            assert!(!failed.contains("reader failed"), "flip {at}: {l:?}");
        }
    }
}
