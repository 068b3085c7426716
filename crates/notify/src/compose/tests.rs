use qmvc_message::{decode_words, Header};

use super::*;
use crate::{built_in, check_template, headers, Facts, MatchView};

const FROM: &str = "postmaster@example.com";
const TO: &str = "joe@example.com";

fn facts(subject: &str) -> Facts {
    Facts {
        sender: "sender@example.org".into(),
        recipient: TO.into(),
        subject: subject.into(),
        from: "Sender <sender@example.org>".into(),
        message_id: "<abc@example.org>".into(),
        date: "Mon, 1 Jan 2024 12:00:00 +0000".into(),
        size: 4321,
        result: "badfilename".into(),
        condition: "badfilename".into(),
        action: "block".into(),
        findings: vec![MatchView {
            condition: "badfilename".into(),
            pattern: "*.exe".into(),
            filename: "invoice.exe".into(),
            part: "2".into(),
            ..MatchView::default()
        }],
        findings_left_out: 0,
        viruses: Vec::new(),
        host: "mail.example.com".into(),
        guard: FROM.into(),
        now: "Mon, 1 Jan 2024 12:00:01 +0000".into(),
    }
}

/// The field names of the header of `message`, and its body.
fn parse(message: &[u8]) -> (Vec<String>, String) {
    let (header, body) = Header::parse(message);
    assert!(header.defects.is_empty(), "{:?}", header.defects);
    let names = header.fields.iter().map(|f| f.name.to_owned()).collect();
    (names, String::from_utf8(message[body..].to_vec()).unwrap())
}

fn subject_of(message: &[u8]) -> String {
    let (header, _) = Header::parse(message);
    header.value("Subject").unwrap()
}

