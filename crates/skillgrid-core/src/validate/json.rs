//! JSON syntax: the one `invalid_json` entry (with line and column) every body route answers
//! for a body that is not JSON at all.

use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry};

/// Parses `bytes` as one JSON document, or says where and why it is not one.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ErrorEntry> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        let mut e = ErrorEntry::at("", EntryCode::InvalidJson, "the request body is empty")
            .expected("a JSON document")
            .hint("send a JSON body; see the route's example in /docs");
        e.line = Some(1);
        e.column = Some(1);
        return Err(e);
    }
    serde_json::from_slice::<Value>(bytes).map_err(|err| {
        let mut e = ErrorEntry::at(
            "",
            EntryCode::InvalidJson,
            format!("the body is not valid JSON: {err}"),
        )
        .expected("a JSON document");
        e.line = Some(err.line().max(1));
        e.column = Some(err.column().max(1));
        if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
            e.hint = Some("JSON strings and keys use double quotes, not single quotes".into());
        }
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = parse_json(b"{\n  \"skills\": [1,]\n}").unwrap_err();
        assert_eq!(
            (e.code, e.line, e.column),
            (EntryCode::InvalidJson, Some(2), Some(16))
        );
    }

    #[test]
    fn an_empty_body_is_named_as_such() {
        let e = parse_json(b" \n").unwrap_err();
        assert_eq!(
            (e.detail.as_str(), e.line),
            ("the request body is empty", Some(1))
        );
    }
}
