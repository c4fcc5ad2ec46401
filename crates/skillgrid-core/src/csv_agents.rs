//! Agent CSV files, the shape `skillgrid agents import` reads: a header row naming `email`
//! and `name`, and optionally `active` and `externalId` (any order, any case); one agent a
//! record, with its 1-based line in the file (the header is line 1). The mistakes found
//! without the server are told against their line and column ([`Diag`]), and so are the
//! server's, through the way back from a pointer of a bulk request built from the rows
//! ([`AgentLines`]).

use crate::csv_import::Diag;
use crate::csv_records::Records;
use std::collections::HashMap;
use std::io::Read;

/// The columns a file may have; the first two are required.
pub const AGENT_HEADER: [&str; 4] = ["email", "name", "active", "externalId"];

/// One agent as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    pub line: u64,
    pub email: String,
    pub name: String,
    /// `None`: the column is absent or the cell empty (an existing agent keeps its flag, a new
    /// one is active).
    pub active: Option<bool>,
    /// `None`: no such column (an existing agent keeps its external id); `Some(None)`: an empty
    /// cell (none).
    pub external_id: Option<Option<String>>,
}

/// Streams the records of an agent CSV.
pub struct AgentCsv<R> {
    /// [`AGENT_HEADER`]'s columns.
    records: Records<R, 4>,
    /// The line each email (lower case) was first seen on.
    seen: HashMap<String, u64>,
}

impl<R: Read> AgentCsv<R> {
    /// Reads the header row of `file`; `Err` when it is unreadable, names a column that is not
    /// one of [`AGENT_HEADER`], names one twice, or lacks `email` or `name`.
    pub fn new(file: R) -> Result<Self, Diag> {
        Ok(AgentCsv {
            records: Records::new(file, &AGENT_HEADER, 2)?,
            seen: HashMap::new(),
        })
    }

    /// The next record, with the mistakes found in it (a bad `active`, an email seen on an
    /// earlier line); `None` at the end of the file, `Err` when the file cannot be read on.
    pub fn next_row(&mut self) -> Result<Option<Result<AgentRow, Vec<Diag>>>, Diag> {
        let Some(line) = self.records.read_next()? else {
            return Ok(None);
        };
        let cell = |c: usize| self.records.cell(c);
        let email = cell(0).unwrap_or_default();
        let name = cell(1).unwrap_or_default();
        let mut diags = Vec::new();
        let active = match cell(2).as_deref() {
            None | Some("") => None,
            Some(v) => match active_syntax(v) {
                Some(b) => Some(b),
                None => {
                    diags.push(Diag::new(
                        line,
                        "active",
                        format!("\"{v}\" is not true or false (yes/no and 1/0 are taken too)"),
                    ));
                    None
                }
            },
        };
        let external_id = cell(3).map(|v| (!v.is_empty()).then_some(v));
        if !email.is_empty() {
            match self.seen.get(&email.to_lowercase()) {
                Some(first) => diags.push(Diag::new(
                    line,
                    "email",
                    format!("\"{email}\" is on line {first} already (emails are compared case-insensitively); keep one row per agent"),
                )),
                None => {
                    self.seen.insert(email.to_lowercase(), line);
                }
            }
        }
        if !diags.is_empty() {
            return Ok(Some(Err(diags)));
        }
        Ok(Some(Ok(AgentRow {
            line,
            email,
            name,
            active,
            external_id,
        })))
    }
}

/// `active` as written: true/false, yes/no, 1/0, any case.
fn active_syntax(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// The lines of the agents of one bulk request, in request order: the way back from the
/// server's pointers (`/agents/3/name`) to the file.
#[derive(Debug, Default, Clone)]
pub struct AgentLines {
    pub lines: Vec<u64>,
}

impl AgentLines {
    /// The line and column a pointer of the request names; `None` for a pointer outside
    /// the agents (the request as a whole).
    pub fn locate(&self, pointer: &str) -> Option<(u64, String)> {
        let rest = pointer.strip_prefix("/agents/")?;
        let (i, field) = match rest.split_once('/') {
            Some((i, f)) => (i, f.to_string()),
            None => (rest, "-".to_string()),
        };
        let line = *self.lines.get(i.parse::<usize>().ok()?)?;
        Some((line, field))
    }

    /// An entry of the server's, as a mistake of the file.
    pub fn diag(&self, pointer: Option<&str>, detail: &str, hint: Option<&str>) -> Diag {
        let (line, column) = pointer
            .and_then(|p| self.locate(p))
            .unwrap_or((0, "-".to_string()));
        let message = match hint {
            Some(h) => format!("{detail} ({h})"),
            None => detail.to_string(),
        };
        Diag::new(line, column, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Result<AgentRow, Vec<Diag>>> {
        let mut csv = AgentCsv::new(text.as_bytes()).expect("header");
        let mut out = Vec::new();
        while let Some(r) = csv.next_row().expect("readable") {
            out.push(r);
        }
        out
    }

    #[test]
    fn rows_have_their_lines_and_mistakes() {
        let got = rows("Email,NAME,active\nana@example.com,Ana,true\n\nbo@example.com,\"Bo\nLind\",no\nANA@example.com,Ana,maybe\n");
        assert_eq!(got.len(), 3);
        let ana = got[0].as_ref().expect("valid");
        assert_eq!(
            (ana.line, ana.active, ana.external_id.clone()),
            (2, Some(true), None)
        );
        let bo = got[1].as_ref().expect("valid");
        assert_eq!(
            (bo.line, bo.name.as_str(), bo.active),
            (4, "Bo\nLind", Some(false))
        );
        let bad = got[2].as_ref().expect_err("two mistakes");
        let at: Vec<(u64, &str)> = bad.iter().map(|d| (d.line, d.column.as_str())).collect();
        assert_eq!(at, [(6, "active"), (6, "email")]);
        assert!(bad[1].message.contains("line 2"), "{}", bad[1].message);
    }

    #[test]
    fn the_header_is_checked() {
        let e = AgentCsv::new("email,active\n".as_bytes())
            .err()
            .expect("no name");
        assert_eq!((e.line, e.column.as_str()), (1, "name"));
        let e = AgentCsv::new("email,name,role\n".as_bytes())
            .err()
            .expect("unknown");
        assert_eq!(e.column, "role");
        let got = rows("email,name,externalId\na@b.co,A,\n");
        assert_eq!(got[0].as_ref().expect("valid").external_id, Some(None));
    }

    #[test]
    fn pointers_lead_back_to_lines() {
        let l = AgentLines {
            lines: vec![2, 5, 9],
        };
        assert_eq!(l.locate("/agents/1/name"), Some((5, "name".into())));
        assert_eq!(l.locate("/agents/2"), Some((9, "-".into())));
        assert_eq!(l.locate("/agents/3/name"), None);
        assert_eq!(l.locate("/agents"), None);
    }
}
