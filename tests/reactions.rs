/*!
The Reactions end to end: `notifyrecipient`, `notifysender`,
`informguard=ADDRESS` and `forwardguard=ADDRESS`, through the qmail-local
emulator, with an injector stub ([`Dir::injector`]) that records each
call's arguments and standard input.

What is held here:
- every reaction goes out with `block` and with `keep` (exit 99), the
  injector gets exactly `-a -f '' RECIPIENT`, and a notification is a
  strict RFC 5322 / MIME message (Date, Message-ID, From, To, Subject,
  `Auto-Submitted: auto-replied`, UTF-8 text/plain) that names what was
  found; a guard forward is the original with one trace line in front;
- qmvc.rep says what became of each reaction;
- `$LOCAL`, `$EXT`, `$HOST`, `$USER` expand in guard addresses, and a
  value that would make an unsafe address is refused, not sent;
- the sender and the recipient are each notified once per message;
- languages: `lang=LL`, the `language` control file, layered templates,
  the English fall-back;
- no text of the message can add a header line to a notification;
- the backscatter rules and the virus-sender rule;
- a guard forward never loops;
- an injector that fails, or is missing, defers the delivery (111);
- `-t` shows the reactions as due and sends nothing; `-L` checks the
  templates.
*/

use std::fs;

use qmvc_message::Header;
use qmvc_scanners::testing::{self, Clamd};

use crate::mail::{self, crlf, Mail, Part};
use crate::util::{assert_lint, files_in, Dir, Injected, Layer, Outcome};

/// The dot-qmail file of the tests here: filter, then deliver.
const DOTQMAIL: &str = "|qmvc\n./Maildir/\n";

/// The same in user mode (the user layer's templates and state).
const DOTQMAIL_U: &str = "|qmvc -u\n./Maildir/\n";

/// The harness's envelope sender, original recipient and host.
const SENDER: &str = "alice@example.net";
const RECIPIENT: &str = "bob@example.org";
const HOST: &str = "example.org";

/// The file name that meets badfilename.
const TRIGGER: &str = "invoice.exe";

/// Words of the built-in English notifyrecipient template
/// (`templates/en/notifyrecipient.hbs`), not in the German one.
const ENGLISH: &str = "did not deliver";

/// Words of the built-in German notifyrecipient template
/// (`templates/de/notifyrecipient.hbs`), not in the English one.
const GERMAN: &str = "nicht zugestellt";

/// A message with the attachment [`TRIGGER`].
fn exe_mail() -> Mail {
    Mail::new().subject("the invoice").mixed(vec![
        Part::text("The invoice is attached.\n"),
        Part::attachment(
            TRIGGER,
            "application/octet-stream",
            b"not really a program\n",
        ),
    ])
}

/// The filters line `badfilename ; ACTION ; REACTIONS ; OPTIONS ;` and
/// `badfilenames` listing `*.exe`, in the system layer.
fn exe_rule(dir: &Dir, action: &str, reactions: &str, options: &str) {
    dir.filters(&format!(
        "badfilename ; {action} ; {reactions} ; {options} ;\n"
    ));
    dir.control(Layer::System, "badfilenames", "*.exe\n");
}

/// Writes the template `tpl/LANG/NAME.hbs` of `layer`.
fn template(dir: &Dir, layer: Layer, lang: &str, name: &str, text: &str) {
    let path = dir.layer(layer).join("tpl").join(lang).join(name);
    let path = path.with_extension("hbs");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
}

/// Each reaction of qmvc.rep document `doc` as
/// `CONDITION/REACTION: STATUS`, in order.
fn statuses(doc: &serde_yaml::Value) -> Vec<String> {
    let mut out = Vec::new();
    for condition in doc["conditions"].as_sequence().into_iter().flatten() {
        let name = condition["condition"].as_str().unwrap_or("?");
        let reactions = condition["reactions"].as_sequence();
        for reaction in reactions.into_iter().flatten() {
            out.push(format!(
                "{name}/{}: {}",
                reaction["reaction"].as_str().unwrap_or("?"),
                reaction["status"].as_str().unwrap_or("?")
            ));
        }
    }
    out
}

/// [`statuses`] of the last qmvc.rep document of `layer`.
#[track_caller]
fn last_statuses(dir: &Dir, layer: Layer) -> Vec<String> {
    let reports = dir.reports(layer);
    let last = reports.last().unwrap_or_else(|| {
        panic!("no qmvc.rep document in {}", dir.layer(layer).display())
    });
    statuses(last)
}

/// Checks that `status` (`CONDITION/REACTION: STATUS`) is for `what` and
/// says "not sent: REASON" with a reason.
#[track_caller]
fn assert_not_sent(status: &str, what: &str) {
    let reason = status
        .strip_prefix(&format!("{what}: not sent: "))
        .unwrap_or_else(|| panic!("not `{what}: not sent: ...`: {status}"));
    assert!(!reason.trim().is_empty(), "no reason: {status}");
}

/// Runs qmvc on `bytes` with `SENDER` set to `sender` and checks it
/// exits 99.
#[track_caller]
fn run_from(dir: &Dir, sender: &str, bytes: &[u8]) {
    dir.qmvc(&[])
        .stdin_bytes(bytes)
        .env("SENDER", sender)
        .env("NEWSENDER", sender)
        .run()
        .assert_code(99);
}

/// Delivers `bytes` through `dotqmail` (qmvc, then the Maildir) and
/// checks that qmvc stopped it (99) and no later line ran.
#[track_caller]
fn deliver_stopped(dir: &Dir, dotqmail: &str, bytes: &[u8]) {
    let msg = dir.message(bytes);
    let delivery = dir.deliver(dotqmail, &msg);
    assert_eq!(
        delivery.outcome,
        Outcome::Stopped,
        "{}",
        delivery.first().describe()
    );
    assert!(dir.maildir().is_empty(), "a later dot-qmail line ran");
}

/// A notification as a mail reader sees it.
struct Notice {
    /// The header block as text, up to the empty line.
    head: String,
    /// Each field: name and decoded value.
    fields: Vec<(String, String)>,
    /// The strict-syntax defects of the header block.
    defects: Vec<String>,
    /// The body, transfer encoding undone.
    body: String,
}

impl Notice {
    fn parse(bytes: &[u8]) -> Notice {
        let (header, start) = Header::parse(bytes);
        let fields: Vec<(String, String)> = header
            .fields
            .iter()
            .map(|f| (f.name.to_string(), f.decoded()))
            .collect();
        let head = String::from_utf8_lossy(&bytes[..start]).into_owned();
        let raw = &bytes[start..];
        let encoding = header
            .value("content-transfer-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let decoded = match encoding.as_str() {
            "base64" => mail::unbase64(raw),
            "quoted-printable" => unquote(raw),
            _ => raw.to_vec(),
        };
        let body = String::from_utf8(decoded)
            .unwrap_or_else(|e| panic!("body is not UTF-8: {e}"));
        Notice { head, fields, defects: header.defects, body }
    }

