/*!
Every condition met (and its near misses not met), each through the real
binary with a one-line `filters` whose action field is empty: the default
action `block`, exit 99.
*/

use crate::mail::{self, Mail, Part};
use crate::util::{Dir, Layer, LogLine};

/// A profile that evaluates only `condition`, with the default action,
/// and lists `entries` in its control file `control`.
fn only(dir: &Dir, condition: &str, control: &str, entries: &str) {
    dir.filters(&format!("{condition} ; ; ; ;\n"));
    dir.control(Layer::System, control, entries);
}

/// Runs `mail` and checks that exactly `condition` was met and blocked.
#[track_caller]
fn assert_met(dir: &Dir, mail: &[u8], condition: &str) -> LogLine {
    let out = dir.run(&[], mail);
    out.assert_code(99);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.conditions(), vec![condition], "{}", line.raw);
    assert_eq!(line.action(), "block", "{}", line.raw);
    line
}

/// Runs `mail` and checks that nothing was met.
#[track_caller]
fn assert_clear(dir: &Dir, mail: &[u8]) {
    let out = dir.run(&[], mail);
    out.assert_code(0);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "clear", "{}", line.raw);
    assert_eq!(line.action(), "pass", "{}", line.raw);
}

// badsubject

qmvctest!(subject_substring_is_case_insensitive, |dir: Dir| {
    only(&dir, "badsubject", "badsubjects", "make money fast\n");
    let mail = Mail::new().subject("Please MAKE Money FAST today");
    assert_met(&dir, &mail.bytes(), "badsubject");
});

qmvctest!(subject_regex_matches, |dir: Dir| {
    only(&dir, "badsubject", "badsubjects", "/^\\s*\\[spam\\]/\n");
    let mail = Mail::new().subject("  [SPAM] cheap watches");
    assert_met(&dir, &mail.bytes(), "badsubject");
});

qmvctest!(subject_regex_anchor_is_respected, |dir: Dir| {
    only(&dir, "badsubject", "badsubjects", "/^\\s*\\[spam\\]/\n");
    let mail = Mail::new().subject("Re: [SPAM] cheap watches");
    assert_clear(&dir, &mail.bytes());
});

qmvctest!(subject_rfc2047_q_is_decoded, |dir: Dir| {
    only(&dir, "badsubject", "badsubjects", "make money fast\n");
    let mail = Mail::new().subject("=?UTF-8?Q?make_money_fast?=");
    assert_met(&dir, &mail.bytes(), "badsubject");
});

qmvctest!(subject_rfc2047_b_is_decoded, |dir: Dir| {
    only(&dir, "badsubject", "badsubjects", "make money fast\n");
    let encoded = format!("=?utf-8?B?{}?=", mail::base64(b"Make money fast!"));
    let mail = Mail::new().subject(&encoded);
    assert_met(&dir, &mail.bytes(), "badsubject");
});

qmvctest!(subject_rfc2047_latin1_is_decoded, |dir: Dir| {
    only(&dir, "badsubject", "badsubjects", "grüße aus bern\n");
    let mail = Mail::new().subject("=?ISO-8859-1?Q?Gr=FC=DFe_aus_Bern?=");
    assert_met(&dir, &mail.bytes(), "badsubject");
});

qmvctest!(subject_without_pattern_is_clear, |dir: Dir| {
    only(&dir, "badsubject", "badsubjects", "make money fast\n");
    let mail = Mail::new().subject("Minutes of the money committee");
    assert_clear(&dir, &mail.bytes());
});

// badbodytext

qmvctest!(body_plain_text, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "kill the boss\n");
    let mail = Mail::new().text("We should Kill The Boss tomorrow.\n");
    assert_met(&dir, &mail.bytes(), "badbodytext");
});

qmvctest!(body_regex_spans_lines, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "/kill\\s+the\\s+boss/\n");
    let mail = Mail::new().text("We should kill the\nboss tomorrow.\n");
    assert_met(&dir, &mail.bytes(), "badbodytext");
});

qmvctest!(body_quoted_printable_soft_break, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "kill the boss\n");
    let part = Part::new(
        &[
            ("Content-Type", "text/plain; charset=us-ascii"),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ],
        b"We should Kill the =\nBoss tomorrow=2E\n",
    );
    assert_met(&dir, &Mail::new().part(part).bytes(), "badbodytext");
});

qmvctest!(body_base64_text, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "kill the boss\n");
    let part = Part::base64(
        "text/plain; charset=utf-8",
        &[],
        "Grüße,\nwe should kill the boss.\n".as_bytes(),
    );
    assert_met(&dir, &Mail::new().part(part).bytes(), "badbodytext");
});

