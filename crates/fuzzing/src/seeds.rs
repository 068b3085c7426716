/*!
The seeds of every target, from what the repository holds already: the
test messages and the shared corpus (`../shared/corpus/`, when it is
there), the built-in control files and engine definitions, qmvc.log
lines and qmvc.rep documents written by the real writers about those
messages, the real RAR archives of `tests/data/rar/`, and the small
hand-made inputs committed under `fuzz/seeds/TARGET/` (replies,
envelopes, archives).

`scripts/fuzz` writes them into `target/fuzz-corpus/TARGET/`
(`cargo run -p qmvc-fuzzing --example seeds`) as the fuzzer's starting
corpus; `tests/seeds.rs` replays them through the targets.
*/

use std::fs;
use std::path::Path;

/// The files directly in `dir` (sorted; none when it is not there), as
/// (name, bytes).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            fs::read(e.path()).ok().map(|bytes| (name, bytes))
        })
        .collect();
    found.sort();
    found
}

/// The test messages: `tests/data/` and the shared corpus.
fn messages(repo: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = files(&repo.join("tests/data"));
    let corpus = files(&repo.join("../shared/corpus"));
    found.extend(corpus.into_iter().filter(|(n, _)| n.ends_with(".eml")));
    found
}

/// The control files `dir` holds, as the `control` target takes them:
/// `NAME` LF `TEXT`.
fn controls(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    files(dir)
        .into_iter()
        .map(|(name, text)| {
            let mut seed = format!("{name}\n").into_bytes();
            seed.extend(text);
            (format!("{prefix}{name}"), seed)
        })
        .collect()
}

/// A RAR 5 archive of `names`, stored, as the RAR 5 format lays it out
/// (a block: CRC32, size, type, flags, then its fields); the CRCs are
/// left zero, which qmvc's reader does not check.
fn rar5(names: &[&str]) -> Vec<u8> {
    fn block(kind: u8, fields: &[u8], data: &[u8]) -> Vec<u8> {
        // Type, flags (2: a data area follows), data size, fields.
        let mut head = vec![kind, if data.is_empty() { 0 } else { 2 }];
        if !data.is_empty() {
            head.push(u8::try_from(data.len()).unwrap_or(0));
        }
        head.extend(fields);
        let mut out = vec![0, 0, 0, 0, u8::try_from(head.len()).unwrap_or(0)];
        out.extend(head);
        out.extend(data);
        out
    }
    let mut out = b"Rar!\x1a\x07\x01\x00".to_vec();
    out.extend(block(1, &[0], &[]));
    for name in names {
        // File flags, unpacked size, attributes, method, host OS, name.
        let mut fields = vec![0, 4, 0x24, 0, 1];
        fields.push(u8::try_from(name.len()).unwrap_or(0));
        fields.extend(name.as_bytes());
        out.extend(block(2, &fields, b"data"));
    }
    out.extend(block(5, &[0], &[]));
    out
}

/// The real RAR archives of the tests (`tests/data/rar/`).
fn real_rars(repo: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = files(&repo.join("tests/data/rar"));
    found.retain(|(name, _)| name.ends_with(".rar"));
    found
}

/// The seeds of `target` (a name of [`crate::TARGETS`]), from the
/// repository at `repo`, as (name, bytes).
pub fn seeds(target: &str, repo: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = files(&repo.join("fuzz/seeds").join(target));
    match target {
        "message" => found.extend(messages(repo)),
        "control" => {
            found.extend(controls(&repo.join("control-defaults"), ""));
            let profile = repo.join("../shared/corpus/profile");
            found.extend(controls(&profile, "corpus-"));
        }
        "definition" => {
            found.extend(files(&repo.join("control-defaults/scanners.d")));
        }
        "log_line" | "rep" => {
            for (name, bytes) in messages(repo) {
                let Some(rendered) = crate::render(&bytes) else {
                    continue;
                };
                let text = match target {
                    "rep" => rendered.rep,
                    _ => rendered.log_line + "\n",
                };
                found.push((name, text.into_bytes()));
            }
        }
        "archive_rar" => {
            // Real archives made by rar (RAR 4 and 5, encrypted members
            // and headers) and a stored one whose member is read.
            found.extend(real_rars(repo));
            found.push(("two.rar".into(), rar5(&["a.txt", "bin/b.exe"])));
        }
        "archive" => found.extend(real_rars(repo)),
        _ => {}
    }
    found
}
