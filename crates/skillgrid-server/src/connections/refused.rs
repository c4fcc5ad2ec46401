//! Answers to requests refused before any route sees them. hyper answers a head it cannot
//! parse by itself, with a bare status and no body (400 for a malformed request line, header
//! or framing; 414 for a URI past 64 KiB; 431 for a head past its buffer or 100 headers), and
//! offers no hook to change it: that answer is recognised as it is written and replaced by a
//! problem+json one with a request id, logged like any other answer.

use axum::http::StatusCode;
use skillgrid_api::{Problem, ProblemCode};

/// The problem answered for a head hyper refused with `status`.
pub fn problem(status: u16) -> Problem {
    let (code, detail) = match status {
        414 => (
            ProblemCode::UriTooLong,
            "the request's URI is longer than the 64 KiB this server reads; send fewer or shorter query parameters",
        ),
        431 => (
            ProblemCode::HeadersTooLarge,
            "the request's head is larger than this server reads (about 400 KiB, at most 100 headers); send fewer or shorter headers",
        ),
        _ => (
            ProblemCode::BadRequest,
            "the request is not well-formed HTTP/1.1: its request line, a header or its framing (Content-Length, Transfer-Encoding) cannot be read",
        ),
    };
    Problem::new(code, detail)
}

/// The answer to send instead of `written`, when `written` is hyper's own answer to a head it
/// refused: a status of 400 or more with an empty body and no content type. Every answer of
/// the router to an error has a problem body, so it never looks like that.
pub(super) fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    // "HTTP/1.1 431 …": the status's first digit is at 9.
    if written.len() < 12 || !written.starts_with(b"HTTP/1.") || !b"45".contains(&written[9]) {
        return None;
    }
    let end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&written[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let version = status_line.get(..8)?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let mut empty = false;
    let mut date = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => return None,
            "content-length" => empty = value == "0",
            "date" => date = Some(value),
            _ => {}
        }
    }
    if !empty {
        return None;
    }
    Some(answer(version, status, date))
}

fn answer(version: &str, status: u16, date: Option<&str>) -> Vec<u8> {
    let mut problem = problem(status);
    let id = uuid::Uuid::now_v7().to_string();
    problem.request_id = id.clone();
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let reason = StatusCode::from_u16(problem.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    tracing::info!(request_id = %id, status = problem.status, route = "unparsed", "request refused before routing");
    metrics::counter!("http_requests_total", "method" => "UNKNOWN", "route" => "unparsed", "status" => problem.status.to_string())
        .increment(1);
    let mut out = format!(
        "{version} {} {reason}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nx-request-id: {id}\r\nconnection: close\r\n",
        problem.status,
        body.len()
    );
    if let Some(d) = date {
        out.push_str(&format!("date: {d}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_refusals_are_replaced_by_problems() {
        for (status, code) in [
            (400, "bad_request"),
            (414, "uri_too_long"),
            (431, "headers_too_large"),
        ] {
            let bare = format!(
                "HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 10:00:00 GMT\r\n\r\n"
            );
            let out = String::from_utf8(replacement(bare.as_bytes()).expect("replaced")).unwrap();
            let (head, body) = out.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(head.contains("content-type: application/problem+json"));
            assert!(head.contains("date: Sat, 05 Dec 2026 10:00:00 GMT"));
            assert!(head.contains(&format!("content-length: {}", body.len())));
            let p: Problem = serde_json::from_str(body).unwrap();
            assert_eq!((p.status, p.code.as_str()), (status, code));
            assert!(head.contains(&format!("x-request-id: {}", p.request_id)));
        }
    }

    #[test]
    fn answers_of_the_router_are_left_alone() {
        for written in [
            // Success, and errors with a body.
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 120\r\n\r\n",
            // The middle of a body, and a head cut short.
            b"{\"status\": 400}",
            b"HTTP/1.1 400 Bad Request\r\ncontent-len",
            b"",
        ] {
            assert!(replacement(written).is_none(), "{written:?}");
        }
    }
}
