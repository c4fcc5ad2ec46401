//! Writing skill sets on SQLite: set-based, one transaction for any number of agents.
//!
//! Current sets are read by integer keys, diffed in memory, and written back through prepared
//! statements run on SQLite's own handle (see [`write_with`]); the audit trail gets one row per
//! agent (see `crate::audit`).

use crate::audit;
use crate::common::{self, AgentRow, SetRow, SkillKeys};
use crate::*;
// Named apart from this file's own `Items`, the planner's.
use crate::write::Items as Source;
use skillgrid_core::model::Assignment;
use sqlx::sqlite::SqlitePool;
use sqlx::{Row, SqliteConnection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One agent's set, ordered by skill name (case-insensitively), then id.
pub(super) async fn load_set(
    conn: &mut SqliteConnection,
    agent: i64,
) -> Result<Vec<StoredAssignment>> {
    let rows = sqlx::query(
        "SELECT s.uuid, a.proficiency, a.effective_at, a.expires_at, a.updated_at
         FROM assignments a JOIN skills s ON s.id = a.skill_id WHERE a.agent_id = ?
         ORDER BY s.name_key, s.uuid",
    )
    .bind(agent)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAssignment {
                skill_id: r.try_get(0)?,
                proficiency: r.try_get(1)?,
                effective: r.try_get::<Option<i64>, _>(2)?.map(Timestamp),
                expires: r.try_get::<Option<i64>, _>(3)?.map(Timestamp),
                updated_at: Timestamp(r.try_get(4)?),
            })
        })
        .collect()
}

pub(super) async fn write(
    pool: &SqlitePool,
    org: OrgId,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let result = write_in(&mut tx, org, ctx, items, opts).await?;
    if result.committed {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(result)
}

pub(super) use crate::tuning::PIPELINE_FROM as LARGE;

/// A large write, transaction and all, on SQLite's own handle: pipelined (see
/// [`write_pipelined`]), with `reader` for its reads, and with the per-row foreign-key checks
/// of the assignments off.
///
/// Those checks cost about a third of the time of inserting new rows (two parent lookups per
/// row; measured with rusqlite on this schema: 132 ms against 97 ms for 100,000 inserts). They
/// would find nothing here: every agent and skill key written comes from a read of the agents
/// and skills tables made while this `BEGIN IMMEDIATE` transaction holds the only write lock,
/// so no parent row can go away before it commits. The checks are on again before the
/// connection goes back to the pool; a connection on which that cannot be confirmed is closed
/// instead (the pool opens a new one with the store's pragmas). Smaller writes keep the
/// checks: they cost little there.
pub(super) async fn write_large(
    pool: &SqlitePool,
    large: &LargeWrites,
    request: WriteRequest<'_>,
) -> Result<LargeOutcome> {
    let WriteRequest {
        org,
        ctx,
        items,
        opts,
        sink: alongside,
    } = request;
    use rusqlite::{Transaction, TransactionBehavior};
    struct Running<'a>(&'a Activity);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.running.fetch_sub(1, Ordering::Relaxed);
            self.0.finished.fetch_add(1, Ordering::Relaxed);
        }
    }
    large.activity.running.fetch_add(1, Ordering::Relaxed);
    let _running = Running(&large.activity);
    let mut conn = pool.acquire().await?;
    // Synchronous from here to the end: a request dropped meanwhile cannot stop it half-way.
    let (result, checks_on) = on_handle(&mut conn, true, |c| {
        let result = {
            let _checks = ForeignKeysOff::new(c)?;
            (|| {
                let tx = Transaction::new_unchecked(c, TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let keys = org_keys_sync(&tx, org)?;
                // Only one write runs at a time (the writer pool has one connection), so this
                // is never contended; a poisoned lock still holds a usable connection.
                let mut reader = large.reader.lock().unwrap_or_else(|p| p.into_inner());
                write_pipelined(tx, &mut reader, &keys, ctx, items, opts, alongside)
            })()
        };
        Ok((result, foreign_keys_on(c)))
    })
    .await?;
    if !checks_on {
        tracing::error!("foreign keys could not be turned back on; closing the connection");
        drop(conn.detach());
    }
    result
}

/// What a large write did.
pub(super) struct LargeOutcome {
    pub result: WriteResult,
    /// A produced write's items, in order (none for a slice).
    pub fed: Vec<AgentWrite>,
    /// False when the producer did not say go: then nothing was kept.
    pub go_ahead: bool,
}

