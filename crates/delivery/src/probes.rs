/*!
The effects the engine asks for, for real: running badbodytexts commands
(no shell, message on a pipe, time-out, whole process group killed),
asking the virus scanners, and asking the spam engines (after the
`max_size` check, for the user SPEC 8 names).
*/

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::BorrowedFd;
use std::path::Path;

use qmvc_engine::{
    CommandError, CommandOutcome, Probes, ScanOutcome, SpamJudgement,
    SpamOutcome,
};
use qmvc_process::{Error, Exit, Spec};
use qmvc_profile::{CommandRule, EngineDef, Method, Scanner};
use qmvc_scanners::spam::{SpamAnswer, SpamRequest};
use qmvc_scanners::{Answer, Message};

/// Runs commands and scanners for real.
pub struct System<'a> {
    /// The message, written to each command's standard input.
    pub message: &'a [u8],
    /// The regular file `message` is the contents of, when there is one
    /// (clamd may be handed its descriptor).
    pub file: Option<BorrowedFd<'a>>,
    /// The layer's `tmp/`, where command-line scanners get their file.
    pub spool: &'a Path,
    /// The injector, given to commands as `QMVC_INJECTOR` (plainmail
    /// sends with it).
    pub injector: &'a Path,
    /// `-t`: commands are not run (they may have effects of their own,
    /// such as plainmail forwarding); they count as not met.
    pub dry_run: bool,
    /// What each engine already said about this message, shared by the
    /// deliveries of one message to several groups (qmvc-queue): each
    /// virus scanner runs at most once per message, each spam engine
    /// once per distinct user.
    pub answers: &'a Answers,
    /// The envelope sender (rspamd `From:`).
    pub sender: &'a str,
    /// The envelope recipients (rspamd `Rcpt:`).
    pub recipients: &'a [String],
    /// The SMTP client's address in queue mode (rspamd `IP:`).
    pub client_ip: Option<&'a str>,
    /// The delivery's candidate spam user (see
    /// [`crate::Context::spam_user`]), checked by
    /// [`EngineDef::spam_user`] before it is sent.
    pub spam_user: Option<&'a str>,
}

/// Which definition an answer is from: the engine's name and the file
/// it is defined in. A domain layer may define an engine of the same
/// name differently, and its answer must not stand for the other's.
type DefinitionKey = (String, String);

/// The key of `scanner`'s definition.
fn definition_key(scanner: &Scanner) -> DefinitionKey {
    (scanner.engine.clone(), scanner.definition.file.clone())
}

/// The engines' answers about one message (see
/// [`crate::deliver_sharing`]): virus scanners' by definition, spam
/// engines' by definition and user. Only one message's deliveries may
/// share it.
#[derive(Debug, Default)]
pub struct Answers {
    scans: RefCell<HashMap<DefinitionKey, (ScanOutcome, Option<String>)>>,
    spam: RefCell<HashMap<(DefinitionKey, String), SpamOutcome>>,
}

impl Answers {
    /// What the engine of `key` said, if it was asked already.
    fn get(&self, key: &DefinitionKey) -> Option<ScanOutcome> {
        self.scans.borrow().get(key).map(|(outcome, _)| outcome.clone())
    }

    /// How the message went to the engine of `key`, if it was asked and
    /// that engine has more than one way.
    fn sent(&self, key: &DefinitionKey) -> Option<String> {
        self.scans.borrow().get(key).and_then(|(_, sent)| sent.clone())
    }

    /// Notes what the engine of `key` said, and how it was asked.
    fn put(
        &self,
        key: DefinitionKey,
        outcome: &ScanOutcome,
        sent: Option<&str>,
    ) {
        self.scans
            .borrow_mut()
            .insert(key, (outcome.clone(), sent.map(str::to_owned)));
    }

    /// What the spam engine of `key` said for `user`, if asked already.
    fn get_spam(&self, key: &(DefinitionKey, String)) -> Option<SpamOutcome> {
        self.spam.borrow().get(key).cloned()
    }

    /// Notes what the spam engine of `key` said for its user.
    fn put_spam(&self, key: (DefinitionKey, String), outcome: &SpamOutcome) {
        self.spam.borrow_mut().insert(key, outcome.clone());
    }
}

impl Probes for System<'_> {
    fn run_command(
        &mut self,
        rule: &CommandRule,
    ) -> Result<CommandOutcome, CommandError> {
        if self.dry_run {
            return Ok(CommandOutcome::NotRun);
        }
        run(rule, self.message, self.injector)
    }

    fn scan(&mut self, scanner: &Scanner) -> ScanOutcome {
        let key = definition_key(scanner);
        if let Some(known) = self.answers.get(&key) {
            return known;
        }
        // Scanners run in test mode too: asking one has no effect beyond
        // a temporary file that is gone again when it answers.
        let message = Message { bytes: self.message, file: self.file };
        let scanned = qmvc_scanners::scan_message(
            &scanner.definition,
            message,
            self.spool,
        );
        let outcome = match scanned.answer {
            Answer::Clean => ScanOutcome::Clean,
            Answer::Infected(names) => ScanOutcome::Infected(names),
            Answer::Unscanned(why) => ScanOutcome::Unscanned(why),
            Answer::Failed(why) => ScanOutcome::Failed(why),
        };
        self.answers.put(key, &outcome, scanned.sent);
        outcome
    }

    fn sent(&self, scanner: &Scanner) -> Option<String> {
        self.answers.sent(&definition_key(scanner))
    }

    fn spam(&mut self, scanner: &Scanner) -> SpamOutcome {
        let definition = &scanner.definition;
        let user = definition.spam_user(self.spam_user);
        let key = (definition_key(scanner), user.to_owned());
        if let Some(known) = self.answers.get_spam(&key) {
            return known;
        }
        // Spam engines are asked in test mode too, like virus scanners:
        // asking has no effect on the message.
        let outcome = self.ask_spam(definition, user);
        self.answers.put_spam(key, &outcome);
        outcome
    }
}

