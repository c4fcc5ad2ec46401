//! Assignment CSV files, the shape `skillgrid apply` reads and the console imports: the
//! columns ([`HEADER`]), the records with their 1-based line in the file ([`CsvRows`], the
//! header is line 1), the mistakes found in a row without the server ([`check_row`]), each
//! against its line and column ([`Diag`]); how a value names an agent or a skill
//! ([`resolve`]); and the way back from a pointer of a bulk request built from the rows to the
//! line and column of the file ([`ItemLines`], [`locate`]).
//!
//! One copy, used by the CLI (`apply`, `plan`, `validate`) and the console's import.

use crate::csv_records::Records;
use crate::model::Precondition;
use crate::timestamp::Timestamp;
use crate::validate;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use uuid::Uuid;

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
    /// Where in a JSON file (then `line` is only an ordinal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    pub column: String,
    pub message: String,
}

impl Diag {
    pub fn new(line: u64, column: impl Into<String>, message: impl Into<String>) -> Self {
        Diag {
            line,
            pointer: None,
            column: column.into(),
            message: message.into(),
        }
    }

    pub fn at(mut self, pointer: Option<String>) -> Self {
        self.pointer = pointer;
        self
    }

    /// `FILE:LINE: column NAME: message` (`FILE:POINTER: …` in a JSON file).
    pub fn display<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        self.labelled(file, "")
    }

    /// `FILE:LINE: warning: column NAME: message`: a row written (or, in a dry run, that would
    /// be) that looks like a mistake.
    pub fn display_warning<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        self.labelled(file, "warning: ")
    }

    fn labelled<'a>(&'a self, file: &'a str, label: &'a str) -> impl fmt::Display + 'a {
        struct D<'a>(&'a Diag, &'a str, &'a str);
        impl fmt::Display for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match &self.0.pointer {
                    Some(p) => write!(f, "{}:{p}", self.1)?,
                    None => write!(f, "{}:{}", self.1, self.0.line)?,
                }
                write!(
                    f,
                    ": {}column {}: {}",
                    self.2, self.0.column, self.0.message
                )
            }
        }
        D(self, file, label)
    }
}

/// What a row asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    /// Assign `skill` at `proficiency` (a CSV record, or an entry of a bulk item's `skills`).
    #[default]
    Assign,
    /// Remove `skill` from the agent (an entry of a bulk item's `remove`).
    Remove,
    /// Write the agent only if its skills are at the version `if_match` (a bulk item's
    /// `ifMatch`).
    IfMatch,
}

/// One data record, fields trimmed; absent optional columns are empty.
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    pub kind: Kind,
    pub line: u64,
    pub agent: String,
    pub skill: String,
    pub proficiency: String,
    pub effective_date: String,
    pub expiration_date: String,
    /// The ETag of a [`Kind::IfMatch`] row.
    pub if_match: String,
    /// The row's JSON pointer, in a JSON file.
    pub pointer: Option<String>,
    /// Non-empty CSV fields beyond the header's columns.
    pub extra_fields: usize,
}

impl RawRow {
    pub fn diag(&self, column: &str, message: impl Into<String>) -> Diag {
        Diag::new(self.line, column, message).at(self.pointer.clone())
    }
}

/// Streams the records of an assignment CSV.
pub struct CsvRows<R> {
    /// [`HEADER`]'s columns.
    records: Records<R, 5>,
}

