/*!
Every action as qmail-local sees it, through the dot-qmail emulator: exit
code, what happens to later dot-qmail lines, and what qmvc leaves in its
layer (qmvc.log, qmvc.rep, save/, inspect/).
*/

use std::fs;

use crate::mail::{self, Mail, Part};
use crate::util::{entries_in, files_in, Dir, Layer, Outcome};

/// The dot-qmail file of every test here: filter, then deliver.
const DOTQMAIL: &str = "# filter first\n|qmvc\n./Maildir/\n";

/// A message with a bad subject.
fn spam() -> Vec<u8> {
    Mail::new().subject("make money fast").bytes()
}

/// badsubject with `action`, listing "make money fast".
fn subject_rule(dir: &Dir, action: &str) {
    dir.filters(&format!("badsubject ; {action} ; ; ;\n"));
    dir.control(Layer::System, "badsubjects", "make money fast\n");
}

dotqmailtest!(clean_message_is_delivered, |dir: Dir| {
    subject_rule(&dir, "block");
    let bytes = Mail::new().bytes();
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let Outcome::Delivered(files) = &delivery.outcome else {
        panic!("not delivered: {delivery:?}");
    };
    assert_eq!(files.len(), 1);
    assert!(fs::read(&files[0]).unwrap().ends_with(&bytes));
    assert_eq!(delivery.first().stdout, "");
    assert_eq!(dir.last_log(Layer::System).action(), "pass");
    assert_eq!(dir.rep_text(Layer::System), "");
});

dotqmailtest!(block_stops_delivery_and_records, |dir: Dir| {
    subject_rule(&dir, "block");
    let msg = dir.message(&spam());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_eq!(delivery.outcome, Outcome::Stopped);
    assert_eq!(delivery.first().code, 99);
    assert!(dir.maildir().is_empty(), "a later line ran");
    let reports = dir.reports(Layer::System);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["action"].as_str(), Some("block"));
    assert_eq!(reports[0]["result"].as_str(), Some("badsubject"));
    assert_eq!(dir.last_log(Layer::System).action(), "block");
    assert!(!dir.layer(Layer::System).join("save").exists());
});

dotqmailtest!(keep_stores_the_message_in_save_policy, |dir: Dir| {
    subject_rule(&dir, "keep");
    let bytes = spam();
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_eq!(delivery.outcome, Outcome::Stopped);
    assert!(dir.maildir().is_empty());
    let save = dir.layer(Layer::System).join("save/policy");
    let kept = files_in(&save.join("new"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), bytes, "kept copy differs");
    assert!(files_in(&save.join("tmp")).is_empty());
    let analyses = files_in(&save.join("analysis"));
    assert_eq!(analyses.len(), 1, "{analyses:?}");
    assert!(analyses[0].to_string_lossy().ends_with(".yaml"));
    let text = fs::read_to_string(&analyses[0]).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(doc["result"].as_str(), Some("badsubject"));
    assert_eq!(dir.reports(Layer::System).len(), 1);
    assert_eq!(dir.last_log(Layer::System).action(), "keep");
});

dotqmailtest!(keep_stores_errormail_in_save_error, |dir: Dir| {
    dir.filters("errormail ; keep ; ; ;\n");
    dir.control(Layer::System, "mailheaders", "date=required\n");
    let bytes = Mail::new().without("Date").bytes();
    let msg = dir.message(&bytes);
    assert_eq!(dir.deliver(DOTQMAIL, &msg).outcome, Outcome::Stopped);
    let save = dir.layer(Layer::System).join("save");
    let kept = files_in(&save.join("error/new"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), bytes);
    assert_eq!(files_in(&save.join("error/analysis")).len(), 1);
    assert!(!save.join("policy").exists());
});

dotqmailtest!(trash_logs_a_line_only, |dir: Dir| {
    subject_rule(&dir, "trash");
    let msg = dir.message(&spam());
    assert_eq!(dir.deliver(DOTQMAIL, &msg).outcome, Outcome::Stopped);
    assert!(dir.maildir().is_empty());
    let line = dir.last_log(Layer::System);
    assert_eq!(line.action(), "trash");
    assert_eq!(line.result(), "badsubject");
    assert_eq!(dir.rep_text(Layer::System), "", "trash wrote qmvc.rep");
    let state = dir.layer(Layer::System);
    assert!(!state.join("save").exists() && !state.join("inspect").exists());
});

