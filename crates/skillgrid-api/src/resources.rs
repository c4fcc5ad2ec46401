//! Resource representations and the OAuth token endpoint's bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A list answer: `{"items": [...], "nextCursor": "…" | null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass it as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A skill of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    pub id: Uuid,
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[schema(required = true)]
    pub external_id: Option<String>,
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// One assignment as the API returns it (ASSIGNMENT_OUT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentOut {
    pub skill_id: Uuid,
    pub skill_name: String,
    pub proficiency: i64,
    /// The highest level whose value is at most `proficiency`; `null` below the lowest.
    #[schema(required = true)]
    pub level: Option<String>,
    /// `null`: effective since it was set.
    #[schema(format = DateTime, required = true)]
    pub effective_date: Option<String>,
    /// `null`: never expires.
    #[schema(format = DateTime, required = true)]
    pub expiration_date: Option<String>,
    /// True when `effectiveDate` ≤ now < `expirationDate`.
    pub active: bool,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Where the assignment comes from, with `?include=sources` on a read of an agent's
    /// skills: its direct assignment (the API's, or a SCIM User's) and each SCIM Group of the
    /// agent that gives the skill. `proficiency` is the highest of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<SkillSource>>,
}

/// One source of an agent's skill: its own (direct) assignment, or a SCIM Group it is a
/// member of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillSource {
    /// `direct` or `group`.
    #[serde(rename = "type")]
    #[schema(example = "group")]
    pub kind: String,
    pub proficiency: i64,
    /// The group's id (`group` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<Uuid>,
    /// The group's displayName (`group` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// One assignment as a client sends it (ASSIGNMENT). `proficiency` may be a number or a level name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignmentIn {
    pub skill_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::requests::Proficiency)]
    pub proficiency: Option<serde_json::Value>,
    /// RFC 3339; `null`: effective at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub effective_date: Option<String>,
    /// RFC 3339, later than `effectiveDate`; `null`: never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub expiration_date: Option<String>,
}

/// One updated assignment in a change list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedAssignment {
    pub skill_id: Uuid,
    pub before: AssignmentOut,
    pub after: AssignmentOut,
}

/// What a write did (or, on a dry run, would do) to one agent's skills.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    pub added: Vec<AssignmentOut>,
    pub updated: Vec<UpdatedAssignment>,
    pub removed: Vec<AssignmentOut>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// One agent's skills; `dryRun` and `changes` are present on write answers, and `warnings`
/// on those that succeeded but look like a mistake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentSkills {
    /// What looks wrong about a write that succeeded (or, on a dry run, would succeed): same
    /// shape as a problem's `errors`, codes `other_scale`, `below_lowest_level`,
    /// `emptied_set`. Absent when there is nothing to say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::ErrorEntry>,
    pub agent_id: Uuid,
    pub version: i64,
    pub skills: Vec<AssignmentOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditAction {
    Added,
    Updated,
    Removed,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Updated => "updated",
            Self::Removed => "removed",
        }
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: Uuid,
    #[schema(format = DateTime)]
    pub at: String,
    pub request_id: String,
    /// The API client whose request made the change; for a change made in the console, the
    /// client made with the console user (see `userId`).
    pub client_id: Uuid,
    /// The console user who made the change, when it was made in the console (with their
    /// session rather than a bearer token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    pub agent_id: Uuid,
    pub skill_id: Uuid,
    pub action: AuditAction,
    #[schema(required = true)]
    pub before: Option<AssignmentOut>,
    #[schema(required = true)]
    pub after: Option<AssignmentOut>,
}

/// `POST /oauth/token` success body (RFC 6749 section 5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
}

/// `POST /oauth/token` error body (RFC 6749 section 5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

/// The scopes an API client may hold.
pub mod scopes {
    pub const ORG_READ: &str = "admin:org:read";
    pub const ORG_WRITE: &str = "admin:org:write";
    pub const SKILL_READ: &str = "admin:skill:read";
    pub const SKILL_WRITE: &str = "admin:skill:write";
    pub const AGENT_READ: &str = "admin:agent:read";
    pub const AGENT_WRITE: &str = "admin:agent:write";
    pub const AUDIT_READ: &str = "admin:audit:read";
    pub const WEBHOOK_READ: &str = "admin:webhook:read";
    pub const WEBHOOK_WRITE: &str = "admin:webhook:write";
    /// The SCIM 2.0 endpoints under `/scim/v2`, for an identity provider.
    pub const SCIM: &str = "scim";
    pub const ALL: [&str; 10] = [
        ORG_READ,
        ORG_WRITE,
        SKILL_READ,
        SKILL_WRITE,
        AGENT_READ,
        AGENT_WRITE,
        AUDIT_READ,
        WEBHOOK_READ,
        WEBHOOK_WRITE,
        SCIM,
    ];
}

/// Counts over a bulk request. Assignment counts cover the items that succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkSummary {
    pub items: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
    pub unchanged: u64,
}

/// The result of one bulk item: `version` and `changes` when it succeeded, `problem` when not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkItemResult {
    pub index: u64,
    #[schema(required = true)]
    pub agent_id: Option<Uuid>,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    /// What looks wrong about this item's write, as in a single agent's answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::ErrorEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<crate::Problem>,
}

/// `POST /agents/skills/bulk` and `POST /admin/skills/{id}/agents` success body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResponse {
    pub dry_run: bool,
    pub summary: BulkSummary,
    pub results: Vec<BulkItemResult>,
}

/// One holder of a skill (`GET /admin/skills/{id}/agents`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillHolder {
    pub agent_id: Uuid,
    pub email: String,
    pub name: String,
    pub assignment: AssignmentOut,
}

/// What `POST /admin/users/bulk` did with one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpsertOutcome {
    /// No agent had the email: a new one was made (status 201).
    Created,
    /// The agent with the email had other values: they were changed (status 200).
    Updated,
    /// The agent with the email already had these values: nothing was written (status 200).
    Unchanged,
}

/// Counts over `POST /admin/users/bulk`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentsBulkSummary {
    pub items: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// The result of one agent of `POST /admin/users/bulk`: `outcome` and `agent` when it
/// succeeded, `problem` when not (only when `atomic` is false).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentsBulkResult {
    pub index: u64,
    /// The email as sent, when it was a string.
    #[schema(required = true)]
    pub email: Option<String>,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<UpsertOutcome>,
    /// The agent after the write (in a dry run, as it would be; a new one's id is then not
    /// kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<crate::Problem>,
}

/// `POST /admin/users/bulk` success body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentsBulkResponse {
    pub dry_run: bool,
    pub summary: AgentsBulkSummary,
    pub results: Vec<AgentsBulkResult>,
}
