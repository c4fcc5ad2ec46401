//! The console's grid (see [`Store::agent_grid`]): a page of agents and then their
//! assignments, two statements in one snapshot whatever the page. Pages are keyset pages on
//! the sort column and the agent's key, never an OFFSET, so the last page of 10,000 agents
//! costs what the first does. The ids of every agent a filter matches (what the console's
//! bulk changes select) are read with the same filter, by keyset too.

use super::{begin_snapshot, Db, AGENT_VERSION, GROUP_HELD_SKILLS, HELD_SKILLS};
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
        // SQLite: one row an agent, its skills in one text. A full page holds 10,000
        // assignments, and sqlx hands each row of SQLite over from its worker thread: as
        // 10,000 rows they cost more than the rest of the page together. PostgreSQL's rows
        // come cheaper than its grouping and formatting of that text: one row an assignment.
        let cols = if GROUP_HELD_SKILLS {
            format!("a.agent_id, {HELD_SKILLS}")
        } else {
            "a.agent_id, s.uuid, a.proficiency".to_string()
        };
        let mut q = QueryBuilder::<Db>::new(format!(
            "SELECT {cols} FROM assignments a
             JOIN skills s ON s.id = a.skill_id WHERE s.active = "
        ));
        q.push_bind(true).push(" AND a.agent_id IN (");
        let mut ids = q.separated(", ");
        for a in &agents {
            ids.push_bind(a.agent.id);
        }
        q.push(")");
        if GROUP_HELD_SKILLS {
            q.push(" GROUP BY a.agent_id");
            let held: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
            for (agent, skills) in held {
                by_agent.insert(agent, held_skills(&skills)?);
            }
        } else {
            let held: Vec<(i64, Uuid, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
            for (agent, skill, proficiency) in held {
                by_agent
                    .entry(agent)
                    .or_default()
                    .push((skill.into(), proficiency));
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
        rows,
        next,
        previous,
    })
}

/// The `skill:proficiency,…` text of `HELD_SKILLS` read back.
fn held_skills(text: &str) -> Result<Vec<(SkillId, i64)>> {
    text.split(',')
        .map(|item| {
            let parsed = item.split_once(':').and_then(|(skill, proficiency)| {
                Some((
                    Uuid::try_parse(skill).ok()?.into(),
                    proficiency.parse().ok()?,
                ))
            });
            parsed.ok_or_else(|| {
                StoreError::Other(anyhow::anyhow!(
                    "an assignment of the grid reads `{item}`, not skill:proficiency"
                ))
            })
        })
        .collect()
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
