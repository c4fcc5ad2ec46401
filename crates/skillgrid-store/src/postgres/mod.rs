//! PostgreSQL: several server processes may share one database.
//!
//! Nothing here relies on an in-process lock. Every read-modify-write runs in one transaction
//! that first locks the rows it decides on (`SELECT … FOR UPDATE`, several rows always in
//! primary-key order so two writers never deadlock), and unique constraints settle races on
//! names, e-mails and idempotency keys. Transactions run at READ COMMITTED: a statement after
//! a lock sees everything committed before the lock was granted.

mod clients;
mod extra;
mod group;
mod rate;
mod skillsets;

use crate::common::{key, paged};
use crate::*;
use anyhow::Context;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row};
use std::time::Duration;

pub struct PgStore {
    pool: PgPool,
    group: crate::group::GroupCommit,
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

/// The request field a unique violation is about, from the constraint's name.
fn conflict_field(e: &sqlx::Error) -> Option<&'static str> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    if !db.is_unique_violation() {
        return None;
    }
    Some(match db.constraint() {
        Some("skills_org_name") | Some("orgs_name") => "name",
        Some("agents_org_email") => "email",
        _ => "id",
    })
}

fn map_write_err(e: sqlx::Error) -> StoreError {
    match conflict_field(&e) {
        Some(field) => StoreError::Conflict { field },
        None => e.into(),
    }
}

fn ts(v: i64) -> Timestamp {
    Timestamp(v)
}

type Tx = sqlx::Transaction<'static, Postgres>;

impl PgStore {
    /// Connects to the database at `url` and applies pending migrations (under the migrator's
    /// advisory lock, so processes starting together migrate once).
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, IfMissing::Create).await
    }

    /// [`PgStore::open`], but a database without skillgrid's tables is set up or refused as
    /// `if_missing` says (PostgreSQL databases themselves are never created here).
    pub async fn open_with(url: &str, if_missing: IfMissing) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(pool_size())
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
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
            pool,
            group: crate::group::GroupCommit::new(group_leaders()),
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

    async fn org_pk(&self, org: Uuid) -> Result<i64> {
        sqlx::query_scalar("SELECT id FROM orgs WHERE uuid = $1")
            .bind(org)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)
    }
}

/// Starts a transaction and finds the organization's key, holding a share lock on its row
/// (a settings update, which locks it exclusively, waits for writes under way).
/// The first of the two keys of the advisory lock of an organization (`"SG"`); the second is
/// its id. Skill-set writes hold it shared, a settings change exclusively.
const ORG_LOCK: i32 = 0x5347;

/// A transaction holding the organization's lock shared, and the organization's key.
///
/// An advisory lock, not `SELECT … FOR SHARE` on the organization's row: a shared row lock
/// held by many transactions at once is a MultiXact written into the row, and with every
/// concurrent write of an organization sharing that row, it made them queue on it.
async fn begin_for_org(pool: &PgPool, org: Uuid) -> Result<(Tx, i64)> {
    let mut tx = pool.begin().await?;
    let org_pk: i64 = sqlx::query_scalar(
        "SELECT id, pg_advisory_xact_lock_shared($2, (id & 2147483647)::int4) FROM orgs WHERE uuid = $1",
    )
    .bind(org)
    .bind(ORG_LOCK)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok((tx, org_pk))
}

fn org_from_row(r: &PgRow) -> Result<OrgRecord> {
    let settings: String = r.try_get("settings")?;
    Ok(OrgRecord {
        id: r.try_get("uuid")?,
        name: r.try_get("name")?,
        settings: serde_json::from_str(&settings).context("stored settings are not valid")?,
    })
}

fn skill_from_row(r: &PgRow) -> Result<SkillRecord> {
    Ok(SkillRecord {
        id: r.try_get("uuid")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        active: r.try_get("active")?,
        created_at: ts(r.try_get("created_at")?),
        updated_at: ts(r.try_get("updated_at")?),
    })
}

fn agent_from_row(r: &PgRow) -> Result<AgentRecord> {
    Ok(AgentRecord {
        id: r.try_get("uuid")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        external_id: r.try_get("external_id")?,
        active: r.try_get("active")?,
        created_at: ts(r.try_get("created_at")?),
        updated_at: ts(r.try_get("updated_at")?),
    })
}

