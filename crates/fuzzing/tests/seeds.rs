//! Every fuzz target's seeds replayed through its function: the targets
//! keep compiling and no seed panics, without libFuzzer or nightly Rust
//! (scripts/fuzz runs the fuzzer itself).

use std::path::Path;
use std::time::{Duration, Instant};

/// The repository (this crate is `crates/fuzzing`).
fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// What scripts/fuzz passes as `-timeout`: a seed slower than this
/// would be reported as a hang by the fuzzer.
const TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn every_target_has_a_fuzz_target_file() {
    for (name, _) in qmvc_fuzzing::TARGETS {
        let file = repo().join(format!("fuzz/fuzz_targets/{name}.rs"));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains(&format!("qmvc_fuzzing::{name}(")), "{name}");
        let manifest = std::fs::read_to_string(repo().join("fuzz/Cargo.toml"))
            .expect("fuzz/Cargo.toml");
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{name}");
    }
}

#[test]
fn seeds_replay_cleanly() {
    for (name, target) in qmvc_fuzzing::TARGETS {
        let seeds = qmvc_fuzzing::seeds(name, repo());
        assert!(!seeds.is_empty(), "target {name} has no seeds");
        for (seed, bytes) in &seeds {
            let started = Instant::now();
            target(bytes);
            let took = started.elapsed();
            assert!(took < TIMEOUT, "{name}/{seed} took {took:?}");
        }
    }
}

/// The pure entry points the targets call read what they are given: a
/// seed that is a good reply or file gives its verdict or its settings,
/// not only "no panic".
#[test]
fn entry_points_read_good_input() {
    let seed = |target: &str, name: &str| {
        let path = repo().join("fuzz/seeds").join(target).join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
    };
    let spam = qmvc_scanners::spamd::read_reply(&seed("spamd_reply", "spam"))
        .expect("a spamd verdict");
    assert!(spam.spam && spam.score_text == "1000.0", "{spam:?}");
    assert_eq!(spam.symbols, ["GTUBE", "NO_RECEIVED", "NO_RELAYS"]);
    let error =
        qmvc_scanners::spamd::read_reply(&seed("spamd_reply", "error"));
    assert!(error.is_err_and(|e| e.starts_with("spamd: 76 ")));
    for name in ["ham", "chunked"] {
        let ham =
            qmvc_scanners::rspamd::read_reply(&seed("rspamd_reply", name))
                .expect("an rspamd verdict");
        assert!(!ham.spam && ham.score_text == "-0.5", "{name}: {ham:?}");
    }
    let reject =
        qmvc_scanners::rspamd::read_reply(&seed("rspamd_reply", "reject"))
            .expect("an rspamd verdict");
    assert!(reject.spam, "{reject:?}");
    let cut = qmvc_scanners::rspamd::read_reply(b"HTTP/1.1 200 OK\r\n");
    assert!(cut.is_err(), "{cut:?}");

    let layers =
        qmvc_profile::Layers::new("/nonexistent/qmvc-fuzz".into(), None, None);
    let filters = qmvc_profile::Control::named("filters").expect("filters");
    let text = "badsubject ; block ; ; ;\nnonsense ; block ; ; ;\n";
    let (profile, problems) =
        qmvc_profile::Profile::parse_control(&layers, filters, text)
            .expect("filters parse");
    assert_eq!(profile.filters.len(), 1);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].to_string().starts_with("control/filters:2:"));
    let scanners = qmvc_profile::Control::named("scanners").expect("scanners");
    let (profile, problems) = qmvc_profile::Profile::parse_control(
        &layers,
        scanners,
        "clamd ; C ; ClamAV daemon ;\n",
    )
    .expect("scanners parse");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(profile.scanners.len(), 1);
}