    /// The values of every field `name`.
    fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of the one field `name`.
    #[track_caller]
    fn one(&self, name: &str) -> &str {
        let all = self.all(name);
        assert_eq!(all.len(), 1, "{name}: not exactly once\n{}", self.head);
        all[0]
    }

    /// The lines of the header block that start a field (not folded
    /// continuations).
    fn field_lines(&self) -> Vec<&str> {
        self.head
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with([' ', '\t']))
            .collect()
    }
}

/// Quoted-printable decoded (soft line breaks removed).
fn unquote(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'=' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let rest = &raw[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = rest
            .get(..2)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

/// Checks that `call` handed a proper notification from `from` to `to`
/// to the injector, and returns it.
#[track_caller]
fn assert_notice(call: &Injected, from: &str, to: &str) -> Notice {
    assert_eq!(call.args, ["-a", "-f", "", to], "injector arguments");
    assert!(
        !call.message.contains(&b'\r'),
        "a CR in a notification for qmail-inject:\n{}",
        call.text()
    );
    let notice = Notice::parse(&call.message);
    assert!(
        notice.defects.is_empty(),
        "not strict RFC 5322: {:?}\n{}",
        notice.defects,
        notice.head
    );
    let date = notice.one("Date");
    assert!(
        chrono::DateTime::parse_from_rfc2822(date).is_ok(),
        "Date: {date:?}"
    );
    let id = notice.one("Message-ID");
    assert!(
        id.starts_with('<') && id.ends_with('>') && id.contains('@'),
        "Message-ID: {id:?}"
    );
    let from_field = notice.one("From");
    assert!(from_field.contains(from), "From: {from_field:?}, not {from}");
    let to_field = notice.one("To");
    assert!(to_field.contains(to), "To: {to_field:?}, not {to}");
    assert!(!notice.one("Subject").is_empty(), "empty Subject");
    assert_eq!(
        notice.one("Auto-Submitted").to_ascii_lowercase(),
        "auto-replied"
    );
    assert_eq!(notice.one("MIME-Version"), "1.0");
    let ctype: String = notice
        .one("Content-Type")
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"')
        .collect();
    assert!(
        ctype.starts_with("text/plain;charset=utf-8"),
        "Content-Type: {ctype}"
    );
    assert!(!notice.body.trim().is_empty(), "empty body");
    notice
}

/// The trace line a guard forward to `guard` starts with.
fn trace(guard: &str) -> Vec<u8> {
    format!("X-QMVC-Forwarded: {guard}\n").into_bytes()
}

/// `trace(guard)` followed by `original`.
fn forwarded(guard: &str, original: &[u8]) -> Vec<u8> {
    let mut out = trace(guard);
    out.extend_from_slice(original);
    out
}

/// Runs `reaction` of a badfilename line with `action` through the
/// emulator and checks what every reaction must: exit 99, one call of
/// the injector with `-a -f '' TO`, "due to TO" in qmvc.rep (written before it goes out), and for
/// `keep` the kept copy with its analysis showing the reaction as due.
/// Returns the call and the original message.
fn sends(
    dir: &Dir,
    action: &str,
    reaction: &str,
    to: &str,
) -> (Injected, Vec<u8>) {
    dir.injector();
    exe_rule(dir, action, reaction, "");
    let bytes = exe_mail().bytes();
    deliver_stopped(dir, DOTQMAIL, &bytes);
    let mut calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].args, ["-a", "-f", "", to], "injector arguments");
    let name = reaction.split('=').next().unwrap();
    assert_eq!(
        last_statuses(dir, Layer::System),
        [format!("badfilename/{name}: due to {to}")]
    );
    assert_eq!(dir.last_log(Layer::System).action(), action);
    let save = dir.layer(Layer::System).join("save/policy");
    if action == "keep" {
        let kept = files_in(&save.join("new"));
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(fs::read(&kept[0]).unwrap(), bytes);
        let analyses = files_in(&save.join("analysis"));
        assert_eq!(analyses.len(), 1, "{analyses:?}");
        let text = fs::read_to_string(&analyses[0]).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(statuses(&doc), [format!("badfilename/{name}: due")]);
    } else {
        assert!(!save.exists(), "block kept the message");
    }
    (calls.remove(0), bytes)
}

/// [`sends`] for a notification: checks it and that it names the file.
fn notifies(dir: &Dir, action: &str, reaction: &str, to: &str) {
    let (call, _) = sends(dir, action, reaction, to);
    let notice = assert_notice(&call, &format!("MAILER-DAEMON@{HOST}"), to);
    assert!(
        notice.body.contains(TRIGGER),
        "the body does not name {TRIGGER}:\n{}",
        notice.body
    );
}

/// [`sends`] for a guard forward: the original with one trace line.
fn forwards(dir: &Dir, action: &str) {
    let guard = "guard@example.com";
    let (call, original) =
        sends(dir, action, &format!("forwardguard={guard}"), guard);
    assert!(
        call.message == forwarded(guard, &original),
        "not the original with one trace line:\n{}",
        call.text()
    );
}

// Every reaction with block and with keep.

dotqmailtest!(notifyrecipient_with_block, |dir: Dir| {
    notifies(&dir, "block", "notifyrecipient", RECIPIENT);
});

dotqmailtest!(notifyrecipient_with_keep, |dir: Dir| {
    notifies(&dir, "keep", "notifyrecipient", RECIPIENT);
});

dotqmailtest!(notifysender_with_block, |dir: Dir| {
    notifies(&dir, "block", "notifysender", SENDER);
});

dotqmailtest!(notifysender_with_keep, |dir: Dir| {
    notifies(&dir, "keep", "notifysender", SENDER);
});

dotqmailtest!(informguard_with_block, |dir: Dir| {
    notifies(
        &dir,
        "block",
        "informguard=guard@example.com",
        "guard@example.com",
    );
});

dotqmailtest!(informguard_with_keep, |dir: Dir| {
    notifies(
        &dir,
        "keep",
        "informguard=guard@example.com",
        "guard@example.com",
    );
});

dotqmailtest!(forwardguard_with_block, |dir: Dir| {
    forwards(&dir, "block");
});

dotqmailtest!(forwardguard_with_keep, |dir: Dir| {
    forwards(&dir, "keep");
});

