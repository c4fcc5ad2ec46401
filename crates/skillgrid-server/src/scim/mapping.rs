//! A SCIM User as an agent, and back.
//!
//! * `id` is the agent's id. The agent's email is the User's primary email (the one marked
//!   primary, else the work one, else the first), or its `userName` when it sends no email.
//! * The agent's name is, of `displayName`, `name.formatted` and `name.givenName` +
//!   `name.familyName`, the first the request changed (on create: the first given).
//! * `active`, `externalId` as they are; `meta.version` is `W/"<updated>-<skill-set version>"`.
//! * the skills extension lists the agent's skills by name, each proficiency as its level's
//!   name when it is exactly a level's value, else as the number (in a string).
//!
//! `userName`, the name parts, `displayName` and `emails` are kept as the identity provider
//! sent them (the store's SCIM profile) and read back as they were while the agent's email
//! and name are still those they gave; once the API changed the agent, SCIM shows the
//! agent (userName: the email, emails: that one address, name: split at the first space).
//! The agent's own validator judges what a request asks.

use super::{ScimError, ScimResult};
use crate::state::OrgView;
use serde_json::{json, Map, Value};
use skillgrid_api::{ErrorEntry, ProficiencyScale};
use skillgrid_core::model::{Assignment, NewAgent};
use skillgrid_core::scim::filter::{get_ci, SKILLS_SCHEMA, USER_SCHEMA};
use skillgrid_core::validate;
use skillgrid_store::{AgentRecord, AgentSkillSet, ScimUserRecord};

/// The attributes the profile keeps as sent.
const KEPT: [&str; 3] = ["name", "displayName", "emails"];

/// A proficiency as SCIM shows it: the level's name when it is exactly a level's value.
pub fn proficiency(scale: &ProficiencyScale, value: i64) -> String {
    scale
        .levels
        .iter()
        .find(|(_, v)| *v == value)
        .map_or_else(|| value.to_string(), |(n, _)| n.to_string())
}

/// The User an agent is, with its skills when `set` is given, and what SCIM kept of it.
pub fn render(
    a: &AgentRecord,
    set: Option<&AgentSkillSet>,
    org: &OrgView,
    base: &str,
    kept: Option<&ScimUserRecord>,
) -> Value {
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
    if let Some(k) = kept {
        overlay(&mut u, a, k);
    }
    if let Some(set) = set {
        u["meta"]["version"] = json!(etag(a, set));
    }
    // An agent without skills has no extension (RFC 7643 section 2.5: an empty list is unassigned).
    if let Some(set) = set.filter(|s| !s.skills.is_empty()) {
        u["schemas"] = json!([USER_SCHEMA, SKILLS_SCHEMA]);
        let scale = &org.settings.proficiency_scale;
        let skills: Vec<Value> = set
            .skills
            .iter()
            .map(|s| {
                let name = org
                    .by_id
                    .get(&s.skill_id)
                    .map_or_else(|| s.skill_id.to_string(), |c| c.name.clone());
                json!({"skill": name, "proficiency": proficiency(scale, s.proficiency)})
            })
            .collect();
        u[SKILLS_SCHEMA] = json!({ "skills": skills });
    }
    u
}

/// What the identity provider sent, where the agent is still what it made of it.
fn overlay(u: &mut Value, a: &AgentRecord, k: &ScimUserRecord) {
    let Ok(p) = serde_json::from_str::<Value>(&k.profile) else {
        return;
    };
    let Some(obj) = u.as_object_mut() else { return };
    if p["email"].as_str() == Some(a.email.as_str()) {
        obj.insert("userName".into(), json!(k.user_name));
        if let Some(e) = p.get("emails") {
            obj.insert("emails".into(), e.clone());
        }
    }
    if p["agentName"].as_str() == Some(a.name.as_str()) {
        for attr in ["name", "displayName"] {
            match p.get(attr) {
                Some(v) => obj.insert(attr.into(), v.clone()),
                None => obj.remove(attr),
            };
        }
    }
}

