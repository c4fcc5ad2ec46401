//! SCIM Groups and the skills they give their members (migration 0016, rules in
//! `crate::layers`). A change of a group (its members, its skills, its deletion) and the
//! resulting change of every member's skills are one transaction, which holds the
//! organization's lock exclusively: no skill-set write runs beside it, so the layers it reads
//! are those it writes over. Members' skills are written by the skill-set write itself, with
//! their audit entries and `assignment.changed` events.

use super::{begin_org_exclusive, write_inside, Db};
use crate::common::map_write_err;
use crate::layers::{self, direct};
use crate::*;
use skillgrid_core::model::{Assignment, SkillSetWrite};
use std::collections::{BTreeMap, BTreeSet};

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;

const GROUP_COLS: &str = "SELECT g.id, g.uuid, g.display_name, g.external_id, g.version,
    g.created_at, g.updated_at FROM scim_groups g
    WHERE g.org_id = (SELECT id FROM orgs WHERE uuid = $1)";

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: i64,
    uuid: Uuid,
    display_name: String,
    external_id: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

/// Groups with their members and skills, read on `conn`.
async fn complete(conn: &mut Conn, rows: Vec<GroupRow>) -> Result<Vec<ScimGroupRecord>> {
    let mut out = Vec::with_capacity(rows.len());
    for g in rows {
        let members: Vec<(Uuid, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT a.uuid, m.display, m.kind FROM scim_group_members m
             JOIN agents a ON a.id = m.agent_id WHERE m.group_id = $1 ORDER BY a.id",
        )
        .bind(g.id)
        .fetch_all(&mut *conn)
        .await?;
        let skills: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT s.uuid, gs.proficiency FROM scim_group_skills gs
             JOIN skills s ON s.id = gs.skill_id WHERE gs.group_id = $1 ORDER BY s.name_key, s.uuid",
        )
        .bind(g.id)
        .fetch_all(&mut *conn)
        .await?;
        out.push(ScimGroupRecord {
            id: g.uuid,
            display_name: g.display_name,
            external_id: g.external_id,
            version: g.version,
            created_at: Timestamp(g.created_at),
            updated_at: Timestamp(g.updated_at),
            members: members
                .into_iter()
                .map(|(u, display, kind)| ScimMember {
                    agent: u.into(),
                    display,
                    kind,
                })
                .collect(),
            skills: skills.into_iter().map(|(u, p)| (u.into(), p)).collect(),
        });
    }
    Ok(out)
}

pub(super) async fn all(pool: &Pool, org: OrgId) -> Result<Vec<ScimGroupRecord>> {
    let mut conn = pool.acquire().await?;
    let rows: Vec<GroupRow> = sqlx::query_as(&format!("{GROUP_COLS} ORDER BY g.id"))
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    complete(&mut conn, rows).await
}

pub(super) async fn one(pool: &Pool, org: OrgId, id: Uuid) -> Result<ScimGroupRecord> {
    let mut conn = pool.acquire().await?;
    let rows: Vec<GroupRow> = sqlx::query_as(&format!("{GROUP_COLS} AND g.uuid = $2"))
        .bind(org.get())
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    complete(&mut conn, rows)
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

pub(super) async fn of_agent(
    pool: &Pool,
    org: OrgId,
    agent: AgentId,
) -> Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT g.uuid, g.display_name FROM scim_group_members m
         JOIN scim_groups g ON g.id = m.group_id JOIN agents a ON a.id = m.agent_id
         WHERE a.uuid = $1 AND a.org_id = (SELECT id FROM orgs WHERE uuid = $2) ORDER BY g.id",
    )
    .bind(agent.get())
    .bind(org.get())
    .fetch_all(pool)
    .await?)
}