const FIELDS: [&str; 9] = [
    "Date",
    "Message-ID",
    "From",
    "To",
    "Subject",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

const BLOCKED: &str =
    "Subject: Blocked: {{subject}}\n\nSubject was: {{subject}}\n";

#[test]
fn plain_notification() {
    let out = compose(BLOCKED, &facts("Hello"), FROM, TO).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    let (names, body) = parse(&out);
    assert_eq!(names, FIELDS);
    assert!(text.contains("\nFrom: postmaster@example.com\n"));
    assert!(text.contains("\nTo: joe@example.com\n"));
    assert!(text.contains("\nSubject: Blocked: Hello\n"));
    assert!(text.contains("\nAuto-Submitted: auto-replied\n"));
    assert!(text.contains("\nMIME-Version: 1.0\n"));
    assert!(text.contains("\nContent-Type: text/plain; charset=utf-8\n"));
    assert!(text.contains("\nContent-Transfer-Encoding: 7bit\n"));
    assert!(!text.contains('\r'));
    assert_eq!(body, "Subject was: Hello\n");
    let (header, _) = Header::parse(&out);
    let date = header.value("Date").unwrap();
    assert!(chrono::DateTime::parse_from_rfc2822(&date).is_ok(), "{date}");
    let id = header.value("Message-ID").unwrap();
    assert!(id.starts_with('<') && id.ends_with("@mail.example.com>"));
}

#[test]
fn crlf_bcc_in_the_subject_adds_no_field() {
    for subject in [
        "x\r\nBcc: victim@example.net",
        "\r\nBcc: x@y",
        "x\nBcc: x@y\n\nbody",
        "x\rBcc: x@y",
        "x\0Bcc: x@y",
        "x\u{2028}Bcc: x@y",
        "x\u{2029}Bcc: x@y",
        "x\u{85}Bcc: x@y",
        "x\u{b}\u{c}\u{1b}Bcc: x@y",
        "x\r\n Bcc: x@y",
        "ä\r\nBcc: x@y",
    ] {
        let out = compose(BLOCKED, &facts(subject), FROM, TO).unwrap();
        let (names, _) = parse(&out);
        assert_eq!(names, FIELDS, "{subject:?}");
        let (header, _) = Header::parse(&out);
        assert!(header.get("Bcc").is_none(), "{subject:?}");
        let decoded = subject_of(&out);
        assert!(decoded.starts_with("Blocked: "), "{decoded:?}");
        assert!(!decoded.chars().any(headers::is_breaking), "{decoded:?}");
        assert!(decoded.contains("Bcc: "), "{decoded:?}");
        for line in out.split(|&b| b == b'\n') {
            assert!(!line.contains(&b'\r') && !line.contains(&0));
        }
    }
}

#[test]
fn facts_decoded_from_rfc2047_are_treated_alike() {
    // "=?UTF-8?B?DQpCY2M6IHhAeQ==?=" is CR LF "Bcc: x@y"; the facts come
    // decoded.
    let subject = decode_words(b"=?UTF-8?B?DQpCY2M6IHhAeQ==?=");
    assert_eq!(subject, "\r\nBcc: x@y");
    let out = compose(BLOCKED, &facts(&subject), FROM, TO).unwrap();
    let (names, _) = parse(&out);
    assert_eq!(names, FIELDS);
    assert_eq!(subject_of(&out), "Blocked: Bcc: x@y");
}

#[test]
fn the_body_cannot_reach_the_header() {
    // A template that prints the subject on its Subject line and in the
    // body: the body may show the text, the header never gets a field.
    let template = "Subject: {{subject}}\n\n{{subject}}\n";
    let subject = "\n\nBcc: x@y\nX: y";
    let out = compose(template, &facts(subject), FROM, TO).unwrap();
    let (names, body) = parse(&out);
    assert_eq!(names, FIELDS);
    assert_eq!(body, "  Bcc: x@y X: y\n");
}

#[test]
fn non_ascii_subject_is_encoded_and_reads_back() {
    for subject in [
        "Grüße aus Köln",
        "Привет, мир",
        "日本語のテキスト",
        "emoji 🎉 party",
        &"Übergröße ".repeat(30),
        "=?UTF-8?B?QQ==?= literal",
    ] {
        let out = compose(BLOCKED, &facts(subject), FROM, TO).unwrap();
        let (header, _) = Header::parse(&out);
        let field = header.get("Subject").unwrap();
        assert!(field.raw.is_ascii());
        let raw = std::str::from_utf8(field.raw).unwrap();
        for word in raw.split_whitespace() {
            assert!(word.len() <= 75, "{word}");
        }
        let expected: String =
            format!("Blocked: {}", subject.trim()).chars().take(200).collect();
        let decoded = decode_words(field.raw);
        assert!(
            decoded.trim().starts_with(expected.trim()),
            "{decoded:?} / {expected:?}"
        );
    }
}

#[test]
fn umlauts_in_the_body_stay_utf8() {
    let template = "Subject: Grüße\n\nGrüße, {{subject}}: Größe {{size}}\n";
    let out = compose(template, &facts("Ärger"), FROM, TO).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\nContent-Transfer-Encoding: 8bit\n"));
    assert!(text.ends_with("\n\nGrüße, Ärger: Größe 4321\n"));
}

#[test]
fn no_html_escaping() {
    let template = "Subject: {{subject}}\n\n{{subject}} {{from}}\n";
    let out = compose(template, &facts("<b>&\"'"), FROM, TO).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\nSubject: <b>&\"'\n"));
    assert!(text.ends_with("\n\n<b>&\"' Sender <sender@example.org>\n"));
}

#[test]
fn unknown_variable_is_an_error() {
    let err = compose("Subject: x\n\nHi {{subjekt}}\n", &facts("a"), FROM, TO)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "line 3, column 4: unknown variable \"subjekt\"");
    let err = compose("Subject: {{nope}}\n\nb\n", &facts("a"), FROM, TO)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "line 1, column 10: unknown variable \"nope\"");
    let err = compose(
        "Subject: x\n\n{{#each findings}}{{virus}}{{nope}}{{/each}}\n",
        &facts("a"),
        FROM,
        TO,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown variable"), "{err}");
    assert!(check_template("Subject: x\n\n{{#if viruses}}{{nope}}{{/if}}\n")
        .is_err());
}

