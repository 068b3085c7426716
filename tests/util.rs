/*!
The test harness: a hermetic temporary qmail home ([`Dir`]), a direct runner
for the qmvc binary ([`TestCommand`]) and a qmail-local emulator
([`Dir::deliver`]).

Invariants:
- every qmvc process gets a cleared environment with only the variables
  qmail-local sets (plus `PATH` and `QMVCHOME`), so nothing of the
  developer's environment or of `/var/qmvc` leaks into a test;
- every message reaches qmvc as a regular, seekable file, as from
  qmail-local, never as a pipe;
- every child is reaped with `wait4(2)`, which gives its peak resident set
  size, and is killed after a generous deadline so that a hanging qmvc
  fails its test instead of hanging the suite.

The peak RSS is an upper bound: Linux keeps in `ru_maxrss` the high-water
mark of the memory a process had before `exec`, which for a child spawned
from this test process is the test process's own resident set at that
moment (some tens of MB). A bound checked against it therefore never lets
a too-greedy qmvc pass; it could only fail spuriously if the test process
itself grew near the bound.
*/
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The qmvc binary under test.
pub const QMVC: &str = env!("CARGO_BIN_EXE_qmvc");

/// The report programs and blockvirussender (crates/aux).
pub const AUX: [&str; 6] = [
    "qmvclog2html",
    "virulator",
    "qmvcmonth",
    "webcalendar",
    "qmvcportal",
    "blockvirussender",
];

/// Every program the installers put in `bin/` (scripts/install, the
/// Debian package).
pub const PROGRAMS: [&str; 10] = [
    "qmvc",
    "qmvc-queue",
    "qmvc-release",
    "plainmail",
    "qmvclog2html",
    "virulator",
    "qmvcmonth",
    "webcalendar",
    "qmvcportal",
    "blockvirussender",
];

/// The shared message corpus.
pub const CORPUS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// The package root (for `man/`).
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// How long any one child may run before the harness kills it.
const DEADLINE: Duration = Duration::from_secs(60);

/// A layer of the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `$QMVCHOME`: `ROOT/sys`.
    System,
    /// `$HOME/qmvc`: `ROOT/home/qmvc`.
    User,
    /// `-c ROOT/domains/NAME`.
    Domain(&'static str),
}