/// The User's version: moves with every change of the agent and of its skills.
pub fn etag(a: &AgentRecord, set: &AgentSkillSet) -> String {
    format!("W/\"{}-{}\"", a.updated_at.0, set.version)
}

/// The agent a User asks for, and what SCIM keeps of the User.
#[derive(Debug)]
pub struct Desired {
    pub agent: NewAgent,
    pub active: bool,
    /// `None`: the request does not speak of skills (no extension), and they stay as they are.
    pub skills: Option<Vec<Assignment>>,
    pub user_name: String,
    /// The profile to keep (JSON).
    pub profile: String,
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

fn names(u: &Value) -> [Option<String>; 3] {
    [
        text(u, &["displayName"]).map(str::to_string),
        text(u, &["name", "formatted"]).map(str::to_string),
        full_name(u),
    ]
}

/// What `after` asks of the agent, against the User `before` it was (none on create). A
/// User without the skills extension leaves the skills as they are, unless `patched`: a
/// PATCH that removed the extension removes them.
pub fn desired(
    before: Option<&Value>,
    after: &Value,
    org: &OrgView,
    patched: bool,
) -> ScimResult<Desired> {
    if !after.is_object() {
        return Err(ScimError::bad("invalidSyntax", "a User is a JSON object"));
    }
    let Some(user_name) = text(after, &["userName"]) else {
        return Err(ScimError::bad("invalidValue", "userName is required"));
    };
    let (email, from_emails) = match primary_email(after) {
        Some(e) => (e, true),
        None if user_name.contains('@') => (user_name, false),
        None => {
            return Err(ScimError::bad(
                "invalidValue",
                "an agent needs an email address: send emails (one of them primary) or a userName that is an email address",
            ))
        }
    };
    let wanted = names(after);
    let name = match before {
        Some(b) => {
            let was = names(b);
            wanted
                .iter()
                .zip(&was)
                .find(|(c, w)| c.is_some() && c != w)
                .and_then(|(c, _)| c.clone())
                .or_else(|| was.iter().flatten().next().cloned())
        }
        None => wanted.iter().flatten().next().cloned(),
    }
    .unwrap_or_else(|| user_name.to_string());
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
    let email_at = if from_emails {
        "emails.value"
    } else {
        "userName"
    };
    let agent = validate::agent_create(&json!({
        "email": email, "name": name, "externalId": external_id,
    }))
    .map_err(|errors| {
        invalid(&errors, |p| match p {
            "/email" => email_at.to_string(),
            p => agent_field(p),
        })
    })?;
    let ext = get_ci(after, SKILLS_SCHEMA);
    let had = before.is_some_and(|b| get_ci(b, SKILLS_SCHEMA).is_some());
    let skills = match ext {
        None | Some(Value::Null) if patched && had => Some(Vec::new()),
        None | Some(Value::Null) => None,
        // As it was (a PATCH of other attributes, a PUT that sends the skills back): not
        // judged again, so that a skill deactivated since does not refuse the change.
        Some(_) if before.is_some_and(|b| get_ci(b, SKILLS_SCHEMA) == ext) => None,
        Some(ext) => Some(super::skills::skills(ext, org)?),
    };
    let mut profile = Map::new();
    profile.insert("email".into(), json!(agent.email));
    profile.insert("agentName".into(), json!(agent.name));
    for attr in KEPT {
        if let Some(v) = get_ci(after, attr).filter(|v| !v.is_null()) {
            profile.insert(attr.into(), v.clone());
        }
    }
    Ok(Desired {
        agent,
        active,
        skills,
        user_name: user_name.to_string(),
        profile: Value::Object(profile).to_string(),
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
pub(super) fn invalid(errors: &[ErrorEntry], path: impl Fn(&str) -> String) -> ScimError {
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
