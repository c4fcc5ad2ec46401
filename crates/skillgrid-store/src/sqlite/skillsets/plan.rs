//! Deciding a skill-set write on SQLite, a chunk of items at a time: the [`Planner`] reads the
//! chunk's agents and their current sets by integer keys, diffs them in memory
//! (`crate::common`), keeps every item's outcome, and turns the changes into a [`Batch`] of
//! rows for `statements.rs` to write. A small write is one chunk; a pipelined one plans its
//! chunks on a thread of its own (`pipeline.rs`).

use super::handle::sql_err;
use super::OrgKeys;
use crate::audit;
use crate::common::{self, AgentRow, SetColumns, SetRow};
use crate::*;
use skillgrid_core::model::Assignment;

/// Reads and decides the items of one write, a chunk at a time, keeping every outcome.
pub(super) struct Planner<'a> {
    keys: &'a OrgKeys,
    ctx: &'a WriteContext,
    opts: WriteOptions,
    agents: foldhash::HashMap<AgentId, AgentRow>,
    pub(super) outcomes: Vec<ItemOutcome>,
    failed: bool,
    /// Some agent came in more than one item (the API refuses that, but the store does not
    /// rely on it): its later item may "add" a row an earlier one wrote.
    repeated: bool,
    /// For a write whose audit rows leave what they share to one `audit_writes` row (a large
    /// write): the skills its entries name.
    pub(super) listed: Option<std::cell::RefCell<audit::SkillList>>,
}

/// One chunk's changes as rows, owned, for the writer.
pub(super) struct Batch {
    /// `added` holds rows that certainly do not exist yet: they were not in the agents' sets
    /// as read under this write's lock, and no agent came twice.
    pub(super) added_are_new: bool,
    pub(super) deletes: Vec<(i64, i64)>,
    pub(super) added: Vec<NewRow>,
    pub(super) updated: Vec<NewRow>,
    pub(super) audit: Vec<audit::AuditSet>,
    /// For each of `audit`, its agent's version after the write: each audit row has its
    /// `assignment.changed` event, which refers to it.
    pub(super) versions: Vec<i64>,
    pub(super) bumped: Vec<i64>,
    /// The direct layers the write changed (see `crate::layers`): agent, skill, and the
    /// direct assignment's proficiency and dates (none: no direct assignment).
    pub(super) layers: Vec<(i64, i64, Option<NewRow>)>,
}

/// An assignment row as written (its `updated_at` is the write's time).
pub(super) struct NewRow {
    pub(super) agent: i64,
    pub(super) skill: i64,
    pub(super) proficiency: i64,
    pub(super) effective: Option<i64>,
    pub(super) expires: Option<i64>,
}

impl<'a> Planner<'a> {
    /// A planner of a write of about `items` items; `listed` when its audit rows are to name
    /// their write's row (see [`AuditTarget`](super::statements::AuditTarget)).
    pub(super) fn new(
        keys: &'a OrgKeys,
        ctx: &'a WriteContext,
        opts: WriteOptions,
        items: usize,
        listed: bool,
    ) -> Self {
        Planner {
            keys,
            ctx,
            opts,
            agents: foldhash::HashMapExt::with_capacity(items),
            outcomes: Vec::with_capacity(items),
            failed: false,
            repeated: false,
            listed: listed.then(Default::default),
        }
    }

    /// False once nothing is to be kept: a dry run, or an atomic write with a failed item.
    pub(super) fn going_ahead(&self) -> bool {
        !(self.opts.dry_run || (self.opts.atomic && self.failed))
    }

