//! Many agents created or updated at once, matched by email (`Store::upsert_agents`): one
//! transaction that reads the agents the emails name, decides each one's outcome in memory,
//! and writes the new and changed ones with set-based statements (each backend's own, in
//! its `extra.rs`), their entries in the administrative audit trail and their events.

use super::{begin_write, Db};
use crate::common::{key, map_write_err};
use crate::rows::CatalogRow;
use crate::*;
use skillgrid_core::model::UpsertAgent;
use std::collections::HashMap;

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;

pub(super) async fn upsert(
    pool: &Pool,
    org: OrgId,
    agents: &[UpsertAgent],
    dry_run: bool,
    by: &ChangedBy,
) -> Result<Vec<Upserted>> {
    let mut tx = begin_write(pool).await?;
    let org_pk = super::catalog::org_pk(&mut *tx, org).await?;
    let existing = existing(&mut tx, org_pk, agents).await?;
    let outcomes: Vec<(Option<i64>, Upserted)> = agents
        .iter()
        .map(|a| match existing.get(&key(&a.email)) {
            Some((pk, old)) => (Some(*pk), outcome(Some(old), a, by.now)),
            None => (None, outcome(None, a, by.now)),
        })
        .collect();
    if dry_run {
        // Nothing is kept: the transaction only held the agents still while they were read.
        tx.rollback().await?;
        return Ok(outcomes.into_iter().map(|(_, o)| o).collect());
    }
    let mut created = Vec::new();
    let mut updated = Vec::new();
    let mut trail: Vec<(Uuid, Option<AdminState>, AdminState)> = Vec::new();
    for (pk, o) in &outcomes {
        match (pk, o) {
            (None, Upserted::Created(a)) => {
                created.push(a);
                trail.push((a.id.get(), None, a.audited()));
            }
            (Some(pk), Upserted::Updated(a)) => {
                updated.push((*pk, a));
                let before = existing.get(&key(&a.email)).map(|(_, old)| old.audited());
                trail.push((a.id.get(), before, a.audited()));
            }
            _ => {}
        }
    }
    super::extra::insert_agents(&mut tx, org_pk, &created, by.now)
        .await
        .map_err(map_write_err)?;
    super::extra::update_agents(&mut tx, &updated, by.now)
        .await
        .map_err(map_write_err)?;
    super::admin_trail::record_many(&mut tx, org_pk, &trail, by).await?;
    tx.commit().await?;
    Ok(outcomes.into_iter().map(|(_, o)| o).collect())
}

/// The organization's agents the emails of `agents` name, by lower-case email, with their
/// keys; locked until the transaction ends (where the backend locks rows).
async fn existing(
    conn: &mut Conn,
    org_pk: i64,
    agents: &[UpsertAgent],
) -> Result<HashMap<String, (i64, AgentRecord)>> {
    let keys: Vec<String> = agents.iter().map(|a| key(&a.email)).collect();
    let rows = super::extra::agents_by_email(conn, org_pk, &keys).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let pk = row.pk();
        let agent = AgentRecord::from(row);
        out.insert(key(&agent.email), (pk, agent));
    }
    Ok(out)
}

/// What upserting `new` does to the agent `old` with its email (`None`: there is none).
fn outcome(old: Option<&AgentRecord>, new: &UpsertAgent, now: Timestamp) -> Upserted {
    let Some(old) = old else {
        return Upserted::Created(AgentRecord {
            id: AgentId::new(Uuid::now_v7()),
            email: new.email.clone(),
            name: new.name.clone(),
            external_id: new.external_id.clone().unwrap_or_default(),
            active: new.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        });
    };
    let after = AgentRecord {
        email: new.email.clone(),
        name: new.name.clone(),
        external_id: new
            .external_id
            .clone()
            .unwrap_or_else(|| old.external_id.clone()),
        active: new.active.unwrap_or(old.active),
        ..old.clone()
    };
    let same = after.email == old.email
        && after.name == old.name
        && after.external_id == old.external_id
        && after.active == old.active;
    if same {
        Upserted::Unchanged(old.clone())
    } else {
        Upserted::Updated(AgentRecord {
            updated_at: now,
            ..after
        })
    }
}
