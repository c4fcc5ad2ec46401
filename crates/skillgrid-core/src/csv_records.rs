//! The walk every CSV file of skillgrid's takes (assignments, `csv_import`; agents,
//! `csv_agents`): a header row naming known columns in any order and case, then records, each
//! with its 1-based line in the file (the header is line 1) counted across blank lines and
//! line breaks inside quoted fields. A file's own module maps the cells to its row type.

use crate::csv_import::Diag;
use std::io::Read;

/// The records of a CSV file whose header names some of `N` known columns.
pub struct Records<R, const N: usize> {
    reader: csv::Reader<Lines<R>>,
    /// Index in the file of each known column, when present.
    cols: [Option<usize>; N],
    /// Columns of the header row.
    width: usize,
    record: csv::StringRecord,
}

impl<R: Read, const N: usize> Records<R, N> {
    /// Reads the header row of `file`; `Err` when it is unreadable, names a column that is not
    /// one of `columns`, names one twice, or lacks one of the first `required`.
    pub fn new(file: R, columns: &[&str; N], required: usize) -> Result<Self, Diag> {
        // Fields are trimmed here, not by the reader, so that the line breaks inside a quoted
        // field can be counted (see `record_line`).
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(Lines::new(file));
        let (cols, width) = header_columns(&mut reader, columns, required)?;
        Ok(Records {
            reader,
            cols,
            width,
            record: csv::StringRecord::new(),
        })
    }

    /// Reads the next record: its line, or `None` at the end of the file.
    pub fn read_next(&mut self) -> Result<Option<u64>, Diag> {
        let line = self.reader.position().line();
        match self.reader.read_record(&mut self.record) {
            Err(e) => Err(csv_diag(&e, line)),
            Ok(false) => Ok(None),
            Ok(true) => Ok(Some(record_line(&mut self.reader, &self.record))),
        }
    }

    /// The record's cell of known column `c`, trimmed: `None` when the file has no such column,
    /// empty when the record is shorter than the header.
    pub fn cell(&self, c: usize) -> Option<String> {
        self.cols[c].map(|i| self.record.get(i).unwrap_or("").trim().to_string())
    }

    /// Non-empty fields of the record beyond the header's columns.
    pub fn extra_fields(&self) -> usize {
        self.record
            .iter()
            .skip(self.width)
            .filter(|f| !f.trim().is_empty())
            .count()
    }
}

/// Reads the header row of `reader`: the index in the file of each of `columns` that it
/// has, and how many columns it has; `Err` when it is unreadable or names a column that is
/// not one of `columns`, names one twice, or lacks one of the first `required`.
fn header_columns<R: Read, const N: usize>(
    reader: &mut csv::Reader<Lines<R>>,
    columns: &[&str; N],
    required: usize,
) -> Result<([Option<usize>; N], usize), Diag> {
    let headers = reader.headers().map_err(|e| csv_diag(&e, 1))?.clone();
    let mut cols = [None; N];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim_start_matches('\u{feff}').trim();
        match columns.iter().position(|c| c.eq_ignore_ascii_case(h)) {
            Some(c) if cols[c].is_some() => {
                return Err(Diag::new(1, h, "the column appears twice in the header"))
            }
            Some(c) => cols[c] = Some(i),
            None => {
                return Err(Diag::new(
                    1,
                    h,
                    format!("unknown column; the columns are {}", columns.join(", ")),
                ))
            }
        }
    }
    for (c, name) in columns.iter().enumerate().take(required) {
        if cols[c].is_none() {
            return Err(Diag::new(1, *name, "missing column in the header row"));
        }
    }
    Ok((cols, headers.len()))
}

/// The 1-based line of the record `reader` read last. The reader skips blank lines without
/// counting them, so the line is counted here: the line of the record's last byte, less the
/// line breaks inside it.
fn record_line<R: Read>(reader: &mut csv::Reader<Lines<R>>, record: &csv::StringRecord) -> u64 {
    let end = reader.position().byte();
    let inside: usize = record.iter().map(|f| f.matches('\n').count()).sum();
    let last = reader.get_mut().line_of(end.saturating_sub(1));
    last.saturating_sub(inside as u64)
}

/// A reader that notes where each line break of what it reads falls, so that the line of a
/// byte offset can be told; offsets already passed are forgotten.
struct Lines<R> {
    inner: R,
    /// Bytes read so far.
    read: u64,
    /// Offsets of the line breaks read and not yet passed by [`Lines::line_of`].
    ahead: std::collections::VecDeque<u64>,
    /// Line breaks passed.
    passed: u64,
}

impl<R> Lines<R> {
    fn new(inner: R) -> Self {
        Lines {
            inner,
            read: 0,
            ahead: Default::default(),
            passed: 0,
        }
    }

    /// The 1-based line of the byte at `offset`; offsets must not go back.
    fn line_of(&mut self, offset: u64) -> u64 {
        while self.ahead.front().is_some_and(|&b| b < offset) {
            self.ahead.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, &b)| b == b'\n') {
            self.ahead.push_back(self.read + i as u64);
        }
        self.read += n as u64;
        Ok(n)
    }
}

fn csv_diag(e: &csv::Error, line: u64) -> Diag {
    let line = e.position().map_or(line, |p| p.line());
    Diag::new(line, "-", format!("unreadable CSV: {e}"))
}
