//! `GET|PATCH /organizations/settings`.

use super::{query, settings_and_body};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use skillgrid_api::{scopes, EntryCode, ErrorEntry, OrgSettings};
use skillgrid_core::validate;

pub fn router() -> Router<AppState> {
    Router::new().route("/organizations/settings", get(read).patch(update))
}

/// Read the organization's settings
///
/// The proficiency scale and its levels, the limits, `requireIfMatch` and the rate limit.
#[utoipa::path(get, path = "/api/v2/organizations/settings", tag = "settings", operation_id = "getSettings",
    security(("oauth2" = ["admin:org:read"])),
    responses((status = 200, description = "the settings", body = OrgSettings)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<OrgSettings>> {
    caller.require(scopes::ORG_READ)?;
    query(q, &[])?;
    Ok(Json(state.store().settings(caller.org_id).await?))
}

/// Change the organization's settings
///
/// Takes any subset of the settings object; nested objects merge (JSON merge patch), and in
/// `levels` a `null` removes a level. A scale change that would put stored proficiencies
/// outside it is refused with `out_of_range` errors naming how many assignments would be
/// affected. A rate-limit change applies to the next request.
#[utoipa::path(patch, path = "/api/v2/organizations/settings", tag = "settings", operation_id = "patchSettings",
    security(("oauth2" = ["admin:org:write"])),
    request_body(content = skillgrid_api::requests::SettingsPatch, content_type = "application/json"),
    responses((status = 200, description = "the settings after the change", body = OrgSettings)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<OrgSettings>> {
    caller.require(scopes::ORG_WRITE)?;
    query(q, &[])?;
    let (current, patch) = settings_and_body(&state, &caller, &headers, body).await?;
    let new = validate::settings_patch(&patch, &current).map_err(ApiError::validation)?;
    if let Err(stranded) = state.store().update_settings(caller.org_id, &new).await? {
        let sc = &new.proficiency_scale;
        let at = |field: &str| {
            if patch
                .pointer(&format!("/proficiencyScale/{field}"))
                .is_some()
            {
                format!("/proficiencyScale/{field}")
            } else {
                "/proficiencyScale".into()
            }
        };
        let mut errors = Vec::new();
        if stranded.below_min > 0 {
            errors.push(
                ErrorEntry::at(
                    at("min"),
                    EntryCode::OutOfRange,
                    format!(
                        "{} stored assignments have a proficiency below the new min {}",
                        stranded.below_min, sc.min
                    ),
                )
                .expected(format!(
                    "a min of at most the lowest stored proficiency (now {})",
                    current.proficiency_scale.min
                ))
                .received(Value::from(sc.min))
                .hint("update or remove those assignments first, or keep the current min"),
            );
        }
        if stranded.above_max > 0 {
            errors.push(
                ErrorEntry::at(
                    at("max"),
                    EntryCode::OutOfRange,
                    format!(
                        "{} stored assignments have a proficiency above the new max {}",
                        stranded.above_max, sc.max
                    ),
                )
                .expected(format!(
                    "a max of at least the highest stored proficiency (now {})",
                    current.proficiency_scale.max
                ))
                .received(Value::from(sc.max))
                .hint("update or remove those assignments first, or keep the current max"),
            );
        }
        return Err(ApiError::validation(errors));
    }
    Ok(Json(new))
}
