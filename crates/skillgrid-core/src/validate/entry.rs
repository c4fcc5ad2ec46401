//! Where a big body (bulk, skill to agents, a skill set's PUT and PATCH) arrives as bytes:
//! the typed fast path ([`super::fast`]) first, and the all-errors walk ([`super::bulk`],
//! [`super::skillset`]) whenever the fast path does not accept the body.
//!
//! The fast path only ever says yes or "not me", so every error report is the walk's. This is
//! the one module that knows both paths; they know only the rules ([`super::rules`]).

use super::bulk::{assignments_listed, bulk_request, skill_to_agents, walk_item};
use super::fast;
use super::json::{parse_json, read};
use super::rules::{BulkLimits, BulkRequest, ItemResult, SkillRules, SkillSetBody};
use super::skillset::{skill_set_merge, skill_set_replace};
use crate::model::{AgentId, SkillId};
use serde_json::Value;
use skillgrid_api::ErrorEntry;
use std::collections::HashMap;

/// `POST /agents/skills/bulk` from the raw body: the typed fast path when the body is valid;
/// else, when only some items are bad, the fast path for the good items and the walk for the
/// bad ones ([`bulk_by_item`]); else the all-errors walk over a `Value` (whose report this
/// always is); else `invalid_json`. A body that repeats a key anywhere is refused whole, with
/// every problem of every item: nothing of it is written, even when it is not atomic.
/// The server and the benchmark both call this.
pub fn bulk_body(
    bytes: &[u8],
    rules: &SkillRules,
    limits: &BulkLimits,
) -> Result<BulkRequest, Vec<ErrorEntry>> {
    if let Some(req) =
        fast::bulk(bytes, rules, limits).or_else(|| bulk_by_item(bytes, rules, limits))
    {
        return Ok(req);
    }
    let doc = parse_json(bytes).map_err(|e| vec![e])?;
    doc.finish(bulk_request(doc.value(), rules, limits), |req| {
        req.items
            .into_iter()
            .filter_map(Result::err)
            .flatten()
            .collect()
    })
}

/// `POST /agents/skills/bulk` when its request-wide part (root, `mode`, `atomic`, limits) is
/// valid but some items may not be: each item on the fast path where it can be, the others
/// walked one by one exactly as [`bulk_request`] walks them, so the answer is the walk's.
/// A non-atomic bulk with a few bad items among many stays cheap.
pub fn bulk_by_item(bytes: &[u8], rules: &SkillRules, limits: &BulkLimits) -> Option<BulkRequest> {
    let root = fast::bulk_raw_items(bytes)?;
    if root.items.len() as u64 > limits.max_items {
        return None;
    }
    let mut reader = fast::ItemReader::new(rules);
    let mut first_seen: HashMap<AgentId, usize> = HashMap::new();
    let mut items = Vec::with_capacity(root.items.len());
    let mut agent_ids = Vec::with_capacity(root.items.len());
    let mut total = 0;
    for (i, raw) in root.items.iter().enumerate() {
        let text = raw.get().as_bytes();
        match reader.item(text, root.mode) {
            Some(item) if !first_seen.contains_key(&item.agent_id) => {
                first_seen.insert(item.agent_id, i);
                total += item.write.listed();
                agent_ids.push(Some(item.agent_id));
                items.push(Ok(item));
            }
            _ => {
                // An item that repeats a key refuses the whole body: the walk of it says so.
                let doc = read(text).ok().filter(|d| d.duplicates().is_empty())?;
                let v = doc.value();
                total += assignments_listed(v);
                let (item, id) = walk_item("/items", i, v, root.mode, rules, &mut first_seen);
                agent_ids.push(id);
                items.push(item);
            }
        }
    }
    if total as u64 > limits.max_assignments {
        return None;
    }
    Some(BulkRequest {
        mode: root.mode,
        atomic: root.atomic,
        items,
        agent_ids,
    })
}

/// [`skill_to_agents`] from the raw body, as [`bulk_body`] does it.
pub fn skill_to_agents_body(
    bytes: &[u8],
    skill_id: SkillId,
    rules: &SkillRules,
    limits: &BulkLimits,
) -> Result<Vec<ItemResult>, Vec<ErrorEntry>> {
    if let Some(items) = fast::skill_to_agents(bytes, skill_id, rules, limits) {
        return Ok(items);
    }
    let doc = parse_json(bytes).map_err(|e| vec![e])?;
    doc.finish(
        skill_to_agents(doc.value(), skill_id, rules, limits),
        |items| {
            items
                .into_iter()
                .filter_map(|(i, _)| i.err())
                .flatten()
                .collect()
        },
    )
}

/// `PUT …/skills` from the raw body: the typed fast path when the body is valid, else the
/// all-errors walk over a `Value` (with the keys it repeats), else `invalid_json`.
pub fn skill_set_replace_body(
    bytes: &[u8],
    rules: &SkillRules,
) -> Result<SkillSetBody, Vec<ErrorEntry>> {
    skill_set_body(bytes, rules, true)
}

/// `PATCH …/skills` from the raw body, as [`skill_set_replace_body`] does it.
pub fn skill_set_merge_body(
    bytes: &[u8],
    rules: &SkillRules,
) -> Result<SkillSetBody, Vec<ErrorEntry>> {
    skill_set_body(bytes, rules, false)
}

/// A skill set's body, to replace the set (`PUT`) or else to merge into it (`PATCH`).
fn skill_set_body(
    bytes: &[u8],
    rules: &SkillRules,
    replace: bool,
) -> Result<SkillSetBody, Vec<ErrorEntry>> {
    if let Some(body) = fast::skill_set(bytes, rules, replace) {
        return Ok(body);
    }
    let doc = parse_json(bytes).map_err(|e| vec![e])?;
    let (upsert, remove) = doc.check(|body| {
        if replace {
            skill_set_replace(body, rules).map(|upsert| (upsert, Vec::new()))
        } else {
            skill_set_merge(body, rules)
        }
    })?;
    Ok(SkillSetBody {
        upsert,
        remove,
        list_pointer: list_pointer(doc.value()),
    })
}

/// Where the list of skills stands in a skill-set body (a set that grows too large is
/// reported there).
fn list_pointer(body: &Value) -> &'static str {
    if body.get("skills").is_some() {
        "/skills"
    } else {
        ""
    }
}
