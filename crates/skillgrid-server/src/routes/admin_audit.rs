//! The administrative audit trail: `GET /audit/admin?since=&limit=&cursor=`, every change to
//! the organization's skills, agents, settings and console users. Entries come oldest first,
//! like `/audit` and `/audit/clients`.

use super::{page, page_request, query};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use foldhash::HashMap;
use skillgrid_api::{scopes, AdminAuditEntry, Agent, AuditedUser, Page, Skill};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{AdminAuditRecord, AdminState, ClientId};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit/admin", get(list))
}

/// What `via` says of a change made on the database directly.
pub const VIA_ADMIN_COMMAND: &str = "admin-command";

/// The administrative audit log
///
/// Every change to the organization's skills (created, renamed, described, deactivated),
/// agents (created, changed), settings, console users (created, disabled, enabled, role
/// changed) and webhooks (created, changed, secret rotated, replayed, deleted); who made it (the acting client, and the console user when it was made in the
/// console, or `null` and `"via": "admin-command"` for the admin commands), when, in which
/// request, and what changed before and after, in the shape `kind` names: a `Skill`, an
/// `Agent`, the `OrgSettings`, an `AuditedUser` or a `Webhook` (never its secret). Oldest first, like `GET /api/v2/audit`.
#[utoipa::path(get, path = "/api/v2/audit/admin", tag = "audit", operation_id = "listAdminAudit",
    security(("oauth2" = ["admin:audit:read"])),
    params(("since" = Option<String>, Query, format = DateTime, description = "only entries at or after this RFC 3339 time (encode `+` as %2B)"), super::Paging),
    responses((status = 200, description = "one page of changes to skills, agents, settings and console users, oldest first", body = Page<AdminAuditEntry>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<AdminAuditEntry>>> {
    caller.require(scopes::AUDIT_READ)?;
    let q = query(q, &["since", "limit", "cursor"])?;
    let p = state
        .store()
        .admin_audit(caller.org_id, q.since, page_request(&q)?)
        .await?;
    let users = crate::console::api::users_by_client(&state, caller.org_id).await?;
    Ok(page(p, |e| render(e, &users)))
}

/// An entry as the API shows it; `users`: the console users by their clients.
pub(crate) fn render(e: AdminAuditRecord, users: &HashMap<ClientId, Uuid>) -> AdminAuditEntry {
    let side = |s: &AdminState| side(e.subject, s);
    AdminAuditEntry {
        id: e.id,
        at: e.at.to_rfc3339(),
        actor_user_id: e.actor.and_then(|a| users.get(&a).copied()),
        actor_client_id: e.actor.map(ClientId::get),
        via: if e.actor.is_some() {
            "api"
        } else {
            VIA_ADMIN_COMMAND
        }
        .into(),
        kind: e.kind,
        subject_id: e.subject,
        action: e.action,
        before: e.before.as_ref().map(side),
        after: e.after.as_ref().map(side),
        request_id: e.request_id,
    }
}

/// One side of an entry, as the API shows what it names.
pub(crate) fn side(subject: Uuid, s: &AdminState) -> serde_json::Value {
    let at = |ms: i64| Timestamp(ms).to_rfc3339();
    let v = match s {
        AdminState::Skill(k) => serde_json::to_value(Skill {
            id: subject,
            name: k.name.clone(),
            description: k.description.clone(),
            active: k.active,
            created_at: at(k.created_at),
            updated_at: at(k.updated_at),
        }),
        AdminState::Agent(a) => serde_json::to_value(Agent {
            id: subject,
            email: a.email.clone(),
            name: a.name.clone(),
            external_id: a.external_id.clone(),
            active: a.active,
            created_at: at(a.created_at),
            updated_at: at(a.updated_at),
        }),
        AdminState::Settings(o) => serde_json::to_value(o),
        AdminState::Webhook(w) => serde_json::to_value(super::webhooks::render_state(subject, w)),
        AdminState::User(u) => serde_json::to_value(AuditedUser {
            id: subject,
            email: u.email.clone(),
            role: u.role.clone(),
            active: u.active,
        }),
    };
    // These types serialise to JSON whatever they hold.
    v.unwrap_or(serde_json::Value::Null)
}