impl<R: Read> CsvRows<R> {
    /// Reads the header row of `file`; `Err` when it is unreadable or names a column that is
    /// not one of [`HEADER`], names one twice, or lacks `agent` or `skill`.
    pub fn new(file: R) -> Result<Self, Diag> {
        Ok(CsvRows {
            records: Records::new(file, &HEADER, 2)?,
        })
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<RawRow>, Diag> {
        let Some(line) = self.records.read_next()? else {
            return Ok(None);
        };
        let get = |c: usize| self.records.cell(c).unwrap_or_default();
        Ok(Some(RawRow {
            kind: Kind::Assign,
            line,
            agent: get(0),
            skill: get(1),
            proficiency: get(2),
            effective_date: get(3),
            expiration_date: get(4),
            if_match: String::new(),
            pointer: None,
            extra_fields: self.records.extra_fields(),
        }))
    }
}

/// A proficiency as written: none, a number or a level name (checked against the scale later).
pub fn proficiency_syntax(v: &str) -> Result<Option<Value>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    if v.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.') {
        return v
            .parse::<i64>()
            .map(|n| Some(Value::from(n)))
            .map_err(|_| format!("bad number \"{v}\": proficiency must be an integer"));
    }
    if v.chars()
        .all(|c| c.is_alphanumeric() || c == ' ' || c == '_' || c == '-')
    {
        Ok(Some(Value::from(v)))
    } else {
        Err(format!(
            "bad proficiency \"{v}\": expected an integer or a level name"
        ))
    }
}

/// An `ifMatch` as written: the ETag `"N"` (with its quotes) or `*`, read by the server's own
/// reader of `If-Match` (which a bulk item's `ifMatch` follows), so that the two cannot drift.
///
/// One deliberate difference: a weak ETag `W/"N"` is an ETag the server reads, but it never
/// matches (`If-Match` compares strongly), so the server would refuse the item with 412
/// whatever the agent's version. It is refused here, before anything is sent.
pub fn if_match_syntax(v: &str) -> Result<Precondition, String> {
    match crate::validate::precondition_header(Some(v)) {
        Ok(Some(p @ (Precondition::Version(_) | Precondition::Any))) => Ok(p),
        Ok(Some(Precondition::Weak)) => {
            let strong = v.trim().trim_start_matches("W/");
            Err(format!(
                "bad ifMatch {v:?}: a weak ETag never matches, since ETags are compared strongly (the server would answer 412); send {strong:?}"
            ))
        }
        Ok(None) | Err(_) => Err(format!(
            "bad ifMatch {v:?}: expected an ETag such as \"\\\"7\\\"\" (with the quotes) or \"*\""
        )),
    }
}

/// Every problem of a row that can be found without the server.
pub fn check_row(row: &RawRow) -> Vec<Diag> {
    let mut out = Vec::new();
    if row.agent.is_empty() {
        out.push(row.diag("agent", "missing value: an agent id or email is required"));
    }
    if row.kind == Kind::IfMatch {
        if let Err(m) = if_match_syntax(&row.if_match) {
            out.push(row.diag("ifMatch", m));
        }
        return out;
    }
    if row.kind == Kind::Remove && row.skill.is_empty() {
        out.push(row.diag("remove", "missing value: a skill id or name is required"));
        return out;
    }
    if row.skill.is_empty() {
        out.push(row.diag("skill", "missing value: a skill id or name is required"));
    }
    if let Err(m) = proficiency_syntax(&row.proficiency) {
        out.push(row.diag("proficiency", m));
    }
    let mut dates = [None, None];
    for (i, (column, v)) in [
        ("effectiveDate", &row.effective_date),
        ("expirationDate", &row.expiration_date),
    ]
    .into_iter()
    .enumerate()
    {
        if v.is_empty() {
            continue;
        }
        // The server's reader: RFC 3339, from year 1 to year 9999.
        match validate::timestamp(v) {
            Some(t) => dates[i] = Some(t),
            None if Timestamp::parse_rfc3339(v).is_some() => out.push(row.diag(
                column,
                format!("bad date \"{v}\": expected a time from year 1 to year 9999 (UTC)"),
            )),
            None => out.push(row.diag(
                column,
                format!("bad date \"{v}\": expected RFC 3339, e.g. 2030-01-01T00:00:00Z"),
            )),
        }
    }
    if let [Some(from), Some(until)] = dates {
        if until <= from {
            out.push(row.diag(
                "expirationDate",
                "expirationDate must be later than effectiveDate",
            ));
        }
    }
    if row.extra_fields > 0 {
        out.push(row.diag(
            "-",
            format!(
                "{} value(s) beyond the header's columns; the columns are {}",
                row.extra_fields,
                HEADER.join(", ")
            ),
        ));
    }
    out
}

