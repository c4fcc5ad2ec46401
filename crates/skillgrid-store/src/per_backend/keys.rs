//! Claiming an idempotency key (see `crate::idempotency` for how a stored key is judged).

use super::{begin_write, for_update, prune_expired_keys, Db};
use crate::common::IDEMPOTENCY_TTL_MS;
use crate::idempotency::{self, Claim, KeyRow, ABANDON, COMPLETE, SELECT, TAKE_OVER};
use crate::*;

type Pool = sqlx::Pool<Db>;

/// Claims a key. Two processes claiming the same key at once are ordered by the primary key:
/// the second `INSERT` waits for the first transaction and then finds its row, locked here
/// while it is judged. A key older than the TTL counts as absent (it is pruned, and reclaimed
/// if pruning skipped it).
pub(super) async fn begin(
    pool: &Pool,
    org: OrgId,
    client: ClientId,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<IdempotencyBegin> {
    let mut tx = begin_write(pool).await?;
    let org_pk = super::catalog::org_pk(&mut *tx, org).await?;
    prune_expired_keys(&mut tx, now.0 - IDEMPOTENCY_TTL_MS).await?;
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
        .bind(client.get())
        .bind(key)
        .bind(fingerprint)
        .bind(now.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            break IdempotencyBegin::Fresh;
        }
        let row: Option<KeyRow> =
            sqlx::query_as(&format!("{SELECT}{}", for_update("idempotency_keys")))
                .bind(org_pk)
                .bind(client.get())
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else { continue };
        break match idempotency::judge(row, fingerprint, now) {
            Claim::Answer(answer) => answer,
            Claim::TakeOver => {
                sqlx::query(TAKE_OVER)
                    .bind(fingerprint)
                    .bind(now.0)
                    .bind(org_pk)
                    .bind(client.get())
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

/// Ends a claim: stores its answer for replay or, with none (its request failed), releases
/// the key.
pub(super) async fn finish(
    pool: &Pool,
    org: OrgId,
    client: ClientId,
    key: &str,
    answer: Option<(u16, &[u8])>,
) -> Result<()> {
    let query = match answer {
        Some((status, body)) => sqlx::query(COMPLETE).bind(i32::from(status)).bind(body),
        None => sqlx::query(ABANDON),
    };
    query
        .bind(org.get())
        .bind(client.get())
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}
