//! Writing skill sets on SQLite: set-based, one transaction for any number of agents.
//!
//! Current sets are read by integer keys, diffed in memory, and written back through prepared
//! statements run on SQLite's own handle (see [`write_with`]); the audit trail gets one row per
//! agent (see `crate::audit`).

use crate::audit;
use crate::common::{self, AgentRow, SetRow, SkillKeys};
use crate::*;
use skillgrid_core::model::Assignment;
use sqlx::sqlite::SqlitePool;
use sqlx::{Row, SqliteConnection};
use std::collections::HashMap;

/// One agent's set, ordered by skill name (case-insensitively), then id.
pub(super) async fn load_set(
    conn: &mut SqliteConnection,
    agent: i64,
) -> Result<Vec<StoredAssignment>> {
    let rows = sqlx::query(
        "SELECT s.uuid, a.proficiency, a.effective_at, a.expires_at, a.updated_at
         FROM assignments a JOIN skills s ON s.id = a.skill_id WHERE a.agent_id = ?
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

pub(super) async fn write(
    pool: &SqlitePool,
    org: Uuid,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let result = write_in(&mut tx, org, ctx, items, opts).await?;
    if result.committed {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(result)
}

/// Everything a write does inside the caller's transaction; `committed` in the result is
/// false when nothing is to be kept (a dry run, a failed atomic write, or no change), and the
/// caller then rolls back what this wrote (nothing, in those cases).
pub(super) async fn write_in(
    tx: &mut SqliteConnection,
    org: Uuid,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let keys = org_keys(tx, org).await?;
    write_with(tx, &keys, ctx, items, opts).await
}

/// An organization's key and its skills' keys, as one transaction sees them (skills are not
/// created or deleted by skill-set writes, so writes grouped in one transaction share them).
pub(super) struct OrgKeys {
    pk: i64,
    skills: SkillKeys,
}

pub(super) async fn org_keys(tx: &mut SqliteConnection, org: Uuid) -> Result<OrgKeys> {
    let pk: i64 = sqlx::query_scalar("SELECT id FROM orgs WHERE uuid = ?")
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let skills = sqlx::query_as::<_, (Uuid, i64)>(
        "SELECT uuid, id FROM skills WHERE org_id = ? ORDER BY name_key, uuid",
    )
    .bind(pk)
    .fetch_all(&mut *tx)
    .await?;
    Ok(OrgKeys {
        pk,
        skills: SkillKeys::from_ordered(skills),
    })
}

/// [`write_in`] with the organization's keys already read.
///
/// The work runs on SQLite's own handle of the transaction's connection, through rusqlite's
/// prepared statements: near what SQLite itself can do, with no per-row hand-over to sqlx's
/// worker thread (which cost more than the SQL) and no SQL text built per row.
pub(super) async fn write_with(
    tx: &mut SqliteConnection,
    keys: &OrgKeys,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let mut handle = tx.lock_handle().await?;
    let raw = handle.as_raw_handle();
    let big = items.len() > 64;
    let run = || {
        // SAFETY: `handle` keeps the connection locked for us (sqlx's worker thread waits
        // until it is dropped) and open; the wrapper neither closes the handle nor outlives
        // this closure, and finalizes its statements when dropped.
        #[allow(unsafe_code)]
        let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(sql_err)?;
        write_sync(&conn, keys, ctx, items, opts)
    };
    let result = if big { blocking(run) } else { run() };
    drop(handle);
    result
}

/// Runs `f`, which blocks for a while, without stalling the other tasks of the runtime's
/// worker thread it runs on (when the runtime has more than one).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::Other(e.into())
}

fn write_sync(
    conn: &rusqlite::Connection,
    keys: &OrgKeys,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    use rusqlite::{params, OptionalExtension};
    let (org_pk, skills) = (keys.pk, &keys.skills);

    let mut agents: HashMap<Uuid, AgentRow> = HashMap::with_capacity(items.len());
    let mut q = conn
        .prepare("SELECT id, version, active FROM agents WHERE uuid = ?1 AND org_id = ?2")
        .map_err(sql_err)?;
    for it in items {
        let row = q
            .query_row(params![&it.agent_id.as_bytes()[..], org_pk], |r| {
                Ok(AgentRow {
                    pk: r.get(0)?,
                    version: r.get(1)?,
                    active: r.get(2)?,
                })
            })
            .optional()
            .map_err(sql_err)?;
        if let Some(a) = row {
            agents.insert(it.agent_id, a);
        }
    }
    drop(q);

    // Each agent's current set, read by integer keys in one statement (no join, no sort in
    // SQL), then put in name order in memory.
    let mut pks: Vec<i64> = agents.values().map(|a| a.pk).collect();
    pks.sort_unstable();
    let mut q = conn
        .prepare(
            "SELECT agent_id, skill_id, proficiency, effective_at, expires_at, updated_at
             FROM assignments WHERE agent_id IN (SELECT value FROM json_each(?1))
             ORDER BY agent_id",
        )
        .map_err(sql_err)?;
    let list = serde_json::to_string(&pks).map_err(|e| StoreError::Other(e.into()))?;
    let rows = q
        .query_map([list], |r| {
            Ok(SetRow {
                agent_pk: r.get(0)?,
                skill_pk: r.get(1)?,
                proficiency: r.get(2)?,
                effective: r.get(3)?,
                expires: r.get(4)?,
                updated_at: r.get(5)?,
            })
        })
        .map_err(sql_err)?;
    let mut sets = common::sets_in_name_order(rows.map(|r| r.map_err(sql_err)), skills)?;
    drop(q);
    let (outcomes, failed) = common::outcomes(items, &agents, &mut sets, opts, ctx.now);
    let writes = common::writes(items, &outcomes);
    if opts.dry_run || (opts.atomic && failed) || writes.is_empty() {
        return Ok(WriteResult {
            items: outcomes,
            committed: false,
        });
    }

    let common::Changes {
        mut added,
        mut updated,
        deletes,
        bumped,
    } = common::changes(&writes, &agents, &skills.pks)?;
    // In key order, each row lands next to the one before it.
    added.sort_unstable_by_key(|(agent, skill, _)| (*agent, *skill));
    updated.sort_unstable_by_key(|(agent, skill, _)| (*agent, *skill));

    let mut q = conn
        .prepare("DELETE FROM assignments WHERE agent_id = ?1 AND skill_id = ?2")
        .map_err(sql_err)?;
    for (a, s) in &deletes {
        q.execute([a, s]).map_err(sql_err)?;
    }
    drop(q);
    // New rows one statement execution each, updated ones many rows per statement: measured
    // on SQLite 3.46, each is the faster way for its kind (a multi-row insert of new rows took
    // 1.4× as long; a single-row update 1.3× as long).
    let upsert = |n: usize| {
        let mut sql = String::from(
            "INSERT INTO assignments (agent_id, skill_id, proficiency, effective_at, expires_at, updated_at) VALUES ",
        );
        sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; n].join(", "));
        sql.push_str(
            " ON CONFLICT (agent_id, skill_id) DO UPDATE SET proficiency = excluded.proficiency,
              effective_at = excluded.effective_at, expires_at = excluded.expires_at,
              updated_at = excluded.updated_at",
        );
        sql
    };
    let bind = |q: &mut rusqlite::Statement<'_>,
                at: usize,
                (agent, skill, a): &(i64, i64, &Assignment)| {
        q.raw_bind_parameter(at, agent)?;
        q.raw_bind_parameter(at + 1, skill)?;
        q.raw_bind_parameter(at + 2, a.proficiency)?;
        q.raw_bind_parameter(at + 3, a.effective.map(|t| t.0))?;
        q.raw_bind_parameter(at + 4, a.expires.map(|t| t.0))?;
        q.raw_bind_parameter(at + 5, ctx.now.0)?;
        Ok(6)
    };
    batched(conn, &added, 1, upsert, bind)?;
    batched(conn, &updated, BATCH_ROWS, upsert, bind)?;
    let mut q = conn
        .prepare(
            "INSERT INTO audit_sets (uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, entries, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(sql_err)?;
    for set in audit::audit_sets(&writes, &agents, ctx.now) {
        q.execute(params![
            &set.uuid.as_bytes()[..],
            org_pk,
            ctx.now.0,
            &ctx.request_id,
            &ctx.client_id.as_bytes()[..],
            set.agent_pk,
            &set.agent.as_bytes()[..],
            &set.entries,
            set.count
        ])
        .map_err(sql_err)?;
    }
    drop(q);
    let mut q = conn
        .prepare("UPDATE agents SET version = version + 1 WHERE id = ?1")
        .map_err(sql_err)?;
    for pk in &bumped {
        q.execute([pk]).map_err(sql_err)?;
    }
    Ok(WriteResult {
        items: outcomes,
        committed: true,
    })
}

/// Rows per multi-row statement: one statement execution per this many rows instead of per row.
const BATCH_ROWS: usize = 50;

/// Runs the statement `sql(n)` of `n` rows over `rows`, `per` rows at a time; `bind` binds
/// one row's parameters from the given index on and says how many it bound.
fn batched<T>(
    conn: &rusqlite::Connection,
    rows: &[T],
    per: usize,
    sql: impl Fn(usize) -> String,
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<usize>,
) -> Result<()> {
    let mut full = None;
    for chunk in rows.chunks(per) {
        let mut partial;
        let q = if chunk.len() == per {
            match &mut full {
                Some(q) => q,
                None => full.insert(conn.prepare(&sql(per)).map_err(sql_err)?),
            }
        } else {
            partial = conn.prepare(&sql(chunk.len())).map_err(sql_err)?;
            &mut partial
        };
        let mut at = 1;
        for row in chunk {
            at += bind(q, at, row).map_err(sql_err)?;
        }
        q.raw_execute().map_err(sql_err)?;
    }
    Ok(())
}

/// An agent's audit entries, newest first, before position `page.after`.
pub(super) async fn history(
    pool: &SqlitePool,
    agent_pk: i64,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM audit_sets WHERE agent_id = ? AND id <= ? ORDER BY id DESC LIMIT ?",
        audit::COLUMNS
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
    pool: &SqlitePool,
    org: Uuid,
    since: Option<Timestamp>,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM audit_sets
         WHERE org_id = (SELECT id FROM orgs WHERE uuid = ?) AND id >= ? AND at >= ?
         ORDER BY id LIMIT ?",
        audit::COLUMNS
    ))
    .bind(org)
    .bind(page.after.map_or(0, audit::row_of))
    .bind(since.map_or(i64::MIN, |t| t.0))
    .bind(audit::rows_for(page.limit))
    .fetch_all(pool)
    .await?;
    audit::page_ascending(rows.iter().map(audit::stored_set), page.after, page.limit)
}
