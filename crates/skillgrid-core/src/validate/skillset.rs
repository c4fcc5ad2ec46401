//! The walk of the bodies that set one agent's skills: PUT and PATCH of `…/skills` (bare
//! array or wrapped), the single-skill PUT, and the ASSIGNMENT object they share with the bulk
//! route. Every problem is reported, with its pointer; the rules themselves are in
//! [`super::rules`].

use super::fields::{self, number, received, truncate, Num};
use super::rules::{
    level_value, within_scale, SkillRules, ASSIGNMENT, MERGE_ROOT, REPLACE_ROOT, SINGLE,
};
use super::{child, hints, index, warnings, wrong_type, Report};
use crate::model::{Assignment, Given, SkillId};
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry, Locator, ProficiencyScale, WarningPolicy};
use std::collections::HashMap;
use uuid::Uuid;

const SHAPE_PUT: &str = r#"{"skills": [{"skillId": "…", "proficiency": 75}]} or a bare array [{"skillId": "…", "proficiency": 75}]"#;
const SHAPE_PATCH: &str = r#"{"skills": [{"skillId": "…", "proficiency": 75}], "remove": ["…"]} or a bare array of assignments"#;
const SHAPE_SINGLE: &str = r#"{"proficiency": 75, "effectiveDate": null, "expirationDate": null}"#;

fn root_shape_error(ptr: &str, expected: &str, got: &Value) -> ErrorEntry {
    wrong_type(ptr, "the request body", "an object or an array", got)
        .expected(expected.to_string())
        .hint(format!("send {expected}"))
}

/// `PUT …/skills`: the whole set, as `{"skills": [...]}` or a bare array.
pub fn skill_set_replace(
    body: &Value,
    rules: &SkillRules,
) -> Result<Vec<Assignment>, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut out = None;
    match body {
        Value::Array(_) => out = assignments(&mut r, "", body, rules, &mut Seen::default()),
        Value::Object(map) => REPLACE_ROOT.walk(&mut r, "", map, |r, _, v, p| {
            out = assignments(r, &p, v, rules, &mut Seen::default());
        }),
        other => r.push(root_shape_error("", SHAPE_PUT, other)),
    }
    r.finish(out)
}

/// `PATCH …/skills`: `{"skills": [...], "remove": [...]}` (both optional) or a bare array.
pub fn skill_set_merge(
    body: &Value,
    rules: &SkillRules,
) -> Result<(Vec<Assignment>, Vec<SkillId>), Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut seen = Seen::default();
    let mut upsert = Some(Vec::new());
    let mut remove = Some(Vec::new());
    match body {
        Value::Array(_) => upsert = assignments(&mut r, "", body, rules, &mut seen),
        Value::Object(map) => MERGE_ROOT.walk(&mut r, "", map, |r, field, v, p| match field {
            "skills" => upsert = assignments(r, &p, v, rules, &mut seen),
            _ => remove = removals(r, &p, v, rules, &mut seen),
        }),
        other => r.push(root_shape_error("", SHAPE_PATCH, other)),
    }
    r.finish(upsert.zip(remove))
}

/// `PUT …/skills/{skillId}`: one assignment whose skill is named by the path.
pub fn single_assignment(
    body: &Value,
    rules: &SkillRules,
    skill_id: SkillId,
) -> Result<Assignment, Vec<ErrorEntry>> {
    let mut r = Report::default();
    check_catalog(
        &mut r,
        Locator::Path("skillId".into()),
        skill_id,
        rules,
        false,
    );
    let mut a = Assignment::omitted(skill_id, rules.scale.default);
    let mut ok = true;
    match body {
        Value::Object(map) => {
            SINGLE.walk(&mut r, "", map, |r, field, v, p| {
                ok &= assignment_field(r, field, v, &p, rules, &mut a);
            });
            // `skillId` (or `id`, …) in this body is a natural mistake: say where the skill
            // comes from instead.
            for e in r.errors.iter_mut() {
                let key = e.pointer.as_deref().and_then(|p| p.strip_prefix('/'));
                if e.code == EntryCode::UnknownField
                    && e.hint.is_none()
                    && key.is_some_and(|k| {
                        hints::nearest_field(k, ASSIGNMENT.fields, ASSIGNMENT.aliases)
                            == Some("skillId")
                    })
                {
                    e.hint = Some(format!(
                        "the skill is named by the path (…/skills/{skill_id}); drop this field"
                    ));
                }
            }
            date_range(&mut r, "", map, &a);
            if ok && r.is_empty() {
                let found = warnings::scale_warnings(rules.scale, &[a], |_| "/proficiency".into());
                warnings::reject_into(rules.warnings, &mut r, found);
            }
        }
        other => r.push(root_shape_error("", SHAPE_SINGLE, other).expected(SHAPE_SINGLE)),
    }
    r.finish(ok.then_some(a))
}

