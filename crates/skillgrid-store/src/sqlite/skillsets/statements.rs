//! The statements that write a skill-set write's rows on SQLite's own handle, inside the
//! write's transaction: one [`Batch`] at a time (all of a small write, a chunk of a pipelined
//! one), in the forms measured fastest for each kind of row: new rows one execution each,
//! updated rows [`BATCH_ROWS`] per statement, and what every row of a write shares bound once.

use super::handle::sql_err;
use super::plan::{Batch, NewRow};
use crate::audit;
use crate::tuning::BATCH_ROWS;
use crate::*;

/// Where the audit rows of a write hold what they share: when, which request and client.
pub(super) enum AuditTarget {
    /// On each row (a small write has one row per agent, often one in all).
    Own,
    /// On one row of `audit_writes`, made with the first audit row: the rows of a large write
    /// name it, and name skills by their place in its list (see `crate::audit`).
    Write(Option<i64>),
}

impl AuditTarget {
    /// Stores the list of skills the write's entries name, once they are all written.
    pub(super) fn finish(&self, conn: &rusqlite::Connection, skills: &[u8]) -> Result<()> {
        if let AuditTarget::Write(Some(id)) = self {
            conn.execute(
                "UPDATE audit_writes SET skills = ?1 WHERE id = ?2",
                rusqlite::params![skills, id],
            )
            .map_err(sql_err)?;
        }
        Ok(())
    }
}

/// Writes one batch of rows on `conn`, inside its transaction.
pub(super) fn write_batch(
    conn: &rusqlite::Connection,
    org_pk: i64,
    ctx: &WriteContext,
    b: &Batch,
    audit: &mut AuditTarget,
) -> Result<()> {
    delete_rows(conn, &b.deletes)?;
    insert_rows(conn, ctx.now, &b.added, b.added_are_new)?;
    batched(
        conn,
        &b.updated,
        BATCH_ROWS,
        upsert_sql,
        |q, at, r| bind_row(q, at, r, ctx.now),
        0,
    )?;
    let first_set = insert_audit(conn, org_pk, ctx, &b.audit, audit)?;
    insert_events(conn, org_pk, ctx, b, first_set)?;
    update_layers(conn, &b.layers)?;
    bump_versions(conn, &b.bumped)
}

/// The direct layers a write changed (see `crate::layers`): few, one statement each.
fn update_layers(conn: &rusqlite::Connection, layers: &[(i64, i64, Option<NewRow>)]) -> Result<()> {
    if layers.is_empty() {
        return Ok(());
    }
    let mut q = conn
        .prepare_cached(
            "UPDATE skill_layers SET direct = ?1, effective_at = ?2, expires_at = ?3
             WHERE agent_id = ?4 AND skill_id = ?5",
        )
        .map_err(sql_err)?;
    for (agent, skill, d) in layers {
        q.execute(rusqlite::params![
            d.as_ref().map(|d| d.proficiency),
            d.as_ref().and_then(|d| d.effective),
            d.as_ref().and_then(|d| d.expires),
            agent,
            skill
        ])
        .map_err(sql_err)?;
    }
    Ok(())
}

/// The batch's `assignment.changed` events, one per audit row, each referring to its row (the
/// rows of a batch have consecutive keys from `first_set`), numbered from the organization's
/// counter (the write transaction holds the database, so the numbers follow commit order),
/// [`EVENT_ROWS`] per statement.
fn insert_events(
    conn: &rusqlite::Connection,
    org_pk: i64,
    ctx: &WriteContext,
    b: &Batch,
    first_set: i64,
) -> Result<()> {
    if b.audit.is_empty() {
        return Ok(());
    }
    let n = b.audit.len() as i64;
    let last: i64 = conn
        .prepare_cached(
            "INSERT INTO event_counters (org_id, last) VALUES (?1, ?2)
             ON CONFLICT (org_id) DO UPDATE SET last = last + excluded.last RETURNING last",
        )
        .and_then(|mut q| q.query_row([org_pk, n], |r| r.get(0)))
        .map_err(sql_err)?;
    let first = last - n + 1;
    let rows: Vec<(i64, (&audit::AuditSet, &i64))> =
        (0..).zip(b.audit.iter().zip(&b.versions)).collect();
    let shared = |q: &mut rusqlite::Statement<'_>| -> rusqlite::Result<()> {
        q.raw_bind_parameter(1, org_pk)?;
        q.raw_bind_parameter(2, crate::events::EventType::AssignmentChanged.as_str())?;
        q.raw_bind_parameter(3, ctx.now.0)?;
        q.raw_bind_parameter(4, &ctx.request_id)?;
        q.raw_bind_parameter(5, &ctx.client_id.get().as_bytes()[..])
    };
    batched(
        conn,
        &rows,
        EVENT_ROWS,
        events_sql,
        |q, at, (i, (set, version))| {
            if *i % EVENT_ROWS as i64 == 0 {
                shared(q)?;
            }
            q.raw_bind_parameter(at, &Uuid::now_v7().as_bytes()[..])?;
            q.raw_bind_parameter(at + 1, first + i)?;
            q.raw_bind_parameter(at + 2, &set.agent.as_bytes()[..])?;
            q.raw_bind_parameter(at + 3, **version)?;
            q.raw_bind_parameter(at + 4, first_set + i)?;
            Ok(5)
        },
        EVENT_SHARED,
    )
}

