/*!
One function per condition: each looks at the message through [`Content`]
and returns what matched (empty: not met).
*/

use globset::GlobSetBuilder;
use qmvc_message::loader::LoaderType;
use qmvc_message::{
    html_text, magic, DefectKind, Encoding, Message, PartKind,
};
use qmvc_profile::{
    BodyRule, LoaderRule, MailHeaders, Policy, Profile, Scanner, TextPattern,
    TypeGlob,
};

use crate::content::Content;
use crate::error::Error;
use crate::probes::{CommandOutcome, Probes, ScanOutcome};
use crate::verdict::{Match, Verdict};

/// How many reasons per errormail bit the analysis keeps.
const MAX_REASONS: usize = 10;

/// errormail: the code (sum of bits) and, for each bit set, the
/// matches that say why (a filter line with `bits=` shows the matches of
/// its bits).
pub(crate) fn errormail(
    content: &Content<'_, '_>,
    settings: &MailHeaders,
) -> (u16, Vec<(u16, Match)>) {
    let message = content.message;
    let mut code = 0u16;
    let mut matches = Vec::new();
    // A header with thousands of bad lines still makes one bit; the
    // analysis shows the first few reasons of each.
    let mut shown = [0usize; 9];
    let mut flag = |bit: u16, detail: String| {
        code |= bit;
        let slot = bit.trailing_zeros() as usize;
        let Some(count) = shown.get_mut(slot) else { return };
        *count += 1;
        if *count > MAX_REASONS {
            return;
        }
        let detail = Some(format!("bit {bit}: {detail}"));
        matches.push((bit, Match { detail, ..Match::default() }));
    };
    let header = &message.header;
    if settings.strict_header {
        for defect in header.defects.iter().chain(&header.address_defects()) {
            flag(1, format!("header syntax: {defect}"));
        }
    }
    let required: [(bool, u16, &[&str], &str); 5] = [
        (settings.date, 2, &["date"], "Date"),
        (settings.to, 4, &["to"], "To"),
        (settings.msgid, 8, &["message-id"], "Message-ID"),
        (settings.from, 16, &["from", "sender"], "From or Sender"),
        (settings.subject, 32, &["subject"], "Subject"),
    ];
    for (wanted, bit, names, label) in required {
        let present = names.iter().any(|name| {
            header.fields.iter().any(|f| {
                f.name.eq_ignore_ascii_case(name) && !f.decoded().is_empty()
            })
        });
        if wanted && !present {
            flag(bit, format!("{label} missing or empty"));
        }
    }
    if settings.strict_mime && !message.too_large {
        let encoding = message.encoding_defects();
        for defect in message.defects.iter().chain(encoding.iter()) {
            flag(64, format!("MIME: part {}: {}", defect.part, defect.detail));
        }
        // A damaged archive (truncated, corrupt): SPEC 10.
        for (index, part) in message.parts.iter().enumerate() {
            let Some(listing) = content.listing(index) else { continue };
            if let Some(why) = &listing.error {
                flag(64, format!("archive: part {}: {why}", part.id));
            }
        }
    }
    if settings.strict_limits {
        for why in limits_reached(content) {
            flag(256, format!("not fully examined: {why}"));
        }
    }
    for check in &settings.contains {
        let hit = header.fields.iter().any(|f| {
            f.name.eq_ignore_ascii_case(&check.field)
                && f.decoded().to_lowercase().contains(&check.content)
        });
        if hit {
            matches.push((
                128,
                Match {
                    pattern: Some(format!(
                        "+{}={}",
                        check.field, check.content
                    )),
                    origin: Some(check.origin.to_string()),
                    detail: Some("bit 128: header content".to_string()),
                    ..Match::default()
                },
            ));
            code |= 128;
        }
    }
    (code, matches)
}

