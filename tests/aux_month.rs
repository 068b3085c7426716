/*!
qmvcmonth(8), webcalendar(8) and qmvcportal(8).

qmvcmonth: the month page from month databases written here (so these
tests do not depend on qmvclog2html), its bars linking to the day pages
with the numbers in their hover text, `-M`, `-d`; `-a`: the logs moved
into gzip files in `log/archive/`, numbered archives on the same day, leftovers of
a killed run archived, and no record lost or doubled while hundreds of
real qmvc deliveries run during repeated archiving. webcalendar: twelve
month tables, Monday-first weeks with ISO week numbers, the leap day,
links only to day pages that exist, `-y`, `-d`. qmvcportal: virtual
domains and accounts resolved to layers whose newest pages are linked
by relative paths that lead to the files, `-b`, unresolved domains,
missing files, hostile names escaped, `-q`.
*/

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::logbook::{self, html, read, today, today_at, Entry, HOSTILE};
use crate::mail::Mail;
use crate::util::{mode, Dir, Layer, Output};

#[track_caller]
fn ok(out: Output) -> Output {
    out.assert_code(0);
    assert_eq!(out.stdout, "", "quiet on success");
    assert_eq!(out.stderr, "", "quiet on success");
    out
}

/// The current month, `YYYY-MM`.
fn this_month() -> String {
    today()[..7].to_string()
}

/// Writes the month databases of `month` (prefix `prefix`) in the
/// monthdb format: 2 days of counts, a virus day.
fn write_dbs(dir: &Dir, prefix: &str, month: &str) {
    let db = format!(
        "# day\treceived\tclear\tbadmail\tvirusmail\terrormail\tother\tdeferred\n\
         {month}-05\t9\t5\t1\t2\t1\t0\t1\n\
         {month}-07\t4\t4\t0\t0\t0\t0\t0\n"
    );
    let viruses = format!(
        "{month}-05\ttotal\t2\t1\n\
         {month}-05\tvirus\t2\t{}\n\
         {month}-05\tvirus\t1\tEicar-Test-Signature\n",
        HOSTILE[0]
    );
    let dir_html = dir.layer(Layer::System).join("html");
    fs::create_dir_all(&dir_html).unwrap();
    fs::write(dir_html.join(format!("{prefix}qmvcmonth-{month}.db")), db)
        .unwrap();
    fs::write(dir_html.join(format!("{prefix}virulator-{month}.db")), viruses)
        .unwrap();
}

#[track_caller]
fn assert_card(page: &str, label: &str, n: u64) {
    let card = format!("<b>{n}</b><span>{label}</span>");
    assert!(page.contains(&card), "no {card:?} in the page");
}