dotqmailtest!(all_four_reactions_on_one_line, |dir: Dir| {
    dir.injector();
    exe_rule(
        &dir,
        "block",
        "notifyrecipient,notifysender,informguard=guard@example.com,\
         forwardguard=fwd@example.com",
        "",
    );
    let bytes = exe_mail().bytes();
    deliver_stopped(&dir, DOTQMAIL, &bytes);
    let to: Vec<String> =
        dir.injected().iter().map(|c| c.args[3].clone()).collect();
    assert_eq!(
        to,
        [RECIPIENT, SENDER, "guard@example.com", "fwd@example.com"]
    );
    assert_eq!(
        last_statuses(&dir, Layer::System),
        [
            format!("badfilename/notifyrecipient: due to {RECIPIENT}"),
            format!("badfilename/notifysender: due to {SENDER}"),
            "badfilename/informguard: due to guard@example.com".into(),
            "badfilename/forwardguard: due to fwd@example.com".into(),
        ]
    );
});

dotqmailtest!(notifications_come_from_the_guard, |dir: Dir| {
    dir.injector();
    dir.control(Layer::System, "guard", "virus-guard@example.com\n");
    exe_rule(&dir, "block", "notifyrecipient,notifysender", "");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    let calls = dir.injected();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_notice(&calls[0], "virus-guard@example.com", RECIPIENT);
    assert_notice(&calls[1], "virus-guard@example.com", SENDER);
});

qmvctest!(notifyrecipient_tells_the_original_recipient, |dir: Dir| {
    dir.injector();
    dir.set_env("RECIPIENT", "example.com-joe@example.com");
    exe_rule(&dir, "block", "notifyrecipient", "");
    deliver_stopped(&dir, "|qmvc -v example.com-\n", &exe_mail().bytes());
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_notice(&calls[0], "MAILER-DAEMON@", "joe@example.com");
});

dotqmailtest!(forwardguard_of_a_crlf_message, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "forwardguard=guard@example.com", "");
    let bytes = crlf(&exe_mail().bytes());
    deliver_stopped(&dir, DOTQMAIL, &bytes);
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let message = &calls[0].message;
    let end = message.iter().position(|&b| b == b'\n').unwrap() + 1;
    let line = String::from_utf8_lossy(&message[..end]);
    assert!(
        line == "X-QMVC-Forwarded: guard@example.com\n"
            || line == "X-QMVC-Forwarded: guard@example.com\r\n",
        "first line {line:?}"
    );
    assert!(message[end..] == bytes[..], "the original is changed");
});

// $LOCAL, $EXT, $HOST, $USER.

qmvctest!(guard_addresses_expand_the_qmail_variables, |dir: Dir| {
    dir.injector();
    dir.set_env("LOCAL", "bob-spam");
    dir.set_env("EXT", "spam");
    dir.set_env("USER", "bob");
    dir.set_env("HOST", "mail.example.org");
    exe_rule(
        &dir,
        "block",
        "informguard=guard-$LOCAL.$EXT@$HOST,forwardguard=$USER-fwd@$HOST",
        "",
    );
    let bytes = exe_mail().bytes();
    deliver_stopped(&dir, DOTQMAIL, &bytes);
    let calls = dir.injected();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let inform = "guard-bob-spam.spam@mail.example.org";
    let forward = "bob-fwd@mail.example.org";
    assert_notice(&calls[0], "MAILER-DAEMON@mail.example.org", inform);
    assert_eq!(calls[1].args, ["-a", "-f", "", forward]);
    assert!(calls[1].message == forwarded(forward, &bytes));
    assert_eq!(
        last_statuses(&dir, Layer::System),
        [
            format!("badfilename/informguard: due to {inform}"),
            format!("badfilename/forwardguard: due to {forward}"),
        ]
    );
    // qmvc.rep keeps the address as written.
    let doc = &dir.reports(Layer::System)[0];
    let reaction = &doc["conditions"][0]["reactions"][0];
    assert_eq!(reaction["address"].as_str(), Some("guard-$LOCAL.$EXT@$HOST"));
});

qmvctest!(unsafe_expansions_are_not_sent, |dir: Dir| {
    dir.injector();
    exe_rule(
        &dir,
        "block",
        "informguard=$EXT@example.com,forwardguard=$EXT-fwd@example.com",
        "",
    );
    let bytes = exe_mail().bytes();
    for ext in [
        "x\nBcc: y@example.net",
        "x\r\nBcc: y@example.net",
        "a b",
        "x\tb",
        "-oi",
        "-f",
        "x@evil.example",
        "x>,<evil@example.net",
        "",
    ] {
        let out = dir.qmvc(&[]).stdin_bytes(&bytes).env("EXT", ext).run();
        out.assert_code(99);
        assert!(
            dir.injected().is_empty(),
            "EXT {ext:?} went to the injector: {:#?}",
            dir.injected()
        );
        let statuses = last_statuses(&dir, Layer::System);
        assert_eq!(statuses.len(), 2, "{statuses:?}");
        assert_not_sent(&statuses[0], "badfilename/informguard");
        assert_not_sent(&statuses[1], "badfilename/forwardguard");
    }
    assert_eq!(dir.reports(Layer::System).len(), 9);
});

qmvctest!(an_unsafe_guard_leaves_the_other_reactions, |dir: Dir| {
    dir.injector();
    dir.set_env("EXT", "x\nBcc: y@example.net");
    exe_rule(
        &dir,
        "block",
        "informguard=$EXT@example.com,notifyrecipient",
        "",
    );
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_notice(&calls[0], "MAILER-DAEMON@", RECIPIENT);
    let statuses = last_statuses(&dir, Layer::System);
    assert_not_sent(&statuses[0], "badfilename/informguard");
    assert_eq!(
        statuses[1],
        format!("badfilename/notifyrecipient: due to {RECIPIENT}")
    );
});

qmvctest!(a_hostile_sender_is_not_notified, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifysender", "");
    let bytes = exe_mail().bytes();
    for sender in [
        "-oi@example.net",
        "-f",
        "alice@example.net\nBcc: evil@example.com",
        "alice@example.net\r",
    ] {
        run_from(&dir, sender, &bytes);
        assert!(
            dir.injected().is_empty(),
            "SENDER {sender:?} went to the injector: {:#?}",
            dir.injected()
        );
        let statuses = last_statuses(&dir, Layer::System);
        assert_eq!(statuses.len(), 1, "{statuses:?}");
        assert_not_sent(&statuses[0], "badfilename/notifysender");
    }
});

// Once per message.

dotqmailtest!(sender_and_recipient_are_notified_once, |dir: Dir| {
    dir.injector();
    // Written in the reverse of the evaluation order: badsubject comes
    // first whatever the order of the lines.
    dir.filters(
        "badfilename ; block ; notifyrecipient,notifysender ; ;\n\
         badsubject ; keep ; notifysender,notifyrecipient ; ;\n",
    );
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    dir.control(Layer::System, "badsubjects", "invoice\n");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    let calls = dir.injected();
    let to: Vec<&str> = calls.iter().map(|c| c.args[3].as_str()).collect();
    assert_eq!(to, [SENDER, RECIPIENT]);
    assert_eq!(
        last_statuses(&dir, Layer::System),
        [
            format!("badsubject/notifysender: due to {SENDER}"),
            format!("badsubject/notifyrecipient: due to {RECIPIENT}"),
            "badfilename/notifyrecipient: already notified".into(),
            "badfilename/notifysender: already notified".into(),
        ]
    );
    assert_eq!(dir.last_log(Layer::System).action(), "keep+block");
});