    /// Decides `chunk` (the items after those decided so far); its rows, if it changes any.
    pub(super) fn plan(
        &mut self,
        conn: &rusqlite::Connection,
        chunk: &[AgentWrite],
    ) -> Result<Option<Batch>> {
        let skills = &self.keys.skills;
        let mut pks = Vec::with_capacity(chunk.len());
        let (found, twice) = agents_of(conn, self.keys.pk, chunk)?;
        self.repeated |= twice;
        for (id, a) in found {
            pks.push(a.pk);
            self.repeated |= self.agents.insert(id, a).is_some();
        }
        // Each agent's current set by integer keys (no join, no sort in SQL), then put in name
        // order in memory. Agents of neighbouring keys (the usual case: created together) are
        // read in one range scan, skipping the few rows of agents not asked for.
        pks.sort_unstable();
        let mut rows = Vec::new();
        let mut take = |r: &rusqlite::Row<'_>| -> rusqlite::Result<()> {
            // The columns in the order of `COLUMNS` below.
            let columns: SetColumns = r.try_into()?;
            rows.push(SetRow::from(columns));
            Ok(())
        };
        const COLUMNS: &str =
            "SELECT agent_id, skill_id, proficiency, effective_at, expires_at, updated_at FROM assignments";
        match (pks.first(), pks.last()) {
            (Some(&lo), Some(&hi)) if hi - lo < 2 * pks.len() as i64 => {
                let mut q = conn
                    .prepare_cached(&format!("{COLUMNS} WHERE agent_id BETWEEN ?1 AND ?2"))
                    .map_err(sql_err)?;
                let mut r = q.query([lo, hi]).map_err(sql_err)?;
                while let Some(r) = r.next().map_err(sql_err)? {
                    let agent: i64 = r.get(0).map_err(sql_err)?;
                    if pks.binary_search(&agent).is_ok() {
                        take(r).map_err(sql_err)?;
                    }
                }
            }
            _ => {
                let mut q = conn
                    .prepare_cached(&format!("{COLUMNS} WHERE agent_id = ?1"))
                    .map_err(sql_err)?;
                for pk in &pks {
                    let mut r = q.query([pk]).map_err(sql_err)?;
                    while let Some(r) = r.next().map_err(sql_err)? {
                        take(r).map_err(sql_err)?;
                    }
                }
            }
        }
        let mut sets = common::sets_in_name_order(rows.into_iter().map(Ok), skills)?;
        let layered = if self.keys.layered {
            let layers = layers_of(conn, &pks, skills)?;
            crate::layers::layer_items(chunk, &self.agents, &layers)
        } else {
            None
        };
        let chunk = layered.as_ref().map_or(chunk, |l| &l.items[..]);
        let (outcomes, failed) =
            common::outcomes(chunk, &self.agents, &mut sets, self.opts, self.ctx.now);
        self.failed |= failed;
        let from = self.outcomes.len();
        self.outcomes.extend(outcomes);
        if !self.going_ahead() {
            return Ok(None);
        }
        let mut layer_rows = Vec::new();
        if let Some(l) = &layered {
            for (agent, skill, d) in l.applied(&self.outcomes[from..]) {
                let Some(&skill) = skills.pks.get(&skill) else {
                    continue;
                };
                let d = d.map(|a| NewRow {
                    agent,
                    skill,
                    proficiency: a.proficiency,
                    effective: a.effective.map(|t| t.0),
                    expires: a.expires.map(|t| t.0),
                });
                layer_rows.push((agent, skill, d));
            }
        }
        let writes = common::writes(chunk, &self.outcomes[from..]);
        if writes.is_empty() {
            // A direct write under what groups give may change the direct layer only.
            return Ok((!layer_rows.is_empty()).then(|| Batch {
                added_are_new: true,
                deletes: Vec::new(),
                added: Vec::new(),
                updated: Vec::new(),
                audit: Vec::new(),
                versions: Vec::new(),
                bumped: Vec::new(),
                layers: layer_rows,
            }));
        }
        let c = common::changes(&writes, &self.agents, &skills.pks)?;
        let rows = |v: Vec<(i64, i64, &Assignment)>| {
            let mut rows: Vec<NewRow> = v
                .into_iter()
                .map(|(agent, skill, a)| NewRow {
                    agent,
                    skill,
                    proficiency: a.proficiency,
                    effective: a.effective.map(|t| t.0),
                    expires: a.expires.map(|t| t.0),
                })
                .collect();
            // In key order, each row lands next to the one before it; a stable sort keeps
            // the rows of an agent named twice in their items' order, so the later one wins.
            rows.sort_by_key(|r| (r.agent, r.skill));
            rows
        };
        let audit: Vec<audit::AuditSet> = match &self.listed {
            Some(list) => audit::audit_sets(&writes, &self.agents, self.ctx.now, list).collect(),
            None => audit::audit_sets(&writes, &self.agents, self.ctx.now, audit::Inline).collect(),
        };
        Ok(Some(Batch {
            added_are_new: !self.repeated,
            deletes: c.deletes,
            added: rows(c.added),
            updated: rows(c.updated),
            versions: crate::events::assignment_versions(&audit, &self.agents),
            audit,
            bumped: c.bumped,
            layers: layer_rows,
        }))
    }
}

