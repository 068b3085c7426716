/*!
The guard addresses of `informguard=` and `forwardguard=`.

An address is `LOCAL@DOMAIN` or just `LOCAL` (qmail-inject completes it),
printable ASCII in the dot-atom form, and may hold the variables `$LOCAL`,
`$EXT`, `$HOST` and `$USER`, which are kept unexpanded; no other `$` is
allowed. It never starts with `-`, so that it cannot pass for an option of
the injector it is given to as an argument.
*/

use std::fmt;

/// The variables an address may hold.
const VARIABLES: [&str; 4] = ["LOCAL", "EXT", "HOST", "USER"];

/// Characters allowed in the local part besides letters and digits (the
/// RFC 5322 atom characters).
const LOCAL_SPECIALS: &str = "!#%&'*+-/=?^_`{}~";

/// Longest address (RFC 5321 section 4.5.3.1.3, the path less `<>`).
const MAX_ADDRESS: usize = 254;

/// What is wrong with an address.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// It is empty.
    Missing,
    /// It is longer than 254 bytes.
    TooLong,
    /// It holds a space or a tab.
    WhiteSpace,
    /// It holds a character that is not printable ASCII.
    Character(char),
    /// Nothing before the `@`.
    EmptyLocal,
    /// It starts with `-`.
    LeadingDash,
    /// A character not allowed in the local part.
    LocalCharacter(char),
    /// A leading, trailing or doubled `.` in the local part.
    LocalDot,
    /// Nothing after the `@`.
    EmptyDomain,
    /// A character not allowed in the domain.
    DomainCharacter(char),
    /// A leading, trailing or doubled `.` in the domain.
    DomainDot,
    /// A `$` that starts no variable name.
    LoneDollar,
    /// A variable other than `$LOCAL`, `$EXT`, `$HOST`, `$USER`.
    UnknownVariable(String),
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Missing => f.write_str("the address is missing"),
            AddressError::TooLong => {
                write!(f, "it is longer than {MAX_ADDRESS} bytes")
            }
            AddressError::WhiteSpace => {
                f.write_str("white space is not allowed")
            }
            AddressError::Character(c) => {
                write!(f, "character {c:?} is not allowed")
            }
            AddressError::EmptyLocal => {
                f.write_str("the local part before '@' is empty")
            }
            AddressError::LeadingDash => {
                f.write_str("it must not start with '-'")
            }
            AddressError::LocalCharacter(c) => {
                write!(f, "character '{c}' is not allowed in the local part")
            }
            AddressError::LocalDot => {
                f.write_str("misplaced '.' in the local part")
            }
            AddressError::EmptyDomain => {
                f.write_str("the domain after '@' is empty")
            }
            AddressError::DomainCharacter(c) => {
                write!(f, "character '{c}' is not allowed in the domain")
            }
            AddressError::DomainDot => {
                f.write_str("misplaced '.' in the domain")
            }
            AddressError::LoneDollar => {
                f.write_str("'$' must start $LOCAL, $EXT, $HOST or $USER")
            }
            AddressError::UnknownVariable(name) => write!(
                f,
                "unknown variable \"${name}\" (only $LOCAL, $EXT, $HOST, \
                 $USER are expanded)"
            ),
        }
    }
}

impl std::error::Error for AddressError {}

impl qmvc_fault::Blame for AddressError {
    /// The configuration's: a guard address is written in a filter line
    /// (the caller that knows the line reports it as a problem there).
    fn fault(&self) -> qmvc_fault::Fault {
        qmvc_fault::Fault::Config { file: "control/filters".into(), line: 0 }
    }
}

/// Checks `address`, which may hold variables.
pub(crate) fn check_address(address: &str) -> Result<(), AddressError> {
    if address.is_empty() {
        return Err(AddressError::Missing);
    }
    plain_address(&replace_variables(address)?)
}

