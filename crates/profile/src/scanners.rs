/*!
`scanners` and `scanners.d/ENGINE.yaml`: which virus scanners run, in which
order, and how each engine is reached and understood.
*/

use std::path::PathBuf;
use std::time::Duration;

use crate::Origin;

/// What to do when a scanner fails, or cannot scan a message fully.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Defer the delivery (exit 111) with a line in qmvc.error.
    Tempfail,
    /// Deliver as if the scanner had found nothing; record it.
    Pass,
    /// Treat the message as virusmail.
    Block,
}

impl Policy {
    /// The keyword in engine definitions and the logs.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Tempfail => "tempfail",
            Policy::Pass => "pass",
            Policy::Block => "block",
        }
    }
}

/// Where a clamd listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `tcp:HOST:PORT` (`tcp:[::1]:3310` for IPv6 literals).
    Tcp {
        /// Host name or address literal, without brackets.
        host: String,
        /// Port.
        port: u16,
    },
}

/// What a command-line engine is handed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The message as one file (mode 0600) in the layer's `tmp/`.
    File,
    /// A private directory in `tmp/` holding the message file.
    Directory,
}

/// How an engine is asked.
#[derive(Clone, Debug)]
pub enum Method {
    /// The clamd protocol: `zINSTREAM` of the raw message to the first
    /// endpoint that accepts a connection.
    Clamd {
        /// Endpoints, tried in order.
        endpoints: Vec<Endpoint>,
        /// How long a connection attempt to one endpoint may take.
        connect_timeout: Duration,
    },
    /// A command line run without a shell.
    Command {
        /// Program and arguments; the argument `{}` is replaced by the
        /// path of the file or directory to scan.
        argv: Vec<String>,
        /// File or directory.
        target: Target,
        /// Exit codes meaning clean.
        clean: Vec<i32>,
        /// Exit codes meaning infected.
        infected: Vec<i32>,
        /// Applied to each line of the output (stdout and stderr): the
        /// first capture group of a matching line is a virus name.
        virus: Option<regex::Regex>,
    },
}

/// An engine definition, `scanners.d/ENGINE.yaml`.
#[derive(Clone, Debug)]
pub struct EngineDef {
    /// How the engine is asked.
    pub method: Method,
    /// How long one scan may take (read time-out for clamd).
    pub timeout: Duration,
    /// What to do when the scanner fails or times out.
    pub on_error: Policy,
    /// What to do with a message the scanner says it could not scan
    /// fully (names in `unscanned`).
    pub on_unscanned: Policy,
    /// Globs (case-sensitive, `*` any run) of names that mean "not
    /// scanned" rather than a virus, e.g. `Heuristics.Limits.Exceeded*`.
    pub unscanned: Vec<String>,
    /// A command (no shell) printing the engine and signature version,
    /// for `qmvc -s`; clamd is asked with `VERSION` instead.
    pub version: Option<Vec<String>>,
    /// The definition file, as shown to the user.
    pub file: String,
}

/// A line of `scanners`.
#[derive(Clone, Debug)]
pub struct Scanner {
    /// The engine name: its definition is `scanners.d/ENGINE.yaml`.
    pub engine: String,
    /// One letter for qmvc.log.
    pub initial: char,
    /// The full name, for reports.
    pub full_name: String,
    /// The engine's definition.
    pub definition: EngineDef,
    /// Where the line is.
    pub origin: Origin,
}
