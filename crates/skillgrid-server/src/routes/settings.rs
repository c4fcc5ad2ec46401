//! `GET|PATCH /organizations/settings`.

use super::{query, settings_and_body};
use crate::auth::Caller;
use crate::body;
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
use skillgrid_store::Stranded;

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
/// affected and the lowest or highest proficiency stored. A rate-limit change applies to the
/// next request.
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
    let new = body::check(&patch, |p| validate::settings_patch(p, &current))?;
    let patch = patch.value();
    if let Err(stranded) = state
        .store()
        .update_settings_by(caller.org_id, &new, &super::clients::by(&caller))
        .await?
    {
        let errors = [End::Min, End::Max]
            .into_iter()
            .filter_map(|end| stranded_end(patch, end, &stranded, &new))
            .collect();
        return Err(ApiError::validation(errors));
    }
    Ok(Json(new))
}

/// The end of a new scale that stored proficiencies fall beyond.
#[derive(Clone, Copy)]
enum End {
    Min,
    Max,
}

/// The refusal of one end of the `new` scale, if stored proficiencies fall beyond it: how
/// many, and the stored proficiency furthest out on that side (how far the end may move).
fn stranded_end(
    patch: &Value,
    end: End,
    stranded: &Stranded,
    new: &OrgSettings,
) -> Option<ErrorEntry> {
    let sc = &new.proficiency_scale;
    let (field, count, value, furthest, beyond, bound, extreme) = match end {
        End::Min => (
            "min",
            stranded.below_min,
            sc.min,
            stranded.lowest,
            "below",
            "at most",
            "lowest",
        ),
        End::Max => (
            "max",
            stranded.above_max,
            sc.max,
            stranded.highest,
            "above",
            "at least",
            "highest",
        ),
    };
    if count == 0 {
        return None;
    }
    // The field the patch sent, or the scale when the change came from elsewhere in it.
    let pointer = format!("/proficiencyScale/{field}");
    let pointer = if patch.pointer(&pointer).is_some() {
        pointer
    } else {
        "/proficiencyScale".into()
    };
    let (assignments, have, those) = if count == 1 {
        ("assignment", "has", "that assignment")
    } else {
        ("assignments", "have", "those assignments")
    };
    let detail = format!(
        "{count} stored {assignments} {have} a proficiency {beyond} the new {field} {value}"
    );
    Some(
        ErrorEntry::at(pointer, EntryCode::OutOfRange, detail)
            .expected(format!(
                "a {field} of {bound} the {extreme} stored proficiency ({furthest})"
            ))
            .received(Value::from(value))
            .hint(format!(
                "update or remove {those} first, or keep the current {field}"
            )),
    )
}
