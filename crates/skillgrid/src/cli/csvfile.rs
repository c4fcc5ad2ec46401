//! The assignment CSV: `agent,skill,proficiency,effectiveDate,expirationDate` with a header row,
//! read one record at a time, each with its 1-based line in the file (the header is line 1).

use std::fmt;
use std::fs::File;
use std::path::Path;

/// The columns, in the order `export` writes them.
pub const HEADER: [&str; 5] = [
    "agent",
    "skill",
    "proficiency",
    "effectiveDate",
    "expirationDate",
];

/// An error at a line and column of the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diag {
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl Diag {
    pub fn new(line: u64, column: impl Into<String>, message: impl Into<String>) -> Self {
        Diag {
            line,
            column: column.into(),
            message: message.into(),
        }
    }

    /// `FILE:LINE: column NAME: message`.
    pub fn display<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Diag, &'a str);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "{}:{}: column {}: {}",
                    self.1, self.0.line, self.0.column, self.0.message
                )
            }
        }
        D(self, file)
    }
}

/// One data record, fields trimmed; absent optional columns are empty.
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    pub line: u64,
    pub agent: String,
    pub skill: String,
    pub proficiency: String,
    pub effective_date: String,
    pub expiration_date: String,
}

/// Streams the records of an assignment CSV.
pub struct CsvRows {
    reader: csv::Reader<File>,
    /// Index of each of [`HEADER`] in the file, when present.
    cols: [Option<usize>; 5],
    record: csv::StringRecord,
}

impl CsvRows {
    pub fn open(path: &Path) -> Result<Self, Diag> {
        let file = File::open(path).map_err(|e| Diag::new(1, "-", format!("cannot open: {e}")))?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(file);
        let headers = reader.headers().map_err(|e| csv_diag(&e, 1))?.clone();
        let mut cols = [None; 5];
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim_start_matches('\u{feff}');
            match HEADER.iter().position(|c| c.eq_ignore_ascii_case(h)) {
                Some(c) if cols[c].is_some() => {
                    return Err(Diag::new(1, h, "the column appears twice in the header"))
                }
                Some(c) => cols[c] = Some(i),
                None => {
                    return Err(Diag::new(
                        1,
                        h,
                        format!("unknown column; the columns are {}", HEADER.join(", ")),
                    ))
                }
            }
        }
        for (c, name) in HEADER.iter().enumerate().take(2) {
            if cols[c].is_none() {
                return Err(Diag::new(1, *name, "missing column in the header row"));
            }
        }
        Ok(CsvRows {
            reader,
            cols,
            record: csv::StringRecord::new(),
        })
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<RawRow>, Diag> {
        let line = self.reader.position().line();
        match self.reader.read_record(&mut self.record) {
            Err(e) => Err(csv_diag(&e, line)),
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self.record.position().map_or(line, |p| p.line());
                let get = |c: usize| {
                    self.cols[c]
                        .and_then(|i| self.record.get(i))
                        .unwrap_or("")
                        .to_string()
                };
                Ok(Some(RawRow {
                    line,
                    agent: get(0),
                    skill: get(1),
                    proficiency: get(2),
                    effective_date: get(3),
                    expiration_date: get(4),
                }))
            }
        }
    }
}

fn csv_diag(e: &csv::Error, line: u64) -> Diag {
    let line = e.position().map_or(line, |p| p.line());
    Diag::new(line, "-", format!("unreadable CSV: {e}"))
}