#[test]
fn month_page_from_the_databases() {
    let dir = Dir::new("aux_month_page");
    write_dbs(&dir, "", "2026-10");
    ok(dir.aux("qmvcmonth", &["-M", "2026-10"]).run());
    let page = read(&html(&dir, "qmvcmonth-2026-10.html"));
    assert!(page.contains("<title>qmvc month October 2026</title>"));
    for (label, n) in [
        ("received", 13),
        ("clear", 9),
        ("badmail", 1),
        ("virusmail", 2),
        ("errormail", 1),
        ("deferred", 1),
    ] {
        assert_card(&page, label, n);
    }
    // 31 bars, two of them links to their day pages with the numbers.
    assert_eq!(page.matches("<g class=\"bar\">").count(), 31);
    assert!(page.contains(
        "<a href=\"qmvclog-2026-10-05.html\"><g class=\"bar\">\
         <title>2026-10-05: 9 in all, clear 5, badmail 1, virusmail 2, \
         errormail 1, other 0</title>"
    ));
    assert!(page.contains("<a href=\"qmvclog-2026-10-07.html\"><g"));
    assert!(page.contains("<title>2026-10-06: 0 in all"));
    assert!(!page.contains("qmvclog-2026-10-06.html"), "no data, no link");
    // The table links the days and the virus day.
    assert!(
        page.contains("<a href=\"qmvclog-2026-10-05.html\">2026-10-05</a>")
    );
    assert!(page.contains("<a href=\"virulator-2026-10-05.html\">viruses</a>"));
    assert!(!page.contains("virulator-2026-10-07.html"));
    // Navigation and the month's viruses, escaped.
    for link in [
        "qmvcmonth-2026-09.html",
        "qmvcmonth-2026-11.html",
        "calendar-2026.html",
    ] {
        assert!(page.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(page.contains("Eicar-Test-Signature"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains(HOSTILE[0]));
}

#[test]
fn month_defaults_to_this_month_and_takes_a_prefix() {
    let dir = Dir::new("aux_month_prefix");
    let month = this_month();
    write_dbs(&dir, "fehcom_", &month);
    let layer = dir.layer(Layer::System);
    ok(dir.aux("qmvcmonth", &["-d", "fehcom", layer.to_str().unwrap()]).run());
    let page = read(&html(&dir, &format!("fehcom_qmvcmonth-{month}.html")));
    assert!(page.contains(" for fehcom</title>"));
    assert!(page.contains(&format!("href=\"fehcom_qmvclog-{month}-05.html\"")));
    assert!(
        page.contains(&format!("href=\"fehcom_virulator-{month}-05.html\""))
    );
    assert_card(&page, "received", 13);
    // Without -d the unprefixed databases are read: there are none.
    ok(dir.aux("qmvcmonth", &[]).run());
    let page = read(&html(&dir, &format!("qmvcmonth-{month}.html")));
    assert_card(&page, "received", 0);
    assert!(page.contains("No data for"));
}

#[test]
fn month_usage_errors() {
    let dir = Dir::new("aux_month_usage");
    for args in [
        &["-M", "2026-13"][..],
        &["-M", "26-01"],
        &["-d", "../x"],
        &["-x"],
        &["a", "b"],
    ] {
        let out = dir.aux("qmvcmonth", args).run();
        out.assert_code(100);
        assert!(out.stderr.contains("qmvcmonth"), "{args:?}: {}", out.stderr);
    }
    let out = dir.aux("qmvcmonth", &["-h"]).run();
    out.assert_code(0);
    assert!(out.stdout.contains("usage: qmvcmonth [-a]"));
}

/// The text of a gzip file.
fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

/// The file names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn clear_profile(dir: &Dir) {
    dir.filters("badsubject ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "spam\n");
}

#[test]
fn archive_moves_the_logs_into_gzip_files() {
    let dir = Dir::new("aux_month_archive");
    clear_profile(&dir);
    let layer = dir.layer(Layer::System);
    let log = layer.join("log");
    let entries = [
        Entry::clear(&today_at("08:00:00")),
        Entry::virus(&today_at("09:00:00"), "v@example.net", "Eicar"),
    ];
    logbook::write(&layer, &entries);
    fs::write(log.join("qmvc.error"), "").unwrap();
    let log_text = read(&log.join("qmvc.log"));
    let rep_text = read(&log.join("qmvc.rep"));
    ok(dir.aux("qmvcmonth", &["-a"]).run());
    let day = today();
    let archive = log.join("archive");
    assert_eq!(
        names_in(&archive),
        [
            ".lock".to_string(),
            format!("qmvc.log-{day}.gz"),
            format!("qmvc.rep-{day}.gz"),
        ]
    );
    assert_eq!(gunzip(&archive.join(format!("qmvc.log-{day}.gz"))), log_text);
    assert_eq!(gunzip(&archive.join(format!("qmvc.rep-{day}.gz"))), rep_text);
    assert_eq!(mode(&archive), 0o700);
    assert_eq!(mode(&archive.join(format!("qmvc.log-{day}.gz"))), 0o600);
    assert!(!log.join("qmvc.log").exists() && !log.join("qmvc.rep").exists());
    assert!(log.join("qmvc.error").exists(), "an empty log stays");
    // The month page is written too.
    assert!(html(&dir, &format!("qmvcmonth-{}.html", this_month())).exists());

    // qmvc starts a fresh log; a second run the same day numbers it.
    dir.run(&[], &Mail::new().header("Message-ID", "<new@x>").bytes())
        .assert_code(0);
    let fresh = read(&log.join("qmvc.log"));
    assert_eq!(fresh.lines().count(), 1, "{fresh}");
    ok(dir.aux("qmvcmonth", &["-a"]).run());
    assert_eq!(gunzip(&archive.join(format!("qmvc.log-{day}.1.gz"))), fresh);

    // A log set aside by a killed run is archived, never dropped.
    fs::write(log.join("qmvc.log.archiving.99999"), "left over\n").unwrap();
    ok(dir.aux("qmvcmonth", &["-a"]).run());
    assert_eq!(
        gunzip(&archive.join(format!("qmvc.log-{day}.2.gz"))),
        "left over\n"
    );
    assert!(!log.join("qmvc.log.archiving.99999").exists());
    let leftovers: Vec<String> = names_in(&log)
        .into_iter()
        .filter(|n| n.contains(".archiving."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn archive_of_a_layer_without_logs_is_quiet() {
    let dir = Dir::new("aux_month_nologs");
    ok(dir.aux("qmvcmonth", &["-a"]).run());
    assert!(!dir.layer(Layer::System).join("log").exists());
}

/// Sets its flag when dropped, also while unwinding.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn no_record_is_lost_while_archiving() {
    const DELIVERIES: usize = 200;
    const WAVE: usize = 20;
    let dir = Dir::new("aux_month_noloss");
    clear_profile(&dir);
    let layer = dir.layer(Layer::System);
    let stop = AtomicBool::new(false);
    let runs = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let archiver = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let out = Command::new(env!("CARGO_BIN_EXE_qmvcmonth"))
                    .arg("-a")
                    .arg(&layer)
                    .env_clear()
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "qmvcmonth -a: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                runs.fetch_add(1, Ordering::Relaxed);
            }
        });
        // Stops the archiver even when a delivery fails the test.
        let _stop = StopOnDrop(&stop);
        for wave in 0..DELIVERIES / WAVE {
            let running: Vec<_> = (0..WAVE)
                .map(|i| {
                    let n = wave * WAVE + i;
                    let mail = Mail::new()
                        .header("Message-ID", &format!("<{n}@noloss.test>"));
                    dir.qmvc(&[]).stdin_bytes(&mail.bytes()).spawn()
                })
                .collect();
            for run in running {
                run.wait().assert_code(0);
            }
        }
        drop(_stop);
        archiver.join().unwrap();
    });
    let log = layer.join("log");
    let mut texts =
        vec![fs::read_to_string(log.join("qmvc.log")).unwrap_or_default()];
    let archive = log.join("archive");
    let archives: Vec<String> = names_in(&archive)
        .into_iter()
        .filter(|n| n.starts_with("qmvc.log-"))
        .collect();
    for name in &archives {
        texts.push(gunzip(&archive.join(name)));
    }
    let mut ids = BTreeSet::new();
    let mut lines = 0;
    for text in &texts {
        for line in text.lines() {
            lines += 1;
            let id = line.split('\t').nth(9).unwrap_or_default();
            assert!(ids.insert(id.to_string()), "{id} twice");
        }
    }
    assert_eq!(lines, DELIVERIES, "{} archives", archives.len());
    let want: BTreeSet<String> =
        (0..DELIVERIES).map(|n| format!("<{n}@noloss.test>")).collect();
    assert_eq!(ids, want);
    assert!(!archives.is_empty(), "nothing was archived");
    let leftovers: Vec<String> = names_in(&log)
        .into_iter()
        .filter(|n| n.contains(".archiving."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    crate::util::note(&format!(
        "no-loss: {} archiving runs, {} archives of qmvc.log",
        runs.load(Ordering::Relaxed),
        archives.len()
    ));
}

// webcalendar

/// Creates empty files in the system layer's `html/`.
fn touch(dir: &Dir, names: &[&str]) {
    let html = dir.layer(Layer::System).join("html");
    fs::create_dir_all(&html).unwrap();
    for name in names {
        fs::write(html.join(name), "").unwrap();
    }
}

/// The table of month `name` in a calendar page.
fn month_table<'a>(page: &'a str, name: &str) -> &'a str {
    let at = page
        .find(&format!(">{name}</a></caption>"))
        .or_else(|| page.find(&format!("<caption>{name}</caption>")))
        .unwrap_or_else(|| panic!("no table for {name}"));
    let rest = &page[at..];
    &rest[..rest.find("</table>").unwrap()]
}

