/*!
The kept messages of a layer: the Maildirs `save/CLASS/` that
qmvc-delivery's keep writes (`new/NAME`, with its qmvc.rep document in
`analysis/NAME.yaml`). The ID of a kept message is NAME, its Maildir file
name without the `:2,FLAGS` info; a released one is in `cur/` with the
`S` flag.

Everything here is read without following a symbolic link: a class
directory, its `new/`, `cur/` or `analysis/` that is a link is skipped,
and files are opened with `O_NOFOLLOW`. The names and the documents are
the message sender's text: callers show them through
[`qmvc_log::fields::visible`].
*/

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use qmvc_log::rep::{self, Report};

/// The longest ID accepted: a file name.
const ID_MAX: usize = 255;

/// One kept message.
#[derive(Clone, Debug)]
pub struct Kept {
    /// Its ID: the Maildir file name less `:2,FLAGS`.
    pub id: String,
    /// Its class: the folder under `save/` (`virus`, `policy`, `error`).
    pub class: String,
    /// The Maildir `save/CLASS/`.
    pub maildir: PathBuf,
    /// The file as it is now (`new/ID` or `cur/ID:2,FLAGS`).
    pub path: PathBuf,
    /// Whether it was released (in `cur/` with the `S` flag).
    pub released: bool,
}

impl Kept {
    /// Its qmvc.rep document (`analysis/ID.yaml`); `None` when it is
    /// missing, unreadable or damaged.
    pub fn report(&self) -> Option<Report> {
        let path = self.analysis();
        let file = open_regular(&path).ok()?;
        let mut reader =
            BufReader::new(file.take(rep::DOCUMENT_MAX as u64 + 1));
        let mut found = None;
        rep::for_each(&mut reader, &path, |report| {
            found.get_or_insert(report);
        })
        .ok()?;
        found
    }

    /// The path of its qmvc.rep document.
    pub fn analysis(&self) -> PathBuf {
        self.maildir.join("analysis").join(format!("{}.yaml", self.id))
    }
}

/// Whether `id` can be the name of a kept message: printable ASCII
/// without `/` and `:`, not starting with `.`, at most 255 bytes. Checked
/// before it goes into any path.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= ID_MAX
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

/// Opens `path` for reading, refusing a symbolic link (`O_NOFOLLOW`)
/// and anything but a regular file (without blocking on a FIFO).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Whether `path` is a directory itself, not a link to one.
fn real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// The entries of the directory `dir` that are plain names (not
/// starting with `.`, valid UTF-8); nothing when it cannot be read.
fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    out.sort();
    out
}

/// The Maildir flags of a file name in `cur/` (after `:2,`).
fn flags(name: &str) -> &str {
    name.split_once(":2,").map_or("", |(_, flags)| flags)
}

/// The kept message of `class` at `sub/name` (`sub` `new` or `cur`) of
/// the Maildir `maildir`, if the file is a regular one.
fn entry(maildir: &Path, class: &str, sub: &str, name: &str) -> Option<Kept> {
    let id = name.split_once(':').map_or(name, |(id, _)| id);
    if !valid_id(id) {
        return None;
    }
    let path = maildir.join(sub).join(name);
    if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    Some(Kept {
        id: id.to_owned(),
        class: class.to_owned(),
        maildir: maildir.to_path_buf(),
        released: sub == "cur" && flags(name).contains('S'),
        path,
    })
}

/// Every kept message of the layer whose state directory is `state`,
/// class by class, `new/` before `cur/`, by name.
pub fn list(state: &Path) -> Vec<Kept> {
    let save = state.join("save");
    let mut out = Vec::new();
    if !real_dir(&save) {
        return out;
    }
    for class in names(&save) {
        let maildir = save.join(&class);
        if !real_dir(&maildir) {
            continue;
        }
        for sub in ["new", "cur"] {
            let dir = maildir.join(sub);
            if !real_dir(&dir) {
                continue;
            }
            for name in names(&dir) {
                out.extend(entry(&maildir, &class, sub, &name));
            }
        }
    }
    out
}

/// The kept message `id` of the layer whose state directory is `state`:
/// the first found, preferring one not yet released.
pub fn find(state: &Path, id: &str) -> Option<Kept> {
    let mut found: Vec<Kept> =
        list(state).into_iter().filter(|k| k.id == id).collect();
    found.sort_by_key(|k| k.released);
    found.into_iter().next()
}

/// The name in `cur/` of the file `name` once released: the Maildir info
/// `:2,` with its flags and `S` (flags in ASCII order, as Maildir wants).
pub fn released_name(name: &str) -> String {
    let (id, old) = match name.split_once(":2,") {
        Some((id, flags)) => (id, flags),
        None => (name.split_once(':').map_or(name, |(id, _)| id), ""),
    };
    let mut flags: Vec<char> = old.chars().filter(char::is_ascii).collect();
    flags.push('S');
    flags.sort_unstable();
    flags.dedup();
    let flags: String = flags.into_iter().collect();
    format!("{id}:2,{flags}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_file_names() {
        assert!(valid_id("1765000000.M1P2Q0.host"));
        for bad in ["", ".x", "a/b", "a:2,S", "a b", "a\nb", "..", "ä"] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        assert!(!valid_id(&"x".repeat(256)));
    }

    #[test]
    fn released_names_carry_the_seen_flag() {
        assert_eq!(released_name("1.M2.h"), "1.M2.h:2,S");
        assert_eq!(released_name("1.M2.h:2,RF"), "1.M2.h:2,FRS");
        assert_eq!(released_name("1.M2.h:2,S"), "1.M2.h:2,S");
        assert_eq!(released_name("1.M2.h:1,x"), "1.M2.h:2,S");
    }
}
