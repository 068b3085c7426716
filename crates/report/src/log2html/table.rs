/*!
The full table of a day's page: its columns, one escaped row per
record, and the spool that holds the rows of every day in one unnamed
temporary file until the page is written.
*/

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use crate::cli::Failure;
use crate::html;
use crate::output::{self, Replacement};
use qmvc_log::line::Record;

/// Rows are kept in memory per day until this many bytes, then spooled.
const CHUNK: usize = 32 << 10;

/// A stretch of the spool.
#[derive(Clone, Copy, Debug)]
pub(super) struct Chunk {
    offset: u64,
    len: u64,
}

/// One unnamed temporary file holding the rows of every day in chunks,
/// so a run over many days needs one descriptor, not one per day.
pub(super) struct Spool {
    file: File,
    end: u64,
    dir: PathBuf,
}

impl Spool {
    /// A spool in `dir` (the html directory: on the disk of the pages).
    pub(super) fn new(dir: &Path) -> Result<Spool, Failure> {
        let file = tempfile::tempfile_in(dir)
            .map_err(|e| output::failed("create a file in", dir, &e))?;
        Ok(Spool { file, end: 0, dir: dir.to_path_buf() })
    }

    /// Appends `bytes`; where they are.
    fn append(&mut self, bytes: &[u8]) -> Result<Chunk, Failure> {
        self.file
            .seek(SeekFrom::Start(self.end))
            .and_then(|_| self.file.write_all(bytes))
            .map_err(|e| output::failed("write a file in", &self.dir, &e))?;
        let chunk = Chunk { offset: self.end, len: bytes.len() as u64 };
        self.end += chunk.len;
        Ok(chunk)
    }

    /// Copies `chunk` to `out`.
    pub(super) fn copy(
        &mut self,
        chunk: Chunk,
        out: &mut Replacement,
    ) -> Result<(), Failure> {
        self.file
            .seek(SeekFrom::Start(chunk.offset))
            .map_err(|e| output::failed("read a file in", &self.dir, &e))?;
        out.copy_from(&mut (&mut self.file).take(chunk.len))
    }
}

/// The rows of a day's full table: the latest in memory, the rest in the
/// spool.
#[derive(Debug, Default)]
pub(super) struct Rows {
    pub(super) chunks: Vec<Chunk>,
    pub(super) buf: Vec<u8>,
    pub(super) shown: u64,
    pub(super) left_out: u64,
}

impl Rows {
    /// Adds the row of `r`, unless `limit` rows are there already.
    pub(super) fn push(
        &mut self,
        r: &Record,
        limit: Option<u64>,
        spool: &mut Spool,
    ) -> Result<(), Failure> {
        if limit.is_some_and(|n| self.shown >= n) {
            self.left_out += 1;
            return Ok(());
        }
        self.shown += 1;
        write_row(&mut self.buf, r);
        if self.buf.len() >= CHUNK {
            self.chunks.push(spool.append(&self.buf)?);
            self.buf.clear();
        }
        Ok(())
    }
}

/// The columns of the full table.
pub(super) const COLUMNS: [(&str, &str); 12] = [
    ("time", ""),
    ("result", ""),
    ("action", ""),
    ("errormail", " class=\"n\""),
    ("scanners", ""),
    ("seconds", " class=\"n\""),
    ("size", " class=\"n\""),
    ("spam score", " class=\"n\""),
    ("sender", ""),
    ("recipient", ""),
    ("Message-ID", ""),
    ("Subject", " class=\"w\""),
];

/// Field 12 as the table shows it: empty when no spam engine judged the
/// message (`-`, or a line written before the field existed).
fn spam_score(field: &str) -> &str {
    if field == "-" {
        ""
    } else {
        field
    }
}

/// One row of the full table, every value escaped.
fn write_row(out: &mut Vec<u8>, r: &Record) {
    let time = r.time.get(11..19).unwrap_or(r.time);
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
         <td>{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td class=\"w\">{}</td></tr>",
        html::esc(time),
        html::esc(r.result),
        html::esc(r.action),
        r.errormail,
        html::esc(r.scanners),
        r.seconds,
        r.size,
        html::esc(spam_score(r.spam)),
        html::esc(r.sender),
        html::esc(r.recipient),
        html::esc(r.message_id),
        html::esc(r.subject),
    );
}
