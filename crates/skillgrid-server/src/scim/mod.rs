//! SCIM 2.0 (RFC 7643, RFC 7644) under `/scim/v2`: identity providers create, change and
//! retire agents, with their skills, as Users, and give skill profiles by membership of
//! Groups ([`groups`]).
//!
//! Outside `/api/v2` and its problem+json: every error on these routes, including those raised
//! before a handler runs (a refused token, the rate limit, an unknown path or method), is a
//! SCIM error body, converted in one place ([`scim_errors`]). The rules of filters and PATCH
//! are in `skillgrid_core::scim`; how a User maps onto an agent is in [`mapping`].

mod discovery;
mod groups;
mod listing;
mod mapping;
mod skills;
mod users;
mod write;

use crate::auth::{missing_token, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use skillgrid_api::{scopes, EntryCode, Problem, ProblemCode};

pub const SCIM_JSON: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(users::router())
        .merge(groups::router())
        .merge(discovery::router())
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::ratelimit::enforce,
        ))
        .layer(axum::middleware::from_fn(scim_errors))
}

async fn no_route() -> ScimError {
    ScimError::new(
        StatusCode::NOT_FOUND,
        None,
        "no SCIM endpoint at this path; this service has /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas",
    )
}

/// A SCIM error answer (RFC 7644 section 3.12).
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
    headers: HeaderMap,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            headers: HeaderMap::new(),
        }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no User with id `{id}`"),
        )
    }

    /// The SCIM error a problem becomes: same status, headers and detail (with its entries).
    fn from_problem(p: &Problem, headers: HeaderMap) -> Self {
        let code = p.code.as_str();
        let syntax = p
            .errors
            .iter()
            .any(|e| matches!(e.code, EntryCode::InvalidJson | EntryCode::DuplicateKey));
        let scim_type = if code == ProblemCode::Conflict.as_str() {
            Some("uniqueness")
        } else if code == ProblemCode::ValidationFailed.as_str() && syntax {
            Some("invalidSyntax")
        } else if code == ProblemCode::ValidationFailed.as_str()
            || code == ProblemCode::InactiveAgent.as_str()
        {
            Some("invalidValue")
        } else {
            None
        };
        let mut detail = p.detail.clone();
        for e in &p.errors {
            detail.push_str(&format!("; {}", e.detail));
        }
        ScimError {
            status: StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            scim_type,
            detail,
            headers,
        }
    }
}

impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Problem { problem, headers } => Self::from_problem(&problem, headers),
            internal => {
                // Logged (with the request id) by the problem's own answer, never sent.
                let res = internal.into_response();
                let mut e = ScimError::new(
                    res.status(),
                    None,
                    format!(
                        "the server failed to handle request {}; report this id to the operator",
                        crate::error::current_request_id()
                    ),
                );
                e.headers = res.headers().clone();
                e.headers.remove(CONTENT_TYPE);
                e
            }
        }
    }
}

impl From<skillgrid_store::StoreError> for ScimError {
    fn from(e: skillgrid_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        let mut res = (self.status, scim_json(&body)).into_response();
        res.headers_mut().extend(self.headers);
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        res
    }
}

/// The answer with one resource (a User, a Group): its ETag (`meta.version`) and, when it was
/// just created, its Location.
pub fn resource_response(status: StatusCode, v: Value) -> Response {
    let tag = v["meta"]["version"].as_str().map(str::to_string);
    let location = v["meta"]["location"].as_str().map(str::to_string);
    let mut res = scim_json(&v);
    *res.status_mut() = status;
    if let Some(t) = tag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        res.headers_mut().insert(axum::http::header::ETAG, t);
    }
    if status == StatusCode::CREATED {
        if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            res.headers_mut().insert(axum::http::header::LOCATION, l);
        }
    }
    res
}

/// `If-Match`: absent, `*`, or one of the tags listed is `tag`, the version of the `what`
/// (User, Group) as it is; else 412 with its current ETag.
pub fn check_if_match(headers: &HeaderMap, tag: &str, what: &str) -> ScimResult<()> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(());
    };
    let strong = tag.trim_start_matches("W/");
    let ok = v
        .to_str()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == tag || t == strong);
    if ok {
        return Ok(());
    }
    let mut e = ScimError::new(
        StatusCode::PRECONDITION_FAILED,
        None,
        format!("If-Match does not match the {what}'s version, which is now {tag}; read it again and retry"),
    );
    if let Ok(t) = HeaderValue::from_str(tag) {
        e.headers.insert(axum::http::header::ETAG, t);
    }
    Err(e)
}

/// A ListResponse: how many resources in all, the index of the first of this page, the page.
pub fn list_response(total: usize, start: usize, resources: Vec<Value>) -> Response {
    scim_json(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    }))
}

/// A SCIM body.
pub fn scim_json(v: &Value) -> Response {
    let mut res = serde_json::to_vec(v).unwrap_or_default().into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    res
}

/// Every error answer of a SCIM route that is not already SCIM (a problem from the token
/// check, the rate limit, the body reader; an empty 405) becomes one.
async fn scim_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let ct = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if ct.starts_with(SCIM_JSON) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut headers = parts.headers.clone();
    headers.remove(CONTENT_TYPE);
    headers.remove(axum::http::header::CONTENT_LENGTH);
    let e = match serde_json::from_slice::<Problem>(&bytes) {
        Ok(p) => ScimError::from_problem(&p, headers),
        Err(_) => {
            let detail = match status {
                StatusCode::METHOD_NOT_ALLOWED => "this SCIM endpoint does not take this method",
                StatusCode::NOT_FOUND => "no SCIM endpoint at this path",
                _ => "the request could not be handled",
            };
            let mut e = ScimError::new(status, None, detail);
            e.headers = headers;
            e
        }
    };
    let mut out = e.into_response();
    out.extensions_mut().extend(parts.extensions);
    out
}

/// The caller of a SCIM route: a bearer token (never the console's cookie) holding `scim`.
pub struct ScimCaller(pub Caller);

impl FromRequestParts<AppState> for ScimCaller {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Err(missing_token().into());
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(scopes::SCIM)?;
        Ok(ScimCaller(caller))
    }
}

/// The JSON body of a SCIM write: `application/scim+json` or `application/json`, within the
/// organization's body limit, with duplicate keys refused.
pub async fn read_body(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> ScimResult<Value> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match ct.as_deref() {
        Some("application/scim+json" | "application/json") => {}
        _ => {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                "send the body as application/scim+json (or application/json)",
            ))
        }
    }
    let limit = caller.settings(state).await?.limits.max_body_bytes;
    let bytes = crate::body::read_bytes(headers, body, limit).await?;
    let doc = skillgrid_core::validate::parse_json(&bytes)
        .map_err(|e| ScimError::bad("invalidSyntax", e.detail))?;
    if let Some(d) = doc.duplicates().first() {
        return Err(ScimError::bad("invalidSyntax", d.detail.clone()));
    }
    Ok(doc.value().clone())
}

/// The absolute URL of `path` under `/scim/v2` on the host the request was sent to.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{proto}://{host}/scim/v2")
}
