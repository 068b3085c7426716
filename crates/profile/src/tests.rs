/*!
Tests of the profile as a whole: layers, scopes, and the syntax of every
control file with the exact `FILE:LINE: message` lint prints. `scanners`
and the engine definitions are tested in [`scanners`].
*/

mod scanners;
mod spam;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use qmvc_fault::{Blame, Fault};
use qmvc_message::loader::LoaderType;

use crate::{
    Action, BodyRule, Condition, Control, FilterOptions, Layer, Layers,
    LoaderRule, Profile, Reaction, Scope, TextPattern, CONTROLS,
};

/// A temporary set of layers.
struct Fixture {
    _dir: tempfile::TempDir,
    layers: Layers,
}

impl Fixture {
    /// A system layer only (with no files yet).
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        let layers = Layers {
            system: root.join("system"),
            relay: None,
            domain: Some(root.join("domain")),
            user: Some(root.join("user")),
            state_in_system: false,
        };
        Fixture { _dir: dir, layers }
    }

    /// The path of `name` in `layer`.
    fn path(&self, layer: Layer, name: &str) -> PathBuf {
        let dir = match layer {
            Layer::User => self.layers.user.clone(),
            Layer::Domain => self.layers.domain.clone(),
            Layer::Relay => self.layers.relay.clone(),
            Layer::System => Some(self.layers.system.clone()),
            Layer::BuiltIn => None,
        };
        dir.expect("a real layer").join("control").join(name)
    }

    /// Writes `text` to `name` in `layer`, mode 0644.
    fn write(&self, layer: Layer, name: &str, text: &str) -> PathBuf {
        let path = self.path(layer, name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, text).expect("write");
        chmod(&path, 0o644);
        path
    }

    /// Writes a system `name` and returns the path as problems show it.
    fn system(&self, name: &str, text: &str) -> String {
        self.write(Layer::System, name, text).display().to_string()
    }

    /// Loads the profile; the problems as lint prints them.
    fn load(&self, scope: Scope) -> (Profile, Vec<String>) {
        let (profile, problems) =
            Profile::load(&self.layers, scope).expect("readable profile");
        (profile, problems.iter().map(ToString::to_string).collect())
    }

    /// Loads everything, with only `filters` set to `filters`.
    fn lint(&self) -> (Profile, Vec<String>) {
        self.load(Scope::All)
    }
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .expect("chmod");
}

/// `FILE:LINE: message` for each `(line, message)`.
fn at(file: &str, problems: &[(usize, &str)]) -> Vec<String> {
    problems.iter().map(|(line, m)| format!("{file}:{line}: {m}")).collect()
}

const NEEDED: Scope = Scope::Needed { noscan: false };

// ---------------------------------------------------------------- defaults

#[test]
fn built_in_defaults_have_no_problems() {
    let fixture = Fixture::new();
    let (profile, problems) = fixture.lint();
    assert_eq!(problems, Vec::<String>::new());
    let conditions: Vec<_> =
        profile.filters.iter().map(|r| r.condition).collect();
    // Two errormail lines: inspect, and keep for bit 256 (limits); no
    // spammail line (no spam engine ships active).
    let mut expected = crate::CONDITIONS.to_vec();
    expected.insert(0, Condition::Errormail);
    expected.retain(|&c| c != Condition::SpamMail);
    assert_eq!(conditions, expected);
    let limits = profile.filters.get(1).expect("second errormail line");
    assert_eq!(
        (limits.action, limits.options.bits),
        (Action::Keep, Some(256))
    );
    assert!(profile.mailheaders.strict_limits);
    let errormail = profile.rule(Condition::Errormail).expect("errormail");
    assert_eq!(errormail.action, Action::Inspect);
    assert_eq!(errormail.origin.file, "(built-in)/control/filters");
    let virus = profile.rule(Condition::VirusMail).expect("virusmail");
    assert_eq!(virus.action, Action::Keep);
    assert!(virus.options.quitasap);
    let headers = &profile.mailheaders;
    assert!(headers.date && headers.from && headers.msgid);
    assert!(headers.strict_mime);
    assert!(!headers.strict_header && !headers.to && !headers.subject);
    assert!(profile.badsubjects.is_empty());
    assert!(profile.badbodytexts.is_empty());
    assert!(profile.badfilenames.iter().any(|g| g.pattern() == "*.exe"));
    assert!(profile
        .badmimetypes
        .iter()
        .any(|t| t.pattern == "application/x-msdownload"));
    assert!(profile.badfilenames.iter().any(|g| g.pattern() == ":bidi"));
    // PE, ELF, MachO, MZ and encrypted (issue 14).
    assert_eq!(profile.badloadertypes.len(), 5);
    assert!(!profile.noscantypes.is_empty());
    assert_eq!(profile.settings, crate::Settings::default());
}

