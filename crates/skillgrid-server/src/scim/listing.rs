//! Listing Users: `GET /Users` and `POST /Users/.search`, with filters, sorting, paging over a
//! stable order, and `attributes` / `excludedAttributes`.
//!
//! The filter is parsed by `skillgrid_core::scim::filter` and applied to each User's
//! representation; where it pins `userName`, the database first narrows the agents to that
//! email or userName, so that identity providers' look-ups read one row.

use super::users::MAX_RESULTS;
use super::{base_url, list_response, mapping, read_body, ScimCaller, ScimError, ScimResult};
use crate::auth::Caller;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;
use skillgrid_core::model::AgentId;
use skillgrid_core::scim::filter::{self, attr_path, get_ci, AttrPath};
use skillgrid_core::scim::projection::{parse_list, Projection, Selected};
use skillgrid_store::{AgentFilter, AgentRecord, AgentSkillSet, PageRequest, ScimUserRecord};
use std::borrow::Cow;
use std::collections::HashMap;

const DEFAULT_COUNT: usize = 100;

/// `attributes` or `excludedAttributes`: a comma-separated list of attribute paths.
pub fn attribute_list(v: &str) -> ScimResult<Vec<Selected>> {
    parse_list(v).map_err(|e| ScimError::bad("invalidValue", e.0))
}

/// The `attributes` and `excludedAttributes` of a read of one resource (other parameters are
/// ignored, as the RFC allows).
pub fn projection(raw: Option<String>) -> ScimResult<Projection> {
    let mut projection = Projection::default();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "attributes" => projection.only = Some(attribute_list(&v)?),
            "excludedattributes" => projection.excluded = attribute_list(&v)?,
            _ => {}
        }
    }
    Ok(projection)
}

/// The query of a listing.
pub(super) struct ListQuery {
    pub(super) filter: Option<filter::Filter>,
    pub(super) start: usize,
    pub(super) count: usize,
    pub(super) sort: Option<(AttrPath, bool)>,
    pub(super) projection: Projection,
}

/// The parameters of a listing, from the query string or a search's body, as (name, value).
pub(super) fn list_query<'a>(
    params: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
) -> ScimResult<ListQuery> {
    let mut q = ListQuery {
        filter: None,
        start: 1,
        count: DEFAULT_COUNT,
        sort: None,
        projection: Projection::default(),
    };
    let mut sort_by = None;
    let mut descending = false;
    for (k, v) in params {
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
            "attributes" => q.projection.only = Some(attribute_list(&v)?),
            "excludedattributes" => q.projection.excluded = attribute_list(&v)?,
            // Other parameters are ignored, as the RFC allows.
            _ => {}
        }
    }
    q.sort = sort_by.map(|p| (p, descending));
    Ok(q)
}

/// The order of two resources by `path`; those without the attribute come last either way.
pub(super) fn order(a: &Value, b: &Value, p: &AttrPath, descending: bool) -> std::cmp::Ordering {
    match (sort_key(a, p), sort_key(b, p)) {
        (Some(x), Some(y)) if descending => y.cmp(&x),
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
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
pub async fn list(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let q = list_query(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()))?;
    listing(&state, &caller, &headers, q).await
}

/// POST /Users/.search: a listing whose parameters are the body's members (RFC 7644 section 3.4.3).
pub async fn search(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let q = search_query(&state, &caller, &headers, body).await?;
    listing(&state, &caller, &headers, q).await
}

/// POST /.search: a search of every resource type, Groups first, then Users (one order over
/// both, so that pages do not overlap).
pub async fn search_all(
    State(state): State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    body: Body,
) -> ScimResult<Response> {
    let q = search_query(&state, &caller, &headers, body).await?;
    let (start, count) = (q.start, q.count);
    let all = ListQuery {
        start: 1,
        count: MAX_RESULTS,
        ..q
    };
    let (groups_total, mut groups) = super::groups::page(&state, &caller, &headers, &all).await?;
    let skipped = (start - 1).min(groups.len());
    groups.drain(..skipped);
    groups.truncate(count);
    let users_q = ListQuery {
        start: start.saturating_sub(groups_total).max(1),
        count: count - groups.len(),
        ..all
    };
    let (users_total, users) = page(&state, &caller, &headers, users_q).await?;
    let mut resources = groups;
    resources.extend(users);
    Ok(list_response(groups_total + users_total, start, resources))
}

/// The listing a search's body asks for.
async fn search_query(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> ScimResult<ListQuery> {
    let body = read_body(state, caller, headers, body).await?;
    search_params(&body)
}

/// The listing a search's body (a SearchRequest) asks for.
pub(super) fn search_params(body: &Value) -> ScimResult<ListQuery> {
    let Value::Object(m) = body.clone() else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a search is a JSON object (a SearchRequest)",
        ));
    };
    let mut params = Vec::new();
    for (k, v) in m {
        let text = match v {
            Value::String(s) => s,
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
            Value::Null => continue,
            other => other.to_string(),
        };
        params.push((Cow::Owned(k), Cow::Owned(text)));
    }
    list_query(params.into_iter())
}