/// Every bound that stopped the examination of part of the message
/// (`limits=strict`, bit 256): a message over the scan size, a limit
/// defect of the MIME walk (parts, depth, header fields, parameters,
/// names), an archive listing that a bound cut short.
fn limits_reached(content: &Content<'_, '_>) -> Vec<String> {
    let message = content.message;
    let mut out = Vec::new();
    if message.too_large {
        out.push(format!(
            "{} bytes is over scansize {}: the content was not examined",
            message.raw.len(),
            content.limits.scan_size
        ));
    }
    for defect in &message.defects {
        if defect.kind == DefectKind::Limit {
            out.push(format!("part {}: {}", defect.part, defect.detail));
        }
    }
    for index in 0..message.parts.len() {
        let Some(listing) = content.listing(index) else { continue };
        if let (Some(why), Some(part)) =
            (&listing.truncated, message.parts.get(index))
        {
            out.push(format!("part {}: archive listing cut: {why}", part.id));
        }
    }
    out
}

fn text_matches(
    patterns: &[&TextPattern],
    text: &str,
    part: Option<&str>,
    out: &mut Vec<Match>,
) {
    if patterns.is_empty() {
        return;
    }
    let lowered = qmvc_profile::fold(text);
    for pattern in patterns {
        if pattern.is_match(text, &lowered) {
            out.push(Match {
                pattern: Some(pattern.source().to_string()),
                origin: Some(pattern.origin().to_string()),
                part: part.map(str::to_string),
                ..Match::default()
            });
        }
    }
}

/// badsubject: the decoded Subject against badsubjects.
pub(crate) fn badsubject(
    message: &Message<'_>,
    profile: &Profile,
) -> Vec<Match> {
    let mut out = Vec::new();
    if let Some(subject) = message.header.value("subject") {
        let patterns: Vec<&TextPattern> = profile.badsubjects.iter().collect();
        text_matches(&patterns, &subject, None, &mut out);
    }
    out
}

/// badbodytext: patterns against every decoded text part; when none
/// matches, the commands in order until one is met. Returns the matches
/// and whether a command met it; `Err` when a command could not be run.
pub(crate) fn badbodytext(
    content: &Content<'_, '_>,
    profile: &Profile,
    probes: &mut dyn Probes,
    verdict: &mut Verdict,
) -> Result<(Vec<Match>, bool), Error> {
    let mut out = Vec::new();
    let patterns: Vec<&TextPattern> = profile
        .badbodytexts
        .iter()
        .filter_map(|r| match r {
            BodyRule::Pattern(p) => Some(p),
            BodyRule::Command(_) => None,
        })
        .collect();
    if !patterns.is_empty() {
        for part in &content.message.parts {
            let Some(text) = part.text(content.limits.scan_size) else {
                continue;
            };
            let before = out.len();
            text_matches(&patterns, &text, Some(&part.id), &mut out);
            // Markup must not hide a phrase: `kill the <b>boss</b>`.
            if part.mime_type == "text/html" {
                let shown = html_text(&text);
                let mut found = Vec::new();
                text_matches(&patterns, &shown, Some(&part.id), &mut found);
                for m in found {
                    // Only this part's matches can be the same one.
                    if !out.get(before..).unwrap_or_default().contains(&m) {
                        out.push(m);
                    }
                }
            }
        }
    }
    if !out.is_empty() {
        return Ok((out, false));
    }
    for rule in &profile.badbodytexts {
        let BodyRule::Command(command) = rule else { continue };
        let outcome =
            probes.run_command(command).map_err(|source| Error::Command {
                origin: command.origin.clone(),
                program: command.program.clone(),
                source,
            })?;
        match outcome {
            CommandOutcome::Exited(rc) if rc == command.rc => {
                out.push(Match {
                    pattern: Some(format!("|{}", command.program)),
                    origin: Some(command.origin.to_string()),
                    detail: Some(format!("exit code {rc}")),
                    ..Match::default()
                });
                return Ok((out, true));
            }
            // qmail's failure codes: the command did not do its job
            // (plainmail could not forward, say). Not met, but on record.
            CommandOutcome::Exited(rc) if rc >= 100 => {
                verdict.warnings.push(format!(
                    "{}: command {} exited {rc}",
                    command.origin, command.program
                ))
            }
            CommandOutcome::Exited(_) => {}
            CommandOutcome::NotRun => verdict.skipped.push(format!(
                "{}: command {} not run in test mode",
                command.origin, command.program
            )),
            CommandOutcome::TimedOut => {
                let said = format!(
                    "{}: command {} timed out after {} s",
                    command.origin,
                    command.program,
                    command.timeout.as_secs()
                );
                verdict.warnings.push(said.clone());
                verdict.skipped.push(said);
            }
        }
    }
    Ok((out, false))
}

