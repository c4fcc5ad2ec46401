//! Writing skill sets on PostgreSQL: set-based, one transaction for any number of agents.
//!
//! The affected agent rows are locked first, in id order, so two processes writing the same
//! agent take turns and each decides on the version and set the other committed. The
//! organization's advisory lock, held shared, keeps its skills from being deleted meanwhile:
//! that and the agent locks are what keep assignments pointing at rows that exist (the table
//! has no foreign keys; see migration 0003). Current sets
//! are loaded with `= ANY($1)`, diffed in memory, and written back with `UNNEST` arrays: a
//! 100,000-assignment bulk write is a handful of statements.

use crate::audit;
use crate::common::{self, AgentRow, SetRow, SkillKeys};
use crate::*;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Row};

/// Rows per `UNNEST` statement (3 in this crate's unit tests, so that they write in several).
const CHUNK_ROWS: usize = if cfg!(test) { 3 } else { 50_000 };

/// One agent's set, ordered by skill name (case-insensitively), then id.
pub(super) async fn load_set(conn: &mut PgConnection, agent: i64) -> Result<Vec<StoredAssignment>> {
    let rows = sqlx::query(
        "SELECT s.uuid, a.proficiency, a.effective_at, a.expires_at, a.updated_at
         FROM assignments a JOIN skills s ON s.id = a.skill_id WHERE a.agent_id = $1
         ORDER BY s.name_key, s.uuid",
    )
    .bind(agent)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAssignment {
                skill_id: r.try_get(0)?,
                proficiency: r.try_get(1)?,
                effective: r.try_get::<Option<i64>, _>(2)?.map(Timestamp),
                expires: r.try_get::<Option<i64>, _>(3)?.map(Timestamp),
                updated_at: Timestamp(r.try_get(4)?),
            })
        })
        .collect()
}

/// The sets of many agents, each in the order of [`load_set`]: read by integer keys (no join,
/// no sort in SQL), then put in name order in memory.
async fn load_sets(
    conn: &mut PgConnection,
    agents: &[i64],
    keys: &SkillKeys,
) -> Result<foldhash::HashMap<i64, Vec<StoredAssignment>>> {
    if agents.is_empty() {
        return Ok(Default::default());
    }
    let rows = sqlx::query(
        "SELECT agent_id, skill_id, proficiency, effective_at, expires_at, updated_at
         FROM assignments WHERE agent_id = ANY($1)",
    )
    .bind(agents)
    .fetch_all(&mut *conn)
    .await?;
    common::sets_in_name_order(
        rows.iter().map(|r| {
            Ok(SetRow {
                agent_pk: r.try_get(0)?,
                skill_pk: r.try_get(1)?,
                proficiency: r.try_get(2)?,
                effective: r.try_get(3)?,
                expires: r.try_get(4)?,
                updated_at: r.try_get(5)?,
            })
        }),
        keys,
    )
}

