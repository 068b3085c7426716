/*!
virusmail end to end: real engines asked about real messages, through the
qmail-local emulator where the point is delivery.

Every test that needs clamd starts its own ([`Clamd`], from the
`qmvc-scanners` test fixture) in its own temporary directory, with a tiny
database holding an EICAR body signature and this file's marker
signature, listening on a unix socket and a loopback TCP port: tests run
in parallel and never share a daemon, a port or a file. The EICAR test
string is built at run time by the fixture and never written into the
repository.

Without clamd installed these tests say so loudly and are skipped, except
under `CI=true`, where they fail ([`crate::util::missing`]): the test
command (`scripts/test`) installs it.
*/

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use qmvc_profile::Endpoint;
use qmvc_scanners::testing::{self, Clamd};

use crate::mail::{self, Mail, Part};
use crate::util::{
    assert_lint, entries_in, files_in, have_clamd, Delivery, Dir, Layer,
    Outcome,
};

/// The filter, then the Maildir.
const DOTQMAIL: &str = "|qmvc\n./Maildir/\n";

/// The same in user mode: state (logs, tmp/, save/) in `HOME/qmvc`.
const DOTQMAIL_U: &str = "|qmvc -u\n./Maildir/\n";

/// The marker signature added to each test clamd's database.
const MARKER_NAME: &str = "Qmvc.Test.Marker";

/// Bytes that only the marker signature matches.
const MARKER: &[u8] = b"qmvc-marker-7c1e9a3f-not-a-virus";

/// A piece of the EICAR string long enough to recognise it, short enough
/// not to be it (for the shell-script engine).
const EICAR_PIECE: &str = "EICAR-STANDARD-ANTIVIRUS-TEST";

/// Starts a clamd for this test in `ROOT/clamd/`, or `None` (loudly;
/// a failure under `CI=true`) when clamd is not installed.
fn start(dir: &Dir) -> Option<Clamd> {
    if !have_clamd() {
        return None;
    }
    let home = dir.path("clamd");
    fs::create_dir_all(&home).unwrap();
    Some(Clamd::start(&home, &[(MARKER_NAME, MARKER)]))
}

/// `let clamd = clamd!(dir);` starts the test's clamd or ends the test.
macro_rules! clamd {
    ($dir:expr) => {
        match start(&$dir) {
            Some(clamd) => clamd,
            None => return,
        }
    };
}

/// The virus name clamd gives for the EICAR test string.
fn eicar_name() -> String {
    testing::EICAR_FOUND.to_string()
}

/// The virus name clamd gives for [`MARKER`].
fn marker_name() -> String {
    format!("{MARKER_NAME}.UNOFFICIAL")
}

/// An endpoint as written in a definition: `unix:PATH`, `tcp:HOST:PORT`.
fn spec(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Unix(path) => format!("unix:{}", path.display()),
        Endpoint::Tcp { host, port } => format!("tcp:{host}:{port}"),
    }
}

/// The test clamd's unix socket endpoint, as written in a definition.
fn unix(clamd: &Clamd) -> String {
    spec(&clamd.endpoint_unix())
}

/// The test clamd's TCP endpoint, as written in a definition.
fn tcp(clamd: &Clamd) -> String {
    spec(&clamd.endpoint_tcp())
}

/// A `clamd` definition for `endpoints`, with `extra` YAML lines.
fn clamd_yaml(endpoints: &[String], extra: &str) -> String {
    let mut yaml = String::from("protocol: clamd\nendpoints:\n");
    for endpoint in endpoints {
        yaml.push_str(&format!("  - \"{endpoint}\"\n"));
    }
    yaml.push_str("connect_timeout: 2\ntimeout: 20\n");
    yaml.push_str(extra);
    yaml
}

/// A `command` definition running `argv`, with `extra` YAML lines.
fn command_yaml(argv: &[&str], extra: &str) -> String {
    let quoted: Vec<String> =
        argv.iter().map(|a| format!("\"{a}\"")).collect();
    format!("protocol: command\ncommand: [{}]\n{extra}", quoted.join(", "))
}

/// The usual answer mapping of the ClamAV command-line tools.
const CLAMAV_ANSWERS: &str = "target: file\nclean: [0]\ninfected: [1]\n\
                              virus: ': (\\S+) FOUND$'\ntimeout: 20\n";

/// One clamd scanner `C` over `endpoint`, with `extra` YAML lines.
fn clamd_only(dir: &Dir, endpoint: String, extra: &str) {
    dir.scanners(&[("clamd", 'C', &clamd_yaml(&[endpoint], extra))]);
}

/// `virusmail ; block ; ; ;` and nothing else.
fn virusmail_block(dir: &Dir) {
    dir.filters("virusmail ; block ; ; ;\n");
}

/// The EICAR test file as a base64 attachment.
fn eicar_attachment() -> Mail {
    Mail::new().subject("invoice").mixed(vec![
        Part::text("The file is attached.\n"),
        Part::attachment(
            "eicar.com",
            "application/octet-stream",
            testing::eicar(),
        ),
    ])
}

/// The EICAR test file in a stored zip archive.
fn eicar_zip() -> Mail {
    let zip = mail::zip(&[
        ("readme.txt", b"nothing here\n".as_slice()),
        ("eicar.com", testing::eicar()),
    ]);
    Mail::new().subject("archive").mixed(vec![
        Part::text("The archive is attached.\n"),
        Part::attachment("files.zip", "application/zip", &zip),
    ])
}

