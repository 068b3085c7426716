/*!
The logs: qmvc.log has eleven normalised tab-separated fields; qmvc.rep is
a YAML document per recorded message; concurrent runs never interleave or
lose a record.
*/

use std::collections::BTreeSet;

use crate::mail::{Mail, Part};
use crate::util::{split_documents, Dir, Layer};

fn spam_profile(dir: &Dir) {
    dir.filters("badsubject ; block ; ; ;\nbadfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "spam\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
}

/// Whether `time` looks like ISO 8601 with a zone:
/// `YYYY-MM-DDTHH:MM:SS` then `Z` or `+HH:MM`/`-HH:MM`.
fn is_iso8601(time: &str) -> bool {
    let b = time.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let base = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let zone = &time[19..];
    let zone = zone
        .strip_prefix('.')
        .map_or(zone, |z| z.trim_start_matches(|c: char| c.is_ascii_digit()));
    base && (zone == "Z"
        || (zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone.as_bytes()[3] == b':'))
}

qmvctest!(log_line_has_thirteen_fields, |dir: Dir| {
    spam_profile(&dir);
    let bytes = Mail::new()
        .subject("spam offer")
        .header("Message-ID", "<id.1@example.net>")
        .bytes();
    dir.run(&[], &bytes).assert_code(99);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.fields.len(), 13, "{:?}", line.raw);
    assert!(is_iso8601(line.field(1)), "time: {:?}", line.field(1));
    assert_eq!(line.field(2), "badsubject");
    assert_eq!(line.field(3), "0");
    assert_eq!(line.field(4), "block");
    assert_eq!(line.field(5), "-", "no scanner: empty field");
    // No spam score yet, no SMTP client in dot-qmail mode.
    assert_eq!((line.field(12), line.field(13)), ("-", "-"));
    assert!(line.field(6).parse::<f64>().is_ok(), "{:?}", line.field(6));
    assert_eq!(line.field(7), bytes.len().to_string());
    assert_eq!(line.field(8), "alice@example.net");
    assert_eq!(line.field(9), "bob@example.org");
    assert_eq!(line.field(10), "<id.1@example.net>");
    assert_eq!(line.field(11), "spam_offer");
    for field in &line.fields {
        assert!(!field.is_empty(), "{:?}", line.raw);
    }
});

qmvctest!(clear_message_is_logged_too, |dir: Dir| {
    spam_profile(&dir);
    dir.run(&[], &Mail::new().bytes()).assert_code(0);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.fields.len(), 13);
    assert_eq!(line.result(), "clear");
    assert_eq!(line.action(), "pass");
    assert_eq!(dir.rep_text(Layer::System), "", "clear mail in qmvc.rep");
});

qmvctest!(fields_are_normalised, |dir: Dir| {
    spam_profile(&dir);
    dir.set_env("SENDER", "evil\tsender\nX-Injected: yes@example.net");
    let bytes = Mail::new()
        .subject("tab\there and\n folded  line")
        .without("Message-ID")
        .bytes();
    dir.run(&[], &bytes).assert_code(0);
    let text =
        std::fs::read_to_string(dir.layer(Layer::System).join("log/qmvc.log"))
            .unwrap();
    assert_eq!(text.lines().count(), 1, "a field broke the line: {text:?}");
    let line = dir.last_log(Layer::System);
    assert_eq!(line.fields.len(), 13, "{:?}", line.raw);
    assert!(!line.sender().contains(['\t', '\n', ' ']), "{}", line.sender());
    assert!(line.sender().starts_with("evil_sender_"), "{}", line.sender());
    assert!(!line.subject().contains(['\t', '\n', ' ']));
    assert!(line.subject().starts_with("tab_here"), "{}", line.subject());
    assert!(line.subject().ends_with("line"), "{}", line.subject());
    assert_eq!(line.field(10), "-", "empty Message-ID");
});

qmvctest!(empty_subject_is_a_dash, |dir: Dir| {
    spam_profile(&dir);
    dir.run(&[], &Mail::new().without("Subject").bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).subject(), "-");
    dir.run(&[], &Mail::new().subject("").bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).subject(), "-");
});

