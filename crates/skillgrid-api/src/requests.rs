//! Request bodies as the API names them, for the OpenAPI document.
//!
//! The server does not deserialize into these: bodies are walked by `skillgrid-core`'s
//! validator so that every mistake is reported at once. These types say what that validator
//! accepts, so the published schema and the rules come from one workspace and are checked
//! against each other by tests. Their examples are in the OpenAPI module of `skillgrid-server`,
//! where each runs through the real validator, rather than in `example`s on these types, which
//! some tools would send in preference to those.

use crate::AssignmentIn;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::ToSchema;
use uuid::Uuid;

// The patterns below say what the validator of skillgrid-core accepts: text without control
// characters, names with something besides spaces, `local@domain.tld` emails, ETags.

/// A proficiency as a client sends it: an integer of the organization's scale, or one of its
/// level names (any case). Only a schema: the request fields hold the raw JSON value, which
/// `skillgrid-core`'s validator reads against the organization's scale. Naming it gives
/// generated clients one type for the three fields that take it, instead of one per field.
pub enum Proficiency {}

impl utoipa::PartialSchema for Proficiency {
    fn schema() -> RefOr<Schema> {
        Schema::OneOf(
            OneOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))))
                .item(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)))
                .description(Some("an integer within the organization's scale, or the name of one of its levels (any case); omitted: the scale's default"))
                .build(),
        )
        .into()
    }
}

impl ToSchema for Proficiency {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Proficiency")
    }
}

/// `POST /admin/skills`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkillCreate {
    /// Unique per organization, compared case-insensitively; 1–200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// Up to 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub description: Option<String>,
}

impl SkillCreate {
    pub fn new(name: impl Into<String>) -> Self {
        SkillCreate {
            name: name.into(),
            description: None,
        }
    }

    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
}

/// `PATCH /admin/skills/{skillId}`: any subset of the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkillUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    /// `null` clears the description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub description: Option<String>,
    /// `false` deactivates the skill: it can no longer be assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `POST /admin/users`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentCreate {
    /// Unique per organization, compared case-insensitively.
    #[schema(
        min_length = 3,
        max_length = 254,
        pattern = r"^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s.\u0000-\u001f\u007f-\u009f][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s.\u0000-\u001f\u007f-\u009f]$"
    )]
    pub email: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub external_id: Option<String>,
}

impl AgentCreate {
    pub fn new(email: impl Into<String>, name: impl Into<String>) -> Self {
        AgentCreate {
            email: email.into(),
            name: name.into(),
            external_id: None,
        }
    }

    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }
}

/// `PATCH /admin/users/{userId}`: any subset of the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        min_length = 3,
        max_length = 254,
        pattern = r"^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s.\u0000-\u001f\u007f-\u009f][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s.\u0000-\u001f\u007f-\u009f]$"
    )]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    /// `null` clears the external id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub external_id: Option<String>,
    /// `false` deactivates the agent: its skills can no longer be changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `PATCH /organizations/settings`: any subset of the settings; nested objects merge
/// (JSON merge patch), and in `levels` a `null` removes a level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub proficiency_scale: Option<ProficiencyScalePatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub limits: Option<LimitsPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub require_if_match: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rate_limit: Option<RateLimitPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub warnings: Option<crate::settings::WarningPolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProficiencyScalePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = -1_000_000, maximum = 1_000_000)]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = -1_000_000, maximum = 1_000_000)]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = -1_000_000, maximum = 1_000_000)]
    pub default: Option<i64>,
    /// Merged into the levels: a value sets a level, `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub levels: Option<BTreeMap<String, Option<i64>>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 10_000)]
    pub max_skills_per_agent: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 100_000)]
    pub max_items_per_bulk: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 1_000_000)]
    pub max_assignments_per_request: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1024, maximum = 268_435_456)]
    pub max_body_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 1_000_000)]
    pub requests_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 100_000)]
    pub burst: Option<u64>,
}

/// `PUT …/skills`: the agent's whole new set. A bare JSON array of assignments is accepted
/// as the same thing; `{"skills": []}` removes every skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkillSetReplace {
    pub skills: Vec<AssignmentIn>,
}

/// `PATCH …/skills`: listed skills are added or updated, `remove` ones dropped, the rest
/// kept. A bare JSON array means `skills`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkillSetMerge {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub skills: Option<Vec<AssignmentIn>>,
    /// Skill ids to drop from the agent's set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub remove: Option<Vec<Uuid>>,
}

/// `PUT …/skills/{skillId}`: one assignment; the skill is named by the path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignmentFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Proficiency)]
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

