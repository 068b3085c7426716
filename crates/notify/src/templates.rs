/*!
The templates compiled into the binary: the copies of `templates/LANG/`
that stand in when no layer has `tpl/LANG/NAME.hbs`.
*/

/// Every shipped template, for `qmvc -C` and `qmvc-queue -C`
/// ([`qmvc_profile::show`]).
pub fn built_in_templates() -> Vec<qmvc_profile::BuiltInTemplate> {
    SHIPPED
        .iter()
        .filter_map(|&(lang, name)| {
            let text = built_in(lang, name)?;
            Some(qmvc_profile::BuiltInTemplate { lang, name, text })
        })
        .collect()
}

/// Every shipped template as `(LANG, NAME)`: what [`built_in`] has.
const SHIPPED: &[(&str, &str)] = &[
    ("en", "notifyrecipient"),
    ("en", "notifysender"),
    ("en", "informguard"),
    ("de", "notifyrecipient"),
    ("de", "notifysender"),
    ("de", "informguard"),
];

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_template_is_listed() {
        assert_eq!(built_in_templates().len(), SHIPPED.len());
        for lang in ["en", "de", "fr"] {
            for name in ["notifyrecipient", "notifysender", "informguard"] {
                let listed = SHIPPED.contains(&(lang, name));
                assert_eq!(listed, built_in(lang, name).is_some());
            }
        }
    }
}
