//! The administrative audit trail: one entry per change to a skill, an agent, the settings,
//! a console user or a webhook, written inside the change's own transaction (see `crate::admin_audit`).

use super::Db;
use crate::admin_audit::{action_code, kind_code, AdminAuditRow};
use crate::common::paged;
use crate::*;
use skillgrid_core::api::AdminAuditAction;
use sqlx::QueryBuilder;

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;

/// Records one change to `subject` of the organization whose key is `org_pk`: created (no
/// `before`) or updated. An update whose two sides are alike records nothing.
pub(super) async fn record(
    conn: &mut Conn,
    org_pk: i64,
    subject: Uuid,
    before: Option<&AdminState>,
    after: &AdminState,
    by: &ChangedBy,
) -> Result<()> {
    if before == Some(after) {
        return Ok(());
    }
    let action = if before.is_some() {
        AdminAuditAction::Updated
    } else {
        AdminAuditAction::Created
    };
    insert(conn, org_pk, subject, action, (before, after), by).await
}

/// Records many creations (no `before`) and updates of the organization's subjects at once,
/// with their events: a few multi-row statements for any number of them. Updates whose two
/// sides are alike record nothing.
pub(super) async fn record_many(
    conn: &mut Conn,
    org_pk: i64,
    changes: &[(Uuid, Option<AdminState>, AdminState)],
    by: &ChangedBy,
) -> Result<()> {
    /// Rows per statement: 10 parameters each, one placeholder per value (see
    /// `PER_STATEMENT` in `events.rs` for why).
    const PER_STATEMENT: usize = 500;
    let changes: Vec<_> = changes
        .iter()
        .filter(|(_, before, after)| before.as_ref() != Some(after))
        .collect();
    let mut events = Vec::with_capacity(changes.len());
    for chunk in changes.chunks(PER_STATEMENT) {
        let mut rows = Vec::with_capacity(chunk.len());
        for (subject, before, after) in chunk {
            let action = if before.is_some() {
                AdminAuditAction::Updated
            } else {
                AdminAuditAction::Created
            };
            rows.push((
                *subject,
                kind_code(after.kind()),
                action_code(action),
                before.as_ref().map(AdminState::to_json).transpose()?,
                after.to_json()?,
            ));
            events.extend(crate::events::NewEvent::admin(
                *subject,
                before.as_ref(),
                Some(after),
                by,
            )?);
        }
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO admin_audit
                 (org_id, at, request_id, uuid, actor_uuid, kind, subject_uuid, action, before,
                  after) ",
        );
        q.push_values(rows, |mut row, (subject, kind, action, before, after)| {
            row.push_bind(org_pk)
                .push_bind(by.now.0)
                .push_bind(&by.request_id)
                .push_bind(Uuid::now_v7())
                .push_bind(by.client.map(ClientId::get))
                .push_bind(kind)
                .push_bind(subject)
                .push_bind(action)
                .push_bind(before)
                .push_bind(after);
        });
        q.build().execute(&mut *conn).await?;
    }
    super::events::emit(conn, org_pk, events).await
}