qmvctest!(body_html_only, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "kill the boss\n");
    let mail = Mail::new().multipart(
        "alternative",
        vec![
            Part::text("Nothing to see here.\n"),
            Part::html("<html><body><p>kill the boss</p></body></html>\n"),
        ],
    );
    assert_met(&dir, &mail.bytes(), "badbodytext");
});

qmvctest!(body_phrase_hidden_by_markup, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "kill the boss\n");
    let html = "<p>kill <b>the</b>&nbsp;b&#111;ss</p>\n";
    let mail = Mail::new().part(Part::html(html));
    assert_met(&dir, &mail.bytes(), "badbodytext");
});

qmvctest!(body_phrase_broken_over_lines, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "kill  the boss\n");
    let mail = Mail::new().text("We should kill the\n  boss tomorrow.\n");
    assert_met(&dir, &mail.bytes(), "badbodytext");
});

qmvctest!(body_latin1_charset, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "grüße an den chef\n");
    let part = Part::new(
        &[
            ("Content-Type", "text/plain; charset=iso-8859-1"),
            ("Content-Transfer-Encoding", "8bit"),
        ],
        b"Viele Gr\xfc\xdfe an den Chef!\n",
    );
    assert_met(&dir, &Mail::new().part(part).bytes(), "badbodytext");
});

qmvctest!(body_after_nul_bytes, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "kill the boss\n");
    let mail =
        Mail::new().body(b"harmless\0\0\0 text\0 and then kill the boss\n");
    assert_met(&dir, &mail.bytes(), "badbodytext");
});

qmvctest!(body_of_binary_attachment_is_not_text, |dir: Dir| {
    only(&dir, "badbodytext", "badbodytexts", "kill the boss\n");
    let mail = Mail::new().mixed(vec![
        Part::text("Data attached.\n"),
        Part::attachment(
            "data.bin",
            "application/octet-stream",
            b"\x00\x01kill the boss\x02",
        ),
    ]);
    assert_clear(&dir, &mail.bytes());
});

// badfilename

fn with_attachment(part: Part) -> Vec<u8> {
    Mail::new().mixed(vec![Part::text("See attachment.\n"), part]).bytes()
}

fn harmless_part(fields: &[(&str, &str)]) -> Part {
    let mut headers = fields.to_vec();
    headers.push(("Content-Transfer-Encoding", "7bit"));
    Part::new(&headers, b"Just some harmless text.\n")
}

qmvctest!(filename_plain, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let part =
        Part::attachment("invoice.exe", "application/octet-stream", b"x");
    let line = assert_met(&dir, &with_attachment(part), "badfilename");
    let reports = dir.reports(Layer::System);
    let matches = &reports[0]["conditions"][0]["matches"];
    assert_eq!(
        matches[0]["filename"].as_str(),
        Some("invoice.exe"),
        "{line:?}"
    );
});

qmvctest!(filename_uppercase, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let part =
        Part::attachment("INVOICE.EXE", "application/octet-stream", b"x");
    assert_met(&dir, &with_attachment(part), "badfilename");
});

qmvctest!(filename_rfc2231_percent_encoded, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let part = harmless_part(&[
        ("Content-Type", "application/octet-stream"),
        ("Content-Disposition", "attachment; filename*=UTF-8''invoice%2Eexe"),
    ]);
    assert_met(&dir, &with_attachment(part), "badfilename");
});

qmvctest!(filename_rfc2231_continuation, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let part = harmless_part(&[
        ("Content-Type", "application/octet-stream"),
        (
            "Content-Disposition",
            "attachment;\n filename*0*=UTF-8''in;\n filename*1*=voice%2E;\n \
             filename*2*=e%78e",
        ),
    ]);
    assert_met(&dir, &with_attachment(part), "badfilename");
});

qmvctest!(filename_rfc2047_encoded_word, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let word = format!(
        "=?UTF-8?B?{}?=",
        mail::base64("Rechnung März.exe".as_bytes())
    );
    let ctype = format!("application/octet-stream; name=\"{word}\"");
    let disposition = format!("attachment; filename=\"{word}\"");
    let part = harmless_part(&[
        ("Content-Type", &ctype),
        ("Content-Disposition", &disposition),
    ]);
    assert_met(&dir, &with_attachment(part), "badfilename");
});

qmvctest!(filename_only_in_content_type, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let part = harmless_part(&[(
        "Content-Type",
        "application/octet-stream; name=\"invoice.exe\"",
    )]);
    assert_met(&dir, &with_attachment(part), "badfilename");
});

