/*!
Executable loader types, found by parsing the decoded content with goblin.
*/

use std::fmt;

/// An executable or object format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoaderType {
    /// Windows Portable Executable (PE32, PE32+).
    Pe,
    /// Executable and Linkable Format.
    Elf,
    /// Mach-O, thin or fat.
    MachO,
    /// A COFF object file.
    Coff,
    /// A plain DOS MZ executable (a valid DOS header, no PE).
    Mz,
    /// A Unix `ar` archive.
    Archive,
}

impl LoaderType {
    /// Every type, in the order the man page lists them.
    pub const ALL: [LoaderType; 6] = [
        LoaderType::Pe,
        LoaderType::Elf,
        LoaderType::MachO,
        LoaderType::Coff,
        LoaderType::Mz,
        LoaderType::Archive,
    ];

    /// The keyword used in `badloadertypes` and the logs.
    pub fn name(self) -> &'static str {
        match self {
            LoaderType::Pe => "PE",
            LoaderType::Elf => "ELF",
            LoaderType::MachO => "MachO",
            LoaderType::Coff => "COFF",
            LoaderType::Mz => "MZ",
            LoaderType::Archive => "archive",
        }
    }

    /// The type named by `keyword` (case-insensitive).
    pub fn from_keyword(keyword: &str) -> Option<LoaderType> {
        LoaderType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(keyword))
    }
}

impl fmt::Display for LoaderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `prefix` (the first bytes of a decoded part) could start an
/// executable at all; when it cannot, [`detect`] need not see the rest.
pub fn plausible(prefix: &[u8]) -> bool {
    let _ = prefix;
    todo!()
}

/// The loader type of `bytes` (a whole decoded part), if goblin parses it
/// as one.
pub fn detect(bytes: &[u8]) -> Option<LoaderType> {
    let _ = bytes;
    todo!()
}
