/*!
The message model on hand-made messages: MIME edge cases, nested messages,
loader types and zip archives.
*/

use std::io::{Cursor, Write};

use qmvc_message::loader::{self, LoaderType};
use qmvc_message::{
    archive, Arena, DefectKind, Encoding, Limits, Message, PartKind,
    MAX_ENCODED,
};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn parse(raw: &[u8]) -> Message<'_> {
    Message::parse(raw, &Limits::default())
}

fn ids(m: &Message<'_>) -> Vec<String> {
    m.parts.iter().map(|p| format!("{}@{}", p.id, p.depth)).collect()
}

#[test]
fn forwarded_message_is_walked() {
    let raw = b"Subject: fwd\nContent-Type: multipart/mixed; boundary=o\n\n\
        --o\n\nsee below\n\
        --o\nContent-Type: message/rfc822\n\n\
        Subject: inner\nContent-Type: multipart/mixed; boundary=i\n\n\
        --i\n\ninner text\n\
        --i\nContent-Type: application/octet-stream; name=evil.exe\n\
        Content-Transfer-Encoding: base64\n\nTVqQAA==\n\
        --i--\n\
        --o--\n";
    let m = parse(raw);
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    assert_eq!(
        ids(&m),
        ["1@0", "1.1@1", "1.2@1", "1.2.1@2", "1.2.1.1@3", "1.2.1.2@3"]
    );
    assert_eq!(m.parts[2].kind, PartKind::Message);
    assert_eq!(m.parts[3].kind, PartKind::Multipart);
    assert_eq!(m.parts[3].header.value("subject").as_deref(), Some("inner"));
    let evil = &m.parts[5];
    assert_eq!(evil.filename.as_deref(), Some("evil.exe"));
    assert_eq!(evil.decode(100).bytes, b"MZ\x90\0");
    assert!(evil.is_attachment());
    assert!(!m.parts[2].is_attachment());
}

#[test]
fn encoded_message_part_is_decoded_and_walked() {
    // RFC 2045 forbids the encoding; the message inside is examined all
    // the same (issue 11, item 11).
    let raw = b"Content-Type: message/rfc822\n\
        Content-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQp5\n";
    let arena = Arena::default();
    let m = Message::parse_in(raw, &Limits::default(), &arena);
    assert_eq!(ids(&m), ["1@0", "1.1@1"]);
    assert_eq!(m.parts[0].kind, PartKind::Message);
    assert_eq!(m.parts[1].header.value("subject").as_deref(), Some("x"));
    assert_eq!(m.parts[1].body, b"y");
    assert!(m.defects.iter().all(|d| d.kind != DefectKind::Limit));
    // Without an arena it stays a leaf, and that is a limit.
    let m = parse(raw);
    assert_eq!(m.parts.len(), 1);
    assert_eq!(m.parts[0].kind, PartKind::Leaf);
    assert!(m.defects.iter().any(|d| d.kind == DefectKind::Limit));
}

#[test]
fn encoded_in_encoded_is_bounded() {
    // Each level decoded once, all of them within scansize.
    let mut raw = b"Subject: x\n\ny\n".to_vec();
    for _ in 0..8 {
        raw = encoded(&raw);
    }
    let arena = Arena::default();
    let m = Message::parse_in(&raw, &Limits::default(), &arena);
    assert_eq!(m.parts.len(), 9);
    assert_eq!(m.parts[8].body, b"y\n");
    let limits = Limits { scan_size: raw.len(), ..Limits::default() };
    let m = Message::parse_in(&raw, &limits, &arena);
    assert!(m.parts.len() < 9, "{}", m.parts.len());
    assert!(m.defects.iter().any(|d| d.kind == DefectKind::Limit));
    // At most MAX_ENCODED of them in one message.
    let one = encoded(b"Subject: x\n\ny\n");
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\n\n".to_vec();
    for _ in 0..MAX_ENCODED + 5 {
        raw.extend_from_slice(b"--b\n");
        raw.extend_from_slice(&one);
        raw.push(b'\n');
    }
    raw.extend_from_slice(b"--b--\n");
    let arena = Arena::default();
    let m = Message::parse_in(&raw, &Limits::default(), &arena);
    let inner = m.parts.iter().filter(|p| p.depth == 2).count();
    assert_eq!(inner, MAX_ENCODED);
    assert!(m.defects.iter().any(|d| d.kind == DefectKind::Limit));
}

