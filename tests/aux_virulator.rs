/*!
virulator(8) and blockvirussender(8).

virulator: the day pages of qmvc.rep with the right counts and top
lists (virusmails, badmails, per scanner), the days `-c`, `-D` and no
flag choose, `-m` month database lines replaced and never added, `-d`
prefixes, gzip files with `-f`, `topvirus_Sender1` and its order, hostile
values only escaped, damaged documents counted, `-s` with a stand-in
qmvc (reachable and unreachable scanners, exit 111), with the real qmvc
and with none at all.

blockvirussender: only the right new senders appended to badmailfrom,
its lines, order and mode kept, nothing touched when nothing is new,
`-n`, the report to ADMIN through the injector (and none without ADMIN
or news), a failing injector, hostile lines of the sender list skipped,
never an address of the site itself (qmail's locals, rcpthosts,
virtualdomains), no injector run that anyone but root could change.

Both refuse a symbolic link at html/ (and log/) instead of writing
through it.
*/

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::Duration;

use crate::logbook::{
    self, assert_card, at, html, html_names, read, today, today_at, Entry,
    Hit, Matched, HOSTILE,
};
use crate::util::{mode, note, Dir, Layer, Output, QMVC};

const DAY: &str = "2026-11-20";

/// The page of `day` (no prefix).
fn page(dir: &Dir, day: &str) -> String {
    read(&html(dir, &format!("virulator-{day}.html")))
}

/// The virulator pages in `html/`.
fn pages(dir: &Dir) -> Vec<String> {
    let mut names = html_names(dir);
    names.retain(|n| n.contains("virulator-") && n.ends_with(".html"));
    names
}

fn topvirus(dir: &Dir) -> String {
    read(&html(dir, "topvirus_Sender1"))
}

/// The rows of the table under `heading`, as `(value, count)`.
fn table(page: &str, heading: &str) -> Vec<(String, u64)> {
    let start = format!("<h3>{heading}</h3>");
    let at = page.find(&start).unwrap_or_else(|| panic!("no {start}"));
    let rest = &page[at..];
    let end = rest.find("</section>").unwrap();
    let mut rows = Vec::new();
    for row in rest[..end].split("<tr><td class=\"n\">").skip(1) {
        let value = row.split("<td class=\"w\">").nth(1).unwrap();
        let value = value.split("</td>").next().unwrap();
        let count = row.split("<td class=\"n\">").nth(1).unwrap();
        let count = count.split("</td>").next().unwrap();
        rows.push((value.to_string(), count.parse().unwrap()));
    }
    rows
}

fn rows(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

fn virulator(dir: &Dir, args: &[&str]) -> Output {
    let out = dir.aux("virulator", args).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "", "quiet on success");
    out
}

/// A virusmail found by scanner `scanner`.
fn virus_by(time: &str, sender: &str, scanner: &str, virus: &str) -> Entry {
    let mut e = Entry::virus(time, sender, virus);
    e.hits[0].matches[0].scanner = Some(scanner.into());
    e
}

/// A badsubject hit on `subject`.
fn bad_subject(time: &str, sender: &str, subject: &str) -> Entry {
    let mut e = Entry::clear(time);
    e.sender = sender.into();
    e.subject = subject.into();
    e.action = "trash".into();
    e.hits.push(Hit {
        condition: "badsubject".into(),
        action: "trash".into(),
        rule: "/var/qmvc/control/filters:2".into(),
        matches: vec![Matched {
            pattern: Some("(?i)viagra".into()),
            origin: Some("/var/qmvc/control/badsubjects:4".into()),
            ..Matched::default()
        }],
    });
    e
}

/// On `day`: 4 virusmails (3 from worm@a.example, Eicar twice by C and
/// once by K), 3 badmails, 2 clear.
fn day_of_mail(day: &str) -> Vec<Entry> {
    let mut to_carol =
        Entry::virus(&at(day, "09:00:00"), "x@b.example", "W32.Bad");
    to_carol.recipient = "carol@example.org".into();
    vec![
        Entry::clear(&at(day, "08:00:00")),
        Entry::virus(&at(day, "08:10:00"), "worm@a.example", "Eicar"),
        Entry::virus(&at(day, "08:20:00"), "worm@a.example", "Eicar"),
        virus_by(&at(day, "08:30:00"), "worm@a.example", "K", "Eicar"),
        to_carol,
        Entry::bad_file(&at(day, "10:00:00"), "exe@c.example", "setup.exe"),
        Entry::bad_file(&at(day, "10:10:00"), "exe@c.example", "run.exe"),
        bad_subject(&at(day, "11:00:00"), "spam@d.example", "Cheap viagra"),
        Entry::clear(&at(day, "12:00:00")),
    ]
}

