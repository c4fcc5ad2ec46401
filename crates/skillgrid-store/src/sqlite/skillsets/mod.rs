//! Writing skill sets on SQLite: set-based, one transaction for any number of agents.
//!
//! Current sets are read by integer keys, diffed in memory, and written back through prepared
//! statements run on SQLite's own handle; the audit trail gets one row per agent (see
//! `crate::audit`). This file is the entry: [`write`] (the store's `Store::write`) and
//! [`write_many`] send a write of at most [`LARGE`] agents down the small path here (grouped
//! with other small writes, or in a transaction of its own) and a larger one down the
//! pipeline. The parts, a job each:
//!
//! - `plan.rs`: a chunk of items decided from the agents' current sets, as rows to write;
//! - `statements.rs`: the statements that write those rows;
//! - `pipeline.rs`: a large write, planned on one thread while another writes;
//! - `handle.rs`: SQLite's own handle under sqlx's connection, where all of it runs;
//! - `reads.rs`: reads of what these writes store, an agent's set and the audit trail.

mod handle;
mod pipeline;
mod plan;
mod reads;
mod statements;
#[cfg(test)]
mod tests;

pub(super) use pipeline::{Activity, LargeWrites};
pub(super) use reads::{AGENT_AUDIT, FEED, ORG_AUDIT};

use super::SqliteStore;
use crate::common::SkillKeys;
use crate::tuning::PIPELINE_FROM as LARGE;
use crate::*;
use handle::on_handle;
pub(in crate::sqlite) use handle::sql_err;
use plan::Planner;
use sqlx::sqlite::SqlitePool;
use sqlx::SqliteConnection;
use statements::{write_batch, AuditTarget};

/// A skill-set write (see `Store::write`): up to [`LARGE`] agents of a slice in one
/// transaction (grouped with other small writes), then the sink; more, or items produced while
/// the write runs, through the pipeline, which overlaps the sink with the write.
pub(super) async fn write(store: &SqliteStore, request: WriteRequest<'_>) -> Result<Written> {
    if let Items::Slice(items) = request.items {
        if items.len() <= LARGE {
            let WriteRequest { org, ctx, opts, .. } = request;
            let result =
                super::per_backend::store::write_slice(store, org, ctx, items, opts).await?;
            let items = std::borrow::Cow::Borrowed(items);
            return Ok(crate::write::after_commit(
                items,
                Some(result),
                request.sink,
            ));
        }
    }
    let w = pipeline::write_large(&store.write, &store.large, request).await?;
    Ok(Written {
        produced: w.fed,
        result: w.go_ahead.then_some(w.result),
    })
}

/// A write of more agents than a group takes (see `src/per_backend/store.rs`): up to
/// [`LARGE`] agents in a transaction of their own, more through the pipeline.
pub(super) async fn write_many(
    store: &SqliteStore,
    org: OrgId,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    if items.len() <= LARGE {
        write_alone(&store.write, org, ctx, items, opts).await
    } else {
        let request = WriteRequest::new(org, ctx, Items::Slice(items), opts);
        let w = pipeline::write_large(&store.write, &store.large, request).await?;
        Ok(w.result)
    }
}

/// A small write in a transaction of its own.
pub(super) async fn write_alone(
    pool: &SqlitePool,
    org: OrgId,
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
async fn write_in(
    tx: &mut SqliteConnection,
    org: OrgId,
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
    /// Some agent of the organization holds a skill a SCIM Group gives: writes read the
    /// layers of their agents (`crate::layers`). The one probe a write pays for groups.
    layered: bool,
}

pub(super) async fn org_keys(tx: &mut SqliteConnection, org: OrgId) -> Result<OrgKeys> {
    on_handle(tx, false, |c| org_keys_sync(c, org)).await
}

fn org_keys_sync(c: &rusqlite::Connection, org: OrgId) -> Result<OrgKeys> {
    use rusqlite::OptionalExtension;
    let org = org.get();
    let uuid = &org.as_bytes()[..];
    let pk: i64 = c
        .query_row("SELECT id FROM orgs WHERE uuid = ?1", [uuid], |r| r.get(0))
        .optional()
        .map_err(sql_err)?
        .ok_or(StoreError::NotFound)?;
    let mut q = c
        .prepare("SELECT uuid, id FROM skills WHERE org_id = ?1 ORDER BY name_key, uuid")
        .map_err(sql_err)?;
    let skills = q
        .query_map([pk], |r| {
            let id: [u8; 16] = r.get(0)?;
            Ok((Uuid::from_bytes(id), r.get(1)?))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<(Uuid, i64)>>>()
        .map_err(sql_err)?;
    let layered: bool = c
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM skill_layers WHERE org_id = ?1)",
            [pk],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    Ok(OrgKeys {
        pk,
        skills: SkillKeys::from_ordered(skills),
        layered,
    })
}

/// A skill-set write inside the caller's transaction `tx`: the agents' own assignments
/// (layered under what SCIM Groups give them) when `own`, else the effective sets a group's
/// change decided, not layered again.
pub(super) async fn write_inside(
    tx: &mut SqliteConnection,
    org: OrgId,
    _org_pk: i64,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
    own: bool,
) -> Result<WriteResult> {
    let mut keys = org_keys(tx, org).await?;
    keys.layered &= own;
    write_with(tx, &keys, ctx, items, opts).await
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
    on_handle(tx, items.len() > LARGE, |c| {
        write_sync(c, keys, ctx, items, opts)
    })
    .await
}

fn write_sync(
    conn: &rusqlite::Connection,
    keys: &OrgKeys,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let mut planner = Planner::new(keys, ctx, opts, items.len(), false);
    let batch = planner.plan(conn, items)?;
    let committed = match batch {
        Some(b) if planner.going_ahead() => {
            write_batch(conn, keys.pk, ctx, &b, &mut AuditTarget::Own)?;
            true
        }
        _ => false,
    };
    Ok(WriteResult {
        items: planner.outcomes,
        committed,
    })
}