pub(super) async fn agent_layers(pool: &Pool, org: OrgId, agent: AgentId) -> Result<AgentLayers> {
    let covered: Vec<(Uuid, Option<i64>)> = sqlx::query_as(
        "SELECT s.uuid, l.direct FROM skill_layers l JOIN skills s ON s.id = l.skill_id
         JOIN agents a ON a.id = l.agent_id
         WHERE a.uuid = $1 AND a.org_id = (SELECT id FROM orgs WHERE uuid = $2)",
    )
    .bind(agent.get())
    .bind(org.get())
    .fetch_all(pool)
    .await?;
    let groups: Vec<(Uuid, String, Uuid, i64)> = sqlx::query_as(
        "SELECT g.uuid, g.display_name, s.uuid, gs.proficiency FROM scim_group_members m
         JOIN agents a ON a.id = m.agent_id JOIN scim_groups g ON g.id = m.group_id
         JOIN scim_group_skills gs ON gs.group_id = g.id JOIN skills s ON s.id = gs.skill_id
         WHERE a.uuid = $1 AND a.org_id = (SELECT id FROM orgs WHERE uuid = $2)
         ORDER BY g.id",
    )
    .bind(agent.get())
    .bind(org.get())
    .fetch_all(pool)
    .await?;
    Ok(AgentLayers {
        covered: covered.into_iter().map(|(s, d)| (s.into(), d)).collect(),
        groups: groups
            .into_iter()
            .map(|(g, n, s, p)| (g, n, s.into(), p))
            .collect(),
    })
}

/// The agents and skills a group change touches (by key, with their ids), and each agent's
/// own assignments of those skills as they were before it.
struct Touched {
    agents: BTreeMap<i64, Uuid>,
    skills: BTreeMap<i64, Uuid>,
    direct: BTreeMap<(i64, i64), Option<Assignment>>,
}

/// The members (by key) of group `g`, and its skills' keys.
async fn parts_of(conn: &mut Conn, g: i64) -> Result<(Vec<(i64, Uuid)>, Vec<(i64, Uuid)>)> {
    let members = sqlx::query_as(
        "SELECT a.id, a.uuid FROM scim_group_members m JOIN agents a ON a.id = m.agent_id
         WHERE m.group_id = $1",
    )
    .bind(g)
    .fetch_all(&mut *conn)
    .await?;
    let skills = sqlx::query_as(
        "SELECT s.id, s.uuid FROM scim_group_skills gs JOIN skills s ON s.id = gs.skill_id
         WHERE gs.group_id = $1",
    )
    .bind(g)
    .fetch_all(&mut *conn)
    .await?;
    Ok((members, skills))
}

/// Reads what the agents' own assignments of the skills are, before the change.
async fn touched(
    conn: &mut Conn,
    agents: BTreeMap<i64, Uuid>,
    skills: BTreeMap<i64, Uuid>,
) -> Result<Touched> {
    let mut direct = BTreeMap::new();
    if !skills.is_empty() {
        for &a in agents.keys() {
            type Held = (i64, Uuid, Option<i64>, Option<i64>, Option<i64>);
            let held: Vec<Held> = sqlx::query_as(
                "SELECT x.skill_id, s.uuid, x.proficiency, x.effective_at, x.expires_at
                 FROM assignments x JOIN skills s ON s.id = x.skill_id WHERE x.agent_id = $1",
            )
            .bind(a)
            .fetch_all(&mut *conn)
            .await?;
            let layered: Vec<Held> = sqlx::query_as(
                "SELECT l.skill_id, s.uuid, l.direct, l.effective_at, l.expires_at
                 FROM skill_layers l JOIN skills s ON s.id = l.skill_id WHERE l.agent_id = $1",
            )
            .bind(a)
            .fetch_all(&mut *conn)
            .await?;
            // Where a layer exists, it holds the agent's own assignment; elsewhere the
            // assignment is the agent's own.
            for (k, u, p, e, x) in held.into_iter().chain(layered) {
                if skills.contains_key(&k) {
                    direct.insert((a, k), direct_of(u, p, e, x));
                }
            }
        }
    }
    Ok(Touched {
        agents,
        skills,
        direct,
    })
}

fn direct_of(skill: Uuid, p: Option<i64>, e: Option<i64>, x: Option<i64>) -> Option<Assignment> {
    direct(skill.into(), p, e, x)
}

