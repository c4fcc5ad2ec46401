//! `/scim/v2/Groups`: skill profiles. A Group's members are SCIM Users (agents); its skills
//! extension (`GROUP_SKILLS_SCHEMA`, the same `skills` as a User's, judged by the same rules)
//! lists what every member holds while it is a member, at the higher of the group's
//! proficiency and its own (see `skillgrid_store`'s `layers.rs`). A change of a group and of
//! its members' skills is one transaction, with their audit entries and events.
//!
//! PATCH is the Users' PATCH on the Group's representation, after two identity providers'
//! habits are read as what they mean: `remove` of `members` with a `value` list removes those
//! members (not all of them), and the Group extension's URN in paths is the extension's.

use super::listing::{list_query, order, projection, search_params, ListQuery};
use super::{
    base_url, check_if_match, list_response, read_body, resource_response, ScimCaller, ScimError,
    ScimResult,
};
use crate::auth::Caller;
use crate::error::current_request_id;
use crate::state::{AppState, OrgView};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::IF_MATCH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use skillgrid_core::model::{AgentId, SkillId};
use skillgrid_core::scim::filter::{self, get_ci, SKILLS_SCHEMA};
use skillgrid_core::scim::patch;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{
    Conflict, ScimGroupRecord, ScimGroupSave, ScimMember, StoreError, Unique, WriteContext,
};
use std::collections::HashMap;

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const GROUP_SKILLS_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:skillgrid:2.0:Group";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/Groups", get(list).post(create))
        .route("/Groups/.search", axum::routing::post(search))
        .route(
            "/Groups/{id}",
            get(read).put(replace).patch(patch_group).delete(delete),
        )
}

fn not_found(id: &str) -> ScimError {
    ScimError::new(
        StatusCode::NOT_FOUND,
        None,
        format!("no Group with id `{id}`"),
    )
}

fn etag(g: &ScimGroupRecord) -> String {
    format!("W/\"{}\"", g.version)
}

/// `text` with every occurrence of `from` (in any case) written `to`.
fn swap_urn(text: &str, from: &str, to: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let needle = from.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(i) = lower[at..].find(&needle) {
        out.push_str(&text[at..at + i]);
        out.push_str(to);
        at += i + needle.len();
    }
    out.push_str(&text[at..]);
    out
}

/// A JSON value with the Group extension's URN read as the User one, which the filter and
/// PATCH rules of `skillgrid_core::scim` know (and back).
fn swapped(v: &Value, from: &str, to: &str) -> Value {
    serde_json::from_str(&swap_urn(&v.to_string(), from, to)).unwrap_or_else(|_| v.clone())
}

/// The Group a record is, its members named; the extension under the User extension's URN
/// when `internal` (for filters and PATCH), else under the Group's.
fn render(
    g: &ScimGroupRecord,
    org: &OrgView,
    base: &str,
    names: &HashMap<AgentId, String>,
    internal: bool,
) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            let id = m.agent;
            let mut v = json!({
                "value": id.to_string(),
                "$ref": format!("{base}/Users/{id}"),
                "type": m.kind.as_deref().unwrap_or("User"),
            });
            if let Some(n) = m.display.as_ref().or_else(|| names.get(&id)) {
                v["display"] = json!(n);
            }
            v
        })
        .collect();
    let ext = if internal {
        SKILLS_SCHEMA
    } else {
        GROUP_SKILLS_SCHEMA
    };
    let mut out = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id.to_string(),
        "displayName": g.display_name,
        "members": members,
        "meta": {
            "resourceType": "Group",
            "created": g.created_at.to_rfc3339(),
            "lastModified": g.updated_at.to_rfc3339(),
            "location": format!("{base}/Groups/{}", g.id),
            "version": etag(g),
        },
    });
    if let Some(x) = &g.external_id {
        out["externalId"] = json!(x);
    }
    if !g.skills.is_empty() {
        out["schemas"] = json!([GROUP_SCHEMA, GROUP_SKILLS_SCHEMA]);
        let scale = &org.settings.proficiency_scale;
        let skills: Vec<Value> = g
            .skills
            .iter()
            .map(|(s, p)| {
                let name = org
                    .by_id
                    .get(s)
                    .map_or_else(|| s.to_string(), |c| c.name.clone());
                json!({"skill": name, "proficiency": super::mapping::proficiency(scale, *p)})
            })
            .collect();
        out[ext] = json!({ "skills": skills });
    }
    out
}

