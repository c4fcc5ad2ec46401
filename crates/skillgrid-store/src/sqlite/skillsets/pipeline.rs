//! A large skill-set write on SQLite (more than `tuning::PIPELINE_FROM` agents), pipelined
//! over two threads: a planner reads and decides the items a chunk at a time on a connection
//! of its own, and the writer writes each chunk's rows in the write's transaction meanwhile.
//! What passes between them is a [`Plan`], over a channel of `tuning::PLANS_AHEAD` messages.
//!
//! Here too: the large write's transaction and foreign-key checks ([`write_large`]), and
//! what the background checkpoint learns of large writes ([`Activity`]).

use super::handle::{foreign_keys_on, on_handle, sql_err, ForeignKeysOff};
use super::plan::{Batch, Planner};
use super::statements::{write_batch, AuditTarget};
use super::{org_keys_sync, OrgKeys};
use crate::tuning::{PLANS_AHEAD, PLAN_CHUNK};
use crate::*;
// Named apart from this file's own `Items`, the decided items'.
use crate::write::Items as Source;
use sqlx::sqlite::SqlitePool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

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
                let planning = Planning {
                    reader: &mut reader,
                    keys: &keys,
                    ctx,
                    source: items,
                    opts,
                    alongside,
                };
                write_pipelined(tx, planning)
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
pub(in crate::sqlite) struct LargeWrites {
    /// Their reads, on a connection of their own (see [`write_pipelined`]).
    pub reader: std::sync::Mutex<rusqlite::Connection>,
    /// The background checkpoint waits while they come.
    pub activity: Arc<Activity>,
}

/// Large writes under way (or waiting for the writer), and how many have ended.
#[derive(Default)]
pub(in crate::sqlite) struct Activity {
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

/// What the planner's thread hands the writer's, in order: a `Rows` for each planned chunk that
/// changes anything, then `Keep` or `Discard` once every item is decided. A channel that closes
/// before either means the planner failed (its error is the one reported); a writer that fails
/// drops its end, and the planner stops at its next hand-over.
enum Plan<'i> {
    /// One chunk's rows, to be written at once.
    Rows(Batch),
    /// Every item is decided and every row handed over: the write is to be kept. `skills` is
    /// the list of skills its audit entries name (see `crate::audit`); `decided`, the items
    /// with their outcomes, for the writer's share of the work beside the write.
    Keep {
        skills: Vec<u8>,
        decided: Arc<Decided<'i>>,
    },
    /// Every item is decided and nothing is to be kept (a dry run, an atomic write with a
    /// failed item, a write that changes nothing, or a producer that did not say go): what was
    /// written is rolled back.
    Discard,
}

/// What the planner's thread ends with: the items decided, and whether the producer said go.
type Planned<'i> = (Arc<Decided<'i>>, bool);

/// What the planner's thread plans from.
struct Planning<'a, 'i> {
    /// Its own connection, for its reads (moved to its thread: a connection is used by one
    /// thread at a time).
    reader: &'a mut rusqlite::Connection,
    keys: &'a OrgKeys,
    ctx: &'a WriteContext,
    source: Source<'i>,
    opts: WriteOptions,
    /// The work beside the write, which the planner's thread starts once every item is
    /// decided and the write is to be kept.
    alongside: Option<&'a OutcomeSink<'a>>,
}

/// A large write in two threads, with the organization's keys read (on `tx`):
///
/// - a planner, on its `reader`, reads the agents and their current sets a chunk at a time,
///   decides every item, and hands each chunk's rows to the writer; once every item is
///   decided it calls `alongside` with the outcomes ([`plan_all`]);
/// - the writer, on `tx`, writes each chunk's rows as they come ([`write_all`]), and commits.
///
/// The reader sees what `tx` saw before its first change: `tx` holds the database's only write
/// lock from before the planner starts, so nothing can be committed in between, and its own
/// changes are not visible to other connections.
fn write_pipelined(
    tx: rusqlite::Transaction<'_>,
    planning: Planning<'_, '_>,
) -> Result<LargeOutcome> {
    let (org_pk, ctx, alongside) = (planning.keys.pk, planning.ctx, planning.alongside);
    std::thread::scope(|s| {
        let (plans, planned) = std::sync::mpsc::sync_channel(PLANS_AHEAD);
        let planner = s.spawn(move || plan_all(planning, plans));
        let kept = write_all(&tx, org_pk, ctx, planned);
        let (committed, decided) = match kept {
            Ok(Some(decided)) => (tx.commit().map(|()| true).map_err(sql_err), Some(decided)),
            Ok(None) => (Ok(false), None),
            Err(e) => (Err(e), None),
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

/// The writer's side of [`write_pipelined`]: writes the rows of each [`Plan`] as it comes, on
/// `tx`. The decided items when the write is to be kept (the caller commits), `None` when not.
fn write_all<'i>(
    tx: &rusqlite::Connection,
    org_pk: i64,
    ctx: &WriteContext,
    planned: Receiver<Plan<'i>>,
) -> Result<Option<Arc<Decided<'i>>>> {
    let mut audit = AuditTarget::Write(None);
    while let Ok(plan) = planned.recv() {
        match plan {
            Plan::Rows(b) => write_batch(tx, org_pk, ctx, &b, &mut audit)?,
            Plan::Keep { skills, decided } => {
                audit.finish(tx, &skills)?;
                return Ok(Some(decided));
            }
            Plan::Discard => return Ok(None),
        }
    }
    // The planner failed; its error is the one reported.
    Ok(None)
}

/// The planner's side of [`write_pipelined`], on a thread of its own. Items come from
/// `source`: a slice, planned `PLAN_CHUNK` at a time, or a producer run on this thread, each
/// chunk planned as it is made; a producer that does not say go at the end leaves nothing.
fn plan_all<'i>(planning: Planning<'_, 'i>, plans: SyncSender<Plan<'i>>) -> Result<Planned<'i>> {
    let Planning {
        reader,
        keys,
        ctx,
        source,
        opts,
        alongside,
    } = planning;
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
            return Ok(plans.send(Plan::Rows(b)).is_ok());
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
                Some(Ok(())) => return Ok((Decided::new(Items::Owned(fed), planner), go_ahead)),
                Some(Err(e)) => return Err(e),
                None => (Items::Owned(fed), go_ahead),
            }
        }
    };
    drop(read);
    let keep = wrote && go_ahead && planner.going_ahead();
    let skills = planner.listed.as_ref().map(|l| l.borrow().to_bytes());
    let done = Decided::new(items, planner);
    let plan = if keep {
        Plan::Keep {
            skills: skills.unwrap_or_default(),
            decided: done.clone(),
        }
    } else {
        Plan::Discard
    };
    // A writer that failed is gone: its error is the one reported.
    let _ = plans.send(plan);
    if keep {
        if let Some(f) = alongside {
            f(done.items(), &done.outcomes);
        }
    }
    Ok((done, go_ahead))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The background checkpoint waits while a large write runs and for one tick after each
    /// ends, so that it does not copy one write's pages while the next is being written.
    #[test]
    fn the_checkpoint_waits_while_large_writes_come() {
        use std::sync::atomic::Ordering::Relaxed;
        let a = Activity::default();
        let mut seen = 0;
        assert!(!a.busy_since(&mut seen));
        a.running.fetch_add(1, Relaxed);
        assert!(a.busy_since(&mut seen));
        a.running.fetch_sub(1, Relaxed);
        a.finished.fetch_add(1, Relaxed);
        assert!(
            a.busy_since(&mut seen),
            "the tick right after a write ended"
        );
        assert!(!a.busy_since(&mut seen));
    }
}
