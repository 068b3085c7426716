/*!
Every page the aux programs write, opened in headless Chromium: no script
runs, the page logs nothing to the console (no error, no Content Security
Policy violation), hostile values from messages show as text, nothing is
loaded from outside, and the page fits a phone's width. Each page is also
shot at a phone's and a desktop's size into `target/aux-screenshots/`.
Links to pages that do not exist are listed in a note (a day page links
to tomorrow's, a calendar to empty months); the portal's must all exist.

The layer is what the cron table makes of a realistic log: several hours
of today and a few earlier days, clear mail, virusmail, badmail and
errormail, with [`logbook::HOSTILE`] values as subject, file name,
sender, recipient, virus name and message id; a second layer is a
virtual domain for qmvcportal.

How the checks work, and why they can be trusted:
- each page is opened twice (phone and desktop size) with `--dump-dom`
  and `--enable-logging=stderr`: Chromium prints every console message
  of a page on standard error as `...:CONSOLE...] "message", source: URL`,
  whatever its level, and our pages have no script, so *any* console
  message (a CSP violation, a blocked load, an uncaught error) fails;
  Chromium's own chatter (D-Bus, GPU) never has that form;
- the dumped DOM is scanned tag by tag: no `script` element, no `on...`
  attribute, no `javascript:` URL, no resource but `data:` URLs;
- "no script ran" is checked without trusting the page: a harness page
  (written by the test into its temporary directory, never shipped)
  embeds each page twice, once in a sandboxed frame where scripts cannot
  run and once in a frame where they can, and compares the two DOMs; a
  script that ran and changed anything makes them differ. The same
  harness measures the page in a 390 px wide frame: its document must
  not be wider than the frame (wide tables scroll inside their box).
  The harness needs `--allow-file-access-from-files` to read its frames;
- the negative controls at the end prove each detector: a page whose
  script changes the DOM and logs an error, a page with our own policy
  (from `qmvc_report::html::head`) and an inline script and event
  handler, and a page too wide for a phone are each flagged, and a clean
  page passes.

Without Chromium the tests print a loud note and pass, except under
`CI=true`, where they fail: `scripts/test` installs it.
*/

use std::fmt::Write as _;
use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crate::logbook::{self, Entry, Hit, Matched, HOSTILE};
use crate::util::{note, Dir, Layer, ROOT};

/// Flags of every run: headless, no sandbox (we may be root), nothing
/// fetched from the network, console messages on standard error.
const FLAGS: [&str; 12] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
];

/// A phone (the width of a common one) and a desktop window.
const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 900);

/// How long one Chromium run may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Pages checked at the same time (the machine has 2 cores).
const WORKERS: usize = 2;

/// One browser test at a time, so that at most [`WORKERS`] Chromium
/// processes compete with the time-bounded tests running beside them.
static BROWSER: Mutex<()> = Mutex::new(());

/// The domain of the cron table.
const DOMAIN: &str = "fehcom";
/// The virtual domain whose layer qmvcportal finds through qmail.
const VDOMAIN: &str = "example.com";

// ---------------------------------------------------------------------
// The tests.

