//! Agents: `/admin/users`.

use super::{checked_body, listing, query, AGENT};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::render;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use skillgrid_api::{scopes, Agent, Page};
use skillgrid_core::model::AgentId;
use skillgrid_core::validate;
use skillgrid_store::AgentFilter;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(create))
        .route("/admin/users/{userId}", get(read).patch(update))
}

/// List agents
#[utoipa::path(get, path = "/api/v2/admin/users", tag = "agents", operation_id = "listAgents",
    security(("oauth2" = ["admin:agent:read"])),
    params(("email" = Option<String>, Query, description = "only the agent with this email (any case)"),
        ("active" = Option<bool>, Query, description = "only active (`true`) or inactive (`false`) agents"),
        super::Paging),
    responses((status = 200, description = "one page of agents", body = Page<Agent>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<Agent>>> {
    caller.require(scopes::AGENT_READ)?;
    let q = query(q, &["email", "active", "limit", "cursor"])?;
    let filter = AgentFilter {
        email: q.email.clone(),
        active: q.active,
    };
    listing(
        &q,
        |p| state.store().list_agents(caller.org_id, &filter, p),
        render::agent,
    )
    .await
}

/// Create an agent
///
/// Emails are unique per organization, compared case-insensitively.
#[utoipa::path(post, path = "/api/v2/admin/users", tag = "agents", operation_id = "createAgent",
    security(("oauth2" = ["admin:agent:write"])),
    request_body(content = skillgrid_api::requests::AgentCreate, content_type = "application/json"),
    responses((status = 201, description = "the new agent", body = Agent,
        headers(("Location" = String, description = "the new agent's URL")))))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    caller.require(scopes::AGENT_WRITE)?;
    query(q, &[])?;
    let new = checked_body(&state, &caller, &headers, body, validate::agent_create).await?;
    let a = state
        .store()
        .create_agent_by(caller.org_id, &new, &super::clients::by(&caller))
        .await?;
    Ok(AGENT.created(a.id, Json(render::agent(a))))
}

/// Read an agent
#[utoipa::path(get, path = "/api/v2/admin/users/{userId}", tag = "agents", operation_id = "getAgent",
    security(("oauth2" = ["admin:agent:read"])), params(("userId" = uuid::Uuid, Path, description = "the agent's id")),
    responses((status = 200, description = "the agent", body = Agent)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Agent>> {
    caller.require(scopes::AGENT_READ)?;
    let (_, a) = AGENT
        .fetch(q, &id, |id: AgentId| {
            state.store().get_agent(caller.org_id, id)
        })
        .await?;
    Ok(Json(render::agent(a)))
}

/// Change an agent
///
/// Takes `email`, `name`, `externalId`, `active`. An inactive agent's skills cannot be changed.
#[utoipa::path(patch, path = "/api/v2/admin/users/{userId}", tag = "agents", operation_id = "patchAgent",
    security(("oauth2" = ["admin:agent:write"])), params(("userId" = uuid::Uuid, Path, description = "the agent's id")),
    request_body(content = skillgrid_api::requests::AgentUpdate, content_type = "application/json"),
    responses((status = 200, description = "the agent after the change", body = Agent)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Agent>> {
    caller.require(scopes::AGENT_WRITE)?;
    let (id, _) = AGENT
        .fetch(q, &id, |id: AgentId| {
            state.store().get_agent(caller.org_id, id)
        })
        .await?;
    let patch = checked_body(&state, &caller, &headers, body, validate::agent_patch).await?;
    let a = state
        .store()
        .update_agent_by(caller.org_id, id, &patch, &super::clients::by(&caller))
        .await
        .map_err(|e| AGENT.not_found(e))?;
    Ok(Json(render::agent(a)))
}
