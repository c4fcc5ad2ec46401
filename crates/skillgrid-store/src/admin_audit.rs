//! The administrative audit trail, backend-neutral: what an entry keeps of a skill, an agent,
//! the settings, a console user or a webhook before and after a change, and how it is stored.
//!
//! Like a client's audit entry (see `crate::clients`), each side is a small JSON document of
//! this module's own (the settings: the store's own settings document), never a wire type,
//! so stored entries keep reading the same when the API changes. A user's side holds their
//! e-mail, role and state: nothing of their password.

use crate::*;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use skillgrid_core::api::{AdminAuditAction, AdminAuditKind};

/// A skill as one side of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillState {
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An agent as one side of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentAudited {
    pub email: String,
    pub name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A console user as one side of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    pub email: String,
    pub role: String,
    pub active: bool,
}

/// One side of an entry: what the subject was, or became.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminState {
    Skill(SkillState),
    Agent(AgentAudited),
    Settings(OrgSettings),
    User(UserState),
    Webhook(crate::webhooks::WebhookState),
}

impl AdminState {
    pub fn kind(&self) -> AdminAuditKind {
        match self {
            AdminState::Skill(_) => AdminAuditKind::Skill,
            AdminState::Agent(_) => AdminAuditKind::Agent,
            AdminState::Settings(_) => AdminAuditKind::Settings,
            AdminState::User(_) => AdminAuditKind::User,
            AdminState::Webhook(_) => AdminAuditKind::Webhook,
        }
    }

    pub(crate) fn to_json(&self) -> Result<String> {
        let text = match self {
            AdminState::Skill(s) => serde_json::to_string(s),
            AdminState::Agent(a) => serde_json::to_string(a),
            AdminState::User(u) => serde_json::to_string(u),
            AdminState::Webhook(w) => serde_json::to_string(w),
            AdminState::Settings(s) => return Ok(crate::settings::to_json(s)?),
        };
        Ok(text.context("serialising an audit state")?)
    }

    pub(crate) fn from_json(kind: AdminAuditKind, text: &str) -> Result<Self> {
        let bad = "a stored admin audit state is not valid";
        Ok(match kind {
            AdminAuditKind::Skill => AdminState::Skill(serde_json::from_str(text).context(bad)?),
            AdminAuditKind::Agent => AdminState::Agent(serde_json::from_str(text).context(bad)?),
            AdminAuditKind::User => AdminState::User(serde_json::from_str(text).context(bad)?),
            AdminAuditKind::Webhook => {
                AdminState::Webhook(serde_json::from_str(text).context(bad)?)
            }
            AdminAuditKind::Settings => {
                AdminState::Settings(crate::settings::from_json(text).context(bad)?)
            }
        })
    }
}

