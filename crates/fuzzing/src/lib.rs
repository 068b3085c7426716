/*!
The bodies of qmvc's fuzz targets: one function per target, each taking
any bytes and feeding them to one reader of hostile input the way qmvc
does. A panic, a hang or a runaway allocation in any of them is a bug.

The cargo-fuzz project `fuzz/` (its own workspace, built only by
`scripts/fuzz`) wraps each function in a `fuzz_target!` of the same
name; this crate is in the main workspace so that `cargo test` replays
the committed seeds (`fuzz/seeds/TARGET/`) through the same functions
without libFuzzer or nightly Rust (`tests/seeds.rs`). [`TARGETS`] is the
one list of targets: the fuzz project, `scripts/fuzz` and the seed test
follow it.

Nothing here touches the network or writes a file: the message target
evaluates with the built-in profile and answers the engine's questions
about commands, scanners and spam engines itself (`Answers`).
*/
#![deny(missing_docs)]

mod seeds;

pub use seeds::seeds;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use qmvc_delivery::analysis::{self, Facts};
use qmvc_engine::{
    CommandError, CommandOutcome, Disposition, Options, Probes, ScanOutcome,
    SpamJudgement, SpamOutcome,
};
use qmvc_log::Stamp;
use qmvc_message::archive::{self, Budget};
use qmvc_message::{Arena, Limits, Message};
use qmvc_profile::{
    CommandRule, Control, EngineDef, Layers, Profile, Scanner, Scope, CONTROLS,
};

/// The body of a fuzz target: any bytes in, nothing out; a panic is a
/// finding.
pub type Target = fn(&[u8]);

/// Every fuzz target: its name (the file `fuzz/fuzz_targets/NAME.rs`, the
/// seed directory `fuzz/seeds/NAME/`) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("message", message),
    ("control", control),
    ("definition", definition),
    ("log_line", log_line),
    ("rep", rep),
    ("clamd_reply", clamd_reply),
    ("spamd_reply", spamd_reply),
    ("rspamd_reply", rspamd_reply),
    ("queue_envelope", queue_envelope),
    ("archive", archive),
    ("archive_rar", archive_rar),
    ("archive_7z", archive_7z),
];

/// A system layer that does not exist: every control file and engine
/// definition is the built-in one.
fn built_in_layers() -> Layers {
    Layers::new(PathBuf::from("/nonexistent/qmvc-fuzz"), None, None)
}

/// The built-in profile, loaded once per process as `qmvc -t` loads it
/// (every condition's file; no `-n`).
fn built_in_profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let scope = Scope::Needed { noscan: false };
        match Profile::load(&built_in_layers(), scope) {
            Ok((profile, problems)) if problems.is_empty() => profile,
            // The built-in profile is compiled in and tested: this is
            // not input's doing, so it may stop the fuzzer.
            other => panic!("the built-in profile does not load: {other:?}"),
        }
    })
}

/// What the message target answers the engine in place of the world,
/// chosen by the message's length so that the fuzzer reaches every
/// branch after each answer: clean, infected, or a scanner that failed;
/// spam or not.
struct Answers {
    pick: usize,
}

impl Probes for Answers {
    fn run_command(
        &mut self,
        _rule: &CommandRule,
    ) -> Result<CommandOutcome, CommandError> {
        // `qmvc -t` runs no command either.
        Ok(CommandOutcome::NotRun)
    }

    fn scan(&mut self, _scanner: &Scanner) -> ScanOutcome {
        match self.pick % 3 {
            0 => ScanOutcome::Clean,
            1 => ScanOutcome::Infected(vec!["Fuzz-Test-Signature".into()]),
            _ => ScanOutcome::Failed("not asked while fuzzing".into()),
        }
    }

    fn spam(&mut self, _scanner: &Scanner) -> SpamOutcome {
        SpamOutcome::Judged(SpamJudgement {
            spam: self.pick.is_multiple_of(2),
            score: 6.5,
            score_text: "6.5".into(),
            required: 5.0,
            required_text: "5.0".into(),
            symbols: vec!["FUZZ".into()],
            action: None,
            user: String::new(),
        })
    }
}

/// A message (as on qmvc's standard input) through the decision path of
/// `qmvc -t` with the built-in profile: parse, evaluate, describe the
/// parts, and render the `-t` text, the qmvc.rep document and the
/// qmvc.log line.
pub fn message(data: &[u8]) {
    let _ = render(data);
}

/// What qmvc writes about a message ([`message`]): its qmvc.log line and
/// its qmvc.rep document; `None` when the evaluation could not decide.
pub struct Rendered {
    /// The qmvc.log line.
    pub log_line: String,
    /// The qmvc.rep document.
    pub rep: String,
}

/// The body of [`message`], returning what it rendered (the seeds of the
/// log readers are made so: [`seeds()`]).
pub fn render(data: &[u8]) -> Option<Rendered> {
    let profile = built_in_profile();
    let arena = Arena::default();
    let message = Message::parse_in(data, &profile.settings.message, &arena);
    let mut probes = Answers { pick: data.len() };
    let options = Options { noscan: false };
    let verdict =
        qmvc_engine::evaluate(&message, profile, &options, &mut probes)
            .ok()?;
    let parts =
        qmvc_engine::describe_parts(&message, &profile.settings.message);
    let facts = Facts {
        time: Stamp::now(),
        seconds: 0.0,
        size: data.len(),
        sender: "sender@example.org".into(),
        recipient: "rcpt@example.net".into(),
        message_id: message.header.value("message-id").unwrap_or_default(),
        subject: message.header.value("subject").unwrap_or_default(),
        actions: String::new(),
        client: None,
    };
    let exit = match verdict.disposition {
        Disposition::Continue => 0,
        Disposition::Stop => 99,
        Disposition::Bounce => 100,
    };
    let _ = analysis::text(&facts, &parts, &verdict, exit);
    let rep = analysis::yaml(&facts, &verdict);
    let result = verdict.result();
    let spam = verdict.spam_scores();
    let record = facts.record(
        &result,
        u32::from(verdict.errormail),
        &verdict.scanners,
        &spam,
    );
    Some(Rendered { log_line: record.to_line(), rep })
}

