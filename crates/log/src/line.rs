/*!
One line of `qmvc.log` (qmvc-log(5)): thirteen tab-separated fields,
written by [`Record::to_line`] and read back by [`Record::parse`]. The
first eleven are required (a line with fewer is skipped as damaged);
fields 12 and 13 are read as empty when missing, so lines of an older
version still read, and fields after the thirteenth (a later version's)
are ignored.
*/

use crate::time::{day_and_hour, Day, Stamp};

/// The conditions that make a message a badmail.
pub const BADMAIL: [&str; 5] = [
    "badsubject",
    "badbodytext",
    "badfilename",
    "badmimetype",
    "badloadertype",
];

/// A `qmvc.log` line, borrowing its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<'a> {
    /// Field 1, as written.
    pub time: &'a str,
    /// The day of field 1 (not a field of its own).
    pub day: Day,
    /// The hour of field 1 (not a field of its own).
    pub hour: u8,
    /// Field 2: `clear`, `-` or conditions joined by `+`.
    pub result: &'a str,
    /// Field 3: the errormail code.
    pub errormail: u32,
    /// Field 4: actions joined by `+` (`pass`, `defer`, ...).
    pub action: &'a str,
    /// Field 5: the initials of the scanners asked.
    pub scanners: &'a str,
    /// Field 6, in seconds (written with three decimals).
    pub seconds: f64,
    /// Field 7, in bytes.
    pub size: u64,
    /// Field 8: the envelope sender.
    pub sender: &'a str,
    /// Field 9: the original recipient.
    pub recipient: &'a str,
    /// Field 10: the Message-ID.
    pub message_id: &'a str,
    /// Field 11: the Subject.
    pub subject: &'a str,
    /// Field 12: the spam score of each spam engine that judged the
    /// message, as it gave it, joined by `+`; `-` when none did, empty
    /// when an older line has no such field.
    pub spam: &'a str,
    /// Field 13: the SMTP client's IP address in queue mode
    /// (`TCPREMOTEIP`); `-` in dot-qmail mode, empty on an older line.
    pub client_ip: &'a str,
}

/// What a message was, for counting: one class per message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// No condition met.
    Clear,
    /// A virusmail (whatever else it was).
    Virus,
    /// A badmail, not a virusmail.
    Bad,
    /// Only errormail.
    Error,
    /// Deferred (action `defer`) with nothing met yet, or anything else.
    Other,
}

impl<'a> Record<'a> {
    /// A record of the time `stamp` with every other field empty or 0,
    /// for a writer to fill in.
    pub fn new(stamp: &'a Stamp) -> Record<'a> {
        let (day, hour) = stamp.day_and_hour();
        Record {
            time: stamp.as_str(),
            day,
            hour,
            result: "",
            errormail: 0,
            action: "",
            scanners: "",
            seconds: 0.0,
            size: 0,
            sender: "",
            recipient: "",
            message_id: "",
            subject: "",
            spam: "",
            client_ip: "",
        }
    }

    /// Parses a line (without its newline); `None` when it is not one.
    pub fn parse(line: &'a str) -> Option<Record<'a>> {
        let mut fields = line.split('\t');
        let mut next = || fields.next();
        let time = next()?;
        let (day, hour) = day_and_hour(time)?;
        let result = next()?;
        let errormail = next()?.parse().ok()?;
        let action = next()?;
        let scanners = next()?;
        let seconds: f64 = next()?.parse().ok()?;
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        let size = next()?.parse().ok()?;
        Some(Record {
            time,
            day,
            hour,
            result,
            errormail,
            action,
            scanners,
            seconds,
            size,
            sender: next()?,
            recipient: next()?,
            message_id: next()?,
            subject: next()?,
            spam: next().unwrap_or_default(),
            client_ip: next().unwrap_or_default(),
        })
    }

    /// The line as written, each field normalised
    /// ([`crate::fields::field`]), ending in a newline.
    pub fn to_line(&self) -> String {
        let seconds = format!("{:.3}", self.seconds.max(0.0));
        let errormail = self.errormail.to_string();
        let size = self.size.to_string();
        let fields = [
            self.time,
            self.result,
            &errormail,
            self.action,
            self.scanners,
            &seconds,
            &size,
            self.sender,
            self.recipient,
            self.message_id,
            self.subject,
            self.spam,
            self.client_ip,
        ];
        crate::fields::line(&fields)
    }

    /// The conditions met, in evaluation order.
    pub fn conditions(&self) -> impl Iterator<Item = &'a str> {
        let result = self.result;
        let none = result == "clear" || result == "-";
        result.split('+').filter(move |c| !none && !c.is_empty())
    }

    /// The actions taken.
    pub fn actions(&self) -> impl Iterator<Item = &'a str> {
        self.action.split('+').filter(|a| !a.is_empty())
    }

