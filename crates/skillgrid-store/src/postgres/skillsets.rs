//! Writing skill sets on PostgreSQL: set-based, one transaction for any number of agents.
//!
//! The affected agent rows are locked first, in id order, so two processes writing the same
//! agent take turns and each decides on the version and set the other committed. Current sets
//! are loaded with `= ANY($1)`, diffed in memory, and written back with `UNNEST` arrays: a
//! 100,000-assignment bulk write is a handful of statements.

use crate::common::{self, AgentRow, SetRow, SkillKeys};
use crate::*;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgConnection, Row};
use std::collections::HashMap;

/// Rows per `UNNEST` statement.
const CHUNK_ROWS: usize = 50_000;

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
) -> Result<HashMap<i64, Vec<StoredAssignment>>> {
    if agents.is_empty() {
        return Ok(HashMap::new());
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

/// A skill deleted by another process between reading the catalog and writing.
fn map_fk_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Conflict { field: "skillId" }
        }
        _ => StoreError::Other(e.into()),
    }
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
    let mut agents: HashMap<Uuid, AgentRow> = HashMap::with_capacity(rows.len());
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
        upserts,
        deletes,
        bumped,
    } = common::changes(&writes, &agents, &skills.pks)?;
    let mut audit = common::audit_rows(&writes, &agents, &skills.pks, ctx.now);

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
        .await
        .map_err(map_fk_err)?;
    }
    loop {
        let chunk = common::next_chunk(&mut audit, CHUNK_ROWS)?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        let uuids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let agent_pk: Vec<i64> = chunk.iter().map(|r| r.agent_pk).collect();
        let skill_pk: Vec<i64> = chunk.iter().map(|r| r.skill_pk).collect();
        let agent: Vec<Uuid> = chunk.iter().map(|r| r.agent).collect();
        let skill: Vec<Uuid> = chunk.iter().map(|r| r.skill).collect();
        let action: Vec<i16> = chunk.iter().map(|r| r.action).collect();
        let col = |side: fn(&common::AuditRow) -> Option<StoredAssignment>,
                   f: fn(&StoredAssignment) -> Option<i64>|
         -> Vec<Option<i64>> {
            chunk.iter().map(|r| side(r).as_ref().and_then(f)).collect()
        };
        let before = |r: &common::AuditRow| r.before;
        let after = |r: &common::AuditRow| r.after;
        let prof = |a: &StoredAssignment| Some(a.proficiency);
        let eff = |a: &StoredAssignment| a.effective.map(|t| t.0);
        let exp = |a: &StoredAssignment| a.expires.map(|t| t.0);
        let upd = |a: &StoredAssignment| Some(a.updated_at.0);
        sqlx::query(
            "INSERT INTO audit (uuid, org_id, at, request_id, client_uuid, agent_id, skill_id, agent_uuid, skill_uuid, action,
               before_proficiency, before_effective, before_expires, before_updated,
               after_proficiency, after_effective, after_expires, after_updated)
             SELECT u, $1, $2, $3, $4, ag, sk, agu, sku, act, bp, be, bx, bu, ap, ae, ax, au
             FROM UNNEST($5::uuid[], $6::bigint[], $7::bigint[], $8::uuid[], $9::uuid[], $10::smallint[],
                         $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[],
                         $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[])
                  WITH ORDINALITY AS t(u, ag, sk, agu, sku, act, bp, be, bx, bu, ap, ae, ax, au, ord)
             ORDER BY ord",
        )
        .bind(org_pk)
        .bind(ctx.now.0)
        .bind(&ctx.request_id)
        .bind(ctx.client_id)
        .bind(uuids)
        .bind(agent_pk)
        .bind(skill_pk)
        .bind(agent)
        .bind(skill)
        .bind(action)
        .bind(col(before, prof))
        .bind(col(before, eff))
        .bind(col(before, exp))
        .bind(col(before, upd))
        .bind(col(after, prof))
        .bind(col(after, eff))
        .bind(col(after, exp))
        .bind(col(after, upd))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE agents SET version = version + 1 WHERE id = ANY($1)")
        .bind(&bumped)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    drop(audit);
    Ok(WriteResult {
        items: outcomes,
        committed: true,
    })
}

const AUDIT_COLS: &str = "id, uuid, at, request_id, client_uuid, agent_uuid, skill_uuid, action,
    before_proficiency, before_effective, before_expires, before_updated,
    after_proficiency, after_effective, after_expires, after_updated";

pub(super) async fn history(
    pool: &PgPool,
    agent_pk: i64,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {AUDIT_COLS} FROM audit WHERE agent_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(agent_pk)
    .bind(page.after.unwrap_or(i64::MAX))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let rows = rows
        .iter()
        .map(|r| Ok((r.try_get("id")?, audit_from_row(r)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(common::paged(rows, page.limit))
}

pub(super) async fn audit_log(
    pool: &PgPool,
    org: Uuid,
    since: Option<Timestamp>,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {AUDIT_COLS} FROM audit
         WHERE org_id = (SELECT id FROM orgs WHERE uuid = $1) AND id > $2 AND at >= $3
         ORDER BY id LIMIT $4"
    ))
    .bind(org)
    .bind(page.after.unwrap_or(0))
    .bind(since.map_or(i64::MIN, |t| t.0))
    .bind(page.limit as i64 + 1)
    .fetch_all(pool)
    .await?;
    let items = rows
        .iter()
        .map(|r| Ok((r.try_get("id")?, audit_from_row(r)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(common::paged(items, page.limit))
}

fn audit_from_row(r: &PgRow) -> Result<AuditRecord> {
    let skill_id: Uuid = r.try_get("skill_uuid")?;
    let side = |p: &str| -> Result<Option<StoredAssignment>> {
        let prof: Option<i64> = r.try_get(format!("{p}_proficiency").as_str())?;
        Ok(match prof {
            None => None,
            Some(proficiency) => Some(StoredAssignment {
                skill_id,
                proficiency,
                effective: r
                    .try_get::<Option<i64>, _>(format!("{p}_effective").as_str())?
                    .map(Timestamp),
                expires: r
                    .try_get::<Option<i64>, _>(format!("{p}_expires").as_str())?
                    .map(Timestamp),
                updated_at: Timestamp(
                    r.try_get::<Option<i64>, _>(format!("{p}_updated").as_str())?
                        .unwrap_or(0),
                ),
            }),
        })
    };
    Ok(AuditRecord {
        id: r.try_get("uuid")?,
        at: Timestamp(r.try_get("at")?),
        request_id: r.try_get("request_id")?,
        client_id: r.try_get("client_uuid")?,
        agent_id: r.try_get("agent_uuid")?,
        skill_id,
        action: common::action_from_code(r.try_get::<i16, _>("action")?.into()),
        before: side("before")?,
        after: side("after")?,
    })
}
