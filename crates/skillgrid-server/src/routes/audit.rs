//! The organization-wide audit log: `GET /audit?since=&limit=&cursor=`.
//! Entries come oldest first, so a client can follow the log with `since` and `nextCursor`.

use super::{audit_page, audit_page_request, query};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::render::Renderer;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use skillgrid_api::{scopes, AuditEntry, Page};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

/// The organization's audit log
///
/// Every change to an assignment: who, when, which request, before and after. Oldest first,
/// so a client can follow the log with `since` and `nextCursor`.
#[utoipa::path(get, path = "/api/v2/audit", tag = "audit", operation_id = "listAudit",
    security(("oauth2" = ["admin:audit:read"])),
    params(("since" = Option<String>, Query, format = DateTime, description = "only entries at or after this RFC 3339 time (encode `+` as %2B)"), super::Paging),
    responses((status = 200, description = "one page of audit entries, oldest first", body = Page<AuditEntry>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<AuditEntry>>> {
    caller.require(scopes::AUDIT_READ)?;
    let q = query(q, &["since", "limit", "cursor"])?;
    let p = state
        .store()
        .audit_log(caller.org_id, q.since, audit_page_request(&q)?)
        .await?;
    let org = caller.org(&state).await?;
    let r = Renderer::new(&org.settings.proficiency_scale, &org.catalog);
    let users = crate::console::api::users_by_client(&state, caller.org_id).await?;
    Ok(audit_page(p, |a| r.audit(a, &users)))
}
