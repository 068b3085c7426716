/*!
A real spamd and a real rspamd for tests, set up as
`../shared/spam/README.md` describes: private configuration, no network
checks, loopback only, stopped by process id.

Each is stopped when its guard is dropped. The spamd shared by a test
binary ([`shared_spamd`]) is never dropped: a watchdog stops it when the
binary exits.
*/

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use qmvc_profile::Endpoint;

use super::{free_port, stop_daemon, wait_ready, Ready};

/// Where Debian installs spamd.
pub const SPAMD: &str = "/usr/sbin/spamd";

/// Where Debian installs rspamd.
pub const RSPAMD: &str = "/usr/bin/rspamd";

/// SpamAssassin's site configuration, whose `.pre` files load the
/// plugins (without them spamd answers but cannot scan).
const SA_SITE: &str = "/etc/spamassassin";

/// rspamd's main configuration.
const RSPAMD_CONF: &str = "/etc/rspamd/rspamd.conf";

/// The user rspamd's workers run as.
const RSPAMD_USER: &str = "_rspamd";

/// How long [`Spamd::start`] waits for `PONG` (the rules load in about
/// a second on an idle machine; this one is shared).
pub const SPAMD_START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long [`Rspamd::start`] waits for `pong` (the first start of a run
/// compiles hyperscan databases, 11–13 s on an idle machine).
pub const RSPAMD_START_TIMEOUT: Duration = Duration::from_secs(120);

/// Socket paths must stay below this length (`sun_path` is 108 bytes).
const MAX_SOCKET_PATH: usize = 100;

/// The GTUBE line: any message whose body holds it is spam to both.
pub const GTUBE: &str =
    "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// Whether spamd and SpamAssassin's rules are installed.
pub fn spamd_available() -> bool {
    executable(SPAMD)
        && Path::new(SA_SITE).is_dir()
        && Path::new("/usr/share/spamassassin").is_dir()
}

/// Whether rspamd is installed.
pub fn rspamd_available() -> bool {
    executable(RSPAMD) && Path::new(RSPAMD_CONF).is_file()
}

fn executable(path: &str) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A GTUBE message: spam.
pub fn gtube_message() -> Vec<u8> {
    format!(
        "Date: {}\nMessage-ID: <gtube@example.com>\nFrom: \
         spammer@example.com\nTo: alice@example.com\nSubject: GTUBE\n\n\
         {GTUBE}\n",
        now_rfc2822()
    )
    .into_bytes()
}

/// A short, normal business mail (Date, Message-ID, From, To, Subject,
/// no TEST-NET addresses): ham to both.
pub fn ham_message() -> Vec<u8> {
    format!(
        "Date: {}\nMessage-ID: <20261207.4711@example.com>\nFrom: \"Carol \
         Miller\" <carol@example.com>\nTo: \"Alice Smith\" \
         <alice@example.com>\nSubject: Minutes of the budget meeting\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n\
         Hello Alice,\n\nattached below are the minutes of Tuesday's budget \
         meeting.\nWe agreed to move the review of the travel expenses to \
         next week,\nand Bob will prepare the figures for the second \
         quarter.\n\nPlease let me know if I missed anything.\n\nBest \
         regards,\nCarol\n",
        now_rfc2822()
    )
    .into_bytes()
}

/// The current time as a mail Date (UTC).
fn now_rfc2822() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = now / 86400;
    let (h, m, s) = (now % 86400 / 3600, now % 3600 / 60, now % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's method).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        .get(usize::try_from(days % 7).unwrap_or(0))
        .copied()
        .unwrap_or("Thu");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
        "Nov", "Dec",
    ];
    let month = months
        .get(usize::try_from(month - 1).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!("{weekday}, {day} {month} {year} {h:02}:{m:02}:{s:02} +0000")
}

/// A command for a daemon, in a process group of its own (so that a
/// stuck daemon is killed with its children).
fn daemon_command(program: &str) -> Command {
    let mut command = Command::new(program);
    command.process_group(0);
    command
}

/// Makes `dir` traversable and readable by everybody: spamd reads its
/// configuration as `nobody`, rspamd's workers run as `_rspamd`. Panics
/// when a directory above it is closed to others: the daemon would
/// answer `PING` but fail every scan.
fn open_up(dir: &Path) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .expect("chmod 755 the daemon's directory");
    let dir = dir.canonicalize().expect("the daemon's directory");
    for above in dir.ancestors().skip(1) {
        let mode = fs::metadata(above).map(|m| m.permissions().mode());
        assert!(
            mode.is_ok_and(|m| m & 0o001 != 0),
            "{} is closed to other users: spamd and rspamd could not read \
             their configuration below it; start them in a directory \
             every user can traverse",
            above.display()
        );
    }
}