/// After the change: each touched agent's layers of the touched skills, and its effective
/// assignments of them written through the skill-set write.
async fn settle(
    conn: &mut Conn,
    org: OrgId,
    org_pk: i64,
    ctx: &WriteContext,
    t: Touched,
) -> Result<()> {
    if t.skills.is_empty() {
        return Ok(());
    }
    let mut items = Vec::new();
    for (&a, &agent) in &t.agents {
        let given: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT gs.skill_id, max(gs.proficiency) FROM scim_group_members m
             JOIN scim_group_skills gs ON gs.group_id = m.group_id
             WHERE m.agent_id = $1 GROUP BY gs.skill_id",
        )
        .bind(a)
        .fetch_all(&mut *conn)
        .await?;
        let mut upsert = Vec::new();
        let mut remove = Vec::new();
        for (&k, &skill) in &t.skills {
            let g = given.iter().find(|(s, _)| *s == k).map(|(_, p)| *p);
            let d = t.direct.get(&(a, k)).copied().flatten();
            match g {
                Some(g) => {
                    sqlx::query(
                        "INSERT INTO skill_layers
                           (org_id, agent_id, skill_id, given, direct, effective_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (agent_id, skill_id) DO UPDATE SET given = excluded.given,
                           direct = excluded.direct, effective_at = excluded.effective_at,
                           expires_at = excluded.expires_at",
                    )
                    .bind(org_pk)
                    .bind(a)
                    .bind(k)
                    .bind(g)
                    .bind(d.map(|d| d.proficiency))
                    .bind(d.and_then(|d| d.effective).map(|t| t.0))
                    .bind(d.and_then(|d| d.expires).map(|t| t.0))
                    .execute(&mut *conn)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM skill_layers WHERE agent_id = $1 AND skill_id = $2")
                        .bind(a)
                        .bind(k)
                        .execute(&mut *conn)
                        .await?;
                }
            }
            match layers::effective(skill.into(), g, d) {
                Some(e) => upsert.push(e),
                None => remove.push(skill.into()),
            }
        }
        items.push(AgentWrite {
            agent_id: agent.into(),
            write: SkillSetWrite::Merge { upsert, remove },
            if_match: None,
        });
    }
    let result = write_inside(conn, org, org_pk, ctx, &items, layers::SETTLE, false).await?;
    if let Some(o) = result
        .items
        .iter()
        .find(|o| !matches!(o, ItemOutcome::Applied { .. }))
    {
        return Err(StoreError::Other(anyhow::anyhow!(
            "a group's member's skills were not written: {o:?}"
        )));
    }
    Ok(())
}

