//! The outbox of events (see `crate::events`): writing them inside a change's transaction,
//! reading them in sequence order, and pruning old ones.

use super::Db;
// Where an event's entries come from: its own columns, or the audit row it refers to.
use super::EVENT_SOURCE;
use crate::events::{EventRow, NewEvent, EVENT_COLS};
use crate::*;
use sqlx::QueryBuilder;

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;

/// Events per `INSERT`: 12 parameters each, well within either backend's limit. The
/// statement is built with one placeholder per value, in order (`?` on SQLite, `$n` on
/// PostgreSQL). Numbered placeholders shared by the rows (`$1` for the organization) cost
/// SQLite dearly: sqlx binds each value by its placeholder's name, which SQLite finds by a
/// walk of the statement's list of names, so binding 500 events took about 50 ms (in a
/// standalone program binding by position, 4.5 ms).
const PER_STATEMENT: usize = 500;

/// Takes `n` numbers of the organization's sequence: the first of them. The counter's row
/// stays locked until the caller's transaction ends (on SQLite the whole database is), so
/// numbers are taken in commit order and a transaction that rolls back gives its back.
pub(crate) async fn take_sequence(conn: &mut Conn, org_pk: i64, n: usize) -> Result<i64> {
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO event_counters (org_id, last) VALUES ($1, $2)
         ON CONFLICT (org_id) DO UPDATE SET last = event_counters.last + excluded.last
         RETURNING last",
    )
    .bind(org_pk)
    .bind(n as i64)
    .fetch_one(&mut *conn)
    .await?;
    Ok(last - n as i64 + 1)
}

/// Writes `events` of the organization whose key is `org_pk`, in their order, inside the
/// caller's transaction: a few multi-row statements for any number of them.
pub(crate) async fn emit(conn: &mut Conn, org_pk: i64, events: Vec<NewEvent>) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut sequence = take_sequence(conn, org_pk, events.len()).await?;
    for chunk in events.chunks(PER_STATEMENT) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO events (org_id, uuid, sequence, kind, occurred_at, request_id,
                actor_uuid, subject_uuid, version, action, before, after) ",
        );
        q.push_values(chunk, |mut row, e| {
            row.push_bind(org_pk)
                .push_bind(Uuid::now_v7())
                .push_bind(sequence)
                .push_bind(e.kind.as_str())
                .push_bind(e.at)
                .push_bind(&e.request_id)
                .push_bind(e.actor)
                .push_bind(e.subject)
                .push_bind(e.version)
                .push_bind(e.action)
                .push_bind(e.before.as_deref())
                .push_bind(e.after.as_deref());
            sequence += 1;
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The event of one change, if it has one (see [`NewEvent::admin`]).
pub(crate) async fn emit_one(conn: &mut Conn, org_pk: i64, event: Option<NewEvent>) -> Result<()> {
    emit(conn, org_pk, event.into_iter().collect()).await
}

/// See [`Store::events_after`].
pub(super) async fn after(
    pool: &Pool,
    org: OrgId,
    after: i64,
    limit: u32,
    types: Option<&[EventType]>,
) -> Result<Vec<EventRecord>> {
    let names: Vec<&str> = types
        .unwrap_or_default()
        .iter()
        .map(|t| t.as_str())
        .collect();
    let filter = if types.is_some() {
        let places: Vec<String> = (0..names.len()).map(|i| format!("${}", i + 4)).collect();
        if places.is_empty() {
            return Ok(Vec::new());
        }
        format!(" AND e.kind IN ({})", places.join(", "))
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT {EVENT_COLS}, {EVENT_SOURCE}
         WHERE o.uuid = $1 AND e.sequence > $2{filter} ORDER BY e.sequence LIMIT $3"
    );
    let mut q = sqlx::query_as::<_, EventRow>(&sql)
        .bind(org.get())
        .bind(after)
        .bind(i64::from(limit));
    for n in names {
        q = q.bind(n);
    }
    q.fetch_all(pool)
        .await?
        .into_iter()
        .map(EventRow::record)
        .collect()
}

/// See [`Store::event_heads`].
pub(super) async fn heads(pool: &Pool) -> Result<Vec<(OrgId, i64)>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT o.uuid, c.last FROM event_counters c JOIN orgs o ON o.id = c.org_id ORDER BY o.id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(o, s)| (o.into(), s)).collect())
}

/// See [`Store::prune_events`]. The oldest first, in sequence order, up to the first one that
/// occurred at or after `before` (through the index of sequences: no scan of the events kept).
pub(super) async fn prune(pool: &Pool, org: OrgId, before: Timestamp, batch: u32) -> Result<u64> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT e.org_id, e.sequence, e.occurred_at FROM events e
         WHERE e.org_id = (SELECT id FROM orgs WHERE uuid = $1) ORDER BY e.sequence LIMIT $2",
    )
    .bind(org.get())
    .bind(i64::from(batch))
    .fetch_all(pool)
    .await?;
    let n = rows.iter().take_while(|r| r.2 < before.0).count();
    let Some(&(org_pk, last, _)) = n.checked_sub(1).and_then(|i| rows.get(i)) else {
        return Ok(0);
    };
    let done = sqlx::query("DELETE FROM events WHERE org_id = $1 AND sequence <= $2")
        .bind(org_pk)
        .bind(last)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
