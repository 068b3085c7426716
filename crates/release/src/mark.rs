/*!
The `X-Qmvc-Released: ID; MAC` mark (SPEC 11): the one owner of how it
is computed ([`Key::mac`], for qmvc-release) and checked ([`check`], for
qmvc). MAC is the lower-case hex HMAC-SHA256, under the release key of
the layer that keeps the copies ([`key_layer`]: the system layer's
`control/releasekey` for system-layer deliveries, the user's
`$HOME/qmvc/control/releasekey` with `-u`), of the kept copy's ID, a
NUL byte, the message's Message-ID (its decoded value, empty when it has
none), a NUL byte, and the message's [`body`]; the NULs keep the parts
from running into each other.

A mark passes only with the same key, the same ID, the same Message-ID
and the same body: a forged MAC, or a mark copied onto another message or
given another ID, does not. Only the first `X-Qmvc-Released` field
counts (qmvc-release prepends it); the comparison takes constant time.
*/

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use qmvc_fault::{Blame, Fault};
use qmvc_message::Header;
use qmvc_profile::{Layers, Origin, Problem};
use sha2::Sha256;

/// The header field of the mark.
pub const FIELD: &str = "X-Qmvc-Released";

/// The key file, relative to its layer ([`key_layer`]).
pub const KEY_FILE: &str = "control/releasekey";

/// The layer whose `control/releasekey` signs and checks the marks of
/// the copies kept under `layers`: the layer that keeps them
/// ([`Layers::state_dir`]), so that qmvc-release with the same layer
/// options as the delivery finds the same key. A user (`-u`) has a key
/// of their own: the system key is the delivery user's alone.
pub fn key_layer(layers: &Layers) -> &Path {
    layers.state_dir()
}

/// The shortest key accepted, in bytes (scripts/install writes 64 hex
/// digits: 32 random bytes).
pub const KEY_MIN: usize = 32;

/// The largest key file read.
const KEY_MAX: u64 = 4096;

/// The release key: the text of `control/releasekey` less its trailing
/// white space, used as it is (not hex-decoded) as the HMAC key.
#[derive(Clone)]
pub struct Key(Vec<u8>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never printed, even in a debug dump.
        f.write_str("Key(..)")
    }
}

/// Why the release key cannot be used.
#[derive(Debug)]
pub enum KeyError {
    /// There is no `control/releasekey` in the layer.
    Missing(PathBuf),
    /// A new key could not be made (qmvc-release, outside the system
    /// layer).
    Unmade(PathBuf, io::Error),
    /// It cannot be opened or read (permissions, a symbolic link).
    Unreadable(PathBuf, io::Error),
    /// It is not a regular file, is empty, too short or too long.
    Bad(PathBuf, &'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Missing(path) => write!(
                f,
                "{}: missing; create it with 64 random hex digits, mode \
                 0600 (scripts/install does)",
                path.display()
            ),
            KeyError::Unreadable(path, e) => write!(
                f,
                "{}: cannot read it: {e}; it must be a regular file that \
                 the delivery user can read (mode 0600)",
                path.display()
            ),
            KeyError::Unmade(path, e) => write!(
                f,
                "{}: cannot make a new key: {e}; the layer's control/ must \
                 be writable by you",
                path.display()
            ),
            KeyError::Bad(path, why) => write!(
                f,
                "{}: {why}; write 64 random hex digits into it \
                 (scripts/install does)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for KeyError {}

impl Blame for KeyError {
    fn fault(&self) -> Fault {
        match self {
            KeyError::Missing(_)
            | KeyError::Unreadable(..)
            | KeyError::Unmade(..) => Fault::Environment,
            KeyError::Bad(path, _) => {
                Fault::Config { file: path.display().to_string(), line: 0 }
            }
        }
    }
}

impl Key {
    /// Reads the key of the layer `layer` ([`key_layer`]), never
    /// through a symbolic link.
    pub fn read(layer: &Path) -> Result<Key, KeyError> {
        let path = layer.join(KEY_FILE);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path);
        let file = match file {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(KeyError::Missing(path))
            }
            Err(e) => return Err(KeyError::Unreadable(path, e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| KeyError::Unreadable(path.clone(), e))?;
        if !meta.is_file() {
            return Err(KeyError::Bad(path, "not a regular file"));
        }
        let mut text = Vec::new();
        file_take(file)
            .read_to_end(&mut text)
            .map_err(|e| KeyError::Unreadable(path.clone(), e))?;
        if text.len() as u64 > KEY_MAX {
            return Err(KeyError::Bad(path, "longer than 4096 bytes"));
        }
        while text.last().is_some_and(u8::is_ascii_whitespace) {
            text.pop();
        }
        if text.len() < KEY_MIN {
            return Err(KeyError::Bad(path, "shorter than 32 bytes"));
        }
        Ok(Key(text))
    }

    /// Reads the key of `layer`, or makes one when it has none and is
    /// not the system layer `system` (whose key the installer makes and
    /// gives to the delivery user): 32 random bytes in hex, mode 0600,
    /// written under a temporary name and renamed into place without
    /// replacing, so that a reader never sees half a key and a key made
    /// at the same time by another run wins.
    pub fn read_or_make(layer: &Path, system: &Path) -> Result<Key, KeyError> {
        match Key::read(layer) {
            Err(KeyError::Missing(path)) if layer != system => {
                match make(&path) {
                    Ok(()) => Key::read(layer),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        Key::read(layer)
                    }
                    Err(e) => Err(KeyError::Unmade(path, e)),
                }
            }
            other => other,
        }
    }

    /// A key of these bytes (tests).
    pub fn from_bytes(bytes: &[u8]) -> Key {
        Key(bytes.to_vec())
    }

    /// The HMAC of `id`, `message_id` and the message's `body` under
    /// this key.
    fn hmac(&self, id: &str, message_id: &str, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length: new_from_slice cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable_key(),
        };
        mac.update(id.as_bytes());
        mac.update(&[0]);
        mac.update(message_id.as_bytes());
        mac.update(&[0]);
        mac.update(body);
        mac
    }