/// badfilename: every file name, and every zip member name, against
/// badfilenames.
pub(crate) fn badfilename(
    content: &Content<'_, '_>,
    profile: &Profile,
    skipped: &mut Vec<String>,
) -> Vec<Match> {
    let mut names: Vec<(String, String)> = Vec::new();
    for part in &content.message.parts {
        for name in &part.names {
            names.push((part.id.clone(), name.clone()));
        }
    }
    for (index, part) in content.inspected() {
        let Some(listing) = content.listing(index) else { continue };
        if let Some(why) = &listing.truncated {
            skipped
                .push(format!("part {}: archive listing cut: {why}", part.id));
        }
        for member in &listing.members {
            let mut shown = member.path.clone();
            shown.push(member.name.clone());
            names.push((part.id.clone(), shown.join("/")));
        }
    }
    if names.is_empty() || profile.badfilenames.is_empty() {
        return Vec::new();
    }
    // The globs that need globset (not `*.ext` or a literal), compiled
    // into one set only when there are some; `complex[i]` is the index in
    // badfilenames of the set's glob `i`.
    let mut complex = Vec::new();
    let mut builder = GlobSetBuilder::new();
    for (index, glob) in profile.badfilenames.iter().enumerate() {
        if let Some(glob) = glob.glob() {
            builder.add(glob.clone());
            complex.push(index);
        }
    }
    let set = if complex.is_empty() {
        None
    } else {
        let Ok(set) = builder.build() else {
            skipped.push("badfilenames: globs could not be compiled".into());
            return Vec::new();
        };
        Some(set)
    };
    let mut out = Vec::new();
    for (part, name) in names {
        let lowered = name.to_lowercase();
        let base = lowered.rsplit(['/', '\\']).next().unwrap_or(&lowered);
        let mut variants = vec![lowered.as_str()];
        for variant in [base, windows_name(base)] {
            if variant != lowered {
                variants.push(variant);
            }
        }
        let mut hits = Vec::new();
        for variant in &variants {
            for (index, glob) in profile.badfilenames.iter().enumerate() {
                if glob.simple_match(variant) == Some(true) {
                    hits.push(index);
                }
            }
            if let Some(set) = &set {
                hits.extend(
                    set.matches(variant)
                        .into_iter()
                        .filter_map(|i| complex.get(i).copied()),
                );
            }
        }
        hits.sort_unstable();
        hits.dedup();
        for hit in hits {
            let Some(glob) = profile.badfilenames.get(hit) else { continue };
            out.push(Match {
                pattern: Some(glob.pattern().to_owned()),
                origin: Some(glob.origin.to_string()),
                part: Some(part.clone()),
                filename: Some(name.clone()),
                ..Match::default()
            });
        }
    }
    out
}

/// `name` as Windows would open it: without an NTFS stream suffix
/// (`:$DATA`, `::$DATA`) and without trailing dots and spaces, so that
/// `a.exe.` and `a.exe::$DATA` meet `*.exe`.
fn windows_name(name: &str) -> &str {
    let mut name = name;
    loop {
        let before = name.len();
        name = name.trim_end_matches(['.', ' ']);
        if let Some(stem) = name.strip_suffix(":$data") {
            name = stem.trim_end_matches(':');
        }
        if name.len() == before {
            return name;
        }
    }
}