/// Events per statement of [`insert_events`].
const EVENT_ROWS: usize = 200;
/// The parameters every event of a statement shares: organization, type, time, request and
/// client.
const EVENT_SHARED: usize = 5;

/// `INSERT` of `n` `assignment.changed` events: the shared parameters `?1` to `?5`, then five
/// of each event's own.
fn events_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO events (org_id, kind, occurred_at, request_id, actor_uuid, uuid, sequence,
           subject_uuid, version, audit_set_id) VALUES ",
    );
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let p = EVENT_SHARED + 1 + i * 5;
            format!(
                "(?1, ?2, ?3, ?4, ?5, ?{}, ?{}, ?{}, ?{}, ?{})",
                p,
                p + 1,
                p + 2,
                p + 3,
                p + 4
            )
        })
        .collect();
    sql.push_str(&rows.join(", "));
    sql
}

fn delete_rows(conn: &rusqlite::Connection, rows: &[(i64, i64)]) -> Result<()> {
    let mut q = conn
        .prepare_cached("DELETE FROM assignments WHERE agent_id = ?1 AND skill_id = ?2")
        .map_err(sql_err)?;
    for (a, s) in rows {
        q.execute([a, s]).map_err(sql_err)?;
    }
    Ok(())
}

/// `INSERT` of `n` assignment rows (six parameters each).
fn insert_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO assignments (agent_id, skill_id, proficiency, effective_at, expires_at, updated_at) VALUES ",
    );
    sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; n].join(", "));
    sql
}

/// [`insert_sql`] that updates rows that exist.
fn upsert_sql(n: usize) -> String {
    let mut sql = insert_sql(n);
    sql.push_str(
        " ON CONFLICT (agent_id, skill_id) DO UPDATE SET proficiency = excluded.proficiency,
          effective_at = excluded.effective_at, expires_at = excluded.expires_at,
          updated_at = excluded.updated_at",
    );
    sql
}

/// Binds one row's six parameters from index `at` on; says how many it bound.
fn bind_row(
    q: &mut rusqlite::Statement<'_>,
    at: usize,
    r: &NewRow,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    q.raw_bind_parameter(at, r.agent)?;
    q.raw_bind_parameter(at + 1, r.skill)?;
    q.raw_bind_parameter(at + 2, r.proficiency)?;
    q.raw_bind_parameter(at + 3, r.effective)?;
    q.raw_bind_parameter(at + 4, r.expires)?;
    q.raw_bind_parameter(at + 5, now.0)?;
    Ok(6)
}

/// Added rows, one statement execution each (`new`: none of them exists yet).
///
/// New rows one statement execution each, updated ones many rows per statement: measured on
/// SQLite 3.46, each is the faster way for its kind (a multi-row insert of new rows took 1.4×
/// as long; a single-row update 1.3× as long). Rows known to be new go in with a plain
/// INSERT, which took 0.9× the time of the upsert.
fn insert_rows(
    conn: &rusqlite::Connection,
    now: Timestamp,
    rows: &[NewRow],
    new: bool,
) -> Result<()> {
    let sql = if new { insert_sql(1) } else { upsert_sql(1) };
    let mut q = conn.prepare_cached(&sql).map_err(sql_err)?;
    // A parameter bound once keeps its value across executions: the write's time is bound
    // once.
    q.raw_bind_parameter(6, now.0).map_err(sql_err)?;
    for r in rows {
        q.raw_bind_parameter(1, r.agent).map_err(sql_err)?;
        q.raw_bind_parameter(2, r.skill).map_err(sql_err)?;
        q.raw_bind_parameter(3, r.proficiency).map_err(sql_err)?;
        q.raw_bind_parameter(4, r.effective).map_err(sql_err)?;
        q.raw_bind_parameter(5, r.expires).map_err(sql_err)?;
        q.raw_execute().map_err(sql_err)?;
    }
    Ok(())
}