/// What large writes need beside the writer pool.
pub(super) struct LargeWrites {
    /// Their reads, on a connection of their own (see [`write_pipelined`]).
    pub reader: std::sync::Mutex<rusqlite::Connection>,
    /// The background checkpoint waits while they come.
    pub activity: Arc<Activity>,
}

/// Large writes under way (or waiting for the writer), and how many have ended.
#[derive(Default)]
pub(super) struct Activity {
    pub running: AtomicU64,
    pub finished: AtomicU64,
}

impl Activity {
    /// True when a large write runs, or one ended since `seen` (then updated).
    pub fn busy_since(&self, seen: &mut u64) -> bool {
        let finished = self.finished.load(Ordering::Relaxed);
        let ended = std::mem::replace(seen, finished) != finished;
        ended || self.running.load(Ordering::Relaxed) > 0
    }
}

/// Foreign-key checks off on a connection until dropped (outside any transaction: SQLite
/// ignores the pragma inside one).
struct ForeignKeysOff<'c>(&'c rusqlite::Connection);

impl<'c> ForeignKeysOff<'c> {
    fn new(c: &'c rusqlite::Connection) -> Result<Self> {
        c.pragma_update(None, "foreign_keys", false)
            .map_err(sql_err)?;
        Ok(ForeignKeysOff(c))
    }
}

impl Drop for ForeignKeysOff<'_> {
    fn drop(&mut self) {
        // Checked by the caller with `foreign_keys_on`.
        let _ = self.0.pragma_update(None, "foreign_keys", true);
    }
}

fn foreign_keys_on(c: &rusqlite::Connection) -> bool {
    c.pragma_query_value(None, "foreign_keys", |r| r.get::<_, bool>(0))
        .unwrap_or(false)
}

/// Everything a write does inside the caller's transaction; `committed` in the result is
/// false when nothing is to be kept (a dry run, a failed atomic write, or no change), and the
/// caller then rolls back what this wrote (nothing, in those cases).
pub(super) async fn write_in(
    tx: &mut SqliteConnection,
    org: OrgId,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let keys = org_keys(tx, org).await?;
    write_with(tx, &keys, ctx, items, opts).await
}

/// An organization's key and its skills' keys, as one transaction sees them (skills are not
/// created or deleted by skill-set writes, so writes grouped in one transaction share them).
pub(super) struct OrgKeys {
    pk: i64,
    skills: SkillKeys,
}

pub(super) async fn org_keys(tx: &mut SqliteConnection, org: OrgId) -> Result<OrgKeys> {
    on_handle(tx, false, |c| org_keys_sync(c, org)).await
}

