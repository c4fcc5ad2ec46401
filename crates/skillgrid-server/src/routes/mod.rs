//! One module per resource, each exposing `router()`; helpers shared by their handlers.

pub mod admin_audit;
pub mod agents;
pub mod agents_bulk;
pub mod assignments;
pub mod audit;
pub mod bulk;
pub mod clients;
pub mod events;
pub mod export;
pub mod health;
pub mod oauth;
pub mod settings;
pub mod skills;
pub mod webhooks;

use crate::auth::Caller;
use crate::body;
use crate::error::{ApiError, ApiResult};
use crate::render::{decode_audit_cursor, decode_cursor, encode_audit_cursor, encode_cursor};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::OriginalUri;
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use skillgrid_api::{OrgSettings, Page, ProblemCode};
use skillgrid_core::validate::{self, Document, QueryRules, QueryValues};
use skillgrid_store::{PageRequest, Paged, StoreError};
use std::fmt::Display;
use std::future::Future;
use uuid::Uuid;

/// The router's fallback, before authentication like every unmatched path.
pub async fn not_found(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    no_route(&method, uri.path())
}

pub const NO_ROUTE: &str = "no route matches this path; see /docs for the routes";

/// 404 `not_found` for a path no route matches; another product's route gets a detail naming
/// skillgrid's route for the same job.
pub fn no_route(method: &Method, path: &str) -> ApiError {
    let detail =
        crate::vendor_routes::recognise(method, path).unwrap_or_else(|| NO_ROUTE.to_string());
    ApiError::new(ProblemCode::NotFound, detail)
}

pub fn query(raw: Option<String>, allowed: &'static [&'static str]) -> ApiResult<QueryValues> {
    validate::parse_query(raw.as_deref(), &QueryRules { allowed }).map_err(ApiError::validation)
}

/// The paging parameters of every listing, documented once for the OpenAPI document (the
/// handlers read them with the rest of the query, by [`query`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct Paging {
    /// page size, 1–1000 (default 100)
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// opaque cursor from the previous page's `nextCursor`
    cursor: Option<String>,
}

pub fn page_request(q: &QueryValues) -> ApiResult<PageRequest> {
    paging(q, decode_cursor)
}

/// [`page_request`] for the audit trail, whose cursors name entry positions.
pub fn audit_page_request(q: &QueryValues) -> ApiResult<PageRequest> {
    paging(q, decode_audit_cursor)
}

fn paging(q: &QueryValues, decode: CursorDecoder) -> ApiResult<PageRequest> {
    Ok(PageRequest {
        after: decode(q.cursor.as_deref()).map_err(ApiError::one)?,
        limit: q.limit.unwrap_or(100),
    })
}

type CursorDecoder = fn(Option<&str>) -> Result<Option<i64>, skillgrid_api::ErrorEntry>;

pub fn page<R, T>(p: Paged<R>, f: impl FnMut(R) -> T) -> Json<Page<T>> {
    paged(p, f, encode_cursor)
}

/// One page of a resource's listing: the page `q` asks for, fetched by `fetch` and shown by
/// `f`, with the cursor of the next page.
pub async fn listing<R, T, F>(
    q: &QueryValues,
    fetch: impl FnOnce(PageRequest) -> F,
    f: impl FnMut(R) -> T,
) -> ApiResult<Json<Page<T>>>
where
    F: Future<Output = Result<Paged<R>, StoreError>>,
{
    let p = fetch(page_request(q)?).await?;
    Ok(page(p, f))
}

/// [`page`] for the audit trail.
pub fn audit_page<R, T>(p: Paged<R>, f: impl FnMut(R) -> T) -> Json<Page<T>> {
    paged(p, f, encode_audit_cursor)
}

fn paged<R, T>(
    p: Paged<R>,
    f: impl FnMut(R) -> T,
    encode: fn(Option<i64>) -> Option<String>,
) -> Json<Page<T>> {
    Json(Page {
        items: p.items.into_iter().map(f).collect(),
        next_cursor: encode(p.next),
    })
}

/// The id a path names, of whichever kind the route reads.
pub fn path_id<I: From<Uuid>>(name: &str, raw: &str) -> ApiResult<I> {
    validate::path_uuid(name, raw)
        .map(I::from)
        .map_err(ApiError::one)
}

/// A kind of resource a path names by id: its path parameter and how a 404 names it, so that
/// every route on it reads the id and words its absence alike.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    pub param: &'static str,
    what: &'static str,
    /// The collection the resource is created in; its own URL is this and its id.
    collection: &'static str,
}

pub const SKILL: Resource = Resource {
    param: "skillId",
    what: "skill",
    collection: "/api/v2/admin/skills",
};

pub const AGENT: Resource = Resource {
    param: "userId",
    what: "agent",
    collection: "/api/v2/admin/users",
};

pub const CLIENT: Resource = Resource {
    param: "clientId",
    what: "API client",
    collection: "/api/v2/admin/clients",
};

impl Resource {
    /// 201 with the new resource's URL in `Location`.
    pub fn created<T: IntoResponse>(
        self,
        id: impl Display,
        body: T,
    ) -> (StatusCode, [(HeaderName, String); 1], T) {
        let location = format!("{}/{id}", self.collection);
        (StatusCode::CREATED, [(header::LOCATION, location)], body)
    }

    /// 404: no such id in the caller's organization.
    pub fn missing(self) -> ApiError {
        ApiError::new(
            ProblemCode::NotFound,
            format!("no {} with this id exists in this organization", self.what),
        )
    }

    /// A store error about this resource, its `NotFound` worded as [`Resource::missing`].
    pub fn not_found(self, e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => self.missing(),
            e => e.into(),
        }
    }

    /// The id `raw` of the path, and what `get` finds under it, on a route that takes no query
    /// parameters: the query is checked first, then the id, then the store is asked.
    pub async fn fetch<I, R, F>(
        self,
        q: Option<String>,
        raw: &str,
        get: impl FnOnce(I) -> F,
    ) -> ApiResult<(I, R)>
    where
        I: From<Uuid> + Copy,
        F: Future<Output = Result<R, StoreError>>,
    {
        query(q, &[])?;
        let id: I = path_id(self.param, raw)?;
        let found = get(id).await.map_err(|e| self.not_found(e))?;
        Ok((id, found))
    }
}

/// The request body parsed as JSON within the caller's size limit, and checked by `walk`.
pub async fn checked_body<T>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
    walk: impl FnOnce(&serde_json::Value) -> Result<T, Vec<skillgrid_api::ErrorEntry>>,
) -> ApiResult<T> {
    let (_, v) = settings_and_body(state, caller, headers, body).await?;
    body::check(&v, walk)
}

/// The caller's settings and the request body parsed as JSON within their size limit.
pub async fn settings_and_body(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<(OrgSettings, Document)> {
    let settings = caller.settings(state).await?;
    let value = body::read_json(headers, body, settings.limits.max_body_bytes).await?;
    Ok((settings, value))
}