/// Checks that `plain` (an address without variables) is `LOCAL@DOMAIN`
/// or `LOCAL` in plain dot-atom form: printable ASCII, atom characters,
/// no leading `-`, at most 254 bytes. Every address qmvc hands to an
/// injector passes this.
pub fn plain_address(plain: &str) -> Result<(), AddressError> {
    if plain.is_empty() {
        return Err(AddressError::Missing);
    }
    if plain.len() > MAX_ADDRESS {
        return Err(AddressError::TooLong);
    }
    if let Some(c) = plain.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(match c {
            ' ' | '\t' => AddressError::WhiteSpace,
            _ => AddressError::Character(c),
        });
    }
    let (local, domain) = match plain.split_once('@') {
        Some((local, domain)) => (local, Some(domain)),
        None => (plain, None),
    };
    if local.is_empty() {
        return Err(AddressError::EmptyLocal);
    }
    if local.starts_with('-') {
        return Err(AddressError::LeadingDash);
    }
    if let Some(c) = local.chars().find(|&c| {
        !c.is_ascii_alphanumeric() && c != '.' && !LOCAL_SPECIALS.contains(c)
    }) {
        return Err(AddressError::LocalCharacter(c));
    }
    if !dot_atom(local) {
        return Err(AddressError::LocalDot);
    }
    if let Some(domain) = domain {
        if domain.is_empty() {
            return Err(AddressError::EmptyDomain);
        }
        if let Some(c) = domain
            .chars()
            .find(|&c| !c.is_ascii_alphanumeric() && c != '.' && c != '-')
        {
            return Err(AddressError::DomainCharacter(c));
        }
        if !dot_atom(domain) {
            return Err(AddressError::DomainDot);
        }
    }
    Ok(())
}

/// Whether `s` has no leading, trailing or doubled dot.
fn dot_atom(s: &str) -> bool {
    !s.starts_with('.') && !s.ends_with('.') && !s.contains("..")
}

/// `address` with every variable replaced by a plain letter; an error
/// for any other `$`.
fn replace_variables(address: &str) -> Result<String, AddressError> {
    let mut plain = String::with_capacity(address.len());
    let mut rest = address;
    while let Some(at) = rest.find('$') {
        plain.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(after.len());
        let name = &after[..end];
        if name.is_empty() {
            return Err(AddressError::LoneDollar);
        }
        if !VARIABLES.contains(&name) {
            return Err(AddressError::UnknownVariable(name.to_owned()));
        }
        plain.push('x');
        rest = &after[end..];
    }
    plain.push_str(rest);
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses() {
        for address in [
            "postmaster",
            "postmaster@example.com",
            "guard-$LOCAL@example.com",
            "$USER-spam@$HOST",
            "a.b+c=d@mail.example.org",
            "$EXT@x",
        ] {
            assert_eq!(check_address(address), Ok(()), "{address}");
        }
    }

    #[test]
    fn bad_addresses() {
        for (address, why) in [
            ("", "the address is missing"),
            ("@example.com", "the local part before '@' is empty"),
            ("joe@", "the domain after '@' is empty"),
            ("-joe@example.com", "it must not start with '-'"),
            ("a@b@c", "character '@' is not allowed in the domain"),
            ("joe doe@x", "white space is not allowed"),
            ("joe..doe@x", "misplaced '.' in the local part"),
            ("joe@x..y", "misplaced '.' in the domain"),
            ("<joe@x>", "character '<' is not allowed in the local part"),
            ("joe@ex_ample", "character '_' is not allowed in the domain"),
            (
                "$HOME@x",
                "unknown variable \"$HOME\" (only $LOCAL, $EXT, $HOST, \
                 $USER are expanded)",
            ),
            ("${EXT}@x", "'$' must start $LOCAL, $EXT, $HOST or $USER"),
            (
                "$EXT2@x",
                "unknown variable \"$EXT2\" (only $LOCAL, $EXT, $HOST, \
                 $USER are expanded)",
            ),
        ] {
            assert_eq!(
                check_address(address).map_err(|e| e.to_string()),
                Err(why.to_owned()),
                "{address}"
            );
        }
    }
}

#[cfg(test)]
mod plain_tests {
    use super::plain_address;

    #[test]
    fn every_character_of_the_local_part_counts() {
        assert!(plain_address("bob-a@example.org").is_ok());
        // A comma after an allowed special would make two recipients.
        assert!(plain_address("bob-a,carol@example.org").is_err());
        assert!(plain_address("bob-x y@example.org").is_err());
        assert!(plain_address("-oi@example.org").is_err());
        assert!(plain_address(&format!("{}@x", "a".repeat(260))).is_err());
    }
}
