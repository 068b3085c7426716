/*!
The layers: system, relay (qmvc-queue's origin layer), domain, user;
which one a control file comes from.
*/

use std::borrow::Cow;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::{definitions, trust, Control, Error};

/// The system layer when nothing else says: `/var/qmvc`.
pub const DEFAULT_SYSTEM_HOME: &str = "/var/qmvc";

/// The system layer: `$QMVCHOME` when it is set and not empty, else
/// [`DEFAULT_SYSTEM_HOME`]. The one place that knows it, for qmvc and
/// every program that reads its layers or logs.
pub fn system_home() -> PathBuf {
    std::env::var_os("QMVCHOME")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_SYSTEM_HOME), PathBuf::from)
}

/// The layers of a delivery's command line, the one rule for every
/// program that takes qmvc's layer options: the system layer
/// ([`system_home`]), `-c DIR` (`domain`; it must be a directory, since a
/// typo in a dot-qmail file must defer rather than start an empty
/// profile that passes everything) and, with `-u` (`user`),
/// `$HOME/qmvc` (`HOME` absolute). The error says what to fix.
pub fn command_line_layers(
    domain: Option<&Path>,
    user: bool,
) -> Result<Layers, String> {
    let system = system_home();
    let user = if user {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .ok_or("-u needs HOME set to an absolute path")?;
        Some(home.join("qmvc"))
    } else {
        None
    };
    if let Some(domain) = domain {
        match std::fs::metadata(domain) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "-c {}: not a directory; check the dot-qmail line",
                    domain.display()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "-c {}: {e}; check the dot-qmail line",
                    domain.display()
                ))
            }
        }
    }
    Ok(Layers::new(system, domain.map(Path::to_path_buf), user))
}

/// Which layer something came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `$HOME/qmvc` with `-u`.
    User,
    /// `-c DIR`, or qmvc-queue's `$QMVCHOME/domains/DOMAIN/`.
    Domain,
    /// qmvc-queue's origin layer `$QMVCHOME/relay/`.
    Relay,
    /// `$QMVCHOME` or `/var/qmvc`.
    System,
    /// Compiled in from `control-defaults/`.
    BuiltIn,
}

/// The layer directories in use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layers {
    /// The system layer.
    pub system: PathBuf,
    /// qmvc-queue's origin layer, between the system and the domain
    /// layer: `$QMVCHOME/relay/` when `RELAYCLIENT` is set.
    pub relay: Option<PathBuf>,
    /// The domain layer, if `-c` was given (qmvc-queue: the
    /// recipient's `$QMVCHOME/domains/DOMAIN/`).
    pub domain: Option<PathBuf>,
    /// The user layer, if `-u` was given.
    pub user: Option<PathBuf>,
    /// Whether logs, `tmp/`, `save/` and `inspect/` stay in the system
    /// layer whatever layers are above it (qmvc-queue: one place for the
    /// records of every group) instead of the most specific layer.
    pub state_in_system: bool,
}

/// A control file's text and where it came from.
#[derive(Clone, Debug)]
pub struct Source {
    /// The text.
    pub text: Cow<'static, str>,
    /// The file as shown to the user (see [`crate::Origin::file`]).
    pub file: String,
    /// The layer.
    pub layer: Layer,
}

impl Layers {
    /// The layers of qmvc: the system layer, and the domain and user
    /// layers when given.
    pub fn new(
        system: PathBuf,
        domain: Option<PathBuf>,
        user: Option<PathBuf>,
    ) -> Layers {
        Layers { system, relay: None, domain, user, state_in_system: false }
    }

    /// Where logs, `tmp/`, `save/` and `inspect/` live: the most
    /// specific layer directory in use, or the system layer with
    /// [`Layers::state_in_system`].
    pub fn state_dir(&self) -> &Path {
        if self.state_in_system {
            return &self.system;
        }
        self.user.as_deref().or(self.domain.as_deref()).unwrap_or(&self.system)
    }

