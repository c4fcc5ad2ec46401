//! API clients: `/admin/clients`, and their audit trail, `/audit/clients`.
//!
//! Every change is written with its audit entry in one transaction, and moves the
//! organization's generation: the next request on any instance checks its token against the
//! client as changed (see `auth::admit`).

pub mod rules;

use super::{checked_body, listing, page, page_request, query, CLIENT};
use crate::auth::{hash_secret, new_client_secret, Caller};
use crate::error::{current_request_id, ApiResult};
use crate::state::AppState;
use crate::vendor_scopes::{self, Asked};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use rules::{may_grant, may_manage, not_itself, refused, render, render_state};
use skillgrid_api::{scopes, ApiClient, ApiClientWithSecret, ClientAuditEntry, Page};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_core::validate;
use skillgrid_store::{ChangedBy, ClientChange, ClientId, ClientRecord};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/clients", get(list).post(create))
        .route(
            "/admin/clients/{clientId}",
            get(read).patch(update).delete(remove),
        )
        .route("/admin/clients/{clientId}/secret", post(rotate))
        .route("/audit/clients", get(audit))
}

/// Who makes a change with this request: the caller's client (a console user's own client
/// for a request made with their session).
pub(crate) fn by(caller: &Caller) -> ChangedBy {
    ChangedBy {
        request_id: current_request_id(),
        client: Some(caller.client_id),
        now: Timestamp::now(),
    }
}

/// Another product's scope name in a client's scopes: the product and the scopes meant.
pub(crate) fn foreign_scope(name: &str) -> Option<String> {
    vendor_scopes::refusal(&[name], Asked::CreateClient).filter(|r| !r.starts_with("unknown"))
}

/// A client with its new secret, never cached on the way.
fn with_secret(
    c: &ClientRecord,
    secret: String,
) -> (
    [(header::HeaderName, &'static str); 1],
    Json<ApiClientWithSecret>,
) {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(ApiClientWithSecret {
            client: render(c),
            client_secret: secret,
        }),
    )
}

/// The organization's client `id`, which the caller may change.
async fn managed(
    state: &AppState,
    caller: &Caller,
    q: Option<String>,
    id: &str,
) -> ApiResult<ClientRecord> {
    let (_, c) = CLIENT
        .fetch(q, id, |id| state.store().get_client(caller.org_id, id))
        .await?;
    may_manage(caller, &c)?;
    // A console user's client records that user's changes and can never get a token: it is
    // changed only with the user, so that no secret or scope can be given to it.
    let users = state.store().list_users(caller.org_id).await?;
    if let Some(u) = users.iter().find(|u| u.client_id == c.id) {
        return Err(rules::a_users_client(&u.email));
    }
    Ok(c)
}

/// List the API clients
///
/// Oldest first; secrets are never shown, only when each was made.
#[utoipa::path(get, path = "/api/v2/admin/clients", tag = "clients", operation_id = "listClients",
    security(("oauth2" = ["admin:org:read"])),
    params(super::Paging),
    responses((status = 200, description = "one page of clients", body = Page<ApiClient>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<ApiClient>>> {
    caller.require(scopes::ORG_READ)?;
    let q = query(q, &["limit", "cursor"])?;
    listing(
        &q,
        |p| state.store().list_clients(caller.org_id, p),
        |c| render(&c),
    )
    .await
}

/// Create an API client
///
/// Its secret is in this answer and never again. Each scope must be held by the calling
/// token: a client cannot give what it does not hold.
#[utoipa::path(post, path = "/api/v2/admin/clients", tag = "clients", operation_id = "createClient",
    security(("oauth2" = ["admin:org:write"])),
    request_body(content = skillgrid_api::ApiClientCreate, content_type = "application/json"),
    responses((status = 201, description = "the new client and its secret", body = ApiClientWithSecret,
        headers(("Location" = String, description = "the new client's URL"), ("Cache-Control" = String, description = "`no-store`: the answer holds a secret")))))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    caller.require(scopes::ORG_WRITE)?;
    query(q, &[])?;
    let new = checked_body(&state, &caller, &headers, body, |v| {
        validate::client_create(v, &foreign_scope)
    })
    .await?;
    may_grant(&caller, &new.scopes, "/scopes")?;
    let secret = new_client_secret();
    let c = state
        .store()
        .create_client(
            caller.org_id,
            &new.name,
            &hash_secret(&secret),
            &new.scopes,
            &by(&caller),
        )
        .await?;
    Ok(CLIENT.created(c.id, with_secret(&c, secret)))
}

/// Read an API client
#[utoipa::path(get, path = "/api/v2/admin/clients/{clientId}", tag = "clients", operation_id = "getClient",
    security(("oauth2" = ["admin:org:read"])), params(("clientId" = uuid::Uuid, Path, description = "the client's id")),
    responses((status = 200, description = "the client", body = ApiClient)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<ApiClient>> {
    caller.require(scopes::ORG_READ)?;
    let (_, c) = CLIENT
        .fetch(q, &id, |id| state.store().get_client(caller.org_id, id))
        .await?;
    Ok(Json(render(&c)))
}

/// Change an API client
///
/// Takes `name`, `scopes` (the whole new list) and `active`. `{"active": false}` disables the
/// client: it gets no token, and the tokens it holds are refused from the next request on,
/// on every instance; enabling it again does not bring those tokens back. Scopes taken away
/// leave its tokens at once. The calling token must hold every scope the client holds and
/// every scope it is given; a client cannot disable itself.
#[utoipa::path(patch, path = "/api/v2/admin/clients/{clientId}", tag = "clients", operation_id = "patchClient",
    security(("oauth2" = ["admin:org:write"])), params(("clientId" = uuid::Uuid, Path, description = "the client's id")),
    request_body(content = skillgrid_api::ApiClientUpdate, content_type = "application/json"),
    responses((status = 200, description = "the client after the change", body = ApiClient)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ApiClient>> {
    caller.require(scopes::ORG_WRITE)?;
    let current = managed(&state, &caller, q, &id).await?;
    let patch = checked_body(&state, &caller, &headers, body, |v| {
        validate::client_patch(v, &foreign_scope)
    })
    .await?;
    if let Some(s) = &patch.scopes {
        may_grant(&caller, s, "/scopes")?;
    }
    if patch.active == Some(false) && current.id == caller.client_id {
        return Err(not_itself("disable"));
    }
    let change = ClientChange {
        name: patch.name,
        scopes: patch.scopes,
        active: patch.active,
        secret_hash: None,
        if_scopes: Some(current.scopes.clone()),
    };
    let c = state
        .store()
        .update_client(caller.org_id, current.id, &change, &by(&caller))
        .await
        .map_err(refused)?;
    Ok(Json(render(&c)))
}

/// Delete an API client
///
/// Its tokens are refused from the next request on; its audit entries stay. The calling token
/// must hold every scope the client holds; a client cannot delete itself.
#[utoipa::path(delete, path = "/api/v2/admin/clients/{clientId}", tag = "clients", operation_id = "deleteClient",
    security(("oauth2" = ["admin:org:write"])), params(("clientId" = uuid::Uuid, Path, description = "the client's id")),
    responses((status = 204, description = "deleted")))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    caller.require(scopes::ORG_WRITE)?;
    let current = managed(&state, &caller, q, &id).await?;
    if current.id == caller.client_id {
        return Err(not_itself("delete"));
    }
    state
        .store()
        .delete_client(
            caller.org_id,
            current.id,
            Some(&current.scopes),
            &by(&caller),
        )
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate an API client's secret
///
/// The new secret is in this answer and never again. The old one stops working at once, and
/// so do the tokens issued before (including the calling token, when a client rotates its
/// own secret): their holders ask for a new token with the new secret. The calling token must
/// hold every scope the client holds.
#[utoipa::path(post, path = "/api/v2/admin/clients/{clientId}/secret", tag = "clients", operation_id = "rotateClientSecret",
    security(("oauth2" = ["admin:org:write"])), params(("clientId" = uuid::Uuid, Path, description = "the client's id")),
    responses((status = 200, description = "the client and its new secret", body = ApiClientWithSecret,
        headers(("Cache-Control" = String, description = "`no-store`: the answer holds a secret")))))]
