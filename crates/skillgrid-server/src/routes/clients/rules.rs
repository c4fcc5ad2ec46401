//! Who may do what to an API client, the answers that refuse it, and how a client is shown.
//!
//! A token manages only clients whose every scope it holds, and grants only scopes it holds:
//! otherwise a client with `admin:org:write` and little else could take over a client holding
//! more (by rotating its secret) or mint one (by creating or widening a client). The scopes
//! of a token are its client's as of this request, so a client narrowed since cannot use the
//! scopes it lost.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::CLIENT;
use axum::http::header::WWW_AUTHENTICATE;
use skillgrid_api::{ApiClient, EntryCode, ErrorEntry, ProblemCode};
use skillgrid_store::{ClientId, ClientRecord, ClientState, Conflict, StoreError};

pub fn render(c: &ClientRecord) -> ApiClient {
    render_state(c.id, &c.state())
}

pub fn render_state(id: ClientId, s: &ClientState) -> ApiClient {
    use skillgrid_core::timestamp::Timestamp;
    ApiClient {
        id: id.get(),
        name: s.name.clone(),
        scopes: s.scopes.clone(),
        active: s.active,
        created_at: Timestamp(s.created_at).to_rfc3339(),
        updated_at: Timestamp(s.updated_at).to_rfc3339(),
        secret_created_at: Timestamp(s.secret_created_at).to_rfc3339(),
    }
}

/// The scopes of `wanted` the caller's token does not hold, in their order.
fn not_held<'a>(caller: &Caller, wanted: &'a [String]) -> Vec<&'a str> {
    wanted
        .iter()
        .filter(|s| !caller.scopes.contains(s))
        .map(String::as_str)
        .collect()
}

fn insufficient(detail: String, missing: &[&str]) -> ApiError {
    ApiError::new(ProblemCode::InsufficientScope, detail).with_header(
        WWW_AUTHENTICATE,
        &format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\"",
            missing.join(" ")
        ),
    )
}

/// 403 unless the caller holds every scope of the client it means to change.
pub fn may_manage(caller: &Caller, client: &ClientRecord) -> Result<(), ApiError> {
    let missing = not_held(caller, &client.scopes);
    if missing.is_empty() {
        return Ok(());
    }
    Err(insufficient(
        format!(
            "client `{}` holds {}, which this token does not; a token may change only clients whose every scope it holds",
            client.name,
            quoted(&missing)
        ),
        &missing,
    ))
}

/// 403 unless the caller holds every scope it means to give, with an entry at each one it
/// does not (`pointer` is that of the body's `scopes`).
pub fn may_grant(caller: &Caller, scopes: &[String], pointer: &str) -> Result<(), ApiError> {
    let missing = not_held(caller, scopes);
    if missing.is_empty() {
        return Ok(());
    }
    let entries = scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| missing.contains(&s.as_str()))
        .map(|(i, s)| {
            ErrorEntry::at(
                format!("{pointer}/{i}"),
                EntryCode::NotAllowed,
                format!("this token does not hold `{s}`, so it cannot give it"),
            )
            .hint(format!(
                "a token can give only scopes it holds: {}",
                if caller.scopes.is_empty() {
                    "none".to_string()
                } else {
                    caller.scopes.join(" ")
                }
            ))
        })
        .collect();
    Err(insufficient(
        format!(
            "a client cannot give scopes it does not hold: this token lacks {}",
            quoted(&missing)
        ),
        &missing,
    )
    .with_errors(entries))
}

fn quoted(scopes: &[&str]) -> String {
    scopes
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// 409: a client would lock itself out.
pub fn not_itself(what: &str) -> ApiError {
    ApiError::new(
        ProblemCode::Conflict,
        format!(
            "a client cannot {what} itself; use another client with admin:org:write, or the admin command on the server's database"
        ),
    )
}

/// 409: the client records a console user's changes; it is managed through the user.
pub fn a_users_client(email: &str) -> ApiError {
    ApiError::new(
        ProblemCode::Conflict,
        format!(
            "this client records the changes of the console user {email} and cannot be changed, given a secret or deleted on its own; manage the user instead (skillgrid admin disable-user)"
        ),
    )
}

/// 409: the client's scopes changed between the check and the change.
pub fn changed_meanwhile() -> ApiError {
    ApiError::new(
        ProblemCode::Conflict,
        "the client's scopes changed while this request ran; read it again and retry",
    )
}

/// A refused change: a client that changed meanwhile, or one that is not there.
pub fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(Conflict::ScopesChanged) => changed_meanwhile(),
        e => CLIENT.not_found(e),
    }
}
