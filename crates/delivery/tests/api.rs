/*!
The delivery library as a front end uses it: a profile from a layer, a
message, one context, and the outcome or the logs read back through
qmvc-log.
*/

use std::fs;
use std::path::Path;
use std::time::Instant;

use qmvc_delivery::{
    deliver, AddressVars, Context, Disposition, Envelope, Mode,
};
use qmvc_log::line::Record;
use qmvc_message::Message;
use qmvc_profile::{Layers, Profile, Scope};

const SPAM: &[u8] = b"From: a@example.net\nTo: b@example.org\n\
Subject: make money fast\nMessage-ID: <1@example.net>\n\nBuy now.\n";

/// A system layer that blocks the Subject "make money fast".
fn layer(root: &Path) -> Layers {
    let control = root.join("control");
    fs::create_dir_all(&control).unwrap();
    fs::write(control.join("filters"), "badsubject ; block ; ; ;\n").unwrap();
    fs::write(control.join("badsubjects"), "make money fast\n").unwrap();
    Layers::new(root.to_path_buf(), None, None)
}

fn run(layers: &Layers, mode: Mode, raw: &[u8]) -> qmvc_delivery::Outcome {
    let (profile, problems) =
        Profile::load(layers, Scope::Needed { noscan: false }).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let message = Message::parse(raw, &profile.settings.message);
    let envelope = Envelope {
        sender: "a@example.net".into(),
        recipient: "b@example.org".into(),
    };
    let spool = layers.state_dir().join("tmp");
    let warn = |what: &dyn std::fmt::Display| panic!("warned: {what}");
    let context = Context {
        layers,
        envelope: &envelope,
        raw,
        file: None,
        started: Instant::now(),
        mode,
        spool: &spool,
        noscan: false,
        address_vars: &AddressVars::default(),
        warn: &warn,
        client: None,
        spam_user: None,
    };
    deliver(&message, &profile, &context).unwrap()
}

#[test]
fn an_outcome_and_the_logs_it_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let layers = layer(dir.path());
    let outcome = run(&layers, Mode::Deliver, SPAM);
    assert_eq!(outcome.disposition, Disposition::Stop);
    assert_eq!(outcome.reason(), "badsubject (make money fast)");
    assert_eq!(outcome.facts.actions, "block");

    let log = fs::read_to_string(dir.path().join("log/qmvc.log")).unwrap();
    let record = Record::parse(log.trim_end()).unwrap();
    assert_eq!(record.result, "badsubject");
    assert_eq!(record.action, "block");
    assert_eq!(record.subject, "make_money_fast");

    let mut rep = fs::read(dir.path().join("log/qmvc.rep"))
        .map(std::io::Cursor::new)
        .unwrap();
    let mut reports = Vec::new();
    qmvc_log::rep::for_each(&mut rep, Path::new("qmvc.rep"), |r| {
        reports.push(r)
    })
    .unwrap();
    let [report] = reports.as_slice() else { panic!("{reports:?}") };
    let matched = &report.conditions[0].matches[0];
    assert_eq!(matched, &outcome.verdict.hits[0].matches[0]);
}

#[test]
fn a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let layers = layer(dir.path());
    let outcome = run(&layers, Mode::DryRun, SPAM);
    assert_eq!(outcome.disposition, Disposition::Stop);
    assert!(!dir.path().join("log").exists());
    let clear = run(&layers, Mode::DryRun, b"Subject: hello\n\nHi.\n");
    assert_eq!(clear.disposition, Disposition::Continue);
    assert_eq!(clear.facts.actions, "pass");
}
