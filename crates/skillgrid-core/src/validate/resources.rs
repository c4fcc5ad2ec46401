//! Bodies of the catalog and agent routes.

use super::{fields, wrong_type, Report, Schema};
use crate::model::{AgentPatch, NewAgent, NewSkill, SkillPatch};
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry};

pub(super) const NAME_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 2000;
const EMAIL_MAX: usize = 254;
pub(super) const EXTERNAL_ID_MAX: usize = 200;

const SKILL_CREATE: Schema = Schema {
    what: "a skill",
    fields: &["name", "description"],
    required: &["name"],
    aliases: &[
        ("skillName", "name"),
        ("title", "name"),
        ("desc", "description"),
    ],
};

const SKILL_PATCH: Schema = Schema {
    what: "a skill update",
    fields: &["name", "description", "active"],
    required: &[],
    aliases: &[
        ("skillName", "name"),
        ("title", "name"),
        ("desc", "description"),
        ("enabled", "active"),
        ("state", "active"),
    ],
};

const AGENT_CREATE: Schema = Schema {
    what: "an agent",
    fields: &["email", "name", "externalId"],
    required: &["email", "name"],
    aliases: &[
        ("mail", "email"),
        ("emailAddress", "email"),
        ("username", "email"),
        ("displayName", "name"),
        ("fullName", "name"),
        ("external", "externalId"),
        ("employeeId", "externalId"),
    ],
};

pub(super) const AGENT_PATCH: Schema = Schema {
    what: "an agent update",
    fields: &["email", "name", "externalId", "active"],
    required: &[],
    aliases: &[
        ("mail", "email"),
        ("emailAddress", "email"),
        ("username", "email"),
        ("displayName", "name"),
        ("fullName", "name"),
        ("external", "externalId"),
        ("employeeId", "externalId"),
        ("enabled", "active"),
        ("state", "active"),
    ],
};

/// The body as an object; anything else is reported with the shape to send.
pub(super) fn object<'v>(
    r: &mut Report,
    body: &'v Value,
    shape: &str,
) -> Option<&'v serde_json::Map<String, Value>> {
    match body {
        Value::Object(m) => Some(m),
        other => {
            r.push(
                wrong_type("", "the request body", "an object", other)
                    .expected(shape.to_string())
                    .hint(format!("send {shape}")),
            );
            None
        }
    }
}

pub fn skill_create(body: &Value) -> Result<NewSkill, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut name = None;
    let mut description = Some(None);
    if let Some(map) = object(&mut r, body, r#"{"name": "Billing", "description": "…"}"#) {
        SKILL_CREATE.walk(&mut r, "", map, |r, f, v, p| match f {
            "name" => name = fields::text(r, &p, "name", v, 1, NAME_MAX),
            _ => description = fields::optional_text(r, &p, "description", v, DESCRIPTION_MAX),
        });
    }
    let out = name
        .zip(description)
        .map(|(name, description)| NewSkill { name, description });
    r.finish(out)
}

pub fn skill_patch(body: &Value) -> Result<SkillPatch, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut patch = SkillPatch::default();
    if let Some(map) = object(
        &mut r,
        body,
        r#"{"name": "…", "description": "…", "active": true}"#,
    ) {
        SKILL_PATCH.walk(&mut r, "", map, |r, f, v, p| match f {
            "name" => patch.name = fields::text(r, &p, "name", v, 1, NAME_MAX),
            "description" => {
                patch.description = fields::optional_text(r, &p, "description", v, DESCRIPTION_MAX)
            }
            _ => patch.active = fields::boolean(r, &p, "active", v),
        });
    }
    r.finish(Some(patch))
}

pub fn agent_create(body: &Value) -> Result<NewAgent, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let (mut email, mut name, mut external_id) = (None, None, Some(None));
    if let Some(map) = object(
        &mut r,
        body,
        r#"{"email": "ana@example.com", "name": "Ana", "externalId": "…"}"#,
    ) {
        AGENT_CREATE.walk(&mut r, "", map, |r, f, v, p| match f {
            "email" => email = self::email(r, &p, v),
            "name" => name = fields::text(r, &p, "name", v, 1, NAME_MAX),
            _ => external_id = fields::optional_text(r, &p, "externalId", v, EXTERNAL_ID_MAX),
        });
    }
    let out = match (email, name, external_id) {
        (Some(email), Some(name), Some(external_id)) => Some(NewAgent {
            email,
            name,
            external_id,
        }),
        _ => None,
    };
    r.finish(out)
}

pub fn agent_patch(body: &Value) -> Result<AgentPatch, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut patch = AgentPatch::default();
    if let Some(map) = object(
        &mut r,
        body,
        r#"{"email": "…", "name": "…", "externalId": "…", "active": true}"#,
    ) {
        AGENT_PATCH.walk(&mut r, "", map, |r, f, v, p| match f {
            "email" => patch.email = email(r, &p, v),
            "name" => patch.name = fields::text(r, &p, "name", v, 1, NAME_MAX),
            "externalId" => {
                patch.external_id = fields::optional_text(r, &p, "externalId", v, EXTERNAL_ID_MAX)
            }
            _ => patch.active = fields::boolean(r, &p, "active", v),
        });
    }
    r.finish(Some(patch))
}

/// An address of the form `local@domain` with a dot in the domain; stored as sent, compared
/// case-insensitively.
pub(super) fn email(r: &mut Report, p: &str, v: &Value) -> Option<String> {
    let s = fields::text(r, p, "email", v, 3, EMAIL_MAX)?;
    let valid = match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid {
        r.push(
            ErrorEntry::at(
                p.to_string(),
                EntryCode::InvalidFormat,
                format!("`{}` is not an email address", fields::truncate(&s)),
            )
            .expected("an email address such as ana@example.com")
            .received(v.clone()),
        );
        return None;
    }
    Some(s)
}
