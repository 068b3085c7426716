/*!
The control file `syslog`: each qmvc.log line also goes to `/dev/log` as
one RFC 3164 datagram; `-t` sends nothing; without a listener the mail
is delivered at once, with a note on standard error.

The real path `/dev/log` is tested: qmvc runs in a private mount
namespace (`unshare -m`, root) whose `/dev` is a fresh tmpfs holding
links to the real devices and, when the test wants one, the test's own
datagram socket bind-mounted at `/dev/log`. The machine's `/dev` is
never touched.
*/

use std::fs::File;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::mail::Mail;
use crate::util::{assert_lint, run_child, Dir, Layer, Output, QMVC};

/// Sets up the private `/dev` (arguments: the directory to keep the
/// real `/dev` under, the socket for `/dev/log` or empty for none), then
/// runs the rest of the arguments.
const PRIVATE_DEV: &str = r#"set -e
old=$1 sock=$2
shift 2
mount --rbind /dev "$old"
mount -t tmpfs qmvc-test /dev
for f in "$old"/*; do
    [ "${f##*/}" = log ] || ln -s "$f" /dev/
done
if [ -n "$sock" ]; then
    : > /dev/log
    mount --bind "$sock" /dev/log
fi
exec "$@"
"#;

/// `program` with `args` in `HOME` with the qmail environment, its
/// `/dev/log` being `socket` (none when `None`).
fn with_dev_log(
    dir: &Dir,
    socket: Option<&Path>,
    program: &str,
    args: &[&str],
) -> Command {
    let old = dir.path("old-dev");
    std::fs::create_dir_all(&old).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", PRIVATE_DEV, "sh"])
        .arg(&old)
        .arg(socket.map(Path::as_os_str).unwrap_or_default())
        .arg(program)
        .args(args)
        .current_dir(dir.home())
        .env_clear()
        .envs(dir.environment());
    cmd
}

/// qmvc with `args` and the message `bytes`, its `/dev/log` being
/// `socket` (none when `None`).
fn run_with_dev_log(
    dir: &Dir,
    socket: Option<&Path>,
    args: &[&str],
    bytes: &[u8],
) -> Output {
    let message = dir.message(bytes);
    let mut cmd = with_dev_log(dir, socket, QMVC, args);
    cmd.stdin(File::open(message).unwrap());
    let out = run_child(cmd);
    assert!(
        !out.stderr.contains("unshare:") && !out.stderr.contains("mount:"),
        "this test needs root and unshare -m\n{}",
        out.describe()
    );
    out
}

