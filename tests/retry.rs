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
use crate::util::{files_in, Dir, Layer};

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
