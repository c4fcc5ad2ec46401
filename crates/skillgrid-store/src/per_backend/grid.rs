//! The console's grid (see [`Store::agent_grid`]): the organization's active skills, a page of
//! agents, then their assignments, three statements in one snapshot whatever the page. Pages are keyset pages on
//! the sort column and the agent's key, never an OFFSET, so the last page of 10,000 agents
//! costs what the first does. The ids of every agent a filter matches (what the console's
//! bulk changes select) are read with the same filter, by keyset too.

use super::{begin_snapshot, grid_held, Db, AGENT_VERSION};
use crate::rows;
use crate::*;
use sqlx::QueryBuilder;

pub(super) async fn page(
    store: &super::This,
    org: OrgId,
    f: &GridFilter,
    at: Option<GridCursor>,
    limit: u32,
) -> Result<GridPage> {
    let mut tx = begin_snapshot(store).await?;
    let mut held: Vec<(i64, Uuid, String)> = sqlx::query_as(
        "SELECT s.id, s.uuid, s.name FROM skills s
         WHERE s.org_id = (SELECT id FROM orgs WHERE uuid = $1) AND s.active = $2",
    )
    .bind(org.get())
    .bind(true)
    .fetch_all(&mut *tx)
    .await?;
    held.sort_by_cached_key(|(_, _, name)| name.to_lowercase());
    let columns: HashMap<i64, usize> = held
        .iter()
        .enumerate()
        .map(|(at, (key, ..))| (*key, at))
        .collect();
    let skills: Vec<CatalogSkill> = held
        .into_iter()
        .map(|(_, id, name)| CatalogSkill {
            id: id.into(),
            name,
            active: true,
        })
        .collect();
    let col = sort_column(f.sort);
    let mut q = matching(
        &format!("{}, {AGENT_VERSION} AS version", rows::AGENT_COLS),
        org,
        f,
    );
    let back = matches!(at, Some(GridCursor::Before(_)));
    if let Some(at) = at {
        let (pk, op) = match at {
            GridCursor::After(pk) => (pk, ">"),
            GridCursor::Before(pk) => (pk, "<"),
        };
        q.push(format!(
            " AND (g.{col}, g.id) {op} (SELECT c.{col}, c.id FROM agents c WHERE c.id = "
        ))
        .push_bind(pk)
        .push(")");
    }
    let dir = if back { "DESC" } else { "ASC" };
    q.push(format!(" ORDER BY g.{col} {dir}, g.id {dir} LIMIT "))
        .push_bind(limit as i64 + 1);
    let mut agents: Vec<rows::GridAgent> = q.build_query_as().fetch_all(&mut *tx).await?;
    let more = agents.len() > limit as usize;
    agents.truncate(limit as usize);
    if back {
        agents.reverse();
    }
    let first = agents.first().map(|a| a.agent.id);
    let last = agents.last().map(|a| a.agent.id);
    let (next, previous) = match at {
        None => (last.filter(|_| more), None),
        Some(GridCursor::After(_)) => (last.filter(|_| more), first),
        Some(GridCursor::Before(_)) => (last, first.filter(|_| more)),
    };

    let mut by_agent: HashMap<i64, Vec<(SkillId, i64)>> = HashMap::with_capacity(agents.len());
    if !agents.is_empty() {
        // By key: no join to the skills, no UUID in each of up to 10,000 assignments. The
        // skills not among the columns are the inactive ones, left out.
        let keys: Vec<i64> = agents.iter().map(|a| a.agent.id).collect();
        for (agent, skill, proficiency) in grid_held(&mut tx, &keys).await? {
            if let Some(&at) = columns.get(&skill) {
                by_agent
                    .entry(agent)
                    .or_default()
                    .push((skills[at].id, proficiency));
            }
        }
    }
    tx.commit().await?;

    let rows = agents
        .into_iter()
        .map(|a| GridRow {
            skills: by_agent.remove(&a.agent.id).unwrap_or_default(),
            version: a.version,
            agent: a.agent.into(),
        })
        .collect();
    Ok(GridPage {
        skills,
        rows,
        next,
        previous,
    })
}