impl AssignmentFields {
    /// Only a proficiency: an integer or a level name.
    pub fn proficiency(p: impl Into<serde_json::Value>) -> Self {
        AssignmentFields {
            proficiency: Some(p.into()),
            ..Default::default()
        }
    }
}

/// How bulk items apply: `merge` (PATCH semantics per item) or `replace` (PUT semantics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkMode {
    #[default]
    Merge,
    Replace,
}

/// `POST /agents/skills/bulk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkRequest {
    /// Default `merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub mode: Option<BulkMode>,
    /// Default `true`: all items are written, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub atomic: Option<bool>,
    /// One item per agent; an agent may appear only once.
    pub items: Vec<BulkItem>,
}

/// One agent's change in a bulk request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkItem {
    pub agent_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub skills: Option<Vec<AssignmentIn>>,
    /// Merge mode only: skill ids to drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub remove: Option<Vec<Uuid>>,
    /// The ETag the agent's skills must be at, e.g. `"\"7\""`, or `"*"`.
    // Spaces and tabs around it, not `\s`: generators would put line breaks or a BOM in an
    // `If-Match` header (the document takes this pattern for the header too), which HTTP
    // clients refuse to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = r#"^[ \t]*(\*|(W/)?"[0-9]{1,18}")[ \t]*$"#)]
    pub if_match: Option<String>,
}

/// `POST /admin/skills/{skillId}/agents`: one skill to many agents (merge, atomic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkillToAgents {
    pub agents: Vec<AgentAssignment>,
}

/// One agent of `POST /admin/skills/{skillId}/agents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentAssignment {
    pub agent_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Proficiency)]
    pub proficiency: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub effective_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub expiration_date: Option<String>,
}

impl AgentAssignment {
    pub fn new(agent_id: Uuid, proficiency: impl Into<serde_json::Value>) -> Self {
        AgentAssignment {
            agent_id,
            proficiency: Some(proficiency.into()),
            effective_date: None,
            expiration_date: None,
        }
    }
}

/// `POST /oauth/token` form fields (RFC 6749 section 4.4); the client may authenticate with HTTP
/// Basic instead of `client_id` and `client_secret`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
// The example goes with HTTP Basic, the token route's first security requirement: tools that
// send a form built from it authenticate once, not twice (which the server refuses).
#[schema(example = json!({"grant_type": "client_credentials"}))]
pub struct TokenRequest {
    /// Always `client_credentials`.
    #[schema(pattern = "^client_credentials$")]
    pub grant_type: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Space-separated subset of the client's scopes; omitted: all of them.
    pub scope: Option<String>,
}

/// The body of `PUT …/skills`: the wrapped object or the bare array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SkillSetPut {
    Wrapped(SkillSetReplace),
    Bare(Vec<AssignmentIn>),
}

/// The body of `PATCH …/skills`: the wrapped object or the bare array of assignments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SkillSetPatch {
    Wrapped(SkillSetMerge),
    Bare(Vec<AssignmentIn>),
}

/// The body of `POST /admin/users/bulk`: the wrapped object or the bare array of agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AgentsBulkBody {
    Wrapped(AgentsBulkRequest),
    Bare(Vec<AgentUpsert>),
}

/// `POST /admin/users/bulk`: many agents created or updated at once, matched by email (any
/// case). A bare array of agents is accepted as `{"agents": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentsBulkRequest {
    /// `true` (the default): if anything is wrong anywhere, nothing is written; `false`: the
    /// valid agents are written and the others come back with their problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub atomic: Option<bool>,
    /// `true`: answer as if written, write nothing (the same as `?dryRun=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub dry_run: Option<bool>,
    /// At most `limits.maxItemsPerBulk`; an email (any case) at most once.
    pub agents: Vec<AgentUpsert>,
}

/// One agent of `POST /admin/users/bulk`: created when no agent has its email (any case),
/// else that agent's fields are updated. Omitted fields keep their value (a new agent:
/// no external id, active).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentUpsert {
    /// Which agent: unique per organization, compared case-insensitively; stored as sent.
    #[schema(
        min_length = 3,
        max_length = 254,
        pattern = r"^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s.\u0000-\u001f\u007f-\u009f][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s.\u0000-\u001f\u007f-\u009f]$"
    )]
    pub email: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// `null` clears the external id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

impl AgentUpsert {
    pub fn new(email: impl Into<String>, name: impl Into<String>) -> Self {
        AgentUpsert {
            email: email.into(),
            name: name.into(),
            ..AgentUpsert::default()
        }
    }
}
