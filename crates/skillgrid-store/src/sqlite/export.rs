//! SQLite's export (see `crate::export`): one read transaction on a connection opened for it,
//! stepped on a blocking thread through rusqlite, which hands rows over without the per-row
//! cost of sqlx's worker thread.
//!
//! In WAL mode a reader blocks no writer and no other reader; what it holds back is the
//! checkpoint, which cannot copy past the snapshot it reads. While an export runs the
//! background checkpointer therefore copies only what it can without waiting (PASSIVE) and
//! leaves restarting the log for when no export runs: a RESTART would hold writes back while
//! it waited for the export to end (see `Checkpointer` in `mod.rs`). The log grows meanwhile,
//! by what is written during the export.

use super::skillsets::sql_err;
use super::SqliteStore;
use crate::export::{Grouper, PARTS_AHEAD};
use crate::*;
use rusqlite::OptionalExtension;
use skillgrid_core::api::ProficiencyScale;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Counts the exports running while it lives.
pub(super) struct Running(Arc<AtomicUsize>);

impl Running {
    pub(super) fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Running(count.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the snapshot says before its rows.
struct Head {
    org_pk: i64,
    sequence: i64,
    scale: ProficiencyScale,
    skills: Vec<(i64, ExportSkill)>,
}

/// What the caller is handed once the snapshot is taken: its last event, scale and skills.
type Started = (i64, ProficiencyScale, Vec<ExportSkill>);

pub(super) async fn export(
    store: &SqliteStore,
    org: OrgId,
    options: ExportOptions,
) -> Result<Export> {
    let file = store.file.clone();
    let running = Running::new(&store.exports);
    let (head_tx, head_rx) = oneshot::channel::<Result<Started>>();
    let (tx, parts) = mpsc::channel(PARTS_AHEAD);
    let rt = tokio::runtime::Handle::current();
    let ExportOptions {
        active,
        stall,
        hold,
    } = options;
    tokio::task::spawn_blocking(move || {
        let _running = running;
        let started = SqliteStore::open_bulk_reader(&file)
            .map_err(sql_err)
            .and_then(|c| snapshot(&c, org).map(|head| (c, head)));
        let (conn, head) = match started {
            Ok(s) => s,
            Err(e) => {
                drop(hold);
                let _ = head_tx.send(Err(e));
                return;
            }
        };
        let grouper = Grouper::new(&head.skills, active);
        let listed = head.skills.into_iter().map(|(_, s)| s).collect();
        if head_tx
            .send(Ok((head.sequence, head.scale, listed)))
            .is_ok()
        {
            // False when the receiver is gone or took nothing for `stall`: the export ends.
            let send = |part: Result<ExportPart>| {
                rt.block_on(tokio::time::timeout(stall, tx.send(part)))
                    .is_ok_and(|sent| sent.is_ok())
            };
            match rows(&conn, head.org_pk, grouper, &send) {
                Ok(true) => {
                    send(Ok(ExportPart::End));
                }
                Ok(false) => {}
                Err(e) => {
                    send(Err(e));
                }
            }
        }
        // Closing the connection ends its read transaction; only then is the export over.
        drop(conn);
        drop(hold);
    });
    let (event_sequence, scale, skills) = head_rx
        .await
        .map_err(|_| StoreError::Other(anyhow::anyhow!("the export's reader stopped")))??;
    Ok(Export {
        event_sequence,
        taken_at: Timestamp::now(),
        scale,
        skills,
        parts,
    })
}

/// Begins the read transaction and reads what comes before the rows.
fn snapshot(c: &rusqlite::Connection, org: OrgId) -> Result<Head> {
    c.execute_batch("BEGIN").map_err(sql_err)?;
    let (org_pk, settings): (i64, String) = c
        .query_row(
            "SELECT id, settings FROM orgs WHERE uuid = ?1",
            [&org.get().as_bytes()[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql_err)?
        .ok_or(StoreError::NotFound)?;
    let scale = crate::settings::from_json(&settings)?.proficiency_scale;
    let sequence: i64 = c
        .query_row(
            "SELECT coalesce((SELECT last FROM event_counters WHERE org_id = ?1), 0)",
            [org_pk],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    let mut q = c
        .prepare("SELECT id, uuid, name, active FROM skills WHERE org_id = ?1 ORDER BY name_key")
        .map_err(sql_err)?;
    let skills = q
        .query_map([org_pk], |r| {
            let id: [u8; 16] = r.get(1)?;
            Ok((
                r.get(0)?,
                ExportSkill {
                    id: Uuid::from_bytes(id).into(),
                    name: r.get(2)?,
                    active: r.get(3)?,
                },
            ))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql_err)?;
    Ok(Head {
        org_pk,
        sequence,
        scale,
        skills,
    })
}

/// Steps through the organization's assignments in agent e-mail order (the unique index on
/// `(org_id, email_key)` gives the order, each agent's assignments are found by the
/// primary key), sending a part whenever one is full. False when a send failed.
fn rows(
    c: &rusqlite::Connection,
    org_pk: i64,
    mut g: Grouper,
    send: &dyn Fn(Result<ExportPart>) -> bool,
) -> Result<bool> {
    let mut q = c
        .prepare(
            "SELECT g.id, g.uuid, g.email, g.active,
                    a.skill_id, a.proficiency, a.effective_at, a.expires_at
             FROM agents g JOIN assignments a ON a.agent_id = g.id
             WHERE g.org_id = ?1 ORDER BY g.email_key",
        )
        .map_err(sql_err)?;
    let mut rows = q.query([org_pk]).map_err(sql_err)?;
    while let Some(r) = rows.next().map_err(sql_err)? {
        if let Some(part) = step(&mut g, r).map_err(sql_err)? {
            if !send(Ok(ExportPart::Agents(part))) {
                return Ok(false);
            }
        }
    }
    let last = g.finish();
    Ok(last.is_empty() || send(Ok(ExportPart::Agents(last))))
}

/// One row of [`rows`]: its agent's columns are read only when the agent changes.
fn step(g: &mut Grouper, r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Vec<ExportAgent>>> {
    let pk: i64 = r.get(0)?;
    let full = if g.is_current(pk) {
        None
    } else {
        let id: [u8; 16] = r.get(1)?;
        g.begin(pk, Uuid::from_bytes(id).into(), r.get(2)?, r.get(3)?)
    };
    g.hold(r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
    Ok(full)
}