    /// Refuses a layer that someone other than root or the running user
    /// could write to (see [`crate::trust`]): the layer directory or its
    /// `control/` owned by another user, or writable by group or others
    /// (sticky or not). Such a layer could name a command (`injector`,
    /// a `|command` line, an engine) that qmvc would run as its user.
    /// One `stat` per directory; a directory that is not there is fine.
    pub fn check_trust(&self) -> Result<(), Error> {
        let layers = [
            self.user.as_deref(),
            self.domain.as_deref(),
            self.relay.as_deref(),
        ];
        for dir in layers.into_iter().flatten().chain([self.system.as_path()])
        {
            trust::check_dir(dir)?;
            trust::check_dir(&dir.join("control"))?;
        }
        Ok(())
    }

    /// Reads `control` from the most specific layer that has it
    /// (`LAYER/control/NAME`), else the built-in default. A missing file
    /// falls back; an empty file is a real, empty setting; any other read
    /// error, a file that is not UTF-8, or a group- or world-writable file
    /// is a [`Error`].
    pub fn read(&self, control: Control) -> Result<Source, Error> {
        Ok(self.read_layers(control)?.unwrap_or_else(|| {
            built_in(control.name(), control.default_text())
        }))
    }

    /// Reads `control` like [`Layers::read`], but `None` when no layer
    /// has it (no built-in default).
    pub(crate) fn read_layers(
        &self,
        control: Control,
    ) -> Result<Option<Source>, Error> {
        self.find(control.name())
    }

    /// Reads `control` like [`Layers::read_layers`], looking only in the
    /// layers whose `control/` directory `listing` shows it in (see
    /// [`Listing`]).
    pub(crate) fn read_listed(
        &self,
        control: Control,
        listing: &Listing,
    ) -> Result<Option<Source>, Error> {
        self.find_listed("control", control.name(), Some(listing))
    }

    /// What each layer's `control/` directory holds, read once: one
    /// `read_dir` per layer instead of a look-up of every known name in
    /// every layer.
    pub(crate) fn listing(&self) -> Listing {
        let list = |dir: Option<&Path>| match dir {
            None => Listed::Missing,
            Some(dir) => list_dir(&dir.join("control")),
        };
        Listing {
            user: list(self.user.as_deref()),
            domain: list(self.domain.as_deref()),
            relay: list(self.relay.as_deref()),
            system: list(Some(&self.system)),
        }
    }

    /// The built-in default of `control` as a [`Source`].
    pub(crate) fn built_in(control: Control) -> Source {
        built_in(control.name(), control.default_text())
    }

    /// Reads the file at `relative` under `control/` (such as
    /// `scanners.d/clamd.yaml`) like [`Layers::read`]: from the most
    /// specific layer that has it, else from `built_in` when there is one;
    /// `None` when neither has it. A `relative` that is absolute or has an
    /// empty, `.` or `..` component is a [`Error`].
    pub fn read_path(
        &self,
        relative: &str,
        built_in_text: Option<&'static str>,
    ) -> Result<Option<Source>, Error> {
        let bad = relative.is_empty()
            || relative.starts_with('/')
            || relative.split('/').any(|c| matches!(c, "" | "." | ".."));
        if bad {
            return Err(Error::configuration(
                relative.to_owned(),
                0,
                "not a path inside control/ (#4.3.0)".into(),
            ));
        }
        Ok(self
            .find(relative)?
            .or_else(|| built_in_text.map(|text| built_in(relative, text))))
    }

    /// Reads the definition of the virus scanner engine `engine`,
    /// `control/scanners.d/ENGINE.yaml`, like [`Layers::read_path`], with
    /// the definition shipped with qmvc (if any) as the built-in default.
    /// `None` when no layer has one and none ships. An `engine` that is
    /// not a name of lower-case ASCII letters, digits, `_` and `-` is a
    /// [`Error`].
    pub fn read_engine(&self, engine: &str) -> Result<Option<Source>, Error> {
        let relative = format!("scanners.d/{engine}.yaml");
        if !definitions::is_engine_name(engine) {
            return Err(Error::configuration(
                relative,
                0,
                "not an engine name (expected lower-case letters, digits, _ \
                 and -) (#4.3.0)"
                    .into(),
            ));
        }
        self.read_path(&relative, definitions::built_in(engine))
    }