/// The names of the members of `groups`.
async fn names(
    state: &AppState,
    caller: &Caller,
    groups: &[&ScimGroupRecord],
) -> ScimResult<HashMap<AgentId, String>> {
    let mut ids: Vec<AgentId> = groups
        .iter()
        .flat_map(|g| g.members.iter().map(|m| m.agent))
        .collect();
    ids.sort_unstable_by_key(|a| a.get());
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = state.store().agents_by_ids(caller.org_id, &ids).await?;
    Ok(found.into_iter().map(|a| (a.id, a.name)).collect())
}

async fn load(state: &AppState, caller: &Caller, raw: &str) -> ScimResult<ScimGroupRecord> {
    let Ok(id) = raw.trim().parse::<uuid::Uuid>() else {
        return Err(not_found(raw));
    };
    match state.store().scim_group(caller.org_id, id).await {
        Err(StoreError::NotFound) => Err(not_found(raw)),
        r => Ok(r?),
    }
}

/// `If-Match` on the Group: the version it names when it matches.
fn if_match(headers: &HeaderMap, g: &ScimGroupRecord) -> ScimResult<Option<i64>> {
    check_if_match(headers, &etag(g), "Group")?;
    Ok(headers.contains_key(IF_MATCH).then_some(g.version))
}

/// What is wrong with a text kept as sent, at `at`: it must be printable (a database refuses
/// some control characters) and at most 256 characters long.
fn text_problem(at: &str, s: &str) -> Option<String> {
    if s.chars().any(char::is_control) {
        Some(format!("{at}: contains control characters"))
    } else if s.chars().count() > 256 {
        Some(format!("{at}: at most 256 characters"))
    } else {
        None
    }
}

/// What a Group asks: its name, external id, members and skills (`None`: as they are).
struct Desired {
    display_name: String,
    external_id: Option<String>,
    members: Vec<ScimMember>,
    skills: Option<Vec<(SkillId, i64)>>,
}

