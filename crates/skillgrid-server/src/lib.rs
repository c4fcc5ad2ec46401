//! skillgrid's HTTP server.
//!
//! [`serve`] runs the API on a listener it is handed, so the binary and the integration tests
//! start it the same way; [`build_state`] opens what it needs (signing key, metrics).

pub mod auth;
pub mod body;
pub mod bootstrap;
mod buffers;
pub mod connections;
pub mod console;
pub mod destination;
pub mod dispatch;
pub mod error;
pub mod event_hub;
pub mod hello;
pub mod idempotency;
pub mod keys;
mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod render;
mod routes;
mod scim;
pub mod slots;
pub mod state;
pub mod storage;
pub mod token_guard;
pub mod upkeep;
pub mod vendor_routes;
pub mod vendor_scopes;

pub use connections::{serve_with, HttpLimits};
pub use routes::export::ExportLimits;
pub use state::AppState;

use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use skillgrid_store::DynStore;
use std::future::Future;
use std::sync::OnceLock;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

/// The process-wide Prometheus recorder (a process can install only one).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0,
                    ],
                )
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests): then metrics go there.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// What `skillgrid serve` sets of the shared state: where the signing keys come from, and the
/// limits of failed attempts at the token endpoint.
#[derive(Debug, Clone, Default)]
pub struct StateOptions {
    pub keys: keys::KeySource,
    pub token_failures: token_guard::FailureLimits,
    pub console: console::ConsoleOptions,
    /// Where webhooks may send deliveries.
    pub webhooks: skillgrid_core::webhooks::destination::Policy,
    pub streams: event_hub::StreamOptions,
    /// How many exports run at once, and how long one waits for a client that stopped reading.
    pub exports: ExportLimits,
}

/// Loads (or creates) the signing key kept in the database and assembles the shared state.
pub async fn build_state(store: DynStore) -> anyhow::Result<AppState> {
    build_state_with(store, &StateOptions::default()).await
}

/// [`build_state`] with `options`.
pub async fn build_state_with(store: DynStore, options: &StateOptions) -> anyhow::Result<AppState> {
    let keys = options.keys.load(&store).await?;
    Ok(AppState::new(store, keys, metrics_handle(), options))
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::settings::router())
        .merge(routes::skills::router())
        .merge(routes::agents::router())
        .merge(routes::agents_bulk::router())
        .merge(routes::assignments::router())
        .merge(routes::bulk::router())
        .merge(routes::export::router())
        .merge(routes::audit::router())
        .merge(routes::clients::router())
        .merge(routes::admin_audit::router())
        .merge(routes::webhooks::router())
        .merge(routes::events::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::enforce,
        ));
    let app = Router::new()
        .nest("/api/v2", api)
        .nest("/scim/v2", scim::router(state.clone()))
        .merge(routes::oauth::router())
        .merge(routes::health::router())
        .merge(openapi::router())
        .merge(console::router())
        .fallback(routes::not_found)
        .route_layer(axum::middleware::from_fn(middleware::remember_route))
        // The API's and the console's writes wake this process's event streams.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::events::after_writes,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(middleware::request_context))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    storage::track,
                ))
                .layer(axum::middleware::from_fn(middleware::problem_bodies))
                .layer(CatchPanicLayer::custom(middleware::panic_response)),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state);
    // axum sets a 405's `Allow` after every layer inside the router has run: the detail that
    // names those methods is written by a layer outside it.
    Router::new()
        .fallback_service(app)
        .layer(axum::middleware::from_fn(middleware::name_allowed_methods))
}

/// Serves until `shutdown` completes, within the default [`HttpLimits`] (see [`serve_with`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, HttpLimits::default(), shutdown).await
}