#[test]
fn a_day_page_counts_and_lists() {
    let dir = Dir::new("viru-page");
    logbook::write(&dir.layer(Layer::System), &day_of_mail(DAY));
    let out = virulator(&dir, &["-D", DAY]);
    assert_eq!(out.stderr, "");
    let p = page(&dir, DAY);
    assert!(p.contains("<title>Virulator 2026-11-20</title>"));
    assert!(
        p.contains("sources and sinks of virusmails and badmails")
            || p.contains("Sources and sinks of virusmails and badmails")
    );
    for link in [
        "href=\"qmvclog-2026-11-20.html\"",
        "href=\"qmvcmonth-2026-11.html\"",
        "href=\"calendar-2026.html\"",
        "href=\"virulator-2026-11-19.html\"",
        "href=\"virulator-2026-11-21.html\"",
    ] {
        assert!(p.contains(link), "no {link}");
    }
    assert_card(&p, "virusmails", 4);
    assert_card(&p, "badmails (not virus)", 3);
    assert_card(&p, "reports in all", 7);
    assert_eq!(
        table(&p, "Top senders"),
        rows(&[("worm@a.example", 3), ("x@b.example", 1)])
    );
    assert_eq!(
        table(&p, "Top recipients"),
        rows(&[("bob@example.org", 3), ("carol@example.org", 1)])
    );
    assert_eq!(
        table(&p, "Virus names"),
        rows(&[("Eicar", 3), ("W32.Bad", 1)])
    );
    assert_eq!(table(&p, "Infected files"), rows(&[("eicar.com", 4)]));
    assert_eq!(table(&p, "Scanner C"), rows(&[("Eicar", 2), ("W32.Bad", 1)]));
    assert_eq!(table(&p, "Scanner K"), rows(&[("Eicar", 1)]));
    // The badmail tables come after the virusmail ones.
    let bad = &p[p.find("<h2>Badmails</h2>").unwrap()..];
    assert_eq!(
        table(bad, "By condition"),
        rows(&[("badfilename", 2), ("badsubject", 1)])
    );
    assert_eq!(
        table(bad, "Top senders"),
        rows(&[("exe@c.example", 2), ("spam@d.example", 1)])
    );
    assert_eq!(
        table(bad, "File names"),
        rows(&[("run.exe", 1), ("setup.exe", 1)])
    );
    assert_eq!(
        table(bad, "Detected types"),
        rows(&[("application/x-msdownload", 2)])
    );
    assert_eq!(table(bad, "Loader types"), rows(&[("PE32", 2)]));
    assert_eq!(
        table(bad, "Patterns that matched"),
        rows(&[
            ("badfilename: *.exe (/var/qmvc/control/badfilenames:1)", 2),
            ("badsubject: (?i)viagra (/var/qmvc/control/badsubjects:4)", 1),
        ])
    );
    assert_eq!(
        table(bad, "Subjects of badsubject hits"),
        rows(&[("Cheap viagra", 1)])
    );
    // -n cuts every list.
    virulator(&dir, &["-D", DAY, "-n", "1"]);
    let p = page(&dir, DAY);
    assert_eq!(table(&p, "Top senders"), rows(&[("worm@a.example", 3)]));
    assert_eq!(table(&p, "Virus names"), rows(&[("Eicar", 3)]));
}

#[test]
fn days_chosen_by_c_d_and_no_flag() {
    let dir = Dir::new("viru-days");
    let sys = dir.layer(Layer::System);
    logbook::write(
        &sys,
        &[
            Entry::virus(&at("2020-03-18", "10:00:00"), "a@x.example", "V1"),
            Entry::virus(&at("2020-03-19", "10:00:00"), "b@x.example", "V2"),
            Entry::virus(&today_at("00:00:01"), "c@x.example", "V3"),
        ],
    );
    virulator(&dir, &["-D", "2020-03-19"]);
    assert_eq!(pages(&dir), ["virulator-2020-03-19.html"]);
    assert_eq!(topvirus(&dir), "1 b@x.example\n");
    assert!(page(&dir, "2020-03-19").contains("V2"));
    assert!(!page(&dir, "2020-03-19").contains("V1"));

    virulator(&dir, &["-c"]);
    let today = today();
    assert!(pages(&dir).contains(&format!("virulator-{today}.html")));
    assert_eq!(pages(&dir).len(), 2);
    assert_eq!(topvirus(&dir), "1 c@x.example\n");
    assert_card(&page(&dir, &today), "virusmails", 1);

    // A day without reports still gets its page, with nothing on it.
    virulator(&dir, &["-D", "2020-03-01"]);
    let empty = page(&dir, "2020-03-01");
    assert_card(&empty, "virusmails", 0);
    assert_card(&empty, "reports in all", 0);
    assert_eq!(topvirus(&dir), "");

    fs::remove_dir_all(sys.join("html")).unwrap();
    virulator(&dir, &[]);
    let mut want = vec![
        "virulator-2020-03-18.html".to_string(),
        "virulator-2020-03-19.html".to_string(),
        format!("virulator-{today}.html"),
    ];
    want.sort();
    assert_eq!(pages(&dir), want);
    assert_eq!(
        topvirus(&dir),
        "1 a@x.example\n1 b@x.example\n1 c@x.example\n"
    );
}