#[test]
fn calendar_of_a_leap_year() {
    let dir = Dir::new("aux_calendar_leap");
    touch(
        &dir,
        &["qmvclog-2028-02-29.html", "qmvcmonth-2028-02.html", "other.html"],
    );
    ok(dir.aux("webcalendar", &["-y", "2028"]).run());
    let page = read(&html(&dir, "calendar-2028.html"));
    assert!(page.contains("<title>qmvc calendar 2028</title>"));
    assert_eq!(page.matches("<caption>").count(), 12);
    assert!(page.contains("<div class=\"months\">"));
    assert!(page.contains("href=\"calendar-2027.html\""));
    // 2029 is in the future: its page cannot exist yet.
    assert!(!page.contains("href=\"calendar-2029.html\""));
    let feb = month_table(&page, "February");
    assert!(feb.contains(
        "<tr><th class=\"wk\">wk</th><th>Mo</th><th>Tu</th><th>We</th>\
         <th>Th</th><th>Fr</th><th>Sa</th><th>Su</th></tr>"
    ));
    // 2028-02-01 is a Tuesday of ISO week 5; the 29th a Tuesday too.
    assert!(feb.contains("<tr><td class=\"wk\">5</td><td></td><td>1</td>"));
    assert!(feb.contains(
        "<tr><td class=\"wk\">9</td><td>28</td>\
         <td><a href=\"qmvclog-2028-02-29.html\">29</a></td><td></td>"
    ));
    assert!(page.contains("<a href=\"qmvcmonth-2028-02.html\">February</a>"));
    assert_eq!(page.matches("qmvclog-").count(), 1, "only existing days");
}