/// badmimetype: each attachment's magic type against badmimetypes.
pub(crate) fn badmimetype(
    content: &Content<'_, '_>,
    globs: &[TypeGlob],
) -> Vec<Match> {
    let mut out = Vec::new();
    if globs.is_empty() {
        return out;
    }
    let patterns: Vec<&str> =
        globs.iter().map(|g| g.pattern.as_str()).collect();
    for (index, part) in content.inspected() {
        // Loading the magic database costs more than the rest of a
        // delivery; skip it when no listed type can match these bytes.
        let (head, complete) = content.head(index);
        if !magic::could_match_head(&patterns, head, complete) {
            continue;
        }
        let types = content.types(index);
        for glob in globs {
            if magic::matches(&glob.pattern, types, content.prefix(index)) {
                out.push(Match {
                    pattern: Some(glob.pattern.clone()),
                    origin: Some(glob.origin.to_string()),
                    part: Some(part.id.clone()),
                    filename: part.filename.clone(),
                    detected_type: types.first().map(|t| t.to_string()),
                    ..Match::default()
                });
            }
        }
    }
    out
}

/// badloadertype: each attachment's loader type, and each base64 part's
/// encoded start, against badloadertypes.
pub(crate) fn badloadertype(
    content: &Content<'_, '_>,
    rules: &[LoaderRule],
) -> Vec<Match> {
    let mut out = Vec::new();
    let wants_types =
        rules.iter().any(|r| matches!(r, LoaderRule::Type { .. }));
    let wants_encrypted = rules.iter().any(|r| {
        matches!(r, LoaderRule::Type { loader: LoaderType::Encrypted, .. })
    });
    for (index, part) in content.message.parts.iter().enumerate() {
        // An encrypted archive member: no scanner can look inside.
        let encrypted = match wants_encrypted && part.is_attachment() {
            true => content.listing(index).and_then(|l| l.encrypted()),
            false => None,
        };
        if let Some(member) = encrypted {
            for rule in rules {
                let LoaderRule::Type { loader, origin } = rule else {
                    continue;
                };
                if *loader == LoaderType::Encrypted {
                    out.push(Match {
                        pattern: Some(loader.name().to_string()),
                        origin: Some(origin.to_string()),
                        part: Some(part.id.clone()),
                        filename: Some(member.full_name()),
                        loader_type: Some(loader.name().to_string()),
                        ..Match::default()
                    });
                }
            }
        }
        if wants_types && part.is_attachment() {
            if let Some(found) = content.loader(index) {
                for rule in rules {
                    let LoaderRule::Type { loader, origin } = rule else {
                        continue;
                    };
                    if *loader == found {
                        out.push(Match {
                            pattern: Some(loader.name().to_string()),
                            origin: Some(origin.to_string()),
                            part: Some(part.id.clone()),
                            filename: part.filename.clone(),
                            loader_type: Some(found.name().to_string()),
                            ..Match::default()
                        });
                    }
                }
            }
        }
    }
    for part in &content.message.parts {
        if part.encoding != Encoding::Base64 {
            continue;
        }
        let start = part.body.trim_ascii_start();
        for rule in rules {
            let LoaderRule::Base64Prefix { prefix, origin } = rule else {
                continue;
            };
            if start.starts_with(prefix.as_bytes()) {
                out.push(Match {
                    pattern: Some(prefix.clone()),
                    origin: Some(origin.to_string()),
                    part: Some(part.id.clone()),
                    filename: part.filename.clone(),
                    detail: Some("base64 text starts with it".into()),
                    ..Match::default()
                });
            }
        }
    }
    out
}

/// `-n`: whether every part is of a type listed in noscantypes. A part's
/// type is its detected magic type when it is inspected (attachments,
/// text that is not text), else its declared text type; aliases and
/// parents do not count, so `text/plain` does not cover a shell script.
pub(crate) fn harmless(content: &Content<'_, '_>, profile: &Profile) -> bool {
    if content.message.too_large || content.message.parts.is_empty() {
        return false;
    }
    let listed =
        |t: &str| profile.noscantypes.iter().any(|g| glob(&g.pattern, t));
    content.message.parts.iter().enumerate().all(|(index, part)| {
        if part.kind != PartKind::Leaf {
            return true;
        }
        if content.is_inspected(index, part) {
            content.types(index).first().is_some_and(|t| listed(t))
        } else {
            listed(&part.mime_type)
        }
    })
}