#[test]
fn syntax_errors_name_the_line() {
    let err = compose("Subject: x\n\nA\n{{#if x}\n", &facts("a"), FROM, TO)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("line 4, "), "{err}");
    let err = compose("Subject: x\n\n{{#if size}}\n", &facts("a"), FROM, TO)
        .unwrap_err()
        .to_string();
    assert!(!err.is_empty());
}

#[test]
fn layout_errors() {
    for (template, why) in [
        ("", "the template is empty"),
        ("Hello\n\nbody", "line 1: the template must start"),
        ("Subject: x\nbody\n", "line 2: the Subject line must be followed"),
        ("Subject: x", "line 2: an empty line and the body must follow"),
        ("{{!-- open\n\nSubject: x\n\nb", "line 1: the comment"),
    ] {
        let err =
            compose(template, &facts("a"), FROM, TO).unwrap_err().to_string();
        assert!(err.starts_with(why), "{template:?}: {err}");
    }
}

#[test]
fn leading_comments_and_crlf_templates() {
    let template =
        "\u{feff}{{! one }}\n{{!-- two --}}\n\n{{!--\n three\n--}}\n\
                    subject: S {{size}}\r\n\r\nBody {{size}}\r\nline 2\r\n";
    let out = compose(template, &facts("a"), FROM, TO).unwrap();
    let (names, body) = parse(&out);
    assert_eq!(names, FIELDS);
    assert_eq!(subject_of(&out), "S 4321");
    assert_eq!(body, "Body 4321\nline 2\n");
    let err = compose(
        "{{!-- c --}}\n{{! d }}\nSubject: {{x}}\n\nb\n",
        &facts("a"),
        FROM,
        TO,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("line 3, "), "{err}");
}

#[test]
fn addresses_must_be_clean() {
    for (from, to) in [
        ("a@b\nBcc: c@d", TO),
        (FROM, "a@b\r\nX: y"),
        (FROM, "a@b\0"),
        ("", TO),
        (FROM, "ä@b"),
        (FROM, "a\u{2028}@b"),
    ] {
        assert!(compose(BLOCKED, &facts("a"), from, to).is_err());
    }
}

#[test]
fn control_characters_in_the_body() {
    // From the facts: every one a space, so each fact stays on its line.
    let template = "Subject: x\n\n[{{subject}}]\n";
    let subject = "a\r\nb\rc\0d\u{1b}e\tf\u{85}g\u{2028}h";
    let out = compose(template, &facts(subject), FROM, TO).unwrap();
    let (_, body) = parse(&out);
    assert_eq!(body, "[a  b c d e f g h]\n");
    // From the template: line ends made LF, TAB kept, the rest U+FFFD.
    let template = "Subject: x\n\na\r\nb\rc\0d\u{1b}e\tf";
    let out = compose(template, &facts(""), FROM, TO).unwrap();
    let (_, body) = parse(&out);
    assert_eq!(body, "a\nb\nc\u{fffd}d\u{fffd}e\tf\n");
}

#[test]
fn long_body_lines_are_wrapped() {
    let template = "Subject: x\n\n{{subject}}\n";
    let words = "wort ".repeat(200);
    let solid = "ä".repeat(510);
    for subject in [words.as_str(), solid.as_str()] {
        let out = compose(template, &facts(subject), FROM, TO).unwrap();
        let (_, body) = parse(&out);
        assert!(body.lines().count() > 1);
        for line in body.lines() {
            assert!(line.len() <= 998, "{}", line.len());
        }
        assert_eq!(body.replace('\n', ""), subject.trim_end_matches('\n'));
    }
}

