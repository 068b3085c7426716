/*!
Archives of every format and disguised names (issue 14, SPEC section 10),
through the real binary: each format carries a bad name that is met and
has a clean twin that passes, so that blocking every archive fails here.
The archives are built with the formats' own writers (7z with the real
7z); the RAR archives are real ones made by rar (`tests/data/rar/`,
whose README says whence) beside some built from the published layout.
*/

use std::io::Write;
use std::time::Duration;

use crate::mail::{self, Mail, Part};
use crate::util::{files_in, Dir, Layer, LogLine};

/// A profile that evaluates only `condition` (default action: block),
/// with `entries` in its control file `control`.
fn only(dir: &Dir, condition: &str, control: &str, entries: &str) {
    dir.filters(&format!("{condition} ; ; ; ;\n"));
    dir.control(Layer::System, control, entries);
}

fn with_attachment(part: Part) -> Vec<u8> {
    Mail::new().mixed(vec![Part::text("See attachment.\n"), part]).bytes()
}

#[track_caller]
fn assert_met(dir: &Dir, mail: &[u8], condition: &str) -> LogLine {
    let out = dir.run(&[], mail);
    out.assert_code(99);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.conditions(), vec![condition], "{}", line.raw);
    line
}

#[track_caller]
fn assert_clear(dir: &Dir, mail: &[u8]) {
    let out = dir.run(&[], mail);
    out.assert_code(0);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "clear", "{}", line.raw);
}

pub fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn gzip(data: &[u8], name: Option<&[u8]>) -> Vec<u8> {
    let mut builder = flate2::GzBuilder::new();
    if let Some(name) = name {
        builder = builder.filename(name);
    }
    let mut w = builder.write(Vec::new(), flate2::Compression::default());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

pub fn bzip2(data: &[u8]) -> Vec<u8> {
    let level = bzip2::Compression::fast();
    let mut w = bzip2::write::BzEncoder::new(Vec::new(), level);
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut w = liblzma::write::XzEncoder::new(Vec::new(), 1);
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// Each format around `members`, with the part name it is sent under.
fn every_format(members: &[(&str, &[u8])]) -> Vec<(&'static str, Vec<u8>)> {
    let tar = tar_of(members);
    vec![
        ("files.tar", tar.clone()),
        ("files.tar.gz", gzip(&tar, None)),
        ("files.tgz", gzip(&tar, Some(b"files.tar"))),
        ("files.tar.bz2", bzip2(&tar)),
        ("files.tar.xz", xz(&tar)),
        ("files.zip", mail::zip(members)),
    ]
}

qmvctest!(member_names_of_every_format, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let bad: &[(&str, &[u8])] =
        &[("docs/readme.txt", b"read me\n"), ("bin/setup.exe", b"x")];
    let clean: &[(&str, &[u8])] = &[("docs/readme.txt", b"read me\n")];
    for (name, archive) in every_format(bad) {
        let part =
            Part::attachment(name, "application/octet-stream", &archive);
        let line = assert_met(&dir, &with_attachment(part), "badfilename");
        let rep = dir.rep_text(Layer::System);
        assert!(rep.contains("bin/setup.exe"), "{name}: {}", line.raw);
    }
    for (name, archive) in every_format(clean) {
        let part =
            Part::attachment(name, "application/octet-stream", &archive);
        assert_clear(&dir, &with_attachment(part));
    }
});

qmvctest!(compressed_files_are_named_without_the_suffix, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    for (name, packed) in [
        ("setup.exe.gz", gzip(b"x", None)),
        ("setup.exe.bz2", bzip2(b"x")),
        ("setup.exe.xz", xz(b"x")),
        // The name gzip stores wins over the part's.
        ("notes.gz", gzip(b"x", Some(b"setup.exe"))),
    ] {
        let part = Part::attachment(name, "application/octet-stream", &packed);
        assert_met(&dir, &with_attachment(part), "badfilename");
    }
    for (name, packed) in [
        ("notes.txt.gz", gzip(b"x", None)),
        ("notes.txt.bz2", bzip2(b"x")),
        ("notes.txt.xz", xz(b"x")),
    ] {
        let part = Part::attachment(name, "application/octet-stream", &packed);
        assert_clear(&dir, &with_attachment(part));
    }
});

qmvctest!(the_kind_comes_from_the_content, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let tgz = gzip(&tar_of(&[("run.exe", b"x")]), None);
    let part = Part::attachment("holiday.jpg", "image/jpeg", &tgz);
    assert_met(&dir, &with_attachment(part), "badfilename");
    // A name that says archive on content that is none lists nothing.
    let part =
        Part::attachment("files.tar.gz", "application/gzip", b"plain text\n");
    assert_clear(&dir, &with_attachment(part));
});

