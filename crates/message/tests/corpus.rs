/*!
The shared test corpus: every message category, parsed as qmvc parses it.
*/

use qmvc_message::loader::LoaderType;
use qmvc_message::{
    archive, loader, magic, DefectKind, Encoding, Limits, Message, Part,
    PartKind,
};

const EICAR: &[u8] =
    b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn load(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/");
    std::fs::read(format!("{dir}{name}"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse(raw: &[u8]) -> Message<'_> {
    Message::parse(raw, &Limits::default())
}

/// The corpus files, without those that are meant to have defects.
fn clean_names() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("corpus")
        .map(|e| e.expect("entry").file_name().into_string().expect("name"))
        .filter(|n| n.ends_with(".eml"))
        .filter(|n| {
            !["57", "58", "60", "61", "62", "63", "82"].contains(&&n[..2])
        })
        .collect();
    names.sort();
    assert!(names.len() > 45, "corpus missing: {names:?}");
    names
}

fn attachments<'m>(m: &'m Message<'_>) -> Vec<&'m Part<'m>> {
    m.parts.iter().filter(|p| p.is_attachment()).collect()
}

fn types(part: &Part<'_>) -> Vec<&'static str> {
    magic::detect(&part.decode(magic::PREFIX).bytes)
}

fn loader_of(part: &Part<'_>) -> Option<LoaderType> {
    loader::detect(&part.decode(usize::MAX).bytes)
}

#[test]
fn no_defects_where_none_belong() {
    for name in clean_names() {
        let raw = load(&name);
        let m = parse(&raw);
        assert!(m.header.defects.is_empty(), "{name}: {:?}", m.header.defects);
        assert!(m.defects.is_empty(), "{name}: {:?}", m.defects);
        assert!(m.encoding_defects().is_empty(), "{name}");
        assert!(!m.too_large && !m.parts.is_empty(), "{name}");
        assert_eq!((m.parts[0].id.as_str(), m.parts[0].depth), ("1", 0));
    }
}

#[test]
fn required_fields() {
    let cases = [
        ("50-hdr-no-date.eml", "date"),
        ("51-hdr-no-to.eml", "to"),
        ("52-hdr-no-message-id.eml", "message-id"),
        ("54-hdr-no-subject.eml", "subject"),
    ];
    for (name, field) in cases {
        let raw = load(name);
        let m = parse(&raw);
        assert!(m.header.get(field).is_none(), "{name}");
        assert!(m.header.get("from").is_some(), "{name}");
    }
    let raw = load("53-hdr-no-from.eml");
    let m = parse(&raw);
    assert!(
        m.header.get("from").is_none() && m.header.get("sender").is_none()
    );
    let raw = load("55-hdr-empty-subject.eml");
    assert_eq!(parse(&raw).header.value("Subject").as_deref(), Some(""));
    let raw = load("56-hdr-no-date-no-msgid.eml");
    let m = parse(&raw);
    assert!(
        m.header.get("date").is_none() && m.header.get("message-id").is_none()
    );
    let raw = load("01-clean-plain.eml");
    let m = parse(&raw);
    for field in ["Date", "From", "To", "Subject", "Message-ID"] {
        assert!(m.header.value(field).is_some_and(|v| !v.is_empty()));
    }
}

#[test]
fn header_syntax_defects() {
    let raw = load("57-hdr-garbage-line.eml");
    let m = parse(&raw);
    assert_eq!(m.header.defects, ["line 9: not a header field"]);
    for field in ["date", "from", "to", "subject", "message-id"] {
        assert!(m.header.get(field).is_some(), "{field}");
    }
    assert!(m.defects.is_empty());

    let raw = load("58-hdr-8bit-raw.eml");
    let m = parse(&raw);
    assert_eq!(m.header.defects.len(), 1);
    assert!(m.header.value("subject").is_some_and(|s| s.contains("Grüße")));

    let raw = load("82-rob-200k-subject-line.eml");
    let m = parse(&raw);
    assert_eq!(m.header.defects.len(), 1);
    assert!(m.header.defects[0].contains("998"));
    let subject = m.header.value("subject").unwrap_or_default();
    assert!(subject.len() > 100_000);

    let raw = load("83-rob-200k-subject-folded.eml");
    let folded = parse(&raw).header.value("subject").unwrap_or_default();
    assert!(folded.len() > 100_000 && !folded.contains('\n'));
}

#[test]
fn mime_defects() {
    let raw = load("60-mime-missing-close-boundary.eml");
    let m = parse(&raw);
    assert_eq!(m.defects.len(), 1);
    assert_eq!(m.defects[0].kind, DefectKind::Structure);
    assert_eq!(m.parts.len(), 3);
    assert_eq!(m.parts[2].body, b"Part two.\n");
    assert_eq!(m.parts[2].filename.as_deref(), Some("notes.txt"));

    let raw = load("61-mime-no-boundary-param.eml");
    let m = parse(&raw);
    assert_eq!(m.defects.len(), 1);
    assert_eq!(m.defects[0].kind, DefectKind::Structure);
    assert_eq!(m.parts.len(), 1);
    assert_eq!(m.parts[0].kind, PartKind::Leaf);

    let raw = load("62-mime-bad-base64-chars.eml");
    let m = parse(&raw);
    assert!(m.defects.is_empty());
    let defects = m.encoding_defects();
    assert_eq!(defects.len(), 1);
    assert_eq!(
        (defects[0].kind, defects[0].part.as_str()),
        (DefectKind::Encoding, "1.2")
    );
    let text = m.parts[2].text(1 << 20).unwrap_or_default();
    assert!(text.contains("otherwise unremarkable"), "{text}");

    let raw = load("63-mime-cte-x-unknown.eml");
    let m = parse(&raw);
    assert_eq!(m.defects.len(), 1);
    assert_eq!(
        (m.defects[0].kind, m.defects[0].part.as_str()),
        (DefectKind::Structure, "1.2")
    );
    assert_eq!(m.parts[2].encoding, Encoding::Unknown("x-unknown".into()));
    assert_eq!(m.parts[2].decode(100).bytes, b"Zm9vYmFy");
}

#[test]
fn file_names() {
    let cases = [
        ("20-fn-rfc2231-exe.eml", "invoice.exe"),
        ("21-fn-rfc2047-name.eml", "Rechnung März.exe"),
        ("22-fn-uppercase-exe.eml", "INVOICE.EXE"),
        ("23-fn-double-extension.eml", "invoice.pdf.exe"),
        ("24-fn-ctype-name-only.eml", "invoice.exe"),
        ("25-fn-rfc2231-continuation.eml", "invoice.exe"),
        ("28-fn-inline-disposition.eml", "invoice.exe"),
        ("85-rob-crlf.eml", "invoice.exe"),
    ];
    for (name, expected) in cases {
        let raw = load(name);
        let m = parse(&raw);
        let names: Vec<_> =
            m.parts.iter().filter_map(|p| p.filename.as_deref()).collect();
        assert_eq!(names, [expected], "{name}");
        assert!(
            attachments(&m).iter().any(|p| p.filename.is_some()),
            "{name}"
        );
    }
    let raw = load("28-fn-inline-disposition.eml");
    assert_eq!(parse(&raw).parts[2].disposition.as_deref(), Some("inline"));
    let raw = load("26-fn-other-globs.eml");
    let m = parse(&raw);
    let names: Vec<_> =
        m.parts.iter().filter_map(|p| p.filename.as_deref()).collect();
    assert_eq!(
        names,
        ["readme.vbs", "photo.scr", "document.pif", "script.js"]
    );
    let raw = load("08-clean-lookalike-names.eml");
    let m = parse(&raw);
    let names: Vec<_> =
        m.parts.iter().filter_map(|p| p.filename.as_deref()).collect();
    assert_eq!(
        names,
        ["setup.exe.txt", "report.exe.pdf", "tool.js.txt", "photo.scr.png"]
    );
}

#[test]
fn magic_types() {
    let only = |name: &str| {
        let raw = load(name);
        let m = parse(&raw);
        let a = attachments(&m);
        assert_eq!(a.len(), 1, "{name}");
        (types(a[0]), loader_of(a[0]))
    };
    let (t, l) = only("03-clean-png.eml");
    assert_eq!((t[0], l), ("image/png", None));
    let (t, l) = only("04-clean-pdf.eml");
    assert_eq!((t[0], l), ("application/pdf", None));
    let (t, l) = only("09-clean-declared-msdownload.eml");
    assert_eq!((t, l), (vec!["text/plain"], None));
    for name in ["10-pe-invoice-exe.eml", "11-pe-renamed-report-txt.eml"] {
        let (t, l) = only(name);
        assert_eq!(t[0], "application/vnd.microsoft.portable-executable");
        assert!(t.contains(&"application/x-msdownload"));
        assert!(t.contains(&"application/x-executable"));
        assert_eq!(l, Some(LoaderType::Pe), "{name}");
        assert!(magic::matches("application/x-msdownload", &t, &[]));
        assert!(magic::matches("application/x-*", &t, &[]));
        assert!(!magic::matches("image/*", &t, &[]));
    }
    for name in [
        "12-elf-nopie-data-bin.eml",
        "13-elf-pie-data-bin.eml",
        "14-elf-sharedlib-plugin-bin.eml",
    ] {
        let (t, l) = only(name);
        assert!(t.contains(&"application/x-executable"), "{name}: {t:?}");
        assert_eq!(l, Some(LoaderType::Elf), "{name}");
    }
    let (t, l) = only("15-macho-tool-bin.eml");
    assert_eq!(
        (t, l),
        (vec!["application/octet-stream"], Some(LoaderType::MachO))
    );
    let (t, l) = only("16-mz-text-not-pe.eml");
    assert!(t.contains(&"application/x-msdownload"), "{t:?}");
    assert_eq!(l, None);
    let (t, l) = only("40-eicar-com-base64.eml");
    assert_eq!((t, l), (vec!["text/plain"], None));
}

#[test]
fn no_loader_type_in_harmless_attachments() {
    for name in clean_names() {
        if name.starts_with('1') && name.as_bytes()[1] != b'6' {
            continue;
        }
        let raw = load(&name);
        let m = parse(&raw);
        for part in attachments(&m) {
            assert_eq!(loader_of(part), None, "{name} {}", part.id);
        }
    }
}

#[test]
fn zip_members() {
    let listing = |name: &str| {
        let raw = load(name);
        let m = parse(&raw);
        let a = attachments(&m);
        assert_eq!(types(a[0])[0], "application/zip");
        let bytes = a[0].decode(usize::MAX).bytes;
        assert!(archive::is_zip(&bytes));
        archive::list_zip(
            &bytes,
            &Limits::default(),
            &archive::Budget::new(256 << 20),
        )
    };
    let l = listing("30-zip-setup-exe.eml");
    let names: Vec<_> = l.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["setup.exe", "readme.txt"]);
    assert!(l.members.iter().all(|m| m.path.is_empty()));
    assert_eq!((l.truncated, l.error), (None, None));
    let l = listing("31-zip-readme-clean.eml");
    assert_eq!(l.members.len(), 1);
    assert_eq!(l.members[0].name, "readme.txt");
    let l = listing("41-eicar-in-zip.eml");
    assert_eq!(l.members[0].name, "eicar.com");
}