const SKILL_COLS: &str = "id, uuid, name, description, active, created_at, updated_at";
const AGENT_COLS: &str = "id, uuid, email, name, external_id, active, created_at, updated_at";

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<()> {
        extra::probe_write(&self.pool).await
    }

    async fn list_orgs(&self) -> Result<Vec<OrgRecord>> {
        sqlx::query("SELECT uuid, name, settings FROM orgs ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(org_from_row)
            .collect()
    }

    async fn prune_audit(&self, org: Uuid, before: Timestamp, batch: u32) -> Result<u64> {
        extra::prune_audit(&self.pool, org, before, batch).await
    }

    async fn prune_idempotency(&self, before: Timestamp, batch: u32) -> Result<u64> {
        extra::prune_idempotency(&self.pool, before, batch).await
    }

    async fn signing_key(&self, fresh: Vec<u8>) -> Result<Vec<u8>> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('jwt_signing_key', $1) ON CONFLICT DO NOTHING",
        )
        .bind(fresh)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'jwt_signing_key'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn org_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM orgs")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_org(&self, name: &str, settings: &OrgSettings) -> Result<OrgRecord> {
        insert_org(&self.pool, name, settings).await
    }

    async fn find_org(&self, id_or_name: &str) -> Result<Option<OrgRecord>> {
        let row = match Uuid::parse_str(id_or_name) {
            Ok(id) => {
                sqlx::query("SELECT uuid, name, settings FROM orgs WHERE uuid = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            Err(_) => {
                sqlx::query("SELECT uuid, name, settings FROM orgs WHERE name_key = $1")
                    .bind(key(id_or_name))
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        row.as_ref().map(org_from_row).transpose()
    }

    async fn create_client(
        &self,
        org: Uuid,
        name: &str,
        secret_hash: &str,
        scopes: &[String],
        by: &ChangedBy,
    ) -> Result<ClientRecord> {
        clients::create(&self.pool, org, name, secret_hash, scopes, by).await
    }

    async fn create_org_with_client(
        &self,
        org_name: &str,
        settings: &OrgSettings,
        client_name: &str,
        secret_hash: &str,
        scopes: &[String],
        by: &ChangedBy,
    ) -> Result<(OrgRecord, ClientRecord)> {
        let mut tx = self.pool.begin().await?;
        let org = insert_org(&mut *tx, org_name, settings).await?;
        let client = clients::insert(&mut tx, org.id, client_name, secret_hash, scopes, by).await?;
        tx.commit().await?;
        Ok((org, client))
    }

    async fn find_client(&self, client_id: Uuid) -> Result<Option<ClientRecord>> {
        clients::find(&self.pool, client_id).await
    }

    async fn list_clients(&self, org: Uuid, page: PageRequest) -> Result<Paged<ClientRecord>> {
        clients::list(&self.pool, org, page).await
    }

    async fn get_client(&self, org: Uuid, id: Uuid) -> Result<ClientRecord> {
        clients::get(&self.pool, org, id).await
    }

    async fn update_client(
        &self,
        org: Uuid,
        id: Uuid,
        change: &ClientChange,
        by: &ChangedBy,
    ) -> Result<ClientRecord> {
        clients::update(&self.pool, org, id, change, by).await
    }

    async fn delete_client(
        &self,
        org: Uuid,
        id: Uuid,
        if_scopes: Option<&[String]>,
        by: &ChangedBy,
    ) -> Result<ClientRecord> {
        clients::delete(&self.pool, org, id, if_scopes, by).await
    }

    async fn client_audit(
        &self,
        org: Uuid,
        since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<Paged<ClientAuditRecord>> {
        clients::audit(&self.pool, org, since, page).await
    }

    async fn settings(&self, org: Uuid) -> Result<OrgSettings> {
        let row = sqlx::query("SELECT uuid, name, settings FROM orgs WHERE uuid = $1")
            .bind(org)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(org_from_row(&row)?.settings)
    }

    async fn org_generation(&self, org: Uuid) -> Result<i64> {
        sqlx::query_scalar("SELECT generation FROM orgs WHERE uuid = $1")
            .bind(org)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn org_snapshot(&self, org: Uuid) -> Result<OrgSnapshot> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let row =
            sqlx::query("SELECT id, uuid, name, settings, generation FROM orgs WHERE uuid = $1")
                .bind(org)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let org_pk: i64 = row.try_get("id")?;
        let catalog: Vec<(Uuid, String, bool)> =
            sqlx::query_as("SELECT uuid, name, active FROM skills WHERE org_id = $1")
                .bind(org_pk)
                .fetch_all(&mut *tx)
                .await?;
        let clients = clients::grants(&mut tx, org_pk).await?;
        tx.commit().await?;
        Ok(OrgSnapshot {
            generation: row.try_get("generation")?,
            settings: org_from_row(&row)?.settings,
            catalog: common::catalog(catalog),
            clients,
        })
    }

    async fn update_settings(&self, org: Uuid, new: &OrgSettings) -> Result<Result<(), Stranded>> {
        let mut tx = self.pool.begin().await?;
        // The organization's lock, exclusive: skill-set writes hold it shared, so the count
        // below sees every write that finished and none is under way. The row lock keeps two
        // settings changes apart.
        let org_pk: i64 = sqlx::query_scalar(
            "SELECT id, pg_advisory_xact_lock($2, (id & 2147483647)::int4) FROM orgs WHERE uuid = $1 FOR UPDATE",
        )
        .bind(org)
        .bind(ORG_LOCK)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let extent = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE a.proficiency < $1), count(*) FILTER (WHERE a.proficiency > $2),
                    min(a.proficiency), max(a.proficiency)
             FROM assignments a JOIN agents g ON g.id = a.agent_id WHERE g.org_id = $3",
        )
        .bind(new.proficiency_scale.min)
        .bind(new.proficiency_scale.max)
        .bind(org_pk)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(stranded) = common::stranded(extent) {
            return Ok(Err(stranded));
        }
        sqlx::query("UPDATE orgs SET settings = $1 WHERE id = $2")
            .bind(serde_json::to_string(new).context("serialising settings")?)
            .bind(org_pk)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn catalog(&self, org: Uuid) -> Result<Vec<CatalogSkill>> {
        let rows: Vec<(Uuid, String, bool)> = sqlx::query_as(
            "SELECT s.uuid, s.name, s.active FROM skills s JOIN orgs o ON o.id = s.org_id WHERE o.uuid = $1",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        Ok(common::catalog(rows))
    }

    async fn list_skills(
        &self,
        org: Uuid,
        f: &SkillFilter,
        page: PageRequest,
    ) -> Result<Paged<SkillRecord>> {
        let org_pk = self.org_pk(org).await?;
        let rows = sqlx::query(&format!(
            "SELECT {SKILL_COLS} FROM skills WHERE org_id = $1 AND id > $2
               AND ($3::text IS NULL OR name_key = $3) AND ($4::boolean IS NULL OR active = $4)
             ORDER BY id LIMIT $5"
        ))
        .bind(org_pk)
        .bind(page.after.unwrap_or(0))
        .bind(f.name.as_deref().map(key))
        .bind(f.active)
        .bind(page.limit as i64 + 1)
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .iter()
            .map(|r| Ok((r.try_get("id")?, skill_from_row(r)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(paged(rows, page.limit))
    }

    async fn get_skill(&self, org: Uuid, id: Uuid) -> Result<SkillRecord> {
        let row = sqlx::query(&format!(
            "SELECT {SKILL_COLS} FROM skills WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2)"
        ))
        .bind(id)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        skill_from_row(&row)
    }

    async fn create_skill(&self, org: Uuid, new: &NewSkill, now: Timestamp) -> Result<SkillRecord> {
        let id = Uuid::now_v7();
        let done = sqlx::query(
            "INSERT INTO skills (uuid, org_id, name, name_key, description, active, created_at, updated_at)
             SELECT $1, id, $2, $3, $4, TRUE, $5, $5 FROM orgs WHERE uuid = $6",
        )
        .bind(id)
        .bind(&new.name)
        .bind(key(&new.name))
        .bind(&new.description)
        .bind(now.0)
        .bind(org)
        .execute(&self.pool)
        .await
        .map_err(map_write_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(SkillRecord {
            id,
            name: new.name.clone(),
            description: new.description.clone(),
            active: true,
            created_at: now,
            updated_at: now,
        })
    }

    async fn update_skill(
        &self,
        org: Uuid,
        id: Uuid,
        p: &SkillPatch,
        now: Timestamp,
    ) -> Result<SkillRecord> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {SKILL_COLS} FROM skills WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2) FOR UPDATE"
        ))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let pk: i64 = row.try_get("id")?;
        let mut s = skill_from_row(&row)?;
        if crate::common::apply_skill_patch(&mut s, p, now) {
            sqlx::query("UPDATE skills SET name = $1, name_key = $2, description = $3, active = $4, updated_at = $5 WHERE id = $6")
                .bind(&s.name)
                .bind(key(&s.name))
                .bind(&s.description)
                .bind(s.active)
                .bind(now.0)
                .bind(pk)
                .execute(&mut *tx)
                .await
                .map_err(map_write_err)?;
        }
        tx.commit().await?;
        Ok(s)
    }

    async fn delete_skill(&self, org: Uuid, id: Uuid) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // The organization's lock, exclusive (migration 0003): skill-set writes hold it
        // shared, so the count below sees every write that finished and none is under way, and
        // a write that starts after this commits no longer finds the skill.
        let org_pk: i64 = sqlx::query_scalar(
            "SELECT id, pg_advisory_xact_lock($2, (id & 2147483647)::int4) FROM orgs WHERE uuid = $1",
        )
        .bind(org)
        .bind(ORG_LOCK)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let pk: i64 =
            sqlx::query_scalar("SELECT id FROM skills WHERE uuid = $1 AND org_id = $2 FOR UPDATE")
                .bind(id)
                .bind(org_pk)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM assignments WHERE skill_id = $1")
            .bind(pk)
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            return Err(StoreError::InUse { count });
        }
        // Audit entries keep the skill's id; they outlive the skill, so no foreign key.
        sqlx::query("DELETE FROM skills WHERE id = $1")
            .bind(pk)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_agents(
        &self,
        org: Uuid,
        f: &AgentFilter,
        page: PageRequest,
    ) -> Result<Paged<AgentRecord>> {
        let org_pk = self.org_pk(org).await?;
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLS} FROM agents WHERE org_id = $1 AND id > $2
               AND ($3::text IS NULL OR email_key = $3) AND ($4::boolean IS NULL OR active = $4)
             ORDER BY id LIMIT $5"
        ))
        .bind(org_pk)
        .bind(page.after.unwrap_or(0))
        .bind(f.email.as_deref().map(key))
        .bind(f.active)
        .bind(page.limit as i64 + 1)
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .iter()
            .map(|r| Ok((r.try_get("id")?, agent_from_row(r)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(paged(rows, page.limit))
    }

    async fn get_agent(&self, org: Uuid, id: Uuid) -> Result<AgentRecord> {
        let row = sqlx::query(&format!(
            "SELECT {AGENT_COLS} FROM agents WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2)"
        ))
        .bind(id)
        .bind(org)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        agent_from_row(&row)
    }

    async fn create_agent(&self, org: Uuid, new: &NewAgent, now: Timestamp) -> Result<AgentRecord> {
        let id = Uuid::now_v7();
        let done = sqlx::query(
            "INSERT INTO agents (uuid, org_id, email, email_key, name, external_id, active, version, created_at, updated_at)
             SELECT $1, id, $2, $3, $4, $5, TRUE, 0, $6, $6 FROM orgs WHERE uuid = $7",
        )
        .bind(id)
        .bind(&new.email)
        .bind(key(&new.email))
        .bind(&new.name)
        .bind(&new.external_id)
        .bind(now.0)
        .bind(org)
        .execute(&self.pool)
        .await
        .map_err(map_write_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(AgentRecord {
            id,
            email: new.email.clone(),
            name: new.name.clone(),
            external_id: new.external_id.clone(),
            active: true,
            created_at: now,
            updated_at: now,
        })
    }

    async fn update_agent(
        &self,
        org: Uuid,
        id: Uuid,
        p: &AgentPatch,
        now: Timestamp,
    ) -> Result<AgentRecord> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {AGENT_COLS} FROM agents WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2) FOR UPDATE"
        ))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let pk: i64 = row.try_get("id")?;
        let mut a = agent_from_row(&row)?;
        if crate::common::apply_agent_patch(&mut a, p, now) {
            sqlx::query("UPDATE agents SET email = $1, email_key = $2, name = $3, external_id = $4, active = $5, updated_at = $6 WHERE id = $7")
                .bind(&a.email)
                .bind(key(&a.email))
                .bind(&a.name)
                .bind(&a.external_id)
                .bind(a.active)
                .bind(now.0)
                .bind(pk)
                .execute(&mut *tx)
                .await
                .map_err(map_write_err)?;
        }
        tx.commit().await?;
        Ok(a)
    }

    async fn agent_skills(&self, org: Uuid, agent: Uuid) -> Result<AgentSkillSet> {
        // One statement, so one snapshot for the version and the set; an agent without skills
        // is one row of NULLs after its own columns.
        let rows = sqlx::query(
            "SELECT a.version, a.active, s.uuid, x.proficiency, x.effective_at, x.expires_at, x.updated_at
             FROM agents a
             LEFT JOIN (assignments x JOIN skills s ON s.id = x.skill_id) ON x.agent_id = a.id
             WHERE a.uuid = $1 AND a.org_id = (SELECT id FROM orgs WHERE uuid = $2)
             ORDER BY s.name_key, s.uuid",
        )
        .bind(agent)
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        let first = rows.first().ok_or(StoreError::NotFound)?;
        let (version, active): (i64, bool) = (first.try_get(0)?, first.try_get(1)?);
        let mut skills = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(skill_id) = r.try_get::<Option<Uuid>, _>(2)? else {
                continue;
            };
            skills.push(StoredAssignment {
                skill_id,
                proficiency: r.try_get(3)?,
                effective: r.try_get::<Option<i64>, _>(4)?.map(Timestamp),
                expires: r.try_get::<Option<i64>, _>(5)?.map(Timestamp),
                updated_at: Timestamp(r.try_get(6)?),
            });
        }
        Ok(AgentSkillSet {
            version,
            active,
            skills,
        })
    }

    async fn write(
        &self,
        org: Uuid,
        ctx: &WriteContext,
        items: Items<'_>,
        opts: WriteOptions,
        sink: Option<&OutcomeSink<'_>>,
    ) -> Result<Written> {
        // No overlap here: the items are all known before the write, and the sink runs after
        // the commit.
        let (items, keep) = items.collect();
        if !keep {
            return Ok(crate::write::after_commit(items, None, sink));
        }
        let result = if items.len() <= crate::group::SMALL {
            let pool = self.pool.clone();
            let run = |jobs| group::run(pool, jobs);
            self.group.write(org, ctx, &items, opts, run).await?
        } else {
            skillsets::write(&self.pool, org, ctx, &items, opts).await?
        };
        Ok(crate::write::after_commit(items, Some(result), sink))
    }

    async fn agent_history(
        &self,
        org: Uuid,
        agent: Uuid,
        page: PageRequest,
    ) -> Result<Paged<AuditRecord>> {
        let pk: i64 = sqlx::query_scalar("SELECT id FROM agents WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2)")
            .bind(agent)
            .bind(org)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        skillsets::history(&self.pool, pk, page).await
    }

    async fn agent_states(&self, org: Uuid, ids: &[Uuid]) -> Result<HashMap<Uuid, AgentState>> {
        extra::agent_states(&self.pool, org, ids).await
    }

    async fn skill_holders(
        &self,
        org: Uuid,
        skill: Uuid,
        page: PageRequest,
    ) -> Result<Paged<SkillHolderRecord>> {
        extra::skill_holders(&self.pool, org, skill, page).await
    }

    async fn audit_log(
        &self,
        org: Uuid,
        since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<Paged<AuditRecord>> {
        extra::audit_log(&self.pool, org, since, page).await
    }

    async fn idempotency_begin(
        &self,
        org: Uuid,
        client: Uuid,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<IdempotencyBegin> {
        extra::idempotency_begin(&self.pool, org, client, key, fingerprint, now).await
    }

    async fn idempotency_complete(
        &self,
        org: Uuid,
        client: Uuid,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()> {
        extra::idempotency_complete(&self.pool, org, client, key, status, body).await
    }

    async fn idempotency_abandon(&self, org: Uuid, client: Uuid, key: &str) -> Result<()> {
        extra::idempotency_abandon(&self.pool, org, client, key).await
    }

    async fn take_tokens(
        &self,
        client: Uuid,
        limit: &RateLimit,
        wanted: u64,
    ) -> Result<Option<TokenTake>> {
        rate::take_tokens(&self.pool, client, limit, wanted)
            .await
            .map(Some)
    }
}

async fn insert_org<'e>(
    db: impl sqlx::Executor<'e, Database = Postgres>,
    name: &str,
    settings: &OrgSettings,
) -> Result<OrgRecord> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orgs (uuid, name, name_key, settings, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(key(name))
    .bind(serde_json::to_string(settings).context("serialising settings")?)
    .bind(Timestamp::now().0)
    .execute(db)
    .await
    .map_err(map_write_err)?;
    Ok(OrgRecord {
        id,
        name: name.to_string(),
        settings: settings.clone(),
    })
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

    /// A write larger than one statement's chunk (`tuning::PG_CHUNK_ROWS`) is written whole:
    /// every chunk's deletes, upserts and audit rows, and each version bumped once.
    #[tokio::test]
    async fn writes_of_several_chunks_land_whole() {
        use skillgrid_core::model::{Assignment, NewAgent, NewSkill, SkillSetWrite};
        let (url, name, mut c) = fresh_db().await;
        let store = PgStore::open(&url).await.unwrap();
        let org = store
            .create_org("o", &OrgSettings::default())
            .await
            .unwrap()
            .id;
        let now = Timestamp(1_000);
        let mut skills = Vec::new();
        // 60 skills × 900 agents: 54,000 rows, more than one chunk.
        const SKILLS: usize = 60;
        const AGENTS: usize = 900;
        const { assert!(SKILLS * AGENTS > crate::tuning::PG_CHUNK_ROWS) };
        for i in 0..SKILLS {
            let new = NewSkill {
                name: format!("S{i}"),
                description: None,
            };
            skills.push(store.create_skill(org, &new, now).await.unwrap().id);
        }
        let mut agents = Vec::new();
        for i in 0..AGENTS {
            let new = NewAgent {
                email: format!("a{i}@x.io"),
                name: "A".into(),
                external_id: None,
            };
            agents.push(store.create_agent(org, &new, now).await.unwrap().id);
        }
        let ctx = WriteContext {
            request_id: "r".into(),
            client_id: Uuid::from_u128(1),
            now,
        };
        let opts = WriteOptions {
            dry_run: false,
            atomic: true,
            max_skills_per_agent: SKILLS as u64,
            return_sets: false,
        };
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
        // SKILLS × AGENTS inserts and a bump per agent; then AGENTS updates and
        // (SKILLS - 1) × AGENTS deletes.
        let r = store
            .write_skill_sets(
                org,
                &ctx,
                &write(&|| SkillSetWrite::Replace(set(10, SKILLS))),
                opts,
            )
            .await
            .unwrap();
        assert!(r.committed);
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
            assert_eq!(got.version, 2);
            let profs: Vec<(Uuid, i64)> = got
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
        assert_eq!(log.items.len(), 2 * SKILLS * AGENTS);
        store.pool.close().await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut c)
            .await
            .unwrap();
    }

    /// Against the server `SKILLGRID_TEST_POSTGRES_URL` names; fails without one.
    #[tokio::test]
    async fn the_audit_trail_survives_migration_0002_with_its_ids_and_cursors() {
        let (url, name, mut c) = fresh_db().await;
        let dir = tempfile::tempdir().unwrap();
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/postgres/migrations");
        {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            migrator_to(dir.path(), src, 1)
                .await
                .run(&pool)
                .await
                .unwrap();
            let sql = m::old_data(uuid, "true");
            sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        let store = PgStore::open(&url).await.unwrap();
        m::check(&store).await;
        // New rows get ids after the moved ones.
        let next: i64 =
            sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('audit_sets', 'id'))")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert!(next > 5, "{next}");
        store.pool.close().await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut c)
            .await
            .unwrap();
    }
}
