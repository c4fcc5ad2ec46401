//! The assignment files `apply`, `plan` and `validate` read, as rows of one assignment each:
//!
//! - CSV: `agent,skill,proficiency,effectiveDate,expirationDate` with a header row, read one
//!   record at a time, each with its 1-based line in the file (the header is line 1);
//! - JSON: an array of bulk items or `{"items": [...]}`; rows are placed by
//!   their JSON pointer (their `line` is only an ordinal);
//! - NDJSON: one bulk item per line, read one line at a time; rows are placed by that line.
//!
//! A bulk item's `remove` entries and its `ifMatch` become rows of their own ([`Kind`]), so
//! that every part of a file is placed and checked the same way.

use serde_json::Value;
use skillgrid_client::IfMatch;
use skillgrid_core::csv_import;
use skillgrid_core::model::Precondition;
use skillgrid_core::validate::rules::{ASSIGNMENT, BULK_ITEM};
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

// The CSV shape, its rows and their mistakes are one copy, shared with the console's import.
pub use csv_import::{check_row, proficiency_syntax, Diag, Kind, RawRow, HEADER};

/// The records of an assignment CSV file.
pub type CsvRows = csv_import::CsvRows<File>;

/// The format of an assignment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Csv,
    Json,
    Ndjson,
}

impl InputFormat {
    /// `given`, else by the file's extension (`.json`, `.ndjson`/`.jsonl`; anything else: CSV).
    pub fn detect(path: &Path, given: Option<InputFormat>) -> InputFormat {
        if let Some(f) = given {
            return f;
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => InputFormat::Json,
            Some("ndjson") | Some("jsonl") => InputFormat::Ndjson,
            _ => InputFormat::Csv,
        }
    }
}

/// One entry of an assignment file.
#[derive(Debug, Clone)]
pub enum Next {
    Row(RawRow),
    /// Rows that could not be read (a JSON item of the wrong shape); none of the item is used.
    Invalid(Vec<Diag>),
}

/// The rows of an assignment file of any [`InputFormat`].
pub enum Rows {
    Csv(CsvRows),
    /// NDJSON, one line at a time; `c` holds the rows of the line being handed out.
    Ndjson {
        lines: std::io::Lines<BufReader<File>>,
        n: u64,
        c: Collector,
    },
    /// A JSON document, parsed one bulk item at a time on a thread of its own (see
    /// [`stream_items`]); `c` holds the rows of the item being handed out.
    Json {
        items: std::sync::mpsc::Receiver<Result<(String, Value), Diag>>,
        c: Collector,
    },
}

impl Rows {
    /// `Err` when the file cannot be opened or read as a whole (bad header, not JSON).
    pub fn open(path: &Path, format: InputFormat) -> Result<Rows, Diag> {
        let cannot_open = |e: std::io::Error| Diag::new(1, "-", format!("cannot open: {e}"));
        match format {
            InputFormat::Csv => CsvRows::new(File::open(path).map_err(cannot_open)?).map(Rows::Csv),
            InputFormat::Ndjson => Ok(Rows::Ndjson {
                lines: BufReader::new(File::open(path).map_err(cannot_open)?).lines(),
                n: 0,
                c: Collector::new(false),
            }),
            InputFormat::Json => Ok(Rows::Json {
                items: stream_items(File::open(path).map_err(cannot_open)?),
                c: Collector::new(true),
            }),
        }
    }

    /// The next entry, or `None` at the end; `Err` when the rest of the file is unreadable.
    pub fn next_entry(&mut self) -> Result<Option<Next>, Diag> {
        match self {
            Rows::Csv(r) => Ok(r.next_row()?.map(Next::Row)),
            Rows::Json { items, c } => loop {
                if let Some(next) = c.out.pop_front() {
                    return Ok(Some(next));
                }
                match items.recv() {
                    Ok(Ok((pointer, v))) => c.item(&v, 0, &pointer),
                    Ok(Err(d)) => return Err(d),
                    // The whole document was read.
                    Err(_) => return Ok(None),
                }
            },
            Rows::Ndjson { lines, n, c } => loop {
                if let Some(next) = c.out.pop_front() {
                    return Ok(Some(next));
                }
                let Some(line) = lines.next() else {
                    return Ok(None);
                };
                *n += 1;
                let line = line.map_err(|e| Diag::new(*n, "-", format!("unreadable: {e}")))?;
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => c.item(&v, *n, ""),
                    Err(e) => c.out.push_back(Next::Invalid(vec![Diag::new(
                        *n,
                        "-",
                        format!("invalid JSON: {e}"),
                    )])),
                }
            },
        }
    }
}

