//! Writing skill sets on PostgreSQL: set-based, one transaction for any number of agents.
//!
//! The affected agent rows are locked first, in id order, so two processes writing the same
//! agent take turns and each decides on the version and set the other committed. The
//! organization's advisory lock, held shared, keeps its skills from being deleted meanwhile:
//! that and the agent locks are what keep assignments pointing at rows that exist (the table
//! has no foreign keys; see migration 0003). Current sets
//! are loaded with `= ANY($1)`, diffed in memory, and written back with `UNNEST` arrays: a
//! 100,000-assignment bulk write is a handful of statements. Rows the agents held are updated
//! where the read found them (their `ctid`), not looked up by key again as an upsert would.
//! While PostgreSQL runs the statements that need no audit row (a large write's first chunks),
//! another thread makes the audit rows and events and the caller's answer.

use crate::audit;
use crate::common::{self, AgentRow, SetRow, SkillKeys};
use crate::*;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Row};
use std::sync::LazyLock;

use crate::tuning::PG_CHUNK_ROWS as CHUNK_ROWS;

/// The sets of many agents, each ordered by skill name (case-insensitively), then id, as
/// `agent_skills` reads one: read by integer keys (no join, no sort in SQL), then put in name
/// order in memory. The rows come as one row of six arrays, a column each: a bulk re-write
/// reads 100,000 of them, in about two thirds of the time they take as a row each.
///
/// With the sets, where each row is (its `ctid`): the agents are locked, and only a write
/// holding an agent's lock changes its rows, so the rows a write changes are updated there,
/// without looking each up by its key again.
async fn load_sets(
    conn: &mut PgConnection,
    agents: &[i64],
    keys: &SkillKeys,
) -> Result<(foldhash::HashMap<i64, Vec<StoredAssignment>>, Places)> {
    if agents.is_empty() {
        return Ok(Default::default());
    }
    type Columns = (
        Vec<i64>,
        Vec<i64>,
        Vec<i64>,
        Vec<Option<i64>>,
        Vec<Option<i64>>,
        Vec<i64>,
        Vec<Tid>,
    );
    // One aggregate pass: every array lists the rows in the same order.
    let (agent, skill, proficiency, effective, expires, updated, tid): Columns = sqlx::query_as(
        "SELECT coalesce(array_agg(agent_id), '{}'), coalesce(array_agg(skill_id), '{}'),
           coalesce(array_agg(proficiency), '{}'), coalesce(array_agg(effective_at), '{}'),
           coalesce(array_agg(expires_at), '{}'), coalesce(array_agg(updated_at), '{}'),
           coalesce(array_agg(ctid), '{}')
         FROM assignments WHERE agent_id = ANY($1)",
    )
    .bind(agents)
    .fetch_one(&mut *conn)
    .await?;
    let mut places: Places = foldhash::HashMapExt::with_capacity(tid.len());
    places.extend(agent.iter().zip(&skill).map(|(a, s)| (*a, *s)).zip(tid));
    let rows = agent
        .into_iter()
        .zip(skill)
        .zip(proficiency)
        .zip(effective.into_iter().zip(expires))
        .zip(updated)
        .map(
            |((((agent, skill), proficiency), (effective, expires)), updated)| {
                Ok(SetRow::from((
                    agent,
                    skill,
                    proficiency,
                    effective,
                    expires,
                    updated,
                )))
            },
        );
    Ok((common::sets_in_name_order(rows, keys)?, places))
}

/// Where the rows of a write's agents are, by agent and skill key (see [`load_sets`]).
type Places = foldhash::HashMap<(i64, i64), Tid>;

/// A row's place in its table (`ctid`: block and offset), as PostgreSQL sends it in binary.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Tid([u8; 6]);

impl sqlx::Type<sqlx::Postgres> for Tid {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        sqlx::postgres::PgTypeInfo::with_oid(sqlx::postgres::types::Oid(27))
    }
}

