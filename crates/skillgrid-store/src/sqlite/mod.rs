//! The embedded default: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one connection
//! and start with `BEGIN IMMEDIATE` (taking the write lock up front, so a transaction never
//! fails half-way on a lock upgrade); reads use a separate pool and see WAL snapshots.
//! Another process (the `admin` commands) waits on the lock through `busy_timeout`.

mod export;
mod extra;
mod files;
mod group;
mod hot;
mod skillsets;
#[cfg(test)]
pub(crate) use tests::migrator_to;
// Written once for both backends and compiled in each (see the file).
#[expect(clippy::duplicate_mod, reason = "one text compiled for each backend")]
#[path = "../per_backend/mod.rs"]
mod per_backend;

use crate::*;
use anyhow::Context;
use export::export;
use extra::prune_expired_keys;
// What `Store::write` does on this backend (see `per_backend/store.rs`).
use skillsets::{write, write_inside, write_many};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    large: skillsets::LargeWrites,
    /// The reads every request of one agent's skills makes (see `hot.rs`).
    hot: hot::HotReaders,
    group: crate::group::GroupCommit,
    _checkpoints: Checkpointer,
    /// Exports running (see `export.rs`): while there are any, the checkpointer does not
    /// restart the log.
    exports: Arc<AtomicUsize>,
    /// The database file (its log is the same name with `-wal`).
    file: std::path::PathBuf,
}

/// The page cache of the writer's connection, in KiB: large writes read and write many pages.
const WRITER_CACHE_KIB: u32 = 65_536;
/// The page cache of every other connection (readers, the reader of large writes, the
/// checkpointer), in KiB. With [`READERS`] readers and [`hot::HOT_READERS`] the caches take
/// at most 64 + 8 × 8 = 128 MiB however large the database grows (memory maps are off:
/// `mmap_size` 0), which leaves room under 250 MiB for a large bulk request beside them.
/// These connections read a few pages per request (an agent's set, a page of holders) and
/// the operating system's file cache keeps the rest warm.
const OTHER_CACHE_KIB: u32 = 8_192;
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
/// writes back for as long as that takes. While an export runs (it reads one snapshot for as
/// long as it runs, see `export.rs`) only the PASSIVE checkpoint runs. Stops when the store is
/// dropped.
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
        exports: Arc<AtomicUsize>,
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
                // A restart waits for readers of the old log, holding writes back meanwhile:
                // an export reads one snapshot for as long as it runs, so none while it does.
                let truncate = (wal_bytes > WAL_TRUNCATE_BYTES || (idle && wal_bytes > 0))
                    && exports.load(Ordering::SeqCst) == 0;
                if !truncate && activity.busy_since(&mut seen) && deferred < CHECKPOINT_DEFER {
                    deferred += 1;
                    continue;
                }
                deferred = 0;
                let started = std::time::Instant::now();
                // First what can be copied without holding anyone up, so that a truncation
                // holds writes back only for the rest.
                let mut done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                    .map(drop);
                let passive_ms = started.elapsed().as_millis() as u64;
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
                match done {
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retrying later"),
                    Ok(()) if wal_bytes == 0 => {}
                    Ok(()) => tracing::debug!(
                        wal_bytes,
                        restarted = truncate,
                        passive_ms,
                        total_ms = started.elapsed().as_millis() as u64,
                        "WAL checkpointed"
                    ),
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
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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
        let exports = Arc::new(AtomicUsize::new(0));
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
            exports.clone(),
        );
        let bulk_reader = Self::open_bulk_reader(opts.get_filename())
            .context("failed to open the SQLite reader of large writes")?;
        let hot = hot::HotReaders::open(opts.get_filename())
            .context("failed to open the SQLite readers of single agents")?;
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
            hot,
            // One leader: SQLite has one writer.
            group: crate::group::GroupCommit::new(1),
            _checkpoints: checkpoints,
            exports,
            file,
        })
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

/// The rest of an event's select (see `per_backend/events.rs`): its entries and the skills
/// they name by place, its own or, for an event that refers to its audit row, that row's and
/// its write's; then the tables.
const EVENT_SOURCE: &str = "COALESCE(e.entries, s.entries) AS entries,
    COALESCE(e.skills, w.skills) AS skills
  FROM events e JOIN orgs o ON o.id = e.org_id
  LEFT JOIN audit_sets s ON s.id = e.audit_set_id
  LEFT JOIN audit_writes w ON w.id = s.write_id";

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
/// An agent `g`'s skill-set version: kept in a narrow table of its own, no row at version 0.
const AGENT_VERSION: &str =
    "coalesce((SELECT v.version FROM agent_versions v WHERE v.agent_id = g.id), 0)";

/// The assignments of the agents with the keys `agents`, as `(agent, skill, proficiency)` keys
/// (the grid's read, see `per_backend/grid.rs`). One row an agent, its assignments in one text
/// of `skill:proficiency,…` keys: a full page holds 10,000 assignments, and sqlx hands each row
/// of SQLite over from its worker thread, so as 10,000 rows they would cost more than the rest
/// of the page together.
async fn grid_held(
    conn: &mut sqlx::SqliteConnection,
    agents: &[i64],
) -> Result<Vec<(i64, i64, i64)>> {
    let mut q = sqlx::QueryBuilder::<Db>::new(
        "SELECT a.agent_id, group_concat(a.skill_id || ':' || a.proficiency, ',')
         FROM assignments a WHERE a.agent_id IN (",
    );
    let mut ids = q.separated(", ");
    for a in agents {
        ids.push_bind(*a);
    }
    q.push(") GROUP BY a.agent_id");
    let grouped: Vec<(i64, String)> = q.build_query_as().fetch_all(conn).await?;
    let mut held = Vec::with_capacity(grouped.len() * 32);
    for (agent, text) in grouped {
        for item in text.split(',') {
            let pair = item
                .split_once(':')
                .and_then(|(k, p)| Some((k.parse().ok()?, p.parse().ok()?)));
            let (skill, proficiency) = pair.ok_or_else(|| {
                StoreError::Other(anyhow::anyhow!(
                    "an assignment of the grid reads `{item}`, not skill:proficiency"
                ))
            })?;
            held.push((agent, skill, proficiency));
        }
    }
    Ok(held)
}

async fn begin_snapshot(store: &SqliteStore) -> sqlx::Result<sqlx::Transaction<'static, Db>> {
    store.read.begin().await
}

/// No buckets: one process serves an SQLite database, and counts in its own memory.
async fn take_tokens(
    _: &SqliteStore,
    _client: ClientId,
    _limit: &RateLimit,
    _wanted: u64,
    _ahead: u64,
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
    store.hot.agent_skills(org, agent).await
}

async fn org_generation(store: &SqliteStore, org: OrgId) -> Result<i64> {
    store.hot.org_generation(org).await
}

async fn agent_skills_at_generation(
    store: &SqliteStore,
    org: OrgId,
    agent: AgentId,
) -> Result<(i64, Option<AgentSkillSet>)> {
    store.hot.agent_skills_at_generation(org, agent).await
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
