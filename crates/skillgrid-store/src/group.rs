//! Group commit of small skill-set writes: the queue both backends share.
//!
//! When many clients each write one skill at once, a transaction per request spends most of
//! its time on what every transaction costs (round trips, locks, the wait for the disk at
//! commit) rather than on the rows. Instead, small writes are queued; a leader takes every write
//! waiting and hands them to the backend's `run`, which writes them in one transaction (or a
//! few), each request still all-or-nothing, and answers each. There may be several leaders at
//! once (PostgreSQL): a group that waits for a row another process has locked then holds up
//! only the writes in it, not every small write of every organization. A request
//! is answered only after the commit that holds its changes, so what a crash leaves behind is
//! the same as with one transaction per request: every answered write is on disk, every
//! request is wholly in or wholly out.
//!
//! `run` goes to a task of its own, so a request dropped while it leads (a client that
//! disconnects) cannot abandon the others' writes half-way.

use crate::*;
use std::future::Future;
use std::sync::Mutex;
use tokio::sync::oneshot;

use crate::tuning::GROUP_MAX as MAX_GROUP;
pub(crate) use crate::tuning::GROUP_SMALL as SMALL;

/// One queued write and where its answer goes.
pub(crate) struct Job {
    pub org: OrgId,
    pub ctx: WriteContext,
    pub items: Vec<AgentWrite>,
    pub opts: WriteOptions,
    pub reply: oneshot::Sender<Result<WriteResult>>,
}

impl Job {
    /// Answers the write; a request that went away meanwhile has nobody to tell.
    pub(crate) fn answer(self, r: Result<WriteResult>) {
        let _ = self.reply.send(r);
    }
}

/// Answers every job with the error that kept their transaction from committing.
pub(crate) fn fail_all(jobs: impl IntoIterator<Item = Job>, e: &StoreError) {
    let full = matches!(e, StoreError::Full);
    let e = format!("{e:#}");
    for j in jobs {
        j.answer(Err(if full {
            StoreError::Full
        } else {
            StoreError::Other(anyhow::anyhow!("the write was not committed: {e}"))
        }));
    }
}

pub(crate) struct GroupCommit {
    queue: Mutex<Vec<Job>>,
    leaders: tokio::sync::Semaphore,
}

fn lost() -> StoreError {
    StoreError::Other(anyhow::anyhow!(
        "the grouped write was lost before it was answered"
    ))
}

impl GroupCommit {
    /// A group commit with at most `leaders` groups being written at once (at least one).
    pub(crate) fn new(leaders: usize) -> Self {
        GroupCommit {
            queue: Mutex::new(Vec::new()),
            leaders: tokio::sync::Semaphore::new(leaders.max(1)),
        }
    }

    /// Queues the write and waits for its answer; `run` writes and answers a group of jobs
    /// (every job it is given, each exactly once).
    pub(crate) async fn write<F, Fut>(
        &self,
        org: OrgId,
        ctx: &WriteContext,
        items: &[AgentWrite],
        opts: WriteOptions,
        run: F,
    ) -> Result<WriteResult>
    where
        F: FnOnce(Vec<Job>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
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
        // Never closed, so acquiring cannot fail; were it closed, the write is lost, not hung.
        let Ok(leader) = self.leaders.acquire().await else {
            return Err(lost());
        };
        // The leader before us may have taken this write into its group already.
        match rx.try_recv() {
            Ok(r) => return r,
            Err(oneshot::error::TryRecvError::Closed) => return Err(lost()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        // A write whose request went away before any leader took it (a client that
        // disconnected while it waited) is dropped unwritten, as it would be without grouping.
        let jobs: Vec<Job> = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let n = q.len().min(MAX_GROUP);
            q.drain(..n).filter(|j| !j.reply.is_closed()).collect()
        };
        if !jobs.is_empty() {
            // Awaited as leader; if this request is dropped meanwhile, the task
            // still finishes and answers every write it took.
            let _ = tokio::spawn(run(jobs)).await;
        }
        drop(leader);
        // Answered by now, or by a group still running that took it earlier.
        rx.await.map_err(|_| lost())?
    }
}
