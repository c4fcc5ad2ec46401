//! Backend-neutral pieces of the stores: pure helpers both the SQLite and the PostgreSQL
//! implementation use, so the two decide everything (outcomes, versions, audit rows) the
//! same way and differ only in SQL.

use crate::*;
use foldhash::{HashMap as Map, HashMapExt};
use skillgrid_core::diff;
use skillgrid_core::model::Assignment;
use std::collections::{HashMap, HashSet};

/// Idempotency keys are kept this long.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;
/// A claim older than this whose request never finished (a crashed process) may be taken over.
pub const IDEMPOTENCY_STALE_MS: i64 = 10 * 60 * 1000;

/// Bytes the write probe (`Store::probe_write`) takes and gives back: a few pages, as a
/// small real write takes.
pub(crate) const WRITE_PROBE_BYTES: i64 = 16_384;

/// The key column of a case-insensitively unique value.
pub(crate) fn key(s: &str) -> String {
    s.to_lowercase()
}

/// The unique constraint a failed write ran into, if it failed on one. PostgreSQL names the
/// constraint; SQLite names its columns in the message (`UNIQUE constraint failed:
/// agents.org_id, agents.email_key`), so both are read here.
pub(crate) fn unique_violation(e: &sqlx::Error) -> Option<Unique> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    if !db.is_unique_violation() {
        return None;
    }
    let name = db
        .constraint()
        .unwrap_or_else(|| sqlite_constraint(db.message()));
    Some(match name {
        "orgs_name" => Unique::OrgName,
        "skills_org_name" => Unique::SkillName,
        "agents_org_email" => Unique::AgentEmail,
        "users_org_email" => Unique::UserEmail,
        "scim_groups_org_name" => Unique::GroupName,
        "scim_users_org_name" => Unique::UserName,
        _ => Unique::Key,
    })
}

/// The name PostgreSQL's schema gives the unique constraint that SQLite's message describes
/// by its columns (SQLite's schema has the same constraints).
fn sqlite_constraint(message: &str) -> &'static str {
    let columns = message
        .strip_prefix("UNIQUE constraint failed: ")
        .unwrap_or(message);
    match columns {
        "orgs.name_key" => "orgs_name",
        "skills.org_id, skills.name_key" => "skills_org_name",
        "agents.org_id, agents.email_key" => "agents_org_email",
        "users.org_id, users.email_key" => "users_org_email",
        "scim_groups.org_id, scim_groups.display_key" => "scim_groups_org_name",
        "scim_users.org_id, scim_users.user_name_key" => "scim_users_org_name",
        _ => "",
    }
}

/// A failed write as the store reports it: a unique value taken is a [`Conflict`].
pub(crate) fn map_write_err(e: sqlx::Error) -> StoreError {
    match unique_violation(&e) {
        Some(u) => StoreError::Conflict(Conflict::Taken(u)),
        None => e.into(),
    }
}

/// The version of `migrator`'s first migration: a database whose migrations table lists it as
/// applied holds skillgrid's tables (later ones are applied on opening).
pub(crate) fn first_migration(migrator: &sqlx::migrate::Migrator) -> i64 {
    migrator.iter().map(|m| m.version).min().unwrap_or(0)
}

/// The refusal of a new scale, from the organization's counts of assignments below its min
/// and above its max and its lowest and highest stored proficiency (none without
/// assignments); `None` when every stored proficiency fits.
pub(crate) fn stranded(
    (below_min, above_max, lowest, highest): (i64, i64, Option<i64>, Option<i64>),
) -> Option<Stranded> {
    let (Some(lowest), Some(highest)) = (lowest, highest) else {
        return None;
    };
    (below_min + above_max > 0).then_some(Stranded {
        below_min,
        above_max,
        lowest,
        highest,
    })
}

/// A catalog from its rows: `(uuid, name, active)`.
pub(crate) fn catalog(rows: Vec<(Uuid, String, bool)>) -> Vec<CatalogSkill> {
    rows.into_iter()
        .map(|(id, name, active)| CatalogSkill {
            id: SkillId::new(id),
            name,
            active,
        })
        .collect()
}

/// Rows fetched with `LIMIT limit + 1`, each with its cursor position, as a page.
pub(crate) fn paged<T>(mut rows: Vec<(i64, T)>, limit: u32) -> Paged<T> {
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|(pk, _)| *pk)
    } else {
        None
    };
    Paged {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}

