/*!
The layers: system, domain, user; which one a control file comes from.
*/

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::{Control, ReadError};

/// Which layer something came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `$HOME/qmvc` with `-u`.
    User,
    /// `-c DIR`.
    Domain,
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
    /// The domain layer, if `-c` was given.
    pub domain: Option<PathBuf>,
    /// The user layer, if `-u` was given.
    pub user: Option<PathBuf>,
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
    /// The most specific layer directory in use: where logs, `tmp/`,
    /// `save/` and `inspect/` live.
    pub fn state_dir(&self) -> &Path {
        self.user.as_deref().or(self.domain.as_deref()).unwrap_or(&self.system)
    }

    /// Reads `control` from the most specific layer that has it
    /// (`LAYER/control/NAME`), else the built-in default. A missing file
    /// falls back; an empty file is a real, empty setting; any other read
    /// error, a file that is not UTF-8, or a group- or world-writable file
    /// is a [`ReadError`].
    pub fn read(&self, control: Control) -> Result<Source, ReadError> {
        let _ = control;
        todo!()
    }
}