#[test]
fn every_generated_page_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("browser");
    let system = dir.layer(Layer::System);
    let qmail = dir.path("qmail");
    let vlayer = virtual_domain(&dir, &qmail);
    logbook::write(&system, &traffic());
    logbook::write(&vlayer, &traffic());
    let qmvc = fake_qmvc(&dir);

    let sys = system.display().to_string();
    let vl = vlayer.display().to_string();
    let qd = qmail.display().to_string();
    // The cron table (every day of the log once without -d), then today
    // for the virtual domain's layer. Each page costs three Chromium runs,
    // so the pages are few but of every kind.
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("qmvclog2html", vec!["-m", "-c", "-d", DOMAIN, &sys]),
        ("qmvclog2html", vec!["-m", &sys]),
        ("virulator", vec!["-m", "-s", "-c", "-d", DOMAIN, &sys]),
        ("qmvcmonth", vec!["-d", DOMAIN, &sys]),
        ("webcalendar", vec!["-d", DOMAIN, &sys]),
        ("qmvclog2html", vec!["-m", "-c", "-d", VDOMAIN, &vl]),
        ("virulator", vec!["-m", "-c", "-d", VDOMAIN, &vl]),
        ("qmvcmonth", vec!["-d", VDOMAIN, &vl]),
        ("webcalendar", vec!["-d", VDOMAIN, &vl]),
        ("qmvcportal", vec!["-q", &qd, &sys]),
    ];
    // virulator -s asks `qmvc -s`: the fake one, by $QMVC or by PATH.
    let path = format!(
        "{}:{}",
        qmvc.parent().unwrap().display(),
        dir.environment()["PATH"]
    );
    for (program, args) in &runs {
        let out = dir
            .aux(program, args)
            .env("QMVC", &qmvc.to_string_lossy())
            .env("PATH", &path)
            .run();
        assert!(
            out.code == 0,
            "{program} {args:?} failed\n{}",
            out.describe()
        );
    }

    let pages = html_pages(dir.root());
    let names: Vec<String> = pages
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let today = logbook::today();
    let month = &today[..7];
    let year = &today[..4];
    let log_page = format!("{DOMAIN}_qmvclog-{today}.html");
    let virus_page = format!("{DOMAIN}_virulator-{today}.html");
    for want in [
        log_page.clone(),
        format!("qmvclog-{today}.html"),
        virus_page.clone(),
        format!("{DOMAIN}_qmvcmonth-{month}.html"),
        format!("{DOMAIN}_calendar-{year}.html"),
        format!("{VDOMAIN}_qmvclog-{today}.html"),
        "index.html".to_string(),
    ] {
        assert!(names.contains(&want), "no page {want} among {names:?}");
    }

    // Only this run's shots: the names hold the date.
    let shots = Path::new(ROOT).join("target/aux-screenshots");
    let _ = fs::remove_dir_all(&shots);
    fs::create_dir_all(&shots).unwrap();
    let checked = check_pages(&chromium, dir.root(), &pages, &shots);

    let mut problems = Vec::new();
    let mut dangling = Vec::new();
    for page in &checked {
        let name = page.path.display();
        problems.extend(page.problems.iter().map(|p| format!("{name}: {p}")));
        // The portal links only to pages it found.
        let portal = page.path.ends_with("sys/html/index.html");
        for link in &page.dangling {
            let line = format!("{name}: {link}");
            if portal {
                problems.push(line);
            } else {
                dangling.push(line);
            }
        }
    }
    if !dangling.is_empty() {
        note(&format!(
            "{} links to pages not written (yet):\n{}",
            dangling.len(),
            dangling.join("\n")
        ));
    }
    // The hostile values are shown, as text, where they belong.
    for page in checked.iter().filter(|p| {
        let name = p.path.file_name().unwrap().to_string_lossy();
        name == log_page || name == virus_page
    }) {
        for value in HOSTILE {
            let shown = [as_text(value), as_text(&fold(value))];
            if !shown.iter().any(|s| page.dom.contains(s.as_str())) {
                problems.push(format!(
                    "{}: the hostile value {value:?} is not shown as text \
                     (looked for {shown:?})",
                    page.path.display()
                ));
            }
        }
    }
    // virulator -s shows what the (fake) qmvc -s said.
    for page in checked.iter().filter(|p| p.path.ends_with(&virus_page)) {
        if !page.dom.contains("ClamAV daemon") {
            problems.push(format!(
                "{}: virulator -s does not show the state of the scanners",
                page.path.display()
            ));
        }
    }
    eprintln!(
        "checked {} pages in Chromium; screenshots in {}",
        checked.len(),
        shots.display()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn detector_flags_a_script_that_runs() {
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("browser-script");
    let page = dir.write(
        "html/script.html",
        b"<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
          <meta name=\"viewport\" content=\"width=device-width\">\
          </head><body><p id=\"p\">before</p><script>\
          document.getElementById('p').textContent = 'after';\
          console.error('from the page');</script></body></html>",
    );
    let checked = check_one(&chromium, &dir, &page);
    let problems = checked.problems.join("\n");
    for want in [
        "console: ",
        "from the page",
        "a script ran: the DOM differs",
        "<script> element",
        "no Content-Security-Policy",
    ] {
        assert!(problems.contains(want), "{want:?} not flagged:\n{problems}");
    }
}

#[test]
fn detector_flags_what_our_policy_blocks() {
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("browser-csp");
    let mut text = String::new();
    qmvc_report::html::head(&mut text, "policy", &[]);
    text.push_str(
        "<p id=\"p\">before</p>\
         <script>document.getElementById('p').textContent='after';</script>\
         <img src=\"x.png\" onerror=\"document.body.textContent='x'\">",
    );
    qmvc_report::html::tail(&mut text, "test");
    let page = dir.write("html/csp.html", text.as_bytes());
    let checked = check_one(&chromium, &dir, &page);
    let problems = checked.problems.join("\n");
    for want in [
        "Content Security Policy",
        "<script> element",
        "event handler attribute onerror",
        "loads a resource: src=\"x.png\"",
    ] {
        assert!(problems.contains(want), "{want:?} not flagged:\n{problems}");
    }
    // The policy held: nothing ran, so both frames agree.
    assert!(!problems.contains("a script ran"), "{problems}");
}

#[test]
fn detector_flags_a_page_too_wide_for_a_phone() {
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("browser-wide");
    let mut text = String::new();
    qmvc_report::html::head(&mut text, "wide", &[]);
    text.push_str("<table><tr><td>");
    text.push_str(&"w".repeat(300));
    text.push_str("</td></tr></table>");
    qmvc_report::html::tail(&mut text, "test");
    let page = dir.write("html/wide.html", text.as_bytes());
    let checked = check_one(&chromium, &dir, &page);
    let problems = checked.problems.join("\n");
    assert!(problems.contains("wider than a phone"), "{problems}");
    assert_eq!(checked.problems.len(), 1, "{problems}");
}

#[test]
fn detector_passes_a_clean_page() {
    let Some(chromium) = chromium() else { return };
    let dir = Dir::new("browser-clean");
    dir.write("html/other.html", b"<!DOCTYPE html><title>x</title>");
    let mut text = String::new();
    let nav = [("other.html".to_string(), "other".to_string())];
    qmvc_report::html::head(&mut text, HOSTILE[0], &nav);
    let rows: Vec<(String, u64)> =
        HOSTILE.iter().map(|h| (h.to_string(), 3)).collect();
    qmvc_report::html::count_table(&mut text, "values", "value", &rows);
    qmvc_report::html::tail(&mut text, "test");
    let page = dir.write("html/clean.html", text.as_bytes());
    let checked = check_one(&chromium, &dir, &page);
    assert!(checked.problems.is_empty(), "{:#?}", checked.problems);
    for value in HOSTILE {
        assert!(checked.dom.contains(&as_text(value)), "{}", checked.dom);
    }
    for size in ["phone", "desktop"] {
        let shot = dir.path(&format!("shots/html-clean-{size}.png"));
        let bytes = fs::read(&shot).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{}", shot.display());
    }
}

#[test]
fn links_are_resolved_like_a_browser() {
    // No browser needed: the link check on its own.
    let dir = Dir::new("browser-links");
    let page = dir.write("html/a.html", b"x");
    dir.write("html/b c.html", b"x");
    let dom = "<html><body><a href=\"b%20c.html#x\">b</a>\
               <a href=\"#top\">t</a><a href=\"https://example.org/\">e</a>\
               <a href=\"missing.html\">m</a></body></html>";
    let joined = dangling_links(dom, &page).join("\n");
    assert!(joined.contains("missing.html"), "{joined}");
    assert!(!joined.contains("b%20c"), "{joined}");
}

// ---------------------------------------------------------------------
// The layers.

/// A qmail directory whose `control/virtualdomains` and `users/assign`
/// give [`VDOMAIN`] a home with a qmvc layer; that layer's path.
fn virtual_domain(dir: &Dir, qmail: &Path) -> PathBuf {
    let home = dir.path("vhome");
    let layer = home.join("qmvc");
    fs::create_dir_all(layer.join("control")).unwrap();
    fs::create_dir_all(qmail.join("control")).unwrap();
    fs::create_dir_all(qmail.join("users")).unwrap();
    fs::write(
        qmail.join("control/virtualdomains"),
        format!("{VDOMAIN}:vdom\n"),
    )
    .unwrap();
    fs::write(
        qmail.join("users/assign"),
        format!("+vdom-:vdom:1000:1000:{}:-::\n.\n", home.display()),
    )
    .unwrap();
    layer
}

/// A `qmvc` that answers `-s` as the real one does when clamd is up.
fn fake_qmvc(dir: &Dir) -> PathBuf {
    dir.script(
        "qmvc",
        "echo 'C clamd (ClamAV daemon): answers at \
         unix:/run/clamav/clamd.ctl; engine 1.4.2; signatures 27000, \
         Sat Nov 21 2026'",
    )
}

/// Today and the three days before it: clear mail around the clock,
/// viruses, bad file names, errormail and a deferral; today also every
/// hostile value in every field that reaches a page.
fn traffic() -> Vec<Entry> {
    let today = chrono::Local::now().date_naive();
    let zone = chrono::Local::now().format("%:z").to_string();
    let mut entries = Vec::new();
    for back in (0..4).rev() {
        let day = today - chrono::Duration::days(back);
        let at = |h: u32, m: u32| format!("{day}T{h:02}:{m:02}:07{zone}");
        for hour in (0..24).step_by(2) {
            for n in 0..3u32 {
                let i = hour * 3 + n + back as u32 * 100;
                let mut e = Entry::clear(&at(hour, n * 17));
                e.sender = format!("news{}@list{}.example.net", i % 7, i % 3);
                e.recipient = format!("user{}@example.org", i % 5);
                e.subject = format!("Weekly report {i}");
                e.message_id = format!("<{day}.{i}@example.net>");
                e.size = 1500 + u64::from(i) * 331;
                e.seconds = 0.004 + f64::from(i % 9) / 100.0;
                entries.push(e);
            }
            if hour % 4 == 0 {
                let virus = ["Win.Test.EICAR_HDB-1", "Doc.Dropper.Agent-1"]
                    [(hour / 4) as usize % 2];
                let sender = format!("bot{}@spam.example.com", hour % 3);
                entries.push(Entry::virus(&at(hour, 41), &sender, virus));
            }
            if hour % 6 == 0 {
                entries.push(Entry::bad_file(
                    &at(hour, 53),
                    "billing@invoices.example.com",
                    "invoice.pdf.exe",
                ));
            }
        }
        entries.push(errormail(&at(5, 5)));
        let mut defer = Entry::clear(&at(6, 6));
        defer.action = "defer".into();
        entries.push(defer);
    }
    for value in HOSTILE {
        let at = logbook::today_at("12:34:56");
        let mut e = Entry::virus(&at, value, value);
        e.recipient = value.into();
        e.subject = value.into();
        e.message_id = value.into();
        entries.push(e);
        let mut e = Entry::bad_file(&at, value, value);
        e.recipient = value.into();
        e.subject = value.into();
        entries.push(e);
        let mut e = Entry::clear(&at);
        e.sender = value.into();
        e.subject = value.into();
        entries.push(e);
    }
    entries
}

/// An errormail bounced for a missing Date field.
fn errormail(time: &str) -> Entry {
    let mut e = Entry::clear(time);
    e.errormail = 4;
    e.action = "bounce".into();
    e.sender = "broken@mailer.example.net".into();
    e.hits.push(Hit {
        condition: "errormail".into(),
        action: "bounce".into(),
        rule: "/var/qmvc/control/filters:1".into(),
        matches: vec![Matched {
            pattern: Some("date=required".into()),
            origin: Some("/var/qmvc/control/mailheaders:2".into()),
            ..Matched::default()
        }],
    });
    e
}

/// Every `*.html` in a directory named `html` below `root`, sorted.
fn html_pages(root: &Path) -> Vec<PathBuf> {
    let mut pages = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "html")
                && dir.file_name().is_some_and(|n| n == "html")
            {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// A value as qmvc.log holds it: white space folded to `_`.
fn fold(value: &str) -> String {
    value.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect()
}

/// A value as Chromium serializes it in a text node.
fn as_text(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

// ---------------------------------------------------------------------
// The browser.

/// Chromium, or `None` with a loud note when it is missing (outside CI).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    // A failure under CI=true.
    crate::util::missing(
        "chromium (the browser test of the aux programs' pages)",
    );
    None
}

/// What one Chromium run printed.
struct Run {
    /// The DOM after load (`--dump-dom`).
    dom: String,
    /// Console messages of the page, and any line that looks like one.
    console: Vec<String>,
}

/// Runs Chromium on `url` with `extra` flags, a fresh profile and home,
/// no standard input, killed (with its whole process group) after
/// [`TIMEOUT`].
fn run_chromium(chromium: &Path, extra: &[String], url: &str) -> Run {
    let tmp =
        tempfile::Builder::new().prefix("qmvc-chromium-").tempdir().unwrap();
    let out_path = tmp.path().join("stdout");
    let err_path = tmp.path().join("stderr");
    let mut cmd = Command::new(chromium);
    cmd.args(FLAGS)
        .arg(format!(
            "--user-data-dir={}",
            tmp.path().join("profile").display()
        ))
        .args(extra)
        .arg("--dump-dom")
        .arg(url)
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path().join("config"))
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .process_group(0);
    let mut child = cmd.spawn().expect("chromium does not start");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            // The group is the browser and every helper it started.
            let group = child.id() as libc::pid_t;
            // SAFETY: kill(2) with a process group we created.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            let _ = child.wait();
            panic!(
                "chromium {url} ran longer than {TIMEOUT:?}\n{}",
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stderr =
        String::from_utf8_lossy(&fs::read(&err_path).unwrap()).into_owned();
    assert!(status.success(), "chromium {url}: {status}\n{stderr}");
    let dom =
        String::from_utf8_lossy(&fs::read(&out_path).unwrap()).into_owned();
    assert!(dom.contains("<html"), "chromium {url} dumped no DOM\n{stderr}");
    Run { dom, console: console_lines(&stderr) }
}

/// The lines of Chromium's standard error that are console messages of
/// a page (`[pid:tid:time:LEVEL:CONSOLE:LINE] "text", source: URL`, in
/// older versions `CONSOLE(LINE)`), or that look like what a page's
/// console says; Chromium's own warnings never have that form.
fn console_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| {
            line.contains(":CONSOLE")
                || line.contains("Uncaught")
                || line.contains("Refused to")
                || line.contains("Content Security Policy")
        })
        .map(|line| match line.find("] ") {
            Some(at) if line.starts_with('[') => line[at + 2..].to_string(),
            _ => line.to_string(),
        })
        .collect()
}