#[test]
fn month_database_lines_are_replaced() {
    let dir = Dir::new("viru-db");
    let sys = dir.layer(Layer::System);
    logbook::write(&sys, &day_of_mail(DAY));
    logbook::write(
        &sys,
        &[Entry::virus(&at("2026-11-21", "10:00:00"), "z@x.example", "Z")],
    );
    virulator(&dir, &["-m", "-d", "fehcom", "-D", DAY]);
    assert!(html(&dir, "fehcom_virulator-2026-11-20.html").exists());
    let p = read(&html(&dir, "fehcom_virulator-2026-11-20.html"));
    assert!(p.contains("<title>Virulator 2026-11-20 for fehcom</title>"));
    assert!(p.contains("href=\"fehcom_qmvclog-2026-11-20.html\""));
    let db = html(&dir, "fehcom_virulator-2026-11.db");
    let text = read(&db);
    let day_lines = |text: &str, day: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(day))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        day_lines(&text, DAY),
        [
            "2026-11-20\ttotal\t4\t3",
            "2026-11-20\tvirus\t3\tEicar",
            "2026-11-20\tvirus\t1\tW32.Bad",
        ]
    );
    // Run again after more mail: the day is replaced, not added to.
    logbook::write(
        &sys,
        &[Entry::virus(&at(DAY, "23:00:00"), "late@x.example", "Eicar")],
    );
    virulator(&dir, &["-m", "-d", "fehcom", "-D", DAY]);
    virulator(&dir, &["-m", "-d", "fehcom", "-D", DAY]);
    let text = read(&db);
    assert_eq!(
        day_lines(&text, DAY),
        [
            "2026-11-20\ttotal\t5\t3",
            "2026-11-20\tvirus\t4\tEicar",
            "2026-11-20\tvirus\t1\tW32.Bad",
        ]
    );
    assert!(day_lines(&text, "2026-11-21").is_empty());
    // Without -D every day of the file.
    virulator(&dir, &["-m", "-d", "fehcom"]);
    let text = read(&db);
    assert_eq!(
        day_lines(&text, "2026-11-21"),
        ["2026-11-21\ttotal\t1\t0", "2026-11-21\tvirus\t1\tZ"]
    );
    assert_eq!(day_lines(&text, DAY).len(), 3);
}

#[test]
fn gzip_files_with_f() {
    let dir = Dir::new("viru-gz");
    let sys = dir.layer(Layer::System);
    logbook::write(&sys, &day_of_mail(DAY));
    let rep = fs::read(sys.join("log/qmvc.rep")).unwrap();
    fs::remove_file(sys.join("log/qmvc.rep")).unwrap();
    let mut enc =
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&rep).unwrap();
    let gz = dir.write("archive/qmvc.rep-2026-11.gz", &enc.finish().unwrap());
    virulator(&dir, &["-f", gz.to_str().unwrap()]);
    assert_eq!(pages(&dir), ["virulator-2026-11-20.html"]);
    assert_card(&page(&dir, DAY), "virusmails", 4);
    assert_eq!(topvirus(&dir), "3 worm@a.example\n1 x@b.example\n");
}

#[test]
fn topvirus_list_order_and_what_it_leaves_out() {
    let dir = Dir::new("viru-top");
    let mut entries = Vec::new();
    let mut add = |sender: &str, n: usize| {
        for i in 0..n {
            let time = today_at(&format!("01:{:02}:00", i % 60));
            entries.push(Entry::virus(&time, sender, "Eicar"));
        }
    };
    add("b@x.example", 2);
    add("a@x.example", 2);
    add("most@x.example", 5);
    add("", 9);
    add("#@[]", 9);
    add("<>", 9);
    add("a b@x.example", 9);
    add("tab\t@x.example", 9);
    add("evil@x.com\nrm -rf /", 9);
    // Badmails do not count.
    for _ in 0..7 {
        entries.push(Entry::bad_file(&today_at("02:00:00"), "bad@x", "a.exe"));
    }
    logbook::write(&dir.layer(Layer::System), &entries);
    virulator(&dir, &["-c"]);
    assert_eq!(
        topvirus(&dir),
        "5 most@x.example\n2 a@x.example\n2 b@x.example\n"
    );
    // The page shows them all, escaped; the null sender as <>.
    let p = page(&dir, &today());
    let senders = table(&p, "Top senders");
    assert!(senders.contains(&("&lt;&gt;".to_string(), 18)), "{senders:?}");
}