/// Judges a Group (its extension under the User extension's URN when `internal`): every
/// mistake named in one 400.
async fn desired(
    state: &AppState,
    caller: &Caller,
    org: &OrgView,
    v: &Value,
    before: Option<&Value>,
    internal: bool,
) -> ScimResult<Desired> {
    if !v.is_object() {
        return Err(ScimError::bad("invalidSyntax", "a Group is a JSON object"));
    }
    let mut errors = Vec::new();
    let display_name = match get_ci(v, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            errors.extend(text_problem("displayName", s));
            s.trim().to_string()
        }
        _ => {
            errors.push("displayName: required, a non-empty string".to_string());
            String::new()
        }
    };
    let external_id = match get_ci(v, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            errors.extend(text_problem("externalId", s));
            Some(s.clone())
        }
        Some(_) => {
            errors.push("externalId: must be a string".to_string());
            None
        }
    };
    let mut members = Vec::new();
    let mut asked: Vec<(usize, ScimMember)> = Vec::new();
    match get_ci(v, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, m) in list.iter().enumerate() {
                match get_ci(m, "value").and_then(Value::as_str) {
                    Some(s) => match s.trim().parse::<uuid::Uuid>() {
                        Ok(u) => {
                            let mut text = |k: &str| {
                                let t = get_ci(m, k).and_then(Value::as_str)?;
                                errors.extend(text_problem(&format!("members[{i}].{k}"), t));
                                Some(t.to_string())
                            };
                            asked.push((
                                i,
                                ScimMember {
                                    agent: AgentId::from(u),
                                    display: text("display"),
                                    kind: text("type"),
                                },
                            ))
                        }
                        Err(_) => errors.push(format!("members[{i}].value: no User with id `{s}`")),
                    },
                    None => errors.push(format!(
                        "members[{i}].value: each member is {{\"value\": a User's id}}"
                    )),
                }
            }
        }
        Some(_) => errors.push("members: must be an array of {\"value\": a User's id}".to_string()),
    }
    if !asked.is_empty() {
        let ids: Vec<AgentId> = asked.iter().map(|(_, m)| m.agent).collect();
        let found = state.store().agents_by_ids(caller.org_id, &ids).await?;
        let retired: Vec<AgentId> = state
            .store()
            .scim_users(caller.org_id)
            .await?
            .into_iter()
            .filter(|k| k.retired)
            .map(|k| k.agent_id)
            .collect();
        for (i, m) in asked {
            let a = m.agent;
            if found.iter().any(|f| f.id == a) && !retired.contains(&a) {
                if !members.iter().any(|x: &ScimMember| x.agent == a) {
                    members.push(m);
                }
            } else {
                errors.push(format!("members[{i}].value: no User with id `{a}`"));
            }
        }
    }
    let key = if internal {
        SKILLS_SCHEMA
    } else {
        GROUP_SKILLS_SCHEMA
    };
    let ext = get_ci(v, key);
    let had = before.is_some_and(|b| get_ci(b, key).is_some());
    let skills = match ext {
        None | Some(Value::Null) if internal && had => Some(Vec::new()),
        None | Some(Value::Null) => None,
        Some(e) if before.is_some_and(|b| get_ci(b, key) == Some(e)) => None,
        Some(e) => match super::skills::skills_of(e, org, GROUP_SKILLS_SCHEMA) {
            Ok(list) => Some(list.iter().map(|a| (a.skill_id, a.proficiency)).collect()),
            Err(e) => {
                errors.push(e.detail);
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ScimError::bad("invalidValue", errors.join("; ")));
    }
    Ok(Desired {
        display_name,
        external_id,
        members,
        skills,
    })
}

/// 412: another change of the Group came between its read and this write.
fn changed_meanwhile() -> ScimError {
    ScimError::new(
        StatusCode::PRECONDITION_FAILED,
        None,
        "the Group changed while this request was served; read it again and retry",
    )
}

fn taken(name: &str) -> ScimError {
    ScimError::new(
        StatusCode::CONFLICT,
        Some("uniqueness"),
        format!("a Group with displayName `{name}` already exists; find it with filter=displayName eq \"{name}\""),
    )
}

/// Writes the Group `id` as `d` asks (its skills as they were where `d` does not say).
async fn save(
    state: &AppState,
    caller: &Caller,
    id: uuid::Uuid,
    create: bool,
    d: &Desired,
    kept: &[(SkillId, i64)],
    if_version: Option<i64>,
) -> ScimResult<ScimGroupRecord> {
    let ctx = WriteContext {
        request_id: current_request_id(),
        client_id: caller.client_id,
        now: Timestamp::now(),
    };
    let save = ScimGroupSave {
        id,
        create,
        display_name: &d.display_name,
        external_id: d.external_id.as_deref(),
        members: &d.members,
        skills: d.skills.as_deref().unwrap_or(kept),
        if_version,
    };
    match state
        .store()
        .scim_save_group(caller.org_id, &ctx, &save)
        .await
    {
        Err(StoreError::Conflict(Conflict::Taken(Unique::GroupName))) => {
            Err(taken(&d.display_name))
        }
        Err(StoreError::Conflict(Conflict::GroupChanged)) => Err(changed_meanwhile()),
        Err(StoreError::NotFound) => Err(not_found(&id.to_string())),
        r => Ok(r?),
    }
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    org: &OrgView,
    headers: &HeaderMap,
    status: StatusCode,
    g: &ScimGroupRecord,
) -> ScimResult<Response> {
    let n = names(state, caller, &[g]).await?;
    Ok(resource_response(
        status,
        render(g, org, &base_url(headers), &n, false),
    ))
}

