/*!
The qmail environment of one delivery, as qmail-local sets it
(qmail-command(8)). Every value here may come from a remote stranger: it
is only ever logged (normalised) or compared, never handed to a shell or
used in a path unchecked.
*/

use std::env;

use qmvc_delivery::{AddressVars, Envelope};

fn var(name: &str) -> String {
    env::var_os(name)
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `SENDER`, and the original recipient: `RECIPIENT` with the `-v`
/// prefix `prepend` (`-` meaning `$USER-`) taken off its local part.
pub fn from_env(prepend: Option<&str>) -> Envelope {
    let recipient = var("RECIPIENT");
    let prefix = match prepend {
        Some("-") => Some(format!("{}-", var("USER"))),
        Some(p) => Some(p.to_string()),
        None => None,
    };
    Envelope {
        sender: var("SENDER"),
        recipient: original_recipient(&recipient, prefix.as_deref()),
    }
}

/// The candidate spam user (SPEC 8): the recipient's local part, which
/// is `USER` (the qmail user whose dot-qmail runs qmvc), or with `-v` the
/// local part of the original recipient `envelope` holds. Untrusted:
/// qmvc-profile's `spam_user_ok` decides whether it is sent.
pub fn spam_user(prepend: Option<&str>, envelope: &Envelope) -> String {
    match prepend {
        Some(_) => local_part(&envelope.recipient).to_string(),
        None => var("USER"),
    }
}

/// The local part of `address`: everything before its last `@`.
fn local_part(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(local, _)| local)
}

/// What `$LOCAL`, `$EXT`, `$HOST` and `$USER` mean in a guard's address.
pub fn address_vars() -> AddressVars {
    AddressVars {
        local: var("LOCAL"),
        ext: var("EXT"),
        host: var("HOST"),
        user: var("USER"),
    }
}

/// `RECIPIENT` with `prefix` removed from the front of its local part;
/// unchanged when it does not start with it.
pub fn original_recipient(recipient: &str, prefix: Option<&str>) -> String {
    match prefix {
        Some(p) if !p.is_empty() => recipient
            .strip_prefix(p)
            .filter(|rest| !rest.is_empty() && !rest.starts_with('@'))
            .unwrap_or(recipient)
            .to_string(),
        _ => recipient.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{local_part, original_recipient};

    #[test]
    fn the_local_part_is_before_the_last_at() {
        assert_eq!(local_part("joe@example.com"), "joe");
        assert_eq!(local_part("\"a@b\"@example.com"), "\"a@b\"");
        assert_eq!(local_part("joe"), "joe");
    }

    #[test]
    fn prefix_is_removed_from_the_local_part() {
        assert_eq!(
            original_recipient(
                "example.com-joe@example.com",
                Some("example.com-")
            ),
            "joe@example.com"
        );
        assert_eq!(
            original_recipient("joe@example.com", Some("other-")),
            "joe@example.com"
        );
        assert_eq!(
            original_recipient("x-@example.com", Some("x-")),
            "x-@example.com"
        );
        assert_eq!(original_recipient("a@b", None), "a@b");
    }
}
