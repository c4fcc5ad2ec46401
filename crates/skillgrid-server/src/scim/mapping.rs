//! A SCIM User as an agent, and back.
//!
//! * `id` is the agent's id; `userName` is the agent's email, and the User's one email
//!   (`emails: [{value, type: "work", primary: true}]`) is the same address.
//! * `displayName`, `name.formatted` and `name.givenName` + `name.familyName` all read the
//!   agent's name (given name: its first word; family name: the rest).
//! * `active`, `externalId` as they are; `meta.version` is `W/"<updated>-<skill-set version>"`.
//! * the skills extension lists the agent's skills by name with their proficiency.
//!
//! What a request means for the agent is decided by comparing the User it sends (a `PUT`
//! body, or the representation a `PATCH` produced) with the User as it was: of `userName`
//! and the primary email, the one the request changed sets the email (`userName` when both
//! did or on create); of `displayName`, `name.formatted` and the given and family names, the
//! first the request changed sets the name. The agent's own validator judges the result.

use super::{ScimError, ScimResult};
use crate::state::OrgView;
use serde_json::{json, Map, Value};
use skillgrid_api::ErrorEntry;
use skillgrid_core::model::{Assignment, NewAgent, SkillId};
use skillgrid_core::scim::filter::{get_ci, SKILLS_SCHEMA, USER_SCHEMA};
use skillgrid_core::validate::{self, SkillRules};
use skillgrid_store::{AgentRecord, AgentSkillSet};

/// The User an agent is, with its skills when `set` is given.
pub fn render(a: &AgentRecord, set: Option<&AgentSkillSet>, org: &OrgView, base: &str) -> Value {
    let (given, family) = match a.name.split_once(' ') {
        Some((g, f)) => (g.to_string(), f.trim().to_string()),
        None => (a.name.clone(), String::new()),
    };
    let mut name = json!({"formatted": a.name, "givenName": given});
    if !family.is_empty() {
        name["familyName"] = json!(family);
    }
    let mut u = json!({
        "schemas": [USER_SCHEMA],
        "id": a.id.to_string(),
        "userName": a.email,
        "name": name,
        "displayName": a.name,
        "emails": [{"value": a.email, "type": "work", "primary": true}],
        "active": a.active,
        "meta": {
            "resourceType": "User",
            "created": a.created_at.to_rfc3339(),
            "lastModified": a.updated_at.to_rfc3339(),
            "location": format!("{base}/Users/{}", a.id),
        },
    });
    if let Some(x) = &a.external_id {
        u["externalId"] = json!(x);
    }
    if let Some(set) = set {
        u["meta"]["version"] = json!(etag(a, set));
        u["schemas"] = json!([USER_SCHEMA, SKILLS_SCHEMA]);
        let skills: Vec<Value> = set
            .skills
            .iter()
            .map(|s| {
                let name = org
                    .by_id
                    .get(&s.skill_id)
                    .map_or_else(|| s.skill_id.to_string(), |c| c.name.clone());
                json!({"skill": name, "proficiency": s.proficiency})
            })
            .collect();
        u[SKILLS_SCHEMA] = json!({ "skills": skills });
    }
    u
}

/// The User's version: moves with every change of the agent and of its skills.
pub fn etag(a: &AgentRecord, set: &AgentSkillSet) -> String {
    format!("W/\"{}-{}\"", a.updated_at.0, set.version)
}

