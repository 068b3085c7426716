/*!
`scanners` and `scanners.d/ENGINE.yaml`: the syntax of both, with the
exact `FILE:LINE: message` lint prints, the layering of definitions, which
scope reads them, and every definition that ships.
*/

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::{at, chmod, Fixture, NEEDED};
use crate::definitions::{built_in, parse_endpoint};
use crate::lines::Sink;
use crate::{
    Control, Endpoint, EngineDef, Fildes, Layer, Method, Policy, Target,
    BUILT_IN_ENGINES,
};

/// A command definition whose program exists.
const CAT: &str = "protocol: command\ncommand: [/bin/cat, '{}']\n";

/// A clamd definition.
const CLAMD: &str = "protocol: clamd\nendpoints: [unix:/run/c.ctl]\n";

impl Fixture {
    /// Writes the definition of `engine` in `layer`; the path as problems
    /// show it.
    fn definition(&self, layer: Layer, engine: &str, text: &str) -> String {
        let name = format!("scanners.d/{engine}.yaml");
        self.write(layer, &name, text).display().to_string()
    }

    /// Lints a system definition of a test engine that `scanners` names;
    /// its problems, and the definition when it is usable.
    fn lint_definition(&self, text: &str) -> (Option<EngineDef>, Vec<String>) {
        self.system("scanners", "test ; T ; Test ;\n");
        let file = self.definition(Layer::System, "test", text);
        let (mut profile, problems) = self.lint();
        let problems =
            problems.into_iter().map(|p| p.replace(&file, "FILE")).collect();
        (profile.scanners.pop().map(|s| s.definition), problems)
    }
}

/// The problems of a definition `text` under lint, as `FILE:LINE: ...`.
fn problems_of(text: &str) -> Vec<String> {
    let fixture = Fixture::new();
    let (definition, problems) = fixture.lint_definition(text);
    assert!(
        definition.is_none() || problems.iter().all(|p| p.contains("program")),
        "a definition with problems is left out: {problems:?}"
    );
    problems
}

/// `FILE:LINE: message`.
fn line(number: usize, message: &str) -> String {
    format!("FILE:{number}: {message}")
}

// ---------------------------------------------------------------- scanners

#[test]
fn scanners_good_lines_in_file_order() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "scanners",
        "# Engine ; Initial ; Full name ; Comment\n\
         \n\
         clamd ; C ; ClamAV daemon ;\n\
         my-av_2 | x | | a comment; with | separators\n\
         test;T\n",
    );
    fixture.definition(Layer::System, "my-av_2", CAT);
    fixture.definition(Layer::System, "test", CAT);
    let (profile, problems) = fixture.lint();
    assert_eq!(problems, Vec::<String>::new());
    let got: Vec<_> = profile
        .scanners
        .iter()
        .map(|s| {
            (s.engine.as_str(), s.initial, s.full_name.as_str(), s.origin.line)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("clamd", 'C', "ClamAV daemon", 3),
            ("my-av_2", 'x', "my-av_2", 4),
            ("test", 'T', "test", 5),
        ]
    );
    assert!(profile.scanners.iter().all(|s| s.origin.file == file));
    let clamd = &profile.scanners[0].definition;
    assert_eq!(clamd.file, "(built-in)/control/scanners.d/clamd.yaml");
}

#[test]
fn scanners_bad_lines() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "scanners",
        "; C ; no engine\n\
         ClamD ; C\n\
         clam d ; C\n\
         clamd\n",
    );
    let (profile, problems) = fixture.lint();
    let bad_engine = |name: &str| {
        format!(
            "bad engine name \"{name}\" (expected lower-case letters, \
             digits, _ and -: the name of its definition \
             scanners.d/ENGINE.yaml, e.g. clamd)"
        )
    };
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (1, "missing engine (expected Engine ; Initial ; Full name ; Comment, e.g. clamd ; C ; ClamAV daemon ;)"),
                (2, &bad_engine("ClamD")),
                (3, &bad_engine("clam d")),
                (4, "missing initial (expected Engine ; Initial ; Full name ; Comment, e.g. clamd ; C ; ClamAV daemon ;)"),
            ]
        )
    );
    assert!(profile.scanners.is_empty());
    let file = fixture.system(
        "scanners",
        "clamd ; 1\nclamd ; Ü\nclamd ; CL ; two letters\n",
    );
    let (_, problems) = fixture.lint();
    let bad_initial = |initial: &str| {
        format!(
            "bad initial \"{initial}\" (expected one ASCII letter for \
             qmvc.log, e.g. C)"
        )
    };
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (1, &bad_initial("1")),
                (2, &bad_initial("Ü")),
                (3, &bad_initial("CL")),
            ]
        )
    );
}

