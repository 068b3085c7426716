/*!
`control/virtualdomains` (qmail-send(8)): which domains, subdomains and
addresses are virtual, and their prepend.
*/

use crate::MAX_ENTRIES;

/// What a line of `control/virtualdomains` covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `domain:prepend`.
    Domain,
    /// `.domain:prepend`: every subdomain.
    Subdomains,
    /// `user@domain:prepend`: one address.
    Address,
}

/// A line of `control/virtualdomains`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Virtual {
    /// The left side, as written.
    pub name: String,
    /// What it covers.
    pub scope: Scope,
    /// The right side.
    pub prepend: String,
}

/// Parses `control/virtualdomains`: blank and `#` lines skipped, and
/// lines with an empty prepend (exceptions: not virtual) or without a
/// `:`; at most [`MAX_ENTRIES`].
pub fn parse(text: &str) -> Vec<Virtual> {
    let mut out = Vec::new();
    for line in text.lines() {
        if out.len() >= MAX_ENTRIES {
            break;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, prepend)) = line.split_once(':') else { continue };
        let (name, prepend) = (name.trim(), prepend.trim());
        if name.is_empty() || prepend.is_empty() {
            continue;
        }
        let scope = if name.starts_with('.') {
            Scope::Subdomains
        } else if name.contains('@') {
            Scope::Address
        } else {
            Scope::Domain
        };
        out.push(Virtual {
            name: name.to_string(),
            scope,
            prepend: prepend.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtualdomains_lines() {
        let v = parse(
            "# comment\n\nexample.com:fehcom\n.example.net:shop\n\
             joe@example.org:joe\nnot.virtual.com:\nbroken\n",
        );
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].scope, Scope::Domain);
        assert_eq!(v[1].scope, Scope::Subdomains);
        assert_eq!(v[2].scope, Scope::Address);
        assert_eq!(v[2].prepend, "joe");
    }
}
