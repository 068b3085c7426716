/*!
The passwd fallback of qmail-getpw: the user a local part goes to when
`users/assign` has no entry for it.
*/

/// Where qmail-getpw looks.
pub const PASSWD: &str = "/etc/passwd";

/// The passwd user qmail falls back to for `prepend` (the part before
/// its first `-`, in lower case) and their home, if `passwd` has them
/// with a user id other than 0 (qmail never delivers as root).
pub fn user(passwd: &str, prepend: &str) -> Option<(String, String)> {
    let wanted = prepend.split('-').next()?.to_ascii_lowercase();
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            [name, _, uid, _, _, home, ..]
                if *name == wanted && *uid != "0" && !home.is_empty() =>
            {
                Some((name.to_string(), home.to_string()))
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_fallback() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\n\
                      joe:x:1000:1000:Joe:/home/joe:/bin/sh\n";
        assert_eq!(
            user(passwd, "Joe-lists"),
            Some(("joe".into(), "/home/joe".into()))
        );
        assert_eq!(user(passwd, "root"), None);
        assert_eq!(user(passwd, "ann"), None);
    }
}
