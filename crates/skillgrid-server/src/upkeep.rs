//! Pruning what grows with traffic: audit entries past their organization's
//! `auditRetentionDays` (of assignments, and of skills, agents, settings, console users and
//! API clients), events past the longer of that and three days (a webhook delivery is retried
//! for 24 hours; an organization that keeps its audit trail forever keeps its events too), and
//! idempotency keys past their 24 hours. Webhook delivery attempts are kept as long as events.
//!
//! Each round deletes in small batches, one short transaction each, with a pause between
//! them, so that writes queued meanwhile (SQLite has one writer) wait for one batch at most.

use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{DynStore, EVENT_RETENTION_MIN_MS, IDEMPOTENCY_TTL_MS};
use std::time::Duration;

/// Rows deleted per transaction.
pub const BATCH: u32 = 1_000;
/// The pause between two batches.
const PAUSE: Duration = Duration::from_millis(20);
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What one round deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Audit rows (one agent's entries of one write each).
    pub audit_rows: u64,
    /// Entries of the trails of skills, agents, settings, console users and API clients.
    pub admin_entries: u64,
    /// Events of the outbox.
    pub events: u64,
    /// Attempts to deliver events to webhooks.
    pub deliveries: u64,
    pub idempotency_keys: u64,
}

/// One round at `now`: every organization's expired audit rows, then expired idempotency keys.
pub async fn prune(store: &DynStore, now: Timestamp) -> anyhow::Result<Pruned> {
    let mut pruned = Pruned::default();
    for org in store.list_orgs().await? {
        let Some(days) = org.settings.audit_retention_days else {
            continue;
        };
        let audit_before = Timestamp(now.0 - i64::from(days) * DAY_MS);
        // Events first: an event refers to its audit row, which takes the entries along to
        // the event when it goes first (when events are kept longer).
        let before = Timestamp(audit_before.0.min(now.0 - EVENT_RETENTION_MIN_MS));
        pruned.events += batches(|| store.prune_events(org.id, before, BATCH)).await?;
        pruned.deliveries +=
            batches(|| store.prune_webhook_deliveries(org.id, before, BATCH)).await?;
        let before = audit_before;
        pruned.audit_rows += batches(|| store.prune_audit(org.id, before, BATCH)).await?;
        pruned.admin_entries += batches(|| store.prune_admin_trails(org.id, before, BATCH)).await?;
    }
    let before = Timestamp(now.0 - IDEMPOTENCY_TTL_MS);
    pruned.idempotency_keys = batches(|| store.prune_idempotency(before, BATCH)).await?;
    Ok(pruned)
}

/// Runs `batch` until it deletes less than a whole batch; the rows deleted.
async fn batches<F, Fut>(mut batch: F) -> anyhow::Result<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = skillgrid_store::Result<u64>>,
{
    let mut total = 0;
    loop {
        let n = batch().await?;
        total += n;
        if n < u64::from(BATCH) {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Prunes now and then every `every`, until the returned task is aborted.
pub fn spawn(store: DynStore, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match prune(&store, Timestamp::now()).await {
                Ok(p) => {
                    metrics::counter!("skillgrid_audit_rows_pruned_total").increment(p.audit_rows);
                    metrics::counter!("skillgrid_admin_audit_entries_pruned_total")
                        .increment(p.admin_entries);
                    metrics::counter!("skillgrid_events_pruned_total").increment(p.events);
                    metrics::counter!("skillgrid_webhook_deliveries_pruned_total")
                        .increment(p.deliveries);
                    metrics::counter!("skillgrid_idempotency_keys_pruned_total")
                        .increment(p.idempotency_keys);
                    if p != Pruned::default() {
                        tracing::info!(
                            audit_rows = p.audit_rows,
                            admin_entries = p.admin_entries,
                            events = p.events,
                            deliveries = p.deliveries,
                            idempotency_keys = p.idempotency_keys,
                            "pruned expired rows"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "pruning failed; retrying later")
                }
            }
        }
    })
}
