//! What the console's catalog and audit screens read: the organization's skills with how many
//! agents hold each, and its audit feed, newest first, filtered in the database. One call per
//! page, whatever the filters.

use crate::{AgentId, ClientId, SkillId, SkillRecord};
use skillgrid_core::timestamp::Timestamp;

/// A skill and how many agents (active or not) hold it.
#[derive(Debug, Clone)]
pub struct SkillHolders {
    pub skill: SkillRecord,
    pub holders: i64,
}

/// Which audit entries the feed shows; `None` does not filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Changes to this agent's skills.
    pub agent: Option<AgentId>,
    /// Changes of this skill.
    pub skill: Option<SkillId>,
    /// Changes made by this API client (a console user's changes are made by theirs).
    pub client: Option<ClientId>,
    /// Changes at or after this time.
    pub from: Option<Timestamp>,
    /// Changes at or before this time.
    pub to: Option<Timestamp>,
}
