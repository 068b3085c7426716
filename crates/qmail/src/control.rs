/*!
qmail's control files: the line rules of `control_readfile` and the
files qmvc reads with them, `me`, `locals` and `rcpthosts`.

A line has its trailing blanks stripped; empty lines and lines that
start with `#` are skipped. Domains are compared without regard to ASCII
case, as qmail-smtpd and qmail-send compare them.
*/

use crate::MAX_ENTRIES;

/// The items of a control file's `text`, as qmail's `control_readfile`
/// takes them: trailing spaces and tabs stripped, empty and `#` lines
/// skipped, at most [`MAX_ENTRIES`]. A CR before the line end goes too
/// (a file edited on another system), where qmail would keep it and
/// never match the line.
pub fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| line.trim_end_matches([' ', '\t', '\r']))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .take(MAX_ENTRIES)
        .collect()
}

/// `control/me`: its first line, trailing blanks stripped, when that is
/// not empty (qmail's `control_readline`).
pub fn me(text: &str) -> Option<&str> {
    let first = text.lines().next()?.trim_end_matches([' ', '\t', '\r']);
    (!first.is_empty()).then_some(first)
}

/// A list of domains (`control/locals`, `control/rcpthosts`), lower
/// case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Domains {
    entries: Vec<String>,
}

impl Domains {
    /// The domains of `text`, read by [`lines`].
    pub fn parse(text: &str) -> Domains {
        let entries =
            lines(text).into_iter().map(str::to_ascii_lowercase).collect();
        Domains { entries }
    }

    /// `control/locals`, or `me` alone when the file is missing, as
    /// qmail-send reads it.
    pub fn locals(text: Option<&str>, me: &str) -> Domains {
        match text {
            Some(text) => Domains::parse(text),
            None => Domains { entries: vec![me.to_ascii_lowercase()] },
        }
    }

    /// The entries, lower case, in file order.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether `domain` is one of the entries (`locals`: exact, any
    /// case).
    pub fn contains(&self, domain: &str) -> bool {
        self.entries.iter().any(|e| e.eq_ignore_ascii_case(domain))
    }

    /// Whether `rcpthosts` with these entries takes mail for `domain`:
    /// an entry equal to it, or an entry `.SUFFIX` that it ends with
    /// (qmail-smtpd's `addrallowed`, without `morercpthosts.cdb`).
    pub fn allows(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        self.entries.iter().any(|entry| {
            *entry == domain
                || (entry.starts_with('.') && domain.ends_with(entry.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_readfile_rules() {
        let text = "# c\n\nexample.com  \n\t\n#x\n mail.example.com\r\nlast";
        assert_eq!(
            lines(text),
            ["example.com", " mail.example.com", "last"],
            "leading blanks stay, as in qmail"
        );
        assert!(lines("").is_empty());
    }

    #[test]
    fn me_is_the_first_line() {
        assert_eq!(me("mail.example.com \nx\n"), Some("mail.example.com"));
        assert_eq!(me("\nx\n"), None);
        assert_eq!(me(""), None);
    }

    #[test]
    fn locals_and_rcpthosts() {
        let locals = Domains::locals(None, "Mail.Example.COM");
        assert!(locals.contains("mail.example.com"));
        let locals = Domains::locals(Some("example.com\n"), "me");
        assert!(locals.contains("EXAMPLE.com") && !locals.contains("me"));
        let rcpt = Domains::parse("example.com\n.example.net\n");
        assert!(rcpt.allows("Example.COM"));
        assert!(rcpt.allows("mx.example.net"));
        assert!(!rcpt.allows("example.net"));
        assert!(!rcpt.allows("badexample.com"));
        assert_eq!(rcpt.entries(), ["example.com", ".example.net"]);
    }
}
