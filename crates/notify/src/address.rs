/*!
Expanding `$LOCAL`, `$EXT`, `$HOST` and `$USER` in a guard address, and
the check that every address handed to the injector passes.

The values come from qmail-local's environment, and so from whoever sent
the message: the result is checked to be one plain address that can be
neither an option of the injector nor anything but one recipient.
*/

use crate::AddressVars;

/// Longest address (RFC 5321 section 4.5.3.1.3, the path less `<>`).
const MAX_ADDRESS: usize = 254;

/// See [`crate::expand_address`].
pub(crate) fn expand_address(
    address: &str,
    vars: &AddressVars,
) -> Result<String, String> {
    let expanded = expand(address, vars)?;
    check(&expanded).map_err(|why| {
        format!(
            "the guard address {:?} expands to {}: {why}",
            address,
            shown(&expanded)
        )
    })?;
    Ok(expanded)
}

/// `address` with its variables replaced; an error for any other `$`.
fn expand(address: &str, vars: &AddressVars) -> Result<String, String> {
    let mut out = String::with_capacity(address.len() + 32);
    let mut rest = address;
    while let Some((before, after)) = rest.split_once('$') {
        out.push_str(before);
        let end = after
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(after.len());
        let name = after.get(..end).unwrap_or_default();
        let value = match name {
            "LOCAL" => &vars.local,
            "EXT" => &vars.ext,
            "HOST" => &vars.host,
            "USER" => &vars.user,
            "" => {
                return Err(format!(
                    "in the guard address {address:?}, '$' must start \
                     $LOCAL, $EXT, $HOST or $USER"
                ))
            }
            _ => {
                return Err(format!(
                    "in the guard address {address:?}, unknown variable \
                     \"${name}\" (only $LOCAL, $EXT, $HOST, $USER are \
                     expanded)"
                ))
            }
        };
        out.push_str(value);
        if out.len() > 4 * MAX_ADDRESS {
            return Err(format!(
                "the guard address {address:?} expands to more than \
                 {MAX_ADDRESS} bytes"
            ));
        }
        rest = after.get(end..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks that `address` is `LOCAL@DOMAIN` or `LOCAL` in plain dot-atom
/// form; see [`crate::check_address`]. The rule is the profile's, so that
/// what `qmvc -L` accepts and what goes to the injector never differ.
pub(crate) fn check(address: &str) -> Result<(), String> {
    qmvc_profile::plain_address(address).map_err(|e| e.to_string())
}

/// `s` quoted with escapes and cut, for an error message.
fn shown(s: &str) -> String {
    let cut: String = s.chars().take(300).collect();
    format!("{cut:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(ext: &str) -> AddressVars {
        AddressVars {
            local: "joe-spam".into(),
            ext: ext.into(),
            host: "example.com".into(),
            user: "joe".into(),
        }
    }

    #[test]
    fn expands_the_four_variables() {
        let v = vars("spam");
        for (address, expanded) in [
            ("postmaster", "postmaster"),
            ("postmaster@example.org", "postmaster@example.org"),
            ("guard-$LOCAL@$HOST", "guard-joe-spam@example.com"),
            ("$USER-$EXT@$HOST", "joe-spam@example.com"),
            ("$USER.x@h", "joe.x@h"),
            ("$EXT", "spam"),
        ] {
            assert_eq!(expand_address(address, &v).as_deref(), Ok(expanded));
        }
    }

    #[test]
    fn hostile_values_are_refused() {
        for ext in [
            "x\nBcc: y",
            "x\r\nBcc: y",
            "-oi",
            "a b",
            "a\tb",
            "x@y",
            "<x>",
            "a,b",
            "a;b",
            "a:b",
            "\"a\"",
            "a(b)",
            "a[b]",
            "a\\b",
            "a|b",
            "a$b",
            "ä",
            "a\0b",
            "a\u{2028}b",
            "..",
            "",
        ] {
            assert!(
                expand_address("$EXT@example.com", &vars(ext)).is_err(),
                "{ext:?}"
            );
        }
        assert!(expand_address("$EXT", &vars("-oi")).is_err());
        assert!(expand_address("x@$EXT", &vars("a_b")).is_err());
        assert!(expand_address("x@$EXT", &vars("")).is_err());
        let long = "a".repeat(250);
        assert!(expand_address("$EXT@example.com", &vars(&long)).is_err());
        let huge = "a".repeat(1 << 20);
        assert!(expand_address("$EXT$EXT$EXT@x", &vars(&huge)).is_err());
    }

    #[test]
    fn other_dollars_are_errors() {
        let v = vars("x");
        for address in
            ["$HOME@x", "${EXT}@x", "$EXT2@x", "$@x", "x$", "$ext@x"]
        {
            assert!(expand_address(address, &v).is_err(), "{address}");
        }
        assert_eq!(
            expand_address("$HOME@x", &v),
            Err("in the guard address \"$HOME@x\", unknown variable \
                 \"$HOME\" (only $LOCAL, $EXT, $HOST, $USER are expanded)"
                .into())
        );
    }

    #[test]
    fn plain_addresses() {
        for good in ["joe", "joe@example.com", "a.b+c=d/e@x-y.example", "~"] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-oi",
            "-f",
            "a@b,c@d",
            "a@b c@d",
            "<a@b>",
            "\"a b\"@c",
            "a@b\n",
            "a@b\r",
            "a@[127.0.0.1]",
            "a@@b",
            "a@",
            "@b",
            ".a@b",
            "a..b@c",
            "a@b..c",
            "a@b.",
            "a(comment)@b",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn error_shows_the_expansion_safely() {
        let err = expand_address("$EXT@x", &vars("a\nBcc: y")).unwrap_err();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.contains("\\n"), "{err}");
    }
}