dotqmailtest!(a_second_message_is_notified_again, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    assert_eq!(dir.injected().len(), 2);
});

// Languages and templates.

/// The notification to the recipient for the one injector call.
#[track_caller]
fn the_notice(dir: &Dir) -> Notice {
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_notice(&calls[0], "MAILER-DAEMON@", RECIPIENT)
}

/// Checks that `notice` is in German (or in English).
#[track_caller]
fn assert_language(notice: &Notice, german: bool) {
    let (want, other) =
        if german { (GERMAN, ENGLISH) } else { (ENGLISH, GERMAN) };
    let text = format!("{}\n{}", notice.one("Subject"), notice.body);
    assert!(text.contains(want), "no {want:?} in\n{text}");
    assert!(!text.contains(other), "{other:?} in\n{text}");
}

dotqmailtest!(lang_de_on_the_line_gives_german, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "lang=de");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    let notice = the_notice(&dir);
    assert_language(&notice, true);
    assert!(notice.body.contains(TRIGGER), "{}", notice.body);
});

dotqmailtest!(lang_with_a_region_falls_back_to_the_language, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "lang=de-CH");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    assert_language(&the_notice(&dir), true);
});

dotqmailtest!(language_control_file_gives_german, |dir: Dir| {
    dir.injector();
    dir.control(Layer::System, "language", "de\n");
    exe_rule(&dir, "block", "notifyrecipient", "");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    assert_language(&the_notice(&dir), true);
});

dotqmailtest!(lang_en_on_the_line_beats_the_language_file, |dir: Dir| {
    dir.injector();
    dir.control(Layer::System, "language", "de\n");
    exe_rule(&dir, "block", "notifyrecipient", "lang=en");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    assert_language(&the_notice(&dir), false);
});

dotqmailtest!(english_by_default, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    assert_language(&the_notice(&dir), false);
});

dotqmailtest!(a_missing_language_falls_back_to_english, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "lang=fr");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    let notice = the_notice(&dir);
    assert_language(&notice, false);
    assert!(notice.body.contains(TRIGGER), "{}", notice.body);
});

/// A template whose Subject and body say where it comes from.
fn marked(mark: &str) -> String {
    format!(
        "Subject: {mark} notice for {{{{recipient}}}}\n\
         \n\
         {mark} body.\n\
         {{{{#each findings}}}}Found: {{{{filename}}}}\n{{{{/each}}}}"
    )
}

dotqmailtest!(a_user_layer_template_overrides_the_others, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "");
    template(&dir, Layer::System, "en", "notifyrecipient", &marked("SYSTEM"));
    template(&dir, Layer::User, "en", "notifyrecipient", &marked("USER"));
    deliver_stopped(&dir, DOTQMAIL_U, &exe_mail().bytes());
    let notice = the_notice(&dir);
    assert_eq!(notice.one("Subject"), format!("USER notice for {RECIPIENT}"));
    assert!(notice.body.contains("USER body."), "{}", notice.body);
    assert!(
        notice.body.contains(&format!("Found: {TRIGGER}")),
        "{}",
        notice.body
    );
    assert!(!notice.body.contains("SYSTEM"), "{}", notice.body);
    // qmvc.rep is the user layer's in user mode.
    assert_eq!(
        last_statuses(&dir, Layer::User),
        [format!("badfilename/notifyrecipient: due to {RECIPIENT}")]
    );
});

dotqmailtest!(a_system_layer_template_overrides_the_built_in, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "lang=de");
    template(&dir, Layer::System, "de", "notifyrecipient", &marked("HAUS"));
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    let notice = the_notice(&dir);
    assert_eq!(notice.one("Subject"), format!("HAUS notice for {RECIPIENT}"));
});

dotqmailtest!(
    a_layer_template_serves_a_language_without_built_in,
    |dir: Dir| {
        dir.injector();
        exe_rule(&dir, "block", "notifyrecipient", "lang=fr");
        template(
            &dir,
            Layer::System,
            "fr",
            "notifyrecipient",
            &marked("AVIS"),
        );
        deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
        let notice = the_notice(&dir);
        assert_eq!(
            notice.one("Subject"),
            format!("AVIS notice for {RECIPIENT}")
        );
    }
);

// No header injection.

/// The text an attacker wants to turn into a header line.
const EVIL: &str = "hello\r\nBcc: evil@example.com";

/// Subjects that decode to (or unfold around) a line break before
/// `Bcc: evil@example.com`.
fn hostile_subjects() -> Vec<String> {
    let b =
        |text: &str| format!("=?UTF-8?B?{}?=", mail::base64(text.as_bytes()));
    vec![
        b(EVIL),
        b("hello\nBcc: evil@example.com"),
        b("hello\rBcc: evil@example.com"),
        b("hello\u{85}Bcc: evil@example.com"),
        b("hello\u{2028}Bcc: evil@example.com"),
        b("hello\r\n\r\nBcc: evil@example.com"),
        "=?UTF-8?Q?hello=0D=0ABcc=3A_evil=40example.com?=".into(),
        "=?ISO-8859-1?Q?hello=0D=0ABcc:_evil@example.com?=".into(),
        "hello =?UTF-8?B?DQo=?=Bcc: evil@example.com".into(),
        "hello\n Bcc: evil@example.com".into(),
        "hello\n\tBcc: evil@example.com".into(),
    ]
}

/// Checks that `notice` has one Subject with the attacker's text in it
/// and no header line of the attacker's.
#[track_caller]
fn assert_no_injected_header(notice: &Notice) {
    let subject = notice.one("Subject");
    assert!(notice.all("Bcc").is_empty(), "a Bcc field:\n{}", notice.head);
    for line in notice.field_lines() {
        assert!(
            !line.to_ascii_lowercase().starts_with("bcc"),
            "a Bcc line {line:?}:\n{}",
            notice.head
        );
    }
    for (name, value) in &notice.fields {
        if !name.eq_ignore_ascii_case("subject") {
            assert!(
                !value.contains("evil"),
                "{name}: {value:?} carries the attacker's text:\n{}",
                notice.head
            );
        }
    }
    assert!(!subject.contains(['\r', '\n']), "{subject:?}");
}

