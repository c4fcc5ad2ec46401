//! PostgreSQL: several server processes may share one database.
//!
//! Nothing here relies on an in-process lock. Every read-modify-write runs in one transaction
//! that first locks the rows it decides on (`SELECT … FOR UPDATE`, several rows always in
//! primary-key order so two writers never deadlock), and unique constraints settle races on
//! names, e-mails and idempotency keys. Transactions run at READ COMMITTED: a statement after
//! a lock sees everything committed before the lock was granted.

mod export;
mod extra;
mod group;
mod held;
mod rate;
mod reads;
mod skillsets;
// Written once for both backends and compiled in each (see the file).
#[expect(clippy::duplicate_mod, reason = "one text compiled for each backend")]
#[path = "../per_backend/mod.rs"]
mod per_backend;

use crate::*;
use anyhow::Context;
use export::export;
use extra::prune_expired_keys;
use skillsets::write_inside;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row};
use std::time::Duration;

pub struct PgStore {
    /// `read` and `write` are one pool, as PostgreSQL serves reads and writes alike; the two
    /// names say, in code shared with SQLite (which keeps them apart), which one is meant.
    read: PgPool,
    write: PgPool,
    group: crate::group::GroupCommit,
    reads: reads::Reads,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/postgres/migrations");

/// Connections per process: four per core of this machine, from 4 to 32. More connections
/// than PostgreSQL can run at once only queue inside it: on 2 cores, 8 instead of 16 took the
/// p99 of single PUTs at 64 connections from 70–78 ms to 59–66 ms and of GETs from 31 to
/// 25–27 ms, at the same throughput (`skillgrid-bench --agents 2000 --seconds 4 --runs 1
/// --no-datasette --postgres …`, four runs of each, alternating).
fn pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    (cores * 4).clamp(4, 32)
}

/// Groups of small writes one process writes at once (see `crate::group`): a quarter of the
/// pool, so that a group waiting for a lock holds up only its own writes. More costs
/// throughput: at 64 connections on 2 cores, single PUTs went 3,700–4,060/s with one leader,
/// 3,630–3,760/s with two, 3,200–3,280/s with four (p99 24–25, 27–29 and 31–34 ms;
/// `skillgrid-bench --agents 2000 --seconds 4 --runs 1 --no-datasette --postgres …`,
/// alternating).
fn group_leaders() -> usize {
    (pool_size() / 4).max(1) as usize
}

/// Batched reads of agents' skills one process runs at once, each on a connection of its own
/// (see `reads.rs`): one per two cores. Fewer statements take more reads each, and each costs
/// PostgreSQL and the server about the same whatever it holds: at 64 connections on 2 cores,
/// one statement at a time answered 8,700–10,300 GETs/s (p99 12–14 ms) and took 19 reads per
/// statement, four 7,000–9,300 (p99 14–21 ms) with 4 each (`skillgrid-bench --reads-only
/// --agents 1000 --seconds 5 --postgres …`).
fn read_statements() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    (cores / 2).clamp(1, 8)
}

type Tx = sqlx::Transaction<'static, Postgres>;

/// The rest of an event's select (see `per_backend/events.rs`): its entries and the skills
/// they name by place, its own or, for an event that refers to its audit row, that row's and
/// its write's; then the tables.
const EVENT_SOURCE: &str = "COALESCE(e.entries, s.entries) AS entries,
    COALESCE(e.skills, w.skills) AS skills
  FROM events e JOIN orgs o ON o.id = e.org_id
  LEFT JOIN audit_sets s ON s.id = e.audit_set_id
  LEFT JOIN audit_writes w ON w.id = s.write_id";

/// The database the code shared with SQLite (`src/per_backend/`) is compiled for here.
type Db = Postgres;

/// Ends a select of rows a transaction is about to change: locks those of `table` (a name
/// or alias of the select's) until the transaction ends.
fn for_update(table: &str) -> String {
    format!(" FOR UPDATE OF {table}")
}

/// Starts a transaction that writes.
async fn begin_write(pool: &PgPool) -> sqlx::Result<Tx> {
    pool.begin().await
}

/// A connection idle this long is pinged before it is used (see `PgStore::open_with`).
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// How long a statement waits for a connection (the pool's, or a held one) before it fails.
const CONNECTION_WAIT: Duration = Duration::from_secs(30);

