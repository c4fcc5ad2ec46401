//! Records from the store, turned into the wire types of `skillgrid-api`.

use base64::Engine;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use skillgrid_api::{
    Agent, AssignmentOut, AuditEntry, Changes, EntryCode, ErrorEntry, Locator, ProficiencyScale,
    Skill, UpdatedAssignment,
};
use skillgrid_core::diff::Plan;
use skillgrid_core::model::{Assignment, CatalogSkill, StoredAssignment};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{AgentRecord, AuditRecord, SkillRecord};
use std::collections::HashMap;
use uuid::Uuid;

pub fn skill(s: SkillRecord) -> Skill {
    Skill {
        id: s.id,
        name: s.name,
        description: s.description,
        active: s.active,
        created_at: s.created_at.to_rfc3339(),
        updated_at: s.updated_at.to_rfc3339(),
    }
}

pub fn agent(a: AgentRecord) -> Agent {
    Agent {
        id: a.id,
        email: a.email,
        name: a.name,
        external_id: a.external_id,
        active: a.active,
        created_at: a.created_at.to_rfc3339(),
        updated_at: a.updated_at.to_rfc3339(),
    }
}

/// Renders assignments: skill names from the catalog, `level` from the scale, `active` at `now`.
pub struct Renderer<'a> {
    pub scale: &'a ProficiencyScale,
    pub names: HashMap<Uuid, &'a str>,
    pub now: Timestamp,
}

impl<'a> Renderer<'a> {
    pub fn new(scale: &'a ProficiencyScale, catalog: &'a [CatalogSkill]) -> Self {
        Renderer {
            scale,
            names: catalog.iter().map(|c| (c.id, c.name.as_str())).collect(),
            now: Timestamp::now(),
        }
    }

    pub fn assignment(&self, a: &StoredAssignment) -> AssignmentOut {
        AssignmentOut {
            skill_id: a.skill_id,
            skill_name: self
                .names
                .get(&a.skill_id)
                .copied()
                .unwrap_or("(deleted skill)")
                .to_string(),
            proficiency: a.proficiency,
            level: self.scale.level_of(a.proficiency).map(String::from),
            effective_date: a.effective.map(Timestamp::to_rfc3339),
            expiration_date: a.expires.map(Timestamp::to_rfc3339),
            active: a.effective.is_none_or(|t| t <= self.now)
                && a.expires.is_none_or(|t| self.now < t),
            updated_at: a.updated_at.to_rfc3339(),
        }
    }

    fn new_assignment(&self, a: &Assignment, at: Timestamp) -> AssignmentOut {
        self.assignment(&StoredAssignment {
            skill_id: a.skill_id,
            proficiency: a.proficiency,
            effective: a.effective,
            expires: a.expires,
            updated_at: at,
        })
    }

    /// A set, ordered by skill name (case-insensitively), then id.
    pub fn set(&self, skills: &[StoredAssignment]) -> Vec<AssignmentOut> {
        let mut out: Vec<AssignmentOut> = skills.iter().map(|a| self.assignment(a)).collect();
        out.sort_by(|a, b| {
            a.skill_name
                .to_lowercase()
                .cmp(&b.skill_name.to_lowercase())
                .then(a.skill_id.cmp(&b.skill_id))
        });
        out
    }

    pub fn changes(&self, plan: &Plan, at: Timestamp) -> Changes {
        Changes {
            added: plan
                .added
                .iter()
                .map(|a| self.new_assignment(a, at))
                .collect(),
            updated: plan
                .updated
                .iter()
                .map(|(old, new)| UpdatedAssignment {
                    skill_id: new.skill_id,
                    before: self.assignment(old),
                    after: self.new_assignment(new, at),
                })
                .collect(),
            removed: plan.removed.iter().map(|a| self.assignment(a)).collect(),
        }
    }