#[test]
fn rendering_is_bounded() {
    // 100 findings times a subject of 1 KiB five times over is over
    // MAX_PART: cut after the last whole line, with a note, and sent.
    let mut f = facts(&"s".repeat(1 << 20));
    f.findings = vec![MatchView::default(); 5000];
    let template = "Subject: x\n\n{{#each findings}}\
        {{../subject}}{{../subject}}{{../subject}}{{../subject}}\
        {{../subject}}{{../subject}}{{../subject}}{{../subject}}\
        {{../subject}}{{../subject}}\n{{/each}}\n";
    let out = compose(template, &f, FROM, TO).unwrap();
    assert!(out.len() < super::MAX_RENDERED, "{}", out.len());
    let (_, body) = parse(&out);
    assert!(body.ends_with(CUT_NOTE), "{}", &body[body.len() - 200..]);
    assert!(CUT_NOTE.contains(&super::MAX_PART.to_string()));
    // The cut falls after a whole line of the rendered text.
    let kept = body.strip_suffix(CUT_NOTE).unwrap().replace('\n', "");
    assert!(!kept.is_empty() && kept.len() % (10 * MAX_TEXT) == 0);
    // Facts are cut: 1 KiB of subject, 100 findings, and the rest
    // counted.
    let template = "Subject: x\n\n{{subject}}|{{#each findings}}.{{/each}}\
                    |{{findings_left_out}}|{{viruses_left_out}}\n";
    f.findings[0].filename = "n".repeat(10_000);
    let template_names =
        "Subject: x\n\n{{#each findings}}{{filename}}{{/each}}\n";
    let out = compose(template, &f, FROM, TO).unwrap();
    let (_, body) = parse(&out);
    assert_eq!(body.matches('.').count(), MAX_LIST);
    assert_eq!(body.matches('s').count(), MAX_TEXT);
    assert!(body.ends_with(&format!("|{}|0\n", 5000 - MAX_LIST)), "{body}");
    let out = compose(template_names, &f, FROM, TO).unwrap();
    let (_, body) = parse(&out);
    assert_eq!(body.matches('n').count(), MAX_FIELD);
    // A subject of a megabyte gives a short Subject line.
    let out = compose(
        BLOCKED.replace("Subject was: {{subject}}", "b").as_str(),
        &f,
        FROM,
        TO,
    )
    .unwrap();
    assert!(subject_of(&out).len() < 300);
}

#[test]
fn no_recursion_through_partials() {
    let template =
        "Subject: x\n\n{{#*inline \"a\"}}{{> a}}{{/inline}}{{> a}}\n";
    let err =
        compose(template, &facts("a"), FROM, TO).unwrap_err().to_string();
    assert!(err.contains("inline partials are not supported"), "{err}");
    let err = compose("Subject: x\n\n{{> other}}\n", &facts("a"), FROM, TO)
        .unwrap_err()
        .to_string();
    assert!(err.contains("other"), "{err}");
}

#[test]
fn message_ids_are_unique() {
    let a = compose(BLOCKED, &facts("a"), FROM, TO).unwrap();
    let b = compose(BLOCKED, &facts("a"), FROM, TO).unwrap();
    let id = |m: &[u8]| Header::parse(m).0.value("Message-ID").unwrap();
    assert_ne!(id(&a), id(&b));
    let mut f = facts("a");
    f.host = "evil>\r\nBcc: x@y".into();
    let out = compose(BLOCKED, &f, FROM, TO).unwrap();
    assert!(id(&out).ends_with("@evilBccxy>"), "{}", id(&out));
    assert_eq!(parse(&out).0, FIELDS);
}

#[test]
fn shipped_templates_render() {
    for lang in ["en", "de"] {
        for kind in ["notifyrecipient", "notifysender", "informguard"] {
            let template = built_in(lang, kind).unwrap();
            check_template(template).unwrap();
            for action in ["block", "keep"] {
                let mut f = facts("Rechnung\r\nBcc: x@y");
                f.action = action.into();
                f.viruses = vec!["Eicar-Test-Signature".into()];
                f.findings.push(MatchView {
                    condition: "virusmail".into(),
                    virus: "Eicar-Test-Signature".into(),
                    scanner: "clamd".into(),
                    part: "3".into(),
                    ..MatchView::default()
                });
                let out = compose(template, &f, FROM, TO).unwrap();
                let (names, body) = parse(&out);
                assert_eq!(names, FIELDS, "{lang}/{kind}");
                assert!(body.contains("invoice.exe"), "{lang}/{kind}");
                assert!(body.contains("Eicar-Test-Signature"));
                assert!(!body.contains("{{"), "{lang}/{kind}");
                assert!(!body.contains("\n\n\n"), "{lang}/{kind}:\n{body}");
            }
        }
        assert_eq!(built_in(lang, "forwardguard"), None);
    }
    assert_eq!(built_in("fr", "notifysender"), None);
    assert_eq!(built_in("en", "nothing"), None);
}