dotqmailtest!(bounce_exits_100_with_a_one_line_reason, |dir: Dir| {
    subject_rule(&dir, "bounce");
    let msg = dir.message(&spam());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let Outcome::Bounced(reason) = &delivery.outcome else {
        panic!("not bounced: {:?}", delivery.outcome);
    };
    assert!(reason.contains("badsubject"), "{reason}");
    assert!(!reason.trim().is_empty());
    assert!(dir.maildir().is_empty());
    assert_eq!(dir.last_log(Layer::System).action(), "bounce");
});

dotqmailtest!(inspect_delivers_and_keeps_the_analysis, |dir: Dir| {
    subject_rule(&dir, "inspect");
    let bytes = spam();
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let Outcome::Delivered(files) = &delivery.outcome else {
        panic!("not delivered: {:?}", delivery.outcome);
    };
    assert_eq!(files.len(), 1);
    assert_eq!(delivery.first().code, 0);
    let delivered = fs::read(&files[0]).unwrap();
    assert!(delivered.ends_with(&bytes), "Maildir copy is not the message");
    assert!(delivered.starts_with(b"Return-Path: <alice@example.net>\n"));
    let inspect = entries_in(&dir.layer(Layer::System).join("inspect"));
    assert_eq!(inspect.len(), 1, "{inspect:?}");
    let name = inspect[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("alice@example.net."), "{name}");
    let analysis =
        fs::read_to_string(inspect[0].join("analysis.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&analysis).unwrap();
    assert_eq!(doc["action"].as_str(), Some("inspect"));
    assert_eq!(fs::read(inspect[0].join("message")).unwrap(), bytes);
    assert_eq!(dir.last_log(Layer::System).action(), "inspect");
});

dotqmailtest!(inspect_with_hostile_sender_stays_inside, |dir: Dir| {
    subject_rule(&dir, "inspect");
    dir.set_env("SENDER", "../../x/y");
    let msg = dir.message(&spam());
    let before: Vec<_> = entries_in(dir.root());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(matches!(delivery.outcome, Outcome::Delivered(_)));
    let inspect = dir.layer(Layer::System).join("inspect");
    let entries = entries_in(&inspect);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].is_dir());
    let real = fs::canonicalize(&entries[0]).unwrap();
    assert_eq!(real.parent().unwrap(), fs::canonicalize(&inspect).unwrap());
    let name = entries[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
    assert_eq!(entries_in(dir.root()), before, "something left the layer");
    assert!(!dir.root().join("x").exists());
    assert!(!dir.layer(Layer::System).join("x").exists());
});

/// A profile where one message meets errormail (inspect), badsubject
/// (`subject_action`) and badfilename (`file_action`).
fn three_rules(dir: &Dir, subject_action: &str, file_action: &str) -> Vec<u8> {
    dir.filters(&format!(
        "badfilename ; {file_action} ; ; ;\n\
         badsubject ; {subject_action} ; ; ;\n\
         errormail ; inspect ; ; ;\n"
    ));
    dir.control(Layer::System, "mailheaders", "to=required\n");
    dir.control(Layer::System, "badsubjects", "make money fast\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    Mail::new()
        .without("To")
        .subject("make money fast")
        .mixed(vec![
            Part::text("hi\n"),
            Part::attachment("a.exe", "application/octet-stream", b"x"),
        ])
        .bytes()
}

dotqmailtest!(most_severe_exit_bounce_wins, |dir: Dir| {
    let bytes = three_rules(&dir, "bounce", "block");
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(matches!(delivery.outcome, Outcome::Bounced(_)), "{delivery:?}");
    let line = dir.last_log(Layer::System);
    assert_eq!(line.result(), "errormail+badsubject+badfilename");
    let mut actions: Vec<&str> = line.action().split('+').collect();
    actions.sort_unstable();
    assert_eq!(actions, ["block", "bounce", "inspect"], "{}", line.raw);
    assert_eq!(entries_in(&dir.layer(Layer::System).join("inspect")).len(), 1);
});

dotqmailtest!(most_severe_exit_block_over_inspect, |dir: Dir| {
    let bytes = three_rules(&dir, "inspect", "block");
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_eq!(delivery.outcome, Outcome::Stopped);
    assert!(dir.maildir().is_empty());
    assert_eq!(entries_in(&dir.layer(Layer::System).join("inspect")).len(), 1);
});

dotqmailtest!(only_inspect_passes, |dir: Dir| {
    let bytes = three_rules(&dir, "inspect", "inspect");
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(matches!(delivery.outcome, Outcome::Delivered(_)));
    assert_eq!(dir.maildir().len(), 1);
    let inspect = entries_in(&dir.layer(Layer::System).join("inspect"));
    assert_eq!(inspect.len(), 1, "analysed more than once: {inspect:?}");
});

dotqmailtest!(several_keeps_keep_the_message_once, |dir: Dir| {
    let bytes = three_rules(&dir, "keep", "keep");
    dir.filters(
        "badfilename ; keep ; ; ;\nbadsubject ; keep ; ; ;\n\
         errormail ; keep ; ; ;\n",
    );
    let msg = dir.message(&bytes);
    assert_eq!(dir.deliver(DOTQMAIL, &msg).outcome, Outcome::Stopped);
    let save = dir.layer(Layer::System).join("save");
    let kept: Vec<_> = ["error", "policy", "virus"]
        .iter()
        .flat_map(|class| files_in(&save.join(class).join("new")))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), bytes);
    // errormail comes first, but a badmail class wins over error/.
    assert!(kept[0].starts_with(save.join("policy")), "{kept:?}");
    assert_eq!(dir.reports(Layer::System).len(), 1);
    assert_eq!(dir.log(Layer::System).len(), 1);
});

