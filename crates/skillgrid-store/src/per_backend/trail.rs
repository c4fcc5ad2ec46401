//! Reading the audit trail: an agent's entries and an organization's. The backends store
//! it differently, so each names its own statements (`AGENT_AUDIT` and `ORG_AUDIT`); what is read and how it is paged is the same.

use super::{Db, AGENT_AUDIT, FEED, ORG_AUDIT};
use crate::audit::{self, Order};
use crate::*;

type Pool = sqlx::Pool<Db>;

/// An agent's audit entries, newest first, before position `page.after`.
pub(super) async fn history(
    pool: &Pool,
    org: OrgId,
    agent: AgentId,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let agent_pk = super::catalog::agent_pk(pool, org, agent).await?;
    let rows = sqlx::query(AGENT_AUDIT)
        .bind(agent_pk)
        .bind(page.after.map_or(i64::MAX, audit::row_of))
        .bind(audit::rows_for(page.limit))
        .fetch_all(pool)
        .await?;
    let rows = rows.iter().map(audit::stored_set);
    audit::page(rows, page.after, page.limit, Order::Descending)
}

/// The organization's audit entries, oldest first, after position `page.after`.
pub(super) async fn audit_log(
    pool: &Pool,
    org: OrgId,
    since: Option<Timestamp>,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let rows = sqlx::query(ORG_AUDIT)
        .bind(org.get())
        .bind(page.after.map_or(0, audit::row_of))
        .bind(since.map_or(i64::MIN, |t| t.0))
        .bind(audit::rows_for(page.limit))
        .fetch_all(pool)
        .await?;
    let rows = rows.iter().map(audit::stored_set);
    audit::page(rows, page.after, page.limit, Order::Ascending)
}

/// The organization's audit entries as `f` filters them, newest first, before position
/// `page.after`: one statement, its conditions only those the filter sets, so that an agent's
/// feed reads by the index of rows by agent and an organization's by the index by
/// organization. The skill is checked in the database on the rows (which may name it in an
/// entry of another skill) and exactly on their entries.
pub(super) async fn feed(
    pool: &Pool,
    org: OrgId,
    f: &AuditFilter,
    page: PageRequest,
) -> Result<Paged<AuditRecord>> {
    let mut sql = format!(
        "{} WHERE s.org_id = (SELECT id FROM orgs WHERE uuid = $1) AND s.id <= $2",
        FEED.select
    );
    let mut n = 2;
    let mut param = || {
        n += 1;
        format!("${n}")
    };
    if f.agent.is_some() {
        let p = param();
        sql += &format!(" AND s.agent_id = (SELECT g.id FROM agents g WHERE g.uuid = {p})");
    }
    if f.client.is_some() {
        sql += &format!(" AND {} = {}", FEED.client, param());
    }
    if f.from.is_some() {
        sql += &format!(" AND {} >= {}", FEED.at, param());
    }
    if f.to.is_some() {
        sql += &format!(" AND {} <= {}", FEED.at, param());
    }
    if f.skill.is_some() {
        let (bytes, hex) = (param(), param());
        sql += " AND ";
        sql += &FEED
            .names_skill
            .replace("{bytes}", &bytes)
            .replace("{hex}", &hex);
    }
    let rows = audit::rows_for(page.limit);
    sql += &format!(" ORDER BY s.id DESC LIMIT {}", param());
    let mut q = sqlx::query(&sql)
        .bind(org.get())
        .bind(page.after.map_or(i64::MAX, audit::row_of));
    if let Some(agent) = f.agent {
        q = q.bind(agent.get());
    }
    if let Some(client) = f.client {
        q = q.bind(client.get());
    }
    for t in [f.from, f.to].into_iter().flatten() {
        q = q.bind(t.0);
    }
    if let Some(skill) = f.skill {
        q = q
            .bind(skill.get().as_bytes().to_vec())
            .bind(skill.get().simple().to_string());
    }
    let found = q.bind(rows).fetch_all(pool).await?;
    let full = found.len() as i64 == rows;
    let found = found.iter().map(audit::stored_set);
    audit::feed_page(found, full, page.after, f.skill, page.limit)
}