dotqmailtest!(a_hostile_subject_adds_no_header_line, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "");
    template(
        &dir,
        Layer::System,
        "en",
        "notifyrecipient",
        "Subject: Blocked: {{subject}}\n\
         \n\
         The subject was: {{subject}}\n\
         {{#each findings}}Found: {{filename}}\n{{/each}}",
    );
    let subjects = hostile_subjects();
    for (n, subject) in subjects.iter().enumerate() {
        let bytes = exe_mail().subject(subject).bytes();
        deliver_stopped(&dir, DOTQMAIL, &bytes);
        let calls = dir.injected();
        assert_eq!(calls.len(), n + 1, "Subject {subject:?}");
        let notice = assert_notice(&calls[n], "MAILER-DAEMON@", RECIPIENT);
        assert_no_injected_header(&notice);
        let shown = notice.one("Subject");
        assert!(
            shown.starts_with("Blocked: hello") && shown.contains("evil"),
            "Subject {subject:?} became {shown:?}"
        );
        assert!(notice.body.contains(&format!("Found: {TRIGGER}")));
    }
});

dotqmailtest!(a_hostile_from_adds_no_header_line, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "");
    template(
        &dir,
        Layer::System,
        "en",
        "notifyrecipient",
        "Subject: From {{from}} about {{subject}}\n\nFrom {{from}}\n",
    );
    let evil = mail::base64(b"Eve\r\nBcc: evil@example.com\r\n");
    let bytes = exe_mail()
        .header("From", &format!("=?UTF-8?B?{evil}?= <eve@example.net>"))
        .subject(&format!("=?UTF-8?B?{}?=", mail::base64(EVIL.as_bytes())))
        .bytes();
    deliver_stopped(&dir, DOTQMAIL, &bytes);
    assert_no_injected_header(&the_notice(&dir));
});

dotqmailtest!(built_in_templates_add_no_header_line, |dir: Dir| {
    dir.injector();
    exe_rule(
        &dir,
        "block",
        "notifyrecipient,notifysender,informguard=guard@example.com",
        "",
    );
    let mut count = 0;
    for lang in ["en", "de"] {
        dir.control(Layer::System, "language", lang);
        for subject in hostile_subjects() {
            let bytes = exe_mail().subject(&subject).bytes();
            deliver_stopped(&dir, DOTQMAIL, &bytes);
            let calls = dir.injected();
            assert_eq!(calls.len(), count + 3, "Subject {subject:?}");
            for (call, to) in
                calls[count..].iter().zip([RECIPIENT, SENDER, "guard@"])
            {
                let notice =
                    assert_notice(call, "MAILER-DAEMON@", &call.args[3]);
                assert!(call.args[3].starts_with(to));
                assert_no_injected_header(&notice);
            }
            count += 3;
        }
    }
});

// The backscatter rules.

/// Checks, for each of `bytes` from `sender`, that the sender is not
/// notified and the recipient (on the same line) is.
#[track_caller]
fn refuses(dir: &Dir, cases: &[(&str, Vec<u8>)]) {
    dir.injector();
    exe_rule(dir, "block", "notifysender,notifyrecipient", "");
    for (n, (sender, bytes)) in cases.iter().enumerate() {
        run_from(dir, sender, bytes);
        let calls = dir.injected();
        let to: Vec<&str> = calls.iter().map(|c| c.args[3].as_str()).collect();
        assert_eq!(to, vec![RECIPIENT; n + 1], "case {n}: SENDER {sender:?}");
        let statuses = last_statuses(dir, Layer::System);
        assert_eq!(statuses.len(), 2, "{statuses:?}");
        assert_not_sent(&statuses[0], "badfilename/notifysender");
        assert_eq!(
            statuses[1],
            format!("badfilename/notifyrecipient: due to {RECIPIENT}")
        );
    }
}

/// Runs each case (automatic mail: null sender, `#@[]`, Auto-Submitted)
/// under notifysender and notifyrecipient and checks that nobody is
/// notified at all: a notification about automatic mail starts loops.
#[track_caller]
fn refuses_all(dir: &Dir, cases: &[(&str, Vec<u8>)]) {
    dir.injector();
    exe_rule(dir, "block", "notifysender,notifyrecipient", "");
    for (n, (sender, bytes)) in cases.iter().enumerate() {
        run_from(dir, sender, bytes);
        let calls = dir.injected();
        assert!(calls.is_empty(), "case {n}: SENDER {sender:?}: {calls:#?}");
        let statuses = last_statuses(dir, Layer::System);
        assert_eq!(statuses.len(), 2, "{statuses:?}");
        assert_not_sent(&statuses[0], "badfilename/notifysender");
        assert_not_sent(&statuses[1], "badfilename/notifyrecipient");
    }
}

/// [`exe_mail`] with the field `name: value` added.
fn with(name: &str, value: &str) -> Vec<u8> {
    exe_mail().add_header(name, value).bytes()
}

qmvctest!(no_notice_to_an_empty_sender, |dir: Dir| {
    refuses_all(&dir, &[("", exe_mail().bytes())]);
});

qmvctest!(no_notice_to_the_double_bounce_sender, |dir: Dir| {
    refuses_all(&dir, &[("#@[]", exe_mail().bytes())]);
});

qmvctest!(no_notice_to_a_mailer_daemon, |dir: Dir| {
    refuses(
        &dir,
        &[
            ("MAILER-DAEMON@example.net", exe_mail().bytes()),
            ("mailer-daemon@example.net", exe_mail().bytes()),
            ("Mailer-Daemon@mx.example.net", exe_mail().bytes()),
        ],
    );
});

qmvctest!(no_notice_to_a_postmaster, |dir: Dir| {
    refuses(
        &dir,
        &[
            ("postmaster@example.net", exe_mail().bytes()),
            ("Postmaster@example.net", exe_mail().bytes()),
        ],
    );
});

qmvctest!(no_notice_for_bulk_list_or_junk_precedence, |dir: Dir| {
    refuses(
        &dir,
        &[
            (SENDER, with("Precedence", "bulk")),
            (SENDER, with("Precedence", "list")),
            (SENDER, with("Precedence", "junk")),
            (SENDER, with("Precedence", "Bulk")),
        ],
    );
});

qmvctest!(no_notice_for_list_mail, |dir: Dir| {
    refuses(&dir, &[(SENDER, with("List-Id", "News <news.example.net>"))]);
});

qmvctest!(no_notice_for_auto_submitted_mail, |dir: Dir| {
    refuses_all(
        &dir,
        &[
            (SENDER, with("Auto-Submitted", "auto-generated")),
            (SENDER, with("Auto-Submitted", "auto-replied")),
            (SENDER, with("Auto-Submitted", "auto-notified")),
        ],
    );
});

qmvctest!(auto_submitted_no_is_notified, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifysender", "");
    run_from(&dir, SENDER, &with("Auto-Submitted", "no"));
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_notice(&calls[0], "MAILER-DAEMON@", SENDER);
    assert_eq!(
        last_statuses(&dir, Layer::System),
        [format!("badfilename/notifysender: due to {SENDER}")]
    );
});