#[test]
fn scanners_duplicates_and_a_fifth_line() {
    let fixture = Fixture::new();
    for engine in ["one", "two", "three"] {
        fixture.definition(Layer::System, engine, CAT);
    }
    let file = fixture.system(
        "scanners",
        "clamd ; C\n\
         clamd ; D ; again\n\
         one ; c ; same letter in lower case\n\
         two ; O\n\
         # a comment does not count\n\
         three ; T\n\
         clamscan ; S\n\
         clamdscan ; X\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (2, "engine clamd is listed again (also on line 1); remove this line"),
                (3, "initial c is taken by clamd (line 1); give each scanner its own letter"),
                (6, "more than 4 scanner lines; at most 4 scanners run: remove this line or an earlier one"),
                (7, "more than 4 scanner lines; at most 4 scanners run: remove this line or an earlier one"),
                (8, "more than 4 scanner lines; at most 4 scanners run: remove this line or an earlier one"),
            ]
        )
    );
    let engines: Vec<_> =
        profile.scanners.iter().map(|s| s.engine.as_str()).collect();
    assert_eq!(engines, ["clamd", "two"]);
}

#[test]
fn a_scanner_without_definition_is_a_problem() {
    let fixture = Fixture::new();
    fixture.system("filters", "virusmail ; keep\n");
    let file = fixture.system("scanners", "clamd ; C\nnonesuch ; N ; None\n");
    let want = at(
        &file,
        &[(
            2,
            "no definition for engine nonesuch: write one to \
             control/scanners.d/nonesuch.yaml (see qmvc-scanners(5); \
             shipped: clamd, clamdscan, clamscan, sophos, fsecure, mcafee, \
             eset, drweb, avast, bitdefender, kaspersky, spamd, rspamd)",
        )],
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(problems, want);
    assert_eq!(profile.scanners.len(), 1);
    // A delivery reports it too (and so defers).
    let (profile, problems) = fixture.load(NEEDED);
    assert_eq!(problems, want);
    assert_eq!(profile.scanners.len(), 1);
}

#[test]
fn built_in_scanners_has_no_active_line() {
    let fixture = Fixture::new();
    let source = fixture.layers.read(Control::Scanners).expect("ok");
    assert_eq!(source.file, "(built-in)/control/scanners");
    let (profile, problems) = fixture.lint();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(profile.scanners.is_empty());
    // Each commented example names a shipped engine and would load.
    let examples: String = Control::Scanners
        .default_text()
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter(|l| l.contains(';') && !l.starts_with(' '))
        .map(|l| format!("{l}\n"))
        .collect();
    // The spam engines are listed in spamscanners instead.
    let virus_engines =
        BUILT_IN_ENGINES.iter().filter(|(n, _)| !n.contains("spam")).count();
    assert_eq!(examples.lines().count(), virus_engines);
    for example in examples.lines() {
        let mut problems = Vec::new();
        let mut sink = Sink::new("scanners", &mut problems, true);
        let lines = crate::scanners::parse(example, &mut sink);
        assert!(problems.is_empty(), "{problems:?}");
        let engine = &lines[0].engine;
        assert!(built_in(engine).is_some(), "{engine} ships");
    }
}

// ------------------------------------------------------------------ scopes

#[test]
fn needed_reads_scanners_only_with_a_virusmail_line() {
    let fixture = Fixture::new();
    fixture.system("filters", "badfilename ; block\n");
    fixture.system("scanners", "nonesuch ; N\nclamd ; C\n");
    // Broken definitions and unreadable files do not matter either.
    let writable = fixture.definition(Layer::System, "clamd", CLAMD);
    chmod(std::path::Path::new(&writable), 0o666);
    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(profile.scanners.is_empty());

    fixture.system("filters", "virusmail ; keep\n");
    let e = crate::Profile::load(&fixture.layers, NEEDED)
        .expect_err("a writable definition defers");
    assert_eq!(e.file, writable);
    assert_eq!(
        e.reason,
        "group or world writable; fix with chmod go-w (#4.7.0)"
    );
    chmod(std::path::Path::new(&writable), 0o644);
    let (profile, problems) = fixture.load(NEEDED);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("no definition for engine nonesuch"));
    let engines: Vec<_> =
        profile.scanners.iter().map(|s| s.engine.as_str()).collect();
    assert_eq!(engines, ["clamd"]);
}

#[test]
fn lint_reports_an_unreadable_definition_and_goes_on() {
    let fixture = Fixture::new();
    fixture.system("scanners", "clamd ; C\n");
    let writable = fixture.definition(Layer::Domain, "clamd", CLAMD);
    chmod(std::path::Path::new(&writable), 0o664);
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        [format!(
            "{writable}:0: group or world writable; fix with chmod go-w \
             (#4.7.0)"
        )]
    );
    assert!(profile.scanners.is_empty());
}

#[test]
fn lint_checks_every_shipped_definition_named_or_not() {
    let fixture = Fixture::new();
    // Not named in scanners, but a broken copy in a layer is found.
    let file = fixture.definition(Layer::System, "sophos", "protocol: x\n");
    let (_, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[(1, "unknown protocol \"x\" (expected clamd, command, spamd or rspamd)")]
        )
    );
    // A delivery reads no definition it does not need.
    let (_, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty());
}

