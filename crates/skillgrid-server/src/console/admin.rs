//! What the admin screens (`settings.rs`, `people.rs`, `clients.rs`) share: only a signed-in
//! admin gets them, checked on the server for every page and every form; an editor or a
//! viewer gets a 403 page that says so.

use super::layout::refused;
use super::sessions::{self, Session};
use super::sign_out::org_name;
use crate::error::ApiError;
use crate::state::AppState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use skillgrid_core::people::Role;

/// A signed-in admin's session and the name of their organization, or the answer for anyone
/// else: to sign in (or choose a password), or 403 for an editor or a viewer.
pub async fn session(
    state: &AppState,
    headers: &HeaderMap,
    title: &str,
) -> Result<Result<(Session, String), Response>, ApiError> {
    let s = match sessions::for_page(state, headers, false).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(Err(to_sign_in)),
    };
    if s.record.user.role != Role::Admin {
        return Ok(Err(refused(
            StatusCode::FORBIDDEN,
            title,
            "Only an admin of the organization may see or change this.",
        )));
    }
    let org = org_name(state, &s).await?;
    Ok(Ok((s, org)))
}
