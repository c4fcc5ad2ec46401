//! `POST /console/sign-out`, and the organization's name that the signed-in bar shows.

use super::layout::{read_form, redirect, refused};
use super::{csrf, sessions};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;

/// The organization's name, for the page.
pub(super) async fn org_name(state: &AppState, s: &sessions::Session) -> Result<String, ApiError> {
    let org = s.record.user.org_id;
    Ok(state
        .store()
        .find_org(&org.to_string())
        .await?
        .map_or_else(|| org.to_string(), |o| o.name))
}

pub async fn sign_out(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let Some(s) = sessions::current(&state, &parts.headers).await? else {
        return Ok(redirect("/console/sign-in"));
    };
    let fields = read_form(&parts.headers, body).await?;
    let sent = fields.get(csrf::FIELD).map(String::as_str);
    if let Err(f) = csrf::check(&parts.headers, sent, &s.record.csrf_token, state.console()) {
        return Ok(refused(StatusCode::FORBIDDEN, "Sign out", f.detail()));
    }
    state.store().delete_session(&s.hash).await?;
    let mut res = redirect("/console/sign-in");
    res.headers_mut().insert(
        header::SET_COOKIE,
        sessions::clearing_cookie(&parts.headers, state.console()),
    );
    Ok(res)
}