qmvctest!(nested_across_formats, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let inner = mail::zip(&[("deep/evil.exe", b"x")]);
    let tbz = bzip2(&tar_of(&[("inner.zip", &inner)]));
    let outer = mail::zip(&[("readme.txt", b"hi\n"), ("pack.tbz", &tbz)]);
    let part = Part::attachment("outer.zip", "application/zip", &outer);
    assert_met(&dir, &with_attachment(part), "badfilename");
    let rep = dir.rep_text(Layer::System);
    assert!(
        rep.contains("pack.tbz/pack.tar/inner.zip/deep/evil.exe"),
        "{rep}"
    );
});

/// A tar.gz of a header then `copies` gzip members of 16 MiB of zeros
/// each: a small attachment that inflates to gigabytes.
fn tar_gz_bomb(copies: usize) -> Vec<u8> {
    let head = tar_of(&[("bomb.bin", b"")]);
    let mut out = gzip(&head[..512], None);
    let block = gzip(&vec![0u8; 16 << 20], None);
    for _ in 0..copies {
        out.extend_from_slice(&block);
    }
    out
}

/// Runs the built-in profile on a message with the bomb `part`: kept
/// (exit 99) as not fully examined (errormail 256) for less than
/// `bound` of CPU time: what the bomb costs, whatever else the machine
/// is doing (wall time would measure the machine).
#[track_caller]
fn assert_bomb_kept(dir: &Dir, part: Part, bound: Duration) {
    let out = dir.run(&[], &with_attachment(part));
    out.assert_code(99);
    let cpu = out.cpu.expect("wait4 gives the CPU time");
    crate::util::note(&format!("bomb: CPU {cpu:?}"));
    assert!(cpu < bound, "{}", out.describe());
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "errormail", "{}", line.raw);
    assert_ne!(line.errormail() & 256, 0, "{}", line.raw);
}

qmvctest!(bombs_are_kept_at_the_limit_quickly, |dir: Dir| {
    // 64 copies: 1 GiB inflated if nothing stopped it.
    let gz = tar_gz_bomb(64);
    assert!(gz.len() < 2 << 20);
    let bz = {
        let head = tar_of(&[("bomb.bin", b"")]);
        let mut out = bzip2(&head[..512]);
        let block = bzip2(&vec![0u8; 16 << 20]);
        for _ in 0..64 {
            out.extend_from_slice(&block);
        }
        out
    };
    for (name, bomb) in [("bomb.tar.gz", gz), ("bomb.tar.bz2", bz)] {
        let part = Part::attachment(name, "application/octet-stream", &bomb);
        assert_bomb_kept(&dir, part, Duration::from_millis(500));
    }
    let save = dir.layer(Layer::System).join("save/error/new");
    assert_eq!(files_in(&save).len(), 2);
    // The clean twin passes.
    let small = gzip(&tar_of(&[("notes.txt", &[0u8; 4096])]), None);
    let part = Part::attachment("notes.tar.gz", "application/gzip", &small);
    dir.run(&[], &with_attachment(part)).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).errormail(), 0);
});

/// A zip of `copies` members `part0.zip`, `part1.zip`, ... each holding
/// `content` deflated: packed once, laid down `copies` times.
fn deflated_zip(content: &[u8], copies: usize) -> Vec<u8> {
    let crc = crc32(content);
    let mut deflate = flate2::write::DeflateEncoder::new(
        Vec::new(),
        flate2::Compression::best(),
    );
    deflate.write_all(content).unwrap();
    let packed = deflate.finish().unwrap();
    let names: Vec<String> =
        (0..copies).map(|i| format!("part{i}.zip")).collect();
    let members: Vec<mail::ZipMember> = names
        .iter()
        .map(|name| mail::ZipMember {
            name,
            method: 8,
            crc,
            size: u32::try_from(content.len()).unwrap(),
            packed: &packed,
        })
        .collect();
    mail::zip_of(&members)
}

