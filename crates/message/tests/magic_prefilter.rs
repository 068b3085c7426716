/*!
`magic::could_match` against tree_magic_mini (through `magic::detect` and
`magic::matches`) as the oracle: whenever the prefilter says that no
pattern of a list can match, none may. Inputs: the corpus attachments,
system binaries and libraries, files under /usr/share, inputs built from
every magic rule of the database, random bytes and text.
*/

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};

use qmvc_message::{magic, Limits, Message, PartKind};

/// control-defaults/badmimetypes.
const DEFAULT: [&str; 8] = [
    "application/x-msdownload",
    "application/x-dosexec",
    "application/x-ms-dos-executable",
    "application/vnd.microsoft.portable-executable",
    "application/x-msi",
    "application/x-ms-shortcut",
    "application/x-executable",
    "application/x-sharedlib",
];

/// More single patterns: globs, aliases, odd case, the roots.
const OTHERS: [&str; 24] = [
    "application/x-*",
    "image/*",
    "text/x-*script*",
    "application/pdf",
    "application/zip",
    "application/x-zip-compressed",
    "application/x-ole-storage",
    "application/x-win-lnk",
    "Application/X-MSDownload",
    " application/x-sharedlib ",
    "application/pkcs12",
    "application/x-x509-ca-cert",
    // Canonical names of the two types whose magic is filed under an
    // alias.
    "application/pkix-cert",
    "application/vnd.oasis.opendocument.database",
    "audio/amr",
    "*/*exe*",
    "*elf*",
    "application/x-object",
    "application/x-core",
    "application/gzip",
    "text/x-python*",
    "text/plain",
    "application/octet-stream",
    "no/such-type",
];

fn lists() -> Vec<Vec<&'static str>> {
    let mut lists = vec![DEFAULT.to_vec(), vec![]];
    lists.extend(DEFAULT.iter().chain(&OTHERS).map(|&p| vec![p]));
    lists
}

/// Checks inputs against the oracle, each distinct input once.
struct Oracle {
    name: &'static str,
    lists: Vec<Vec<&'static str>>,
    seen: HashSet<u64>,
    inputs: usize,
    /// Inputs for which could_match(DEFAULT) was false.
    filtered: usize,
}

impl Oracle {
    fn new(name: &'static str) -> Oracle {
        let lists = lists();
        let seen = HashSet::new();
        Oracle { name, lists, seen, inputs: 0, filtered: 0 }
    }

    fn check(&mut self, label: &dyn std::fmt::Display, bytes: &[u8]) {
        let bytes = bytes.get(..magic::PREFIX).unwrap_or(bytes);
        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        if !self.seen.insert(hasher.finish()) {
            return;
        }
        self.inputs += 1;
        let mut types = None;
        for (i, list) in self.lists.iter().enumerate() {
            if magic::could_match(list, bytes) {
                continue;
            }
            if i == 0 {
                self.filtered += 1;
            }
            let types = types.get_or_insert_with(|| magic::detect(bytes));
            for p in list {
                assert!(
                    !magic::matches(p, types, bytes),
                    "{label}: could_match({list:?}) is false, but {p:?} \
                     matches {types:?} ({:?})",
                    bytes.get(..64).unwrap_or(bytes),
                );
            }
        }
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        eprintln!(
            "{}: {} inputs checked, {} filtered by the default list",
            self.name, self.inputs, self.filtered
        );
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

/// The decoded leaf parts (attachments and all) of every corpus message.
fn corpus_parts() -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    assert!(names.len() > 45, "corpus missing");
    let mut out = Vec::new();
    for path in names {
        let raw = std::fs::read(&path).expect("read corpus");
        let m = Message::parse(&raw, &Limits::default());
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        for part in m.parts.iter().filter(|p| p.kind == PartKind::Leaf) {
            let label = format!("{name} part {}", part.id);
            out.push((label, part.decode(magic::PREFIX).bytes));
        }
    }
    out
}

#[test]
fn corpus() {
    let mut oracle = Oracle::new("corpus");
    let parts = corpus_parts();
    assert!(parts.len() > 60);
    for (label, bytes) in &parts {
        oracle.check(label, bytes);
    }
}

/// The first 64 KiB of a file, if it is a readable regular file.
fn head(path: &Path) -> Option<Vec<u8>> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    let file = File::open(path).ok()?;
    file.take(magic::PREFIX as u64).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Up to `cap` regular files under `dir`, taken round-robin over file
/// extensions so every kind of file gets in.
fn sample(dir: &str, cap: usize) -> Vec<PathBuf> {
    let mut groups: std::collections::BTreeMap<String, Vec<PathBuf>> =
        Default::default();
    let mut pending = vec![PathBuf::from(dir)];
    let mut listed = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            listed += 1;
            if listed > 200_000 {
                break;
            }
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if !kind.is_symlink() {
                let ext = path.extension().unwrap_or_default();
                let ext = ext.to_string_lossy().to_ascii_lowercase();
                groups.entry(ext).or_default().push(path);
            }
        }
    }
    let mut out = Vec::new();
    let mut groups: Vec<_> = groups.into_values().collect();
    // Spread each group's picks over the whole group.
    for group in &mut groups {
        let step = (group.len() / 64).max(1);
        *group = group.iter().step_by(step).cloned().rev().collect();
    }
    while out.len() < cap && groups.iter().any(|g| !g.is_empty()) {
        for group in &mut groups {
            if out.len() < cap {
                out.extend(group.pop());
            }
        }
    }
    out
}