/// Quoted-printable for `data`: `!`, `$`, `=`, and everything outside
/// printable ASCII escaped, a soft line break in the middle, so that the
/// raw message never holds `data` itself.
fn quoted_printable(data: &[u8]) -> String {
    let mut out = String::new();
    for (i, &b) in data.iter().enumerate() {
        if i == data.len() / 2 {
            out.push_str("=\n");
        }
        if b == b'!' || b == b'$' || b == b'=' || !(b' '..=b'~').contains(&b) {
            out.push_str(&format!("={b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out.push('\n');
    out
}

/// The EICAR test string in a quoted-printable text part.
fn eicar_qp() -> Mail {
    let qp = quoted_printable(testing::eicar());
    Mail::new().subject("inline").mixed(vec![
        Part::text("The test string follows.\n"),
        Part::new(
            &[
                ("Content-Type", "text/plain; charset=us-ascii"),
                ("Content-Transfer-Encoding", "quoted-printable"),
                ("Content-Disposition", "inline"),
            ],
            qp.as_bytes(),
        ),
    ])
}

/// The EICAR test string as the plain body.
fn eicar_body() -> Mail {
    let eicar = String::from_utf8(testing::eicar().to_vec()).unwrap();
    Mail::new().subject("plain").text(&format!("{eicar}\n"))
}

/// A clean message with a text attachment.
fn clean() -> Mail {
    Mail::new().subject("minutes").mixed(vec![
        Part::text("The minutes are attached.\n"),
        Part::attachment(
            "minutes.txt",
            "text/plain",
            b"Present: everyone.\nDecided: nothing.\n",
        ),
    ])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every (scanner, virus) match of virusmail in qmvc.rep document `doc`.
fn findings(doc: &serde_yaml::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for condition in doc["conditions"].as_sequence().into_iter().flatten() {
        if condition["condition"].as_str() != Some("virusmail") {
            continue;
        }
        for m in condition["matches"].as_sequence().into_iter().flatten() {
            let text = |key: &str| m[key].as_str().unwrap_or("").to_string();
            out.push((text("scanner"), text("virus")));
        }
    }
    out
}

/// The detail of the first virusmail match in `doc`.
fn first_detail(doc: &serde_yaml::Value) -> String {
    let conditions = doc["conditions"].as_sequence().unwrap();
    let virus = conditions
        .iter()
        .find(|c| c["condition"].as_str() == Some("virusmail"))
        .unwrap_or_else(|| panic!("no virusmail in {doc:?}"));
    virus["matches"][0]["detail"].as_str().unwrap_or("").to_string()
}

/// Checks that `delivery` was stopped as virusmail (block) and that the
/// last qmvc.rep document of `layer` lists exactly `expected` (scanner,
/// virus) and the log line names `initials`.
#[track_caller]
fn assert_virus(
    dir: &Dir,
    layer: Layer,
    delivery: &Delivery,
    initials: &str,
    expected: &[(&str, &str)],
) {
    assert_eq!(
        delivery.outcome,
        Outcome::Stopped,
        "{}",
        delivery.first().describe()
    );
    assert_eq!(delivery.first().code, 99);
    assert!(dir.maildir().is_empty(), "a later dot-qmail line ran");
    let line = dir.last_log(layer);
    assert_eq!(line.result(), "virusmail", "{}", line.raw);
    assert_eq!(line.field(5), initials, "{}", line.raw);
    let reports = dir.reports(layer);
    let doc = reports.last().expect("no qmvc.rep document");
    assert_eq!(doc["result"].as_str(), Some("virusmail"), "{doc:?}");
    let want: Vec<(String, String)> =
        expected.iter().map(|(s, v)| (s.to_string(), v.to_string())).collect();
    assert_eq!(findings(doc), want, "{doc:?}");
}

/// Checks that `delivery` reached the Maildir with qmvc exiting 0, the
/// log line `clear` and naming `initials`.
#[track_caller]
fn assert_delivered(
    dir: &Dir,
    layer: Layer,
    delivery: &Delivery,
    initials: &str,
) {
    let Outcome::Delivered(files) = &delivery.outcome else {
        panic!("not delivered: {}", delivery.first().describe());
    };
    assert_eq!(files.len(), 1);
    assert_eq!(delivery.first().code, 0);
    assert_eq!(delivery.first().stdout, "", "qmvc printed on a pass");
    let line = dir.last_log(layer);
    assert_eq!(line.result(), "clear", "{}", line.raw);
    assert_eq!(line.action(), "pass", "{}", line.raw);
    assert_eq!(line.field(5), initials, "{}", line.raw);
}

/// Checks that `delivery` was deferred by qmvc with a reason, nothing
/// delivered, and returns the reason.
#[track_caller]
fn assert_deferred(dir: &Dir, delivery: &Delivery) -> String {
    let Outcome::Deferred(reason) = &delivery.outcome else {
        panic!("not deferred: {:?}", delivery.outcome);
    };
    assert_eq!(delivery.first().code, 111);
    assert!(!reason.trim().is_empty(), "no reason on standard output");
    assert!(dir.maildir().is_empty(), "delivered although deferred");
    reason.clone()
}

/// Checks that `layer`'s qmvc.error has exactly one line, a warning
/// naming `scanner`: a failure under `pass` or `block` is not silent.
#[track_caller]
fn assert_warned(dir: &Dir, layer: Layer, scanner: &str) {
    let path = dir.layer(layer).join("log/qmvc.error");
    let text = fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "qmvc.error: {text:?}");
    assert!(lines[0].contains("warning"), "{text}");
    // Fields are normalised as in qmvc.log: spaces folded to `_`.
    let scanner = scanner.replace(' ', "_");
    assert!(lines[0].contains(&scanner), "{text}");
}

/// Delivers `mail` once with clamd asked over its unix socket, once over
/// TCP, and checks each time that virusmail blocked it with `virus`.
fn found_over_both(dir: &Dir, clamd: &Clamd, mail: &Mail, virus: &str) {
    let msg = dir.message(&mail.bytes());
    virusmail_block(dir);
    for endpoint in [unix(clamd), tcp(clamd)] {
        clamd_only(dir, endpoint, "");
        let delivery = dir.deliver(DOTQMAIL, &msg);
        assert_virus(
            dir,
            Layer::System,
            &delivery,
            "C",
            &[("clamd (C)", virus)],
        );
    }
    assert_eq!(dir.reports(Layer::System).len(), 2);
}

// What clamd finds, over either endpoint.

dotqmailtest!(eicar_base64_attachment_is_found, |dir: Dir| {
    let clamd = clamd!(dir);
    found_over_both(&dir, &clamd, &eicar_attachment(), &eicar_name());
});

dotqmailtest!(eicar_in_zip_is_found, |dir: Dir| {
    let clamd = clamd!(dir);
    found_over_both(&dir, &clamd, &eicar_zip(), &eicar_name());
});

dotqmailtest!(eicar_in_quoted_printable_text_is_found, |dir: Dir| {
    let clamd = clamd!(dir);
    let mail = eicar_qp();
    assert!(
        !contains(&mail.bytes(), testing::eicar()),
        "the raw message holds the test string undecoded"
    );
    found_over_both(&dir, &clamd, &mail, &eicar_name());
});

dotqmailtest!(eicar_as_plain_body_is_found, |dir: Dir| {
    let clamd = clamd!(dir);
    found_over_both(&dir, &clamd, &eicar_body(), &eicar_name());
});

dotqmailtest!(custom_signature_is_found_by_name, |dir: Dir| {
    let clamd = clamd!(dir);
    let marker = String::from_utf8(MARKER.to_vec()).unwrap();
    let mail = Mail::new().text(&format!("Hello,\n{marker}\nBye\n"));
    found_over_both(&dir, &clamd, &mail, &marker_name());
    let rep = dir.rep_text(Layer::System);
    assert!(rep.contains(&marker_name()), "{rep}");
});

/// How the message went to the scanner of each virusmail match in the
/// last qmvc.rep document of `layer` (its `sent`).
fn sent_ways(dir: &Dir, layer: Layer) -> Vec<String> {
    let reports = dir.reports(layer);
    let doc = reports.last().expect("no qmvc.rep document");
    let mut out = Vec::new();
    for condition in doc["conditions"].as_sequence().into_iter().flatten() {
        for m in condition["matches"].as_sequence().into_iter().flatten() {
            out.push(m["sent"].as_str().unwrap_or("").to_string());
        }
    }
    out
}

// The message is a regular file: over the unix socket clamd gets its
// descriptor (FILDES), over TCP its bytes (INSTREAM); qmvc.rep and -t
// say which.
dotqmailtest!(clamd_gets_the_descriptor_over_unix_only, |dir: Dir| {
    let clamd = clamd!(dir);
    virusmail_block(&dir);
    let msg = dir.message(&eicar_attachment().bytes());
    let ways = [(unix(&clamd), "", "FILDES"), (tcp(&clamd), "", "INSTREAM")];
    let never = [(unix(&clamd), "fildes: never\n", "INSTREAM")];
    for (endpoint, extra, way) in ways.into_iter().chain(never) {
        clamd_only(&dir, endpoint, extra);
        let delivery = dir.deliver(DOTQMAIL, &msg);
        assert_virus(
            &dir,
            Layer::System,
            &delivery,
            "C",
            &[("clamd (C)", &eicar_name())],
        );
        assert_eq!(sent_ways(&dir, Layer::System), [way]);
        let out = dir.qmvc(&["-t"]).stdin_file(&msg).run();
        assert!(
            out.stdout.contains(&format!("sent={way}")),
            "{}",
            out.describe()
        );
    }
});

// A message larger than clamd's StreamMaxLength: by descriptor it is
// scanned whole (the virus at its end found); streamed, clamd refuses
// it, and a virus engine's error defers.
dotqmailtest!(fildes_scans_past_stream_max_length, |dir: Dir| {
    if !have_clamd() {
        return;
    }
    let home = dir.path("clamd");
    fs::create_dir_all(&home).unwrap();
    let clamd = Clamd::start_with(&home, &[], &["StreamMaxLength 1M"]);
    virusmail_block(&dir);
    let mut text = String::new();
    while text.len() < 3 << 20 {
        text.push_str("Nothing to see in this line of the minutes.\n");
    }
    text.push_str(std::str::from_utf8(testing::eicar()).unwrap());
    text.push('\n');
    let msg = dir.message(&Mail::new().text(&text).bytes());
    clamd_only(&dir, unix(&clamd), "");
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_virus(
        &dir,
        Layer::System,
        &delivery,
        "C",
        &[("clamd (C)", &eicar_name())],
    );
    assert_eq!(sent_ways(&dir, Layer::System), ["FILDES"]);
    clamd_only(&dir, tcp(&clamd), "unscanned: []\n");
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let reason = assert_deferred(&dir, &delivery);
    assert!(reason.contains("size limit"), "{reason}");
});

dotqmailtest!(clean_message_is_delivered_over_both, |dir: Dir| {
    let clamd = clamd!(dir);
    virusmail_block(&dir);
    let msg = dir.message(&clean().bytes());
    for endpoint in [unix(&clamd), tcp(&clamd)] {
        clamd_only(&dir, endpoint, "");
        let delivery = dir.deliver(DOTQMAIL, &msg);
        assert_delivered(&dir, Layer::System, &delivery, "C");
    }
    assert_eq!(dir.maildir().len(), 2);
    assert_eq!(dir.rep_text(Layer::System), "");
});

qmvctest!(test_mode_shows_the_virus_and_writes_nothing, |dir: Dir| {
    let clamd = clamd!(dir);
    virusmail_block(&dir);
    clamd_only(&dir, unix(&clamd), "");
    let msg = dir.message(&eicar_attachment().bytes());
    let before = dir.tree();
    let out = dir.qmvc(&["-t"]).stdin_file(&msg).run();
    out.assert_code(99);
    assert!(out.stdout.contains(&eicar_name()), "{}", out.describe());
    assert!(out.stdout.contains("clamd (C)"), "{}", out.describe());
    assert_eq!(dir.tree(), before, "-t wrote something");
});

// clamd not running, under each on_error policy.

dotqmailtest!(clamd_down_tempfail_defers, |dir: Dir| {
    let mut clamd = clamd!(dir);
    let socket = clamd.socket();
    clamd.stop();
    assert!(!socket.exists(), "the stopped clamd left its socket");
    virusmail_block(&dir);
    clamd_only(&dir, unix(&clamd), "on_error: tempfail\n");
    let msg = dir.message(&eicar_attachment().bytes());
    let delivery = dir.deliver(DOTQMAIL_U, &msg);
    let reason = assert_deferred(&dir, &delivery);
    assert!(reason.contains("clamd"), "{reason}");
    let errors = dir.layer(Layer::User).join("log/qmvc.error");
    let errors = fs::read_to_string(&errors).unwrap_or_default();
    assert_eq!(errors.lines().count(), 1, "qmvc.error: {errors:?}");
    assert!(errors.contains("clamd"), "{errors}");
    // SPEC 5: a deferred delivery is a qmvc.log line with action defer.
    let log = dir.log(Layer::User);
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].action(), "defer");
    assert_eq!(log[0].result(), "-");
    assert_eq!(dir.rep_text(Layer::User), "");
});

dotqmailtest!(clamd_down_is_tempfail_by_default, |dir: Dir| {
    let mut clamd = clamd!(dir);
    clamd.stop();
    virusmail_block(&dir);
    clamd_only(&dir, tcp(&clamd), "");
    let msg = dir.message(&clean().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_deferred(&dir, &delivery);
});

dotqmailtest!(clamd_down_pass_delivers_and_notes_it, |dir: Dir| {
    let mut clamd = clamd!(dir);
    clamd.stop();
    virusmail_block(&dir);
    clamd_only(&dir, unix(&clamd), "on_error: pass\n");
    let msg = dir.message(&eicar_attachment().bytes());
    let delivery = dir.deliver(DOTQMAIL_U, &msg);
    assert_delivered(&dir, Layer::User, &delivery, "C");
    assert_eq!(dir.rep_text(Layer::User), "", "nothing met, yet recorded");
    assert_warned(&dir, Layer::User, "clamd (C)");
    // -t shows why nothing was found.
    let out = dir.qmvc(&["-ut"]).stdin_file(&msg).run();
    out.assert_code(0);
    let note = out
        .stdout
        .lines()
        .find(|l| l.contains("note:") && l.contains("clamd (C)"))
        .unwrap_or_else(|| panic!("no note\n{}", out.describe()));
    assert!(note.contains("on_error pass"), "{note}");
    // When another condition is met, qmvc.rep carries the note.
    dir.filters("badsubject ; block ; ; ;\nvirusmail ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "invoice\n");
    let delivery = dir.deliver(DOTQMAIL_U, &msg);
    assert_eq!(delivery.outcome, Outcome::Stopped);
    let reports = dir.reports(Layer::User);
    assert_eq!(reports.len(), 1);
    let doc = &reports[0];
    assert_eq!(doc["result"].as_str(), Some("badsubject"), "{doc:?}");
    let skipped: Vec<&str> = doc["skipped"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(
        skipped.iter().any(|s| s.contains("clamd (C)") && s.contains("pass")),
        "{doc:?}"
    );
});

dotqmailtest!(clamd_down_block_blocks_with_the_failure, |dir: Dir| {
    let mut clamd = clamd!(dir);
    clamd.stop();
    virusmail_block(&dir);
    clamd_only(&dir, tcp(&clamd), "on_error: block\n");
    let msg = dir.message(&clean().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_virus(&dir, Layer::System, &delivery, "C", &[("clamd (C)", "")]);
    let reports = dir.reports(Layer::System);
    let detail = first_detail(&reports[0]);
    assert!(detail.contains("failed"), "{detail}");
    assert!(detail.contains("on_error block"), "{detail}");
    assert_warned(&dir, Layer::System, "clamd (C)");
});

// Endpoints are tried in order.

dotqmailtest!(dead_endpoints_are_passed_over, |dir: Dir| {
    let clamd = clamd!(dir);
    virusmail_block(&dir);
    let missing = dir.path("no/such/clamd.sock");
    let dead_unix = format!("unix:{}", missing.display());
    let dead_tcp = format!("tcp:127.0.0.1:{}", testing::free_port());
    let msg = dir.message(&eicar_attachment().bytes());
    for live in [unix(&clamd), tcp(&clamd)] {
        let endpoints = [dead_unix.clone(), dead_tcp.clone(), live];
        dir.scanners(&[("clamd", 'C', &clamd_yaml(&endpoints, ""))]);
        let started = Instant::now();
        let delivery = dir.deliver(DOTQMAIL, &msg);
        assert_virus(
            &dir,
            Layer::System,
            &delivery,
            "C",
            &[("clamd (C)", &eicar_name())],
        );
        assert!(started.elapsed() < Duration::from_secs(5), "slow fallback");
    }
});

dotqmailtest!(all_endpoints_dead_is_a_failure, |dir: Dir| {
    // Needs no clamd at all.
    virusmail_block(&dir);
    let missing = dir.path("no/such/clamd.sock");
    let endpoints = [
        format!("unix:{}", missing.display()),
        format!("tcp:127.0.0.1:{}", testing::free_port()),
    ];
    let yaml = clamd_yaml(&endpoints, "on_error: tempfail\n");
    dir.scanners(&[("clamd", 'C', &yaml)]);
    let msg = dir.message(&clean().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_deferred(&dir, &delivery);
});

// A clamd that accepts and never answers: the scan time-out holds.

/// Delivers a clean message to a "clamd" that never answers, with a 1 s
/// time-out under `policy`; checks the time and returns the delivery.
fn silent_clamd(dir: &Dir, policy: &str) -> Delivery {
    // The kernel completes connections to a listening socket that nobody
    // accepts; the message fits in its buffers; no reply ever comes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    virusmail_block(dir);
    let yaml = clamd_yaml(
        &[format!("tcp:127.0.0.1:{port}")],
        &format!("on_error: {policy}\n"),
    )
    .replace("timeout: 20\n", "timeout: 1\n");
    dir.scanners(&[("clamd", 'C', &yaml)]);
    let msg = dir.message(&clean().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let elapsed = delivery.first().elapsed;
    assert!(
        elapsed < Duration::from_secs(3),
        "a 1 s time-out took {elapsed:?}\n{}",
        delivery.first().describe()
    );
    drop(listener);
    delivery
}

dotqmailtest!(silent_clamd_times_out_tempfail, |dir: Dir| {
    let delivery = silent_clamd(&dir, "tempfail");
    let reason = assert_deferred(&dir, &delivery);
    assert!(reason.contains("clamd (C)"), "{reason}");
});

dotqmailtest!(silent_clamd_times_out_pass, |dir: Dir| {
    let delivery = silent_clamd(&dir, "pass");
    assert_delivered(&dir, Layer::System, &delivery, "C");
});

// A message over clamd's StreamMaxLength: not scanned, on_unscanned.

/// A clamd refusing streams over 1 KiB, one definition with `extra`
/// that streams (`fildes: never`: a descriptor passed is not bound by
/// StreamMaxLength), and a message of 8 KiB.
fn over_size(dir: &Dir, extra: &str) -> Option<(Clamd, PathBuf)> {
    if !have_clamd() {
        return None;
    }
    let home = dir.path("clamd");
    fs::create_dir_all(&home).unwrap();
    let clamd = Clamd::start_with(&home, &[], &["StreamMaxLength 1K"]);
    virusmail_block(dir);
    clamd_only(dir, unix(&clamd), &format!("fildes: never\n{extra}"));
    let text = "All work and no play makes Jack a dull boy.\n".repeat(200);
    let msg = dir.message(&Mail::new().text(&text).bytes());
    Some((clamd, msg))
}

dotqmailtest!(over_size_unscanned_block, |dir: Dir| {
    let extra = "unscanned: [\"Heuristics.Limits.Exceeded*\"]\n\
                 on_unscanned: block\non_error: pass\n";
    let Some((_clamd, msg)) = over_size(&dir, extra) else { return };
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_virus(&dir, Layer::System, &delivery, "C", &[("clamd (C)", "")]);
    let detail = first_detail(dir.reports(Layer::System).last().unwrap());
    assert!(detail.contains("not scanned"), "{detail}");
    assert!(detail.contains("on_unscanned block"), "{detail}");
});

dotqmailtest!(over_size_unscanned_tempfail, |dir: Dir| {
    let extra = "unscanned: [\"Heuristics.Limits.Exceeded*\"]\n\
                 on_unscanned: tempfail\non_error: block\n";
    let Some((_clamd, msg)) = over_size(&dir, extra) else { return };
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let reason = assert_deferred(&dir, &delivery);
    assert!(reason.contains("not scanned"), "{reason}");
});

dotqmailtest!(over_size_unscanned_pass, |dir: Dir| {
    let extra = "unscanned: [\"Heuristics.Limits.Exceeded*\"]\n\
                 on_unscanned: pass\non_error: block\n";
    let Some((_clamd, msg)) = over_size(&dir, extra) else { return };
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_delivered(&dir, Layer::System, &delivery, "C");
});

dotqmailtest!(over_size_without_unscanned_glob_is_an_error, |dir: Dir| {
    let extra = "unscanned: []\non_unscanned: pass\non_error: block\n";
    let Some((_clamd, msg)) = over_size(&dir, extra) else { return };
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_virus(&dir, Layer::System, &delivery, "C", &[("clamd (C)", "")]);
    let detail = first_detail(dir.reports(Layer::System).last().unwrap());
    assert!(detail.contains("failed"), "{detail}");
    assert!(detail.contains("on_error block"), "{detail}");
});

// A layer's scanners.d/ENGINE.yaml overrides the next layer's.

dotqmailtest!(user_layer_engine_definition_wins, |dir: Dir| {
    let clamd = clamd!(dir);
    virusmail_block(&dir);
    let missing = dir.path("no/such/clamd.sock");
    let dead = format!("unix:{}", missing.display());
    clamd_only(&dir, dead, "on_error: tempfail\n");
    let live = clamd_yaml(&[unix(&clamd)], "");
    dir.control(Layer::User, "scanners.d/clamd.yaml", &live);
    let msg = dir.message(&eicar_attachment().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_deferred(&dir, &delivery);
    let delivery = dir.deliver(DOTQMAIL_U, &msg);
    assert_virus(
        &dir,
        Layer::User,
        &delivery,
        "C",
        &[("clamd (C)", &eicar_name())],
    );
});

// Command-line engines.

/// A script that hangs (its `sleep` a child of its own) after writing
/// the path it got and the sleep's pid under `ROOT/hang/`.
fn hanging_engine(dir: &Dir) -> PathBuf {
    let out = dir.path("hang");
    fs::create_dir_all(&out).unwrap();
    dir.script(
        "hang",
        &format!(
            "printf '%s\\n' \"$1\" > {out}/path\n\
             sleep 30 &\n\
             echo $! > {out}/pid\n\
             wait\n",
            out = out.display()
        ),
    )
}

/// Waits up to two seconds for process `pid` to be gone (or a zombie).
fn assert_gone(pid: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let stat = fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        match stat {
            Err(_) => return,
            Ok(stat) if stat.contains(") Z") => return,
            Ok(stat) => {
                assert!(
                    Instant::now() < deadline,
                    "the engine's child still runs: {stat}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Runs the hanging engine under `policy`, checks the time and that its
/// file and process are gone, and returns the delivery.
fn hang(dir: &Dir, policy: &str) -> Delivery {
    let script = hanging_engine(dir);
    virusmail_block(dir);
    let script = script.display().to_string();
    let yaml = command_yaml(
        &[&script, "{}"],
        &format!("target: file\ntimeout: 1\non_error: {policy}\n"),
    );
    dir.scanners(&[("hang", 'H', &yaml)]);
    let msg = dir.message(&clean().bytes());
    let delivery = dir.deliver(DOTQMAIL_U, &msg);
    let elapsed = delivery.first().elapsed;
    assert!(
        elapsed < Duration::from_secs(3),
        "a 1 s time-out took {elapsed:?}\n{}",
        delivery.first().describe()
    );
    let handed = fs::read_to_string(dir.path("hang/path")).unwrap();
    let handed = Path::new(handed.trim());
    let tmp = dir.layer(Layer::User).join("tmp");
    assert!(handed.starts_with(&tmp), "{handed:?} is not in {tmp:?}");
    assert!(!handed.exists(), "{handed:?} left behind");
    assert!(entries_in(&tmp).is_empty(), "{:?}", entries_in(&tmp));
    assert_gone(&fs::read_to_string(dir.path("hang/pid")).unwrap());
    delivery
}

dotqmailtest!(hanging_command_tempfail_defers_in_time, |dir: Dir| {
    let delivery = hang(&dir, "tempfail");
    let reason = assert_deferred(&dir, &delivery);
    assert!(reason.contains("hang"), "{reason}");
});

dotqmailtest!(hanging_command_pass_delivers, |dir: Dir| {
    let delivery = hang(&dir, "pass");
    assert_delivered(&dir, Layer::User, &delivery, "H");
    assert_warned(&dir, Layer::User, "hang (H)");
});

/// A script engine that records, for the path it gets, the path, its
/// mode and (for a directory) each file's mode, and finds nothing.
fn recording_engine(dir: &Dir) -> PathBuf {
    let out = dir.path("seen");
    fs::create_dir_all(&out).unwrap();
    dir.script(
        "record",
        &format!(
            "printf '%s\\n' \"$1\" > {out}/path\n\
             stat -c '%a' \"$1\" > {out}/mode\n\
             ls -l \"$1\" > {out}/ls\n\
             if [ -d \"$1\" ]; then\n\
             for f in \"$1\"/*; do stat -c '%a' \"$f\"; done > {out}/files\n\
             cat \"$1\"/* > {out}/content\n\
             else cat \"$1\" > {out}/content; fi\n\
             exit 0\n",
            out = out.display()
        ),
    )
}

/// The path the recording engine got last.
fn seen_path(dir: &Dir) -> PathBuf {
    let text = fs::read_to_string(dir.path("seen/path")).unwrap();
    PathBuf::from(text.trim())
}

dotqmailtest!(command_engine_file_is_private_and_removed, |dir: Dir| {
    let script = recording_engine(&dir).display().to_string();
    virusmail_block(&dir);
    let yaml = command_yaml(&[&script, "{}"], "target: file\nclean: [0]\n");
    dir.scanners(&[("record", 'R', &yaml)]);
    let bytes = clean().bytes();
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL_U, &msg);
    assert_delivered(&dir, Layer::User, &delivery, "R");
    let seen =
        |name: &str| fs::read_to_string(dir.path(&format!("seen/{name}")));
    let path = PathBuf::from(seen("path").unwrap().trim());
    let tmp = dir.layer(Layer::User).join("tmp");
    assert_eq!(path.parent(), Some(tmp.as_path()), "{path:?}");
    assert_eq!(seen("mode").unwrap().trim(), "600", "{}", seen("ls").unwrap());
    assert!(seen("ls").unwrap().starts_with("-rw-------"));
    assert_eq!(fs::read(dir.path("seen/content")).unwrap(), bytes);
    assert!(!path.exists(), "temporary file left behind");
    assert!(entries_in(&tmp).is_empty(), "{:?}", entries_in(&tmp));
});

dotqmailtest!(command_engine_directory_is_private_and_removed, |dir: Dir| {
    let script = recording_engine(&dir).display().to_string();
    virusmail_block(&dir);
    let yaml =
        command_yaml(&[&script, "{}"], "target: directory\nclean: [0]\n");
    dir.scanners(&[("record", 'R', &yaml)]);
    let bytes = clean().bytes();
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_delivered(&dir, Layer::System, &delivery, "R");
    let seen =
        |name: &str| fs::read_to_string(dir.path(&format!("seen/{name}")));
    let path = PathBuf::from(seen("path").unwrap().trim());
    let tmp = dir.layer(Layer::System).join("tmp");
    assert!(path.starts_with(&tmp), "{path:?} is not in {tmp:?}");
    assert_eq!(seen("mode").unwrap().trim(), "700", "{}", seen("ls").unwrap());
    let files = seen("files").unwrap();
    assert_eq!(files.lines().collect::<Vec<_>>(), ["600"], "{files}");
    assert_eq!(fs::read(dir.path("seen/content")).unwrap(), bytes);
    assert!(!path.exists(), "temporary directory left behind");
    assert!(entries_in(&tmp).is_empty(), "{:?}", entries_in(&tmp));
});

qmvctest!(test_mode_with_a_command_engine_writes_nothing, |dir: Dir| {
    // As for every other profile (tests/cli.rs), -t leaves no trace: not
    // even the empty tmp/ the engine's file was in, nor the user layer.
    let script = recording_engine(&dir).display().to_string();
    virusmail_block(&dir);
    let yaml = command_yaml(&[&script, "{}"], "target: file\nclean: [0]\n");
    dir.scanners(&[("record", 'R', &yaml)]);
    let msg = dir.message(&clean().bytes());
    // The engine's own notes are written before the snapshot.
    dir.qmvc(&["-t"]).stdin_file(&msg).run().assert_code(0);
    let _ = fs::remove_dir(dir.layer(Layer::System).join("tmp"));
    let before = dir.tree();
    for args in [["-t"], ["-ut"]] {
        let out = dir.qmvc(&args).stdin_file(&msg).run();
        out.assert_code(0);
        assert!(
            out.stdout.contains("scanners asked: R"),
            "{}",
            out.describe()
        );
        // The file was in a private directory outside the layers, which
        // is gone again.
        let seen = seen_path(&dir);
        assert!(!seen.starts_with(dir.root()), "{}", seen.display());
        assert!(!seen.parent().unwrap().exists(), "{}", seen.display());
    }
    assert_eq!(dir.tree(), before, "-t wrote something");
});

qmvctest!(missing_program_is_a_scan_failure, |dir: Dir| {
    // Lint reports it (lint_missing_command_program); a delivery finds
    // out when it runs the engine, under on_error.
    virusmail_block(&dir);
    let msg = dir.message(&clean().bytes());
    for (policy, code) in [("tempfail", 111), ("pass", 0), ("block", 99)] {
        let yaml = command_yaml(
            &["/nonexistent/ghostscan", "{}"],
            &format!("target: file\non_error: {policy}\n"),
        );
        dir.scanners(&[("ghost", 'G', &yaml)]);
        let out = dir.qmvc(&["-u"]).stdin_file(&msg).run();
        out.assert_code(code);
        if code == 111 {
            assert!(out.reason().contains("ghostscan"), "{}", out.describe());
        }
    }
    let tmp = dir.layer(Layer::User).join("tmp");
    assert!(entries_in(&tmp).is_empty(), "{:?}", entries_in(&tmp));
});

dotqmailtest!(command_engine_exit_codes_and_names, |dir: Dir| {
    // Exit 1 with a name, exit 1 without one, an unknown exit code.
    let script = dir.script(
        "judge",
        "case \"$(cat \"$1\")\" in\n\
         *infected-with-name*) echo \"$1: Test.Named FOUND\"; exit 1;;\n\
         *infected-nameless*) exit 1;;\n\
         *broken*) echo 'cannot scan' >&2; exit 7;;\n\
         esac\nexit 0\n",
    );
    let script = script.display().to_string();
    virusmail_block(&dir);
    let yaml = command_yaml(
        &[&script, "{}"],
        &format!("{CLAMAV_ANSWERS}on_error: block\n"),
    );
    dir.scanners(&[("judge", 'J', &yaml)]);
    let run = |text: &str| {
        let msg = dir.message(&Mail::new().text(text).bytes());
        dir.deliver(DOTQMAIL, &msg)
    };
    let delivery = run("infected-with-name\n");
    assert_virus(
        &dir,
        Layer::System,
        &delivery,
        "J",
        &[("judge (J)", "Test.Named")],
    );
    let delivery = run("infected-nameless\n");
    assert_eq!(delivery.outcome, Outcome::Stopped);
    let reports = dir.reports(Layer::System);
    let found = findings(reports.last().unwrap());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "judge (J)");
    assert!(!found[0].1.is_empty(), "an infection without any name");
    let delivery = run("broken\n");
    assert_eq!(delivery.outcome, Outcome::Stopped);
    let detail = first_detail(dir.reports(Layer::System).last().unwrap());
    assert!(detail.contains("on_error block"), "{detail}");
    let delivery = run("fine\n");
    assert_delivered(&dir, Layer::System, &delivery, "J");
});

/// A clamscan engine using the test clamd's database.
fn clamscan_yaml(clamd: &Clamd) -> String {
    let db = clamd.database().display().to_string();
    command_yaml(
        &["/usr/bin/clamscan", "--no-summary", "-d", &db, "{}"],
        CLAMAV_ANSWERS,
    )
}

/// A clamdscan engine asking the test clamd over its socket, with
/// `transfer` (`--stream` or `--fdpass`).
fn clamdscan_yaml(dir: &Dir, clamd: &Clamd, transfer: &str) -> String {
    let config = dir.write(
        "clamdscan.conf",
        format!("LocalSocket {}\n", clamd.socket().display()).as_bytes(),
    );
    let config = format!("--config-file={}", config.display());
    command_yaml(
        &["/usr/bin/clamdscan", &config, "--no-summary", transfer, "{}"],
        CLAMAV_ANSWERS,
    )
}

/// Checks that the engine `name` (`initial`) finds EICAR (attached and
/// as the body) and the marker, and passes a clean message.
fn command_finds(dir: &Dir, name: &str, initial: char, yaml: &str) {
    virusmail_block(dir);
    dir.scanners(&[(name, initial, yaml)]);
    let scanner = format!("{name} ({initial})");
    let initials = initial.to_string();
    let marker = String::from_utf8(MARKER.to_vec()).unwrap();
    for (mail, virus) in [
        (eicar_attachment(), eicar_name()),
        (eicar_body(), eicar_name()),
        (Mail::new().text(&format!("{marker}\n")), marker_name()),
    ] {
        let msg = dir.message(&mail.bytes());
        let delivery = dir.deliver(DOTQMAIL_U, &msg);
        assert_virus(
            dir,
            Layer::User,
            &delivery,
            &initials,
            &[(&scanner, &virus)],
        );
    }
    let msg = dir.message(&clean().bytes());
    let delivery = dir.deliver(DOTQMAIL_U, &msg);
    assert_delivered(dir, Layer::User, &delivery, &initials);
    let tmp = dir.layer(Layer::User).join("tmp");
    assert!(entries_in(&tmp).is_empty(), "{:?}", entries_in(&tmp));
}

dotqmailtest!(clamscan_as_command_engine, |dir: Dir| {
    let clamd = clamd!(dir);
    let yaml = clamscan_yaml(&clamd);
    command_finds(&dir, "clamscan", 'S', &yaml);
});

dotqmailtest!(clamdscan_stream_as_command_engine, |dir: Dir| {
    let clamd = clamd!(dir);
    let yaml = clamdscan_yaml(&dir, &clamd, "--stream");
    command_finds(&dir, "clamdscan", 'D', &yaml);
});

dotqmailtest!(clamdscan_fdpass_as_command_engine, |dir: Dir| {
    let clamd = clamd!(dir);
    let yaml = clamdscan_yaml(&dir, &clamd, "--fdpass");
    command_finds(&dir, "clamdscan", 'D', &yaml);
});

// Four scanners in order.

/// clamd over unix `C`, clamd over TCP `T`, clamscan `S` and a script
/// `X` that logs each run to `ROOT/x.log` and finds the EICAR string in
/// a plain body.
fn four(dir: &Dir, clamd: &Clamd) {
    let log = dir.path("x.log");
    let script = dir.script(
        "xscan",
        &format!(
            "echo X >> {log}\n\
             if grep -q '{EICAR_PIECE}' \"$1\"; then\n\
             echo \"$1: Script.Eicar FOUND\"; exit 1; fi\nexit 0\n",
            log = log.display()
        ),
    );
    let script = script.display().to_string();
    dir.scanners(&[
        ("clamd", 'C', &clamd_yaml(&[unix(clamd)], "")),
        ("clamdtcp", 'T', &clamd_yaml(&[tcp(clamd)], "")),
        ("clamscan", 'S', &clamscan_yaml(clamd)),
        ("xscan", 'X', &command_yaml(&[&script, "{}"], CLAMAV_ANSWERS)),
    ]);
}

fn x_runs(dir: &Dir) -> usize {
    fs::read_to_string(dir.path("x.log")).unwrap_or_default().lines().count()
}

dotqmailtest!(four_scanners_run_in_order_on_clean_mail, |dir: Dir| {
    let clamd = clamd!(dir);
    four(&dir, &clamd);
    virusmail_block(&dir);
    let msg = dir.message(&clean().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_delivered(&dir, Layer::System, &delivery, "CTSX");
    assert_eq!(x_runs(&dir), 1);
});

dotqmailtest!(four_scanners_each_report_without_quitasap, |dir: Dir| {
    let clamd = clamd!(dir);
    four(&dir, &clamd);
    virusmail_block(&dir);
    let msg = dir.message(&eicar_body().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let eicar = eicar_name();
    assert_virus(
        &dir,
        Layer::System,
        &delivery,
        "CTSX",
        &[
            ("clamd (C)", &eicar),
            ("clamdtcp (T)", &eicar),
            ("clamscan (S)", &eicar),
            ("xscan (X)", "Script.Eicar"),
        ],
    );
    assert_eq!(x_runs(&dir), 1);
});

dotqmailtest!(four_scanners_quitasap_stops_at_the_first, |dir: Dir| {
    let clamd = clamd!(dir);
    four(&dir, &clamd);
    dir.filters("virusmail ; block ; ; quitasap ;\n");
    let msg = dir.message(&eicar_body().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_virus(
        &dir,
        Layer::System,
        &delivery,
        "C",
        &[("clamd (C)", &eicar_name())],
    );
    assert_eq!(x_runs(&dir), 0, "a scanner after quitasap ran");
    // A clean message still goes through all four.
    let msg = dir.message(&clean().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert_delivered(&dir, Layer::System, &delivery, "CTSX");
});

dotqmailtest!(virusmail_bounce_exits_100_with_a_reason, |dir: Dir| {
    let clamd = clamd!(dir);
    dir.filters("virusmail ; bounce ; ; ;\n");
    clamd_only(&dir, unix(&clamd), "");
    let msg = dir.message(&eicar_attachment().bytes());
    let delivery = dir.deliver(DOTQMAIL, &msg);
    let Outcome::Bounced(reason) = &delivery.outcome else {
        panic!("not bounced: {}", delivery.first().describe());
    };
    let said = format!("virus {} found", testing::EICAR_FOUND);
    assert!(reason.contains(&said), "{reason}");
    assert!(dir.maildir().is_empty());
    assert_eq!(dir.last_log(Layer::System).action(), "bounce");
});

// -n and noscantypes.

/// A stopped clamd under `tempfail` and noscantypes listing text/plain
/// and image/png: any scan defers.
fn noscan_profile(dir: &Dir) {
    let mut clamd = clamd!(dir);
    clamd.stop();
    virusmail_block(dir);
    clamd_only(dir, unix(&clamd), "on_error: tempfail\n");
    dir.control(Layer::System, "noscantypes", "text/plain\nimage/png\n");
}

dotqmailtest!(noscan_text_only_is_not_scanned, |dir: Dir| {
    if !have_clamd() {
        return;
    }
    noscan_profile(&dir);
    let msg = dir.message(&Mail::new().bytes());
    let delivery = dir.deliver("|qmvc -n\n./Maildir/\n", &msg);
    assert_delivered(&dir, Layer::System, &delivery, "-");
    // Without -n the same message is scanned, and clamd is down.
    let delivery = dir.deliver(DOTQMAIL, &msg);
    assert!(
        matches!(delivery.outcome, Outcome::Deferred(_)),
        "{}",
        delivery.first().describe()
    );
    assert_eq!(dir.maildir().len(), 1);
});

dotqmailtest!(noscan_png_attachment_is_not_scanned, |dir: Dir| {
    if !have_clamd() {
        return;
    }
    noscan_profile(&dir);
    let png = mail::corpus_attachment("03-clean-png.eml", "pixel.png");
    let mail = Mail::new().mixed(vec![
        Part::text("A picture.\n"),
        Part::attachment("pixel.png", "image/png", &png),
    ]);
    let msg = dir.message(&mail.bytes());
    let delivery = dir.deliver("|qmvc -nu\n./Maildir/\n", &msg);
    assert_delivered(&dir, Layer::User, &delivery, "-");
});

dotqmailtest!(noscan_exe_attachment_is_scanned, |dir: Dir| {
    if !have_clamd() {
        return;
    }
    noscan_profile(&dir);
    let mail = Mail::new().mixed(vec![
        Part::text("The invoice.\n"),
        Part::attachment(
            "invoice.exe",
            "application/octet-stream",
            &mail::pe(),
        ),
    ]);
    let msg = dir.message(&mail.bytes());
    let delivery = dir.deliver("|qmvc -n\n./Maildir/\n", &msg);
    assert_deferred(&dir, &delivery);
});

dotqmailtest!(noscan_exe_is_scanned_by_a_live_clamd, |dir: Dir| {
    let clamd = clamd!(dir);
    virusmail_block(&dir);
    clamd_only(&dir, unix(&clamd), "");
    dir.control(Layer::System, "noscantypes", "text/plain\nimage/png\n");
    let mail = Mail::new().mixed(vec![
        Part::text("The invoice.\n"),
        Part::attachment(
            "invoice.exe",
            "application/octet-stream",
            &mail::pe(),
        ),
    ]);
    let msg = dir.message(&mail.bytes());
    let delivery = dir.deliver("|qmvc -n\n./Maildir/\n", &msg);
    assert_delivered(&dir, Layer::System, &delivery, "C");
    let msg = dir.message(&Mail::new().bytes());
    let delivery = dir.deliver("|qmvc -n\n./Maildir/\n", &msg);
    assert_delivered(&dir, Layer::System, &delivery, "-");
});

// qmvc -s

/// The engine version `clamd --version` prints, e.g. `ClamAV 1.4.6`.
fn clamd_version() -> String {
    let out = std::process::Command::new("/usr/sbin/clamd")
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    text.split('/').next().unwrap_or("").to_string()
}

qmvctest!(status_reports_engine_and_version, |dir: Dir| {
    let clamd = clamd!(dir);
    dir.scanners(&[
        ("clamd", 'C', &clamd_yaml(&[unix(&clamd)], "")),
        ("clamdtcp", 'T', &clamd_yaml(&[tcp(&clamd)], "")),
    ]);
    let out = dir.qmvc(&["-s"]).run();
    out.assert_code(0);
    let version = clamd_version();
    assert!(version.starts_with("ClamAV "), "{version:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.describe());
    for (line, head) in lines.iter().zip(["C clamd", "T clamdtcp"]) {
        assert!(line.starts_with(head), "{line}");
        assert!(line.contains(&version), "no {version:?} in {line}");
        assert!(!line.to_lowercase().contains("not reachable"), "{line}");
    }
});

qmvctest!(status_clamd_down_is_not_reachable, |dir: Dir| {
    let mut clamd = clamd!(dir);
    clamd.stop();
    clamd_only(&dir, unix(&clamd), "");
    let out = dir.qmvc(&["-s"]).run();
    out.assert_code(111);
    assert!(out.stdout.starts_with("C clamd"), "{}", out.describe());
    assert!(
        out.stdout.to_lowercase().contains("not reachable"),
        "{}",
        out.describe()
    );
});

qmvctest!(status_with_an_empty_scanners_file, |dir: Dir| {
    dir.control(Layer::System, "scanners", "# none\n");
    let out = dir.qmvc(&["-s"]).run();
    out.assert_code(0);
    assert!(
        out.stdout.contains("no scanner configured"),
        "{}",
        out.describe()
    );
});

qmvctest!(status_of_a_command_engine, |dir: Dir| {
    let clamd = clamd!(dir);
    let mut yaml = clamscan_yaml(&clamd);
    yaml.push_str("version: [\"/usr/bin/clamscan\", \"--version\"]\n");
    dir.scanners(&[("clamscan", 'S', &yaml)]);
    let out = dir.qmvc(&["-s"]).run();
    out.assert_code(0);
    assert!(out.stdout.starts_with("S clamscan"), "{}", out.describe());
    assert!(out.stdout.contains(&clamd_version()), "{}", out.describe());
});

// keep

dotqmailtest!(keep_stores_virusmail_in_save_virus, |dir: Dir| {
    let clamd = clamd!(dir);
    dir.filters("virusmail ; keep ; ; quitasap ;\n");
    clamd_only(&dir, unix(&clamd), "");
    let bytes = eicar_zip().bytes();
    let msg = dir.message(&bytes);
    let delivery = dir.deliver(DOTQMAIL_U, &msg);
    assert_eq!(delivery.outcome, Outcome::Stopped);
    assert!(dir.maildir().is_empty());
    let save = dir.layer(Layer::User).join("save/virus");
    let kept = files_in(&save.join("new"));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(fs::read(&kept[0]).unwrap(), bytes, "kept copy differs");
    assert!(files_in(&save.join("tmp")).is_empty());
    let analyses = files_in(&save.join("analysis"));
    assert_eq!(analyses.len(), 1, "{analyses:?}");
    let text = fs::read_to_string(&analyses[0]).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(doc["result"].as_str(), Some("virusmail"));
    assert_eq!(doc["action"].as_str(), Some("keep"));
    assert_eq!(findings(&doc), [("clamd (C)".to_string(), eicar_name())]);
    assert_eq!(dir.last_log(Layer::User).action(), "keep");
    assert!(!dir.layer(Layer::User).join("save/policy").exists());
});

// -L

/// `-L` reports a problem at `line` of the system layer's control file
/// `name` that contains `needle`.
#[track_caller]
fn assert_problem(dir: &Dir, name: &str, line: usize, needle: &str) {
    let path = dir.layer(Layer::System).join("control").join(name);
    assert_lint(&dir.qmvc(&["-L"]).run(), &path, Some(line), needle);
}

dotqmailtest!(lint_bad_endpoint, |dir: Dir| {
    dir.scanners(&[(
        "clamd",
        'C',
        "protocol: clamd\nendpoints:\n  - unix:/run/clamav/clamd.ctl\n  \
         - tcp:localhost\n",
    )]);
    assert_problem(&dir, "scanners.d/clamd.yaml", 4, "tcp:localhost");
    // A delivery with this profile defers rather than scan with half a
    // definition.
    virusmail_block(&dir);
    let msg = dir.message(&clean().bytes());
    assert_deferred(&dir, &dir.deliver(DOTQMAIL, &msg));
});

qmvctest!(lint_unknown_yaml_key, |dir: Dir| {
    dir.scanners(&[(
        "clamd",
        'C',
        "protocol: clamd\nendpoints: [\"tcp:127.0.0.1:3310\"]\ntimeuot: 5\n",
    )]);
    assert_problem(&dir, "scanners.d/clamd.yaml", 3, "timeuot");
});

qmvctest!(lint_fifth_scanner_line, |dir: Dir| {
    let yaml = "protocol: clamd\nendpoints: [\"tcp:127.0.0.1:3310\"]\n";
    dir.scanners(&[
        ("a", 'A', yaml),
        ("b", 'B', yaml),
        ("c", 'C', yaml),
        ("d", 'D', yaml),
        ("e", 'E', yaml),
    ]);
    // Line 1 is the comment: the fifth scanner is on line 6.
    assert_problem(&dir, "scanners", 6, "e");
});

qmvctest!(lint_missing_command_program, |dir: Dir| {
    dir.scanners(&[(
        "ghost",
        'G',
        "protocol: command\ncommand: [\"/nonexistent/ghostscan\", \"{}\"]\n\
         target: file\n",
    )]);
    assert_problem(&dir, "scanners.d/ghost.yaml", 2, "/nonexistent/ghostscan");
});

qmvctest!(lint_engine_without_definition, |dir: Dir| {
    dir.control(Layer::System, "scanners", "nosuchengine ; N ; None ;\n");
    assert_problem(&dir, "scanners", 1, "nosuchengine");
});

qmvctest!(lint_good_scanner_profile_is_clean, |dir: Dir| {
    let clamscan = command_yaml(
        &["/usr/bin/clamscan", "--no-summary", "{}"],
        CLAMAV_ANSWERS,
    );
    dir.scanners(&[
        (
            "clamd",
            'C',
            "protocol: clamd\nendpoints: [\"unix:/run/clamav/clamd.ctl\", \
             \"tcp:127.0.0.1:3310\"]\non_error: tempfail\n",
        ),
        ("clamscan", 'S', &clamscan),
    ]);
    let out = dir.qmvc(&["-L"]).run();
    if std::path::Path::new("/usr/bin/clamscan").exists() {
        out.assert_code(0);
        assert_eq!(out.stdout, "", "{}", out.describe());
    }
});

dotqmailtest!(eicar_in_an_encoded_attached_message_is_found, |dir: Dir| {
    // Issue 11, item 11: a message/rfc822 part in base64 (RFC 2045
    // forbids it) holding the EICAR attachment.
    let clamd = clamd!(dir);
    let part = Part::new(
        &[
            ("Content-Type", "message/rfc822"),
            ("Content-Transfer-Encoding", "base64"),
        ],
        mail::base64(&eicar_attachment().bytes()).as_bytes(),
    );
    let mail = Mail::new().mixed(vec![Part::text("forwarded\n"), part]);
    found_over_both(&dir, &clamd, &mail, &eicar_name());
});