fn org_keys_sync(c: &rusqlite::Connection, org: OrgId) -> Result<OrgKeys> {
    use rusqlite::OptionalExtension;
    let org = org.get();
    let uuid = &org.as_bytes()[..];
    let pk: i64 = c
        .query_row("SELECT id FROM orgs WHERE uuid = ?1", [uuid], |r| r.get(0))
        .optional()
        .map_err(sql_err)?
        .ok_or(StoreError::NotFound)?;
    let mut q = c
        .prepare("SELECT uuid, id FROM skills WHERE org_id = ?1 ORDER BY name_key, uuid")
        .map_err(sql_err)?;
    let skills = q
        .query_map([pk], |r| {
            let id: [u8; 16] = r.get(0)?;
            Ok((Uuid::from_bytes(id), r.get(1)?))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<(Uuid, i64)>>>()
        .map_err(sql_err)?;
    Ok(OrgKeys {
        pk,
        skills: SkillKeys::from_ordered(skills),
    })
}

/// [`write_in`] with the organization's keys already read.
///
/// The work runs on SQLite's own handle of the transaction's connection, through rusqlite's
/// prepared statements: near what SQLite itself can do, with no per-row hand-over to sqlx's
/// worker thread (which cost more than the SQL) and no SQL text built per row.
pub(super) async fn write_with(
    tx: &mut SqliteConnection,
    keys: &OrgKeys,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    on_handle(tx, items.len() > LARGE, |c| {
        write_sync(c, keys, ctx, items, opts)
    })
    .await
}

/// Runs `f` on SQLite's own handle of `conn`, wrapped by rusqlite; `long` when it blocks for a
/// while (see [`blocking`]).
async fn on_handle<T>(
    conn: &mut SqliteConnection,
    long: bool,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T>,
) -> Result<T> {
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle();
    let run = || {
        // SAFETY: `handle` keeps the connection locked for us (sqlx's worker thread waits
        // until it is dropped) and open; the wrapper neither closes the handle nor outlives
        // this closure, and finalizes its statements when dropped.
        #[allow(unsafe_code)]
        let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(sql_err)?;
        f(&conn)
    };
    let result = if long { blocking(run) } else { run() };
    drop(handle);
    result
}

/// Runs `f`, which blocks for a while, without stalling the other tasks of the runtime's
/// worker thread it runs on (when the runtime has more than one).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::from(anyhow::Error::from(e))
}

fn write_sync(
    conn: &rusqlite::Connection,
    keys: &OrgKeys,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let mut planner = Planner::new(keys, ctx, opts, items.len(), false);
    let batch = planner.plan(conn, items)?;
    let committed = match batch {
        Some(b) if planner.going_ahead() => {
            write_batch(conn, keys.pk, ctx, &b, &mut AuditTarget::Own)?;
            true
        }
        _ => false,
    };
    Ok(WriteResult {
        items: planner.outcomes,
        committed,
    })
}

pub(super) use crate::tuning::PLAN_CHUNK;

/// A large write in two threads, with the organization's keys read (on `tx`):
///
/// - a planner, on `reader` (a connection of its own), reads the agents and their current
///   sets a chunk at a time, decides every item, and hands each chunk's rows to the writer;
///   once every item is decided it calls `alongside` with the outcomes;
/// - the writer, on `tx`, writes each chunk's rows as they come, and commits.
///
/// The reader sees what `tx` saw before its first change: `tx` holds the database's only write
/// lock from before the planner starts, so nothing can be committed in between, and its own
/// changes are not visible to other connections.
///
/// Items come from `source`: a slice, planned `PLAN_CHUNK` at a time, or a producer run on the
/// planner's thread, each chunk planned as it is made; a producer that does not say go at the
/// end leaves nothing.
fn write_pipelined<'i>(
    tx: rusqlite::Transaction<'_>,
    reader: &mut rusqlite::Connection,
    keys: &OrgKeys,
    ctx: &WriteContext,
    source: Source<'i>,
    opts: WriteOptions,
    alongside: Option<&OutcomeSink<'_>>,
) -> Result<LargeOutcome> {
    enum Msg<'i> {
        Batch(Batch),
        /// Every item is decided: whether the write is to be kept, the skills its audit
        /// entries name, and the items with their outcomes.
        Planned {
            go: bool,
            skills: Vec<u8>,
            done: Arc<Decided<'i>>,
        },
    }
    /// What the planner hands back: the items decided, and whether the producer said go.
    type Planned<'i> = (Arc<Decided<'i>>, bool);
    // Moved to the planner's thread: a connection is used by one thread at a time.
    let plan_all = move |send: std::sync::mpsc::Sender<Msg<'i>>| -> Result<Planned<'i>> {
        let reader = &*reader;
        let read =
            rusqlite::Transaction::new_unchecked(reader, rusqlite::TransactionBehavior::Deferred)
                .map_err(sql_err)?;
        let expected = match &source {
            Source::Slice(items) => items.len(),
            Source::Produced(_) => 0,
        };
        let mut planner = Planner::new(keys, ctx, opts, expected, true);
        let mut wrote = false;
        // Plans one chunk and hands its rows to the writer; false once the writer is gone
        // (it failed: its error is the one reported).
        let mut step = |planner: &mut Planner<'_>, chunk: &[AgentWrite]| -> Result<bool> {
            let batch = planner.plan(&read, chunk)?;
            if let Some(b) = batch.filter(|_| planner.going_ahead()) {
                wrote = true;
                return Ok(send.send(Msg::Batch(b)).is_ok());
            }
            Ok(true)
        };
        let (items, go_ahead) = match source {
            Source::Slice(items) => {
                for chunk in items.chunks(PLAN_CHUNK) {
                    if !step(&mut planner, chunk)? {
                        return Ok((Decided::new(Items::Slice(items), planner), true));
                    }
                }
                (Items::Slice(items), true)
            }
            Source::Produced(produce) => {
                let mut fed: Vec<AgentWrite> = Vec::new();
                // Why the planner stopped taking items: the writer is gone, or a read failed.
                let mut stopped: Option<Result<()>> = None;
                let go_ahead = produce(&mut |chunk| {
                    if stopped.is_some() {
                        return false;
                    }
                    match step(&mut planner, &chunk) {
                        Ok(true) => {}
                        Ok(false) => stopped = Some(Ok(())),
                        Err(e) => stopped = Some(Err(e)),
                    }
                    fed.extend(chunk);
                    stopped.is_none()
                });
                match stopped {
                    Some(Ok(())) => {
                        return Ok((Decided::new(Items::Owned(fed), planner), go_ahead))
                    }
                    Some(Err(e)) => return Err(e),
                    None => (Items::Owned(fed), go_ahead),
                }
            }
        };
        drop(read);
        let go = wrote && go_ahead && planner.going_ahead();
        let skills = planner.listed.as_ref().map(|l| l.borrow().to_bytes());
        let done = Decided::new(items, planner);
        let planned = Msg::Planned {
            go,
            skills: skills.unwrap_or_default(),
            done: done.clone(),
        };
        let _ = send.send(planned);
        if go {
            if let Some(f) = alongside {
                f(done.items(), &done.outcomes);
            }
        }
        Ok((done, go_ahead))
    };
    std::thread::scope(|s| {
        let (send, recv) = std::sync::mpsc::channel();
        let planner = s.spawn(move || plan_all(send));
        let mut decided = None;
        let written = (|| {
            let mut audit = AuditTarget::Write(None);
            while let Ok(msg) = recv.recv() {
                match msg {
                    Msg::Batch(b) => write_batch(&tx, keys.pk, ctx, &b, &mut audit)?,
                    Msg::Planned { go, skills, done } => {
                        if go {
                            audit.finish(&tx, &skills)?;
                        }
                        decided = Some(done);
                        return Ok(go);
                    }
                }
            }
            // The planner failed; its error is the one reported.
            Ok(false)
        })();
        drop(recv);
        let committed = match written {
            Ok(true) => tx.commit().map(|()| true).map_err(sql_err),
            Ok(false) => Ok(false),
            Err(e) => Err(e),
        };
        // Committed: this thread takes its share of the work beside the write (the planner's
        // thread may still be at it: the answer of a large write takes a while to render).
        if let (Ok(true), Some(done), Some(f)) = (&committed, &decided, alongside) {
            f(done.items(), &done.outcomes);
        }
        drop(decided);
        let planned = match planner.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let committed = committed?;
        let (done, go_ahead) = planned?;
        let Decided { items, outcomes } = Arc::try_unwrap(done).unwrap_or_else(|shared| Decided {
            items: Items::Owned(shared.items().to_vec()),
            outcomes: shared.outcomes.clone(),
        });
        Ok(LargeOutcome {
            result: WriteResult {
                items: outcomes,
                committed,
            },
            fed: match items {
                Items::Owned(fed) => fed,
                Items::Slice(_) => Vec::new(),
            },
            go_ahead,
        })
    })
}

