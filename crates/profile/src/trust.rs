/*!
Whom qmvc and the root-run programs trust with what they read: the one
owner of the rule of SPEC.md section 9.

A directory or file that a command can come from (a layer, its
`control/`, `scanners.d/`, `tpl/`; for a program run by root, every
directory up to `/` and the program it runs) must be owned by root or by
the user the program runs as, and must not be writable by group or
others. Anyone who can write there can make the program run their code
as its user: a `|command` line, an `injector`, an engine definition, a
file swapped in a directory above.

[`judge`] is the rule itself, pure. [`check_dir`] applies it to one
directory of a layer (one `stat`), as qmvc does for each layer on every
delivery; [`check_path`] walks a path from `/` as a root-run program
does, link by link.

The one allowance: a directory with the sticky bit (`/tmp`) may be
writable by others on the way to a file, because others cannot remove or
rename an entry they do not own there; the entry below it must still be
trusted. A directory things are read from (a layer, `control/`) gets no
such allowance: anyone could add a file to it.
*/

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::Error;

/// Group or others may write.
const WRITABLE: u32 = 0o022;
/// The sticky bit.
const STICKY: u32 = 0o1000;
/// The most symbolic links followed on one path, as the kernel's
/// `MAXSYMLINKS`.
const LINKS_MAX: usize = 40;

/// Why a file or directory is not trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distrust {
    /// Owned by someone other than root and the running user.
    Owner,
    /// Writable by group or others.
    Writable,
}

/// The rule: a file or directory with owner `owner` and mode `mode` is
/// trusted by a program running as `me` when root or `me` owns it and
/// neither group nor others may write it. `sticky_ok`: it is a
/// directory passed through on the way to something else, where a
/// sticky directory writable by others will do (see the module doc).
pub fn judge(
    owner: u32,
    mode: u32,
    me: u32,
    sticky_ok: bool,
) -> Result<(), Distrust> {
    if owner != 0 && owner != me {
        return Err(Distrust::Owner);
    }
    let sticky = sticky_ok && mode & STICKY != 0;
    if mode & WRITABLE != 0 && !sticky {
        return Err(Distrust::Writable);
    }
    Ok(())
}

/// The user this process runs as (its effective uid).
pub fn running_user() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether this process runs with rights its caller does not have:
/// installed setuid or setgid (qmvc-queue as `qmvcq`, SPEC.md section 7).
pub fn setuid() -> bool {
    // SAFETY: getuid(2) and friends have no preconditions, cannot fail.
    unsafe {
        libc::getuid() != libc::geteuid() || libc::getgid() != libc::getegid()
    }
}

/// Whose files [`judge`] trusts besides root's: the running user's,
/// except in a setuid program, which trusts root's alone (`me` is root):
/// its own user (`qmvcq`) owns the directories it writes, and what can
/// write there must not choose the commands it runs for every caller.
pub fn trusted_user() -> u32 {
    if setuid() {
        0
    } else {
        running_user()
    }
}

/// The refusal of `path` with `meta`: what, whose, which mode, and what
/// to do.
fn refusal(path: &Path, meta: &fs::Metadata, why: Distrust) -> Error {
    let shown = path.display();
    let reason = match why {
        Distrust::Owner if setuid() => format!(
            "owned by uid {}, not by root, which a setuid program \
             requires of what it reads commands from; fix with chown \
             root {shown} (#4.7.0)",
            meta.uid()
        ),
        Distrust::Owner => format!(
            "owned by uid {}, not by root or uid {} that runs this \
             program, so that user could make it run any command; fix \
             with chown root {shown} (#4.7.0)",
            meta.uid(),
            running_user()
        ),
        Distrust::Writable => format!(
            "mode {:04o} lets group or others write it, so they could \
             make this program run any command; fix with chmod go-w \
             {shown} (#4.7.0)",
            meta.mode() & 0o7777
        ),
    };
    Error::environment(shown.to_string(), reason)
}

/// Checks one directory that files are read from (a layer, its
/// `control/`, a directory below): `Ok` when it is trusted or not there
/// (nothing can be read from it); a symbolic link is followed (the
/// administrator may link a layer elsewhere: the directory it names is
/// checked).
pub fn check_dir(path: &Path) -> Result<(), Error> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if missing(&e) => return Ok(()),
        Err(e) => {
            return Err(Error::environment(
                path.display().to_string(),
                format!("cannot look at it: {e} (#4.3.0)"),
            ))
        }
    };
    judge(meta.uid(), meta.mode(), trusted_user(), false)
        .map_err(|why| refusal(path, &meta, why))
}

