/*!
`users/assign` (qmail-users(5)) and the entry qmail-lspawn picks for a
local part.
*/

use crate::MAX_ENTRIES;

/// An entry of `users/assign`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assign {
    /// `+loc` (local parts starting with `loc`) rather than `=local`.
    pub prefix: bool,
    /// `loc` or `local`.
    pub local: String,
    /// The user it delivers as.
    pub user: String,
    /// Their home directory.
    pub home: String,
}

/// Parses `users/assign` up to its `.` line; damaged lines (too few
/// fields, no user or home) are skipped; at most [`MAX_ENTRIES`].
pub fn parse(text: &str) -> Vec<Assign> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line == "." || out.len() >= MAX_ENTRIES {
            break;
        }
        let prefix = match line.as_bytes().first() {
            Some(b'+') => true,
            Some(b'=') => false,
            _ => continue,
        };
        let fields: Vec<&str> =
            line.get(1..).unwrap_or_default().split(':').collect();
        if let [local, user, _uid, _gid, home, _, _, ..] = fields.as_slice() {
            if user.is_empty() || home.is_empty() {
                continue;
            }
            out.push(Assign {
                prefix,
                local: local.to_string(),
                user: user.to_string(),
                home: home.to_string(),
            });
        }
    }
    out
}

/// The entry of `assign` that receives the mail of a virtual domain
/// with `prepend`: the `+` entry with the longest prefix of `PREPEND-`
/// (the first of equals, as qmail-newu keeps), else `=PREPEND`. Local
/// parts are compared without regard to case, as qmail does.
pub fn resolve<'a>(assign: &'a [Assign], prepend: &str) -> Option<&'a Assign> {
    let local = format!("{prepend}-").to_ascii_lowercase();
    let mut best: Option<&Assign> = None;
    for entry in assign.iter().filter(|a| a.prefix) {
        let matches = local.starts_with(&entry.local.to_ascii_lowercase());
        if matches && best.is_none_or(|b| entry.local.len() > b.local.len()) {
            best = Some(entry);
        }
    }
    best.or_else(|| {
        assign
            .iter()
            .find(|a| !a.prefix && a.local.eq_ignore_ascii_case(prepend))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSIGN: &str = "=fehcom:fehcom:1001:1001:/home/fehcom:::\n\
                          +fehcom-:fehcom:1001:1001:/home/fehcom:-::\n\
                          +shop-:shop:1002:1002:/home/shop:-::\n\
                          +shop-eu-:shopeu:1003:1003:/home/shopeu:-::\n\
                          =alias:alias:7790:2108:/var/qmail/alias:::\n\
                          broken line\n\
                          .\n\
                          +after-:x:1:1:/x:-::\n";

    #[test]
    fn assign_is_parsed_up_to_the_dot() {
        let entries = parse(ASSIGN);
        assert_eq!(entries.len(), 5);
        assert_eq!(
            entries[1],
            Assign {
                prefix: true,
                local: "fehcom-".into(),
                user: "fehcom".into(),
                home: "/home/fehcom".into(),
            }
        );
        assert!(!entries[0].prefix);
        assert!(parse("").is_empty());
    }

    #[test]
    fn prepends_resolve_by_longest_prefix() {
        let entries = parse(ASSIGN);
        assert_eq!(resolve(&entries, "shop").unwrap().user, "shop");
        assert_eq!(resolve(&entries, "shop-eu").unwrap().user, "shopeu");
        assert_eq!(resolve(&entries, "SHOP").unwrap().user, "shop");
        assert_eq!(resolve(&entries, "alias").unwrap().user, "alias");
        assert!(resolve(&entries, "nobody").is_none());
        let catch_all = parse("+:all:1:1:/home/all:-::\n.\n");
        assert_eq!(resolve(&catch_all, "x").unwrap().user, "all");
    }
}
