//! `/scim/v2/Users`: list (filter, paging, sorting), create, read, replace, patch, delete.
//!
//! Agents are never deleted: `DELETE` deactivates the agent and retires it from SCIM (it then
//! answers 404 here, as RFC 7644 section 3.6 requires, while the API keeps showing it, inactive, with
//! its history). A later `POST` of the same `userName` or email brings the same agent back.
//! An agent's change, its skills and what SCIM keeps of the User are written one after the
//! other (each with its own audit entry), not in one transaction.

use super::listing::{self, projection};
use super::mapping::{self, Desired};
use super::write::{check_user_name, save, taken, Refused};
use super::{
    base_url, check_if_match, read_body, resource_response, ScimCaller, ScimError, ScimResult,
};
use crate::auth::Caller;
use crate::state::{AppState, OrgView};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use skillgrid_core::model::{AgentId, NewAgent};
use skillgrid_core::scim::filter::get_ci;
use skillgrid_core::scim::patch;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{
    AgentFilter, AgentRecord, AgentSkillSet, PageRequest, ScimUserRecord, StoreError,
};

/// The most Users one page holds (`filter.maxResults` of the ServiceProviderConfig).
pub const MAX_RESULTS: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/Users", get(listing::list).post(create))
        .route("/Users/.search", post(listing::search))
        // A search at the root spans every resource type.
        .route("/.search", post(listing::search_all))
        .route(
            "/Users/{id}",
            get(read).put(replace).patch(patch).delete(delete),
        )
}

/// An agent SCIM may see (of the caller's organization, not retired), with its skills and
/// what SCIM kept of it.
async fn load(state: &AppState, caller: &Caller, raw: &str) -> ScimResult<Loaded> {
    let Ok(uuid) = raw.trim().parse::<uuid::Uuid>() else {
        return Err(ScimError::not_found(raw));
    };
    let id = AgentId::from(uuid);
    let store = state.store();
    let found = match store.get_agent(caller.org_id, id).await {
        Err(StoreError::NotFound) => return Err(ScimError::not_found(raw)),
        r => r?,
    };
    let kept = store.scim_user(caller.org_id, id).await?;
    if kept.as_ref().is_some_and(|k| k.retired) {
        return Err(ScimError::not_found(raw));
    }
    let set = store.agent_skills(caller.org_id, id).await?;
    Ok((found, set, kept))
}

type Loaded = (AgentRecord, AgentSkillSet, Option<ScimUserRecord>);

/// An agent of the organization and its skills.
async fn fetch(
    state: &AppState,
    caller: &Caller,
    id: AgentId,
) -> ScimResult<(AgentRecord, AgentSkillSet)> {
    let store = state.store();
    let a = store.get_agent(caller.org_id, id).await?;
    Ok((a, store.agent_skills(caller.org_id, id).await?))
}

/// The User as it now is, after a write.
async fn current(
    state: &AppState,
    caller: &Caller,
    org: &OrgView,
    id: AgentId,
    base: &str,
) -> ScimResult<Value> {
    let (a, set) = fetch(state, caller, id).await?;
    let kept = state.store().scim_user(caller.org_id, id).await?;
    let mut u = mapping::render(&a, Some(&set), org, base, kept.as_ref());
    let groups = state.store().agent_groups(caller.org_id, id).await?;
    super::groups::with_groups(&mut u, &groups, base);
    Ok(u)
}

/// GET /Users/{id}
async fn read(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let projection = projection(raw)?;
    let org = caller.org(&state).await?;
    let (a, set, kept) = load(&state, &caller, &id).await?;
    let base = base_url(&headers);
    let mut user = mapping::render(&a, Some(&set), &org, &base, kept.as_ref());
    let groups = state.store().agent_groups(caller.org_id, a.id).await?;
    super::groups::with_groups(&mut user, &groups, &base);
    projection.apply(&mut user);
    Ok(resource_response(StatusCode::OK, user))
}

