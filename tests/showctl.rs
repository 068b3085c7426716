/*!
`qmvc -C` and `qmvc-queue -C`: the effective profile, each control file
with the layer it comes from and its entries, the engine definitions in
use and the templates, read through the real binaries; exit 0 even when
the profile has problems.
*/

use std::fs;
use std::process::Command;

use crate::util::{assert_lint, Dir, Layer};

const QMVC_QUEUE: &str = env!("CARGO_BIN_EXE_qmvc-queue");

/// The block of `report` for the file `name`: its `name: SOURCE (LAYER)`
/// line and the indented lines after it.
#[track_caller]
fn block<'a>(report: &'a str, name: &str) -> Vec<&'a str> {
    let head = format!("{name}: ");
    let mut lines = report.lines().skip_while(|l| !l.starts_with(&head));
    let first = lines.next().unwrap_or_else(|| {
        panic!("no block for {name} in:\n{report}");
    });
    let mut block = vec![first];
    block.extend(lines.take_while(|l| l.starts_with("  ")));
    block
}

/// The profile of the tests below: `filters` and `scanners` (with its
/// engine definition) in the system layer, `limits` in the domain
/// layer, `badsubjects` and a German template in the user layer.
fn layered(dir: &Dir) {
    dir.filters("# CAR\nbadsubject ; block ; ; ;\nvirusmail ; block ; ; ;\n");
    dir.scanners(&[(
        "myclam",
        'M',
        "# mine\nprotocol: clamd\nendpoints:\n  - unix:/run/clamd.sock\n",
    )]);
    dir.control(Layer::Domain("example.org"), "limits", "scansize=2M\n");
    dir.control(Layer::User, "badsubjects", "\n# spam\nBuy now\n");
    dir.write("home/qmvc/tpl/de/notifysender.hbs", b"Hallo\n");
}

qmvctest!(every_file_with_its_layer, |dir: Dir| {
    layered(&dir);
    let domain = dir.layer(Layer::Domain("example.org"));
    let domain = domain.to_str().unwrap();
    let out = dir.qmvc(&["-C", "-u", "-c", domain]).run();
    out.assert_code(0);
    let report = &out.stdout;
    let system = dir.layer(Layer::System).join("control");
    let user = dir.layer(Layer::User);
    assert_eq!(
        block(report, "filters"),
        [
            format!("filters: {}/filters (system)", system.display()),
            "  2: badsubject ; block ; ; ;".into(),
            "  3: virusmail ; block ; ; ;".into(),
        ]
    );
    let limits = block(report, "limits");
    assert_eq!(
        limits[..2],
        [
            format!("limits: {domain}/control/limits (domain)"),
            "  1: scansize=2M".into(),
        ]
    );
    // Then every key as it applies: the file's value, else the default.
    assert!(limits.contains(&"  effective: scansize=2097152"), "{limits:?}");
    assert!(limits.contains(&"  effective: queuesize=none"), "{limits:?}");
    assert!(limits.contains(&"  effective: commandtimeout=30"), "{limits:?}");
    assert_eq!(
        block(report, "badsubjects"),
        [
            format!(
                "badsubjects: {}/control/badsubjects (user)",
                user.display()
            ),
            "  3: Buy now".into(),
        ]
    );
    // What no layer has comes from the built-in defaults.
    let guard = block(report, "guard");
    assert_eq!(
        guard,
        [
            "guard: (built-in)/control/guard (built-in)",
            "  (no entries)",
            "  effective: guard=none (MAILER-DAEMON at this host)"
        ]
    );
    let language = block(report, "language");
    assert_eq!(
        language[0],
        "language: (built-in)/control/language (built-in)"
    );
    assert!(language.contains(&"  4: en"), "{language:?}");
    assert!(language.contains(&"  effective: language=en"), "{language:?}");
    let syslog = block(report, "syslog");
    assert!(
        syslog.contains(&"  effective: syslog=none (qmvc.log only)"),
        "{syslog:?}"
    );
    // The engine scanners names, its structure kept.
    assert_eq!(
        block(report, "myclam"),
        [
            format!(
                "myclam: {}/scanners.d/myclam.yaml (system)",
                system.display()
            ),
            "  2: protocol: clamd".into(),
            "  3: endpoints:".into(),
            "  4:   - unix:/run/clamd.sock".into(),
        ]
    );
    // Templates: the user's German notifysender, the rest built in.
    let de = format!(
        "  de/notifysender: {}/tpl/de/notifysender.hbs (user)",
        user.display()
    );
    assert!(report.lines().any(|l| l == de), "{report}");
    assert!(
        report.lines().any(|l| l
            == "  en/notifysender: (built-in)/tpl/en/notifysender.hbs (built-in)"),
        "{report}"
    );
    assert!(!report.contains("problem:"), "{report}");
});