#[test]
fn every_control_has_a_built_in_default() {
    for &control in CONTROLS {
        let text = control.default_text();
        assert!(
            text.starts_with(&format!("# {}:", control.name())),
            "{} must open with its name and syntax",
            control.name()
        );
        assert!(
            text.contains("qmvc-"),
            "{} names its man page",
            control.name()
        );
    }
}

#[test]
fn built_in_limits_list_every_default() {
    let fixture = Fixture::new();
    let uncommented: String = Control::Limits
        .default_text()
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(uncommented.lines().count(), 8);
    fixture.system("limits", &uncommented);
    let (profile, problems) = fixture.lint();
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(profile.settings, crate::Settings::default());
}

// ------------------------------------------------------------------ layers

#[test]
fn the_most_specific_layer_wins() {
    let fixture = Fixture::new();
    let read = |f: &Fixture| f.layers.read(Control::BadSubjects).expect("ok");

    let source = read(&fixture);
    assert_eq!(source.layer, Layer::BuiltIn);
    assert_eq!(source.file, "(built-in)/control/badsubjects");
    assert_eq!(source.text, Control::BadSubjects.default_text());

    let system = fixture.write(Layer::System, "badsubjects", "system\n");
    let source = read(&fixture);
    assert_eq!((source.layer, &*source.text), (Layer::System, "system\n"));
    assert_eq!(source.file, system.display().to_string());

    fixture.write(Layer::Domain, "badsubjects", "domain\n");
    let source = read(&fixture);
    assert_eq!((source.layer, &*source.text), (Layer::Domain, "domain\n"));

    let user = fixture.write(Layer::User, "badsubjects", "user\n");
    let source = read(&fixture);
    assert_eq!((source.layer, &*source.text), (Layer::User, "user\n"));
    assert_eq!(source.file, user.display().to_string());

    // A missing file falls back to the next layer.
    fs::remove_file(&user).expect("rm");
    assert_eq!(read(&fixture).layer, Layer::Domain);
}

#[test]
fn an_empty_file_is_a_real_setting() {
    let fixture = Fixture::new();
    fixture.write(Layer::System, "filters", "errormail\n");
    fixture.write(Layer::User, "filters", "");
    let source = fixture.layers.read(Control::Filters).expect("ok");
    assert_eq!((source.layer, &*source.text), (Layer::User, ""));
    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty());
    assert!(profile.filters.is_empty());
}

#[test]
fn unused_layers_are_not_looked_at() {
    let fixture = Fixture::new();
    fixture.write(Layer::User, "filters", "");
    fixture.write(Layer::Domain, "filters", "badsubject\n");
    let layers = Layers { user: None, ..fixture.layers.clone() };
    let source = layers.read(Control::Filters).expect("ok");
    assert_eq!(source.layer, Layer::Domain);
    let layers = Layers { user: None, domain: None, ..layers };
    assert_eq!(
        layers.read(Control::Filters).expect("ok").layer,
        Layer::BuiltIn
    );
}

#[test]
fn a_layer_that_is_a_file_falls_back() {
    // ENOTDIR: control/ is a plain file.
    let fixture = Fixture::new();
    let user = fixture.layers.user.clone().expect("user");
    fs::create_dir_all(&user).expect("mkdir");
    fs::write(user.join("control"), "").expect("write");
    fixture.write(Layer::System, "filters", "errormail\n");
    let source = fixture.layers.read(Control::Filters).expect("ok");
    assert_eq!(source.layer, Layer::System);
}

#[test]
fn state_dir_is_the_most_specific_layer() {
    let fixture = Fixture::new();
    let layers = &fixture.layers;
    assert_eq!(layers.state_dir(), layers.user.as_deref().expect("user"));
    let no_user = Layers { user: None, ..layers.clone() };
    assert_eq!(no_user.state_dir(), layers.domain.as_deref().expect("d"));
}

#[test]
fn a_writable_file_is_refused() {
    let fixture = Fixture::new();
    for mode in [0o664, 0o646] {
        let path = fixture.write(Layer::Domain, "filters", "errormail\n");
        chmod(&path, mode);
        let e = fixture.layers.read(Control::Filters).expect_err("writable");
        assert_eq!(e.file, path.display().to_string());
        assert_eq!(
            e.reason,
            "group or world writable; fix with chmod go-w (#4.7.0)"
        );
        // A delivery defers; lint reports it and goes on.
        assert!(Profile::load(&fixture.layers, NEEDED).is_err());
        let (_, problems) = fixture.lint();
        assert_eq!(
            problems,
            vec![format!(
                "{}:0: group or world writable; fix with chmod go-w \
                 (#4.7.0)",
                path.display()
            )]
        );
    }
}

#[test]
fn a_directory_is_refused() {
    let fixture = Fixture::new();
    let path = fixture.path(Layer::User, "filters");
    fs::create_dir_all(&path).expect("mkdir");
    let e = fixture.layers.read(Control::Filters).expect_err("dir");
    assert_eq!(e.reason, "is a directory, not a control file (#4.3.0)");
    assert_eq!(e.to_string(), format!("{}: {}", path.display(), e.reason));
}