qmvctest!(filename_every_declared_name_counts, |dir: Dir| {
    // The sender must not choose which of two names a check sees.
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let both = harmless_part(&[
        ("Content-Type", "application/octet-stream; name=\"invoice.exe\""),
        ("Content-Disposition", "attachment; filename=\"invoice.pdf\""),
    ]);
    assert_met(&dir, &with_attachment(both), "badfilename");
    let twice = harmless_part(&[
        ("Content-Type", "application/octet-stream"),
        (
            "Content-Disposition",
            "attachment; filename=\"a.pdf\"; filename=\"a.exe\"",
        ),
    ]);
    assert_met(&dir, &with_attachment(twice), "badfilename");
    let two_fields = harmless_part(&[
        ("Content-Type", "application/octet-stream"),
        ("Content-Disposition", "attachment; filename=\"a.pdf\""),
        ("Content-Disposition", "attachment; filename=\"a.exe\""),
    ]);
    assert_met(&dir, &with_attachment(two_fields), "badfilename");
});

qmvctest!(filename_windows_suffixes_are_ignored, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    for name in ["a.exe.", "a.exe . .", "a.exe::$DATA", "a.exe:$DATA"] {
        let part = Part::attachment(name, "application/octet-stream", b"x");
        assert_met(&dir, &with_attachment(part), "badfilename");
    }
});

qmvctest!(filename_lookalike_is_not_met, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let part = Part::attachment("setup.exe.txt", "text/plain", b"hello\n");
    assert_clear(&dir, &with_attachment(part));
});

qmvctest!(filename_inside_zip, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let zip = mail::zip(&[
        ("readme.txt", b"read me\n"),
        ("setup.exe", b"not really a program\n"),
    ]);
    let part = Part::attachment("setup.zip", "application/zip", &zip);
    assert_met(&dir, &with_attachment(part), "badfilename");
});

qmvctest!(filename_inside_zip_is_clean_without_match, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let zip = mail::zip(&[("readme.txt", b"read me\n")]);
    let part = Part::attachment("docs.zip", "application/zip", &zip);
    assert_clear(&dir, &with_attachment(part));
});

qmvctest!(filename_inside_zip_in_zip, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let inner = mail::zip(&[("evil.exe", b"not really a program\n")]);
    let outer =
        mail::zip(&[("readme.txt", b"read me\n"), ("inner.zip", &inner)]);
    let part = Part::attachment("outer.zip", "application/zip", &outer);
    assert_met(&dir, &with_attachment(part), "badfilename");
});

qmvctest!(filename_inside_attached_message, |dir: Dir| {
    only(&dir, "badfilename", "badfilenames", "*.exe\n");
    let inner = Mail::new().subject("Fwd: invoice").mixed(vec![
        Part::text("Here it is.\n"),
        Part::attachment("invoice.exe", "application/octet-stream", b"x"),
    ]);
    let mail = Mail::new().mixed(vec![
        Part::text("Forwarded message.\n"),
        Part::message(&inner),
    ]);
    assert_met(&dir, &mail.bytes(), "badfilename");
});

// badmimetype

qmvctest!(mimetype_pe_declared_text_plain, |dir: Dir| {
    only(&dir, "badmimetype", "badmimetypes", "application/x-msdownload\n");
    let part = Part::attachment("report.txt", "text/plain", &mail::pe());
    assert_met(&dir, &with_attachment(part), "badmimetype");
});

qmvctest!(mimetype_glob, |dir: Dir| {
    only(&dir, "badmimetype", "badmimetypes", "application/x-*\n");
    let part =
        Part::attachment("data.bin", "application/octet-stream", &mail::elf());
    assert_met(&dir, &with_attachment(part), "badmimetype");
});

qmvctest!(mimetype_declared_type_is_not_used, |dir: Dir| {
    only(&dir, "badmimetype", "badmimetypes", "application/x-msdownload\n");
    let part = Part::attachment(
        "update.dat",
        "application/x-msdownload",
        b"Plain text that only claims to be a program.\n",
    );
    assert_clear(&dir, &with_attachment(part));
});

// badloadertype

qmvctest!(loadertype_pe, |dir: Dir| {
    only(&dir, "badloadertype", "badloadertypes", "PE\n");
    let part = Part::attachment("report.pdf", "application/pdf", &mail::pe());
    assert_met(&dir, &with_attachment(part), "badloadertype");
});

qmvctest!(loadertype_elf, |dir: Dir| {
    only(&dir, "badloadertype", "badloadertypes", "ELF\n");
    let part =
        Part::attachment("data.bin", "application/octet-stream", &mail::elf());
    assert_met(&dir, &with_attachment(part), "badloadertype");
});