/// The agents `f` matches in the grid's order, from after the agent with the key `after`:
/// at most `limit` ids with their names, and the key to go on after when more match.
pub(super) async fn ids(
    store: &super::This,
    org: OrgId,
    f: &GridFilter,
    after: Option<i64>,
    limit: u32,
) -> Result<GridIds> {
    let col = sort_column(f.sort);
    let mut q = matching("g.id, g.uuid, g.name", org, f);
    if let Some(pk) = after {
        q.push(format!(
            " AND (g.{col}, g.id) > (SELECT c.{col}, c.id FROM agents c WHERE c.id = "
        ))
        .push_bind(pk)
        .push(")");
    }
    q.push(format!(" ORDER BY g.{col}, g.id LIMIT "))
        .push_bind(limit as i64 + 1);
    let mut found: Vec<(i64, Uuid, String)> = q.build_query_as().fetch_all(&store.read).await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    Ok(GridIds {
        next: found.last().map(|(pk, ..)| *pk).filter(|_| more),
        agents: found
            .into_iter()
            .map(|(_, id, name)| (id.into(), name))
            .collect(),
    })
}

fn sort_column(sort: GridSort) -> &'static str {
    match sort {
        GridSort::Name => "name",
        GridSort::Email => "email_key",
    }
}

/// `SELECT cols FROM agents g WHERE …`: the agents of `org` that `f` lets through (its sort
/// and any paging are the caller's).
fn matching<'a>(cols: &str, org: OrgId, f: &'a GridFilter) -> QueryBuilder<'a, Db> {
    let mut q = QueryBuilder::<Db>::new(format!(
        "SELECT {cols} FROM agents g WHERE g.org_id = (SELECT id FROM orgs WHERE uuid = "
    ));
    q.push_bind(org.get()).push(")");
    if let Some(search) = &f.search {
        let pattern = format!("%{}%", like_escaped(&search.to_lowercase()));
        q.push(" AND (lower(g.name) LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR g.email_key LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(active) = f.active {
        q.push(" AND g.active = ").push_bind(active);
    }
    if let Some(skill) = f.skill {
        // The skill's key looked up once, and each agent, in the grid's order, probed for its
        // assignment of that skill by the primary key until the page is full. `LIMIT 1
        // OFFSET 0` keeps PostgreSQL from turning the EXISTS into a join: as a join it read
        // every holder of the skill (at a level: nested over them, 130 ms), where the probes
        // cost 1–5 ms on a page of 10,000 agents (up to 50 ms for a skill no agent holds,
        // which probes them all).
        q.push(
            " AND EXISTS (SELECT 1 FROM assignments a WHERE a.agent_id = g.id
              AND a.skill_id = (SELECT s.id FROM skills s WHERE s.uuid = ",
        )
        .push_bind(skill.get())
        .push(" AND s.active = ")
        .push_bind(true)
        .push(")");
        if let Some((low, high)) = f.proficiency {
            q.push(" AND a.proficiency BETWEEN ")
                .push_bind(low)
                .push(" AND ")
                .push_bind(high);
        }
        q.push(" LIMIT 1 OFFSET 0)");
    } else if f.proficiency.is_some() {
        q.push(
            " AND EXISTS (SELECT 1 FROM assignments a JOIN skills s ON s.id = a.skill_id
              WHERE a.agent_id = g.id AND s.active = ",
        )
        .push_bind(true);
        if let Some((low, high)) = f.proficiency {
            q.push(" AND a.proficiency BETWEEN ")
                .push_bind(low)
                .push(" AND ")
                .push_bind(high);
        }
        q.push(")");
    }
    q
}

/// `s` matched literally by `LIKE … ESCAPE '\'`: its wildcards and the escape itself escaped.
fn like_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
