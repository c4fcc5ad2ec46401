//! People and sessions: the console's users, and the sessions they sign in with.
//!
//! A user is made together with the API client their changes are recorded under (see
//! [`UserRecord::client_id`]), in one transaction. A session is found by the hash of its
//! token, and only while its user is active and neither of its expiries has passed; disabling
//! a user deletes their sessions in the same transaction, so no request is served for them
//! after the change commits (a new password deletes all but the one that changed it).

use super::{begin_write, for_update, Db};
use crate::common::{key, map_write_err};
use crate::*;

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;

/// A session's use moves its idle expiry only when this much of it has passed since it was
/// last moved: a page and the requests it makes at once cost one write, not one each.
const TOUCH_AFTER_MS: i64 = 60_000;

const COLS: &str = "u.id AS pk, u.uuid, o.uuid AS org_uuid, u.email, u.role, u.password_hash,
    u.must_change_password, u.active, u.client_uuid, u.created_at, u.updated_at";

#[derive(sqlx::FromRow)]
struct UserRow {
    pk: i64,
    uuid: Uuid,
    org_uuid: Uuid,
    email: String,
    role: String,
    password_hash: String,
    must_change_password: bool,
    active: bool,
    client_uuid: Uuid,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    fn record(self) -> Result<UserRecord> {
        Ok(UserRecord {
            id: self.uuid,
            org_id: self.org_uuid.into(),
            email: self.email,
            role: self
                .role
                .parse()
                .map_err(|e| StoreError::Other(anyhow::Error::new(e)))?,
            password_hash: self.password_hash,
            must_change_password: self.must_change_password,
            active: self.active,
            client_id: self.client_uuid.into(),
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

pub(super) async fn create(
    pool: &Pool,
    org: OrgId,
    new: &NewUser,
    by: &ChangedBy,
) -> Result<UserRecord> {
    let mut tx = begin_write(pool).await?;
    let org_pk = super::catalog::org_pk(&mut *tx, org).await?;
    // The client cannot get a token: it holds no scopes, and no secret hashes to an empty
    // hash. Its name says whose it is to anyone listing the organization's clients.
    let name = format!("console: {}", new.email);
    let client = super::clients::insert(&mut tx, org, &name, "", &[], by).await?;
    let user = UserRecord {
        id: Uuid::now_v7(),
        org_id: org,
        email: new.email.clone(),
        role: new.role,
        password_hash: new.password_hash.clone(),
        must_change_password: new.must_change_password,
        active: true,
        client_id: client.id,
        created_at: by.now,
        updated_at: by.now,
    };
    sqlx::query(
        "INSERT INTO users (uuid, org_id, email, email_key, role, password_hash, must_change_password,
             active, client_uuid, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(user.id)
    .bind(org_pk)
    .bind(&user.email)
    .bind(key(&user.email))
    .bind(user.role.as_str())
    .bind(&user.password_hash)
    .bind(user.must_change_password)
    .bind(user.active)
    .bind(user.client_id.get())
    .bind(user.created_at.0)
    .execute(&mut *tx)
    .await
    .map_err(map_write_err)?;
    super::admin_trail::record(&mut tx, org_pk, user.id, None, &user.audited(), by).await?;
    tx.commit().await?;
    Ok(user)
}

pub(super) async fn find(pool: &Pool, org: OrgId, email: &str) -> Result<Option<UserRecord>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM users u JOIN orgs o ON o.id = u.org_id
         WHERE o.uuid = $1 AND u.email_key = $2"
    ))
    .bind(org.get())
    .bind(key(email))
    .fetch_optional(pool)
    .await?;
    row.map(UserRow::record).transpose()
}

/// The user `id` of the organization `org`; `lock`: its row locked until the transaction
/// ends (where the backend locks rows).
async fn locate(conn: &mut Conn, org: OrgId, id: Uuid, lock: bool) -> Result<UserRow> {
    let lock = if lock { for_update("u") } else { String::new() };
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM users u JOIN orgs o ON o.id = u.org_id
         WHERE u.uuid = $1 AND o.uuid = $2{lock}"
    ))
    .bind(id)
    .bind(org.get())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

pub(super) async fn get(pool: &Pool, org: OrgId, id: Uuid) -> Result<UserRecord> {
    let mut conn = pool.acquire().await?;
    locate(&mut conn, org, id, false).await?.record()
}

pub(super) async fn list(pool: &Pool, org: OrgId) -> Result<Vec<UserRecord>> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM users u JOIN orgs o ON o.id = u.org_id
         WHERE o.uuid = $1 ORDER BY u.id"
    ))
    .bind(org.get())
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(UserRow::record).collect()
}