#[test]
fn an_unreadable_file_is_refused() {
    let fixture = Fixture::new();
    let path = fixture.write(Layer::User, "filters", "errormail\n");
    chmod(&path, 0o000);
    if fs::read(&path).is_ok() {
        return; // running as root: permissions are not enforced
    }
    let e = fixture.layers.read(Control::Filters).expect_err("unreadable");
    assert!(e.reason.starts_with("permission denied"), "{}", e.reason);
}

#[test]
fn non_utf8_is_refused() {
    let fixture = Fixture::new();
    let path = fixture.write(Layer::System, "badsubjects", "");
    fs::write(&path, b"ok\nb\xe4d\n").expect("write");
    let e = fixture.layers.read(Control::BadSubjects).expect_err("latin1");
    assert_eq!(
        e.reason,
        "not UTF-8 text (line 2); convert the file to UTF-8 (#4.3.0)"
    );
}

// ------------------------------------------------------------------ scopes

#[test]
fn needed_reads_only_what_the_filters_use() {
    let fixture = Fixture::new();
    fixture.system("filters", "badfilename ; block\n");
    let bad = fixture.system("badsubjects", "/(/\n");
    fixture.system("badloadertypes", "no sense\n");
    // Unreadable files of unused conditions do not matter either.
    let writable = fixture.write(Layer::System, "mailheaders", "date=r\n");
    chmod(&writable, 0o666);

    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(profile.badsubjects.is_empty());
    assert!(profile.badloadertypes.is_empty());
    assert!(profile.noscantypes.is_empty());
    assert_eq!(profile.mailheaders, crate::MailHeaders::default());
    assert!(!profile.badfilenames.is_empty(), "built-in badfilenames");

    let (_, problems) = fixture.lint();
    let first = &problems[0];
    assert!(
        first.ends_with(
            ":0: group or world writable; fix with chmod go-w (#4.7.0)"
        ),
        "{first}"
    );
    assert_eq!(problems[1], format!("{bad}:1: bad regular expression /(/: unclosed group; fix it, or write a plain line to match text literally"));
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn needed_always_reads_limits() {
    let fixture = Fixture::new();
    fixture.system("filters", "");
    let file = fixture.system("limits", "parts=7\nparts=x\n");
    let (profile, problems) = fixture.load(NEEDED);
    assert_eq!(profile.settings.message.parts, 7);
    assert_eq!(
        problems,
        at(
            &file,
            &[(2, "bad value \"x\" for parts (expected a whole number)")]
        )
    );
}

#[test]
fn needed_reads_noscantypes_only_with_noscan() {
    let fixture = Fixture::new();
    fixture.system("filters", "");
    let (profile, _) = fixture.load(NEEDED);
    assert!(profile.noscantypes.is_empty());
    let (profile, problems) = fixture.load(Scope::Needed { noscan: true });
    assert!(problems.is_empty());
    assert!(profile.noscantypes.iter().any(|t| t.pattern == "image/png"));
}

#[test]
fn badmail_needs_all_five_files() {
    let fixture = Fixture::new();
    fixture.system("filters", "badmail ; trash\n");
    fixture.system("badsubjects", "a\n");
    fixture.system("badbodytexts", "b\n");
    fixture.system("badloadertypes", "PE\n");
    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty());
    assert_eq!(profile.badsubjects.len(), 1);
    assert_eq!(profile.badbodytexts.len(), 1);
    assert_eq!(profile.badloadertypes.len(), 1);
    assert!(!profile.badfilenames.is_empty());
    assert!(!profile.badmimetypes.is_empty());
    assert!(profile.mailheaders == crate::MailHeaders::default());
}

// ----------------------------------------------------------------- filters

#[test]
fn filters_good_lines() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "filters",
        "# Condition ; Action ; Reactions ; Options ;\n\
         \n\
         ErrorMail ; INSPECT ;  ;  ;\n\
         badfilename ; block ; notifyrecipient, informguard=postmaster@example.com ; quitasap ;\n\
         virusmail ; keep ; forwardguard=$USER-virus@$HOST ; quitasap,lang=DE-ch\n\
         badsubject | bounce | | |\n\
         badbodytext;;notifysender;goodmail,\n\
         badloadertype\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(problems, Vec::<String>::new());
    let got: Vec<_> = profile
        .filters
        .iter()
        .map(|r| (r.condition, r.action, r.origin.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (Condition::Errormail, Action::Inspect, 3),
            (Condition::BadFilename, Action::Block, 4),
            (Condition::VirusMail, Action::Keep, 5),
            (Condition::BadSubject, Action::Bounce, 6),
            (Condition::BadBodyText, Action::Block, 7),
            (Condition::BadLoaderType, Action::Block, 8),
        ]
    );
    let rule = profile.rule(Condition::BadFilename).expect("rule");
    assert_eq!(rule.origin.file, file);
    assert_eq!(
        rule.reactions,
        vec![
            Reaction::NotifyRecipient,
            Reaction::InformGuard("postmaster@example.com".into())
        ]
    );
    assert!(rule.options.quitasap);
    let rule = profile.rule(Condition::VirusMail).expect("rule");
    assert_eq!(
        rule.reactions,
        vec![Reaction::ForwardGuard("$USER-virus@$HOST".into())]
    );
    assert_eq!(
        rule.options,
        FilterOptions {
            quitasap: true,
            goodmail: false,
            lang: Some("de-CH".into()),
            virussender: false,
            bits: None,
            score: None,
        }
    );
    let rule = profile.rule(Condition::BadBodyText).expect("rule");
    assert_eq!(rule.reactions, vec![Reaction::NotifySender]);
    assert!(rule.options.goodmail);
}

