//! The console: server-rendered pages for the people who own an organization's skill
//! assignments, signed in with a password and a session cookie, beside the JSON API.
//!
//! It is another front door onto the same rules and store: a signed-in user's requests to the
//! API are checked with the scopes of their role (see `skillgrid_core::people`), and its pages
//! change nothing the API could not. Every state-changing request of a session carries its
//! anti-forgery token, checked in one place (`csrf.rs`).
//!
//! One module per screen:
//! - signing in and out, and the password: `sign_in.rs`, `sign_out.rs`, `password.rs`;
//! - the grid: `grid.rs` (query string), its markup in `grid_view.rs` and its cell editing in
//!   `grid.js`; bulk changes from it: the selection and its panel in `grid_view.rs`, the ids of
//!   every agent a filter matches in `bulk.rs`, and `bulk.js`, which previews and applies them
//!   through the API's bulk route;
//! - the CSV import, planned and applied through the bulk route's own code: `import.rs` and
//!   `import.js`;
//! - one agent's page with its history and undo: `agent.rs` and `agent.js`;
//! - the skill catalog with its holder counts, changed through the API's skill routes:
//!   `skills.rs` and `skills.js`;
//! - the organization's audit feed, filtered and paged in the store: `audit.rs`; its "What
//!   changed" filter shows the administrative trail instead (changes to skills, agents,
//!   settings, people: `Store::admin_feed`), rendered as `GET /api/v2/audit/admin` renders it;
//! - for admins only (`admin.rs` checks the role): the organization's settings (`settings.rs`),
//!   its console users (`people.rs`) and its API clients (`clients.rs`), the first and last
//!   changed by `admin.js` through the API.
//!
//! Beside them, the cross-cutting pieces: the page layout and its assets (`layout.rs`), the signed-in bar (`navbar.rs`), the
//! API reached with the session (`api.rs`), sessions and their cookie (`sessions.rs`),
//! anti-forgery checks (`csrf.rs`), passwords (`passwords.rs`).
//!
//! Every answer of the router below that is a page, a script or a style sheet is compressed
//! when the browser asks (`compression()`); the JSON API's, outside it, never are.

mod admin;
mod agent;
pub mod api;
mod audit;
mod bulk;
mod clients;
pub mod csrf;
mod grid;
mod grid_view;
mod import;
mod layout;
mod navbar;
mod password;
pub mod passwords;
mod people;
pub mod sessions;
mod settings;
mod sign_in;
mod sign_out;
mod skills;

use crate::state::AppState;
use crate::token_guard::FailureLimits;
use axum::http::{header, Extensions, HeaderMap, StatusCode, Version};
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// How the console's sessions live (see docs/OPERATIONS.md for the flags that set them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleOptions {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, however much it is used.
    pub absolute: Duration,
    /// Believe `X-Forwarded-Proto` and `X-Forwarded-For` (set by a reverse proxy in front):
    /// the cookie is then `Secure` when the proxy was reached over HTTPS, and failed sign-ins
    /// are counted per the address the proxy saw. Off, a client could claim either.
    pub trust_proxy_headers: bool,
    /// Failed sign-ins allowed per account (`per_client`) and per source address.
    pub sign_in_failures: FailureLimits,
}

impl Default for ConsoleOptions {
    fn default() -> Self {
        ConsoleOptions {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 60 * 60),
            trust_proxy_headers: false,
            sign_in_failures: FailureLimits::default(),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(grid::page))
        .route("/console/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/console/assets/{file}", get(layout::asset))
        .route("/console/sign-out", axum::routing::post(sign_out::sign_out))
        .route(
            "/console/password",
            get(password::page).post(password::submit),
        )
        .route("/console/agents/{agentId}", get(agent::page))
        .route("/console/settings", get(settings::page))
        .route("/console/people", get(people::page).post(people::create))
        .route(
            "/console/people/{userId}/active",
            axum::routing::post(people::set_active),
        )
        .route(
            "/console/people/{userId}/role",
            axum::routing::post(people::set_role),
        )
        .route("/console/clients", get(clients::page))
        .route("/console/grid/agent-ids", get(bulk::agent_ids))
        .route("/console/skills", get(skills::page))
        .route("/console/audit", get(audit::page))
        .route("/console/import", get(import::page))
        .route("/console/import/plan", axum::routing::post(import::plan))
        .route("/console/import/apply", axum::routing::post(import::apply))
        .layer(compression())
}

/// The console's pages, scripts and style sheets, compressed when the browser asks
/// (`Accept-Encoding: br` or `gzip`) at the fastest level: the grid's markup is very
/// repetitive, so even that level sends a fraction of its bytes for well under a
/// millisecond. Only here: the JSON API's answers go out as they always have, and so do the
/// console's own JSON answers and every error, which `problem_bodies` may rewrite.
fn compression() -> CompressionLayer<impl Predicate> {
    let compressible = |status: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions| {
        status.is_success()
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.starts_with("text/html")
                        || v.starts_with("text/css")
                        || v.starts_with("text/javascript")
                        || v.starts_with("application/javascript")
                })
    };
    CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(SizeAbove::new(1024).and(compressible))
}