/// A temporary qmail home for one test.
pub struct Dir {
    tmp: tempfile::TempDir,
    env: RefCell<BTreeMap<String, String>>,
    counter: Cell<u64>,
    /// [`Dir::deliver`] runs the real qmail-local, not the emulator.
    real_qmail_local: Cell<bool>,
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

impl Dir {
    /// A fresh directory: `sys/control/` (system layer), `home/` with an
    /// empty `Maildir/`, and the default qmail environment.
    pub fn new(name: &str) -> Dir {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("qmvc-{name}-"))
            .tempdir()
            .unwrap();
        let root = tmp.path().to_path_buf();
        fs::create_dir_all(root.join("sys/control")).unwrap();
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(root.join("home/Maildir").join(sub)).unwrap();
        }
        let bin_dir = Path::new(QMVC).parent().unwrap();
        let home = root.join("home");
        let mut env = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            env.insert(k.to_string(), v);
        };
        set("SENDER", "alice@example.net".into());
        set("NEWSENDER", "alice@example.net".into());
        set("RECIPIENT", "bob@example.org".into());
        set("USER", "bob".into());
        set("HOME", home.display().to_string());
        set("HOST", "example.org".into());
        set("HOST2", "example".into());
        set("HOST3", "example".into());
        set("HOST4", "example".into());
        set("LOCAL", "bob".into());
        for ext in ["EXT", "EXT2", "EXT3", "EXT4", "DEFAULT"] {
            set(ext, String::new());
        }
        set("DTLINE", "Delivered-To: bob@example.org\n".into());
        set("RPLINE", "Return-Path: <alice@example.net>\n".into());
        set(
            "UFLINE",
            "From alice@example.net Thu Jan  1 00:00:00 2026\n".into(),
        );
        set(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        );
        set("QMVCHOME", root.join("sys").display().to_string());
        Dir {
            tmp,
            env: RefCell::new(env),
            counter: Cell::new(0),
            real_qmail_local: Cell::new(false),
        }
    }

    /// Makes [`Dir::deliver`] run the real qmail-local from now on;
    /// false (with a loud note) when it could not be built outside
    /// `CI=true` (under `CI=true` that fails the test).
    pub fn use_real_qmail_local(&self) -> bool {
        let built = crate::qmail_local::binary().is_some();
        if built {
            // Before the test looks at the directory.
            crate::qmail_local::spy(self);
        }
        self.real_qmail_local.set(built);
        built
    }

    /// The temporary directory itself.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// `HOME`.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// A layer's directory.
    pub fn layer(&self, layer: Layer) -> PathBuf {
        match layer {
            Layer::System => self.root().join("sys"),
            Layer::User => self.home().join("qmvc"),
            Layer::Domain(name) => self.root().join("domains").join(name),
        }
    }

    /// Writes control file `name` of `layer` with mode 0644; `name` may
    /// have directories (`scanners.d/clamd.yaml`), which are created.
    pub fn control(&self, layer: Layer, name: &str, text: &str) -> PathBuf {
        let path = self.layer(layer).join("control").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    /// Writes the system layer's `filters`.
    pub fn filters(&self, text: &str) -> PathBuf {
        self.control(Layer::System, "filters", text)
    }

    /// Configures the virus scanners of the system layer: `scanners`
    /// with one line `ENGINE ; INITIAL ; ENGINE scanner ;` per entry in
    /// order, and `scanners.d/ENGINE.yaml` with its definition.
    pub fn scanners(&self, list: &[(&str, char, &str)]) {
        self.scanners_in(Layer::System, list);
    }

    /// [`Dir::scanners`] for `layer`.
    pub fn scanners_in(&self, layer: Layer, list: &[(&str, char, &str)]) {
        let mut lines =
            String::from("# Engine ; Initial ; Full name ; Comment\n");
        for (engine, initial, yaml) in list {
            lines.push_str(&format!(
                "{engine} ; {initial} ; {engine} scanner ;\n"
            ));
            self.control(layer, &format!("scanners.d/{engine}.yaml"), yaml);
        }
        self.control(layer, "scanners", &lines);
    }

    /// A path under the temporary directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Writes `bytes` to `rel` (parents created).
    pub fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        path
    }

    /// Writes a message to a new file and returns its path.
    pub fn message(&self, bytes: &[u8]) -> PathBuf {
        let n = self.counter.get();
        self.counter.set(n + 1);
        self.write(&format!("messages/{n}.eml"), bytes)
    }

    /// Writes an executable shell script `ROOT/bin/NAME` (`#!/bin/sh`
    /// prepended) and returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.write(
            &format!("bin/{name}"),
            format!("#!/bin/sh\n{body}\n").as_bytes(),
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Sets a variable of the qmail environment for every later run.
    pub fn set_env(&self, name: &str, value: &str) {
        self.env.borrow_mut().insert(name.to_string(), value.to_string());
    }

    /// The qmail environment as it stands.
    pub fn environment(&self) -> BTreeMap<String, String> {
        self.env.borrow().clone()
    }

    /// A direct qmvc run with `args`.
    pub fn qmvc(&self, args: &[&str]) -> TestCommand<'_> {
        TestCommand {
            dir: self,
            program: QMVC,
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: None,
            env: self.environment(),
        }
    }

    /// A run of the aux program `name` (qmvclog2html, virulator,
    /// qmvcmonth, webcalendar, qmvcportal, blockvirussender, plainmail,
    /// qmvc-release)
    /// with `args`, in `HOME`, with the cleared qmail environment.
    pub fn aux(&self, name: &str, args: &[&str]) -> TestCommand<'_> {
        let program = match name {
            "qmvclog2html" => env!("CARGO_BIN_EXE_qmvclog2html"),
            "virulator" => env!("CARGO_BIN_EXE_virulator"),
            "qmvcmonth" => env!("CARGO_BIN_EXE_qmvcmonth"),
            "webcalendar" => env!("CARGO_BIN_EXE_webcalendar"),
            "qmvcportal" => env!("CARGO_BIN_EXE_qmvcportal"),
            "blockvirussender" => env!("CARGO_BIN_EXE_blockvirussender"),
            "plainmail" => env!("CARGO_BIN_EXE_plainmail"),
            "qmvc-release" => env!("CARGO_BIN_EXE_qmvc-release"),
            other => panic!("no aux program {other}"),
        };
        TestCommand {
            dir: self,
            program,
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: None,
            env: self.environment(),
        }
    }

    /// Runs qmvc with `args` and the message `bytes` on standard input.
    pub fn run(&self, args: &[&str], bytes: &[u8]) -> Output {
        let msg = self.message(bytes);
        self.qmvc(args).stdin_file(&msg).run()
    }

    /// Emulates qmail-local: writes `dotqmail` to `HOME/.qmail` and
    /// carries out its lines for the message in the file `message`.
    /// After [`Dir::use_real_qmail_local`], the real qmail-local does it
    /// instead ([`crate::qmail_local::deliver`]), with the same result.
    ///
    /// For each line in order: `#` lines (and blank lines) are skipped; a
    /// `|command` runs `sh -c command` in `HOME` with the message file on
    /// standard input, rewound before each line (one descriptor, reused,
    /// like qmail-local), and the cleared qmail environment; exit 0 goes
    /// on, 99 stops, 100 bounces, 111 defers (with the first line of
    /// standard output as the reason) and any other code fails the test,
    /// as it would be a "soft failure" qmvc must never cause. A line
    /// ending in `/` delivers into that Maildir (relative to `HOME`),
    /// with Return-Path and Delivered-To prepended as qmail-local does.
    pub fn deliver(&self, dotqmail: &str, message: &Path) -> Delivery {
        if self.real_qmail_local.get() {
            return crate::qmail_local::deliver(self, dotqmail, message);
        }
        let home = self.home();
        fs::write(home.join(".qmail"), dotqmail).unwrap();
        fs::set_permissions(
            home.join(".qmail"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let mut file = File::open(message).unwrap();
        let env = self.environment();
        let mut runs = Vec::new();
        let mut delivered = Vec::new();
        for line in dotqmail.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            file.seek(SeekFrom::Start(0)).unwrap();
            if let Some(command) = line.strip_prefix('|') {
                let mut cmd = Command::new("/bin/sh");
                cmd.arg("-c").arg(command).current_dir(&home);
                cmd.env_clear().envs(&env);
                cmd.stdin(Stdio::from(file.try_clone().unwrap()));
                let out = run_child(cmd);
                let code = out.code;
                let reason = out.stdout.lines().next().unwrap_or("").into();
                runs.push(CommandRun { command: command.into(), out });
                let outcome = match code {
                    0 => continue,
                    99 => Outcome::Stopped,
                    100 => Outcome::Bounced(reason),
                    111 => Outcome::Deferred(reason),
                    other => panic!(
                        "harness: `{command}` exited {other}; qmail-local \
                         would treat that as a soft failure, qmvc must \
                         never do that\n{}",
                        runs.last().unwrap().out.describe()
                    ),
                };
                return Delivery { outcome, runs };
            }
            if line.ends_with('/') {
                let maildir = home.join(line);
                let mut bytes = Vec::new();
                bytes.extend_from_slice(env["RPLINE"].as_bytes());
                bytes.extend_from_slice(env["DTLINE"].as_bytes());
                file.read_to_end(&mut bytes).unwrap();
                let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
                let name =
                    format!("{}.P{}Q{n}.test", now_secs(), std::process::id());
                let tmp = maildir.join("tmp").join(&name);
                let new = maildir.join("new").join(&name);
                fs::write(&tmp, &bytes).unwrap();
                fs::rename(&tmp, &new).unwrap();
                delivered.push(new);
                continue;
            }
            panic!("harness: unsupported dot-qmail line {line:?}");
        }
        Delivery { outcome: Outcome::Delivered(delivered), runs }
    }

    /// The files in `HOME/Maildir/new/`.
    pub fn maildir(&self) -> Vec<PathBuf> {
        files_in(&self.home().join("Maildir/new"))
    }

    /// The lines of `LAYER/log/qmvc.log` (none when it does not exist).
    pub fn log(&self, layer: Layer) -> Vec<LogLine> {
        let path = self.layer(layer).join("log/qmvc.log");
        let Ok(text) = fs::read_to_string(&path) else { return Vec::new() };
        text.lines().map(LogLine::parse).collect()
    }

    /// The last line of `LAYER/log/qmvc.log`.
    pub fn last_log(&self, layer: Layer) -> LogLine {
        let mut lines = self.log(layer);
        lines.pop().unwrap_or_else(|| {
            panic!("no line in {}/log/qmvc.log", self.layer(layer).display())
        })
    }

    /// The raw text of `LAYER/log/qmvc.rep` (empty when missing).
    pub fn rep_text(&self, layer: Layer) -> String {
        fs::read_to_string(self.layer(layer).join("log/qmvc.rep"))
            .unwrap_or_default()
    }

    /// The documents of `LAYER/log/qmvc.rep`, each parsed as YAML.
    pub fn reports(&self, layer: Layer) -> Vec<serde_yaml::Value> {
        split_documents(&self.rep_text(layer))
            .into_iter()
            .map(|doc| {
                serde_yaml::from_str(&doc).unwrap_or_else(|e| {
                    panic!("qmvc.rep document does not parse: {e}\n{doc}")
                })
            })
            .collect()
    }

    /// Every path below the temporary directory, relative to it, sorted.
    pub fn tree(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.root(), self.root(), &mut out);
        out.sort();
        out
    }
}

