//! What only PostgreSQL does its own way outside skill-set writes: reading many agents' states
//! at once, writing many agents at once (`Store::upsert_agents`), and the upkeep of what grows with traffic (pruning the audit trail and
//! idempotency keys).

use crate::rows;
use crate::*;
use sqlx::postgres::PgPool;
use std::collections::HashMap;

pub(super) async fn agent_states(
    pool: &PgPool,
    org: OrgId,
    ids: &[AgentId],
) -> Result<HashMap<AgentId, AgentState>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<rows::State> = sqlx::query_as(
        "SELECT uuid, version, active FROM agents
         WHERE org_id = (SELECT id FROM orgs WHERE uuid = $1) AND uuid = ANY($2)",
    )
    .bind(org.get())
    .bind(ids.iter().map(|id| id.get()).collect::<Vec<Uuid>>())
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(rows::State::entry).collect())
}

/// See [`Store::prune_audit`]. The oldest rows first, in id order, up to the first one
/// recorded at or after `before`; rows are deleted only if they are that old, so a row whose
/// id was taken early but committed late is never lost. A large write's shared values
/// (`audit_writes`) go once its last row has gone.
/// `tx` holds the organization's lock shared, `org_pk` is its key.
pub(super) async fn prune_audit(
    (mut tx, org_pk): (super::Tx, i64),
    before: Timestamp,
    batch: u32,
) -> Result<u64> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.id, coalesce(s.at, w.at) FROM audit_sets s
         LEFT JOIN audit_writes w ON w.id = s.write_id
         WHERE s.org_id = $1 ORDER BY s.id LIMIT $2",
    )
    .bind(org_pk)
    .bind(i64::from(batch))
    .fetch_all(&mut *tx)
    .await?;
    let n = rows.iter().take_while(|r| r.1 < before.0).count();
    if n == 0 {
        return Ok(0);
    }
    let last = rows[n - 1].0;
    // An event kept longer than the rows it refers to takes their entries first.
    sqlx::query(
        "UPDATE events e SET entries = s.entries, skills = w.skills, audit_set_id = NULL
         FROM audit_sets s LEFT JOIN audit_writes w ON w.id = s.write_id
         WHERE e.audit_set_id = s.id AND s.org_id = $1 AND s.id <= $2
           AND coalesce(s.at, w.at) < $3",
    )
    .bind(org_pk)
    .bind(last)
    .bind(before.0)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query(
        "DELETE FROM audit_sets s WHERE s.org_id = $1 AND s.id <= $2
           AND coalesce(s.at, (SELECT w.at FROM audit_writes w WHERE w.id = s.write_id)) < $3",
    )
    .bind(org_pk)
    .bind(last)
    .bind(before.0)
    .execute(&mut *tx)
    .await?;
    // Every row of such a write is at most its last, and as old as the write: all gone.
    sqlx::query("DELETE FROM audit_writes WHERE org_id = $1 AND last_set <= $2 AND at < $3")
        .bind(org_pk)
        .bind(last)
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

/// Deletes the idempotency keys claimed before `before`, inside a claim's transaction (see
/// `keys::begin`). Rows another transaction holds are left for a later call: pruning never
/// waits.
pub(super) async fn prune_expired_keys(conn: &mut sqlx::PgConnection, before: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM idempotency_keys WHERE created_at < $1 FOR UPDATE SKIP LOCKED))",
    )
    .bind(before)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a write of agents stores of them, one array a column, in the agents' order: bound