/// The items of a write, once every one is decided.
struct Decided<'i> {
    items: Items<'i>,
    outcomes: Vec<ItemOutcome>,
}

/// A write's items: the caller's, or those a producer made.
enum Items<'i> {
    Slice(&'i [AgentWrite]),
    Owned(Vec<AgentWrite>),
}

impl<'i> Decided<'i> {
    fn new(items: Items<'i>, planner: Planner<'_>) -> Arc<Self> {
        Arc::new(Decided {
            items,
            outcomes: planner.outcomes,
        })
    }

    fn items(&self) -> &[AgentWrite] {
        match &self.items {
            Items::Slice(s) => s,
            Items::Owned(v) => v,
        }
    }
}

/// Reads and decides the items of one write, a chunk at a time, keeping every outcome.
struct Planner<'a> {
    keys: &'a OrgKeys,
    ctx: &'a WriteContext,
    opts: WriteOptions,
    agents: foldhash::HashMap<AgentId, AgentRow>,
    outcomes: Vec<ItemOutcome>,
    failed: bool,
    /// Some agent came in more than one item (the API refuses that, but the store does not
    /// rely on it): its later item may "add" a row an earlier one wrote.
    repeated: bool,
    /// For a write whose audit rows leave what they share to one `audit_writes` row (a large
    /// write): the skills its entries name.
    listed: Option<std::cell::RefCell<audit::SkillList>>,
}

