/*!
qmvc-release(8) end to end: a message kept by a filter line through the
real qmail-local, listed with `-l`, released through a recording
injector (byte-identical but for the `X-Qmvc-Released` field in front,
its envelope sender and recipients), and the released message fed
through the real qmail-local with the same dot-qmail line: delivered,
not kept again, logged as `release`. A mark that does not verify is kept
again; a second release, an unknown ID, a missing key or a damaged copy
are refused.
*/

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::mail::Mail;
use crate::util::{files_in, Dir, Layer, Outcome, Output};

/// Filter, then deliver: the line every delivery here goes through.
const DOTQMAIL: &str = "|qmvc\n./Maildir/\n";

/// The release key of every test (64 hex digits, as scripts/install
/// writes it).
const KEY: &str =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

/// A badsubject `keep` line, the recording injector and the key; false
/// (the test is skipped, loudly) when the real qmail-local cannot be
/// built outside CI.
fn setup(dir: &Dir) -> bool {
    if !dir.use_real_qmail_local() {
        return false;
    }
    dir.filters("badsubject ; keep ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "make money fast\n");
    dir.injector();
    let key = dir.control(Layer::System, "releasekey", KEY);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    true
}

/// The system layer's `save/policy/`.
fn policy(dir: &Dir) -> std::path::PathBuf {
    dir.layer(Layer::System).join("save/policy")
}

/// Delivers `bytes` and checks it was kept; returns the new copy's ID.
fn keep(dir: &Dir, bytes: &[u8]) -> String {
    let before = files_in(&policy(dir).join("new"));
    let delivery = dir.deliver(DOTQMAIL, &dir.message(bytes));
    assert_eq!(delivery.outcome, Outcome::Stopped, "{delivery:?}");
    let kept: Vec<_> = files_in(&policy(dir).join("new"))
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), bytes);
    kept[0].file_name().unwrap().to_string_lossy().into_owned()
}

/// Runs qmvc-release with `args`.
fn release(dir: &Dir, args: &[&str]) -> Output {
    dir.aux("qmvc-release", args).run()
}

/// A message that meets the badsubject line.
fn spam(subject: &str) -> Vec<u8> {
    Mail::new().subject(subject).text("Buy now.\n").bytes()
}

/// Splits an injected message into its first line (the mark) and the
/// rest.
fn split_mark(message: &[u8]) -> (String, Vec<u8>) {
    let end = message.iter().position(|&b| b == b'\n').unwrap();
    let line = String::from_utf8(message[..end].to_vec()).unwrap();
    (line, message[end + 1..].to_vec())
}

qmvctest!(a_kept_message_is_released_once, |dir: Dir| {
    if !setup(&dir) {
        return;
    }
    let bytes = spam("make money fast");
    let id = keep(&dir, &bytes);
    // qmvc.rep names the copy as qmvc-release takes it.
    let reports = dir.reports(Layer::System);
    assert_eq!(reports[0]["saved"].as_str(), Some(id.as_str()));

    // Listed: ID, time, class, sender, recipient, subject, reason.
    let list = release(&dir, &["-l"]);
    list.assert_code(0);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", list.describe());
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields.len(), 7, "{fields:?}");
    assert_eq!(fields[0], id);
    assert!(fields[1].starts_with("20"), "time {:?}", fields[1]);
    assert_eq!(fields[2], "policy");
    assert_eq!(fields[3], "alice@example.net");
    assert_eq!(fields[4], "bob@example.org");
    assert_eq!(fields[5], "make money fast");
    assert!(fields[6].starts_with("badsubject ("), "{fields:?}");
    assert!(fields[6].ends_with("/control/filters:1 keep)"), "{fields:?}");

    // Released: through the injector, with the envelope sender and the
    // original recipient, byte-identical after the mark.
    release(&dir, &[&id]).assert_code(0);
    let calls = dir.injected();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].args,
        ["-a", "-f", "alice@example.net", "bob@example.org"]
    );
    let (mark, rest) = split_mark(&calls[0].message);
    assert_eq!(rest, bytes, "the released message differs");
    let mac = mark
        .strip_prefix(&format!("X-Qmvc-Released: {id}; "))
        .unwrap_or_else(|| panic!("mark {mark:?}"));
    assert_eq!(mac.len(), 64);
    assert!(mac.bytes().all(|b| b.is_ascii_hexdigit()), "{mark}");

    // Flagged released: in cur/ with S, nothing left in new/, and gone
    // from the list.
    assert!(files_in(&policy(&dir).join("new")).is_empty());
    assert!(policy(&dir).join(format!("cur/{id}:2,S")).is_file());
    assert_eq!(release(&dir, &["-l"]).assert_code(0).stdout, "");
    let logged = dir.last_log(Layer::System);
    assert_eq!(logged.action(), "release");
    assert_eq!(logged.recipient(), "bob@example.org");
    assert_eq!(logged.subject(), "make_money_fast");

    // The released message through the same dot-qmail line: delivered,
    // not kept again.
    let delivery = dir.deliver(DOTQMAIL, &dir.message(&calls[0].message));
    let Outcome::Delivered(files) = &delivery.outcome else {
        panic!("not delivered: {delivery:?}");
    };
    assert_eq!(files.len(), 1);
    assert!(fs::read(&files[0]).unwrap().ends_with(&calls[0].message));
    assert!(files_in(&policy(&dir).join("new")).is_empty(), "kept again");
    assert_eq!(dir.last_log(Layer::System).action(), "release");

    // Twice: refused, nothing sent.
    let again = release(&dir, &[&id]);
    again.assert_code(100);
    assert!(again.stderr.contains("released already"), "{}", again.stderr);
    assert_eq!(dir.injected().len(), 1);
});

