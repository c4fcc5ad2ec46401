//! Writing skill sets on SQLite: set-based, one transaction for any number of agents.
//!
//! Current sets are loaded in a few `IN (…)` queries, diffed in memory, and written back with
//! multi-row statements (thousands of rows each), so a 100,000-assignment bulk write costs a
//! few dozen statements, not 100,000.

use crate::common::{self, AgentRow, SetRow, SkillKeys};
use crate::*;
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{QueryBuilder, Row, SqliteConnection};
use std::collections::HashMap;

/// Ids per `IN (…)` list.
const IN_CHUNK: usize = 500;
/// Rows per multi-row statement, kept under SQLite's 32,766 bound parameters.
const UPSERT_ROWS: usize = 5000;
const DELETE_ROWS: usize = 10_000;
const AUDIT_ROWS: usize = 1700;

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

/// The sets of many agents, each in the order of [`load_set`]. Read by integer keys in
/// primary-key order, without a join or a sort in SQL, and packed by SQLite into one text
/// value per chunk of agents: sqlx hands every result row from its SQLite thread to the caller
/// one by one, and for 100,000 assignments that hand-over cost more than the query. The sets
/// are then put in name order in memory.
async fn load_sets(
    conn: &mut SqliteConnection,
    agents: &[i64],
    keys: &SkillKeys,
) -> Result<HashMap<i64, Vec<StoredAssignment>>> {
    let mut rows = Vec::new();
    for chunk in agents.chunks(IN_CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT group_concat(agent_id || ',' || skill_id || ',' || proficiency || ',' ||
               ifnull(effective_at, '') || ',' || ifnull(expires_at, '') || ',' || updated_at, ';')
             FROM assignments WHERE agent_id IN (",
        );
        let mut sep = qb.separated(", ");
        for pk in chunk {
            sep.push_bind(*pk);
        }
        qb.push(")");
        let packed: Option<String> = qb.build_query_scalar().fetch_one(&mut *conn).await?;
        if let Some(packed) = packed {
            for rec in packed.split(';') {
                rows.push(unpack(rec)?);
            }
        }
    }
    common::sets_in_name_order(rows.into_iter().map(Ok), keys)
}

/// One assignment as `load_sets` packs it: `agent,skill,proficiency,effective,expires,updated`,
/// an absent date empty.
fn unpack(rec: &str) -> Result<SetRow> {
    let bad = || StoreError::Other(anyhow::anyhow!("unreadable packed assignment {rec:?}"));
    let mut f = rec.split(',');
    let mut next = || f.next().ok_or_else(bad);
    let int = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let opt = |s: &str| {
        if s.is_empty() {
            Ok(None)
        } else {
            int(s).map(Some)
        }
    };
    let row = SetRow {
        agent_pk: int(next()?)?,
        skill_pk: int(next()?)?,
        proficiency: int(next()?)?,
        effective: opt(next()?)?,
        expires: opt(next()?)?,
        updated_at: int(next()?)?,
    };
    match f.next() {
        None => Ok(row),
        Some(_) => Err(bad()),
    }
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
pub(super) async fn write_with(
    tx: &mut SqliteConnection,
    keys: &OrgKeys,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    let (org_pk, skills) = (keys.pk, &keys.skills);

    let mut agents: HashMap<Uuid, AgentRow> = HashMap::with_capacity(items.len());
    for chunk in items.chunks(IN_CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT uuid, id, version, active FROM agents WHERE org_id = ",
        );
        qb.push_bind(org_pk).push(" AND uuid IN (");
        let mut sep = qb.separated(", ");
        for it in chunk {
            sep.push_bind(it.agent_id);
        }
        qb.push(")");
        for r in qb.build().fetch_all(&mut *tx).await? {
            agents.insert(
                r.try_get(0)?,
                AgentRow {
                    pk: r.try_get(1)?,
                    version: r.try_get(2)?,
                    active: r.try_get(3)?,
                },
            );
        }
    }
    let pks: Vec<i64> = agents.values().map(|a| a.pk).collect();
    let mut sets = load_sets(&mut *tx, &pks, skills).await?;

    let (outcomes, failed) = common::outcomes(items, &agents, &mut sets, opts, ctx.now);
    let writes = common::writes(items, &outcomes);
    if opts.dry_run || (opts.atomic && failed) || writes.is_empty() {
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

    for chunk in deletes.chunks(DELETE_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "DELETE FROM assignments WHERE (agent_id, skill_id) IN (VALUES ",
        );
        let mut first = true;
        for (a, s) in chunk {
            if !first {
                qb.push(", ");
            }
            first = false;
            qb.push("(")
                .push_bind(*a)
                .push(", ")
                .push_bind(*s)
                .push(")");
        }
        qb.push(")");
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in upserts.chunks(UPSERT_ROWS) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO assignments (agent_id, skill_id, proficiency, effective_at, expires_at, updated_at) ",
        );
        qb.push_values(chunk, |mut b, (agent, skill, a)| {
            b.push_bind(*agent)
                .push_bind(*skill)
                .push_bind(a.proficiency)
                .push_bind(a.effective.map(|t| t.0))
                .push_bind(a.expires.map(|t| t.0))
                .push_bind(ctx.now.0);
        });
        qb.push(
            " ON CONFLICT (agent_id, skill_id) DO UPDATE SET proficiency = excluded.proficiency,
              effective_at = excluded.effective_at, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        );
        qb.build().execute(&mut *tx).await?;
    }
    loop {
        let chunk = common::next_chunk(&mut audit, AUDIT_ROWS)?;
        if chunk.is_empty() {
            break;
        }
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO audit (uuid, org_id, at, request_id, client_uuid, agent_id, skill_id, agent_uuid, skill_uuid, action,
               before_proficiency, before_effective, before_expires, before_updated,
               after_proficiency, after_effective, after_expires, after_updated) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(Uuid::now_v7())
                .push_bind(org_pk)
                .push_bind(ctx.now.0)
                .push_bind(&ctx.request_id)
                .push_bind(ctx.client_id)
                .push_bind(r.agent_pk)
                .push_bind(r.skill_pk)
                .push_bind(r.agent)
                .push_bind(r.skill)
                .push_bind(r.action);
            for side in [r.before, r.after] {
                b.push_bind(side.map(|a| a.proficiency))
                    .push_bind(side.and_then(|a| a.effective.map(|t| t.0)))
                    .push_bind(side.and_then(|a| a.expires.map(|t| t.0)))
                    .push_bind(side.map(|a| a.updated_at.0));
            }
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in bumped.chunks(IN_CHUNK) {
        let mut qb =
            QueryBuilder::<Sqlite>::new("UPDATE agents SET version = version + 1 WHERE id IN (");
        let mut sep = qb.separated(", ");
        for pk in chunk {
            sep.push_bind(*pk);
        }
        qb.push(")");
        qb.build().execute(&mut *tx).await?;
    }
    drop(audit);
    Ok(WriteResult {
        items: outcomes,
        committed: true,
    })
}

