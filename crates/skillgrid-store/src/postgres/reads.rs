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
//!
//! The statement reads the assignments' skill keys, not their skills: each organization's
//! skills (id, and place in the order of their names) are kept here for the generation they
//! were read at, and a set is mapped and sorted by them. A skill's creation, rename or
//! deletion moves the organization's generation, which the statement reads with the sets, so
//! a kept catalog is used only for the reads of its own generation; for any other, the
//! catalog is read again. A read the catalog cannot map (it was changed between the two
//! statements) is read again with its skills joined. Without the join and its sort, the
//! statement costs PostgreSQL about half as much (`EXPLAIN ANALYZE`, 20 reads of ten skills:
//! 0.19 ms against 0.41 ms).

use super::held::Held;
use super::read_set;
use crate::batch::{Batcher, Queued};
use crate::*;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Row as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    shared: Arc<Shared>,
}

/// What the statements of the batches share.
struct Shared {
    /// A connection for each statement that may run at once, used for nothing else.
    connections: Held,
    /// Each organization's catalog as last read.
    catalogs: Mutex<Kept>,
}

/// The catalogs kept, by their organization's key, and how many skills they hold together.
#[derive(Default)]
struct Kept {
    by_org: HashMap<i64, Arc<Catalog>>,
    skills: usize,
}

impl Kept {
    /// Keeps `catalog` for `org`, unless a later one is kept (another statement may have read
    /// one meanwhile); drops every catalog first when the skills kept would pass the bound.
    fn keep(&mut self, org: i64, catalog: Arc<Catalog>) {
        if self
            .by_org
            .get(&org)
            .is_some_and(|k| k.generation >= catalog.generation)
        {
            return;
        }
        if self.skills + catalog.skills.len() > MAX_KEPT_SKILLS {
            *self = Kept::default();
        }
        self.skills += catalog.skills.len();
        if let Some(old) = self.by_org.insert(org, catalog) {
            self.skills -= old.skills.len();
        }
    }
}

/// At most this many skills are kept, over every organization's catalog (about 50 bytes
/// each); past it, every catalog is dropped and read again as it is needed.
const MAX_KEPT_SKILLS: usize = 100_000;

/// An organization's skills at one generation: each skill's id and its place in the order of
/// the skills' names, by its key.
struct Catalog {
    generation: i64,
    skills: HashMap<i64, (Uuid, i64)>,
}

impl Queued for Wanted {
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }
}

/// For each pair of the arrays, as in [`READ_NAMED`] below, but each assignment with its
/// skill's key rather than its skill, and the organization's key after its generation; the
/// rows of each pair together, in the arrays' order.
const READ: &str = "
SELECT o.generation, o.id, a.id, a.version, a.active, x.skill_id, x.proficiency,
       x.effective_at, x.expires_at, x.updated_at, q.n
FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS q(org, agent, n)
CROSS JOIN LATERAL (SELECT id, generation FROM orgs WHERE uuid = q.org OFFSET 0) o
LEFT JOIN LATERAL (SELECT id, org_id, version, active FROM agents
                   WHERE uuid = q.agent OFFSET 0) a ON a.org_id = o.id
LEFT JOIN LATERAL (SELECT skill_id, proficiency, effective_at, expires_at, updated_at
                   FROM assignments WHERE agent_id = a.id OFFSET 0) x ON true
ORDER BY q.n";

/// A row of [`READ`].
type ReadRow = (
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<bool>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
);

/// An organization's generation and its skills (none: one row of NULLs after it), each with
/// its place in the order [`READ_NAMED`] sorts by, in the database's collation.
const CATALOG: &str = "
SELECT o.generation, s.id, s.uuid, row_number() OVER (ORDER BY s.name_key, s.uuid)
FROM orgs o LEFT JOIN skills s ON s.org_id = o.id
WHERE o.id = $1";