/// `v`, an id or else a `key` in any case, to what `by_id` or `by_key` (whose keys are
/// lowercase) holds for it; `what` is the resource with its article, for the messages.
/// An id may be written in any spelling of a UUID (hyphenated, 32 hex digits, braced,
/// `urn:uuid:`).
pub fn resolve<T: Copy>(
    v: &str,
    by_id: &HashMap<Uuid, T>,
    by_key: &HashMap<String, T>,
    what: &str,
    key: &str,
) -> Result<T, String> {
    if v.is_empty() {
        return Err(format!("missing value: {what} id or {key} is required"));
    }
    let noun = what.split_once(' ').map_or(what, |(_, n)| n);
    if let Ok(id) = Uuid::parse_str(v) {
        return by_id
            .get(&id)
            .copied()
            .ok_or_else(|| format!("unknown {noun} id {id}"));
    }
    by_key
        .get(&v.to_lowercase())
        .copied()
        .ok_or_else(|| format!("unknown {noun} {key} \"{v}\""))
}

/// The lines of the file one bulk item was built from: its agent's first row, the row of each
/// of its `skills` and `remove` entries, in order, and the row of its `ifMatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemLines {
    pub first_line: u64,
    pub skills: Vec<u64>,
    pub remove: Vec<u64>,
    pub if_match: Option<u64>,
}

impl ItemLines {
    pub fn new(first_line: u64) -> Self {
        ItemLines {
            first_line,
            ..Default::default()
        }
    }

    /// `(line, column)` of the file cell that `rest`, a pointer inside this item split at
    /// its slashes, names.
    pub fn cell(&self, rest: &[&str]) -> Option<(u64, &'static str)> {
        let at = |lines: &[u64], j: &str| lines.get(j.parse::<usize>().ok()?).copied();
        match rest {
            ["skills", j, field @ ..] => {
                let column = match field.first() {
                    Some(&"proficiency") => "proficiency",
                    Some(&"effectiveDate") => "effectiveDate",
                    Some(&"expirationDate") => "expirationDate",
                    _ => "skill",
                };
                Some((at(&self.skills, j)?, column))
            }
            ["remove", j, ..] => Some((at(&self.remove, j)?, "remove")),
            ["ifMatch", ..] => Some((self.if_match?, "ifMatch")),
            // The item as a whole (an emptied set): its agent's first row.
            _ => Some((self.first_line, "agent")),
        }
    }
}

