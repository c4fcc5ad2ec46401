//! Request bodies and query parameters, serialised exactly as the API names them
//! (`camelCase`). Fields left `None` are not sent; `Option<Option<_>>` fields send `null`
//! for `Some(None)` (clear the value) and nothing for `None` (leave it).
//!
//! Most bodies are the types the OpenAPI document is made from (`skillgrid_api::requests`),
//! re-exported here. The client keeps its own only where it sends differently: the PATCH
//! bodies that can clear a field (`null` is not the same as leaving it out), the bulk request
//! and item (a typed mode, `atomic` and `ifMatch`), and the skill-set bodies (borrowed, so a
//! large set is not copied to be sent).

use serde::{Serialize, Serializer};
use serde_json::Value;
pub use skillgrid_api::requests::{
    AgentAssignment, AgentCreate as NewAgent, AssignmentFields, BulkMode, LimitsPatch,
    ProficiencyScalePatch, RateLimitPatch, SettingsPatch, SkillCreate as NewSkill,
};
use skillgrid_api::AssignmentIn;
use uuid::Uuid;

/// An assignment of `skill_id` at `proficiency` (an integer or a level name such as
/// `"Advanced"`), without dates.
pub fn assignment(skill_id: Uuid, proficiency: impl Into<Value>) -> AssignmentIn {
    AssignmentIn {
        skill_id,
        proficiency: Some(proficiency.into()),
        effective_date: None,
        expiration_date: None,
    }
}

/// `PATCH /admin/skills/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Some(None)` clears the description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// `PATCH /admin/users/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Some(None)` clears the external id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// `PUT …/skills`: the whole new set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct SkillSetReplace<'a> {
    pub skills: &'a [AssignmentIn],
}

/// `PATCH …/skills`: listed skills added or updated, `remove` ones dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct SkillSetMerge<'a> {
    pub skills: &'a [AssignmentIn],
    #[serde(skip_serializing_if = "<[Uuid]>::is_empty")]
    pub remove: &'a [Uuid],
}

/// `POST /agents/skills/bulk`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRequest {
    pub mode: BulkMode,
    pub atomic: bool,
    pub items: Vec<BulkItem>,
}

impl BulkRequest {
    /// A merge request, atomic (the API's defaults).
    pub fn merge(items: Vec<BulkItem>) -> Self {
        BulkRequest {
            mode: BulkMode::Merge,
            atomic: true,
            items,
        }
    }

    /// A replace request, atomic.
    pub fn replace(items: Vec<BulkItem>) -> Self {
        BulkRequest {
            mode: BulkMode::Replace,
            atomic: true,
            items,
        }
    }

    pub fn atomic(mut self, atomic: bool) -> Self {
        self.atomic = atomic;
        self
    }
}

/// One agent's change in a bulk request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkItem {
    pub agent_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<AssignmentIn>>,
    /// Merge mode only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove: Option<Vec<Uuid>>,
    /// The version the agent's skills must be at (sent as the ETag `"N"`), or `*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_match: Option<IfMatch>,
}

/// A bulk item's `ifMatch`: the ETag of a version, or `*` (any version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    Version(i64),
    Any,
}

impl IfMatch {
    /// Reads an ETag as the API writes it: `"7"` (with the quotes) or `*`.
    pub fn parse(etag: &str) -> Option<IfMatch> {
        let etag = etag.trim();
        if etag == "*" {
            return Some(IfMatch::Any);
        }
        let n = etag.strip_prefix('"')?.strip_suffix('"')?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n.parse().ok().map(IfMatch::Version)
    }
}

impl std::fmt::Display for IfMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IfMatch::Version(n) => write!(f, "\"{n}\""),
            IfMatch::Any => f.write_str("*"),
        }
    }
}

impl Serialize for IfMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl BulkItem {
    pub fn new(agent_id: Uuid, skills: Vec<AssignmentIn>) -> Self {
        BulkItem {
            agent_id,
            skills: Some(skills),
            remove: None,
            if_match: None,
        }
    }

    pub fn remove(mut self, remove: Vec<Uuid>) -> Self {
        self.remove = Some(remove);
        self
    }

    /// Writes only if the agent's skills are at `version`.
    pub fn if_match(mut self, version: i64) -> Self {
        self.if_match = Some(IfMatch::Version(version));
        self
    }
}

