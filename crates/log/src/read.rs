/*!
The one reader of the logs: a log file opened plain or gzip-compressed
(the archives of `qmvcmonth -a`), then read line by line (qmvc.log,
qmvc.error: [`next_line`] and [`crate::line::Record::parse`]) or document
by document (qmvc.rep: [`crate::rep::for_each`]).
*/

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::Error;

/// The read buffer: logs are read in large sequential blocks.
const READ_BUFFER: usize = 256 << 10;

/// Opens a log for reading, decompressing it when it starts with the
/// gzip magic. A missing file is `Ok(None)`: no log yet is no mail yet.
pub fn open(path: &Path) -> Result<Option<Box<dyn BufRead>>, Error> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let gzip = reader
        .fill_buf()
        .map_err(|e| Error::io("read", path, e))?
        .starts_with(&[0x1f, 0x8b]);
    if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(reader);
        Ok(Some(Box::new(BufReader::with_capacity(READ_BUFFER, decoder))))
    } else {
        Ok(Some(Box::new(reader)))
    }
}

/// Reads the next line of a log into `buf` (cleared first, without its
/// newline); `Ok(false)` at the end. `path` names the file in errors.
pub fn next_line(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    path: &Path,
) -> Result<bool, Error> {
    buf.clear();
    match reader.read_until(b'\n', buf) {
        Ok(0) => Ok(false),
        Ok(_) => {
            if buf.last() == Some(&b'\n') {
                buf.pop();
            }
            Ok(true)
        }
        Err(e) => Err(Error::io("read", path, e)),
    }
}
