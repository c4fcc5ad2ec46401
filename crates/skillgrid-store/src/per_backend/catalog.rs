//! Organizations, skills and agents: the reads and writes both backends make alike.

use super::{begin_org_exclusive, begin_settings_change, begin_write, for_update, Db};
use crate::common::{key, map_write_err, paged, Filter, Patched};
use crate::rows::{self, CatalogRow, FromNew, HOLDER_COLS, ORG_COLS};
use crate::*;

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;
type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// Skills and agents, for what listing, reading, creating and changing one does alike.
pub(super) trait Kind: From<Self::Row> + Sized {
    type Row: CatalogRow + for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin;
    /// Its id, which no other kind's id can be passed for.
    type Id: Into<Uuid>;
    /// Stores a new one: [`Kind::bind`]'s parameters, then its id and its organization's id.
    const INSERT: &str;
    /// Stores a changed one: [`Kind::bind`]'s parameters, then its key.
    const UPDATE: &str;
    fn uuid(&self) -> Uuid;
    /// What the administrative audit trail keeps of it.
    fn audited(&self) -> AdminState;
    /// Binds what a write stores of it: its fields in its statements' order (a field kept
    /// with its case-insensitive key followed by that key), `updated_at` last.
    fn bind<'q>(&'q self, q: Query<'q>) -> Query<'q>;
}

/// A [`Kind`]: its row, its id, its statements and the fields a write stores (`+ key`: and
/// their key).
macro_rules! kind {
    (
        $record:ty: $row:ty, $id:ty, $insert:ident, $update:ident,
        [$($field:ident $(+ $key:ident)?),*]
    ) => {
        impl Kind for $record {
            type Row = $row;
            type Id = $id;
            const INSERT: &str = $insert;
            const UPDATE: &str = $update;
            fn uuid(&self) -> Uuid {
                self.id.get()
            }
            fn audited(&self) -> AdminState {
                <$record>::audited(self)
            }
            fn bind<'q>(&'q self, q: Query<'q>) -> Query<'q> {
                q$(.bind(&self.$field)$(.bind($key(&self.$field)))?)*.bind(self.updated_at.0)
            }
        }
    };
}

kind! {
    SkillRecord: rows::Skill, SkillId, INSERT_SKILL, UPDATE_SKILL,
    [name + key, description, active]
}
kind! {
    AgentRecord: rows::Agent, AgentId, INSERT_AGENT, UPDATE_AGENT,
    [email + key, name, external_id, active]
}

const INSERT_SKILL: &str =
    "INSERT INTO skills (name, name_key, description, active, updated_at, created_at, uuid, org_id)
     SELECT $1, $2, $3, $4, $5, $5, $6, id FROM orgs WHERE uuid = $7";
const UPDATE_SKILL: &str = "UPDATE skills
     SET name = $1, name_key = $2, description = $3, active = $4, updated_at = $5 WHERE id = $6";
const INSERT_AGENT: &str = "INSERT INTO agents
       (email, email_key, name, external_id, active, updated_at, created_at, uuid, org_id)
     SELECT $1, $2, $3, $4, $5, $6, $6, $7, id FROM orgs WHERE uuid = $8";
const UPDATE_AGENT: &str = "UPDATE agents
     SET email = $1, email_key = $2, name = $3, external_id = $4, active = $5, updated_at = $6
     WHERE id = $7";

pub(super) async fn list_orgs(pool: &Pool) -> Result<Vec<OrgRecord>> {
    let rows: Vec<rows::Org> = sqlx::query_as(&format!("SELECT {ORG_COLS} FROM orgs ORDER BY id"))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(rows::Org::record).collect()
}