// ---------------------------------------------------------------- layering

#[test]
fn definitions_are_layered_per_file() {
    let fixture = Fixture::new();
    let read = |f: &Fixture, engine: &str| {
        f.layers.read_engine(engine).expect("readable")
    };
    let source = read(&fixture, "clamd").expect("shipped");
    assert_eq!(source.layer, Layer::BuiltIn);
    assert_eq!(source.file, "(built-in)/control/scanners.d/clamd.yaml");
    assert!(read(&fixture, "nonesuch").is_none());

    let system = fixture.definition(Layer::System, "clamd", CLAMD);
    let source = read(&fixture, "clamd").expect("system");
    assert_eq!(
        (source.layer, source.file.as_str()),
        (Layer::System, &*system)
    );
    let user = fixture.definition(
        Layer::User,
        "clamd",
        "protocol: clamd\nendpoints:\n  - tcp:[::1]:3310\ntimeout: 9\n",
    );
    fixture.definition(Layer::Domain, "nonesuch", CAT);
    assert_eq!(read(&fixture, "clamd").expect("user").layer, Layer::User);
    assert_eq!(read(&fixture, "nonesuch").expect("d").layer, Layer::Domain);

    // The user's definition is the one used, whole: no merging.
    fixture.system("scanners", "clamd ; C\n");
    let (profile, problems) = fixture.lint();
    assert!(problems.is_empty(), "{problems:?}");
    let definition = &profile.scanners[0].definition;
    assert_eq!(definition.file, user);
    assert_eq!(definition.timeout, Duration::from_secs(9));
    let Method::Clamd { endpoints, .. } = &definition.method else {
        panic!("clamd");
    };
    assert_eq!(endpoints, &[Endpoint::Tcp { host: "::1".into(), port: 3310 }]);

    // A missing file falls back, as with every control file.
    fs::remove_file(&user).expect("rm");
    assert_eq!(read(&fixture, "clamd").expect("s").layer, Layer::System);
}

#[test]
fn read_path_and_read_engine_refuse_escapes() {
    let fixture = Fixture::new();
    for bad in ["", "/etc/passwd", "../x", "scanners.d/../../x", "a//b", "./a"]
    {
        let e = fixture.layers.read_path(bad, None).expect_err(bad);
        assert_eq!(e.reason, "not a path inside control/ (#4.3.0)");
    }
    for bad in ["", "../clamd", "ClamD", "a/b", "a.b"] {
        let e = fixture.layers.read_engine(bad).expect_err(bad);
        assert!(e.reason.starts_with("not an engine name"), "{}", e.reason);
    }
    let path = fixture.write(Layer::Domain, "scanners.d/x.yaml", "a\n");
    let source = fixture
        .layers
        .read_path("scanners.d/x.yaml", Some("built-in"))
        .expect("ok")
        .expect("found");
    assert_eq!(source.file, path.display().to_string());
    fs::remove_file(&path).expect("rm");
    let source = fixture
        .layers
        .read_path("scanners.d/x.yaml", Some("built-in"))
        .expect("ok")
        .expect("built-in");
    assert_eq!(source.file, "(built-in)/control/scanners.d/x.yaml");
    assert_eq!(source.text, "built-in");
    assert!(fixture
        .layers
        .read_path("scanners.d/x.yaml", None)
        .expect("ok")
        .is_none());
}

#[test]
fn a_definition_must_be_utf8() {
    let fixture = Fixture::new();
    let path = fixture.write(Layer::System, "scanners.d/clamd.yaml", "");
    fs::write(&path, b"protocol: clamd\n# \xe4\n").expect("write");
    let e = fixture.layers.read_engine("clamd").expect_err("latin1");
    assert_eq!(
        e.reason,
        "not UTF-8 text (line 2); convert the file to UTF-8 (#4.3.0)"
    );
}

// ------------------------------------------------------------- definitions

#[test]
fn clamd_definition_with_every_key() {
    let fixture = Fixture::new();
    let (definition, problems) = fixture.lint_definition(
        "# a comment\n\
         ---\n\
         protocol: CLAMD\n\
         endpoints:\n\
         \x20 - unix:/var/run/clamav/clamd.ctl\n\
         \x20 - tcp:127.0.0.1:3310\n\
         \x20 - TCP:[2001:db8::1]:1\n\
         \x20 - tcp:clamd.example.com:65535\n\
         connect_timeout: 2\n\
         fildes: Never\n\
         timeout: 3600\n\
         on_error: Block\n\
         on_unscanned: tempfail\n\
         unscanned: [Heuristics.Limits.Exceeded*]\n",
    );
    assert_eq!(problems, Vec::<String>::new());
    let definition = definition.expect("usable");
    let Method::Clamd { endpoints, connect_timeout, fildes } =
        &definition.method
    else {
        panic!("clamd");
    };
    assert_eq!(
        endpoints,
        &[
            Endpoint::Unix(PathBuf::from("/var/run/clamav/clamd.ctl")),
            Endpoint::Tcp { host: "127.0.0.1".into(), port: 3310 },
            Endpoint::Tcp { host: "2001:db8::1".into(), port: 1 },
            Endpoint::Tcp { host: "clamd.example.com".into(), port: 65535 },
        ]
    );
    assert_eq!(*connect_timeout, Duration::from_secs(2));
    assert_eq!(*fildes, Fildes::Never);
    assert_eq!(definition.timeout, Duration::from_secs(3600));
    assert_eq!(definition.on_error, Policy::Block);
    assert_eq!(definition.on_unscanned, Policy::Tempfail);
    assert_eq!(definition.unscanned, ["Heuristics.Limits.Exceeded*"]);
    assert_eq!(definition.version, None);
}

