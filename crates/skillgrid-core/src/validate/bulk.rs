//! The walk of `POST /agents/skills/bulk` (many agents in one request) and of
//! `POST /admin/skills/{skillId}/agents` (one skill to many agents).
//!
//! Request-wide problems (shape, `mode`, limits) fail the whole request. Problems inside an
//! item are kept per item, so a non-atomic request can write the good items and report the
//! bad ones; an atomic request reports them all at once. Pointers are always relative to the
//! request body.

use super::fields::{self, received};
use super::rules::{
    bulk_mode, precondition_header, BulkLimits, BulkRequest, ItemResult, SkillRules, AGENTS_ROOT,
    AGENT_ENTRY, BULK_ITEM, BULK_ROOT,
};
use super::skillset::{assignment_field, assignments, date_range, removals, Seen};
use super::{child, index, warnings, wrong_type, Report};
use crate::model::{
    AgentId, AgentWrite, Assignment, BulkMode, Precondition, SkillId, SkillSetWrite,
};
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry, WarningPolicy};
use std::collections::HashMap;

const SHAPE: &str = r#"{"mode": "merge", "atomic": true, "items": [{"agentId": "…", "skills": [{"skillId": "…", "proficiency": 75}]}]}"#;

pub fn bulk_request(
    body: &Value,
    rules: &SkillRules,
    limits: &BulkLimits,
) -> Result<BulkRequest, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let Value::Object(root) = body else {
        let mut e = wrong_type("", "the request body", "an object", body)
            .expected(SHAPE)
            .hint(format!("send {SHAPE}"));
        if body.is_array() {
            e = e.hint(format!("wrap the items: {SHAPE}"));
        }
        r.push(e);
        return Err(r.errors);
    };
    // `mode` decides whether `remove` is allowed, wherever it stands in the body.
    let mode = root
        .get("mode")
        .and_then(Value::as_str)
        .and_then(bulk_mode)
        .unwrap_or(BulkMode::Merge);
    let mut atomic = true;
    let mut items_value = None;
    BULK_ROOT.walk(&mut r, "", root, |r, f, v, p| match f {
        "mode" => match v {
            Value::String(s) if bulk_mode(s).is_some() => {}
            Value::String(s) => {
                let hint = match s.to_lowercase().as_str() {
                    "merge" | "patch" | "upsert" | "add" => Some("use \"merge\" (lower case)"),
                    "replace" | "put" | "set" | "overwrite" => Some("use \"replace\" (lower case)"),
                    _ => None,
                };
                r.push(
                    ErrorEntry::at(
                        p,
                        EntryCode::InvalidFormat,
                        format!(
                            "mode `{}` is not one of merge, replace",
                            fields::truncate(s)
                        ),
                    )
                    .expected("\"merge\" or \"replace\"")
                    .received(received(v))
                    .maybe_hint(hint.map(String::from)),
                );
            }
            other => r.push(wrong_type(&p, "mode", "\"merge\" or \"replace\"", other)),
        },
        "atomic" => {
            if let Some(b) = fields::boolean(r, &p, "atomic", v) {
                atomic = b;
            }
        }
        _ => items_value = Some((v, p)),
    });
    let Some((items_v, items_p)) = items_value else {
        return Err(r.errors);
    };
    let Value::Array(list) = items_v else {
        r.push(wrong_type(
            &items_p,
            "`items`",
            "an array of bulk items",
            items_v,
        ));
        return Err(r.errors);
    };
    if list.len() as u64 > limits.max_items {
        r.push(
            ErrorEntry::at(
                items_p.clone(),
                EntryCode::TooManyItems,
                format!(
                    "{} items were sent; at most {} are allowed per request",
                    list.len(),
                    limits.max_items
                ),
            )
            .expected(format!(
                "at most {} items (limits.maxItemsPerBulk); split the request",
                limits.max_items
            ))
            .received(Value::from(list.len())),
        );
    }
    let total: usize = list.iter().map(assignments_listed).sum();
    if total as u64 > limits.max_assignments {
        r.push(
            ErrorEntry::at(items_p.clone(), EntryCode::TooManyItems, format!("{total} assignments were sent; at most {} are allowed per request", limits.max_assignments))
                .expected(format!("at most {} assignments in all (limits.maxAssignmentsPerRequest); split the request", limits.max_assignments))
                .received(Value::from(total)),
        );
    }
    if !r.is_empty() {
        return Err(r.errors);
    }
    let mut first_seen: HashMap<AgentId, usize> = HashMap::new();
    let mut items = Vec::with_capacity(list.len());
    let mut agent_ids = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let (item, id) = walk_item(&items_p, i, v, mode, rules, &mut first_seen);
        agent_ids.push(id);
        items.push(item);
    }
    Ok(BulkRequest {
        mode,
        atomic,
        items,
        agent_ids,
    })
}