fn is_root() -> bool {
    // SAFETY: no arguments, no failure.
    unsafe { libc::geteuid() == 0 }
}

/// A running spamd; stopped when dropped.
pub struct Spamd {
    child: Option<Child>,
    socket: PathBuf,
    port: u16,
    log: PathBuf,
    // Holds the socket when the given directory is too deep for one.
    _short: Option<tempfile::TempDir>,
}

impl Spamd {
    /// Starts spamd in `dir` with a site configuration of its own
    /// (`DIR/site`: the system's `.pre` files, which load the plugins,
    /// and a `local.cf` without Bayes, RBL checks or DNS), `-L -x -m 2`,
    /// on the unix socket `DIR/spamd.sock` (or one under `/tmp` when
    /// that path is too long) and a free loopback port, logging to
    /// `DIR/spamd.log`. `dir` is made world-readable (spamd reads its
    /// configuration as `nobody`). Panics, with spamd's output, when
    /// spamd does not answer `PING`.
    pub fn start(dir: &Path) -> Spamd {
        assert!(spamd_available(), "{SPAMD} is not installed");
        open_up(dir);
        let site = dir.join("site");
        let home = dir.join("home");
        fs::create_dir_all(&site).expect("create site/");
        fs::create_dir_all(&home).expect("create home/");
        for entry in fs::read_dir(SA_SITE).expect("read /etc/spamassassin") {
            let path = entry.expect("read /etc/spamassassin").path();
            if path.extension().is_some_and(|e| e == "pre") {
                if let Some(name) = path.file_name() {
                    fs::copy(&path, site.join(name))
                        .expect("copy a .pre file");
                }
            }
        }
        fs::write(
            site.join("local.cf"),
            "use_bayes 0\nbayes_auto_learn 0\nskip_rbl_checks 1\n\
             dns_available no\n",
        )
        .expect("write local.cf");

        let mut socket = dir.join("spamd.sock");
        let mut short = None;
        if socket.as_os_str().len() >= MAX_SOCKET_PATH {
            let tmp = tempfile::Builder::new()
                .prefix("qmvc-spamd-")
                .tempdir_in("/tmp")
                .expect("a socket directory under /tmp");
            open_up(tmp.path());
            socket = tmp.path().join("spamd.sock");
            short = Some(tmp);
        }
        let log = dir.join("spamd.log");
        let out = dir.join("spamd.out");
        let mut last = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let output = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&out)
                .expect("open spamd.out");
            let errors = output.try_clone().expect("clone spamd.out");
            let child = daemon_command(SPAMD)
                .env("HOME", &home)
                .arg(format!("--siteconfigpath={}", site.display()))
                .args(["-L", "-x", "-m", "2"])
                .arg(format!("--listen={}", socket.display()))
                .arg(format!("--listen=127.0.0.1:{port}"))
                .arg("--socketmode=0666")
                .arg(format!("--pidfile={}", dir.join("spamd.pid").display()))
                .arg("-s")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(output)
                .stderr(errors)
                .spawn()
                .expect("start spamd");
            let mut spamd = Spamd {
                child: Some(child),
                socket: socket.clone(),
                port,
                log: log.clone(),
                _short: None,
            };
            let ready = spamd.wait_ready();
            if ready == Some(true) {
                spamd._short = short;
                return spamd;
            }
            spamd.stop();
            last = fs::read_to_string(&out).unwrap_or_default();
            last.push_str(&spamd.log());
            // Only a lost race for the port (exit 98) is worth another
            // try.
            if ready.is_none() {
                break;
            }
        }
        panic!("spamd did not start; its output and log:\n{last}");
    }

    /// Polls `PING` until spamd answers (`Some(true)`), exits because
    /// its port is taken (`Some(false)`), or fails otherwise (`None`).
    fn wait_ready(&mut self) -> Option<bool> {
        let endpoint = self.endpoint_unix();
        let ready = wait_ready(&mut self.child, SPAMD_START_TIMEOUT, || {
            crate::spamd::ping(
                &endpoint,
                Duration::from_millis(200),
                Duration::from_secs(2),
            )
            .is_ok()
        });
        match ready {
            Ready::Up => Some(true),
            Ready::Exited(Some(98)) => Some(false),
            Ready::Exited(_) | Ready::TimedOut => None,
        }
    }

    /// The unix socket.
    pub fn socket(&self) -> PathBuf {
        self.socket.clone()
    }

    /// The loopback TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `unix:SOCKET`.
    pub fn endpoint_unix(&self) -> Endpoint {
        Endpoint::Unix(self.socket.clone())
    }

    /// `tcp:127.0.0.1:PORT`.
    pub fn endpoint_tcp(&self) -> Endpoint {
        Endpoint::Tcp { host: "127.0.0.1".to_string(), port: self.port }
    }

    /// What spamd logged so far (`-s`): `checking message <MID> for
    /// alice:65534`.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops spamd (its parent takes the children with it and removes
    /// the socket): SIGTERM, SIGKILL to its process group after 5 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_daemon(&mut child);
        }
    }
}

