/*!
Every errormail bit on its own: one `mailheaders` setting, a message that
fails only that check, and the code in field 3 of qmvc.log. The same
message passes when the setting is off, and a clean message passes with
the setting on.
*/

use std::time::{Duration, Instant};

use crate::mail::{self, Mail, Part};
use crate::util::{entries_in, files_in, Dir, Layer};

/// Runs `mail` under `filters: errormail ; block` and `mailheaders:
/// setting`; returns the errormail code logged.
fn code(dir: &Dir, setting: &str, mail: &[u8]) -> u32 {
    dir.filters("errormail ; block ; ; ;\n");
    dir.control(Layer::System, "mailheaders", setting);
    let out = dir.run(&[], mail);
    let line = dir.last_log(Layer::System);
    let expected = if line.errormail() == 0 { 0 } else { 99 };
    out.assert_code(expected);
    if line.errormail() == 0 {
        assert_eq!(line.result(), "clear", "{}", line.raw);
    } else {
        assert_eq!(line.result(), "errormail", "{}", line.raw);
    }
    line.errormail()
}

/// Checks bit `bit` of `setting` with `bad` (fails only that check).
fn check_bit(dir: &Dir, setting: &str, bit: u32, bad: &[u8]) {
    assert_eq!(code(dir, setting, bad), bit, "{setting} on the bad message");
    assert_eq!(code(dir, setting, &Mail::new().bytes()), 0, "{setting} clean");
    assert_eq!(code(dir, "", bad), 0, "no setting, bad message");
}

qmvctest!(bit_1_header_strict, |dir: Dir| {
    let bad = Mail::new().raw_header("This line is not a header").bytes();
    check_bit(&dir, "header=strict\n", 1, &bad);
});

qmvctest!(bit_1_raw_8bit_header, |dir: Dir| {
    let bad = Mail::new().subject("Grüße").bytes();
    assert_eq!(code(&dir, "header=strict\n", &bad), 1);
});

qmvctest!(bit_1_second_subject, |dir: Dir| {
    let bad = Mail::new().add_header("Subject", "again").bytes();
    assert_eq!(code(&dir, "header=strict\n", &bad), 1);
});

qmvctest!(bit_1_line_over_998_octets, |dir: Dir| {
    let bad = Mail::new().subject(&"word ".repeat(300)).bytes();
    assert_eq!(code(&dir, "header=strict\n", &bad), 1);
    let folded = "word\n ".repeat(300);
    let good = Mail::new().subject(folded.trim_end()).bytes();
    assert_eq!(code(&dir, "header=strict\n", &good), 0);
});

qmvctest!(bit_1_date_grammar, |dir: Dir| {
    // RFC 5322 section 3.3 with the obsolete forms of section 4.3.
    let bad = Mail::new().header("Date", "yesterday afternoon").bytes();
    check_bit(&dir, "header=strict\n", 1, &bad);
    let resent = Mail::new().add_header("Resent-Date", "2026-12-06").bytes();
    assert_eq!(code(&dir, "header=strict\n", &resent), 1);
    for good in ["6 Dec 26 18:00 GMT", "Sun (day), 6 Dec 2026 18:00:00 EST"] {
        let mail = Mail::new().header("Date", good).bytes();
        assert_eq!(code(&dir, "header=strict\n", &mail), 0, "{good}");
    }
});

qmvctest!(bit_2_date_required, |dir: Dir| {
    check_bit(
        &dir,
        "date=required\n",
        2,
        &Mail::new().without("Date").bytes(),
    );
});

qmvctest!(bit_4_to_required, |dir: Dir| {
    check_bit(&dir, "to=required\n", 4, &Mail::new().without("To").bytes());
});

qmvctest!(bit_8_msgid_required, |dir: Dir| {
    let bad = Mail::new().without("Message-ID").bytes();
    check_bit(&dir, "msgid=required\n", 8, &bad);
});

qmvctest!(bit_16_from_required, |dir: Dir| {
    check_bit(
        &dir,
        "from=required\n",
        16,
        &Mail::new().without("From").bytes(),
    );
});

qmvctest!(bit_16_sender_counts_as_from, |dir: Dir| {
    let mail =
        Mail::new().without("From").header("Sender", "alice@example.net");
    assert_eq!(code(&dir, "from=required\n", &mail.bytes()), 0);
});

qmvctest!(bit_32_subject_required, |dir: Dir| {
    let bad = Mail::new().without("Subject").bytes();
    check_bit(&dir, "subject=required\n", 32, &bad);
});

