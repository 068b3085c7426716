/*!
spammail end to end: the real `qmvc` binary asks a real spamd (and one
test a real rspamd) about real messages.

One spamd serves the whole test binary ([`shared_spamd`], from the
`qmvc-scanners` test fixture: private configuration, no network checks,
stopped when the binary exits); each test names it in its own profile.
Tests that need to tell their requests apart in spamd's log use a user
and a Message-ID of their own. The one test that stops spamd starts its
own. Without spamd (or rspamd) installed these tests say so loudly and
are skipped, except under `CI=true`, where they fail
([`crate::util::missing`]): `scripts/test` installs them.
*/

use std::fs;

use qmvc_profile::Endpoint;
use qmvc_scanners::testing::{self, shared_spamd, Rspamd, Spamd, GTUBE};

use crate::util::{files_in, missing, Dir, Layer, Outcome};

/// The filter, then the Maildir.
const DOTQMAIL: &str = "|qmvc\n./Maildir/\n";

/// An endpoint as written in a definition.
fn spec(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Unix(path) => format!("unix:{}", path.display()),
        Endpoint::Tcp { host, port } => format!("tcp:{host}:{port}"),
    }
}

/// Whether spamd is installed; loudly not (a failure under `CI=true`).
fn have_spamd() -> bool {
    let found = testing::spamd_available();
    if !found {
        missing("spamd (spamassassin, spamd)");
    }
    found
}

/// The shared spamd, or the end of the test when there is none.
macro_rules! spamd {
    () => {
        if have_spamd() {
            shared_spamd()
        } else {
            return;
        }
    };
}

/// Names the spam engine `engine` (initial `A`) of protocol `protocol`
/// at `endpoints` in the system layer, with `extra` YAML lines.
fn spam_engine(
    dir: &Dir,
    engine: &str,
    protocol: &str,
    endpoints: &[String],
    extra: &str,
) {
    let mut yaml = format!("protocol: {protocol}\nendpoints:\n");
    for endpoint in endpoints {
        yaml.push_str(&format!("  - \"{endpoint}\"\n"));
    }
    yaml.push_str("connect_timeout: 2\ntimeout: 30\n");
    yaml.push_str(extra);
    dir.control(Layer::System, &format!("scanners.d/{engine}.yaml"), &yaml);
    dir.control(
        Layer::System,
        "spamscanners",
        &format!("{engine} ; A ; {engine} engine ;\n"),
    );
}

/// The shared spamd as engine `spamd`, with `extra` YAML lines.
fn use_spamd(dir: &Dir, spamd: &Spamd, extra: &str) {
    spam_engine(dir, "spamd", "spamd", &[spec(&spamd.endpoint_unix())], extra);
}

/// A message of `body` with a Message-ID of its own, so that spamd's
/// log can be searched for it.
fn message(id: &str, body: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}@qmvc.test>\nFrom: carol@example.com\n\
         To: bob@example.org\nSubject: {id}\n\n{body}\n"
    )
    .into_bytes()
}

/// Whether `text` is a GTUBE score: 1000 plus what the test message's
/// missing header fields add (MISSING_DATE and the like).
fn gtube_score(text: &str) -> bool {
    text.parse::<f64>().is_ok_and(|s| (1000.0..1010.0).contains(&s))
}

/// The spam results of the last qmvc.rep document of the system layer.
fn spam_results(dir: &Dir) -> serde_yaml::Value {
    let reports = dir.reports(Layer::System);
    let doc = reports.last().expect("a qmvc.rep document");
    doc["spam"].clone()
}

/// Whether spamd's log says it checked message `id` for `user`.
fn checked_for(spamd: &Spamd, id: &str, user: &str) -> bool {
    let wanted = format!("checking message <{id}@qmvc.test> for {user}:");
    spamd.log().lines().any(|l| l.contains(&wanted))
}

qmvctest!(gtube_is_kept_in_save, |dir: Dir| {
    let spamd = spamd!();
    use_spamd(&dir, spamd, "");
    dir.filters("spammail ; keep ;\n");
    let msg = dir.message(&message("gtube-keep", GTUBE));
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_eq!(
        delivery.outcome,
        Outcome::Stopped,
        "{}",
        delivery.first().describe()
    );
    assert_eq!(delivery.first().code, 99);
    assert!(dir.maildir().is_empty());
    let kept = files_in(&dir.layer(Layer::System).join("save/policy/new"));
    assert_eq!(kept.len(), 1, "{:?}", dir.tree());
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "spammail", "{}", line.raw);
    assert_eq!(line.action(), "keep");
    assert!(gtube_score(line.field(12)), "{}", line.raw);
    let spam = spam_results(&dir);
    assert_eq!(spam[0]["engine"].as_str(), Some("spamd (A)"), "{spam:?}");
    assert_eq!(spam[0]["score"].as_str(), Some(line.field(12)));
    assert_eq!(spam[0]["required"].as_str(), Some("5.0"));
    assert_eq!(spam[0]["spam"].as_bool(), Some(true));
    assert_eq!(spam[0]["user"].as_str(), Some("bob"));
    let symbols: Vec<&str> = spam[0]["symbols"]
        .as_sequence()
        .expect("symbols")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(symbols.contains(&"GTUBE"), "{symbols:?}");
    assert!(spam[0]["rung"].as_str().unwrap_or("").ends_with(":1 keep"));
});