/// Bulk items parsed ahead of the reader, at most.
const ITEMS_AHEAD: usize = 256;

/// The bulk items of a JSON document (`[BULK_ITEM, …]` or `{"items": [...]}`), each with its
/// pointer, parsed from `file` one at a time on a thread of its own and handed over through a
/// bounded channel, so a large document is never held whole. A document that is not one of
/// those shapes, or not JSON, ends the items with an error, wherever it is found.
fn stream_items(file: File) -> std::sync::mpsc::Receiver<Result<(String, Value), Diag>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(ITEMS_AHEAD);
    std::thread::spawn(move || {
        let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 20, file));
        let root = Root { tx: &tx };
        let done = serde::de::DeserializeSeed::deserialize(root, &mut de).and_then(|()| de.end());
        if let Err(e) = done {
            // Our own refusals were sent already; a closed channel means the reader stopped.
            if !e.to_string().starts_with(STOPPED) {
                let _ = tx.send(Err(Diag::new(
                    e.line() as u64,
                    "-",
                    format!("invalid JSON: {e}"),
                )
                .at(Some(String::new()))));
            }
        }
    });
    rx
}

type ItemSender = std::sync::mpsc::SyncSender<Result<(String, Value), Diag>>;

/// How an error of ours starts: already reported, or the reader is gone.
const STOPPED: &str = "skillgrid: stopped";

fn stopped<E: serde::de::Error>() -> E {
    E::custom(STOPPED)
}

/// The visitor methods of the JSON values that a visitor of the file's structure does not
/// take, each answered by `$refuse`.
macro_rules! refuse_scalars {
    ($refuse:ident) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
            self.$refuse()
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
            self.$refuse()
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
            self.$refuse()
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
            self.$refuse()
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
            self.$refuse()
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
            self.$refuse()
        }
    };
}

/// The root of a JSON input document.
struct Root<'a> {
    tx: &'a ItemSender,
}

impl<'de> serde::de::DeserializeSeed<'de> for Root<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Root<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of bulk items or {\"items\": [...]}")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Items {
            tx: self.tx,
            prefix: "",
        }
        .visit_seq(seq)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut items = false;
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                "items" => {
                    map.next_value_seed(Items {
                        tx: self.tx,
                        prefix: "/items",
                    })?;
                    items = true;
                }
                "mode" | "atomic" => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                other => {
                    let d = Diag::new(1, other, "unknown field; expected {\"items\": [...]}")
                        .at(Some(format!("/{other}")));
                    let _ = self.tx.send(Err(d));
                    return Err(stopped());
                }
            }
        }
        if !items {
            let d = Diag::new(1, "items", "expected {\"items\": [BULK_ITEM, …]}")
                .at(Some("/items".into()));
            let _ = self.tx.send(Err(d));
            return Err(stopped());
        }
        Ok(())
    }

    // Anything else at the root.
    refuse_scalars!(wrong_root);
}

impl Root<'_> {
    fn wrong_root<E: serde::de::Error>(self) -> Result<(), E> {
        let d = Diag::new(
            1,
            "-",
            "expected a JSON array of bulk items or {\"items\": [...]}",
        )
        .at(Some(String::new()));
        let _ = self.tx.send(Err(d));
        Err(stopped())
    }
}

/// The array of bulk items, each sent on as it is parsed.
struct Items<'a> {
    tx: &'a ItemSender,
    prefix: &'static str,
}

impl<'de> serde::de::DeserializeSeed<'de> for Items<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of bulk items")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            if self
                .tx
                .send(Ok((format!("{}/{i}", self.prefix), v)))
                .is_err()
            {
                return Err(stopped());
            }
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_a_list()
    }
    refuse_scalars!(not_a_list);
}

impl Items<'_> {
    fn not_a_list<E: serde::de::Error>(self) -> Result<(), E> {
        let d =
            Diag::new(1, "items", "expected {\"items\": [BULK_ITEM, …]}").at(Some("/items".into()));
        let _ = self.tx.send(Err(d));
        Err(stopped())
    }
}

/// Turns bulk items into rows: NDJSON rows keep their line, JSON rows get an ordinal and
/// their pointer.
pub struct Collector {
    out: VecDeque<Next>,
    ordinal: u64,
    json: bool,
}

impl Collector {
    fn new(json: bool) -> Self {
        Collector {
            out: VecDeque::new(),
            ordinal: 0,
            json,
        }
    }