impl SkillRecord {
    pub(crate) fn audited(&self) -> AdminState {
        AdminState::Skill(SkillState {
            name: self.name.clone(),
            description: self.description.clone(),
            active: self.active,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

impl AgentRecord {
    pub(crate) fn audited(&self) -> AdminState {
        AdminState::Agent(AgentAudited {
            email: self.email.clone(),
            name: self.name.clone(),
            external_id: self.external_id.clone(),
            active: self.active,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

impl UserRecord {
    pub(crate) fn audited(&self) -> AdminState {
        AdminState::User(UserState {
            email: self.email.clone(),
            role: self.role.as_str().to_string(),
            active: self.active,
        })
    }
}

/// One change to a skill, an agent, the settings or a user of the organization.
#[derive(Debug, Clone)]
pub struct AdminAuditRecord {
    pub id: Uuid,
    pub at: Timestamp,
    pub request_id: String,
    /// The client whose token (or a console user's session) made the change; `None` for
    /// changes made on the database directly (the admin commands).
    pub actor: Option<ClientId>,
    pub kind: AdminAuditKind,
    /// The skill's, agent's or user's id; the organization's for its settings.
    pub subject: Uuid,
    pub action: AdminAuditAction,
    pub before: Option<AdminState>,
    pub after: Option<AdminState>,
}

/// What the console's feed of the administrative audit trail shows; every field `None`:
/// everything.
#[derive(Debug, Clone, Default)]
pub struct AdminFilter {
    pub kind: Option<AdminAuditKind>,
    /// The skill, agent, organization or user changed.
    pub subject: Option<Uuid>,
    /// The client that made the change (a console user's own client for their changes).
    pub client: Option<ClientId>,
    /// Both included.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// An entry's row, as both backends select it.
#[derive(sqlx::FromRow)]
pub(crate) struct AdminAuditRow {
    id: i64,
    uuid: Uuid,
    at: i64,
    request_id: String,
    actor_uuid: Option<Uuid>,
    kind: i16,
    subject_uuid: Uuid,
    action: i16,
    before: Option<String>,
    after: Option<String>,
}

impl AdminAuditRow {
    /// The entry and its cursor position.
    pub(crate) fn entry(self) -> Result<(i64, AdminAuditRecord)> {
        let kind = kind_from(self.kind)?;
        let side = |t: Option<String>| t.map(|t| AdminState::from_json(kind, &t)).transpose();
        let action = action_from(self.action)?;
        // A deletion's row keeps the last state on both sides (the column takes no NULL);
        // what it became is nothing.
        let after = match action {
            AdminAuditAction::Deleted => None,
            _ => side(self.after)?,
        };
        Ok((
            self.id,
            AdminAuditRecord {
                id: self.uuid,
                at: Timestamp(self.at),
                request_id: self.request_id,
                actor: self.actor_uuid.map(ClientId::new),
                kind,
                subject: self.subject_uuid,
                action,
                before: side(self.before)?,
                after,
            },
        ))
    }
}

fn unknown(what: &str, code: i16) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unknown admin audit {what} {code}"))
}

pub(crate) fn kind_code(k: AdminAuditKind) -> i16 {
    match k {
        AdminAuditKind::Skill => 1,
        AdminAuditKind::Agent => 2,
        AdminAuditKind::Settings => 3,
        AdminAuditKind::User => 4,
        AdminAuditKind::Webhook => 5,
    }
}

fn kind_from(code: i16) -> Result<AdminAuditKind> {
    Ok(match code {
        1 => AdminAuditKind::Skill,
        2 => AdminAuditKind::Agent,
        3 => AdminAuditKind::Settings,
        4 => AdminAuditKind::User,
        5 => AdminAuditKind::Webhook,
        other => return Err(unknown("kind", other)),
    })
}

pub(crate) fn action_code(a: AdminAuditAction) -> i16 {
    match a {
        AdminAuditAction::Created => 1,
        AdminAuditAction::Updated => 2,
        AdminAuditAction::Deleted => 3,
    }
}

fn action_from(code: i16) -> Result<AdminAuditAction> {
    Ok(match code {
        1 => AdminAuditAction::Created,
        2 => AdminAuditAction::Updated,
        3 => AdminAuditAction::Deleted,
        other => return Err(unknown("action", other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_kinds_and_actions_round_trip() {
        let sides = [
            AdminState::Skill(SkillState {
                name: "Billing".into(),
                description: None,
                active: true,
                created_at: 1,
                updated_at: 2,
            }),
            AdminState::Agent(AgentAudited {
                email: "ana@example.com".into(),
                name: "Ana".into(),
                external_id: Some("E-1".into()),
                active: false,
                created_at: 1,
                updated_at: 3,
            }),
            AdminState::Settings(OrgSettings::default()),
            AdminState::User(UserState {
                email: "ada@example.com".into(),
                role: "editor".into(),
                active: true,
            }),
        ];
        for s in sides {
            let kind = s.kind();
            assert_eq!(kind_from(kind_code(kind)).unwrap(), kind);
            let back = AdminState::from_json(kind, &s.to_json().unwrap()).unwrap();
            assert_eq!(back, s);
        }
        assert!(kind_from(9).is_err());
        assert!(AdminState::from_json(AdminAuditKind::Skill, "{}").is_err());
    }
}