qmvctest!(fields_are_capped_at_1024_bytes, |dir: Dir| {
    spam_profile(&dir);
    let long = "ä".repeat(3000);
    let folded = "spam\n ".to_string() + &"x".repeat(60) + "\n " + &long;
    dir.set_env("SENDER", &format!("{}@example.net", "s".repeat(5000)));
    dir.run(&[], &Mail::new().subject(&folded).bytes()).assert_code(99);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.fields.len(), 13);
    assert!(line.subject().len() <= 1024, "{}", line.subject().len());
    assert!(line.subject().len() > 1000, "{}", line.subject().len());
    assert!(line.subject().starts_with("spam_"));
    assert!(line.sender().len() <= 1024);
});

qmvctest!(decoded_subject_in_the_log, |dir: Dir| {
    spam_profile(&dir);
    let mail = Mail::new().subject("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_Bern?=");
    dir.run(&[], &mail.bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).subject(), "Grüße_aus_Bern");
});

qmvctest!(report_is_yaml_with_the_facts, |dir: Dir| {
    spam_profile(&dir);
    let bytes = Mail::new()
        .subject("spam")
        .mixed(vec![
            Part::text("hi\n"),
            Part::attachment("a.exe", "application/octet-stream", b"x"),
        ])
        .bytes();
    dir.run(&[], &bytes).assert_code(99);
    let reports = dir.reports(Layer::System);
    assert_eq!(reports.len(), 1);
    let doc = &reports[0];
    for key in ["time", "result", "errormail", "action", "conditions"] {
        assert!(!doc[key].is_null(), "no {key} in {doc:?}");
    }
    assert_eq!(doc["result"].as_str(), Some("badsubject+badfilename"));
    assert_eq!(doc["errormail"].as_u64(), Some(0));
    assert_eq!(doc["action"].as_str(), Some("block"));
    assert_eq!(doc["sender"].as_str(), Some("alice@example.net"));
    assert_eq!(doc["size"].as_u64(), Some(bytes.len() as u64));
    let conditions = doc["conditions"].as_sequence().unwrap();
    assert_eq!(conditions.len(), 2);
    assert_eq!(conditions[0]["condition"].as_str(), Some("badsubject"));
    assert_eq!(conditions[0]["matches"][0]["pattern"].as_str(), Some("spam"));
    assert_eq!(conditions[1]["condition"].as_str(), Some("badfilename"));
    let file = &conditions[1]["matches"][0];
    assert_eq!(file["filename"].as_str(), Some("a.exe"));
    assert_eq!(file["pattern"].as_str(), Some("*.exe"));
    assert!(file["part"].as_str().is_some(), "{file:?}");
});

qmvctest!(hostile_subject_cannot_forge_a_document, |dir: Dir| {
    spam_profile(&dir);
    let subject = "spam\n ---\n result: clear\n ...";
    dir.run(&[], &Mail::new().subject(subject).bytes()).assert_code(99);
    dir.run(&[], &Mail::new().subject("spam again").bytes()).assert_code(99);
    let reports = dir.reports(Layer::System);
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["result"].as_str(), Some("badsubject"));
});