impl sqlx::postgres::PgHasArrayType for Tid {
    fn array_type_info() -> sqlx::postgres::PgTypeInfo {
        sqlx::postgres::PgTypeInfo::with_oid(sqlx::postgres::types::Oid(1010))
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Tid {
    fn decode(
        value: sqlx::postgres::PgValueRef<'r>,
    ) -> std::result::Result<Self, sqlx::error::BoxDynError> {
        let bytes: [u8; 6] = value.as_bytes()?.try_into()?;
        Ok(Tid(bytes))
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for Tid {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        buf.extend_from_slice(&self.0);
        Ok(sqlx::encode::IsNull::No)
    }
}

pub(super) async fn write(
    pool: &PgPool,
    org: OrgId,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
    sink: Option<&OutcomeSink<'_>>,
) -> Result<WriteResult> {
    let part = Part {
        ctx,
        items,
        opts,
        sink,
    };
    let mut results = write_parts(pool, org, &[part]).await?;
    results.pop().unwrap_or_else(|| {
        Err(StoreError::Other(anyhow::anyhow!(
            "a write was left unanswered"
        )))
    })
}

/// One write of several that share a transaction.
pub(super) struct Part<'a> {
    pub ctx: &'a WriteContext,
    pub items: &'a [AgentWrite],
    pub opts: WriteOptions,
    /// Given the items and their outcomes while the rows are being written, when the write
    /// goes ahead (see [`OutcomeSink`]).
    pub sink: Option<&'a OutcomeSink<'a>>,
}

/// Several writes to one organization in one transaction, a result for each in their order;
/// no agent may be in two of them. Each stays all-or-nothing on its own: one that fails
/// (atomic), is a dry run or changes nothing writes nothing, the others are written; one
/// naming a skill deleted meanwhile gets its `Conflict` alone. An error of the database fails
/// them all, and nothing is written.
pub(super) async fn write_parts(
    pool: &PgPool,
    org: OrgId,
    parts: &[Part<'_>],
) -> Result<Vec<Result<WriteResult>>> {
    let (mut tx, org_pk) = super::begin_for_org(pool, org).await?;
    let layered = has_layers(&mut tx, org_pk).await?;
    let (results, wrote) = write_parts_in(&mut tx, org_pk, parts, layered).await?;
    if wrote {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(results)
}

/// A skill-set write inside the caller's transaction `tx` (which holds the organization's
/// lock): the agents' own assignments (layered under what SCIM Groups give them) when `own`,
/// else the effective sets a group's change decided, not layered again.
pub(super) async fn write_inside(
    tx: &mut PgConnection,
    _org: OrgId,
    org_pk: i64,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
    own: bool,
) -> Result<WriteResult> {
    let layered = own && has_layers(&mut *tx, org_pk).await?;
    let part = Part {
        ctx,
        items,
        opts,
        sink: None,
    };
    let (mut results, _) = write_parts_in(tx, org_pk, &[part], layered).await?;
    results.pop().unwrap_or_else(|| {
        Err(StoreError::Other(anyhow::anyhow!(
            "a write was left unanswered"
        )))
    })
}

/// Whether some agent of the organization holds a skill a SCIM Group gives: the one probe a
/// write pays for groups (see `crate::layers`).
async fn has_layers(tx: &mut PgConnection, org_pk: i64) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM skill_layers WHERE org_id = $1)")
            .bind(org_pk)
            .fetch_one(tx)
            .await?,
    )
}

/// [`write_parts`] in the transaction `tx`, with the layers of its agents when `layered`;
/// whether it wrote anything.
async fn write_parts_in(
    tx: &mut PgConnection,
    org_pk: i64,
    parts: &[Part<'_>],
    layered: bool,
) -> Result<(Vec<Result<WriteResult>>, bool)> {
    // Locked in id order (no deadlock between two writers of overlapping agents); a dry run
    // only needs the rows not to change under it, so it shares the lock.
    let ids: Vec<Uuid> = parts
        .iter()
        .flat_map(|p| p.items.iter().map(|it| it.agent_id.get()))
        .collect();
    let lock = if parts.iter().all(|p| p.opts.dry_run) {
        "FOR SHARE"
    } else {
        "FOR UPDATE"
    };
    let rows = sqlx::query(&format!(
        "SELECT uuid, id, version, active FROM agents WHERE org_id = $1 AND uuid = ANY($2)
         ORDER BY id {lock}"
    ))
    .bind(org_pk)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut agents: foldhash::HashMap<AgentId, AgentRow> =
        foldhash::HashMapExt::with_capacity(rows.len());
    for r in rows {
        agents.insert(
            r.try_get::<Uuid, _>(0)?.into(),
            AgentRow {
                pk: r.try_get(1)?,
                version: r.try_get(2)?,
                active: r.try_get(3)?,
            },
        );
    }
    // Read once the agents are locked: no write can then give them a skill this read misses.
    let skills = SkillKeys::from_ordered(
        sqlx::query_as::<_, (Uuid, i64)>(
            "SELECT uuid, id FROM skills WHERE org_id = $1 ORDER BY name_key, uuid",
        )
        .bind(org_pk)
        .fetch_all(&mut *tx)
        .await?,
    );
    let pks: Vec<i64> = agents.values().map(|a| a.pk).collect();
    let (mut sets, places) = load_sets(&mut *tx, &pks, &skills).await?;
    let layers = if layered {
        load_layers(&mut *tx, &pks, &skills).await?
    } else {
        Default::default()
    };

    let mut rows = Rows::default();
    let mut layer_rows = LayerRows::default();
    let mut decided = Vec::with_capacity(parts.len());
    for p in parts {
        let layered = crate::layers::layer_items(p.items, &agents, &layers);
        let items = layered.as_ref().map_or(p.items, |l| &l.items[..]);
        let (outcomes, failed) = common::outcomes(items, &agents, &mut sets, p.opts, p.ctx.now);
        let writes = common::writes(items, &outcomes);
        let going = !(p.opts.dry_run || (p.opts.atomic && failed));
        if going {
            if let Some(l) = &layered {
                for (agent, skill, d) in l.applied(&outcomes) {
                    if let Some(&skill) = skills.pks.get(&skill) {
                        layer_rows.push(agent, skill, d);
                    }
                }
            }
        }
        let committed = going && !writes.is_empty();
        let added = if committed {
            rows.add(p.ctx, &writes, &agents, &skills, &places)
        } else {
            Ok(())
        };
        drop(writes);
        decided.push(Decided {
            layered,
            outcomes,
            committed,
            added,
        });
    }
    let layers_changed = layer_rows.write(&mut *tx).await?;
    let results = |decided: Vec<Decided>| -> Vec<Result<WriteResult>> {
        decided
            .into_iter()
            .map(|d| {
                d.added.map(|()| WriteResult {
                    items: d.outcomes,
                    committed: d.committed,
                })
            })
            .collect()
    };
    if rows.bumped.is_empty() {
        return Ok((results(decided), layers_changed));
    }
    // The sinks' work (a large answer's rendering) and the audit rows and events are done
    // while PostgreSQL writes rows: beside the statements that need no audit row, on a thread
    // of their own, when there are any; else the sinks' work between the statements of the
    // rest (each statement is sent before this task turns to it, and it only has to come back
    // to send the next one).
    let going = |d: &Decided| d.committed && d.added.is_ok();
    let sinks: Vec<_> = parts
        .iter()
        .zip(&decided)
        .filter_map(|(p, d)| match p.sink {
            Some(sink) if going(d) => Some((sink, p.items, &d.outcomes[..])),
            _ => None,
        })
        .collect();
    let render = || {
        for (sink, items, outcomes) in &sinks {
            sink(items, outcomes);
        }
    };
    let audit = || {
        let mut audit = Audited::default();
        for (p, d) in parts.iter().zip(&decided).filter(|(_, d)| going(d)) {
            let items = d.layered.as_ref().map_or(p.items, |l| &l.items[..]);
            audit.add(p.ctx, &common::writes(items, &d.outcomes), &agents);
        }
        let events = Events::of(&audit);
        (audit, events)
    };
    let early = rows.has_first();
    let (audit, events) = if early {
        let work = || {
            let made = audit();
            render();
            made
        };
        let (first, made) = beside(rows.write_first(&mut *tx), work).await;
        first?;
        made
    } else {
        audit()
    };
    rows.audit = audit;
    let written = async {
        let keys = rows.write(&mut *tx, org_pk).await?;
        // Last: the organization's event counter stays locked from here to the commit.
        events.write(&mut *tx, org_pk, &keys).await
    };
    if early || sinks.is_empty() {
        written.await?;
    } else {
        let late = async {
            tokio::task::yield_now().await;
            render();
        };
        tokio::join!(written, late).0?;
    }
    drop(sinks);
    Ok((results(decided), true))
}

/// What a write of several decided for one of them before anything is written.
struct Decided {
    /// Its items layered under what SCIM Groups give (see `crate::layers`), if any are.
    layered: Option<crate::layers::Layered>,
    outcomes: Vec<ItemOutcome>,
    committed: bool,
    /// Whether its rows could be added (see [`Rows::add`]).
    added: Result<()>,
}

/// `io` and `work` at the same time: `work` on a thread of its own while this one drives
/// `io`, where the runtime lets a task block its thread (its multi-threaded flavour); one
/// after the other elsewhere.
async fn beside<T: Send, W: Send>(
    io: impl std::future::Future<Output = T>,
    work: impl FnOnce() -> W + Send,
) -> (T, W) {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let handle = Handle::current();
    if handle.runtime_flavor() != RuntimeFlavor::MultiThread {
        let w = work();
        return (io.await, w);
    }
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let worker = scope.spawn(work);
            let t = handle.block_on(io);
            match worker.join() {
                Ok(w) => (t, w),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    })
}

/// The layers of the agents with the keys `pks` (see `crate::layers`).
async fn load_layers(
    conn: &mut PgConnection,
    pks: &[i64],
    skills: &SkillKeys,
) -> Result<foldhash::HashMap<i64, Vec<crate::layers::Layer>>> {
    type Row = (i64, i64, i64, Option<i64>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT agent_id, skill_id, given, direct, effective_at, expires_at FROM skill_layers
         WHERE agent_id = ANY($1)",
    )
    .bind(pks)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: foldhash::HashMap<i64, Vec<crate::layers::Layer>> = Default::default();
    for (agent, skill, given, p, e, x) in rows {
        let Some((id, _)) = skills.by_pk.get(&skill) else {
            continue;
        };
        out.entry(agent).or_default().push(crate::layers::Layer {
            skill: *id,
            given,
            direct: crate::layers::direct(*id, p, e, x),
        });
    }
    Ok(out)
}

/// The direct layers a write changed, column by column.
#[derive(Default)]
struct LayerRows {
    agent: Vec<i64>,
    skill: Vec<i64>,
    direct: Vec<Option<i64>>,
    effective: Vec<Option<i64>>,
    expires: Vec<Option<i64>>,
}

impl LayerRows {
    fn push(&mut self, agent: i64, skill: i64, d: Option<skillgrid_core::model::Assignment>) {
        self.agent.push(agent);
        self.skill.push(skill);
        self.direct.push(d.map(|d| d.proficiency));
        self.effective
            .push(d.and_then(|d| d.effective).map(|t| t.0));
        self.expires.push(d.and_then(|d| d.expires).map(|t| t.0));
    }

