/*!
The templates compiled into the binary: the copies of `templates/LANG/`
that stand in when no layer has `tpl/LANG/NAME.hbs`.
*/

/// The shipped template `NAME` in language `LANG` (`en`, `de`) for
/// `notifyrecipient`, `notifysender` and `informguard`; `None` for any
/// other language or name. `forwardguard` has none: it forwards the
/// original message and renders no template (its shipped file is a
/// reserved placeholder).
pub fn built_in(lang: &str, kind: &str) -> Option<&'static str> {
    Some(match (lang, kind) {
        ("en", "notifyrecipient") => {
            include_str!("../../../templates/en/notifyrecipient.hbs")
        }
        ("en", "notifysender") => {
            include_str!("../../../templates/en/notifysender.hbs")
        }
        ("en", "informguard") => {
            include_str!("../../../templates/en/informguard.hbs")
        }
        ("de", "notifyrecipient") => {
            include_str!("../../../templates/de/notifyrecipient.hbs")
        }
        ("de", "notifysender") => {
            include_str!("../../../templates/de/notifysender.hbs")
        }
        ("de", "informguard") => {
            include_str!("../../../templates/de/informguard.hbs")
        }
        _ => return None,
    })
}