#[test]
fn filters_badmail_stands_for_five_conditions() {
    let fixture = Fixture::new();
    fixture
        .system("filters", "virusmail;keep\nbadmail ; block ; ; goodmail\n");
    let (profile, problems) = fixture.lint();
    assert_eq!(problems, Vec::<String>::new());
    let got: Vec<_> = profile
        .filters
        .iter()
        .map(|r| (r.condition, r.origin.line, r.options.goodmail))
        .collect();
    assert_eq!(
        got,
        vec![
            (Condition::VirusMail, 1, false),
            (Condition::BadSubject, 2, false),
            (Condition::BadBodyText, 2, true),
            (Condition::BadFilename, 2, false),
            (Condition::BadMimeType, 2, false),
            (Condition::BadLoaderType, 2, false),
        ]
    );
}

#[test]
fn filters_bad_lines() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "filters",
        "errormal ; inspect\n\
         badsubject ; blok\n\
         ; block\n\
         badfilename ; block ; ; ; extra\n\
         badmimetype ; bounce ; notifysender ;\n\
         badloadertype ; keep ; informguard ; quitasap\n\
         errormail ; inspect ; ; goodmail, lang=x, fast\n\
         virusmail ; keep ; notifyrecipient=joe, tellme, informguard=$HOME@x ; quitasap=1, lang=en, lang=de\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (1, "unknown condition \"errormal\" (expected errormail, badsubject, badbodytext, badfilename, badmimetype, badloadertype, virusmail, spammail, badmail)"),
                (2, "unknown action \"blok\" (expected block, keep, trash, bounce, inspect)"),
                (3, "missing condition; a line starts with one of errormail, badsubject, badbodytext, badfilename, badmimetype, badloadertype, virusmail, spammail, badmail"),
                (4, "too many fields (expected Condition ; Action ; Reaction(s) ; Option(s) ;); separate several reactions or options with ','"),
                (5, "reactions are only allowed with block and keep, not with bounce; remove the reactions or change the action"),
                (6, "bad address \"\" for informguard: the address is missing (expected informguard=LOCAL@DOMAIN)"),
                (7, "bad language \"x\" (expected lang=LL, 2 to 8 letters with an optional region, e.g. lang=en or lang=de-CH)"),
                (7, "unknown option \"fast\" (expected quitasap, goodmail, virussender, lang=LL, bits=N, score=N)"),
                (7, "option goodmail is only for badbodytext, not errormail; remove it"),
                (8, "reaction notifyrecipient takes no address; remove \"=...\""),
                (8, "unknown reaction \"tellme\" (expected notifyrecipient, notifysender, informguard=ADDRESS, forwardguard=ADDRESS)"),
                (8, "bad address \"$HOME@x\" for informguard: unknown variable \"$HOME\" (only $LOCAL, $EXT, $HOST, $USER are expanded) (expected informguard=LOCAL@DOMAIN)"),
                (8, "option quitasap takes no value; remove \"=...\""),
                (8, "option lang given twice; keep one"),
            ]
        )
    );
    // Bad condition, action or field count: the line is left out. A bad
    // reaction or option: only that item is.
    let got: Vec<_> =
        profile.filters.iter().map(|r| (r.condition, r.action)).collect();
    assert_eq!(
        got,
        vec![
            (Condition::BadMimeType, Action::Bounce),
            (Condition::BadLoaderType, Action::Keep),
            (Condition::Errormail, Action::Inspect),
            (Condition::VirusMail, Action::Keep),
        ]
    );
    let mime = profile.rule(Condition::BadMimeType).expect("rule");
    assert!(mime.reactions.is_empty());
    let loader = profile.rule(Condition::BadLoaderType).expect("rule");
    assert!(loader.reactions.is_empty() && loader.options.quitasap);
    let errormail = profile.rule(Condition::Errormail).expect("rule");
    assert_eq!(errormail.options, FilterOptions::default());
    let virus = profile.rule(Condition::VirusMail).expect("rule");
    assert!(virus.reactions.is_empty());
    assert_eq!(virus.options.lang.as_deref(), Some("en"));
    assert!(!virus.options.quitasap);
}