/// A file URL of an absolute path.
fn file_url(path: &Path) -> String {
    format!("file://{}", qmvc_report::html::url_path(&path.to_string_lossy()))
}

/// One page after its checks.
struct Checked {
    path: PathBuf,
    dom: String,
    problems: Vec<String>,
    /// Links to pages that do not exist (yet): shown, not failed, as a
    /// day page may link to tomorrow's and a calendar to empty months.
    dangling: Vec<String>,
}

/// Checks one page of `dir`, with screenshots in `dir/shots/`.
fn check_one(chromium: &Path, dir: &Dir, page: &Path) -> Checked {
    let shots = dir.path("shots");
    fs::create_dir_all(&shots).unwrap();
    let mut checked =
        check_pages(chromium, dir.root(), &[page.to_path_buf()], &shots);
    checked.pop().unwrap()
}

/// Opens every page at a phone's and a desktop's size (screenshots into
/// `shots`, named after the page's path below `root`), checks what
/// Chromium dumped and logged, and runs the harness over all of them.
fn check_pages(
    chromium: &Path,
    root: &Path,
    pages: &[PathBuf],
    shots: &Path,
) -> Vec<Checked> {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Checked>> = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(page) = pages.get(i) else { break };
                let checked = check_page(chromium, root, page, shots);
                results.lock().unwrap().push(checked);
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.path.cmp(&b.path));
    harness(chromium, root, &mut results);
    results
}

