/*!
The `|COMMAND ARGS[:RC]` lines of badbodytexts: the exit code that meets
the condition, the message on the command's standard input, arguments
passed literally (no shell), the time-out, a missing program (111), and the
first met command ending the evaluation.
*/

use std::fs;
use std::time::{Duration, Instant};

use crate::mail::Mail;
use crate::util::{Dir, Layer};

fn commands(dir: &Dir, lines: &str) {
    dir.filters("badbodytext ; block ; ; ;\n");
    dir.control(Layer::System, "badbodytexts", lines);
}

fn message() -> Vec<u8> {
    Mail::new().text("An ordinary message.\n").bytes()
}

qmvctest!(exit_code_1_with_rc_1_meets, |dir: Dir| {
    let script = dir.script("check", "cat >/dev/null\nexit 1");
    commands(&dir, &format!("|{}:1\n", script.display()));
    dir.run(&[], &message()).assert_code(99);
    assert_eq!(dir.last_log(Layer::System).result(), "badbodytext");
});

qmvctest!(exit_code_0_meets_by_default, |dir: Dir| {
    let script = dir.script("check", "exit 0");
    commands(&dir, &format!("|{}\n", script.display()));
    dir.run(&[], &message()).assert_code(99);
});

qmvctest!(other_exit_code_does_not_meet, |dir: Dir| {
    let script = dir.script("check", "exit 1");
    commands(&dir, &format!("|{}\n", script.display()));
    dir.run(&[], &message()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).result(), "clear");
});

qmvctest!(message_arrives_on_stdin, |dir: Dir| {
    let copy = dir.path("copy.eml");
    let script = dir.script("save", "cat >\"$1\"\nexit 1");
    commands(&dir, &format!("|{} {}\n", script.display(), copy.display()));
    let bytes =
        Mail::new().text(&"a long line of text\n".repeat(20_000)).bytes();
    dir.run(&[], &bytes).assert_code(0);
    assert_eq!(fs::read(&copy).unwrap(), bytes);
});

qmvctest!(arguments_are_not_shell_expanded, |dir: Dir| {
    let out = dir.path("args.txt");
    let script = dir.script(
        "args",
        &format!("printf '%s\\n' \"$@\" >{}\nexit 1", out.display()),
    );
    commands(&dir, &format!("|{} $HOME;rm * `id` a\n", script.display()));
    dir.run(&[], &message()).assert_code(0);
    let args = fs::read_to_string(&out).unwrap();
    assert_eq!(args, "$HOME;rm\n*\n`id`\na\n");
});

qmvctest!(command_sees_the_qmail_environment, |dir: Dir| {
    let out = dir.path("env.txt");
    let script = dir.script(
        "env",
        &format!(
            "printf '%s %s' \"$SENDER\" \"$RECIPIENT\" >{}",
            out.display()
        ),
    );
    commands(&dir, &format!("|{}:1\n", script.display()));
    dir.run(&[], &message()).assert_code(0);
    let seen = fs::read_to_string(&out).unwrap();
    assert_eq!(seen, "alice@example.net bob@example.org");
});

qmvctest!(command_found_in_path, |dir: Dir| {
    let script = dir.script("qmvc-test-check", "exit 3");
    let bin = script.parent().unwrap().display().to_string();
    let path = format!("{bin}:{}", dir.environment()["PATH"]);
    dir.set_env("PATH", &path);
    commands(&dir, "|qmvc-test-check --strict:3\n");
    dir.run(&[], &message()).assert_code(99);
});