    /// Writes them; whether there were any.
    async fn write(self, tx: &mut PgConnection) -> Result<bool> {
        if self.agent.is_empty() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE skill_layers l SET direct = x.d, effective_at = x.e, expires_at = x.x
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
               AS x(a, s, d, e, x)
             WHERE l.agent_id = x.a AND l.skill_id = x.s",
        )
        .bind(&self.agent)
        .bind(&self.skill)
        .bind(&self.direct)
        .bind(&self.effective)
        .bind(&self.expires)
        .execute(&mut *tx)
        .await?;
        Ok(true)
    }
}

/// Assignment rows, column by column.
#[derive(Default)]
struct Assignments {
    agent: Vec<i64>,
    skill: Vec<i64>,
    proficiency: Vec<i64>,
    effective: Vec<Option<i64>>,
    expires: Vec<Option<i64>>,
    updated: Vec<i64>,
}

impl Assignments {
    fn extend(
        &mut self,
        rows: Vec<(i64, i64, &skillgrid_core::model::Assignment)>,
        now: Timestamp,
    ) {
        self.agent.reserve(rows.len());
        for (g, s, a) in rows {
            self.agent.push(g);
            self.skill.push(s);
            self.proficiency.push(a.proficiency);
            self.effective.push(a.effective.map(|t| t.0));
            self.expires.push(a.expires.map(|t| t.0));
            self.updated.push(now.0);
        }
    }