#[test]
fn filters_duplicates_first_wins_and_lint_says_so() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "filters",
        "badsubject ; bounce\nbadmail ; block\nbadsubject ; trash\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (2, "a second line for badsubject; only the first one (line 1) counts: remove or merge this one"),
                (3, "a second line for badsubject; only the first one (line 1) counts: remove or merge this one"),
            ]
        )
    );
    let subject = profile.rule(Condition::BadSubject).expect("rule");
    assert_eq!(subject.action, Action::Bounce);
    assert_eq!(profile.filters.len(), 5);
    // A delivery takes the first line too, silently.
    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty());
    assert_eq!(profile.filters.len(), 5);
}

// ------------------------------------------------------------- mailheaders

#[test]
fn mailheaders_settings() {
    let fixture = Fixture::new();
    fixture.system(
        "mailheaders",
        "header=s\nDATE=Required\nto=r\nmsgid=R\nfrom=required\n\
         subject=r\nmime=STRICT\n+X-Spam-Status = Yes, score\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(problems, Vec::<String>::new());
    let m = &profile.mailheaders;
    assert!(m.strict_header && m.date && m.to && m.msgid && m.from);
    assert!(m.subject && m.strict_mime);
    assert_eq!(m.contains.len(), 1);
    assert_eq!(m.contains[0].field, "x-spam-status");
    assert_eq!(m.contains[0].content, "yes, score");
    assert_eq!(m.contains[0].origin.line, 8);

    fixture
        .system("mailheaders", "header=lax\ndate=o\nmime=l\nfrom=optional\n");
    let (profile, problems) = fixture.lint();
    assert!(problems.is_empty());
    assert_eq!(profile.mailheaders, crate::MailHeaders::default());
}

#[test]
fn mailheaders_bad_lines() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "mailheaders",
        "date\nreplyto=r\ndate=strict\nheader=required\n+=x\n+x-a:b=c\n\
         +x-spam\ndate=r\ndate=o\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (1, "\"date\" is not a setting (expected KEY=VALUE, e.g. date=required, or +FIELD=CONTENT)"),
                (2, "unknown setting \"replyto\" (expected header, date, to, msgid, from, subject, mime, limits, or +FIELD=CONTENT)"),
                (3, "bad value \"strict\" for date (expected required (r) or optional (o))"),
                (4, "bad value \"required\" for header (expected strict (s) or lax (l))"),
                (5, "bad header field name \"\" (expected +FIELD=CONTENT, FIELD printable ASCII without ':', e.g. +x-spam-status=yes)"),
                (6, "bad header field name \"x-a:b\" (expected +FIELD=CONTENT, FIELD printable ASCII without ':', e.g. +x-spam-status=yes)"),
                (7, "missing content for +x-spam (expected +FIELD=CONTENT, e.g. +x-spam-status=yes)"),
                (9, "date is set again (also on line 8); the last line wins: keep one"),
            ]
        )
    );
    assert!(!profile.mailheaders.date);
    assert!(profile.mailheaders.contains.is_empty());
}

// -------------------------------------------------------------- text lists

#[test]
fn badsubjects_substrings_and_regexes() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "badsubjects",
        "  You Have WON  \n/\\bviagra\\b/\n/\n//\n/(unclosed/\n\
         /a{99999}{99999}/\n/.*/\nGRÖSSE\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (5, "bad regular expression /(unclosed/: unclosed group; fix it, or write a plain line to match text literally"),
                (6, "bad regular expression /a{99999}{99999}/: Compiled regex exceeds size limit of 1048576 bytes; fix it, or write a plain line to match text literally"),
                (7, "regular expression /.*/ matches every text, even an empty one; make it more specific"),
            ]
        )
    );
    let sources: Vec<_> =
        profile.badsubjects.iter().map(TextPattern::source).collect();
    assert_eq!(
        sources,
        vec!["you have won", "/\\bviagra\\b/", "/", "//", "/.*/", "grösse"]
    );
    let lines: Vec<_> =
        profile.badsubjects.iter().map(|p| p.origin().line).collect();
    assert_eq!(lines, vec![1, 2, 3, 4, 7, 8]);
    let regex = &profile.badsubjects[1];
    assert!(matches!(regex, TextPattern::Regex { .. }));
    let text = "Cheap VIAGRA here";
    assert!(regex.is_match(text, &text.to_lowercase()));
    assert!(!regex.is_match("viagrafalls", "viagrafalls"));
    let needle = &profile.badsubjects[0];
    let text = "YOU HAVE WON!";
    assert!(needle.is_match(text, &text.to_lowercase()));
}