/// The checks of one page in two runs.
fn check_page(
    chromium: &Path,
    root: &Path,
    page: &Path,
    shots: &Path,
) -> Checked {
    let rel = page.strip_prefix(root).unwrap_or(page);
    let stem = rel.with_extension("").to_string_lossy().replace('/', "-");
    let url = file_url(page);
    let mut problems = Vec::new();
    let mut doms = Vec::new();
    for (size, (w, h)) in [("phone", PHONE), ("desktop", DESKTOP)] {
        let shot = shots.join(format!("{stem}-{size}.png"));
        let _ = fs::remove_file(&shot);
        let run = run_chromium(
            chromium,
            &[
                format!("--window-size={w},{h}"),
                format!("--screenshot={}", shot.display()),
            ],
            &url,
        );
        for line in run.console {
            problems.push(format!("console: {line}"));
        }
        let png = fs::read(&shot).unwrap_or_default();
        if !png.starts_with(b"\x89PNG") {
            problems.push(format!("no {size} screenshot {}", shot.display()));
        }
        doms.push(run.dom);
    }
    let dom = doms.swap_remove(0);
    if doms.first() != Some(&dom) {
        problems.push("the DOM differs between two loads".into());
    }
    problems.extend(dom_problems(&dom));
    problems.dedup();
    let dangling = dangling_links(&dom, page);
    Checked { path: page.to_path_buf(), dom, problems, dangling }
}

