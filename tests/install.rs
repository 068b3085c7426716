/*!
`scripts/install` into a `DESTDIR`, reusing the binaries this test run
built (`QMVC_PREBUILT`): the programs, man pages and system layer with
the owners and modes of qmvc(8) (FILES); the installed qmvc lints the
installed layer clean; a second run changes nothing; a changed control
file survives a reinstall.
*/

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{run_child, Dir, Output, PROGRAMS, QMVC};

const PREFIX: &str = "/usr";

fn install(dir: &Dir, dest: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install");
    let mut cmd = Command::new(script);
    cmd.arg(PREFIX)
        .env("DESTDIR", dest)
        .env("QMVC_USER", "nobody")
        .env("QMVC_PREBUILT", Path::new(QMVC).parent().unwrap())
        .current_dir(dir.root());
    let out = run_child(cmd);
    out.assert_code(0);
    out
}

/// Every path under `root` with its mode, owner, size, mtime and
/// content (for files).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u32, u32, u64, i64, Vec<u8>)> {
    let mut all = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        let content =
            if meta.is_file() { fs::read(&path).unwrap() } else { Vec::new() };
        if meta.is_dir() {
            for entry in fs::read_dir(&path).unwrap() {
                todo.push(entry.unwrap().path());
            }
        }
        all.insert(
            path,
            (meta.mode(), meta.uid(), meta.size(), meta.mtime(), content),
        );
    }
    all
}

#[track_caller]
pub(crate) fn assert_owned(path: &Path, uid: u32, mode: u32) {
    let meta = fs::symlink_metadata(path).unwrap();
    assert_eq!(
        (meta.uid(), meta.mode() & 0o7777),
        (uid, mode),
        "{} (uid, mode)",
        path.display()
    );
}

/// Checks the system layer `layer` as scripts/layer makes it (qmvc(8)
/// FILES) for the delivery user `nobody`; returns the release key's text.
#[track_caller]
pub(crate) fn assert_layer(layer: &Path) -> String {
    for sub in ["", "control", "control/scanners.d", "tpl", "tpl/en"] {
        assert_owned(&layer.join(sub), 0, 0o755);
    }
    assert_owned(&layer.join("control/filters"), 0, 0o644);
    assert_owned(&layer.join("tpl/en/notifysender.hbs"), 0, 0o644);
    assert_owned(&layer.join("tpl/de/notifysender.hbs"), 0, 0o644);
    for sub in ["log", "tmp", "save", "inspect"] {
        assert_owned(&layer.join(sub), 65534, 0o700);
    }
    let key = layer.join("control/releasekey");
    // The delivery user reads it to honour a release mark.
    assert_owned(&key, 65534, 0o600);
    let text = fs::read_to_string(&key).unwrap();
    let hex = text.strip_suffix('\n').unwrap();
    assert_eq!(hex.len(), 64, "{text:?}");
    assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{text:?}");
    text
}

qmvctest!(install_into_destdir_twice, |dir: Dir| {
    let dest = dir.path("dest");
    install(&dir, &dest);
    let bin = dest.join("usr/bin");
    for p in PROGRAMS {
        assert_owned(&bin.join(p), 0, 0o755);
    }
    assert_owned(&dest.join("usr/share/man/man8/qmvc.8"), 0, 0o644);
    assert_owned(&dest.join("usr/share/man/man5/qmvc-control.5"), 0, 0o644);
    let layer = dest.join("var/qmvc");
    let text = assert_layer(&layer);
    let key = layer.join("control/releasekey");
    assert_eq!(
        fs::read(layer.join("control/filters")).unwrap(),
        fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("control-defaults/filters")
        )
        .unwrap()
    );

    // The installed qmvc finds nothing wrong with the installed layer.
    let qmvc = bin.join("qmvc");
    let lint = |dir: &Dir| {
        let mut cmd = Command::new(&qmvc);
        cmd.arg("-L")
            .env_clear()
            .envs(dir.environment())
            .env("QMVCHOME", &layer)
            .current_dir(dir.home());
        run_child(cmd)
    };
    let out = lint(&dir);
    out.assert_code(0);
    assert_eq!(out.stdout, "", "{}", out.describe());

    // Again: nothing changes, nothing to say.
    let before = snapshot(&dest);
    let again = install(&dir, &dest);
    assert_eq!(again.stdout, "", "{}", again.describe());
    assert_eq!(again.stderr, "", "{}", again.describe());
    assert!(before == snapshot(&dest), "the second run changed the tree");

    // A changed control file (and the key) survive a reinstall, with a
    // note naming the shipped one.
    let filters = layer.join("control/filters");
    let mine = "badsubject ; block ; ; ;\n";
    fs::write(&filters, mine).unwrap();
    fs::write(layer.join("control/badsubjects"), "spam\n").unwrap();
    let third = install(&dir, &dest);
    assert_eq!(fs::read_to_string(&filters).unwrap(), mine);
    assert_eq!(fs::read_to_string(&key).unwrap(), text);
    assert!(
        third.stderr.contains("kept")
            && third
                .stderr
                .contains("/usr/share/qmvc/control-defaults/filters"),
        "{}",
        third.describe()
    );
    assert!(dest.join("usr/share/qmvc/control-defaults/filters").is_file());
    lint(&dir).assert_code(0);
});