#[test]
fn system_programs_and_libraries() {
    let mut oracle = Oracle::new("/usr/bin, /usr/lib");
    for (dir, cap) in [("/usr/bin", 250), ("/usr/lib/x86_64-linux-gnu", 350)] {
        for path in sample(dir, cap) {
            if let Some(bytes) = head(&path) {
                oracle.check(&path.display(), &bytes);
            }
        }
    }
    assert!(oracle.inputs > 100, "few system files: {}", oracle.inputs);
}

#[test]
fn shared_files() {
    let mut oracle = Oracle::new("/usr/share");
    for path in sample("/usr/share", 700) {
        if let Some(bytes) = head(&path) {
            oracle.check(&path.display(), &bytes);
        }
    }
    assert!(oracle.inputs > 100, "few files: {}", oracle.inputs);
}

/// A magic rule, read from the database independently of build.rs.
struct Rule {
    indent: usize,
    offset: usize,
    value: &'static [u8],
    mask: Option<&'static [u8]>,
    word: usize,
    range: usize,
}

/// The sections of the magic file, each with its rules (nested too).
fn database() -> Vec<(&'static str, Vec<Rule>)> {
    let magic = tree_magic_db::magic();
    let mut rest = magic.strip_prefix(b"MIME-Magic\0\n").expect("header");
    let mut sections: Vec<(&'static str, Vec<Rule>)> = Vec::new();
    let number = |rest: &mut &'static [u8]| {
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (digits, tail) = rest.split_at(n);
        *rest = tail;
        std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok())
    };
    while let Some(&first) = rest.first() {
        if first == b'[' {
            let end = rest.iter().position(|&b| b == b'\n').expect("line");
            let line = std::str::from_utf8(&rest[1..end - 1]).expect("utf8");
            let name = line.split_once(':').expect("priority").1;
            sections.push((name, Vec::new()));
            rest = &rest[end + 1..];
            continue;
        }
        let indent = number(&mut rest).unwrap_or(0);
        rest = rest.strip_prefix(b">").expect(">");
        let offset = number(&mut rest).unwrap_or(0);
        rest = rest.strip_prefix(b"=").expect("=");
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let value = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let mut mask = None;
        if let Some(tail) = rest.strip_prefix(b"&") {
            mask = Some(&tail[..len]);
            rest = &tail[len..];
        }
        let mut word = 1;
        if let Some(tail) = rest.strip_prefix(b"~") {
            rest = tail;
            word = number(&mut rest).unwrap_or(1);
        }
        let mut range = 0;
        if let Some(tail) = rest.strip_prefix(b"+") {
            rest = tail;
            range = number(&mut rest).unwrap_or(0);
        }
        rest = rest.strip_prefix(b"\n").expect("end of rule");
        let rule = Rule { indent, offset, value, mask, word, range };
        sections.last_mut().expect("section").1.push(rule);
    }
    sections
}