/// Checks `path` as a program run by root must before it reads a
/// command or control file there or runs it: every directory the
/// look-up passes through, from `/` (or the current directory for a
/// relative path) down, and the file itself, following each symbolic
/// link where it points and checking the directories it passes too.
/// `Ok` also when `path` does not exist (nothing is read); the
/// directories that do exist on the way are checked all the same.
pub fn check_path(path: &Path) -> Result<(), Error> {
    let me = trusted_user();
    let start = if path.is_absolute() {
        PathBuf::from("/")
    } else {
        std::env::current_dir().map_err(|e| {
            Error::environment(
                path.display().to_string(),
                format!("cannot find the current directory: {e} (#4.3.0)"),
            )
        })?
    };
    // The directories leading to `start` are checked as well.
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, path);
    let mut at = PathBuf::from("/");
    if start != at {
        push_components(&mut todo, &start);
    }
    look(&at, me, todo.len() > 1)?;
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            at.pop();
            continue;
        }
        let next = at.join(&name);
        let meta = match fs::symlink_metadata(&next) {
            Ok(meta) => meta,
            Err(e) if missing(&e) => return Ok(()),
            Err(e) => {
                return Err(Error::environment(
                    next.display().to_string(),
                    format!("cannot look at it: {e} (#4.3.0)"),
                ))
            }
        };
        if meta.file_type().is_symlink() {
            links += 1;
            let target = fs::read_link(&next).map_err(|e| {
                Error::environment(
                    next.display().to_string(),
                    format!("cannot read the link: {e} (#4.3.0)"),
                )
            })?;
            if links > LINKS_MAX {
                return Err(Error::environment(
                    path.display().to_string(),
                    "too many symbolic links (#4.3.0)".into(),
                ));
            }
            if target.is_absolute() {
                at = PathBuf::from("/");
            }
            push_components(&mut todo, &target);
            continue;
        }
        // The directory that holds what is read (one name left) is read
        // from: no sticky allowance there, nor for the file itself.
        let through = todo.len() > 1;
        judge(meta.uid(), meta.mode(), me, through)
            .map_err(|why| refusal(&next, &meta, why))?;
        at = next;
    }
    Ok(())
}

/// Looks at the directory `at` as [`check_path`] does.
fn look(at: &Path, me: u32, through: bool) -> Result<(), Error> {
    let meta = fs::metadata(at).map_err(|e| {
        Error::environment(
            at.display().to_string(),
            format!("cannot look at it: {e} (#4.3.0)"),
        )
    })?;
    judge(meta.uid(), meta.mode(), me, through)
        .map_err(|why| refusal(at, &meta, why))
}

/// Pushes the names of `path` onto `todo` so that the first is popped
/// first; `.` and the root go.
fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    let names: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {
                None
            }
        })
        .collect();
    todo.extend(names.into_iter().rev());
}

/// Whether a failed look-up means "not there".
fn missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        assert_eq!(judge(0, 0o40755, 1000, false), Ok(()));
        assert_eq!(judge(1000, 0o40700, 1000, false), Ok(()));
        assert_eq!(judge(0, 0o100644, 0, false), Ok(()));
        assert_eq!(judge(65534, 0o40755, 1000, false), Err(Distrust::Owner));
        assert_eq!(judge(65534, 0o40755, 0, true), Err(Distrust::Owner));
        assert_eq!(judge(0, 0o40775, 1000, false), Err(Distrust::Writable));
        assert_eq!(judge(0, 0o40757, 0, false), Err(Distrust::Writable));
        // /tmp: passed through, fine; read from, not.
        assert_eq!(judge(0, 0o41777, 0, true), Ok(()));
        assert_eq!(judge(0, 0o41777, 0, false), Err(Distrust::Writable));
        assert_eq!(judge(0, 0o40777, 0, true), Err(Distrust::Writable));
    }

    #[test]
    fn a_path_is_walked_link_by_link() {
        let me = running_user();
        if me != 0 {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let good = root.join("good");
        fs::create_dir(&good).unwrap();
        fs::write(good.join("file"), "x").unwrap();
        check_path(&good.join("file")).unwrap();
        check_path(&good.join("missing/file")).unwrap();
        // A link from a trusted directory into an untrusted one.
        let bad = root.join("bad");
        fs::create_dir(&bad).unwrap();
        std::os::unix::fs::chown(&bad, Some(65534), None).unwrap();
        fs::write(bad.join("file"), "x").unwrap();
        std::os::unix::fs::symlink(&bad, good.join("link")).unwrap();
        let e = check_path(&good.join("link/file")).unwrap_err();
        assert_eq!(e.file, bad.display().to_string());
        assert!(e.reason.contains("uid 65534"), "{e}");
        // A file that others may write.
        std::os::unix::fs::chown(&bad, Some(0), None).unwrap();
        check_path(&good.join("link/file")).unwrap();
        let file = bad.join("file");
        let mode = |p: &Path, m| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap()
        };
        mode(&file, 0o646);
        let e = check_path(&good.join("link/file")).unwrap_err();
        assert!(e.reason.contains("chmod go-w"), "{e}");
        mode(&file, 0o644);
        // A sticky directory on the way will do; as the one holding the
        // file, not.
        mode(&bad, 0o1777);
        let e = check_path(&file).unwrap_err();
        assert_eq!(e.file, bad.display().to_string());
        fs::create_dir(bad.join("sub")).unwrap();
        fs::write(bad.join("sub/file"), "x").unwrap();
        check_path(&bad.join("sub/file")).unwrap();
        assert!(check_dir(&bad).is_err());
        assert!(check_dir(&good).is_ok());
        assert!(check_dir(&root.join("none")).is_ok());
    }
}