// ---------------------------------------------------------------------
// The harness: did a script run, does the page fit a phone?

/// Writes the harness page into `root`, opens it once, and adds what it
/// found to each page's problems.
fn harness(chromium: &Path, root: &Path, pages: &mut [Checked]) {
    if pages.is_empty() {
        return;
    }
    let (w, h) = PHONE;
    let mut frames = String::new();
    for (i, page) in pages.iter().enumerate() {
        let url = file_url(&page.path);
        let _ = writeln!(
            frames,
            "<div class=\"page\" data-i=\"{i}\">\
             <iframe class=\"on\" src=\"{url}\" \
             style=\"width:{w}px;height:{h}px\"></iframe>\
             <iframe class=\"off\" sandbox=\"allow-same-origin\" \
             src=\"{url}\" style=\"width:{w}px;height:{h}px\"></iframe>\
             </div>"
        );
    }
    let text = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <title>harness</title></head><body>\n{frames}\
         <pre id=\"out\">not run</pre>\n{HARNESS_SCRIPT}</body></html>\n"
    );
    let path = root.join("qmvc-test-harness.html");
    fs::write(&path, text).unwrap();
    let run = run_chromium(
        chromium,
        &["--allow-file-access-from-files".to_string()],
        &file_url(&path),
    );
    for line in run.console {
        // The harness has no console of its own: it is a page's.
        for page in pages.iter_mut() {
            if line.contains(&file_url(&page.path)) {
                page.problems.push(format!("console: {line}"));
            }
        }
    }
    let out = run
        .dom
        .split_once("<pre id=\"out\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(out, _)| out.to_string())
        .unwrap_or_default();
    for (i, page) in pages.iter_mut().enumerate() {
        let prefix = format!("{i} ");
        let Some(line) = out.lines().find(|l| l.starts_with(&prefix)) else {
            page.problems.push(format!("the harness did not report: {out}"));
            continue;
        };
        page.problems.extend(harness_problems(line, &file_url(&page.path)));
    }
}