    /// The same JSON as [`Renderer::changes`], rendered while it is serialized: each
    /// assignment exists only while it is written out, so a 100,000-assignment bulk answer is
    /// not held twice (as owned strings and as bytes).
    pub fn changes_view<'p>(&'p self, plan: &'p Plan, at: Timestamp) -> ChangesView<'p> {
        ChangesView { r: self, plan, at }
    }

    pub fn audit(&self, r: AuditRecord) -> AuditEntry {
        AuditEntry {
            id: r.id,
            at: r.at.to_rfc3339(),
            request_id: r.request_id,
            client_id: r.client_id,
            agent_id: r.agent_id,
            skill_id: r.skill_id,
            action: r.action,
            before: r.before.as_ref().map(|a| self.assignment(a)),
            after: r.after.as_ref().map(|a| self.assignment(a)),
        }
    }
}

pub struct ChangesView<'p> {
    r: &'p Renderer<'p>,
    plan: &'p Plan,
    at: Timestamp,
}

/// A sequence serialized from an iterator made on demand.
struct Lazy<F>(F);

impl<F, I> Serialize for Lazy<F>
where
    F: Fn() -> I,
    I: ExactSizeIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let it = (self.0)();
        let mut seq = s.serialize_seq(Some(it.len()))?;
        for x in it {
            seq.serialize_element(&x)?;
        }
        seq.end()
    }
}

impl Serialize for ChangesView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (r, plan, at) = (self.r, self.plan, self.at);
        let mut m = s.serialize_struct("Changes", 3)?;
        m.serialize_field(
            "added",
            &Lazy(|| plan.added.iter().map(|a| r.new_assignment(a, at))),
        )?;
        m.serialize_field(
            "updated",
            &Lazy(|| {
                plan.updated.iter().map(|(old, new)| UpdatedAssignment {
                    skill_id: new.skill_id,
                    before: r.assignment(old),
                    after: r.new_assignment(new, at),
                })
            }),
        )?;
        m.serialize_field(
            "removed",
            &Lazy(|| plan.removed.iter().map(|a| r.assignment(a))),
        )?;
        m.end()
    }
}

/// Cursors are opaque to clients: the position of the last row, base64url.
pub fn encode_cursor(pos: Option<i64>) -> Option<String> {
    pos.map(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("p{p}")))
}

pub fn decode_cursor(raw: Option<&str>) -> Result<Option<i64>, ErrorEntry> {
    let Some(raw) = raw else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix('p').and_then(|n| n.parse::<i64>().ok()))
        .map(Some)
        .ok_or_else(|| {
            ErrorEntry::new(
                Locator::Query("cursor".into()),
                EntryCode::InvalidFormat,
                "the cursor is not one this API returned",
            )
            .hint("pass the `nextCursor` of the previous page unchanged, or omit it to start over")
            .received(serde_json::Value::String(raw.chars().take(80).collect()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillgrid_core::timestamp::Timestamp;

    #[test]
    fn the_lazy_changes_serialize_exactly_as_the_built_ones() {
        let scale = skillgrid_api::OrgSettings::default().proficiency_scale;
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let catalog = vec![CatalogSkill {
            id: a,
            name: "Billing".into(),
            active: true,
        }];
        let r = Renderer::new(&scale, &catalog);
        let old = |id, p| StoredAssignment {
            skill_id: id,
            proficiency: p,
            effective: None,
            expires: Some(Timestamp(4_000_000_000_000)),
            updated_at: Timestamp(1_700_000_000_000),
        };
        let new = |id, p| Assignment {
            skill_id: id,
            proficiency: p,
            effective: Some(Timestamp(1_600_000_000_000)),
            expires: None,
        };
        let plan = Plan {
            added: vec![new(a, 80), new(c, 10)],
            updated: vec![(old(b, 20), new(b, 30))],
            removed: vec![old(c, 75)],
            ..Plan::default()
        };
        let at = Timestamp(1_750_000_000_000);
        assert_eq!(
            serde_json::to_value(r.changes_view(&plan, at)).unwrap(),
            serde_json::to_value(r.changes(&plan, at)).unwrap()
        );
    }
}