/// One chunk's changes as rows, owned, for the writer.
struct Batch {
    /// `added` holds rows that certainly do not exist yet: they were not in the agents' sets
    /// as read under this write's lock, and no agent came twice.
    added_are_new: bool,
    deletes: Vec<(i64, i64)>,
    added: Vec<NewRow>,
    updated: Vec<NewRow>,
    audit: Vec<audit::AuditSet>,
    bumped: Vec<i64>,
}

/// An assignment row as written (its `updated_at` is the write's time).
struct NewRow {
    agent: i64,
    skill: i64,
    proficiency: i64,
    effective: Option<i64>,
    expires: Option<i64>,
}

impl<'a> Planner<'a> {
    /// A planner of a write of about `items` items; `listed` when its audit rows are to name
    /// their write's row (see [`AuditTarget`]).
    fn new(
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
    fn going_ahead(&self) -> bool {
        !(self.opts.dry_run || (self.opts.atomic && self.failed))
    }

    /// Decides `chunk` (the items after those decided so far); its rows, if it changes any.
    fn plan(&mut self, conn: &rusqlite::Connection, chunk: &[AgentWrite]) -> Result<Option<Batch>> {
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
            rows.push(SetRow {
                agent_pk: r.get(0)?,
                skill_pk: r.get(1)?,
                proficiency: r.get(2)?,
                effective: r.get(3)?,
                expires: r.get(4)?,
                updated_at: r.get(5)?,
            });
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
        let (outcomes, failed) =
            common::outcomes(chunk, &self.agents, &mut sets, self.opts, self.ctx.now);
        self.failed |= failed;
        let from = self.outcomes.len();
        self.outcomes.extend(outcomes);
        if !self.going_ahead() {
            return Ok(None);
        }
        let writes = common::writes(chunk, &self.outcomes[from..]);
        if writes.is_empty() {
            return Ok(None);
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
        Ok(Some(Batch {
            added_are_new: !self.repeated,
            deletes: c.deletes,
            added: rows(c.added),
            updated: rows(c.updated),
            audit: match &self.listed {
                Some(list) => {
                    audit::audit_sets(&writes, &self.agents, self.ctx.now, list).collect()
                }
                None => {
                    audit::audit_sets(&writes, &self.agents, self.ctx.now, audit::Inline).collect()
                }
            },
            bumped: c.bumped,
        }))
    }
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

/// Where the audit rows of a write hold what they share: when, which request and client.
enum AuditTarget {
    /// On each row (a small write has one row per agent, often one in all).
    Own,
    /// On one row of `audit_writes`, made with the first audit row: the rows of a large write
    /// name it, and name skills by their place in its list (see `crate::audit`).
    Write(Option<i64>),
}

impl AuditTarget {
    /// Stores the list of skills the write's entries name, once they are all written.
    fn finish(&self, conn: &rusqlite::Connection, skills: &[u8]) -> Result<()> {
        if let AuditTarget::Write(Some(id)) = self {
            conn.execute(
                "UPDATE audit_writes SET skills = ?1 WHERE id = ?2",
                rusqlite::params![skills, id],
            )
            .map_err(sql_err)?;
        }
        Ok(())
    }
}

/// Writes one batch of rows on `conn`, inside its transaction.
fn write_batch(
    conn: &rusqlite::Connection,
    org_pk: i64,
    ctx: &WriteContext,
    b: &Batch,
    audit: &mut AuditTarget,
) -> Result<()> {
    delete_rows(conn, &b.deletes)?;
    insert_rows(conn, ctx.now, &b.added, b.added_are_new)?;
    batched(conn, &b.updated, BATCH_ROWS, upsert_sql, |q, at, r| {
        bind_row(q, at, r, ctx.now)
    })?;
    insert_audit(conn, org_pk, ctx, &b.audit, audit)?;
    bump_versions(conn, &b.bumped)
}

fn delete_rows(conn: &rusqlite::Connection, rows: &[(i64, i64)]) -> Result<()> {
    let mut q = conn
        .prepare_cached("DELETE FROM assignments WHERE agent_id = ?1 AND skill_id = ?2")
        .map_err(sql_err)?;
    for (a, s) in rows {
        q.execute([a, s]).map_err(sql_err)?;
    }
    Ok(())
}

/// `INSERT` of `n` assignment rows (six parameters each).
fn insert_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO assignments (agent_id, skill_id, proficiency, effective_at, expires_at, updated_at) VALUES ",
    );
    sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; n].join(", "));
    sql
}

