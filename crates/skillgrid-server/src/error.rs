//! The one place where failures become `application/problem+json` answers.
//!
//! Handlers return `Result<_, ApiError>`. A problem the client can fix carries its documented
//! code and every error entry; anything else is `Internal`, whose cause is logged with the
//! request id and never sent.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use skillgrid_api::{EntryCode, ErrorEntry, Problem, ProblemCode};
use skillgrid_store::{Conflict, StoreError, Unique};

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

#[derive(Debug)]
pub enum ApiError {
    Problem {
        problem: Box<Problem>,
        headers: HeaderMap,
    },
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        ApiError::Problem {
            problem: Box::new(Problem::new(code, detail)),
            headers: HeaderMap::new(),
        }
    }

    /// Whether this is a problem of `code`.
    pub fn is(&self, code: ProblemCode) -> bool {
        matches!(self, ApiError::Problem { problem, .. } if problem.code == code.as_str())
    }

    pub fn with_errors(mut self, errors: Vec<ErrorEntry>) -> Self {
        if let ApiError::Problem { problem, .. } = &mut self {
            problem.errors = errors;
        }
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let (ApiError::Problem { headers, .. }, Ok(v)) =
            (&mut self, HeaderValue::from_str(value))
        {
            headers.insert(name, v);
        }
        self
    }

    /// 400 `validation_failed` listing every entry.
    pub fn validation(errors: Vec<ErrorEntry>) -> Self {
        let n = errors.len();
        let place = if errors.iter().all(|e| e.pointer.is_some()) {
            "the request body"
        } else {
            "the request"
        };
        let detail = if n == 1 {
            format!(
                "1 problem in {place}: {}; nothing was written",
                errors[0].detail
            )
        } else {
            format!("{n} problems in {place}; nothing was written")
        };
        ApiError::new(ProblemCode::ValidationFailed, detail).with_errors(errors)
    }

    pub fn one(entry: ErrorEntry) -> Self {
        Self::validation(vec![entry])
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(ProblemCode::NotFound, format!("{what} does not exist"))
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("the resource"),
            StoreError::Conflict(conflict) => {
                let field = conflict_field(conflict);
                let detail = match field {
                    "email" => {
                        "an agent with this email already exists in this organization".to_string()
                    }
                    "name" => {
                        "a skill with this name already exists in this organization".to_string()
                    }
                    f => format!("the value of `{f}` is already taken"),
                };
                ApiError::new(ProblemCode::Conflict, detail.clone()).with_errors(vec![
                    ErrorEntry::at(format!("/{field}"), EntryCode::Conflict, detail).hint(format!(
                        "choose another {field}, or update the existing one"
                    )),
                ])
            }
            StoreError::InUse { count } => crate::routes::skills::skill_in_use(count),
            StoreError::Full => crate::storage::full(),
            StoreError::Other(e) => ApiError::Internal(e),
        }
    }
}

/// The request field that carries the value a store conflict is about.
fn conflict_field(c: Conflict) -> &'static str {
    match c {
        Conflict::Taken(Unique::OrgName | Unique::SkillName) => "name",
        Conflict::Taken(Unique::AgentEmail | Unique::UserEmail) => "email",
        Conflict::Taken(Unique::Key) => "id",
        Conflict::Taken(Unique::GroupName) => "displayName",
        Conflict::Taken(Unique::UserName) => "userName",
        Conflict::GroupChanged => "version",
        Conflict::SkillGone => "skillId",
        Conflict::ScopesChanged => "scopes",
    }
}

/// Builds the problem response for `code` (used by fallbacks and middleware too).
pub fn problem_response(mut problem: Problem, headers: HeaderMap) -> Response {
    problem.request_id = current_request_id();
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res.headers_mut().extend(headers);
    if problem.code == ProblemCode::StorageFull.as_str() {
        res.extensions_mut().insert(crate::storage::WriteFailedFull);
    }
    res
}

/// The 500 problem: it names the request id and nothing else.
pub fn internal_problem(request_id: &str) -> Problem {
    Problem::new(
        ProblemCode::Internal,
        format!("the server failed to handle request {request_id}; report this id to the operator"),
    )
}

pub fn internal_response() -> Response {
    problem_response(internal_problem(&current_request_id()), HeaderMap::new())
}

impl ApiError {
    /// The problem this error answers with (`internal` for a 500), for documentation.
    pub fn into_problem(self) -> Problem {
        match self {
            ApiError::Problem { problem, .. } => *problem,
            ApiError::Internal(_) => internal_problem(""),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Problem { problem, headers } => problem_response(*problem, headers),
            // A failure for lack of space that reached here without passing through the
            // store's error type is still one.
            ApiError::Internal(e) if skillgrid_store::is_storage_full(&e) => {
                tracing::warn!(request_id = %current_request_id(), error = format!("{e:#}"), "no space left for a write");
                crate::storage::full().into_response()
            }
            ApiError::Internal(e) => {
                tracing::error!(request_id = %current_request_id(), error = format!("{e:#}"), "request failed");
                internal_response()
            }
        }
    }
}