/// as five consecutive parameters (email, its key, name, external id, active).
struct AgentColumns<'a> {
    emails: Vec<&'a str>,
    keys: Vec<String>,
    names: Vec<&'a str>,
    external: Vec<Option<&'a str>>,
    active: Vec<bool>,
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl<'a> AgentColumns<'a> {
    fn of(agents: impl Iterator<Item = &'a AgentRecord>) -> Self {
        let mut c = AgentColumns {
            emails: Vec::new(),
            keys: Vec::new(),
            names: Vec::new(),
            external: Vec::new(),
            active: Vec::new(),
        };
        for a in agents {
            c.emails.push(&a.email);
            c.keys.push(crate::common::key(&a.email));
            c.names.push(&a.name);
            c.external.push(a.external_id.as_deref());
            c.active.push(a.active);
        }
        c
    }

    fn bind(self, q: PgQuery<'a>) -> PgQuery<'a> {
        q.bind(self.emails)
            .bind(self.keys)
            .bind(self.names)
            .bind(self.external)
            .bind(self.active)
    }
}

/// The agents of the organization whose key is `org_pk` with the lower-case emails `keys`,
/// locked until the transaction ends (`Store::upsert_agents`): one statement with the keys
/// as one array, read without the e-mail trigram index.
///
/// The e-mail trigram index (the console's search, migration 0011) answers `=` too, and
/// PostgreSQL's estimate of it is far too low for keys made of common trigrams (`age`, `exa`,
/// `com`…): it read each key's posting lists whole. With a list of one parameter per key the
/// generic plan took it from 500 keys among 10,000 agents; with the array, the custom plan
/// took it for 5,000 keys among 495,000 agents (over two minutes, against 15–25 ms by the
/// unique index). A GIN index is read by bitmap scans only: those are turned off for this
/// statement (leaving the unique index, or a scan where that is cheaper), and the setting is
/// given back after it (it would end with the transaction anyway).
pub(super) async fn agents_by_email(
    conn: &mut sqlx::PgConnection,
    org_pk: i64,
    keys: &[String],
) -> sqlx::Result<Vec<rows::Agent>> {
    use rows::CatalogRow;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (was, _): (String, String) = sqlx::query_as(
        "SELECT current_setting('enable_bitmapscan'), set_config('enable_bitmapscan', 'off', true)",
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query_as(&format!(
        "{} WHERE org_id = $1 AND email_key = ANY($2) FOR UPDATE",
        rows::Agent::SELECT
    ))
    .bind(org_pk)
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("SELECT set_config('enable_bitmapscan', $1, true)")
        .bind(was)
        .execute(conn)
        .await?;
    Ok(rows)
}

/// Stores new agents of the organization whose key is `org_pk` (`Store::upsert_agents`):
/// one `INSERT … SELECT FROM UNNEST(…)` for any number of them.
pub(super) async fn insert_agents(
    conn: &mut sqlx::PgConnection,
    org_pk: i64,
    agents: &[&AgentRecord],
    now: Timestamp,
) -> sqlx::Result<()> {
    if agents.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = agents.iter().map(|a| a.id.get()).collect();
    let q = sqlx::query(
        "INSERT INTO agents
           (uuid, org_id, email, email_key, name, external_id, active, created_at, updated_at)
         SELECT x.u, $1, x.e, x.k, x.n, x.x, x.a, $2, $2
         FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[])
              WITH ORDINALITY AS x(u, e, k, n, x, a, ord)
         ORDER BY x.ord",
    )
    .bind(org_pk)
    .bind(now.0)
    .bind(ids);
    AgentColumns::of(agents.iter().copied())
        .bind(q)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores changed agents, by key (`Store::upsert_agents`): one `UPDATE … FROM UNNEST(…)`.
pub(super) async fn update_agents(
    conn: &mut sqlx::PgConnection,
    agents: &[(i64, &AgentRecord)],
    now: Timestamp,
) -> sqlx::Result<()> {
    if agents.is_empty() {
        return Ok(());
    }
    let pks: Vec<i64> = agents.iter().map(|(pk, _)| *pk).collect();
    let q = sqlx::query(
        "UPDATE agents g
         SET email = v.e, email_key = v.k, name = v.n, external_id = v.x, active = v.a,
             updated_at = $1
         FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[])
              AS v(id, e, k, n, x, a)
         WHERE g.id = v.id",
    )
    .bind(now.0)
    .bind(pks);
    AgentColumns::of(agents.iter().map(|(_, a)| *a))
        .bind(q)
        .execute(conn)
        .await?;
    Ok(())
}
