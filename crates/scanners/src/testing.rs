/*!
A real clamd for tests (feature `testing`): started with a tiny database
of body signatures, listening on a unix socket and on a loopback TCP
port, stopped when dropped. A real spamd and rspamd likewise: [`Spamd`],
[`Rspamd`].

The EICAR test string is built at run time from two halves ([`eicar`]),
so that no file of the repository, and no binary built from it, holds the
whole string and looks infected to a scanner.

The configuration (see [`Clamd::start_with`]) runs clamd in the
foreground as the user running the tests (no `User` line: root stays
root, anybody else stays themselves), logging to `clamd.log` in the
given directory. clamd appends `.UNOFFICIAL` to every signature name of
this database: [`EICAR_NAME`] comes back as `Qmvc.Test.EICAR.UNOFFICIAL`.
*/

use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use qmvc_profile::{Endpoint, EngineDef, Fildes, Method, Policy};

mod encode;
mod spam;

pub use encode::{base64, zip, zip_of, ZipMember};
pub use spam::{
    gtube_message, ham_message, rspamd_available, shared_spamd,
    spamd_available, Rspamd, Spamd, GTUBE, RSPAMD, RSPAMD_START_TIMEOUT,
    SPAMD, SPAMD_START_TIMEOUT,
};

/// Where Debian installs clamd.
pub const CLAMD: &str = "/usr/sbin/clamd";

/// The name of the EICAR body signature in the test database.
pub const EICAR_NAME: &str = "Qmvc.Test.EICAR";

/// What clamd calls [`EICAR_NAME`]: with `.UNOFFICIAL` appended.
pub const EICAR_FOUND: &str = "Qmvc.Test.EICAR.UNOFFICIAL";

/// How long [`Clamd::start`] waits for clamd to answer `PING`.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Socket paths must stay below this length (`sun_path` is 108 bytes).
const MAX_SOCKET_PATH: usize = 100;

/// The 68-byte EICAR anti-virus test string.
pub fn eicar() -> &'static [u8] {
    static EICAR: OnceLock<Vec<u8>> = OnceLock::new();
    EICAR.get_or_init(|| {
        let mut eicar = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$".to_vec();
        eicar.extend_from_slice(b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
        eicar
    })
}

