//! RFC 9457 problem details and the lists of problem and entry codes.
//!
//! The server only ever sends the codes listed here, but the OpenAPI document types them as
//! strings so that a code added later does not break clients generated from it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The problem codes, each with its one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemCode {
    ValidationFailed,
    InactiveAgent,
    /// The HTTP message itself is malformed (request line, a header, its framing), refused
    /// before any route saw it.
    BadRequest,
    Unauthorized,
    InsufficientScope,
    /// A request made with the console's session cookie that its session may not make: a
    /// change without the anti-forgery token or from another site, or before the user chose
    /// their own password.
    Forbidden,
    NotFound,
    MethodNotAllowed,
    /// The request body did not arrive within the server's body timeout.
    RequestTimeout,
    Conflict,
    IdempotencyKeyInUse,
    PreconditionFailed,
    PayloadTooLarge,
    UriTooLong,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    PreconditionRequired,
    RateLimited,
    HeadersTooLarge,
    Internal,
    StorageFull,
}

impl ProblemCode {
    pub const ALL: [ProblemCode; 21] = [
        Self::ValidationFailed,
        Self::InactiveAgent,
        Self::BadRequest,
        Self::Unauthorized,
        Self::InsufficientScope,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::Conflict,
        Self::IdempotencyKeyInUse,
        Self::PreconditionFailed,
        Self::PayloadTooLarge,
        Self::UriTooLong,
        Self::UnsupportedMediaType,
        Self::IdempotencyKeyReused,
        Self::PreconditionRequired,
        Self::RateLimited,
        Self::HeadersTooLarge,
        Self::Internal,
        Self::StorageFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation_failed",
            Self::InactiveAgent => "inactive_agent",
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::InsufficientScope => "insufficient_scope",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::Conflict => "conflict",
            Self::IdempotencyKeyInUse => "idempotency_key_in_use",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::PreconditionRequired => "precondition_required",
            Self::RateLimited => "rate_limited",
            Self::HeadersTooLarge => "headers_too_large",
            Self::Internal => "internal",
            Self::StorageFull => "storage_full",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::ValidationFailed | Self::InactiveAgent | Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::InsufficientScope | Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestTimeout => 408,
            Self::Conflict | Self::IdempotencyKeyInUse => 409,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::UriTooLong => 414,
            Self::UnsupportedMediaType => 415,
            Self::IdempotencyKeyReused => 422,
            Self::PreconditionRequired => 428,
            Self::RateLimited => 429,
            Self::HeadersTooLarge => 431,
            Self::Internal => 500,
            Self::StorageFull => 503,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::ValidationFailed => "The request body is invalid",
            Self::InactiveAgent => "The agent is inactive",
            Self::BadRequest => "The request is not well-formed HTTP",
            Self::Unauthorized => "Authentication is required",
            Self::InsufficientScope => "The token lacks the scope this route needs",
            Self::Forbidden => "The console session may not make this request",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::RequestTimeout => "The request was not received in time",
            Self::Conflict => "The request conflicts with the current state",
            Self::IdempotencyKeyInUse => "A request with this idempotency key is in progress",
            Self::PreconditionFailed => "The precondition failed",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UriTooLong => "The URI is too long",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::IdempotencyKeyReused => "The idempotency key was used with another request",
            Self::PreconditionRequired => "A precondition is required",
            Self::RateLimited => "Too many requests",
            Self::HeadersTooLarge => "The request's headers are too large",
            Self::Internal => "Internal server error",
            Self::StorageFull => "The server has no space left to store the change",
        }
    }

    /// The `type` URI: a link into the error catalogue of the docs page.
    pub fn type_uri(self) -> String {
        format!("/docs#problem-{}", self.as_str())
    }
}

/// A closed list of codes as the document types it: a plain string whose description lists
/// the codes known today. An `enum` would make clients generated from the document reject any
/// code added later, so the list is documentation, not a constraint.
fn open_code_schema(what: &str, codes: &[&str], unknown: &str) -> utoipa::openapi::schema::Object {
    let known: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(format!(
            "{what} Known codes: {}. More may be added: {unknown}.",
            known.join(", ")
        )))
        .build()
}