/// The layers of the agents with the keys `pks` (see `crate::layers`).
fn layers_of(
    conn: &rusqlite::Connection,
    pks: &[i64],
    skills: &crate::common::SkillKeys,
) -> Result<foldhash::HashMap<i64, Vec<crate::layers::Layer>>> {
    let mut q = conn
        .prepare_cached(
            "SELECT skill_id, given, direct, effective_at, expires_at FROM skill_layers
             WHERE agent_id = ?1",
        )
        .map_err(sql_err)?;
    let mut out: foldhash::HashMap<i64, Vec<crate::layers::Layer>> = Default::default();
    for &pk in pks {
        let mut rows = q.query([pk]).map_err(sql_err)?;
        while let Some(r) = rows.next().map_err(sql_err)? {
            let (skill, given, p, e, x): (i64, i64, Option<i64>, Option<i64>, Option<i64>) =
                r.try_into().map_err(sql_err)?;
            let Some((id, _)) = skills.by_pk.get(&skill) else {
                continue;
            };
            out.entry(pk).or_default().push(crate::layers::Layer {
                skill: *id,
                given,
                direct: crate::layers::direct(*id, p, e, x),
            });
        }
    }
    Ok(out)
}

/// The agents of organization `org` that `items` name, by id (those that do not exist, or
/// belong to another organization, are left out), and whether some agent is named twice.
/// Ids are time-ordered, so agents created
/// together are neighbours in the ids' index: a chunk of them is read in one scan of it,
/// which spares a descent of the index per agent. When the scan would pass over many agents
/// not asked for, the rest are looked up one by one.
fn agents_of(
    conn: &rusqlite::Connection,
    org: i64,
    items: &[AgentWrite],
) -> Result<(Vec<(AgentId, AgentRow)>, bool)> {
    use rusqlite::OptionalExtension;
    let mut ids: Vec<[u8; 16]> = items
        .iter()
        .map(|it| *it.agent_id.get().as_bytes())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let twice = ids.len() < items.len();
    let mut found = Vec::with_capacity(ids.len());
    let mut looked = vec![false; ids.len()];
    let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<AgentRow> {
        Ok(AgentRow {
            pk: r.get(0)?,
            version: r.get(1)?,
            active: r.get(2)?,
        })
    };
    if let (Some(lo), Some(hi)) = (ids.first(), ids.last()) {
        // At most this many rows scanned: beyond, lookups one by one are cheaper.
        let limit = 2 * ids.len() + 8;
        let mut q = conn
            .prepare_cached(
                "SELECT a.id, coalesce(v.version, 0), a.active, a.org_id, a.uuid
                 FROM agents a LEFT JOIN agent_versions v ON v.agent_id = a.id
                 WHERE a.uuid BETWEEN ?1 AND ?2 ORDER BY a.uuid LIMIT ?3",
            )
            .map_err(sql_err)?;
        let mut rows = q
            .query(rusqlite::params![&lo[..], &hi[..], limit as i64])
            .map_err(sql_err)?;
        let mut scanned = 0;
        while let Some(r) = rows.next().map_err(sql_err)? {
            scanned += 1;
            let uuid: [u8; 16] = r.get(4).map_err(sql_err)?;
            let Ok(i) = ids.binary_search(&uuid) else {
                continue;
            };
            looked[i] = true;
            if r.get::<_, i64>(3).map_err(sql_err)? == org {
                found.push((Uuid::from_bytes(uuid).into(), row(r).map_err(sql_err)?));
            }
        }
        if scanned < limit {
            // The whole range was read: what it did not hold does not exist.
            looked.iter_mut().for_each(|l| *l = true);
        }
    }
    if looked.iter().any(|l| !l) {
        let mut q = conn
            .prepare_cached(
                "SELECT a.id, coalesce(v.version, 0), a.active
                 FROM agents a LEFT JOIN agent_versions v ON v.agent_id = a.id
                 WHERE a.uuid = ?1 AND a.org_id = ?2",
            )
            .map_err(sql_err)?;
        for (id, _) in ids.iter().zip(&looked).filter(|(_, l)| !**l) {
            let a = q
                .query_row(rusqlite::params![&id[..], org], row)
                .optional()
                .map_err(sql_err)?;
            if let Some(a) = a {
                found.push((Uuid::from_bytes(*id).into(), a));
            }
        }
    }
    Ok((found, twice))
}
