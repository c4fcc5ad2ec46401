//! PostgreSQL's export (see `crate::export`): a `REPEATABLE READ READ ONLY` transaction on a
//! connection opened for it (not one of the pool's, which other requests wait for), its rows
//! streamed by one statement. PostgreSQL makes the next rows while this side turns the last
//! ones into parts; it stops when the connection's buffers are full, so a slow client holds
//! back the database and memory stays flat. An export that stops (its client went away, or
//! stalled) drops the connection, and PostgreSQL ends the statement and the transaction at its
//! next write to it.

use super::PgStore;
use crate::export::{Grouper, PARTS_AHEAD};
use crate::*;
use futures::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, Row};
use tokio::sync::mpsc;

pub(super) async fn export(store: &PgStore, org: OrgId, options: ExportOptions) -> Result<Export> {
    let mut conn = PgConnection::connect_with(&store.read.connect_options()).await?;
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut conn)
        .await?;
    // The rows come from one statement that lasts as long as the export: a `statement_timeout`
    // set for the role or database would cut it short. The export has limits of its own (its
    // duration, a client that stalls).
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut conn)
        .await?;
    let (org_pk, settings): (i64, String) =
        sqlx::query_as("SELECT id, settings FROM orgs WHERE uuid = $1")
            .bind(org.get())
            .fetch_optional(&mut conn)
            .await?
            .ok_or(StoreError::NotFound)?;
    let scale = crate::settings::from_json(&settings)?.proficiency_scale;
    let event_sequence: i64 = sqlx::query_scalar(
        "SELECT coalesce((SELECT last FROM event_counters WHERE org_id = $1), 0)",
    )
    .bind(org_pk)
    .fetch_one(&mut conn)
    .await?;
    // Byte order of the lower-cased names, as SQLite and the CLI order them, whatever the
    // database's collation.
    let skills: Vec<(i64, Uuid, String, bool)> = sqlx::query_as(
        r#"SELECT id, uuid, name, active FROM skills WHERE org_id = $1
           ORDER BY name_key COLLATE "C""#,
    )
    .bind(org_pk)
    .fetch_all(&mut conn)
    .await?;
    let skills: Vec<(i64, ExportSkill)> = skills
        .into_iter()
        .map(|(pk, id, name, active)| {
            let id = id.into();
            (pk, ExportSkill { id, name, active })
        })
        .collect();
    // The agents are sorted, then each one's assignments found by the primary key: a nested
    // loop keeps the agents' order, so the rows need no sort of their own. Sorting the joined
    // rows instead spilled to disk: 2.1 s against 0.8 s for 1,000,000 assignments of 10,000
    // agents, and no first row before the sort ended. The key is the database's own integer,
    // read above: no text of a caller's in the SQL.
    let select = format!(
        r#"SELECT g.id, g.uuid, g.email, g.active,
                  a.skill_id, a.proficiency, a.effective_at, a.expires_at
           FROM (SELECT id, uuid, email, active, email_key COLLATE "C" AS k
                 FROM agents WHERE org_id = {org_pk} ORDER BY 5) g
           JOIN LATERAL (SELECT skill_id, proficiency, effective_at, expires_at
                         FROM assignments WHERE agent_id = g.id) a ON true
           ORDER BY g.k"#
    );
    let grouper = Grouper::new(&skills, options.active);
    let (tx, parts) = mpsc::channel(PARTS_AHEAD);
    let ExportOptions { stall, hold, .. } = options;
    tokio::spawn(async move {
        match rows(&mut conn, &select, grouper, &tx, stall).await {
            Ok(true) => {
                // The snapshot is no longer needed once every row is read.
                let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
                let _ = conn.close().await;
                drop(hold);
                send(&tx, stall, Ok(ExportPart::End)).await;
            }
            Ok(false) => {
                drop(conn);
                drop(hold);
            }
            Err(e) => {
                drop(conn);
                drop(hold);
                send(&tx, stall, Err(e)).await;
            }
        }
    });
    Ok(Export {
        event_sequence,
        taken_at: Timestamp::now(),
        scale,
        skills: skills.into_iter().map(|(_, s)| s).collect(),
        parts,
    })
}

/// Hands `part` over; false when the receiver is gone or took nothing for `stall`.
async fn send(tx: &Parts, stall: std::time::Duration, part: Result<ExportPart>) -> bool {
    tokio::time::timeout(stall, tx.send(part))
        .await
        .is_ok_and(|sent| sent.is_ok())
}

type Parts = mpsc::Sender<Result<ExportPart>>;

/// Streams the rows of `select`, sending a part whenever one is full. False when a send
/// failed.
async fn rows(
    conn: &mut PgConnection,
    select: &str,
    mut g: Grouper,
    tx: &Parts,
    stall: std::time::Duration,
) -> Result<bool> {
    let mut rows = sqlx::query(select).persistent(false).fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        if let Some(part) = step(&mut g, &r)? {
            if !send(tx, stall, Ok(ExportPart::Agents(part))).await {
                return Ok(false);
            }
        }
    }
    drop(rows);
    let last = g.finish();
    Ok(last.is_empty() || send(tx, stall, Ok(ExportPart::Agents(last))).await)
}

/// One row of [`rows`]: its agent's columns are read only when the agent changes.
fn step(g: &mut Grouper, r: &PgRow) -> sqlx::Result<Option<Vec<ExportAgent>>> {
    let pk: i64 = r.try_get(0)?;
    let full = if g.is_current(pk) {
        None
    } else {
        let id: Uuid = r.try_get(1)?;
        g.begin(pk, id.into(), r.try_get(2)?, r.try_get(3)?)
    };
    g.hold(r.try_get(4)?, r.try_get(5)?, r.try_get(6)?, r.try_get(7)?);
    Ok(full)
}