/// `value` written into `buf` at `at`, growing it with `fill`.
fn put(buf: &mut Vec<u8>, at: usize, value: &[u8], fill: u8) {
    if buf.len() < at + value.len() {
        buf.resize(at + value.len(), fill);
    }
    buf[at..at + value.len()].copy_from_slice(value);
}

/// Inputs that satisfy each rule together with the rules it is nested
/// in: values at the start and at the end of their ranges, with NUL and
/// space filling, a tail or none, cut one byte short, word-swapped.
fn rule_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, rules) in database() {
        let mut path: Vec<&Rule> = Vec::new();
        for (n, rule) in rules.iter().enumerate() {
            path.retain(|r| r.indent < rule.indent);
            path.push(rule);
            for (variant, fill, at_end, tail) in [
                ("start", 0u8, false, 16),
                ("start, spaces", b' ', false, 16),
                ("end", 0, true, 0),
                ("end, spaces", b' ', true, 8),
            ] {
                let mut buf = Vec::new();
                for r in &path {
                    let at = r.offset + if at_end { r.range } else { 0 };
                    put(&mut buf, at, r.value, fill);
                }
                let len = buf.len();
                let label = format!("{name} rule {n} {variant}");
                if variant == "start" {
                    // The last value one byte short of the end.
                    let cut =
                        path.last().map_or(0, |r| r.offset + r.value.len());
                    let cut = buf[..cut.saturating_sub(1)].to_vec();
                    out.push((format!("{label} cut"), cut));
                }
                buf.resize(len + tail, fill);
                out.push((label, buf));
            }
            if let Some(mask) = rule.mask {
                // The bits the mask ignores all set.
                let set: Vec<u8> =
                    rule.value.iter().zip(mask).map(|(v, m)| v | !m).collect();
                let mut buf = Vec::new();
                put(&mut buf, rule.offset, &set, 0);
                buf.resize(buf.len() + 16, 0);
                out.push((format!("{name} rule {n} masked"), buf));
            }
            if rule.word > 1 {
                let swapped: Vec<u8> = rule
                    .value
                    .chunks(rule.word)
                    .flat_map(|c| c.iter().rev().copied())
                    .collect();
                let mut buf = Vec::new();
                put(&mut buf, rule.offset, &swapped, 0);
                buf.resize(buf.len() + 16, 0);
                out.push((format!("{name} rule {n} swapped"), buf));
            }
        }
    }
    out
}

#[test]
fn inputs_from_every_rule() {
    let mut oracle = Oracle::new("rule inputs");
    let inputs = rule_inputs();
    assert!(inputs.len() > 5000);
    for (label, bytes) in &inputs {
        oracle.check(label, bytes);
    }
}

/// xorshift64*: reproducible noise without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| match alphabet {
                [] => self.next() as u8,
                _ => alphabet[self.next() as usize % alphabet.len()],
            })
            .collect()
    }
}

#[test]
fn random_and_text() {
    let mut oracle = Oracle::new("random and text");
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    oracle.check(&"empty", b"");
    for b in 0..=255u8 {
        oracle.check(&format!("byte {b}"), &[b]);
        oracle.check(&format!("bytes {b} 0"), &[b, 0]);
    }
    let printable: Vec<u8> = (b' '..=b'~').chain(*b"\n\n\t").collect();
    for i in 0..400 {
        let len = (noise.next() % 3000) as usize;
        oracle.check(&format!("random {i}"), &noise.bytes(len, &[]));
        let len = (noise.next() % 3000) as usize;
        let text = noise.bytes(len, &printable);
        oracle.check(&format!("printable {i}"), &text);
    }
    // Random bytes behind each database value at its offset.
    for (name, rules) in database() {
        for rule in rules.iter().filter(|r| r.indent == 0) {
            let mut buf = noise.bytes(rule.offset, &[]);
            buf.extend_from_slice(rule.value);
            let len = (noise.next() % 600) as usize;
            buf.extend(noise.bytes(len, &[]));
            oracle.check(&format!("{name} value + noise"), &buf);
        }
    }
    let texts: [&[u8]; 14] = [
        b"Hello,\n\nplease find the report attached.\n\nRegards\n",
        b"#!/bin/sh\necho hello\n",
        b"#!/usr/bin/env python3\nprint('hi')\n",
        b"#!/usr/bin/perl\nprint 1;\n",
        b"import os\nimport sys\n",
        b"<?xml version=\"1.0\"?>\n<root/>\n",
        b"<html><body>hi</body></html>\n",
        b"%PDF-1.4 not really\n",
        b"MZ is also how this line starts\n",
        b"\x7fELF\x02\x01\x01 in text",
        b"function f() { return 1; }\n",
        b"PK\x03\x04",
        b"From: someone\nSubject: hi\n\nbody\n",
        "Grüße aus Köln — ça va?\n".as_bytes(),
    ];
    for text in texts {
        oracle.check(&String::from_utf8_lossy(text), text);
    }
}