impl Drop for Spamd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One spamd for the whole test binary, started on first use (each
/// start costs a second or more) in `target/tmp/spamd-PID`. It is never
/// dropped: a watchdog (`sh`, reading a pipe whose other end only this
/// process holds) sends spamd SIGTERM when the pipe ends, that is when
/// the test binary exits, however it exits. spamd itself cannot be
/// asked to die with its parent: `PR_SET_PDEATHSIG` is cleared when it
/// changes its user id. Tests that stop spamd start one of their own.
pub fn shared_spamd() -> &'static Spamd {
    // The watchdog's `Child` holds the writing end of its pipe.
    static SHARED: OnceLock<(Spamd, Child)> = OnceLock::new();
    let (spamd, _watch) = SHARED.get_or_init(|| {
        let base = scratch();
        remove_stale(&base, "spamd-");
        let dir = base.join(format!("spamd-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the shared spamd's directory");
        let spamd = Spamd::start(&dir);
        let pid = spamd.child.as_ref().map(Child::id).unwrap_or_default();
        let watchdog = Command::new("/bin/sh")
            .arg("-c")
            .arg("while read -r line; do :; done; kill -TERM \"$1\"")
            .arg("spamd-watchdog")
            .arg(pid.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the shared spamd's watchdog");
        (spamd, watchdog)
    });
    spamd
}

/// `target/tmp` of the build the running test binary belongs to (found
/// from its path), or the system's temporary directory.
fn scratch() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let target =
        exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "target"));
    let base = match target {
        Some(t) => t.join("tmp"),
        None => std::env::temp_dir().join("qmvc-test"),
    };
    fs::create_dir_all(&base).expect("create target/tmp");
    base
}

/// Removes `PREFIXPID` directories of processes that are gone.
fn remove_stale(base: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(base) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix))
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists()
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A running rspamd; stopped when dropped.
pub struct Rspamd {
    child: Option<Child>,
    port: u16,
    socket: PathBuf,
    dir: PathBuf,
    // Holds the socket when the given directory is too deep for one.
    _short: Option<tempfile::TempDir>,
}