/// Skill ids already listed in this request, with the pointer of their first occurrence.
#[derive(Default)]
pub struct Seen(HashMap<SkillId, String>);

/// An array of ASSIGNMENTs at `ptr`.
pub fn assignments(
    r: &mut Report,
    ptr: &str,
    v: &Value,
    rules: &SkillRules,
    seen: &mut Seen,
) -> Option<Vec<Assignment>> {
    let Value::Array(items) = v else {
        r.push(wrong_type(
            ptr,
            "`skills`",
            "an array of skill assignments",
            v,
        ));
        return None;
    };
    if items.len() as u64 > rules.max_skills_per_agent {
        r.push(
            ErrorEntry::at(
                ptr.to_string(),
                EntryCode::TooManyItems,
                format!(
                    "{} skills were sent; an agent may hold at most {}",
                    items.len(),
                    rules.max_skills_per_agent
                ),
            )
            .expected(format!(
                "at most {} skill assignments",
                rules.max_skills_per_agent
            ))
            .received(Value::from(items.len())),
        );
        return None;
    }
    let before = r.errors.len();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(a) = assignment(r, &index(ptr, i), item, rules, seen) {
            out.push(a);
        }
    }
    if r.errors.len() == before && rules.warnings == WarningPolicy::Reject {
        let found = warnings::list_warnings(rules.scale, ptr, &out);
        warnings::reject_into(rules.warnings, r, found);
    }
    (r.errors.len() == before).then_some(out)
}

/// One ASSIGNMENT object.
pub fn assignment(
    r: &mut Report,
    ptr: &str,
    v: &Value,
    rules: &SkillRules,
    seen: &mut Seen,
) -> Option<Assignment> {
    let Value::Object(map) = v else {
        r.push(
            wrong_type(ptr, "a skill assignment", "an object", v).hint(
                r#"each assignment is an object such as {"skillId": "…", "proficiency": 75}"#,
            ),
        );
        return None;
    };
    let before = r.errors.len();
    let mut a = Assignment::omitted(SkillId::new(Uuid::nil()), rules.scale.default);
    let mut has_id = false;
    ASSIGNMENT.walk(r, ptr, map, |r, field, v, p| {
        if field == "skillId" {
            if let Some(id) = skill_id(r, &p, v, rules, seen) {
                a.skill_id = id;
                has_id = true;
            }
        } else {
            assignment_field(r, field, v, &p, rules, &mut a);
        }
    });
    date_range(r, ptr, map, &a);
    (has_id && r.errors.len() == before).then_some(a)
}

/// The optional fields shared by ASSIGNMENT, the single-skill body and an agent entry of the
/// skill-to-agents body.
pub(super) fn assignment_field(
    r: &mut Report,
    field: &str,
    v: &Value,
    p: &str,
    rules: &SkillRules,
    a: &mut Assignment,
) -> bool {
    match field {
        "proficiency" => set_proficiency(r, p, v, rules.scale, a),
        "effectiveDate" => {
            fields::timestamp_or_null(r, p, "effectiveDate", v).map(|t| a.effective = t)
        }
        _ => fields::timestamp_or_null(r, p, "expirationDate", v).map(|t| a.expires = t),
    }
    .is_some()
}

/// An expiration that is not later than the effective date, reported at `ptr/expirationDate`.
pub(super) fn date_range(
    r: &mut Report,
    ptr: &str,
    map: &serde_json::Map<String, Value>,
    a: &Assignment,
) {
    if let (Some(from), Some(to)) = (a.effective, a.expires) {
        if to <= from {
            r.push(
                ErrorEntry::at(
                    child(ptr, "expirationDate"),
                    EntryCode::InvalidDateRange,
                    format!(
                        "expirationDate {} is not later than effectiveDate {}",
                        to.to_rfc3339(),
                        from.to_rfc3339()
                    ),
                )
                .expected(format!("a time after {}", from.to_rfc3339()))
                .received(map.get("expirationDate").cloned().unwrap_or(Value::Null)),
            );
        }
    }
}

fn skill_id(
    r: &mut Report,
    p: &str,
    v: &Value,
    rules: &SkillRules,
    seen: &mut Seen,
) -> Option<SkillId> {
    let before = r.errors.len();
    let id = fields::uuid(r, p, "skillId", v);
    if id.is_none() {
        // A skill *name* where the id belongs: name the id to send instead.
        if let (Value::String(s), Some(e)) = (v, r.errors.get_mut(before)) {
            if let Some(skill) = rules
                .catalog
                .values()
                .find(|c| c.name.eq_ignore_ascii_case(s.trim()))
            {
                e.hint = Some(format!(
                    "`{}` is a skill name; send its id {}",
                    skill.name, skill.id
                ));
            }
        }
        return None;
    }
    let id = id?;
    if let Some(first) = seen.0.get(&id) {
        r.push(
            ErrorEntry::at(
                p.to_string(),
                EntryCode::DuplicateSkill,
                format!("skill {id} is listed more than once"),
            )
            .received(v.clone())
            .hint(format!("it first appears at {first}; list each skill once")),
        );
        return None;
    }
    seen.0.insert(id, p.to_string());
    check_catalog(r, Locator::Pointer(p.to_string()), id, rules, false).then_some(id)
}

