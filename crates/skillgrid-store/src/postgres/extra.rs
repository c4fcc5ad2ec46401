//! Bulk support on PostgreSQL: agent states, skill holders, the org-wide audit log and
//! idempotency keys; and the upkeep of what grows with traffic (pruning, the write probe).

use crate::common::{IDEMPOTENCY_TTL_MS, WRITE_PROBE_BYTES};
use crate::idempotency::{self, Claim, KeyRow, ABANDON, COMPLETE, RENEW, RESET, SELECT};
use crate::rows::{self, HOLDER_COLS};
use crate::*;
use sqlx::postgres::PgPool;
use sqlx::Row;
use std::collections::HashMap;

pub(super) use super::skillsets::audit_log;

pub(super) async fn agent_states(
    pool: &PgPool,
    org: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, AgentState>> {
    let mut out = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = sqlx::query(
        "SELECT uuid, version, active FROM agents
         WHERE org_id = (SELECT id FROM orgs WHERE uuid = $1) AND uuid = ANY($2)",
    )
    .bind(org)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    for r in rows {
        out.insert(
            r.try_get(0)?,
            AgentState {
                version: r.try_get(1)?,
                active: r.try_get(2)?,
            },
        );
    }
    Ok(out)
}

pub(super) async fn skill_holders(
    pool: &PgPool,
    org: Uuid,
    skill: Uuid,
    page: PageRequest,
) -> Result<Paged<SkillHolderRecord>> {
    let skill_pk: i64 = sqlx::query_scalar(
        "SELECT id FROM skills WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2)",
    )
    .bind(skill)
    .bind(org)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound)?;
    let rows: Vec<rows::Holder> = sqlx::query_as(&format!(
        "SELECT {HOLDER_COLS} FROM assignments a JOIN agents g ON g.id = a.agent_id
         WHERE a.skill_id = $1 AND a.agent_id > $2 ORDER BY a.agent_id LIMIT $3"
    ))
    .bind(skill_pk)
    .bind(page.after.unwrap_or(0))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let items = rows.into_iter().map(|r| r.record(skill)).collect();
    Ok(crate::common::paged(items, page.limit))
}

/// Claims a key. Two processes claiming the same key at once are ordered by the primary key:
/// the second `INSERT` waits for the first transaction and then finds its row, locked here
/// while it is judged. A key older than the TTL counts as absent (it is pruned, and reclaimed
/// if pruning skipped it).
pub(super) async fn idempotency_begin(
    pool: &PgPool,
    org: Uuid,
    client: Uuid,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<IdempotencyBegin> {
    let expired = now.0 - IDEMPOTENCY_TTL_MS;
    let mut tx = pool.begin().await?;
    let org_pk: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE uuid = $1")
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    // Rows another transaction holds are left for a later call: pruning never waits.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM idempotency_keys WHERE created_at < $1 FOR UPDATE SKIP LOCKED))",
    )
    .bind(expired)
    .execute(&mut *tx)
    .await?;
    // A row deleted (abandoned) between the insert and the read is claimed on the next round.
    let mut rounds = 0;
    let outcome = loop {
        rounds += 1;
        if rounds > 10 {
            return Err(anyhow::anyhow!("idempotency key `{key}` keeps changing under us").into());
        }
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (org_id, client_uuid, key, fingerprint, state, created_at)
             VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT DO NOTHING",
        )
        .bind(org_pk)
        .bind(client)
        .bind(key)
        .bind(fingerprint)
        .bind(now.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            break IdempotencyBegin::Fresh;
        }
        let row: Option<KeyRow> = sqlx::query_as(&format!("{SELECT} FOR UPDATE"))
            .bind(org_pk)
            .bind(client)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { continue };
        break match idempotency::judge(row, fingerprint, now) {
            Claim::Answer(answer) => answer,
            Claim::Reset => {
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
            Claim::Renew => {
                sqlx::query(RENEW)
                    .bind(now.0)
                    .bind(org_pk)
                    .bind(client)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                IdempotencyBegin::Fresh
            }
        };
    };
    tx.commit().await?;
    Ok(outcome)
}

pub(super) async fn idempotency_complete(
    pool: &PgPool,
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
    pool: &PgPool,
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

/// See [`Store::probe_write`]: a row of a few pages of random bytes (which PostgreSQL cannot
/// compress away), then deleted, in one committed write.
pub(super) async fn probe_write(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('write_probe', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
    )
    .bind(
        (0..WRITE_PROBE_BYTES / 16)
            .flat_map(|_| *Uuid::new_v4().as_bytes())
            .collect::<Vec<u8>>(),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM meta WHERE key = 'write_probe'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// See [`Store::prune_audit`]. The oldest rows first, in id order, up to the first one
/// recorded at or after `before`; rows are deleted only if they are that old, so a row whose
/// id was taken early but committed late is never lost.
pub(super) async fn prune_audit(
    pool: &PgPool,
    org: Uuid,
    before: Timestamp,
    batch: u32,
) -> Result<u64> {
    let (mut tx, org_pk) = super::begin_for_org(pool, org).await?;
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, at FROM audit_sets WHERE org_id = $1 ORDER BY id LIMIT $2")
            .bind(org_pk)
            .bind(i64::from(batch))
            .fetch_all(&mut *tx)
            .await?;
    let n = rows.iter().take_while(|r| r.1 < before.0).count();
    if n == 0 {
        return Ok(0);
    }
    let done = sqlx::query("DELETE FROM audit_sets WHERE org_id = $1 AND id <= $2 AND at < $3")
        .bind(org_pk)
        .bind(rows[n - 1].0)
        .bind(before.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// See [`Store::prune_idempotency`]. Rows another transaction holds are left for a later
/// call: pruning never waits.
pub(super) async fn prune_idempotency(pool: &PgPool, before: Timestamp, batch: u32) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM idempotency_keys WHERE created_at < $1
           ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))",
    )
    .bind(before.0)
    .bind(i64::from(batch))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