/// What a list of skills or agents is filtered on.
pub(crate) trait Filter {
    /// What it lists.
    type Record;
    /// The key column, the case-insensitive key to find there and whether active, the last
    /// two when given.
    fn filter(&self) -> (&'static str, Option<String>, Option<bool>);
}

impl Filter for SkillFilter {
    type Record = SkillRecord;
    fn filter(&self) -> (&'static str, Option<String>, Option<bool>) {
        ("name_key", self.name.as_deref().map(key), self.active)
    }
}

impl Filter for AgentFilter {
    type Record = AgentRecord;
    fn filter(&self) -> (&'static str, Option<String>, Option<bool>) {
        ("email_key", self.email.as_deref().map(key), self.active)
    }
}

/// An agent as a skill-set write sees it.
pub(crate) struct AgentRow {
    pub pk: i64,
    pub version: i64,
    pub active: bool,
}

/// An organization's skills as a skill-set write sees them: integer keys by id, and by integer
/// key the id and the skill's place in name order (`name_key`, then id).
pub(crate) struct SkillKeys {
    pub pks: Map<SkillId, i64>,
    pub by_pk: Map<i64, (SkillId, u32)>,
}

impl SkillKeys {
    /// From `(id, key)` rows already in name order (`ORDER BY name_key, uuid`).
    pub(crate) fn from_ordered(rows: Vec<(Uuid, i64)>) -> Self {
        let mut k = SkillKeys {
            pks: Map::with_capacity(rows.len()),
            by_pk: Map::with_capacity(rows.len()),
        };
        for (rank, (id, pk)) in rows.into_iter().enumerate() {
            let id = SkillId::new(id);
            k.pks.insert(id, pk);
            k.by_pk.insert(pk, (id, rank as u32));
        }
        k
    }
}

/// One stored assignment as read without joining the skills: the skill by integer key.
#[derive(sqlx::FromRow)]
pub(crate) struct SetRow {
    #[sqlx(rename = "agent_id")]
    pub agent_pk: i64,
    #[sqlx(rename = "skill_id")]
    pub skill_pk: i64,
    pub proficiency: i64,
    #[sqlx(rename = "effective_at")]
    pub effective: Option<i64>,
    #[sqlx(rename = "expires_at")]
    pub expires: Option<i64>,
    pub updated_at: i64,
}

/// A [`SetRow`]'s columns in the order of its fields (and of the backends' selects).
pub(crate) type SetColumns = (i64, i64, i64, Option<i64>, Option<i64>, i64);

impl From<SetColumns> for SetRow {
    fn from(
        (agent_pk, skill_pk, proficiency, effective, expires, updated_at): SetColumns,
    ) -> SetRow {
        SetRow {
            agent_pk,
            skill_pk,
            proficiency,
            effective,
            expires,
            updated_at,
        }
    }
}

/// A stored row with its skill's id and place in name order; a skill not in `keys` (one the
/// caller's read of the catalog did not see) is a conflict.
pub(crate) fn ranked(keys: &SkillKeys, r: SetRow) -> Result<(u32, StoredAssignment)> {
    let (skill_id, rank) = *keys
        .by_pk
        .get(&r.skill_pk)
        .ok_or(StoreError::Conflict(Conflict::SkillGone))?;
    Ok((
        rank,
        StoredAssignment {
            skill_id,
            proficiency: r.proficiency,
            effective: r.effective.map(Timestamp),
            expires: r.expires.map(Timestamp),
            updated_at: Timestamp(r.updated_at),
        },
    ))
}

/// One agent's [`ranked`] rows ordered by skill name (case-insensitively), then id, as a read
/// joined on the skills and sorted by `name_key, uuid` lists them.
pub(crate) fn in_name_order(mut set: Vec<(u32, StoredAssignment)>) -> Vec<StoredAssignment> {
    set.sort_unstable_by_key(|(rank, _)| *rank);
    set.into_iter().map(|(_, a)| a).collect()
}

/// Gathers rows of many agents into each agent's set, [`in_name_order`]. Rows may come in
/// any order; an agent's rows that come one after another (a read ordered by agent) are
/// gathered without a map lookup each.
pub(crate) fn sets_in_name_order(
    rows: impl IntoIterator<Item = Result<SetRow>>,
    keys: &SkillKeys,
) -> Result<Map<i64, Vec<StoredAssignment>>> {
    let mut ranked_sets: Map<i64, Vec<(u32, StoredAssignment)>> = Map::new();
    let mut run: Option<(i64, Vec<(u32, StoredAssignment)>)> = None;
    for r in rows {
        let r = r?;
        let agent = r.agent_pk;
        let row = ranked(keys, r)?;
        match &mut run {
            Some((a, set)) if *a == agent => set.push(row),
            _ => {
                if let Some((a, set)) = run.replace((agent, vec![row])) {
                    ranked_sets.entry(a).or_default().extend(set);
                }
            }
        }
    }
    if let Some((a, set)) = run {
        ranked_sets.entry(a).or_default().extend(set);
    }
    Ok(ranked_sets
        .into_iter()
        .map(|(agent, set)| (agent, in_name_order(set)))
        .collect())
}

pub(crate) fn stored(a: &Assignment, now: Timestamp) -> StoredAssignment {
    StoredAssignment {
        skill_id: a.skill_id,
        proficiency: a.proficiency,
        effective: a.effective,
        expires: a.expires,
        updated_at: now,
    }
}

/// The agent's set once `plan` is applied.
pub(crate) fn after(
    current: Vec<StoredAssignment>,
    plan: &Plan,
    now: Timestamp,
) -> Vec<StoredAssignment> {
    if plan.is_empty() {
        return current;
    }
    let removed: HashSet<SkillId> = plan.removed.iter().map(|a| a.skill_id).collect();
    let updated: HashMap<SkillId, &Assignment> =
        plan.updated.iter().map(|(_, a)| (a.skill_id, a)).collect();
    let mut out: Vec<StoredAssignment> = current
        .into_iter()
        .filter(|a| !removed.contains(&a.skill_id))
        .map(|a| match updated.get(&a.skill_id) {
            Some(n) => stored(n, now),
            None => a,
        })
        .collect();
    out.extend(plan.added.iter().map(|a| stored(a, now)));
    out
}

/// Decides every item of a write from the agents and their current sets (consumed); the flag
/// is true when some item failed.
pub(crate) fn outcomes(
    items: &[AgentWrite],
    agents: &Map<AgentId, AgentRow>,
    sets: &mut Map<i64, Vec<StoredAssignment>>,
    opts: WriteOptions,
    now: Timestamp,
) -> (Vec<ItemOutcome>, bool) {
    let mut outcomes = Vec::with_capacity(items.len());
    let mut failed = false;
    for it in items {
        let outcome = match agents.get(&it.agent_id) {
            None => ItemOutcome::NotFound,
            Some(a) if !a.active && !opts.inactive_ok => ItemOutcome::Inactive,
            Some(a) if it.if_match.is_some_and(|p| !p.matches(a.version)) => {
                ItemOutcome::PreconditionFailed { current: a.version }
            }
            Some(a) => {
                let current = sets.remove(&a.pk).unwrap_or_default();
                let plan = diff::plan(&current, &it.write);
                if plan.resulting_len as u64 > opts.max_skills_per_agent
                    && plan.resulting_len > current.len()
                {
                    ItemOutcome::TooManySkills {
                        resulting: plan.resulting_len,
                    }
                } else {
                    let skills = if opts.return_sets {
                        after(current, &plan, now)
                    } else {
                        Vec::new()
                    };
                    // A dry run leaves the version alone: its answer
                    // carries the current ETag, which a client can send as If-Match
                    // with the real write to apply exactly the diff it reviewed.
                    let version = if plan.is_empty() || opts.dry_run {
                        a.version
                    } else {
                        a.version + 1
                    };
                    ItemOutcome::Applied {
                        version,
                        plan,
                        skills,
                    }
                }
            }
        };
        failed |= !matches!(outcome, ItemOutcome::Applied { .. });
        outcomes.push(outcome);
    }
    (outcomes, failed)
}

/// The rows a write changes, but for the audit trail (see `crate::audit`).
pub(crate) struct Changes<'a> {
    /// Rows to insert: the agent held no such skill.
    pub added: Vec<(i64, i64, &'a Assignment)>,
    /// Rows to update in place.
    pub updated: Vec<(i64, i64, &'a Assignment)>,
    pub deletes: Vec<(i64, i64)>,
    /// Agents whose version goes up by one.
    pub bumped: Vec<i64>,
}

/// The items to write: applied ones that change something.
pub(crate) fn writes<'a>(
    items: &'a [AgentWrite],
    outcomes: &'a [ItemOutcome],
) -> Vec<(&'a AgentWrite, &'a Plan)> {
    items
        .iter()
        .zip(outcomes)
        .filter_map(|(it, o)| match o {
            ItemOutcome::Applied { plan, .. } if !plan.is_empty() => Some((it, plan)),
            _ => None,
        })
        .collect()
}

/// Turns the plans of `writes` into rows; a skill missing from `skills` is a conflict.
pub(crate) fn changes<'a>(
    writes: &[(&AgentWrite, &'a Plan)],
    agents: &Map<AgentId, AgentRow>,
    skills: &Map<SkillId, i64>,
) -> Result<Changes<'a>> {
    let mut c = Changes {
        added: Vec::new(),
        updated: Vec::new(),
        deletes: Vec::new(),
        bumped: Vec::with_capacity(writes.len()),
    };
    for (it, plan) in writes {
        let agent_pk = agents[&it.agent_id].pk;
        c.bumped.push(agent_pk);
        for a in &plan.added {
            c.added.push((agent_pk, skill_pk(skills, &a.skill_id)?, a));
        }
        for (_, a) in &plan.updated {
            c.updated
                .push((agent_pk, skill_pk(skills, &a.skill_id)?, a));
        }
        for old in &plan.removed {
            c.deletes.push((agent_pk, skill_pk(skills, &old.skill_id)?));
        }
    }
    Ok(c)
}

fn skill_pk(skills: &Map<SkillId, i64>, id: &SkillId) -> Result<i64> {
    skills
        .get(id)
        .copied()
        .ok_or(StoreError::Conflict(Conflict::SkillGone))
}

/// Sets `field` to `new`, when given; true when that changed it.
pub(crate) fn set<T: PartialEq + Clone>(field: &mut T, new: &Option<T>) -> bool {
    match new {
        Some(v) if v != field => {
            *field = v.clone();
            true
        }
        _ => false,
    }
}

/// A record a PATCH (`P`) changes.
pub(crate) trait Patched<P> {
    /// Applies `p`; true when something changed (then `updated_at` is `now`), so a no-op
    /// PATCH writes nothing.
    fn patch(&mut self, p: &P, now: Timestamp) -> bool;
}

impl Patched<SkillPatch> for SkillRecord {
    fn patch(&mut self, p: &SkillPatch, now: Timestamp) -> bool {
        let changed = set(&mut self.name, &p.name)
            | set(&mut self.description, &p.description)
            | set(&mut self.active, &p.active);
        touch(changed, &mut self.updated_at, now)
    }
}

impl Patched<AgentPatch> for AgentRecord {
    fn patch(&mut self, p: &AgentPatch, now: Timestamp) -> bool {
        let changed = set(&mut self.email, &p.email)
            | set(&mut self.name, &p.name)
            | set(&mut self.external_id, &p.external_id)
            | set(&mut self.active, &p.active);
        touch(changed, &mut self.updated_at, now)
    }
}

/// `changed`, after setting `updated_at` to `now` if so.
fn touch(changed: bool, updated_at: &mut Timestamp, now: Timestamp) -> bool {
    if changed {
        *updated_at = now;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_names_the_columns_of_the_constraint_postgresql_names() {
        let failed =
            |columns: &str| sqlite_constraint(&format!("UNIQUE constraint failed: {columns}"));
        assert_eq!(failed("orgs.name_key"), "orgs_name");
        assert_eq!(failed("skills.org_id, skills.name_key"), "skills_org_name");
        assert_eq!(
            failed("agents.org_id, agents.email_key"),
            "agents_org_email"
        );
        // Any other key (a row's id) is no request field's.
        assert_eq!(failed("skills.uuid"), "");
    }

    #[test]
    fn rows_come_out_in_name_order_and_an_unknown_skill_is_a_conflict() {
        // Skill keys 7, 3, 5 in name order; agent 1 holds them in key order.
        let ids = [
            Uuid::from_u128(70),
            Uuid::from_u128(30),
            Uuid::from_u128(50),
        ];
        let keys = SkillKeys::from_ordered(vec![(ids[0], 7), (ids[1], 3), (ids[2], 5)]);
        let row = |agent_pk, skill_pk, proficiency| SetRow {
            agent_pk,
            skill_pk,
            proficiency,
            effective: None,
            expires: Some(-5),
            updated_at: 9,
        };
        // Agent 1's rows are split by agent 2's: both runs end up in one set.
        let rows = [row(1, 3, 2), row(1, 5, 4), row(2, 5, 3), row(1, 7, 1)];
        let sets = sets_in_name_order(rows.into_iter().map(Ok), &keys).unwrap();
        let one: Vec<(Uuid, i64)> = sets[&1]
            .iter()
            .map(|a| (a.skill_id.get(), a.proficiency))
            .collect();
        assert_eq!(one, vec![(ids[0], 1), (ids[1], 2), (ids[2], 4)]);
        assert_eq!(sets[&2].len(), 1);
        assert_eq!(sets[&2][0].expires, Some(Timestamp(-5)));
        let unknown = sets_in_name_order([Ok(row(1, 9, 1))], &keys);
        assert!(matches!(
            unknown,
            Err(StoreError::Conflict(Conflict::SkillGone))
        ));
    }
}
