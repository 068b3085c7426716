/*!
The qmail environment of one delivery. Every value here may come from a
remote stranger: it is only ever logged (normalised) or compared, never
handed to a shell or used in a path unchecked.
*/

use std::env;

/// Who sent the message to whom, as qmail-local says.
#[derive(Clone, Debug, Default)]
pub struct Envelope {
    /// `SENDER` (may be empty for bounces).
    pub sender: String,
    /// The original recipient: `RECIPIENT`, with the `-v` prefix taken off
    /// its local part.
    pub recipient: String,
}

fn var(name: &str) -> String {
    env::var_os(name)
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Envelope {
    /// Reads the environment; `prepend` is the `-v` argument (`-` meaning
    /// `$USER-`).
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
    use super::original_recipient;

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