    /// Numbers a row of a JSON file and records its pointer.
    fn place(&mut self, row: &mut RawRow, pointer: String) {
        if self.json {
            self.ordinal += 1;
            row.line = self.ordinal;
            row.pointer = Some(pointer);
        }
    }

    fn diag(&mut self, line: u64, pointer: String, column: &str, msg: impl Into<String>) -> Diag {
        if self.json {
            self.ordinal += 1;
            Diag::new(self.ordinal, column, msg).at(Some(pointer))
        } else {
            Diag::new(line, column, msg)
        }
    }

    fn item(&mut self, v: &Value, line: u64, at: &str) {
        let mut errs = Vec::new();
        let Some(obj) = v.as_object() else {
            let d = self.diag(
                line,
                at.into(),
                "-",
                "a bulk item is an object {\"agentId\": …, \"skills\": [ASSIGNMENT, …]}",
            );
            self.out.push_back(Next::Invalid(vec![d]));
            return;
        };
        for k in obj.keys() {
            if !BULK_ITEM.fields.contains(&k.as_str()) {
                let msg = format!(
                    "unknown field `{k}`; a bulk item has agentId, skills, remove and ifMatch"
                );
                errs.push(self.diag(line, format!("{at}/{k}"), k, msg));
            }
        }
        let agent = match obj.get("agentId") {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(_) => {
                errs.push(self.diag(
                    line,
                    format!("{at}/agentId"),
                    "agent",
                    "agentId must be a string (an agent id or email)",
                ));
                String::new()
            }
            None => {
                errs.push(self.diag(
                    line,
                    format!("{at}/agentId"),
                    "agent",
                    "missing field agentId",
                ));
                String::new()
            }
        };
        let mut rows = Vec::new();
        let new_row = |kind| RawRow {
            kind,
            line,
            agent: agent.clone(),
            ..Default::default()
        };
        match obj.get("ifMatch") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let mut row = new_row(Kind::IfMatch);
                row.if_match = s.trim().to_string();
                self.place(&mut row, format!("{at}/ifMatch"));
                rows.push(row);
            }
            Some(v) => errs.push(self.diag(
                line,
                format!("{at}/ifMatch"),
                "ifMatch",
                format!("ifMatch is an ETag string such as \"\\\"7\\\"\" or \"*\", not {v}"),
            )),
        }
        let skills = self.list(obj.get("skills"), line, at, "skills", &mut errs);
        let remove = self.list(obj.get("remove"), line, at, "remove", &mut errs);
        if skills.is_empty() && remove.is_empty() && errs.is_empty() {
            errs.push(self.diag(
                line,
                format!("{at}/skills"),
                "skill",
                "nothing to do: the command line needs at least one entry in skills or remove",
            ));
        }
        for (j, a) in skills.iter().enumerate() {
            let ptr = format!("{at}/skills/{j}");
            let Some(a) = a.as_object() else {
                errs.push(self.diag(
                    line,
                    ptr,
                    "skill",
                    "an assignment is an object {\"skillId\": …, \"proficiency\": …}",
                ));
                continue;
            };
            let mut row = new_row(Kind::Assign);
            if !a.contains_key("skillId") {
                errs.push(self.diag(
                    line,
                    format!("{ptr}/skillId"),
                    "skill",
                    "missing field skillId",
                ));
            }
            for (k, v) in a {
                if !ASSIGNMENT.fields.contains(&k.as_str()) {
                    errs.push(self.diag(
                        line,
                        format!("{ptr}/{k}"),
                        k,
                        format!("unknown field `{k}`; an assignment has skillId, proficiency, effectiveDate, expirationDate"),
                    ));
                    continue;
                }
                let (slot, column) = match k.as_str() {
                    "skillId" => (&mut row.skill, "skill"),
                    "proficiency" => (&mut row.proficiency, "proficiency"),
                    "effectiveDate" => (&mut row.effective_date, "effectiveDate"),
                    _ => (&mut row.expiration_date, "expirationDate"),
                };
                match v {
                    Value::String(s) => *slot = s.trim().to_string(),
                    Value::Number(n) if column == "proficiency" => *slot = n.to_string(),
                    Value::Null if column != "skill" => {}
                    _ => errs.push(self.diag(
                        line,
                        format!("{ptr}/{k}"),
                        column,
                        format!("{k} has the wrong type: {v}"),
                    )),
                }
            }
            self.place(&mut row, ptr);
            rows.push(row);
        }
        for (j, r) in remove.iter().enumerate() {
            let ptr = format!("{at}/remove/{j}");
            let Value::String(s) = r else {
                errs.push(self.diag(
                    line,
                    ptr,
                    "remove",
                    format!("a remove entry is a skill id or name (a string), not {r}"),
                ));
                continue;
            };
            let mut row = new_row(Kind::Remove);
            row.skill = s.trim().to_string();
            self.place(&mut row, ptr);
            rows.push(row);
        }
        if errs.is_empty() {
            self.out.extend(rows.into_iter().map(Next::Row));
        } else {
            self.out.push_back(Next::Invalid(errs));
        }
    }

    /// The array at `at/field` (absent or null: empty); anything else is reported.
    fn list<'v>(
        &mut self,
        v: Option<&'v Value>,
        line: u64,
        at: &str,
        field: &str,
        errs: &mut Vec<Diag>,
    ) -> &'v [Value] {
        match v {
            None | Some(Value::Null) => &[],
            Some(Value::Array(a)) => a,
            Some(_) => {
                let column = if field == "skills" { "skill" } else { field };
                errs.push(self.diag(
                    line,
                    format!("{at}/{field}"),
                    column,
                    format!("{field} must be an array"),
                ));
                &[]
            }
        }
    }
}

