/*!
Finding a program along `PATH`: the one search that every part of qmvc
uses, so that what `qmvc -L` accepts and what a run starts agree.
*/

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// `PATH` when the environment has none.
const DEFAULT_PATH: &str =
    "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/// The executable file that `name` names: `name` itself when it holds a
/// `/` (an absolute or relative path), else the first executable file
/// `DIR/name` for the directories of `PATH` (of
/// `/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin` when
/// `PATH` is not set). Empty and relative directories of `PATH` are
/// skipped: they would make the answer depend on the current
/// directory. `None` when there is none.
///
/// "Executable" is a regular file (after symbolic links) with an execute
/// bit set; whether this user may run it shows only when it runs.
pub fn find_program(name: &str) -> Option<PathBuf> {
    find_in(name, std::env::var_os("PATH"))
}

/// [`find_program`] with `path` for `PATH`.
fn find_in(name: &str, path: Option<OsString>) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let path = PathBuf::from(name);
        return is_executable(&path).then_some(path);
    }
    let search = path.unwrap_or_else(|| DEFAULT_PATH.into());
    std::env::split_paths(&search)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a regular file with an execute bit set.
fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn first_executable_along_the_path() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        file(a.path(), "tool", 0o644);
        let want = file(b.path(), "tool", 0o755);
        file(b.path(), "other", 0o755);
        fs::create_dir(a.path().join("dir")).unwrap();
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(find_in("tool", Some(path.clone())), Some(want));
        assert_eq!(find_in("missing", Some(path.clone())), None);
        assert_eq!(find_in("dir", Some(path)), None, "a directory");
    }

    #[test]
    fn relative_and_empty_directories_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        file(dir.path(), "tool", 0o755);
        let rel = dir.path().file_name().unwrap().to_owned();
        let path = std::env::join_paths([
            PathBuf::new(),
            PathBuf::from("."),
            PathBuf::from(rel),
        ])
        .unwrap();
        assert_eq!(find_in("tool", Some(path)), None);
    }

    #[test]
    fn a_name_with_a_slash_is_the_path_itself() {
        let dir = tempfile::tempdir().unwrap();
        let tool = file(dir.path(), "tool", 0o700);
        let plain = file(dir.path(), "plain", 0o600);
        let name = tool.to_str().unwrap();
        assert_eq!(find_in(name, None), Some(tool.clone()));
        assert_eq!(find_in(plain.to_str().unwrap(), None), None);
        assert_eq!(find_in("", None), None);
        assert_eq!(find_in("/nonexistent/tool", None), None);
    }

    #[test]
    fn without_path_the_default_serves() {
        // /bin/sh exists on every system these tests run on.
        assert!(find_in("sh", None).is_some());
        assert_eq!(find_in("sh", Some(OsString::new())), None);
    }
}
