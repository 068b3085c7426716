/*!
Executable loader types, found by parsing the decoded content with goblin,
and the keyword `encrypted` for what an archive listing finds encrypted.
*/

use std::fmt;
use std::panic::catch_unwind;

use goblin::mach::Mach;
use goblin::Object;

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
    /// Encrypted content no scanner can look into: an encrypted archive
    /// member ([`crate::archive::Member::encrypted`]). Never returned by
    /// [`detect`]; the archive listing finds it.
    Encrypted,
}

impl LoaderType {
    /// Every type, in the order the man page lists them.
    pub const ALL: [LoaderType; 7] = [
        LoaderType::Pe,
        LoaderType::Elf,
        LoaderType::MachO,
        LoaderType::Coff,
        LoaderType::Mz,
        LoaderType::Archive,
        LoaderType::Encrypted,
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
            LoaderType::Encrypted => "encrypted",
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
    // Exactly the magic numbers goblin's `peek_bytes` dispatches on, plus
    // the swapped and 64-bit fat headers.
    const STARTS: [&[u8]; 4] = [b"\x7fELF", b"MZ", b"VZ", b"!<arch>\n"];
    const MACH: [u32; 8] = [
        0xfeed_face,
        0xfeed_facf,
        0xcefa_edfe,
        0xcffa_edfe,
        0xcafe_babe,
        0xbeba_feca,
        0xcafe_babf,
        0xbfba_feca,
    ];
    const COFF: [u16; 3] = [0x014c, 0x8664, 0xaa64];
    if STARTS.iter().any(|s| prefix.starts_with(s)) {
        return true;
    }
    if let Some(&[a, b, c, d]) = prefix.get(..4) {
        if MACH.contains(&u32::from_be_bytes([a, b, c, d])) {
            return true;
        }
    }
    match prefix.get(..2) {
        Some(&[a, b]) => COFF.contains(&u16::from_le_bytes([a, b])),
        _ => false,
    }
}

/// The loader type of `bytes` (a whole decoded part), if goblin parses it
/// as one.
pub fn detect(bytes: &[u8]) -> Option<LoaderType> {
    if !plausible(bytes) {
        return None;
    }
    // goblin is fuzzed but not panic-free; a panic is "not an executable".
    let parsed = catch_unwind(|| match Object::parse(bytes) {
        // A TE image is a PE with its header cut down (UEFI).
        Ok(Object::PE(_) | Object::TE(_)) => Some(LoaderType::Pe),
        Ok(Object::Elf(_)) => Some(LoaderType::Elf),
        Ok(Object::Mach(Mach::Binary(_))) => Some(LoaderType::MachO),
        Ok(Object::Mach(Mach::Fat(fat))) => {
            fat_plausible(&fat, bytes.len()).then_some(LoaderType::MachO)
        }
        Ok(Object::COFF(_)) => Some(LoaderType::Coff),
        Ok(Object::Archive(_)) => Some(LoaderType::Archive),
        _ => None,
    })
    .unwrap_or(None);
    parsed.or_else(|| dos_plausible(bytes).then_some(LoaderType::Mz))
}

/// A fat Mach-O header shares its magic with Java class files, where the
/// architecture count is the class version (45 and up): like file(1),
/// take only a small count, and every slice must lie inside the file.
fn fat_plausible(fat: &goblin::mach::MultiArch<'_>, len: usize) -> bool {
    let Ok(arches) = fat.arches() else { return false };
    (1..20).contains(&arches.len())
        && arches.iter().all(|a| {
            (a.offset as usize)
                .checked_add(a.size as usize)
                .is_some_and(|end| end <= len)
        })
}

/// Whether `bytes` start with a DOS MZ header whose numbers fit together
/// (text that merely starts with "MZ" has letters there).
fn dos_plausible(bytes: &[u8]) -> bool {
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 2)?;
        Some(usize::from(u16::from_le_bytes([*b.first()?, *b.get(1)?])))
    };
    let (Some(last_page), Some(pages), Some(relocations), Some(paragraphs)) =
        (word(2), word(4), word(6), word(8))
    else {
        return false;
    };
    let Some(relocation_table) = word(24) else { return false };
    let header = paragraphs * 16;
    bytes.starts_with(b"MZ")
        && last_page < 512
        && pages >= 1
        && paragraphs >= 2
        && header <= bytes.len()
        && header <= pages * 512
        && (relocations == 0
            || relocation_table.saturating_add(relocations * 4) <= header)
}