    /// The file at `relative` under `control/` in the most specific layer
    /// that has it.
    fn find(&self, relative: &str) -> Result<Option<Source>, Error> {
        self.find_in("control", relative)
    }

    /// Reads the template `tpl/LANG/NAME.hbs` from the most specific
    /// layer that has it, else `built_in_text` (the copy shipped in
    /// `templates/`, compiled in) when there is one; `None` when neither
    /// has it. `lang` and `name` are checked before they become a path.
    pub fn read_template(
        &self,
        lang: &str,
        name: &str,
        built_in_text: Option<&'static str>,
    ) -> Result<Option<Source>, Error> {
        let relative = format!("{lang}/{name}.hbs");
        let safe = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !safe(lang) || !safe(name) {
            return Err(Error::configuration(
                format!("tpl/{relative}"),
                0,
                "not a template name (#4.3.0)".into(),
            ));
        }
        if let Some(source) = self.find_in("tpl", &relative)? {
            return Ok(Some(source));
        }
        Ok(built_in_text.map(|text| Source {
            text: Cow::Borrowed(text),
            file: format!("(built-in)/tpl/{relative}"),
            layer: Layer::BuiltIn,
        }))
    }

    fn find_in(
        &self,
        base: &str,
        relative: &str,
    ) -> Result<Option<Source>, Error> {
        self.find_listed(base, relative, None)
    }

    /// [`Layers::find_in`], skipping the layers where `listing` shows
    /// that `relative`'s first component is absent.
    fn find_listed(
        &self,
        base: &str,
        relative: &str,
        listing: Option<&Listing>,
    ) -> Result<Option<Source>, Error> {
        let layers = [
            (Layer::User, self.user.as_deref()),
            (Layer::Domain, self.domain.as_deref()),
            (Layer::Relay, self.relay.as_deref()),
            (Layer::System, Some(self.system.as_path())),
        ];
        let first = relative.split('/').next().unwrap_or(relative);
        for (layer, dir) in layers {
            let Some(dir) = dir else { continue };
            let kind = match listing {
                None => Some(Kind::Unknown),
                Some(listing) => listing.layer(layer).kind(first),
            };
            let Some(kind) = kind else { continue };
            check_dirs(dir, base, relative, listing.is_none())?;
            // A regular file named `relative` itself needs no look
            // before opening: it is no FIFO.
            let regular = kind == Kind::Regular && first == relative;
            let path = dir.join(base).join(relative);
            if let Some(text) = read_file(&path, regular)? {
                let file = path.display().to_string();
                return Ok(Some(Source {
                    text: Cow::Owned(text),
                    file,
                    layer,
                }));
            }
        }
        Ok(None)
    }
}

/// Refuses the directories of `layer` that `base/relative` is read
/// through when another user could write them (see
/// [`Layers::check_trust`]): each directory below `base`, and with
/// `all` (no listing, so [`Layers::check_trust`] may not have run) the
/// layer and `base` as well.
fn check_dirs(
    layer: &Path,
    base: &str,
    relative: &str,
    all: bool,
) -> Result<(), Error> {
    let mut dir = layer.join(base);
    if all {
        trust::check_dir(layer)?;
        trust::check_dir(&dir)?;
    }
    let mut names = relative.split('/').peekable();
    while let Some(name) = names.next() {
        if names.peek().is_none() {
            break;
        }
        dir.push(name);
        trust::check_dir(&dir)?;
    }
    Ok(())
}

/// The built-in copy of `relative` under `control/`.
fn built_in(relative: &str, text: &'static str) -> Source {
    Source {
        text: Cow::Borrowed(text),
        file: format!("(built-in)/control/{relative}"),
        layer: Layer::BuiltIn,
    }
}

/// `ENOTDIR`: a path component is not a directory (the same number on
/// Linux and the BSDs). `io::ErrorKind::NotADirectory` is newer than our
/// minimum Rust version.
const ENOTDIR: i32 = 20;