qmvctest!(a_zip_bomb_stops_at_the_budget_quickly, |dir: Dir| {
    // 64 members that look like zips (the magic, then 16 MiB of zeros),
    // each read whole to be listed: 1 GiB if nothing stopped it.
    let mut content = b"PK\x03\x04".to_vec();
    content.resize(16 << 20, 0);
    let bomb = deflated_zip(&content, 64);
    assert!(bomb.len() < 2 << 20, "{}", bomb.len());
    let part = Part::attachment("files.zip", "application/zip", &bomb);
    assert_bomb_kept(&dir, part, Duration::from_millis(500));
    let rep = dir.rep_text(Layer::System);
    assert!(rep.contains("part16.zip: not opened whole"), "{rep}");
    assert!(rep.contains("(archivebytes) is used up"), "{rep}");
    // The clean twin, the same layout with a text, passes.
    let twin = deflated_zip(&b"Some notes.\n".repeat(1000), 64);
    let part = Part::attachment("files.zip", "application/zip", &twin);
    dir.run(&[], &with_attachment(part)).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).result(), "clear");
});

qmvctest!(damaged_archives_are_the_messages_fault, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let tar = tar_of(&[("first.exe", &[b'a'; 600]), ("second.txt", b"x")]);
    for cut in [tar[..1536 + 100].to_vec(), {
        let gz = gzip(&tar, None);
        gz[..gz.len() - 20].to_vec()
    }] {
        let part = Part::attachment("cut.tar.gz", "application/gzip", &cut);
        // The name before the damage is still met; never 111.
        assert_met(&dir, &with_attachment(part), "badfilename");
    }
    // Junk behind each magic: not a crash, not a deferral.
    for magic in [&b"\x1f\x8b\x08"[..], b"BZh9", b"\xfd7zXZ\x00"] {
        let mut junk = magic.to_vec();
        junk.extend_from_slice(&[0x55; 400]);
        let part = Part::attachment("junk.bin", "application/gzip", &junk);
        dir.run(&[], &with_attachment(part)).assert_code(0);
    }
});

/// A name that reads `résuméodt.pdf` but is `résumé<U+202E>fdp.odt`:
/// not caught by any extension, only by the bidi control.
const DISGUISED: &str = "r\u{e9}sum\u{e9}\u{202E}fdp.odt";

/// The parts that carry [`DISGUISED`]: plain UTF-8 in quotes, RFC 2231,
/// RFC 2047, and inside a tar.gz.
fn disguised_parts() -> Vec<Part> {
    let body = b"Just some text.\n";
    let ctype = ("Content-Type", "application/octet-stream");
    let cte = ("Content-Transfer-Encoding", "7bit");
    let tgz = gzip(&tar_of(&[(&format!("cv/{DISGUISED}"), b"x")]), None);
    vec![
        Part::attachment(DISGUISED, "application/octet-stream", body),
        Part::new(
            &[
                ctype,
                cte,
                (
                    "Content-Disposition",
                    "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%E2%80%AEfdp.odt",
                ),
            ],
            body,
        ),
        Part::new(
            &[
                (
                    "Content-Type",
                    "application/octet-stream; \
                     name=\"=?UTF-8?Q?r=C3=A9sum=C3=A9=E2=80=AEfdp.odt?=\"",
                ),
                cte,
            ],
            body,
        ),
        Part::attachment("cv.tar.gz", "application/gzip", &tgz),
    ]
}

qmvctest!(bidi_controls_are_blocked_by_the_built_in_list, |dir: Dir| {
    // The built-in badfilenames, only badfilename evaluated.
    dir.filters("badfilename ; ; ; ;\n");
    for part in disguised_parts() {
        let mail = with_attachment(part);
        assert_met(&dir, &mail, "badfilename");
        // qmvc.rep keeps the exact name as data.
        let reports = dir.reports(Layer::System);
        let last = reports.last().unwrap();
        let m = &last["conditions"][0]["matches"][0];
        assert_eq!(m["pattern"].as_str(), Some(":bidi"), "{m:?}");
        let name = m["filename"].as_str().unwrap_or_default();
        assert!(name.ends_with(DISGUISED), "{m:?}");
        // -t shows the control, never the character itself.
        let out = dir.run(&["-t"], &mail);
        assert!(out.stdout.contains("<U+202E>"), "{}", out.stdout);
        assert!(!out.stdout.contains('\u{202E}'), "{}", out.stdout);
    }
    // Every other bidi control, and the clean twins.
    for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}']
        .into_iter()
        .chain(['\u{2067}', '\u{2068}', '\u{2069}'])
    {
        let name = format!("a{c}b.odt");
        let part = Part::attachment(&name, "application/octet-stream", b"x");
        assert_met(&dir, &with_attachment(part), "badfilename");
    }
    for name in ["r\u{e9}sum\u{e9}.odt", "\u{5e7}\u{5d5}\u{5d7}.odt"] {
        let part = Part::attachment(name, "application/octet-stream", b"x");
        assert_clear(&dir, &with_attachment(part));
    }
    let tgz = gzip(&tar_of(&[("cv/r\u{e9}sum\u{e9}.odt", b"x")]), None);
    let part = Part::attachment("cv.tar.gz", "application/gzip", &tgz);
    assert_clear(&dir, &with_attachment(part));
});