#[test]
fn calendar_week_numbers_and_links() {
    let dir = Dir::new("aux_calendar_weeks");
    touch(
        &dir,
        &["qmvclog-2026-12-31.html", "fehcom_qmvclog-2026-12-30.html"],
    );
    ok(dir.aux("webcalendar", &["-y", "2026"]).run());
    let page = read(&html(&dir, "calendar-2026.html"));
    let dec = month_table(&page, "December");
    assert!(dec.contains(
        "<tr><td class=\"wk\">53</td><td>28</td><td>29</td><td>30</td>\
         <td><a href=\"qmvclog-2026-12-31.html\">31</a></td>\
         <td></td><td></td><td></td></tr>"
    ));
    // January 2026 starts on a Thursday of week 1.
    let jan = month_table(&page, "January");
    assert!(jan.contains(
        "<tr><td class=\"wk\">1</td><td></td><td></td><td></td><td>1</td>"
    ));
    assert!(page.contains("<a href=\"qmvcmonth-2026-01.html\">January</a>"));
    // -d: only the pages with its prefix.
    ok(dir.aux("webcalendar", &["-y", "2026", "-d", "fehcom"]).run());
    let page = read(&html(&dir, "fehcom_calendar-2026.html"));
    assert!(page.contains("<a href=\"fehcom_qmvclog-2026-12-30.html\">30</a>"));
    assert!(!page.contains("\"qmvclog-2026-12-31.html"));
    assert!(page.contains("href=\"fehcom_qmvcmonth-2026-01.html\""));
    assert!(page.contains("calendar 2026 for fehcom</title>"));
}

#[test]
fn calendar_marks_today_and_links_no_future_month() {
    let dir = Dir::new("aux_calendar_today");
    ok(dir.aux("webcalendar", &[]).run());
    let today = today();
    let year = &today[..4];
    let page = read(&html(&dir, &format!("calendar-{year}.html")));
    let day: u32 = today[8..].parse().unwrap();
    assert!(page.contains(&format!("<td class=\"today\">{day}</td>")));
    assert_eq!(page.matches("class=\"today\"").count(), 1);
    ok(dir.aux("webcalendar", &["-y", "2096"]).run());
    let page = read(&html(&dir, "calendar-2096.html"));
    assert!(!page.contains("qmvcmonth-2096"), "future months unlinked");
    assert!(!page.contains("class=\"today\""));
    for bad in ["96", "x", "20266"] {
        dir.aux("webcalendar", &["-y", bad]).run().assert_code(100);
    }
}

