//! Cross-cutting layers: request ids, one log line and metrics per request, problem bodies
//! for answers the framework produced itself (405, 404, extractor rejections), and panics.

use crate::error::{internal_response, problem_response, REQUEST_ID};
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use axum::middleware::Next;
use skillgrid_api::{Problem, ProblemCode};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

fn valid_client_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (1..=128)
        .contains(&s.len())
        .then_some(())
        .filter(|_| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .map(|_| s.to_string())
}

/// Outermost layer: picks the request id, runs the request inside its span and task-local,
/// stamps `X-Request-Id`, logs one line and records metrics.
pub async fn request_context(req: Request, next: Next) -> Response<Body> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(valid_client_id)
        .unwrap_or_else(new_request_id);
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %id, %method, path = req.uri().path());
    let started = Instant::now();
    // A request id is ASCII letters, digits and `._-` (checked above, or made so).
    let header = HeaderValue::from_str(&id).ok();
    let mut res = REQUEST_ID
        .scope(id, next.run(req))
        .instrument(span.clone())
        .await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    if let Some(v) = header {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let route = res
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let route = route.unwrap_or("unmatched");
    record_metrics(&method, route, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            route,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    res
}

/// A UUIDv7, formatted without going through `Display`.
fn new_request_id() -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Uuid::now_v7()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}

/// The metrics of one method, route and status: what a request records into.
#[derive(Clone)]
struct RouteMetrics {
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

impl RouteMetrics {
    fn new(method: &Method, route: &str, status: u16) -> Self {
        let labels = [
            ("method", method.to_string()),
            ("route", route.to_string()),
            ("status", status.to_string()),
        ];
        RouteMetrics {
            requests: metrics::counter!("http_requests_total", &labels),
            duration: metrics::histogram!("http_request_duration_seconds", &labels),
        }
    }
}

/// The handles of the combinations answered so far, by route, so that a request records its
/// metrics without building labels or looking the metric up in the registry. Bounded: any
/// method a client sends is a label, and past this many combinations a request records
/// through the registry as before.
const KEPT_METRICS: usize = 2048;

type KeptMetrics = HashMap<Box<str>, Vec<(Method, u16, RouteMetrics)>>;

fn kept_metrics() -> &'static RwLock<(usize, KeptMetrics)> {
    static KEPT: OnceLock<RwLock<(usize, KeptMetrics)>> = OnceLock::new();
    KEPT.get_or_init(Default::default)
}

fn record_metrics(method: &Method, route: &str, status: u16, seconds: f64) {
    let record = |m: &RouteMetrics| {
        m.requests.increment(1);
        m.duration.record(seconds);
    };
    let found = |kept: &KeptMetrics| {
        kept.get(route)?
            .iter()
            .find(|(m, s, _)| *s == status && m == method)
            .map(|(_, _, h)| h.clone())
    };
    let kept = kept_metrics();
    if let Some(h) = found(&kept.read().unwrap_or_else(|p| p.into_inner()).1) {
        return record(&h);
    }
    let handles = RouteMetrics::new(method, route, status);
    record(&handles);
    let mut kept = kept.write().unwrap_or_else(|p| p.into_inner());
    let (count, map) = &mut *kept;
    if *count < KEPT_METRICS && found(map).is_none() {
        map.entry(route.into())
            .or_default()
            .push((method.clone(), status, handles));
        *count += 1;
    }
}

/// Inside routing: remembers the matched route on the response for the metrics above.
pub async fn remember_route(req: Request, next: Next) -> Response<Body> {
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let mut res = next.run(req).await;
    if let Some(m) = matched {
        res.extensions_mut().insert(m);
    }
    res
}

/// "this route does not take DELETE; it takes GET, HEAD, POST", from the `Allow` header's list.
pub fn method_not_allowed_detail(method: &str, allow: &str) -> String {
    let allowed: Vec<&str> = allow
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    if allowed.is_empty() {
        return format!("this route does not take {method}");
    }
    format!(
        "this route does not take {method}; it takes {}",
        allowed.join(", ")
    )
}

/// Outside the router: axum adds `Allow` to a 405 only once every layer inside the router has
/// run, so [`problem_bodies`] cannot see it; the detail naming those methods is written here.
pub async fn name_allowed_methods(req: Request, next: Next) -> Response<Body> {
    let method = req.method().clone();
    let res = next.run(req).await;
    if res.status() != StatusCode::METHOD_NOT_ALLOWED {
        return res;
    }
    let Some(allow) = res
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return res;
    };
    let (mut parts, body) = res.into_parts();
    // A problem body is small; a HEAD answer has none, and is left as it is.
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let Ok(mut problem) = serde_json::from_slice::<Problem>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    problem.detail = method_not_allowed_detail(method.as_str(), &allow);
    let body = serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Gives every error answer that is not already JSON a problem body (no 4xx or 5xx is ever
/// empty), keeping its headers (`Allow` on 405).
pub async fn problem_bodies(req: Request, next: Next) -> Response<Body> {
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // JSON is already a problem; an HTML page (the console's) says what went wrong itself.
    let has_body = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json") || v.starts_with("text/html"));
    if has_body {
        return res;
    }
    let (code, detail) = match status.as_u16() {
        404 => (ProblemCode::NotFound, crate::routes::NO_ROUTE.to_string()),
        405 => {
            let allow = res
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            (
                ProblemCode::MethodNotAllowed,
                method_not_allowed_detail(method.as_str(), allow),
            )
        }
        413 => (
            ProblemCode::PayloadTooLarge,
            "the request body is too large".to_string(),
        ),
        415 => (
            ProblemCode::UnsupportedMediaType,
            "request bodies must be application/json".to_string(),
        ),
        s if s >= 500 => return internal_response(),
        _ => (
            ProblemCode::ValidationFailed,
            "the request is malformed".to_string(),
        ),
    };
    let mut keep = HeaderMap::new();
    if let Some(v) = res.headers().get(header::ALLOW) {
        keep.insert(header::ALLOW, v.clone());
    }
    let mut out = problem_response(Problem::new(code, detail), keep);
    *out.status_mut() = status;
    out.extensions_mut().extend(res.extensions().clone());
    out
}

/// A panic in a handler becomes a 500 problem naming only the request id.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = msg, "handler panicked");
    internal_response()
}
