/*!
qmvclog2html(8): the day pages of qmvc.log with the right counts, the
days `-c`, `-D` and no flag choose, `-m` month database lines replaced
and never added, `-d` prefixes, gzip logs with `-f`, hostile values
escaped, damaged lines counted, exit codes; and a log written by the
real qmvc binary.
*/

use std::fs;
use std::io::Write;
use std::time::Duration;

use crate::logbook::{
    self, assert_card, at, html, html_names, read, today, today_at, Entry,
    Hit, HOSTILE,
};
use crate::mail::Mail;
use crate::util::{Dir, Layer, Output};

const DAY: &str = "2026-11-20";

/// The page of `day` (no prefix).
fn page(dir: &Dir, day: &str) -> String {
    read(&html(dir, &format!("qmvclog-{day}.html")))
}

fn run(dir: &Dir, args: &[&str]) -> Output {
    let out = dir.aux("qmvclog2html", args).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "", "quiet on success");
    out
}

/// An entry that met `condition` with `action`.
fn met(time: &str, condition: &str, action: &str) -> Entry {
    let mut e = Entry::clear(time);
    e.action = action.into();
    e.hits.push(Hit {
        condition: condition.into(),
        action: action.into(),
        rule: "/var/qmvc/control/filters:1".into(),
        matches: Vec::new(),
    });
    e
}

/// On [`DAY`]: 3 clear, 2 virusmail, 1 badmail, 1 errormail, and a
/// badmail deferred.
fn day_of_mail() -> Vec<Entry> {
    let mut error = met(&at(DAY, "11:00:00"), "errormail", "keep");
    error.errormail = 4;
    vec![
        Entry::clear(&at(DAY, "08:00:00")),
        Entry::clear(&at(DAY, "08:30:00")),
        Entry::clear(&at(DAY, "23:59:59")),
        Entry::virus(&at(DAY, "09:00:00"), "worm@bad.example", "Eicar"),
        Entry::virus(&at(DAY, "09:10:00"), "worm@bad.example", "Eicar"),
        Entry::bad_file(&at(DAY, "10:00:00"), "exe@bad.example", "a.exe"),
        error,
        met(&at(DAY, "12:00:00"), "badsubject", "defer"),
    ]
}

#[test]
fn a_page_counts_every_class() {
    let dir = Dir::new("l2h-counts");
    logbook::write(&dir.layer(Layer::System), &day_of_mail());
    run(&dir, &["-D", DAY]);
    let page = page(&dir, DAY);
    assert_card(&page, "received", 8);
    assert_card(&page, "clear", 3);
    assert_card(&page, "badmail", 2);
    assert_card(&page, "virusmail", 2);
    assert_card(&page, "errormail", 1);
    assert_card(&page, "deferred", 1);
    assert!(page.contains("<b>16.0 KiB</b><span>total size</span>"));
    assert!(page.contains("<title>qmvc log of 2026-11-20</title>"));
    assert!(page.contains("worm@bad.example</td><td class=\"n\">2</td>"));
    assert!(page.contains("href=\"virulator-2026-11-20.html\""));
    assert!(page.contains("href=\"qmvcmonth-2026-11.html\""));
    assert!(page.contains("href=\"calendar-2026.html\""));
    assert!(page.contains("href=\"qmvclog-2026-11-19.html\""));
    assert!(page.contains("href=\"qmvclog-2026-11-21.html\""));
    assert!(page.contains("<table class=\"full\">"));
    assert_eq!(page.matches("<tr><td>").count(), 8, "one row a message");
    assert!(page.contains("<tr><td>23:59:59</td><td>clear</td>"));
    assert!(page.contains("23:00 to 23:59: 1 in all, clear 1,"));
    assert!(page.contains(
        "09:00 to 09:59: 2 in all, clear 0, badmail 0, \
                           virusmail 2"
    ));
    assert!(!page.contains("damaged"));
    assert!(!html_names(&dir).iter().any(|n| n.ends_with(".db")), "no -m");
}

