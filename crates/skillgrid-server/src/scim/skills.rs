//! The skills extension's `skills` of a User, judged by the API's own validator (the
//! organization's scale, levels, catalog and limits) after each skill's name is resolved in
//! the catalog; a mistake names every wrong entry with its SCIM path.

use super::mapping::invalid;
use super::{ScimError, ScimResult};
use crate::state::OrgView;
use serde_json::{json, Map, Value};
use skillgrid_core::model::{Assignment, SkillId};
use skillgrid_core::scim::filter::{get_ci, SKILLS_SCHEMA};
use skillgrid_core::validate::{self, SkillRules};

/// The extension's `skills`, validated by the API's own rules: each skill named by name (any
/// case) or id, each proficiency a number of the scale or a level's name.
pub fn skills(ext: &Value, org: &OrgView) -> ScimResult<Vec<Assignment>> {
    skills_of(ext, org, SKILLS_SCHEMA)
}

/// [`skills`] of the extension `urn` (a User's or a Group's), which mistakes are named by.
pub fn skills_of(ext: &Value, org: &OrgView, urn: &str) -> ScimResult<Vec<Assignment>> {
    let list = match get_ci(ext, "skills") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ScimError::bad(
                "invalidValue",
                format!("{urn}:skills must be an array of {{\"skill\", \"proficiency\"}}"),
            ))
        }
    };
    let at = |i: usize, f: &str| format!("{urn}:skills[{i}].{f}");
    let mut mine: Vec<(usize, String)> = Vec::new();
    let mut body = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let named = get_ci(e, "skill").or_else(|| get_ci(e, "value"));
        let id = match named {
            Some(Value::String(s)) => resolve(s, org),
            _ => None,
        };
        if id.is_none() {
            let why = match named {
                Some(Value::String(s)) => format!("no skill `{s}` in this organization's catalog"),
                _ => "each entry names its skill (by name or id)".to_string(),
            };
            mine.push((i, format!("{}: {why}", at(i, "skill"))));
        }
        let mut item = Map::new();
        item.insert(
            "skillId".into(),
            json!(id.map_or_else(|| uuid::Uuid::nil().to_string(), |s| s.to_string())),
        );
        if let Some(p) = get_ci(e, "proficiency") {
            // A number in a string is how SCIM shows a proficiency that is no level's value.
            let p = match p.as_str().map(|s| s.trim().parse::<i64>()) {
                Some(Ok(n)) => json!(n),
                _ => p.clone(),
            };
            item.insert("proficiency".into(), p);
        }
        body.push(Value::Object(item));
    }
    let rules = SkillRules::new(&org.settings, &org.by_id);
    let checked = validate::skill_set_replace(&Value::Array(body), &rules);
    let mut errors: Vec<(usize, String)> = mine;
    if let Err(entries) = &checked {
        for e in entries {
            let ptr = e.pointer.as_deref().unwrap_or("");
            let mut parts = ptr.trim_start_matches('/').splitn(2, '/');
            // None: the list as a whole (too many entries).
            let entry: Option<usize> = parts.next().and_then(|i| i.parse().ok());
            let field = match parts.next() {
                Some("skillId") => "skill",
                Some(f) => f,
                None => "",
            };
            let i = entry.unwrap_or(0);
            // A skill this function could not name is already reported.
            if field == "skill" && errors.iter().any(|(j, _)| *j == i) {
                continue;
            }
            let path = match (entry, field) {
                (None, _) => format!("{urn}:skills"),
                (Some(i), "") => format!("{urn}:skills[{i}]"),
                (Some(i), f) => at(i, f),
            };
            let mut s = format!("{path}: {}", e.detail);
            if let Some(h) = &e.hint {
                s.push_str(&format!(" ({h})"));
            }
            errors.push((i, s));
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|(i, _)| *i);
        let detail: Vec<String> = errors.into_iter().map(|(_, s)| s).collect();
        return Err(ScimError::bad("invalidValue", detail.join("; ")));
    }
    checked.map_err(|e| invalid(&e, |p| p.to_string()))
}

/// A skill of the catalog by id, or by name in any case.
fn resolve(s: &str, org: &OrgView) -> Option<SkillId> {
    if let Ok(u) = s.trim().parse::<uuid::Uuid>() {
        let id = SkillId::from(u);
        if org.by_id.contains_key(&id) {
            return Some(id);
        }
    }
    org.catalog
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(s.trim()))
        .map(|c| c.id)
}