/// POST /Users
async fn create(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let body = read_body(&state, &caller, &headers, body).await?;
    let org = caller.org(&state).await?;
    let d = mapping::desired(None, &body, &org, false)?;
    let store = state.store();
    // A userName or email of a User SCIM deleted brings that agent back; of another, it is
    // taken.
    let id = match store.scim_user_named(caller.org_id, &d.user_name).await? {
        Some(k) if k.retired => restore(&state, &caller, k.agent_id, &d).await?,
        Some(_) => return Err(taken(&d.user_name)),
        None => match save(&state, &caller, None, &d, None).await {
            Ok(id) => id,
            Err(Refused::EmailTaken) => {
                let page = PageRequest {
                    after: None,
                    limit: 1,
                };
                let filter = AgentFilter {
                    email: Some(d.agent.email.clone()),
                    active: None,
                };
                let found = store.list_agents(caller.org_id, &filter, page).await?;
                let Some(a) = found.items.first() else {
                    return Err(Refused::EmailTaken.into_scim(&d));
                };
                match store.scim_user(caller.org_id, a.id).await? {
                    Some(k) if k.retired => restore(&state, &caller, a.id, &d).await?,
                    _ => return Err(Refused::EmailTaken.into_scim(&d)),
                }
            }
            Err(e) => return Err(e.into_scim(&d)),
        },
    };
    let user = current(&state, &caller, &org, id, &base_url(&headers)).await?;
    Ok(resource_response(StatusCode::CREATED, user))
}

/// A retired agent made what `d` asks again.
async fn restore(
    state: &AppState,
    caller: &Caller,
    id: AgentId,
    d: &Desired,
) -> ScimResult<AgentId> {
    let (a, set) = fetch(state, caller, id).await?;
    save(state, caller, Some((&a, &set)), d, None)
        .await
        .map_err(|e| e.into_scim(d))
}

/// PUT /Users/{id}
async fn replace(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    change(&state, &caller, &id, &headers, body, How::Replace).await
}

/// PATCH /Users/{id}
async fn patch(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    change(&state, &caller, &id, &headers, body, How::Patch).await
}

/// How a request changes a User: its body is the new User, or PATCH operations on it.
enum How {
    Replace,
    Patch,
}

/// A `PUT` or a `PATCH`: the User as it is, the one the request makes of it, written.
async fn change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    how: How,
) -> ScimResult<Response> {
    let (a, set, kept) = load(state, caller, id).await?;
    check_if_match(headers, &mapping::etag(&a, &set), "User")?;
    let body = read_body(state, caller, headers, body).await?;
    let org = caller.org(state).await?;
    let base = base_url(headers);
    let before = mapping::render(&a, Some(&set), &org, &base, kept.as_ref());
    let (after, patched) = match how {
        How::Replace => {
            if let Some(sent) = get_ci(&body, "id").and_then(Value::as_str) {
                if !sent.eq_ignore_ascii_case(&a.id.to_string()) {
                    return Err(ScimError::bad("mutability", "`id` cannot be changed"));
                }
            }
            (body, false)
        }
        How::Patch => {
            let mut after = before.clone();
            patch::apply(&mut after, &body).map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
            (after, true)
        }
    };
    let d = mapping::desired(Some(&before), &after, &org, patched)?;
    check_user_name(state, caller, &d, Some(a.id)).await?;
    save(state, caller, Some((&a, &set)), &d, None)
        .await
        .map_err(|e| e.into_scim(&d))?;
    let user = current(state, caller, &org, a.id, &base).await?;
    Ok(resource_response(StatusCode::OK, user))
}

/// DELETE /Users/{id}: the agent deactivated and retired from SCIM.
async fn delete(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let (a, set, kept) = load(&state, &caller, &id).await?;
    check_if_match(&headers, &mapping::etag(&a, &set), "User")?;
    // The agent stays, inactive, with its skills; SCIM no longer shows it.
    let (user_name, profile) = kept.map_or_else(
        || (a.email.clone(), "{}".to_string()),
        |k| (k.user_name, k.profile),
    );
    let d = Desired {
        agent: NewAgent {
            email: a.email.clone(),
            name: a.name.clone(),
            external_id: a.external_id.clone(),
        },
        active: false,
        skills: None,
        user_name,
        profile,
    };
    save(
        &state,
        &caller,
        Some((&a, &set)),
        &d,
        Some(Timestamp::now()),
    )
    .await
    .map_err(|e| e.into_scim(&d))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
