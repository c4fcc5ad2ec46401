//! The console: server-rendered pages for the people who own an organization's skill
//! assignments, signed in with a password and a session cookie, beside the JSON API.
//!
//! It is another front door onto the same rules and store: a signed-in user's requests to the
//! API are checked with the scopes of their role (see `skillgrid_core::people`), and its pages
//! change nothing the API could not. Every state-changing request of a session carries its
//! anti-forgery token, checked in one place (`csrf.rs`).
//!
//! One module per screen (`sign_in.rs`, `password.rs`, `sign_out.rs`, and the grid: `grid.rs`
//! with its markup in `grid_view.rs` and its script in `grid.js`; one agent's page with its
//! history and undo: `agent.rs` and `agent.js`; the CSV import, planned and applied through the
//! bulk route's own code: `import.rs` and `import.js`) beside the cross-cutting
//! pieces: the page layout and its assets (`layout.rs`), the signed-in bar (`navbar.rs`), the
//! API reached with the session (`api.rs`), sessions and their cookie (`sessions.rs`),
//! anti-forgery checks (`csrf.rs`), passwords (`passwords.rs`).

mod agent;
pub mod api;
pub mod csrf;
mod grid;
mod grid_view;
mod import;
mod layout;
mod navbar;
mod password;
pub mod passwords;
pub mod sessions;
mod sign_in;
mod sign_out;

use crate::state::AppState;
use crate::token_guard::FailureLimits;
use axum::routing::get;
use axum::Router;
use std::time::Duration;

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
        .route("/console/sign-out", axum::routing::post(sign_out::sign_out))
        .route(
            "/console/password",
            get(password::page).post(password::submit),
        )
        .route("/console/assets/console.css", get(layout::stylesheet))
        .route("/console/assets/grid.js", get(layout::grid_script))
        .route("/console/agents/{agentId}", get(agent::page))
        .route("/console/assets/agent.js", get(layout::agent_script))
        .route("/console/import", get(import::page))
        .route("/console/import/plan", axum::routing::post(import::plan))
        .route("/console/import/apply", axum::routing::post(import::apply))
        .route("/console/assets/import.js", get(layout::import_script))
}