/// [`insert_sql`] that updates rows that exist.
fn upsert_sql(n: usize) -> String {
    let mut sql = insert_sql(n);
    sql.push_str(
        " ON CONFLICT (agent_id, skill_id) DO UPDATE SET proficiency = excluded.proficiency,
          effective_at = excluded.effective_at, expires_at = excluded.expires_at,
          updated_at = excluded.updated_at",
    );
    sql
}

/// Binds one row's six parameters from index `at` on; says how many it bound.
fn bind_row(
    q: &mut rusqlite::Statement<'_>,
    at: usize,
    r: &NewRow,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    q.raw_bind_parameter(at, r.agent)?;
    q.raw_bind_parameter(at + 1, r.skill)?;
    q.raw_bind_parameter(at + 2, r.proficiency)?;
    q.raw_bind_parameter(at + 3, r.effective)?;
    q.raw_bind_parameter(at + 4, r.expires)?;
    q.raw_bind_parameter(at + 5, now.0)?;
    Ok(6)
}

/// Added rows, one statement execution each (`new`: none of them exists yet).
///
/// New rows one statement execution each, updated ones many rows per statement: measured on
/// SQLite 3.46, each is the faster way for its kind (a multi-row insert of new rows took 1.4×
/// as long; a single-row update 1.3× as long). Rows known to be new go in with a plain
/// INSERT, which took 0.9× the time of the upsert.
fn insert_rows(
    conn: &rusqlite::Connection,
    now: Timestamp,
    rows: &[NewRow],
    new: bool,
) -> Result<()> {
    let sql = if new { insert_sql(1) } else { upsert_sql(1) };
    let mut q = conn.prepare_cached(&sql).map_err(sql_err)?;
    // A parameter bound once keeps its value across executions: the write's time is bound
    // once.
    q.raw_bind_parameter(6, now.0).map_err(sql_err)?;
    for r in rows {
        q.raw_bind_parameter(1, r.agent).map_err(sql_err)?;
        q.raw_bind_parameter(2, r.skill).map_err(sql_err)?;
        q.raw_bind_parameter(3, r.proficiency).map_err(sql_err)?;
        q.raw_bind_parameter(4, r.effective).map_err(sql_err)?;
        q.raw_bind_parameter(5, r.expires).map_err(sql_err)?;
        q.raw_execute().map_err(sql_err)?;
    }
    Ok(())
}