/// `(line, column)` of the file cell a pointer of a bulk request names: `/items/I/…`, or, when
/// the pointer is relative to item `item`, `/…`; `item_lines(i)` gives the lines of item `i`.
pub fn locate<'a>(
    pointer: &str,
    item: Option<usize>,
    item_lines: impl Fn(usize) -> Option<&'a ItemLines>,
) -> Option<(u64, &'static str)> {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let (i, rest) = match parts.as_slice() {
        ["items", i, rest @ ..] => (i.parse::<usize>().ok()?, rest),
        rest => (item?, rest),
    };
    item_lines(i)?.cell(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<Result<RawRow, Diag>>, Diag> {
        let mut r = CsvRows::new(text.as_bytes())?;
        let mut out = Vec::new();
        loop {
            match r.next_row() {
                Ok(Some(row)) => out.push(Ok(row)),
                Ok(None) => return Ok(out),
                Err(d) => {
                    out.push(Err(d));
                    return Ok(out);
                }
            }
        }
    }

    #[test]
    fn blank_lines_count_in_the_line_numbers() {
        let got = rows(
            "agent,skill,proficiency\n\nana@example.com,Billing,3\n\n\nben@example.com,Voice,2\n",
        )
        .unwrap();
        let lines: Vec<u64> = got.into_iter().map(|r| r.unwrap().line).collect();
        assert_eq!(lines, [3, 6]);
        // Windows line ends, a quoted field over two lines after a blank line, no last line end.
        let got = rows(
            "agent,skill\r\n\r\nana@example.com,\"Tech\r\nSupport\"\r\n\r\nben@example.com,Voice",
        )
        .unwrap();
        let got: Vec<(u64, String)> = got
            .into_iter()
            .map(|r| r.unwrap())
            .map(|r| (r.line, r.skill))
            .collect();
        assert_eq!(got, [(3, "Tech\r\nSupport".into()), (6, "Voice".into())]);
    }

    #[test]
    fn records_keep_the_line_of_the_file_and_the_columns_in_any_order() {
        let got = rows(
            "skill,Agent,proficiency\nBilling, ana@example.com ,3\n\"Tech\nSupport\",ben@example.com,\n",
        )
        .unwrap();
        let got: Vec<(u64, String, String, String)> = got
            .into_iter()
            .map(|r| r.unwrap())
            .map(|r| (r.line, r.agent, r.skill, r.proficiency))
            .collect();
        assert_eq!(
            got,
            [
                (2, "ana@example.com".into(), "Billing".into(), "3".into()),
                (
                    3,
                    "ben@example.com".into(),
                    "Tech\nSupport".into(),
                    String::new()
                ),
            ]
        );
    }

    #[test]
    fn a_header_without_agent_or_with_an_unknown_column_is_refused_at_line_1() {
        let e = rows("skill,proficiency\nBilling,3\n").err().unwrap();
        assert_eq!(e, Diag::new(1, "agent", "missing column in the header row"));
        let e = rows("agent,skill,level\n").err().unwrap();
        assert_eq!(e.line, 1);
        assert_eq!(e.column, "level");
        let e = rows("agent,skill,agent\n").err().unwrap();
        assert_eq!(e.message, "the column appears twice in the header");
    }

    #[test]
    fn row_mistakes_are_found_against_their_column() {
        let row = RawRow {
            line: 4,
            agent: "ana@example.com".into(),
            skill: "Billing".into(),
            proficiency: "3.5".into(),
            effective_date: "2031-01-01T00:00:00Z".into(),
            expiration_date: "2030-01-01T00:00:00Z".into(),
            extra_fields: 1,
            ..Default::default()
        };
        let got: Vec<(u64, String)> = check_row(&row)
            .into_iter()
            .map(|d| (d.line, d.column))
            .collect();
        assert_eq!(
            got,
            [
                (4, "proficiency".into()),
                (4, "expirationDate".into()),
                (4, "-".into())
            ]
        );
    }

    #[test]
    fn a_pointer_of_the_request_leads_back_to_its_cell() {
        let items = [
            ItemLines {
                first_line: 2,
                skills: vec![2, 3],
                remove: vec![],
                if_match: None,
            },
            ItemLines {
                first_line: 4,
                skills: vec![5],
                remove: vec![4],
                if_match: Some(6),
            },
        ];
        let get = |i: usize| items.get(i);
        assert_eq!(
            locate("/items/0/skills/1/proficiency", None, get),
            Some((3, "proficiency"))
        );
        assert_eq!(locate("/items/1/remove/0", None, get), Some((4, "remove")));
        assert_eq!(locate("/items/1/ifMatch", None, get), Some((6, "ifMatch")));
        assert_eq!(locate("/items/1", None, get), Some((4, "agent")));
        assert_eq!(locate("/skills/0", Some(1), get), Some((5, "skill")));
        assert_eq!(locate("/items/2/skills/0", None, get), None);
        assert_eq!(locate("/items/0/skills/7", None, get), None);
    }

    #[test]
    fn values_name_by_id_in_any_spelling_or_by_key_in_any_case() {
        let id = Uuid::from_u128(7);
        let by_id = HashMap::from([(id, 1u32)]);
        let by_key = HashMap::from([("ana@example.com".to_string(), 1u32)]);
        let r = |v: &str| resolve(v, &by_id, &by_key, "an agent", "email");
        assert_eq!(r("ANA@example.com"), Ok(1));
        assert_eq!(r(&id.simple().to_string()), Ok(1));
        assert_eq!(
            r("ben@example.com"),
            Err("unknown agent email \"ben@example.com\"".into())
        );
        assert_eq!(
            r(""),
            Err("missing value: an agent id or email is required".into())
        );
    }
}
