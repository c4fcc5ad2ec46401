//! `GET|POST /console/password`: a signed-in user chooses a new password. A user given a
//! one-time password is sent here before any other page, and the API refuses their session
//! until they have.

use super::layout::{frame, read_form, redirect, refused, respond};
use super::navbar::bar;
use super::sign_out::org_name;
use super::{csrf, passwords, sessions};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use skillgrid_store::UserChange;

fn form(s: &sessions::Session, org: &str, error: Option<&str>) -> Markup {
    let must = s.record.user.must_change_password;
    let body = html! {
        @if must {
            p.notice data-must-change { "Choose your own password before you go on." }
        }
        @if let Some(e) = error { p.error role="alert" data-password-error { (e) } }
        form method="post" action="/console/password" data-form="password" {
            input type="hidden" name=(csrf::FIELD) value=(s.record.csrf_token);
            label for="current" { "Current password" }
            input #current type="password" name="current" required autocomplete="current-password";
            label for="new" { "New password (at least " (passwords::MIN_LEN) " characters)" }
            input #new type="password" name="new" required autocomplete="new-password"
                minlength=(passwords::MIN_LEN);
            label for="confirm" { "New password again" }
            input #confirm type="password" name="confirm" required autocomplete="new-password";
            button type="submit" { "Change password" }
        }
    };
    frame("Change your password", Some(bar(s, org)), body)
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let s = match sessions::for_page(&state, &headers, true).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let org = org_name(&state, &s).await?;
    Ok(respond(StatusCode::OK, form(&s, &org, None)))
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let s = match sessions::for_page(&state, &parts.headers, true).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let fields = read_form(&parts.headers, body).await?;
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    if let Err(f) = csrf::check(
        &parts.headers,
        Some(field(csrf::FIELD)),
        &s.record.csrf_token,
        state.console(),
    ) {
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "Change your password",
            f.detail(),
        ));
    }
    let user = &s.record.user;
    let (current, new) = (field("current"), field("new"));
    let error = if !passwords::verify_apart(current, &user.password_hash).await {
        Some("The current password is wrong.".to_string())
    } else if new != field("confirm") {
        Some("The two new passwords differ.".to_string())
    } else if new == current {
        Some("Choose a password other than the current one.".to_string())
    } else {
        passwords::refusal(new)
    };
    if let Some(e) = error {
        let org = org_name(&state, &s).await?;
        return Ok(respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            form(&s, &org, Some(&e)),
        ));
    }
    let change = UserChange {
        password: Some((
            passwords::hash_apart(new)
                .await
                .map_err(ApiError::Internal)?,
            false,
        )),
        keep_session: Some(s.hash),
        ..UserChange::default()
    };
    state
        .store()
        .update_user_by(user.org_id, user.id, &change, &super::people::by(user))
        .await?;
    Ok(redirect("/console"))
}