    /// The rows in statements' shares of at most [`CHUNK_ROWS`]; the last share apart (empty
    /// when there are no rows).
    fn chunks(&self) -> (Vec<Upserts<'_>>, Upserts<'_>) {
        last_apart(
            chunks(&self.agent)
                .zip(chunks(&self.skill))
                .zip(self.values())
                .map(
                    |((agent, skill), (proficiency, effective, expires, updated))| Upserts {
                        agent,
                        skill,
                        proficiency,
                        effective,
                        expires,
                        updated,
                    },
                ),
        )
    }

    /// The rows with their places `at`, in statements' shares as [`Assignments::chunks`].
    fn moves<'a>(&'a self, at: &'a [Tid]) -> (Vec<Moves<'a>>, Moves<'a>) {
        last_apart(chunks(at).zip(self.values()).map(
            |(tid, (proficiency, effective, expires, updated))| Moves {
                tid,
                proficiency,
                effective,
                expires,
                updated,
            },
        ))
    }

    /// The columns every statement of these rows sets, in statements' shares.
    fn values(&self) -> impl Iterator<Item = Values<'_>> {
        chunks(&self.proficiency)
            .zip(chunks(&self.effective))
            .zip(chunks(&self.expires))
            .zip(chunks(&self.updated))
            .map(|(((p, e), x), u)| (p, e, x, u))
    }
}

/// One share of the proficiencies, effective and expiry times and update times of rows.
type Values<'a> = (&'a [i64], &'a [Option<i64>], &'a [Option<i64>], &'a [i64]);

/// The shares of `all` but the last, and the last (empty when there are none).
fn last_apart<T: Default>(all: impl Iterator<Item = T>) -> (Vec<T>, T) {
    let mut all: Vec<T> = all.collect();
    let last = all.pop().unwrap_or_default();
    (all, last)
}

/// The rows of the writes of one transaction, column by column.
#[derive(Default)]
struct Rows {
    deleted_agent: Vec<i64>,
    deleted_skill: Vec<i64>,
    /// Rows the agents did not hold: the agents are locked and their sets were read under the
    /// lock, so these are inserted without a conflict clause (cheaper than an upsert's
    /// speculative insertion).
    added: Assignments,
    /// Rows the agents held, updated where [`load_sets`] found them.
    moved: Assignments,
    /// Where each of `moved` is.
    moved_at: Vec<Tid>,
    /// Rows the agents held that [`load_sets`] did not find (a row the same write added
    /// first, should a caller ever write an agent twice at once): upserted.
    changed: Assignments,
    /// Set once the rows are all added (see [`Audited::add`]).
    audit: Audited,
    bumped: Vec<i64>,
}

/// The audit rows of the writes of one transaction, column by column.
#[derive(Default)]
struct Audited {
    sets: Vec<audit::AuditSet>,
    /// The time, request and client of each of `sets`.
    at: Vec<i64>,
    request: Vec<String>,
    client: Vec<Uuid>,
    /// For each of `sets`, the large write (in `writes`) whose row holds what it leaves out.
    write: Vec<Option<usize>>,
    /// The large writes among them (see [`crate::tuning::PG_LISTED_FROM`]).
    writes: Vec<AuditWrite>,
    /// For each of `sets`, its agent's version after the write: each audit row has its
    /// `assignment.changed` event, which refers to it.
    versions: Vec<i64>,
}