pub(super) async fn update(
    pool: &Pool,
    org: OrgId,
    id: Uuid,
    change: &UserChange,
    by: &ChangedBy,
) -> Result<UserRecord> {
    let now = by.now;
    let mut tx = begin_write(pool).await?;
    let row = locate(&mut tx, org, id, true).await?;
    let pk = row.pk;
    let mut user = row.record()?;
    let before = user.audited();
    if let Some(role) = change.role {
        user.role = role;
    }
    if let Some((hash, must_change)) = &change.password {
        user.password_hash = hash.clone();
        user.must_change_password = *must_change;
    }
    if let Some(active) = change.active {
        user.active = active;
    }
    user.updated_at = now;
    sqlx::query(
        "UPDATE users SET role = $1, password_hash = $2, must_change_password = $3, active = $4,
             updated_at = $5 WHERE id = $6",
    )
    .bind(user.role.as_str())
    .bind(&user.password_hash)
    .bind(user.must_change_password)
    .bind(user.active)
    .bind(now.0)
    .bind(pk)
    .execute(&mut *tx)
    .await?;
    // A new password alone leaves the audited side as it was, and records nothing.
    let org_pk = super::catalog::org_pk(&mut *tx, org).await?;
    super::admin_trail::record(&mut tx, org_pk, user.id, Some(&before), &user.audited(), by)
        .await?;
    if !user.active {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(pk)
            .execute(&mut *tx)
            .await?;
    } else if change.password.is_some() {
        let keep = change.keep_session.map(|h| h.to_vec()).unwrap_or_default();
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(pk)
            .bind(keep)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(user)
}

pub(super) async fn create_session(pool: &Pool, new: &NewSession) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    // Sessions are few and short-lived: the ones that ended go whenever one starts.
    sqlx::query("DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1")
        .bind(new.now.0)
        .execute(&mut *tx)
        .await?;
    let idle = (new.now.0 + new.idle_ms).min(new.absolute_expires_at.0);
    let inserted = sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, org_id, csrf_token, created_at, last_seen_at,
             idle_expires_at, absolute_expires_at)
         SELECT $1, u.id, u.org_id, $2, $3, $3, $4, $5 FROM users u JOIN orgs o ON o.id = u.org_id
          WHERE u.uuid = $6 AND o.uuid = $7 AND u.active",
    )
    .bind(&new.token_hash[..])
    .bind(&new.csrf_token)
    .bind(new.now.0)
    .bind(idle)
    .bind(new.absolute_expires_at.0)
    .bind(new.user_id)
    .bind(new.org_id.get())
    .execute(&mut *tx)
    .await
    .map_err(map_write_err)?;
    if inserted.rows_affected() == 0 {
        // The user is gone or was disabled meanwhile.
        return Err(StoreError::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    csrf_token: String,
    s_created_at: i64,
    last_seen_at: i64,
    idle_expires_at: i64,
    absolute_expires_at: i64,
}

pub(super) async fn session(
    read: &Pool,
    write: &Pool,
    token_hash: &[u8; 32],
    now: Timestamp,
    idle_ms: i64,
) -> Result<Option<SessionRecord>> {
    let row: Option<SessionRow> = sqlx::query_as(&format!(
        "SELECT {COLS}, s.csrf_token, s.created_at AS s_created_at, s.last_seen_at,
                s.idle_expires_at, s.absolute_expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = u.org_id
         WHERE s.token_hash = $1 AND u.active
           AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2"
    ))
    .bind(&token_hash[..])
    .bind(now.0)
    .fetch_optional(read)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut session = SessionRecord {
        user: row.user.record()?,
        csrf_token: row.csrf_token,
        created_at: Timestamp(row.s_created_at),
        last_seen_at: Timestamp(row.last_seen_at),
        idle_expires_at: Timestamp(row.idle_expires_at),
        absolute_expires_at: Timestamp(row.absolute_expires_at),
    };
    if now.0 - session.last_seen_at.0 >= TOUCH_AFTER_MS {
        let idle = (now.0 + idle_ms).min(session.absolute_expires_at.0);
        // A session ended meanwhile stays ended: the update finds no row.
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2
              WHERE token_hash = $3 AND idle_expires_at > $1",
        )
        .bind(now.0)
        .bind(idle)
        .bind(&token_hash[..])
        .execute(write)
        .await?;
        session.last_seen_at = now;
        session.idle_expires_at = Timestamp(idle);
    }
    Ok(Some(session))
}

pub(super) async fn delete_session(pool: &Pool, token_hash: &[u8; 32]) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(&token_hash[..])
        .execute(pool)
        .await?;
    Ok(())
}