#[test]
fn current_reports_today_only() {
    let dir = Dir::new("l2h-current");
    let layer = dir.layer(Layer::System);
    logbook::write(
        &layer,
        &[
            Entry::clear(&at("2026-01-05", "10:00:00")),
            Entry::clear(&today_at("00:00:01")),
            Entry::virus(&today_at("00:00:02"), "w@x.example", "Eicar"),
        ],
    );
    run(&dir, &["-c"]);
    assert_eq!(html_names(&dir), [format!("qmvclog-{}.html", today())]);
    let page = page(&dir, &today());
    assert_card(&page, "received", 2);
    assert_card(&page, "virusmail", 1);
}

#[test]
fn day_option_reports_that_day_only() {
    let dir = Dir::new("l2h-day");
    let mut entries = day_of_mail();
    entries.push(Entry::clear(&at("2026-11-21", "10:00:00")));
    logbook::write(&dir.layer(Layer::System), &entries);
    run(&dir, &["-D", "2026-11-21"]);
    assert_eq!(html_names(&dir), ["qmvclog-2026-11-21.html"]);
    assert_card(&page(&dir, "2026-11-21"), "received", 1);
}

#[test]
fn without_a_day_every_day_gets_a_page() {
    let dir = Dir::new("l2h-all");
    let mut entries = day_of_mail();
    entries.push(Entry::clear(&at("2026-11-21", "10:00:00")));
    entries.push(Entry::clear(&at("2026-12-01", "00:00:00")));
    entries.push(Entry::clear(&at("2026-12-01", "00:00:01")));
    logbook::write(&dir.layer(Layer::System), &entries);
    run(&dir, &[]);
    assert_eq!(
        html_names(&dir),
        [
            "qmvclog-2026-11-20.html",
            "qmvclog-2026-11-21.html",
            "qmvclog-2026-12-01.html"
        ]
    );
    assert_card(&page(&dir, DAY), "received", 8);
    assert_card(&page(&dir, "2026-11-21"), "received", 1);
    assert_card(&page(&dir, "2026-12-01"), "received", 2);
}

#[test]
fn month_database_lines_are_replaced() {
    let dir = Dir::new("l2h-month");
    let layer = dir.layer(Layer::System);
    logbook::write(&layer, &day_of_mail());
    let db = html(&dir, "qmvcmonth-2026-11.db");
    let line = |day: &str| -> Vec<String> {
        let text = fs::read_to_string(&db).unwrap();
        text.lines()
            .filter(|l| l.starts_with(day))
            .map(str::to_string)
            .collect()
    };
    run(&dir, &["-m", "-D", DAY]);
    assert_eq!(line(DAY), ["2026-11-20\t8\t3\t2\t2\t1\t0\t1"]);
    run(&dir, &["-m", "-D", DAY]);
    assert_eq!(line(DAY), ["2026-11-20\t8\t3\t2\t2\t1\t0\t1"], "doubled");
    logbook::write(&layer, &[Entry::clear(&at(DAY, "13:00:00"))]);
    run(&dir, &["-D", DAY, "-m"]);
    assert_eq!(line(DAY), ["2026-11-20\t9\t4\t2\t2\t1\t0\t1"]);
    // A day without mail is a line of zeros.
    run(&dir, &["-m", "-D", "2026-11-02"]);
    assert_eq!(line("2026-11-02"), ["2026-11-02\t0\t0\t0\t0\t0\t0\t0"]);
    assert_eq!(line(DAY).len(), 1);
    assert!(page(&dir, "2026-11-02").contains("No mail logged that day."));
    // Every day of a catching-up run, in the database of its month.
    logbook::write(&layer, &[Entry::clear(&at("2026-12-24", "18:00:00"))]);
    run(&dir, &["-m"]);
    let december = html(&dir, "qmvcmonth-2026-12.db");
    let text = fs::read_to_string(december).unwrap();
    assert!(text.contains("2026-12-24\t1\t1\t0\t0\t0\t0\t0\n"), "{text}");
    assert_eq!(line(DAY), ["2026-11-20\t9\t4\t2\t2\t1\t0\t1"]);
}