/// `zip` with the encryption flag (general purpose bit 0) set on its
/// first member, in the local header and the central directory.
fn encrypt_first(mut zip: Vec<u8>) -> Vec<u8> {
    zip[6] |= 1;
    let central = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    zip[central + 8] |= 1;
    zip
}

qmvctest!(encrypted_members_are_blocked_by_the_built_in_list, |dir: Dir| {
    // The built-in badloadertypes, only badloadertype evaluated.
    dir.filters("badloadertype ; ; ; ;\n");
    let members: &[(&str, &[u8])] =
        &[("secret/invoice.doc", b"data"), ("readme.txt", b"hi\n")];
    let locked = encrypt_first(mail::zip(members));
    let part = Part::attachment("invoice.zip", "application/zip", &locked);
    assert_met(&dir, &with_attachment(part), "badloadertype");
    let reports = dir.reports(Layer::System);
    let m = &reports.last().unwrap()["conditions"][0]["matches"][0];
    assert_eq!(m["pattern"].as_str(), Some("encrypted"), "{m:?}");
    assert_eq!(m["filename"].as_str(), Some("secret/invoice.doc"), "{m:?}");
    // Nested: an encrypted zip inside a tar.gz.
    let tgz = gzip(&tar_of(&[("in.zip", &locked)]), None);
    let part = Part::attachment("pack.tgz", "application/gzip", &tgz);
    assert_met(&dir, &with_attachment(part), "badloadertype");
    // The clean twins.
    let open = mail::zip(members);
    let part = Part::attachment("invoice.zip", "application/zip", &open);
    assert_clear(&dir, &with_attachment(part));
    let tgz = gzip(&tar_of(&[("in.zip", &open)]), None);
    let part = Part::attachment("pack.tgz", "application/gzip", &tgz);
    assert_clear(&dir, &with_attachment(part));
});

qmvctest!(mime_strict_flags_damaged_archives, |dir: Dir| {
    dir.control(Layer::System, "mailheaders", "mime=strict\n");
    dir.filters("errormail ; block ; ; bits=64 ;\n");
    let tar = tar_of(&[("first.txt", &[b'a'; 600]), ("second.txt", b"x")]);
    let gz = gzip(&tar, None);
    let cut = &gz[..gz.len() - 20];
    let part = Part::attachment("cut.tar.gz", "application/gzip", cut);
    dir.run(&[], &with_attachment(part)).assert_code(99);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.errormail() & 64, 64, "{}", line.raw);
    // The whole archive is clean.
    let part = Part::attachment("whole.tar.gz", "application/gzip", &gz);
    dir.run(&[], &with_attachment(part)).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).errormail(), 0);
});

/// A 7z archive of `members` made by the real 7z (p7zip) with `args`
/// (e.g. a password); `None` when 7z is not installed (a failure under
/// `CI=true`: scripts/test installs it).
fn sevenz(
    dir: &Dir,
    label: &str,
    members: &[(&str, &[u8])],
    args: &[&str],
) -> Option<Vec<u8>> {
    let tool = ["7z", "7za", "7zz"].into_iter().find(|tool| {
        std::process::Command::new(tool)
            .arg("i")
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok()
    });
    let Some(tool) = tool else {
        crate::util::missing("7z (p7zip-full)");
        return None;
    };
    let src = dir.path(&format!("7z-{label}"));
    for (name, data) in members {
        dir.write(&format!("7z-{label}/{name}"), data);
    }
    let out = dir.path(&format!("{label}.7z"));
    let status = std::process::Command::new(tool)
        .current_dir(&src)
        .args(["a", "-bd", "-y"])
        .args(args)
        .arg(&out)
        .args(members.iter().map(|(name, _)| *name))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{tool} a failed");
    Some(std::fs::read(&out).unwrap())
}