/// POST /Groups
async fn create(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let body = read_body(&state, &caller, &headers, body).await?;
    let org = caller.org(&state).await?;
    let d = desired(&state, &caller, &org, &body, None, false).await?;
    let g = save(&state, &caller, uuid::Uuid::now_v7(), true, &d, &[], None).await?;
    answer(&state, &caller, &org, &headers, StatusCode::CREATED, &g).await
}

/// GET /Groups/{id}
async fn read(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let projection = projection(raw)?;
    let org = caller.org(&state).await?;
    let g = load(&state, &caller, &id).await?;
    let n = names(&state, &caller, &[&g]).await?;
    let mut v = render(&g, &org, &base_url(&headers), &n, false);
    projection.apply(&mut v);
    Ok(resource_response(StatusCode::OK, v))
}

/// PUT /Groups/{id}
async fn replace(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let g = load(&state, &caller, &id).await?;
    let version = if_match(&headers, &g)?;
    let body = read_body(&state, &caller, &headers, body).await?;
    if let Some(sent) = get_ci(&body, "id").and_then(Value::as_str) {
        if !sent.eq_ignore_ascii_case(&g.id.to_string()) {
            return Err(ScimError::bad("mutability", "`id` cannot be changed"));
        }
    }
    let org = caller.org(&state).await?;
    let n = names(&state, &caller, &[&g]).await?;
    let before = render(&g, &org, &base_url(&headers), &n, false);
    let d = desired(&state, &caller, &org, &body, Some(&before), false).await?;
    let g = save(&state, &caller, g.id, false, &d, &g.skills, version).await?;
    answer(&state, &caller, &org, &headers, StatusCode::OK, &g).await
}

/// A PATCH body as the rules of `skillgrid_core::scim::patch` read it: `remove` of `members`
/// with a list of values (Entra ID, Okta) removes each of them, not every member; the group's
/// own `id` in a `replace` value (Okta) is no change of it.
fn normalized(body: &Value, id: &str) -> Value {
    let mut body = swapped(body, GROUP_SKILLS_SCHEMA, SKILLS_SCHEMA);
    let Some(ops) = body
        .as_object_mut()
        .and_then(|o| {
            o.iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        })
        .and_then(|(_, v)| v.as_array_mut())
    else {
        return body;
    };
    let mut out = Vec::with_capacity(ops.len());
    for op in ops.drain(..) {
        let remove = get_ci(&op, "op")
            .and_then(Value::as_str)
            .is_some_and(|o| o.eq_ignore_ascii_case("remove"));
        let members = get_ci(&op, "path")
            .and_then(Value::as_str)
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("members"));
        let mut op = op;
        if let Some(Value::Object(v)) = op.as_object_mut().and_then(|o| {
            o.iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case("value"))
                .map(|(_, v)| v)
        }) {
            v.retain(|k, x| {
                !(k.eq_ignore_ascii_case("id")
                    && x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
            });
        }
        match get_ci(&op, "value") {
            Some(Value::Array(values)) if remove && members => {
                for v in values {
                    let id = get_ci(v, "value").and_then(Value::as_str).unwrap_or("");
                    let path = format!("members[value eq {}]", Value::String(id.to_string()));
                    out.push(json!({"op": "remove", "path": path}));
                }
            }
            _ => out.push(op),
        }
    }
    *ops = out;
    body
}

/// PATCH /Groups/{id}
async fn patch_group(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let g = load(&state, &caller, &id).await?;
    let version = if_match(&headers, &g)?;
    let body = read_body(&state, &caller, &headers, body).await?;
    let org = caller.org(&state).await?;
    let n = names(&state, &caller, &[&g]).await?;
    let before = render(&g, &org, &base_url(&headers), &n, true);
    let mut after = before.clone();
    patch::apply(&mut after, &normalized(&body, &g.id.to_string())).map_err(|e| {
        ScimError::bad(
            e.scim_type,
            swap_urn(&e.detail, SKILLS_SCHEMA, GROUP_SKILLS_SCHEMA),
        )
    })?;
    let d = desired(&state, &caller, &org, &after, Some(&before), true).await?;
    // The change is made on the Group as read: written only if it is still that version.
    let version = version.or(Some(g.version));
    let g = save(&state, &caller, g.id, false, &d, &g.skills, version).await?;
    answer(&state, &caller, &org, &headers, StatusCode::OK, &g).await
}