qmvctest!(ham_is_delivered_with_its_score, |dir: Dir| {
    let spamd = spamd!();
    use_spamd(&dir, spamd, "");
    dir.filters("spammail ; keep ;\n");
    let msg = dir.message(&testing::ham_message());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(
        matches!(delivery.outcome, Outcome::Delivered(_)),
        "{}",
        delivery.first().describe()
    );
    assert_eq!(dir.maildir().len(), 1);
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "clear", "{}", line.raw);
    let score: f64 = line
        .field(12)
        .parse()
        .unwrap_or_else(|_| panic!("field 12 is not a score: {}", line.raw));
    assert!(score < 5.0, "{}", line.raw);
    assert!(dir.reports(Layer::System).is_empty());
});

qmvctest!(gtube_climbs_the_ladder_to_its_top, |dir: Dir| {
    let spamd = spamd!();
    use_spamd(&dir, spamd, "");
    let filters = dir.filters(
        "spammail ; inspect ;  ;  ;\n\
         spammail ; keep    ;  ; score=10 ;\n\
         spammail ; bounce  ;  ; score=20 ;\n",
    );
    let msg = dir.message(&message("gtube-ladder", GTUBE));
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let Outcome::Bounced(reason) = &delivery.outcome else {
        panic!("{}", delivery.first().describe())
    };
    assert!(reason.contains("spammail (score=20)"), "{reason}");
    let doc = dir.reports(Layer::System).pop().expect("qmvc.rep");
    let hit = &doc["conditions"][0];
    assert_eq!(hit["action"].as_str(), Some("bounce"));
    assert_eq!(
        hit["rule"].as_str(),
        Some(format!("{}:3", filters.display()).as_str())
    );
    // Ham reaches no rung.
    let msg = dir.message(&testing::ham_message());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(matches!(delivery.outcome, Outcome::Delivered(_)));
});

qmvctest!(a_message_over_max_size_is_not_sent, |dir: Dir| {
    let spamd = spamd!();
    use_spamd(&dir, spamd, "max_size: 512000\n");
    dir.filters("spammail ; block ;\n");
    let body = format!("{GTUBE}\n{}", "filler line of text\n".repeat(30_000));
    let bytes = message("too-large", &body);
    assert!(bytes.len() > 512_000);
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(
        matches!(delivery.outcome, Outcome::Delivered(_)),
        "{}",
        delivery.first().describe()
    );
    let line = dir.last_log(Layer::System);
    assert_eq!(line.field(12), "-", "{}", line.raw);
    assert!(!spamd.log().contains("<too-large@qmvc.test>"));
    let out = dir.qmvc(&["-t"]).stdin_file(&msg).run();
    out.assert_code(0);
    assert!(
        out.stdout.contains("not scanned for spam by spamd (A): ")
            && out.stdout.contains("is over max_size 512000"),
        "{}",
        out.stdout
    );
});

qmvctest!(spamd_down_lets_mail_through_or_defers_as_told, |dir: Dir| {
    if !have_spamd() {
        return;
    }
    let home = dir.path("spamd");
    fs::create_dir_all(&home).unwrap();
    let mut own = Spamd::start(&home);
    use_spamd(&dir, &own, "");
    dir.filters("spammail ; block ;\n");
    let msg = dir.message(&testing::ham_message());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(matches!(delivery.outcome, Outcome::Delivered(_)));
    assert_ne!(dir.last_log(Layer::System).field(12), "-");
    own.stop();
    // Built-in policy pass: delivered, field 12 `-`, a qmvc.error line.
    let gtube = dir.message(&message("gtube-down", GTUBE));
    let delivery = dir.deliver(DOTQMAIL, &gtube);
    assert!(
        matches!(delivery.outcome, Outcome::Delivered(_)),
        "{}",
        delivery.first().describe()
    );
    let line = dir.last_log(Layer::System);
    assert_eq!(
        (line.result(), line.field(12)),
        ("clear", "-"),
        "{}",
        line.raw
    );
    let errors =
        fs::read_to_string(dir.layer(Layer::System).join("log/qmvc.error"))
            .expect("qmvc.error");
    // qmvc.error folds spaces to `_`.
    assert!(
        errors.contains("spam_engine_spamd_(A)_failed")
            && errors.contains("(on_error_pass)"),
        "{errors}"
    );
    // on_error: tempfail defers.
    use_spamd(&dir, &own, "on_error: tempfail\n");
    let delivery = dir.deliver(DOTQMAIL, &gtube);
    let Outcome::Deferred(reason) = &delivery.outcome else {
        panic!("{}", delivery.first().describe())
    };
    assert!(reason.contains("spam engine spamd (A) failed"), "{reason}");
    assert_eq!(delivery.first().code, 111);
});