qmvctest!(sevenz_member_names, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let bad: &[(&str, &[u8])] =
        &[("docs/readme.txt", b"read me\n"), ("bin/setup.exe", b"x")];
    let clean: &[(&str, &[u8])] = &[("docs/readme.txt", b"read me\n")];
    // The default (an LZMA-compressed header) and a plain header.
    for args in [&[][..], &["-mhc=off"][..]] {
        let Some(archive) = sevenz(&dir, "bad", bad, args) else { return };
        // The kind comes from the content, not the name.
        let part = Part::attachment("files.dat", "application/x-7z", &archive);
        assert_met(&dir, &with_attachment(part), "badfilename");
        let rep = dir.rep_text(Layer::System);
        assert!(rep.contains("bin/setup.exe"), "{args:?}: {rep}");
        std::fs::remove_file(dir.path("bad.7z")).unwrap();
        let Some(archive) = sevenz(&dir, "clean", clean, args) else { return };
        let part = Part::attachment("files.7z", "application/x-7z", &archive);
        assert_clear(&dir, &with_attachment(part));
        std::fs::remove_file(dir.path("clean.7z")).unwrap();
    }
    // Nested: a 7z inside a tar.gz.
    let Some(archive) = sevenz(&dir, "nest", bad, &[]) else { return };
    let tgz = gzip(&tar_of(&[("in.7z", &archive)]), None);
    let part = Part::attachment("pack.tgz", "application/gzip", &tgz);
    assert_met(&dir, &with_attachment(part), "badfilename");
    let rep = dir.rep_text(Layer::System);
    assert!(rep.contains("in.7z/bin/setup.exe"), "{rep}");
});

qmvctest!(sevenz_encrypted_is_blocked_by_the_built_in_list, |dir: Dir| {
    dir.filters("badloadertype ; ; ; ;\n");
    let members: &[(&str, &[u8])] = &[("invoice.doc", b"data")];
    // Encrypted data, names readable; then encrypted names too.
    for (label, args, filename) in [
        ("data", &["-pSECRET", "-mhe=off"][..], "invoice.doc"),
        ("names", &["-pSECRET", "-mhe=on"][..], "(encrypted names)"),
    ] {
        let Some(locked) = sevenz(&dir, label, members, args) else { return };
        let part = Part::attachment("invoice.7z", "application/x-7z", &locked);
        assert_met(&dir, &with_attachment(part), "badloadertype");
        let reports = dir.reports(Layer::System);
        let m = &reports.last().unwrap()["conditions"][0]["matches"][0];
        assert_eq!(m["pattern"].as_str(), Some("encrypted"), "{m:?}");
        assert_eq!(m["filename"].as_str(), Some(filename), "{m:?}");
    }
    let Some(open) = sevenz(&dir, "open", members, &[]) else { return };
    let part = Part::attachment("invoice.7z", "application/x-7z", &open);
    assert_clear(&dir, &with_attachment(part));
});

qmvctest!(sevenz_damaged_is_flagged_under_mime_strict, |dir: Dir| {
    dir.control(Layer::System, "mailheaders", "mime=strict\n");
    dir.filters("errormail ; block ; ; bits=64 ;\n");
    let members: &[(&str, &[u8])] = &[("a.txt", b"a\n"), ("b.txt", b"b\n")];
    let Some(whole) = sevenz(&dir, "whole", members, &[]) else { return };
    let cut = &whole[..whole.len() - 10];
    let part = Part::attachment("cut.7z", "application/x-7z", cut);
    dir.run(&[], &with_attachment(part)).assert_code(99);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.errormail() & 64, 64, "{}", line.raw);
    let part = Part::attachment("whole.7z", "application/x-7z", &whole);
    dir.run(&[], &with_attachment(part)).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).errormail(), 0);
});

