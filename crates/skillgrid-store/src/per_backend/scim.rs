//! What SCIM keeps of its Users beyond the agents: the userName and profile an identity
//! provider sent, and whether it deleted ("retired") the agent.

use super::{begin_for_org, catalog, write_inside, Db};
use crate::common::{key, map_write_err};
use crate::*;

type Pool = sqlx::Pool<Db>;

const COLS: &str = "SELECT a.uuid, s.user_name, s.profile, s.retired_at IS NOT NULL AS retired
    FROM scim_users s JOIN agents a ON a.id = s.agent_id
    WHERE s.org_id = (SELECT id FROM orgs WHERE uuid = $1)";

#[derive(sqlx::FromRow)]
struct Row {
    uuid: Uuid,
    user_name: String,
    profile: String,
    retired: bool,
}

impl From<Row> for ScimUserRecord {
    fn from(r: Row) -> Self {
        ScimUserRecord {
            agent_id: r.uuid.into(),
            user_name: r.user_name,
            profile: r.profile,
            retired: r.retired,
        }
    }
}

pub(super) async fn all(pool: &Pool, org: OrgId) -> Result<Vec<ScimUserRecord>> {
    let rows: Vec<Row> = sqlx::query_as(COLS).bind(org.get()).fetch_all(pool).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub(super) async fn of_agent(
    pool: &Pool,
    org: OrgId,
    agent: AgentId,
) -> Result<Option<ScimUserRecord>> {
    let row: Option<Row> = sqlx::query_as(&format!("{COLS} AND a.uuid = $2"))
        .bind(org.get())
        .bind(agent.get())
        .fetch_optional(pool)
        .await?;
    Ok(row.map(Into::into))
}

pub(super) async fn named(
    pool: &Pool,
    org: OrgId,
    user_name: &str,
) -> Result<Option<ScimUserRecord>> {
    let row: Option<Row> = sqlx::query_as(&format!("{COLS} AND s.user_name_key = $2"))
        .bind(org.get())
        .bind(key(user_name))
        .fetch_optional(pool)
        .await?;
    Ok(row.map(Into::into))
}

/// See [`Store::scim_write_user`]: the agent, its skills and what SCIM keeps of it, in one
/// transaction that holds the organization's lock as a skill-set write does.
pub(super) async fn write_user(
    pool: &Pool,
    org: OrgId,
    ctx: &WriteContext,
    by: &ChangedBy,
    w: &ScimUserWrite<'_>,
) -> Result<ScimUserWritten> {
    let (mut tx, org_pk) = begin_for_org(pool, org).await?;
    let id = match w.agent {
        ScimAgent::New(new) => {
            let a: AgentRecord = catalog::create_in(&mut tx, org, org_pk, new, by).await?;
            a.id
        }
        ScimAgent::Existing(id) => id,
    };
    let agent: AgentRecord =
        catalog::update_in(&mut tx, org, Some(org_pk), id, w.patch, by).await?;
    let mut skills = None;
    if let Some((write, if_match)) = w.skills {
        let item = AgentWrite {
            agent_id: id,
            write: write.clone(),
            if_match,
        };
        let mut result = write_inside(&mut tx, org, org_pk, ctx, &[item], w.opts, true).await?;
        let outcome = result.items.pop();
        if !matches!(outcome, Some(ItemOutcome::Applied { .. })) {
            tx.rollback().await?;
            return Ok(ScimUserWritten {
                agent,
                skills: outcome,
            });
        }
        skills = outcome;
    }
    sqlx::query(
        "INSERT INTO scim_users (agent_id, org_id, user_name, user_name_key, profile, retired_at)
         SELECT a.id, a.org_id, $3, $4, $5, $6 FROM agents a WHERE a.uuid = $1 AND a.org_id = $2
         ON CONFLICT (agent_id) DO UPDATE SET user_name = excluded.user_name,
             user_name_key = excluded.user_name_key, profile = excluded.profile,
             retired_at = excluded.retired_at",
    )
    .bind(id.get())
    .bind(org_pk)
    .bind(w.user_name)
    .bind(key(w.user_name))
    .bind(w.profile)
    .bind(w.retired.map(|t| t.0))
    .execute(&mut *tx)
    .await
    .map_err(map_write_err)?;
    tx.commit().await?;
    Ok(ScimUserWritten { agent, skills })
}

/// How long the client's tokens last, if it has its own lifetime.
pub(super) async fn token_lifetime(pool: &Pool, client: ClientId) -> Result<Option<i64>> {
    let v: Option<Option<i64>> =
        sqlx::query_scalar("SELECT token_lifetime_secs FROM api_clients WHERE uuid = $1")
            .bind(client.get())
            .fetch_optional(pool)
            .await?;
    Ok(v.flatten())
}

pub(super) async fn set_token_lifetime(
    pool: &Pool,
    org: OrgId,
    client: ClientId,
    seconds: Option<i64>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE api_clients SET token_lifetime_secs = $1
         WHERE uuid = $2 AND org_id = (SELECT id FROM orgs WHERE uuid = $3)",
    )
    .bind(seconds)
    .bind(client.get())
    .bind(org.get())
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
