//! API clients: creation, changes and deletion, each with its audit entry in the same
//! transaction (see `crate::clients` for what a change does).

use super::{begin_write, for_update, Db};
use crate::clients::{
    action_code, apply, check_scopes, scopes_from, scopes_text, state_json, AuditRow, ClientRow,
    LocatedRow,
};
use crate::common::paged;
use crate::*;

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;

const COLS: &str = "c.id AS pk, c.uuid, o.uuid AS org_uuid, c.name, c.secret_hash, c.scopes,
    c.active, c.token_epoch, c.created_at, coalesce(c.updated_at, c.created_at) AS updated_at,
    coalesce(c.secret_at, c.created_at) AS secret_at";

/// Records one change to a client of the organization whose key is `org_pk`.
async fn record(
    conn: &mut Conn,
    org_pk: i64,
    action: ClientAuditAction,
    before: Option<&ClientRecord>,
    after: Option<&ClientRecord>,
    by: &ChangedBy,
) -> Result<()> {
    let client = after.or(before).map_or(Uuid::nil(), |c| c.id.get());
    sqlx::query(
        "INSERT INTO client_audit (uuid, org_id, at, request_id, actor_uuid, client_uuid, action, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::now_v7())
    .bind(org_pk)
    .bind(by.now.0)
    .bind(&by.request_id)
    .bind(by.client.map(ClientId::get))
    .bind(client)
    .bind(action_code(action))
    .bind(before.map(state_json).transpose()?)
    .bind(after.map(state_json).transpose()?)
    .execute(&mut *conn)
    .await?;
    let event = crate::events::NewEvent::client(action, before, after, by)?;
    super::events::emit_one(conn, org_pk, Some(event)).await
}

/// Creates a client of `org` and its audit entry, inside the caller's transaction.
pub(super) async fn insert(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    secret_hash: &str,
    scopes: &[String],
    by: &ChangedBy,
) -> Result<ClientRecord> {
    let org_pk = super::catalog::org_pk(&mut *conn, org).await?;
    let c = ClientRecord {
        id: ClientId::new(Uuid::now_v7()),
        org_id: org,
        name: name.into(),
        secret_hash: secret_hash.into(),
        scopes: scopes.to_vec(),
        active: true,
        token_epoch: 0,
        created_at: by.now,
        updated_at: by.now,
        secret_created_at: by.now,
    };
    sqlx::query(
        "INSERT INTO api_clients (uuid, org_id, name, secret_hash, scopes, created_at, updated_at, secret_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.id.get())
    .bind(org_pk)
    .bind(&c.name)
    .bind(&c.secret_hash)
    .bind(scopes_text(&c.scopes))
    .bind(c.created_at.0)
    .bind(c.updated_at.0)
    .bind(c.secret_created_at.0)
    .execute(&mut *conn)
    .await?;
    record(conn, org_pk, ClientAuditAction::Created, None, Some(&c), by).await?;
    Ok(c)
}

/// An organization and its first client (its name, secret hash and scopes), inside the
/// caller's transaction.
pub(super) async fn insert_with_org(
    conn: &mut Conn,
    (org_name, settings): (&str, &OrgSettings),
    (name, secret_hash, scopes): (&str, &str, &[String]),
    by: &ChangedBy,
) -> Result<(OrgRecord, ClientRecord)> {
    let org = super::catalog::insert_org(&mut *conn, org_name, settings).await?;
    let client = insert(conn, org.id, name, secret_hash, scopes, by).await?;
    Ok((org, client))
}

pub(super) async fn find(pool: &Pool, id: ClientId) -> Result<Option<ClientRecord>> {
    let row: Option<ClientRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM api_clients c JOIN orgs o ON o.id = c.org_id WHERE c.uuid = $1"
    ))
    .bind(id.get())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(ClientRecord::from))
}

pub(super) async fn list(
    pool: &Pool,
    org: OrgId,
    page: PageRequest,
) -> Result<Paged<ClientRecord>> {
    let rows: Vec<ClientRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM api_clients c JOIN orgs o ON o.id = c.org_id
         WHERE o.uuid = $1 AND c.id > $2 ORDER BY c.id LIMIT $3"
    ))
    .bind(org.get())
    .bind(page.after.unwrap_or(0))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let rows = rows.into_iter().map(|r| (r.pk, r.into())).collect();
    Ok(paged(rows, page.limit))
}