/// An `ifMatch` as written: the ETag `"N"` (with its quotes) or `*`, read by the server's own
/// reader of `If-Match` (which a bulk item's `ifMatch` follows), so that the two cannot drift.
///
/// One deliberate difference: a weak ETag `W/"N"` is an ETag the server reads, but it never
/// matches (`If-Match` compares strongly), so the server would refuse the item with 412
/// whatever the agent's version. It is refused here, before anything is sent.
pub fn if_match_syntax(v: &str) -> Result<IfMatch, String> {
    match csv_import::if_match_syntax(v)? {
        Precondition::Version(n) => Ok(IfMatch::Version(n)),
        Precondition::Any => Ok(IfMatch::Any),
        // Refused by `csv_import::if_match_syntax` already.
        Precondition::Weak => Err(format!("bad ifMatch {v:?}: a weak ETag never matches")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagnostics of one bulk item of a JSON file at `/items/0`.
    fn item_diags(item: Value) -> Vec<Diag> {
        let mut c = Collector::new(true);
        c.item(&item, 1, "/items/0");
        match c.out.pop_front() {
            Some(Next::Invalid(d)) => d,
            other => panic!("{item} was taken: {other:?}"),
        }
    }

    #[test]
    fn fields_of_neither_an_item_nor_an_assignment_are_named() {
        let got = item_diags(serde_json::json!({
            "agentId": "ana@example.com",
            "etag": "\"3\"",
            "skills": [{"skillId": "Billing", "level": 3, "proficiency": 75}]
        }));
        let want = vec![
            Diag::new(
                1,
                "etag",
                "unknown field `etag`; a bulk item has agentId, skills, remove and ifMatch",
            )
            .at(Some("/items/0/etag".into())),
            Diag::new(
                2,
                "level",
                "unknown field `level`; an assignment has skillId, proficiency, effectiveDate, expirationDate",
            )
            .at(Some("/items/0/skills/0/level".into())),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn every_field_of_an_item_and_an_assignment_is_read() {
        let item = serde_json::json!({
            "agentId": "ana@example.com",
            "ifMatch": "\"3\"",
            "skills": [{
                "skillId": "Billing",
                "proficiency": 75,
                "effectiveDate": "2030-01-01T00:00:00Z",
                "expirationDate": "2031-01-01T00:00:00Z"
            }],
            "remove": ["Sales"]
        });
        let mut c = Collector::new(true);
        c.item(&item, 1, "/items/0");
        let rows: Vec<RawRow> = c
            .out
            .into_iter()
            .map(|n| match n {
                Next::Row(r) => r,
                Next::Invalid(d) => panic!("{d:?}"),
            })
            .collect();
        let kinds: Vec<Kind> = rows.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [Kind::IfMatch, Kind::Assign, Kind::Remove]);
        let a = &rows[1];
        assert_eq!(
            (
                a.skill.as_str(),
                a.proficiency.as_str(),
                a.effective_date.as_str(),
                a.expiration_date.as_str()
            ),
            (
                "Billing",
                "75",
                "2030-01-01T00:00:00Z",
                "2031-01-01T00:00:00Z"
            )
        );
        assert_eq!(rows[0].if_match, "\"3\"");
        assert_eq!(rows[2].skill, "Sales");
    }
}