pub(crate) async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<impl IntoResponse> {
    caller.require(scopes::ORG_WRITE)?;
    let current = managed(&state, &caller, q, &id).await?;
    let secret = new_client_secret();
    let change = ClientChange {
        secret_hash: Some(hash_secret(&secret)),
        if_scopes: Some(current.scopes.clone()),
        ..ClientChange::default()
    };
    let c = state
        .store()
        .update_client(caller.org_id, current.id, &change, &by(&caller))
        .await
        .map_err(refused)?;
    Ok(with_secret(&c, secret))
}

/// The API clients' audit log
///
/// Every change to the organization's API clients: created, updated (name, scopes, enabled or
/// disabled), secret rotated, deleted; who made it (the acting client, or `null` for the admin
/// commands), when, in which request, and the client before and after. Oldest first, like
/// `GET /api/v2/audit`, which lists the changes to assignments.
#[utoipa::path(get, path = "/api/v2/audit/clients", tag = "audit", operation_id = "listClientAudit",
    security(("oauth2" = ["admin:audit:read"])),
    params(("since" = Option<String>, Query, format = DateTime, description = "only entries at or after this RFC 3339 time (encode `+` as %2B)"), super::Paging),
    responses((status = 200, description = "one page of changes to API clients, oldest first", body = Page<ClientAuditEntry>)))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<ClientAuditEntry>>> {
    caller.require(scopes::AUDIT_READ)?;
    let q = query(q, &["since", "limit", "cursor"])?;
    let p = state
        .store()
        .client_audit(caller.org_id, q.since, page_request(&q)?)
        .await?;
    let users = crate::console::api::users_by_client(&state, caller.org_id).await?;
    Ok(page(p, |e| ClientAuditEntry {
        id: e.id,
        at: e.at.to_rfc3339(),
        request_id: e.request_id,
        actor_user_id: e.actor.and_then(|a| users.get(&a).copied()),
        actor_client_id: e.actor.map(ClientId::get),
        client_id: e.client_id.get(),
        action: e.action,
        before: e.before.as_ref().map(|s| render_state(e.client_id, s)),
        after: e.after.as_ref().map(|s| render_state(e.client_id, s)),
    }))
}
