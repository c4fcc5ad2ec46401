//! Reading a request body: content type (415), size (413), JSON syntax (`invalid_json` with
//! line and column, worded by core's `validate::parse_json`, which also ignores a leading
//! byte-order mark and notes repeated keys). What comes out is a [`Document`] for the
//! validator, or the raw bytes for the validators that parse them themselves (bulk, skill to
//! agents, skill-set PUT and PATCH); no framework extractor ever rejects a body with its own
//! message.

use crate::connections::BodyTimeout;
use crate::error::ApiError;
use axum::body::Body;
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry, Locator, ProblemCode};
use skillgrid_core::validate::{self, Document};

/// True when the header names `application/json` (a `charset` or other parameter is fine).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ProblemCode::PayloadTooLarge,
        format!("the request body is larger than this organization's limit of {limit} bytes (limits.maxBodyBytes); split it into smaller requests"),
    )
}

/// Reads the body as bytes, at most `limit` of them.
pub async fn read_bytes(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
) -> Result<axum::body::Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    // A declared length is read straight into one buffer of that size (a large bulk body is
    // then neither gathered in pieces nor copied once more at the end); the limit holds either
    // way, and a body longer than it declared is refused as hyper refuses it.
    let mut body = Limited::new(body, limit as usize);
    let mut buf = crate::buffers::take(declared.unwrap_or(0) as usize);
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(data) = f.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(too_large(limit))
            }
            Err(e) => return Err(unreadable(&*e)),
        }
    }
    Ok(crate::buffers::into_bytes(buf))
}

/// 408 for a body that stopped arriving in time; 400 `bad_request` for one whose framing
/// broke (a malformed chunk, a connection closed early).
fn unreadable(e: &(dyn std::error::Error + 'static)) -> ApiError {
    match crate::connections::is_body_timeout(e) {
        Some(t) => timed_out(t),
        None => ApiError::new(
            ProblemCode::BadRequest,
            format!("the request body could not be read: {e}"),
        ),
    }
}

pub fn timed_out(t: &BodyTimeout) -> ApiError {
    ApiError::new(
        ProblemCode::RequestTimeout,
        format!("{t}; send the body at once, or split the work into smaller requests"),
    )
}

/// 415 unless the body is declared as JSON.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    if !is_json(headers) {
        let got = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        return Err(ApiError::new(
            ProblemCode::UnsupportedMediaType,
            format!("request bodies must be sent as Content-Type: application/json, not {got}"),
        )
        .with_errors(vec![ErrorEntry::new(
            Locator::Header("Content-Type".into()),
            EntryCode::InvalidFormat,
            format!("Content-Type `{got}` is not application/json"),
        )
        .expected("application/json")
        .received(Value::String(got.to_string()))]));
    }
    Ok(())
}

/// Checks the content type, reads at most `limit` bytes and parses them as JSON.
pub async fn read_json(headers: &HeaderMap, body: Body, limit: u64) -> Result<Document, ApiError> {
    require_json(headers)?;
    let bytes = read_bytes(headers, body, limit).await?;
    parse_json(&bytes)
}

/// `invalid_json` (with line and column) unless the bytes are one JSON document.
pub fn parse_json(bytes: &[u8]) -> Result<Document, ApiError> {
    validate::parse_json(bytes).map_err(ApiError::one)
}

/// The validator's `walk` of a parsed body: its value, or 400 with every problem, keys the
/// body repeats among them.
pub fn check<T>(
    doc: &Document,
    walk: impl FnOnce(&Value) -> Result<T, Vec<ErrorEntry>>,
) -> Result<T, ApiError> {
    doc.check(walk).map_err(ApiError::validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_line_and_column() {
        let Err(ApiError::Problem { problem, .. }) = parse_json(b"{\n  \"skills\": [1,]\n}") else {
            panic!()
        };
        let e = &problem.errors[0];
        assert_eq!(
            (e.code, e.line, e.column),
            (EntryCode::InvalidJson, Some(2), Some(16))
        );
    }
}
