//! Work that many requests queue and one of them does for all: the shape shared by the group
//! commit of small writes (`crate::group`) and PostgreSQL's batched reads
//! (`postgres/reads.rs`).
//!
//! A request queues its job, then either finds it answered or takes a turn (at most `turns`
//! run at once). With its turn, it takes every job still waiting (its own among them, up to a
//! maximum) and hands them to `run`, which answers each. `run` goes to a task of its own, so a
//! request dropped while it holds the turn (a client that disconnected) cannot abandon the
//! others' jobs half-way. A job is taken only after it was queued, and `run` starts after it
//! is taken.

use std::future::Future;
use std::sync::Mutex;
use tokio::sync::{oneshot, Semaphore};

/// A queued job: it carries the sender its answer goes to.
pub(crate) trait Queued: Send + 'static {
    /// True when whoever queued the job is gone (its receiver dropped): nobody waits for the
    /// answer, and the job is dropped undone.
    fn abandoned(&self) -> bool;
}

/// The job's answer never came: the task that took it ended without answering it.
pub(crate) struct Lost;

pub(crate) struct Batcher<J> {
    queue: Mutex<Vec<J>>,
    turns: Semaphore,
    max: usize,
}

impl<J: Queued> Batcher<J> {
    /// At most `turns` batches run at once (at least one), each of at most `max` jobs.
    pub(crate) fn new(turns: usize, max: usize) -> Self {
        Batcher {
            queue: Mutex::new(Vec::new()),
            turns: Semaphore::new(turns.max(1)),
            max: max.max(1),
        }
    }

    /// Queues `job`, whose answer comes on `answer`, and waits for that answer. `run` does a
    /// batch of jobs and answers every one it is given, each once.
    pub(crate) async fn submit<A, F, Fut>(
        &self,
        job: J,
        mut answer: oneshot::Receiver<A>,
        run: F,
    ) -> Result<A, Lost>
    where
        F: FnOnce(Vec<J>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(job);
        // Answered by a batch another request started, or this request starts one.
        let turn = tokio::select! {
            biased;
            a = &mut answer => return a.map_err(|_| Lost),
            turn = self.turns.acquire() => turn,
        };
        // Never closed, so acquiring cannot fail; were it closed, the job is lost, not hung.
        let Ok(turn) = turn else {
            return Err(Lost);
        };
        // The batch before may have taken this job already.
        match answer.try_recv() {
            Ok(a) => return Ok(a),
            Err(oneshot::error::TryRecvError::Closed) => return Err(Lost),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let jobs: Vec<J> = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let n = q.len().min(self.max);
            q.drain(..n).filter(|j| !j.abandoned()).collect()
        };
        if !jobs.is_empty() {
            let _ = tokio::spawn(run(jobs)).await;
        }
        drop(turn);
        // Answered by now: this job was queued until a batch took it.
        answer.await.map_err(|_| Lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Double {
        n: u64,
        reply: oneshot::Sender<u64>,
    }

    impl Queued for Double {
        fn abandoned(&self) -> bool {
            self.reply.is_closed()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_job_is_answered_once_in_batches() {
        let batcher = Arc::new(Batcher::new(1, 8));
        let batches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for n in 0..200u64 {
            let (batcher, batches) = (batcher.clone(), batches.clone());
            tasks.push(tokio::spawn(async move {
                let (reply, answer) = oneshot::channel();
                let run = |jobs: Vec<Double>| async move {
                    assert!(jobs.len() <= 8);
                    batches.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                    for j in jobs {
                        let _ = j.reply.send(j.n * 2);
                    }
                };
                batcher.submit(Double { n, reply }, answer, run).await
            }));
        }
        for (n, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap().ok(), Some(n as u64 * 2));
        }
        let batches = batches.load(Ordering::Relaxed);
        assert!((25..=200).contains(&batches), "{batches} batches");
    }

    #[tokio::test]
    async fn a_job_its_batch_leaves_unanswered_is_lost_not_hung() {
        let batcher = Batcher::new(1, 8);
        let (reply, answer) = oneshot::channel::<u64>();
        let run = |jobs: Vec<Double>| async move { drop(jobs) };
        let r = batcher.submit(Double { n: 1, reply }, answer, run).await;
        assert!(r.is_err());
    }
}