qmvctest!(a_refused_sender_is_still_once_per_message, |dir: Dir| {
    // The first condition's notifysender is refused (backscatter); the
    // second is then already done: the sender is asked about once.
    dir.injector();
    dir.filters(
        "badsubject ; block ; notifysender ; ;\n\
         badfilename ; block ; notifysender ; ;\n",
    );
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    dir.control(Layer::System, "badsubjects", "invoice\n");
    run_from(&dir, "", &exe_mail().bytes());
    assert!(dir.injected().is_empty());
    let statuses = last_statuses(&dir, Layer::System);
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_not_sent(&statuses[0], "badsubject/notifysender");
    assert_eq!(statuses[1], "badfilename/notifysender: already notified");
});

// The sender of a virus.

/// The marker the fake scanner calls a virus.
const FAKE_MARKER: &str = "QMVC-FAKE-VIRUS-4b1d";

/// The virus name the fake scanner reports.
const FAKE_VIRUS: &str = "Fake.Test.Virus";

/// A command engine `fakescan` (initial F) that finds [`FAKE_VIRUS`] in
/// any file holding [`FAKE_MARKER`].
fn fake_scanner(dir: &Dir) {
    let script = dir.script(
        "fakescan",
        &format!(
            "if grep -q '{FAKE_MARKER}' \"$1\"; then\n\
             \x20 echo \"$1: {FAKE_VIRUS} FOUND\"; exit 1\nfi\nexit 0"
        ),
    );
    let yaml = format!(
        "protocol: command\ncommand: [\"{}\", \"{{}}\"]\n\
         target: file\nclean: [0]\ninfected: [1]\n\
         virus: ': (\\S+) FOUND$'\ntimeout: 20\n",
        script.display()
    );
    dir.scanners(&[("fakescan", 'F', &yaml)]);
}

/// A message the fake scanner finds [`FAKE_VIRUS`] in.
fn fake_virus() -> Vec<u8> {
    Mail::new().subject("you won").text(&format!("{FAKE_MARKER}\n")).bytes()
}

dotqmailtest!(a_virus_sender_is_left_out, |dir: Dir| {
    dir.injector();
    fake_scanner(&dir);
    dir.filters("virusmail ; block ; notifysender,notifyrecipient ; ;\n");
    deliver_stopped(&dir, DOTQMAIL, &fake_virus());
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let notice = assert_notice(&calls[0], "MAILER-DAEMON@", RECIPIENT);
    assert!(notice.body.contains(FAKE_VIRUS), "{}", notice.body);
    assert_eq!(
        last_statuses(&dir, Layer::System),
        [
            "virusmail/notifysender: left out (virus sender; option \
             virussender)"
                .to_string(),
            format!("virusmail/notifyrecipient: due to {RECIPIENT}"),
        ]
    );
});

dotqmailtest!(a_virus_sender_is_told_with_virussender, |dir: Dir| {
    dir.injector();
    fake_scanner(&dir);
    dir.filters("virusmail ; keep ; notifysender ; virussender ;\n");
    deliver_stopped(&dir, DOTQMAIL, &fake_virus());
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let notice = assert_notice(&calls[0], "MAILER-DAEMON@", SENDER);
    assert!(notice.body.contains(FAKE_VIRUS), "{}", notice.body);
    assert_eq!(
        last_statuses(&dir, Layer::System),
        [format!("virusmail/notifysender: due to {SENDER}")]
    );
});

dotqmailtest!(a_virus_found_by_clamd_is_notified, |dir: Dir| {
    if !crate::util::have_clamd() {
        return;
    }
    let home = dir.path("clamd");
    fs::create_dir_all(&home).unwrap();
    let clamd = Clamd::start(&home, &[]);
    let socket = clamd.socket();
    dir.scanners(&[(
        "clamd",
        'C',
        &format!(
            "protocol: clamd\nendpoints:\n  - \"unix:{}\"\n\
             connect_timeout: 2\ntimeout: 20\n",
            socket.display()
        ),
    )]);
    dir.injector();
    dir.filters(
        "virusmail ; keep ; notifysender,notifyrecipient,\
         informguard=guard@example.com ; ;\n",
    );
    let bytes = Mail::new()
        .subject("invoice")
        .mixed(vec![
            Part::text("The file is attached.\n"),
            Part::attachment(
                "eicar.com",
                "application/octet-stream",
                testing::eicar(),
            ),
        ])
        .bytes();
    deliver_stopped(&dir, DOTQMAIL, &bytes);
    let calls = dir.injected();
    let to: Vec<&str> = calls.iter().map(|c| c.args[3].as_str()).collect();
    assert_eq!(to, [RECIPIENT, "guard@example.com"]);
    for call in &calls {
        let notice = assert_notice(call, "MAILER-DAEMON@", &call.args[3]);
        assert!(notice.body.contains(testing::EICAR_FOUND), "{}", notice.body);
    }
    assert_eq!(
        last_statuses(&dir, Layer::System)[0],
        "virusmail/notifysender: left out (virus sender; option virussender)"
    );
});

// Forwarding loops.

dotqmailtest!(a_forward_to_the_same_guard_is_a_loop, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "forwardguard=guard@example.com", "");
    for name in ["X-QMVC-Forwarded", "x-qmvc-forwarded"] {
        let bytes = exe_mail().add_header(name, "guard@example.com").bytes();
        deliver_stopped(&dir, DOTQMAIL, &bytes);
        assert!(dir.injected().is_empty(), "{name}: forwarded again");
        let statuses = last_statuses(&dir, Layer::System);
        assert_eq!(statuses.len(), 1, "{statuses:?}");
        assert_not_sent(&statuses[0], "badfilename/forwardguard");
        assert!(statuses[0].contains("loop"), "{statuses:?}");
    }
});

dotqmailtest!(a_loop_is_found_after_expansion, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "forwardguard=$USER-guard@$HOST", "");
    let bytes = exe_mail()
        .add_header("X-QMVC-Forwarded", &format!("bob-guard@{HOST}"))
        .bytes();
    deliver_stopped(&dir, DOTQMAIL, &bytes);
    assert!(dir.injected().is_empty(), "forwarded again");
    let statuses = last_statuses(&dir, Layer::System);
    assert!(statuses[0].contains("loop"), "{statuses:?}");
});

dotqmailtest!(a_forward_to_another_guard_goes_out, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "forwardguard=other@example.com", "");
    let bytes =
        exe_mail().add_header("X-QMVC-Forwarded", "guard@example.com").bytes();
    deliver_stopped(&dir, DOTQMAIL, &bytes);
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].args, ["-a", "-f", "", "other@example.com"]);
    assert!(
        calls[0].message == forwarded("other@example.com", &bytes),
        "{}",
        calls[0].text()
    );
});