    /// The MAC of the mark for `id`, `message_id` and `body`, in
    /// lower-case hex.
    pub fn mac(&self, id: &str, message_id: &str, body: &[u8]) -> String {
        let bytes = self.hmac(id, message_id, body).finalize().into_bytes();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The whole field for `id`, `message_id` and `body`, without a
    /// line end: `X-Qmvc-Released: ID; MAC`.
    pub fn field(&self, id: &str, message_id: &str, body: &[u8]) -> String {
        format!("{FIELD}: {id}; {}", self.mac(id, message_id, body))
    }

    /// Whether `mac` (hex) is the MAC of `id`, `message_id` and `body`.
    fn verify(
        &self,
        id: &str,
        message_id: &str,
        body: &[u8],
        mac: &str,
    ) -> bool {
        let Some(bytes) = from_hex(mac) else { return false };
        self.hmac(id, message_id, body).verify_slice(&bytes).is_ok()
    }
}

/// Writes a new random key at `path` (see [`Key::read_or_make`]).
fn make(path: &Path) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::DirBuilderExt;
    if let Some(control) = path.parent() {
        match std::fs::DirBuilder::new().mode(0o755).create(control) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(e)
            }
            _ => {}
        }
    }
    let mut random = [0u8; 32];
    File::open("/dev/urandom")?.read_exact(&mut random)?;
    let mut text: String = random.iter().map(|b| format!("{b:02x}")).collect();
    text.push('\n');
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".new.{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| crate::rename_noreplace(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// What `qmvc -L` finds wrong with the release key of `layers`
/// ([`key_layer`]): a key others may read or write (they could forge
/// marks), a symbolic link (never followed), or a file that is no usable
/// key. A missing key is no problem: no mark passes then, and nothing
/// was released from that layer.
pub fn lint(layers: &Layers) -> Option<Problem> {
    use std::os::unix::fs::PermissionsExt;
    let layer = key_layer(layers);
    let path = layer.join(KEY_FILE);
    let problem = |message: String| Problem {
        origin: Origin { file: path.display().to_string(), line: 0 },
        message,
    };
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => return Some(problem(format!("cannot look at it: {e}"))),
    };
    if meta.file_type().is_symlink() {
        return Some(problem(
            "a symbolic link, which qmvc never follows: make it a regular \
             file, mode 0600"
                .into(),
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Some(problem(format!(
            "mode {mode:04o}: others can read or change the release key \
             and forge X-Qmvc-Released marks; chmod 0600 (owned by the \
             user deliveries run as)"
        )));
    }
    Key::read(layer).err().map(|e| problem(without_path(&e, &path)))
}

/// `e`'s message without the leading `PATH: ` (the problem names it).
fn without_path(e: &KeyError, path: &Path) -> String {
    let text = e.to_string();
    let prefix = format!("{}: ", path.display());
    text.strip_prefix(&prefix).map(str::to_owned).unwrap_or(text)
}

/// What `qmvc -C` shows of the release key of `layers`: where it is,
/// its layer, and whether marks can be checked (never the key).
pub fn describe(layers: &Layers) -> String {
    use std::os::unix::fs::MetadataExt;
    let layer = key_layer(layers);
    let path = layer.join(KEY_FILE);
    let which = if layer == layers.system {
        "system"
    } else if layers.user.as_deref() == Some(layer) {
        "user"
    } else {
        "domain"
    };
    let state = match (std::fs::symlink_metadata(&path), Key::read(layer)) {
        (Err(_), Err(KeyError::Missing(_))) if which == "system" => {
            "missing: no mark passes (the installer makes it)".to_owned()
        }
        (Err(_), Err(KeyError::Missing(_))) => {
            "missing: no mark passes (the first qmvc-release from this \
             layer makes it)"
                .to_owned()
        }
        (Ok(meta), Ok(_)) => format!(
            "present, mode {:04o}, owner uid {}: marks are checked",
            meta.mode() & 0o7777,
            meta.uid()
        ),
        (_, Err(e)) => {
            format!("not usable: {}; no mark passes", without_path(&e, &path))
        }
        (Err(e), Ok(_)) => format!("cannot look at it: {e}"),
    };
    format!("release key: {} ({which} layer): {state}\n", path.display())
}

/// `file` limited to one byte more than [`KEY_MAX`], so that a huge
/// file is noticed without reading it all.
fn file_take(file: File) -> io::Take<File> {
    file.take(KEY_MAX + 1)
}

/// HMAC accepts every key length; kept apart so that no `expect` is
/// needed where the key is used.
#[cold]
fn unreachable_key() -> ! {
    unreachable!("HMAC-SHA256 takes keys of any length")
}

/// `text` as bytes, when it is an even number of hex digits.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

/// The ID and MAC of a field value `ID; MAC` (white space around each
/// ignored; the MAC is after the last `;`).
fn split(value: &str) -> Option<(&str, &str)> {
    let (id, mac) = value.rsplit_once(';')?;
    let (id, mac) = (id.trim(), mac.trim());
    (!id.is_empty() && !mac.is_empty()).then_some((id, mac))
}

/// Whether `header` carries a mark at all: qmvc reads the key only then.
pub fn is_marked(header: &Header<'_>) -> bool {
    header.get(FIELD).is_some()
}

/// The ID of a valid mark in `header` of the message `raw`, under `key`:
/// the first `X-Qmvc-Released` field, with the MAC of its ID, the
/// header's Message-ID and the message's [`body`]. `None` for no mark,
/// or one that does not verify (a mark copied onto other content among
/// them).
pub fn check(key: &Key, header: &Header<'_>, raw: &[u8]) -> Option<String> {
    let value = header.value(FIELD)?;
    let (id, mac) = split(&value)?;
    let message_id = header.value("message-id").unwrap_or_default();
    key.verify(id, &message_id, body(raw), mac).then(|| id.to_owned())
}

/// The body of the message `raw`, which the mark covers: everything after
/// the first empty line (nothing when there is none). It is what reaches
/// qmvc unchanged after a release: qmail-inject and qmail-queue rewrite
/// and add header fields, never the body.
pub fn body(raw: &[u8]) -> &[u8] {
    let mut at = 0;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        at += line.len();
        if line == b"\n" || line == b"\r\n" {
            return raw.get(at..).unwrap_or_default();
        }
    }
    &[]
}