#[test]
fn decoded_text() {
    let text = |name: &str, part: usize| {
        let raw = load(name);
        let m = parse(&raw);
        m.parts[part].text(1 << 20)
    };
    let t = text("73-body-qp-softbreak.eml", 0).unwrap_or_default();
    assert!(t.contains("Kill the Boss before Friday"), "{t}");
    let t = text("74-body-html-only.eml", 2).unwrap_or_default();
    assert!(t.to_lowercase().contains("kill the boss"), "{t}");
    assert!(!text("74-body-html-only.eml", 1)
        .unwrap_or_default()
        .contains("boss"));
    assert_eq!(text("74-body-html-only.eml", 0), None);
    let t = text("75-body-base64-text.eml", 0).unwrap_or_default();
    assert!(t.contains("kill the boss"), "{t}");
    let t = text("84-rob-nul-bytes.eml", 0).unwrap_or_default();
    assert!(t.contains('\0') && t.contains("kill the boss"), "{t:?}");
    let t = text("85-rob-crlf.eml", 1).unwrap_or_default();
    assert_eq!(t, "Reminder: kill the boss at the LAN party.");
    let t = text("06-clean-latin1-8bit.eml", 0).unwrap_or_default();
    assert!(t.contains('ü') || t.contains('ä') || t.contains('ö'), "{t}");
    let t = text("43-eicar-plain-body.eml", 0).unwrap_or_default();
    assert_eq!(t.as_bytes(), [EICAR, b"\n"].concat());

    // The line break before the delimiter belongs to the delimiter.
    let raw = load("42-eicar-qp-text.eml");
    let m = parse(&raw);
    assert_eq!(m.parts[2].decode(usize::MAX).bytes, EICAR);
    let raw = load("40-eicar-com-base64.eml");
    let m = parse(&raw);
    assert_eq!(m.parts[2].decode(usize::MAX).bytes, EICAR);
    assert_eq!(m.parts[2].text(100), None);
}

