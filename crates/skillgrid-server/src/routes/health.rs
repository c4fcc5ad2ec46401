//! Liveness, readiness and Prometheus metrics; no token needed.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Liveness
///
/// 200 when the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz", security(()),
    responses((status = 200, description = "the process is up", body = Status)))]
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `{"status": …}` of the health routes.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct Status {
    /// `ok`, or `unavailable` with a `detail`.
    status: String,
    detail: Option<String>,
}

/// Readiness
///
/// 200 when the database answers and takes writes; 503 when it does not answer, or while
/// writes fail for lack of disk space (reads still work then).
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz", security(()),
    responses((status = 200, description = "the database answers and takes writes", body = Status),
        (status = 503, description = "the database does not answer, or has no space left for writes", body = Status)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let ready = match state.store().ping().await {
        Ok(()) => state.space().writable(&state).await,
        Err(e) => Err(e),
    };
    match ready {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(skillgrid_store::StoreError::Full) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "unavailable", "detail": "the database has no space left for writes"}),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "database is not answering");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "detail": "the database does not answer"})),
            )
        }
    }
}

/// Prometheus metrics
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics", security(()),
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    sample_now(&state);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
}

/// Sets the gauges read at scrape time: the process's memory, open files and their limit, CPU
/// time (`process_*`), and the size of the database's files on this machine.
fn sample_now(state: &AppState) {
    static PROCESS: std::sync::OnceLock<metrics_process::Collector> = std::sync::OnceLock::new();
    PROCESS
        .get_or_init(|| {
            let c = metrics_process::Collector::default();
            c.describe();
            c
        })
        .collect();
    for (file, bytes) in state.store().disk_usage() {
        metrics::gauge!("skillgrid_database_file_bytes", "file" => file).set(bytes as f64);
    }
}