/// One audit row per agent; what every row of the write shares is bound once.
fn insert_audit(
    conn: &rusqlite::Connection,
    org_pk: i64,
    ctx: &WriteContext,
    sets: &[audit::AuditSet],
    target: &mut AuditTarget,
) -> Result<()> {
    let write = match target {
        _ if sets.is_empty() => return Ok(()),
        AuditTarget::Own => None,
        AuditTarget::Write(Some(id)) => Some(*id),
        AuditTarget::Write(slot) => {
            conn.execute(
                "INSERT INTO audit_writes (org_id, at, request_id, client_uuid, skills)
                 VALUES (?1, ?2, ?3, ?4, x'')",
                rusqlite::params![
                    org_pk,
                    ctx.now.0,
                    &ctx.request_id,
                    &ctx.client_id.as_bytes()[..]
                ],
            )
            .map_err(sql_err)?;
            *slot = Some(conn.last_insert_rowid());
            *slot
        }
    };
    if let Some(write) = write {
        let mut q = conn
            .prepare_cached(
                "INSERT INTO audit_sets (uuid, org_id, write_id, agent_id, entries, n)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql_err)?;
        q.raw_bind_parameter(2, org_pk).map_err(sql_err)?;
        q.raw_bind_parameter(3, write).map_err(sql_err)?;
        for set in sets {
            q.raw_bind_parameter(1, &set.uuid.as_bytes()[..])
                .map_err(sql_err)?;
            q.raw_bind_parameter(4, set.agent_pk).map_err(sql_err)?;
            q.raw_bind_parameter(5, &set.entries).map_err(sql_err)?;
            q.raw_bind_parameter(6, set.count).map_err(sql_err)?;
            q.raw_execute().map_err(sql_err)?;
        }
        return Ok(());
    }
    let mut q = conn
        .prepare_cached(
            "INSERT INTO audit_sets (uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, entries, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(sql_err)?;
    q.raw_bind_parameter(2, org_pk).map_err(sql_err)?;
    q.raw_bind_parameter(3, ctx.now.0).map_err(sql_err)?;
    q.raw_bind_parameter(4, &ctx.request_id).map_err(sql_err)?;
    q.raw_bind_parameter(5, &ctx.client_id.as_bytes()[..])
        .map_err(sql_err)?;
    for set in sets {
        q.raw_bind_parameter(1, &set.uuid.as_bytes()[..])
            .map_err(sql_err)?;
        q.raw_bind_parameter(6, set.agent_pk).map_err(sql_err)?;
        q.raw_bind_parameter(7, &set.agent.as_bytes()[..])
            .map_err(sql_err)?;
        q.raw_bind_parameter(8, &set.entries).map_err(sql_err)?;
        q.raw_bind_parameter(9, set.count).map_err(sql_err)?;
        q.raw_execute().map_err(sql_err)?;
    }
    Ok(())
}

/// Each changed agent's version, one up (an agent without a row of `agent_versions` is at
/// version 0; see migration 0005).
fn bump_versions(conn: &rusqlite::Connection, agents: &[i64]) -> Result<()> {
    let mut q = conn
        .prepare_cached(
            "INSERT INTO agent_versions (agent_id, version) VALUES (?1, 1)
             ON CONFLICT (agent_id) DO UPDATE SET version = version + 1",
        )
        .map_err(sql_err)?;
    for pk in agents {
        q.execute([pk]).map_err(sql_err)?;
    }
    Ok(())
}

use crate::tuning::BATCH_ROWS;

/// Runs the statement `sql(n)` of `n` rows over `rows`, `per` rows at a time; `bind` binds
/// one row's parameters from the given index on and says how many it bound.
fn batched<T>(
    conn: &rusqlite::Connection,
    rows: &[T],
    per: usize,
    sql: impl Fn(usize) -> String,
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<usize>,
) -> Result<()> {
    let mut full = None;
    for chunk in rows.chunks(per) {
        let mut partial;
        let q = if chunk.len() == per {
            match &mut full {
                Some(q) => q,
                None => full.insert(conn.prepare_cached(&sql(per)).map_err(sql_err)?),
            }
        } else {
            partial = conn.prepare_cached(&sql(chunk.len())).map_err(sql_err)?;
            &mut partial
        };
        let mut at = 1;
        for row in chunk {
            at += bind(q, at, row).map_err(sql_err)?;
        }
        q.raw_execute().map_err(sql_err)?;
    }
    Ok(())
}

/// The start of a read of audit entries: the columns `audit::stored_set` reads, of the rows
/// `s` of `audit_sets`. A row of a large write takes what it leaves out from its write's row
/// and from its agent (see migration 0004). A macro, so that `concat!` can finish it.
macro_rules! select_audit {
    () => {
        "SELECT s.id, s.uuid, coalesce(s.at, w.at), coalesce(s.request_id, w.request_id),
           coalesce(s.client_uuid, w.client_uuid), coalesce(s.agent_uuid, a.uuid), s.entries,
           w.skills
         FROM audit_sets s
         LEFT JOIN audit_writes w ON w.id = s.write_id
         LEFT JOIN agents a ON a.id = s.agent_id AND s.agent_uuid IS NULL"
    };
}

/// An agent's audit entries, newest first (see `per_backend/trail.rs`): `$1` the agent's key, `$2`
/// the last row, `$3` how many rows.
pub(super) const AGENT_AUDIT: &str = concat!(
    select_audit!(),
    " WHERE s.agent_id = $1 AND s.id <= $2 ORDER BY s.id DESC LIMIT $3"
);

/// The organization's audit entries, oldest first (see `per_backend/trail.rs`): `$1` its id, `$2`
/// the first row, `$3` the earliest time, `$4` how many rows.
pub(super) const ORG_AUDIT: &str = concat!(
    select_audit!(),
    " WHERE s.org_id = (SELECT id FROM orgs WHERE uuid = $1) AND s.id >= $2
       AND coalesce(s.at, w.at) >= $3
     ORDER BY s.id LIMIT $4"
);
