/*!
The errors of this crate, one type per operation, each variant saying
whose fault it is, so that every front end maps them to its own exit
code (a template is the configuration's, an injector that times out a
transient failure, one that cannot be started the environment's).

Their Display is one line, without the program's prefix, that says what
is wrong and, where it helps, what to do.
*/

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// An address that cannot be used. Whose fault it is depends on where
/// the caller took it from: the sender's is the message's, a guard
/// address from a filter line the configuration's (with its `$EXT` the
/// message's again).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// Not one plain address; `why` is the rule it breaks.
    NotPlain {
        /// What is wrong with it.
        why: String,
    },
    /// A `$` in a guard address that does not start `$LOCAL`, `$EXT`,
    /// `$HOST` or `$USER` (`name` is empty for a lone `$`).
    Variable {
        /// The guard address as written.
        address: String,
        /// The name after `$`.
        name: String,
    },
    /// The expansion of a guard address is far too long.
    TooLong {
        /// The guard address as written.
        address: String,
        /// The most bytes an address may have.
        limit: usize,
    },
    /// The expansion of a guard address is not one plain address.
    Expands {
        /// The guard address as written.
        address: String,
        /// The expansion, quoted with escapes and cut for display.
        shown: String,
        /// What is wrong with it.
        why: String,
    },
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::NotPlain { why } => f.write_str(why),
            AddressError::Variable { address, name } if name.is_empty() => {
                write!(
                    f,
                    "in the guard address {address:?}, '$' must start \
                     $LOCAL, $EXT, $HOST or $USER"
                )
            }
            AddressError::Variable { address, name } => write!(
                f,
                "in the guard address {address:?}, unknown variable \
                 \"${name}\" (only $LOCAL, $EXT, $HOST, $USER are \
                 expanded)"
            ),
            AddressError::TooLong { address, limit } => write!(
                f,
                "the guard address {address:?} expands to more than \
                 {limit} bytes"
            ),
            AddressError::Expands { address, shown, why } => write!(
                f,
                "the guard address {address:?} expands to {shown}: {why}"
            ),
        }
    }
}

impl std::error::Error for AddressError {}

/// What is wrong with a header field the caller gave the message
/// builder ([`crate::Outgoing`]): the caller's fault (an address from
/// the configuration, a field name in the code), never the message's,
/// whose text the builder cleans itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderError {
    /// The field (`From`, `To`, `X-QMVC-Plainmail`).
    pub field: String,
    /// What is wrong with it.
    pub problem: HeaderProblem,
}

/// See [`HeaderError`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderProblem {
    /// The value is empty.
    Empty,
    /// The value holds a character a header line cannot carry (a
    /// control character, a line end, anything but printable ASCII).
    Character(char),
    /// The value is longer than this many bytes.
    TooLong(usize),
    /// The name is not a field name, or one the builder writes itself.
    Name,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = &self.field;
        // From and To carry addresses: the words say so.
        let what = if field == "From" || field == "To" {
            format!("the {field} address")
        } else {
            format!("the field {field}")
        };
        match &self.problem {
            HeaderProblem::Empty => write!(f, "{what} is empty"),
            HeaderProblem::Character(c) => write!(
                f,
                "{what} holds the character {c:?}, which a header line \
                 cannot carry"
            ),
            HeaderProblem::TooLong(limit) => {
                write!(f, "{what} is longer than {limit} bytes")
            }
            HeaderProblem::Name => write!(
                f,
                "{field:?} is not a field name the message builder takes"
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

/// A template that cannot be used: the configuration's fault (the
/// template file, whose name the caller knows), at this line and column
/// of it when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// The line of the template file, counted from 1.
    pub line: Option<usize>,
    /// The column on that line, counted from 1.
    pub column: Option<usize>,
    /// What is wrong there.
    pub reason: String,
}

impl TemplateError {
    /// An error at no particular place.
    pub(crate) fn whole(reason: impl Into<String>) -> TemplateError {
        TemplateError { line: None, column: None, reason: reason.into() }
    }

    /// An error on line `line`.
    pub(crate) fn at_line(
        line: usize,
        reason: impl Into<String>,
    ) -> TemplateError {
        TemplateError { line: Some(line), column: None, reason: reason.into() }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: ")?
            }
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        f.write_str(&self.reason)
    }
}

impl std::error::Error for TemplateError {}

/// Why [`crate::compose()`] built no notification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComposeError {
    /// The template is wrong: the configuration's fault.
    Template(TemplateError),
    /// From or To cannot go into a header line: the caller's.
    Header(HeaderError),
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComposeError::Template(e) => e.fmt(f),
            ComposeError::Header(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ComposeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ComposeError::Template(e) => Some(e),
            ComposeError::Header(e) => Some(e),
        }
    }
}

impl From<TemplateError> for ComposeError {
    fn from(e: TemplateError) -> ComposeError {
        ComposeError::Template(e)
    }
}

impl From<HeaderError> for ComposeError {
    fn from(e: HeaderError) -> ComposeError {
        ComposeError::Header(e)
    }
}

