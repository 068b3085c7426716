/*!
Hostile input: deep nesting, huge part counts, huge lines, NUL bytes,
oversized messages, and a random-input loop. Nothing may panic, and
everything must stay far from quadratic.
*/

use std::time::{Duration, Instant};

use qmvc_message::{
    archive, loader, magic, DefectKind, Limits, Message, Part, PartKind,
};

fn parse(raw: &[u8]) -> Message<'_> {
    Message::parse(raw, &Limits::default())
}

/// Generous: these run unoptimised; the release build is far faster.
fn quick(start: Instant) {
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
}

/// Everything a caller might do with a part.
fn exercise(part: &Part<'_>) {
    let decoded = part.decode(4096);
    assert!(decoded.bytes.len() <= 4096);
    let _ = part.text(4096);
    for field in &part.header.fields {
        let _ = field.decoded();
    }
    if part.is_attachment() {
        let _ = loader::plausible(&decoded.bytes);
        let _ = loader::detect(&decoded.bytes);
        if archive::is_zip(&decoded.bytes) {
            let _ = archive::list_zip(
                &decoded.bytes,
                &Limits::default(),
                &archive::Budget::new(256 << 20),
            );
        }
    }
}

#[test]
fn multipart_nested_ten_thousand_deep() {
    let depth = 10_000;
    let mut raw = String::from(
        "Subject: deep\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n",
    );
    for i in 0..depth {
        let next = i + 1;
        raw += &format!(
            "--b{i}\nContent-Type: multipart/mixed; boundary=\"b{next}\"\n\n"
        );
    }
    raw += &format!("--b{depth}\n\nleaf\n");
    for i in (0..=depth).rev() {
        raw += &format!("--b{i}--\n");
    }
    let start = Instant::now();
    let m = parse(raw.as_bytes());
    quick(start);
    assert_eq!(m.parts.len(), 101);
    assert_eq!(m.parts[100].depth, 100);
    assert_eq!(m.defects.len(), 1);
    assert_eq!(m.defects[0].kind, DefectKind::Limit);
}

#[test]
fn message_nested_ten_thousand_deep() {
    let raw = "Content-Type: message/rfc822\n\n".repeat(10_000) + "body\n";
    let start = Instant::now();
    let m = parse(raw.as_bytes());
    quick(start);
    assert_eq!(m.parts.len(), 101);
    assert!(m.parts.iter().all(|p| p.kind == PartKind::Message));
    assert_eq!(m.defects.len(), 1);
    assert_eq!(m.defects[0].kind, DefectKind::Limit);
}

#[test]
fn hundred_thousand_parts() {
    let raw = String::from("Content-Type: multipart/mixed; boundary=b\n\n")
        + &"--b\n\nx\n".repeat(100_000)
        + "--b--\n";
    let start = Instant::now();
    let m = parse(raw.as_bytes());
    quick(start);
    assert_eq!(m.parts.len(), 10_000);
    assert_eq!(m.defects.len(), 1);
    assert_eq!(m.defects[0].kind, DefectKind::Limit);
    // Below the bound every part is there.
    let limits = Limits { parts: 200_000, ..Limits::default() };
    let m = Message::parse(raw.as_bytes(), &limits);
    assert_eq!((m.parts.len(), m.defects.len()), (100_001, 0));
    quick(start);
}

#[test]
fn many_tiny_header_fields() {
    // Each part's header is bounded, and so are all together.
    let part = "a: b\n".repeat(1000);
    let raw = String::from("Content-Type: multipart/mixed; boundary=b\n\n")
        + &format!("--b\n{part}\nx\n").repeat(1000)
        + "--b--\n";
    let start = Instant::now();
    let m = parse(raw.as_bytes());
    quick(start);
    let fields: usize = m.parts.iter().map(|p| p.header.fields.len()).sum();
    assert!(fields <= 201_000, "{fields}");
    assert!(m.defects.iter().any(|d| d.kind == DefectKind::Limit));
}

#[test]
fn megabyte_header_lines() {
    let start = Instant::now();
    let fillers = [
        "word ",
        "=?utf-8?q?x?= ",
        "=?",
        "=?a?",
        "=?utf-8?b?",
        "?=",
        "; name*0*=utf-8''%41",
        "; a=\"\\",
        "(",
    ];
    for filler in fillers {
        let line = filler.repeat((1 << 20) / filler.len());
        let raw = format!(
            "Subject: {line}\nContent-Type: multipart/mixed{line}\n\
             Content-Disposition: attachment{line}\n\nbody\n"
        );
        let m = parse(raw.as_bytes());
        assert_eq!(m.header.defects.len(), 3, "{filler}");
        let _ = m.header.value("subject");
        let part = &m.parts[0];
        assert_eq!(part.kind, PartKind::Leaf);
        let _ = (part.filename.as_ref(), part.text(100));
    }
    quick(start);
}

#[test]
fn nul_bytes_and_eight_bit() {
    let raw =
        b"Sub\0ject: a\0b\nX\xff\xfe: y\n\xc3\x28: z\nTo: \0\n\n\0\0kill\0";
    let m = parse(raw);
    assert!(m.header.defects.len() >= 3);
    assert_eq!(m.header.value("to").as_deref(), Some("\0"));
    assert_eq!(m.parts[0].text(100).as_deref(), Some("\0\0kill\0"));
}