#[test]
fn clamd_defaults() {
    let definition = EngineDef::parse(CLAMD, "f").expect("usable");
    let Method::Clamd { connect_timeout, fildes, .. } = &definition.method
    else {
        panic!("clamd");
    };
    assert_eq!(*connect_timeout, Duration::from_secs(5));
    assert_eq!(*fildes, Fildes::Auto);
    assert_eq!(definition.timeout, Duration::from_secs(60));
    assert_eq!(definition.on_error, Policy::Tempfail);
    assert_eq!(definition.on_unscanned, Policy::Pass);
    assert_eq!(
        definition.unscanned,
        ["Heuristics.Limits.Exceeded*", "Heuristics.Encrypted.*"]
    );
    assert_eq!(definition.file, "f");
}

#[test]
fn command_definition_with_every_key() {
    let fixture = Fixture::new();
    let (definition, problems) = fixture.lint_definition(
        "protocol: command\n\
         command:\n\
         \x20 - /bin/cat\n\
         \x20 - --flag={x}\n\
         \x20 - \"{}\"\n\
         target: Directory\n\
         clean: [0, 10]\n\
         infected: [1, 255]\n\
         virus: '^(.+) FOUND$'\n\
         timeout: 30\n\
         on_error: pass\n\
         on_unscanned: block\n\
         unscanned: []\n\
         version: [cat, --version]\n",
    );
    assert_eq!(problems, Vec::<String>::new());
    let definition = definition.expect("usable");
    let Method::Command { argv, target, clean, infected, virus } =
        &definition.method
    else {
        panic!("command");
    };
    assert_eq!(argv, &["/bin/cat", "--flag={x}", "{}"]);
    assert_eq!(*target, Target::Directory);
    assert_eq!(clean, &[0, 10]);
    assert_eq!(infected, &[1, 255]);
    let virus = virus.as_ref().expect("regex");
    let name = virus.captures("/tmp/x: Eicar FOUND").and_then(|c| c.get(1));
    assert_eq!(name.map(|m| m.as_str()), Some("/tmp/x: Eicar"));
    assert_eq!(definition.timeout, Duration::from_secs(30));
    assert_eq!(definition.on_error, Policy::Pass);
    assert_eq!(definition.on_unscanned, Policy::Block);
    assert!(definition.unscanned.is_empty());
    let version = definition.version.expect("version");
    assert_eq!(version, ["cat", "--version"]);
}

#[test]
fn command_defaults() {
    let definition = EngineDef::parse(CAT, "f").expect("usable");
    let Method::Command { target, clean, infected, virus, .. } =
        &definition.method
    else {
        panic!("command");
    };
    assert_eq!(*target, Target::File);
    assert_eq!((clean.as_slice(), infected.as_slice()), (&[0][..], &[1][..]));
    assert!(virus.is_none());
    assert_eq!(definition.timeout, Duration::from_secs(120));
    assert_eq!(definition.on_error, Policy::Tempfail);
    assert_eq!(definition.on_unscanned, Policy::Pass);
    assert!(definition.unscanned.is_empty());
    assert!(definition.version.is_none());
}