/// Why [`crate::inject()`] did not hand a message over.
#[derive(Debug)]
#[non_exhaustive]
pub enum InjectError {
    /// The recipient is not one plain address; nothing was run. The
    /// fault of whoever chose the recipient.
    Recipient {
        /// The recipient as given.
        recipient: String,
        /// What is wrong with it.
        error: AddressError,
    },
    /// The envelope sender is neither empty nor one plain address;
    /// nothing was run. The fault of whoever chose the sender.
    Sender {
        /// The sender as given.
        sender: String,
        /// What is wrong with it (boxed: the variant stays small enough
        /// for the enum to keep its size).
        error: Box<AddressError>,
    },
    /// The injector could not be started: the environment's fault (a
    /// wrong `injector` path is the configuration's).
    Start {
        /// The injector.
        injector: PathBuf,
        /// Why not.
        error: io::Error,
    },
    /// Waiting for the injector failed: the environment's fault.
    Wait {
        /// The injector.
        injector: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The injector exited with a code other than 0 (qmail-inject: the
    /// queue is not available, a transient failure).
    Exited {
        /// The injector.
        injector: PathBuf,
        /// Its exit code.
        code: i32,
    },
    /// A signal ended the injector: transient.
    Killed {
        /// The injector.
        injector: PathBuf,
        /// The signal.
        signal: i32,
    },
    /// The injector did not end in time and was killed with its
    /// process group: transient.
    TimedOut {
        /// The injector.
        injector: PathBuf,
        /// The time it had.
        after: Duration,
    },
}

impl fmt::Display for InjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InjectError::Recipient { recipient, error } => write!(
                f,
                "recipient {recipient:?} refused for the injector: {error}"
            ),
            InjectError::Sender { sender, error } => write!(
                f,
                "sender {sender:?} refused for the injector: {error}"
            ),
            InjectError::Start { injector, error } => write!(
                f,
                "cannot run injector {}: {error}; check the control file \
                 injector",
                injector.display()
            ),
            InjectError::Wait { injector, error } => write!(
                f,
                "cannot wait for injector {}: {error}",
                injector.display()
            ),
            InjectError::Exited { injector, code } => {
                write!(f, "injector {} exited {code}", injector.display())
            }
            InjectError::Killed { injector, signal } => write!(
                f,
                "injector {} was killed by signal {signal}",
                injector.display()
            ),
            InjectError::TimedOut { injector, after } => write!(
                f,
                "injector {} timed out after {} s and was killed",
                injector.display(),
                after.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for InjectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InjectError::Recipient { error, .. } => Some(error),
            InjectError::Sender { error, .. } => Some(error.as_ref()),
            InjectError::Start { error, .. }
            | InjectError::Wait { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl InjectError {
    /// Whether trying again later may succeed without anyone changing
    /// anything (the injector failed, was killed or timed out).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            InjectError::Exited { .. }
                | InjectError::Killed { .. }
                | InjectError::TimedOut { .. }
        )
    }
}

impl qmvc_fault::Blame for ComposeError {
    /// The template's or the header's fault, as they say.
    fn fault(&self) -> qmvc_fault::Fault {
        match self {
            ComposeError::Template(e) => e.fault(),
            ComposeError::Header(e) => e.fault(),
        }
    }
}

impl qmvc_fault::Blame for TemplateError {
    /// The configuration's: a template under `tpl/` (the caller knows
    /// which file; its line is [`TemplateError::line`]).
    fn fault(&self) -> qmvc_fault::Fault {
        qmvc_fault::Fault::Config { file: "tpl/".to_string(), line: 0 }
    }
}

impl qmvc_fault::Blame for HeaderError {
    /// The configuration's: From and To come from the profile (`guard`,
    /// a reaction's address), never from the message, whose text the
    /// builder cleans itself.
    fn fault(&self) -> qmvc_fault::Fault {
        qmvc_fault::Fault::Config {
            file: "control/guard".to_string(),
            line: 0,
        }
    }
}

impl qmvc_fault::Blame for AddressError {
    /// A guard address written with an unknown variable is the
    /// configuration's (a filter line); an address that is not plain, or
    /// a guard address whose expansion is not (the values of `$EXT` and
    /// `$LOCAL` come with the message), is the message's. A caller that
    /// took a plain address from the profile knows better and says so
    /// itself (see [`InjectError`]).
    fn fault(&self) -> qmvc_fault::Fault {
        match self {
            AddressError::Variable { .. } => qmvc_fault::Fault::Config {
                file: "control/filters".to_string(),
                line: 0,
            },
            _ => qmvc_fault::Fault::Message,
        }
    }
}

impl qmvc_fault::Blame for InjectError {
    /// A refused recipient or an injector that cannot start is the
    /// configuration's (control file `injector`, a reaction's address);
    /// an injector that failed, was killed or timed out is transient;
    /// waiting that failed is the environment's.
    fn fault(&self) -> qmvc_fault::Fault {
        match self {
            InjectError::Recipient { .. }
            | InjectError::Sender { .. }
            | InjectError::Start { .. } => qmvc_fault::Fault::Config {
                file: "control/injector".to_string(),
                line: 0,
            },
            InjectError::Wait { .. } => qmvc_fault::Fault::Environment,
            _ => qmvc_fault::Fault::Transient,
        }
    }
}
