/*!
The layers: each control file from the most specific layer that has it
(user, domain, system, built-in); an empty file is a setting, a missing one
falls back; state (logs, save/, inspect/) in the most specific layer, with
private modes; a writable control file defers, and so does a layer
directory that another user owns or others can write (SPEC 9).
*/

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::mail::{Mail, Part};
use crate::util::{mode, Dir, Layer, Outcome};

/// Runs a message with subject `subject` with `args`; returns whether
/// badsubject was met.
fn subject_met(dir: &Dir, args: &[&str], subject: &str) -> bool {
    let out = dir.run(args, &Mail::new().subject(subject).bytes());
    match out.code {
        99 => true,
        0 => false,
        _ => panic!("{}", out.describe()),
    }
}

fn exe_message() -> Vec<u8> {
    Mail::new()
        .mixed(vec![
            Part::text("hi\n"),
            Part::attachment("invoice.exe", "application/octet-stream", b"x"),
        ])
        .bytes()
}

/// A system `filters` for badsubject and one badsubjects per layer.
fn three_layers(dir: &Dir) -> String {
    dir.filters("badsubject ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "alpha\n");
    dir.control(Layer::Domain("d"), "badsubjects", "beta\n");
    dir.control(Layer::User, "badsubjects", "gamma\n");
    dir.layer(Layer::Domain("d")).display().to_string()
}

qmvctest!(user_over_domain_over_system, |dir: Dir| {
    let domain = three_layers(&dir);
    let all = ["-u", "-c", domain.as_str()];
    assert!(subject_met(&dir, &all, "gamma"));
    assert!(!subject_met(&dir, &all, "beta"));
    assert!(!subject_met(&dir, &all, "alpha"));
    let domain_only = ["-c", domain.as_str()];
    assert!(subject_met(&dir, &domain_only, "beta"));
    assert!(!subject_met(&dir, &domain_only, "alpha"));
    assert!(!subject_met(&dir, &domain_only, "gamma"));
    assert!(subject_met(&dir, &["-u"], "gamma"));
    assert!(!subject_met(&dir, &["-u"], "alpha"));
    assert!(subject_met(&dir, &[], "alpha"));
    assert!(!subject_met(&dir, &[], "gamma"));
});

qmvctest!(each_file_from_its_own_layer, |dir: Dir| {
    // filters only in the system layer, badsubjects only in the user's.
    dir.filters("badsubject ; bounce ; ; ;\n");
    dir.control(Layer::User, "badsubjects", "gamma\n");
    let out = dir.run(&["-u"], &Mail::new().subject("gamma").bytes());
    out.assert_code(100);
});

qmvctest!(built_in_defaults_without_any_file, |dir: Dir| {
    // The built-in filters block badfilename with the built-in globs.
    dir.run(&[], &exe_message()).assert_code(99);
    assert_eq!(dir.last_log(Layer::System).result(), "badfilename");
    dir.run(&["-u"], &exe_message()).assert_code(99);
    dir.run(&[], &Mail::new().bytes()).assert_code(0);
});

qmvctest!(empty_user_file_disables_system_one, |dir: Dir| {
    dir.filters("badfilename ; block ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.exe\n");
    dir.control(Layer::User, "badfilenames", "");
    dir.run(&["-u"], &exe_message()).assert_code(0);
    dir.run(&[], &exe_message()).assert_code(99);
});

qmvctest!(empty_filters_evaluates_nothing, |dir: Dir| {
    dir.filters("# nothing\n");
    dir.run(&[], &exe_message()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).result(), "clear");
});

qmvctest!(missing_file_falls_back_to_the_next_layer, |dir: Dir| {
    dir.filters("badfilename ; bounce ; ; ;\n");
    dir.control(Layer::System, "badfilenames", "*.pdf\n");
    // The domain layer exists but has no badfilenames: system applies.
    dir.control(Layer::Domain("d"), "badsubjects", "x\n");
    let domain = dir.layer(Layer::Domain("d")).display().to_string();
    let pdf = Mail::new()
        .mixed(vec![Part::attachment("a.pdf", "application/pdf", b"%PDF")])
        .bytes();
    dir.run(&["-u", "-c", &domain], &pdf).assert_code(100);
    dir.run(&["-u", "-c", &domain], &exe_message()).assert_code(0);
});

qmvctest!(logs_go_to_the_most_specific_layer, |dir: Dir| {
    let domain = three_layers(&dir);
    let msg = Mail::new().bytes();
    dir.run(&[], &msg).assert_code(0);
    assert_eq!(dir.log(Layer::System).len(), 1);
    dir.run(&["-c", &domain], &msg).assert_code(0);
    assert_eq!(dir.log(Layer::Domain("d")).len(), 1);
    assert_eq!(dir.log(Layer::System).len(), 1);
    dir.run(&["-u", "-c", &domain], &msg).assert_code(0);
    dir.run(&["-u"], &msg).assert_code(0);
    assert_eq!(dir.log(Layer::User).len(), 2);
    assert_eq!(dir.log(Layer::Domain("d")).len(), 1);
    assert_eq!(dir.log(Layer::System).len(), 1);
});