/// The keys of the agents and skills of the organization that `save` names; others are left
/// out.
async fn keys_of<'a>(
    conn: &mut Conn,
    org_pk: i64,
    save: &ScimGroupSave<'a>,
) -> Result<(Vec<(i64, Uuid, &'a ScimMember)>, Vec<(i64, Uuid, i64)>)> {
    let mut members: Vec<(i64, Uuid, &ScimMember)> = Vec::with_capacity(save.members.len());
    for member in save.members {
        let m = &member.agent;
        let pk: Option<i64> =
            sqlx::query_scalar("SELECT id FROM agents WHERE uuid = $1 AND org_id = $2")
                .bind(m.get())
                .bind(org_pk)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(pk) = pk {
            if !members.iter().any(|(p, _, _)| *p == pk) {
                members.push((pk, m.get(), member));
            }
        }
    }
    let mut skills = Vec::with_capacity(save.skills.len());
    for (s, p) in save.skills {
        let pk: Option<i64> =
            sqlx::query_scalar("SELECT id FROM skills WHERE uuid = $1 AND org_id = $2")
                .bind(s.get())
                .bind(org_pk)
                .fetch_optional(&mut *conn)
                .await?;
        match pk {
            Some(pk) => skills.push((pk, s.get(), *p)),
            None => return Err(StoreError::Conflict(Conflict::SkillGone)),
        }
    }
    Ok((members, skills))
}

/// See [`Store::scim_save_group`].
pub(super) async fn save(
    pool: &Pool,
    org: OrgId,
    ctx: &WriteContext,
    save: &ScimGroupSave<'_>,
) -> Result<ScimGroupRecord> {
    let (mut tx, org_pk) = begin_org_exclusive(pool, org).await?;
    let found: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, version FROM scim_groups WHERE uuid = $1 AND org_id = $2")
            .bind(save.id)
            .bind(org_pk)
            .fetch_optional(&mut *tx)
            .await?;
    let (members, skills) = keys_of(&mut tx, org_pk, save).await?;
    let name_key = crate::common::key(save.display_name);
    let (g, before) = match (save.create, found) {
        (true, Some(_)) => return Err(StoreError::Conflict(Conflict::Taken(Unique::Key))),
        (false, None) => return Err(StoreError::NotFound),
        (false, Some((_, v))) if save.if_version.is_some_and(|w| w != v) => {
            return Err(StoreError::Conflict(Conflict::GroupChanged))
        }
        (true, None) => {
            let g: i64 = sqlx::query_scalar(
                "INSERT INTO scim_groups
                   (uuid, org_id, display_name, display_key, external_id, version, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING id",
            )
            .bind(save.id)
            .bind(org_pk)
            .bind(save.display_name)
            .bind(&name_key)
            .bind(save.external_id)
            .bind(ctx.now.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_write_err)?;
            (g, (Vec::new(), Vec::new()))
        }
        (false, Some((g, _))) => {
            sqlx::query(
                "UPDATE scim_groups SET display_name = $1, display_key = $2, external_id = $3,
                   version = version + 1, updated_at = $4 WHERE id = $5",
            )
            .bind(save.display_name)
            .bind(&name_key)
            .bind(save.external_id)
            .bind(ctx.now.0)
            .bind(g)
            .execute(&mut *tx)
            .await
            .map_err(map_write_err)?;
            (g, parts_of(&mut tx, g).await?)
        }
    };
    let (old_members, old_skills) = before;
    let old_given: BTreeSet<(i64, i64)> = {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT skill_id, proficiency FROM scim_group_skills WHERE group_id = $1",
        )
        .bind(g)
        .fetch_all(&mut *tx)
        .await?;
        rows.into_iter().collect()
    };
    let new_given: BTreeSet<(i64, i64)> = skills.iter().map(|(k, _, p)| (*k, *p)).collect();
    // Who is touched: members that joined or left, and, when the group's skills changed, every
    // member; of the skills it gave or gives.
    let old_m: BTreeMap<i64, Uuid> = old_members.into_iter().collect();
    let new_m: BTreeMap<i64, Uuid> = members.iter().map(|(k, u, _)| (*k, *u)).collect();
    let agents: BTreeMap<i64, Uuid> = if old_given == new_given {
        old_m
            .iter()
            .filter(|(k, _)| !new_m.contains_key(k))
            .chain(new_m.iter().filter(|(k, _)| !old_m.contains_key(k)))
            .map(|(k, u)| (*k, *u))
            .collect()
    } else {
        old_m
            .iter()
            .chain(new_m.iter())
            .map(|(k, u)| (*k, *u))
            .collect()
    };
    let all_skills: BTreeMap<i64, Uuid> = old_skills
        .into_iter()
        .chain(skills.iter().map(|(k, u, _)| (*k, *u)))
        .collect();
    let t = touched(&mut tx, agents, all_skills).await?;
    sqlx::query("DELETE FROM scim_group_members WHERE group_id = $1")
        .bind(g)
        .execute(&mut *tx)
        .await?;
    for (a, _, m) in &members {
        sqlx::query(
            "INSERT INTO scim_group_members (group_id, agent_id, display, kind)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(g)
        .bind(*a)
        .bind(m.display.as_deref())
        .bind(m.kind.as_deref())
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM scim_group_skills WHERE group_id = $1")
        .bind(g)
        .execute(&mut *tx)
        .await?;
    for (k, _, p) in &skills {
        sqlx::query(
            "INSERT INTO scim_group_skills (group_id, skill_id, proficiency) VALUES ($1, $2, $3)",
        )
        .bind(g)
        .bind(*k)
        .bind(*p)
        .execute(&mut *tx)
        .await?;
    }
    settle(&mut tx, org, org_pk, ctx, t).await?;
    tx.commit().await?;
    one(pool, org, save.id).await
}

/// See [`Store::scim_delete_group`].
pub(super) async fn delete(
    pool: &Pool,
    org: OrgId,
    ctx: &WriteContext,
    id: Uuid,
    if_version: Option<i64>,
) -> Result<()> {
    let (mut tx, org_pk) = begin_org_exclusive(pool, org).await?;
    let found: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, version FROM scim_groups WHERE uuid = $1 AND org_id = $2")
            .bind(id)
            .bind(org_pk)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((g, v)) = found else {
        return Err(StoreError::NotFound);
    };
    if if_version.is_some_and(|w| w != v) {
        return Err(StoreError::Conflict(Conflict::GroupChanged));
    }
    let (members, skills) = parts_of(&mut tx, g).await?;
    let t = touched(
        &mut tx,
        members.into_iter().collect(),
        skills.into_iter().collect(),
    )
    .await?;
    for table in ["scim_group_members", "scim_group_skills"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE group_id = $1"))
            .bind(g)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM scim_groups WHERE id = $1")
        .bind(g)
        .execute(&mut *tx)
        .await?;
    settle(&mut tx, org, org_pk, ctx, t).await?;
    tx.commit().await?;
    Ok(())
}
