//! The skill catalog: `/admin/skills`.

use super::{checked_body, listing, path_id, query, SKILL};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use skillgrid_api::{scopes, Page, ProblemCode, Skill};
use skillgrid_core::model::SkillId;
use skillgrid_core::validate;
use skillgrid_store::{SkillFilter, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/skills", get(list).post(create))
        .route(
            "/admin/skills/{skillId}",
            get(read).patch(update).delete(remove),
        )
}

/// List the skill catalog
#[utoipa::path(get, path = "/api/v2/admin/skills", tag = "skills", operation_id = "listSkills",
    security(("oauth2" = ["admin:skill:read"])),
    params(("name" = Option<String>, Query, description = "only the skill with this name (any case)"),
        ("active" = Option<bool>, Query, description = "only active (`true`) or inactive (`false`) skills"), super::Paging),
    responses((status = 200, description = "one page of skills", body = Page<Skill>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<Skill>>> {
    caller.require(scopes::SKILL_READ)?;
    let q = query(q, &["name", "active", "limit", "cursor"])?;
    let filter = SkillFilter {
        name: q.name.clone(),
        active: q.active,
    };
    listing(
        &q,
        |p| state.store().list_skills(caller.org_id, &filter, p),
        render::skill,
    )
    .await
}

/// Create a skill
///
/// Names are unique per organization, compared case-insensitively.
#[utoipa::path(post, path = "/api/v2/admin/skills", tag = "skills", operation_id = "createSkill",
    security(("oauth2" = ["admin:skill:write"])),
    request_body(content = skillgrid_api::requests::SkillCreate, content_type = "application/json"),
    responses((status = 201, description = "the new skill", body = Skill,
        headers(("Location" = String, description = "the new skill's URL")))))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    caller.require(scopes::SKILL_WRITE)?;
    query(q, &[])?;
    let new = checked_body(&state, &caller, &headers, body, validate::skill_create).await?;
    let s = state
        .store()
        .create_skill_by(caller.org_id, &new, &super::clients::by(&caller))
        .await?;
    Ok(SKILL.created(s.id, Json(render::skill(s))))
}

/// 409: a skill some agents hold cannot be deleted.
pub(crate) fn skill_in_use(count: i64) -> ApiError {
    ApiError::new(
        ProblemCode::Conflict,
        format!(
            "{count} {} this skill, so it cannot be deleted; deactivate it instead with PATCH {{\"active\": false}}",
            if count == 1 { "agent holds" } else { "agents hold" }
        ),
    )
}

/// Read a skill
#[utoipa::path(get, path = "/api/v2/admin/skills/{skillId}", tag = "skills", operation_id = "getSkill",
    security(("oauth2" = ["admin:skill:read"])), params(("skillId" = uuid::Uuid, Path, description = "the skill's id")),
    responses((status = 200, description = "the skill", body = Skill)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Skill>> {
    caller.require(scopes::SKILL_READ)?;
    let (_, s) = SKILL
        .fetch(q, &id, |id: SkillId| {
            state.store().get_skill(caller.org_id, id)
        })
        .await?;
    Ok(Json(render::skill(s)))
}

/// Change a skill
///
/// Takes `name`, `description`, `active`. A deactivated skill stays on the agents that hold
/// it but can no longer be assigned.
#[utoipa::path(patch, path = "/api/v2/admin/skills/{skillId}", tag = "skills", operation_id = "patchSkill",
    security(("oauth2" = ["admin:skill:write"])), params(("skillId" = uuid::Uuid, Path, description = "the skill's id")),
    request_body(content = skillgrid_api::requests::SkillUpdate, content_type = "application/json"),
    responses((status = 200, description = "the skill after the change", body = Skill)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Skill>> {
    caller.require(scopes::SKILL_WRITE)?;
    let (id, _) = SKILL
        .fetch(q, &id, |id: SkillId| {
            state.store().get_skill(caller.org_id, id)
        })
        .await?;
    let patch = checked_body(&state, &caller, &headers, body, validate::skill_patch).await?;
    let s = state
        .store()
        .update_skill_by(caller.org_id, id, &patch, &super::clients::by(&caller))
        .await
        .map_err(|e| SKILL.not_found(e))?;
    Ok(Json(render::skill(s)))
}

/// Delete a skill
///
/// Only a skill no agent holds can be deleted (409 otherwise): deactivate it instead.
#[utoipa::path(delete, path = "/api/v2/admin/skills/{skillId}", tag = "skills", operation_id = "deleteSkill",
    security(("oauth2" = ["admin:skill:write"])), params(("skillId" = uuid::Uuid, Path, description = "the skill's id")),
    responses((status = 204, description = "deleted")))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    caller.require(scopes::SKILL_WRITE)?;
    query(q, &[])?;
    let id: SkillId = path_id(SKILL.param, &id)?;
    let by = super::clients::by(&caller);
    match state.store().delete_skill_by(caller.org_id, id, &by).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::InUse { count }) => Err(skill_in_use(count)),
        Err(e) => Err(SKILL.not_found(e)),
    }
}
