/*!
The rows of the portal: the layer itself, every virtual domain resolved
to its account (users/assign, else passwd), every account.
*/

use std::path::{Path, PathBuf};

use qmvc_qmail::assign::{self, Assign};
use qmvc_qmail::passwd::{self, PASSWD};
use qmvc_qmail::virtualdomains::Virtual;

/// What a row of the portal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The portal's own layer.
    System,
    /// A line of `virtualdomains`.
    VirtualDomain,
    /// An account of `users/assign`.
    Account,
}

impl Kind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::System => "system",
            Kind::VirtualDomain => "virtual domain",
            Kind::Account => "account",
        }
    }
}

/// A row of the portal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The domain, account or `system`.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// The user that receives its mail, if known.
    pub user: Option<String>,
    /// Its layer, if known.
    pub layer: Option<PathBuf>,
    /// Said about how it was resolved.
    pub note: Option<String>,
}

/// An account's layer.
fn account_layer(home: &str) -> PathBuf {
    Path::new(home).join("qmvc")
}

/// The rows: the layer itself, the virtual domains, the accounts (one
/// per home directory).
pub fn rows(
    layer: &Path,
    virtuals: &[Virtual],
    assign: &[Assign],
    passwd: &str,
) -> Vec<Row> {
    let mut rows = vec![Row {
        name: "system".into(),
        kind: Kind::System,
        user: None,
        layer: Some(layer.to_path_buf()),
        note: None,
    }];
    for v in virtuals {
        let mut row = Row {
            name: v.name.clone(),
            kind: Kind::VirtualDomain,
            user: None,
            layer: None,
            note: None,
        };
        if let Some(entry) = assign::resolve(assign, &v.prepend) {
            row.user = Some(entry.user.clone());
            row.layer = Some(account_layer(&entry.home));
        } else if let Some((user, home)) = passwd::user(passwd, &v.prepend) {
            row.note =
                Some(format!("not in users/assign; {PASSWD} user {user}"));
            row.user = Some(user);
            row.layer = Some(account_layer(&home));
        } else {
            row.note =
                Some(format!("not in users/assign (prepend {})", v.prepend));
        }
        // A domain layer of its own (`qmvc -c LAYER/domains/NAME`, as
        // qmvc(8) suggests) holds the domain's logs, so its pages.
        let own = layer.join("domains").join(&v.name);
        if own.is_dir() {
            row.layer = Some(own);
        }
        rows.push(row);
    }
    let mut homes = std::collections::HashSet::new();
    for entry in assign {
        if homes.insert(entry.home.as_str()) {
            rows.push(Row {
                name: entry.user.clone(),
                kind: Kind::Account,
                user: Some(entry.user.clone()),
                layer: Some(account_layer(&entry.home)),
                note: None,
            });
        }
    }
    rows
}
