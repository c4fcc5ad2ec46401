//! `/scim/v2/Users`: list (filter, paging, sorting), create, read, replace, patch, delete.
//!
//! Agents are never deleted: `DELETE` deactivates the agent and retires it from SCIM (it then
//! answers 404 here, as RFC 7644 §3.6 requires, while the API keeps showing it, inactive, with
//! its history). A later `POST` of the same `userName` brings the same agent back.

use super::mapping::{self, Desired};
use super::{base_url, read_body, scim_json, ScimCaller, ScimError, ScimResult};
use crate::auth::Caller;
use crate::error::current_request_id;
use crate::state::{AppState, OrgView};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ETAG, IF_MATCH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use skillgrid_core::model::{AgentId, AgentPatch, AgentWrite, Precondition, SkillSetWrite};
use skillgrid_core::scim::filter::{self, attr_path, get_ci, AttrPath};
use skillgrid_core::scim::patch;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{
    AgentFilter, AgentRecord, AgentSkillSet, Conflict, ItemOutcome, PageRequest, StoreError,
    Unique, WriteContext, WriteOptions,
};
use std::collections::{HashMap, HashSet};

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The most Users one page holds (`filter.maxResults` of the ServiceProviderConfig).
pub const MAX_RESULTS: usize = 1000;
const DEFAULT_COUNT: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/Users", get(list).post(create)).route(
        "/Users/{id}",
        get(read).put(replace).patch(patch).delete(delete),
    )
}

/// The answer with one User: its ETag, its representation.
fn user_response(status: StatusCode, user: Value) -> Response {
    let tag = user["meta"]["version"].as_str().map(str::to_string);
    let location = user["meta"]["location"].as_str().map(str::to_string);
    let mut res = scim_json(&user);
    *res.status_mut() = status;
    if let Some(t) = tag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        res.headers_mut().insert(ETAG, t);
    }
    if status == StatusCode::CREATED {
        if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            res.headers_mut().insert(LOCATION, l);
        }
    }
    res
}

/// An agent SCIM may see: of the caller's organization and not retired.
async fn load(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> ScimResult<(AgentRecord, AgentSkillSet)> {
    let Ok(uuid) = raw.trim().parse::<uuid::Uuid>() else {
        return Err(ScimError::not_found(raw));
    };
    let id = AgentId::from(uuid);
    let store = state.store();
    let found = match store.get_agent(caller.org_id, id).await {
        Err(StoreError::NotFound) => return Err(ScimError::not_found(raw)),
        r => r?,
    };
    if store.scim_is_retired(caller.org_id, id).await? {
        return Err(ScimError::not_found(raw));
    }
    let set = store.agent_skills(caller.org_id, id).await?;
    Ok((found, set))
}

async fn current(
    state: &AppState,
    caller: &Caller,
    org: &OrgView,
    id: AgentId,
    base: &str,
) -> ScimResult<Value> {
    let a = state.store().get_agent(caller.org_id, id).await?;
    let set = state.store().agent_skills(caller.org_id, id).await?;
    Ok(mapping::render(&a, Some(&set), org, base))
}

/// `If-Match`: `*`, or one of the tags listed is the User's version.
fn check_if_match(headers: &HeaderMap, tag: &str) -> ScimResult<()> {
    let Some(v) = headers.get(IF_MATCH) else {
        return Ok(());
    };
    let v = v.to_str().unwrap_or("");
    let strong = tag.trim_start_matches("W/");
    let ok = v
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == tag || t == strong);
    if ok {
        return Ok(());
    }
    let mut e = ScimError::new(
        StatusCode::PRECONDITION_FAILED,
        None,
        format!("If-Match does not match the User's version, which is now {tag}; read it again and retry"),
    );
    if let Ok(t) = HeaderValue::from_str(tag) {
        e.headers.insert(ETAG, t);
    }
    Err(e)
}