impl PgStore {
    /// Connects to the database at `url` and applies pending migrations (under the migrator's
    /// advisory lock, so processes starting together migrate once).
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, IfMissing::Create).await
    }

    /// [`PgStore::open`], but a database without skillgrid's tables is set up or refused as
    /// `if_missing` says (PostgreSQL databases themselves are never created here).
    pub async fn open_with(url: &str, if_missing: IfMissing) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse().context("the PostgreSQL URL is not valid")?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size())
            .acquire_timeout(CONNECTION_WAIT)
            // sqlx pings every connection it hands out, by default: a round trip before each
            // statement, which doubled the round trips of a read of one agent's skills. Only a
            // connection idle for a while is pinged (one PostgreSQL may have closed meanwhile:
            // a restart, an idle timeout); one in use moments ago is handed out as it is.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        use sqlx::Connection;
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.clone())
            .await
            .context("failed to connect to the PostgreSQL database")?;
        if if_missing == IfMissing::Refuse {
            let (name, migrated) = Self::describe(&pool).await?;
            if !migrated {
                pool.close().await;
                return Err(NoDatabase::Unmigrated(name).into());
            }
        }
        MIGRATOR
            .run(&pool)
            .await
            .context("failed to migrate the PostgreSQL database")?;
        Ok(PgStore {
            read: pool.clone(),
            write: pool,
            group: crate::group::GroupCommit::new(group_leaders()),
            reads: reads::Reads::new(&options, read_statements()),
        })
    }

    /// The name of the database and whether it holds skillgrid's tables (the migrations table
    /// is looked up where the migrator makes it: on the search path).
    async fn describe(pool: &PgPool) -> sqlx::Result<(String, bool)> {
        let (name, has_table): (String, bool) = sqlx::query_as(
            "SELECT current_database(), to_regclass('_sqlx_migrations') IS NOT NULL",
        )
        .fetch_one(pool)
        .await?;
        let migrated = has_table
            && sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = $1 AND success)",
            )
            .bind(common::first_migration(&MIGRATOR))
            .fetch_one(pool)
            .await?;
        Ok((name, migrated))
    }
}

/// The first of the two keys of the advisory lock of an organization (`"SG"`); the second is
/// its id. Skill-set writes hold it shared, a settings change exclusively.
const ORG_LOCK: i32 = 0x5347;

/// A transaction holding the organization's lock shared, and the organization's key.
///
/// An advisory lock, not `SELECT … FOR SHARE` on the organization's row: a shared row lock
/// held by many transactions at once is a MultiXact written into the row, and with every
/// concurrent write of an organization sharing that row, it made them queue on it.
async fn begin_for_org(pool: &PgPool, org: OrgId) -> Result<(Tx, i64)> {
    begin_locking_org(pool, org, "pg_advisory_xact_lock_shared", "").await
}

/// A transaction holding the organization's lock exclusively, and the organization's key:
/// skill-set writes hold it shared, so while it is held every write that started has
/// finished and none is under way.
async fn begin_org_exclusive(pool: &PgPool, org: OrgId) -> Result<(Tx, i64)> {
    begin_locking_org(pool, org, "pg_advisory_xact_lock", "").await
}

/// [`begin_org_exclusive`], also locking the organization's row, which keeps two settings
/// changes apart.
async fn begin_settings_change(pool: &PgPool, org: OrgId) -> Result<(Tx, i64)> {
    begin_locking_org(pool, org, "pg_advisory_xact_lock", " FOR UPDATE").await
}

/// A transaction holding the organization's lock as the advisory lock function `lock` takes
/// it (and its row as `row_lock` says), and the organization's key.
async fn begin_locking_org(
    pool: &PgPool,
    org: OrgId,
    lock: &str,
    row_lock: &str,
) -> Result<(Tx, i64)> {
    let mut tx = pool.begin().await?;
    let org_pk: i64 = sqlx::query_scalar(&format!(
        "SELECT id, {lock}($2, (id & 2147483647)::int4) FROM orgs WHERE uuid = $1{row_lock}"
    ))
    .bind(org.get())
    .bind(ORG_LOCK)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok((tx, org_pk))
}

// What `Store` does on this backend where the backends differ (the rest is in
// `src/per_backend/store.rs`).