dotqmailtest!(a_trace_outside_the_header_is_no_loop, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "forwardguard=guard@example.com", "");
    let inner =
        Mail::new().add_header("X-QMVC-Forwarded", "guard@example.com");
    let bytes = exe_mail()
        .mixed(vec![
            Part::text("X-QMVC-Forwarded: guard@example.com\n"),
            Part::message(&inner),
            Part::attachment(TRIGGER, "application/octet-stream", b"MZ"),
        ])
        .bytes();
    deliver_stopped(&dir, DOTQMAIL, &bytes);
    let calls = dir.injected();
    assert_eq!(
        calls.len(),
        1,
        "not forwarded: {:?}",
        dir.reports(Layer::System)
    );
    assert!(calls[0].message == forwarded("guard@example.com", &bytes));
});

// An injector that fails.

dotqmailtest!(a_failing_injector_defers, |dir: Dir| {
    dir.injector_exiting(1);
    for reaction in [
        "notifyrecipient",
        "notifysender",
        "informguard=guard@example.com",
        "forwardguard=guard@example.com",
    ] {
        exe_rule(&dir, "block", reaction, "");
        let msg = dir.message(&exe_mail().bytes());
        let delivery = dir.deliver(DOTQMAIL, &msg);
        let Outcome::Deferred(reason) = &delivery.outcome else {
            panic!("{reaction}: not deferred: {:?}", delivery.outcome);
        };
        assert!(
            reason.starts_with("qmvc: ") && reason.len() > 10,
            "{reaction}: reason {reason:?}"
        );
        assert!(dir.maildir().is_empty(), "{reaction}: delivered");
    }
    assert_eq!(dir.injected().len(), 4, "the stub was not called");
    let errors =
        fs::read_to_string(dir.layer(Layer::System).join("log/qmvc.error"))
            .unwrap_or_default();
    assert_eq!(errors.lines().count(), 4, "qmvc.error:\n{errors}");
    // Each deferral is a qmvc.log line: what was met, action defer.
    let log = dir.log(Layer::System);
    assert_eq!(log.len(), 4, "{log:?}");
    assert!(log.iter().all(|l| l.action() == "defer"), "{log:?}");
    assert!(log.iter().all(|l| l.result() == "badfilename"), "{log:?}");
});

dotqmailtest!(a_missing_injector_defers, |dir: Dir| {
    dir.control(Layer::System, "injector", "/nonexistent/qmail-inject\n");
    exe_rule(&dir, "block", "notifyrecipient", "");
    let msg = dir.message(&exe_mail().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let Outcome::Deferred(reason) = &delivery.outcome else {
        panic!("not deferred: {:?}", delivery.outcome);
    };
    assert!(!reason.is_empty());
    assert!(dir.maildir().is_empty());
    let errors =
        fs::read_to_string(dir.layer(Layer::System).join("log/qmvc.error"))
            .unwrap_or_default();
    assert_eq!(errors.lines().count(), 1, "qmvc.error:\n{errors}");
});

dotqmailtest!(keep_comes_before_a_failing_injector, |dir: Dir| {
    dir.injector_exiting(1);
    exe_rule(&dir, "keep", "notifyrecipient", "");
    let bytes = exe_mail().bytes();
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(
        matches!(delivery.outcome, Outcome::Deferred(_)),
        "{:?}",
        delivery.outcome
    );
    let new = dir.layer(Layer::System).join("save/policy/new");
    let kept = files_in(&new);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), bytes);
    // qmail tries again once the injector works: the message is not
    // kept a second time (qmvc(8), RETRIES) and the notice goes out.
    dir.injector();
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_eq!(delivery.outcome, Outcome::Stopped);
    assert_eq!(files_in(&new).len(), 1);
    assert_eq!(dir.injected().len(), 2, "one failed call, one good one");
});

dotqmailtest!(a_broken_template_defers, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "");
    for text in [
        "Subject: x\n\n{{#if subject}}unclosed\n",
        "Subject: x\n\n{{nosuchvar}}\n",
    ] {
        template(&dir, Layer::User, "en", "notifyrecipient", text);
        let msg = dir.message(&exe_mail().bytes());
        let delivery = dir.deliver(DOTQMAIL_U, &msg);
        assert!(
            matches!(delivery.outcome, Outcome::Deferred(_)),
            "{text:?}: {:?}",
            delivery.outcome
        );
        assert!(dir.injected().is_empty());
    }
});

// -t and -L.

qmvctest!(test_mode_shows_reactions_due_and_sends_nothing, |dir: Dir| {
    dir.injector_exiting(1);
    exe_rule(
        &dir,
        "block",
        "notifyrecipient,notifysender,informguard=guard@example.com,\
         forwardguard=$USER-fwd@$HOST",
        "",
    );
    let out = dir.run(&["-t"], &exe_mail().bytes());
    out.assert_code(99);
    for line in [
        "reaction: notifyrecipient (due)",
        "reaction: notifysender (due)",
        "reaction: informguard=guard@example.com (due)",
        "reaction: forwardguard=$USER-fwd@$HOST (due)",
    ] {
        assert!(out.stdout.contains(line), "no {line:?}\n{}", out.stdout);
    }
    assert!(dir.injected().is_empty(), "-t called the injector");
    assert!(!dir.layer(Layer::System).join("log").exists(), "-t wrote logs");
});

qmvctest!(lint_finds_a_template_syntax_error, |dir: Dir| {
    exe_rule(&dir, "block", "notifyrecipient", "");
    template(
        &dir,
        Layer::User,
        "en",
        "notifyrecipient",
        "Subject: x\n\n{{#if subject}}unclosed\n",
    );
    let file = dir.layer(Layer::User).join("tpl/en/notifyrecipient.hbs");
    assert_lint(&dir.qmvc(&["-uL"]).run(), &file, None, "");
    // Without -u the user layer is not in use: clean.
    dir.qmvc(&["-L"]).run().assert_code(0);
});

qmvctest!(lint_finds_an_unknown_variable, |dir: Dir| {
    exe_rule(&dir, "block", "notifyrecipient", "");
    template(
        &dir,
        Layer::User,
        "en",
        "notifyrecipient",
        "Subject: {{subject}}\n\nHello {{nosuchvar}}\n",
    );
    let file = dir.layer(Layer::User).join("tpl/en/notifyrecipient.hbs");
    assert_lint(&dir.qmvc(&["-uL"]).run(), &file, None, "nosuchvar");
});

qmvctest!(lint_checks_the_language_of_the_line, |dir: Dir| {
    exe_rule(&dir, "block", "notifysender", "lang=de");
    template(&dir, Layer::System, "de", "notifysender", "{{#each}}\n");
    let file = dir.layer(Layer::System).join("tpl/de/notifysender.hbs");
    assert_lint(&dir.qmvc(&["-L"]).run(), &file, None, "");
});