/// GET /Users/{id}
async fn read(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let org = caller.org(&state).await?;
    let (a, set) = load(&state, &caller, &id).await?;
    let user = mapping::render(&a, Some(&set), &org, &base_url(&headers));
    Ok(user_response(StatusCode::OK, user))
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
    let d = mapping::desired(None, &body, &org)?;
    let by = crate::routes::clients::by(&caller);
    let store = state.store();
    let id = match store.create_agent_by(caller.org_id, &d.agent, &by).await {
        Ok(a) => {
            let set = store.agent_skills(caller.org_id, a.id).await?;
            apply(&state, &caller, &a, &set, &d).await?;
            a.id
        }
        Err(StoreError::Conflict(Conflict::Taken(Unique::AgentEmail))) => {
            // The same person again after a DELETE: the retired agent comes back.
            let page = PageRequest {
                after: None,
                limit: 1,
            };
            let filter = AgentFilter {
                email: Some(d.agent.email.clone()),
                active: None,
            };
            let found = store.list_agents(caller.org_id, &filter, page).await?;
            let retired = match found.items.first() {
                Some(a) if store.scim_is_retired(caller.org_id, a.id).await? => a.clone(),
                _ => {
                    return Err(ScimError::new(
                        StatusCode::CONFLICT,
                        Some("uniqueness"),
                        format!("a User with userName `{}` already exists; find it with filter=userName eq \"{}\"", d.agent.email, d.agent.email),
                    ))
                }
            };
            let set = store.agent_skills(caller.org_id, retired.id).await?;
            apply(&state, &caller, &retired, &set, &d).await?;
            store
                .scim_set_retired(caller.org_id, retired.id, false)
                .await?;
            retired.id
        }
        Err(e) => return Err(e.into()),
    };
    let user = current(&state, &caller, &org, id, &base_url(&headers)).await?;
    Ok(user_response(StatusCode::CREATED, user))
}

/// PUT /Users/{id}
async fn replace(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let (a, set) = load(&state, &caller, &id).await?;
    check_if_match(&headers, &mapping::etag(&a, &set))?;
    let body = read_body(&state, &caller, &headers, body).await?;
    let org = caller.org(&state).await?;
    let base = base_url(&headers);
    let before = mapping::render(&a, Some(&set), &org, &base);
    if let Some(sent) = get_ci(&body, "id").and_then(Value::as_str) {
        if !sent.eq_ignore_ascii_case(&a.id.to_string()) {
            return Err(ScimError::bad("mutability", "`id` cannot be changed"));
        }
    }
    let d = mapping::desired(Some(&before), &body, &org)?;
    apply(&state, &caller, &a, &set, &d).await?;
    let user = current(&state, &caller, &org, a.id, &base).await?;
    Ok(user_response(StatusCode::OK, user))
}

/// PATCH /Users/{id}
async fn patch(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let (a, set) = load(&state, &caller, &id).await?;
    check_if_match(&headers, &mapping::etag(&a, &set))?;
    let body = read_body(&state, &caller, &headers, body).await?;
    let org = caller.org(&state).await?;
    let base = base_url(&headers);
    let before = mapping::render(&a, Some(&set), &org, &base);
    let mut after = before.clone();
    patch::apply(&mut after, &body).map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
    let d = mapping::desired(Some(&before), &after, &org)?;
    apply(&state, &caller, &a, &set, &d).await?;
    let user = current(&state, &caller, &org, a.id, &base).await?;
    Ok(user_response(StatusCode::OK, user))
}