/// Options of the bulk routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkOptions {
    /// `?dryRun=true`: answer as if written, write nothing.
    pub dry_run: bool,
    /// The `Idempotency-Key`; a fresh UUID is generated when `None`. Reused on retries.
    pub idempotency_key: Option<String>,
}

/// `POST /admin/skills/{skillId}/agents`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SkillToAgents<'a> {
    pub agents: &'a [AgentAssignment],
}

/// `GET /admin/skills` filters and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillQuery {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /admin/users` filters and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentQuery {
    pub email: Option<String>,
    pub active: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /audit` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// RFC 3339; entries at or after it.
    pub since: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A page of a plain list (history, holders).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /agents/skills/export`: its format and which assignments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportQuery {
    /// NDJSON instead of CSV.
    pub ndjson: bool,
    /// `Some(true)`: active agents' assignments of active skills only; `Some(false)`: the
    /// others; `None`: all.
    pub active: Option<bool>,
}

impl ExportQuery {
    pub(crate) fn to_query(self) -> Query {
        let format = if self.ndjson { "ndjson" } else { "csv" };
        let mut q = vec![("format", format.to_string())];
        push(&mut q, "active", &self.active);
        q
    }
}

pub(crate) type Query = Vec<(&'static str, String)>;

pub(crate) fn push<T: ToString>(q: &mut Query, k: &'static str, v: &Option<T>) {
    if let Some(v) = v {
        q.push((k, v.to_string()));
    }
}

impl SkillQuery {
    pub(crate) fn to_query(&self) -> Query {
        let mut q = Vec::new();
        push(&mut q, "name", &self.name);
        push(&mut q, "active", &self.active);
        push(&mut q, "limit", &self.limit);
        push(&mut q, "cursor", &self.cursor);
        q
    }
}

impl AgentQuery {
    pub(crate) fn to_query(&self) -> Query {
        let mut q = Vec::new();
        push(&mut q, "email", &self.email);
        push(&mut q, "active", &self.active);
        push(&mut q, "limit", &self.limit);
        push(&mut q, "cursor", &self.cursor);
        q
    }
}

impl AuditQuery {
    pub(crate) fn to_query(&self) -> Query {
        let mut q = Vec::new();
        push(&mut q, "since", &self.since);
        push(&mut q, "limit", &self.limit);
        push(&mut q, "cursor", &self.cursor);
        q
    }
}

impl PageQuery {
    pub(crate) fn to_query(&self) -> Query {
        let mut q = Vec::new();
        push(&mut q, "limit", &self.limit);
        push(&mut q, "cursor", &self.cursor);
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_serialise_as_the_api_names_them() {
        let a = Uuid::nil();
        let item = BulkItem::new(a, vec![assignment(a, "Advanced")])
            .remove(vec![a])
            .if_match(7);
        assert_eq!(
            serde_json::to_value(BulkRequest::merge(vec![item])).unwrap(),
            json!({"mode": "merge", "atomic": true, "items": [{
                "agentId": a, "skills": [{"skillId": a, "proficiency": "Advanced"}],
                "remove": [a], "ifMatch": "\"7\""}]})
        );
        let mut any = BulkItem::new(a, vec![]);
        any.if_match = IfMatch::parse(" * ");
        assert_eq!(serde_json::to_value(any).unwrap()["ifMatch"], "*");
        assert_eq!(IfMatch::parse("\"12\""), Some(IfMatch::Version(12)));
        for bad in ["12", "\"\"", "\"1a\"", "W/\"1\"", ""] {
            assert_eq!(IfMatch::parse(bad), None, "{bad}");
        }
        let p = AgentPatch {
            external_id: Some(None),
            active: Some(false),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(p).unwrap(),
            json!({"externalId": null, "active": false})
        );
        let s = SettingsPatch {
            rate_limit: Some(RateLimitPatch {
                requests_per_minute: Some(60),
                burst: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            json!({"rateLimit": {"requestsPerMinute": 60}})
        );
        let m = SkillSetMerge {
            skills: &[],
            remove: &[a],
        };
        assert_eq!(
            serde_json::to_value(m).unwrap(),
            json!({"skills": [], "remove": [a]})
        );
    }
}

/// One agent of `POST /admin/users/bulk`: created when no agent has its email (any case),
/// else updated. Fields left `None` keep their value; `external_id: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentUpsert {
    pub email: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// `POST /admin/users/bulk` (the dry run goes in the query, from [`BulkOptions`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AgentsBulk<'a> {
    pub atomic: bool,
    pub agents: &'a [AgentUpsert],
}
