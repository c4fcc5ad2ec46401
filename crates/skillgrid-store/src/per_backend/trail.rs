//! Reading the audit trail: an agent's entries and an organization's. The backends store
//! it differently, so each names its own statements (`AGENT_AUDIT` and `ORG_AUDIT`); what is read and how it is paged is the same.

use super::{Db, AGENT_AUDIT, ORG_AUDIT};
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