#[test]
fn hostile_values_are_only_escaped() {
    let dir = Dir::new("viru-hostile");
    let mut entries = Vec::new();
    for (i, evil) in HOSTILE.iter().enumerate() {
        let time = today_at(&format!("0{i}:00:00"));
        let mut v = Entry::virus(&time, evil, evil);
        v.recipient = evil.to_string();
        v.hits[0].matches[0].filename = Some(evil.to_string());
        v.hits[0].matches[0].scanner = Some(evil.to_string());
        entries.push(v);
        let mut b = Entry::bad_file(&time, evil, evil);
        b.hits[0].matches[0].pattern = Some(evil.to_string());
        b.hits[0].matches[0].origin = Some(evil.to_string());
        b.hits[0].matches[0].detected_type = Some(evil.to_string());
        b.hits[0].matches[0].loader_type = Some(evil.to_string());
        entries.push(b);
        entries.push(bad_subject(&time, evil, evil));
    }
    logbook::write(&dir.layer(Layer::System), &entries);
    virulator(&dir, &["-c"]);
    let p = page(&dir, &today());
    for evil in HOSTILE {
        assert!(!p.contains(evil), "{evil} unescaped");
    }
    assert!(!p.contains("<script"));
    assert!(!p.contains("<img"));
    assert!(p.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(p.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert_eq!(
        table(&p, "Subjects of badsubject hits").len(),
        2,
        "both subjects listed"
    );
    // The list holds no line break or blank from a sender.
    for line in topvirus(&dir).lines() {
        assert_eq!(line.split(' ').count(), 2, "{line:?}");
    }
}

#[test]
fn damaged_documents_are_counted() {
    let dir = Dir::new("viru-damaged");
    let sys = dir.layer(Layer::System);
    logbook::write(&sys, &day_of_mail(DAY));
    let mut rep = fs::OpenOptions::new()
        .append(true)
        .open(sys.join("log/qmvc.rep"))
        .unwrap();
    rep.write_all(
        b"---\ntime: [broken\n---\nresult: virusmail\nsender: x@y\n\
          ---\n\xff\xfe: \x00\n---\ntime: not a time\nresult: virusmail\n",
    )
    .unwrap();
    let out = virulator(&dir, &["-D", DAY]);
    assert_eq!(out.stderr, "");
    let p = page(&dir, DAY);
    assert_card(&p, "virusmails", 4);
    assert!(p.contains("4 damaged document(s)"), "no damaged note");
}

#[test]
fn usage_and_help() {
    let dir = Dir::new("viru-usage");
    let out = dir.aux("virulator", &["-h"]).run();
    out.assert_code(0);
    assert!(out.stdout.starts_with("usage: virulator"));
    for bad in [
        &["-n", "0"][..],
        &["-n", "many"],
        &["-c", "-D", DAY],
        &["-D", "2026-11-31"],
        &["-d", "a/b"],
        &["-q"],
        &["one", "two"],
    ] {
        let out = dir.aux("virulator", bad).run();
        out.assert_code(100);
        assert!(out.stderr.contains("virulator"), "{}", out.describe());
    }
    assert!(pages(&dir).is_empty());
    // A file named with -f must exist; the default one may be missing.
    let out = dir.aux("virulator", &["-f", "/nonexistent/qmvc.rep"]).run();
    out.assert_code(111);
    assert!(out.stderr.contains("/nonexistent/qmvc.rep"));
    virulator(&dir, &[]);
    assert!(pages(&dir).is_empty());
    assert_eq!(topvirus(&dir), "");
}

/// A stand-in for `qmvc -s` that records its arguments and reports one
/// scanner that answers and one that does not, exiting 111 as qmvc does.
fn fake_qmvc(dir: &Dir) -> PathBuf {
    let args = dir.path("qmvc-args");
    dir.script(
        "qmvc",
        &format!(
            "printf '%s\\n' \"$@\" > '{}'\n\
             echo 'C clamd (ClamAV daemon): answers at unix:/x; engine \
             1.4.2; signatures 27000, Sat Nov 21 2026'\n\
             echo 'K kaspersky (Kaspersky <b>): NOT REACHABLE: connect \
             127.0.0.1:1344: refused; engine unknown; signatures unknown, \
             unknown'\n\
             echo 'qmvc: <i>something else</i>'\n\
             exit 111",
            args.display()
        ),
    )
}

#[test]
fn scanners_from_qmvc_s() {
    let dir = Dir::new("viru-s");
    let qmvc = fake_qmvc(&dir);
    logbook::write(&dir.layer(Layer::System), &day_of_mail(&today()));
    let out = dir
        .aux("virulator", &["-s", "-c"])
        .env("QMVC", qmvc.to_str().unwrap())
        .run();
    out.assert_code(0);
    assert_eq!(out.stderr, "", "exit 111 of qmvc -s is news, not trouble");
    assert_eq!(read(&dir.path("qmvc-args")), "-s\n", "the system layer");
    let p = page(&dir, &today());
    let section = &p[p.find("<h2>Scanners</h2>").expect("no section")..];
    assert!(section.contains(
        "<tr><td>C</td><td>clamd</td><td class=\"w\">ClamAV daemon</td>\
         <td class=\"w\">answers at unix:/x</td><td>1.4.2</td>\
         <td>27000</td><td>Sat Nov 21 2026</td></tr>"
    ));
    assert!(section.contains(
        "<tr><td>K</td><td>kaspersky</td><td class=\"w\">Kaspersky \
         &lt;b&gt;</td><td class=\"w\">NOT REACHABLE: connect \
         127.0.0.1:1344: refused</td><td>unknown</td><td>unknown</td>\
         <td>unknown</td></tr>"
    ));
    assert!(section.contains("qmvc: &lt;i&gt;something else&lt;/i&gt;"));
    assert!(!p.contains("<b>)") && !p.contains("<i>"));

    // A domain layer is named with -c, resolved.
    let domain = dir.layer(Layer::Domain("fehcom"));
    logbook::write(&domain, &day_of_mail(&today()));
    dir.aux(
        "virulator",
        &["-s", "-c", "-d", "fehcom", domain.to_str().unwrap()],
    )
    .env("QMVC", qmvc.to_str().unwrap())
    .run()
    .assert_code(0);
    let resolved = domain.canonicalize().unwrap();
    assert_eq!(
        read(&dir.path("qmvc-args")),
        format!("-s\n-c\n{}\n", resolved.display())
    );
    let p = read(
        &domain
            .join("html")
            .join(format!("fehcom_virulator-{}.html", today())),
    );
    assert!(p.contains("<td>clamd</td>"));
    // Without -s no section and no qmvc run.
    fs::remove_file(dir.path("qmvc-args")).unwrap();
    virulator(&dir, &["-c"]);
    assert!(!page(&dir, &today()).contains("<h2>Scanners</h2>"));
    assert!(!dir.path("qmvc-args").exists());
}

#[test]
fn scanners_with_the_real_qmvc() {
    let dir = Dir::new("viru-real-s");
    let out = dir.aux("virulator", &["-s", "-c"]).env("QMVC", QMVC).run();
    out.assert_code(0);
    assert_eq!(out.stderr, "");
    let p = page(&dir, &today());
    let section = &p[p.find("<h2>Scanners</h2>").expect("no section")..];
    assert!(section.contains("no scanner configured"), "{section}");
    // Found next to virulator too, without QMVC.
    virulator(&dir, &["-s", "-c"]);
    assert!(page(&dir, &today()).contains("no scanner configured"));
}

#[test]
fn no_qmvc_to_run() {
    let dir = Dir::new("viru-no-qmvc");
    let out = dir
        .aux("virulator", &["-s", "-c"])
        .env("QMVC", "/nonexistent/qmvc")
        .run();
    out.assert_code(0);
    assert!(out.stderr.contains("warning"), "{}", out.describe());
    let p = page(&dir, &today());
    assert!(p.contains("The state of the scanners is unknown"));
    assert!(html(&dir, "topvirus_Sender1").exists());
}

/// 100,000 reports in well under 10 s of CPU (release; CPU time, not
/// wall time, so a loaded machine does not fail it) in flat memory.
#[test]
fn a_hundred_thousand_reports() {
    if cfg!(debug_assertions) {
        note("virulator 100k: timing checked in release mode only");
        return;
    }
    let dir = Dir::new("viru-100k");
    let sys = dir.layer(Layer::System);
    let mut entries = Vec::with_capacity(1000);
    let mut written = 0;
    for i in 0..100_000u32 {
        let time = today_at(&format!("{:02}:{:02}:00", i % 24, i % 60));
        let sender = format!("s{}@x{}.example", i % 5000, i % 7);
        entries.push(if i % 3 == 0 {
            Entry::bad_file(&time, &sender, &format!("f{i}.exe"))
        } else {
            Entry::virus(&time, &sender, &format!("V{}", i % 300))
        });
        if entries.len() == 1000 {
            logbook::write(&sys, &entries);
            written += entries.len();
            entries.clear();
        }
    }
    assert_eq!(written, 100_000);
    let out = virulator(&dir, &["-c", "-m"]);
    let cpu = out.cpu.expect("wait4 gives the CPU time");
    note(&format!(
        "virulator: 100,000 reports in {:?} (CPU {cpu:?}), peak RSS {} KiB",
        out.elapsed, out.max_rss_kb
    ));
    assert!(cpu < Duration::from_secs(10), "{}", out.describe());
    assert!(out.max_rss_kb < 200_000, "{}", out.describe());
    assert_card(&page(&dir, &today()), "reports in all", 100_000);
}

// ---------------------------------------------------------------------
// blockvirussender

/// `ROOT/qmail` with `control/`.
fn qmail(dir: &Dir) -> PathBuf {
    let q = dir.path("qmail");
    fs::create_dir_all(q.join("control")).unwrap();
    q
}

fn badmailfrom(dir: &Dir) -> PathBuf {
    qmail(dir).join("control/badmailfrom")
}

const OLD: &str = "# senders we refuse\n\nspam@old.example\n\
                   @evil.example\nMixed@Case.Example\n# end\n";

const LIST: &str = "50 new@one.example\n40 x@evil.example\n\
                    30 mixed@case.example\n20 Second@Two.Example\n\
                    12 spam@old.example\n10 third@x.example\n\
                    9 few@x.example\n";

/// Writes the sender list at its default place and badmailfrom with
/// mode 0640.
fn setup(dir: &Dir, list: &str) -> PathBuf {
    let path = html(dir, "topvirus_Sender1");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, list).unwrap();
    let bmf = badmailfrom(dir);
    fs::write(&bmf, OLD).unwrap();
    fs::set_permissions(&bmf, fs::Permissions::from_mode(0o640)).unwrap();
    bmf
}

fn block(dir: &Dir, args: &[&str]) -> Output {
    let q = qmail(dir);
    let mut all = vec!["-q", q.to_str().unwrap()];
    all.extend_from_slice(args);
    dir.aux("blockvirussender", &all).run()
}

/// The lines blockvirussender appended to [`OLD`]: its comment and the
/// senders.
fn appended(text: &str) -> (String, Vec<String>) {
    let rest = text.strip_prefix(OLD).expect("the old lines changed");
    let mut lines = rest.lines();
    let comment = lines.next().unwrap().to_string();
    (comment, lines.map(str::to_string).collect())
}

#[test]
fn new_senders_are_appended_once() {
    let dir = Dir::new("bvs-append");
    let bmf = setup(&dir, LIST);
    let out = block(&dir, &[]);
    out.assert_code(0);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "");
    let text = read(&bmf);
    let (comment, added) = appended(&text);
    assert!(
        comment.starts_with("# added by blockvirussender on ")
            && comment.ends_with(" (10 or more virusmails)"),
        "{comment}"
    );
    let stamp = comment
        .trim_start_matches("# added by blockvirussender on ")
        .trim_end_matches(" (10 or more virusmails)");
    assert_eq!(stamp.len(), "2026-11-22 06:06".len(), "{stamp}");
    assert!(stamp.starts_with(&today()));
    assert_eq!(
        added,
        ["new@one.example", "second@two.example", "third@x.example"]
    );
    assert_eq!(mode(&bmf), 0o640);
    // The lock lives in the system layer, not in qmail's control/.
    assert!(dir
        .layer(Layer::System)
        .join("log/blockvirussender.lock")
        .exists());
    let control: Vec<String> = fs::read_dir(bmf.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(control, ["badmailfrom"]);

    // Nothing new: the file is not touched at all.
    let before = fs::metadata(&bmf).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    block(&dir, &[]).assert_code(0);
    let after = fs::metadata(&bmf).unwrap();
    assert_eq!(before.ino(), after.ino());
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    assert_eq!(read(&bmf), text);
}

#[test]
fn threshold_n_and_a_new_badmailfrom() {
    let dir = Dir::new("bvs-n");
    let bmf = setup(&dir, LIST);
    block(&dir, &["-n", "40"]).assert_code(0);
    let (comment, added) = appended(&read(&bmf));
    assert!(comment.ends_with("(40 or more virusmails)"));
    assert_eq!(added, ["new@one.example"]);
    block(&dir, &["-n", "1"]).assert_code(0);
    let text = read(&bmf);
    assert!(text.ends_with(
        "(1 or more virusmails)\nsecond@two.example\nthird@x.example\n\
         few@x.example\n"
    ));
    assert_eq!(text.matches("# added by").count(), 2);

    // No badmailfrom yet: made, mode 0644; -f names the list.
    fs::remove_file(&bmf).unwrap();
    let list = dir.write("other-list", b"10 one@x.example\n");
    block(&dir, &["-f", list.to_str().unwrap()]).assert_code(0);
    let text = read(&bmf);
    assert!(text.starts_with("# added by blockvirussender on "));
    assert!(text.ends_with("(10 or more virusmails)\none@x.example\n"));
    assert_eq!(mode(&bmf), 0o644);
}

#[test]
fn root_hands_badmailfrom_back_to_its_owner() {
    let dir = Dir::new("bvs-owner");
    let bmf = setup(&dir, LIST);
    if fs::metadata(&bmf).unwrap().uid() != 0 {
        note("blockvirussender: owner kept only checked when run as root");
        return;
    }
    std::os::unix::fs::chown(&bmf, Some(1234), Some(4321)).unwrap();
    block(&dir, &[]).assert_code(0);
    let meta = fs::metadata(&bmf).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1234, 4321));
    assert_eq!(mode(&bmf), 0o640);
    assert_eq!(appended(&read(&bmf)).1.len(), 3);
}

