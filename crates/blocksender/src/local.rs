/*!
The site's own addresses, which never go into badmailfrom: a virus can
forge `postmaster@` the site's own domain as easily as any other sender,
and blocking it would refuse the site's own mail at qmail-smtpd.

An address is local when its domain is one qmail delivers locally
(`control/locals`, or `me` when that file is missing), one qmail-smtpd
takes mail for (`control/rcpthosts`, `.SUFFIX` entries included), or a
virtual domain (`control/virtualdomains`: a domain, `.SUFFIX` for its
subdomains, or the one address `user@domain`). The files are read with
qmvc-qmail's parsers from the qmail home that badmailfrom is in.
*/

use std::path::Path;

use qmvc_qmail::control::{self, Domains};
use qmvc_qmail::virtualdomains::{self, Scope, Virtual};
use qmvc_report::cli::Failure;

/// The files of qmail's `control/` read.
pub(crate) const FILES: [&str; 4] =
    ["me", "locals", "rcpthosts", "virtualdomains"];

/// The site's domains, as qmail's control files list them.
#[derive(Debug, Default)]
pub struct Site {
    locals: Domains,
    rcpthosts: Domains,
    virtuals: Vec<Virtual>,
}

impl Site {
    /// The site from the texts of `control/me`, `control/locals`,
    /// `control/rcpthosts` and `control/virtualdomains` (`None`: the file
    /// is missing).
    pub fn new(
        me: Option<&str>,
        locals: Option<&str>,
        rcpthosts: Option<&str>,
        virtualdomains: Option<&str>,
    ) -> Site {
        let me = me.and_then(control::me);
        let locals = match (locals, me) {
            (Some(text), _) => Domains::parse(text),
            (None, Some(me)) => Domains::locals(None, me),
            (None, None) => Domains::default(),
        };
        Site {
            locals,
            rcpthosts: rcpthosts.map(Domains::parse).unwrap_or_default(),
            virtuals: virtualdomains
                .map(virtualdomains::parse)
                .unwrap_or_default(),
        }
    }

    /// Reads the site from `QMAILDIR/control/`.
    pub(crate) fn read(control: &Path) -> Result<Site, Failure> {
        let read = |name: &str| {
            qmvc_qmail::read(&control.join(name))
                .map_err(|e| Failure::failed(e.to_string()))
        };
        let [me, locals, rcpthosts, virtualdomains] = FILES;
        Ok(Site::new(
            read(me)?.as_deref(),
            read(locals)?.as_deref(),
            read(rcpthosts)?.as_deref(),
            read(virtualdomains)?.as_deref(),
        ))
    }

    /// Whether `address` (`local@domain`) is one of the site's own.
    pub fn is_local(&self, address: &str) -> bool {
        let Some((_, domain)) = address.rsplit_once('@') else {
            return false;
        };
        let domain = domain.to_ascii_lowercase();
        self.locals.contains(&domain)
            || self.rcpthosts.allows(&domain)
            || self.virtuals.iter().any(|v| covers(v, address, &domain))
    }
}

/// Whether the line `v` of virtualdomains covers `address` at `domain`
/// (lower case).
fn covers(v: &Virtual, address: &str, domain: &str) -> bool {
    let name = v.name.to_ascii_lowercase();
    match v.scope {
        Scope::Domain => name == domain,
        Scope::Subdomains => domain.ends_with(&name),
        Scope::Address => name.eq_ignore_ascii_case(address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses() {
        let site = Site::new(
            Some("mx.example.com\n"),
            None,
            Some("example.com\n.example.net\n"),
            Some("virtual.example:v\n.sub.example:s\njoe@vip.example:j\n"),
        );
        for local in [
            "postmaster@MX.example.com",
            "root@example.com",
            "a@shop.example.net",
            "x@Virtual.Example",
            "x@a.sub.example",
            "Joe@vip.example",
        ] {
            assert!(site.is_local(local), "{local}");
        }
        for foreign in [
            "a@example.org",
            "a@example.net",
            "a@sub.example",
            "ann@vip.example",
            "a@notvirtual.example",
            "<>",
        ] {
            assert!(!site.is_local(foreign), "{foreign}");
        }
        let locals = Site::new(Some("me\n"), Some("a.example\n"), None, None);
        assert!(locals.is_local("x@A.example"));
        assert!(!locals.is_local("x@me"), "locals replaces me");
        assert!(!Site::new(None, None, None, None).is_local("a@b"));
    }
}