/// What a directory entry is, as far as its listing says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file (not a symbolic link).
    Regular,
    /// Anything else, or not known without a look.
    Unknown,
}

/// The names in one layer's `control/` directory.
#[derive(Clone, Debug)]
pub(crate) enum Listed {
    /// The directory (or the layer) is not there: nothing to read.
    Missing,
    /// The directory could not be listed (say, it is searchable but not
    /// readable): look every name up, as without a listing.
    Unlisted,
    /// The entries: name and kind.
    Names(Vec<(OsString, Kind)>),
}

impl Listed {
    /// `Some` kind when `name` may be in the directory, `None` when it is
    /// not.
    fn kind(&self, name: &str) -> Option<Kind> {
        match self {
            Listed::Missing => None,
            Listed::Unlisted => Some(Kind::Unknown),
            Listed::Names(names) => names
                .iter()
                .find(|(n, _)| n.as_encoded_bytes() == name.as_bytes())
                .map(|&(_, kind)| kind),
        }
    }
}

/// What the layers' `control/` directories hold (see
/// [`Layers::listing`]).
#[derive(Clone, Debug)]
pub(crate) struct Listing {
    user: Listed,
    domain: Listed,
    relay: Listed,
    system: Listed,
}

impl Listing {
    /// The listing of `layer`.
    fn layer(&self, layer: Layer) -> &Listed {
        match layer {
            Layer::User => &self.user,
            Layer::Domain => &self.domain,
            Layer::Relay => &self.relay,
            Layer::System | Layer::BuiltIn => &self.system,
        }
    }
}

/// Lists `dir`.
fn list_dir(dir: &Path) -> Listed {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if is_missing(&e) => return Listed::Missing,
        Err(_) => return Listed::Unlisted,
    };
    let mut names = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else { return Listed::Unlisted };
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        let kind = if regular { Kind::Regular } else { Kind::Unknown };
        names.push((entry.file_name(), kind));
    }
    Listed::Names(names)
}

/// The text of the control file at `path`; `None` when there is none
/// (the file or a directory on its path is missing). `regular`: a
/// listing of the directory just showed a regular file there.
fn read_file(path: &Path, regular: bool) -> Result<Option<String>, Error> {
    let shown = || path.display().to_string();
    let fail = |reason: String| Error::environment(shown(), reason);
    // Look before opening: opening a FIFO would block.
    if !regular {
        match fs::metadata(path) {
            Ok(meta) => check_kind(&meta).map_err(|r| fail(r.into()))?,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(fail(io_reason(&e))),
        }
    }
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(fail(io_reason(&e))),
    };
    // Check again what was opened: the path may have changed meanwhile.
    let meta = file.metadata().map_err(|e| fail(io_reason(&e)))?;
    check_kind(&meta).map_err(|r| fail(r.into()))?;
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(fail(
            "group or world writable; fix with chmod go-w (#4.7.0)".into(),
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| fail(io_reason(&e)))?;
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let good = e.as_bytes().get(..valid).unwrap_or_default();
        let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
        Error::configuration(
            shown(),
            line,
            format!(
                "not UTF-8 text (line {line}); convert the file to UTF-8 \
                 (#4.3.0)"
            ),
        )
    })
}

/// Whether a failed look-up means "no such file": fall back.
fn is_missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(ENOTDIR)
}

/// Only a regular file (or a symbolic link to one) is a control file;
/// else why not.
fn check_kind(meta: &fs::Metadata) -> Result<(), &'static str> {
    if meta.is_file() {
        Ok(())
    } else if meta.is_dir() {
        Err("is a directory, not a control file (#4.3.0)")
    } else {
        Err("not a regular file (#4.3.0)")
    }
}

/// A read error in words, with what to do where that is clear.
fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            "permission denied; make it readable by the user qmvc runs \
             as (#4.3.0)"
                .into()
        }
        _ => format!("cannot read: {e} (#4.3.0)"),
    }
}
