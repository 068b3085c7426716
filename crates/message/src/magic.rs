/*!
Magic MIME types, from the freedesktop.org shared MIME database embedded by
tree_magic_mini. Loading that database costs about a millisecond, so call
this only for parts that need it.
*/

/// How many decoded bytes magic detection looks at.
pub const PREFIX: usize = 64 << 10;

/// The detected type of `bytes` (the start of a decoded part), with its
/// aliases and all its parent types (`application/octet-stream` or
/// `text/plain` last). The first entry is the detected type itself.
pub fn detect(bytes: &[u8]) -> Vec<&'static str> {
    let _ = bytes;
    todo!()
}

/// Whether the glob `pattern` (lower-case, `*` allowed) matches one of
/// the `types` returned by [`detect`], or, for a pattern without `*`,
/// whether the database's own rules for that type match `bytes`.
pub fn matches(pattern: &str, types: &[&str], bytes: &[u8]) -> bool {
    let _ = (pattern, types, bytes);
    todo!()
}