qmvctest!(spamd_is_asked_for_the_recipients_local_part, |dir: Dir| {
    let spamd = spamd!();
    use_spamd(&dir, spamd, "user: fallback-user\n");
    dir.filters("spammail ; block ;\n");
    dir.set_env("USER", "dave");
    let msg = dir.message(&message("user-dave", "Hello Dave."));
    dir.deliver(DOTQMAIL, &msg);
    assert!(checked_for(spamd, "user-dave", "dave"), "{}", spamd.log());
    // A hostile USER is replaced by the definition's user.
    for (id, user) in
        [("user-space", "a b".to_string()), ("user-long", "u".repeat(100))]
    {
        dir.set_env("USER", &user);
        let msg = dir.message(&message(id, "Hello."));
        dir.deliver(DOTQMAIL, &msg);
        assert!(
            checked_for(spamd, id, "fallback-user"),
            "{id}: {}",
            spamd.log()
        );
    }
});

qmvctest!(
    with_v_the_original_recipients_local_part_is_the_user,
    |dir: Dir| {
        let spamd = spamd!();
        use_spamd(&dir, spamd, "");
        dir.filters("spammail ; block ;\n");
        dir.set_env("RECIPIENT", "example.org-erin@example.org");
        let msg = dir.message(&message("user-erin", "Hello Erin."));
        dir.deliver("|qmvc -v example.org-\n./Maildir/\n", &msg);
        assert!(checked_for(spamd, "user-erin", "erin"), "{}", spamd.log());
    }
);

qmvctest!(test_mode_and_status_show_the_spam_engine, |dir: Dir| {
    let spamd = spamd!();
    use_spamd(&dir, spamd, "");
    dir.filters("spammail ; keep ; ; score=10\n");
    let out = dir.run(&["-t"], &message("gtube-t", GTUBE));
    out.assert_code(99);
    let shown = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("  spam: spamd (A) score "))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let (score, rest) = shown.split_once(' ').unwrap_or_default();
    assert!(gtube_score(score), "{shown}");
    assert!(rest.starts_with("required 5.0 spam user bob -> "), "{shown}");
    assert!(rest.ends_with("filters:1 keep"), "{shown}");
    assert!(out.stdout.contains("symbols: ") && out.stdout.contains("GTUBE"));
    assert!(out.stdout.contains("match: pattern=score=10"), "{}", out.stdout);
    assert!(dir.log(Layer::System).is_empty(), "-t writes nothing");
    let out = dir.qmvc(&["-s"]).run();
    out.assert_code(0);
    assert!(
        out.stdout.contains("A spamd (spamd engine): spam engine; answers at"),
        "{}",
        out.describe()
    );
});

qmvctest!(rspamd_judges_gtube, |dir: Dir| {
    if !testing::rspamd_available() {
        missing("rspamd");
        return;
    }
    let home = dir.path("rspamd");
    fs::create_dir_all(&home).unwrap();
    let rspamd = Rspamd::start(&home);
    spam_engine(&dir, "rspamd", "rspamd", &[spec(&rspamd.endpoint())], "");
    dir.filters("spammail ; block ;\n");
    let msg = dir.message(&testing::gtube_message());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_eq!(
        delivery.outcome,
        Outcome::Stopped,
        "{}",
        delivery.first().describe()
    );
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "spammail", "{}", line.raw);
    let spam = spam_results(&dir);
    assert_eq!(spam[0]["engine_action"].as_str(), Some("reject"), "{spam:?}");
    assert_eq!(spam[0]["spam"].as_bool(), Some(true));
    assert_eq!(line.field(12), spam[0]["score"].as_str().unwrap_or(""));
});

qmvctest!(in_queue_mode_the_user_is_the_one_recipient, |dir: Dir| {
    let spamd = spamd!();
    use_spamd(&dir, spamd, "user: fallback-user\n");
    dir.filters("spammail ; block ;\n");
    let queue = env!("CARGO_BIN_EXE_qmvc-queue");
    let cases: [(&str, &[u8], &str); 2] = [
        (
            "queue-one",
            b"Falice@example.net\0Tbob@example.org\0\0",
            "bob@example.org",
        ),
        (
            "queue-two",
            b"Falice@example.net\0Tbob@example.org\0Tcarol@example.org\0\0",
            "fallback-user",
        ),
    ];
    for (id, envelope, user) in cases {
        let env = dir.write(&format!("{id}.env"), envelope);
        let msg = dir.message(&message(id, "Hello."));
        let out = std::process::Command::new(queue)
            .env("QMVCHOME", dir.layer(Layer::System))
            .env_remove("TCPREMOTEIP")
            .arg("-t")
            .args([env.as_os_str(), msg.as_os_str()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains(&format!("user {user}")), "{text}");
        assert!(checked_for(spamd, id, user), "{id}: {}", spamd.log());
    }
});
