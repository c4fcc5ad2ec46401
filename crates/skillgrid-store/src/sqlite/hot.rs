//! The reads every API request of one agent's skills makes (its organization's generation and
//! the set), on rusqlite connections of their own.
//!
//! Through sqlx, each statement is a round of messages with the connection's worker thread,
//! and each row another: a GET of one agent's skills cost five such rounds (the generation;
//! then `BEGIN`, the agent, its assignments, `COMMIT`) and more thread wake-ups than SQL. Here
//! each read is one hand-over to tokio's blocking pool, where one statement runs to its last
//! row on a connection kept open, its statement prepared once. A single statement reads one
//! snapshot, so the version and the set always belong together, as before.

use super::skillsets::sql_err;
use crate::*;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Connections for these reads: at most this many run at once (each keeps its own page cache
/// of `OTHER_CACHE_KIB`).
pub(super) const HOT_READERS: usize = 2;

#[derive(Clone)]
pub(super) struct HotReaders(Arc<Inner>);

struct Inner {
    idle: Mutex<Vec<rusqlite::Connection>>,
    permits: Semaphore,
    file: std::path::PathBuf,
}

impl HotReaders {
    pub(super) fn open(file: &std::path::Path) -> rusqlite::Result<Self> {
        let idle = (0..HOT_READERS)
            .map(|_| super::SqliteStore::open_bulk_reader(file))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(HotReaders(Arc::new(Inner {
            idle: Mutex::new(idle),
            permits: Semaphore::new(HOT_READERS),
            file: file.to_path_buf(),
        })))
    }

    /// Runs `f` on an idle connection in tokio's blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .0
            .permits
            .acquire()
            .await
            .map_err(|e| StoreError::from(anyhow::Error::from(e)))?;
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let taken = inner.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            // A connection is missing only after a panic while it was out: open another.
            let conn = match taken {
                Some(c) => c,
                None => super::SqliteStore::open_bulk_reader(&inner.file).map_err(sql_err)?,
            };
            let result = f(&conn);
            inner
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::from(anyhow::Error::from(e)))?
    }

    pub(super) async fn org_generation(&self, org: OrgId) -> Result<i64> {
        self.run(move |c| {
            let mut st = c
                .prepare_cached("SELECT generation FROM orgs WHERE uuid = ?1")
                .map_err(sql_err)?;
            let mut rows = st.query([&org.get().as_bytes()[..]]).map_err(sql_err)?;
            match rows.next().map_err(sql_err)? {
                Some(r) => r.get(0).map_err(sql_err),
                None => Err(StoreError::NotFound),
            }
        })
        .await
    }

    /// The agent's set and its version, in one statement (so one snapshot): an agent without
    /// skills is one row of NULLs after its own columns. Plain left joins: SQLite would
    /// materialize a parenthesised `(assignments JOIN skills)` whole, every assignment of the
    /// database, before picking the agent's (every assignment names a skill, so the second
    /// left join finds one for each).
    pub(super) async fn agent_skills(&self, org: OrgId, agent: AgentId) -> Result<AgentSkillSet> {
        self.run(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT 0, a.id, coalesce(v.version, 0), a.active, s.uuid, x.proficiency,
                            x.effective_at, x.expires_at, x.updated_at
                     FROM agents a LEFT JOIN agent_versions v ON v.agent_id = a.id
                     LEFT JOIN assignments x ON x.agent_id = a.id
                     LEFT JOIN skills s ON s.id = x.skill_id
                     WHERE a.uuid = ?1 AND a.org_id = (SELECT id FROM orgs WHERE uuid = ?2)
                     ORDER BY s.name_key, s.uuid",
                )
                .map_err(sql_err)?;
            let rows = st
                .query([&agent.get().as_bytes()[..], &org.get().as_bytes()[..]])
                .map_err(sql_err)?;
            read_set(rows)?.1.ok_or(StoreError::NotFound)
        })
        .await
    }

    /// The organization's generation and the agent's set, in one statement: the organization's
    /// row, joined to its agent of that id if it has one. No row: no such organization.
    pub(super) async fn agent_skills_at_generation(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> Result<(i64, Option<AgentSkillSet>)> {
        self.run(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT o.generation, a.id, coalesce(v.version, 0), a.active, s.uuid,
                            x.proficiency, x.effective_at, x.expires_at, x.updated_at
                     FROM orgs o LEFT JOIN agents a ON a.org_id = o.id AND a.uuid = ?1
                     LEFT JOIN agent_versions v ON v.agent_id = a.id
                     LEFT JOIN assignments x ON x.agent_id = a.id
                     LEFT JOIN skills s ON s.id = x.skill_id
                     WHERE o.uuid = ?2
                     ORDER BY s.name_key, s.uuid",
                )
                .map_err(sql_err)?;
            let rows = st
                .query([&agent.get().as_bytes()[..], &org.get().as_bytes()[..]])
                .map_err(sql_err)?;
            match read_set(rows)? {
                (Some(generation), set) => Ok((generation, set)),
                (None, _) => Err(StoreError::NotFound),
            }
        })
        .await
    }
}

/// The rows of the reads above: (generation, agent's id, version, active, then one
/// assignment). The first column of the first row, if any; the set when the agent was found.
fn read_set(mut rows: rusqlite::Rows<'_>) -> Result<(Option<i64>, Option<AgentSkillSet>)> {
    let mut first = None;
    let mut agent = None;
    let mut skills = Vec::new();
    while let Some(r) = rows.next().map_err(sql_err)? {
        if first.is_none() {
            first = Some(r.get(0).map_err(sql_err)?);
            if r.get::<_, Option<i64>>(1).map_err(sql_err)?.is_some() {
                agent = Some((r.get(2).map_err(sql_err)?, r.get(3).map_err(sql_err)?));
            }
        }
        let Some(skill) = r.get::<_, Option<[u8; 16]>>(4).map_err(sql_err)? else {
            continue;
        };
        skills.push(StoredAssignment {
            skill_id: Uuid::from_bytes(skill).into(),
            proficiency: r.get(5).map_err(sql_err)?,
            effective: r.get::<_, Option<i64>>(6).map_err(sql_err)?.map(Timestamp),
            expires: r.get::<_, Option<i64>>(7).map_err(sql_err)?.map(Timestamp),
            updated_at: Timestamp(r.get(8).map_err(sql_err)?),
        });
    }
    let set = agent.map(|(version, active)| AgentSkillSet {
        version,
        active,
        skills,
    });
    Ok((first, set))
}