#[test]
fn domain_prefixes_names_and_titles() {
    let dir = Dir::new("l2h-domain");
    logbook::write(&dir.layer(Layer::System), &day_of_mail());
    run(&dir, &["-m", "-d", "fehcom", "-D", DAY]);
    assert_eq!(
        html_names(&dir),
        [
            "fehcom_qmvclog-2026-11-20.html",
            "fehcom_qmvcmonth-2026-11.db",
            "fehcom_qmvcmonth-2026-11.db.lock"
        ]
    );
    let page =
        fs::read_to_string(html(&dir, "fehcom_qmvclog-2026-11-20.html"))
            .unwrap();
    assert!(page.contains("<h1>qmvc log of 2026-11-20 for fehcom</h1>"));
    assert!(page.contains("href=\"fehcom_virulator-2026-11-20.html\""));
    assert!(page.contains("href=\"fehcom_qmvclog-2026-11-21.html\""));
}

#[test]
fn a_gzip_archive_is_read_with_f() {
    let dir = Dir::new("l2h-gzip");
    let mut text = String::new();
    for entry in day_of_mail() {
        text.push_str(&entry.log_line());
    }
    let mut gz = flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    );
    gz.write_all(text.as_bytes()).unwrap();
    let archive =
        dir.write("archive/qmvc.log-2026-11.gz", &gz.finish().unwrap());
    let archive = archive.to_str().unwrap();
    run(&dir, &["-f", archive]);
    assert_eq!(html_names(&dir), ["qmvclog-2026-11-20.html"]);
    assert_card(&page(&dir, DAY), "received", 8);
    // A log named with -f must be there.
    let missing = dir.path("archive/none.gz");
    let out =
        dir.aux("qmvclog2html", &["-f", missing.to_str().unwrap()]).run();
    out.assert_code(111);
    assert!(out.stderr.contains("none.gz"), "{}", out.stderr);
}

#[test]
fn hostile_values_are_only_shown_escaped() {
    let dir = Dir::new("l2h-hostile");
    let mut entries = Vec::new();
    for (i, value) in HOSTILE.iter().enumerate() {
        let mut e = Entry::virus(&at(DAY, "10:00:00"), value, value);
        e.subject = value.to_string();
        e.recipient = value.to_string();
        e.message_id = value.to_string();
        e.scanners = value.to_string();
        e.action = format!("block+{value}");
        entries.push(e);
        let mut clear = Entry::clear(&at(DAY, &format!("1{i}:00:00")));
        clear.subject = value.to_string();
        entries.push(clear);
    }
    logbook::write(&dir.layer(Layer::System), &entries);
    run(&dir, &["-D", DAY]);
    let page = page(&dir, DAY);
    assert!(!page.contains("<script"), "raw <script in the page");
    assert!(!page.contains("<img"), "raw <img in the page");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img_src=x_onerror=alert(1)&gt;"));
    assert_card(&page, "virusmail", 2);
}

#[test]
fn damaged_lines_are_counted_not_fatal() {
    let dir = Dir::new("l2h-damaged");
    let layer = dir.layer(Layer::System);
    logbook::write(&layer, &day_of_mail());
    let log = layer.join("log/qmvc.log");
    let mut bytes = fs::read(&log).unwrap();
    bytes.extend_from_slice(b"garbage\n2026-11-20T10:00:00+01:00\tclear\n");
    bytes.extend_from_slice(b"\xff\xfe not UTF-8 \x00\n");
    fs::write(&log, bytes).unwrap();
    run(&dir, &["-D", DAY]);
    let page = page(&dir, DAY);
    assert_card(&page, "received", 8);
    assert!(page.contains("3 damaged lines were skipped"), "{page}");
}

#[test]
fn rows_are_capped_with_n() {
    let dir = Dir::new("l2h-rows");
    logbook::write(&dir.layer(Layer::System), &day_of_mail());
    run(&dir, &["-n", "3", "-D", DAY]);
    let page = page(&dir, DAY);
    assert_eq!(page.matches("<tr><td>").count(), 3);
    assert!(page.contains("5 more were left out"));
    assert_card(&page, "received", 8);
}

#[test]
fn no_log_no_page_unless_a_day_is_asked() {
    let dir = Dir::new("l2h-nolog");
    let out = dir.aux("qmvclog2html", &[]).run();
    out.assert_code(0);
    assert!(html_names(&dir).is_empty(), "{:?}", html_names(&dir));
    run(&dir, &["-c"]);
    let page = page(&dir, &today());
    assert!(page.contains("No mail logged that day."));
    assert_card(&page, "received", 0);
}