/// The store `src/per_backend/store.rs` implements `Store` for.
type This = PgStore;

/// A transaction whose reads all see one snapshot.
/// An agent `g`'s skill-set version: a column of the agent.
const AGENT_VERSION: &str = "g.version";

/// The assignments of the agents with the keys `agents`, as `(agent, skill, proficiency)` keys
/// (the grid's read, see `per_backend/grid.rs`): one row an agent, its skills and
/// proficiencies as two arrays of numbers, which PostgreSQL sends in binary.
async fn grid_held(conn: &mut sqlx::PgConnection, agents: &[i64]) -> Result<Vec<(i64, i64, i64)>> {
    let grouped: Vec<(i64, Vec<i64>, Vec<i64>)> = sqlx::query_as(
        "SELECT a.agent_id, array_agg(a.skill_id), array_agg(a.proficiency)
         FROM assignments a WHERE a.agent_id = ANY($1) GROUP BY a.agent_id",
    )
    .bind(agents)
    .fetch_all(conn)
    .await?;
    let mut held = Vec::with_capacity(grouped.len() * 32);
    for (agent, skills, proficiencies) in grouped {
        held.extend(
            skills
                .into_iter()
                .zip(proficiencies)
                .map(|(skill, proficiency)| (agent, skill, proficiency)),
        );
    }
    Ok(held)
}

async fn begin_snapshot(store: &PgStore) -> sqlx::Result<Tx> {
    store
        .read
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
}

/// The database's files are the server's: none here.
fn disk_usage(_: &PgStore) -> Vec<(&'static str, u64)> {
    Vec::new()
}

/// A skill-set write (see `Store::write`): a producer's items are all made before the write.
/// A write of more agents than a group takes runs the sink while its rows are written; a
/// smaller one, after the commit.
async fn write(store: &PgStore, request: WriteRequest<'_>) -> Result<Written> {
    let WriteRequest {
        org,
        ctx,
        items,
        opts,
        sink,
    } = request;
    let (items, keep) = items.collect();
    if !keep {
        return Ok(crate::write::after_commit(items, None, sink));
    }
    if items.len() > crate::group::SMALL {
        let result = skillsets::write(&store.write, org, ctx, &items, opts, sink).await?;
        return Ok(crate::write::after_commit(items, Some(result), None));
    }
    let result = per_backend::store::write_slice(store, org, ctx, &items, opts).await?;
    Ok(crate::write::after_commit(items, Some(result), sink))
}

/// The organization's generation: every API request reads it (see `Store::org_generation`).
/// SQLite reads it in `sqlite/hot.rs`.
async fn org_generation(store: &PgStore, org: OrgId) -> Result<i64> {
    sqlx::query_scalar("SELECT generation FROM orgs WHERE uuid = $1")
        .bind(org.get())
        .fetch_optional(&store.read)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn agent_skills(store: &PgStore, org: OrgId, agent: AgentId) -> Result<AgentSkillSet> {
    // One statement, so one snapshot for the version and the set; an agent without skills
    // is one row of NULLs after its own columns.
    let rows = sqlx::query(
        "SELECT 0::bigint, a.id, a.version, a.active, s.uuid, x.proficiency, x.effective_at,
                x.expires_at, x.updated_at
         FROM agents a
         LEFT JOIN (assignments x JOIN skills s ON s.id = x.skill_id) ON x.agent_id = a.id
         WHERE a.uuid = $1 AND a.org_id = (SELECT id FROM orgs WHERE uuid = $2)
         ORDER BY s.name_key, s.uuid",
    )
    .bind(agent.get())
    .bind(org.get())
    .fetch_all(&store.read)
    .await?;
    read_set(&rows)?.1.ok_or(StoreError::NotFound)
}

/// The organization's generation and the agent's set, read with the other requests' reads
/// of the moment (see `reads.rs`).
async fn agent_skills_at_generation(
    store: &PgStore,
    org: OrgId,
    agent: AgentId,
) -> Result<(i64, Option<AgentSkillSet>)> {
    store.reads.read(org, agent).await
}

/// The rows of the reads above: (generation, agent's key, version, active, then one
/// assignment). The first column of the first row, if any; the set when the agent was found.
pub(super) fn read_set(
    rows: &[sqlx::postgres::PgRow],
) -> Result<(Option<i64>, Option<AgentSkillSet>)> {
    let Some(first) = rows.first() else {
        return Ok((None, None));
    };
    let generation: i64 = first.try_get(0)?;
    if first.try_get::<Option<i64>, _>(1)?.is_none() {
        return Ok((Some(generation), None));
    }
    let (version, active): (i64, bool) = (first.try_get(2)?, first.try_get(3)?);
    let mut skills = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(skill_id) = r.try_get::<Option<Uuid>, _>(4)? else {
            continue;
        };
        skills.push(StoredAssignment {
            skill_id: skill_id.into(),
            proficiency: r.try_get(5)?,
            effective: r.try_get::<Option<i64>, _>(6)?.map(Timestamp),
            expires: r.try_get::<Option<i64>, _>(7)?.map(Timestamp),
            updated_at: Timestamp(r.try_get(8)?),
        });
    }
    let set = AgentSkillSet {
        version,
        active,
        skills,
    };
    Ok((Some(generation), Some(set)))
}

