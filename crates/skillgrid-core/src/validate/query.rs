//! Query strings: known parameters only, each checked, all problems at once.

use super::fields::parse_uuid;
use super::Report;
use crate::timestamp::Timestamp;
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry, Locator};

/// Which parameters a route takes.
pub struct QueryRules {
    pub allowed: &'static [&'static str],
}

/// Parsed parameters; each is `None` when absent.
#[derive(Debug, Default, Clone)]
pub struct QueryValues {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
    pub dry_run: bool,
    pub since: Option<Timestamp>,
    /// A webhook replay's first sequence number, 1 or more.
    pub from_sequence: Option<i64>,
    /// A position in a sequence (the event feed's): a non-negative integer.
    pub after: Option<i64>,
    /// A comma-separated list of names, checked by the route that takes it.
    pub types: Option<String>,
    /// `include=sources`: where each of an agent's skills comes from.
    pub sources: bool,
    /// The export's format.
    pub format: Option<ExportFormat>,
}

/// The formats of the assignment export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `text/csv`, with a header row.
    Csv,
    /// `application/x-ndjson`: one JSON object a line.
    Ndjson,
}

fn err(name: &str, code: EntryCode, detail: String, raw: &str) -> ErrorEntry {
    ErrorEntry::new(Locator::Query(name.to_string()), code, detail)
        .received(Value::String(raw.to_string()))
}

/// Parses `raw` (the part after `?`, percent-encoded).
pub fn parse_query(raw: Option<&str>, rules: &QueryRules) -> Result<QueryValues, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut q = QueryValues::default();
    let mut seen: Vec<String> = Vec::new();
    let pairs = raw.map(|s| s.as_bytes()).unwrap_or_default();
    for (k, v) in form_urlencoded_pairs(pairs) {
        if seen.contains(&k) {
            r.push(err(
                &k,
                EntryCode::InvalidFormat,
                format!("query parameter `{k}` is given more than once"),
                &v,
            ));
            continue;
        }
        seen.push(k.clone());
        if !rules.allowed.contains(&k.as_str()) {
            let mut e = err(
                &k,
                EntryCode::UnknownField,
                format!("`{k}` is not a query parameter of this route"),
                &v,
            )
            .expected(if rules.allowed.is_empty() {
                "no query parameters".to_string()
            } else {
                format!("only {}", super::fields::list_fields(rules.allowed))
            });
            if let Some(g) = super::hints::nearest_field(
                &k,
                rules.allowed,
                &[
                    ("dry_run", "dryRun"),
                    ("page_size", "limit"),
                    ("pageSize", "limit"),
                    ("after", "cursor"),
                    ("from", "since"),
                ],
            ) {
                e = e.hint(format!("did you mean `{g}`?"));
            }
            r.push(e);
            continue;
        }
        match k.as_str() {
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=1000).contains(&n) => q.limit = Some(n as u32),
                Ok(_) => r.push(
                    err(
                        &k,
                        EntryCode::OutOfRange,
                        format!("limit {v} is out of range"),
                        &v,
                    )
                    .expected("an integer from 1 to 1000"),
                ),
                Err(_) => r.push(
                    err(
                        &k,
                        EntryCode::InvalidType,
                        format!("limit `{v}` is not an integer"),
                        &v,
                    )
                    .expected("an integer from 1 to 1000"),
                ),
            },
            "cursor" => q.cursor = Some(v),
            "fromSequence" => match v.parse::<i64>() {
                Ok(n) if n >= 1 => q.from_sequence = Some(n),
                parsed => {
                    let (code, detail) = if parsed.is_ok() {
                        (
                            EntryCode::OutOfRange,
                            format!("fromSequence {v} is out of range"),
                        )
                    } else {
                        (
                            EntryCode::InvalidType,
                            format!("fromSequence `{v}` is not an integer"),
                        )
                    };
                    r.push(
                        err(&k, code, detail, &v)
                            .expected("an event sequence number: an integer of 1 or more"),
                    )
                }
            },
            "after" => match v.parse::<i64>() {
                Ok(n) if n >= 0 => q.after = Some(n),
                _ => r.push(
                    err(
                        &k,
                        EntryCode::InvalidFormat,
                        format!("after `{v}` is not a sequence number"),
                        &v,
                    )
                    .expected("an integer from 0 (the sequence number of the last event seen)"),
                ),
            },
            "types" => q.types = Some(v),
            "include" if v == "sources" => q.sources = true,
            "include" => r.push(
                err(
                    &k,
                    EntryCode::InvalidFormat,
                    format!("`{v}` is not something to include"),
                    &v,
                )
                .expected("`sources`"),
            ),
            "format" => match v.to_ascii_lowercase().as_str() {
                "csv" => q.format = Some(ExportFormat::Csv),
                "ndjson" => q.format = Some(ExportFormat::Ndjson),
                _ => r.push(
                    err(
                        &k,
                        EntryCode::InvalidFormat,
                        format!("format `{v}` is not one this route writes"),
                        &v,
                    )
                    .expected("csv or ndjson"),
                ),
            },
            // No name or email holds a control character (the bodies refuse them), and some
            // databases refuse NUL in text: say so rather than fail.
            "name" | "email" if v.chars().any(char::is_control) => r.push(
                err(
                    &k,
                    EntryCode::InvalidFormat,
                    format!("`{k}` contains control characters"),
                    &v,
                )
                .expected("printable text"),
            ),
            "name" => q.name = Some(v),
            "email" => q.email = Some(v),
            "active" | "dryRun" => {
                let b = match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => Some(true),
                    "false" | "0" => Some(false),
                    _ => None,
                };
                match b {
                    Some(b) if k == "active" => q.active = Some(b),
                    Some(b) => q.dry_run = b,
                    None => r.push(
                        err(
                            &k,
                            EntryCode::InvalidType,
                            format!("`{k}` must be true or false"),
                            &v,
                        )
                        .expected("true or false"),
                    ),
                }
            }
            "since" => match Timestamp::parse_rfc3339(&v.replace(' ', "+")) {
                Some(t) => q.since = Some(t),
                None => r.push(
                    err(
                        &k,
                        EntryCode::InvalidFormat,
                        format!("since `{v}` is not an RFC 3339 timestamp"),
                        &v,
                    )
                    .expected(
                        "an RFC 3339 timestamp such as 2026-11-22T11:30:00Z (encode `+` as %2B)",
                    ),
                ),
            },
            _ => {}
        }
    }
    r.finish(Some(q))
}

