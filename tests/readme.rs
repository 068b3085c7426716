/*!
README.md works as written: its first command, taken from the file itself
(the first line of the first fenced code block), runs verbatim with
`sh -c` in the repository root and does what the text after the block
says: it analyses the sample message, prints every part, condition and
the decision, and exits 99 (`invoice.exe` meets `badfilename`).

The command is `cargo run --release ...`, so this test runs a real cargo.
It cannot share this test run's `target/`: the release binary there is
built with the test features, and a nested build would replace it while
other tests run it (and wait on the build directory lock). The command
therefore gets its own `CARGO_TARGET_DIR`, `target/readme/` (built once,
then only checked for freshness), and otherwise the environment of a
developer's shell: nothing that cargo sets for a test run.
*/

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::ROOT;

/// The exit code README's text promises for the first command.
const README_CODE: i32 = 99;

/// The first line of the first fenced code block of README.md.
fn first_command() -> String {
    let text = fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let mut lines = text.lines().skip_while(|l| !l.starts_with("```"));
    assert!(lines.next().is_some(), "README.md has no fenced code block");
    let command = lines.next().unwrap_or("").trim().to_string();
    assert!(
        !command.is_empty() && !command.starts_with("```"),
        "README.md's first code block has no command"
    );
    command
}

#[test]
fn readme_says_what_the_first_command_exits() {
    let text = fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    assert!(
        text.contains(&format!("exits {README_CODE}")),
        "README.md no longer says the first command exits {README_CODE}"
    );
    assert!(first_command().starts_with("cargo run"), "{}", first_command());
}

#[test]
fn readme_first_command_runs_verbatim() {
    let command = first_command();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(&command).current_dir(ROOT);
    // What cargo sets for a test run is not in a developer's shell.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let set_by_cargo =
            name.starts_with("CARGO") || name.starts_with("RUST");
        if set_by_cargo && name != "CARGO_HOME" && name != "RUSTUP_HOME" {
            cmd.env_remove(&name);
        }
    }
    // The cargo running this test, should PATH not have one.
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(cargo) = std::env::var_os("CARGO") {
        if let Some(bin) = Path::new(&cargo).parent() {
            let mut dirs: Vec<_> = std::env::split_paths(&path).collect();
            dirs.push(bin.to_path_buf());
            path = std::env::join_paths(dirs).unwrap();
        }
    }
    cmd.env("PATH", path);
    cmd.env("CARGO_TARGET_DIR", format!("{ROOT}/target/readme"));
    cmd.stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let describe = format!(
        "`{command}` exited {:?}\n--- stdout ---\n{stdout}\n--- stderr \
         ---\n{stderr}",
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(README_CODE), "{describe}");
    // The analysis: the parts, the conditions, the decision.
    for needle in ["invoice.exe", "\nconditions:\n", "decision: block"] {
        assert!(stdout.contains(needle), "no {needle:?}: {describe}");
    }
    let met = stdout.lines().any(|l| {
        let words: Vec<&str> = l.split_whitespace().take(2).collect();
        words == ["badfilename", "MET"]
    });
    assert!(met, "badfilename not MET: {describe}");
}