impl Dir {
    /// Installs an injector stub that records each call and exits 0, and
    /// names it in the system layer's `injector`.
    pub fn injector(&self) -> PathBuf {
        self.injector_exiting(0)
    }

    /// Installs an injector stub that exits `code` after recording the
    /// call: for each call it makes the next free numbered directory
    /// `ROOT/injected/N/` (`mkdir` is atomic, so concurrent calls never
    /// share one) holding `argc`, `args` (each argument on its own line,
    /// so an empty argument is an empty line) and `stdin`. The stub reads
    /// its whole standard input whatever its exit code, as qmail-inject
    /// does. It is named in the system layer's `injector`.
    pub fn injector_exiting(&self, code: i32) -> PathBuf {
        let calls = self.path("injected");
        let script = self.script(
            "inject",
            &format!(
                "calls='{calls}'\n\
                 mkdir -p \"$calls\" || exit 111\n\
                 n=1\n\
                 until mkdir \"$calls/$n\" 2>/dev/null; do\n\
                 \x20 n=$((n + 1))\n\
                 \x20 [ \"$n\" -gt 10000 ] && exit 111\n\
                 done\n\
                 printf '%s\\n' \"$#\" > \"$calls/$n/argc\"\n\
                 printf '%s\\n' \"$@\" > \"$calls/$n/args\"\n\
                 cat > \"$calls/$n/stdin\"\n\
                 exit {code}",
                calls = calls.display()
            ),
        );
        self.control(
            Layer::System,
            "injector",
            &format!("{}\n", script.display()),
        );
        script
    }