qmvctest!(a_forged_or_copied_mark_is_kept_again, |dir: Dir| {
    if !setup(&dir) {
        return;
    }
    let first = spam("make money fast");
    let id = keep(&dir, &first);
    release(&dir, &[&id]).assert_code(0);
    let (mark, _) = split_mark(&dir.injected()[0].message);
    let mac = mark.rsplit_once("; ").unwrap().1.to_string();
    let with = |field: &str, bytes: &[u8]| {
        let mut out = format!("{field}\n").into_bytes();
        out.extend_from_slice(bytes);
        out
    };
    // Another message (another Message-ID) with the first one's mark.
    let second = spam("make money fast again");
    keep(&dir, &with(&mark, &second));
    // The first message with a mark of another ID and the first's MAC.
    keep(&dir, &with(&format!("X-Qmvc-Released: 1.M1P1Q1.x; {mac}"), &first));
    // The released message itself, its body changed: the same ID and
    // Message-ID, other content.
    let mut tampered = dir.injected()[0].message.clone();
    tampered.extend_from_slice(b"and a line the sender added\n");
    keep(&dir, &tampered);
    // A MAC made up.
    let zeros = "0".repeat(64);
    keep(&dir, &with(&format!("X-Qmvc-Released: {id}; {zeros}"), &first));
    // Under another key the real mark fails too.
    dir.control(Layer::System, "releasekey", &"f".repeat(64));
    keep(&dir, &with(&mark, &first));
    assert_eq!(dir.last_log(Layer::System).action(), "keep");
});

qmvctest!(addresses_replace_the_recipient, |dir: Dir| {
    if !setup(&dir) {
        return;
    }
    let id = keep(&dir, &spam("make money fast"));
    release(&dir, &[&id, "carol@example.com", "dave@example.com"])
        .assert_code(0);
    let calls = dir.injected();
    assert_eq!(
        calls[0].args,
        [
            "-a",
            "-f",
            "alice@example.net",
            "carol@example.com",
            "dave@example.com"
        ]
    );
    let logged = dir.last_log(Layer::System);
    assert_eq!(logged.recipient(), "carol@example.com,dave@example.com");
    // An address the injector could read as an option is refused.
    let id = keep(&dir, &spam("make money fast"));
    let out = release(&dir, &[&id, "-x@example.com"]);
    out.assert_code(100);
    assert!(out.stderr.contains("refused"), "{}", out.stderr);
    assert_eq!(dir.injected().len(), 1);
    assert!(policy(&dir).join("new").join(&id).is_file());
});

qmvctest!(unknown_ids_and_usage_are_refused, |dir: Dir| {
    dir.injector();
    let out = release(&dir, &["1765000000.M1P1Q1.nowhere"]);
    out.assert_code(100);
    assert!(out.stderr.contains("no kept message"), "{}", out.stderr);
    for bad in ["../../etc/passwd", ".hidden", "x:2,S"] {
        let out = release(&dir, &[bad]);
        out.assert_code(100);
        assert!(out.stderr.contains("not the ID"), "{}", out.stderr);
    }
    release(&dir, &[]).assert_code(100);
    release(&dir, &["-l", "x"]).assert_code(100);
    release(&dir, &["-q"]).assert_code(100);
    assert!(dir.injected().is_empty());
    assert_eq!(release(&dir, &["-l"]).assert_code(0).stdout, "");
});