async fn insert(
    conn: &mut Conn,
    org_pk: i64,
    subject: Uuid,
    action: AdminAuditAction,
    (before, after): (Option<&AdminState>, &AdminState),
    by: &ChangedBy,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO admin_audit
             (uuid, org_id, at, request_id, actor_uuid, kind, subject_uuid, action, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(Uuid::now_v7())
    .bind(org_pk)
    .bind(by.now.0)
    .bind(&by.request_id)
    .bind(by.client.map(ClientId::get))
    .bind(kind_code(after.kind()))
    .bind(subject)
    .bind(action_code(action))
    .bind(before.map(AdminState::to_json).transpose()?)
    .bind(after.to_json()?)
    .execute(&mut *conn)
    .await?;
    // A deletion's row holds the last state as `after`; its event has none.
    let event_after = (action != AdminAuditAction::Deleted).then_some(after);
    let event = crate::events::NewEvent::admin(subject, before, event_after, by)?;
    super::events::emit_one(conn, org_pk, event).await
}

/// Records the deletion of `subject`, whose last state was `before`. The row's `after` holds
/// that state too (the column takes no NULL); reading the entry back, a deletion has no
/// `after`.
pub(super) async fn record_deletion(
    conn: &mut Conn,
    org_pk: i64,
    subject: Uuid,
    before: &AdminState,
    by: &ChangedBy,
) -> Result<()> {
    insert(
        conn,
        org_pk,
        subject,
        AdminAuditAction::Deleted,
        (Some(before), before),
        by,
    )
    .await
}

pub(super) async fn list(
    pool: &Pool,
    org: OrgId,
    since: Option<Timestamp>,
    page: PageRequest,
) -> Result<Paged<AdminAuditRecord>> {
    let rows: Vec<AdminAuditRow> = sqlx::query_as(
        "SELECT a.id, a.uuid, a.at, a.request_id, a.actor_uuid, a.kind, a.subject_uuid, a.action,
                a.before, a.after
         FROM admin_audit a WHERE a.org_id = (SELECT id FROM orgs WHERE uuid = $1)
           AND a.id > $2 AND a.at >= $3 ORDER BY a.id LIMIT $4",
    )
    .bind(org.get())
    .bind(page.after.unwrap_or(0))
    .bind(since.map_or(i64::MIN, |t| t.0))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let rows = rows
        .into_iter()
        .map(AdminAuditRow::entry)
        .collect::<Result<Vec<_>>>()?;
    Ok(paged(rows, page.limit))
}

/// See [`Store::admin_feed`]: newest first, before position `page.after`, one statement.
pub(super) async fn feed(
    pool: &Pool,
    org: OrgId,
    f: &AdminFilter,
    page: PageRequest,
) -> Result<Paged<AdminAuditRecord>> {
    let rows: Vec<AdminAuditRow> = sqlx::query_as(
        "SELECT a.id, a.uuid, a.at, a.request_id, a.actor_uuid, a.kind, a.subject_uuid, a.action,
                a.before, a.after
         FROM admin_audit a WHERE a.org_id = (SELECT id FROM orgs WHERE uuid = $1)
           AND a.id < $2 AND a.at >= $3 AND a.at <= $4
           AND ($5 = 0 OR a.kind = $5)
           AND ($6 OR a.subject_uuid = $7)
           AND ($8 OR a.actor_uuid = $9)
         ORDER BY a.id DESC LIMIT $10",
    )
    .bind(org.get())
    .bind(page.after.unwrap_or(i64::MAX))
    .bind(f.from.map_or(i64::MIN, |t| t.0))
    .bind(f.to.map_or(i64::MAX, |t| t.0))
    .bind(f.kind.map_or(0, kind_code))
    .bind(f.subject.is_none())
    .bind(f.subject.unwrap_or_default())
    .bind(f.client.is_none())
    .bind(f.client.map_or(Uuid::nil(), ClientId::get))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let rows = rows
        .into_iter()
        .map(AdminAuditRow::entry)
        .collect::<Result<Vec<_>>>()?;
    Ok(paged(rows, page.limit))
}

/// See [`Store::prune_admin_trails`]: the oldest entries first, from the trail of skills,
/// agents, settings and users, then from the clients' trail, `batch` in all.
pub(super) async fn prune(
    conn: &mut Conn,
    org: OrgId,
    before: Timestamp,
    batch: u32,
) -> Result<u64> {
    let mut left = u64::from(batch);
    for table in ["admin_audit", "client_audit"] {
        if left == 0 {
            break;
        }
        let gone = sqlx::query(&format!(
            "DELETE FROM {table} WHERE id IN (
                 SELECT id FROM {table}
                 WHERE org_id = (SELECT id FROM orgs WHERE uuid = $1) AND at < $2
                 ORDER BY id LIMIT $3)"
        ))
        .bind(org.get())
        .bind(before.0)
        .bind(left as i64)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        left -= gone;
    }
    Ok(u64::from(batch) - left)
}
