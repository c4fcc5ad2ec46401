//! The JSON API called with the console's session cookie instead of a bearer token: how the
//! console's scripts will reach the same routes, rules and store as every API client.
//!
//! The caller is the session's user, in their organization, holding their role's scopes (see
//! `skillgrid_core::people::Role::scopes`), recorded in the audit trail under the API client
//! made with the user. A request that may change something must pass the anti-forgery check
//! (`csrf.rs`), and nothing passes before the user has replaced a one-time password. A request
//! with an `Authorization` header is never read this way.

use super::{csrf, sessions};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, Method};
use foldhash::HashMap;
use skillgrid_api::ProblemCode;
use skillgrid_core::model::{ClientId, OrgId};
use uuid::Uuid;

/// The caller a request's session cookie stands for; `None` without a session cookie.
pub async fn session_caller(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    if sessions::cookie_token(headers).is_none() {
        return Ok(None);
    }
    let Some(s) = sessions::current(state, headers).await? else {
        return Err(ApiError::new(
            ProblemCode::Unauthorized,
            "the console session has ended (signed out, expired, or its user disabled); sign in again at /console/sign-in, or send Authorization: Bearer TOKEN",
        )
        .with_header(WWW_AUTHENTICATE, "Bearer realm=\"skillgrid\""));
    };
    let user = s.record.user;
    if user.must_change_password {
        return Err(ApiError::new(
            ProblemCode::Forbidden,
            "the user must replace their one-time password at /console/password first",
        ));
    }
    if csrf::changes_state(method) {
        let sent = csrf::header_token(headers);
        if let Err(f) = csrf::check(headers, sent, &s.record.csrf_token, state.console()) {
            return Err(forged(f));
        }
    }
    Ok(Some(Caller {
        org_id: user.org_id,
        client_id: user.client_id,
        scopes: user.role.scopes().iter().map(|s| s.to_string()).collect(),
        token_epoch: 0,
        org: None,
        user_id: Some(user.id),
    }))
}

/// 403 `forbidden` for a change made with the session that fails the anti-forgery check.
pub fn forged(f: csrf::Forgery) -> ApiError {
    ApiError::new(ProblemCode::Forbidden, f.detail())
}

/// The organization's console users by the API client each one's changes are recorded under:
/// how an audit entry names the user who made it.
pub async fn users_by_client(
    state: &AppState,
    org: OrgId,
) -> Result<HashMap<ClientId, Uuid>, ApiError> {
    Ok(state
        .store()
        .list_users(org)
        .await?
        .into_iter()
        .map(|u| (u.client_id, u.id))
        .collect())
}
