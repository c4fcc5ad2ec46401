//! The administrative audit trail (`/audit/admin`): every change to the organization's skills,
//! agents, settings and console users, whoever made it (an API client, a console user, an
//! admin command).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a change of the administrative audit trail changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AdminAuditKind {
    /// A skill: `before` and `after` are `Skill`s.
    Skill,
    /// An agent: `before` and `after` are `Agent`s.
    Agent,
    /// The organization's settings: `before` and `after` are `OrgSettings`; the subject is
    /// the organization.
    Settings,
    /// A console user: `before` and `after` are `AuditedUser`s.
    User,
    /// A webhook endpoint: `before` and `after` are `Webhook`s (never with a secret).
    Webhook,
}

/// What a change of the administrative audit trail did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AdminAuditAction {
    Created,
    /// Some of its fields changed (`before` and `after` say which).
    Updated,
    /// It was deleted: `before` is what it was, `after` is `null`.
    Deleted,
}

/// A console user as the audit trail shows it: never anything of their password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditedUser {
    pub id: Uuid,
    pub email: String,
    /// `viewer`, `editor` or `admin`.
    pub role: String,
    /// `false`: the user cannot sign in.
    pub active: bool,
}

/// One change to a skill, an agent, the settings, a console user or a webhook of the
/// organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminAuditEntry {
    pub id: Uuid,
    #[schema(format = DateTime)]
    pub at: String,
    /// The request that made the change; `admin-cli` for the admin commands.
    pub request_id: String,
    /// The client whose token (or console session) made the change; `null` when it was made
    /// on the database directly (the admin commands).
    #[schema(required = true)]
    pub actor_client_id: Option<Uuid>,
    /// The console user who made the change, when it was made in the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_user_id: Option<Uuid>,
    /// `admin-command` when the change was made by an admin command, `api` otherwise.
    pub via: String,
    pub kind: AdminAuditKind,
    /// The id of what changed: a skill's, an agent's, the organization's (settings), a
    /// user's or a webhook's.
    pub subject_id: Uuid,
    pub action: AdminAuditAction,
    /// What it was (`null` when it was created), in the shape `kind` names.
    #[schema(required = true, value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// What it became, in the shape `kind` names (`null` when it was deleted).
    #[schema(required = true, value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}