/// [`READ`] with each assignment's skill joined, sorted by name: the organizations'
/// generations, their agents' ids, versions and active flags, and then one assignment per
/// row, for each pair of the arrays, with the pair's place in them last. A pair whose
/// organization does not exist has no row; an agent the organization does not have is one
/// row of NULLs after the generation; an agent without skills, one row of NULLs after its own
/// columns. Rows come in the arrays' order, each agent's skills by name.
///
/// Each lookup is a subquery of its own (`OFFSET 0` keeps the planner from merging it into
/// the join), so that each pair is found through the unique index on its organization's or
/// agent's id, and its assignments through the agent's: the plan cannot depend on how many
/// rows the planner guesses the array holds or each organization has. Merged, with the
/// statistics of a table freshly filled, it scanned every agent of the organization for each
/// pair (7 ms for 30 pairs of 1,000 agents, against 0.8 ms this way), or hashed every
/// assignment of the database.
const READ_NAMED: &str = "
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
            shared: Arc::new(Shared {
                connections: Held::new(options, statements),
                catalogs: Mutex::new(Kept::default()),
            }),
        }
    }

    /// Empties every kept catalog but keeps its generation: what a catalog read between a
    /// skill's change and the statement that read a set would look like to that set.
    #[cfg(test)]
    pub(super) fn empty_kept_catalogs(&self) {
        let mut kept = self.shared.catalogs.lock().unwrap();
        for c in kept.by_org.values_mut() {
            *c = Arc::new(Catalog {
                generation: c.generation,
                skills: HashMap::new(),
            });
        }
        kept.skills = 0;
    }

    /// The organization's generation and the agent's set (see `Store::agent_skills_at_generation`).
    pub(super) async fn read(&self, org: OrgId, agent: AgentId) -> Answer {
        let (reply, answer) = oneshot::channel();
        let shared = self.shared.clone();
        let run = |batch| async move { self::answer(&shared, batch).await };
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
async fn answer(shared: &Shared, batch: Vec<Wanted>) {
    let answers = match shared.connections.take().await {
        Ok(mut conn) => {
            let answers = read(shared, &mut conn, &batch).await;
            if answers.is_ok() {
                conn.keep();
            }
            answers
        }
        Err(e) => Err(StoreError::from(e)),
    };
    match answers {
        Ok(answers) => {
            for (w, answer) in batch.into_iter().zip(answers) {
                let _ = w.reply.send(answer);
            }
        }
        Err(e) => {
            for w in batch {
                let _ = w.reply.send(Err(e.shared("the batched read failed")));
            }
        }
    }
}

/// The answer to each read of `batch`, in its order.
async fn read(shared: &Shared, conn: &mut PgConnection, batch: &[Wanted]) -> Result<Vec<Answer>> {
    let orgs: Vec<Uuid> = batch.iter().map(|w| w.org.get()).collect();
    let agents: Vec<Uuid> = batch.iter().map(|w| w.agent.get()).collect();
    let rows: Vec<ReadRow> = sqlx::query_as(READ)
        .bind(&orgs)
        .bind(&agents)
        .fetch_all(&mut *conn)
        .await?;
    let mut answers = Vec::with_capacity(batch.len());
    // The reads the kept catalogs could not map, by their place in the batch.
    let mut again = Vec::new();
    let mut rows = rows.as_slice();
    for i in 0..batch.len() {
        let place = i as i64 + 1;
        let mine = rows
            .iter()
            .position(|r| r.10 != place)
            .unwrap_or(rows.len());
        let (own, rest) = rows.split_at(mine);
        rows = rest;
        let Some(first) = own.first() else {
            // No row: the organization does not exist.
            answers.push(Err(StoreError::NotFound));
            continue;
        };
        let (generation, org) = (first.0, first.1);
        let (Some(_), Some(version), Some(active)) = (first.2, first.3, first.4) else {
            answers.push(Ok((generation, None)));
            continue;
        };
        let skills = if own.iter().all(|r| r.5.is_none()) {
            Some(Vec::new())
        } else {
            let catalog = catalog(shared, conn, org, generation).await?;
            catalog.and_then(|c| skills(&c, own))
        };
        match skills {
            Some(skills) => answers.push(Ok((
                generation,
                Some(AgentSkillSet {
                    version,
                    active,
                    skills,
                }),
            ))),
            None => {
                again.push(i);
                answers.push(Err(StoreError::NotFound));
            }
        }
    }
    if !again.is_empty() {
        let orgs: Vec<Uuid> = again.iter().map(|&i| orgs[i]).collect();
        let agents: Vec<Uuid> = again.iter().map(|&i| agents[i]).collect();
        for (i, answer) in again
            .into_iter()
            .zip(read_named(conn, &orgs, &agents).await?)
        {
            answers[i] = answer;
        }
    }
    Ok(answers)
}

/// The organization's catalog at `generation`: the one kept, or read now. None when the
/// organization's generation has moved since the read (its catalog cannot map the read).
async fn catalog(
    shared: &Shared,
    conn: &mut PgConnection,
    org: i64,
    generation: i64,
) -> Result<Option<Arc<Catalog>>> {
    let kept = shared
        .catalogs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .by_org
        .get(&org)
        .cloned();
    if let Some(c) = kept.filter(|c| c.generation == generation) {
        return Ok(Some(c));
    }
    let rows: Vec<(i64, Option<i64>, Option<Uuid>, i64)> = sqlx::query_as(CATALOG)
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
    let Some(read_at) = rows.first().map(|r| r.0) else {
        // The organization was deleted since the read.
        return Ok(None);
    };
    let skills = rows
        .into_iter()
        .filter_map(|(_, id, uuid, place)| Some((id?, (uuid?, place))))
        .collect();
    let c = Arc::new(Catalog {
        generation: read_at,
        skills,
    });
    {
        let mut kept = shared.catalogs.lock().unwrap_or_else(|p| p.into_inner());
        kept.keep(org, c.clone());
    }
    Ok((read_at == generation).then_some(c))
}

/// The assignments of one read's rows, sorted by their skills' names as `catalog` has them;
/// None when one of their skills is not in it.
fn skills(catalog: &Catalog, rows: &[ReadRow]) -> Option<Vec<StoredAssignment>> {
    let mut skills = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(skill) = r.5 else {
            continue;
        };
        let &(uuid, place) = catalog.skills.get(&skill)?;
        let a = StoredAssignment {
            skill_id: uuid.into(),
            proficiency: r.6?,
            effective: r.7.map(Timestamp),
            expires: r.8.map(Timestamp),
            updated_at: Timestamp(r.9?),
        };
        skills.push((place, a));
    }
    skills.sort_unstable_by_key(|(place, _)| *place);
    Some(skills.into_iter().map(|(_, a)| a).collect())
}