impl Rspamd {
    /// Starts rspamd with the system's configuration and overrides in
    /// `dir` (`override.d/worker-normal.inc` on a free loopback port and
    /// the unix socket `DIR/rspamd.sock`, or one under `/tmp` when that
    /// path is too long; the controller on another port, no proxy; DNS
    /// time-outs short), running as
    /// `_rspamd` when started as root. Its databases are in
    /// `target/tmp/rspamd-db`, kept across runs so that only the first
    /// start compiles hyperscan; starts are serialized on a lock there.
    /// Panics, with rspamd's output, when it does not answer `/ping`.
    pub fn start(dir: &Path) -> Rspamd {
        assert!(rspamd_available(), "{RSPAMD} is not installed");
        open_up(dir);
        for sub in ["override.d", "local.d", "run", "log"] {
            fs::create_dir_all(dir.join(sub)).expect("create rspamd's dirs");
        }
        let db = scratch().join("rspamd-db");
        fs::create_dir_all(&db).expect("create target/tmp/rspamd-db");
        let lock = File::create(scratch().join("rspamd-db.lock"))
            .expect("create rspamd-db.lock");
        // SAFETY: a plain system call on a descriptor we own; the lock
        // goes with the file at the end of this function.
        unsafe {
            libc::flock(lock.as_raw_fd(), libc::LOCK_EX);
        }
        fs::write(
            dir.join("local.d/options.inc"),
            "dns { timeout = 0.2s; retransmits = 1; }\n",
        )
        .expect("write options.inc");
        fs::write(
            dir.join("override.d/worker-proxy.inc"),
            "enabled = false;\n",
        )
        .expect("write worker-proxy.inc");
        let mut socket = dir.join("rspamd.sock");
        let mut short = None;
        if socket.as_os_str().len() >= MAX_SOCKET_PATH {
            let tmp = tempfile::Builder::new()
                .prefix("qmvc-rspamd-")
                .tempdir_in("/tmp")
                .expect("a socket directory under /tmp");
            open_up(tmp.path());
            socket = tmp.path().join("rspamd.sock");
            short = Some(tmp);
        }
        let out = dir.join("rspamd.out");
        let mut last = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let controller = free_port();
            let _ = fs::remove_file(&socket);
            fs::write(
                dir.join("override.d/worker-normal.inc"),
                format!(
                    "bind_socket = \"127.0.0.1:{port}\";\n\
                     bind_socket = \"{} mode=0666\";\ncount = 1;\n",
                    socket.display()
                ),
            )
            .expect("write worker-normal.inc");
            fs::write(
                dir.join("override.d/worker-controller.inc"),
                format!(
                    "bind_socket = \"127.0.0.1:{controller}\"; count = 1;\n"
                ),
            )
            .expect("write worker-controller.inc");
            let root = is_root();
            if root {
                let status = Command::new("chown")
                    .arg("-R")
                    .arg(format!("{RSPAMD_USER}:"))
                    .arg(dir)
                    .arg(&db)
                    .status()
                    .expect("run chown");
                assert!(status.success(), "chown -R {RSPAMD_USER} failed");
            }
            let output = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&out)
                .expect("open rspamd.out");
            let errors = output.try_clone().expect("clone rspamd.out");
            let mut command = daemon_command(RSPAMD);
            command.args(["-f", "-c", RSPAMD_CONF]);
            if root {
                command.args(["-u", RSPAMD_USER, "-g", RSPAMD_USER]);
            }
            let child = command
                .arg(format!("--var=LOCAL_CONFDIR={}", dir.display()))
                .arg(format!("--var=DBDIR={}", db.display()))
                .arg(format!("--var=RUNDIR={}", dir.join("run").display()))
                .arg(format!("--var=LOGDIR={}", dir.join("log").display()))
                .stdin(Stdio::null())
                .stdout(output)
                .stderr(errors)
                .spawn()
                .expect("start rspamd");
            let mut rspamd = Rspamd {
                child: Some(child),
                port,
                socket: socket.clone(),
                dir: dir.to_path_buf(),
                _short: None,
            };
            if rspamd.wait_ready() {
                rspamd._short = short;
                return rspamd;
            }
            rspamd.stop();
            last = fs::read_to_string(&out).unwrap_or_default();
            last.push_str(&rspamd.log());
            if !last.contains("bind")
                && !last.contains("Address already in use")
            {
                break;
            }
        }
        panic!("rspamd did not start; its output and log:\n{last}");
    }

    /// Polls `/ping` until rspamd answers, exits, or the start time-out
    /// passes.
    fn wait_ready(&mut self) -> bool {
        let endpoint = self.endpoint();
        let ready = wait_ready(&mut self.child, RSPAMD_START_TIMEOUT, || {
            crate::rspamd::ping(
                &endpoint,
                Duration::from_millis(200),
                Duration::from_secs(2),
            )
            .is_ok()
        });
        ready == Ready::Up
    }

    /// `tcp:127.0.0.1:PORT` of the normal worker.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Tcp { host: "127.0.0.1".to_string(), port: self.port }
    }

    /// `unix:SOCKET` of the normal worker.
    pub fn endpoint_unix(&self) -> Endpoint {
        Endpoint::Unix(self.socket.clone())
    }

    /// What rspamd logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("log/rspamd.log")).unwrap_or_default()
    }

    /// Stops rspamd: SIGTERM, SIGKILL to its process group after 5 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_daemon(&mut child);
        }
    }
}

impl Drop for Rspamd {
    fn drop(&mut self) {
        self.stop();
    }
}