#[test]
fn the_helpers_qmvc_templates_5_names() {
    let mut f = facts("s");
    f.viruses = vec!["V1".into(), "V2".into()];
    let template = "Subject: {{len findings}} {{{subject}}}\n\n\
                    {{#each viruses}}{{@index}}={{this}}{{#unless @last}},\
                    {{/unless}}{{/each}}\n\
                    {{#if (and (eq action \"block\") (gt size 1000))}}big\
                    {{else}}small{{/if}}\n\
                    {{#each findings}}{{../host}}:{{condition}}{{/each}}\n\
                    {{#unless (ne condition \"badfilename\")}}yes{{/unless}}\n\
                    {{#if (or (not viruses) (lt size 5))}}a{{else}}b{{/if}}\n\
                    {{! a comment }}{{!-- another --}}end\n";
    let out = compose(template, &f, FROM, TO).unwrap();
    assert_eq!(subject_of(&out), "1 s");
    let (_, body) = parse(&out);
    assert_eq!(
        body,
        "0=V1,1=V2\nbig\nmail.example.com:badfilename\nyes\nb\nend\n"
    );
}

#[test]
fn the_example_of_qmvc_templates_5() {
    let template = "{{!-- tpl/en/notifyrecipient.hbs --}}\n\
                    Subject: Blocked: {{subject}}\n\
                    \n\
                    Not delivered to {{recipient}}: {{condition}} \
                    ({{action}}).\n\
                    Sent by: {{from}}\n\
                    {{#each findings}}\n  \
                    - {{condition}}{{#if filename}}: file \
                    {{filename}}{{/if}}\n\
                    {{/each}}\n\
                    {{#if viruses}}\n\
                    Viruses:{{#each viruses}} {{this}}{{/each}}\n\
                    {{/if}}\n";
    let mut f = facts("Rechnung");
    f.from = "Sender <s@example.org>".into();
    let from = "MAILER-DAEMON@mail.example.com";
    let out = compose(template, &f, from, TO).unwrap();
    let text = String::from_utf8(out).unwrap();
    let (_, rest) = text.split_once("\nFrom: ").unwrap();
    assert_eq!(
        rest,
        "MAILER-DAEMON@mail.example.com\n\
         To: joe@example.com\n\
         Subject: Blocked: Rechnung\n\
         Auto-Submitted: auto-replied\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 7bit\n\
         \n\
         Not delivered to joe@example.com: badfilename (block).\n\
         Sent by: Sender <s@example.org>\n  \
         - badfilename: file invoice.exe\n"
    );
}

#[test]
fn qmvc_templates_5_lists_every_variable() {
    let page = include_str!("../../../../man/qmvc-templates.5");
    let names = |value: handlebars::JsonValue| -> Vec<String> {
        value.as_object().unwrap().keys().cloned().collect()
    };
    let facts = names(handlebars::to_json(Facts::default()));
    let finding = names(handlebars::to_json(MatchView::default()));
    assert_eq!(facts.len(), 16);
    assert_eq!(finding.len(), 7);
    let (variables, fields) =
        page.split_once(".SS Fields of a finding").unwrap();
    // The counts of what the bounds left out are the templates' too.
    let counts = ["viruses_left_out"].map(String::from);
    for name in facts.into_iter().chain(counts) {
        assert!(variables.contains(&format!(".TP\n.B {name}\n")), "{name}");
    }
    for name in finding {
        assert!(fields.contains(&format!(".TP\n.B {name}\n")), "{name}");
    }
}