impl Audited {
    /// Adds the audit rows of one write's `writes` (whose rows were added to [`Rows`]).
    fn add(
        &mut self,
        ctx: &WriteContext,
        writes: &[(&AgentWrite, &Plan)],
        agents: &foldhash::HashMap<AgentId, AgentRow>,
    ) {
        let before = self.sets.len();
        if writes.len() > crate::tuning::PG_LISTED_FROM {
            let list = std::cell::RefCell::new(audit::SkillList::default());
            self.sets
                .extend(audit::audit_sets(writes, agents, ctx.now, &list));
            let new = self.sets.len() - before;
            if new > 0 {
                self.write
                    .extend(std::iter::repeat_n(Some(self.writes.len()), new));
                self.writes.push(AuditWrite {
                    at: ctx.now.0,
                    request_id: ctx.request_id.clone(),
                    client: ctx.client_id.get(),
                    skills: list.into_inner().to_bytes(),
                });
            }
        } else {
            self.sets
                .extend(audit::audit_sets(writes, agents, ctx.now, audit::Inline));
            self.write
                .extend(std::iter::repeat_n(None, self.sets.len() - before));
        }
        let new = self.sets.len() - before;
        self.versions.extend(crate::events::assignment_versions(
            &self.sets[before..],
            agents,
        ));
        self.at.extend(std::iter::repeat_n(ctx.now.0, new));
        self.request
            .extend(std::iter::repeat_n(ctx.request_id.clone(), new));
        self.client
            .extend(std::iter::repeat_n(ctx.client_id.get(), new));
    }
}

impl Rows {
    /// Adds the rows of one write's `writes`; on an error nothing of them is added.
    fn add(
        &mut self,
        ctx: &WriteContext,
        writes: &[(&AgentWrite, &Plan)],
        agents: &foldhash::HashMap<AgentId, AgentRow>,
        skills: &SkillKeys,
        places: &Places,
    ) -> Result<()> {
        let common::Changes {
            added,
            updated,
            deletes,
            bumped,
        } = common::changes(writes, agents, &skills.pks)?;
        for (a, s) in deletes {
            self.deleted_agent.push(a);
            self.deleted_skill.push(s);
        }
        self.added.extend(added, ctx.now);
        let (found, not_found): (Vec<_>, Vec<_>) = updated
            .into_iter()
            .partition(|(a, s, _)| places.contains_key(&(*a, *s)));
        self.moved_at
            .extend(found.iter().map(|(a, s, _)| places[&(*a, *s)]));
        self.moved.extend(found, ctx.now);
        self.changed.extend(not_found, ctx.now);
        self.bumped.extend(bumped);
        Ok(())
    }

    /// Whether [`Rows::write_first`] has statements to run: the deletes, and every chunk but
    /// the last of the inserts, upserts and updates.
    fn has_first(&self) -> bool {
        !self.deleted_agent.is_empty()
            || [&self.added, &self.changed, &self.moved]
                .iter()
                .any(|a| a.agent.len() > CHUNK_ROWS)
    }

    /// Runs the statements that need no audit row (see [`Rows::has_first`]).
    async fn write_first(&self, tx: &mut PgConnection) -> Result<()> {
        for (a, s) in chunks(&self.deleted_agent).zip(chunks(&self.deleted_skill)) {
            sqlx::query(
                "DELETE FROM assignments WHERE (agent_id, skill_id) IN
                   (SELECT * FROM UNNEST($1::bigint[], $2::bigint[]))",
            )
            .bind(a)
            .bind(s)
            .execute(&mut *tx)
            .await?;
        }
        let (inserts, _) = self.added.chunks();
        for i in inserts {
            i.bind(sqlx::query(&INSERT)).execute(&mut *tx).await?;
        }
        let (upserts, _) = self.changed.chunks();
        for u in upserts {
            u.bind(sqlx::query(&UPSERT)).execute(&mut *tx).await?;
        }
        let (moves, _) = self.moved.moves(&self.moved_at);
        for m in moves {
            let n = m.tid.len() as u64;
            let done = m.bind(sqlx::query(MOVE)).execute(&mut *tx).await?;
            moved_all(done.rows_affected(), n)?;
        }
        Ok(())
    }