qmvctest!(without_u_the_user_layer_is_not_read, |dir: Dir| {
    layered(&dir);
    let out = dir.qmvc(&["-C"]).run();
    out.assert_code(0);
    let report = &out.stdout;
    assert_eq!(
        block(report, "badsubjects")[0],
        "badsubjects: (built-in)/control/badsubjects (built-in)"
    );
    assert_eq!(
        block(report, "limits")[0],
        "limits: (built-in)/control/limits (built-in)"
    );
    assert!(!report.contains("home/qmvc"), "{report}");
});

qmvctest!(problems_are_shown_and_exit_is_0, |dir: Dir| {
    dir.filters("badsubject ; blok ; ; ;\n");
    dir.control(Layer::System, "limits", "scansize=2M\nmaxsize=9\n");
    let out = dir.qmvc(&["-C"]).run();
    out.assert_code(0);
    let filters = block(&out.stdout, "filters");
    assert_eq!(filters[1], "  1: badsubject ; blok ; ; ;");
    assert!(
        filters.iter().any(|l| l.starts_with("  problem: ")
            && l.contains(":1: ")
            && l.contains("blok")),
        "{filters:?}"
    );
    let limits = block(&out.stdout, "limits");
    assert!(limits.contains(&"  1: scansize=2M"), "{limits:?}");
    // The bad line is left out: what applies is the rest over defaults.
    assert!(limits.contains(&"  effective: scansize=2097152"), "{limits:?}");
    assert!(
        limits
            .iter()
            .any(|l| l.starts_with("  problem: ") && l.contains("maxsize")),
        "{limits:?}"
    );
    // -L still says it is not clean.
    dir.qmvc(&["-L"]).run().assert_code(1);
});

/// Runs `qmvc-queue -C` with the system layer of `dir`.
fn queue_config(dir: &Dir) -> String {
    let out = Command::new(QMVC_QUEUE)
        .arg("-C")
        .env_clear()
        .env("QMVCHOME", dir.layer(Layer::System))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The section of `report` whose `===` title starts with `title`.
#[track_caller]
fn section<'a>(report: &'a str, title: &str) -> &'a str {
    let head = format!("=== {title}");
    let start = report.find(&head).unwrap_or_else(|| {
        panic!("no section {title} in:\n{report}");
    });
    let rest = &report[start + head.len()..];
    &rest[..rest.find("\n=== ").unwrap_or(rest.len())]
}