#[test]
fn the_admin_is_told_through_the_injector() {
    let dir = Dir::new("bvs-admin");
    let bmf = setup(&dir, LIST);
    dir.injector();
    // Without ADMIN no mail.
    block(&dir, &["-n", "30"]).assert_code(0);
    assert!(dir.injected().is_empty());
    assert_eq!(appended(&read(&bmf)).1, ["new@one.example"]);

    let out = block(&dir, &["admin@example.org"]);
    out.assert_code(0);
    assert_eq!(out.stderr, "");
    let calls = dir.injected();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].args, ["-a", "-f", "", "admin@example.org"]);
    let mail = calls[0].text();
    let (head, body) = mail.split_once("\n\n").expect("a header");
    for field in [
        "\nTo: admin@example.org\n",
        "\nSubject: blockvirussender: 2 senders added to badmailfrom\n",
        "\nAuto-Submitted: auto-generated\n",
        "\nMIME-Version: 1.0\n",
        "\nContent-Type: text/plain; charset=utf-8\n",
        "\nFrom: MAILER-DAEMON@",
    ] {
        assert!(format!("\n{head}\n").contains(field), "{field:?} in {mail}");
    }
    assert!(head.starts_with("Date: ") && head.contains("\nMessage-ID: <"));
    assert!(body.contains("        20  second@two.example\n"), "{body}");
    assert!(body.contains("        10  third@x.example\n"), "{body}");
    assert!(!body.contains("new@one.example"), "only what is new");

    // Nothing new: no mail.
    block(&dir, &["admin@example.org"]).assert_code(0);
    assert_eq!(dir.injected().len(), 1);
}