qmvctest!(a_missing_key_or_damaged_copy_sends_nothing, |dir: Dir| {
    if !setup(&dir) {
        return;
    }
    let id = keep(&dir, &spam("make money fast"));
    let key = dir.layer(Layer::System).join("control/releasekey");
    fs::remove_file(&key).unwrap();
    let out = release(&dir, &[&id]);
    out.assert_code(111);
    assert!(out.stderr.contains("releasekey: missing"), "{}", out.stderr);
    assert!(policy(&dir).join("new").join(&id).is_file());

    // An injector that fails: the flag is taken back, nothing lost.
    fs::write(&key, KEY).unwrap();
    dir.injector_exiting(111);
    let out = release(&dir, &[&id]);
    out.assert_code(111);
    assert!(out.stderr.contains("nothing was sent"), "{}", out.stderr);
    assert!(policy(&dir).join("new").join(&id).is_file());
    assert!(files_in(&policy(&dir).join("cur")).is_empty());

    // No qmvc.rep document beside the copy: its envelope is unknown.
    dir.injector();
    let analysis = policy(&dir).join(format!("analysis/{id}.yaml"));
    fs::remove_file(&analysis).unwrap();
    let out = release(&dir, &[&id]);
    out.assert_code(100);
    assert!(out.stderr.contains("missing or damaged"), "{}", out.stderr);
    assert!(policy(&dir).join("new").join(&id).is_file());
    // A copy that is a symbolic link is not a kept message.
    let id2 = "1765000000.M1P1Q9.link";
    std::os::unix::fs::symlink(
        "/etc/passwd",
        policy(&dir).join("new").join(id2),
    )
    .unwrap();
    release(&dir, &[id2]).assert_code(100);
    // Only the failed call of the injector that exited 111.
    assert_eq!(dir.injected().len(), 1);
});

qmvctest!(hostile_text_is_escaped_in_the_list, |dir: Dir| {
    if !setup(&dir) {
        return;
    }
    // A Subject that decodes to an escape sequence and a tab.
    let id = keep(
        &dir,
        &spam("=?utf-8?q?make_money_fast_=1B[2J=09x_=E2=80=AEfdp.exe?="),
    );
    let list = release(&dir, &["-l"]);
    list.assert_code(0);
    assert!(!list.stdout.contains('\u{1b}'), "{:?}", list.stdout);
    let fields: Vec<&str> = list.stdout.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 7, "{fields:?}");
    assert_eq!(fields[0], id);
    assert_eq!(
        fields[5],
        "make money fast <U+001B>[2J<U+0009>x <U+202E>fdp.exe"
    );
});

qmvctest!(a_user_releases_their_own_kept_message_with_u, |dir: Dir| {
    if !dir.use_real_qmail_local() {
        return;
    }
    // The system layer has rules and the injector but no key: a `-u`
    // delivery cannot read the system key anyway (the delivery user's).
    dir.filters("badsubject ; keep ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "make money fast\n");
    dir.injector();
    const DOTQMAIL_U: &str = "|qmvc -u\n./Maildir/\n";
    let bytes = spam("make money fast");
    let save = dir.layer(Layer::User).join("save/policy");
    let delivery = dir.deliver(DOTQMAIL_U, &dir.message(&bytes));
    assert_eq!(delivery.outcome, Outcome::Stopped, "{delivery:?}");
    let kept = files_in(&save.join("new"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    let id = kept[0].file_name().unwrap().to_string_lossy().into_owned();

    // Listed and released with the same layer option; the user's key is
    // made on the first release, the user's alone.
    let list = release(&dir, &["-u", "-l"]);
    assert!(
        list.assert_code(0).stdout.starts_with(&id),
        "{}",
        list.describe()
    );
    assert_eq!(release(&dir, &["-l"]).assert_code(0).stdout, "");
    release(&dir, &["-u", &id]).assert_code(0);
    let key = dir.layer(Layer::User).join("control/releasekey");
    assert_eq!(crate::util::mode(&key) & 0o777, 0o600);
    assert!(!dir.layer(Layer::System).join("control/releasekey").exists());
    let calls = dir.injected();
    assert_eq!(calls.len(), 1);
    assert!(save.join(format!("cur/{id}:2,S")).is_file());
    assert_eq!(dir.last_log(Layer::User).action(), "release");

    // Through the same dot-qmail line: delivered, not kept again.
    let delivery = dir.deliver(DOTQMAIL_U, &dir.message(&calls[0].message));
    let Outcome::Delivered(files) = &delivery.outcome else {
        panic!("not delivered: {delivery:?}");
    };
    assert_eq!(files.len(), 1);
    assert!(files_in(&save.join("new")).is_empty(), "kept again");
    assert_eq!(dir.last_log(Layer::User).action(), "release");

    // A mark made with another layer's key does not pass here.
    let forged = {
        let mut other = calls[0].message.clone();
        let at = other.iter().position(|&b| b == b';').unwrap() + 2;
        other[at] = if other[at] == b'0' { b'1' } else { b'0' };
        other
    };
    let delivery = dir.deliver(DOTQMAIL_U, &dir.message(&forged));
    assert_eq!(delivery.outcome, Outcome::Stopped, "{delivery:?}");
});
