/*!
The engine definitions that ship with qmvc, compiled in from
`control-defaults/scanners.d/`, and what an engine name may be.
*/

/// The engine definitions shipped with qmvc, `(engine, YAML text)`:
/// `control-defaults/scanners.d/ENGINE.yaml`, compiled in.
pub const BUILT_IN_ENGINES: &[(&str, &str)] = &[
    (
        "clamd",
        include_str!("../../../../control-defaults/scanners.d/clamd.yaml"),
    ),
    (
        "clamdscan",
        include_str!("../../../../control-defaults/scanners.d/clamdscan.yaml"),
    ),
    (
        "clamscan",
        include_str!("../../../../control-defaults/scanners.d/clamscan.yaml"),
    ),
    (
        "sophos",
        include_str!("../../../../control-defaults/scanners.d/sophos.yaml"),
    ),
    (
        "fsecure",
        include_str!("../../../../control-defaults/scanners.d/fsecure.yaml"),
    ),
    (
        "mcafee",
        include_str!("../../../../control-defaults/scanners.d/mcafee.yaml"),
    ),
    (
        "eset",
        include_str!("../../../../control-defaults/scanners.d/eset.yaml"),
    ),
    (
        "drweb",
        include_str!("../../../../control-defaults/scanners.d/drweb.yaml"),
    ),
    (
        "avast",
        include_str!("../../../../control-defaults/scanners.d/avast.yaml"),
    ),
    (
        "bitdefender",
        include_str!(
            "../../../../control-defaults/scanners.d/bitdefender.yaml"
        ),
    ),
    (
        "kaspersky",
        include_str!("../../../../control-defaults/scanners.d/kaspersky.yaml"),
    ),
    (
        "spamd",
        include_str!("../../../../control-defaults/scanners.d/spamd.yaml"),
    ),
    (
        "rspamd",
        include_str!("../../../../control-defaults/scanners.d/rspamd.yaml"),
    ),
];

/// The built-in definition of `engine`, if one ships.
pub(crate) fn built_in(engine: &str) -> Option<&'static str> {
    BUILT_IN_ENGINES.iter().find(|(name, _)| *name == engine).map(|(_, t)| *t)
}

/// Whether `name` is an engine name: `[a-z0-9_-]+`.
pub(crate) fn is_engine_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'_'
                || b == b'-'
        })
}