/// By id (any case) or by name (case-insensitively).
pub(super) async fn find_org(pool: &Pool, id_or_name: &str) -> Result<Option<OrgRecord>> {
    let row: Option<rows::Org> = match Uuid::parse_str(id_or_name) {
        Ok(id) => {
            sqlx::query_as(&format!("SELECT {ORG_COLS} FROM orgs WHERE uuid = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }
        Err(_) => {
            sqlx::query_as(&format!("SELECT {ORG_COLS} FROM orgs WHERE name_key = $1"))
                .bind(key(id_or_name))
                .fetch_optional(pool)
                .await?
        }
    };
    row.map(rows::Org::record).transpose()
}

pub(super) async fn settings(pool: &Pool, org: OrgId) -> Result<OrgSettings> {
    let row: rows::Org = sqlx::query_as(&format!("SELECT {ORG_COLS} FROM orgs WHERE uuid = $1"))
        .bind(org.get())
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(row.record()?.settings)
}

/// Stores `new` unless stored proficiencies fall outside its scale.
pub(super) async fn update_settings(
    pool: &Pool,
    org: OrgId,
    new: &OrgSettings,
    by: &ChangedBy,
) -> Result<Result<(), Stranded>> {
    // No skill-set write runs meanwhile, so the count below sees every write that finished
    // and none is under way.
    let (mut tx, org_pk) = begin_settings_change(pool, org).await?;
    let extent = sqlx::query_as(
        "SELECT count(CASE WHEN a.proficiency < $1 THEN 1 END),
                count(CASE WHEN a.proficiency > $2 THEN 1 END),
                min(a.proficiency), max(a.proficiency)
         FROM assignments a JOIN agents g ON g.id = a.agent_id WHERE g.org_id = $3",
    )
    .bind(new.proficiency_scale.min)
    .bind(new.proficiency_scale.max)
    .bind(org_pk)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(stranded) = crate::common::stranded(extent) {
        return Ok(Err(stranded));
    }
    let current: rows::Org = sqlx::query_as(&format!("SELECT {ORG_COLS} FROM orgs WHERE id = $1"))
        .bind(org_pk)
        .fetch_one(&mut *tx)
        .await?;
    let before = AdminState::Settings(current.record()?.settings);
    sqlx::query("UPDATE orgs SET settings = $1 WHERE id = $2")
        .bind(crate::settings::to_json(new)?)
        .bind(org_pk)
        .execute(&mut *tx)
        .await?;
    let after = AdminState::Settings(new.clone());
    super::admin_trail::record(&mut tx, org_pk, org.get(), Some(&before), &after, by).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub(super) async fn org_count(pool: &Pool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM orgs")
        .fetch_one(pool)
        .await?)
}

/// The key that signs access tokens: `fresh` unless one is stored already.
pub(super) async fn signing_key(pool: &Pool, fresh: Vec<u8>) -> Result<Vec<u8>> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('jwt_signing_key', $1) ON CONFLICT DO NOTHING",
    )
    .bind(fresh)
    .execute(pool)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'jwt_signing_key'")
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn insert_org<'e>(
    db: impl sqlx::Executor<'e, Database = Db>,
    name: &str,
    settings: &OrgSettings,
) -> Result<OrgRecord> {
    let id = OrgId::new(Uuid::now_v7());
    sqlx::query(
        "INSERT INTO orgs (uuid, name, name_key, settings, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.get())
    .bind(name)
    .bind(key(name))
    .bind(crate::settings::to_json(settings)?)
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

/// A page of the organization's skills or agents, as `f` filters them.
pub(super) async fn list<F: Filter<Record = K>, K: Kind>(
    pool: &Pool,
    org: OrgId,
    f: &F,
    page: PageRequest,
) -> Result<Paged<K>> {
    let (key_column, key, active) = f.filter();
    let org_pk = org_pk(pool, org).await?;
    let rows: Vec<K::Row> = sqlx::query_as(&format!(
        "{} WHERE org_id = $1 AND id > $2
           AND (CAST($3 AS TEXT) IS NULL OR {key_column} = $3)
           AND (CAST($4 AS BOOLEAN) IS NULL OR active = $4)
         ORDER BY id LIMIT $5",
        K::Row::SELECT
    ))
    .bind(org_pk)
    .bind(page.after.unwrap_or(0))
    .bind(key)
    .bind(active)
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let rows = rows.into_iter().map(|r| (r.pk(), r.into())).collect();
    Ok(paged(rows, page.limit))
}

/// One of the organization's skills or agents by its id.
pub(super) async fn get<K: Kind>(pool: &Pool, org: OrgId, id: K::Id) -> Result<K> {
    Ok(one::<K>(pool, org, id.into(), "").await?.1)
}

/// One of the organization's skills or agents by its id, with its key; `lock` ends the
/// select (see `for_update`).
async fn one<'e, K: Kind>(
    db: impl sqlx::Executor<'e, Database = Db>,
    org: OrgId,
    id: Uuid,
    lock: &str,
) -> Result<(i64, K)> {
    let row: K::Row = sqlx::query_as(&format!(
        "{} WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2){lock}",
        K::Row::SELECT
    ))
    .bind(id)
    .bind(org.get())
    .fetch_optional(db)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok((row.pk(), row.into()))
}

/// Creates a skill or an agent of the organization, with its audit entry.
pub(super) async fn create<K: Kind + FromNew<N>, N>(
    pool: &Pool,
    org: OrgId,
    new: &N,
    by: &ChangedBy,
) -> Result<K> {
    let mut tx = begin_write(pool).await?;
    let org_pk = org_pk(&mut *tx, org).await?;
    let record = create_in(&mut tx, org, org_pk, new, by).await?;
    tx.commit().await?;
    Ok(record)
}

/// [`create`] in the caller's transaction.
pub(super) async fn create_in<K: Kind + FromNew<N>, N>(
    conn: &mut Conn,
    org: OrgId,
    org_pk: i64,
    new: &N,
    by: &ChangedBy,
) -> Result<K> {
    let record = K::from_new(new, by.now);
    record
        .bind(sqlx::query(K::INSERT))
        .bind(record.uuid())
        .bind(org.get())
        .execute(&mut *conn)
        .await
        .map_err(map_write_err)?;
    let after = record.audited();
    super::admin_trail::record(conn, org_pk, record.uuid(), None, &after, by).await?;
    Ok(record)
}

/// Applies a PATCH to a skill or an agent of the organization, and stores it with its audit
/// entry unless that changed nothing.
pub(super) async fn update<K: Kind + Patched<P>, P>(
    pool: &Pool,
    org: OrgId,
    id: K::Id,
    patch: &P,
    by: &ChangedBy,
) -> Result<K> {
    let mut tx = begin_write(pool).await?;
    let record = update_in(&mut tx, org, None, id, patch, by).await?;
    tx.commit().await?;
    Ok(record)
}

/// [`update`] in the caller's transaction (`org_pk`: the organization's key, when known).
pub(super) async fn update_in<K: Kind + Patched<P>, P>(
    conn: &mut Conn,
    org: OrgId,
    org_pk: Option<i64>,
    id: K::Id,
    patch: &P,
    by: &ChangedBy,
) -> Result<K> {
    let (pk, mut record) = one::<K>(&mut *conn, org, id.into(), &for_update(K::Row::TABLE)).await?;
    let before = record.audited();
    if record.patch(patch, by.now) {
        record
            .bind(sqlx::query(K::UPDATE))
            .bind(pk)
            .execute(&mut *conn)
            .await
            .map_err(map_write_err)?;
        let org_pk = match org_pk {
            Some(k) => k,
            None => self::org_pk(&mut *conn, org).await?,
        };
        let after = record.audited();
        super::admin_trail::record(conn, org_pk, record.uuid(), Some(&before), &after, by).await?;
    }
    Ok(record)
}

/// The organization's key.
pub(crate) async fn org_pk<'e>(
    db: impl sqlx::Executor<'e, Database = Db>,
    org: OrgId,
) -> Result<i64> {
    sqlx::query_scalar("SELECT id FROM orgs WHERE uuid = $1")
        .bind(org.get())
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The agent's key, of an agent of the organization.
pub(super) async fn agent_pk(pool: &Pool, org: OrgId, agent: AgentId) -> Result<i64> {
    sqlx::query_scalar(
        "SELECT id FROM agents WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2)",
    )
    .bind(agent.get())
    .bind(org.get())
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound)
}

pub(super) async fn catalog(pool: &Pool, org: OrgId) -> Result<Vec<CatalogSkill>> {
    let rows: Vec<(Uuid, String, bool)> = sqlx::query_as(
        "SELECT s.uuid, s.name, s.active FROM skills s JOIN orgs o ON o.id = s.org_id
         WHERE o.uuid = $1",
    )
    .bind(org.get())
    .fetch_all(pool)
    .await?;
    Ok(crate::common::catalog(rows))
}

/// The organization's settings, catalog and clients with their generation, read in `tx`,
/// which the caller began so that every read sees one snapshot.
pub(super) async fn org_snapshot(
    mut tx: sqlx::Transaction<'static, Db>,
    org: OrgId,
) -> Result<OrgSnapshot> {
    let row: rows::OrgAt = sqlx::query_as(&format!(
        "SELECT id, generation, {ORG_COLS} FROM orgs WHERE uuid = $1"
    ))
    .bind(org.get())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    let catalog: Vec<(Uuid, String, bool)> =
        sqlx::query_as("SELECT uuid, name, active FROM skills WHERE org_id = $1")
            .bind(row.id)
            .fetch_all(&mut *tx)
            .await?;
    let clients = super::clients::grants(&mut tx, row.id).await?;
    tx.commit().await?;
    Ok(OrgSnapshot {
        generation: row.generation,
        settings: row.org.record()?.settings,
        catalog: crate::common::catalog(catalog),
        clients,
    })
}

/// Who holds a skill of the organization, in agent order.
pub(super) async fn skill_holders(
    pool: &Pool,
    org: OrgId,
    skill: SkillId,
    page: PageRequest,
) -> Result<Paged<SkillHolderRecord>> {
    let skill_pk: i64 = sqlx::query_scalar(
        "SELECT id FROM skills WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2)",
    )
    .bind(skill.get())
    .bind(org.get())
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound)?;
    // `g.id > $2` repeats the cursor for the agents' side of the join: without it PostgreSQL,
    // once it has the statistics of a large table, merge-joins from the first agent and reads
    // every agent before the cursor (230 ms for a page 90% of the way down 500,000 agents).
    let rows: Vec<rows::Holder> = sqlx::query_as(&format!(
        "SELECT {HOLDER_COLS} FROM assignments a JOIN agents g ON g.id = a.agent_id
         WHERE a.skill_id = $1 AND a.agent_id > $2 AND g.id > $2 ORDER BY a.agent_id LIMIT $3"
    ))
    .bind(skill_pk)
    .bind(page.after.unwrap_or(0))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let items = rows.into_iter().map(|r| r.record(skill)).collect();
    Ok(paged(items, page.limit))
}