pub(super) async fn write(
    pool: &PgPool,
    org: Uuid,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let (mut tx, org_pk) = super::begin_for_org(pool, org).await?;

    // Locked in id order (no deadlock between two writers of overlapping agents); a dry run
    // only needs the rows not to change under it, so it shares the lock.
    let ids: Vec<Uuid> = items.iter().map(|it| it.agent_id).collect();
    let lock = if opts.dry_run {
        "FOR SHARE"
    } else {
        "FOR UPDATE"
    };
    let rows = sqlx::query(&format!(
        "SELECT uuid, id, version, active FROM agents WHERE org_id = $1 AND uuid = ANY($2)
         ORDER BY id {lock}"
    ))
    .bind(org_pk)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut agents: foldhash::HashMap<Uuid, AgentRow> =
        foldhash::HashMapExt::with_capacity(rows.len());
    for r in rows {
        agents.insert(
            r.try_get(0)?,
            AgentRow {
                pk: r.try_get(1)?,
                version: r.try_get(2)?,
                active: r.try_get(3)?,
            },
        );
    }
    // Read once the agents are locked: no write can then give them a skill this read misses.
    let skills = SkillKeys::from_ordered(
        sqlx::query_as::<_, (Uuid, i64)>(
            "SELECT uuid, id FROM skills WHERE org_id = $1 ORDER BY name_key, uuid",
        )
        .bind(org_pk)
        .fetch_all(&mut *tx)
        .await?,
    );
    let pks: Vec<i64> = agents.values().map(|a| a.pk).collect();
    let mut sets = load_sets(&mut tx, &pks, &skills).await?;

    let (outcomes, failed) = common::outcomes(items, &agents, &mut sets, opts, ctx.now);
    let writes = common::writes(items, &outcomes);
    if opts.dry_run || (opts.atomic && failed) || writes.is_empty() {
        tx.rollback().await?;
        return Ok(WriteResult {
            items: outcomes,
            committed: false,
        });
    }

    let common::Changes {
        added,
        updated,
        deletes,
        bumped,
    } = common::changes(&writes, &agents, &skills.pks)?;
    let upserts: Vec<_> = added.into_iter().chain(updated).collect();

    for chunk in deletes.chunks(CHUNK_ROWS) {
        let (a, s): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
        sqlx::query(
            "DELETE FROM assignments WHERE (agent_id, skill_id) IN
               (SELECT * FROM UNNEST($1::bigint[], $2::bigint[]))",
        )
        .bind(a)
        .bind(s)
        .execute(&mut *tx)
        .await?;
    }
    for chunk in upserts.chunks(CHUNK_ROWS) {
        let n = chunk.len();
        let (mut agent, mut skill, mut prof) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut eff, mut exp) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (g, s, a) in chunk {
            agent.push(*g);
            skill.push(*s);
            prof.push(a.proficiency);
            eff.push(a.effective.map(|t| t.0));
            exp.push(a.expires.map(|t| t.0));
        }
        let updated = vec![ctx.now.0; n];
        sqlx::query(
            "INSERT INTO assignments (agent_id, skill_id, proficiency, effective_at, expires_at, updated_at)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
             ON CONFLICT (agent_id, skill_id) DO UPDATE SET proficiency = excluded.proficiency,
               effective_at = excluded.effective_at, expires_at = excluded.expires_at,
               updated_at = excluded.updated_at",
        )
        .bind(agent)
        .bind(skill)
        .bind(prof)
        .bind(eff)
        .bind(exp)
        .bind(updated)
        .execute(&mut *tx)
        .await?;
    }
    let mut audit_rows = audit::audit_sets(&writes, &agents, ctx.now, audit::Inline).peekable();
    while audit_rows.peek().is_some() {
        let chunk: Vec<audit::AuditSet> = audit_rows.by_ref().take(CHUNK_ROWS).collect();
        let uuid: Vec<Uuid> = chunk.iter().map(|s| s.uuid).collect();
        let agent_pk: Vec<i64> = chunk.iter().map(|s| s.agent_pk).collect();
        let agent: Vec<Uuid> = chunk.iter().map(|s| s.agent).collect();
        let count: Vec<i32> = chunk.iter().map(|s| s.count as i32).collect();
        let entries: Vec<Vec<u8>> = chunk.into_iter().map(|s| s.entries).collect();
        sqlx::query(
            "INSERT INTO audit_sets (uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, entries, n)
             SELECT u, $1, $2, $3, $4, ag, agu, e, n
             FROM UNNEST($5::uuid[], $6::bigint[], $7::uuid[], $8::bytea[], $9::int[])
                  WITH ORDINALITY AS t(u, ag, agu, e, n, ord)
             ORDER BY ord",
        )
        .bind(org_pk)
        .bind(ctx.now.0)
        .bind(&ctx.request_id)
        .bind(ctx.client_id)
        .bind(uuid)
        .bind(agent_pk)
        .bind(agent)
        .bind(entries)
        .bind(count)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE agents SET version = version + 1 WHERE id = ANY($1)")
        .bind(&bumped)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    drop(audit_rows);
    Ok(WriteResult {
        items: outcomes,
        committed: true,
    })
}

/// The columns `audit::stored_set` reads: every row holds its own values (no write's list of
/// skills on this backend).
const COLUMNS: &str =
    "id, uuid, at, request_id, client_uuid, agent_uuid, entries, NULL::bytea AS skills";

/// An agent's audit entries, newest first, before position `page.after`.
pub(super) async fn history(
    pool: &PgPool,
    agent_pk: i64,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_sets WHERE agent_id = $1 AND id <= $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(agent_pk)
    .bind(page.after.map_or(i64::MAX, audit::row_of))
    .bind(audit::rows_for(page.limit))
    .fetch_all(pool)
    .await?;
    audit::page_descending(rows.iter().map(audit::stored_set), page.after, page.limit)
}

/// The organization's audit entries, oldest first, after position `page.after`.
pub(super) async fn audit_log(
    pool: &PgPool,
    org: Uuid,
    since: Option<Timestamp>,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_sets
         WHERE org_id = (SELECT id FROM orgs WHERE uuid = $1) AND id >= $2 AND at >= $3
         ORDER BY id LIMIT $4"
    ))
    .bind(org)
    .bind(page.after.map_or(0, audit::row_of))
    .bind(since.map_or(i64::MIN, |t| t.0))
    .bind(audit::rows_for(page.limit))
    .fetch_all(pool)
    .await?;
    audit::page_ascending(rows.iter().map(audit::stored_set), page.after, page.limit)
}
