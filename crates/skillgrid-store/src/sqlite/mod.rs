//! The embedded default: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one connection
//! and start with `BEGIN IMMEDIATE` (taking the write lock up front, so a transaction never
//! fails half-way on a lock upgrade); reads use a separate pool and see WAL snapshots.
//! Another process (the `admin` commands) waits on the lock through `busy_timeout`.

mod extra;
mod files;
mod group;
mod skillsets;
#[cfg(test)]
pub(crate) use tests::migrator_to;
// Written once for both backends and compiled in each (see the file).
#[expect(clippy::duplicate_mod, reason = "one text compiled for each backend")]
#[path = "../per_backend/mod.rs"]
mod per_backend;

use crate::*;
use anyhow::Context;
use extra::prune_expired_keys;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    large: skillsets::LargeWrites,
    group: crate::group::GroupCommit,
    _checkpoints: Checkpointer,
    /// The database file (its log is the same name with `-wal`).
    file: std::path::PathBuf,
}

/// The page cache of the writer's connection, in KiB: large writes read and write many pages.
const WRITER_CACHE_KIB: u32 = 65_536;
/// The page cache of every other connection (readers, the reader of large writes, the
/// checkpointer), in KiB. With [`READERS`] readers the caches take at most 64 + 6 × 16 =
/// 160 MiB however large the database grows (memory maps are off: `mmap_size` 0).
const OTHER_CACHE_KIB: u32 = 16_384;
/// Connections of the read pool.
const READERS: u32 = 4;

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// A WAL larger than this is checkpointed and restarted on the next tick, whatever writes are
/// under way; an idle database's WAL is truncated to nothing. Also the size a WAL that
/// SQLite restarts is cut back to (`journal_size_limit`), so a larger file means a longer log.
const WAL_TRUNCATE_BYTES: u64 = 16 * 1024 * 1024;

/// How long a restarting checkpoint waits for readers still reading the old WAL before it
/// gives up until the next tick: writers wait meanwhile, so this stays short.
const RESTART_WAIT: Duration = Duration::from_millis(500);

/// Keeps the WAL small in the background.
///
/// By default SQLite copies the WAL back into the database file inside the commit that makes
/// it pass 1,000 pages: that writer copies and syncs megabytes before its request is answered
/// (about a tenth of a 100,000-assignment bulk write). The server's writer turns that off, and
/// this task runs a PASSIVE checkpoint on a connection of its own instead: it never waits for
/// or blocks the writer or the readers, and durability does not depend on it (every commit is
/// already synced in the WAL). While large writes come (one runs, or one ended since the last
/// tick), it waits, for up to [`CHECKPOINT_DEFER`] ticks in a row: on two cores, copying the
/// last write's megabytes would take time from the next one.
///
/// A PASSIVE checkpoint never makes the file smaller, and under a steady stream of writes and
/// reads it may never catch up with the log, which then grows without end. So when the WAL
/// passes [`WAL_TRUNCATE_BYTES`], or no write came since the last tick, the task takes the
/// writer's connection from its pool (queueing fairly behind the writes already waiting, so a
/// write never has to retry) and runs a RESTART checkpoint on it (TRUNCATE when idle): it
/// copies what is left and starts the log again from the beginning of the file, holding
/// writes back for as long as that takes. Stops when the store is dropped.
struct Checkpointer(tokio::task::JoinHandle<()>);

/// Ticks in a row a checkpoint may wait for large writes, so that a stream of them cannot
/// grow the WAL without end.
const CHECKPOINT_DEFER: u32 = 10;

impl Checkpointer {
    fn start(
        mut conn: sqlx::SqliteConnection,
        writer: SqlitePool,
        wal: std::path::PathBuf,
        activity: Arc<skillsets::Activity>,
    ) -> Self {
        Checkpointer(tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut deferred, mut seen, mut version) = (0, 0, None);
            loop {
                tick.tick().await;
                let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
                // Changes whenever another connection committed since it was last read.
                let now = sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                    .fetch_one(&mut conn)
                    .await
                    .ok();
                let idle = now.is_some() && std::mem::replace(&mut version, now) == now;
                let truncate = wal_bytes > WAL_TRUNCATE_BYTES || (idle && wal_bytes > 0);
                if !truncate && activity.busy_since(&mut seen) && deferred < CHECKPOINT_DEFER {
                    deferred += 1;
                    continue;
                }
                deferred = 0;
                // First what can be copied without holding anyone up, so that a truncation
                // holds writes back only for the rest.
                let mut done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                    .map(drop);
                if truncate && done.is_ok() {
                    // Idle, the file goes; under writes it stays, cut back to
                    // `journal_size_limit`, to be written over from its start: a log that
                    // has to grow again makes every commit's sync dearer.
                    let mode = if idle {
                        Restart::Truncate
                    } else {
                        Restart::Restart
                    };
                    done = restart_wal(&writer, mode).await;
                }
                if let Err(e) = done {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying later");
                }
            }
        }))
    }
}