/// virusmail: every scanner in order (until the first finding with
/// `quitasap`), each answer under its engine's policies. `Err` defers the
/// delivery (a `tempfail` policy).
pub(crate) fn virusmail(
    profile: &Profile,
    quitasap: bool,
    probes: &mut dyn Probes,
    verdict: &mut Verdict,
) -> Result<Vec<Match>, Error> {
    let mut out = Vec::new();
    for scanner in &profile.scanners {
        verdict.scanners.push(scanner.initial);
        let definition = &scanner.definition;
        let outcome = probes.scan(scanner);
        let sent = probes.sent(scanner);
        let found = |detail: Option<String>, virus: Option<String>| Match {
            scanner: Some(format!("{} ({})", scanner.engine, scanner.initial)),
            sent: sent.clone(),
            virus,
            detail,
            origin: Some(scanner.origin.to_string()),
            ..Match::default()
        };
        let (trouble, policy) = match outcome {
            ScanOutcome::Clean => continue,
            ScanOutcome::Infected(names) => {
                out.extend(names.into_iter().map(|n| found(None, Some(n))));
                if quitasap {
                    break;
                }
                continue;
            }
            ScanOutcome::Unscanned(why) => (
                format!("not scanned: {why}"),
                ("on_unscanned", definition.on_unscanned),
            ),
            ScanOutcome::Failed(why) => {
                (format!("failed: {why}"), ("on_error", definition.on_error))
            }
        };
        let (key, policy) = policy;
        let said = format!(
            "scanner {} ({}) {trouble} ({key} {})",
            scanner.engine,
            scanner.initial,
            policy.name()
        );
        if let Some(said) = apply_policy(policy, said, scanner, verdict)? {
            out.push(found(Some(said), None));
            if quitasap {
                break;
            }
        }
    }
    Ok(out)
}

/// What an engine's trouble (`said`) means under its `policy`, for
/// virusmail and spammail alike: `Err` defers the delivery (`tempfail`);
/// `Ok(Some(said))` makes it a finding of the condition (`block`);
/// `Ok(None)` lets the mail flow (`pass`). Each is a warning too, and
/// `pass` a note of what was not examined.
pub(crate) fn apply_policy(
    policy: Policy,
    said: String,
    scanner: &Scanner,
    verdict: &mut Verdict,
) -> Result<Option<String>, Error> {
    match policy {
        Policy::Tempfail => {
            let origin = scanner.origin.clone();
            Err(Error::Scanner { origin, said })
        }
        Policy::Pass => {
            verdict.warnings.push(said.clone());
            verdict.skipped.push(said);
            Ok(None)
        }
        Policy::Block => {
            verdict.warnings.push(said.clone());
            Ok(Some(said))
        }
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of
/// characters (the type globs of badmimetypes and noscantypes).
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else { return false };
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let mut pieces: Vec<&str> = parts.collect();
    let Some(last) = pieces.pop() else {
        // No `*`: the whole text must equal the pattern.
        return rest.is_empty();
    };
    for piece in pieces {
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::{glob, windows_name};

    #[test]
    fn stream_suffixes_and_trailing_dots_go() {
        assert_eq!(windows_name("a.exe."), "a.exe");
        assert_eq!(windows_name("a.exe . ."), "a.exe");
        assert_eq!(windows_name("a.exe::$data"), "a.exe");
        assert_eq!(windows_name("a.exe:$data. "), "a.exe");
        assert_eq!(windows_name("a.pdf"), "a.pdf");
        assert_eq!(windows_name("..."), "");
    }

    #[test]
    fn type_globs() {
        assert!(glob("text/plain", "text/plain"));
        assert!(!glob("text/plain", "text/plain2"));
        assert!(glob("image/*", "image/png"));
        assert!(!glob("image/*", "text/png"));
        assert!(glob("*/x-*script*", "text/x-shellscript"));
        assert!(glob("*", ""));
        assert!(!glob("a*a", "a"));
        assert!(glob("a*a", "aa"));
    }
}