/// The agent a User asks for.
#[derive(Debug)]
pub struct Desired {
    pub agent: NewAgent,
    pub active: bool,
    /// `None`: the request does not speak of skills (no extension), and they stay as they are.
    pub skills: Option<Vec<Assignment>>,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for p in path {
        at = get_ci(at, p)?;
    }
    at.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// The primary email's address: the one marked primary, else the work one, else the first.
fn primary_email(u: &Value) -> Option<&str> {
    let emails = get_ci(u, "emails")?.as_array()?;
    let pick = emails
        .iter()
        .find(|e| get_ci(e, "primary").and_then(truthy) == Some(true))
        .or_else(|| {
            emails.iter().find(|e| {
                get_ci(e, "type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("work"))
            })
        })
        .or_else(|| emails.first())?;
    text(pick, &["value"])
}

/// A boolean, or Entra ID's `"True"` / `"False"`.
pub fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn full_name(u: &Value) -> Option<String> {
    let parts: Vec<&str> = [
        text(u, &["name", "givenName"]),
        text(u, &["name", "familyName"]),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn differs(before: Option<&str>, after: Option<&str>) -> bool {
    match (before, after) {
        (Some(b), Some(a)) => b != a,
        (None, Some(_)) => true,
        _ => false,
    }
}

/// What `after` asks of the agent, against the User `before` it was (none on create).
pub fn desired(before: Option<&Value>, after: &Value, org: &OrgView) -> ScimResult<Desired> {
    if !after.is_object() {
        return Err(ScimError::bad("invalidSyntax", "a User is a JSON object"));
    }
    let user_name = text(after, &["userName"]);
    let email = primary_email(after);
    let Some(user_name) = user_name else {
        return Err(ScimError::bad(
            "invalidValue",
            "userName is required: the agent's email address",
        ));
    };
    let is_email = |s: &str| s.contains('@');
    let chosen_email = match before {
        Some(b) if !differs(text(b, &["userName"]), Some(user_name)) => {
            // userName unchanged: a changed primary email moves the address.
            match email {
                Some(e) if differs(primary_email(b), Some(e)) => e,
                _ => user_name,
            }
        }
        _ if !is_email(user_name) => email.unwrap_or(user_name),
        _ => user_name,
    };
    let candidates = [
        text(after, &["displayName"]).map(str::to_string),
        text(after, &["name", "formatted"]).map(str::to_string),
        full_name(after),
    ];
    let name = match before {
        Some(b) => {
            let was = [
                text(b, &["displayName"]).map(str::to_string),
                text(b, &["name", "formatted"]).map(str::to_string),
                full_name(b),
            ];
            candidates
                .iter()
                .zip(&was)
                .find(|(c, w)| c.is_some() && c != w)
                .and_then(|(c, _)| c.clone())
                .or_else(|| was[0].clone())
        }
        None => candidates.iter().flatten().next().cloned(),
    }
    .unwrap_or_else(|| chosen_email.to_string());
    let active = match get_ci(after, "active") {
        None | Some(Value::Null) => before
            .and_then(|b| get_ci(b, "active"))
            .and_then(truthy)
            .unwrap_or(true),
        Some(v) => truthy(v).ok_or_else(|| {
            ScimError::bad(
                "invalidValue",
                format!("active must be true or false, not {v}"),
            )
        })?,
    };
    let external_id = match get_ci(after, "externalId") {
        None | Some(Value::Null) => Value::Null,
        Some(v) => v.clone(),
    };
    let agent = validate::agent_create(&json!({
        "email": chosen_email, "name": name, "externalId": external_id,
    }))
    .map_err(|errors| invalid(&errors, agent_field))?;
    let ext = get_ci(after, SKILLS_SCHEMA);
    let skills = match ext {
        None | Some(Value::Null) => None,
        // As it was (a PATCH of other attributes, a PUT that sends the skills back): not
        // judged again, so that a skill deactivated since does not refuse the change.
        Some(_) if before.is_some_and(|b| get_ci(b, SKILLS_SCHEMA) == ext) => None,
        Some(ext) => Some(skills(ext, org)?),
    };
    Ok(Desired {
        agent,
        active,
        skills,
    })
}

fn agent_field(pointer: &str) -> String {
    match pointer {
        "/email" => "userName".into(),
        "/name" => "displayName".into(),
        "/externalId" => "externalId".into(),
        p => p.trim_start_matches('/').to_string(),
    }
}

/// 400 `invalidValue` naming every entry with its SCIM path.
fn invalid(errors: &[ErrorEntry], path: impl Fn(&str) -> String) -> ScimError {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            let at = e.pointer.as_deref().map(&path).unwrap_or_default();
            let mut s = format!("{at}: {}", e.detail);
            if let Some(h) = &e.hint {
                s.push_str(&format!(" ({h})"));
            }
            s
        })
        .collect();
    ScimError::bad("invalidValue", parts.join("; "))
}

/// The extension's `skills`, validated by the API's own rules: each skill named by name (any
/// case) or id, each proficiency a number of the scale or a level's name.
fn skills(ext: &Value, org: &OrgView) -> ScimResult<Vec<Assignment>> {
    let list = match get_ci(ext, "skills") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ScimError::bad(
                "invalidValue",
                format!(
                    "{SKILLS_SCHEMA}:skills must be an array of {{\"skill\", \"proficiency\"}}"
                ),
            ))
        }
    };
    let at = |i: usize, f: &str| format!("{SKILLS_SCHEMA}:skills[{i}].{f}");
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
            item.insert("proficiency".into(), p.clone());
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
            let i: usize = parts.next().and_then(|i| i.parse().ok()).unwrap_or(0);
            let field = match parts.next() {
                Some("skillId") => "skill",
                Some(f) => f,
                None => "",
            };
            // A skill this function could not name is already reported.
            if field == "skill" && errors.iter().any(|(j, _)| *j == i) {
                continue;
            }
            let mut s = format!("{}: {}", at(i, field), e.detail);
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