/// Whether clamd is installed (tests needing it can skip when not).
pub fn clamd_available() -> bool {
    fs::metadata(CLAMD)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The `unscanned` globs test definitions get.
pub fn default_unscanned() -> Vec<String> {
    vec![
        "Heuristics.Limits.Exceeded*".to_string(),
        "Heuristics.Encrypted.*".to_string(),
    ]
}

/// A definition for tests: `method`, a 10 s time-out, `tempfail` on
/// error, `pass` when unscanned, [`default_unscanned`].
pub fn engine_def(method: Method) -> EngineDef {
    EngineDef {
        method,
        timeout: Duration::from_secs(10),
        on_error: Policy::Tempfail,
        on_unscanned: Policy::Pass,
        unscanned: default_unscanned(),
        version: None,
        file: "test.yaml".to_string(),
        max_size: 512_000,
        user: String::new(),
    }
}

/// A clamd definition for tests with these endpoints and a 1 s connect
/// time-out.
pub fn clamd_def(endpoints: Vec<Endpoint>) -> EngineDef {
    engine_def(Method::Clamd {
        endpoints,
        connect_timeout: Duration::from_secs(1),
        fildes: Fildes::Auto,
    })
}

/// A running clamd; stopped when dropped.
pub struct Clamd {
    child: Option<Child>,
    pid: u32,
    socket: PathBuf,
    port: u16,
    config: PathBuf,
    database: PathBuf,
    log: PathBuf,
    // Holds the socket when the given directory is too deep for one.
    _short: Option<tempfile::TempDir>,
}

impl Clamd {
    /// Starts clamd in `dir` (its database, configuration and log go
    /// there) with the EICAR signature and `signatures`, each `(name,
    /// bytes)` a body signature matching `bytes` anywhere. Panics, with
    /// clamd's log, when clamd does not answer within 10 s.
    pub fn start(dir: &Path, signatures: &[(&str, &[u8])]) -> Clamd {
        Clamd::start_with(dir, signatures, &[])
    }

    /// [`Clamd::start`] with more lines for `clamd.conf`, such as
    /// `StreamMaxLength 1K`. The configuration written is
    ///
    /// ```text
    /// Foreground yes
    /// LocalSocket SOCKET
    /// TCPSocket PORT
    /// TCPAddr 127.0.0.1
    /// DatabaseDirectory DIR/db
    /// LogFile DIR/clamd.log
    /// PidFile DIR/clamd.pid
    /// MaxThreads 4
    /// ConcurrentDatabaseReload no
    /// ```
    ///
    /// followed by `extra`. SOCKET is `DIR/clamd.sock`, or a fresh
    /// directory under `/tmp` when that path would be too long; PORT a
    /// free loopback port (another is tried when clamd cannot bind it).
    pub fn start_with(
        dir: &Path,
        signatures: &[(&str, &[u8])],
        extra: &[&str],
    ) -> Clamd {
        assert!(clamd_available(), "{CLAMD} is not installed");
        let database = dir.join("db");
        fs::create_dir_all(&database).expect("create the database directory");
        let mut ndb = format!("{EICAR_NAME}:0:*:{}\n", hex(eicar()));
        for (name, bytes) in signatures {
            assert!(
                !name.is_empty()
                    && !name.contains([':', '\n'])
                    && bytes.len() >= 2,
                "bad test signature {name:?}"
            );
            ndb.push_str(&format!("{name}:0:*:{}\n", hex(bytes)));
        }
        fs::write(database.join("test.ndb"), ndb).expect("write test.ndb");

        let mut socket = dir.join("clamd.sock");
        let mut short = None;
        if socket.as_os_str().len() >= MAX_SOCKET_PATH {
            let tmp = tempfile::Builder::new()
                .prefix("qmvc-clamd-")
                .tempdir_in("/tmp")
                .expect("a socket directory under /tmp");
            socket = tmp.path().join("clamd.sock");
            short = Some(tmp);
        }
        let config = dir.join("clamd.conf");
        let log = dir.join("clamd.log");
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let mut conf = format!(
                "Foreground yes\nLocalSocket {}\nTCPSocket {port}\n\
                 TCPAddr 127.0.0.1\nDatabaseDirectory {}\nLogFile {}\n\
                 PidFile {}\nMaxThreads 4\nConcurrentDatabaseReload no\n",
                socket.display(),
                database.display(),
                log.display(),
                dir.join("clamd.pid").display(),
            );
            for line in extra {
                conf.push_str(line);
                conf.push('\n');
            }
            fs::write(&config, conf).expect("write clamd.conf");
            let _ = fs::remove_file(&socket);
            let output = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .expect("open clamd.log");
            let errors = output.try_clone().expect("clone clamd.log");
            let child = Command::new(CLAMD)
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(output)
                .stderr(errors)
                .spawn()
                .expect("start clamd");
            let pid = child.id();
            let mut clamd = Clamd {
                child: Some(child),
                pid,
                socket: socket.clone(),
                port,
                config: config.clone(),
                database: database.clone(),
                log: log.clone(),
                _short: None,
            };
            if clamd.wait_ready() {
                clamd._short = short;
                return clamd;
            }
            clamd.stop();
            last_log = fs::read_to_string(&log).unwrap_or_default();
            // Only a lost race for the port is worth another try.
            if !last_log.contains("bind") {
                break;
            }
        }
        panic!("clamd did not start; its log:\n{last_log}");
    }

    /// Polls `PING` until clamd answers, exits, or the start time-out
    /// passes.
    fn wait_ready(&mut self) -> bool {
        let endpoint = self.endpoint_unix();
        let ready = wait_ready(&mut self.child, START_TIMEOUT, || {
            crate::clamd::ping(
                &endpoint,
                Duration::from_millis(200),
                Duration::from_secs(1),
            )
            .is_ok()
        });
        ready == Ready::Up
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

    /// clamd's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `clamd.conf`, for `clamdscan --config-file`.
    pub fn config(&self) -> PathBuf {
        self.config.clone()
    }

    /// The database directory, for `clamscan -d`.
    pub fn database(&self) -> PathBuf {
        self.database.clone()
    }

    /// What clamd logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops clamd: SIGTERM, SIGKILL when it has not ended within 5 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_daemon(&mut child);
        }
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a daemon's start ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ready {
    /// It answers.
    Up,
    /// It exited, with this code (`None`: killed by a signal).
    Exited(Option<i32>),
    /// It did not answer in time, or cannot be watched.
    TimedOut,
}

/// Polls `answers` until it says yes, the daemon `child` exits, or
/// `timeout` passes.
fn wait_ready(
    child: &mut Option<Child>,
    timeout: Duration,
    answers: impl Fn() -> bool,
) -> Ready {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(child) = child.as_mut() {
            match child.try_wait() {
                Ok(None) => {}
                Ok(Some(status)) => return Ready::Exited(status.code()),
                Err(_) => return Ready::TimedOut,
            }
        }
        if answers() {
            return Ready::Up;
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ready::TimedOut
}

/// Stops the daemon `child`: SIGTERM, then SIGKILL to it and to the
/// process group it leads (spamd and rspamd are started in one of their
/// own) when it has not ended within 5 s.
fn stop_daemon(child: &mut Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else { return };
    // SAFETY: a plain system call on our own, unreaped child.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    // SAFETY: signals our own child's process group, when it leads one
    // (otherwise the call fails and does nothing).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// A loopback port nobody listened on a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