#[test]
fn unknown_keys_and_yaml_errors_have_their_line() {
    let keys = "protocol, endpoints, connect_timeout, fildes, command, \
                target, \
                clean, infected, virus, timeout, on_error, on_unscanned, \
                unscanned, version, max_size, user";
    assert_eq!(
        problems_of("protocol: clamd\nendpoints: [unix:/x]\nport: 3310\n"),
        [line(3, &format!("unknown key \"port\" (expected {keys})"))]
    );
    assert_eq!(
        problems_of("protocol: clamd\ntimeout: soon\n"),
        [line(2, "bad value \"soon\" for timeout (expected a whole number)")]
    );
    assert_eq!(
        problems_of(
            "protocol: command\ncommand: [/bin/cat, '{}']\nclean: 0\n"
        ),
        [line(
            3,
            "bad value \"0\" for clean (expected a list of whole numbers, \
             e.g. clean: [0])"
        )]
    );
    assert_eq!(
        problems_of("protocol: command\ncommand:\n  - /bin/cat\n  - {}\n"),
        [line(
            4,
            "quote the placeholder: write '{}' (unquoted, {} is an empty \
             YAML mapping)"
        )]
    );
    assert_eq!(
        problems_of("protocol: clamd\n  endpoints: x\n"),
        [line(
            2,
            "unexpected indentation: a key starts in column 1, and only \
             list items (- item) are indented (see qmvc-scanners(5))"
        )]
    );
    assert_eq!(
        problems_of(&format!("{CLAMD}timeout: 5\n# x\ntimeout: 6\n")),
        [line(5, "timeout is given twice; keep one")]
    );
    assert_eq!(
        problems_of("- protocol: clamd\n"),
        [line(
            1,
            "expected a mapping of keys, e.g. protocol: clamd, not a list \
             (see qmvc-scanners(5))"
        )]
    );
    assert_eq!(
        problems_of(&format!("{CLAMD}---\n{CLAMD}")),
        [line(
            3,
            "a second YAML document; a definition is one mapping: remove \
             this line and what follows (see qmvc-scanners(5))"
        )]
    );
    assert_eq!(
        problems_of("protocol: clamd\nendpoints: [tcp:[::1]:3310]\n"),
        [line(
            2,
            "a value in a [...] list holds '[': quote it, e.g. \
             ['tcp:[::1]:3310'] (see qmvc-scanners(5))"
        )]
    );
    assert!(problems_of("protocol: clamd\nendpoints: ['tcp:[::1]:1']\n")
        .is_empty());
    let missing = "missing protocol (expected protocol: clamd, command, \
                   spamd or rspamd; see qmvc-scanners(5))";
    assert_eq!(problems_of(""), [line(0, missing)]);
    assert_eq!(problems_of("# only a comment\n"), [line(0, missing)]);
    assert_eq!(problems_of("timeout: 5\n"), [line(0, missing)]);
}

#[test]
fn bad_values_are_reported_at_their_key() {
    assert_eq!(
        problems_of("timeout: 5\nprotocol: icap\n"),
        [line(2, "unknown protocol \"icap\" (expected clamd, command, spamd or rspamd)")]
    );
    assert_eq!(
        problems_of(&format!(
            "{CLAMD}on_error: defer\non_unscanned: ignore\ntimeout: 0\n\
             connect_timeout: 3601\nunscanned: [a, '']\n"
        )),
        [
            line(5, "timeout must be from 1 to 3600 seconds; remove the line for the default (60)"),
            line(3, "unknown policy \"defer\" for on_error (expected tempfail, pass or block)"),
            line(4, "unknown policy \"ignore\" for on_unscanned (expected tempfail, pass or block)"),
            line(7, "an empty name in unscanned; remove it (a name may use * for any run of characters)"),
            line(6, "connect_timeout must be from 1 to 3600 seconds; remove the line for the default (5)"),
        ]
    );
    assert_eq!(
        problems_of(
            "protocol: clamd\nendpoints: [unix:/x]\ncommand: [a]\n\
             target: file\nclean: [0]\ninfected: [1]\nvirus: x\n\
             version: [a]\n"
        ),
        [
            line(3, "command is only for protocol: command, not clamd; remove it"),
            line(4, "target is only for protocol: command, not clamd; remove it"),
            line(5, "clean is only for protocol: command, not clamd; remove it"),
            line(6, "infected is only for protocol: command, not clamd; remove it"),
            line(7, "virus is only for protocol: command, not clamd; remove it"),
            line(8, "version is only for protocol: command (clamd is asked for its version itself), not clamd; remove it"),
        ]
    );
    assert_eq!(
        problems_of(
            "protocol: command\ncommand: [/bin/cat, '{}']\n\
             endpoints: [unix:/x]\nconnect_timeout: 1\n"
        ),
        [
            line(3, "endpoints is only for protocol: clamd, spamd or rspamd, not command; remove it"),
            line(4, "connect_timeout is only for protocol: clamd, spamd or rspamd, not command; remove it"),
        ]
    );
    assert_eq!(
        problems_of("protocol: spamd\nendpoints: [unix:/x]\nfildes: auto\n"),
        [line(3, "fildes is only for protocol: clamd, not spamd; remove it")]
    );
    assert_eq!(
        problems_of(&format!("{CLAMD}fildes: always\n")),
        [line(3, "unknown fildes \"always\" (expected auto or never)")]
    );
}