qmvctest!(concurrent_runs_keep_every_record, |dir: Dir| {
    spam_profile(&dir);
    let msg = dir.message(&Mail::new().subject("spam").bytes());
    let runs: Vec<_> = (0..50)
        .map(|i| {
            dir.qmvc(&[])
                .stdin_file(&msg)
                .env("RECIPIENT", &format!("rcpt{i}@example.org"))
                .spawn()
        })
        .collect();
    for run in runs {
        run.wait().assert_code(99);
    }
    let expected: BTreeSet<String> =
        (0..50).map(|i| format!("rcpt{i}@example.org")).collect();
    let lines = dir.log(Layer::System);
    assert_eq!(lines.len(), 50);
    let mut seen = BTreeSet::new();
    for line in &lines {
        assert_eq!(line.fields.len(), 13, "{:?}", line.raw);
        assert_eq!(line.result(), "badsubject", "{:?}", line.raw);
        seen.insert(line.recipient().to_string());
    }
    assert_eq!(seen, expected);
    let text = dir.rep_text(Layer::System);
    let documents = split_documents(&text);
    assert_eq!(documents.len(), 50);
    let mut seen = BTreeSet::new();
    for doc in documents {
        let value: serde_yaml::Value = serde_yaml::from_str(&doc)
            .unwrap_or_else(|e| panic!("{e}: {doc}"));
        assert_eq!(value["result"].as_str(), Some("badsubject"));
        seen.insert(value["recipient"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, expected);
});

qmvctest!(unwritable_log_does_not_defer, |dir: Dir| {
    dir.filters("badsubject ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "make money fast\n");
    // A directory where qmvc.log should be: no file can be opened there,
    // whoever runs the test.
    std::fs::create_dir_all(dir.layer(Layer::System).join("log/qmvc.log"))
        .unwrap();
    let out = dir.run(&[], &Mail::new().subject("make money fast").bytes());
    out.assert_code(99);
    assert!(out.stderr.contains("qmvc.log"), "{}", out.describe());
    // The report still records the blocked message.
    assert_eq!(dir.reports(Layer::System).len(), 1);
});

qmvctest!(a_link_at_a_log_is_not_followed, |dir: Dir| {
    dir.filters("badsubject ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "make money fast\n");
    let log = dir.layer(Layer::System).join("log");
    std::fs::create_dir_all(&log).unwrap();
    let target = dir.root().join("not-a-log");
    std::fs::write(&target, "untouched\n").unwrap();
    std::os::unix::fs::symlink(&target, log.join("qmvc.log")).unwrap();
    let out = dir.run(&[], &Mail::new().subject("make money fast").bytes());
    // As any log that cannot be written: a warning, the mail as decided.
    out.assert_code(99);
    assert!(out.stderr.contains("symbolic link"), "{}", out.describe());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n");
    assert_eq!(dir.reports(Layer::System).len(), 1);
});

qmvctest!(a_deferral_is_reported_once, |dir: Dir| {
    let missing = dir.path("bin/no-such-program");
    dir.filters("badbodytext ; block ; ; ;\n");
    dir.control(
        Layer::System,
        "badbodytexts",
        &format!("|{}\n", missing.display()),
    );
    let out = dir.run(&[], &Mail::new().text("Hello.\n").bytes());
    out.assert_code(111);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.describe());
    assert!(out.stdout.contains("(#4.3.0)"), "{}", out.describe());
    let fatal = out.stderr.lines().filter(|l| l.contains("fatal")).count();
    assert_eq!(fatal, 1, "{}", out.describe());
    let errors = std::fs::read_to_string(
        dir.layer(Layer::System).join("log/qmvc.error"),
    )
    .unwrap();
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(errors.contains("\tdefer\t"), "{errors}");
    assert_eq!(dir.last_log(Layer::System).action(), "defer");
});

qmvctest!(a_deferral_names_one_status_code, |dir: Dir| {
    // The profile's reason carries its own code (#4.7.0): no second one.
    let filters = dir.filters("badsubject ; block ; ; ;\n");
    std::fs::set_permissions(
        &filters,
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .unwrap();
    let out = dir.run(&[], &Mail::new().bytes());
    out.assert_code(111);
    assert_eq!(out.stdout.matches("(#").count(), 1, "{}", out.describe());
});

qmvctest!(a_rep_document_stays_small_whatever_the_message, |dir: Dir| {
    // Thousands of bad parts with long names: the document lists what
    // fits and counts the rest (qmvc-log(5)), so report programs never
    // meet a document of megabytes.
    dir.filters("badfilename ; block ; ; ;\nbadmimetype ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    dir.control(Layer::System, "badmimetypes", "application/*\n");
    let parts: Vec<Part> = (0..3000)
        .map(|i| {
            let name = format!("{}{i}.exe", "n".repeat(3000));
            Part::attachment(&name, "application/octet-stream", b"MZ x")
        })
        .collect();
    let out = dir.run(&[], &Mail::new().mixed(parts).bytes());
    out.assert_code(99);
    let rep = dir.rep_text(Layer::System);
    assert!(rep.len() < 256 << 10, "qmvc.rep of {} bytes", rep.len());
    assert!(rep.contains("more matches not listed"), "{rep:.2000}");
});