#[test]
fn a_failing_injector_is_a_failure_after_the_update() {
    let dir = Dir::new("bvs-inject-fails");
    let bmf = setup(&dir, LIST);
    dir.injector_exiting(1);
    let out = block(&dir, &["admin@example.org"]);
    out.assert_code(111);
    assert!(out.stderr.contains("exited 1"), "{}", out.describe());
    assert_eq!(appended(&read(&bmf)).1.len(), 3, "badmailfrom stays updated");
    assert_eq!(dir.injected().len(), 1);
}

#[test]
fn hostile_list_lines_are_skipped() {
    let dir = Dir::new("bvs-hostile");
    let mut list = b"99 evil@x.com\nrm -rf /\n5 <script>@x\n7 a b@c\n\
                     99999999999999999999999999 huge@x.example\n\
                     18446744073709551615 max@x.example\n-5 neg@x.example\n\
                     8 MAILER-DAEMON@x.example\n9 #@[]\n9 <>\n6 @x.example\n\
                     6 x@y@z.example\n4 \xff\xfe@x.example\n3 ok@x.example\r\n\
                     3 -opt@x.example\n"
        .to_vec();
    list.extend_from_slice(format!("3 {}@x.example\n", HOSTILE[0]).as_bytes());
    let path = html(&dir, "topvirus_Sender1");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, &list).unwrap();
    let bmf = badmailfrom(&dir);
    dir.injector();
    let out = block(&dir, &["-n", "1", "admin@example.org"]);
    out.assert_code(0);
    let text = read(&bmf);
    let added: Vec<&str> =
        text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(added, ["evil@x.com", "max@x.example"], "{text}");
    // Unparsable lines are warned about, escaped.
    assert!(out.stderr.contains("rm -rf"), "{}", out.describe());
    assert!(out.stderr.contains("neg@x.example"));
    assert!(out.stderr.contains("huge@x.example"));
    let mail = dir.injected()[0].text();
    assert!(mail.contains("Subject: blockvirussender: 2 senders added"));
    assert!(!mail.contains("<script>") && !mail.contains("rm -rf"));
}

