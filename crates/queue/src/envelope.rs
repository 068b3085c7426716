/*!
The envelope qmail-smtpd and qmail-inject write on the queue program's
descriptor 1: `F` sender NUL, `T` recipient NUL for each recipient, one
more NUL. Parsed as qmail-queue parses it, with its exit codes.
*/

/// Addresses of this many bytes or more are refused (exit 11).
pub const ADDRESS_MAX: usize = 1024;

/// The sender and the recipients of one transaction, as given, byte for
/// byte (hostile text: compared and logged, never a path or a shell
/// word; handed on to qmail-queue unchanged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The envelope sender, empty for a bounce.
    pub sender: Vec<u8>,
    /// The recipients, in order, at least one.
    pub recipients: Vec<Vec<u8>>,
}

impl Envelope {
    /// `address` as text for the logs and the engine (invalid UTF-8
    /// replaced).
    pub fn text(address: &[u8]) -> String {
        String::from_utf8_lossy(address).into_owned()
    }

    /// The envelope of `recipients` (indexes) in qmail-queue's framing.
    pub fn frame(&self, recipients: &[usize]) -> Vec<u8> {
        let mut bytes = vec![b'F'];
        bytes.extend_from_slice(&self.sender);
        bytes.push(0);
        for r in recipients.iter().filter_map(|&i| self.recipients.get(i)) {
            bytes.push(b'T');
            bytes.extend_from_slice(r);
            bytes.push(0);
        }
        bytes.push(0);
        bytes
    }
}

/// Why an envelope was not accepted, with qmail-queue's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bad {
    /// It ended before its final NUL: 54.
    Truncated,
    /// An address of [`ADDRESS_MAX`] bytes or more: 11.
    TooLong,
    /// Anything else that is not the framing above: 91.
    Malformed,
}

impl Bad {
    /// qmail-queue's exit code for it.
    pub fn code(self) -> u8 {
        match self {
            Bad::Truncated => 54,
            Bad::TooLong => 11,
            Bad::Malformed => 91,
        }
    }
}

/// Parses `bytes`, everything read from descriptor 1 up to end of file.
/// Bytes after the final NUL are ignored, as qmail-queue never reads
/// them.
pub fn parse(bytes: &[u8]) -> Result<Envelope, Bad> {
    let mut rest = bytes;
    let mut sender = None;
    let mut recipients = Vec::new();
    loop {
        let Some((&tag, after)) = rest.split_first() else {
            return Err(Bad::Truncated);
        };
        match (tag, sender.is_some()) {
            (0, true) => break,
            (b'F', false) | (b'T', true) => {}
            _ => return Err(Bad::Malformed),
        }
        let end = after.iter().position(|&b| b == 0);
        let address = match end {
            Some(n) => after.get(..n).unwrap_or_default(),
            None => after,
        };
        if address.len() >= ADDRESS_MAX {
            return Err(Bad::TooLong);
        }
        let Some(n) = end else { return Err(Bad::Truncated) };
        if tag == b'F' {
            sender = Some(address.to_vec());
        } else {
            recipients.push(address.to_vec());
        }
        rest = after.get(n + 1..).unwrap_or_default();
    }
    if recipients.is_empty() {
        // No recipient: nothing could be delivered, and qmail-smtpd never
        // sends such an envelope.
        return Err(Bad::Malformed);
    }
    Ok(Envelope { sender: sender.unwrap_or_default(), recipients })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framing_of_qmail_smtpd() {
        let whole = b"Fa@b.example\0Tc@example.org\0Td@x\0\0";
        let e = parse(whole).unwrap();
        assert_eq!(e.sender, b"a@b.example");
        assert_eq!(e.recipients, [&b"c@example.org"[..], b"d@x"]);
        assert_eq!(e.frame(&[0, 1]), whole);
        assert_eq!(e.frame(&[1]), b"Fa@b.example\0Td@x\0\0");
        let bounce = parse(b"F\0Tc@example.org\0\0trailing").unwrap();
        assert_eq!(bounce.sender, b"");
    }

    #[test]
    fn truncated_anywhere_is_54() {
        let whole = b"Fa@b\0Tc@d\0\0";
        for end in 0..whole.len() {
            assert_eq!(parse(&whole[..end]), Err(Bad::Truncated), "{end}");
        }
        assert_eq!(Bad::Truncated.code(), 54);
    }

    #[test]
    fn malformed_is_91() {
        for bad in [
            &b"Xa@b\0Tc@d\0\0"[..],
            b"Fa@b\0Xc@d\0\0",
            b"Fa@b\0Fc@d\0\0",
            b"Fa@b\0\0",
            b"Ta@b\0\0",
        ] {
            assert_eq!(parse(bad), Err(Bad::Malformed), "{bad:?}");
        }
        assert_eq!(Bad::Malformed.code(), 91);
    }

    #[test]
    fn long_addresses_are_11() {
        let long = "x".repeat(ADDRESS_MAX);
        let just = "x".repeat(ADDRESS_MAX - 1);
        let env = |s: &str, r: &str| format!("F{s}\0T{r}\0\0").into_bytes();
        assert_eq!(parse(&env(&long, "a@b")), Err(Bad::TooLong));
        assert_eq!(parse(&env("a@b", &long)), Err(Bad::TooLong));
        // Too long even when the NUL never comes.
        assert_eq!(parse(format!("F{long}").as_bytes()), Err(Bad::TooLong));
        assert!(parse(&env(&just, &just)).is_ok());
        assert_eq!(Bad::TooLong.code(), 11);
    }
}