#[test]
fn subjects() {
    let subject = |name: &str| parse(&load(name)).header.value("subject");
    assert_eq!(
        subject("71-subj-rfc2047-q.eml").as_deref(),
        Some("make money fast")
    );
    assert_eq!(
        subject("06-clean-latin1-8bit.eml").as_deref(),
        Some("Grüße aus München")
    );
    assert_eq!(
        subject("72-subj-spam-tag.eml").as_deref(),
        Some("[SPAM] hello")
    );
}

#[test]
fn structure() {
    let raw = load("80-rob-nested-60.eml");
    let m = parse(&raw);
    assert_eq!(m.parts.len(), 61);
    let leaf = &m.parts[60];
    assert_eq!((leaf.kind, leaf.depth), (PartKind::Leaf, 60));
    assert_eq!(leaf.id, format!("1{}", ".1".repeat(60)));
    assert!(m.parts[..60].iter().all(|p| p.kind == PartKind::Multipart));

    let raw = load("81-rob-5000-parts.eml");
    let m = parse(&raw);
    assert_eq!(m.parts.len(), 5001);
    assert_eq!(m.parts[5000].id, "1.5000");
    assert_eq!(m.parts[5000].body, b"part 4999");
    assert_eq!(m.parts[1].mime_type, "text/plain");

    let raw = load("85-rob-crlf.eml");
    let m = parse(&raw);
    assert_eq!(m.parts.len(), 3);
    // The CRLF before the delimiter belongs to the delimiter.
    assert!(m.parts[1].body.ends_with(b"party."));
    assert!(m.parts[2].body.ends_with(b"Lgo="));

    let raw = load("86-rob-no-body.eml");
    let m = parse(&raw);
    assert_eq!(m.header.value("subject").as_deref(), Some("Headers only"));
    assert_eq!((m.parts.len(), m.parts[0].body.len()), (1, 0));

    let m = parse(b"");
    assert!(m.header.fields.is_empty() && m.header.defects.is_empty());
    assert_eq!(m.parts.len(), 1);

    let raw = load("94-clean-related-inline-image.eml");
    let m = parse(&raw);
    let a = attachments(&m);
    assert_eq!((a.len(), a[0].filename.as_deref()), (1, Some("logo.png")));
}