#[test]
fn blockvirussender_usage_and_failures() {
    let dir = Dir::new("bvs-usage");
    let out = dir.aux("blockvirussender", &["-h"]).run();
    out.assert_code(0);
    assert!(out.stdout.starts_with("usage: blockvirussender"));
    for bad in [
        &["-n", "0"][..],
        &["-n", "-1"],
        &["-n", "ten"],
        &["not an address"],
        &["-x@example.org"],
        &["a@example.org", "b@example.org"],
    ] {
        block(&dir, bad).assert_code(100);
    }
    // No list: virulator has not run.
    let out = block(&dir, &[]);
    out.assert_code(111);
    assert!(out.stderr.contains("topvirus_Sender1"), "{}", out.describe());
    assert!(!badmailfrom(&dir).exists());
}

// ---------------------------------------------------------------------
// Root-run: no symbolic links followed, nothing run from a path others
// can write (SPEC 9)

#[test]
fn a_symbolic_link_at_html_is_refused() {
    let dir = Dir::new("viru-html-link");
    logbook::write(&dir.layer(Layer::System), &day_of_mail(DAY));
    // A directory elsewhere that a local user would like root to write.
    let elsewhere = dir.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let link = dir.layer(Layer::System).join("html");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let out = dir.aux("virulator", &["-D", DAY]).run();
    out.assert_code(111);
    assert!(
        out.stderr.contains(&format!("{}: a symbolic link", link.display())),
        "{}",
        out.describe()
    );
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    // blockvirussender's lock directory likewise.
    let log = dir.layer(Layer::System).join("log");
    fs::rename(&log, dir.path("real-log")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &log).unwrap();
    fs::remove_file(&link).unwrap();
    setup(&dir, LIST);
    let out = block(&dir, &[]);
    out.assert_code(111);
    assert!(out.stderr.contains("a symbolic link"), "{}", out.describe());
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert_eq!(read(&badmailfrom(&dir)), OLD);
}