#[test]
fn bad_endpoints() {
    let forms = "expected unix:/PATH or tcp:HOST:PORT, e.g. \
                 unix:/var/run/clamav/clamd.ctl or tcp:127.0.0.1:3310";
    assert_eq!(
        problems_of(
            "protocol: clamd\nendpoints:\n  - unix:/ok\n  - unix:rel\n\n\
             \x20 # comment\n  - tcp:localhost\n  - tcp:::1:3310\n\
             \x20 - tcp:[::1]:0\n  - tcp:[x]:1\n  - tcp:[::1]\n\
             \x20 - tcp:a b:1\n  - tcp:a:65536\n  - http://x\n\
             timeout: 5\n"
        ),
        [
            line(4, &format!("bad endpoint \"unix:rel\": the socket path must be absolute ({forms})")),
            line(7, &format!("bad endpoint \"tcp:localhost\": the port is missing ({forms})")),
            line(8, "bad endpoint \"tcp:::1:3310\": write an IPv6 address in brackets, e.g. tcp:[::1]:3310"),
            line(9, "bad endpoint \"tcp:[::1]:0\": \"0\" is not a port (expected 1 to 65535)"),
            line(10, "bad endpoint \"tcp:[x]:1\": \"x\" is not an IPv6 address"),
            line(11, "bad endpoint \"tcp:[::1]\": expected tcp:[IPV6]:PORT, e.g. tcp:[::1]:3310"),
            line(12, &format!("bad endpoint \"tcp:a b:1\": \"a b\" is not a host name or address ({forms})")),
            line(13, "bad endpoint \"tcp:a:65536\": \"65536\" is not a port (expected 1 to 65535)"),
            line(14, &format!("bad endpoint \"http://x\" ({forms})")),
        ]
    );
    let none = format!(
        "clamd needs endpoints, a list of where clamd listens ({forms})"
    );
    assert_eq!(problems_of("protocol: clamd\n"), [line(0, &none)]);
    assert_eq!(
        problems_of("protocol: clamd\nendpoints: []\n"),
        [line(2, &none)]
    );
    // A flow list is one line.
    assert_eq!(
        problems_of("protocol: clamd\nendpoints: [unix:/a, unix:b]\n"),
        [line(2, &format!("bad endpoint \"unix:b\": the socket path must be absolute ({forms})"))]
    );
    assert_eq!(
        parse_endpoint("UNIX:/run/x"),
        Ok(Endpoint::Unix(PathBuf::from("/run/x")))
    );
}

#[test]
fn bad_commands_and_exit_codes() {
    assert_eq!(
        problems_of(
            "protocol: command\ncommand: [/bin/cat, '--file={}']\n\
             clean: [0, 1, 256]\ninfected: [1, -1]\n"
        ),
        [
            line(2, "command has no argument '{}' for the path to scan; add one"),
            line(2, "argument \"--file={}\" holds {} but is not {} itself: only a whole argument {} is replaced by the path; make it an argument of its own"),
            line(3, "exit code 256 in clean is out of range (expected 0 to 255)"),
            line(4, "exit code -1 in infected is out of range (expected 0 to 255)"),
            line(4, "exit code 1 is in both clean and infected; keep it in one"),
        ]
    );
    assert_eq!(
        problems_of("protocol: command\n"),
        [line(0, "a command engine needs command, a list of the program and its arguments, e.g. [/usr/bin/clamscan, --no-summary, '{}']")]
    );
    assert_eq!(
        problems_of(
            "protocol: command\ncommand: ['{}', x]\nclean: []\n\
             infected: []\nversion: []\n"
        ),
        [
            line(2, "bad program \"{}\" in command; the first item is the program, e.g. /usr/bin/clamscan"),
            line(3, "clean is empty; list at least one exit code"),
            line(4, "infected is empty and there is no virus expression, so nothing could ever be found; list the exit codes of a find, or give virus"),
            line(5, "version is empty; give the program and its arguments, or remove the line"),
        ]
    );
    // No infected exit code: finds come from the output alone.
    let fixture = Fixture::new();
    let (definition, problems) = fixture.lint_definition(&format!(
        "{CAT}infected: []\nvirus: 'infected with (.+)'\n"
    ));
    assert!(problems.is_empty(), "{problems:?}");
    assert!(definition.is_some());
}

#[test]
fn bad_virus_expressions() {
    let with = |virus: &str| {
        problems_of(&format!("{CAT}timeout: 5\nvirus: '{virus}'\n"))
    };
    assert_eq!(
        with("(unclosed"),
        [line(4, "bad regular expression in virus: unclosed group; fix it")]
    );
    assert_eq!(
        with("a{99999}{99999}"),
        [line(4, "bad regular expression in virus: Compiled regex exceeds size limit of 1048576 bytes; fix it")]
    );
    assert_eq!(
        with("FOUND$"),
        [line(4, "virus needs exactly one capture group (…) for the virus name, not 0; use (?:…) for other groups")]
    );
    assert_eq!(
        with("(.+): (.+) FOUND"),
        [line(4, "virus needs exactly one capture group (…) for the virus name, not 2; use (?:…) for other groups")]
    );
    assert_eq!(
        with("(.*)"),
        [line(4, "virus matches an empty line, so every output would name a virus; make it more specific")]
    );
    assert!(with("^(?:.*: )?(.+) FOUND$").is_empty());
}