qmvctest!(lint_is_clean_for_reactions_and_a_missing_language, |dir: Dir| {
    exe_rule(
        &dir,
        "keep",
        "notifyrecipient,notifysender,informguard=guard-$LOCAL@$HOST,\
         forwardguard=$USER@example.com",
        "lang=fr",
    );
    dir.control(Layer::System, "language", "de\n");
    dir.control(Layer::System, "guard", "postmaster@example.com\n");
    let out = dir.qmvc(&["-L"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "", "{}", out.describe());
});

qmvctest!(lint_rejects_reactions_without_block_or_keep, |dir: Dir| {
    dir.filters(
        "badsubject ; bounce ; notifyrecipient ; ;\n\
         badfilename ; inspect ; informguard=guard@example.com ; ;\n\
         badmimetype ; trash ; forwardguard=guard@example.com ; ;\n",
    );
    let file = dir.layer(Layer::System).join("control/filters");
    let out = dir.qmvc(&["-L"]).run();
    out.assert_code(1);
    for (line, action) in [(1, "bounce"), (2, "inspect"), (3, "trash")] {
        let prefix = format!("{}:{line}: ", file.display());
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(action)),
            "no {prefix}...{action}\n{}",
            out.describe()
        );
    }
    // And a delivery under such a profile defers, sending nothing.
    dir.injector();
    dir.run(&[], &exe_mail().bytes()).assert_code(111);
    assert!(dir.injected().is_empty());
});

// More hostile input.

qmvctest!(a_hostile_recipient_extension_is_not_sent, |dir: Dir| {
    // With a dot-qmail-default, the extension is the remote sender's
    // choice: `<"bob-x y"@example.org>` reaches bob as `bob-x y`.
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient", "");
    let bytes = exe_mail().bytes();
    for recipient in ["bob-x y@example.org", "bob-a,carol@example.org"] {
        let out = dir
            .qmvc(&[])
            .stdin_bytes(&bytes)
            .env("RECIPIENT", recipient)
            .env("EXT", recipient.split(['-', '@']).nth(1).unwrap())
            .run();
        assert_eq!(
            out.code,
            99,
            "RECIPIENT {recipient:?}: a permanent condition defers \
             the message for good\n{}",
            out.describe()
        );
        assert!(dir.injected().is_empty(), "{:#?}", dir.injected());
        let statuses = last_statuses(&dir, Layer::System);
        assert_not_sent(&statuses[0], "badfilename/notifyrecipient");
    }
});

qmvctest!(a_hostile_host_adds_no_header_line, |dir: Dir| {
    dir.injector();
    dir.set_env("HOST", "example.org\nBcc: evil@example.com");
    exe_rule(&dir, "block", "notifyrecipient", "");
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().bytes());
    let notice = the_notice(&dir);
    assert_no_injected_header(&notice);
    assert!(!notice.body.contains("Bcc: evil"), "{}", notice.body);
});

dotqmailtest!(a_non_ascii_subject_is_encoded, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "keep", "notifyrecipient", "lang=de");
    let subject = format!("=?UTF-8?B?{}?=", mail::base64("Grüße".as_bytes()));
    deliver_stopped(&dir, DOTQMAIL, &exe_mail().subject(&subject).bytes());
    let notice = the_notice(&dir);
    // The German keep Subject is not ASCII either.
    assert_eq!(notice.one("Subject"), "In Quarantäne: Grüße");
    assert!(notice.head.is_ascii(), "raw 8-bit in the header");
    assert!(notice.body.contains("Größe"), "{}", notice.body);
});

dotqmailtest!(the_injector_cannot_write_the_reason, |dir: Dir| {
    let script = dir.script(
        "noisy",
        "echo 'injector says hi'\necho 'injector says ho' >&2\n\
         cat > /dev/null\nexit 1",
    );
    dir.control(Layer::System, "injector", &format!("{}\n", script.display()));
    exe_rule(&dir, "block", "notifyrecipient", "");
    let msg = dir.message(&exe_mail().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let Outcome::Deferred(reason) = &delivery.outcome else {
        panic!("not deferred: {:?}", delivery.outcome);
    };
    assert!(reason.starts_with("qmvc: "), "{reason:?}");
    assert!(
        !delivery.first().stdout.contains("injector says"),
        "{}",
        delivery.first().describe()
    );
});

qmvctest!(lint_finds_an_unknown_variable_in_a_loop, |dir: Dir| {
    exe_rule(&dir, "block", "informguard=guard@example.com", "");
    template(
        &dir,
        Layer::System,
        "en",
        "informguard",
        "Subject: {{subject}}\n\n{{#each findings}}{{nosuchvar}}{{/each}}\n",
    );
    let file = dir.layer(Layer::System).join("tpl/en/informguard.hbs");
    assert_lint(&dir.qmvc(&["-L"]).run(), &file, None, "nosuchvar");
});

qmvctest!(lint_gives_the_line_of_a_template_error, |dir: Dir| {
    exe_rule(&dir, "block", "notifyrecipient", "");
    template(
        &dir,
        Layer::System,
        "en",
        "notifyrecipient",
        "Subject: {{subject}}\n\nHello {{nosuchvar}}\n",
    );
    let file = dir.layer(Layer::System).join("tpl/en/notifyrecipient.hbs");
    let out = dir.qmvc(&["-L"]).run();
    out.assert_code(1);
    let prefix = format!("{}:3: ", file.display());
    assert!(
        out.stdout.lines().any(|l| l.starts_with(&prefix)),
        "the error is on line 3 of the template: no {prefix}...\n{}",
        out.stdout
    );
});

qmvctest!(a_notification_fed_back_in_is_never_notified_about, |dir: Dir| {
    // The notification names the attachment; a profile that blocks any
    // mail mentioning it would, without the rule, notify about the
    // notification, and so on for ever (30 generations were seen).
    dir.injector();
    dir.filters(
        "badfilename ; block ; notifyrecipient,informguard=guard@example.org ; ;\n\
         badbodytext ; block ; notifyrecipient,informguard=guard@example.org ; ;\n",
    );
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    dir.control(Layer::System, "badbodytexts", &format!("{TRIGGER}\n"));
    run_from(&dir, SENDER, &exe_mail().bytes());
    let first = dir.injected();
    assert_eq!(first.len(), 2, "{first:#?}");
    for generation in &first {
        // Fed back in, as qmail would deliver it: null sender.
        run_from(&dir, "", &generation.message);
        assert_eq!(dir.injected().len(), 2, "a notification was notified");
        let statuses = last_statuses(&dir, Layer::System);
        assert!(
            statuses.iter().all(|s| s.contains("not sent")),
            "{statuses:?}"
        );
    }
    // Auto-Submitted alone is enough, whatever the envelope sender.
    let mut tagged = b"Auto-Submitted: auto-replied\n".to_vec();
    tagged.extend_from_slice(&exe_mail().bytes());
    run_from(&dir, SENDER, &tagged);
    assert_eq!(dir.injected().len(), 2);
});