qmvctest!(state_is_private, |dir: Dir| {
    dir.filters("badsubject ; keep ; ; ;\nerrormail ; inspect ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "gamma\n");
    dir.control(Layer::System, "mailheaders", "to=required\n");
    let msg = Mail::new().without("To").subject("gamma").bytes();
    dir.run(&["-u"], &msg).assert_code(99);
    let user = dir.layer(Layer::User);
    for sub in ["log", "save", "save/policy", "save/policy/new", "inspect"] {
        assert_eq!(mode(&user.join(sub)), 0o700, "{sub}");
    }
    for file in ["log/qmvc.log", "log/qmvc.rep"] {
        assert_eq!(mode(&user.join(file)), 0o600, "{file}");
    }
    let kept = crate::util::files_in(&user.join("save/policy/new"));
    assert_eq!(mode(&kept[0]), 0o600);
    let inspect = crate::util::entries_in(&user.join("inspect"));
    assert_eq!(mode(&inspect[0]), 0o700);
    for file in crate::util::files_in(&inspect[0]) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert!(!dir.layer(Layer::System).join("log").exists());
});

dotqmailtest!(group_writable_control_file_defers, |dir: Dir| {
    let path = dir.filters("badfilename ; block ; ; ;\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
    let msg = dir.message(&exe_message());
    let delivery = dir.deliver("|qmvc\n./Maildir/\n", &msg);
    let Outcome::Deferred(reason) = &delivery.outcome else {
        panic!("not deferred: {delivery:?}");
    };
    assert!(reason.contains("writable"), "{reason}");
    assert!(dir.maildir().is_empty());
});

qmvctest!(world_writable_user_control_file_defers, |dir: Dir| {
    let path = dir.control(Layer::User, "badsubjects", "x\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o646)).unwrap();
    dir.filters("badsubject ; block ; ; ;\n");
    let out = dir.run(&["-u"], &Mail::new().bytes());
    out.assert_code(111);
    assert!(out.reason().contains("writable"), "{}", out.describe());
});

qmvctest!(directory_as_control_file_defers, |dir: Dir| {
    fs::create_dir_all(dir.layer(Layer::System).join("control/filters"))
        .unwrap();
    dir.run(&[], &Mail::new().bytes()).assert_code(111);
});

qmvctest!(a_missing_domain_layer_defers, |dir: Dir| {
    // A typo in `-c DIR` must not start an empty profile that passes
    // everything, nor create the directory.
    let typo = dir.root().join("domains/exmaple.com");
    let out = dir.run(&["-c", typo.to_str().unwrap()], &Mail::new().bytes());
    out.assert_code(111);
    assert!(out.reason().contains("exmaple.com"), "{}", out.describe());
    assert!(!typo.exists(), "the layer was created");
});

/// Sets the mode of `path`.
fn chmod(path: &std::path::Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `args` on a message that the layers' badsubjects block and
/// asserts a deferral whose reason names `refused` and says `fix`.
fn refused(dir: &Dir, args: &[&str], refused: &std::path::Path, fix: &str) {
    let out = dir.run(args, &Mail::new().subject("beta gamma").bytes());
    out.assert_code(111);
    let reason = out.reason();
    assert!(
        reason.starts_with(&format!("qmvc: {}: ", refused.display())),
        "{}",
        out.describe()
    );
    assert!(reason.contains(fix), "{}", out.describe());
    assert!(reason.ends_with("(#4.7.0)"), "one status code: {reason}");
}

qmvctest!(a_domain_layer_others_can_write_defers, |dir: Dir| {
    // Anyone who can add a file to a layer can name a command qmvc
    // runs as the delivering user (SPEC 9).
    let domain_text = three_layers(&dir);
    let domain = dir.layer(Layer::Domain("d"));
    let control = domain.join("control");
    let args = ["-c", domain_text.as_str()];
    assert!(subject_met(&dir, &args, "beta"));

    chmod(&control, 0o1777);
    refused(&dir, &args, &control, "chmod go-w");
    chmod(&control, 0o775);
    refused(&dir, &args, &control, "chmod go-w");
    chmod(&control, 0o755);
    std::os::unix::fs::chown(&control, Some(65534), None).unwrap();
    refused(&dir, &args, &control, "chown root");
    std::os::unix::fs::chown(&control, Some(0), None).unwrap();
    assert!(subject_met(&dir, &args, "beta"));

    // The layer directory itself, and a directory read below control/.
    chmod(&domain, 0o777);
    refused(&dir, &args, &domain, "chmod go-w");
    chmod(&domain, 0o755);
    let engines = control.join("scanners.d");
    fs::create_dir_all(&engines).unwrap();
    dir.control(Layer::Domain("d"), "filters", "virusmail ; block ; ; ;\n");
    dir.control(Layer::Domain("d"), "scanners", "clamd ; C ; ClamAV ;\n");
    chmod(&engines, 0o777);
    refused(&dir, &args, &engines, "chmod go-w");

    // The system layer is held to the same rule.
    let system = dir.layer(Layer::System).join("control");
    chmod(&system, 0o777);
    refused(&dir, &[], &system, "chmod go-w");
});

qmvctest!(the_users_own_layer_passes_but_not_a_writable_one, |dir: Dir| {
    // The test runs as root: a -u layer owned by root is the user's own.
    three_layers(&dir);
    let user = dir.layer(Layer::User);
    let control = user.join("control");
    assert!(subject_met(&dir, &["-u"], "gamma"));
    // Writable by others is never the user's own business.
    chmod(&control, 0o777);
    refused(&dir, &["-u"], &control, "chmod go-w");
    chmod(&control, 0o755);
    // Another user's layer is not the user's own.
    std::os::unix::fs::chown(&user, Some(65534), None).unwrap();
    refused(&dir, &["-u"], &user, "chown root");
    std::os::unix::fs::chown(&user, Some(0), None).unwrap();
    // Lint says it too, as one more problem.
    chmod(&control, 0o777);
    let out = dir.qmvc(&["-u", "-L"]).run();
    assert!(
        out.stdout.contains(&format!("{}:0: ", control.display())),
        "{}",
        out.describe()
    );
});