    /// Writes the rest, once [`Rows::write_first`] has run and the audit rows are set: every
    /// chunk but the last of the audit rows on its own, then the last chunks of the inserts,
    /// upserts, updates and audit rows and the version bumps in one statement (a small
    /// write's whole transaction is then its reads and this one statement). The audit rows'
    /// keys, by id.
    async fn write(self, tx: &mut PgConnection, org_pk: i64) -> Result<AuditKeys> {
        let (_, last_inserts) = self.added.chunks();
        let (_, last_upserts) = self.changed.chunks();
        let (_, last_moves) = self.moved.moves(&self.moved_at);
        let Audited {
            sets: audit,
            at: audit_at,
            request: audit_request,
            client: audit_client,
            write: audit_write,
            writes,
            versions,
        } = self.audit;
        let write_ids: Vec<i64> = if writes.is_empty() {
            Vec::new()
        } else {
            sqlx::query_scalar("SELECT nextval('audit_writes_id_seq') FROM generate_series(1, $1)")
                .bind(writes.len() as i64)
                .fetch_all(&mut *tx)
                .await?
        };
        let set_write: Vec<Option<i64>> = audit_write
            .iter()
            .map(|w| w.map(|w| write_ids[w]))
            .collect();
        // The rows of each large write, to find its last once they have their keys.
        let in_write: Vec<(Uuid, usize)> = audit
            .iter()
            .zip(&audit_write)
            .filter_map(|(set, w)| w.map(|w| (set.uuid, w)))
            .collect();
        let mut sets = audit.into_iter();
        let mut audits: Vec<AuditRows> = chunks(&audit_at)
            .zip(chunks(&audit_request))
            .zip(chunks(&audit_client))
            .zip(chunks(&set_write))
            .map(|(((at, request), client), write)| {
                AuditRows::new(&mut sets, at, request, client, write)
            })
            .collect();
        let last_audits = audits.pop().unwrap_or_default();
        let mut keys: AuditKeys = foldhash::HashMapExt::with_capacity(versions.len());
        let mut keep = |rows: Vec<sqlx::postgres::PgRow>| -> Result<()> {
            for r in rows {
                keys.insert(r.try_get(1)?, r.try_get(0)?);
            }
            Ok(())
        };
        for a in audits {
            keep(
                a.bind(sqlx::query(&AUDIT).bind(org_pk))
                    .fetch_all(&mut *tx)
                    .await?,
            )?;
        }
        let q = last_upserts.bind(last_inserts.bind(sqlx::query(&LAST)));
        let last_moved = last_moves.tid.len() as u64;
        let q = last_audits.bind(q.bind(org_pk)).bind(&self.bumped);
        let rows = last_moves.bind(q).fetch_all(&mut *tx).await?;
        // Each updated row has its audit row, so a statement that updated rows returns some.
        let updated = match rows.first() {
            Some(r) => r.try_get::<i64, _>(2)? as u64,
            None => 0,
        };
        moved_all(updated, last_moved)?;
        keep(rows)?;
        AuditWrite::insert(writes, &write_ids, &in_write, &keys, tx, org_pk).await?;
        Ok(keys)
    }
}

/// What the audit rows of one large write share, stored once (see migration 0020).
struct AuditWrite {
    at: i64,
    request_id: String,
    client: Uuid,
    /// The skills its rows' entries name, by place.
    skills: Vec<u8>,
}

impl AuditWrite {
    /// Inserts `writes` with the keys `ids` taken for them, each with the key of its last
    /// audit row (`in_write` says which write each row is of, `keys` gives their keys).
    async fn insert(
        writes: Vec<AuditWrite>,
        ids: &[i64],
        in_write: &[(Uuid, usize)],
        keys: &AuditKeys,
        tx: &mut PgConnection,
        org_pk: i64,
    ) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut last = vec![i64::MIN; writes.len()];
        for (set, w) in in_write {
            let key = keys.get(set).ok_or_else(|| {
                StoreError::Other(anyhow::anyhow!("audit row {set} was not written"))
            })?;
            last[*w] = last[*w].max(*key);
        }
        let mut at = Vec::with_capacity(writes.len());
        let mut request = Vec::with_capacity(writes.len());
        let mut client = Vec::with_capacity(writes.len());
        let mut skills = Vec::with_capacity(writes.len());
        for w in writes {
            at.push(w.at);
            request.push(w.request_id);
            client.push(w.client);
            skills.push(w.skills);
        }
        sqlx::query(
            "INSERT INTO audit_writes (id, org_id, at, request_id, client_uuid, skills, last_set)
             SELECT u.id, $1, u.at, u.r, u.c, u.s, u.l
             FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::uuid[], $6::bytea[],
               $7::bigint[]) AS u(id, at, r, c, s, l)",
        )
        .bind(org_pk)
        .bind(ids)
        .bind(at)
        .bind(request)
        .bind(client)
        .bind(skills)
        .bind(last)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

/// The keys of a write's audit rows, by their ids.
type AuditKeys = foldhash::HashMap<Uuid, i64>;

/// The `assignment.changed` events of a transaction's writes, one per audit row, column by
/// column.
struct Events {
    at: Vec<i64>,
    request: Vec<String>,
    actor: Vec<Uuid>,
    subject: Vec<Uuid>,
    version: Vec<i64>,
    /// The audit row each refers to, by id.
    set: Vec<Uuid>,
}

impl Events {
    fn of(audit: &Audited) -> Events {
        Events {
            at: audit.at.clone(),
            request: audit.request.clone(),
            actor: audit.client.clone(),
            subject: audit.sets.iter().map(|s| s.agent).collect(),
            version: audit.versions.clone(),
            set: audit.sets.iter().map(|s| s.uuid).collect(),
        }
    }