/// The skill must exist in the organization and, unless it is being removed, be active.
fn check_catalog(
    r: &mut Report,
    at: Locator,
    id: SkillId,
    rules: &SkillRules,
    removing: bool,
) -> bool {
    match rules.catalog.get(&id) {
        None => {
            r.push(
                ErrorEntry::new(
                    at,
                    EntryCode::UnknownSkill,
                    format!("no skill with id {id} exists in this organization"),
                )
                .expected("the id of a skill from GET /api/v2/admin/skills")
                .received(Value::String(id.to_string())),
            );
            false
        }
        Some(s) if !s.active && !removing => {
            r.push(
                ErrorEntry::new(
                    at,
                    EntryCode::InactiveSkill,
                    format!(
                        "skill `{}` ({id}) is inactive and cannot be assigned",
                        s.name
                    ),
                )
                .received(Value::String(id.to_string()))
                .hint(format!(
                    "reactivate it with PATCH /api/v2/admin/skills/{id} {{\"active\": true}}"
                )),
            );
            false
        }
        Some(_) => true,
    }
}

/// `remove`: skill ids to drop. Inactive skills may be removed; unknown ones may not.
pub fn removals(
    r: &mut Report,
    ptr: &str,
    v: &Value,
    rules: &SkillRules,
    seen: &mut Seen,
) -> Option<Vec<SkillId>> {
    let Value::Array(items) = v else {
        r.push(wrong_type(ptr, "`remove`", "an array of skill ids", v));
        return None;
    };
    let before = r.errors.len();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = index(ptr, i);
        let Some(id) = fields::uuid(r, &p, "a skill id to remove", item) else {
            continue;
        };
        if let Some(first) = seen.0.get(&id) {
            r.push(
                ErrorEntry::at(
                    p,
                    EntryCode::DuplicateSkill,
                    format!("skill {id} is listed more than once"),
                )
                .received(item.clone())
                .hint(format!(
                    "it first appears at {first}; a skill is either set or removed, once"
                )),
            );
            continue;
        }
        seen.0.insert(id, p.clone());
        if check_catalog(r, Locator::Pointer(p), id, rules, true) {
            out.push(id);
        }
    }
    (r.errors.len() == before).then_some(out)
}

/// Reads `proficiency` into `a`, noting how it was given.
pub fn set_proficiency(
    r: &mut Report,
    p: &str,
    v: &Value,
    scale: &ProficiencyScale,
    a: &mut Assignment,
) -> Option<()> {
    let x = proficiency(r, p, v, scale)?;
    a.proficiency = x;
    a.given = if v.is_string() {
        Given::Level
    } else {
        Given::Number
    };
    Some(())
}

/// A proficiency: an integer within the scale, or one of its level names in any case.
pub fn proficiency(r: &mut Report, p: &str, v: &Value, scale: &ProficiencyScale) -> Option<i64> {
    let expected = scale.describe();
    match number(v) {
        Num::Int(i) if within_scale(scale, i) => return Some(i),
        Num::Int(_) | Num::BigInt => {
            r.push(
                ErrorEntry::at(
                    p.to_string(),
                    EntryCode::OutOfRange,
                    format!("proficiency {v} is outside this organization's scale"),
                )
                .expected(expected)
                .received(v.clone()),
            );
            return None;
        }
        Num::QuotedInt(_) | Num::Decimal(_) => {
            let hint = match number(v) {
                Num::Decimal(f) => warnings::fractional_hint(scale, f),
                _ => None,
            }
            .or_else(|| number(v).hint());
            r.push(
                wrong_type(p, "proficiency", "an integer", v)
                    .expected(expected)
                    .maybe_hint(hint),
            );
            return None;
        }
        Num::Other => {}
    }
    let Value::String(s) = v else {
        let mut e =
            wrong_type(p, "proficiency", "an integer or a level name", v).expected(expected);
        if v.is_null() {
            e = e.hint(format!(
                "omit proficiency to use the default {}",
                scale.default
            ));
        }
        r.push(e);
        return None;
    };
    let name = s.trim();
    if let Some(value) = level_value(scale, name) {
        return Some(value);
    }
    let hint = hints::nearest_level(name, scale.levels.iter().map(|(n, _)| n))
        .map(|l| format!("did you mean `{l}`?"));
    r.push(
        ErrorEntry::at(
            p.to_string(),
            EntryCode::UnknownLevel,
            format!(
                "`{}` is not a proficiency level of this organization",
                truncate(name)
            ),
        )
        .expected(expected)
        .received(received(v))
        .maybe_hint(hint),
    );
    None
}