    /// The calls of the injector stub in call order (none when it was
    /// never called).
    pub fn injected(&self) -> Vec<Injected> {
        let mut calls: Vec<(u64, PathBuf)> =
            entries_in(&self.path("injected"))
                .into_iter()
                .map(|p| {
                    let n = p.file_name().unwrap().to_string_lossy().parse();
                    (n.expect("injected/: not a call number"), p)
                })
                .collect();
        calls.sort();
        calls.into_iter().map(|(_, path)| Injected::read(&path)).collect()
    }
}

/// One call of the injector stub ([`Dir::injector`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injected {
    /// Its arguments (without the program name).
    pub args: Vec<String>,
    /// What it read on standard input.
    pub message: Vec<u8>,
}

impl Injected {
    fn read(dir: &Path) -> Injected {
        let argc: usize = fs::read_to_string(dir.join("argc"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let text = fs::read_to_string(dir.join("args")).unwrap();
        let args: Vec<String> = match argc {
            0 => Vec::new(),
            _ => text
                .strip_suffix('\n')
                .unwrap_or(&text)
                .split('\n')
                .map(str::to_string)
                .collect(),
        };
        assert_eq!(
            args.len(),
            argc,
            "an injector argument holds a line end: {text:?}"
        );
        let message = fs::read(dir.join("stdin")).unwrap();
        Injected { args, message }
    }

    /// The message as (lossy) text, for a panic message.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.message).into_owned()
    }
}

/// Splits a qmvc.rep text into its YAML documents (each starts `---`).
pub fn split_documents(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let text = text.strip_prefix("---\n").unwrap_or(text);
    text.split("\n---\n").map(|d| format!("---\n{d}")).collect()
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        out.push(path.strip_prefix(base).unwrap().display().to_string());
        if path.is_dir() && !path.is_symlink() {
            walk(base, &path, out);
        }
    }
}

/// The regular files directly in `dir`, sorted (none when it is missing).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> =
        entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    out.sort();
    out
}

/// The entries directly in `dir`, sorted (none when it is missing).
pub fn entries_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    out.sort();
    out
}

