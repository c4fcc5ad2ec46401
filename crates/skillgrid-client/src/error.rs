//! The client's error type: problem details, OAuth errors and the rest.

use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use skillgrid_api::{ErrorEntry, OAuthError, Problem};
use std::fmt;
use std::time::Duration;

/// Everything a call can fail with.
#[derive(Debug)]
pub enum Error {
    /// The API answered with an `application/problem+json` body.
    Problem {
        status: u16,
        problem: Problem,
        /// `Retry-After` in seconds, when the answer carried one (429, 409 key in use).
        retry_after: Option<Duration>,
    },
    /// `POST /oauth/token` refused the client (RFC 6749 section 5.2).
    OAuth { status: u16, error: OAuthError },
    /// The request could not be sent or its answer not read.
    Transport(reqwest::Error),
    /// An answer whose body is not what the API documents (or a non-problem error body).
    Decode {
        status: u16,
        message: String,
        /// The start of the body, for diagnosis.
        body: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status of the answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Problem { status, .. }
            | Error::OAuth { status, .. }
            | Error::Decode { status, .. } => Some(*status),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
        }
    }

    /// The problem details, for `Error::Problem`.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The problem code (`validation_failed`, `precondition_failed`, …) or OAuth error code.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Problem { problem, .. } => Some(&problem.code),
            Error::OAuth { error, .. } => Some(&error.error),
            _ => None,
        }
    }

    /// The problem's entries (empty unless it is a problem that lists some).
    pub fn entries(&self) -> &[ErrorEntry] {
        self.problem().map_or(&[], |p| p.errors.as_slice())
    }

    /// The agent's current version of a `precondition_failed` problem.
    pub fn current_version(&self) -> Option<i64> {
        self.problem().and_then(|p| p.current_version)
    }

    pub(crate) fn decode(status: u16, message: impl Into<String>, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
        Error::Decode {
            status,
            message: message.into(),
            body: text,
        }
    }

    /// An error answer of the API: a problem when the body is one, else `Decode`.
    pub(crate) fn from_api_response(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        match serde_json::from_slice::<Problem>(body) {
            Ok(problem) => Error::Problem {
                status,
                problem,
                retry_after: retry_after(headers),
            },
            Err(e) => {
                let ct = headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("no content type");
                Error::decode(
                    status,
                    format!("the error answer is not a problem body ({ct}): {e}"),
                    body,
                )
            }
        }
    }

    /// An error answer of the token endpoint.
    pub(crate) fn from_token_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<OAuthError>(body) {
            Ok(error) => Error::OAuth { status, error },
            Err(e) => Error::decode(
                status,
                format!("the token error answer is not an OAuth error body: {e}"),
                body,
            ),
        }
    }
}

/// `Retry-After` as delta-seconds (the only form skillgrid sends).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn write_entry(f: &mut fmt::Formatter<'_>, e: &ErrorEntry) -> fmt::Result {
    let loc = [
        ("", &e.pointer),
        ("header ", &e.header),
        ("query ", &e.query),
        ("path ", &e.path),
    ]
    .into_iter()
    .find_map(|(kind, v)| v.as_ref().map(|v| format!("{kind}{v}")));
    match loc {
        Some(l) if l.is_empty() => write!(f, "(body)")?,
        Some(l) => write!(f, "{l}")?,
        None => write!(f, "-")?,
    }
    write!(f, ": {}", e.message())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Problem {
                status,
                problem,
                retry_after,
            } => {
                write!(f, "HTTP {status} {}: {}", problem.code, problem.detail)?;
                for e in &problem.errors {
                    write!(f, "\n  - ")?;
                    write_entry(f, e)?;
                }
                if let Some(v) = problem.current_version {
                    write!(f, "\n  current version: {v}")?;
                }
                if let Some(r) = retry_after {
                    write!(f, "\n  retry after {} s", r.as_secs())?;
                }
                if !problem.request_id.is_empty() {
                    write!(f, "\n  request id: {}", problem.request_id)?;
                }
                Ok(())
            }
            Error::OAuth { status, error } => write!(
                f,
                "token request refused (HTTP {status} {}): {}",
                error.error, error.error_description
            ),
            Error::Transport(e) => write!(f, "transport error: {e}"),
            Error::Decode {
                status,
                message,
                body,
            } => write!(
                f,
                "unexpected answer (HTTP {status}): {message}; body: {body}"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(e),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Error::Transport(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillgrid_api::{BulkResponse, EntryCode};

    #[test]
    fn codes_of_a_newer_server_are_read_not_refused() {
        let body = serde_json::json!({
            "type": "/docs#problem-quota_exceeded", "title": "Quota", "status": 400,
            "code": "quota_exceeded", "detail": "1 problem", "requestId": "r1",
            "errors": [{"pointer": "/items/0/skills/0/proficiency", "code": "stale_level",
                        "detail": "Guru was retired", "hint": "send `Expert`"}]
        });
        let e = Error::from_api_response(400, &HeaderMap::new(), body.to_string().as_bytes());
        assert_eq!(e.code(), Some("quota_exceeded"));
        assert_eq!(e.entries()[0].code, EntryCode::Unrecognized);
        assert!(
            e.to_string()
                .contains("/items/0/skills/0/proficiency: Guru was retired; hint: send `Expert`"),
            "{e}"
        );

        // A write that succeeded, with a warning of a code added later.
        let ok = serde_json::json!({
            "dryRun": false,
            "summary": {"items": 1, "succeeded": 1, "failed": 0, "added": 1, "updated": 0,
                        "removed": 0, "unchanged": 0},
            "results": [{"index": 0, "agentId": null, "status": 200, "version": 1,
                         "warnings": [{"pointer": "/items/0/skills", "code": "odd_set",
                                       "detail": "looks odd"}]}]
        });
        let r: BulkResponse = serde_json::from_value(ok).unwrap();
        assert_eq!(r.results[0].warnings[0].code, EntryCode::Unrecognized);
    }
}