#[test]
fn missing_programs_are_a_lint_problem_only() {
    let fixture = Fixture::new();
    fixture.system("filters", "virusmail ; keep\n");
    fixture.system("scanners", "test ; T\n");
    let file = fixture.definition(
        Layer::System,
        "test",
        "protocol: command\ncommand: [/nonexistent/scan, '{}']\n\
         version: [no-such-program-qmvc, -V]\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (2, "program /nonexistent/scan does not exist or is not executable; fix the path or its mode"),
                (3, "program \"no-such-program-qmvc\" not found in PATH; write its absolute path"),
            ]
        )
    );
    // The scanner is kept: in a delivery a missing program is a scanner
    // failure at scan time, and the definition loads without a problem.
    assert_eq!(profile.scanners.len(), 1);
    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(profile.scanners.len(), 1);
}

#[test]
fn a_named_built_in_definition_gets_its_programs_checked() {
    let fixture = Fixture::new();
    fixture.system("scanners", "sophos ; O ; Sophos\n");
    let (profile, problems) = fixture.lint();
    let file = "(built-in)/control/scanners.d/sophos.yaml";
    if fs::metadata("/opt/sophos-av/bin/savscan").is_ok() {
        return; // Sophos is installed here
    }
    let message = "program /opt/sophos-av/bin/savscan does not exist or is \
                   not executable; install the engine, or copy this file \
                   into control/scanners.d/ and fix the path there";
    let text = built_in("sophos").expect("shipped");
    let command = 1 + text
        .lines()
        .position(|l| l.starts_with("command:"))
        .expect("command");
    // version runs the same program: reported once.
    assert_eq!(problems, at(file, &[(command, message)]));
    assert_eq!(profile.scanners.len(), 1);
}

// ---------------------------------------------------------------- shipped

#[test]
fn every_shipped_definition_parses_without_problems() {
    for &(engine, text) in BUILT_IN_ENGINES {
        let file = format!("(built-in)/control/scanners.d/{engine}.yaml");
        let definition = EngineDef::parse(text, &file)
            .unwrap_or_else(|p| panic!("{engine}: {p:?}"));
        assert_eq!(definition.file, file);
        let tested = ["clamd", "clamdscan", "clamscan", "spamd", "rspamd"]
            .contains(&engine);
        assert_eq!(
            text.starts_with("# UNVERIFIED: not tested against a real engine"),
            !tested,
            "{engine}: only the ClamAV and spam definitions are tested"
        );
        assert!(text.contains("qmvc-scanners(5)"), "{engine}");
        match &definition.method {
            Method::Clamd { .. } => assert_eq!(engine, "clamd"),
            Method::Command { argv, .. } => {
                assert!(argv[0].starts_with('/'), "{engine}: absolute path");
            }
            Method::Spamd { .. } => assert_eq!(engine, "spamd"),
            Method::Rspamd { .. } => assert_eq!(engine, "rspamd"),
        }
        // Mail flows when a spam engine is down (SPEC 8).
        let on_error = if definition.method.is_spam() {
            Policy::Pass
        } else {
            Policy::Tempfail
        };
        assert_eq!(definition.on_error, on_error, "{engine}");
        assert_eq!(definition.on_unscanned, Policy::Pass, "{engine}");
    }
    let mut names: Vec<_> = BUILT_IN_ENGINES.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), BUILT_IN_ENGINES.len());
}

#[test]
fn every_shipped_definition_is_in_the_source_tree_and_the_man_page() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let dir = format!("{root}/control-defaults/scanners.d");
    let mut files: Vec<String> = fs::read_dir(&dir)
        .expect("scanners.d")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort_unstable();
    let mut shipped: Vec<String> =
        BUILT_IN_ENGINES.iter().map(|(n, _)| format!("{n}.yaml")).collect();
    shipped.sort_unstable();
    assert_eq!(files, shipped, "every file in scanners.d is compiled in");
    let page = fs::read_to_string(format!("{root}/man/qmvc-scanners.5"))
        .expect("qmvc-scanners(5)");
    for &(engine, _) in BUILT_IN_ENGINES {
        assert!(
            page.contains(&format!(".SS {engine}\n")),
            "qmvc-scanners(5) has no section for {engine}"
        );
    }
}

#[test]
fn the_man_page_examples_load() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let page = fs::read_to_string(format!("{root}/man/qmvc-scanners.5"))
        .expect("qmvc-scanners(5)");
    let examples = page.split("\n.SH EXAMPLES\n").nth(1).expect("EXAMPLES");
    let examples = examples.split("\n.SH ").next().expect("section");
    let blocks: Vec<String> = examples
        .split(".nf\n")
        .skip(1)
        .filter_map(|b| b.split_once(".fi\n").map(|(b, _)| b))
        .map(|b| b.replace("\\-", "-").replace("\\(aq", "'"))
        .collect();
    assert_eq!(blocks.len(), 2);
    for block in blocks {
        EngineDef::parse(&block, "example")
            .unwrap_or_else(|p| panic!("{block}: {p:?}"));
    }
}