/// The Message-ID the mark of a message with `header` covers.
pub fn message_id(header: &Header<'_>) -> String {
    header.value("message-id").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::from_bytes(b"0123456789abcdef0123456789abcdef")
    }

    fn marked(field: &str, message_id: &str) -> Vec<u8> {
        format!("{field}\nMessage-ID: {message_id}\nSubject: x\n\nbody\n")
            .into_bytes()
    }

    #[test]
    fn a_mark_verifies_for_its_id_and_message_id_only() {
        let field = key().field("1.M2P3Q0.host", "<a@b>", b"body\n");
        let raw = marked(&field, "<a@b>");
        let (header, _) = Header::parse(&raw);
        assert_eq!(
            check(&key(), &header, &raw).as_deref(),
            Some("1.M2P3Q0.host")
        );
        // Copied onto another message.
        let raw = marked(&field, "<other@b>");
        assert_eq!(check(&key(), &Header::parse(&raw).0, &raw), None);
        // Onto other content with the same Message-ID.
        let mut raw = marked(&field, "<a@b>");
        raw.extend_from_slice(b"more\n");
        assert_eq!(check(&key(), &Header::parse(&raw).0, &raw), None);
        // Another ID with the same MAC.
        let mac = key().mac("1.M2P3Q0.host", "<a@b>", b"body\n");
        let raw = marked(&format!("{FIELD}: 9.M9P9Q9.host; {mac}"), "<a@b>");
        assert_eq!(check(&key(), &Header::parse(&raw).0, &raw), None);
        // Another key.
        let other = Key::from_bytes(&[b'z'; 40]);
        let raw = marked(&field, "<a@b>");
        assert_eq!(check(&other, &Header::parse(&raw).0, &raw), None);
        // Junk.
        for value in ["", ";", "x;", "; ab", "x; zz", "x; abc"] {
            let raw = marked(&format!("{FIELD}: {value}"), "<a@b>");
            assert_eq!(
                check(&key(), &Header::parse(&raw).0, &raw),
                None,
                "{value}"
            );
        }
        // The body is after the first empty line, CRLF or not.
        assert_eq!(body(b"A: b\n\nx\n\ny\n"), b"x\n\ny\n");
        assert_eq!(body(b"A: b\r\n\r\nx"), b"x");
        assert_eq!(body(b"A: b\n"), b"");
    }

    #[test]
    fn the_key_file_is_read_safely() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path();
        assert!(matches!(Key::read(system), Err(KeyError::Missing(_))));
        std::fs::create_dir(system.join("control")).unwrap();
        let path = system.join(KEY_FILE);
        std::fs::write(&path, "short\n").unwrap();
        assert!(matches!(Key::read(system), Err(KeyError::Bad(..))));
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
        let key = Key::read(system).unwrap();
        assert_eq!(
            key.mac("i", "m", b""),
            Key::from_bytes(&[b'a', b'b'].repeat(32)).mac("i", "m", b"")
        );
        std::fs::remove_file(&path).unwrap();
        let real = system.join("real");
        std::fs::write(&real, "ab".repeat(32)).unwrap();
        std::os::unix::fs::symlink(&real, &path).unwrap();
        assert!(matches!(Key::read(system), Err(KeyError::Unreadable(..))));
    }

    #[test]
    fn a_user_layer_gets_a_key_of_its_own_the_system_layer_never() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("system");
        let user = dir.path().join("user");
        std::fs::create_dir_all(&system).unwrap();
        std::fs::create_dir_all(&user).unwrap();
        // The installer's to make: never made here.
        assert!(matches!(
            Key::read_or_make(&system, &system),
            Err(KeyError::Missing(_))
        ));
        assert!(!system.join(KEY_FILE).exists());
        // A user's: made once (control/ too), 0600, 64 hex digits, and
        // the same key read back ever after.
        let made = Key::read_or_make(&user, &system).unwrap();
        let path = user.join(KEY_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65, "{text:?}");
        assert!(text.trim_end().bytes().all(|b| b.is_ascii_hexdigit()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Key::read_or_make(&user, &system).unwrap();
        assert_eq!(made.mac("i", "m", b"b"), again.mac("i", "m", b"b"));
        assert_eq!(
            std::fs::read_dir(user.join("control")).unwrap().count(),
            1
        );
        // A link at the key's name is never followed nor replaced.
        let other = dir.path().join("other");
        std::fs::create_dir_all(other.join("control")).unwrap();
        let target = dir.path().join("target");
        std::os::unix::fs::symlink(&target, other.join(KEY_FILE)).unwrap();
        assert!(matches!(
            Key::read_or_make(&other, &system),
            Err(KeyError::Unreadable(..))
        ));
        assert!(!target.exists());
    }
}