/// How a checkpoint on the writer's connection leaves the WAL.
#[derive(Clone, Copy)]
enum Restart {
    /// The next commit writes from the start of the file (cut back to `journal_size_limit`).
    Restart,
    /// The file is emptied.
    Truncate,
}

/// Copies the whole WAL into the database file and restarts it as `mode` says, on the
/// writer's connection (see [`Checkpointer`]). Readers still on the old log are waited for up
/// to [`RESTART_WAIT`]; if they are not done by then, the next tick tries again.
async fn restart_wal(writer: &SqlitePool, mode: Restart) -> sqlx::Result<()> {
    let mut conn = writer.acquire().await?;
    let wait = |d: Duration| format!("PRAGMA busy_timeout = {}", d.as_millis());
    sqlx::query(&wait(RESTART_WAIT)).execute(&mut *conn).await?;
    let done = sqlx::query(match mode {
        Restart::Restart => "PRAGMA wal_checkpoint(RESTART)",
        Restart::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
    })
    .execute(&mut *conn)
    .await;
    sqlx::query(&wait(BUSY_TIMEOUT)).execute(&mut *conn).await?;
    done.map(drop)
}

/// How long a connection waits for another process's lock (an admin command's write).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/sqlite/migrations");

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, IfMissing::Create).await
    }

    /// Opens the database at `url` and applies pending migrations; without skillgrid's tables
    /// there, creates them or refuses as `if_missing` says.
    pub async fn open_with(url: &str, if_missing: IfMissing) -> anyhow::Result<Self> {
        Self::open_bounded(url, if_missing, Bounds::default()).await
    }

    /// [`SqliteStore::open_with`] under `bounds`.
    pub async fn open_bounded(
        url: &str,
        if_missing: IfMissing,
        bounds: Bounds,
    ) -> anyhow::Result<Self> {
        let parsed = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid SQLite URL `{url}`"))?;
        if if_missing == IfMissing::Refuse {
            Self::require_skillgrid(&parsed).await?;
        }
        files::prepare(url, parsed.get_filename(), if_missing == IfMissing::Create);
        let opts = parsed
            .create_if_missing(if_missing == IfMissing::Create)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit that was answered survives power loss, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("cache_size", format!("-{OTHER_CACHE_KIB}"))
            .pragma("mmap_size", "0")
            .pragma("journal_size_limit", WAL_TRUNCATE_BYTES.to_string());
        // Several processes may open a new file at once (two servers, an admin command): the
        // first to switch it to WAL or to migrate it wins, the others retry and find it done.
        let mut attempt = 0;
        let write = loop {
            attempt += 1;
            match Self::open_writer(&opts, url, bounds).await {
                Ok(w) => break w,
                Err(e) if attempt < 20 && is_startup_race(&e) => {
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let activity = Arc::new(skillsets::Activity::default());
        let file = opts.get_filename().to_path_buf();
        let mut wal = file.as_os_str().to_owned();
        wal.push("-wal");
        let checkpoints = Checkpointer::start(
            <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts)
                .await
                .context("failed to open the SQLite checkpoint connection")?,
            write.clone(),
            wal.into(),
            activity.clone(),
        );
        let bulk_reader = Self::open_bulk_reader(opts.get_filename())
            .context("failed to open the SQLite reader of large writes")?;
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(opts.read_only(true))
            .await
            .context("failed to open SQLite read connections")?;
        Ok(SqliteStore {
            read,
            write,
            large: skillsets::LargeWrites {
                reader: std::sync::Mutex::new(bulk_reader),
                activity,
            },
            // One leader: SQLite has one writer.
            group: crate::group::GroupCommit::new(1),
            _checkpoints: checkpoints,
            file,
        })
    }

    /// A write of more than `skillsets::LARGE` agents (see `skillsets::write_large`).
    async fn large(&self, request: WriteRequest<'_>) -> Result<skillsets::LargeOutcome> {
        skillsets::write_large(&self.write, &self.large, request).await
    }

    /// Fails with [`NoDatabase`] unless the database `opts` names exists and holds skillgrid's
    /// tables. Creates and changes nothing: it opens without creating, sets no journal mode
    /// and only reads; and when its connection is the file's only one, SQLite removes the
    /// `-wal` and `-shm` files of a WAL database as it closes.
    async fn require_skillgrid(opts: &SqliteConnectOptions) -> anyhow::Result<()> {
        use sqlx::Connection;
        let probe = opts.clone().create_if_missing(false);
        let mut conn = match sqlx::SqliteConnection::connect_with(&probe).await {
            Ok(c) => c,
            Err(e) => {
                let file = std::path::absolute(opts.get_filename())?;
                if !file.try_exists()? {
                    return Err(NoDatabase::NoFile(file).into());
                }
                return Err(e).with_context(|| format!("failed to open {}", file.display()));
            }
        };
        // Closed before any answer, so that no error leaves a `-wal` or `-shm` file behind.
        let described = Self::describe(&mut conn).await;
        conn.close().await?;
        let (file, migrated) = described.with_context(|| {
            let file = opts.get_filename();
            format!(
                "failed to read {}",
                std::path::absolute(file).unwrap_or(file.into()).display()
            )
        })?;
        // SQLite names the file it opened (resolving a relative path), and no file for an
        // in-memory or temporary database.
        if file.is_empty() {
            Err(NoDatabase::InMemory.into())
        } else if !migrated {
            Err(NoDatabase::NotSkillgrid(file.into()).into())
        } else {
            Ok(())
        }
    }

    /// The file a connection opened (empty for none) and whether it holds skillgrid's tables.
    async fn describe(conn: &mut sqlx::SqliteConnection) -> sqlx::Result<(String, bool)> {
        let file = sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&mut *conn)
            .await?;
        let has_table: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        )
        .fetch_one(&mut *conn)
        .await?;
        let migrated = has_table
            && sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = ? AND success)",
            )
            .bind(common::first_migration(&MIGRATOR))
            .fetch_one(&mut *conn)
            .await?;
        Ok((file, migrated))
    }

    async fn open_writer(
        opts: &SqliteConnectOptions,
        url: &str,
        bounds: Bounds,
    ) -> anyhow::Result<SqlitePool> {
        let mut opts = opts
            .clone()
            // Checkpoints run in the background (see `Checkpointer`).
            .pragma("wal_autocheckpoint", "0")
            .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"));
        if let Some(bytes) = bounds.max_database_bytes {
            // Only the writer grows the file; SQLite answers SQLITE_FULL past this, as it
            // does on a full disk.
            opts = opts.pragma("max_page_count", (bytes / PAGE_BYTES).max(1).to_string());
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            // A COMMIT that fails (SQLITE_FULL: SQLite has already rolled the transaction
            // back) leaves sqlx counting a transaction that its ROLLBACK cannot end, and every
            // later `begin` on that connection fails. Such a connection is replaced.
            .before_acquire(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(opts)
            .await
            .with_context(|| format!("failed to open SQLite database `{url}`"))?;
        // One process migrates at a time: the outer transaction takes the write lock before the
        // migrator reads which migrations are applied (each then runs in a savepoint), so a
        // second process opening the same new file waits and finds them all done.
        let mut tx = write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .with_context(|| format!("failed to lock SQLite database `{url}` to migrate it"))?;
        MIGRATOR
            .run(&mut *tx)
            .await
            .context("failed to migrate the SQLite database")?;
        tx.commit()
            .await
            .context("failed to commit the SQLite database's migrations")?;
        Ok(write)
    }

    fn open_bulk_reader(file: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let c = rusqlite::Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(BUSY_TIMEOUT)?;
        c.pragma_update(None, "cache_size", format!("-{OTHER_CACHE_KIB}"))?;
        c.pragma_update(None, "mmap_size", 0)?;
        Ok(c)
    }
}

/// SQLite's default page size, which skillgrid's databases keep.
const PAGE_BYTES: u64 = 4096;

fn is_startup_race(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("database is locked") || text.contains("already exists")
}

/// The database the code shared with PostgreSQL (`src/per_backend/`) is compiled for here.
type Db = sqlx::Sqlite;

/// Ends a select of rows a transaction is about to change: nothing, as a write transaction
/// holds the database's write lock from its start.
fn for_update(_table: &str) -> String {
    String::new()
}

/// Starts a transaction that writes, taking the write lock now.
async fn begin_write(pool: &SqlitePool) -> sqlx::Result<sqlx::Transaction<'static, Db>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

// A transaction that no skill-set write of the organization runs beside, and the
// organization's key: on SQLite, any write transaction. A settings change needs no more.
use begin_for_org as begin_org_exclusive;
use begin_for_org as begin_settings_change;

/// Starts a write transaction (taking the write lock now) and finds the organization's key.
async fn begin_for_org(
    pool: &SqlitePool,
    org: OrgId,
) -> Result<(sqlx::Transaction<'static, Db>, i64)> {
    let mut tx = begin_write(pool).await?;
    let org_pk = per_backend::catalog::org_pk(&mut *tx, org).await?;
    Ok((tx, org_pk))
}

// What `Store` does on this backend where the backends differ (the rest is in
// `src/per_backend/store.rs`).

/// The store `src/per_backend/store.rs` implements `Store` for.
type This = SqliteStore;

/// A transaction whose reads all see one snapshot.
async fn begin_snapshot(store: &SqliteStore) -> sqlx::Result<sqlx::Transaction<'static, Db>> {
    store.read.begin().await
}