/// A RAR 5 archive of `members` (name, encrypted), each stored with a
/// few bytes of data: built field by field from the published "RAR 5.0
/// archive format" (CRCs left zero; qmvc reads only the headers).
fn rar5(members: &[(&str, bool)]) -> Vec<u8> {
    fn vint(n: usize) -> Vec<u8> {
        let (mut n, mut out) = (n, Vec::new());
        while n >= 0x80 {
            out.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out
    }
    // CRC, header size, type, flags (1: extra area, 2: data area),
    // sizes, fields, extra area, data.
    fn block(
        kind: usize,
        fields: &[u8],
        extra: &[u8],
        data: &[u8],
    ) -> Vec<u8> {
        let flags = usize::from(!extra.is_empty())
            | (2 * usize::from(!data.is_empty()));
        let mut header = vint(kind);
        header.extend(vint(flags));
        if !extra.is_empty() {
            header.extend(vint(extra.len()));
        }
        if !data.is_empty() {
            header.extend(vint(data.len()));
        }
        header.extend(fields);
        header.extend(extra);
        let mut out = vec![0; 4];
        out.extend(vint(header.len()));
        out.extend(header);
        out.extend(data);
        out
    }
    let mut out = b"Rar!\x1a\x07\x01\x00".to_vec();
    out.extend(block(1, &[0], &[], &[])); // main archive header
    for (name, encrypted) in members {
        // File flags, unpacked size, attributes, method (stored), host
        // OS (Unix), name length, name.
        let mut fields = vec![0, 4, 0x24, 0, 1];
        fields.extend(vint(name.len()));
        fields.extend(name.as_bytes());
        // The file encryption record: size 2, type 1, version 0.
        let extra: &[u8] = if *encrypted { &[2, 1, 0] } else { &[] };
        out.extend(block(2, &fields, extra, b"data"));
    }
    out.extend(block(5, &[0], &[], &[])); // end of archive
    out
}

qmvctest!(rar_member_names_and_encryption, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let bad = rar5(&[("docs/readme.txt", false), ("bin/setup.exe", false)]);
    let part = Part::attachment("files.bin", "application/x-rar", &bad);
    assert_met(&dir, &with_attachment(part), "badfilename");
    let rep = dir.rep_text(Layer::System);
    assert!(rep.contains("bin/setup.exe"), "{rep}");
    let clean = rar5(&[("docs/readme.txt", false)]);
    let part = Part::attachment("files.rar", "application/x-rar", &clean);
    assert_clear(&dir, &with_attachment(part));
    // The built-in badloadertypes block an encrypted member.
    dir.filters("badloadertype ; ; ; ;\n");
    let locked = rar5(&[("docs/readme.txt", false), ("invoice.doc", true)]);
    let part = Part::attachment("files.rar", "application/x-rar", &locked);
    assert_met(&dir, &with_attachment(part), "badloadertype");
    let reports = dir.reports(Layer::System);
    let m = &reports.last().unwrap()["conditions"][0]["matches"][0];
    assert_eq!(m["filename"].as_str(), Some("invoice.doc"), "{m:?}");
    let part = Part::attachment("files.rar", "application/x-rar", &clean);
    assert_clear(&dir, &with_attachment(part));
});

/// Every prefix and many byte flips of real 7z archives (a plain and a
/// compressed header) through the library: the reader never panics
/// (`list` would catch it and say that a reader failed).
#[test]
fn sevenz_hostile_headers_do_not_panic() {
    use qmvc_message::archive::{list, Budget};
    let dir = Dir::new("sevenz_hostile");
    let members: &[(&str, &[u8])] = &[("a.txt", b"a\n"), ("b/c.exe", b"c")];
    let mut samples = Vec::new();
    for (label, args) in [("packed", &[][..]), ("plain", &["-mhc=off"][..])] {
        let Some(archive) = sevenz(&dir, label, members, args) else { return };
        samples.push(archive);
    }
    let limits = qmvc_message::Limits::default();
    let check = |bytes: &[u8]| {
        let listing = list(bytes, None, &limits, &Budget::new(1 << 20));
        let failed = listing
            .error
            .as_deref()
            .is_some_and(|e| e.contains("reader failed"));
        assert!(!failed, "{listing:?}");
    };
    let mut state = 0x9e37_79b9_u32;
    for sample in &samples {
        // The header is at the end: every prefix, and flips there.
        for len in 0..=sample.len() {
            check(&sample[..len]);
        }
        for _ in 0..3000 {
            let mut flipped = sample.clone();
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let at = (state >> 8) as usize % flipped.len();
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            flipped[at] ^= (state >> 16) as u8 | 1;
            check(&flipped);
        }
    }
}

/// A zip holding one member `name`.
fn zip_holding(name: &str) -> Vec<u8> {
    mail::zip(&[(name, b"MZ\x90\x00 not really a program")])
}