/// A control file, parsed alone as a delivery parses it. The input is
/// `NAME` LF `TEXT` when its first line names a file of the registry
/// ([`CONTROLS`]: the seeds are the built-in files so), else its first
/// byte picks the file and the rest is the text; text that is not UTF-8
/// is refused before parsing, as qmvc refuses it.
pub fn control(data: &[u8]) {
    let named = data.iter().position(|&b| b == b'\n').and_then(|at| {
        let name = std::str::from_utf8(data.get(..at)?).ok()?;
        let control = Control::named(name)?;
        Some((control, data.get(at + 1..)?))
    });
    let (control, text) = match named {
        Some(found) => found,
        None => {
            let Some((&pick, text)) = data.split_first() else {
                return;
            };
            let index = usize::from(pick) % CONTROLS.len();
            let Some(&control) = CONTROLS.get(index) else {
                return;
            };
            (control, text)
        }
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let _ = Profile::parse_control(&built_in_layers(), control, text);
}

/// An engine definition (`scanners.d/ENGINE.yaml`).
pub fn definition(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = EngineDef::parse(text, "scanners.d/fuzz.yaml");
}

/// qmvc.log, read line by line as the report programs read it; each
/// line that parses is written back.
pub fn log_line(data: &[u8]) {
    let mut reader = Cursor::new(data);
    let mut line = Vec::new();
    let path = Path::new("qmvc.log");
    while let Ok(true) =
        qmvc_log::read::next_line(&mut reader, &mut line, path)
    {
        let Ok(text) = std::str::from_utf8(&line) else {
            continue;
        };
        if let Some(record) = qmvc_log::line::Record::parse(text) {
            let _ = record.to_line();
            let _ = record.conditions().count();
            let _ = record.actions().count();
            let _ = record.deferred();
            let _ = record.class();
        }
    }
}

/// qmvc.rep, read document by document as the report programs read it;
/// each report is asked what they ask and written back.
pub fn rep(data: &[u8]) {
    let mut reader = Cursor::new(data);
    let _ = qmvc_log::rep::for_each(&mut reader, Path::new("qmvc.rep"), |r| {
        let _ = r.document();
        let _ = r.day();
        let _ = r.conditions().count();
        let _ = r.is_virus();
        let _ = r.is_bad();
    });
}

/// A clamd reply: the answer to `INSTREAM`, and the `VERSION` line.
pub fn clamd_reply(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = qmvc_scanners::clamd::parse_instream(&text);
    let _ = qmvc_scanners::clamd::parse_version(&text);
}

/// A spamd reply to `SYMBOLS`.
pub fn spamd_reply(data: &[u8]) {
    let _ = qmvc_scanners::spamd::read_reply(data);
}

/// An rspamd reply to `/checkv2` (HTTP, the body JSON).
pub fn rspamd_reply(data: &[u8]) {
    let _ = qmvc_scanners::rspamd::read_reply(data);
}

/// The envelope qmvc-queue reads on descriptor 1; a good one is framed
/// again for each recipient, as qmvc-queue hands it on per group.
pub fn queue_envelope(data: &[u8]) {
    if let Ok(envelope) = qmvc_queue::envelope::parse(data) {
        for index in 0..envelope.recipients.len() {
            let _ = envelope.frame(&[index]);
        }
    }
}

/// Any archive or compression layer, listed with the default bounds.
pub fn archive(data: &[u8]) {
    list(data, None);
}

/// The bytes that start a RAR 4 and a RAR 5 archive.
const RAR4: &[u8] = b"Rar!\x1a\x07\x00";
const RAR5: &[u8] = b"Rar!\x1a\x07\x01\x00";

/// The bytes that start a 7z archive.
const SEVENZ: &[u8] = b"7z\xbc\xaf\x27\x1c";

/// A RAR archive: the input is what follows the magic (the first byte
/// picks RAR 4 or 5), so that every input reaches the RAR reader.
/// Input that starts with a magic already is taken as it is (a real
/// archive as a seed).
pub fn archive_rar(data: &[u8]) {
    if data.starts_with(RAR4) || data.starts_with(RAR5) {
        return list(data, Some("fuzz.rar"));
    }
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let magic = if pick.is_multiple_of(2) { RAR4 } else { RAR5 };
    list(&[magic, rest].concat(), Some("fuzz.rar"));
}

/// A 7z archive: the input is what follows the magic, so that every
/// input reaches the 7z reader (input that starts with it is taken as
/// it is).
pub fn archive_7z(data: &[u8]) {
    if data.starts_with(SEVENZ) {
        return list(data, Some("fuzz.7z"));
    }
    list(&[SEVENZ, data].concat(), Some("fuzz.7z"));
}

/// Lists `data` as the engine lists an attachment, with the default
/// bounds and a budget of its own.
fn list(data: &[u8], name: Option<&str>) {
    let limits = Limits::default();
    let budget = Budget::new(limits.archive_bytes);
    let listing = archive::list(data, name, &limits, &budget);
    for member in &listing.members {
        let _ = member.full_name();
    }
    let _ = listing.encrypted();
}
