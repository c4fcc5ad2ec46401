//! `GET|POST /console/people` (admins only): the organization's console users; a new user
//! made with a one-time password shown on the answer to the form, once (the same code as
//! `skillgrid admin create-user`: `bootstrap::create_user_in`). Each user's row has forms to
//! disable or enable them (`POST /console/people/{userId}/active`: disabling ends their
//! sessions at once, as `admin disable-user` does) and to change their role (`POST
//! /console/people/{userId}/role`). An admin can neither disable themself nor change their own
//! role, so that an organization is never left without an admin by mistake.

use super::admin;
use super::csrf;
use super::layout::{frame, read_form, redirect, refused, respond};
use super::navbar::bar;
use super::sessions::Session;
use crate::bootstrap::{create_user_in, NewConsoleUser};
use crate::error::{current_request_id, ApiError};
use crate::state::AppState;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use skillgrid_core::people::Role;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{ChangedBy, StoreError, UserChange, UserRecord};
use std::collections::HashMap;
use uuid::Uuid;

const TITLE: &str = "People";

#[derive(Debug, Default, Deserialize)]
pub struct PeopleQuery {
    /// What the last form did, said by the page it leads to.
    pub done: Option<String>,
}

/// What the page shows beside the list, after a form.
#[derive(Default)]
struct Outcome<'a> {
    created: Option<&'a NewConsoleUser>,
    error: Option<&'a str>,
    /// The fields of a refused creation, kept.
    email: &'a str,
    role: Option<Role>,
    done: Option<&'a str>,
}

pub async fn page(
    State(state): State<AppState>,
    Query(query): Query<PeopleQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (s, org) = match admin::session(&state, &headers, TITLE).await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    let done = query.done.as_deref().and_then(done_text);
    let outcome = Outcome {
        done,
        ..Outcome::default()
    };
    show(&state, &s, &org, StatusCode::OK, &outcome).await
}

/// What a `done` of the query string says (anything else says nothing).
fn done_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "disabled" => "The user was disabled; their sessions have ended.",
        "enabled" => "The user was enabled.",
        "role" => "The user's role was changed.",
        _ => return None,
    })
}

async fn show(
    state: &AppState,
    s: &Session,
    org: &str,
    status: StatusCode,
    outcome: &Outcome<'_>,
) -> Result<Response, ApiError> {
    let users = state.store().list_users(s.record.user.org_id).await?;
    let body = render(s, &users, outcome);
    Ok(respond(status, frame(TITLE, Some(bar(s, org)), body)))
}

/// The admin's session and the form's fields of a POST that passed the anti-forgery check.
async fn posted(
    state: &AppState,
    req: Request,
) -> Result<Result<(Session, String, HashMap<String, String>), Response>, ApiError> {
    let (parts, body) = req.into_parts();
    let (s, org) = match admin::session(state, &parts.headers, TITLE).await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(Err(answer)),
    };
    let fields = read_form(&parts.headers, body).await?;
    let sent = fields.get(csrf::FIELD).map(String::as_str);
    if let Err(f) = csrf::check(&parts.headers, sent, &s.record.csrf_token, state.console()) {
        return Ok(Err(refused(StatusCode::FORBIDDEN, TITLE, f.detail())));
    }
    Ok(Ok((s, org, fields)))
}

/// `POST /console/people`: a new user with a one-time password, shown on this answer only.
pub async fn create(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (s, org, fields) = match posted(&state, req).await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    let email = fields.get("email").map(String::as_str).unwrap_or("");
    let role_field = fields.get("role").map(String::as_str).unwrap_or("");
    let role = match role_field.parse::<Role>() {
        Ok(r) => r,
        Err(e) => {
            let outcome = Outcome {
                error: Some(&e.to_string()),
                email,
                ..Outcome::default()
            };
            return show(&state, &s, &org, StatusCode::UNPROCESSABLE_ENTITY, &outcome).await;
        }
    };
    let me = &s.record.user;
    let org_record = state
        .store()
        .find_org(&me.org_id.to_string())
        .await?
        .ok_or(StoreError::NotFound)?;
    let by = by(me);
    let made = create_user_in(state.store(), &org_record, email, role, None, &by)
        .await
        .map_err(ApiError::Internal)?;
    match made {
        Ok(user) => {
            let outcome = Outcome {
                created: Some(&user),
                ..Outcome::default()
            };
            show(&state, &s, &org, StatusCode::CREATED, &outcome).await
        }
        Err(why) => {
            let outcome = Outcome {
                error: Some(&why),
                email,
                role: Some(role),
                ..Outcome::default()
            };
            show(&state, &s, &org, StatusCode::UNPROCESSABLE_ENTITY, &outcome).await
        }
    }
}

/// The user of the admin's organization a form names, or the answer that says there is none,
/// or that it is the admin themself.
async fn other_user(
    state: &AppState,
    s: &Session,
    id: &str,
    myself: &str,
) -> Result<Result<UserRecord, Response>, ApiError> {
    let not_found = || {
        refused(
            StatusCode::NOT_FOUND,
            TITLE,
            "No console user of your organization has this id.",
        )
    };
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(Err(not_found()));
    };
    let me = &s.record.user;
    let user = match state.store().get_user(me.org_id, id).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Ok(Err(not_found())),
        Err(e) => return Err(e.into()),
    };
    if user.id == me.id {
        return Ok(Err(refused(StatusCode::CONFLICT, TITLE, myself)));
    }
    Ok(Ok(user))
}

