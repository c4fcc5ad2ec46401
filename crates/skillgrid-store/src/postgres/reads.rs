//! Reads of one agent's skills, batched: the read every `GET` of an agent's skills makes.
//!
//! Each such read alone is one statement for about ten rows, and what it costs is mostly what
//! every statement costs: a round trip, waking a PostgreSQL backend and then the task that
//! waits for it, parsing the protocol's messages on both sides. When many requests read at
//! once, the reads waiting are taken together into one statement, whose rows say which read
//! each belongs to.
//!
//! A read is taken into a statement only after it was queued, and the statement starts after
//! it is taken, so it sees every change committed before the read was asked for, as a
//! statement of its own would: a client that was answered a write and then reads finds its
//! write. The reads of one statement see one snapshot. At most a few statements run at once
//! ([`Reads::new`]); a read that finds all of them busy waits for one to end, and is answered
//! by whichever statement takes it. With nothing else reading, a read is a statement of its
//! own at once. The queue and its turns are `crate::batch`'s, as the group commit's are.

use super::held::Held;
use super::read_set;
use crate::batch::{Batcher, Queued};
use crate::*;
use sqlx::postgres::PgConnectOptions;
use sqlx::Row;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The generation of the organization and the agent's set, if it has that agent.
type Answer = Result<(i64, Option<AgentSkillSet>)>;

/// At most this many reads are taken into one statement: enough to share its cost among
/// every request a busy server holds, few enough that its rows stay a few thousand.
const MAX_BATCH: usize = 256;

struct Wanted {
    org: OrgId,
    agent: AgentId,
    reply: oneshot::Sender<Answer>,
}

pub(super) struct Reads {
    batches: Batcher<Wanted>,
    /// A connection for each statement that may run at once, used for nothing else.
    connections: Arc<Held>,
}

impl Queued for Wanted {
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }
}

/// The organizations' generations, their agents' ids, versions and active flags, and then
/// one assignment per row, for each pair of the arrays, with the pair's place in them last.
/// A pair whose organization does not exist has no row; an agent the organization does not
/// have is one row of NULLs after the generation; an agent without skills, one row of NULLs
/// after its own columns. Rows come in the arrays' order, each agent's skills by name.
///
/// Each lookup is a subquery of its own (`OFFSET 0` keeps the planner from merging it into
/// the join), so that each pair is found through the unique index on its organization's or
/// agent's id, and its assignments through the agent's: the plan cannot depend on how many
/// rows the planner guesses the array holds or each organization has. Merged, with the
/// statistics of a table freshly filled, it scanned every agent of the organization for each
/// pair (7 ms for 30 pairs of 1,000 agents, against 0.8 ms this way), or hashed every
/// assignment of the database.
const READ: &str = "
SELECT o.generation, a.id, a.version, a.active, x.uuid, x.proficiency, x.effective_at,
       x.expires_at, x.updated_at, q.n
FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS q(org, agent, n)
CROSS JOIN LATERAL (SELECT id, generation FROM orgs WHERE uuid = q.org OFFSET 0) o
LEFT JOIN LATERAL (SELECT id, org_id, version, active FROM agents
                   WHERE uuid = q.agent OFFSET 0) a ON a.org_id = o.id
LEFT JOIN LATERAL (SELECT s.uuid, s.name_key, x.proficiency, x.effective_at, x.expires_at,
                          x.updated_at
                   FROM assignments x JOIN skills s ON s.id = x.skill_id
                   WHERE x.agent_id = a.id OFFSET 0) x ON true
ORDER BY q.n, x.name_key, x.uuid";

impl Reads {
    /// Batched reads of the database `options` names, with at most `statements` of them
    /// running at once (at least one).
    pub(super) fn new(options: &PgConnectOptions, statements: u32) -> Self {
        Reads {
            batches: Batcher::new(statements as usize, MAX_BATCH),
            connections: Arc::new(Held::new(options, statements)),
        }
    }

    /// The organization's generation and the agent's set (see `Store::agent_skills_at_generation`).
    pub(super) async fn read(&self, org: OrgId, agent: AgentId) -> Answer {
        let (reply, answer) = oneshot::channel();
        let connections = self.connections.clone();
        let run = |batch| async move { self::answer(&connections, batch).await };
        let wanted = Wanted { org, agent, reply };
        self.batches
            .submit(wanted, answer, run)
            .await
            .map_err(|_| {
                StoreError::Other(anyhow::anyhow!(
                    "the batched read ended before it was answered"
                ))
            })?
    }
}

/// Reads the batch in one statement and answers each read.
async fn answer(connections: &Held, batch: Vec<Wanted>) {
    let orgs: Vec<Uuid> = batch.iter().map(|w| w.org.get()).collect();
    let agents: Vec<Uuid> = batch.iter().map(|w| w.agent.get()).collect();
    let rows = match connections.take().await {
        Ok(mut conn) => {
            let rows = sqlx::query(READ)
                .bind(&orgs)
                .bind(&agents)
                .fetch_all(&mut *conn)
                .await;
            if rows.is_ok() {
                conn.keep();
            }
            rows
        }
        Err(e) => Err(e),
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            let e = StoreError::from(e);
            for w in batch {
                let _ = w.reply.send(Err(e.shared("the batched read failed")));
            }
            return;
        }
    };
    let mut rows = rows.as_slice();
    for (i, w) in batch.into_iter().enumerate() {
        let place = i as i64 + 1;
        let mine = rows
            .iter()
            .position(|r| r.try_get::<i64, _>(9).map_or(true, |n| n != place))
            .unwrap_or(rows.len());
        let (own, rest) = rows.split_at(mine);
        rows = rest;
        let answer = match read_set(own) {
            Ok((Some(generation), set)) => Ok((generation, set)),
            Ok((None, _)) => Err(StoreError::NotFound),
            Err(e) => Err(e),
        };
        let _ = w.reply.send(answer);
    }
}