/// The name the shipped `engine`'s expression finds in `line`.
fn found(engine: &str, line: &str) -> Option<String> {
    let text = built_in(engine).expect("shipped");
    let definition = EngineDef::parse(text, engine).expect("usable");
    let Method::Command { virus, .. } = definition.method else {
        panic!("command")
    };
    let captures = virus.expect("virus").captures(line)?;
    captures.get(1).map(|m| m.as_str().to_owned())
}

#[test]
fn shipped_virus_expressions_find_the_documented_lines() {
    let cases = [
        // Real clamscan 1.4 output; clamdscan prints the same.
        (
            "clamscan",
            "/tmp/qmvc-scan-x: Eicar-Signature FOUND",
            Some("Eicar-Signature"),
        ),
        (
            "clamscan",
            "/tmp/a: b: Heuristics.Limits.Exceeded.MaxFileSize FOUND",
            Some("Heuristics.Limits.Exceeded.MaxFileSize"),
        ),
        ("clamscan", "/tmp/qmvc-scan-x: OK", None),
        (
            "clamdscan",
            "/tmp/qmvc-scan-x: Win.Test.EICAR_HDB-1 FOUND",
            Some("Win.Test.EICAR_HDB-1"),
        ),
        (
            "sophos",
            ">>> Virus 'EICAR-AV-Test' found in file /tmp/x",
            Some("EICAR-AV-Test"),
        ),
        (
            "sophos",
            ">>> Virus fragment 'Troj/X-A' found in file /tmp/x",
            Some("Troj/X-A"),
        ),
        (
            "fsecure",
            "/tmp/x: Infected: EICAR_Test_File [FSE]",
            Some("EICAR_Test_File"),
        ),
        ("fsecure", "/tmp/x: Riskware: Tool.X", Some("Tool.X")),
        (
            "mcafee",
            "    /tmp/x ... Found the W32/Netsky.p@MM virus !!!",
            Some("W32/Netsky.p@MM"),
        ),
        (
            "mcafee",
            "    /tmp/x ... Found virus or variant W32/Sality !!!",
            Some("W32/Sality"),
        ),
        (
            "mcafee",
            "        Found: EICAR test file NOT a virus.",
            Some("EICAR test file"),
        ),
        (
            "eset",
            "name=\"/tmp/x\", threat=\"Eicar test file\", action=\"\"",
            Some("Eicar test file"),
        ),
        ("eset", "name=\"/tmp/x\", threat=\"\", action=\"\"", None),
        (
            "drweb",
            "/tmp/x - infected with EICAR Test File (NOT a Virus!)",
            Some("EICAR Test File (NOT a Virus!)"),
        ),
        ("drweb", "/tmp/x - Ok", None),
        (
            "avast",
            "/tmp/x\tEICAR Test-NOT virus!!!",
            Some("EICAR Test-NOT virus!!!"),
        ),
        (
            "bitdefender",
            "/tmp/x  infected: EICAR-Test-File (not a virus)",
            Some("EICAR-Test-File (not a virus)"),
        ),
    ];
    for (engine, output, want) in cases {
        assert_eq!(
            found(engine, output).as_deref(),
            want,
            "{engine}: {output}"
        );
    }
}

#[test]
fn definition_messages_are_our_own_and_name_the_line() {
    let keys = "protocol, endpoints, connect_timeout, fildes, command, \
                target, \
                clean, infected, virus, timeout, on_error, on_unscanned, \
                unscanned, version, max_size, user";
    assert_eq!(
        problems_of(&format!("# c\n{CLAMD}timout: 5\n")),
        [line(4, &format!("unknown key \"timout\" (expected {keys})"))]
    );
    assert_eq!(
        problems_of(&format!("{CLAMD}timeout: '60'\n")),
        [line(3, "bad value \"60\" for timeout (expected a whole number)")]
    );
    assert_eq!(
        problems_of(&format!("{CLAMD}timeout: [60]\n")),
        [line(
            3,
            "timeout takes one value, not a list (expected a whole number)"
        )]
    );
    assert_eq!(
        problems_of(&format!("{CAT}clean:\n  - 0\n  - x\n")),
        [line(5, "bad value \"x\" in clean (expected a whole number)")]
    );
    assert_eq!(
        problems_of(&format!("{CAT}virus: \"(\\d+)\"\n")),
        [line(3, "unknown escape \\d in a \"...\" value; write the value in single quotes, where \\ is an ordinary character (see qmvc-scanners(5))")]
    );
    assert_eq!(
        problems_of("protocol: &p clamd\n"),
        [line(1, "anchors (&) are not supported in a definition; write the value plainly or in quotes (see qmvc-scanners(5))")]
    );
    // A flow list may go on over lines; a null is an absent key.
    let fixture = Fixture::new();
    let (definition, problems) = fixture.lint_definition(
        "protocol: command\ncommand: [/bin/cat,\n  '{}']\nvirus: ~\n\
         version:\n",
    );
    assert_eq!(problems, Vec::<String>::new());
    let definition = definition.expect("usable");
    assert!(definition.version.is_none());
}