/// No buckets: one process serves an SQLite database, and counts in its own memory.
async fn take_tokens(
    _: &SqliteStore,
    _client: Uuid,
    _limit: &RateLimit,
    _wanted: u64,
) -> Result<Option<TokenTake>> {
    Ok(None)
}

fn disk_usage(store: &SqliteStore) -> Vec<(&'static str, u64)> {
    let mut wal = store.file.as_os_str().to_owned();
    wal.push("-wal");
    // An in-memory database has no file; a WAL that does not exist yet is empty.
    let Ok(database) = std::fs::metadata(&store.file) else {
        return Vec::new();
    };
    let wal = std::fs::metadata(std::path::Path::new(&wal)).map_or(0, |m| m.len());
    vec![("database", database.len()), ("wal", wal)]
}

async fn agent_skills(store: &SqliteStore, org: OrgId, agent: AgentId) -> Result<AgentSkillSet> {
    let mut tx = store.read.begin().await?;
    let (pk, version, active): (i64, i64, bool) = sqlx::query_as(
        "SELECT a.id, coalesce(v.version, 0), a.active
         FROM agents a LEFT JOIN agent_versions v ON v.agent_id = a.id
         WHERE a.uuid = ? AND a.org_id = (SELECT id FROM orgs WHERE uuid = ?)",
    )
    .bind(agent.get())
    .bind(org.get())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    let skills = skillsets::load_set(&mut tx, pk).await?;
    tx.commit().await?;
    Ok(AgentSkillSet {
        version,
        active,
        skills,
    })
}

