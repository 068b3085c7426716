/*!
Every errormail bit on its own: one `mailheaders` setting, a message that
fails only that check, and the code in field 3 of qmvc.log. The same
message passes when the setting is off, and a clean message passes with
the setting on.
*/

use crate::mail::{Mail, Part};
use crate::util::{Dir, Layer};

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
