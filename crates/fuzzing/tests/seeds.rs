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
