/*!
One line of `qmvc.error` (qmvc-log(5)): time, level, sender, recipient
and the message, tab-separated, each field normalised as in qmvc.log.
*/

use crate::fields::push_field;

/// How serious an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The message was deferred (exit 111 in dot-qmail mode).
    Defer,
    /// Something failed that did not defer the message.
    Warning,
}

impl Level {
    /// As written in field 2.
    pub fn name(self) -> &'static str {
        match self {
            Level::Defer => "defer",
            Level::Warning => "warning",
        }
    }
}

/// A qmvc.error line, borrowing its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Field 1: the time (see [`crate::time`]).
    pub time: &'a str,
    /// Field 2.
    pub level: Level,
    /// Field 3: the envelope sender.
    pub sender: &'a str,
    /// Field 4: the original recipient.
    pub recipient: &'a str,
    /// Field 5: what went wrong.
    pub reason: &'a str,
}

impl<'a> Entry<'a> {
    /// The line as written, ending in a newline.
    pub fn to_line(&self) -> String {
        let fields =
            [self.time, self.level.name(), self.sender, self.recipient];
        let mut text = String::with_capacity(128 + self.reason.len());
        for value in fields {
            push_field(&mut text, value);
            text.push('\t');
        }
        push_field(&mut text, self.reason);
        text.push('\n');
        text
    }

    /// Parses a line (without its newline); `None` when it is not one.
    pub fn parse(line: &'a str) -> Option<Entry<'a>> {
        let mut fields = line.split('\t');
        let time = fields.next()?;
        let level = match fields.next()? {
            "defer" => Level::Defer,
            "warning" => Level::Warning,
            _ => return None,
        };
        Some(Entry {
            time,
            level,
            sender: fields.next()?,
            recipient: fields.next()?,
            reason: fields.next()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let entry = Entry {
            time: "2026-11-22T14:03:05+01:00",
            level: Level::Warning,
            sender: "",
            recipient: "joe@example.com",
            reason: "scanner C (clamd) failed:\ttimed out",
        };
        let line = entry.to_line();
        assert_eq!(
            line,
            "2026-11-22T14:03:05+01:00\twarning\t-\tjoe@example.com\t\
             scanner_C_(clamd)_failed:_timed_out\n"
        );
        let back = Entry::parse(line.trim_end()).unwrap();
        assert_eq!(back.level, Level::Warning);
        assert_eq!(back.recipient, "joe@example.com");
        assert!(Entry::parse("x\tpanic\ta\tb\tc").is_none());
    }
}