impl System<'_> {
    /// Asks the spam engine of `definition` for `user`, unless the
    /// message is over its `max_size` (as spamc: then nothing is sent).
    fn ask_spam(&self, definition: &EngineDef, user: &str) -> SpamOutcome {
        let size = self.message.len();
        let over =
            u64::try_from(size).map_or(true, |n| n > definition.max_size);
        if over {
            return SpamOutcome::TooLarge { size, max: definition.max_size };
        }
        let request = SpamRequest {
            message: self.message,
            user,
            sender: self.sender,
            recipients: self.recipients,
            client_ip: self.client_ip,
        };
        let timeout = definition.timeout;
        let answer = match &definition.method {
            Method::Spamd { endpoints, connect_timeout } => {
                qmvc_scanners::spamd::check(
                    endpoints,
                    *connect_timeout,
                    timeout,
                    &request,
                )
            }
            Method::Rspamd { endpoints, connect_timeout } => {
                qmvc_scanners::rspamd::check(
                    endpoints,
                    *connect_timeout,
                    timeout,
                    &request,
                )
            }
            // The profile lets only spam engines into spamscanners.
            Method::Clamd { .. } | Method::Command { .. } => {
                SpamAnswer::Failed(format!(
                    "{} is a virus engine, not a spam engine",
                    definition.method.protocol()
                ))
            }
        };
        match answer {
            SpamAnswer::Judged(v) => SpamOutcome::Judged(SpamJudgement {
                spam: v.spam,
                score: v.score,
                score_text: v.score_text,
                required: v.required,
                required_text: v.required_text,
                symbols: v.symbols,
                action: v.action,
                user: user.to_owned(),
            }),
            SpamAnswer::Failed(why) => SpamOutcome::Failed(why),
        }
    }
}

/// Runs `rule` with `message` on its standard input and its output
/// discarded (qmail-local reads qmvc's standard output as the reason; a
/// child must not write there), its whole process group killed at the
/// time-out ([`qmvc_process`], which also lets the signal handler kill
/// it). A signal ending it counts as exit code 255.
fn run(
    rule: &CommandRule,
    message: &[u8],
    injector: &Path,
) -> Result<CommandOutcome, CommandError> {
    let spec = Spec {
        program: OsStr::new(&rule.program),
        args: &rule.args,
        stdin: Some(message),
        capture: None,
        env: &[("QMVC_INJECTOR", injector.as_os_str())],
        timeout: rule.timeout,
    };
    match qmvc_process::run(&spec) {
        Ok(output) => Ok(CommandOutcome::Exited(match output.exit {
            Exit::Code(code) => code,
            Exit::Signal(_) => 255,
        })),
        Err(Error::TimedOut) => Ok(CommandOutcome::TimedOut),
        Err(Error::Spawn(e)) => Err(CommandError::Start(e)),
        Err(Error::Wait(e)) => Err(CommandError::Wait(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qmvc_profile::{Origin, Scanner};

    fn scanner(engine: &str, file: &str, yaml: &str) -> Scanner {
        Scanner {
            engine: engine.into(),
            initial: 'X',
            full_name: engine.into(),
            definition: EngineDef::parse(yaml, file).expect("definition"),
            origin: Origin { file: "scanners".into(), line: 1 },
        }
    }

    fn system<'a>(
        answers: &'a Answers,
        spool: &'a Path,
        spam_user: Option<&'a str>,
    ) -> System<'a> {
        System {
            message: b"Subject: x\n\nhello\n",
            file: None,
            spool,
            injector: Path::new("/nonexistent"),
            dry_run: true,
            answers,
            sender: "",
            recipients: &[],
            client_ip: None,
            spam_user,
        }
    }

    #[test]
    fn answers_are_kept_by_definition_and_spam_answers_by_user() {
        let spool = std::env::temp_dir();
        let answers = Answers::default();
        // Two layers' definitions of the same engine name are asked
        // each; the same definition once.
        let av = "protocol: command\ncommand: [/bin/true, '{}']\n";
        let system_def = scanner("av", "/sys/control/scanners.d/av.yaml", av);
        let domain_def = scanner("av", "/dom/control/scanners.d/av.yaml", av);
        let mut probes = system(&answers, &spool, None);
        for s in [&system_def, &domain_def, &system_def] {
            assert_eq!(probes.scan(s), ScanOutcome::Clean);
        }
        assert_eq!(answers.scans.borrow().len(), 2);
        // A spam engine: once per distinct user (max_size 1: nothing is
        // sent, the answer is kept all the same).
        let spam = scanner(
            "spamd",
            "/sys/control/scanners.d/spamd.yaml",
            "protocol: spamd\nendpoints: [tcp:127.0.0.1:1]\nmax_size: 1\n\
             user: fallback\n",
        );
        for user in [Some("alice"), Some("bob"), Some("alice"), Some("a b")] {
            let mut probes = system(&answers, &spool, user);
            assert!(matches!(
                probes.spam(&spam),
                SpamOutcome::TooLarge { max: 1, .. }
            ));
        }
        let mut users: Vec<String> =
            answers.spam.borrow().keys().map(|(_, u)| u.clone()).collect();
        users.sort();
        assert_eq!(users, ["alice", "bob", "fallback"]);
    }
}
