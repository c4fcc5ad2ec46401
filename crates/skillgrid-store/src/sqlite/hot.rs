//! The reads every API request of one agent's skills makes (its organization's generation and
//! the set), on rusqlite connections of their own.
//!
//! Through sqlx, each statement is a round of messages with the connection's worker thread,
//! and each row another: a GET of one agent's skills cost five such rounds (the generation;
//! then `BEGIN`, the agent, its assignments, `COMMIT`) and more thread wake-ups than SQL. Here
//! each read is one statement, run to its last row on a connection kept open, its statement
//! prepared once. A single statement reads one snapshot, so the version and the set always
//! belong together.
//!
//! The statement runs on the async task's own thread. Each is a lookup by key of a few pages
//! (tens of microseconds, about what rendering the answer's JSON costs), and handing it to
//! tokio's blocking pool cost more than the read: two thread wake-ups per request. Run here,
//! the GET benchmark answered about a quarter more reads (docs/PERFORMANCE.md, "Reads against
//! the HTTP ceiling"). Two things could make a read wait. These connections have no busy
//! timeout, so a read that finds the database locked (in WAL mode only a crash's recovery or a
//! change of journal mode does that) fails at once and is run again in the blocking pool with
//! the usual timeout: it never sleeps on this thread. A page in neither the connection's cache
//! nor the operating system's is one read of the disk, as for any handler that touches a
//! file.

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
            .map(|_| open(file))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(HotReaders(Arc::new(Inner {
            idle: Mutex::new(idle),
            permits: Semaphore::new(HOT_READERS),
            file: file.to_path_buf(),
        })))
    }

    /// Runs `f` on an idle connection, on this thread; where the database was locked, again
    /// in tokio's blocking pool, waiting for the lock as every other connection does.
    async fn run<T: Send + 'static>(
        &self,
        f: impl Fn(&rusqlite::Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .0
            .permits
            .acquire()
            .await
            .map_err(|e| StoreError::from(anyhow::Error::from(e)))?;
        let conn = self.0.take()?;
        let first = f(&conn);
        if !first.as_ref().is_err_and(is_busy) {
            self.0.put_back(conn);
            return first;
        }
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let waited = conn
                .busy_timeout(super::BUSY_TIMEOUT)
                .map_err(sql_err)
                .and_then(|()| f(&conn));
            if conn.busy_timeout(std::time::Duration::ZERO).is_ok() {
                inner.put_back(conn);
            }
            waited
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

impl Inner {
    /// An idle connection; one is missing only after a panic while it was out (or a failed
    /// reset of its timeout): open another.
    fn take(&self) -> Result<rusqlite::Connection> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match taken {
            Some(c) => Ok(c),
            None => open(&self.file).map_err(sql_err),
        }
    }

    fn put_back(&self, conn: rusqlite::Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}

/// A reader of the kind every other read-only connection is, but without a busy timeout: it
/// never sleeps on the async thread that runs it.
fn open(file: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let c = super::SqliteStore::open_bulk_reader(file)?;
    c.busy_timeout(std::time::Duration::ZERO)?;
    Ok(c)
}

/// The database was locked (`SQLITE_BUSY`, any of its extended codes).
fn is_busy(e: &StoreError) -> bool {
    let StoreError::Other(e) = e else {
        return false;
    };
    e.downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        == Some(rusqlite::ErrorCode::DatabaseBusy)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn readers() -> (tempfile::TempDir, HotReaders) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hot.db");
        let c = rusqlite::Connection::open(&file).unwrap();
        c.pragma_update(None, "journal_mode", "wal").unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7);")
            .unwrap();
        (dir, HotReaders::open(&file).unwrap())
    }

    fn busy() -> StoreError {
        sql_err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ))
    }

    fn timeout_ms(c: &rusqlite::Connection) -> i64 {
        c.pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap()
    }

    fn read(c: &rusqlite::Connection) -> Result<(i64, std::thread::ThreadId)> {
        let x = c
            .query_row("SELECT x FROM t", [], |r| r.get(0))
            .map_err(sql_err)?;
        Ok((x, std::thread::current().id()))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_read_runs_on_the_callers_thread() {
        let (_dir, hot) = readers();
        let (x, thread) = hot.run(read).await.unwrap();
        assert_eq!(x, 7);
        assert_eq!(thread, std::thread::current().id());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_read_that_finds_the_database_locked_is_run_again_in_the_blocking_pool() {
        let (_dir, hot) = readers();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let (x, thread) = hot
            .run(move |c| {
                if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                    assert_eq!(timeout_ms(c), 0, "the first try must not wait");
                    return Err(busy());
                }
                assert!(timeout_ms(c) > 0, "the second try waits for the lock");
                read(c)
            })
            .await
            .unwrap();
        assert_eq!((x, calls.load(Ordering::SeqCst)), (7, 2));
        assert_ne!(thread, std::thread::current().id());
        // The connection came back without its timeout, and both are still there.
        for _ in 0..HOT_READERS {
            let (_, thread) = hot.run(read).await.unwrap();
            assert_eq!(thread, std::thread::current().id());
        }
        assert_eq!(hot.0.idle.lock().unwrap().len(), HOT_READERS);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn other_errors_are_not_tried_again() {
        let (_dir, hot) = readers();
        let calls = AtomicUsize::new(0);
        let calls = Arc::new(calls);
        let counted = calls.clone();
        let e = hot
            .run(move |c| {
                counted.fetch_add(1, Ordering::SeqCst);
                c.query_row("SELECT nope FROM t", [], |r| r.get::<_, i64>(0))
                    .map_err(sql_err)
            })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no such column"), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