qmvctest!(quitasap_stops_later_conditions, |dir: Dir| {
    let bytes = three_rules(&dir, "block", "block");
    dir.filters(
        "badfilename ; block ; ; ;\nbadsubject ; block ; ; quitasap ;\n\
         errormail ; block ; ; ;\n",
    );
    dir.run(&[], &bytes).assert_code(99);
    assert_eq!(dir.last_log(Layer::System).result(), "errormail+badsubject");
});

qmvctest!(without_quitasap_all_conditions_are_evaluated, |dir: Dir| {
    let bytes = three_rules(&dir, "block", "block");
    dir.run(&[], &bytes).assert_code(99);
    assert_eq!(
        dir.last_log(Layer::System).result(),
        "errormail+badsubject+badfilename"
    );
});

qmvctest!(quitasap_with_inspect_does_not_stop, |dir: Dir| {
    let bytes = three_rules(&dir, "inspect", "block");
    dir.filters(
        "badfilename ; block ; ; ;\nbadsubject ; inspect ; ; quitasap ;\n\
         errormail ; inspect ; ; ;\n",
    );
    dir.run(&[], &bytes).assert_code(99);
    assert_eq!(
        dir.last_log(Layer::System).result(),
        "errormail+badsubject+badfilename"
    );
});

/// For each condition: its control file, entries and a message that
/// meets it, and the save/ class of a kept copy.
fn cases(
) -> Vec<(&'static str, &'static str, &'static str, Vec<u8>, &'static str)> {
    let pe = mail::pe();
    let attach = |name: &str, data: &[u8]| {
        Mail::new()
            .mixed(vec![
                Part::text("see attachment\n"),
                Part::attachment(name, "application/octet-stream", data),
            ])
            .bytes()
    };
    vec![
        (
            "errormail",
            "mailheaders",
            "date=required\n",
            Mail::new().without("Date").bytes(),
            "error",
        ),
        ("badsubject", "badsubjects", "make money fast\n", spam(), "policy"),
        (
            "badbodytext",
            "badbodytexts",
            "kill the boss\n",
            Mail::new().text("kill the boss\n").bytes(),
            "policy",
        ),
        (
            "badfilename",
            "badfilenames",
            "*.exe\n",
            attach("a.exe", b"x"),
            "policy",
        ),
        (
            "badmimetype",
            "badmimetypes",
            "application/x-msdownload\n",
            attach("report.txt", &pe),
            "policy",
        ),
        (
            "badloadertype",
            "badloadertypes",
            "PE\n",
            attach("data.bin", &pe),
            "policy",
        ),
    ]
}

