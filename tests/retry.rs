/*!
No poison message, nothing repeated on a retry (issue 11, items 7 and 8).

What is held here:
- a message whose notification would be over 1 MiB (thousands of bad
  names) is stopped (99) and notified about, the notice under 1 MiB and
  saying how many findings it leaves out: never deferred for ever;
- qmvc.rep and the journal of what is due are written before the
  reactions run: an injector that fails half-way defers (111), and the
  retry sends only what had not gone out and keeps no second copy;
- a message whose record cannot be written defers before anything is
  sent, while a message that passes is still delivered (with a warning).
*/

use std::fs;

use crate::mail::{Mail, Part};
use crate::util::{entries_in, files_in, Dir, Layer};

/// The largest notification the injector may be handed.
const MIB: usize = 1 << 20;

/// `badfilename ; ACTION ; REACTIONS ; ;` with `*.exe` in badfilenames.
fn exe_rule(dir: &Dir, action: &str, reactions: &str) {
    dir.filters(&format!("badfilename ; {action} ; {reactions} ; ;\n"));
    dir.control(Layer::System, "badfilenames", "*.exe\n");
}

/// A message with one attachment named `invoice.exe`.
fn exe_mail() -> Vec<u8> {
    Mail::new()
        .subject("the invoice")
        .mixed(vec![
            Part::text("The invoice is attached.\n"),
            Part::attachment(
                "invoice.exe",
                "application/octet-stream",
                b"not really a program\n",
            ),
        ])
        .bytes()
}

qmvctest!(a_notice_over_the_cap_is_cut_and_sent, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient");
    // 300 attachments named by 12 KB each: 100 findings of 12 KB would
    // render a notice over 1 MiB, which used to defer (111) on every
    // retry.
    let parts = (0..300)
        .map(|n| {
            let name = format!("{}{n}.exe", "n".repeat(12_000));
            Part::attachment(&name, "application/octet-stream", b"x\n")
        })
        .collect();
    let bytes = Mail::new().subject("many").mixed(parts).bytes();
    dir.qmvc(&[]).stdin_bytes(&bytes).run().assert_code(99);
    let calls = dir.injected();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let notice = &calls[0].message;
    assert!(notice.len() < MIB, "a notice of {} bytes", notice.len());
    let text = String::from_utf8_lossy(notice);
    // The engine records 100 of the 300; the notice lists them and
    // counts the other 200.
    assert!(text.contains("and 200 more, not listed here"), "{text}");
});

/// Installs the recording injector ([`Dir::injector`]) behind a stub
/// that fails (exit 1, nothing recorded) the first time it is called
/// after one call went through, and names the stub in `injector`.
fn injector_failing_second_call_once(dir: &Dir) {
    let recorder = dir.injector();
    let stub = dir.script(
        "flaky",
        &format!(
            "if [ ! -e '{failed}' ] && [ -d '{first}' ]; then\n\
             \x20 : > '{failed}'\n\
             \x20 cat > /dev/null\n\
             \x20 exit 1\n\
             fi\n\
             exec '{recorder}' \"$@\"",
            failed = dir.path("failed-once").display(),
            first = dir.path("injected/1").display(),
            recorder = recorder.display(),
        ),
    );
    dir.control(Layer::System, "injector", &format!("{}\n", stub.display()));
}

qmvctest!(a_retry_sends_and_keeps_nothing_twice, |dir: Dir| {
    injector_failing_second_call_once(&dir);
    exe_rule(&dir, "keep", "notifyrecipient,informguard=guard@example.com");
    let msg = dir.message(&exe_mail());
    let first = dir.qmvc(&[]).stdin_file(&msg).run();
    first.assert_code(111);
    assert!(first.reason().contains("informguard"), "{}", first.describe());
    assert_eq!(dir.injected().len(), 1, "the first notice went out");
    // qmail tries again: the same message, a working injector.
    dir.qmvc(&[]).stdin_file(&msg).run().assert_code(99);
    let calls = dir.injected();
    let to: Vec<&str> =
        calls.iter().map(|c| c.args.last().unwrap().as_str()).collect();
    assert_eq!(to, ["bob@example.org", "guard@example.com"], "{calls:#?}");
    let save = dir.layer(Layer::System).join("save/policy");
    assert_eq!(files_in(&save.join("new")).len(), 1, "one kept copy");
    assert_eq!(files_in(&save.join("analysis")).len(), 1);
    // One qmvc.rep document, written before the first try's reactions.
    assert_eq!(dir.reports(Layer::System).len(), 1);
    // The delivery is complete: its journal is gone, and tmp/ is empty.
    let tmp = dir.layer(Layer::System).join("tmp");
    assert!(entries_in(&tmp).is_empty(), "{:?}", entries_in(&tmp));
    // The same message again is a new delivery: it is kept and notified
    // about again.
    dir.qmvc(&[]).stdin_file(&msg).run().assert_code(99);
    assert_eq!(dir.injected().len(), 4);
    assert_eq!(files_in(&save.join("new")).len(), 2);
});

qmvctest!(no_record_no_reaction_but_clean_mail_passes, |dir: Dir| {
    dir.injector();
    exe_rule(&dir, "block", "notifyrecipient");
    let log = dir.layer(Layer::System).join("log");
    // A directory at the name of each log: nothing can be appended, and
    // root's permissions do not help.
    for name in ["qmvc.rep", "qmvc.log"] {
        fs::create_dir_all(log.join(name)).unwrap();
    }
    let out = dir.run(&[], &exe_mail());
    out.assert_code(111);
    assert!(out.reason().contains("qmvc.rep"), "{}", out.describe());
    assert!(dir.injected().is_empty(), "a notice went out unrecorded");
    // A message that passes is delivered, with a warning.
    let clean = Mail::new().subject("hello").text("hi\n").bytes();
    let out = dir.run(&[], &clean);
    out.assert_code(0);
    assert!(out.stderr.contains("qmvc.log"), "{}", out.describe());
    // A trashed message's only trace is its qmvc.log line: deferred.
    exe_rule(&dir, "trash", "");
    let out = dir.run(&[], &exe_mail());
    out.assert_code(111);
    assert!(out.reason().contains("qmvc.log"), "{}", out.describe());
});