    /// Writes the events, numbered from the organization's counter, each referring to its
    /// audit row by the key `keys` gives it: one `UNNEST` statement per [`CHUNK_ROWS`] events.
    async fn write(self, tx: &mut PgConnection, org_pk: i64, keys: &AuditKeys) -> Result<()> {
        if self.set.is_empty() {
            return Ok(());
        }
        let n = self.set.len();
        let first = super::per_backend::events::take_sequence(tx, org_pk, n).await?;
        let mut audit_set = Vec::with_capacity(n);
        for u in &self.set {
            audit_set.push(*keys.get(u).ok_or_else(|| {
                StoreError::Other(anyhow::anyhow!("audit row {u} was not written"))
            })?);
        }
        for (i, ((((at, request), actor), subject), (version, set))) in chunks(&self.at)
            .zip(chunks(&self.request))
            .zip(chunks(&self.actor))
            .zip(chunks(&self.subject))
            .zip(chunks(&self.version).zip(chunks(&audit_set)))
            .enumerate()
        {
            let from = first + (i * CHUNK_ROWS) as i64;
            let sequence: Vec<i64> = (from..from + at.len() as i64).collect();
            let uuid: Vec<Uuid> = at.iter().map(|_| Uuid::now_v7()).collect();
            sqlx::query(
                "INSERT INTO events (org_id, kind, uuid, sequence, occurred_at, request_id,
                   actor_uuid, subject_uuid, version, audit_set_id)
                 SELECT $1, $2, * FROM UNNEST($3::uuid[], $4::bigint[], $5::bigint[],
                   $6::text[], $7::uuid[], $8::uuid[], $9::bigint[], $10::bigint[])",
            )
            .bind(org_pk)
            .bind(crate::events::EventType::AssignmentChanged.as_str())
            .bind(uuid)
            .bind(sequence)
            .bind(at)
            .bind(request)
            .bind(actor)
            .bind(subject)
            .bind(version)
            .bind(set)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}

/// The insert of one chunk of new assignments: six arrays from `$1`.
static INSERT: LazyLock<String> = LazyLock::new(|| upsert_head(1));

/// The upsert of one chunk of held assignments: six arrays from `$1`.
static UPSERT: LazyLock<String> = LazyLock::new(|| format!("{} {UPSERT_ROWS}", upsert_head(1)));

/// The insert of one chunk of audit rows: the organization, then eight arrays; their keys
/// and ids.
static AUDIT: LazyLock<String> =
    LazyLock::new(|| format!("{} RETURNING id, uuid", audit_insert(1)));

/// A write's last chunks of inserts, upserts, updates in place and audit rows and its
/// version bumps, in one statement: the insert's arrays from `$1`, the upsert's from `$7`,
/// the audit insert's from `$13`, the bumped agents at `$23`, the update's arrays from `$24`;
/// the audit rows' keys and ids, and how many rows were updated.
static LAST: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH inserted AS ({}), upserted AS ({} {UPSERT_ROWS}),
           audited AS ({} RETURNING id, uuid),
           bumped AS (UPDATE agents SET version = version + 1 WHERE id = ANY($23)),
           moved AS ({} RETURNING 1)
         SELECT id, uuid, (SELECT count(*) FROM moved) FROM audited",
        upsert_head(1),
        upsert_head(7),
        audit_insert(13),
        move_rows(24),
    )
});

/// The update in place of one chunk of held assignments: five arrays from `$1`.
const MOVE: &str = "UPDATE assignments a SET proficiency = u.p, effective_at = u.e,
       expires_at = u.x, updated_at = u.t
     FROM UNNEST($1::tid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
       AS u(at, p, e, x, t)
     WHERE a.ctid = u.at";

/// [`MOVE`] with its arrays from `$first`.
fn move_rows(first: usize) -> String {
    let mut sql = MOVE.to_string();
    for n in (1..=5).rev() {
        sql = sql.replace(&format!("${n}:"), &format!("${}:", first + n - 1));
    }
    sql
}

/// Every row a write found held was updated where it was found: else something changed it
/// under the write's locks, and the transaction is abandoned rather than leave it out.
fn moved_all(updated: u64, expected: u64) -> Result<()> {
    if updated == expected {
        return Ok(());
    }
    Err(StoreError::Other(anyhow::anyhow!(
        "{updated} of {expected} held assignments were where the write had read them"
    )))
}

/// `INSERT … SELECT FROM UNNEST(…)` of assignments, its six arrays from `$first` (an upsert
/// with [`UPSERT_ROWS`] after it).
fn upsert_head(first: usize) -> String {
    let p: Vec<String> = (first..first + 6)
        .map(|n| format!("${n}::bigint[]"))
        .collect();
    format!(
        "INSERT INTO assignments (agent_id, skill_id, proficiency, effective_at, expires_at, updated_at)
         SELECT * FROM UNNEST({})",
        p.join(", ")
    )
}

const UPSERT_ROWS: &str = "ON CONFLICT (agent_id, skill_id) DO UPDATE SET
    proficiency = excluded.proficiency, effective_at = excluded.effective_at,
    expires_at = excluded.expires_at, updated_at = excluded.updated_at";

/// The audit rows' `INSERT`, in their order: the organization at `$first`, then nine arrays.
fn audit_insert(first: usize) -> String {
    let types = [
        "uuid", "bigint", "text", "uuid", "bigint", "uuid", "bytea", "int", "bigint",
    ];
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", first + 1 + i))
        .collect();
    format!(
        "INSERT INTO audit_sets (uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid,
           entries, n, write_id)
         SELECT u, ${first}, t, r, c, ag, agu, e, n, w
         FROM UNNEST({}) WITH ORDINALITY AS x(u, t, r, c, ag, agu, e, n, w, ord)
         ORDER BY ord",
        arrays.join(", ")
    )
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// A struct of a statement's share of rows, column by column, with `bind`, which binds its
/// columns in the order of its fields.
macro_rules! columns {
    ($(#[$meta:meta])* struct $name:ident<$a:lifetime> { $($field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        struct $name<$a> {
            $($field: $ty,)*
        }

        impl<$a> $name<$a> {
            fn bind(self, q: PgQuery<$a>) -> PgQuery<$a> {
                q$(.bind(self.$field))*
            }
        }
    };
}

columns! {
    /// One statement's share of the inserted or upserted rows.
    #[derive(Default)]
    struct Upserts<'a> {
        agent: &'a [i64],
        skill: &'a [i64],
        proficiency: &'a [i64],
        effective: &'a [Option<i64>],
        expires: &'a [Option<i64>],
        updated: &'a [i64],
    }
}