qmvctest!(queue_profile_with_relay_and_two_domains, |dir: Dir| {
    let sys = dir.layer(Layer::System);
    dir.filters("badsubject ; block ; ; ;\n");
    dir.control(Layer::System, "customerror", "never\n");
    fs::create_dir_all(sys.join("relay/control")).unwrap();
    fs::write(
        sys.join("relay/control/filters"),
        "badfilename ; block ; ; ;\n",
    )
    .unwrap();
    for (domain, subject) in [("a.example", "Alpha"), ("b.example", "Beta")] {
        let control = sys.join("domains").join(domain).join("control");
        fs::create_dir_all(&control).unwrap();
        fs::write(control.join("badsubjects"), format!("{subject}\n"))
            .unwrap();
    }
    let report = queue_config(&dir);
    let system = section(&report, "the system layer");
    assert_eq!(
        block(system, "filters")[0],
        format!("filters: {}/control/filters (system)", sys.display())
    );
    assert_eq!(block(system, "customerror")[1], "  1: never");
    let relay = section(&report, "relay/");
    assert!(
        relay.contains("used for a client with RELAYCLIENT set"),
        "{relay}"
    );
    assert_eq!(
        block(relay, "filters"),
        [
            format!(
                "filters: {}/relay/control/filters (relay)",
                sys.display()
            ),
            "  1: badfilename ; block ; ; ;".into(),
        ]
    );
    for (domain, subject) in [("a.example", "Alpha"), ("b.example", "Beta")] {
        let part = section(&report, &format!("domains/{domain}/"));
        assert_eq!(
            block(part, "badsubjects"),
            [
                format!(
                    "badsubjects: {}/domains/{domain}/control/badsubjects (domain)",
                    sys.display()
                ),
                format!("  1: {subject}"),
            ]
        );
        // The domain layer sits on the system layer, not on relay/.
        assert_eq!(
            block(part, "filters")[0],
            format!("filters: {}/control/filters (system)", sys.display())
        );
    }
    let summary = section(&report, "summary");
    assert!(
        summary.contains("relay/: present, used when RELAYCLIENT is set"),
        "{summary}"
    );
    assert!(
        summary.contains("domain layers: a.example, b.example"),
        "{summary}"
    );
});

qmvctest!(queue_profile_without_relay, |dir: Dir| {
    dir.filters("badsubject ; block ; ; ;\n");
    let report = queue_config(&dir);
    assert!(!report.contains("=== relay/"), "{report}");
    let summary = section(&report, "summary");
    assert!(summary.contains("RELAYCLIENT changes nothing"), "{summary}");
    assert!(summary.contains("domain layers: none"), "{summary}");
});

qmvctest!(the_release_key_is_shown_never_its_text_and_linted, |dir: Dir| {
    let secret =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    let system_key = dir.layer(Layer::System).join("control/releasekey");
    let last = |args: &[&str]| {
        let out = dir.qmvc(args).run();
        out.assert_code(0);
        assert!(!out.stdout.contains(secret.trim()), "{}", out.describe());
        out.stdout.lines().last().unwrap_or_default().to_owned()
    };
    // Missing: no mark passes; the installer makes it.
    let line = last(&["-C"]);
    assert_eq!(
        line,
        format!(
            "release key: {} (system layer): missing: no mark passes (the \
             installer makes it)",
            system_key.display()
        )
    );
    dir.qmvc(&["-L"]).run().assert_code(0);

    // Present, 0600: checked; the text is never shown.
    dir.control(Layer::System, "releasekey", secret);
    let mode = |m| {
        std::fs::set_permissions(
            &system_key,
            std::os::unix::fs::PermissionsExt::from_mode(m),
        )
        .unwrap()
    };
    mode(0o600);
    let line = last(&["-C"]);
    assert!(line.contains("(system layer): present, mode 0600"), "{line}");
    assert!(line.ends_with("marks are checked"), "{line}");
    let lint = dir.qmvc(&["-L"]).run();
    lint.assert_code(0);

    // Readable by others: a problem, with what to do.
    mode(0o644);
    let out = dir.qmvc(&["-L"]).run();
    assert_lint(&out, &system_key, Some(0), "mode 0644: others can read");
    assert!(out.stdout.contains("chmod 0600"), "{}", out.describe());

    // Too short: not usable, and a problem.
    dir.control(Layer::System, "releasekey", "short\n");
    mode(0o600);
    assert!(last(&["-C"]).contains("not usable: shorter than 32 bytes"));
    let out = dir.qmvc(&["-L"]).run();
    assert_lint(&out, &system_key, Some(0), "shorter than 32 bytes");

    // With -u the user's own key is meant.
    let line = last(&["-u", "-C"]);
    let user_key = dir.layer(Layer::User).join("control/releasekey");
    assert!(
        line.starts_with(&format!(
            "release key: {} (user layer): missing",
            user_key.display()
        )),
        "{line}"
    );
});