/// A write of more agents than a group takes (see `src/per_backend/store.rs`): up to
/// `skillsets::LARGE` agents through sqlx, more through the large-write path.
async fn write_many(
    store: &SqliteStore,
    org: OrgId,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    if items.len() <= skillsets::LARGE {
        skillsets::write(&store.write, org, ctx, items, opts).await
    } else {
        let request = WriteRequest::new(org, ctx, Items::Slice(items), opts);
        Ok(store.large(request).await?.result)
    }
}

/// A skill-set write (see `Store::write`): up to `skillsets::LARGE` agents of a slice in one
/// transaction (grouped with other small writes), then the sink; more, or items produced while
/// the write runs, through the large-write path, which overlaps the sink with the write.
async fn write(store: &SqliteStore, request: WriteRequest<'_>) -> Result<Written> {
    if let Items::Slice(items) = request.items {
        if items.len() <= skillsets::LARGE {
            let WriteRequest { org, ctx, opts, .. } = request;
            let result = per_backend::store::write_slice(store, org, ctx, items, opts).await?;
            let items = std::borrow::Cow::Borrowed(items);
            return Ok(crate::write::after_commit(
                items,
                Some(result),
                request.sink,
            ));
        }
    }
    let w = store.large(request).await?;
    Ok(Written {
        produced: w.fed,
        result: w.go_ahead.then_some(w.result),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::migration_check as m;

    /// A migrator of this backend's migrations up to `version`, from a copy of their files.
    pub(crate) async fn migrator_to(
        dir: &std::path::Path,
        src: &str,
        version: i64,
    ) -> sqlx::migrate::Migrator {
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let v: i64 = name.split('_').next().unwrap().parse().unwrap();
            if v <= version {
                std::fs::copy(e.path(), dir.join(&name)).unwrap();
            }
        }
        sqlx::migrate::Migrator::new(dir.to_path_buf())
            .await
            .unwrap()
    }

    /// The writer leaves checkpoints to the background task: what it commits reaches the
    /// database file itself (not only the WAL) within a few ticks, while the store is open.
    #[tokio::test]
    async fn commits_reach_the_database_file_through_the_background_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let store = SqliteStore::open(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        // Past the task's first checkpoint, which runs at once.
        tokio::time::sleep(Duration::from_millis(300)).await;
        store
            .create_org("probe", &OrgSettings::default())
            .await
            .unwrap();
        // A copy of the main file alone holds only what was checkpointed into it.
        let in_file = || -> Option<i64> {
            let copy = dir.path().join("copy.db");
            std::fs::copy(&db, &copy).ok()?;
            let c = rusqlite::Connection::open(&copy).ok()?;
            c.query_row("SELECT count(*) FROM orgs WHERE name = 'probe'", [], |r| {
                r.get(0)
            })
            .ok()
        };
        let mut seen = None;
        for _ in 0..50 {
            seen = in_file();
            if seen == Some(1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(seen, Some(1), "the commit never reached the database file");
        drop(store);
    }

    /// Agents enough for a pipelined write of several chunks, at the chunk size production uses.
    const SPANS_CHUNKS: usize = 2 * skillsets::PLAN_CHUNK + 6;

    /// An organization with 3 skills and `n` agents, on a fresh file.
    async fn seeded(
        n: usize,
    ) -> (
        tempfile::TempDir,
        SqliteStore,
        OrgId,
        Vec<Uuid>,
        Vec<AgentId>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let (org, skills, agents) =
            crate::seed::seed(&store, n, Timestamp(1_700_000_000_000)).await;
        (dir, store, org, skills, agents)
    }

    fn every_skill(agents: &[AgentId], skills: &[Uuid], proficiency: i64) -> Vec<AgentWrite> {
        use skillgrid_core::model::{Assignment, SkillSetWrite};
        agents
            .iter()
            .map(|a| AgentWrite {
                agent_id: *a,
                write: SkillSetWrite::Replace(
                    skills
                        .iter()
                        .map(|s| Assignment {
                            proficiency,
                            ..Assignment::omitted(*s, proficiency)
                        })
                        .collect(),
                ),
                if_match: None,
            })
            .collect()
    }

    fn ctx() -> WriteContext {
        WriteContext {
            request_id: "req".into(),
            client_id: Uuid::nil(),
            now: Timestamp(1_700_000_000_000),
        }
    }

    const OPTS: WriteOptions = WriteOptions {
        dry_run: false,
        atomic: true,
        max_skills_per_agent: 100,
        return_sets: false,
    };

    async fn rows(store: &SqliteStore, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&store.read)
            .await
            .unwrap()
    }

    async fn foreign_keys_on(store: &SqliteStore) -> bool {
        sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&store.write)
            .await
            .unwrap()
    }

    /// Makes every audit row refused (`on`), so that a write fails after its assignments are
    /// in; or lets them in again.
    async fn refuse_audit(store: &SqliteStore, on: bool) {
        let sql = if on {
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_sets
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        } else {
            "DROP TRIGGER refuse"
        };
        sqlx::query(sql).execute(&store.write).await.unwrap();
    }

    /// Large writes skip the per-row foreign-key checks (their keys come from the same
    /// transaction): what they write still satisfies every foreign key, and the writer checks
    /// them again afterwards.
    #[tokio::test]
    async fn a_large_write_leaves_consistent_rows_and_the_checks_on() {
        let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
        let r = store
            .write_skill_sets(org, &ctx(), &every_skill(&agents, &skills, 3), OPTS)
            .await
            .unwrap();
        assert!(r.committed);
        let held = rows(&store, "assignments").await;
        assert_eq!(held as usize, agents.len() * skills.len());
        let broken: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(&store.write)
            .await
            .unwrap();
        assert!(broken.is_empty(), "{broken:?}");
        assert!(foreign_keys_on(&store).await);
        // And they are enforced: an assignment of an agent that does not exist is refused.
        let orphan = sqlx::query(
            "INSERT INTO assignments (agent_id, skill_id, proficiency, updated_at)
             SELECT 999999, id, 1, 0 FROM skills LIMIT 1",
        )
        .execute(&store.write)
        .await;
        assert!(orphan.is_err(), "the orphan row was accepted");
    }

    /// After a write that [`refuse_audit`] failed: nothing is held and the foreign keys are
    /// checked again; once the audit is no longer refused, the write of every skill succeeds.
    async fn recovered(
        store: &SqliteStore,
        org: OrgId,
        skills: &[Uuid],
        agents: &[AgentId],
    ) -> WriteResult {
        assert_eq!(rows(store, "assignments").await, 0);
        assert!(foreign_keys_on(store).await);
        refuse_audit(store, false).await;
        let items = every_skill(agents, skills, 3);
        store
            .write_skill_sets(org, &ctx(), &items, OPTS)
            .await
            .unwrap()
    }

    /// A large write that fails half-way keeps nothing and leaves the checks on.
    #[tokio::test]
    async fn a_large_write_that_fails_keeps_nothing_and_the_checks_on() {
        let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
        // The assignments are in by the time the audit rows are written: fail there.
        refuse_audit(&store, true).await;
        let e = store
            .write_skill_sets(org, &ctx(), &every_skill(&agents, &skills, 3), OPTS)
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("refused by the test"), "{e:#}");
        let r = recovered(&store, org, &skills, &agents).await;
        assert!(r.committed);
    }

    fn applied(o: &ItemOutcome) -> (i64, usize, usize) {
        match o {
            ItemOutcome::Applied { version, plan, .. } => {
                (*version, plan.added.len(), plan.updated.len())
            }
            other => panic!("not applied: {other:?}"),
        }
    }

    /// A large write is planned in chunks while earlier chunks are written: every item is
    /// decided from the state before the write, the rows and audit entries all land, and the
    /// caller's work beside the write sees every outcome once.
    #[tokio::test]
    async fn a_pipelined_write_spanning_chunks_lands_whole_and_is_seen_alongside() {
        let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
        let seen = std::sync::Mutex::new(Vec::new());
        let alongside = |_: &[AgentWrite], o: &[ItemOutcome]| seen.lock().unwrap().push(o.len());
        let write = |proficiency| {
            let items = every_skill(&agents, &skills, proficiency);
            let (store, alongside) = (&store, &alongside);
            async move {
                let (items, ctx) = (Items::Slice(&items), ctx());
                let w = store.write(WriteRequest::new(org, &ctx, items, OPTS).sink(alongside));
                w.await.unwrap().result.unwrap()
            }
        };
        let first = write(3).await;
        assert!(first.committed);
        // Once by the planner's thread, once by the writer's after the commit.
        assert_eq!(*seen.lock().unwrap(), vec![agents.len(); 2]);
        assert!(first.items.iter().all(|o| applied(o) == (1, 3, 0)));
        // Again with other values: each item is an update of what the first write stored.
        let second = write(4).await;
        assert!(second.items.iter().all(|o| applied(o) == (2, 0, 3)));
        // Every third agent: keys too far apart to read as one range.
        let sparse: Vec<AgentId> = agents.iter().step_by(3).copied().collect();
        let r = store
            .write_skill_sets(org, &ctx(), &every_skill(&sparse, &skills, 5), OPTS)
            .await
            .unwrap();
        assert!(r.items.iter().all(|o| applied(o) == (3, 0, 3)));
        let r = store
            .write_skill_sets(org, &ctx(), &every_skill(&agents, &skills, 4), OPTS)
            .await
            .unwrap();
        let reverted = r.items.iter().filter(|o| applied(o) == (4, 0, 3)).count();
        assert_eq!(reverted, sparse.len());
        for a in [agents[1], agents[40], agents[68]] {
            let set = store.agent_skills(org, a).await.unwrap();
            assert_eq!(set.version, 2);
            assert!(set.skills.iter().all(|s| s.proficiency == 4));
            let history = store
                .agent_history(
                    org,
                    a,
                    PageRequest {
                        after: None,
                        limit: 100,
                    },
                )
                .await
                .unwrap();
            assert_eq!(history.items.len(), 6);
            // Rows of a large write leave their request, client, time and agent to their
            // write's row and name skills by their place in its list: read back whole.
            let newest = &history.items[0];
            assert_eq!(
                (
                    newest.request_id.as_str(),
                    newest.client_id,
                    newest.agent_id,
                    newest.at
                ),
                ("req", Uuid::nil(), a, ctx().now)
            );
            assert!(matches!(newest.action, AuditAction::Updated));
            let (before, after) = (newest.before.unwrap(), newest.after.unwrap());
            assert_eq!((before.proficiency, after.proficiency), (3, 4));
            assert!(skills.contains(&newest.skill_id));
            assert_eq!(before.skill_id, newest.skill_id);
            let mut named: Vec<Uuid> = history.items[..3].iter().map(|e| e.skill_id).collect();
            named.sort();
            let mut all = skills.clone();
            all.sort();
            assert_eq!(named, all);
        }
        // The organization's log lists every entry, the large writes' too, oldest first, and
        // `since` filters on their write's time.
        let all = PageRequest {
            after: None,
            limit: 10_000,
        };
        let log = store.audit_log(org, None, all).await.unwrap();
        let expected = 2 * agents.len() * 3 + 2 * sparse.len() * 3;
        assert_eq!(log.items.len(), expected);
        assert!(log
            .items
            .iter()
            .all(|e| e.request_id == "req" && e.at == ctx().now));
        let compact: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_sets
             WHERE write_id IS NOT NULL AND request_id IS NULL AND agent_uuid IS NULL",
        )
        .fetch_one(&store.read)
        .await
        .unwrap();
        // Every write above is large: the first two rows of each agent, the sparse write's and
        // the last write's (which changed the sparse agents only).
        assert_eq!(
            compact as usize,
            2 * agents.len() + 2 * sparse.len(),
            "the large writes' rows"
        );
        let later = Timestamp(ctx().now.0 + 1);
        assert!(store
            .audit_log(org, Some(later), all)
            .await
            .unwrap()
            .items
            .is_empty());
        // The same write once more changes nothing: not committed, nothing seen beside it.
        let third = write(4).await;
        assert!(!third.committed);
        assert_eq!(seen.lock().unwrap().len(), 4);
    }

    /// `items` written with `opts` and a sink that no outcome may reach: a write not kept.
    async fn unkept(
        store: &SqliteStore,
        org: OrgId,
        items: &[AgentWrite],
        opts: WriteOptions,
    ) -> WriteResult {
        let never = |_: &[AgentWrite], _: &[ItemOutcome]| panic!("called for a write not kept");
        let ctx = ctx();
        let request = WriteRequest::new(org, &ctx, Items::Slice(items), opts).sink(&never);
        store.write(request).await.unwrap().result.unwrap()
    }

    /// An atomic large write whose failing item is in a late chunk, after earlier chunks were
    /// written, keeps nothing and still reports every item; a non-atomic one writes the rest.
    #[tokio::test]
    async fn a_late_failure_undoes_a_pipelined_atomic_write_and_skips_one_item_otherwise() {
        let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
        let mut items = every_skill(&agents, &skills, 3);
        let late = items.len() - 2;
        items[late].if_match = Some(Precondition::Version(41));
        let r = unkept(&store, org, &items, OPTS).await;
        assert!(!r.committed);
        assert_eq!(r.items.len(), items.len());
        assert!(matches!(
            r.items[late],
            ItemOutcome::PreconditionFailed { current: 0 }
        ));
        let held = rows(&store, "assignments").await;
        assert_eq!(held, 0);
        let audit = rows(&store, "audit_sets").await;
        assert_eq!(audit, 0);
        // A dry run decides everything and keeps nothing.
        let dry = WriteOptions {
            dry_run: true,
            ..OPTS
        };
        let all = every_skill(&agents, &skills, 3);
        let r = unkept(&store, org, &all, dry).await;
        assert!(!r.committed);
        assert!(r.items.iter().all(|o| applied(o) == (0, 3, 0)));
        // Not atomic: the stale item alone is left out.
        let loose = WriteOptions {
            atomic: false,
            ..OPTS
        };
        let r = store
            .write_skill_sets(org, &ctx(), &items, loose)
            .await
            .unwrap();
        assert!(r.committed);
        let held = rows(&store, "assignments").await;
        assert_eq!(held as usize, (agents.len() - 1) * skills.len());
        assert!(store
            .agent_skills(org, agents[late])
            .await
            .unwrap()
            .skills
            .is_empty());
    }

    /// A streamed write of `items`, produced in chunks of `sizes` (cycled) with a pause after
    /// each; the producer then says `go`.
    async fn streamed(
        store: &SqliteStore,
        org: OrgId,
        items: Vec<AgentWrite>,
        sizes: &[usize],
        go: bool,
        opts: WriteOptions,
        alongside: &OutcomeSink<'_>,
    ) -> Written {
        let sizes = sizes.to_vec();
        let produce: Producer<'_> = Box::new(move |sink| {
            let mut rest = items;
            for n in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let tail = rest.split_off((*n).min(rest.len()));
                assert!(sink(std::mem::replace(&mut rest, tail)));
                // The write is under way while the rest is still to come.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            go
        });
        store
            .write(WriteRequest::new(org, &ctx(), Items::Produced(produce), opts).sink(alongside))
            .await
            .unwrap()
    }

    /// A streamed write plans and writes its items as they are made, in chunks of any size, and
    /// lands whole once its producer says go; the work beside it sees every item and outcome.
    #[tokio::test]
    async fn a_streamed_write_lands_whole_once_its_producer_says_go() {
        let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
        let seen = std::sync::Mutex::new(Vec::new());
        let alongside = |i: &[AgentWrite], o: &[ItemOutcome]| {
            seen.lock().unwrap().push((i.len(), o.len()));
        };
        let items = every_skill(&agents, &skills, 3);
        let w = streamed(
            &store,
            org,
            items.clone(),
            &[1, 7, 30],
            true,
            OPTS,
            &alongside,
        )
        .await;
        let order: Vec<AgentId> = w.produced.iter().map(|i| i.agent_id).collect();
        assert_eq!(order, agents);
        let r = w.result.expect("the feed said go");
        assert!(r.committed);
        assert!(r.items.iter().all(|o| applied(o) == (1, 3, 0)));
        assert_eq!(*seen.lock().unwrap(), vec![(agents.len(), agents.len()); 2]);
        assert_eq!(
            rows(&store, "assignments").await as usize,
            agents.len() * skills.len()
        );
        assert_eq!(rows(&store, "audit_sets").await as usize, agents.len());
        assert!(foreign_keys_on(&store).await);
        // A streamed write that fails an item of an atomic write keeps nothing.
        let mut stale = every_skill(&agents, &skills, 4);
        stale[50].if_match = Some(Precondition::Version(7));
        let w = streamed(&store, org, stale, &[16], true, OPTS, &alongside).await;
        let r = w.result.unwrap();
        assert!(!r.committed);
        assert!(matches!(
            r.items[50],
            ItemOutcome::PreconditionFailed { current: 1 }
        ));
        assert_eq!(seen.lock().unwrap().len(), 2);
        let set = store.agent_skills(org, agents[0]).await.unwrap();
        assert_eq!(set.version, 1);
        assert!(set.skills.iter().all(|s| s.proficiency == 3));
    }

    /// Rows a streamed write has already written are dropped when its producer does not say
    /// go, and a producer stops being asked for items once the write has failed.
    #[tokio::test]
    async fn a_streamed_write_keeps_nothing_unless_its_producer_says_go() {
        let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
        let never = |_: &[AgentWrite], _: &[ItemOutcome]| panic!("called for a write not kept");
        let items = every_skill(&agents, &skills, 3);
        let w = streamed(&store, org, items, &[16], false, OPTS, &never).await;
        assert!(w.result.is_none());
        assert_eq!(w.produced.len(), agents.len());
        assert_eq!(rows(&store, "assignments").await, 0);
        assert_eq!(rows(&store, "audit_sets").await, 0);
        assert_eq!(store.agent_skills(org, agents[3]).await.unwrap().version, 0);
        assert!(foreign_keys_on(&store).await);
        // The writer fails on its first audit row: the producer hears it and stops.
        refuse_audit(&store, true).await;
        let items = every_skill(&agents, &skills, 3);
        let refused = std::sync::atomic::AtomicBool::new(false);
        let produce: Producer<'_> = Box::new(|sink| {
            for chunk in items.chunks(4) {
                if !sink(chunk.to_vec()) {
                    refused.store(true, std::sync::atomic::Ordering::Relaxed);
                    return false;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            true
        });
        // (The work beside may have been called if every item was planned before the writer
        // failed: the write's error is still the answer.)
        let beside = |_: &[AgentWrite], _: &[ItemOutcome]| {};
        let e = store
            .write(WriteRequest::new(org, &ctx(), Items::Produced(produce), OPTS).sink(&beside))
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("refused by the test"), "{e:#}");
        assert!(refused.load(std::sync::atomic::Ordering::Relaxed));
        let r = recovered(&store, org, &skills, &agents).await;
        assert!(r.items.iter().all(|o| applied(o) == (1, 3, 0)));
    }

    /// The API never sends one agent twice in a write, but the store takes it: the later item
    /// applies over the earlier one's rows (small and pipelined writes alike).
    #[tokio::test]
    async fn an_agent_in_two_items_of_one_write_is_written_without_error() {
        let (_dir, store, org, skills, agents) = seeded(SPANS_CHUNKS).await;
        for n in [2, agents.len()] {
            let mut items = every_skill(&agents[..n - 1], &skills, 3);
            items.extend(every_skill(&agents[..1], &skills, 3));
            let r = store
                .write_skill_sets(org, &ctx(), &items, OPTS)
                .await
                .unwrap();
            assert!(r.committed, "{n} items");
        }
        assert_eq!(
            rows(&store, "assignments").await as usize,
            (agents.len() - 1) * skills.len()
        );
    }

    /// A large write reads its agents by scanning their ids when they are neighbours, one by
    /// one otherwise; either way an agent of another organization, even one whose id lies
    /// among them, reads as missing, and one named twice in a chunk is written once.
    #[tokio::test]
    async fn agents_are_found_by_a_scan_or_one_by_one_and_other_organizations_stay_out() {
        use skillgrid_core::model::NewAgent;
        let (_dir, store, org, skills, mut agents) = seeded(SPANS_CHUNKS).await;
        let other = store
            .create_org("other", &OrgSettings::default())
            .await
            .unwrap()
            .id;
        let new = |i: usize| NewAgent {
            email: format!("late{i}@example.com"),
            name: format!("Late {i}"),
            external_id: None,
        };
        let now = Timestamp(1_700_000_000_000);
        // Another organization's agent, created among the last of this one's: its id lies
        // inside the range a scan of the last chunk reads.
        let foreign = store.create_agent(other, &new(0), now).await.unwrap().id;
        for i in 1..6 {
            agents.push(store.create_agent(org, &new(i), now).await.unwrap().id);
        }
        let ghost = AgentId::new(Uuid::now_v7());
        let loose = WriteOptions {
            atomic: false,
            ..OPTS
        };
        for (name, ids) in [
            ("neighbours", agents.clone()),
            (
                "sparse",
                agents.iter().step_by(5).copied().collect::<Vec<_>>(),
            ),
        ] {
            let mut items = every_skill(&ids, &skills, 3);
            // In the last chunk of the planner, among the organization's own: another's agent,
            // one that does not exist, and an agent named twice.
            let at = items.len() - 3;
            items.insert(at, every_skill(&[foreign], &skills, 3).remove(0));
            items.insert(at + 1, every_skill(&[ghost], &skills, 3).remove(0));
            let twice = ids[ids.len() - 2];
            items.push(every_skill(&[twice], &skills, 9).remove(0));
            let r = store
                .write_skill_sets(org, &ctx(), &items, loose)
                .await
                .unwrap();
            assert!(r.committed, "{name}");
            assert!(matches!(r.items[at], ItemOutcome::NotFound), "{name}");
            assert!(matches!(r.items[at + 1], ItemOutcome::NotFound), "{name}");
            assert_eq!(
                r.items
                    .iter()
                    .filter(|o| matches!(o, ItemOutcome::Applied { .. }))
                    .count(),
                ids.len() + 1,
                "{name}"
            );
            let set = store.agent_skills(org, twice).await.unwrap();
            assert!(set.skills.iter().all(|s| s.proficiency == 9), "{name}");
            let last = store.agent_skills(org, *ids.last().unwrap()).await.unwrap();
            assert_eq!(last.skills.len(), skills.len(), "{name}");
            assert!(store
                .agent_skills(other, foreign)
                .await
                .unwrap()
                .skills
                .is_empty());
            // Back to a clean slate for the next round.
            let clear: Vec<AgentWrite> = every_skill(&agents, &[], 0);
            store
                .write_skill_sets(org, &ctx(), &clear, OPTS)
                .await
                .unwrap();
        }
    }

    /// The background checkpoint waits while a large write runs and for one tick after each
    /// ends, so that it does not copy one write's pages while the next is being written.
    #[test]
    fn the_checkpoint_waits_while_large_writes_come() {
        use std::sync::atomic::Ordering::Relaxed;
        let a = skillsets::Activity::default();
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

    fn blob(u: Uuid) -> String {
        format!("X'{}'", u.simple())
    }

    #[tokio::test]
    async fn the_audit_trail_survives_migration_0003_with_its_ids_and_cursors() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let old = dir.path().join("migrations");
        std::fs::create_dir(&old).unwrap();
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/sqlite/migrations");
        {
            let opts = SqliteConnectOptions::from_str(&url)
                .unwrap()
                .create_if_missing(true);
            let pool = SqlitePool::connect_with(opts).await.unwrap();
            migrator_to(&old, src, 2).await.run(&pool).await.unwrap();
            let sql = m::old_data(blob, "1");
            sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        let store = SqliteStore::open(&url).await.unwrap();
        m::check(&store).await;
        // The audit_entries view reads the text form the migration left.
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let view: Vec<m::ViewRow> = sqlx::query_as(&m::view_sql(""))
            .fetch_all(&mut c)
            .await
            .unwrap();
        let view: Vec<m::Compared> = view.into_iter().map(m::compared).collect();
        assert_eq!(view, m::view_want());
    }
}
