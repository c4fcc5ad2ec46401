//! Webhook endpoints: creation, changes and deletion, each with its administrative audit entry
//! in the same transaction (see `crate::webhooks` for what a change does), and their delivery
//! attempts, newest first.

use super::{admin_trail, begin_write, for_update, Db};
use crate::common::paged;
use crate::webhooks::{apply, head, types_text, DeliveryRow, LocatedWebhook, WebhookRow};
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
             previous_expires_at = $9, updated_at = $10
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
    .execute(&mut *tx)
    .await?;
    let (before, after) = (current.audited(), next.audited());
    admin_trail::record(&mut tx, org_pk, id.get(), Some(&before), &after, by).await?;
    tx.commit().await?;
    Ok(next)
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
    let (pk, _, _) = locate(&mut conn, org, id, false).await?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (uuid, webhook_id, event_uuid, sequence, attempt, at,
             status, error, latency_ms, response_head, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(d.id)
    .bind(pk)
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