/// The page of Users a listing asks for.
async fn listing(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    q: ListQuery,
) -> ScimResult<Response> {
    let start = q.start;
    let (total, resources) = page(state, caller, headers, q).await?;
    Ok(list_response(total, start, resources))
}

/// The Users a listing finds: how many in all, and those of its page.
async fn page(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    q: ListQuery,
) -> ScimResult<(usize, Vec<Value>)> {
    let org = caller.org(state).await?;
    let base = base_url(headers);
    let store = state.store();
    // Where the filter pins userName, the database narrows the listing to the agents of that
    // email or userName (both indexed), and reads only their SCIM records; the filter itself
    // is always applied to each User after.
    let pinned = q.filter.as_ref().and_then(filter::user_name_eq);
    let mut agents = Vec::new();
    let mut kept: HashMap<AgentId, ScimUserRecord> = HashMap::new();
    if let Some(name) = pinned {
        let f = AgentFilter {
            email: Some(name.to_string()),
            active: None,
        };
        let page = PageRequest {
            after: None,
            limit: 1000,
        };
        agents = store.list_agents(caller.org_id, &f, page).await?.items;
        if let Some(k) = store.scim_user_named(caller.org_id, name).await? {
            if !agents.iter().any(|a| a.id == k.agent_id) {
                agents.push(store.get_agent(caller.org_id, k.agent_id).await?);
            }
        }
        for a in &agents {
            if let Some(k) = store.scim_user(caller.org_id, a.id).await? {
                kept.insert(a.id, k);
            }
        }
    } else {
        kept = store
            .scim_users(caller.org_id)
            .await?
            .into_iter()
            .map(|k| (k.agent_id, k))
            .collect();
        let mut after = None;
        loop {
            let f = AgentFilter::default();
            let page = store
                .list_agents(caller.org_id, &f, PageRequest { after, limit: 1000 })
                .await?;
            agents.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    agents.retain(|a| !kept.get(&a.id).is_some_and(|k| k.retired));
    let with_skills = q.filter.as_ref().is_some_and(filter::uses_extension)
        || q.sort.as_ref().is_some_and(|(p, _)| p.ext);
    let mut users: Vec<(Value, Option<AgentSkillSet>, AgentRecord)> =
        Vec::with_capacity(agents.len());
    // Without a filter or an order to judge by, only the page is rendered.
    let judged = q.filter.is_some() || q.sort.is_some();
    for a in agents {
        if !judged {
            users.push((Value::Null, None, a));
            continue;
        }
        let set = if with_skills {
            Some(store.agent_skills(caller.org_id, a.id).await?)
        } else {
            None
        };
        let u = mapping::render(&a, set.as_ref(), &org, &base, kept.get(&a.id));
        if q.filter.as_ref().is_none_or(|f| filter::matches(f, &u)) {
            users.push((u, set, a));
        }
    }
    if let Some((p, descending)) = &q.sort {
        users.sort_by(|(a, _, _), (b, _, _)| order(a, b, p, *descending));
    }
    let total = users.len();
    let groups = super::groups::groups_by_agent(state, caller).await?;
    let mut resources = Vec::new();
    for (_, set, a) in users.into_iter().skip(q.start - 1).take(q.count) {
        let set = match set {
            Some(s) => s,
            None => store.agent_skills(caller.org_id, a.id).await?,
        };
        let mut u = mapping::render(&a, Some(&set), &org, &base, kept.get(&a.id));
        if let Some(g) = groups.get(&a.id) {
            super::groups::with_groups(&mut u, g, &base);
        }
        q.projection.apply(&mut u);
        resources.push(u);
    }
    Ok((total, resources))
}
