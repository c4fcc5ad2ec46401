//! `GET /console`: the signed-in home, and `POST /console/sign-out`.
//!
//! For now the home shows only who is signed in, where, and with which role; the grid of
//! agents and their skills comes in the next increment and takes this page's place.

use super::layout::{frame, read_form, redirect, refused, respond};
use super::navbar::bar;
use super::{csrf, sessions};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

/// The organization's name, for the page.
pub(super) async fn org_name(state: &AppState, s: &sessions::Session) -> Result<String, ApiError> {
    let org = s.record.user.org_id;
    Ok(state
        .store()
        .find_org(&org.to_string())
        .await?
        .map_or_else(|| org.to_string(), |o| o.name))
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let s = match sessions::for_page(&state, &headers, false).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let org = org_name(&state, &s).await?;
    let user = &s.record.user;
    let body = html! {
        dl data-home {
            dt { "Organization" } dd data-org=(org) { (org) }
            dt { "Signed in as" } dd data-email=(user.email) { (user.email) }
            dt { "Role" } dd data-role=(user.role.as_str()) { (user.role.as_str()) }
        }
        p { a href="/console/password" { "Change your password" } }
    };
    Ok(respond(
        StatusCode::OK,
        frame("skillgrid console", Some(bar(&s, &org)), body),
    ))
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