/// The harness's script: for each page, whether the DOM of the frame
/// where scripts may run equals that of the sandboxed frame where they
/// cannot, and how wide the page is in a phone-wide frame.
const HARNESS_SCRIPT: &str = r#"<script>
window.addEventListener('load', function () {
  var lines = [];
  document.querySelectorAll('div.page').forEach(function (div) {
    var i = div.dataset.i;
    try {
      var on = div.querySelector('iframe.on').contentDocument;
      var off = div.querySelector('iframe.off').contentDocument;
      var same = on.documentElement.outerHTML ===
        off.documentElement.outerHTML;
      lines.push(i + ' url=' + encodeURI(on.URL) + ' same=' + same +
        ' width=' + on.documentElement.scrollWidth +
        ' client=' + on.documentElement.clientWidth);
    } catch (e) {
      lines.push(i + ' error=' + encodeURI(String(e)));
    }
  });
  document.getElementById('out').textContent = lines.join('\n');
});
</script>
"#;

/// What one harness line (`I url=U same=B width=N client=M`) says is
/// wrong with the page at `url`.
fn harness_problems(line: &str, url: &str) -> Vec<String> {
    let field = |name: &str| {
        line.split(' ')
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or("")
    };
    if !field("error").is_empty() {
        return vec![format!("the harness could not read the page: {line}")];
    }
    let mut problems = Vec::new();
    if field("url") != url {
        problems.push(format!("the harness loaded something else: {line}"));
    }
    if field("same") != "true" {
        problems.push(
            "a script ran: the DOM differs from the DOM in a frame where \
             scripts cannot run"
                .to_string(),
        );
    }
    let width: u32 = field("width").parse().unwrap_or(u32::MAX);
    let client: u32 = field("client").parse().unwrap_or(0);
    if client < PHONE.0 - 20 || width > client + 1 {
        problems.push(format!(
            "wider than a phone: {width} px of content in {client} px \
             ({line})"
        ));
    }
    problems
}