columns! {
    /// One statement's share of the rows updated where they are.
    #[derive(Default)]
    struct Moves<'a> {
        tid: &'a [Tid],
        proficiency: &'a [i64],
        effective: &'a [Option<i64>],
        expires: &'a [Option<i64>],
        updated: &'a [i64],
    }
}

columns! {
    /// One statement's share of the audit rows: the nine arrays bound after the organization.
    /// A row of a large write leaves its time, request, client and agent id to its write's
    /// row and its agent (NULL here).
    #[derive(Default)]
    struct AuditRows<'a> {
        uuid: Vec<Uuid>,
        at: Vec<Option<i64>>,
        request: Vec<Option<&'a str>>,
        client: Vec<Option<Uuid>>,
        agent_pk: Vec<i64>,
        agent: Vec<Option<Uuid>>,
        entries: Vec<Vec<u8>>,
        count: Vec<i32>,
        write: &'a [Option<i64>],
    }
}

impl<'a> AuditRows<'a> {
    /// The next `at.len()` of `sets`, with their times, requests, clients and large writes.
    fn new(
        sets: &mut impl Iterator<Item = audit::AuditSet>,
        at: &'a [i64],
        request: &'a [String],
        client: &'a [Uuid],
        write: &'a [Option<i64>],
    ) -> Self {
        let chunk: Vec<audit::AuditSet> = sets.by_ref().take(at.len()).collect();
        let own = |i: usize| write[i].is_none();
        AuditRows {
            uuid: chunk.iter().map(|s| s.uuid).collect(),
            at: (0..at.len()).map(|i| own(i).then_some(at[i])).collect(),
            request: (0..at.len())
                .map(|i| own(i).then_some(request[i].as_str()))
                .collect(),
            client: (0..at.len()).map(|i| own(i).then_some(client[i])).collect(),
            agent_pk: chunk.iter().map(|s| s.agent_pk).collect(),
            agent: chunk
                .iter()
                .enumerate()
                .map(|(i, s)| own(i).then_some(s.agent))
                .collect(),
            count: chunk.iter().map(|s| s.count as i32).collect(),
            entries: chunk.into_iter().map(|s| s.entries).collect(),
            write,
        }
    }
}

/// A column in pieces of at most [`CHUNK_ROWS`] rows, one statement each.
fn chunks<T>(column: &[T]) -> std::slice::Chunks<'_, T> {
    column.chunks(CHUNK_ROWS)
}

/// The start of a read of audit entries: the columns `audit::stored_set` reads, of the rows
/// `s` of `audit_sets`. A row of a large write takes what it leaves out from its write's row
/// and from its agent (see migration 0020). A macro, so that `concat!` can finish it.
macro_rules! select_audit {
    () => {
        "SELECT s.id, s.uuid, coalesce(s.at, w.at) AS at,
           coalesce(s.request_id, w.request_id) AS request_id,
           coalesce(s.client_uuid, w.client_uuid) AS client_uuid,
           coalesce(s.agent_uuid, a.uuid) AS agent_uuid, s.entries, w.skills
         FROM audit_sets s
         LEFT JOIN audit_writes w ON w.id = s.write_id
         LEFT JOIN agents a ON a.id = s.agent_id AND s.agent_uuid IS NULL"
    };
}

/// An agent's audit entries, newest first (see `per_backend/trail.rs`): `$1` the agent's key,
/// `$2` the last row, `$3` how many rows.
pub(super) const AGENT_AUDIT: &str = concat!(
    select_audit!(),
    " WHERE s.agent_id = $1 AND s.id <= $2 ORDER BY s.id DESC LIMIT $3"
);

/// The organization's audit feed (see `per_backend/trail.rs`): a row's time and client come
/// from its write's row when it leaves them out; a skill is named in the row's entries (as 16
/// bytes, or as hex in the text form) or in its write's list.
pub(super) const FEED: crate::audit::FeedSql = crate::audit::FeedSql {
    select: select_audit!(),
    at: "coalesce(s.at, w.at)",
    client: "coalesce(s.client_uuid, w.client_uuid)",
    names_skill: "(position({bytes} IN s.entries) > 0
       OR position({bytes} IN w.skills) > 0
       OR position(convert_to({hex}, 'UTF8') IN s.entries) > 0)",
};

/// The organization's audit entries, oldest first (see `per_backend/trail.rs`): `$1` its id, `$2`
/// the first row, `$3` the earliest time, `$4` how many rows.
pub(super) const ORG_AUDIT: &str = concat!(
    select_audit!(),
    " WHERE s.org_id = (SELECT id FROM orgs WHERE uuid = $1) AND s.id >= $2
       AND coalesce(s.at, w.at) >= $3
     ORDER BY s.id LIMIT $4"
);