/// A file or directory's permission bits.
pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One line of qmvc.log, split on tabs.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub raw: String,
    pub fields: Vec<String>,
}

impl LogLine {
    pub fn parse(raw: &str) -> LogLine {
        LogLine {
            raw: raw.to_string(),
            fields: raw.split('\t').map(str::to_string).collect(),
        }
    }

    /// Field `n`, counted from 1 as in qmvc-log(5).
    pub fn field(&self, n: usize) -> &str {
        self.fields.get(n - 1).unwrap_or_else(|| {
            panic!("qmvc.log line has no field {n}: {:?}", self.raw)
        })
    }

    /// Field 2.
    pub fn result(&self) -> &str {
        self.field(2)
    }

    /// Field 2 as the list of conditions met (empty for `clear`).
    pub fn conditions(&self) -> Vec<String> {
        match self.result() {
            "clear" => Vec::new(),
            r => r.split('+').map(str::to_string).collect(),
        }
    }

    /// Field 3.
    pub fn errormail(&self) -> u32 {
        self.field(3).parse().unwrap_or_else(|_| {
            panic!("field 3 is not a number: {:?}", self.raw)
        })
    }

    /// Field 4.
    pub fn action(&self) -> &str {
        self.field(4)
    }

    /// Field 8.
    pub fn sender(&self) -> &str {
        self.field(8)
    }

    /// Field 9.
    pub fn recipient(&self) -> &str {
        self.field(9)
    }

    /// Field 11.
    pub fn subject(&self) -> &str {
        self.field(11)
    }
}

/// What a qmvc process did.
#[derive(Clone, Debug)]
pub struct Output {
    /// The exit code; 128 + N for a signal N.
    pub code: i32,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
    /// CPU time, user and system (from `wait4(2)`): what the program
    /// costs, whatever else the machine is doing; `None` where the run
    /// was recorded by another program (under the real qmail-local).
    pub cpu: Option<Duration>,
    /// Peak resident set size in KiB (from `wait4(2)`; an upper bound,
    /// see the module documentation).
    pub max_rss_kb: i64,
}

impl Output {
    /// Everything about the run, for a panic message.
    pub fn describe(&self) -> String {
        format!(
            "exit code: {} (signal {:?}), {:?}{}, peak RSS {} KiB\n\
             --- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.signal,
            self.elapsed,
            self.cpu.map(|cpu| format!(" (CPU {cpu:?})")).unwrap_or_default(),
            self.max_rss_kb,
            self.stdout,
            self.stderr
        )
    }

    /// Panics unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code,
            code,
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    /// The first line of standard output.
    pub fn reason(&self) -> &str {
        self.stdout.lines().next().unwrap_or("")
    }
}

/// A qmvc run being prepared.
pub struct TestCommand<'a> {
    dir: &'a Dir,
    program: &'static str,
    args: Vec<String>,
    stdin: Option<PathBuf>,
    env: BTreeMap<String, String>,
}

impl TestCommand<'_> {
    /// Gives the file at `path` as standard input (a regular file, as
    /// from qmail-local). Without it, standard input is `/dev/null`.
    pub fn stdin_file(mut self, path: &Path) -> Self {
        self.stdin = Some(path.to_path_buf());
        self
    }

    /// Writes `bytes` to a file and gives it as standard input.
    pub fn stdin_bytes(self, bytes: &[u8]) -> Self {
        let path = self.dir.message(bytes);
        self.stdin_file(&path)
    }

    /// Sets one variable for this run only.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    /// Removes one variable for this run only.
    pub fn env_remove(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(self.program);
        cmd.args(&self.args).current_dir(self.dir.home());
        cmd.env_clear().envs(&self.env);
        match &self.stdin {
            Some(path) => cmd.stdin(File::open(path).unwrap()),
            None => cmd.stdin(Stdio::null()),
        };
        cmd
    }

    /// Runs qmvc to its end.
    pub fn run(self) -> Output {
        run_child(self.command())
    }

    /// Starts qmvc without waiting for it.
    pub fn spawn(self) -> Running {
        spawn_child(self.command())
    }
}