/// The schema of a problem's `code`: one of [`ProblemCode::ALL`] today.
pub fn problem_code_schema() -> utoipa::openapi::schema::Object {
    let codes: Vec<&str> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
    open_code_schema(
        "The problem code; each has one HTTP status and an entry in the error catalogue of `/docs` (`type` links to it).",
        &codes,
        "treat an unknown one by the answer's HTTP status",
    )
}

/// The schema of an error entry's `code`: one of [`EntryCode::ALL`] today.
pub fn entry_code_schema() -> utoipa::openapi::schema::Object {
    let codes: Vec<&str> = EntryCode::ALL.iter().map(|c| c.as_str()).collect();
    open_code_schema(
        "What is wrong at this place of the request; the error catalogue of `/docs` explains each.",
        &codes,
        "treat an unknown one as a mistake at this place, which `detail` describes",
    )
}

/// The entry codes: what is wrong with one place of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryCode {
    InvalidJson,
    InvalidType,
    MissingField,
    UnknownField,
    InvalidFormat,
    OutOfRange,
    UnknownLevel,
    DuplicateSkill,
    DuplicateAgent,
    UnknownSkill,
    InactiveSkill,
    UnknownAgent,
    InactiveAgent,
    TooManyItems,
    InvalidDateRange,
    NotAllowed,
    PreconditionFailed,
    /// An object of the body names the same key twice: which value was meant is unknown.
    DuplicateKey,
    /// A unique value (skill name, agent email) is already taken; used inside `conflict` problems.
    Conflict,
    /// Every proficiency of a set lies within 0–5 on a scale that reaches 20 or more: values
    /// of another product's 1–5 (or 0–5) scale. A warning, or an error under `reject`.
    OtherScale,
    /// A number below the scale's lowest level, in a set that names no level. A warning, or
    /// an error under `reject`.
    BelowLowestLevel,
    /// A replacement with no skills removed every skill the agent held. A warning, or an
    /// error under `reject`.
    EmptiedSet,
    /// A code this build does not know, from a newer server: read as a mistake at its place,
    /// which `detail` describes. The server never sends it; it is not in [`EntryCode::ALL`].
    #[serde(other)]
    Unrecognized,
}

impl EntryCode {
    pub const ALL: [EntryCode; 22] = [
        Self::InvalidJson,
        Self::InvalidType,
        Self::MissingField,
        Self::UnknownField,
        Self::InvalidFormat,
        Self::OutOfRange,
        Self::UnknownLevel,
        Self::DuplicateSkill,
        Self::DuplicateAgent,
        Self::UnknownSkill,
        Self::InactiveSkill,
        Self::UnknownAgent,
        Self::InactiveAgent,
        Self::TooManyItems,
        Self::InvalidDateRange,
        Self::NotAllowed,
        Self::PreconditionFailed,
        Self::DuplicateKey,
        Self::Conflict,
        Self::OtherScale,
        Self::BelowLowestLevel,
        Self::EmptiedSet,
    ];

    /// The codes a write that succeeds may carry in `warnings`.
    pub const WARNINGS: [EntryCode; 3] =
        [Self::OtherScale, Self::BelowLowestLevel, Self::EmptiedSet];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidType => "invalid_type",
            Self::MissingField => "missing_field",
            Self::UnknownField => "unknown_field",
            Self::InvalidFormat => "invalid_format",
            Self::OutOfRange => "out_of_range",
            Self::UnknownLevel => "unknown_level",
            Self::DuplicateSkill => "duplicate_skill",
            Self::DuplicateAgent => "duplicate_agent",
            Self::UnknownSkill => "unknown_skill",
            Self::InactiveSkill => "inactive_skill",
            Self::UnknownAgent => "unknown_agent",
            Self::InactiveAgent => "inactive_agent",
            Self::TooManyItems => "too_many_items",
            Self::InvalidDateRange => "invalid_date_range",
            Self::NotAllowed => "not_allowed",
            Self::PreconditionFailed => "precondition_failed",
            Self::DuplicateKey => "duplicate_key",
            Self::Conflict => "conflict",
            Self::OtherScale => "other_scale",
            Self::BelowLowestLevel => "below_lowest_level",
            Self::EmptiedSet => "emptied_set",
            Self::Unrecognized => "unrecognized",
        }
    }
}