/// `inner` as a base64 message/rfc822 part.
fn encoded(inner: &[u8]) -> Vec<u8> {
    let mut out = b"Content-Type: message/rfc822\n\
        Content-Transfer-Encoding: base64\n\n"
        .to_vec();
    out.extend_from_slice(b64(inner).as_bytes());
    out
}

/// Base64 without line breaks.
fn b64(data: &[u8]) -> String {
    const ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n =
            (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn digest_default_type() {
    let raw = b"Content-Type: multipart/digest; boundary=d\n\n\
        --d\n\nSubject: one\n\nfirst\n\
        --d\nContent-Type: text/plain\n\nplain\n\
        --d--\n";
    let m = parse(raw);
    assert_eq!(ids(&m), ["1@0", "1.1@1", "1.1.1@2", "1.2@1"]);
    assert_eq!(m.parts[1].mime_type, "message/rfc822");
    assert_eq!(m.parts[2].header.value("subject").as_deref(), Some("one"));
    assert_eq!(m.parts[3].mime_type, "text/plain");
}

#[test]
fn delimiters() {
    let raw = b"Content-Type: multipart/mixed; boundary=\"b\"\n\n\
        preamble --b\n\
        --bx\n\
        --b \t\n\
        \nfirst\n--bx\n\
        --b\r\n\
        \nsecond\n\
        --b\n\
        --b--  trailing\n\
        epilogue\n--b\n\nnot a part\n";
    let m = parse(raw);
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    let bodies: Vec<&[u8]> = m.parts[1..].iter().map(|p| p.body).collect();
    assert_eq!(bodies, [&b"first\n--bx"[..], b"second", b""]);
    // A delimiter right at the start of the body, nothing after it.
    let m =
        parse(b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b");
    assert_eq!(m.parts.len(), 3);
    assert_eq!((m.parts[1].body, m.parts[2].body), (&b"x"[..], &b""[..]));
    assert_eq!(m.defects.len(), 1);
    // No delimiter at all.
    let m = parse(b"Content-Type: multipart/mixed; boundary=b\n\nx\n");
    assert_eq!((m.parts.len(), m.defects[0].kind), (1, DefectKind::Structure));
}

#[test]
fn crlf_everywhere() {
    let raw = b"Subject: a\r\n b\r\nContent-Type: multipart/alternative;\r\n\
        \tboundary=\"x y\"\r\n\r\n\
        --x y\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\r\n\
        M=E4rz =\r\nund mehr\r\n\
        --x y\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n\
        --x y--\r\n";
    let m = parse(raw);
    assert!(m.header.defects.is_empty() && m.defects.is_empty());
    assert_eq!(m.header.value("subject").as_deref(), Some("a b"));
    assert_eq!(m.parts.len(), 3);
    assert_eq!(m.parts[1].text(100).as_deref(), Some("M\u{e4}rz und mehr"));
    assert_eq!(m.parts[2].body, b"<p>hi</p>");
}

#[test]
fn part_fields() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\n\n\
        --b\nContent-Type: TEXT/Plain; Charset=\"UTF-8\"\n\
        Content-Transfer-Encoding: Base64 (comment)\n\
        Content-Disposition: ATTACHMENT; filename=\" \"\n\n\
        aGk=\n\
        --b\nContent-Type: image/gif; name=\"a.gif\"\n\
        Content-Disposition: attachment; filename*=utf-8''b.gif\n\n\
        GIF\n\
        --b\nContent-Type: bogus\nContent-Transfer-Encoding: 8BIT\n\nx\n\
        --b--\n";
    let m = parse(raw);
    let p = &m.parts[1];
    assert_eq!(p.mime_type, "text/plain");
    assert_eq!(p.charset.as_deref(), Some("utf-8"));
    assert_eq!(p.encoding, Encoding::Base64);
    assert_eq!(p.disposition.as_deref(), Some("attachment"));
    assert_eq!(p.filename, None);
    assert_eq!(p.text(10).as_deref(), Some("hi"));
    assert!(!p.is_attachment());
    assert_eq!(m.parts[2].filename.as_deref(), Some("b.gif"));
    assert_eq!(m.parts[3].mime_type, "bogus");
    assert_eq!(m.parts[3].encoding, Encoding::Identity);
    assert!(m.parts[3].is_attachment());
    assert_eq!(m.parts[3].text(10), None);
}

#[test]
fn limits_are_defects() {
    let limits = Limits { mime_depth: 2, parts: 4, ..Limits::default() };
    let raw = b"Content-Type: multipart/mixed; boundary=a\n\n\
        --a\nContent-Type: multipart/mixed; boundary=b\n\n\
        --b\nContent-Type: multipart/mixed; boundary=c\n\n\
        --c\n\ndeep\n--c--\n\
        --b--\n\
        --a--\n";
    let m = Message::parse(raw, &limits);
    assert_eq!(ids(&m), ["1@0", "1.1@1", "1.1.1@2"]);
    assert_eq!(m.defects.len(), 1);
    assert_eq!(m.defects[0].kind, DefectKind::Limit);

    let raw = b"Content-Type: multipart/mixed; boundary=a\n\n\
        --a\n\n1\n--a\n\n2\n--a\n\n3\n--a\n\n4\n--a\n\n5\n--a--\n";
    let m = Message::parse(raw, &limits);
    assert_eq!(m.parts.len(), 4);
    assert_eq!(m.defects.len(), 1);
    assert_eq!(
        (m.defects[0].kind, m.defects[0].part.as_str()),
        (DefectKind::Limit, "1.4")
    );

    let limits = Limits { scan_size: 10, ..Limits::default() };
    let m = Message::parse(b"Subject: x\n\nlong enough", &limits);
    assert!(m.too_large && m.parts.is_empty() && m.defects.is_empty());
    assert_eq!(m.header.value("subject").as_deref(), Some("x"));
}

#[test]
fn loader_types() {
    // A DOS executable: 2 pages, 4 header paragraphs, no relocations.
    let mut dos = vec![0u8; 600];
    dos[..2].copy_from_slice(b"MZ");
    dos[2] = 88;
    dos[4] = 2;
    dos[8] = 4;
    dos[24] = 0x40;
    assert_eq!(loader::detect(&dos), Some(LoaderType::Mz));
    let mut text = b"MZ is a plain text line, not a program.\n".to_vec();
    text.resize(200, b'.');
    assert_eq!(loader::detect(&text), None);
    assert!(loader::plausible(&text));

    // A fat Mach-O with one slice that lies inside the file.
    let mut fat = vec![0u8; 64];
    fat[..4].copy_from_slice(&0xcafe_babe_u32.to_be_bytes());
    fat[4..8].copy_from_slice(&1u32.to_be_bytes());
    fat[8..12].copy_from_slice(&7u32.to_be_bytes());
    fat[16..20].copy_from_slice(&32u32.to_be_bytes());
    fat[20..24].copy_from_slice(&32u32.to_be_bytes());
    assert_eq!(loader::detect(&fat), Some(LoaderType::MachO));
    // A Java class file has the same magic.
    let mut class = vec![0u8; 64];
    class[..8].copy_from_slice(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]);
    assert_eq!(loader::detect(&class), None);

    let mut ar = b"!<arch>\n".to_vec();
    ar.extend_from_slice(
        format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            "a.o/", 0, 0, 0, 644, 4
        )
        .as_bytes(),
    );
    ar.extend_from_slice(b"abcd");
    assert_eq!(loader::detect(&ar), Some(LoaderType::Archive));

    let mut coff = vec![0u8; 64];
    coff[..2].copy_from_slice(&0x8664u16.to_le_bytes());
    coff[8..12].copy_from_slice(&20u32.to_le_bytes());
    coff[20..24].copy_from_slice(&4u32.to_le_bytes());
    assert_eq!(loader::detect(&coff), Some(LoaderType::Coff));

    for prefix in [&b""[..], b"M", b"PK\x03\x04", b"hello", b"\x7fEL"] {
        assert!(!loader::plausible(prefix));
        assert_eq!(loader::detect(prefix), None);
    }
    for prefix in [
        &b"\x7fELF"[..],
        b"\xcf\xfa\xed\xfe",
        b"\xfe\xed\xfa\xce",
        b"!<arch>\n",
    ] {
        assert!(loader::plausible(prefix));
        assert_eq!(loader::detect(prefix), None);
    }
    assert_eq!(LoaderType::from_keyword("machO"), Some(LoaderType::MachO));
}