#[test]
fn badbodytexts_commands() {
    let fixture = Fixture::new();
    fixture.system("limits", "commandtimeout=2m\n");
    let plain = fixture.system("plain", "");
    let file = fixture.system(
        "badbodytexts",
        "|/bin/sh -c exit:1\n\
         | sh  -x  http://x:80:0 \n\
         |/bin/true\n\
         |true arg:255\n\
         spam text\n\
         |\n\
         |   :3\n\
         |/bin/true:256\n\
         |/bin/true:-1\n\
         |/nonexistent/program\n\
         |no-such-program-qmvc\n\
         |bin/true\n\
         |PLAIN\n"
            .replace("PLAIN", &plain)
            .as_str(),
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (6, "a command line needs a program (expected |COMMAND ARGS[:RC], e.g. |/usr/local/bin/check-body:1)"),
                (7, "a command line needs a program (expected |COMMAND ARGS[:RC], e.g. |/usr/local/bin/check-body:1)"),
                (8, "exit code 256 out of range (expected :RC from 0 to 255 at the end of the line)"),
                (9, "exit code -1 out of range (expected :RC from 0 to 255 at the end of the line)"),
                (10, "program /nonexistent/program does not exist or is not executable; fix the path or its mode"),
                (11, "program \"no-such-program-qmvc\" not found in PATH; write its absolute path"),
                (12, "program bin/true is a relative path; write an absolute path or a bare name found in PATH"),
            ]
        )
        .into_iter()
        .chain([format!("{file}:13: program {plain} does not exist or is not executable; fix the path or its mode")])
        .collect::<Vec<_>>()
    );
    let commands: Vec<_> = profile
        .badbodytexts
        .iter()
        .filter_map(|r| match r {
            BodyRule::Command(c) => Some(c),
            BodyRule::Pattern(_) => None,
        })
        .collect();
    let got: Vec<_> = commands
        .iter()
        .map(|c| (c.program.as_str(), c.args.clone(), c.rc, c.origin.line))
        .collect();
    assert_eq!(
        got[..4],
        [
            ("/bin/sh", vec!["-c".to_owned(), "exit".to_owned()], 1, 1),
            ("sh", vec!["-x".to_owned(), "http://x:80".to_owned()], 0, 2),
            ("/bin/true", vec![], 0, 3),
            ("true", vec!["arg".to_owned()], 255, 4),
        ]
    );
    // Lint reports missing programs but keeps the lines.
    assert_eq!(commands.len(), 8);
    assert!(commands.iter().all(|c| c.timeout == Duration::from_secs(120)));
    assert!(matches!(
        &profile.badbodytexts[4],
        BodyRule::Pattern(TextPattern::Substring { needle, .. })
            if needle == "spam text"
    ));
}

#[test]
fn badbodytexts_programs_are_checked_only_by_lint() {
    let fixture = Fixture::new();
    fixture.system("filters", "badbodytext\n");
    fixture.system("badbodytexts", "|/nonexistent/program\n");
    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty());
    assert_eq!(profile.badbodytexts.len(), 1);
    let BodyRule::Command(command) = &profile.badbodytexts[0] else {
        panic!("a command");
    };
    assert_eq!(command.timeout, Duration::from_secs(30));
}

// ------------------------------------------------------------------- globs

#[test]
fn badfilenames_globs() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "badfilenames",
        "*.EXE\ninvoice?.pdf.[sc]cr\n[abc\n*.{a,b\nname\\\n\\*literal\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (3, "bad file name glob \"[abc\": unclosed character class; missing ']'; fix it, or escape the character with \\"),
                (4, "bad file name glob \"*.{a,b\": unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?); fix it, or escape the character with \\"),
                (5, "bad file name glob \"name\\\": dangling '\\'; fix it, or escape the character with \\"),
            ]
        )
    );
    let globs: Vec<_> = profile.badfilenames.iter().collect();
    assert_eq!(globs.len(), 3);
    let exe = globs[0];
    assert!(exe.is_match("setup.exe"));
    // The pattern is lower-cased; names are lower-cased at match time.
    assert_eq!(globs[0].pattern(), "*.exe");
    assert!(exe.is_match(&"SETUP.Exe".to_lowercase()));
    assert!(exe.is_match("dir/sub/setup.exe"));
    assert!(!exe.is_match("setup.exe.txt"));
    let scr = globs[1];
    assert!(scr.is_match(&"Invoice7.PDF.scr".to_lowercase()));
    assert!(!scr.is_match("invoice.pdf.scr"));
    let literal = globs[2];
    assert!(literal.is_match("*literal"));
    assert!(!literal.is_match("xliteral"));
    assert_eq!(globs[2].origin.line, 6);
}