#[test]
fn degenerate_messages() {
    let samples: [&[u8]; 14] = [
        b"",
        b"\n",
        b"\r\n",
        b"\r",
        b"\n\n\n",
        b":",
        b" ",
        b"\t\n",
        b"--",
        b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n",
        b"Content-Type: multipart/mixed; boundary=a\n\n--a",
        b"Content-Type: multipart/mixed; boundary=a\n\n--a--",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r",
        b"Content-Type: message/rfc822",
    ];
    for raw in samples {
        let m = parse(raw);
        assert!(!m.parts.is_empty());
        let _ = m.encoding_defects();
        for part in &m.parts {
            exercise(part);
        }
    }
}

#[test]
fn hundred_megabytes() {
    let mut raw = b"Subject: big\n\n".to_vec();
    raw.resize(100 << 20, b'a');
    let start = Instant::now();
    let m = parse(&raw);
    assert!(m.too_large && m.parts.is_empty());
    assert_eq!(m.header.value("subject").as_deref(), Some("big"));
    // The same without any line break: all header, one long line.
    raw[13] = b'x';
    raw[12] = b'x';
    let m = parse(&raw);
    assert!(m.too_large);
    assert_eq!(m.header.fields.len(), 1);
    assert_eq!(m.header.defects.len(), 1);
    quick(start);
}

#[test]
fn big_base64_decodes_only_what_is_asked() {
    let line =
        "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    let body = line.repeat((10 << 20) / line.len());
    let raw = format!(
        "Content-Type: application/octet-stream; name=a.exe\n\
         Content-Transfer-Encoding: base64\n\n{body}"
    );
    let m = parse(raw.as_bytes());
    let start = Instant::now();
    for _ in 0..100 {
        let d = m.parts[0].decode(magic::PREFIX);
        assert_eq!((d.bytes.len(), d.truncated), (magic::PREFIX, true));
    }
    // A hundred 64 KiB decodes of a 10 MB body: far less than one full
    // decode would take a hundred times.
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert!(m.encoding_defects().is_empty());
}

/// Rounds of a random test: `default`, or QMVC_FUZZ_ROUNDS for a long
/// run (`QMVC_FUZZ_ROUNDS=1000000 cargo test --release random_`).
fn rounds(default: usize) -> usize {
    std::env::var("QMVC_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: [&[u8]; 32] = [
    b"\n",
    b"\r\n",
    b"\n\n",
    b"--b",
    b"--b--",
    b"--c",
    b"Content-Type: multipart/mixed; boundary=b\n",
    b"Content-Type: multipart/digest; boundary=c\n",
    b"Content-Type: message/rfc822\n",
    b"Content-Type: text/plain; charset=iso-8859-1\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Disposition: attachment; filename*0*=utf-8''a%",
    b"; filename*1=\"x\\",
    b"=?utf-8?b?",
    b"=?iso-8859-1?q?=E4",
    b"?=",
    b"Subject: ",
    b" ",
    b"\t",
    b":",
    b";",
    b"\"",
    b"=",
    b"=\n",
    b"\0",
    b"\xff\xfe",
    b"TVqQAA",
    b"MZ",
    b"\x7fELF\x02\x01\x01",
    b"PK\x03\x04",
    b"\xca\xfe\xba\xbe",
];

fn generated(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(200) {
        if rng.below(4) == 0 {
            out.push(rng.next() as u8);
        } else {
            out.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
        }
    }
    out
}

fn mutated(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if at < out.len() => out[at] = rng.next() as u8,
            1 => out.truncate(at),
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            _ => {
                let from = rng.below(out.len());
                let len = rng.below(64).min(out.len() - from.min(out.len()));
                let piece = out[from..from + len].to_vec();
                out.splice(at..at, piece);
            }
        }
    }
    out
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .filter(|p| p.metadata().is_ok_and(|m| m.len() < 20_000))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).expect("read")).collect()
}

#[test]
fn random_messages() {
    let seeds = corpus();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let small = Limits {
        mime_depth: 4,
        parts: 30,
        archive_members: 5,
        archive_depth: 1,
        archive_member_size: 4096,
        ..Limits::default()
    };
    let start = Instant::now();
    for round in 0..rounds(3000) {
        let raw = if round % 2 == 0 {
            generated(&mut rng)
        } else {
            let seed = rng.below(seeds.len());
            mutated(&mut rng, &seeds[seed])
        };
        let limits = if round % 3 == 0 { &small } else { &Limits::default() };
        let m = Message::parse(&raw, limits);
        assert!(m.parts.len() <= limits.parts);
        assert!(m.parts.iter().all(|p| p.depth <= limits.mime_depth));
        let _ = m.encoding_defects();
        for part in &m.parts {
            exercise(part);
        }
    }
    if rounds(0) == 0 {
        quick(start);
    }
}

#[test]
fn random_binaries() {
    // Real executables and archives, damaged: goblin, the zip reader and
    // the magic database all see them.
    let mut seeds = Vec::new();
    for raw in corpus() {
        let m = parse(&raw);
        for part in m.parts.iter().filter(|p| p.is_attachment()) {
            seeds.push(part.decode(usize::MAX).bytes);
        }
    }
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let start = Instant::now();
    for round in 0..rounds(1500) {
        let seed = rng.below(seeds.len());
        let bytes = mutated(&mut rng, &seeds[seed]);
        let _ = loader::detect(&bytes);
        let _ = archive::list_zip(
            &bytes,
            &Limits::default(),
            &archive::Budget::new(256 << 20),
        );
        if round % 10 == 0 {
            let types = magic::detect(&bytes);
            assert!(!types.is_empty());
            let _ = magic::matches("application/x-executable", &types, &bytes);
        }
    }
    if rounds(0) == 0 {
        quick(start);
    }
}