/// What an item counts towards `limits.maxAssignmentsPerRequest`: its `skills` and `remove`.
pub(super) fn assignments_listed(item: &Value) -> usize {
    let len = |k| item.get(k).and_then(Value::as_array).map_or(0, Vec::len);
    len("skills") + len("remove")
}

/// Item `i` of `items` (at `items_p`), with its problems kept apart from the other items'.
/// `first_seen` holds the agents of the items before it.
pub(super) fn walk_item(
    items_p: &str,
    i: usize,
    v: &Value,
    mode: BulkMode,
    rules: &SkillRules,
    first_seen: &mut HashMap<AgentId, usize>,
) -> ItemResult {
    let mut ir = Report::default();
    let (item, id) = bulk_item(&mut ir, &index(items_p, i), v, mode, rules, first_seen, i);
    let item = match item {
        Some(it) if ir.is_empty() => Ok(it),
        _ => Err(ir.errors),
    };
    (item, id)
}

fn bulk_item(
    r: &mut Report,
    ptr: &str,
    v: &Value,
    mode: BulkMode,
    rules: &SkillRules,
    first_seen: &mut HashMap<AgentId, usize>,
    i: usize,
) -> (Option<AgentWrite>, Option<AgentId>) {
    let Value::Object(map) = v else {
        r.push(
            wrong_type(ptr, "a bulk item", "an object", v)
                .hint(r#"each item is an object such as {"agentId": "…", "skills": [...]}"#),
        );
        return (None, None);
    };
    let mut agent = None;
    let mut skills = None;
    let mut remove = None;
    let mut if_match = None;
    let mut seen = Seen::default();
    BULK_ITEM.walk(r, ptr, map, |r, f, v, p| match f {
        "agentId" => {
            agent = fields::uuid(r, &p, "agentId", v);
            if let Some(id) = agent {
                if let Some(first) = first_seen.get(&id) {
                    r.push(
                        ErrorEntry::at(p, EntryCode::DuplicateAgent, format!("agent {id} appears in more than one item"))
                            .received(v.clone())
                            .hint(format!("it first appears in item {first}; put all of an agent's changes in one item")),
                    );
                } else {
                    first_seen.insert(id, i);
                }
            }
        }
        "skills" => skills = Some(assignments(r, &p, v, rules, &mut seen)),
        "remove" => {
            if mode == BulkMode::Replace {
                r.push(
                    ErrorEntry::at(p, EntryCode::NotAllowed, "`remove` is not allowed in replace mode")
                        .hint("in replace mode `skills` is the whole new set: leave a skill out to remove it, or use mode \"merge\""),
                );
            } else {
                remove = Some(removals(r, &p, v, rules, &mut seen));
            }
        }
        _ => if_match = Some(if_match_field(r, &p, v)),
    });
    if mode == BulkMode::Replace && !map.contains_key("skills") {
        r.push(
            ErrorEntry::at(ptr.to_string(), EntryCode::MissingField, "in replace mode each item needs `skills` (the whole new set; [] removes every skill)")
                .expected("an object with `skills`"),
        );
    }
    let item = (|| {
        let agent_id = agent?;
        let upsert = match skills {
            Some(s) => s?,
            None => Vec::new(),
        };
        let remove = match remove {
            Some(rm) => rm?,
            None => Vec::new(),
        };
        let if_match = match if_match {
            Some(m) => Some(m?),
            None => None,
        };
        let write = match mode {
            BulkMode::Replace => SkillSetWrite::Replace(upsert),
            BulkMode::Merge => SkillSetWrite::Merge { upsert, remove },
        };
        Some(AgentWrite {
            agent_id,
            write,
            if_match,
        })
    })();
    (item, agent)
}

fn if_match_field(r: &mut Report, p: &str, v: &Value) -> Option<Precondition> {
    let Value::String(s) = v else {
        let mut e = wrong_type(
            p,
            "ifMatch",
            "an ETag string such as \"\\\"7\\\"\" or \"*\"",
            v,
        );
        if let Some(n) = v.as_i64() {
            e = e.hint(format!("send the ETag as a string: \"\\\"{n}\\\"\""));
        }
        r.push(e);
        return None;
    };
    match precondition_header(Some(s)) {
        Ok(p) => p,
        Err(mut e) => {
            e.header = None;
            e.pointer = Some(p.to_string());
            e.detail = format!(
                "ifMatch `{}` is not an ETag of this API",
                fields::truncate(s)
            );
            r.push(e);
            None
        }
    }
}

/// `POST /admin/skills/{skillId}/agents`: one skill to many agents (merge, atomic).
pub fn skill_to_agents(
    body: &Value,
    skill_id: SkillId,
    rules: &SkillRules,
    limits: &BulkLimits,
) -> Result<Vec<ItemResult>, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let Value::Object(root) = body else {
        r.push(
            wrong_type("", "the request body", "an object", body)
                .hint(r#"send {"agents": [{"agentId": "…", "proficiency": 75}]}"#),
        );
        return Err(r.errors);
    };
    let mut out = Vec::new();
    AGENTS_ROOT.walk(&mut r, "", root, |r, _, v, p| {
        let Value::Array(list) = v else {
            r.push(wrong_type(&p, "`agents`", "an array of agent entries", v));
            return;
        };
        if list.len() as u64 > limits.max_items.min(limits.max_assignments) {
            r.push(
                ErrorEntry::at(
                    p.clone(),
                    EntryCode::TooManyItems,
                    format!(
                        "{} agents were sent; at most {} are allowed per request",
                        list.len(),
                        limits.max_items.min(limits.max_assignments)
                    ),
                )
                .received(Value::from(list.len())),
            );
            return;
        }
        let mut first: HashMap<AgentId, usize> = HashMap::new();
        for (i, e) in list.iter().enumerate() {
            let ep = index(&p, i);
            let Value::Object(m) = e else {
                out.push((
                    Err(vec![wrong_type(&ep, "an agent entry", "an object", e)]),
                    None,
                ));
                continue;
            };
            let mut agent = None;
            let mut a = Assignment::omitted(skill_id, rules.scale.default);
            let before = r.errors.len();
            AGENT_ENTRY.walk(r, &ep, m, |r, f, v, fp| match f {
                "agentId" => {
                    agent = fields::uuid(r, &fp, "agentId", v);
                    if let Some(id) = agent {
                        if let Some(j) = first.get(&id) {
                            r.push(
                                ErrorEntry::at(
                                    fp,
                                    EntryCode::DuplicateAgent,
                                    format!("agent {id} is listed more than once"),
                                )
                                .received(v.clone())
                                .hint(format!(
                                    "it first appears at {}",
                                    child(&index(&p, *j), "agentId")
                                )),
                            );
                        } else {
                            first.insert(id, i);
                        }
                    }
                }
                _ => {
                    assignment_field(r, f, v, &fp, rules, &mut a);
                }
            });
            date_range(r, &ep, m, &a);
            // Entry problems stay with their entry, so the agents' own state can be reported too.
            let problems = r.errors.split_off(before);
            let item = match agent {
                Some(agent_id) if problems.is_empty() => Ok(AgentWrite {
                    agent_id,
                    write: SkillSetWrite::Merge {
                        upsert: vec![a],
                        remove: vec![],
                    },
                    if_match: None,
                }),
                _ => Err(problems),
            };
            out.push((item, agent));
        }
    });
    // One skill to many agents is one write: its values are judged together.
    if rules.warnings == WarningPolicy::Reject && r.is_empty() {
        let set: Option<Vec<Assignment>> = out
            .iter()
            .map(|(it, _)| it.as_ref().ok().map(one_assignment))
            .collect();
        if let Some(set) = set {
            let found = warnings::indexed_warnings(rules.scale, &set, |i| {
                format!("/agents/{i}/proficiency")
            });
            for (i, e) in found {
                out[i].0 = Err(vec![warnings::rejected(e)]);
            }
        }
    }
    r.finish(Some(out))
}

/// The one assignment of a skill-to-agents item.
pub fn one_assignment(item: &AgentWrite) -> Assignment {
    match &item.write {
        SkillSetWrite::Merge { upsert, .. } | SkillSetWrite::Replace(upsert) => upsert[0],
    }
}