qmvctest!(archives_inside_7z_are_looked_into, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let (evil, clean) = (zip_holding("evil.exe"), zip_holding("notes.txt"));
    let text = b"Some text to compress.\n".repeat(50);
    // The default (LZMA2, solid, BCJ on executables), BCJ on all (behind
    // LZMA2, then LZMA), copy, and a solid folder of many members with the zip after them.
    let many: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| (format!("f{i:02}.txt"), text.repeat(i + 1)))
        .collect();
    let cases: [(&str, &[&str], usize); 5] = [
        ("default", &[], 0),
        ("bcj", &["-mf=BCJ"], 0),
        // LZMA (1) has no end marker: the filter must still give the
        // zip's last bytes, its end of central directory.
        ("lzma-bcj", &["-m0=LZMA", "-mf=BCJ"], 0),
        ("copy", &["-mx0"], 0),
        ("solid", &["-ms=on"], 40),
    ];
    for (label, args, count) in cases {
        for (twin, zip) in [("bad", &evil), ("clean", &clean)] {
            let mut members: Vec<(&str, &[u8])> = many[..count]
                .iter()
                .map(|(n, d)| (n.as_str(), &d[..]))
                .collect();
            members.push(("setup.bin", &b"MZ\x90\x00\x03"[..]));
            members.push(("pack.zip", zip));
            let label = format!("{label}-{twin}");
            let Some(archive) = sevenz(&dir, &label, &members, args) else {
                return;
            };
            let part =
                Part::attachment("files.7z", "application/x-7z", &archive);
            if twin == "bad" {
                assert_met(&dir, &with_attachment(part), "badfilename");
                let rep = dir.rep_text(Layer::System);
                assert!(rep.contains("pack.zip/evil.exe"), "{label}: {rep}");
            } else {
                assert_clear(&dir, &with_attachment(part));
            }
        }
    }
});

qmvctest!(sevenz_bomb_stops_at_the_budget_quickly, |dir: Dir| {
    // 300 MiB of zeros (a sparse file: nothing on the disk) before a
    // zip, in one solid folder: some 70 KB that unpack past the 256M of
    // archivebytes before the zip is reached.
    std::fs::create_dir_all(dir.path("7z-bomb")).unwrap();
    let zeros = std::fs::File::create(dir.path("7z-bomb/big.bin")).unwrap();
    zeros.set_len(300 << 20).unwrap();
    drop(zeros);
    let zip = zip_holding("evil.exe");
    let members: &[(&str, &[u8])] = &[("z.zip", &zip)];
    let args = &["-mx1", "-ms=4g", "-i!big.bin"];
    let Some(bomb) = sevenz(&dir, "bomb", members, args) else { return };
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let part = Part::attachment("bomb.7z", "application/x-7z", &bomb);
    assert_bomb_kept(&dir, part, Duration::from_millis(700));
    let rep = dir.rep_text(Layer::System);
    assert!(rep.contains("z.zip and the members after it"), "{rep}");
});

/// CRC-32 (IEEE), as RAR 5 uses for headers and data (flate2's, the
/// gzip one).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// A RAR 5 archive of `(name, data, stored)` members, with its CRCs:
/// built field by field from the published "RAR 5.0 archive format".
/// A member not stored claims method 3 and carries `data` as is (no
/// RAR compressor is free): enough for qmvc, which does not unpack it.
fn rar5_with_crcs(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
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
        let flags = if data.is_empty() { 0 } else { 2 }; // a data area
        header.extend(vint(flags));
        if !data.is_empty() {
            header.extend(vint(data.len()));
        }
        header.extend(fields);
        let mut sized = vint(header.len());
        sized.extend(header);
        let mut out = crc32(&sized).to_le_bytes().to_vec();
        out.extend(sized);
        out.extend(data);
        out
    }
    let mut out = b"Rar!\x1a\x07\x01\x00".to_vec();
    out.extend(block(1, &[0], &[])); // main header, no archive flags
    for (name, data, stored) in members {
        let mut fields = vec![0x04]; // file flags: data CRC present
        fields.extend(vint(data.len()));
        fields.extend(vint(0o644)); // attributes
        fields.extend(crc32(data).to_le_bytes());
        // Compression information: version 0, method in bits 7 to 9.
        fields.extend(vint(if *stored { 0 } else { 3 << 7 }));
        fields.push(1); // Unix
        fields.extend(vint(name.len()));
        fields.extend(name.as_bytes());
        out.extend(block(2, &fields, data));
    }
    out.extend(block(5, &[0], &[])); // end of archive
    out
}