/// The decoded attachment of a corpus message whose type is `detected`.
fn corpus_part(file: &str) -> Vec<u8> {
    let raw = std::fs::read(corpus_dir().join(file)).expect("corpus file");
    let m = Message::parse(&raw, &Limits::default());
    let part = m.parts.iter().find(|p| p.is_attachment()).expect(file);
    part.decode(magic::PREFIX).bytes
}

#[test]
fn it_filters() {
    for (file, detected) in [
        ("04-clean-pdf.eml", "application/pdf"),
        ("03-clean-png.eml", "image/png"),
        ("05-clean-txt-attachment.eml", "text/plain"),
    ] {
        let bytes = corpus_part(file);
        assert_eq!(magic::detect(&bytes)[0], detected, "{file}");
        assert!(!magic::could_match(&DEFAULT, &bytes), "{file}");
    }
    let text = b"Dear all,\n\nthe minutes of today's meeting.\n";
    assert!(!magic::could_match(&DEFAULT, text));
    for file in [
        "10-pe-invoice-exe.eml",
        "11-pe-renamed-report-txt.eml",
        "12-elf-nopie-data-bin.eml",
        "13-elf-pie-data-bin.eml",
        "14-elf-sharedlib-plugin-bin.eml",
        "16-mz-text-not-pe.eml",
    ] {
        let bytes = corpus_part(file);
        assert!(magic::could_match(&DEFAULT, &bytes), "{file}");
        let types = magic::detect(&bytes);
        assert!(DEFAULT.iter().any(|p| magic::matches(p, &types, &bytes)));
    }
    assert!(!magic::could_match(&[], b"MZ"));
    assert!(magic::could_match(&["text/plain"], b"\0"));
    assert!(magic::could_match(&["*"], b""));
    assert!(!magic::could_match(&["no/such-type"], b"MZ"));
    assert!(!magic::could_match(&["application/x-msi"], b"\xd0\xcf"));
    assert!(magic::could_match(&["image/*"], b"\x89PNG\r\n\x1a\n"));
}

/// Run with `cargo test --release -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn timing() {
    use std::time::Instant;
    let inputs = [
        corpus_part("04-clean-pdf.eml"),
        corpus_part("03-clean-png.eml"),
        corpus_part("05-clean-txt-attachment.eml"),
        corpus_part("10-pe-invoice-exe.eml"),
        corpus_part("12-elf-nopie-data-bin.eml"),
    ];
    let rounds = 20_000;
    for bytes in &inputs {
        let start = Instant::now();
        let mut hits = 0;
        for _ in 0..rounds {
            hits += usize::from(magic::could_match(
                std::hint::black_box(&DEFAULT),
                std::hint::black_box(bytes),
            ));
        }
        let each = start.elapsed() / rounds;
        let first = magic::could_match(&DEFAULT, bytes);
        eprintln!("could_match(default) = {first}: {each:?} ({hits})");
        assert!(each.as_micros() < 50);
    }
    let start = Instant::now();
    let _ = magic::detect(&inputs[0]);
    eprintln!("first detect: {:?}", start.elapsed());
}

#[test]
fn a_truncated_head_stays_safe() {
    let listed = ["application/x-msdownload", "application/x-executable"];
    // A rule that reaches past a truncated head counts as possible...
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n";
    assert!(magic::could_match_head(&listed, b"", false));
    // ...while a complete part is judged on what it is.
    assert!(!magic::could_match_head(&listed, pdf, true));
    // A head of a few KiB is enough to rule out the executables.
    let mut long = pdf.to_vec();
    long.resize(4096, b'x');
    assert!(!magic::could_match_head(&listed, &long, false));
    assert!(magic::could_match_head(&listed, b"MZ\x90\x00", false));
}