// ---------------------------------------------------------------------
// The dumped DOM, tag by tag.

/// One start tag: its name and attributes, lowercased names.
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The start tags of a serialized DOM. In Chromium's serialization `<`
/// in text and in attribute values is escaped, so every `<` starts a tag,
/// an end tag, a comment or the doctype.
fn tags(dom: &str) -> Vec<Tag> {
    let b = dom.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = dom[i..].find('<') {
        i += at + 1;
        if dom[i..].starts_with("!--") {
            i = dom[i..].find("-->").map_or(b.len(), |e| i + e + 3);
            continue;
        }
        if !b.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let start = i;
        while b
            .get(i)
            .is_some_and(|c| !c.is_ascii_whitespace() && !b"/>".contains(c))
        {
            i += 1;
        }
        let mut tag = Tag {
            name: dom[start..i].to_ascii_lowercase(),
            attrs: Vec::new(),
        };
        loop {
            while b
                .get(i)
                .is_some_and(|c| c.is_ascii_whitespace() || *c == b'/')
            {
                i += 1;
            }
            if b.get(i).is_none_or(|c| *c == b'>') {
                break;
            }
            let start = i;
            while b.get(i).is_some_and(|c| {
                !c.is_ascii_whitespace() && !b"/>=".contains(c)
            }) {
                i += 1;
            }
            let name = dom[start..i].to_ascii_lowercase();
            let mut value = String::new();
            if b.get(i) == Some(&b'=') {
                i += 1;
                match b.get(i) {
                    Some(&q) if q == b'"' || q == b'\'' => {
                        let end = dom[i + 1..]
                            .find(char::from(q))
                            .map_or(b.len(), |e| i + 1 + e);
                        value = dom[i + 1..end].to_string();
                        i = (end + 1).min(b.len());
                    }
                    _ => {
                        let start = i;
                        while b.get(i).is_some_and(|c| {
                            !c.is_ascii_whitespace() && *c != b'>'
                        }) {
                            i += 1;
                        }
                        value = dom[start..i].to_string();
                    }
                }
            }
            tag.attrs.push((name, unescape(&value)));
        }
        out.push(tag);
    }
    out
}

