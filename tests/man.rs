/*!
The man pages: they lint clean with mandoc, qmvc-control(5) names every
control file of the registry (its table is the registry's names and
descriptions), and qmvc(8) documents every option.
*/

use std::fs;
use std::process::Command;

use crate::util::{missing, Dir, ROOT};

/// Every page under `man/`, so a new page is linted the day it lands.
fn pages() -> Vec<String> {
    let mut pages: Vec<String> = fs::read_dir(format!("{ROOT}/man"))
        .unwrap()
        .map(|e| format!("man/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    pages.sort();
    assert!(pages.len() >= 7, "man/ lost pages: {pages:?}");
    pages
}

fn page(name: &str) -> String {
    fs::read_to_string(format!("{ROOT}/{name}")).unwrap()
}

#[test]
fn mandoc_lint_is_clean() {
    let run = Command::new("mandoc")
        .args(["-Tlint", "-Wwarning"])
        .args(pages())
        .current_dir(ROOT)
        .output();
    let out = match run {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A failure under CI=true.
            return missing("mandoc");
        }
        Err(e) => panic!("mandoc: {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text, "", "mandoc -Tlint -Wwarning complains");
}

#[test]
fn control_page_names_every_control_file() {
    let text = page("man/qmvc-control.5");
    let registry: Vec<&str> =
        qmvc_profile::CONTROLS.iter().map(|c| c.name()).collect();
    for name in [
        "filters",
        "mailheaders",
        "badsubjects",
        "badbodytexts",
        "badfilenames",
        "badmimetypes",
        "badloadertypes",
        "noscantypes",
        "limits",
        "scanners",
        "injector",
        "guard",
        "language",
    ] {
        assert!(registry.contains(&name), "{name} is not in CONTROLS");
    }
    for name in registry {
        let row = format!("\\fI{name}\\fR");
        let heading = format!(".SS {name}\n");
        assert!(
            text.contains(&row) && text.contains(&heading),
            "qmvc-control(5) lacks the table row or the .SS section of {name}"
        );
    }
}

/// The rows of the table of control files in qmvc-control(5):
/// `(name, default, meaning)`, roff escapes removed.
fn control_table(page: &str) -> Vec<(String, String, String)> {
    let table = page
        .split_once("control\tdefault\tmeaning\n")
        .and_then(|(_, rest)| rest.split_once("\n.fi\n"))
        .map(|(table, _)| table)
        .expect("qmvc-control(5) has its table of control files");
    let plain = |s: &str| {
        s.replace("\\fI", "").replace("\\fR", "").replace("\\-", "-")
    };
    table
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let fields: Vec<String> = l.split('\t').map(plain).collect();
            assert_eq!(fields.len(), 3, "a row of three columns: {l:?}");
            (fields[0].clone(), fields[1].clone(), fields[2].clone())
        })
        .collect()
}

#[test]
fn control_table_is_the_registry() {
    let text = page("man/qmvc-control.5");
    let rows = control_table(&text);
    let registry: Vec<(String, String)> = qmvc_profile::CONTROLS
        .iter()
        .map(|c| (c.name().to_owned(), c.about().to_owned()))
        .collect();
    let table: Vec<(String, String)> =
        rows.iter().map(|(n, _, m)| (n.clone(), m.clone())).collect();
    assert_eq!(table, registry, "qmvc-control(5) table vs the registry");
    for (control, (name, default, _)) in
        qmvc_profile::CONTROLS.iter().zip(&rows)
    {
        assert_eq!(
            default == "(empty)",
            control.default_is_empty(),
            "{name}: the default column says {default}"
        );
    }
    // The files that can make qmvc run a program are named as such.
    let commands = text
        .split_once(".SS \"Files that name commands\"\n")
        .and_then(|(_, rest)| rest.split_once("\n.S"))
        .map(|(section, _)| section)
        .expect("qmvc-control(5) says which files name commands");
    for control in qmvc_profile::CONTROLS {
        let named = commands.contains(&format!(".I {}\n", control.name()));
        assert_eq!(
            named,
            control.names_command(),
            "{}: listed among the files that name commands",
            control.name()
        );
    }
}

#[test]
fn qmvc_page_documents_every_option() {
    let text = page("man/qmvc.8");
    let dir = Dir::new("man-options");
    let help = dir.qmvc(&["-h"]).run();
    let mut letters: Vec<char> = help
        .stdout
        .match_indices('-')
        .filter_map(|(i, _)| help.stdout[i + 1..].chars().next())
        .filter(char::is_ascii_alphabetic)
        .collect();
    letters.sort_unstable();
    letters.dedup();
    for letter in "unctvLCzshV".chars() {
        assert!(letters.contains(&letter), "-h does not list -{letter}");
    }
    for letter in letters {
        let item = format!(".TP\n.B \\-{letter}\n");
        let item_with_argument = format!(".TP\n.BI \\-{letter} ");
        assert!(
            text.contains(&item) || text.contains(&item_with_argument),
            "qmvc(8) has no .TP item for -{letter}"
        );
    }
}

#[test]
fn aux_pages_document_every_option() {
    let dir = Dir::new("man-aux-options");
    for program in crate::util::AUX {
        let text = page(&format!("man/{program}.8"));
        let help = dir.aux(program, &["-h"]).run();
        help.assert_code(0);
        let usage = &help.stdout;
        let letters = usage
            .match_indices('-')
            .filter_map(|(i, _)| usage[i + 1..].chars().next())
            .filter(char::is_ascii_alphabetic);
        for letter in letters.chain(['h']) {
            let item = format!(".TP\n.B \\-{letter}\n");
            let item_with_argument = format!(".TP\n.BI \\-{letter} ");
            assert!(
                text.contains(&item) || text.contains(&item_with_argument),
                "{program}(8) has no .TP item for -{letter}"
            );
        }
    }
}

#[test]
fn qmvc_page_documents_the_exit_codes() {
    let text = page("man/qmvc.8");
    let section = text
        .split(".SH \"EXIT CODES\"")
        .nth(1)
        .expect("qmvc(8) has no EXIT CODES section");
    let section = section.split("\n.SH").next().unwrap();
    for code in ["0", "99", "100", "111"] {
        assert!(
            section.contains(&format!(".TP\n.B {code}\n")),
            "EXIT CODES has no .TP item for {code}"
        );
    }
}

#[test]
fn filters_page_names_every_condition_and_action() {
    let text = page("man/qmvc-filters.5");
    for word in [
        "errormail",
        "badsubject",
        "badbodytext",
        "badfilename",
        "badmimetype",
        "badloadertype",
        "virusmail",
        "badmail",
        "block",
        "keep",
        "trash",
        "bounce",
        "inspect",
        "quitasap",
        "goodmail",
        "notifyrecipient",
        "notifysender",
        "informguard",
        "forwardguard",
    ] {
        assert!(
            text.contains(word),
            "qmvc-filters(5) does not mention {word}"
        );
    }
}
