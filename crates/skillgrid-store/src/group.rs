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

use crate::batch::{Batcher, Queued};
use crate::*;
use std::future::Future;
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

impl Queued for Job {
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }
}

/// Answers every job with the error that kept their transaction from committing.
pub(crate) fn fail_all(jobs: impl IntoIterator<Item = Job>, e: &StoreError) {
    for j in jobs {
        j.answer(Err(e.shared("the write was not committed")));
    }
}

pub(crate) struct GroupCommit(Batcher<Job>);

fn lost() -> StoreError {
    StoreError::Other(anyhow::anyhow!(
        "the grouped write was lost before it was answered"
    ))
}

impl GroupCommit {
    /// A group commit with at most `leaders` groups being written at once (at least one).
    pub(crate) fn new(leaders: usize) -> Self {
        GroupCommit(Batcher::new(leaders, MAX_GROUP))
    }

    /// Queues the write and waits for its answer; `run` writes and answers a group of jobs
    /// (every job it is given, each exactly once). A write whose request went away before any
    /// group took it (a client that disconnected while it waited) is dropped unwritten, as it
    /// would be without grouping.
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
        let (reply, answer) = oneshot::channel();
        let job = Job {
            org,
            ctx: ctx.clone(),
            items: items.to_vec(),
            opts,
            reply,
        };
        self.0.submit(job, answer, run).await.map_err(|_| lost())?
    }
}