/// Every skill of the organization with how many agents hold it, in one statement.
pub(super) async fn holder_counts(pool: &Pool, org: OrgId) -> Result<Vec<SkillHolders>> {
    let rows: Vec<rows::SkillCount> = sqlx::query_as(rows::SKILL_HOLDERS)
        .bind(org.get())
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The organization's agents among `ids` (others are left out), 500 a statement.
pub(super) async fn agents_by_ids(
    pool: &Pool,
    org: OrgId,
    ids: &[AgentId],
) -> Result<Vec<AgentRecord>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let places: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "{} WHERE org_id = (SELECT id FROM orgs WHERE uuid = $1) AND uuid IN ({})",
            rows::Agent::SELECT,
            places.join(", ")
        );
        let mut q = sqlx::query_as::<_, rows::Agent>(&sql).bind(org.get());
        for id in chunk {
            q = q.bind(id.get());
        }
        out.extend(q.fetch_all(pool).await?.into_iter().map(AgentRecord::from));
    }
    Ok(out)
}

/// Deletes a skill no agent holds.
pub(super) async fn delete_skill(
    pool: &Pool,
    org: OrgId,
    id: SkillId,
    by: &ChangedBy,
) -> Result<()> {
    // No skill-set write runs meanwhile, so the count below sees every write that finished
    // and none is under way, and a write that starts after this commits no longer finds the
    // skill.
    let (mut tx, org_pk) = begin_org_exclusive(pool, org).await?;
    let (pk, skill) = one::<SkillRecord>(&mut *tx, org, id.get(), &for_update("skills")).await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM assignments WHERE skill_id = $1")
        .bind(pk)
        .fetch_one(&mut *tx)
        .await?;
    if count > 0 {
        return Err(StoreError::InUse { count });
    }
    // A SCIM Group may give the skill with no member holding it: the group gives it no more.
    sqlx::query(
        "UPDATE scim_groups SET version = version + 1
         WHERE id IN (SELECT group_id FROM scim_group_skills WHERE skill_id = $1)",
    )
    .bind(pk)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM scim_group_skills WHERE skill_id = $1")
        .bind(pk)
        .execute(&mut *tx)
        .await?;
    // Audit entries keep the skill's id; they outlive the skill, so no foreign key.
    sqlx::query("DELETE FROM skills WHERE id = $1")
        .bind(pk)
        .execute(&mut *tx)
        .await?;
    super::admin_trail::record_deletion(&mut tx, org_pk, id.get(), &skill.audited(), by).await?;
    tx.commit().await?;
    Ok(())
}