/// A blockvirussender run with ADMIN whose injector would leave a
/// marker: refused with `want` on standard error, nothing run, nothing
/// changed.
fn injector_refused(dir: &Dir, want: &str) {
    let bmf = badmailfrom(dir);
    let out = block(dir, &["admin@example.org"]);
    out.assert_code(111);
    assert!(out.stderr.contains("refused"), "{}", out.describe());
    assert!(out.stderr.contains(want), "{want}: {}", out.describe());
    assert!(dir.injected().is_empty(), "the injector ran");
    assert_eq!(read(&bmf), OLD, "badmailfrom changed");
}

#[test]
fn blockvirussender_runs_no_injector_others_can_write() {
    let dir = Dir::new("bvs-trust");
    setup(&dir, LIST);
    let script = dir.injector();
    let control = dir.layer(Layer::System).join("control");
    let injector = control.join("injector");
    let chmod = |p: &std::path::Path, m: u32| {
        fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap()
    };
    let chown = |p: &std::path::Path, uid: u32| {
        std::os::unix::fs::chown(p, Some(uid), None).unwrap()
    };
    // The program: another user's, or writable by the group.
    chown(&script, 65534);
    injector_refused(
        &dir,
        &format!("{}: owned by uid 65534", script.display()),
    );
    chown(&script, 0);
    chmod(&script, 0o775);
    injector_refused(&dir, "chmod go-w");
    chmod(&script, 0o755);
    // Its directory.
    let bin = script.parent().unwrap();
    chmod(bin, 0o1777);
    injector_refused(&dir, &format!("{}: mode 1777", bin.display()));
    chmod(bin, 0o755);
    // The control file naming it, and the control directory.
    chown(&injector, 65534);
    injector_refused(&dir, "chown root");
    chown(&injector, 0);
    chmod(&control, 0o777);
    injector_refused(&dir, &format!("{}:", control.display()));
    chown(&control, 65534);
    chmod(&control, 0o755);
    injector_refused(&dir, "uid 65534");
    chown(&control, 0);
    // A directory above the layer.
    let root = dir.root();
    chown(root, 65534);
    injector_refused(&dir, &format!("{}: owned by uid 65534", root.display()));
    chown(root, 0);
    // All root's again: it runs.
    block(&dir, &["admin@example.org"]).assert_code(0);
    assert_eq!(dir.injected().len(), 1);
}

#[test]
fn blockvirussender_never_blocks_the_sites_own_addresses() {
    let dir = Dir::new("bvs-local");
    let list = "90 postmaster@Mail.Example.COM\n80 root@local.example\n\
                70 sales@shop.example.net\n60 info@virtual.example\n\
                55 x@deep.sub.example\n50 joe@vip.example\n40 <>\n\
                30 #@[]\n20 foreign@elsewhere.example\n\
                15 ann@vip.example\n";
    let bmf = setup(&dir, list);
    let control = qmail(&dir).join("control");
    fs::write(control.join("me"), "mail.example.com\n").unwrap();
    fs::write(control.join("rcpthosts"), "example.com\n.example.net\n")
        .unwrap();
    fs::write(
        control.join("virtualdomains"),
        "virtual.example:v\n.sub.example:s\njoe@vip.example:j\n",
    )
    .unwrap();
    dir.injector();
    // Without locals, me is the local domain; with it, its domains.
    let out = block(&dir, &["-n", "1", "admin@example.org"]);
    out.assert_code(0);
    let (_, added) = appended(&read(&bmf));
    assert_eq!(
        added,
        ["root@local.example", "foreign@elsewhere.example", "ann@vip.example"]
    );
    for local in [
        "postmaster@Mail.Example.COM (90 virusmails)",
        "sales@shop.example.net (70",
        "info@virtual.example (60",
        "x@deep.sub.example (55",
        "joe@vip.example (50",
    ] {
        assert!(out.stdout.contains(local), "{local}: {}", out.describe());
    }
    let mail = dir.injected()[0].text();
    assert!(mail.contains("Not added: addresses of this site"), "{mail}");
    assert!(mail.contains("        90  postmaster@Mail.Example.COM\n"));
    // root@local.example was not local then; now locals names it.
    fs::write(&bmf, OLD).unwrap();
    fs::write(control.join("locals"), "local.example\n").unwrap();
    let out = block(&dir, &["-n", "1"]);
    out.assert_code(0);
    let (_, added) = appended(&read(&bmf));
    assert!(!added.contains(&"root@local.example".to_string()), "{added:?}");
    assert!(out.stdout.contains("root@local.example"), "{}", out.describe());
    // locals replaces me: postmaster@mail.example.com is foreign now,
    // and the site files are held to the root-run rule too.
    assert!(added.contains(&"postmaster@mail.example.com".to_string()));
    fs::write(&bmf, OLD).unwrap();
    std::os::unix::fs::chown(control.join("locals"), Some(65534), None)
        .unwrap();
    let out = block(&dir, &["-n", "1"]);
    out.assert_code(111);
    assert!(out.stderr.contains("locals"), "{}", out.describe());
    assert_eq!(read(&bmf), OLD);
}