qmvctest!(bit_32_empty_subject, |dir: Dir| {
    let bad = Mail::new().subject("").bytes();
    assert_eq!(code(&dir, "subject=required\n", &bad), 32);
});

qmvctest!(bit_64_mime_strict, |dir: Dir| {
    let good =
        Mail::new().mixed(vec![Part::text("one\n"), Part::text("two\n")]);
    let text = String::from_utf8(good.bytes()).unwrap();
    // Cut the closing delimiter off.
    let cut = text.rfind("\n--").unwrap();
    let bad = format!("{}\n", &text[..cut]);
    check_bit(&dir, "mime=strict\n", 64, bad.as_bytes());
    assert_eq!(code(&dir, "mime=strict\n", good.bytes().as_slice()), 0);
});

qmvctest!(bit_64_unknown_transfer_encoding, |dir: Dir| {
    let part = Part::new(
        &[
            ("Content-Type", "application/octet-stream; name=\"a.bin\""),
            ("Content-Transfer-Encoding", "x-unknown"),
        ],
        b"abc\n",
    );
    let bad = Mail::new().mixed(vec![Part::text("hi\n"), part]).bytes();
    assert_eq!(code(&dir, "mime=strict\n", &bad), 64);
});

qmvctest!(bit_64_encoded_message_or_multipart, |dir: Dir| {
    // RFC 2045 section 6.4: only 7bit, 8bit or binary for composites.
    let inner = Mail::new().subject("inner").bytes();
    let part = Part::base64("message/rfc822", &[], &inner);
    let bad = Mail::new().mixed(vec![Part::text("hi\n"), part]).bytes();
    assert_eq!(code(&dir, "mime=strict\n", &bad), 64);
    let plain = Part::new(&[("Content-Type", "message/rfc822")], &inner);
    let good = Mail::new().mixed(vec![Part::text("hi\n"), plain]).bytes();
    assert_eq!(code(&dir, "mime=strict\n", &good), 0);
});

qmvctest!(bit_64_base64_that_does_not_decode, |dir: Dir| {
    let part = Part::new(
        &[
            ("Content-Type", "application/octet-stream; name=\"a.bin\""),
            ("Content-Transfer-Encoding", "base64"),
        ],
        b"SGVsbG8*!#gd29ybGQ=\n",
    );
    let bad = Mail::new().mixed(vec![Part::text("hi\n"), part]).bytes();
    assert_eq!(code(&dir, "mime=strict\n", &bad), 64);
});

qmvctest!(bit_128_header_content, |dir: Dir| {
    let bad = Mail::new().header("X-Spam-Status", "Yes, score=9.1").bytes();
    check_bit(&dir, "+x-spam-status=yes\n", 128, &bad);
    let no = Mail::new().header("X-Spam-Status", "No, score=0.1").bytes();
    assert_eq!(code(&dir, "+x-spam-status=yes\n", &no), 0);
});

qmvctest!(short_forms_and_sum_of_bits, |dir: Dir| {
    let settings = "header=s\ndate=r\nto=r\nmsgid=r\nfrom=r\nsubject=r\n\
                    mime=s\n+x-spam-status=yes\n";
    let bad = Mail::new()
        .without("Date")
        .without("To")
        .without("Message-ID")
        .without("From")
        .without("Subject")
        .header("X-Spam-Status", "yes")
        .bytes();
    assert_eq!(code(&dir, settings, &bad), 2 + 4 + 8 + 16 + 32 + 128);
    assert_eq!(code(&dir, settings, &Mail::new().bytes()), 0);
});

qmvctest!(empty_message_misses_every_field, |dir: Dir| {
    let settings = "header=strict\ndate=required\nto=required\n\
                    msgid=required\nfrom=required\nsubject=required\n\
                    mime=strict\n";
    assert_eq!(code(&dir, settings, b""), 2 + 4 + 8 + 16 + 32);
});

qmvctest!(lax_and_optional_turn_checks_off, |dir: Dir| {
    let settings = "date=required\ndate=optional\nheader=lax\n";
    let bad = Mail::new().without("Date").bytes();
    assert_eq!(code(&dir, settings, &bad), 0);
});

/// Runs `mail` with the built-in profile (plus `limits` when given) and
/// checks that a limit kept it from passing (issue 11, item 10): exit
/// 99, the message in save/error/new, bit 256 in the logged code.
fn kept_at_a_limit(dir: &Dir, limits: Option<&str>, mail: &[u8]) {
    if let Some(limits) = limits {
        dir.control(Layer::System, "limits", limits);
    }
    let started = Instant::now();
    let out = dir.run(&[], mail);
    let took = started.elapsed();
    out.assert_code(99);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "errormail", "{}", line.raw);
    assert_ne!(line.errormail() & 256, 0, "{}", line.raw);
    let save = dir.layer(Layer::System).join("save/error/new");
    assert_eq!(files_in(&save).len(), 1, "{}", out.describe());
    // A normal message still passes.
    dir.run(&[], &Mail::new().bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).errormail(), 0);
}