/// `POST /console/people/{userId}/active` with `active=false` (disable: their sessions end at
/// once) or `active=true`.
pub async fn set_active(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (s, _, fields) = match posted(&state, req).await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    let active = match fields.get("active").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return Ok(refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                TITLE,
                "The form must say `active=true` (enable) or `active=false` (disable).",
            ))
        }
    };
    let change = UserChange {
        active: Some(active),
        ..UserChange::default()
    };
    let refusal = "You cannot disable or enable yourself: another admin must.";
    if let Err(answer) = change_other(&state, &s, &id, refusal, &change).await? {
        return Ok(answer);
    }
    Ok(redirect(if active {
        "/console/people?done=enabled"
    } else {
        "/console/people?done=disabled"
    }))
}

/// `POST /console/people/{userId}/role` with `role=viewer|editor|admin`.
pub async fn set_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (s, _, fields) = match posted(&state, req).await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    let role = match fields
        .get("role")
        .map(String::as_str)
        .unwrap_or("")
        .parse::<Role>()
    {
        Ok(r) => r,
        Err(e) => {
            return Ok(refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                TITLE,
                &e.to_string(),
            ))
        }
    };
    let change = UserChange {
        role: Some(role),
        ..UserChange::default()
    };
    let refusal = "You cannot change your own role: another admin must.";
    if let Err(answer) = change_other(&state, &s, &id, refusal, &change).await? {
        return Ok(answer);
    }
    Ok(redirect("/console/people?done=role"))
}

/// Applies `change` to the user `id` names, recorded under the signed-in admin; the answer
/// instead when `id` is no user of the organization, or the admin themself (`refusal`).
async fn change_other(
    state: &AppState,
    s: &Session,
    id: &str,
    refusal: &str,
    change: &UserChange,
) -> Result<Result<(), Response>, ApiError> {
    let user = match other_user(state, s, id, refusal).await? {
        Ok(u) => u,
        Err(answer) => return Ok(Err(answer)),
    };
    state
        .store()
        .update_user_by(user.org_id, user.id, change, &by(&s.record.user))
        .await?;
    Ok(Ok(()))
}

/// Who makes a change in the console: the signed-in user, through their own client.
pub(crate) fn by(me: &UserRecord) -> ChangedBy {
    ChangedBy {
        request_id: current_request_id(),
        client: Some(me.client_id),
        now: Timestamp::now(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

fn render(s: &Session, users: &[UserRecord], o: &Outcome) -> Markup {
    let me = &s.record.user;
    let token = &s.record.csrf_token;
    html! {
        @if let Some(done) = o.done {
            p.notice role="status" data-done { (done) }
        }
        @if let Some(u) = o.created {
            div.notice role="status" data-created-user=(u.user_id) {
                p { "Created the console user " strong { (u.email) } " (" (u.role.as_str()) ")." }
                @if let Some(p) = &u.password {
                    p { "One-time password: " code data-one-time-password { (p) } }
                    p { "Give it to them now: it is not shown again. They choose their own password at their first sign-in." }
                }
            }
        }
        section aria-labelledby="new-user-heading" {
            h2 #new-user-heading { "New user" }
            form method="post" action="/console/people" data-form="new-user" {
                input type="hidden" name=(csrf::FIELD) value=(token);
                @if let Some(e) = o.error {
                    p.error #new-user-error role="alert" data-user-error { (e) }
                }
                label for="user-email" { "E-mail" }
                input #user-email type="email" name="email" required value=(o.email)
                    autocomplete="off" aria-describedby=[o.error.map(|_| "new-user-error")];
                label for="user-role" { "Role" }
                select #user-role name="role" {
                    @for r in Role::ALL {
                        option value=(r.as_str()) selected[o.role.unwrap_or(Role::Viewer) == r] { (r.as_str()) }
                    }
                }
                button type="submit" { "Create user" }
            }
        }
        section aria-labelledby="people-heading" {
            h2 #people-heading { "Console users" }
            table.list data-people {
                caption { "The organization's console users, oldest first" }
                thead { tr {
                    th scope="col" { "E-mail" }
                    th scope="col" { "Role" }
                    th scope="col" { "Active" }
                    th scope="col" { "Must change password" }
                    th scope="col" { "Created" }
                    th scope="col" { "Changes" }
                } }
                tbody {
                    @for u in users {
                        tr data-user-id=(u.id) data-email=(u.email) {
                            th scope="row" { (u.email) }
                            td data-role=(u.role.as_str()) { (u.role.as_str()) }
                            td data-active=(u.active) { (yes_no(u.active)) }
                            td data-must-change-password=(u.must_change_password) { (yes_no(u.must_change_password)) }
                            td { (u.created_at.to_rfc3339()) }
                            td {
                                @if u.id == me.id {
                                    "(you)"
                                } @else {
                                    form.inline method="post" action=(format!("/console/people/{}/active", u.id)) data-form="user-active" {
                                        input type="hidden" name=(csrf::FIELD) value=(token);
                                        input type="hidden" name="active" value=(!u.active);
                                        button type="submit" {
                                            @if u.active { "Disable" } @else { "Enable" }
                                            span.visually-hidden { " " (u.email) }
                                        }
                                    }
                                    form.inline method="post" action=(format!("/console/people/{}/role", u.id)) data-form="user-role" {
                                        input type="hidden" name=(csrf::FIELD) value=(token);
                                        label.visually-hidden for=(format!("role-{}", u.id)) { "Role of " (u.email) }
                                        select #(format!("role-{}", u.id)) name="role" {
                                            @for r in Role::ALL {
                                                option value=(r.as_str()) selected[u.role == r] { (r.as_str()) }
                                            }
                                        }
                                        button type="submit" { "Change role" span.visually-hidden { " of " (u.email) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
