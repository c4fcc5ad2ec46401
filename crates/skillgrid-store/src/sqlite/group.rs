//! Group commit of small skill-set writes on SQLite.
//!
//! SQLite has one writer, and with `synchronous=FULL` every commit waits for the disk. When many
//! clients each write one skill at once, a transaction per request queues them all behind that
//! wait. Instead, small writes are queued; whoever holds the leader lock takes every write
//! waiting and runs them in one transaction, each in its own savepoint (a failing write is
//! rolled back alone, and each request stays all-or-nothing), commits once, and then answers
//! each. A request is answered only after the commit that holds its changes, so what a crash
//! leaves behind is the same as with one transaction per request: every answered write is on
//! disk, every request is wholly in or wholly out.
//!
//! The batch runs in a task of its own, so a request dropped while it leads (a client that
//! disconnects) cannot abandon the others' writes half-way.

use super::skillsets;
use crate::*;
use sqlx::sqlite::SqlitePool;
use sqlx::SqliteConnection;
use std::collections::hash_map::{Entry, HashMap};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Writes of at most this many agents are grouped; larger ones have a transaction of their own.
pub(super) const SMALL: usize = 16;
/// At most this many writes share one transaction.
const MAX_GROUP: usize = 256;

struct Job {
    org: Uuid,
    ctx: WriteContext,
    items: Vec<AgentWrite>,
    opts: WriteOptions,
    reply: oneshot::Sender<Result<WriteResult>>,
}

#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<Vec<Job>>,
    leader: tokio::sync::Mutex<()>,
}

fn lost() -> StoreError {
    StoreError::Other(anyhow::anyhow!(
        "the grouped write was lost before it was answered"
    ))
}

impl GroupCommit {
    pub(super) async fn write(
        &self,
        pool: &SqlitePool,
        org: Uuid,
        ctx: &WriteContext,
        items: &[AgentWrite],
        opts: WriteOptions,
    ) -> Result<WriteResult> {
        let (reply, mut rx) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Job {
                org,
                ctx: ctx.clone(),
                items: items.to_vec(),
                opts,
                reply,
            });
        let leader = self.leader.lock().await;
        // The leader before us may have taken this write into its group already.
        match rx.try_recv() {
            Ok(r) => return r,
            Err(oneshot::error::TryRecvError::Closed) => return Err(lost()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let jobs: Vec<Job> = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let n = q.len().min(MAX_GROUP);
            q.drain(..n).collect()
        };
        if !jobs.is_empty() {
            // Awaited under the leader lock; if this request is dropped meanwhile, the task
            // still finishes and answers every write it took.
            let _ = tokio::spawn(run(pool.clone(), jobs)).await;
        }
        drop(leader);
        // Answered by now, or by a group still running that took it earlier.
        rx.await.map_err(|_| lost())?
    }
}

async fn run(pool: SqlitePool, mut jobs: Vec<Job>) {
    if jobs.len() == 1 {
        let j = jobs.remove(0);
        let r = skillsets::write(&pool, j.org, &j.ctx, &j.items, j.opts).await;
        let _ = j.reply.send(r);
        return;
    }
    let results = async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let results = each_in_savepoint(&mut tx, &jobs).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(results)
    }
    .await;
    match results {
        Ok(results) => {
            for (j, r) in jobs.into_iter().zip(results) {
                let _ = j.reply.send(r);
            }
        }
        Err(e) => {
            // Nothing of the group was committed: every write in it fails.
            let e = format!("{e:#}");
            for j in jobs {
                let _ = j.reply.send(Err(StoreError::Other(anyhow::anyhow!(
                    "the write was not committed: {e}"
                ))));
            }
        }
    }
}

/// Each write in a savepoint of its own; an error in savepoint handling fails the group.
async fn each_in_savepoint(
    tx: &mut SqliteConnection,
    jobs: &[Job],
) -> Result<Vec<Result<WriteResult>>> {
    let mut results = Vec::with_capacity(jobs.len());
    // Read once per organization in the group, not once per write.
    let mut keys: HashMap<Uuid, skillsets::OrgKeys> = HashMap::new();
    for j in jobs {
        sqlx::query("SAVEPOINT grouped").execute(&mut *tx).await?;
        let org_keys = match keys.entry(j.org) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => match skillsets::org_keys(tx, j.org).await {
                Ok(k) => e.insert(k),
                Err(err) => {
                    sqlx::query("RELEASE grouped").execute(&mut *tx).await?;
                    results.push(Err(err));
                    continue;
                }
            },
        };
        let r = skillsets::write_with(tx, org_keys, &j.ctx, &j.items, j.opts).await;
        if !matches!(&r, Ok(w) if w.committed) {
            sqlx::query("ROLLBACK TO grouped").execute(&mut *tx).await?;
        }
        sqlx::query("RELEASE grouped").execute(&mut *tx).await?;
        results.push(r);
    }
    Ok(results)
}