/// DELETE /Groups/{id}: the group gone, and with it what only it gave its members.
async fn delete(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let g = load(&state, &caller, &id).await?;
    let version = if_match(&headers, &g)?;
    let ctx = WriteContext {
        request_id: current_request_id(),
        client_id: caller.client_id,
        now: Timestamp::now(),
    };
    match state
        .store()
        .scim_delete_group(caller.org_id, &ctx, g.id, version)
        .await
    {
        Err(StoreError::NotFound) => return Err(not_found(&id)),
        Err(StoreError::Conflict(Conflict::GroupChanged)) => return Err(changed_meanwhile()),
        r => r?,
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// GET /Groups: filtered (on any attribute a Group has: displayName, externalId,
/// members.value, …), sorted, paged.
async fn list(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let raw = swap_urn(&raw.unwrap_or_default(), GROUP_SKILLS_SCHEMA, SKILLS_SCHEMA);
    let q: ListQuery = list_query(form_urlencoded::parse(raw.as_bytes()))?;
    answer_list(&state, &caller, &headers, q).await
}

/// POST /Groups/.search: a listing whose parameters are the body's members.
async fn search(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let body = read_body(&state, &caller, &headers, body).await?;
    let body = swapped(&body, GROUP_SKILLS_SCHEMA, SKILLS_SCHEMA);
    let q = search_params(&body)?;
    answer_list(&state, &caller, &headers, q).await
}

async fn answer_list(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    q: ListQuery,
) -> ScimResult<Response> {
    let (total, resources) = page(state, caller, headers, &q).await?;
    Ok(list_response(total, q.start, resources))
}

/// The Groups a listing finds: how many in all, and those of its page.
pub async fn page(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    q: &ListQuery,
) -> ScimResult<(usize, Vec<Value>)> {
    let org = caller.org(state).await?;
    let base = base_url(headers);
    let groups = state.store().scim_groups(caller.org_id).await?;
    let all: Vec<&ScimGroupRecord> = groups.iter().collect();
    let n = names(state, caller, &all).await?;
    let mut rendered: Vec<Value> = groups
        .iter()
        .map(|g| render(g, &org, &base, &n, true))
        .filter(|v| q.filter.as_ref().is_none_or(|f| filter::matches(f, v)))
        .collect();
    if let Some((p, descending)) = &q.sort {
        rendered.sort_by(|a, b| order(a, b, p, *descending));
    }
    let total = rendered.len();
    let resources: Vec<Value> = rendered
        .into_iter()
        .skip(q.start - 1)
        .take(q.count)
        .map(|v| {
            let mut v = swapped(&v, SKILLS_SCHEMA, GROUP_SKILLS_SCHEMA);
            q.projection.apply(&mut v);
            v
        })
        .collect();
    Ok((total, resources))
}

/// A User's read-only `groups`: the Groups the agent is a member of (none: no attribute).
pub fn with_groups(u: &mut Value, groups: &[(uuid::Uuid, String)], base: &str) {
    if groups.is_empty() {
        return;
    }
    let list: Vec<Value> = groups
        .iter()
        .map(|(id, name)| json!({"value": id.to_string(), "$ref": format!("{base}/Groups/{id}"), "display": name}))
        .collect();
    u["groups"] = json!(list);
}

/// The Groups of every member of the organization's Groups: (id, displayName) by agent.
pub async fn groups_by_agent(
    state: &AppState,
    caller: &Caller,
) -> ScimResult<HashMap<AgentId, Vec<(uuid::Uuid, String)>>> {
    let mut out: HashMap<AgentId, Vec<(uuid::Uuid, String)>> = HashMap::new();
    for g in state.store().scim_groups(caller.org_id).await? {
        for m in &g.members {
            out.entry(m.agent)
                .or_default()
                .push((g.id, g.display_name.clone()));
        }
    }
    Ok(out)
}