/// A write of more agents than a group takes (see `src/per_backend/store.rs`).
async fn write_many(
    store: &PgStore,
    org: OrgId,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    skillsets::write(&store.write, org, ctx, items, opts, None).await
}

async fn take_tokens(
    store: &PgStore,
    client: ClientId,
    limit: &RateLimit,
    wanted: u64,
    ahead: u64,
) -> Result<Option<TokenTake>> {
    rate::take_tokens(&store.write, client, limit, wanted, ahead)
        .await
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::migration_check as m;
    use crate::sqlite::migrator_to;
    use sqlx::Connection;

    fn uuid(u: Uuid) -> String {
        format!("'{u}'::uuid")
    }

    /// A fresh database on the server `SKILLGRID_TEST_POSTGRES_URL` names (failing without
    /// one): its URL, name and an admin connection to drop it with.
    async fn fresh_db() -> (String, String, sqlx::PgConnection) {
        let admin = std::env::var("SKILLGRID_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let mut c = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin}: {e}"));
        let name = format!("skillgrid_t_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .unwrap();
        let base = admin.split('?').next().unwrap();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        (url, name, c)
    }

    /// Drops the database [`fresh_db`] made, with whatever still holds it open.
    async fn drop_db(admin: &mut sqlx::PgConnection, name: &str) {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(admin)
            .await
            .unwrap();
    }

    /// [`fresh_db`] with the migrations up to `version` applied, and a pool on it.
    async fn fresh_db_at(version: i64) -> (String, String, sqlx::PgConnection, PgPool) {
        let (url, name, c) = fresh_db().await;
        let dir = tempfile::tempdir().unwrap();
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/postgres/migrations");
        let pool = PgPool::connect(&url).await.unwrap();
        migrator_to(dir.path(), src, version)
            .await
            .run(&pool)
            .await
            .unwrap();
        (url, name, c, pool)
    }

    /// Tokens are taken ahead only once every one wanted now was, and at most a quarter of
    /// what is then left: a small bucket, or one nearly spent, is never taken ahead of.
    #[tokio::test]
    async fn tokens_are_taken_ahead_from_what_a_bucket_can_spare() {
        let (url, name, mut c) = fresh_db().await;
        let store = PgStore::open(&url).await.unwrap();
        // One token a minute: the bucket does not refill noticeably during the test.
        let limit = |burst| RateLimit {
            requests_per_minute: 1,
            burst,
        };
        let take = |client, burst, wanted, ahead| {
            let limit = limit(burst);
            let store = &store;
            async move {
                let t = store
                    .take_tokens(client, &limit, wanted, ahead)
                    .await
                    .unwrap()
                    .unwrap();
                (t.granted, t.ahead, t.tokens.floor() as i64)
            }
        };
        let big = ClientId::new(Uuid::now_v7());
        // 100: 2 now, 50 wanted ahead but a quarter of the 98 left is 24.
        assert_eq!(take(big, 100, 2, 50).await, (2, 24, 74));
        assert_eq!(take(big, 100, 1, 10).await, (1, 10, 63));
        // More wanted than left: what is left, none ahead.
        assert_eq!(take(big, 100, 70, 10).await, (63, 0, 0));
        assert_eq!(take(big, 100, 1, 10).await, (0, 0, 0));
        let small = ClientId::new(Uuid::now_v7());
        assert_eq!(take(small, 4, 1, 10).await, (1, 0, 3));
        // Other sizes: the bucket starts full at them.
        assert_eq!(take(small, 9, 1, 10).await, (1, 2, 6));
        store.write.close().await;
        drop_db(&mut c, &name).await;
    }

    /// Connections PostgreSQL closed while they sat idle (a restart, an idle timeout), in the
    /// pool or held for the batched reads (`held.rs`), are found by the ping before they are
    /// used, and replaced: the next statement of each runs.
    #[tokio::test]
    async fn a_connection_closed_while_idle_is_replaced_before_it_is_used() {
        let (url, name, mut c) = fresh_db().await;
        let store = PgStore::open(&url).await.unwrap();
        let org = store
            .create_org("o", &skillgrid_core::api::OrgSettings::default())
            .await
            .unwrap()
            .id;
        let one = || sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&store.read);
        let read = || store.agent_skills_at_generation(org, AgentId::new(Uuid::from_u128(8)));
        assert_eq!(one().await.unwrap(), 1);
        assert!(read().await.unwrap().1.is_none());
        let closed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(&name)
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert!(closed.len() >= 2 && closed.iter().all(|t| *t), "{closed:?}");
        tokio::time::sleep(PING_AFTER_IDLE + Duration::from_secs(1)).await;
        assert_eq!(one().await.unwrap(), 1);
        assert!(read().await.unwrap().1.is_none());
        store.write.close().await;
        drop_db(&mut c, &name).await;
    }

    /// A held connection whose use ended early (a statement cancelled half-way, or failed) is
    /// closed rather than used again, with whatever it was in the middle of; one kept is used
    /// again. Its statements are planned once (`plan_cache_mode`).
    #[tokio::test]
    async fn a_held_connection_is_used_again_only_when_kept() {
        let (url, name, mut c) = fresh_db().await;
        let options: PgConnectOptions = url.parse().unwrap();
        let held = held::Held::new(&options, 1);
        let pid = |mut lease: held::Lease<'static>| async move {
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut *lease)
                .await
                .unwrap();
            (pid, lease)
        };
        let held: &'static held::Held = Box::leak(Box::new(held));
        let (first, lease) = pid(held.take().await.unwrap()).await;
        let mode: String = {
            let mut lease = lease;
            let mode = sqlx::query_scalar("SHOW plan_cache_mode")
                .fetch_one(&mut *lease)
                .await
                .unwrap();
            lease.keep();
            mode
        };
        assert_eq!(mode, "force_generic_plan");
        let (again, mut lease) = pid(held.take().await.unwrap()).await;
        assert_eq!(again, first, "a kept connection is used again");
        // Cancelled half-way through a statement: the lease is dropped, not kept.
        let sleep = sqlx::query("SELECT pg_sleep(5)").execute(&mut *lease);
        assert!(tokio::time::timeout(Duration::from_millis(200), sleep)
            .await
            .is_err());
        drop(lease);
        let (next, lease) = pid(held.take().await.unwrap()).await;
        assert_ne!(
            next, first,
            "a connection left mid-statement was used again"
        );
        lease.keep();
        drop_db(&mut c, &name).await;
    }

    /// A batched read whose skills the kept catalog of its generation cannot name is read
    /// again with its skills joined, and answered as if the catalog had named them.
    #[tokio::test]
    async fn a_read_the_kept_catalog_cannot_map_is_read_with_its_skills() {
        use skillgrid_core::model::{Assignment, SkillSetWrite};
        let (url, name, mut c) = fresh_db().await;
        let store = PgStore::open(&url).await.unwrap();
        let now = Timestamp(1_000);
        let (org, skills, agents) = crate::seed::seed(&store, 2, now).await;
        // Held in the reverse order of the skills' names.
        let set: Vec<Assignment> = skills
            .iter()
            .rev()
            .zip(1..)
            .map(|(s, p)| Assignment::omitted(*s, p))
            .collect();
        let items = [AgentWrite {
            agent_id: agents[0],
            write: SkillSetWrite::Replace(set),
            if_match: None,
        }];
        let ctx = write_context(now);
        let request = WriteRequest::new(org, &ctx, Items::Slice(&items), all_or_nothing(10));
        store.write(request).await.unwrap();
        let read = |agent| store.agent_skills_at_generation(org, agent);
        let (generation, first) = read(agents[0]).await.unwrap();
        let first = first.unwrap();
        let named: Vec<_> = first.skills.iter().map(|a| a.skill_id).collect();
        assert_eq!(named, skills, "sorted by name: billing, chat, voice");
        store.reads.empty_kept_catalogs();
        let (again_at, again) = read(agents[0]).await.unwrap();
        assert_eq!(again_at, generation);
        let again = again.unwrap();
        assert_eq!(
            (again.version, again.active, &again.skills),
            (first.version, first.active, &first.skills)
        );
        let (_, none) = read(agents[1]).await.unwrap();
        assert!(none.unwrap().skills.is_empty());
        store.write.close().await;
        drop_db(&mut c, &name).await;
    }

    /// A write's context in these tests: one request of one client, at `now`.
    fn write_context(now: Timestamp) -> WriteContext {
        WriteContext {
            request_id: "r".into(),
            client_id: ClientId::new(Uuid::from_u128(1)),
            now,
        }
    }

    /// An atomic write that is not a dry run, of at most `max` skills per agent.
    fn all_or_nothing(max: u64) -> WriteOptions {
        WriteOptions {
            dry_run: false,
            atomic: true,
            max_skills_per_agent: max,
            return_sets: false,
            inactive_ok: false,
        }
    }

    /// A write of more agents than a group takes hands its outcomes to the sink before its
    /// commit, while its rows are written: another connection sees none of them yet when the
    /// sink runs, and all of them once the write has returned.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_write_runs_its_sink_before_the_commit() {
        use skillgrid_core::model::{Assignment, SkillSetWrite};
        let (url, name, mut c) = fresh_db().await;
        let store = PgStore::open(&url).await.unwrap();
        let now = Timestamp(1_000);
        let (org, skills, agents) = crate::seed::seed(&store, crate::group::SMALL + 4, now).await;
        let set: Vec<Assignment> = skills.iter().map(|s| Assignment::omitted(*s, 3)).collect();
        let items: Vec<AgentWrite> = agents
            .iter()
            .map(|a| AgentWrite {
                agent_id: *a,
                write: SkillSetWrite::Replace(set.clone()),
                if_match: None,
            })
            .collect();
        let (ctx, opts) = (write_context(now), all_or_nothing(10));
        let stored = || {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM assignments").fetch_one(&store.read)
        };
        let seen = std::sync::Mutex::new(Vec::new());
        let sink = |i: &[AgentWrite], o: &[ItemOutcome]| {
            assert_eq!(i.len(), o.len());
            let handle = tokio::runtime::Handle::current();
            let n = tokio::task::block_in_place(|| handle.block_on(stored())).unwrap();
            seen.lock().unwrap().push(n);
        };
        let request = WriteRequest::new(org, &ctx, Items::Slice(&items), opts).sink(&sink);
        let written = store.write(request).await.unwrap();
        assert!(written.result.unwrap().committed);
        assert_eq!(*seen.lock().unwrap(), vec![0]);
        assert_eq!(
            stored().await.unwrap() as usize,
            agents.len() * skills.len()
        );
        store.write.close().await;
        drop_db(&mut c, &name).await;
    }

    /// A write larger than one statement's chunk (`tuning::PG_CHUNK_ROWS`) is written whole:
    /// every chunk's inserts, updates where the rows were read, deletes and audit rows, and
    /// each version bumped once. On a runtime of one thread, its audit rows are made, and its
    /// sink called, before its first statements.
    #[tokio::test]
    async fn writes_of_several_chunks_land_whole() {
        writes_of_several_chunks().await;
    }

    /// The same, its audit rows made and its sink called on a thread of their own while its
    /// first statements run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_of_several_chunks_land_whole_when_made_beside() {
        writes_of_several_chunks().await;
    }

    async fn writes_of_several_chunks() {
        use skillgrid_core::model::{Assignment, NewSkill, SkillSetWrite};
        let (url, name, mut c) = fresh_db().await;
        let store = PgStore::open(&url).await.unwrap();
        let now = Timestamp(1_000);
        // 60 skills × 900 agents: 54,000 rows, more than one chunk.
        const SKILLS: usize = 60;
        const AGENTS: usize = 900;
        const { assert!(SKILLS * AGENTS > crate::tuning::PG_CHUNK_ROWS) };
        let (org, mut skills, agents) = crate::seed::seed(&store, AGENTS, now).await;
        while skills.len() < SKILLS {
            let new = NewSkill {
                name: format!("extra {}", skills.len()),
                description: None,
            };
            skills.push(store.create_skill(org, &new, now).await.unwrap().id);
        }
        let (ctx, opts) = (write_context(now), all_or_nothing(SKILLS as u64));
        let set = |p: i64, n: usize| {
            skills[..n]
                .iter()
                .map(|s| Assignment {
                    proficiency: p,
                    ..Assignment::omitted(*s, p)
                })
                .collect::<Vec<_>>()
        };
        let write = |w: &dyn Fn() -> SkillSetWrite| {
            agents
                .iter()
                .map(|a| AgentWrite {
                    agent_id: *a,
                    write: w(),
                    if_match: None,
                })
                .collect::<Vec<_>>()
        };
        // SKILLS × AGENTS inserts and a bump per agent; then as many updates; then AGENTS
        // updates and (SKILLS - 1) × AGENTS deletes. The first two hand their outcomes to a
        // sink, which sees every item applied.
        for p in [10, 15] {
            let items = write(&|| SkillSetWrite::Replace(set(p, SKILLS)));
            let seen = std::sync::Mutex::new(Vec::new());
            let sink = |i: &[AgentWrite], o: &[ItemOutcome]| {
                let applied = o
                    .iter()
                    .filter(|o| matches!(o, ItemOutcome::Applied { .. }))
                    .count();
                seen.lock().unwrap().push((i.len(), applied));
            };
            let request = WriteRequest::new(org, &ctx, Items::Slice(&items), opts).sink(&sink);
            let written = store.write(request).await.unwrap();
            assert!(written.result.unwrap().committed);
            assert_eq!(seen.into_inner().unwrap(), [(AGENTS, AGENTS)]);
        }
        let held: Vec<(i64, i64)> =
            sqlx::query_as("SELECT proficiency, count(*) FROM assignments GROUP BY proficiency")
                .fetch_all(&store.read)
                .await
                .unwrap();
        assert_eq!(held, [(15, (SKILLS * AGENTS) as i64)]);
        let r = store
            .write_skill_sets(
                org,
                &ctx,
                &write(&|| SkillSetWrite::Replace(set(20, 1))),
                opts,
            )
            .await
            .unwrap();
        assert!(r.committed);
        for a in &agents {
            let got = store.agent_skills(org, *a).await.unwrap();
            assert_eq!(got.version, 3);
            let profs: Vec<(SkillId, i64)> = got
                .skills
                .iter()
                .map(|s| (s.skill_id, s.proficiency))
                .collect();
            assert_eq!(profs, vec![(skills[0], 20)]);
        }
        let log = store
            .audit_log(
                org,
                None,
                PageRequest {
                    after: None,
                    limit: 200_000,
                },
            )
            .await
            .unwrap();
        assert_eq!(log.items.len(), 3 * SKILLS * AGENTS);
        store.write.close().await;
        drop_db(&mut c, &name).await;
    }

    /// Migration 0019 keys events by organization and sequence number: the events written
    /// before it keep their rows and numbers, and a number is still taken once.
    #[tokio::test]
    async fn events_keep_their_numbers_through_migration_0019() {
        let (url, name, mut c, pool) = fresh_db_at(18).await;
        let events =
            "SELECT org_id, sequence, kind, subject_uuid FROM events ORDER BY org_id, sequence";
        let subject = Uuid::now_v7();
        let before: Vec<(i64, i64, String, Uuid)> = {
            let insert = |org: i64, sequence: i64| {
                sqlx::query(
                    "INSERT INTO events (uuid, org_id, sequence, kind, occurred_at, request_id, subject_uuid)
                     VALUES ($1, $2, $3, 'agent.created', 0, 'req', $4)",
                )
                .bind(Uuid::now_v7())
                .bind(org)
                .bind(sequence)
                .bind(subject)
            };
            for (org, sequence) in [(1, 1), (1, 2), (2, 1), (1, 3)] {
                insert(org, sequence).execute(&pool).await.unwrap();
            }
            sqlx::query_as(events).fetch_all(&pool).await.unwrap()
        };
        pool.close().await;
        let store = PgStore::open(&url).await.unwrap();
        let after: Vec<(i64, i64, String, Uuid)> =
            sqlx::query_as(events).fetch_all(&store.read).await.unwrap();
        assert_eq!(after, before);
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = 'events'::regclass AND i.indisprimary ORDER BY a.attnum",
        )
        .fetch_all(&store.read)
        .await
        .unwrap();
        assert_eq!(key, ["org_id", "sequence"]);
        let again = sqlx::query(
            "INSERT INTO events (uuid, org_id, sequence, kind, occurred_at, request_id, subject_uuid)
             VALUES ($1, 1, 2, 'agent.created', 0, 'req', $2)",
        )
        .bind(Uuid::now_v7())
        .bind(subject)
        .execute(&store.write)
        .await;
        assert!(again.is_err(), "a sequence number was taken twice");
        store.write.close().await;
        drop_db(&mut c, &name).await;
    }

    /// Agents are looked up by e-mail without the e-mail trigram index, even where
    /// PostgreSQL would choose it. With sequential scans off for the session (as a large
    /// table makes them costly), a thousand keys among 200 agents are planned as a bitmap scan
    /// of that index: the lookup must not read it, and gives its setting back after it.
    #[tokio::test]
    async fn agents_are_looked_up_by_email_without_the_trigram_index() {
        let (url, name, mut c) = fresh_db().await;
        let store = PgStore::open(&url).await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO orgs (uuid, name, name_key, settings, created_at)
               VALUES (gen_random_uuid(), 'o', 'o', '{}', 0);
             INSERT INTO agents (uuid, org_id, email, email_key, name, active, created_at, updated_at)
               SELECT gen_random_uuid(), (SELECT id FROM orgs WHERE name_key = 'o'),
                      'agent' || g || '@example.com', 'agent' || g || '@example.com',
                      'Agent ' || g, true, 0, 0
               FROM generate_series(1, 200) AS g;
             ANALYZE agents;",
        )
        .execute(&store.write)
        .await
        .unwrap();
        let org: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE name_key = 'o'")
            .fetch_one(&store.write)
            .await
            .unwrap();
        let trigrams: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'agents_email_trigrams')",
        )
        .fetch_one(&store.write)
        .await
        .unwrap();
        assert!(
            trigrams,
            "pg_trgm is missing: the case this test is for cannot arise"
        );
        // Keys 191 to 1,190: ten agents that exist, the rest new.
        let keys: Vec<String> = (191..1191)
            .map(|i| format!("agent{i}@example.com"))
            .collect();
        let mut conn = store.write.acquire().await.unwrap();
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut *conn)
            .await
            .unwrap();
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        let found = extra::agents_by_email(&mut tx, org, &keys).await.unwrap();
        assert_eq!(found.len(), 10);
        let (trigram_scans, bitmap): (i64, String) = sqlx::query_as(
            "SELECT pg_stat_get_xact_numscans('agents_email_trigrams'::regclass),
                    current_setting('enable_bitmapscan')",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!((trigram_scans, bitmap.as_str()), (0, "on"));
        tx.rollback().await.unwrap();
        sqlx::query("RESET enable_seqscan")
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        store.write.close().await;
        drop_db(&mut c, &name).await;
    }

    /// Against the server `SKILLGRID_TEST_POSTGRES_URL` names; fails without one.
    #[tokio::test]
    async fn the_audit_trail_survives_migration_0002_with_its_ids_and_cursors() {
        let (url, name, mut c, pool) = fresh_db_at(1).await;
        {
            let sql = m::old_data(uuid, "true");
            sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        let store = PgStore::open(&url).await.unwrap();
        m::check(&store).await;
        // The audit_entries view reads the text form the migration left.
        let view: Vec<m::ViewRow> = sqlx::query_as(&m::view_sql("::text"))
            .fetch_all(&store.read)
            .await
            .unwrap();
        let view: Vec<m::Compared> = view.into_iter().map(m::compared).collect();
        assert_eq!(view, m::view_want());
        // New rows get ids after the moved ones.
        let next: i64 =
            sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('audit_sets', 'id'))")
                .fetch_one(&store.read)
                .await
                .unwrap();
        assert!(next > 5, "{next}");
        store.write.close().await;
        drop_db(&mut c, &name).await;
    }
}