/// Where in the request an error entry points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// An RFC 6901 JSON pointer into the request body (`""` is the whole body).
    Pointer(String),
    Header(String),
    Query(String),
    Path(String),
}

/// One problem found in a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[schema(schema_with = entry_code_schema)]
    pub code: EntryCode,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// 1-based line of a JSON syntax error (`invalid_json` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column of a JSON syntax error (`invalid_json` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl ErrorEntry {
    pub fn new(locator: Locator, code: EntryCode, detail: impl Into<String>) -> Self {
        let mut e = ErrorEntry {
            pointer: None,
            header: None,
            query: None,
            path: None,
            code,
            detail: detail.into(),
            expected: None,
            received: None,
            hint: None,
            line: None,
            column: None,
        };
        match locator {
            Locator::Pointer(p) => e.pointer = Some(p),
            Locator::Header(h) => e.header = Some(h),
            Locator::Query(q) => e.query = Some(q),
            Locator::Path(p) => e.path = Some(p),
        }
        e
    }

    pub fn at(pointer: impl Into<String>, code: EntryCode, detail: impl Into<String>) -> Self {
        Self::new(Locator::Pointer(pointer.into()), code, detail)
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn received(mut self, received: Value) -> Self {
        self.received = Some(received);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// The entry as a person reads it, without its place: `detail (code); expected …; hint:
    /// …`. A code this build does not know is left out: only `detail` says what it means.
    pub fn message(&self) -> String {
        let mut m = self.detail.clone();
        if self.code != EntryCode::Unrecognized {
            m.push_str(&format!(" ({})", self.code.as_str()));
        }
        if let Some(x) = &self.expected {
            m.push_str(&format!("; expected {x}"));
        }
        if let Some(h) = &self.hint {
            m.push_str(&format!("; hint: {h}"));
        }
        m
    }
}

/// An `application/problem+json` body (RFC 9457) as skillgrid sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    #[schema(schema_with = problem_code_schema)]
    pub code: String,
    pub detail: String,
    /// The request's id, as in `X-Request-Id`.
    #[serde(default)]
    #[schema(required = true)]
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorEntry>,
    /// The agent's current version (`precondition_failed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

impl Problem {
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Problem {
            type_: code.type_uri(),
            title: code.title().to_string(),
            status: code.status(),
            code: code.as_str().to_string(),
            detail: detail.into(),
            request_id: String::new(),
            errors: Vec::new(),
            current_version: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<ErrorEntry>) -> Self {
        self.errors = errors;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_listed_entry_code_is_its_string_both_ways() {
        for c in EntryCode::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(
                serde_json::from_value::<EntryCode>(c.as_str().into()).unwrap(),
                c
            );
        }
    }

    #[test]
    fn an_entry_code_added_later_is_read_as_unrecognized_and_described_by_its_detail() {
        let e: ErrorEntry = serde_json::from_value(json!({
            "pointer": "/items/0/skills/0/proficiency",
            "code": "stale_level",
            "detail": "Guru was retired last week",
            "hint": "send `Expert`"
        }))
        .unwrap();
        assert_eq!(e.code, EntryCode::Unrecognized);
        assert_eq!(
            e.message(),
            "Guru was retired last week; hint: send `Expert`"
        );
        // Not a code of the server's: the schema's list and the docs leave it out.
        assert!(!EntryCode::ALL.contains(&EntryCode::Unrecognized));
        assert!(!entry_code_schema()
            .description
            .unwrap_or_default()
            .contains("unrecognized"));
        let known = ErrorEntry::at("/x", EntryCode::OutOfRange, "500 is too high")
            .expected("0 to 100")
            .hint("send 100");
        assert_eq!(
            known.message(),
            "500 is too high (out_of_range); expected 0 to 100; hint: send 100"
        );
    }
}
