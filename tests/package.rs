/*!
The Debian package (`scripts/deb --prebuilt`, cargo-deb) of the programs
this test run built: its control fields and contents, then a real
`dpkg --root` install into a private root, where the package's postinst
makes the system layer with the shipped `layer` script (owners and modes
of qmvc(8) FILES), the installed qmvc lints it clean and examines a
message with it, a reinstall keeps a changed control file, and removing
or purging the package leaves the layer (kept mail and logs).
*/

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install::{assert_layer, assert_owned};
use crate::util::{missing, run_child, Dir, Output, PROGRAMS};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false)
}

/// Builds the package into `out` and returns its path.
fn build(out: &Path) -> PathBuf {
    let mut cmd = Command::new(Path::new(MANIFEST).join("scripts/deb"));
    cmd.arg("--prebuilt").arg("--output").arg(out).current_dir(MANIFEST);
    let built = run_child(cmd);
    built.assert_code(0);
    let deb = PathBuf::from(built.stdout.trim());
    assert!(deb.is_file(), "{}", built.describe());
    deb
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let mut cmd = Command::new("dpkg-deb");
    cmd.args(args).arg(deb);
    let out = run_child(cmd);
    out.assert_code(0);
    out.stdout
}

/// `dpkg --root ROOT` with the maintainer scripts run outside a chroot
/// (the private root has no shell), the delivery user `nobody`.
fn dpkg(root: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("dpkg");
    cmd.arg(format!("--root={}", root.display()))
        .args(["--force-script-chrootless", "--force-depends"])
        .args(args)
        .env("QMVC_USER", "nobody");
    run_child(cmd)
}

qmvctest!(debian_package_installs_with_dpkg, |dir: Dir| {
    for (tool, arg, package) in [
        ("cargo-deb", "--version", "cargo-deb (cargo install cargo-deb)"),
        ("dpkg-deb", "--version", "dpkg-deb (dpkg)"),
        ("dpkg", "--version", "dpkg"),
    ] {
        if !have(tool, arg) {
            missing(package);
            return;
        }
    }
    let deb = build(&dir.path("deb"));

    let fields = dpkg_deb(&["-f"], &deb);
    for want in ["Package: qmvc\n", "Section: mail\n", "Priority: optional\n"]
    {
        assert!(fields.contains(want), "{want:?} in\n{fields}");
    }
    // Built with cargo's default (dynamic) linking: $auto found libc.
    assert!(fields.contains("Depends: libc6"), "{fields}");

    let contents = dpkg_deb(&["-c"], &deb);
    let entry = |path: &str| {
        contents
            .lines()
            .find(|line| line.ends_with(&format!(" ./{path}")))
            .unwrap_or_else(|| panic!("{path} not in\n{contents}"))
            .to_string()
    };
    for p in PROGRAMS {
        let line = entry(&format!("usr/bin/{p}"));
        assert!(line.starts_with("-rwxr-xr-x 0/0 "), "{line}");
    }
    for page in fs::read_dir(Path::new(MANIFEST).join("man")).unwrap() {
        let name = page.unwrap().file_name().into_string().unwrap();
        let section = name.rsplit('.').next().unwrap();
        entry(&format!("usr/share/man/man{section}/{name}.gz"));
    }
    assert!(entry("usr/share/qmvc/layer").starts_with("-rwxr-xr-x 0/0 "));
    entry("usr/share/qmvc/control-defaults/filters");
    entry("usr/share/qmvc/control-defaults/scanners.d/clamd.yaml");
    entry("usr/share/qmvc/templates/en/notifysender.hbs");
    entry("usr/share/doc/qmvc/copyright");
    // The layer is the postinst's to make, not a packaged file (dpkg
    // would replace an administrator's control files on upgrade).
    assert!(!contents.contains("./var/"), "{contents}");

    // A real install into a private root.
    let root = dir.path("root");
    for sub in ["info", "updates", "triggers"] {
        fs::create_dir_all(root.join("var/lib/dpkg").join(sub)).unwrap();
    }
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let deb_arg = deb.to_str().unwrap();
    let first = dpkg(&root, &["-i", deb_arg]);
    first.assert_code(0);
    for p in PROGRAMS {
        assert_owned(&root.join("usr/bin").join(p), 0, 0o755);
    }
    let layer = root.join("var/qmvc");
    let secret = assert_layer(&layer);
    let key = layer.join("control/releasekey");

    // The installed qmvc finds nothing wrong with the installed layer and
    // examines a message with it (the built-in profile's verdict on the
    // README's sample).
    let qmvc = root.join("usr/bin/qmvc");
    let run = |args: &[&str], stdin: Option<&Path>| {
        let mut cmd = Command::new(&qmvc);
        cmd.args(args)
            .env_clear()
            .envs(dir.environment())
            .env("QMVCHOME", &layer)
            .current_dir(dir.home());
        if let Some(path) = stdin {
            cmd.stdin(fs::File::open(path).unwrap());
        }
        run_child(cmd)
    };
    let lint = run(&["-L"], None);
    lint.assert_code(0);
    assert_eq!(lint.stdout, "", "{}", lint.describe());
    let sample = Path::new(MANIFEST).join("tests/data/sample.eml");
    let tried = run(&["-t"], Some(&sample));
    let built_in = {
        let mut cmd = Command::new(crate::util::QMVC);
        cmd.arg("-t")
            .env_clear()
            .envs(dir.environment())
            .env("QMVCHOME", dir.path("no-such-layer"))
            .current_dir(dir.home())
            .stdin(fs::File::open(&sample).unwrap());
        run_child(cmd)
    };
    assert_eq!(tried.code, built_in.code, "{}", tried.describe());

    // A reinstall keeps a changed control file and the key, and says so.
    let filters = layer.join("control/filters");
    let mine = "badsubject ; block ; ; ;\n";
    fs::write(&filters, mine).unwrap();
    let again = dpkg(&root, &["-i", deb_arg]);
    again.assert_code(0);
    assert_eq!(fs::read_to_string(&filters).unwrap(), mine);
    assert_eq!(fs::read_to_string(&key).unwrap(), secret);
    let said = format!("{}{}", again.stdout, again.stderr);
    assert!(
        said.contains("kept")
            && said.contains("/usr/share/qmvc/control-defaults/filters"),
        "{}",
        again.describe()
    );

    // Removing and purging take the programs and leave the layer.
    fs::write(layer.join("save/kept-message"), "kept\n").unwrap();
    dpkg(&root, &["--purge", "qmvc"]).assert_code(0);
    assert!(!root.join("usr/bin/qmvc").exists());
    assert!(!root.join("usr/share/qmvc/layer").exists());
    assert_eq!(fs::read_to_string(&filters).unwrap(), mine);
    assert!(layer.join("save/kept-message").is_file());
});