/// The top of a message with `fields` extra header fields (not counting
/// the usual ones) and a multipart/mixed body with boundary `b`.
fn with_fields(fields: usize) -> Vec<u8> {
    let mut mail = Mail::new()
        .header("Content-Type", "multipart/mixed; boundary=\"b\"")
        .body(b"")
        .bytes();
    mail.truncate(mail.len() - 1);
    for i in 0..fields {
        mail.extend_from_slice(format!("X-F: {i}\n").as_bytes());
    }
    mail.extend_from_slice(b"\n--b\n\nhi\n--b--\n");
    mail
}

qmvctest!(bit_256_header_fields, |dir: Dir| {
    kept_at_a_limit(&dir, None, &with_fields(100_000));
});

qmvctest!(bit_256_header_fields_of_a_part, |dir: Dir| {
    let mut mail = Mail::new()
        .header("Content-Type", "multipart/mixed; boundary=\"b\"")
        .body(b"--b\n")
        .bytes();
    for i in 0..100_001 {
        mail.extend_from_slice(format!("X-F: {i}\n").as_bytes());
    }
    mail.extend_from_slice(b"\nhi\n--b--\n");
    kept_at_a_limit(&dir, None, &mail);
});

qmvctest!(bit_256_parts, |dir: Dir| {
    let parts = vec![Part::text("x\n"); 10_001];
    kept_at_a_limit(&dir, None, &Mail::new().mixed(parts).bytes());
});

qmvctest!(bit_256_nested_multiparts, |dir: Dir| {
    let mut part = Part::text("x\n");
    for _ in 0..101 {
        part = Part::multipart("mixed", vec![part]);
    }
    let mail = Mail::new().mixed(vec![part]).bytes();
    kept_at_a_limit(&dir, None, &mail);
});

qmvctest!(bit_256_zip_members, |dir: Dir| {
    let names: Vec<String> = (0..1_001).map(|i| format!("f{i}.txt")).collect();
    let members: Vec<(&str, &[u8])> =
        names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let archive = mail::zip(&members);
    let part = Part::attachment("many.zip", "application/zip", &archive);
    kept_at_a_limit(&dir, None, &Mail::new().mixed(vec![part]).bytes());
});

qmvctest!(bit_256_inflate_budget, |dir: Dir| {
    let inner = mail::zip(&[("evil.exe", &b"x".repeat(4096)[..])]);
    let outer = mail::zip(&[("inner.zip", &inner)]);
    let part = Part::attachment("outer.zip", "application/zip", &outer);
    let mail = Mail::new().mixed(vec![part]).bytes();
    kept_at_a_limit(&dir, Some("archivebytes=100\n"), &mail);
});

qmvctest!(bit_256_over_scansize, |dir: Dir| {
    let body = "All work and no play makes Jack a dull boy.\n".repeat(100);
    let mail = Mail::new().body(body.as_bytes()).bytes();
    kept_at_a_limit(&dir, Some("scansize=1K\n"), &mail);
});

qmvctest!(bits_option_selects_the_line, |dir: Dir| {
    // Bit 64 only: a line for bit 1 does not apply, one for 64 does.
    let mut bad = Mail::new().header("Content-Type", "multipart/mixed");
    bad = bad.body(b"no boundary\n");
    let bad = bad.bytes();
    dir.control(Layer::System, "mailheaders", "mime=strict\n");
    dir.filters("errormail ; block ; ; bits=1 ;\n");
    dir.run(&[], &bad).assert_code(0);
    let line = dir.last_log(Layer::System);
    assert_eq!((line.result(), line.errormail()), ("clear", 64));
    dir.filters("errormail ; block ; ; bits=65 ;\n");
    dir.run(&[], &bad).assert_code(99);
    // Several lines that apply: each action is carried out, the result
    // names errormail once.
    dir.filters("errormail ; inspect ; ; ;\nerrormail ; keep ; ; bits=64 ;\n");
    dir.run(&[], &bad).assert_code(99);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "errormail", "{}", line.raw);
    let save = dir.layer(Layer::System).join("save/error/new");
    assert_eq!(files_in(&save).len(), 1);
    let inspect = dir.layer(Layer::System).join("inspect");
    assert_eq!(entries_in(&inspect).len(), 1);
});
