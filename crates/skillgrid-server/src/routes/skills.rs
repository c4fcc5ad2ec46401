//! The skill catalog: `/admin/skills` (contract §5.2).

use super::{page, page_request, path_id, query, settings_and_body};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use skillgrid_api::{scopes, Page, ProblemCode, Skill};
use skillgrid_core::timestamp::Timestamp;
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

async fn list(
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
    let p = state
        .store()
        .list_skills(caller.org_id, &filter, page_request(&q)?)
        .await?;
    Ok(page(p, render::skill))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    caller.require(scopes::SKILL_WRITE)?;
    query(q, &[])?;
    let (_, v) = settings_and_body(&state, &caller, &headers, body).await?;
    let new = validate::skill_create(&v).map_err(ApiError::validation)?;
    let s = state
        .store()
        .create_skill(caller.org_id, &new, Timestamp::now())
        .await?;
    let location = format!("/api/v2/admin/skills/{}", s.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(render::skill(s)),
    ))
}

fn skill_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::new(
            ProblemCode::NotFound,
            "no skill with this id exists in this organization",
        ),
        e => e.into(),
    }
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Skill>> {
    caller.require(scopes::SKILL_READ)?;
    query(q, &[])?;
    let id = path_id("skillId", &id)?;
    let s = state
        .store()
        .get_skill(caller.org_id, id)
        .await
        .map_err(skill_not_found)?;
    Ok(Json(render::skill(s)))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Skill>> {
    caller.require(scopes::SKILL_WRITE)?;
    query(q, &[])?;
    let id = path_id("skillId", &id)?;
    state
        .store()
        .get_skill(caller.org_id, id)
        .await
        .map_err(skill_not_found)?;
    let (_, v) = settings_and_body(&state, &caller, &headers, body).await?;
    let patch = validate::skill_patch(&v).map_err(ApiError::validation)?;
    let s = state
        .store()
        .update_skill(caller.org_id, id, &patch, Timestamp::now())
        .await
        .map_err(skill_not_found)?;
    Ok(Json(render::skill(s)))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    caller.require(scopes::SKILL_WRITE)?;
    query(q, &[])?;
    let id = path_id("skillId", &id)?;
    match state.store().delete_skill(caller.org_id, id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::InUse { count }) => Err(ApiError::new(
            ProblemCode::Conflict,
            format!("{count} agents hold this skill, so it cannot be deleted; deactivate it instead with PATCH {{\"active\": false}}"),
        )),
        Err(e) => Err(skill_not_found(e)),
    }
}