/// Checks a UUID path parameter.
pub fn path_uuid(name: &str, raw: &str) -> Result<uuid::Uuid, ErrorEntry> {
    parse_uuid(raw).ok_or_else(|| {
        ErrorEntry::new(
            Locator::Path(name.to_string()),
            EntryCode::InvalidFormat,
            format!("`{}` is not a UUID", super::fields::truncate(raw)),
        )
        .expected(super::fields::UUID_EXPECTED)
        .received(Value::String(super::fields::truncate(raw).to_string()))
    })
}

fn form_urlencoded_pairs(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|b| *b == b'&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let k = decode(it.next().unwrap_or_default());
            let v = decode(it.next().unwrap_or_default());
            (k, v)
        })
        .collect()
}

fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<QueryValues, Vec<ErrorEntry>> {
        parse_query(
            Some(raw),
            &QueryRules {
                allowed: &["format", "active"],
            },
        )
    }

    #[test]
    fn format_is_csv_or_ndjson_in_any_case() {
        for (raw, want) in [
            ("format=csv", ExportFormat::Csv),
            ("format=NDJSON", ExportFormat::Ndjson),
        ] {
            assert_eq!(parse(raw).unwrap().format, Some(want), "{raw}");
        }
    }

    #[test]
    fn a_wrong_format_and_a_wrong_active_are_reported_together() {
        let errors = parse("format=xml&active=maybe").unwrap_err();
        let at: Vec<Option<&str>> = errors.iter().map(|e| e.query.as_deref()).collect();
        assert_eq!(at, [Some("format"), Some("active")]);
        assert_eq!(errors[0].code, EntryCode::InvalidFormat);
        assert_eq!(errors[0].expected.as_deref(), Some("csv or ndjson"));
        assert_eq!(errors[1].code, EntryCode::InvalidType);
    }
}
