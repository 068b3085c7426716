/*!
spammail: the spam engine definitions (spamd, rspamd), `spamscanners`,
the option `score=` and the several spammail lines of a ladder, the spam
user rule.
*/

use super::{at, Fixture, NEEDED};
use crate::{
    spam_user_ok, Action, Condition, EngineDef, Layer, Method, Policy, Score,
};
use std::time::Duration;

/// The problems of a definition `text`, as `FILE:LINE: message`.
fn definition_problems(text: &str) -> Vec<String> {
    match EngineDef::parse(text, "FILE") {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn spamd_and_rspamd_definitions_and_their_defaults() {
    let spamd = EngineDef::parse(
        "protocol: spamd\nendpoints: [unix:/run/spamd.sock, tcp:127.0.0.1:783]\n",
        "spamd.yaml",
    )
    .expect("spamd");
    let Method::Spamd { endpoints, connect_timeout } = &spamd.method else {
        panic!("{:?}", spamd.method)
    };
    assert_eq!(endpoints.len(), 2);
    assert_eq!(*connect_timeout, Duration::from_secs(5));
    assert_eq!(spamd.timeout, Duration::from_secs(30));
    assert_eq!(spamd.on_error, Policy::Pass);
    assert_eq!(spamd.max_size, 512_000);
    assert_eq!(spamd.user, "");
    assert!(spamd.method.is_spam());
    let rspamd = EngineDef::parse(
        "protocol: rspamd\nendpoints: [tcp:127.0.0.1:11333]\ntimeout: 9\n\
         on_error: tempfail\nmax_size: 1000\nuser: spam-default\n",
        "rspamd.yaml",
    )
    .expect("rspamd");
    assert!(matches!(rspamd.method, Method::Rspamd { .. }));
    assert_eq!(rspamd.timeout, Duration::from_secs(9));
    assert_eq!(rspamd.on_error, Policy::Tempfail);
    assert_eq!(rspamd.max_size, 1000);
    assert_eq!(rspamd.user, "spam-default");
    // max_size and user mean nothing to virus engines, and the other
    // way round.
    let clamd = EngineDef::parse(
        "protocol: clamd\nendpoints: [tcp:127.0.0.1:3310]\n",
        "clamd.yaml",
    )
    .expect("clamd");
    assert!(!clamd.method.is_spam());
    assert_eq!(clamd.on_error, Policy::Tempfail);
}

#[test]
fn keys_a_protocol_does_not_take_say_which_protocols_do() {
    assert_eq!(
        definition_problems(
            "protocol: spamd\nendpoints: [tcp:127.0.0.1:783]\n\
             command: [/bin/cat, '{}']\nunscanned: [x]\nversion: [/bin/true]\n"
        ),
        [
            "FILE:3: command is only for protocol: command, not spamd; \
             remove it",
            "FILE:5: version is only for protocol: command (spamd is asked \
             for its version itself), not spamd; remove it",
            "FILE:4: unscanned is only for protocol: clamd or command, not \
             spamd; remove it",
        ]
    );
    assert_eq!(
        definition_problems(
            "protocol: clamd\nendpoints: [tcp:127.0.0.1:3310]\nmax_size: 5\n\
             user: joe\n"
        ),
        [
            "FILE:3: max_size is only for protocol: spamd or rspamd, not \
             clamd; remove it",
            "FILE:4: user is only for protocol: spamd or rspamd, not clamd; \
             remove it",
        ]
    );
    assert_eq!(
        definition_problems("protocol: rspamd\n"),
        ["FILE:0: rspamd needs endpoints, a list of where rspamd listens \
          (expected unix:/PATH or tcp:HOST:PORT, e.g. \
          unix:/var/run/clamav/clamd.ctl or tcp:127.0.0.1:3310)"]
    );
    assert_eq!(
        definition_problems("protocol: spamc\n"),
        ["FILE:1: unknown protocol \"spamc\" (expected clamd, command, spamd \
          or rspamd)"]
    );
}

#[test]
fn max_size_and_user_are_checked() {
    let base = "protocol: spamd\nendpoints: [tcp:127.0.0.1:783]\n";
    assert_eq!(
        definition_problems(&format!("{base}max_size: 0\n")),
        ["FILE:3: max_size must be from 1 to 100000000 bytes; remove the \
          line for the default (512000, as spamc)"]
    );
    assert_eq!(
        definition_problems(&format!("{base}max_size: -1\n")),
        ["FILE:3: bad value \"-1\" for max_size (expected a whole number)"]
    );
    assert_eq!(
        definition_problems(&format!("{base}user: a b\n")),
        ["FILE:3: bad user \"a b\" (expected at most 64 of A-Z a-z 0-9 . + \
          _ @ -, e.g. user: spamd)"]
    );
    let long = "u".repeat(65);
    assert_eq!(definition_problems(&format!("{base}user: {long}\n")).len(), 1);
}

#[test]
fn the_spam_user_rule() {
    for good in ["", "alice", "a.b+c_d@example.com", "x-y", &"u".repeat(64)] {
        assert!(spam_user_ok(good), "{good}");
    }
    for bad in ["a b", "a\r\nb", "a\tb", "ä", "a/b", "a;b", &"u".repeat(65)] {
        assert!(!spam_user_ok(bad), "{bad:?}");
    }
    let definition = EngineDef::parse(
        "protocol: spamd\nendpoints: [tcp:127.0.0.1:783]\nuser: fallback\n",
        "spamd.yaml",
    )
    .expect("spamd");
    assert_eq!(definition.spam_user(Some("alice")), "alice");
    assert_eq!(definition.spam_user(Some("a b")), "fallback");
    assert_eq!(definition.spam_user(Some(&"u".repeat(100))), "fallback");
    assert_eq!(definition.spam_user(Some("")), "fallback");
    assert_eq!(definition.spam_user(None), "fallback");
}

#[test]
fn scores_parse_exactly() {
    let cases = [
        ("10", 10_000),
        ("7.5", 7_500),
        ("-1", -1_000),
        ("+2.25", 2_250),
        ("0.001", 1),
        ("-0.5", -500),
        ("1000000", 1_000_000_000),
    ];
    for (text, thousandths) in cases {
        let score = Score::parse(text).expect(text);
        assert_eq!(score.thousandths(), thousandths, "{text}");
    }
    for bad in ["", "x", "1.", ".5", "1.2345", "1e3", "--1", "1,5", "2000000"]
    {
        assert!(Score::parse(bad).is_none(), "{bad}");
    }
    assert_eq!(Score::parse("7.50").expect("7.50").to_string(), "7.5");
    assert_eq!(Score::parse("-0.25").expect("-0.25").to_string(), "-0.25");
    assert_eq!(Score::parse("20").expect("20").to_string(), "20");
    assert!((Score::parse("5.1").expect("5.1").value() - 5.1).abs() == 0.0);
}

#[test]
fn spammail_lines_form_a_ladder() {
    let fixture = Fixture::new();
    let file = fixture.system(
        "filters",
        "spammail ; inspect ;\n\
         spammail ; keep ; ; score=10\n\
         spammail ; bounce ; ; score=20\n\
         spammail ; block ; ; score=10.0\n\
         spammail ; trash ;\n\
         virusmail ; block ; ; score=5\n\
         spammail ; block ; ; score=1x\n\
         badmail ; block ; ; score=3\n",
    );
    let (profile, problems) = fixture.lint();
    assert_eq!(
        problems,
        at(
            &file,
            &[
                (4, "a second spammail line with score=10; only the first one (line 2) counts: remove this one or give it another score="),
                (5, "a second spammail line with no score=; only the first one (line 1) counts: remove this one or give it another score="),
                (6, "option score is only for spammail, not virusmail; remove it"),
                (7, "bad option score=\"1x\": not a decimal number (expected score=N with at most three decimal places, e.g. score=10, score=7.5 or score=-1)"),
                // Without its bad option, the line has no score= either.
                (7, "a second spammail line with no score=; only the first one (line 1) counts: remove this one or give it another score="),
                (8, "option score is only for spammail, not badmail; remove it"),
            ]
        )
    );
    let ladder: Vec<_> = profile
        .rules(Condition::SpamMail)
        .map(|r| {
            (r.action, r.options.score.map(|s| s.to_string()), r.origin.line)
        })
        .collect();
    assert_eq!(
        ladder,
        [
            (Action::Inspect, None, 1),
            (Action::Keep, Some("10".into()), 2),
            (Action::Bounce, Some("20".into()), 3),
        ]
    );
}

#[test]
fn spamscanners_takes_spam_engines_only_and_scanners_virus_engines_only() {
    let fixture = Fixture::new();
    fixture.system("filters", "spammail ; keep ;\nvirusmail ; block ;\n");
    let spam = fixture.system(
        "spamscanners",
        "spamd ; A ; SpamAssassin ;\nclamd ; C ;\nrspamd ; R ;\n",
    );
    let virus = fixture.system("scanners", "clamd ; C ;\nspamd ; A ;\n");
    let (profile, problems) = fixture.load(NEEDED);
    assert_eq!(
        problems,
        [
            format!(
                "{virus}:2: engine spamd is a spam engine (protocol: spamd, \
                 (built-in)/control/scanners.d/spamd.yaml); list it in \
                 spamscanners instead"
            ),
            format!(
                "{spam}:2: engine clamd is a virus engine (protocol: clamd, \
                 (built-in)/control/scanners.d/clamd.yaml); list it in \
                 scanners instead"
            ),
        ]
    );
    let names: Vec<&str> =
        profile.spamscanners.iter().map(|s| s.engine.as_str()).collect();
    assert_eq!(names, ["spamd", "rspamd"]);
    let names: Vec<&str> =
        profile.scanners.iter().map(|s| s.engine.as_str()).collect();
    assert_eq!(names, ["clamd"]);
}

#[test]
fn nothing_of_spam_is_read_without_a_spammail_line() {
    let fixture = Fixture::new();
    fixture.system("filters", "virusmail ; block ;\n");
    fixture.system("spamscanners", "nonesuch ; N ;\n");
    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(profile.spamscanners.is_empty());
    // With a spammail line it is read, and the missing engine reported.
    fixture.system("filters", "spammail ; keep ;\n");
    let (_, problems) = fixture.load(NEEDED);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("no definition for engine nonesuch"));
}

#[test]
fn a_domain_layer_may_redefine_a_spam_engine() {
    let fixture = Fixture::new();
    fixture.system("filters", "spammail ; keep ;\n");
    fixture.system("spamscanners", "spamd ; A ;\n");
    fixture.write(
        Layer::Domain,
        "scanners.d/spamd.yaml",
        "protocol: spamd\nendpoints: [unix:/run/other.sock]\nuser: dom\n",
    );
    let (profile, problems) = fixture.load(NEEDED);
    assert!(problems.is_empty(), "{problems:?}");
    let definition = &profile.spamscanners[0].definition;
    assert_eq!(definition.user, "dom");
    assert!(definition.file.contains("domain"), "{}", definition.file);
}
