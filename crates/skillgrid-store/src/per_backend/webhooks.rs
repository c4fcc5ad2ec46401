//! Webhook endpoints: creation, changes and deletion, each with its administrative audit entry
//! in the same transaction (see `crate::webhooks` for what a change does), and their delivery
//! attempts, newest first.

use super::{admin_trail, begin_write, for_update, Db};
use crate::common::paged;
use crate::webhooks::{apply, head, types_text, ClaimRow, DeliveryRow, LocatedWebhook, WebhookRow};
use crate::*;
use skillgrid_core::model::NewWebhook;
use skillgrid_core::webhooks::signing::WebhookSecret;

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;

const COLS: &str = "w.id AS pk, w.uuid, o.uuid AS org_uuid, w.url, w.event_types, w.active,
    w.disabled_reason, w.delivered_through, w.secret, w.secret_at, w.previous_secret,
    w.previous_expires_at, w.created_at, w.updated_at";

/// Creates a webhook of `org` with `secret`, and its audit entry, inside the caller's
/// transaction.
pub(super) async fn insert(
    conn: &mut Conn,
    org: OrgId,
    new: &NewWebhook,
    secret: &WebhookSecret,
    by: &ChangedBy,
) -> Result<WebhookRecord> {
    let org_pk = super::catalog::org_pk(&mut *conn, org).await?;
    let w = WebhookRecord {
        id: WebhookId::new(Uuid::now_v7()),
        org_id: org,
        url: new.url.clone(),
        event_types: new.event_types.clone(),
        active: new.active,
        disabled_reason: None,
        delivered_through: 0,
        secret: secret.clone(),
        secret_created_at: by.now,
        previous_secret: None,
        created_at: by.now,
        updated_at: by.now,
    };
    sqlx::query(
        "INSERT INTO webhooks (uuid, org_id, url, event_types, active, secret, secret_at,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(w.id.get())
    .bind(org_pk)
    .bind(&w.url)
    .bind(types_text(&w.event_types))
    .bind(w.active)
    .bind(w.secret.expose())
    .bind(w.secret_created_at.0)
    .bind(w.created_at.0)
    .bind(w.updated_at.0)
    .execute(&mut *conn)
    .await?;
    admin_trail::record(conn, org_pk, w.id.get(), None, &w.audited(), by).await?;
    Ok(w)
}

pub(super) async fn list(
    pool: &Pool,
    org: OrgId,
    page: PageRequest,
) -> Result<Paged<WebhookRecord>> {
    let rows: Vec<WebhookRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM webhooks w JOIN orgs o ON o.id = w.org_id
         WHERE o.uuid = $1 AND w.id > $2 ORDER BY w.id LIMIT $3"
    ))
    .bind(org.get())
    .bind(page.after.unwrap_or(0))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let rows = rows
        .into_iter()
        .map(|r| Ok((r.pk, r.record()?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(paged(rows, page.limit))
}

/// The webhook's key, its organization's key and the webhook, in the organization `org`;
/// `lock`: its row locked until the transaction ends (where the backend locks rows).
async fn locate(
    conn: &mut Conn,
    org: OrgId,
    id: WebhookId,
    lock: bool,
) -> Result<(i64, i64, WebhookRecord)> {
    let lock = if lock { for_update("w") } else { String::new() };
    let row: LocatedWebhook = sqlx::query_as(&format!(
        "SELECT {COLS}, o.id AS org_pk FROM webhooks w JOIN orgs o ON o.id = w.org_id
         WHERE w.uuid = $1 AND o.uuid = $2{lock}"
    ))
    .bind(id.get())
    .bind(org.get())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let pk = row.webhook.pk;
    Ok((pk, row.org_pk, row.webhook.record()?))
}

pub(super) async fn get(pool: &Pool, org: OrgId, id: WebhookId) -> Result<WebhookRecord> {
    let mut conn = pool.acquire().await?;
    Ok(locate(&mut conn, org, id, false).await?.2)
}

pub(super) async fn update(
    pool: &Pool,
    org: OrgId,
    id: WebhookId,
    change: &WebhookChange,
    by: &ChangedBy,
) -> Result<WebhookRecord> {
    let mut tx = begin_write(pool).await?;
    let (pk, org_pk, current) = locate(&mut tx, org, id, true).await?;
    let Some(next) = apply(&current, change, by.now) else {
        return Ok(current);
    };
    let (previous, previous_until) = match &next.previous_secret {
        Some((s, t)) => (Some(s.expose()), Some(t.0)),
        None => (None, None),
    };
    sqlx::query(
        "UPDATE webhooks SET url = $1, event_types = $2, active = $3, disabled_reason = $4,
             delivered_through = $5, secret = $6, secret_at = $7, previous_secret = $8,
             previous_expires_at = $9, updated_at = $10,
             attempts = CASE WHEN $12 THEN 0 ELSE attempts END,
             failing_since = CASE WHEN $12 THEN NULL ELSE failing_since END,
             next_attempt_at = CASE WHEN $12 THEN 0 ELSE next_attempt_at END
         WHERE id = $11",
    )
    .bind(&next.url)
    .bind(types_text(&next.event_types))
    .bind(next.active)
    .bind(&next.disabled_reason)
    .bind(next.delivered_through)
    .bind(next.secret.expose())
    .bind(next.secret_created_at.0)
    .bind(previous)
    .bind(previous_until)
    .bind(next.updated_at.0)
    .bind(pk)
    .bind(starts_over(&current, &next, change))
    .execute(&mut *tx)
    .await?;
    let (before, after) = (current.audited(), next.audited());
    admin_trail::record(&mut tx, org_pk, id.get(), Some(&before), &after, by).await?;
    tx.commit().await?;
    Ok(next)
}

/// Whether the change makes deliveries start over, with no retries behind them: a replay, an
/// endpoint enabled again, a new URL.
fn starts_over(current: &WebhookRecord, next: &WebhookRecord, change: &WebhookChange) -> bool {
    change.replay_from.is_some() || (next.active && !current.active) || next.url != current.url
}

/// Deletes a webhook of the organization, its delivery attempts with it, and records it;
/// returns what it was.
pub(super) async fn delete(
    pool: &Pool,
    org: OrgId,
    id: WebhookId,
    by: &ChangedBy,
) -> Result<WebhookRecord> {
    let mut tx = begin_write(pool).await?;
    let (pk, org_pk, current) = locate(&mut tx, org, id, true).await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(pk)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(pk)
        .execute(&mut *tx)
        .await?;
    admin_trail::record_deletion(&mut tx, org_pk, id.get(), &current.audited(), by).await?;
    tx.commit().await?;
    Ok(current)
}

/// The webhook's delivery attempts, newest first, before position `page.after`.
pub(super) async fn deliveries(
    pool: &Pool,
    org: OrgId,
    id: WebhookId,
    page: PageRequest,
) -> Result<Paged<DeliveryRecord>> {
    let mut conn = pool.acquire().await?;
    let (pk, _, _) = locate(&mut conn, org, id, false).await?;
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT id, uuid, event_uuid, sequence, attempt, at, status, error, latency_ms,
                response_head, next_attempt_at
         FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(pk)
    .bind(page.after.unwrap_or(i64::MAX))
    .bind(page.limit as i64 + 1)
    .fetch_all(&mut *conn)
    .await?;
    Ok(paged(
        rows.into_iter().map(DeliveryRow::entry).collect(),
        page.limit,
    ))
}

/// Records one delivery attempt to a webhook of the organization; its answer excerpt is cut
/// to `RESPONSE_HEAD_MAX` bytes.
pub(super) async fn record_delivery(
    pool: &Pool,
    org: OrgId,
    id: WebhookId,
    d: &DeliveryRecord,
) -> Result<()> {
    let mut conn = pool.acquire().await?;
    locate(&mut conn, org, id, false).await?;
    insert_delivery(&mut conn, id, d).await
}

/// Inserts a delivery attempt of the webhook `id` (nothing when it is gone).
async fn insert_delivery(conn: &mut Conn, id: WebhookId, d: &DeliveryRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (uuid, webhook_id, event_uuid, sequence, attempt, at,
             status, error, latency_ms, response_head, next_attempt_at)
         SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM webhooks WHERE uuid = $2",
    )
    .bind(d.id)
    .bind(id.get())
    .bind(d.event_id)
    .bind(d.sequence)
    .bind(d.attempt)
    .bind(d.at.0)
    .bind(d.status)
    .bind(&d.error)
    .bind(d.latency_ms)
    .bind(d.response_head.as_deref().map(head))
    .bind(d.next_attempt_at.map(|t| t.0))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What makes a webhook due: active, its next attempt's time come, no live lease, and events
/// of its organization after its cursor. `$2` is now.
const DUE: &str = "w.active AND w.next_attempt_at <= $2
    AND (w.lease_until IS NULL OR w.lease_until < $2)
    AND w.delivered_through < COALESCE(
        (SELECT c.last FROM event_counters c WHERE c.org_id = w.org_id), 0)";

/// A webhook and its dispatch state, by key.
async fn claimed(pool: &Pool, pk: i64) -> Result<Option<ClaimedWebhook>> {
    let row: Option<ClaimRow> = sqlx::query_as(&format!(
        "SELECT {COLS}, w.attempts, w.failing_since,
             COALESCE((SELECT c.last FROM event_counters c WHERE c.org_id = w.org_id), 0) AS head
         FROM webhooks w JOIN orgs o ON o.id = w.org_id WHERE w.id = $1"
    ))
    .bind(pk)
    .fetch_optional(pool)
    .await?;
    row.map(ClaimRow::claimed).transpose()
}

/// See [`Store::claim_webhook`]: the due webhook waiting longest, its lease taken in one
/// statement (on PostgreSQL, rows another transaction is claiming are skipped). Whether any
/// is due is read first, on the read pool: the dispatcher asks after every write and every
/// second, and on SQLite a claim that finds nothing would still take the database's one
/// write lock from the writes themselves.
pub(super) async fn claim(
    store: &super::This,
    owner: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<Option<ClaimedWebhook>> {
    let due: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT w.id FROM webhooks w WHERE {} LIMIT 1",
        DUE.replace("$2", "$1")
    ))
    .bind(now.0)
    .fetch_optional(&store.read)
    .await?;
    if due.is_none() {
        return Ok(None);
    }
    let pool = &store.write;
    let lock = for_update("w");
    let skip = if lock.is_empty() { "" } else { " SKIP LOCKED" };
    let pk: Option<i64> = sqlx::query_scalar(&format!(
        "UPDATE webhooks SET lease_owner = $1, lease_until = $3
         WHERE id = (SELECT w.id FROM webhooks w WHERE {DUE}
                     ORDER BY w.next_attempt_at, w.id LIMIT 1{lock}{skip})
         RETURNING id"
    ))
    .bind(owner)
    .bind(now.0)
    .bind(until.0)
    .fetch_optional(pool)
    .await?;
    match pk {
        Some(pk) => claimed(pool, pk).await,
        None => Ok(None),
    }
}

/// See [`Store::renew_webhook_lease`].
pub(super) async fn renew(
    pool: &Pool,
    id: WebhookId,
    owner: &str,
    until: Timestamp,
) -> Result<Option<ClaimedWebhook>> {
    let pk: Option<i64> = sqlx::query_scalar(
        "UPDATE webhooks SET lease_until = $3 WHERE uuid = $1 AND lease_owner = $2 AND active
         RETURNING id",
    )
    .bind(id.get())
    .bind(owner)
    .bind(until.0)
    .fetch_optional(pool)
    .await?;
    match pk {
        Some(pk) => claimed(pool, pk).await,
        None => Ok(None),
    }
}

/// See [`Store::release_webhook_leases`].
pub(super) async fn release_all(pool: &Pool, owner: &str) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE webhooks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
    )
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// See [`Store::webhook_progress`]: the attempts recorded and the webhook moved on, in one
/// transaction; the webhook only while `owner` holds it and its cursor is still `from`.
pub(super) async fn progress(
    pool: &Pool,
    id: WebhookId,
    owner: &str,
    from: i64,
    attempts: &[DeliveryRecord],
    p: &Progress,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    // A delivery moves the cursor only while the endpoint is active: once it is disabled,
    // its dispatcher stops at the next event.
    let (set, guard) = match p {
        Progress::Delivered { .. } => (
            "delivered_through = $4, attempts = 0, failing_since = NULL, next_attempt_at = 0",
            " AND active",
        ),
        Progress::Retry { .. } => (
            "attempts = $4, failing_since = $5, next_attempt_at = $6, lease_owner = NULL,
             lease_until = NULL",
            "",
        ),
        Progress::Release => ("lease_owner = NULL, lease_until = NULL", ""),
    };
    let sql = format!(
        "UPDATE webhooks SET {set}
         WHERE uuid = $1 AND lease_owner = $2 AND delivered_through = $3{guard}"
    );
    let mut q = sqlx::query(&sql).bind(id.get()).bind(owner).bind(from);
    match p {
        Progress::Delivered { through } => q = q.bind(*through),
        Progress::Retry {
            attempts,
            failing_since,
            next_at,
        } => q = q.bind(*attempts).bind(failing_since.0).bind(next_at.0),
        Progress::Release => {}
    }
    let moved = q.execute(&mut *tx).await?.rows_affected() == 1;
    for d in attempts {
        insert_delivery(&mut tx, id, d).await?;
    }
    tx.commit().await?;
    Ok(moved)
}

/// See [`Store::prune_webhook_deliveries`].
pub(super) async fn prune_deliveries(
    pool: &Pool,
    org: OrgId,
    before: Timestamp,
    batch: u32,
) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM webhook_deliveries WHERE id IN (
           SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
           WHERE w.org_id = (SELECT id FROM orgs WHERE uuid = $1) AND d.at < $2
           ORDER BY d.at LIMIT $3)",
    )
    .bind(org.get())
    .bind(before.0)
    .bind(i64::from(batch))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
