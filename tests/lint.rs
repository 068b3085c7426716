/*!
`qmvc -L`: every problem of the effective profile as `FILE:LINE: message`,
exit 1; the built-in defaults lint clean (exit 0, no output). A profile
with problems also defers a delivery (111), so that a typo never turns a
filter off silently.
*/

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::mail::Mail;
use crate::util::{assert_lint, Dir, Layer, Output};

fn lint(dir: &Dir, args: &[&str]) -> Output {
    dir.qmvc(args).run()
}

/// `-L` reports a problem at `line` of the system layer's control file
/// `name` that contains `needle`.
#[track_caller]
fn assert_problem(dir: &Dir, name: &str, line: usize, needle: &str) {
    let path = dir.layer(Layer::System).join("control").join(name);
    assert_lint(&lint(dir, &["-L"]), &path, Some(line), needle);
}

qmvctest!(unknown_action, |dir: Dir| {
    dir.filters("# CAR\nerrormail ; inspect\nbadfilename ; blok ; ; ;\n");
    assert_problem(&dir, "filters", 3, "blok");
});

qmvctest!(bad_regex, |dir: Dir| {
    dir.control(Layer::System, "badsubjects", "ok\n\n/([a-/\n");
    assert_problem(&dir, "badsubjects", 3, "/([a-/");
});

qmvctest!(bad_regex_in_badbodytexts, |dir: Dir| {
    dir.control(Layer::System, "badbodytexts", "/(unclosed/\n");
    assert_problem(&dir, "badbodytexts", 1, "(unclosed");
});

qmvctest!(bad_glob, |dir: Dir| {
    dir.control(Layer::System, "badfilenames", "*.exe\n*.[abc\n");
    assert_problem(&dir, "badfilenames", 2, "[abc");
});

qmvctest!(reactions_with_trash, |dir: Dir| {
    dir.filters("badsubject ; trash ; notifyrecipient ; ;\n");
    assert_problem(&dir, "filters", 1, "trash");
});

qmvctest!(unknown_limits_key, |dir: Dir| {
    dir.control(Layer::System, "limits", "# bounds\nscansize=1M\nmaxsize=9\n");
    assert_problem(&dir, "limits", 3, "maxsize");
});

qmvctest!(bad_mime_type_and_loader_type, |dir: Dir| {
    dir.control(Layer::System, "badmimetypes", "executable\n");
    dir.control(Layer::System, "badloadertypes", "PE\nEXE\n");
    assert_problem(&dir, "badmimetypes", 1, "executable");
    assert_problem(&dir, "badloadertypes", 2, "EXE");
});

qmvctest!(bad_mailheaders_setting, |dir: Dir| {
    dir.control(Layer::System, "mailheaders", "date=sometimes\n");
    assert_problem(&dir, "mailheaders", 1, "sometimes");
});

qmvctest!(every_problem_at_once, |dir: Dir| {
    dir.filters("badfilename ; blok\nbadsubject ; trash ; notifysender\n");
    dir.control(Layer::System, "badsubjects", "/([a-/\n");
    dir.control(Layer::System, "limits", "maxsize=9\n");
    let out = lint(&dir, &["-L"]);
    out.assert_code(1);
    assert!(out.stdout.lines().count() >= 4, "{}", out.describe());
});

qmvctest!(problems_in_every_layer, |dir: Dir| {
    dir.control(Layer::User, "filters", "badmail ; blok\n");
    dir.control(Layer::System, "limits", "maxsize=9\n");
    let out = lint(&dir, &["-uL"]);
    out.assert_code(1);
    let user = dir.layer(Layer::User).join("control/filters");
    let system = dir.layer(Layer::System).join("control/limits");
    assert!(out.stdout.contains(&format!("{}:1: ", user.display())));
    assert!(out.stdout.contains(&format!("{}:1: ", system.display())));
});

qmvctest!(lint_reads_every_control_file_of_the_registry, |dir: Dir| {
    // A writable copy of each control file in the system layer: lint
    // reads every one, reports each, and goes on.
    for control in qmvc_profile::CONTROLS {
        let path = dir.control(Layer::System, control.name(), "");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    }
    let out = lint(&dir, &["-L"]);
    for control in qmvc_profile::CONTROLS {
        let path =
            dir.layer(Layer::System).join("control").join(control.name());
        assert_lint(&out, &path, Some(0), "group or world writable");
    }
    assert_eq!(
        out.stdout.lines().count(),
        qmvc_profile::CONTROLS.len(),
        "{}",
        out.describe()
    );
});

qmvctest!(built_in_defaults_are_clean, |dir: Dir| {
    let out = lint(&dir, &["-L"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "", "{}", out.describe());
    let out = lint(&dir, &["-uL"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "");
});

qmvctest!(clean_custom_profile, |dir: Dir| {
    dir.filters(
        "errormail ; inspect\nbadmail | keep | informguard=postmaster@$HOST \
         | quitasap,lang=de |\nvirusmail ; keep ; ; quitasap ;\n",
    );
    dir.control(Layer::System, "badsubjects", "spam\n/^\\s*\\[spam\\]/\n");
    dir.control(Layer::System, "limits", "scansize=16M\ncommandtimeout=2m\n");
    let out = lint(&dir, &["-L"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "");
});

qmvctest!(lint_reads_no_message, |dir: Dir| {
    // stdin is a file that must not be consumed: lint works without it.
    let out = dir.qmvc(&["-L"]).stdin_bytes(b"not a message").run();
    out.assert_code(0);
});

qmvctest!(a_profile_with_problems_defers_delivery, |dir: Dir| {
    dir.filters("badsubject ; blok\n");
    let out = dir.run(&[], &Mail::new().bytes());
    out.assert_code(111);
    assert!(out.reason().contains("blok"), "{}", out.describe());
});

qmvctest!(bits_option, |dir: Dir| {
    dir.filters("errormail ; keep ; ; bits=256 ;\nerrormail ; inspect\n");
    let out = lint(&dir, &["-L"]);
    assert!(!out.stdout.contains("filters"), "{}", out.describe());
    for (bad, needle) in [
        ("bits=x", "not a decimal number"),
        ("bits=0", "0 selects no bit"),
        ("bits=512", "bits that errormail does not define"),
    ] {
        dir.filters(&format!("errormail ; keep ; ; {bad} ;\n"));
        assert_problem(&dir, "filters", 1, needle);
    }
    dir.filters("# x\nbadfilename ; block ; ; bits=1 ;\n");
    assert_problem(&dir, "filters", 2, "option bits is only for errormail");
});