/// The client's key, its organization's key and the client, in the organization `org`;
/// `lock`: its row locked until the transaction ends (where the backend locks rows).
async fn locate(
    conn: &mut Conn,
    org: OrgId,
    id: ClientId,
    lock: bool,
) -> Result<(i64, i64, ClientRecord)> {
    let lock = if lock { for_update("c") } else { String::new() };
    let row: LocatedRow = sqlx::query_as(&format!(
        "SELECT {COLS}, o.id AS org_pk FROM api_clients c JOIN orgs o ON o.id = c.org_id
         WHERE c.uuid = $1 AND o.uuid = $2{lock}"
    ))
    .bind(id.get())
    .bind(org.get())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok((row.client.pk, row.org_pk, row.client.into()))
}

pub(super) async fn get(pool: &Pool, org: OrgId, id: ClientId) -> Result<ClientRecord> {
    let mut conn = pool.acquire().await?;
    Ok(locate(&mut conn, org, id, false).await?.2)
}

pub(super) async fn update(
    pool: &Pool,
    org: OrgId,
    id: ClientId,
    change: &ClientChange,
    by: &ChangedBy,
) -> Result<ClientRecord> {
    let mut tx = begin_write(pool).await?;
    let (pk, org_pk, current) = locate(&mut tx, org, id, true).await?;
    let Some((next, action)) = apply(&current, change, by.now)? else {
        return Ok(current);
    };
    sqlx::query(
        "UPDATE api_clients SET name = $1, secret_hash = $2, scopes = $3, active = $4, token_epoch = $5,
             updated_at = $6, secret_at = $7 WHERE id = $8",
    )
    .bind(&next.name)
    .bind(&next.secret_hash)
    .bind(scopes_text(&next.scopes))
    .bind(next.active)
    .bind(next.token_epoch)
    .bind(next.updated_at.0)
    .bind(next.secret_created_at.0)
    .bind(pk)
    .execute(&mut *tx)
    .await?;
    record(&mut tx, org_pk, action, Some(&current), Some(&next), by).await?;
    tx.commit().await?;
    Ok(next)
}

pub(super) async fn delete(
    pool: &Pool,
    org: OrgId,
    id: ClientId,
    if_scopes: Option<&[String]>,
    by: &ChangedBy,
) -> Result<ClientRecord> {
    let mut tx = begin_write(pool).await?;
    let (pk, org_pk, current) = locate(&mut tx, org, id, true).await?;
    check_scopes(&current, if_scopes)?;
    sqlx::query("DELETE FROM api_clients WHERE id = $1")
        .bind(pk)
        .execute(&mut *tx)
        .await?;
    record(
        &mut tx,
        org_pk,
        ClientAuditAction::Deleted,
        Some(&current),
        None,
        by,
    )
    .await?;
    tx.commit().await?;
    Ok(current)
}

pub(super) async fn audit(
    pool: &Pool,
    org: OrgId,
    since: Option<Timestamp>,
    page: PageRequest,
) -> Result<Paged<ClientAuditRecord>> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT a.id, a.uuid, a.at, a.request_id, a.actor_uuid, a.client_uuid, a.action, a.before, a.after
         FROM client_audit a WHERE a.org_id = (SELECT id FROM orgs WHERE uuid = $1)
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
        .map(AuditRow::entry)
        .collect::<Result<Vec<_>>>()?;
    Ok(paged(rows, page.limit))
}

/// The organization's clients as each request checks them, inside a snapshot's transaction.
pub(super) async fn grants(conn: &mut Conn, org_pk: i64) -> Result<Vec<ClientGrant>> {
    let rows: Vec<(Uuid, bool, i64, String)> = sqlx::query_as(
        "SELECT uuid, active, token_epoch, scopes FROM api_clients WHERE org_id = $1",
    )
    .bind(org_pk)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, active, token_epoch, scopes)| ClientGrant {
            id: id.into(),
            active,
            token_epoch,
            scopes: scopes_from(&scopes),
        })
        .collect())
}