pub(super) async fn history(
    pool: &SqlitePool,
    agent_pk: i64,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let rows = sqlx::query(
        "SELECT id, uuid, at, request_id, client_uuid, agent_uuid, skill_uuid, action,
                before_proficiency, before_effective, before_expires, before_updated,
                after_proficiency, after_effective, after_expires, after_updated
         FROM audit WHERE agent_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
    )
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

pub(super) fn audit_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<AuditRecord> {
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
    let action = common::action_from_code(r.try_get::<i64, _>("action")?);
    Ok(AuditRecord {
        id: r.try_get("uuid")?,
        at: Timestamp(r.try_get("at")?),
        request_id: r.try_get("request_id")?,
        client_id: r.try_get("client_uuid")?,
        agent_id: r.try_get("agent_uuid")?,
        skill_id,
        action,
        before: side("before")?,
        after: side("after")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_assignments_unpack_and_come_out_in_name_order() {
        // Skill keys 7, 3, 5 in name order; agent 1 holds them in key order.
        let ids = [
            Uuid::from_u128(70),
            Uuid::from_u128(30),
            Uuid::from_u128(50),
        ];
        let keys = SkillKeys::from_ordered(vec![(ids[0], 7), (ids[1], 3), (ids[2], 5)]);
        let rows = "1,3,2,,,9;1,5,4,100,200,9;1,7,1,,-5,9;2,5,3,,,8".split(';');
        let sets = common::sets_in_name_order(rows.map(unpack), &keys).unwrap();
        let one: Vec<(Uuid, i64, Option<i64>, Option<i64>)> = sets[&1]
            .iter()
            .map(|a| {
                (
                    a.skill_id,
                    a.proficiency,
                    a.effective.map(|t| t.0),
                    a.expires.map(|t| t.0),
                )
            })
            .collect();
        assert_eq!(
            one,
            vec![
                (ids[0], 1, None, Some(-5)),
                (ids[1], 2, None, None),
                (ids[2], 4, Some(100), Some(200)),
            ]
        );
        assert_eq!(sets[&2].len(), 1);
        assert_eq!(sets[&2][0].updated_at, Timestamp(8));
        for bad in ["", "1,2,3,,", "1,2,3,,,4,5", "1,x,3,,,4"] {
            assert!(unpack(bad).is_err(), "{bad:?}");
        }
        let unknown = common::sets_in_name_order([unpack("1,9,1,,,1")], &keys);
        assert!(matches!(unknown, Err(StoreError::Conflict { .. })));
    }
}