qmvctest!(timed_out_command_is_killed_and_not_met, |dir: Dir| {
    let script = dir.script("slow", "sleep 30\nexit 0");
    dir.filters("badbodytext ; block ; ; ;\nbadsubject ; block ; ; ;\n");
    dir.control(
        Layer::System,
        "badbodytexts",
        &format!("|{}\n", script.display()),
    );
    dir.control(Layer::System, "badsubjects", "make money fast\n");
    dir.control(Layer::System, "limits", "commandtimeout=1\n");
    let started = Instant::now();
    let out = dir.run(&[], &Mail::new().subject("make money fast").bytes());
    let elapsed = started.elapsed();
    out.assert_code(99);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(dir.last_log(Layer::System).result(), "badsubject");
    let reports = dir.reports(Layer::System);
    let skipped = reports[0]["skipped"].as_sequence().unwrap_or_else(|| {
        panic!("no skipped list in qmvc.rep: {:?}", reports[0])
    });
    assert!(
        skipped.iter().any(|s| s.as_str().unwrap_or("").contains("timed out")),
        "{skipped:?}"
    );
});

qmvctest!(timed_out_command_alone_passes, |dir: Dir| {
    let script = dir.script("slow", "sleep 30");
    commands(&dir, &format!("|{}\n", script.display()));
    dir.control(Layer::System, "limits", "commandtimeout=1\n");
    let started = Instant::now();
    dir.run(&[], &message()).assert_code(0);
    assert!(started.elapsed() < Duration::from_secs(5));
});

qmvctest!(missing_command_defers, |dir: Dir| {
    let missing = dir.path("bin/no-such-program");
    commands(&dir, &format!("|{}\n", missing.display()));
    let out = dir.run(&[], &message());
    out.assert_code(111);
    assert!(!out.reason().is_empty(), "{}", out.describe());
});

qmvctest!(first_met_command_ends_the_evaluation, |dir: Dir| {
    let first = dir.path("first.ran");
    let second = dir.path("second.ran");
    let third = dir.path("third.ran");
    let a = dir.script("a", &format!("touch {}\nexit 1", first.display()));
    let b = dir.script("b", &format!("touch {}\nexit 0", second.display()));
    let c = dir.script("c", &format!("touch {}\nexit 0", third.display()));
    commands(
        &dir,
        &format!("|{}\n|{}\n|{}\n", a.display(), b.display(), c.display()),
    );
    dir.run(&[], &message()).assert_code(99);
    assert!(first.exists(), "the first command did not run");
    assert!(second.exists(), "the second command did not run");
    assert!(!third.exists(), "a command ran after the first met one");
});

qmvctest!(test_mode_runs_no_command, |dir: Dir| {
    let ran = dir.path("ran");
    let script = dir.script("mark", &format!("touch {}", ran.display()));
    commands(&dir, &format!("|{}\n", script.display()));
    let out = dir.run(&["-t"], &message());
    assert!(!ran.exists(), "-t ran a command");
    assert!(out.stdout.contains("not run in test mode"), "{}", out.stdout);
});

qmvctest!(goodmail_leaves_reactions_out_unless_met_by_command, |dir: Dir| {
    dir.injector();
    let script = dir.script("check", "exit 0");
    dir.filters(
        "badbodytext ; block ; notifyrecipient ; goodmail ;\n\
         badsubject ; block ; ; ;\n",
    );
    dir.control(
        Layer::System,
        "badbodytexts",
        &format!("|{}\n", script.display()),
    );
    dir.control(Layer::System, "badsubjects", "make money fast\n");
    // Met through a command and alone: the reaction is due.
    dir.run(&[], &message()).assert_code(99);
    // Another condition met too: goodmail leaves the reaction out.
    dir.run(&[], &Mail::new().subject("make money fast").bytes())
        .assert_code(99);
    let reports = dir.reports(Layer::System);
    let status = |doc: &serde_yaml::Value| {
        let conditions = doc["conditions"].as_sequence().unwrap();
        let body = conditions
            .iter()
            .find(|c| c["condition"].as_str() == Some("badbodytext"))
            .unwrap();
        body["reactions"][0]["status"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(status(&reports[0]), "due to bob@example.org");
    assert_eq!(status(&reports[1]), "left out (goodmail)");
    assert_eq!(dir.injected().len(), 1, "goodmail left out sent anyway");
});
