//! Which agents SCIM has deleted ("retired"): deactivated agents it no longer shows.

use super::Db;
use crate::*;

type Pool = sqlx::Pool<Db>;

const OF_ORG: &str = "SELECT a.uuid FROM scim_retired r JOIN agents a ON a.id = r.agent_id
    WHERE a.org_id = (SELECT id FROM orgs WHERE uuid = $1)";

pub(super) async fn retired(pool: &Pool, org: OrgId) -> Result<Vec<AgentId>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(OF_ORG)
        .bind(org.get())
        .fetch_all(pool)
        .await?;
    Ok(ids.into_iter().map(AgentId::from).collect())
}

pub(super) async fn is_retired(pool: &Pool, org: OrgId, agent: AgentId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM scim_retired r JOIN agents a ON a.id = r.agent_id
         WHERE a.uuid = $1 AND a.org_id = (SELECT id FROM orgs WHERE uuid = $2)",
    )
    .bind(agent.get())
    .bind(org.get())
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

pub(super) async fn set_retired(
    pool: &Pool,
    org: OrgId,
    agent: AgentId,
    retired: bool,
) -> Result<()> {
    let q = if retired {
        sqlx::query(
            "INSERT INTO scim_retired (agent_id, retired_at)
             SELECT id, $3 FROM agents
             WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2)
             ON CONFLICT (agent_id) DO NOTHING",
        )
        .bind(agent.get())
        .bind(org.get())
        .bind(Timestamp::now().0)
    } else {
        sqlx::query(
            "DELETE FROM scim_retired WHERE agent_id = (SELECT id FROM agents
             WHERE uuid = $1 AND org_id = (SELECT id FROM orgs WHERE uuid = $2))",
        )
        .bind(agent.get())
        .bind(org.get())
    };
    q.execute(pool).await?;
    Ok(())
}
