//! Bulk changes from the grid: `GET /console/grid/agent-ids`, the ids (and names) of every
//! agent the grid's filter matches, across its pages, so that the console's script
//! (`bulk.js`) can select them all. The change itself is the API's own bulk request
//! (`POST /api/v2/agents/skills/bulk`), sent by the script with the session: first as a dry
//! run, whose diff is the preview, then for real. This route only reads.
//!
//! It takes the grid's query string (its filters and sort; a page's cursor is ignored), is
//! scoped to the caller's organization, needs the scope of the bulk write it prepares
//! (`admin:agent:write`: a viewer selects nothing), reads by keyset a page of
//! [`CHUNK`] at a time, and stops at what one bulk request of the organization accepts
//! (`limits.maxItemsPerBulk`): beyond it, it refuses and says so.

use super::grid::GridQuery;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use skillgrid_api::{scopes, EntryCode, ErrorEntry, Locator};
use uuid::Uuid;

/// Agents read from the store at a time.
const CHUNK: u32 = 1000;

/// The answer: every matching agent, in the grid's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matching {
    pub count: usize,
    pub agents: Vec<MatchingAgent>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchingAgent {
    pub id: Uuid,
    pub name: String,
}

pub async fn agent_ids(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<GridQuery>,
) -> Result<Response, ApiError> {
    caller.require(scopes::AGENT_WRITE)?;
    let org = caller.org(&state).await?;
    let settings = &org.settings;
    let filter = query
        .filter(&settings.proficiency_scale)
        .map_err(|(param, why)| {
            let received = query_value(&query, param);
            ApiError::one(
                ErrorEntry::new(Locator::Query(param.into()), EntryCode::InvalidFormat, why)
                    .received(Value::String(received)),
            )
        })?;
    let max = settings.limits.max_items_per_bulk;
    let mut agents = Vec::new();
    let mut after = None;
    loop {
        let left = (max + 1).saturating_sub(agents.len() as u64);
        let limit = u32::try_from(left).unwrap_or(u32::MAX).min(CHUNK);
        let page = state
            .store()
            .agent_grid_ids(caller.org_id, &filter, after, limit)
            .await?;
        agents.extend(page.agents);
        if agents.len() as u64 > max {
            return Err(ApiError::one(
                ErrorEntry::new(
                    Locator::Query(narrowing(&query).into()),
                    EntryCode::TooManyItems,
                    format!(
                        "more than {max} agents match this filter; one bulk change takes at most {max}"
                    ),
                )
                .expected(format!(
                    "at most {max} agents (limits.maxItemsPerBulk)"
                ))
                .hint("narrow the filter, or select the agents of one page at a time"),
            ));
        }
        match page.next {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    let body = Matching {
        count: agents.len(),
        agents: agents
            .into_iter()
            .map(|(id, name)| MatchingAgent { id: id.get(), name })
            .collect(),
    };
    let mut res = Json(body).into_response();
    // Who the session may see: never cached.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The filter to narrow when too many agents match: the first one given, or `q` (a search)
/// when the query gives none.
fn narrowing(q: &GridQuery) -> &'static str {
    [
        ("q", &q.q),
        ("skill", &q.skill),
        ("level", &q.level),
        ("active", &q.active),
    ]
    .into_iter()
    .find(|(_, v)| v.as_deref().is_some_and(|v| !v.trim().is_empty()))
    .map_or("q", |(name, _)| name)
}

fn query_value(q: &GridQuery, param: &str) -> String {
    let v = match param {
        "skill" => &q.skill,
        _ => &q.level,
    };
    v.clone().unwrap_or_default()
}
