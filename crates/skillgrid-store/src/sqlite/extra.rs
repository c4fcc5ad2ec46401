//! What only SQLite does its own way outside skill-set writes: reading many agents' states
//! at once, writing many agents at once (`Store::upsert_agents`), and the upkeep of what grows with traffic (pruning the audit trail and
//! idempotency keys).

use crate::rows;
use crate::*;
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::QueryBuilder;
use std::collections::HashMap;

pub(super) async fn agent_states(
    pool: &SqlitePool,
    org: OrgId,
    ids: &[AgentId],
) -> Result<HashMap<AgentId, AgentState>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT a.uuid, coalesce(v.version, 0) AS version, a.active
             FROM agents a LEFT JOIN agent_versions v ON v.agent_id = a.id
             WHERE a.org_id = (SELECT id FROM orgs WHERE uuid = ",
        );
        qb.push_bind(org.get()).push(") AND a.uuid IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id.get());
        }
        qb.push(")");
        let rows: Vec<rows::State> = qb.build_query_as().fetch_all(pool).await?;
        out.extend(rows.into_iter().map(rows::State::entry));
    }
    Ok(out)
}

/// See [`Store::prune_audit`]. The oldest rows first, in id order (the order of commits, as
/// SQLite has one writer), up to the first one recorded at or after `before`. A large write's
/// shared values (`audit_writes`) go with its last row: its rows are consecutive, so only the
/// write of the first row kept may still be needed.
/// `tx` is a write transaction, `org_pk` the organization's key.
pub(super) async fn prune_audit(
    (mut tx, org_pk): (sqlx::Transaction<'static, Sqlite>, i64),
    before: Timestamp,
    batch: u32,
) -> Result<u64> {
    let rows: Vec<(i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT s.id, s.write_id, coalesce(s.at, w.at) FROM audit_sets s
         LEFT JOIN audit_writes w ON w.id = s.write_id
         WHERE s.org_id = ? ORDER BY s.id LIMIT ?",
    )
    .bind(org_pk)
    .bind(i64::from(batch) + 1)
    .fetch_all(&mut *tx)
    .await?;
    let n = rows
        .iter()
        .take(batch as usize)
        .take_while(|r| r.2 < before.0)
        .count();
    if n == 0 {
        return Ok(0);
    }
    // An event kept longer than the rows it refers to takes their entries first.
    sqlx::query(
        "UPDATE events SET entries = s.entries, skills = w.skills, audit_set_id = NULL
         FROM audit_sets s LEFT JOIN audit_writes w ON w.id = s.write_id
         WHERE events.audit_set_id = s.id AND s.org_id = ? AND s.id <= ?",
    )
    .bind(org_pk)
    .bind(rows[n - 1].0)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM audit_sets WHERE org_id = ? AND id <= ?")
        .bind(org_pk)
        .bind(rows[n - 1].0)
        .execute(&mut *tx)
        .await?;
    let kept = rows.get(n).and_then(|r| r.1);
    let mut writes: Vec<i64> = rows[..n]
        .iter()
        .filter_map(|r| r.1)
        .filter(|w| Some(*w) != kept)
        .collect();
    writes.dedup();
    for chunk in writes.chunks(500) {
        let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM audit_writes WHERE org_id = ");
        qb.push_bind(org_pk).push(" AND id IN (");
        let mut sep = qb.separated(", ");
        for w in chunk {
            sep.push_bind(*w);
        }
        qb.push(")");
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(n as u64)
}

/// See [`Store::prune_idempotency`].
pub(super) async fn prune_idempotency(
    pool: &SqlitePool,
    before: Timestamp,
    batch: u32,
) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE rowid IN (
           SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)",
    )
    .bind(before.0)
    .bind(i64::from(batch))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes the idempotency keys claimed before `before`, inside a claim's transaction (see
/// `keys::begin`).
pub(super) async fn prune_expired_keys(
    conn: &mut sqlx::SqliteConnection,
    before: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(())
}

/// Agents per statement of [`insert_agents`] and [`update_agents`]: 9 and 6 parameters each.
const AGENT_ROWS: usize = 500;

/// The agents of the organization whose key is `org_pk` with the lower-case emails `keys`
/// (`Store::upsert_agents`; the write transaction holds the database): 500 keys a statement.
pub(super) async fn agents_by_email(
    conn: &mut sqlx::SqliteConnection,
    org_pk: i64,
    keys: &[String],
) -> sqlx::Result<Vec<rows::Agent>> {
    use rows::CatalogRow;
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let places: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "{} WHERE org_id = $1 AND email_key IN ({})",
            rows::Agent::SELECT,
            places.join(", ")
        );
        let mut q = sqlx::query_as::<_, rows::Agent>(&sql).bind(org_pk);
        for k in chunk {
            q = q.bind(k);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Stores new agents of the organization whose key is `org_pk` (`Store::upsert_agents`):
/// multi-row inserts.
pub(super) async fn insert_agents(
    conn: &mut sqlx::SqliteConnection,
    org_pk: i64,
    agents: &[&AgentRecord],
    now: Timestamp,
) -> sqlx::Result<()> {
    for chunk in agents.chunks(AGENT_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO agents
               (uuid, org_id, email, email_key, name, external_id, active, created_at, updated_at) ",
        );
        qb.push_values(chunk, |mut b, a| {
            b.push_bind(a.id.get())
                .push_bind(org_pk)
                .push_bind(&a.email)
                .push_bind(crate::common::key(&a.email))
                .push_bind(&a.name)
                .push_bind(&a.external_id)
                .push_bind(a.active)
                .push_bind(now.0)
                .push_bind(now.0);
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Stores changed agents, by key (`Store::upsert_agents`): one `UPDATE … FROM (VALUES …)`
/// per chunk.
pub(super) async fn update_agents(
    conn: &mut sqlx::SqliteConnection,
    agents: &[(i64, &AgentRecord)],
    now: Timestamp,
) -> sqlx::Result<()> {
    for chunk in agents.chunks(AGENT_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new("UPDATE agents SET email = v.column2, email_key = v.column3, name = v.column4, external_id = v.column5, active = v.column6, updated_at = ");
        qb.push_bind(now.0).push(" FROM (");
        qb.push_values(chunk, |mut b, (pk, a)| {
            b.push_bind(*pk)
                .push_bind(&a.email)
                .push_bind(crate::common::key(&a.email))
                .push_bind(&a.name)
                .push_bind(&a.external_id)
                .push_bind(a.active);
        });
        qb.push(") AS v WHERE agents.id = v.column1");
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}