qmvctest!(loadertype_base64_prefix, |dir: Dir| {
    only(&dir, "badloadertype", "badloadertypes", "TVqQA\n");
    let part = Part::attachment("invoice.pdf", "application/pdf", &mail::pe());
    assert_met(&dir, &with_attachment(part), "badloadertype");
});

qmvctest!(loadertype_not_listed_is_not_met, |dir: Dir| {
    only(&dir, "badloadertype", "badloadertypes", "ELF\nMachO\n");
    let part = Part::attachment(
        "invoice.exe",
        "application/octet-stream",
        &mail::pe(),
    );
    assert_clear(&dir, &with_attachment(part));
});

// virusmail

qmvctest!(virusmail_is_accepted_but_never_met, |dir: Dir| {
    dir.filters("virusmail ; block ; ; quitasap ;\n");
    let out = dir.run(&["-t"], &Mail::new().bytes());
    out.assert_code(0);
    assert!(
        out.stdout.contains("no scanner configured"),
        "{}",
        out.describe()
    );
    dir.run(&[], &Mail::new().bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).result(), "clear");
});

qmvctest!(matches_are_capped_per_condition, |dir: Dir| {
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    let parts = (0..150)
        .map(|i| {
            Part::attachment(
                &format!("f{i}.exe"),
                "application/octet-stream",
                b"x",
            )
        })
        .collect();
    let bytes = Mail::new().mixed(parts).bytes();
    dir.run(&[], &bytes).assert_code(99);
    let reports = dir.reports(Layer::System);
    let condition = &reports[0]["conditions"][0];
    assert_eq!(condition["matches"].as_sequence().unwrap().len(), 100);
    let skipped = reports[0]["skipped"][0].as_str().unwrap();
    assert!(skipped.contains("50 more matches"), "{skipped}");
});

/// A message/rfc822 part holding `inner`, encoded `encoding` (RFC 2045
/// forbids it; senders do it to hide what is inside).
fn encoded_message(inner: &[u8], encoding: &str) -> Part {
    let body = match encoding {
        "base64" => mail::base64(inner).into_bytes(),
        // Quoted-printable of ASCII lines shorter than 76: only `=`
        // needs encoding.
        _ => String::from_utf8(inner.to_vec())
            .unwrap()
            .replace('=', "=3D")
            .into_bytes(),
    };
    Part::new(
        &[
            ("Content-Type", "message/rfc822"),
            ("Content-Transfer-Encoding", encoding),
        ],
        &body,
    )
}

qmvctest!(filename_inside_encoded_message, |dir: Dir| {
    // Issue 11, item 11: the built-in profile, a base64 or
    // quoted-printable message/rfc822 holding invoice.exe, one level
    // and two levels deep.
    let exe = Part::attachment("invoice.exe", "application/pdf", b"MZ..\n");
    let inner = Mail::new().mixed(vec![Part::text("see\n"), exe]).bytes();
    for encoding in ["base64", "quoted-printable"] {
        let part = encoded_message(&inner, encoding);
        let mail = Mail::new().mixed(vec![Part::text("fwd\n"), part]).bytes();
        dir.run(&[], &mail).assert_code(99);
        let line = dir.last_log(Layer::System);
        assert!(line.conditions().contains(&"badfilename".to_string()));
        let out = dir.run(&["-t"], &mail);
        assert!(out.stdout.contains("invoice.exe"), "{}", out.describe());
        assert!(out.stdout.contains("1.2.1.2"), "{}", out.describe());
        // Encoded in encoded: each level decoded once.
        let middle =
            Mail::new().mixed(vec![encoded_message(&inner, encoding)]);
        let outer = encoded_message(&middle.bytes(), "base64");
        let mail = Mail::new().mixed(vec![outer]).bytes();
        dir.run(&[], &mail).assert_code(99);
        let line = dir.last_log(Layer::System);
        assert!(line.conditions().contains(&"badfilename".to_string()));
    }
    // A harmless attachment inside passes (errormail inspects the
    // encoding, RFC 2045 section 6.4: bit 64 only).
    let pdf = Part::attachment("invoice.pdf", "application/pdf", b"%PDF\n");
    let inner = Mail::new().mixed(vec![pdf]).bytes();
    let part = encoded_message(&inner, "base64");
    dir.run(&[], &Mail::new().mixed(vec![part]).bytes()).assert_code(0);
    let line = dir.last_log(Layer::System);
    assert_eq!((line.result(), line.errormail()), ("errormail", 64));
});