    /// Whether the delivery was deferred (exit 111).
    pub fn deferred(&self) -> bool {
        self.actions().any(|a| a == "defer")
    }

    /// The message's class: virusmail over badmail over errormail.
    pub fn class(&self) -> Class {
        let mut bad = false;
        let mut error = false;
        for condition in self.conditions() {
            match condition {
                "virusmail" => return Class::Virus,
                "errormail" => error = true,
                c if BADMAIL.contains(&c) => bad = true,
                _ => {}
            }
        }
        if bad {
            Class::Bad
        } else if error {
            Class::Error
        } else if self.result == "clear" {
            Class::Clear
        } else {
            Class::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "2026-11-22T14:03:05+01:00\terrormail+badfilename\t4\tblock\tC\t0.012\t2048\tjoe@example.com\tann@example.org\t<1@x>\tHello_there";

    #[test]
    fn parses_a_line() {
        let r = Record::parse(LINE).unwrap();
        assert_eq!(r.hour, 14);
        assert_eq!(r.errormail, 4);
        assert_eq!(r.size, 2048);
        assert_eq!(r.subject, "Hello_there");
        assert_eq!(
            r.conditions().collect::<Vec<_>>(),
            ["errormail", "badfilename"]
        );
        assert_eq!(r.class(), Class::Bad);
        // An older line (eleven fields) reads, fields 12 and 13 empty.
        assert_eq!((r.spam, r.client_ip), ("", ""));
        let now = format!("{LINE}\t-\t192.0.2.7");
        let r = Record::parse(&now).unwrap();
        assert_eq!((r.spam, r.client_ip), ("-", "192.0.2.7"));
        let more = format!("{now}\tfuture");
        assert_eq!(Record::parse(&more).unwrap().client_ip, "192.0.2.7");
    }

    #[test]
    fn what_is_written_reads_back() {
        let line = format!("{LINE}\t-\t192.0.2.7");
        let r = Record::parse(&line).unwrap();
        assert_eq!(r.to_line(), format!("{line}\n"));
        // An older line is written back with the two new fields as `-`.
        let old = Record::parse(LINE).unwrap().to_line();
        assert_eq!(old, format!("{LINE}\t-\t-\n"));
        let stamp = Stamp { text: "2026-11-22T14:03:05+01:00".into() };
        let written = Record {
            subject: "two words\r\nBcc: x",
            sender: "",
            seconds: 0.0004,
            ..Record::new(&stamp)
        }
        .to_line();
        assert_eq!(
            written,
            "2026-11-22T14:03:05+01:00\t-\t0\t-\t-\t0.000\t0\t-\t-\t-\t\
             two_words__Bcc:_x\t-\t-\n"
        );
        let back = Record::parse(written.trim_end()).unwrap();
        assert_eq!((back.day, back.hour), (r.day, 14));
    }

    #[test]
    fn classes() {
        let with = |result: &str, action: &str| {
            let line = LINE
                .replace("errormail+badfilename", result)
                .replace("\tblock\t", &format!("\t{action}\t"));
            Record::parse(&line).unwrap().class()
        };
        assert_eq!(with("clear", "pass"), Class::Clear);
        assert_eq!(with("errormail+virusmail", "keep"), Class::Virus);
        assert_eq!(with("errormail", "inspect"), Class::Error);
        assert_eq!(with("-", "defer"), Class::Other);
    }

    #[test]
    fn damaged_lines_are_skipped() {
        for bad in [
            "",
            "x",
            "2026-11-22T14:03:05Z\tclear\t0",
            &LINE.replace("0.012", "NaN"),
            &LINE.replace("0.012", "-1"),
            &LINE.replace("\t4\t", "\tfour\t"),
            &LINE.replace("\tHello_there", ""),
        ] {
            assert!(Record::parse(bad).is_none(), "{bad}");
        }
    }
}
