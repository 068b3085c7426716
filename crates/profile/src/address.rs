/*!
The guard addresses of `informguard=` and `forwardguard=`.

An address is `LOCAL@DOMAIN` or just `LOCAL` (qmail-inject completes it),
printable ASCII in the dot-atom form, and may hold the variables `$LOCAL`,
`$EXT`, `$HOST` and `$USER`, which are kept unexpanded; no other `$` is
allowed. It never starts with `-`, so that it cannot pass for an option of
the injector it is given to as an argument.
*/

/// The variables an address may hold.
const VARIABLES: [&str; 4] = ["LOCAL", "EXT", "HOST", "USER"];

/// Characters allowed in the local part besides letters and digits (the
/// RFC 5322 atom characters).
const LOCAL_SPECIALS: &str = "!#%&'*+-/=?^_`{}~";

/// Checks `address`; the error says what is wrong.
pub(crate) fn check_address(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("the address is missing".into());
    }
    plain_address(&replace_variables(address)?)
}

/// Longest address (RFC 5321 section 4.5.3.1.3, the path less `<>`).
const MAX_ADDRESS: usize = 254;

/// Checks that `plain` (an address without variables) is `LOCAL@DOMAIN`
/// or `LOCAL` in plain dot-atom form: printable ASCII, atom characters,
/// no leading `-`, at most 254 bytes. Every address qmvc hands to an
/// injector passes this; the error says what is wrong.
pub fn plain_address(plain: &str) -> Result<(), String> {
    if plain.is_empty() {
        return Err("the address is missing".into());
    }
    if plain.len() > MAX_ADDRESS {
        return Err(format!("it is longer than {MAX_ADDRESS} bytes"));
    }
    if let Some(c) = plain.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(match c {
            ' ' | '\t' => "white space is not allowed".into(),
            _ => format!("character {c:?} is not allowed"),
        });
    }
    let (local, domain) = match plain.split_once('@') {
        Some((local, domain)) => (local, Some(domain)),
        None => (plain, None),
    };
    if local.is_empty() {
        return Err("the local part before '@' is empty".into());
    }
    if local.starts_with('-') {
        return Err("it must not start with '-'".into());
    }
    if let Some(c) = local.chars().find(|&c| {
        !c.is_ascii_alphanumeric() && c != '.' && !LOCAL_SPECIALS.contains(c)
    }) {
        return Err(format!(
            "character '{c}' is not allowed in the local part"
        ));
    }
    if !dot_atom(local) {
        return Err("misplaced '.' in the local part".into());
    }
    if let Some(domain) = domain {
        if domain.is_empty() {
            return Err("the domain after '@' is empty".into());
        }
        if let Some(c) = domain
            .chars()
            .find(|&c| !c.is_ascii_alphanumeric() && c != '.' && c != '-')
        {
            return Err(format!(
                "character '{c}' is not allowed in the domain"
            ));
        }
        if !dot_atom(domain) {
            return Err("misplaced '.' in the domain".into());
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
fn replace_variables(address: &str) -> Result<String, String> {
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
            return Err("'$' must start $LOCAL, $EXT, $HOST or $USER".into());
        }
        if !VARIABLES.contains(&name) {
            return Err(format!(
                "unknown variable \"${name}\" (only $LOCAL, $EXT, $HOST, \
                 $USER are expanded)"
            ));
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
            assert_eq!(check_address(address), Err(why.into()), "{address}");
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