/// DELETE /Users/{id}: the agent deactivated and retired from SCIM.
async fn delete(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let (a, set) = load(&state, &caller, &id).await?;
    check_if_match(&headers, &mapping::etag(&a, &set))?;
    if a.active {
        let off = AgentPatch {
            active: Some(false),
            ..AgentPatch::default()
        };
        state
            .store()
            .update_agent_by(
                caller.org_id,
                a.id,
                &off,
                &crate::routes::clients::by(&caller),
            )
            .await?;
    }
    state
        .store()
        .scim_set_retired(caller.org_id, a.id, true)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Makes the agent `a` (with `set`) what `d` asks: its fields through the agent's own change
/// (with its audit entry), its skills through the skill-set write (with theirs). Skills are
/// written while the agent is active: after activating it, before deactivating it.
async fn apply(
    state: &AppState,
    caller: &Caller,
    a: &AgentRecord,
    set: &AgentSkillSet,
    d: &Desired,
) -> ScimResult<()> {
    let change = AgentPatch {
        email: (d.agent.email != a.email).then(|| d.agent.email.clone()),
        name: (d.agent.name != a.name).then(|| d.agent.name.clone()),
        external_id: (d.agent.external_id != a.external_id).then(|| d.agent.external_id.clone()),
        active: (d.active != a.active).then_some(d.active),
    };
    let changes = change != AgentPatch::default();
    let by = crate::routes::clients::by(caller);
    let store = state.store();
    if changes && d.active {
        store
            .update_agent_by(caller.org_id, a.id, &change, &by)
            .await?;
    }
    if let Some(skills) = &d.skills {
        write_skills(state, caller, a.id, set, skills).await?;
    }
    if changes && !d.active {
        store
            .update_agent_by(caller.org_id, a.id, &change, &by)
            .await?;
    }
    Ok(())
}

/// Replaces the agent's skills with `wanted` unless they are the same; an assignment kept
/// keeps its dates.
async fn write_skills(
    state: &AppState,
    caller: &Caller,
    agent: AgentId,
    set: &AgentSkillSet,
    wanted: &[skillgrid_core::model::Assignment],
) -> ScimResult<()> {
    let held: HashMap<_, _> = set.skills.iter().map(|s| (s.skill_id, s)).collect();
    let same = wanted.len() == held.len()
        && wanted.iter().all(|w| {
            held.get(&w.skill_id)
                .is_some_and(|h| h.proficiency == w.proficiency)
        });
    if same {
        return Ok(());
    }
    let assignments = wanted
        .iter()
        .map(|w| match held.get(&w.skill_id) {
            Some(h) => skillgrid_core::model::Assignment {
                effective: h.effective,
                expires: h.expires,
                ..*w
            },
            None => *w,
        })
        .collect();
    let org = caller.org(state).await?;
    let ctx = WriteContext {
        request_id: current_request_id(),
        client_id: caller.client_id,
        now: Timestamp::now(),
    };
    let opts = WriteOptions {
        dry_run: false,
        atomic: true,
        max_skills_per_agent: org.settings.limits.max_skills_per_agent,
        return_sets: false,
    };
    let item = AgentWrite {
        agent_id: agent,
        write: SkillSetWrite::Replace(assignments),
        if_match: Some(Precondition::Version(set.version)),
    };
    let mut result = state
        .store()
        .write_skill_sets(caller.org_id, &ctx, &[item], opts)
        .await?;
    match result.items.pop() {
        Some(ItemOutcome::Applied { .. }) => Ok(()),
        Some(ItemOutcome::NotFound) => Err(ScimError::not_found(&agent.to_string())),
        Some(ItemOutcome::Inactive) => Err(ScimError::bad(
            "invalidValue",
            "an inactive User's skills cannot change; set active to true in the same request",
        )),
        Some(ItemOutcome::PreconditionFailed { .. }) => Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "the User's skills changed while this request was served; read it again and retry",
        )),
        Some(ItemOutcome::TooManySkills { resulting }) => Err(ScimError::bad(
            "invalidValue",
            format!(
                "{resulting} skills would exceed this organization's limit of {} per agent (limits.maxSkillsPerAgent)",
                org.settings.limits.max_skills_per_agent
            ),
        )),
        None => Err(ScimError::from(crate::error::ApiError::internal(anyhow::anyhow!(
            "a write of one item answered nothing"
        )))),
    }
}

/// The query of a listing.
struct ListQuery {
    filter: Option<filter::Filter>,
    start: usize,
    count: usize,
    sort: Option<(AttrPath, bool)>,
}

