/*!
The layers of each recipient and the groups they form (SPEC.md section
7): the system layer; `relay/` above it when `RELAYCLIENT` is set; the
recipient's `domains/DOMAIN/` above those when that directory exists.
Recipients with the same layers form one group: one profile, one
delivery, one qmvc.log line, one hand-off to qmail-queue.
*/

use std::path::Path;

use qmvc_profile::Layers;

use crate::envelope;

/// The origin layer under the system layer, used when `RELAYCLIENT` is
/// set (an authorised or local client).
pub const RELAY_DIR: &str = "relay";

/// Where the domain layers are, under the system layer.
pub const DOMAINS_DIR: &str = "domains";

/// One group of recipients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Its layers; records stay in the system layer.
    pub layers: Layers,
    /// The recipients, as indexes into the envelope's, in order.
    pub members: Vec<usize>,
}

/// The domain of `recipient` (after its last `@`), lower-cased, when it
/// can name a directory: not empty, not `.` or `..`, no `/`, no NUL,
/// UTF-8. Anything else (hostile text included) has no domain layer.
pub fn domain_of(recipient: &[u8]) -> Option<String> {
    let at = recipient.iter().rposition(|&b| b == b'@')?;
    let domain = std::str::from_utf8(recipient.get(at + 1..)?).ok()?;
    let safe =
        !matches!(domain, "" | "." | "..") && !domain.contains(['/', '\0']);
    safe.then(|| domain.to_ascii_lowercase())
}

/// The layers of a recipient with `domain` (see [`domain_of`]);
/// `is_dir` says whether a domain layer directory exists.
pub fn layers_of(
    system: &Path,
    relay: bool,
    domain: Option<&str>,
    is_dir: &dyn Fn(&Path) -> bool,
) -> Layers {
    let domain = domain
        .map(|d| system.join(DOMAINS_DIR).join(d))
        .filter(|dir| is_dir(dir));
    Layers {
        system: system.to_path_buf(),
        relay: relay.then(|| system.join(RELAY_DIR)),
        domain,
        user: None,
        state_in_system: true,
    }
}

/// The groups of `envelope`'s recipients, in the order of their first
/// recipients.
pub fn group(
    system: &Path,
    relay: bool,
    envelope: &envelope::Envelope,
    is_dir: &dyn Fn(&Path) -> bool,
) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, recipient) in envelope.recipients.iter().enumerate() {
        let domain = domain_of(recipient);
        let layers = layers_of(system, relay, domain.as_deref(), is_dir);
        match groups.iter_mut().find(|g| g.layers == layers) {
            Some(group) => group.members.push(i),
            None => groups.push(Group { layers, members: vec![i] }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn domains_that_are_paths_are_not_layers() {
        assert_eq!(domain_of(b"a@Example.ORG"), Some("example.org".into()));
        assert_eq!(domain_of(b"a@b@c.d"), Some("c.d".into()));
        for bad in [
            &b"a@.."[..],
            b"a@.",
            b"a@",
            b"nodomain",
            b"a@x/../y",
            b"a@x\0y",
            b"a@\xff",
        ] {
            assert_eq!(domain_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn recipients_with_the_same_layers_form_a_group() {
        let system = Path::new("/q");
        let envelope = envelope::Envelope {
            sender: b"s@x".to_vec(),
            recipients: vec![
                b"a@one.example".to_vec(),
                b"b@none.example".to_vec(),
                b"c@ONE.example".to_vec(),
                b"d@..".to_vec(),
            ],
        };
        let is_dir = |p: &Path| p == Path::new("/q/domains/one.example");
        let groups = group(system, true, &envelope, &is_dir);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].members, [0, 2]);
        assert_eq!(
            groups[0].layers.domain,
            Some(PathBuf::from("/q/domains/one.example"))
        );
        assert_eq!(groups[1].members, [1, 3]);
        assert_eq!(groups[1].layers.domain, None);
        assert!(groups
            .iter()
            .all(|g| g.layers.relay == Some(PathBuf::from("/q/relay"))
                && g.layers.state_dir() == system));
        let plain = group(system, false, &envelope, &is_dir);
        assert!(plain.iter().all(|g| g.layers.relay.is_none()));
    }
}
