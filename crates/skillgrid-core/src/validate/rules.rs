//! The rules of the big bodies (bulk, skill to agents, a skill set's PUT and PATCH), apart
//! from either way of checking a body against them.
//!
//! Both the all-errors walk ([`super::skillset`], [`super::bulk`]) and the typed fast path
//! ([`super::fast`]) judge a body by what is here: which fields each object may have, the
//! organization's scale and catalog, the request-wide limits, how a level name and an ETag
//! are read. Keeping them in one place is what lets the two paths agree; this module imports
//! neither of them. The command line's local checks of an assignment file use them too.

use super::fields::truncate;
use super::Schema;
use crate::model::{
    AgentId, AgentWrite, Assignment, BulkMode, CatalogSkill, Precondition, SkillId,
};
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry, Locator, ProficiencyScale, WarningPolicy};
use std::collections::HashMap;

/// What an assignment is checked against: the organization's scale, catalog and limits.
pub struct SkillRules<'a> {
    pub scale: &'a ProficiencyScale,
    pub catalog: &'a HashMap<SkillId, CatalogSkill>,
    pub max_skills_per_agent: u64,
    /// Under `reject`, a set that would warn is refused here, with the warnings as errors.
    pub warnings: WarningPolicy,
}

impl<'a> SkillRules<'a> {
    /// The rules of an organization with these settings and this catalog.
    pub fn new(
        settings: &'a skillgrid_api::OrgSettings,
        catalog: &'a HashMap<SkillId, CatalogSkill>,
    ) -> Self {
        SkillRules {
            scale: &settings.proficiency_scale,
            catalog,
            max_skills_per_agent: settings.limits.max_skills_per_agent,
            warnings: settings.warnings,
        }
    }
}

/// Request-wide limits from the organization's settings.
pub struct BulkLimits {
    pub max_items: u64,
    pub max_assignments: u64,
}

/// A bulk request whose request-wide shape is valid; items may still be bad one by one.
#[derive(Debug, PartialEq)]
pub struct BulkRequest {
    pub mode: BulkMode,
    pub atomic: bool,
    /// In body order: a valid item, or every problem of that item.
    pub items: Vec<Result<AgentWrite, Vec<ErrorEntry>>>,
    /// The agent id of each item where one could be read (for per-item results).
    pub agent_ids: Vec<Option<AgentId>>,
}

/// One item as validated: the item or its problems, and its agent id where one was readable.
pub type ItemResult = (Result<AgentWrite, Vec<ErrorEntry>>, Option<AgentId>);

/// A skill set's body as validated.
#[derive(Debug, PartialEq)]
pub struct SkillSetBody {
    pub upsert: Vec<Assignment>,
    pub remove: Vec<SkillId>,
    /// `"/skills"` when the body is an object with `skills`, else `""`.
    pub list_pointer: &'static str,
}

/// One skill assignment, in a skill set or a bulk item.
pub const ASSIGNMENT: Schema = Schema {
    what: "a skill assignment",
    fields: &["skillId", "proficiency", "effectiveDate", "expirationDate"],
    required: &["skillId"],
    aliases: &[
        ("id", "skillId"),
        ("skill", "skillId"),
        ("skillUuid", "skillId"),
        ("routingSkillId", "skillId"),
        ("level", "proficiency"),
        ("score", "proficiency"),
        ("rating", "proficiency"),
        ("proficiencyLevel", "proficiency"),
        ("value", "proficiency"),
        ("startDate", "effectiveDate"),
        ("effectiveFrom", "effectiveDate"),
        ("validFrom", "effectiveDate"),
        ("start", "effectiveDate"),
        ("from", "effectiveDate"),
        ("endDate", "expirationDate"),
        ("expiryDate", "expirationDate"),
        ("expiresAt", "expirationDate"),
        ("expires", "expirationDate"),
        ("validTo", "expirationDate"),
        ("validUntil", "expirationDate"),
        ("end", "expirationDate"),
        ("until", "expirationDate"),
    ],
};

/// The body of `PUT …/skills/{skillId}`: an assignment whose skill the path names.
pub const SINGLE: Schema = Schema {
    what: "a single-skill assignment",
    fields: &["proficiency", "effectiveDate", "expirationDate"],
    required: &[],
    aliases: ASSIGNMENT.aliases,
};

