//! A bare axum hello-world, served by `skillgrid hello-world` (hidden) on the same runtime as
//! `skillgrid serve`: the benchmark's HTTP ceiling. Nothing of skillgrid is in its path (no
//! middleware, state, connection limits or database), so what a route of the API answers per
//! second, measured beside it by the same client, reads as a share of what this machine's
//! HTTP stack can answer at all (docs/PERFORMANCE.md).

use axum::routing::get;
use axum::Router;

/// Serves `GET /` → `Hello, World!` on `listener` until the process ends.
pub async fn serve_hello_world(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    axum::serve(listener, app).await
}