// qmvcportal

/// The hrefs of a page, in order.
fn hrefs(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// Undoes url_path's percent-encoding.
fn decode(href: &str) -> String {
    let bytes = href.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A qmail home under the test directory with `virtualdomains` and
/// `users/assign`, and the accounts' layers with pages.
fn portal_setup(dir: &Dir) -> PathBuf {
    let users = dir.path("users");
    let assign = format!(
        "=fehcom:fehcom:1001:1001:{u}/fehcom:::\n\
         +fehcom-:fehcom:1001:1001:{u}/fehcom:-::\n\
         +shop-:shop:1002:1002:{u}/shop:-::\n\
         +empty-:empty:1003:1003:{u}/empty:-::\n\
         .\n",
        u = users.display()
    );
    dir.write("qmail/users/assign", assign.as_bytes());
    dir.write(
        "qmail/control/virtualdomains",
        b"# domains\nexample.com:fehcom\n.shop.example:shop\n\
          lost.example:lostprepend\n",
    );
    dir.write("users/fehcom/qmvc/html/qmvclog-2026-11-20.html", b"old");
    dir.write("users/fehcom/qmvc/html/qmvclog-2026-11-21.html", b"new");
    dir.write("users/fehcom/qmvc/html/virulator-2026-11-21.html", b"v");
    dir.write("users/fehcom/qmvc/html/qmvcmonth-2026-11.html", b"m");
    dir.write("users/fehcom/qmvc/html/calendar-2026.html", b"c");
    dir.write("users/shop/qmvc/html/shop_qmvclog-2026-11-19.html", b"s");
    dir.write("sys/html/fehcom_qmvclog-2026-11-22.html", b"sys");
    dir.path("qmail")
}

#[test]
fn portal_links_the_newest_pages_of_every_layer() {
    let dir = Dir::new("aux_portal");
    let qmail = portal_setup(&dir);
    ok(dir.aux("qmvcportal", &["-q", qmail.to_str().unwrap()]).run());
    let index = html(&dir, "index.html");
    let page = read(&index);
    assert!(page.contains("<title>qmvc portal</title>"));
    let links = hrefs(&page);
    let html_dir = index.parent().unwrap();
    let mut targets = BTreeSet::new();
    for href in &links {
        assert!(!href.starts_with('/'), "relative: {href}");
        let path = html_dir.join(decode(href));
        let real = fs::canonicalize(&path)
            .unwrap_or_else(|e| panic!("{href} leads nowhere: {e}"));
        targets
            .insert(real.file_name().unwrap().to_string_lossy().into_owned());
    }
    let want: BTreeSet<String> = [
        "qmvclog-2026-11-21.html",
        "virulator-2026-11-21.html",
        "qmvcmonth-2026-11.html",
        "calendar-2026.html",
        "shop_qmvclog-2026-11-19.html",
        "fehcom_qmvclog-2026-11-22.html",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(targets, want);
    assert!(!page.contains("qmvclog-2026-11-20"), "only the newest");
    assert!(links.contains(&"fehcom_qmvclog-2026-11-22.html".to_string()));
    assert!(links.contains(
        &"../../users/fehcom/qmvc/html/qmvclog-2026-11-21.html".to_string()
    ));
    // Rows: system, three domains, three accounts (fehcom once).
    assert_eq!(page.matches("<td>virtual domain</td>").count(), 3);
    assert_eq!(page.matches("<td>account</td>").count(), 3);
    assert_eq!(page.matches("<td>system</td>").count(), 1);
    assert!(page.contains("<td class=\"w\">.shop.example</td>"));
    assert!(page.contains("not in users/assign"));
    assert!(page.contains("no html/ directory"), "the empty account");
}

#[test]
fn portal_with_a_base_url() {
    let dir = Dir::new("aux_portal_url");
    let qmail = portal_setup(&dir);
    let q = qmail.to_str().unwrap();
    ok(dir.aux("qmvcportal", &["-q", q, "-b", "https://x.test/qmvc/"]).run());
    let links = hrefs(&read(&html(&dir, "index.html")));
    for want in [
        "https://x.test/qmvc/fehcom_qmvclog-2026-11-22.html",
        "https://x.test/qmvc/example.com/qmvclog-2026-11-21.html",
        "https://x.test/qmvc/shop.example/shop_qmvclog-2026-11-19.html",
        "https://x.test/qmvc/fehcom/calendar-2026.html",
        "https://x.test/qmvc/shop/shop_qmvclog-2026-11-19.html",
    ] {
        assert!(links.contains(&want.to_string()), "{want}: {links:?}");
    }
    for bad in ["javascript:alert(1)", "example.org", "http://a b"] {
        dir.aux("qmvcportal", &["-q", q, "-b", bad]).run().assert_code(100);
    }
}

#[test]
fn portal_prefers_a_domain_layer_of_its_own() {
    let dir = Dir::new("aux_portal_domain_layer");
    let qmail = portal_setup(&dir);
    // `qmvc -c $QMVCHOME/domains/example.com` logs there.
    dir.write("sys/domains/example.com/html/qmvclog-2026-11-22.html", b"d");
    ok(dir.aux("qmvcportal", &["-q", qmail.to_str().unwrap()]).run());
    let links = hrefs(&read(&html(&dir, "index.html")));
    assert!(
        links.contains(
            &"../domains/example.com/html/qmvclog-2026-11-22.html".to_string()
        ),
        "{links:?}"
    );
}

#[test]
fn portal_without_qmail_files() {
    let dir = Dir::new("aux_portal_empty");
    let empty = dir.path("noqmail");
    ok(dir.aux("qmvcportal", &["-q", empty.to_str().unwrap()]).run());
    let page = read(&html(&dir, "index.html"));
    assert_eq!(page.matches("<tr><td").count(), 1, "the system row");
    assert!(page.contains("no pages yet"));
}

#[test]
fn portal_escapes_hostile_names() {
    let dir = Dir::new("aux_portal_hostile");
    let users = dir.path("users");
    let hostile_home = users.join(HOSTILE[1]);
    dir.write(
        "qmail/users/assign",
        format!(
            "+evil-:{}:1:1:{}:-::\n.\n",
            HOSTILE[0],
            hostile_home.display()
        )
        .as_bytes(),
    );
    dir.write(
        "qmail/control/virtualdomains",
        format!("{}.example:evil\n{}:evil\n", HOSTILE[0], HOSTILE[1])
            .as_bytes(),
    );
    fs::create_dir_all(hostile_home.join("qmvc/html")).unwrap();
    fs::write(hostile_home.join("qmvc/html/qmvclog-2026-11-21.html"), "x")
        .unwrap();
    let qmail = dir.path("qmail");
    for extra in [&[][..], &["-b", "/qmvc"]] {
        let mut args = vec!["-q", qmail.to_str().unwrap()];
        args.extend_from_slice(extra);
        ok(dir.aux("qmvcportal", &args).run());
        let page = read(&html(&dir, "index.html"));
        for hostile in HOSTILE {
            assert!(!page.contains(hostile), "{hostile} raw in the page");
        }
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        for href in hrefs(&page) {
            assert!(
                !href.contains(['<', '>', '"', ' ']),
                "unencoded href {href}"
            );
        }
        if extra.is_empty() {
            let index = html(&dir, "index.html");
            let links = hrefs(&page);
            assert!(!links.is_empty());
            for href in links {
                let path = index.parent().unwrap().join(decode(&href));
                assert!(path.exists(), "{href}");
            }
        }
    }
}

#[test]
fn archive_refuses_a_symbolic_link_at_log_archive() {
    // qmvcmonth -a runs as root: a link planted at log/archive/ must
    // not have it write (or lock) where the link points (SPEC 9).
    let dir = Dir::new("aux_month_archive_link");
    clear_profile(&dir);
    let layer = dir.layer(Layer::System);
    let entries = [Entry::clear(&today_at("08:00:00"))];
    logbook::write(&layer, &entries);
    let log = layer.join("log");
    let elsewhere = dir.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, log.join("archive")).unwrap();
    let out = dir.aux("qmvcmonth", &["-a"]).run();
    out.assert_code(111);
    assert!(out.stderr.contains("archive"), "{}", out.describe());
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert!(log.join("qmvc.log").exists(), "the log stays");
}