fn zip_of(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        w.start_file(*name, options).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

#[test]
fn nested_zips() {
    let stored = CompressionMethod::Stored;
    let mut inner = zip_of(&[("level5.exe", b"x")], stored);
    for level in (1..5).rev() {
        let name = format!("level{level}.txt");
        let nested = format!("level{}.zip", level + 1);
        inner = zip_of(&[(&name, b"x"), (&nested, &inner)], stored);
    }
    let limits = Limits::default();
    let l = archive::list_zip(
        &inner,
        &limits,
        &archive::Budget::new(limits.archive_bytes),
    );
    let names: Vec<String> = l
        .members
        .iter()
        .map(|m| [m.path.clone(), vec![m.name.clone()]].concat().join("/"))
        .collect();
    assert_eq!(
        names,
        [
            "level1.txt",
            "level2.zip",
            "level2.zip/level2.txt",
            "level2.zip/level3.zip",
            "level2.zip/level3.zip/level3.txt",
            "level2.zip/level3.zip/level4.zip",
            "level2.zip/level3.zip/level4.zip/level4.txt",
            "level2.zip/level3.zip/level4.zip/level5.zip",
        ]
    );
    assert!(l.truncated.is_some_and(|t| t.contains("level5.zip")));
    assert_eq!(l.error, None);

    // Content that is a zip under another name is followed too.
    let hidden = zip_of(&[("a.exe", b"MZ")], CompressionMethod::Deflated);
    let outer = zip_of(&[("data.bin", &hidden)], CompressionMethod::Deflated);
    let l = archive::list_zip(
        &outer,
        &limits,
        &archive::Budget::new(limits.archive_bytes),
    );
    assert_eq!(l.members.len(), 2);
    assert_eq!(l.members[1].name, "a.exe");
    assert_eq!(l.members[1].path, ["data.bin"]);
}

#[test]
fn zip_bounds() {
    let names: Vec<String> = (0..50).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> =
        names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let many = zip_of(&entries, CompressionMethod::Stored);
    let limits = Limits { archive_members: 20, ..Limits::default() };
    let l = archive::list_zip(
        &many,
        &limits,
        &archive::Budget::new(limits.archive_bytes),
    );
    assert_eq!(l.members.len(), 20);
    assert!(l.truncated.is_some());

    // 16 MiB of zeros deflate to some 16 KiB; reading stops at the bound.
    // Zeros that start like a zip: the kind is read from the content.
    let mut zeros = vec![0u8; 16 << 20];
    zeros[..4].copy_from_slice(b"PK\x03\x04");
    let bomb = zip_of(&[("bomb.zip", &zeros)], CompressionMethod::Deflated);
    drop(zeros);
    assert!(bomb.len() < 1 << 20);
    let limits = Limits { archive_member_size: 1 << 20, ..Limits::default() };
    let l = archive::list_zip(
        &bomb,
        &limits,
        &archive::Budget::new(limits.archive_bytes),
    );
    assert_eq!(l.members.len(), 1);
    assert!(l.truncated.is_some_and(|t| t.contains("bomb.zip")));

    let l = archive::list_zip(
        b"PK\x03\x04 not really a zip",
        &limits,
        &archive::Budget::new(limits.archive_bytes),
    );
    assert!(l.error.is_some() && l.members.is_empty());
    let good = zip_of(&[("a.txt", b"hello")], CompressionMethod::Deflated);
    let l = archive::list_zip(
        &good[..good.len() - 10],
        &limits,
        &archive::Budget::new(limits.archive_bytes),
    );
    assert!(l.error.is_some());
    let l = archive::list_zip(
        b"",
        &limits,
        &archive::Budget::new(limits.archive_bytes),
    );
    assert!(l.error.is_some());
    // A damaged nested archive is an error of the listing.
    let outer =
        zip_of(&[("in.zip", b"PK\x03\x04broken")], CompressionMethod::Stored);
    let l = archive::list_zip(
        &outer,
        &limits,
        &archive::Budget::new(limits.archive_bytes),
    );
    assert_eq!(l.members.len(), 1);
    assert!(l.error.is_some_and(|e| e.starts_with("in.zip: ")));
}

#[test]
fn one_inflate_budget_per_message() {
    // Ten archives, each holding a nested zip of 1 MiB: a budget of
    // 3 MiB opens three of them, charged across listings, then stops.
    let filler = vec![b'a'; 1 << 20];
    let inner = zip_of(&[("a.txt", &filler)], CompressionMethod::Stored);
    let outer = zip_of(&[("in.zip", &inner)], CompressionMethod::Deflated);
    let limits = Limits { archive_bytes: 3 << 20, ..Limits::default() };
    let budget = archive::Budget::new(limits.archive_bytes);
    let mut opened = 0;
    let mut refused = 0;
    for _ in 0..10 {
        let l = archive::list_zip(&outer, &limits, &budget);
        match l.truncated {
            None => {
                assert_eq!(l.members.len(), 2);
                opened += 1;
            }
            Some(why) => {
                assert!(why.contains("archivebytes"), "{why}");
                refused += 1;
            }
        }
    }
    assert_eq!((opened, refused), (2, 8), "{}", budget.left());
    // A member found too large is charged too: nothing is free.
    let limits = Limits {
        archive_member_size: 1 << 19,
        archive_bytes: 1 << 20,
        ..Limits::default()
    };
    let budget = archive::Budget::new(limits.archive_bytes);
    let l = archive::list_zip(&outer, &limits, &budget);
    assert!(l.truncated.is_some());
    assert!(budget.left() <= (1 << 20) - (1 << 19), "{}", budget.left());
}

#[test]
fn many_bombs_cost_one_budget() {
    // A 31 MB message could hold some 2000 archives each with a nested
    // 16 MiB bomb: with a budget per listing that was 32 GB to inflate.
    // One budget per message stops it at archivebytes.
    // Zeros that start like a zip: the kind is read from the content.
    let mut zeros = vec![0u8; 16 << 20];
    zeros[..4].copy_from_slice(b"PK\x03\x04");
    let bomb = zip_of(&[("bomb.zip", &zeros)], CompressionMethod::Deflated);
    drop(zeros);
    let limits = Limits::default();
    let budget = archive::Budget::new(limits.archive_bytes);
    let start = std::time::Instant::now();
    let mut cut = 0;
    for _ in 0..2000 {
        let l = archive::list_zip(&bomb, &limits, &budget);
        cut += usize::from(l.truncated.is_some());
    }
    let bound = if cfg!(debug_assertions) { 60 } else { 1 };
    assert!(start.elapsed().as_secs() < bound, "{:?}", start.elapsed());
    assert_eq!(budget.left(), 0);
    assert!(cut >= 1984, "{cut}");
}
