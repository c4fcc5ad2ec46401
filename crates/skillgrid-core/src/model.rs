//! Validated domain types: only these cross from a handler into storage.

pub use crate::ids::{AgentId, ClientId, OrgId, SkillId};
use crate::timestamp::Timestamp;

/// One desired assignment, checked against the organization's scale and catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub skill_id: SkillId,
    pub proficiency: i64,
    pub effective: Option<Timestamp>,
    pub expires: Option<Timestamp>,
    /// How the request gave the proficiency (warnings depend on it; storage ignores it).
    pub given: Given,
}

impl Assignment {
    /// An assignment of `skill_id` whose request gave no proficiency: the scale's `default`,
    /// no dates.
    pub fn omitted(skill_id: SkillId, default: i64) -> Self {
        Assignment {
            skill_id,
            proficiency: default,
            effective: None,
            expires: None,
            given: Given::Omitted,
        }
    }
}

/// How a request gave a proficiency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    /// A number on the organization's scale.
    Number,
    /// The name of one of its levels.
    Level,
    /// Nothing: the scale's `default`.
    Omitted,
}

/// One stored assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredAssignment {
    pub skill_id: SkillId,
    pub proficiency: i64,
    pub effective: Option<Timestamp>,
    pub expires: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl StoredAssignment {
    pub fn same_values(&self, a: &Assignment) -> bool {
        self.proficiency == a.proficiency
            && self.effective == a.effective
            && self.expires == a.expires
    }
}

/// What a write asks of one agent's skill set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkillSetWrite {
    /// PUT semantics: the set becomes exactly these.
    Replace(Vec<Assignment>),
    /// PATCH semantics: add or update these, drop `remove`, keep the rest.
    Merge {
        upsert: Vec<Assignment>,
        remove: Vec<SkillId>,
    },
}

impl SkillSetWrite {
    /// How many assignments and removals the write lists: what it counts towards a
    /// request's `maxAssignmentsPerRequest`.
    pub fn listed(&self) -> usize {
        match self {
            SkillSetWrite::Replace(set) => set.len(),
            SkillSetWrite::Merge { upsert, remove } => upsert.len() + remove.len(),
        }
    }
}

/// `If-Match` as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    Any,
    Version(i64),
    /// A weak tag (`W/"N"`): `If-Match` compares strongly, so it matches no version.
    Weak,
}

impl Precondition {
    /// Whether a set at `version` may be written.
    pub fn matches(self, version: i64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Version(v) => v == version,
            Precondition::Weak => false,
        }
    }
}

/// A skill of the catalog as validation needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSkill {
    pub id: SkillId,
    pub name: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSkill {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

/// A new API client: a name and known scopes, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub external_id: Option<String>,
}

/// One agent of a bulk upsert, matched by its email (case-insensitively): created when no
/// agent has it, else updated. `None` fields keep the agent's value (a new agent's: no
/// external id, active).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertAgent {
    pub email: String,
    pub name: String,
    pub external_id: Option<Option<String>>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentPatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub external_id: Option<Option<String>>,
    pub active: Option<bool>,
}

/// `mode` of a bulk request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    Merge,
    Replace,
}

/// One agent's part of a write: a validated bulk item, a skill set's PUT or PATCH, one
/// agent of a skill-to-agents request. The validator produces it and the store writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentWrite {
    pub agent_id: AgentId,
    pub write: SkillSetWrite,
    pub if_match: Option<Precondition>,
}

/// A webhook endpoint as created: its secret is drawn by the server, not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    /// Known event types, each once; `["*"]`: every type.
    pub event_types: Vec<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
}