/// The few entities Chromium writes in attribute values.
fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Elements that run code or load something from outside the page.
const FORBIDDEN: [&str; 13] = [
    "script", "iframe", "frame", "object", "embed", "applet", "link", "base",
    "form", "audio", "video", "source", "portal",
];

/// What is wrong with a page's dumped DOM: code, outside resources, a
/// missing viewport or policy.
fn dom_problems(dom: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut viewport = false;
    let mut policy = false;
    for tag in tags(dom) {
        if FORBIDDEN.contains(&tag.name.as_str()) {
            problems.push(format!("<{}> element", tag.name));
        }
        if tag.name == "meta" {
            let content = tag.attr("content").unwrap_or("");
            let name = tag.attr("name").unwrap_or("").to_ascii_lowercase();
            let equiv =
                tag.attr("http-equiv").unwrap_or("").to_ascii_lowercase();
            viewport |=
                name == "viewport" && content.contains("width=device-width");
            policy |= equiv == "content-security-policy"
                && content.contains("default-src 'none'");
            if equiv == "refresh" {
                problems.push("a meta refresh".into());
            }
        }
        for (name, value) in &tag.attrs {
            let lower = value.trim().to_ascii_lowercase();
            if name.starts_with("on") {
                problems.push(format!("event handler attribute {name}"));
            } else if ["javascript:", "vbscript:", "data:text/html"]
                .iter()
                .any(|s| lower.starts_with(s))
            {
                problems.push(format!("script URL {name}={value:?}"));
            } else if ["src", "srcset", "poster", "xlink:href"]
                .contains(&name.as_str())
                && !lower.starts_with("data:")
                && !(name == "xlink:href" && lower.starts_with('#'))
            {
                problems.push(format!("loads a resource: {name}={value:?}"));
            }
        }
    }
    if !viewport {
        problems.push("no viewport meta (width=device-width)".into());
    }
    if !policy {
        problems.push("no Content-Security-Policy meta".into());
    }
    if dom.to_ascii_lowercase().contains("<script") {
        problems.push("<script in the DOM".into());
    }
    problems
}

/// The relative links of the page at `page` that lead to no file.
fn dangling_links(dom: &str, page: &Path) -> Vec<String> {
    tags(dom)
        .iter()
        .flat_map(|tag| &tag.attrs)
        .filter(|(name, _)| name == "href")
        .filter_map(|(_, href)| dangling(href, page))
        .collect()
}

/// A relative link must lead to a file that exists; a link with a
/// scheme leaves our pages and is left alone.
fn dangling(href: &str, page: &Path) -> Option<String> {
    let target = href.split(['#', '?']).next().unwrap_or("");
    let scheme = target
        .split_once(':')
        .is_some_and(|(s, _)| !s.is_empty() && !s.contains('/'));
    if target.is_empty() || scheme {
        return None;
    }
    let decoded = percent_decode(target)?;
    let base = page.parent()?;
    let path = if decoded.starts_with('/') {
        PathBuf::from(&decoded)
    } else {
        base.join(&decoded)
    };
    if path.exists() {
        None
    } else {
        Some(format!("a link to a missing file: href={href:?}"))
    }
}

/// `%XX` decoding of a URL path; `None` if it is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| {
            u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
        });
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}