fn list_query(raw: Option<&str>) -> ScimResult<ListQuery> {
    let mut q = ListQuery {
        filter: None,
        start: 1,
        count: DEFAULT_COUNT,
        sort: None,
    };
    let mut sort_by = None;
    let mut descending = false;
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let number = |what: &str| {
            v.trim().parse::<i64>().map_err(|_| {
                ScimError::bad(
                    "invalidValue",
                    format!("{what} must be an integer, not `{v}`"),
                )
            })
        };
        match k.to_ascii_lowercase().as_str() {
            "filter" => {
                let f = filter::parse(&v).map_err(|e| ScimError::bad("invalidFilter", e.0))?;
                q.filter = Some(f);
            }
            "startindex" => q.start = number("startIndex")?.max(1) as usize,
            "count" => q.count = (number("count")?.max(0) as usize).min(MAX_RESULTS),
            "sortby" => {
                let p = attr_path(v.trim()).map_err(|e| ScimError::bad("invalidValue", e.0))?;
                sort_by = Some(p);
            }
            "sortorder" => {
                descending = match v.to_ascii_lowercase().as_str() {
                    "ascending" => false,
                    "descending" => true,
                    _ => {
                        return Err(ScimError::bad(
                            "invalidValue",
                            format!("sortOrder is ascending or descending, not `{v}`"),
                        ))
                    }
                }
            }
            // Every attribute is returned; other parameters are ignored as the RFC allows.
            _ => {}
        }
    }
    q.sort = sort_by.map(|p| (p, descending));
    Ok(q)
}

/// What a User sorts by on `path`: its first value there, as text (lower case).
fn sort_key(u: &Value, p: &AttrPath) -> Option<String> {
    let root = if p.ext {
        get_ci(u, filter::SKILLS_SCHEMA)?
    } else {
        u
    };
    let mut v = get_ci(root, &p.attr)?;
    if let Value::Array(a) = v {
        v = a.first()?;
    }
    if let Some(sub) = &p.sub {
        v = get_ci(v, sub)?;
    }
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// GET /Users
async fn list(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let q = list_query(raw.as_deref())?;
    let org = caller.org(&state).await?;
    let base = base_url(&headers);
    let store = state.store();
    let retired: HashSet<AgentId> = store
        .scim_retired(caller.org_id)
        .await?
        .into_iter()
        .collect();
    // The database narrows by email where the filter pins userName; the filter itself is
    // always applied to each User after.
    let email = q
        .filter
        .as_ref()
        .and_then(filter::user_name_eq)
        .map(str::to_string);
    let mut agents = Vec::new();
    let mut after = None;
    loop {
        let f = AgentFilter {
            email: email.clone(),
            active: None,
        };
        let page = store
            .list_agents(caller.org_id, &f, PageRequest { after, limit: 1000 })
            .await?;
        agents.extend(page.items.into_iter().filter(|a| !retired.contains(&a.id)));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let with_skills = q.filter.as_ref().is_some_and(filter::uses_extension)
        || q.sort.as_ref().is_some_and(|(p, _)| p.ext);
    let mut users: Vec<(Value, Option<AgentSkillSet>, AgentRecord)> =
        Vec::with_capacity(agents.len());
    for a in agents {
        let set = if with_skills {
            Some(store.agent_skills(caller.org_id, a.id).await?)
        } else {
            None
        };
        let u = mapping::render(&a, set.as_ref(), &org, &base);
        if q.filter.as_ref().is_none_or(|f| filter::matches(f, &u)) {
            users.push((u, set, a));
        }
    }
    if let Some((p, descending)) = &q.sort {
        users.sort_by(|(a, _, _), (b, _, _)| {
            let (ka, kb) = (sort_key(a, p), sort_key(b, p));
            // Users without the attribute come last either way.
            match (ka, kb) {
                (Some(x), Some(y)) if *descending => y.cmp(&x),
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
        });
    }
    let total = users.len();
    let mut resources = Vec::new();
    for (_, set, a) in users.into_iter().skip(q.start - 1).take(q.count) {
        let set = match set {
            Some(s) => s,
            None => store.agent_skills(caller.org_id, a.id).await?,
        };
        resources.push(mapping::render(&a, Some(&set), &org, &base));
    }
    Ok(scim_json(&json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": q.start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })))
}
