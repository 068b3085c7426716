//! Writes the seeds of every fuzz target (qmvc_fuzzing::seeds) into
//! `DIR/TARGET/` for scripts/fuzz: `seeds REPO DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(repo), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: seeds REPO DIR");
        return ExitCode::from(100);
    };
    for (target, _) in qmvc_fuzzing::TARGETS {
        let dir = out.join(target);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("seeds: {}: {e}", dir.display());
            return ExitCode::from(111);
        }
        let seeds = qmvc_fuzzing::seeds(target, &repo);
        for (name, bytes) in &seeds {
            // Seed names come from the repository's own files; a name
            // with a slash would leave the directory, so it is flattened.
            let path = dir.join(format!("seed-{}", name.replace('/', "_")));
            if let Err(e) = std::fs::write(&path, bytes) {
                eprintln!("seeds: {}: {e}", path.display());
                return ExitCode::from(111);
            }
        }
        println!("{target}: {} seeds", seeds.len());
    }
    ExitCode::SUCCESS
}
