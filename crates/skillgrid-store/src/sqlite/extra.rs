//! Bulk support on SQLite: agent states, skill holders, the org-wide audit log and
//! idempotency keys; and the upkeep of what grows with traffic (pruning, the write probe).

use crate::common::{IDEMPOTENCY_TTL_MS, WRITE_PROBE_BYTES};
use crate::idempotency::{self, Claim, KeyRow, ABANDON, COMPLETE, RENEW, RESET, SELECT};
use crate::rows::{self, HOLDER_COLS};
use crate::*;
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{QueryBuilder, Row};
use std::collections::HashMap;

pub(super) async fn agent_states(
    pool: &SqlitePool,
    org: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, AgentState>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT a.uuid, coalesce(v.version, 0), a.active
             FROM agents a LEFT JOIN agent_versions v ON v.agent_id = a.id
             WHERE a.org_id = (SELECT id FROM orgs WHERE uuid = ",
        );
        qb.push_bind(org).push(") AND a.uuid IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        for r in qb.build().fetch_all(pool).await? {
            out.insert(
                r.try_get(0)?,
                AgentState {
                    version: r.try_get(1)?,
                    active: r.try_get(2)?,
                },
            );
        }
    }
    Ok(out)
}

pub(super) async fn skill_holders(
    pool: &SqlitePool,
    org: Uuid,
    skill: Uuid,
    page: PageRequest,
) -> Result<Paged<SkillHolderRecord>> {
    let skill_pk: i64 = sqlx::query_scalar(
        "SELECT id FROM skills WHERE uuid = ? AND org_id = (SELECT id FROM orgs WHERE uuid = ?)",
    )
    .bind(skill)
    .bind(org)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound)?;
    let rows: Vec<rows::Holder> = sqlx::query_as(&format!(
        "SELECT {HOLDER_COLS} FROM assignments a JOIN agents g ON g.id = a.agent_id
         WHERE a.skill_id = ? AND a.agent_id > ? ORDER BY a.agent_id LIMIT ?"
    ))
    .bind(skill_pk)
    .bind(page.after.unwrap_or(0))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let items = rows.into_iter().map(|r| r.record(skill)).collect();
    Ok(crate::common::paged(items, page.limit))
}

pub(super) use super::skillsets::audit_log;

pub(super) async fn idempotency_begin(
    pool: &SqlitePool,
    org: Uuid,
    client: Uuid,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<IdempotencyBegin> {
    let (mut tx, org_pk) = super::begin_for_org(pool, org).await?;
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
        .bind(now.0 - IDEMPOTENCY_TTL_MS)
        .execute(&mut *tx)
        .await?;
    let row: Option<KeyRow> = sqlx::query_as(SELECT)
        .bind(org_pk)
        .bind(client)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    let outcome = match row.map(|r| idempotency::judge(r, fingerprint, now)) {
        Some(Claim::Answer(answer)) => answer,
        Some(Claim::Reset) => {
            sqlx::query(RESET)
                .bind(fingerprint)
                .bind(now.0)
                .bind(org_pk)
                .bind(client)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            IdempotencyBegin::Fresh
        }
        Some(Claim::Renew) => {
            sqlx::query(RENEW)
                .bind(now.0)
                .bind(org_pk)
                .bind(client)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            IdempotencyBegin::Fresh
        }
        None => {
            sqlx::query("INSERT INTO idempotency_keys (org_id, client_uuid, key, fingerprint, state, created_at) VALUES (?, ?, ?, ?, 0, ?)")
                .bind(org_pk)
                .bind(client)
                .bind(key)
                .bind(fingerprint)
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
            IdempotencyBegin::Fresh
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

pub(super) async fn idempotency_complete(
    pool: &SqlitePool,
    org: Uuid,
    client: Uuid,
    key: &str,
    status: u16,
    body: &[u8],
) -> Result<()> {
    sqlx::query(COMPLETE)
        .bind(i32::from(status))
        .bind(body)
        .bind(org)
        .bind(client)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn idempotency_abandon(
    pool: &SqlitePool,
    org: Uuid,
    client: Uuid,
    key: &str,
) -> Result<()> {
    sqlx::query(ABANDON)
        .bind(org)
        .bind(client)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// See [`Store::probe_write`]: the pages a blob takes, then freed, in one committed write.
pub(super) async fn probe_write(pool: &SqlitePool) -> Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', zeroblob(?))")
        .bind(WRITE_PROBE_BYTES)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM meta WHERE key = 'write_probe'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// See [`Store::prune_audit`]. The oldest rows first, in id order (the order of commits, as
/// SQLite has one writer), up to the first one recorded at or after `before`. A large write's
/// shared values (`audit_writes`) go with its last row: its rows are consecutive, so only the
/// write of the first row kept may still be needed.
pub(super) async fn prune_audit(
    pool: &SqlitePool,
    org: Uuid,
    before: Timestamp,
    batch: u32,
) -> Result<u64> {
    let (mut tx, org_pk) = super::begin_for_org(pool, org).await?;
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