#[test]
fn type_globs() {
    let fixture = Fixture::new();
    let bad = fixture.system(
        "badmimetypes",
        "Application/X-MSDownload\napplication/*\n*/*\nexe\n\
         application/\n/x\na/b/c\ntext/plain; charset=x\n",
    );
    let noscan = fixture.system("noscantypes", "image/*\nimage\n");
    let (profile, problems) = fixture.lint();
    let expected = |entry: &str| {
        format!(
            "\"{entry}\" is not a MIME type (expected type/subtype, e.g. \
             application/x-msdownload; * matches any run of characters)"
        )
    };
    let mut want = at(
        &bad,
        &[
            (4, &expected("exe")),
            (5, &expected("application/")),
            (6, &expected("/x")),
            (7, &expected("a/b/c")),
            (8, &expected("text/plain; charset=x")),
        ],
    );
    want.extend(at(&noscan, &[(2, &expected("image"))]));
    assert_eq!(problems, want);
    let patterns: Vec<_> =
        profile.badmimetypes.iter().map(|t| t.pattern.as_str()).collect();
    assert_eq!(patterns, ["application/x-msdownload", "application/*", "*/*"]);
    assert_eq!(profile.noscantypes.len(), 1);
    assert_eq!(profile.noscantypes[0].pattern, "image/*");
}

#[test]
fn badloadertypes_keywords_and_prefixes() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "badloadertypes",
        "pe\nELF\nmacho\nCoff\nmz\nARCHIVE\nEncrypted\nTVqQA\nf0VMRgIB\nTVqQ\nELFish!\nx y z w v\n",
    );
    let (profile, problems) = fixture.lint();
    let expected = |entry: &str| {
        format!(
            "unknown loader type \"{entry}\" (expected PE, ELF, MachO, \
             COFF, MZ, archive, encrypted, or at least 5 base64 characters \
             such as TVqQA)"
        )
    };
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (10, &expected("TVqQ")),
                (11, &expected("ELFish!")),
                (12, &expected("x y z w v")),
            ]
        )
    );
    let types: Vec<_> = profile
        .badloadertypes
        .iter()
        .filter_map(|r| match r {
            LoaderRule::Type { loader, .. } => Some(*loader),
            LoaderRule::Base64Prefix { .. } => None,
        })
        .collect();
    assert_eq!(types, LoaderType::ALL.to_vec());
    let prefixes: Vec<_> = profile
        .badloadertypes
        .iter()
        .filter_map(|r| match r {
            LoaderRule::Base64Prefix { prefix, origin } => {
                Some((prefix.as_str(), origin.line))
            }
            LoaderRule::Type { .. } => None,
        })
        .collect();
    assert_eq!(prefixes, [("TVqQA", 8), ("f0VMRgIB", 9)]);
}

// ------------------------------------------------------------------ limits

#[test]
fn limits_settings() {
    let fixture = Fixture::new();
    fixture.system(
        "limits",
        "scansize=10M\nMimeDepth = 20\nparts=500\narchivemembers=0\n\
         archivedepth=0\narchivemembersize=512k\ncommandtimeout=45\n\
         queuesize=20M\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(problems, Vec::<String>::new());
    let s = &profile.settings;
    assert_eq!(s.message.scan_size, 10 << 20);
    assert_eq!(s.message.mime_depth, 20);
    assert_eq!(s.message.parts, 500);
    assert_eq!(s.message.archive_members, 0);
    assert_eq!(s.message.archive_depth, 0);
    assert_eq!(s.message.archive_member_size, 512 << 10);
    assert_eq!(s.command_timeout, Duration::from_secs(45));
    assert_eq!(s.queue_size, Some(20 << 20));

    fixture.system("limits", "scansize=2G\ncommandtimeout=10s\n");
    let (profile, _) = fixture.lint();
    assert_eq!(profile.settings.message.scan_size, 2 << 30);
    assert_eq!(profile.settings.command_timeout, Duration::from_secs(10));
    assert_eq!(profile.settings.queue_size, None);
}

#[test]
fn limits_bad_lines() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "limits",
        "scansize\nmaxsize=1M\nscansize=32X\nscansize=0\nmimedepth=1K\n\
         mimedepth=1001\narchivedepth=17\ncommandtimeout=0\n\
         commandtimeout=1h\nparts=-1\nscansize=99999999999999999999\n\
         scansize=17179869184G\nparts=1\nparts=2\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (1, "\"scansize\" is not a setting (expected KEY=VALUE, e.g. scansize=32M)"),
                (2, "unknown limit \"maxsize\" (expected scansize, mimedepth, parts, archivemembers, archivedepth, archivemembersize, archivebytes, commandtimeout, queuesize)"),
                (3, "bad value \"32X\" for scansize (expected a number of bytes with an optional K, M or G suffix, e.g. 32M)"),
                (4, "scansize must be at least 1; remove the line for the default"),
                (5, "bad value \"1K\" for mimedepth (expected a whole number)"),
                (6, "mimedepth must be at most 1000; use a smaller value"),
                (7, "archivedepth must be at most 16; use a smaller value"),
                (8, "commandtimeout must be at least 1; remove the line for the default"),
                (9, "bad value \"1h\" for commandtimeout (expected a number of seconds with an optional s or m suffix, e.g. 30s or 2m)"),
                (10, "bad value \"-1\" for parts (expected a whole number)"),
                (11, "bad value \"99999999999999999999\" for scansize (expected a number of bytes with an optional K, M or G suffix, e.g. 32M)"),
                (12, "bad value \"17179869184G\" for scansize (expected a number of bytes with an optional K, M or G suffix, e.g. 32M)"),
                (14, "parts is set again (also on line 13); the last line wins: keep one"),
            ]
        )
    );
    let mut want = crate::Settings::default();
    want.message.parts = 2;
    assert_eq!(profile.settings, want);
}