/// A started child whose output is being collected.
pub struct Running {
    child: Child,
    started: Instant,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

impl Running {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the child (killing it after the deadline) and reaps it
    /// with `wait4(2)` for its peak RSS.
    pub fn wait(mut self) -> Output {
        let pid = self.child.id() as libc::pid_t;
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data; zeroed is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let mut pause = Duration::from_millis(1);
        let mut killed = false;
        loop {
            // SAFETY: pid is our own unreaped child; the pointers are
            // valid for the call.
            let rc = unsafe {
                libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage)
            };
            if rc == pid {
                break;
            }
            assert!(
                rc == 0,
                "wait4 failed: {}",
                std::io::Error::last_os_error()
            );
            if !killed && self.started.elapsed() > DEADLINE {
                let _ = self.child.kill();
                killed = true;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
        let elapsed = self.started.elapsed();
        let status = std::process::ExitStatus::from_raw(status);
        let signal = status.signal();
        let code = status.code().unwrap_or(128 + signal.unwrap_or(0));
        let stdout = self.stdout.join().unwrap();
        let stderr = self.stderr.join().unwrap();
        let out = Output {
            code,
            signal,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
            cpu: Some(cpu_time(&usage.ru_utime) + cpu_time(&usage.ru_stime)),
            max_rss_kb: usage.ru_maxrss,
        };
        assert!(
            !killed,
            "harness: killed after {DEADLINE:?}\n{}",
            out.describe()
        );
        out
    }
}

/// A `timeval` of `rusage` as a duration (negative fields as zero).
fn cpu_time(t: &libc::timeval) -> Duration {
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let micros = u64::try_from(t.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

fn spawn_child(mut cmd: Command) -> Running {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let stderr = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    Running { child, started, stdout, stderr }
}

/// Runs `cmd` to its end (killed after the deadline), reaped with
/// `wait4(2)`.
pub fn run_child(cmd: Command) -> Output {
    spawn_child(cmd).wait()
}

/// One `|command` line that ran.
#[derive(Clone, Debug)]
pub struct CommandRun {
    pub command: String,
    pub out: Output,
}

/// How a delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every line ran; these Maildir files were written.
    Delivered(Vec<PathBuf>),
    /// A program exited 99: delivered, later lines ignored.
    Stopped,
    /// A program exited 100, with this reason.
    Bounced(String),
    /// A program exited 111, with this reason.
    Deferred(String),
}

/// The result of [`Dir::deliver`].
#[derive(Clone, Debug)]
pub struct Delivery {
    pub outcome: Outcome,
    pub runs: Vec<CommandRun>,
}

impl Delivery {
    /// The output of the first program line.
    pub fn first(&self) -> &Output {
        &self.runs.first().expect("no program line ran").out
    }
}

/// Writes `text` to standard error, so that a skipped check is loud.
pub fn note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "NOTE: {text}");
}

/// Whether the tests run under `CI=true`, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A test cannot run because `what` is missing: under `CI=true` that
/// fails the test (the test command installs every tool, so a missing
/// one is a broken set-up, never a pass); elsewhere it is a loud note
/// and the caller skips the test.
#[track_caller]
pub fn missing(what: &str) {
    let text = format!(
        "{what} is not installed: test SKIPPED (bash scripts/test \
         installs it when run as root)"
    );
    assert!(!in_ci(), "CI=true and {text}");
    note(&format!("!!! {text} !!!"));
}

/// Whether clamd is installed; when it is not, [`missing`] (a failure
/// under `CI=true`).
#[track_caller]
pub fn have_clamd() -> bool {
    let found = qmvc_scanners::testing::clamd_available();
    if !found {
        missing("clamd (clamav-daemon)");
    }
    found
}

/// Checks that the lint run `out` exited 1 with a line
/// `FILE:LINE: message` for `file` (at `line`, when given) that contains
/// `needle`, and that every line it printed has that form.
#[track_caller]
pub fn assert_lint(
    out: &Output,
    file: &Path,
    line: Option<usize>,
    needle: &str,
) {
    out.assert_code(1);
    let prefix = match line {
        Some(n) => format!("{}:{n}: ", file.display()),
        None => format!("{}:", file.display()),
    };
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(needle)),
        "no line {prefix}...{needle}...\n{}",
        out.describe()
    );
    for l in out.stdout.lines() {
        let mut fields = l.splitn(3, ':');
        let (name, number) = (fields.next(), fields.next());
        assert!(name.is_some_and(|f| !f.is_empty()), "{l}");
        assert!(
            number.is_some_and(|n| n.parse::<usize>().is_ok()),
            "not FILE:LINE: message: {l}"
        );
    }
}