qmvctest!(archives_inside_rar, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let (evil, clean) = (zip_holding("evil.exe"), zip_holding("notes.txt"));
    let bad =
        rar5_with_crcs(&[("a.txt", b"text\n", true), ("in.zip", &evil, true)]);
    // A real RAR reader takes it whole, CRCs and all.
    let path = dir.write("stored.rar", &bad);
    let tested = std::process::Command::new("7z")
        .args(["t", "-bd"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .status();
    match tested {
        Ok(status) => assert!(status.success(), "7z t stored.rar failed"),
        Err(_) => crate::util::missing("7z (p7zip-full)"),
    }
    let part = Part::attachment("files.rar", "application/x-rar", &bad);
    assert_met(&dir, &with_attachment(part), "badfilename");
    let rep = dir.rep_text(Layer::System);
    assert!(rep.contains("in.zip/evil.exe"), "{rep}");
    let twin = rar5_with_crcs(&[
        ("a.txt", b"text\n", true),
        ("in.zip", &clean, true),
    ]);
    let part = Part::attachment("files.rar", "application/x-rar", &twin);
    assert_clear(&dir, &with_attachment(part));
    // Compressed: the names are checked, the zip is not looked into, and
    // the built-in profile keeps the message as not fully examined.
    std::fs::remove_file(dir.layer(Layer::System).join("control/filters"))
        .unwrap();
    let packed = rar5_with_crcs(&[("in.zip", &evil, false)]);
    let part = Part::attachment("files.rar", "application/x-rar", &packed);
    dir.run(&[], &with_attachment(part)).assert_code(99);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "errormail", "{}", line.raw);
    assert_ne!(line.errormail() & 256, 0, "{}", line.raw);
    let rep = dir.rep_text(Layer::System);
    assert!(rep.contains("members compressed"), "{rep}");
});

/// A real RAR archive made by the rar program (tests/data/rar/README
/// says whence they come and under which licence).
fn real_rar(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/rar/{name}", crate::util::ROOT);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

qmvctest!(real_rar_archives_of_both_versions, |dir: Dir| {
    for version in ["rar3", "rar5"] {
        // Directories, a space and a Unicode name (RAR 4 keeps it in its
        // own compressed Unicode form beside an OEM name).
        let archive = real_rar(&format!("{version}-subdirs.rar"));
        let mail = with_attachment(Part::attachment(
            "files.dat",
            "application/octet-stream",
            &archive,
        ));
        only(&dir, "badfilename", "badfilenames", "*/üȵĩöḋè/file.txt\n");
        assert_met(&dir, &mail, "badfilename");
        let rep = dir.rep_text(Layer::System);
        assert!(rep.contains("sub/üȵĩöḋè/file.txt"), "{version}: {rep}");
        only(
            &dir,
            "badfilename",
            "badfilenames",
            "*/with space/long fn.txt\n",
        );
        assert_met(&dir, &mail, "badfilename");
        // The twin: the same archive passes a list it does not meet.
        only(&dir, "badfilename", "badfilenames", "*.exe\n*/file3.txt\n");
        assert_clear(&dir, &mail);
    }
    // RAR 4 Unicode names outside the Basic Multilingual Plane.
    let mail = with_attachment(Part::attachment(
        "unicode.rar",
        "application/x-rar",
        &real_rar("unicode.rar"),
    ));
    only(&dir, "badfilename", "badfilenames", "*𝐁𝐂.txt\n");
    assert_met(&dir, &mail, "badfilename");
    only(&dir, "badfilename", "badfilenames", "уииоотивл.txt\n");
    assert_met(&dir, &mail, "badfilename");
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    assert_clear(&dir, &mail);
});

qmvctest!(real_rar_encryption_is_blocked_by_the_built_in_list, |dir: Dir| {
    dir.filters("badloadertype ; ; ; ;\n");
    let attach = |name: &str| {
        with_attachment(Part::attachment(
            "files.rar",
            "application/x-rar",
            &real_rar(name),
        ))
    };
    // Encrypted members: named in the report.
    for (locked, member) in
        [("rar3-comment-psw.rar", "file1.txt"), ("rar5-psw.rar", "stest1.txt")]
    {
        assert_met(&dir, &attach(locked), "badloadertype");
        let reports = dir.reports(Layer::System);
        let m = &reports.last().unwrap()["conditions"][0]["matches"][0];
        assert_eq!(m["filename"].as_str(), Some(member), "{locked}: {m:?}");
    }
    // Encrypted headers: no names, encrypted all the same.
    for locked in ["rar3-comment-hpsw.rar", "rar5-hpsw.rar"] {
        assert_met(&dir, &attach(locked), "badloadertype");
        let reports = dir.reports(Layer::System);
        let m = &reports.last().unwrap()["conditions"][0]["matches"][0];
        assert_eq!(m["loader_type"].as_str(), Some("encrypted"), "{m:?}");
        assert_eq!(
            m["filename"].as_str(),
            Some("(encrypted names)"),
            "{locked}: {m:?}"
        );
    }
    // The twins, the same names unencrypted, pass.
    for open in ["rar3-comment-plain.rar", "rar5-crc.rar"] {
        assert_clear(&dir, &attach(open));
    }
});
