/*!
Conformance with the shared corpus: every message in `../shared/corpus`,
under the corpus profile (every condition with action `inspect`), must meet
exactly the conditions and errormail bits its `MANIFEST.tsv` line expects,
both in `qmvc -t` and in a real run, in its LF form and in CRLF form.

virusmail is checked with a real clamd: each run starts its own
([`Clamd`], from the `qmvc-scanners` test fixture) with a signature
database the fixture writes (the EICAR body signature, the EICAR string
built at run time), and the corpus profile gets one scanner `clamd (C)`
asking it over its unix socket. Without clamd installed the `virusmail`
expectations are left out with a loud note (the messages must still meet
nothing else they do not list); under `CI=true` that fails
([`crate::util::missing`]).

CRLF: qmail stores LF, but a message may arrive with CRLF line ends, and
every corpus attachment is base64 or text, so converting LF to CRLF changes
no decoded content (an encoding check must ignore the CR as it ignores the
LF). No corpus message is known to legitimately differ in CRLF form; if
one ever does, list it in `CRLF_DIFFERS` with the reason.

All mismatches are collected and reported at once; the `-t` output of each
is written to `target/tmp/corpus/FORM/NN-name.failed`.
*/

use std::collections::BTreeSet;
use std::fs;

use qmvc_profile::Endpoint;
use qmvc_scanners::testing::Clamd;

use crate::mail::crlf;
use crate::util::{have_clamd, Dir, Layer, CORPUS};

/// Corpus files whose expectation does not hold in CRLF form, and why.
const CRLF_DIFFERS: &[(&str, &str)] = &[];

/// What one message must meet.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expect {
    conditions: BTreeSet<String>,
    code: u32,
}

/// `(file, expectation)` for every line of MANIFEST.tsv; `virusmail`
/// left out unless `virus`.
fn manifest_with(virus: bool) -> Vec<(String, Expect)> {
    let text = fs::read_to_string(format!("{CORPUS}/MANIFEST.tsv")).unwrap();
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let file = fields.next().unwrap().to_string();
        let expect = fields.next().unwrap_or_else(|| panic!("{line}"));
        let mut conditions = BTreeSet::new();
        let mut code = 0;
        for word in expect.split_whitespace() {
            match word.split_once(':') {
                Some(("errormail", bit)) => {
                    code |= bit.parse::<u32>().unwrap();
                    conditions.insert("errormail".to_string());
                }
                Some(_) => panic!("MANIFEST: bad word {word:?}"),
                None if word == "clean" => {}
                // Only with a scanner.
                None if word == "virusmail" && !virus => {}
                None => {
                    conditions.insert(word.to_string());
                }
            }
        }
        out.push((file, Expect { conditions, code }));
    }
    out
}

/// `(file, expectation)` for every line of MANIFEST.tsv.
fn manifest() -> Vec<(String, Expect)> {
    manifest_with(true)
}

/// Starts the run's clamd in `ROOT/clamd` and names it in the system
/// layer as scanner `clamd (C)`; `None` (loudly; a failure under
/// `CI=true`) when clamd is not installed.
fn scanner(dir: &Dir) -> Option<Clamd> {
    if !have_clamd() {
        return None;
    }
    let home = dir.path("clamd");
    fs::create_dir_all(&home).unwrap();
    let clamd = Clamd::start(&home, &[]);
    let Endpoint::Unix(socket) = clamd.endpoint_unix() else {
        panic!("the test clamd has no unix socket");
    };
    dir.scanners(&[(
        "clamd",
        'C',
        &format!(
            "protocol: clamd\nendpoints:\n  - \"unix:{}\"\n\
             connect_timeout: 2\ntimeout: 20\n",
            socket.display()
        ),
    )]);
    Some(clamd)
}

/// The conditions and errormail code that `qmvc -t` reports.
fn from_test_output(stdout: &str) -> Expect {
    let mut conditions = BTreeSet::new();
    let mut code = 0;
    let section = stdout
        .split("\nconditions:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no conditions section:\n{stdout}"));
    for line in section.lines().take_while(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.get(1) != Some(&"MET") {
            continue;
        }
        conditions.insert(words[0].to_string());
        if words.get(2) == Some(&"code") {
            code = words[3].parse().unwrap();
        }
    }
    Expect { conditions, code }
}

/// Runs every corpus message (converted by `form`) and returns the
/// mismatches.
fn run_corpus(name: &str, form: fn(&[u8]) -> Vec<u8>) -> Vec<String> {
    let dir = Dir::new(name);
    let _ = fs::remove_dir_all(failed_dir(name));
    for entry in fs::read_dir(format!("{CORPUS}/profile")).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_str().unwrap();
        dir.control(Layer::System, file, &text);
    }
    let clamd = scanner(&dir);
    let mut failures = Vec::new();
    for (file, expect) in manifest_with(clamd.is_some()) {
        if name.contains("crlf")
            && CRLF_DIFFERS.iter().any(|(f, _)| *f == file)
        {
            continue;
        }
        let raw = fs::read(format!("{CORPUS}/{file}")).unwrap();
        let msg = dir.message(&form(&raw));
        let test = dir.qmvc(&["-t"]).stdin_file(&msg).run();
        let real = dir.qmvc(&[]).stdin_file(&msg).run();
        let mut problems = Vec::new();
        if test.code != 0 || real.code != 0 {
            problems.push(format!(
                "exit codes -t {} real {} (expected 0 under inspect): {}",
                test.code,
                real.code,
                real.reason()
            ));
        }
        if test.code == 0 {
            let got = from_test_output(&test.stdout);
            if got != expect {
                problems.push(format!("-t: got {got:?}"));
            }
        }
        if real.code == 0 {
            let line = dir.last_log(Layer::System);
            let got = Expect {
                conditions: line.conditions().into_iter().collect(),
                code: line.errormail(),
            };
            if got != expect {
                problems.push(format!("qmvc.log: got {got:?}"));
            }
        }
        if !problems.is_empty() {
            let failed = failed_path(name, &file);
            let _ = fs::write(&failed, test.describe());
            failures.push(format!(
                "{file} ({name}): expected {expect:?}\n    {}\n    -t \
                 output: {}",
                problems.join("\n    "),
                failed.display()
            ));
        }
    }
    failures
}

/// Where the `-t` output of a mismatching message is written:
/// `target/tmp/corpus/NAME/FILE.failed`.
fn failed_path(name: &str, file: &str) -> std::path::PathBuf {
    let dir = failed_dir(name);
    fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}.failed", file.trim_end_matches(".eml")))
}

fn failed_dir(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus").join(name)
}

#[track_caller]
fn assert_no_failures(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} corpus mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_lf() {
    assert_no_failures(run_corpus("corpus-lf", |b| b.to_vec()));
}

#[test]
fn corpus_crlf() {
    assert_no_failures(run_corpus("corpus-crlf", crlf));
}

#[test]
fn manifest_lists_every_message() {
    let listed: BTreeSet<String> =
        manifest().into_iter().map(|(file, _)| file).collect();
    let present: BTreeSet<String> = fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    assert_eq!(listed, present);
}