/// The object form of `PUT …/skills`.
pub const REPLACE_ROOT: Schema = Schema {
    what: "a skill-set replacement",
    fields: &["skills"],
    required: &["skills"],
    aliases: &[
        ("assignments", "skills"),
        ("items", "skills"),
        ("data", "skills"),
    ],
};

/// The object form of `PATCH …/skills`.
pub const MERGE_ROOT: Schema = Schema {
    what: "a skill-set merge",
    fields: &["skills", "remove"],
    required: &[],
    aliases: &[
        ("assignments", "skills"),
        ("items", "skills"),
        ("data", "skills"),
        ("delete", "remove"),
        ("removeSkills", "remove"),
        ("removeSkillIds", "remove"),
    ],
};

/// The root of `POST /agents/skills/bulk`.
pub const BULK_ROOT: Schema = Schema {
    what: "a bulk request",
    fields: &["mode", "atomic", "items"],
    required: &["items"],
    aliases: &[
        ("agents", "items"),
        ("users", "items"),
        ("data", "items"),
        ("updates", "items"),
        ("transactional", "atomic"),
        ("allOrNothing", "atomic"),
        ("strategy", "mode"),
        ("operation", "mode"),
    ],
};

/// One item of a bulk request.
pub const BULK_ITEM: Schema = Schema {
    what: "a bulk item",
    fields: &["agentId", "skills", "remove", "ifMatch"],
    required: &["agentId"],
    aliases: &[
        ("id", "agentId"),
        ("userId", "agentId"),
        ("agent", "agentId"),
        ("user", "agentId"),
        ("agentUuid", "agentId"),
        ("assignments", "skills"),
        ("delete", "remove"),
        ("removeSkills", "remove"),
        ("etag", "ifMatch"),
        ("version", "ifMatch"),
        ("if-match", "ifMatch"),
    ],
};

/// The root of `POST /admin/skills/{skillId}/agents`.
pub const AGENTS_ROOT: Schema = Schema {
    what: "a skill-to-agents request",
    fields: &["agents"],
    required: &["agents"],
    aliases: &[("items", "agents"), ("users", "agents")],
};

/// One agent of a skill-to-agents request.
pub const AGENT_ENTRY: Schema = Schema {
    what: "an agent entry",
    fields: &["agentId", "proficiency", "effectiveDate", "expirationDate"],
    required: &["agentId"],
    aliases: &[
        ("id", "agentId"),
        ("userId", "agentId"),
        ("level", "proficiency"),
        ("startDate", "effectiveDate"),
        ("endDate", "expirationDate"),
    ],
};

/// True when `value` is a proficiency of the organization's scale (its ends included).
pub fn within_scale(scale: &ProficiencyScale, value: i64) -> bool {
    (scale.min..=scale.max).contains(&value)
}

/// The value of the level named `name` (already trimmed), matched in any case.
pub fn level_value(scale: &ProficiencyScale, name: &str) -> Option<i64> {
    scale
        .levels
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A `mode` of a bulk request, spelled exactly.
pub fn bulk_mode(s: &str) -> Option<BulkMode> {
    match s {
        "merge" => Some(BulkMode::Merge),
        "replace" => Some(BulkMode::Replace),
        _ => None,
    }
}

/// `If-Match`: `"N"` or `*`. A weak tag `W/"N"` is an ETag too, but `If-Match` compares
/// strongly (RFC 9110 section 13.1.1), so it never matches: [`Precondition::Weak`].
pub fn precondition_header(value: Option<&str>) -> Result<Option<Precondition>, ErrorEntry> {
    let Some(raw) = value else { return Ok(None) };
    let t = raw.trim();
    if t == "*" {
        return Ok(Some(Precondition::Any));
    }
    let (weak, tag) = match t.strip_prefix("W/") {
        Some(tag) => (true, tag),
        None => (false, t),
    };
    if let Some(n) = tag
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| *n >= 0)
    {
        return Ok(Some(if weak {
            Precondition::Weak
        } else {
            Precondition::Version(n)
        }));
    }
    let mut e = ErrorEntry::new(
        Locator::Header("If-Match".into()),
        EntryCode::InvalidFormat,
        format!("If-Match `{}` is not an ETag of this API", truncate(t)),
    )
    .expected("a quoted version such as \"7\" (the ETag of GET …/skills), or *")
    .received(Value::String(truncate(t).to_string()));
    if t.parse::<i64>().is_ok() {
        e = e.hint(format!("quote it: If-Match: \"{t}\""));
    }
    Err(e)
}