#[test]
fn every_condition_with_every_action() {
    let actions = [
        ("block", 99),
        ("keep", 99),
        ("trash", 99),
        ("bounce", 100),
        ("inspect", 0),
    ];
    for (condition, control, entries, message, class) in cases() {
        for (action, code) in actions {
            let dir = Dir::new(&format!("{condition}-{action}"));
            dir.filters(&format!("{condition} ; {action} ; ; ;\n"));
            dir.control(Layer::System, control, entries);
            let out = dir.run(&[], &message);
            assert_eq!(
                out.code,
                code,
                "{condition} with {action}\n{}",
                out.describe()
            );
            let line = dir.last_log(Layer::System);
            assert_eq!(line.result(), condition, "{action}: {}", line.raw);
            assert_eq!(line.action(), action, "{}", line.raw);
            let state = dir.layer(Layer::System);
            let kept = files_in(&state.join("save").join(class).join("new"));
            assert_eq!(
                kept.len(),
                usize::from(action == "keep"),
                "{condition} {action}"
            );
            let inspected = entries_in(&state.join("inspect"));
            assert_eq!(inspected.len(), usize::from(action == "inspect"));
            let documents = dir.reports(Layer::System).len();
            assert_eq!(
                documents,
                usize::from(action != "trash"),
                "{condition} {action}"
            );
            if action == "bounce" {
                assert!(
                    out.reason().contains(condition),
                    "{}",
                    out.describe()
                );
            } else {
                assert!(out.stdout.is_empty(), "{}", out.describe());
            }
        }
    }
}

dotqmailtest!(keep_that_cannot_be_written_defers, |dir: Dir| {
    subject_rule(&dir, "keep");
    // A file where the Maildir should be.
    let save = dir.layer(Layer::System).join("save");
    fs::create_dir_all(&save).unwrap();
    fs::write(save.join("policy"), "in the way").unwrap();
    let msg = dir.message(&spam());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(matches!(delivery.outcome, Outcome::Deferred(_)), "{delivery:?}");
    assert_eq!(delivery.first().code, 111);
    assert!(delivery.first().reason().contains("save/policy"));
    assert!(dir.maildir().is_empty());
    let errors = dir.layer(Layer::System).join("log/qmvc.error");
    assert!(fs::read_to_string(errors).unwrap().contains("defer"));
});

qmvctest!(
    keep_past_the_file_size_limit_defers_and_leaves_nothing,
    |dir: Dir| {
        // RLIMIT_FSIZE stands in for a full disk without root: the kept copy
        // cannot be written, SIGXFSZ must not kill qmvc, the delivery defers
        // and no partial file is left in save/ (tmp/, new/ or cur/).
        use std::os::unix::process::CommandExt;
        subject_rule(&dir, "keep");
        let big = Mail::new()
            .subject("make money fast")
            .text(&"filler line\n".repeat(2000))
            .bytes();
        let msg = dir.message(&big);
        let mut cmd = std::process::Command::new(crate::util::QMVC);
        cmd.env_clear().envs(dir.environment()).current_dir(dir.home());
        cmd.stdin(fs::File::open(&msg).unwrap());
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit { rlim_cur: 4096, rlim_max: 4096 };
                libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(111), "{out:?}");
        let save = dir.layer(Layer::System).join("save/policy");
        for sub in ["tmp", "new", "cur", "analysis"] {
            let left = if save.join(sub).exists() {
                files_in(&save.join(sub))
            } else {
                Vec::new()
            };
            assert!(left.is_empty(), "save/policy/{sub}: {left:?}");
        }
    }
);
