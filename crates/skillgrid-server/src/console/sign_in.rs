//! `GET|POST /console/sign-in`: the organization, e-mail and password of a user, checked
//! against the Argon2id hash, with failed attempts limited per account and per source
//! address as the token endpoint limits failed client secrets (`crate::token_guard`).

use super::layout::{frame, read_form, redirect, refused, respond};
use super::{csrf, passwords, sessions};
use crate::error::ApiError;
use crate::state::AppState;
use crate::token_guard::Refusal;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use uuid::Uuid;

/// What the form shows again after a failed attempt.
#[derive(Default)]
struct Form<'a> {
    organization: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

fn form(f: Form<'_>) -> Markup {
    frame(
        "Sign in",
        None,
        html! {
            @if let Some(e) = f.error { p.error role="alert" data-sign-in-error { (e) } }
            form method="post" action="/console/sign-in" data-form="sign-in" {
                label for="organization" { "Organization" }
                input #organization type="text" name="organization" value=(f.organization)
                    required autocomplete="organization";
                label for="email" { "E-mail" }
                input #email type="email" name="email" value=(f.email) required
                    autocomplete="username";
                label for="password" { "Password" }
                input #password type="password" name="password" required
                    autocomplete="current-password";
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if sessions::current(&state, &headers).await?.is_some() {
        return Ok(redirect("/console"));
    }
    // With one organization (the usual case), there is nothing to choose.
    let only = match q.get("org") {
        Some(o) => Some(o.clone()),
        None if state.store().org_count().await? == 1 => {
            let orgs = state.store().list_orgs().await?;
            orgs.into_iter().next().map(|o| o.name)
        }
        None => None,
    };
    Ok(respond(
        StatusCode::OK,
        form(Form {
            organization: only.as_deref().unwrap_or(""),
            ..Form::default()
        }),
    ))
}

/// The key of an account's failure bucket: who is named, whether or not they exist (so
/// guessing at addresses costs as much as guessing at passwords).
fn account_key(organization: &str, email: &str) -> Uuid {
    let d = Sha256::digest(format!(
        "{}\n{}",
        organization.to_lowercase(),
        email.to_lowercase()
    ));
    Uuid::from_slice(&d[..16]).expect("16 bytes")
}

fn too_many(r: Refusal) -> Response {
    let secs = r.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let whose = if r.by_client {
        "this account"
    } else {
        "this address"
    };
    let mut res = refused(
        StatusCode::TOO_MANY_REQUESTS,
        "Sign in",
        &format!("Too many failed sign-ins for {whose}; try again in {secs} seconds."),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let (parts, body) = req.into_parts();
    let opts = *state.console();
    // No session yet, so no token: a sign-in posted from another site is refused by its
    // origin, so that nobody is signed in to someone else's account without knowing it.
    if let Err(f) = csrf::check_origin(&parts.headers, &opts) {
        return Ok(refused(StatusCode::FORBIDDEN, "Sign in", f.detail()));
    }
    let fields = read_form(&parts.headers, body).await?;
    let field = |name: &str| fields.get(name).map(|s| s.trim()).unwrap_or("");
    let (organization, email) = (field("organization"), field("email"));
    let password = fields.get("password").map(String::as_str).unwrap_or("");
    let address = sessions::source_address(&parts.headers, peer, &opts);
    let attempt = match state
        .sign_in_guard()
        .attempt(Some(account_key(organization, email)), address)
    {
        Ok(a) => a,
        Err(r) => return Ok(too_many(r)),
    };
    let org = if organization.is_empty() {
        None
    } else {
        state.store().find_org(organization).await?
    };
    let user = match &org {
        Some(o) if !email.is_empty() => state.store().find_user(o.id, email).await?,
        _ => None,
    };
    // A hash is checked either way: the answer takes as long whoever is named.
    let stored = user
        .as_ref()
        .map_or(passwords::decoy_hash(), |u| u.password_hash.as_str());
    let verified = passwords::verify_apart(password, stored).await;
    let Some(user) = user.filter(|u| verified && u.active) else {
        attempt.failed();
        let mut res = respond(
            StatusCode::UNAUTHORIZED,
            form(Form {
                organization,
                email,
                error: Some(
                    "The organization, e-mail or password is wrong, or the user is disabled.",
                ),
            }),
        );
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("FormBased"),
        );
        return Ok(res);
    };
    drop(attempt);
    let cookie = sessions::start(&state, &user, &parts.headers).await?;
    let next = if user.must_change_password {
        "/console/password"
    } else {
        "/console"
    };
    let mut res = redirect(next);
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    tracing::info!(user = %user.id, org = %user.org_id, "console sign-in");
    Ok(res)
}