/// The reads of the pairs of `orgs` and `agents`, each assignment with its skill joined.
async fn read_named(
    conn: &mut PgConnection,
    orgs: &[Uuid],
    agents: &[Uuid],
) -> Result<Vec<Answer>> {
    let rows = sqlx::query(READ_NAMED)
        .bind(orgs)
        .bind(agents)
        .fetch_all(&mut *conn)
        .await?;
    let mut rows = rows.as_slice();
    let mut answers = Vec::with_capacity(orgs.len());
    for i in 0..orgs.len() {
        let place = i as i64 + 1;
        let mine = rows
            .iter()
            .position(|r| r.try_get::<i64, _>(9).map_or(true, |n| n != place))
            .unwrap_or(rows.len());
        let (own, rest) = rows.split_at(mine);
        rows = rest;
        answers.push(match read_set(own) {
            Ok((Some(generation), set)) => Ok((generation, set)),
            Ok((None, _)) => Err(StoreError::NotFound),
            Err(e) => Err(e),
        });
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(generation: i64, skills: usize) -> Arc<Catalog> {
        let skills = (0..skills as i64).map(|k| (k, (Uuid::nil(), k))).collect();
        Arc::new(Catalog { generation, skills })
    }

    /// A later catalog replaces an earlier one, never the reverse; the skills kept never pass
    /// the bound, and are counted as they are.
    #[test]
    fn kept_catalogs_are_the_latest_and_bounded() {
        let mut kept = Kept::default();
        kept.keep(1, catalog(5, 10));
        kept.keep(1, catalog(4, 20));
        assert_eq!((kept.by_org[&1].generation, kept.skills), (5, 10));
        kept.keep(1, catalog(6, 30));
        assert_eq!((kept.by_org[&1].generation, kept.skills), (6, 30));
        let per_org = MAX_KEPT_SKILLS / 4;
        for org in 2..=4 {
            kept.keep(org, catalog(1, per_org));
        }
        assert_eq!(kept.by_org.len(), 4);
        assert_eq!(kept.skills, 30 + 3 * per_org);
        // One more would pass the bound: everything kept is dropped first.
        kept.keep(5, catalog(1, per_org));
        assert_eq!(kept.by_org.len(), 1);
        assert_eq!(kept.skills, per_org);
        let counted: usize = kept.by_org.values().map(|c| c.skills.len()).sum();
        assert_eq!(counted, kept.skills);
    }
}