#[test]
fn usage_errors_exit_100() {
    let dir = Dir::new("l2h-usage");
    for args in [
        &["-c", "-D", DAY][..],
        &["-D", "2026-11-31"],
        &["-D", "yesterday"],
        &["-d", "../etc"],
        &["-d", "a b"],
        &["one", "two"],
        &["-n", "many"],
        &["-x"],
    ] {
        let out = dir.aux("qmvclog2html", args).run();
        out.assert_code(100);
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
    assert!(html_names(&dir).is_empty());
    let help = dir.aux("qmvclog2html", &["-h"]).run();
    help.assert_code(0);
    assert!(help.stdout.contains("qmvclog2html [-c | -D DAY] [-m]"));
}

#[test]
fn an_unusable_html_dir_exits_111() {
    let dir = Dir::new("l2h-unwritable");
    logbook::write(&dir.layer(Layer::System), &day_of_mail());
    // A file where the directory should be stops root too.
    dir.write("sys/html", b"not a directory");
    for args in [&["-c"][..], &["-D", DAY], &[]] {
        let out = dir.aux("qmvclog2html", args).run();
        out.assert_code(111);
        assert!(out.stderr.contains("html"), "{}", out.stderr);
    }
}

#[test]
fn the_layer_operand_is_used() {
    let dir = Dir::new("l2h-layer");
    let other = dir.path("domains/example.org");
    logbook::write(&other, &day_of_mail());
    run(&dir, &["-D", DAY, other.to_str().unwrap()]);
    assert!(other.join("html/qmvclog-2026-11-20.html").is_file());
    assert!(html_names(&dir).is_empty(), "the system layer was touched");
}

/// Mail through the real qmvc binary: its qmvc.log is what qmvclog2html
/// reads.
#[test]
fn counts_a_log_written_by_qmvc() {
    let dir = Dir::new("l2h-real");
    dir.filters("badsubject ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "spam\n");
    dir.run(&[], &Mail::new().subject("spam offer").bytes()).assert_code(99);
    dir.run(&[], &Mail::new().bytes()).assert_code(0);
    dir.run(&[], &Mail::new().subject("Hello <b>Bob</b>").bytes())
        .assert_code(0);
    let log = dir.log(Layer::System);
    assert_eq!(log.len(), 3);
    let day = log[0].field(1)[..10].to_string();
    run(&dir, &["-m", "-D", &day]);
    let page = page(&dir, &day);
    assert_card(&page, "received", 3);
    assert_card(&page, "clear", 2);
    assert_card(&page, "badmail", 1);
    assert_card(&page, "virusmail", 0);
    assert!(page.contains("<td class=\"w\">spam_offer</td>"));
    assert!(page.contains("Hello_&lt;b&gt;Bob&lt;/b&gt;"));
    assert!(page.contains("alice@example.net</td><td class=\"n\">3</td>"));
    assert!(!page.contains("damaged"));
}

/// A big log is read in one streaming pass: 200,000 lines well within
/// a second or two (release), the row table capped.
#[test]
fn a_big_log_is_fast() {
    let dir = Dir::new("l2h-big");
    let log = dir.layer(Layer::System).join("log/qmvc.log");
    fs::create_dir_all(log.parent().unwrap()).unwrap();
    let mut file = std::io::BufWriter::new(fs::File::create(&log).unwrap());
    const LINES: u32 = 200_000;
    for i in 0..LINES {
        let mut e = if i % 7 == 0 {
            Entry::virus(&at(DAY, "10:00:00"), "w@x.example", "Eicar")
        } else {
            Entry::clear(&at(DAY, "10:00:00"))
        };
        e.time = at(DAY, &format!("{:02}:{:02}:00", i % 24, i % 60));
        e.sender = format!("s{}@example.net", i % 30_000);
        file.write_all(e.log_line().as_bytes()).unwrap();
    }
    drop(file);
    let out = run(&dir, &["-n", "100", "-D", DAY]);
    let bound = if cfg!(debug_assertions) { 60 } else { 5 };
    assert!(
        out.elapsed < Duration::from_secs(bound),
        "{LINES} lines took {:?}",
        out.elapsed
    );
    let page = page(&dir, DAY);
    assert_card(&page, "received", u64::from(LINES));
    assert_card(&page, "virusmail", u64::from(LINES.div_ceil(7)));
    assert_eq!(page.matches("<tr><td>").count(), 100);
}