/// The batch's audit rows, on their own (a small write) or naming their write's row (a large
/// one); the key of the first, the others' following it one by one (the write transaction
/// holds the database, so nothing else takes a key between them).
fn insert_audit(
    conn: &rusqlite::Connection,
    org_pk: i64,
    ctx: &WriteContext,
    sets: &[audit::AuditSet],
    target: &mut AuditTarget,
) -> Result<i64> {
    let write = match target {
        _ if sets.is_empty() => return Ok(0),
        AuditTarget::Own => None,
        AuditTarget::Write(Some(id)) => Some(*id),
        AuditTarget::Write(slot) => {
            conn.execute(
                "INSERT INTO audit_writes (org_id, at, request_id, client_uuid, skills)
                 VALUES (?1, ?2, ?3, ?4, x'')",
                rusqlite::params![
                    org_pk,
                    ctx.now.0,
                    &ctx.request_id,
                    &ctx.client_id.get().as_bytes()[..]
                ],
            )
            .map_err(sql_err)?;
            *slot = Some(conn.last_insert_rowid());
            *slot
        }
    };
    if let Some(write) = write {
        let mut q = conn
            .prepare_cached(
                "INSERT INTO audit_sets (uuid, org_id, write_id, agent_id, entries, n)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql_err)?;
        q.raw_bind_parameter(2, org_pk).map_err(sql_err)?;
        q.raw_bind_parameter(3, write).map_err(sql_err)?;
        return each_set(conn, &mut q, sets, |q, set| {
            q.raw_bind_parameter(1, &set.uuid.as_bytes()[..])?;
            q.raw_bind_parameter(4, set.agent_pk)?;
            q.raw_bind_parameter(5, &set.entries)?;
            q.raw_bind_parameter(6, set.count)
        });
    }
    let mut q = conn
        .prepare_cached(
            "INSERT INTO audit_sets (uuid, org_id, at, request_id, client_uuid, agent_id, agent_uuid, entries, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(sql_err)?;
    q.raw_bind_parameter(2, org_pk).map_err(sql_err)?;
    q.raw_bind_parameter(3, ctx.now.0).map_err(sql_err)?;
    q.raw_bind_parameter(4, &ctx.request_id).map_err(sql_err)?;
    q.raw_bind_parameter(5, &ctx.client_id.get().as_bytes()[..])
        .map_err(sql_err)?;
    each_set(conn, &mut q, sets, |q, set| {
        q.raw_bind_parameter(1, &set.uuid.as_bytes()[..])?;
        q.raw_bind_parameter(6, set.agent_pk)?;
        q.raw_bind_parameter(7, &set.agent.as_bytes()[..])?;
        q.raw_bind_parameter(8, &set.entries)?;
        q.raw_bind_parameter(9, set.count)
    })
}

/// Runs `q` once per set, `bind` binding the set's own parameters; the key of the first row,
/// checked to be followed by the others' without a gap.
fn each_set(
    conn: &rusqlite::Connection,
    q: &mut rusqlite::Statement<'_>,
    sets: &[audit::AuditSet],
    bind: impl Fn(&mut rusqlite::Statement<'_>, &audit::AuditSet) -> rusqlite::Result<()>,
) -> Result<i64> {
    let mut first = None;
    for set in sets {
        bind(q, set).map_err(sql_err)?;
        q.raw_execute().map_err(sql_err)?;
        first.get_or_insert_with(|| conn.last_insert_rowid());
    }
    let first = first.unwrap_or(0);
    let expected = first + sets.len() as i64 - 1;
    if !sets.is_empty() && conn.last_insert_rowid() != expected {
        return Err(StoreError::Other(anyhow::anyhow!(
            "audit rows were not given consecutive keys ({first} to {}, for {} rows)",
            conn.last_insert_rowid(),
            sets.len()
        )));
    }
    Ok(first)
}

/// Each changed agent's version, one up (an agent without a row of `agent_versions` is at
/// version 0; see migration 0005).
fn bump_versions(conn: &rusqlite::Connection, agents: &[i64]) -> Result<()> {
    let mut q = conn
        .prepare_cached(
            "INSERT INTO agent_versions (agent_id, version) VALUES (?1, 1)
             ON CONFLICT (agent_id) DO UPDATE SET version = version + 1",
        )
        .map_err(sql_err)?;
    for pk in agents {
        q.execute([pk]).map_err(sql_err)?;
    }
    Ok(())
}

/// Runs the statement `sql(n)` of `n` rows over `rows`, `per` rows at a time; `bind` binds
/// one row's parameters from the given index on and says how many it bound. The rows'
/// parameters start after the first `shared` ones.
fn batched<T>(
    conn: &rusqlite::Connection,
    rows: &[T],
    per: usize,
    sql: impl Fn(usize) -> String,
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<usize>,
    shared: usize,
) -> Result<()> {
    let mut full = None;
    for chunk in rows.chunks(per) {
        let mut partial;
        let q = if chunk.len() == per {
            match &mut full {
                Some(q) => q,
                None => full.insert(conn.prepare_cached(&sql(per)).map_err(sql_err)?),
            }
        } else {
            partial = conn.prepare_cached(&sql(chunk.len())).map_err(sql_err)?;
            &mut partial
        };
        let mut at = shared + 1;
        for row in chunk {
            at += bind(q, at, row).map_err(sql_err)?;
        }
        q.raw_execute().map_err(sql_err)?;
    }
    Ok(())
}