#[test]
fn reaction_controls() {
    let fixture = Fixture::new();
    fixture.system(
        "filters",
        "badfilename ; block ; notifyrecipient ;\n\
         virusmail ; keep ; notifysender ; virussender\n\
         badsubject ; block ; ; virussender\n",
    );
    fixture.system("injector", "/usr/local/bin/inject\n");
    fixture.system("guard", "virus-guard@example.com\n");
    fixture.system("language", "DE\n");
    let (profile, problems) = fixture.lint();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("virussender is only for virusmail"));
    assert_eq!(
        profile.reactions.injector,
        PathBuf::from("/usr/local/bin/inject")
    );
    assert_eq!(
        profile.reactions.guard.as_deref(),
        Some("virus-guard@example.com")
    );
    assert_eq!(profile.reactions.language, "de");
    assert!(
        profile.rule(Condition::VirusMail).expect("rule").options.virussender
    );

    let bad = Fixture::new();
    bad.system("injector", "qmail-inject\n/second\n");
    bad.system("guard", "not an address\n");
    bad.system("language", "xx_yy\n");
    let (_, problems) = bad.lint();
    let messages: Vec<&str> = problems.iter().map(|p| p.as_str()).collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
}

#[test]
fn templates_are_layered() {
    let fixture = Fixture::new();
    let user = fixture.layers.user.clone().expect("user");
    let dir = user.join("tpl").join("de");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("notifysender.hbs"), "Subject: x\n\nmine\n")
        .expect("write");
    let layers = &fixture.layers;
    let mine =
        layers.read_template("de", "notifysender", Some("built")).expect("ok");
    assert_eq!(mine.expect("found").text, "Subject: x\n\nmine\n");
    let built =
        layers.read_template("de", "informguard", Some("built")).expect("ok");
    assert_eq!(built.expect("found").layer, Layer::BuiltIn);
    assert!(layers
        .read_template("fr", "informguard", None)
        .expect("ok")
        .is_none());
    assert!(layers.read_template("../x", "informguard", None).is_err());
    assert!(layers.read_template("de", "a/b", None).is_err());
}

#[test]
fn system_home_is_qmvchome_when_set_and_not_empty() {
    // The only test that touches QMVCHOME: nothing else here reads it.
    let saved = std::env::var_os("QMVCHOME");
    std::env::set_var("QMVCHOME", "/srv/qmvc");
    assert_eq!(crate::system_home(), PathBuf::from("/srv/qmvc"));
    std::env::set_var("QMVCHOME", "");
    assert_eq!(crate::system_home(), PathBuf::from("/var/qmvc"));
    std::env::remove_var("QMVCHOME");
    assert_eq!(
        crate::system_home(),
        PathBuf::from(crate::DEFAULT_SYSTEM_HOME)
    );
    if let Some(saved) = saved {
        std::env::set_var("QMVCHOME", saved);
    }
}

#[test]
fn errors_say_whose_fault_they_are() {
    let fixture = Fixture::new();
    let path = fixture.write(Layer::System, "filters", "errormail\n");
    chmod(&path, 0o666);
    let e = fixture.layers.read(Control::Filters).expect_err("writable");
    assert_eq!((e.fault(), e.line), (Fault::Environment, 0));
    fs::write(&path, b"errormail\n\xff\n").expect("write");
    chmod(&path, 0o644);
    let e = fixture.layers.read(Control::Filters).expect_err("latin1");
    let file = e.file.clone();
    assert_eq!((e.fault(), e.line), (Fault::Config { file, line: 2 }, 2));
    let e = fixture.layers.read_engine("../x").expect_err("escape");
    assert!(matches!(e.fault(), Fault::Config { .. }), "{e}");
}

// -------------------------------------------------------------------- fold

/// The ASCII fast path of `fold` does what the general path does: every
/// ASCII character, alone and between letters, against the same text with
/// a non-ASCII character that forces the general path.
#[test]
fn fold_ascii_matches_general_path() {
    for b in 0u8..=0x7f {
        let c = char::from(b);
        let text = format!("  Ab{c}Cd {c}{c}\t\nE");
        let general = crate::fold(&format!("{text}É"));
        let fast = crate::fold(&text);
        assert_eq!(format!("{fast}é"), general, "{b:#x}");
    }
}