fn spam(dir: &Dir) -> Vec<u8> {
    dir.filters("badsubject ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "spam\n");
    Mail::new().subject("spam offer").bytes()
}

/// The datagrams waiting on `server`.
fn received(server: &UnixDatagram) -> Vec<String> {
    server.set_nonblocking(true).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = server.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

qmvctest!(each_qmvc_log_line_goes_to_dev_log, |dir: Dir| {
    let bytes = spam(&dir);
    dir.control(Layer::System, "syslog", "local3\n");
    let socket = dir.path("syslog.sock");
    let server = UnixDatagram::bind(&socket).unwrap();
    run_with_dev_log(&dir, Some(&socket), &[], &bytes).assert_code(99);
    let line = dir.last_log(Layer::System);
    let got = received(&server);
    assert_eq!(got.len(), 1, "{got:?}");
    // local3 (19) * 8 + info (6) = 158; the tabs become single spaces.
    assert!(got[0].starts_with("<158>"), "{got:?}");
    let text = line.raw.trim_end().replace('\t', " ");
    assert!(got[0].ends_with(&format!("]: {text}")), "{got:?} {text:?}");
    assert!(got[0].contains(" qmvc["), "{got:?}");
    assert!(!got[0].contains('\t'));

    // -t writes no qmvc.log line and sends nothing.
    run_with_dev_log(&dir, Some(&socket), &["-t"], &bytes).assert_code(99);
    assert_eq!(received(&server), Vec::<String>::new());

    // Without the control file: nothing either.
    std::fs::remove_file(dir.layer(Layer::System).join("control/syslog"))
        .unwrap();
    run_with_dev_log(&dir, Some(&socket), &[], &bytes).assert_code(99);
    assert_eq!(received(&server), Vec::<String>::new());
});

qmvctest!(no_listener_delivers_at_once_with_a_note, |dir: Dir| {
    dir.control(Layer::System, "syslog", "mail\n");
    let bytes = Mail::new().subject("hello").bytes();
    // A socket nobody listens on any more, then no /dev/log at all.
    let socket = dir.path("gone.sock");
    drop(UnixDatagram::bind(&socket).unwrap());
    for socket in [Some(socket.as_path()), None] {
        let out = run_with_dev_log(&dir, socket, &[], &bytes);
        out.assert_code(0);
        assert!(out.elapsed < Duration::from_secs(1), "{}", out.describe());
        assert!(out.stderr.contains("syslog"), "{}", out.describe());
        assert_eq!(dir.last_log(Layer::System).action(), "pass");
    }
});

qmvctest!(unknown_facility_is_a_lint_problem, |dir: Dir| {
    dir.control(Layer::System, "syslog", "# where\nmial\n");
    let path = dir.layer(Layer::System).join("control/syslog");
    let out = dir.qmvc(&["-L"]).run();
    assert_lint(&out, &path, Some(2), "unknown syslog facility \"mial\"");
    assert!(
        out.stdout.contains("expected mail, daemon"),
        "{}",
        out.describe()
    );
});

qmvctest!(qmvc_queue_sends_its_qmvc_log_lines_too, |dir: Dir| {
    let bytes = spam(&dir);
    dir.control(Layer::System, "syslog", "mail\n");
    let queue = dir.script("queue", "cat >/dev/null\ncat <&1 >/dev/null\n");
    dir.control(
        Layer::System,
        "qmailqueue",
        &format!("{}\n", queue.display()),
    );
    let socket = dir.path("syslog.sock");
    let server = UnixDatagram::bind(&socket).unwrap();
    let run = |bytes: &[u8]| {
        let message = dir.write("queue.msg", bytes);
        let envelope = dir
            .write("queue.env", b"Falice@example.net\0Tbob@example.org\0\0");
        let mut cmd = with_dev_log(
            &dir,
            Some(&socket),
            env!("CARGO_BIN_EXE_qmvc-queue"),
            &[],
        );
        cmd.env_remove("TCPREMOTEIP")
            .stdin(File::open(message).unwrap())
            .stdout(File::open(envelope).unwrap())
            .stderr(Stdio::piped());
        cmd.output().unwrap()
    };
    // Refused (31: no descriptor 6), then accepted: a line each.
    assert_eq!(run(&bytes).status.code(), Some(31));
    let clean = Mail::new().subject("hello").bytes();
    assert_eq!(run(&clean).status.code(), Some(0));
    let got = received(&server);
    let lines: Vec<String> =
        dir.log(Layer::System).iter().map(|l| l.raw.clone()).collect();
    assert_eq!(got.len(), 2, "{got:?} {lines:?}");
    for (datagram, line) in got.iter().zip(&lines) {
        assert!(datagram.starts_with("<22>"), "{datagram}");
        let text = line.trim_end().replace('\t', " ");
        assert!(datagram.ends_with(&format!("]: {text}")), "{datagram}");
    }
});

qmvctest!(qmvc_release_sends_its_qmvc_log_line_too, |dir: Dir| {
    dir.filters("badsubject ; keep ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "spam\n");
    dir.control(Layer::System, "syslog", "mail\n");
    let key = dir.control(
        Layer::System,
        "releasekey",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
    );
    std::fs::set_permissions(
        &key,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    dir.injector();
    let socket = dir.path("syslog.sock");
    let server = UnixDatagram::bind(&socket).unwrap();
    let bytes = Mail::new().subject("spam offer").bytes();
    run_with_dev_log(&dir, Some(&socket), &[], &bytes).assert_code(99);
    let new = dir.layer(Layer::System).join("save/policy/new");
    let kept = crate::util::files_in(&new);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let id = kept[0].file_name().unwrap().to_str().unwrap().to_owned();
    received(&server);

    let release = env!("CARGO_BIN_EXE_qmvc-release");
    let out = run_child(with_dev_log(&dir, Some(&socket), release, &[&id]));
    out.assert_code(0);
    assert_eq!(dir.injected().len(), 1, "{}", out.describe());
    let line = dir.last_log(Layer::System);
    assert_eq!(line.action(), "release");
    let got = received(&server);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("<22>"), "{got:?}");
    let text = line.raw.trim_end().replace('\t', " ");
    assert!(got[0].ends_with(&format!("]: {text}")), "{got:?} {text:?}");
});
