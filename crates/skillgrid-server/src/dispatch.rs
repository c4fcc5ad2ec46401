//! The webhook dispatcher: delivers each active endpoint's events, one at a time and in
//! sequence order, from its cursor (`delivered_through`) on.
//!
//! An endpoint is delivered by whoever holds its lease: a process claims a due endpoint in one
//! statement (on PostgreSQL skipping rows another process is claiming), renews the lease while
//! it delivers, and moves the cursor only while it still holds it, so two processes on one
//! database never send one endpoint's attempts at once. Several endpoints are delivered at
//! once, each strictly in order: a failed event is retried (exponential backoff, full jitter)
//! and the events after it wait. The dispatcher wakes after each write request this process
//! answers and every second otherwise (for events other processes committed, and retries
//! come due).

use crate::destination::{PolicyResolver, Refused};
use crate::state::AppState;
use rand::Rng;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_core::webhooks::signing::sign_delivery;
use skillgrid_store::{ClaimedWebhook, DeliveryRecord, EventType, Progress, WebhookChange};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use uuid::Uuid;

/// How the dispatcher behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchOptions {
    /// The first retry's longest delay; each next one doubles, up to [`RETRY_CAP_FACTOR`]
    /// times it.
    pub retry_base: Duration,
    /// How long an event is retried, from its first failure, before the endpoint is disabled.
    pub retry_window: Duration,
    /// Time to connect to an endpoint.
    pub connect_timeout: Duration,
    /// Time for a whole attempt: connecting, sending, and reading the answer.
    pub timeout: Duration,
    /// Endpoints delivered at once.
    pub concurrency: usize,
    /// How often to look for due endpoints when nothing wakes the dispatcher.
    pub poll: Duration,
    /// How long a claim holds an endpoint unless renewed.
    pub lease: Duration,
}

/// The longest retry delay, in retry bases: with the default base of 5 s, an hour.
pub const RETRY_CAP_FACTOR: u32 = 720;
/// Events read and delivered per lease renewal.
const BATCH: u32 = 100;
/// Deliveries recorded together: the cursor and the attempts of a run of deliveries are
/// written once this many have succeeded, or [`RECORD_EVERY`] after the first of them, or when
/// the run pauses (nothing more to send, a failure, a lease to renew). A process that dies in
/// between sends those events again (at least once; the same `webhook-id`).
const RECORD_EVENTS: usize = 50;
const RECORD_EVERY: Duration = Duration::from_millis(200);

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            retry_base: Duration::from_secs(5),
            retry_window: Duration::from_secs(24 * 3600),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            concurrency: 8,
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(30),
        }
    }
}

impl DispatchOptions {
    /// The longest delay before retry number `n` (1: after the first failure): the base
    /// doubled `n - 1` times, at most [`RETRY_CAP_FACTOR`] bases.
    pub fn retry_ceiling(&self, n: u32) -> Duration {
        let doubling = 2u32.saturating_pow(n.saturating_sub(1).min(20));
        self.retry_base * doubling.min(RETRY_CAP_FACTOR)
    }

    /// The delay before retry number `n`: anywhere from 0 to its ceiling (full jitter), so
    /// endpoints failing together do not retry together.
    pub fn retry_delay(&self, n: u32) -> Duration {
        let ceiling = self.retry_ceiling(n).as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=ceiling))
    }
}

/// A running dispatcher.
pub struct Running {
    task: tokio::task::JoinHandle<()>,
    state: AppState,
    owner: String,
}

impl Running {
    /// Stops delivering and lets go of the endpoints held, for another process to take them
    /// at once rather than when their leases run out (an attempt cut short is made again).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        match self.state.store().release_webhook_leases(&self.owner).await {
            Ok(n) => tracing::info!(released = n, "webhook dispatcher stopped"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "releasing webhook leases failed"),
        }
    }
}

/// Starts the dispatcher on `state`'s store; it runs until stopped.
pub fn spawn(state: AppState, options: DispatchOptions) -> anyhow::Result<Running> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .dns_resolver(Arc::new(PolicyResolver(state.webhook_policy())))
        .user_agent(concat!("skillgrid-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let owner = Uuid::now_v7().to_string();
    let d = Arc::new(Dispatcher {
        state: state.clone(),
        http,
        options,
        owner: owner.clone(),
    });
    Ok(Running {
        task: tokio::spawn(d.run()),
        state,
        owner,
    })
}

struct Dispatcher {
    state: AppState,
    http: reqwest::Client,
    options: DispatchOptions,
    /// This process's name in leases.
    owner: String,
}

/// An endpoint's run of deliveries: where its cursor is recorded, and the deliveries since,
/// not recorded yet.
struct Run {
    cursor: i64,
    delivered: Vec<DeliveryRecord>,
    /// When the first of `delivered` succeeded.
    since: Option<Instant>,
}

impl Run {
    fn from(cursor: i64) -> Run {
        Run {
            cursor,
            delivered: Vec::new(),
            since: None,
        }
    }
}

/// What one attempt came to.
enum Outcome {
    Delivered,
    Gone,
    Failed,
}

impl Dispatcher {
    async fn run(self: Arc<Self>) {
        let mut bumps = self.state.events().subscribe(self.state.store());
        let slots = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        // Owned here: when this task is aborted, every delivery it started is too.
        let mut workers = tokio::task::JoinSet::new();
        tracing::info!(owner = %self.owner, "webhook dispatcher started");
        loop {
            bumps.borrow_and_update();
            // Claim while there is a free slot and a due endpoint.
            while let Ok(slot) = slots.clone().try_acquire_owned() {
                let now = Timestamp::now();
                let until = later(now, self.options.lease);
                match self
                    .state
                    .store()
                    .claim_webhook(&self.owner, now, until)
                    .await
                {
                    Ok(Some(claim)) => {
                        let me = self.clone();
                        workers.spawn(async move {
                            let id = claim.webhook.id;
                            if let Err(e) = me.deliver(claim).await {
                                tracing::warn!(webhook = %id, error = format!("{e:#}"),
                                    "delivering to a webhook failed; retrying later");
                            }
                            drop(slot);
                        });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = format!("{e:#}"), "claiming a webhook failed");
                        break;
                    }
                }
            }
            // An endpoint's run that ended frees a slot: there may be more to claim.
            tokio::select! {
                _ = bumps.changed() => {}
                Some(_) = workers.join_next(), if !workers.is_empty() => {}
                _ = tokio::time::sleep(self.options.poll) => {}
            }
        }
    }

    /// Delivers the claimed endpoint's events in order until it has none left, one fails, or
    /// the lease is lost; then lets it go.
    async fn deliver(&self, mut claim: ClaimedWebhook) -> anyhow::Result<()> {
        let store = self.state.store();
        let id = claim.webhook.id;
        let org = claim.webhook.org_id;
        let mut lease_until = later(Timestamp::now(), self.options.lease);
        loop {
            let w = &claim.webhook;
            let types: Option<Vec<EventType>> = if w.event_types.iter().any(|t| t == "*") {
                None
            } else {
                Some(
                    w.event_types
                        .iter()
                        .filter_map(|t| EventType::parse(t))
                        .collect(),
                )
            };
            let from = w.delivered_through;
            let records = store
                .events_after(org, from, BATCH, types.as_deref())
                .await?;
            let complete = records.len() < BATCH as usize;
            let events = crate::routes::events::render_all(&self.state, org, records)
                .await
                .map_err(|_| anyhow::anyhow!("rendering events failed"))?;
            let mut run = Run::from(from);
            for e in &events {
                // Renewed once half of it is gone: an attempt takes less than the other half.
                let half = self.options.lease.as_millis() as i64 / 2;
                if Timestamp::now().0 >= lease_until.0 - half {
                    if !self.record(&claim, &mut run).await? {
                        return Ok(());
                    }
                    let until = later(Timestamp::now(), self.options.lease);
                    match store.renew_webhook_lease(id, &self.owner, until).await? {
                        Some(next) if next.webhook.delivered_through == run.cursor => {
                            claim.webhook = next.webhook;
                            lease_until = until;
                        }
                        _ => return Ok(()),
                    }
                }
                if !self.attempt(&claim, &mut run, e).await? {
                    return Ok(());
                }
                // The next event starts with no retries behind it.
                claim.attempts = 0;
                claim.failing_since = None;
                let due = run.delivered.len() >= RECORD_EVENTS
                    || run.since.is_some_and(|t| t.elapsed() >= RECORD_EVERY);
                if due && !self.record(&claim, &mut run).await? {
                    return Ok(());
                }
            }
            if !self.record(&claim, &mut run).await? {
                return Ok(());
            }
            let cursor = run.cursor;
            // Past the events this endpoint does not take, up to the latest read at claim
            // time: every event up to it was committed before the claim read it.
            if complete && claim.head > cursor {
                let p = Progress::Delivered {
                    through: claim.head,
                };
                if !store
                    .webhook_progress(id, &self.owner, cursor, &[], &p)
                    .await?
                {
                    return Ok(());
                }
            }
            let until = later(Timestamp::now(), self.options.lease);
            match store.renew_webhook_lease(id, &self.owner, until).await? {
                Some(next) if next.webhook.delivered_through < next.head => {
                    claim = next;
                    lease_until = until;
                }
                Some(next) => {
                    let from = next.webhook.delivered_through;
                    store
                        .webhook_progress(id, &self.owner, from, &[], &Progress::Release)
                        .await?;
                    return Ok(());
                }
                None => return Ok(()),
            }
        }
    }

    /// Records the run's deliveries not yet recorded, moving the endpoint's cursor past them;
    /// false when the lease is lost or the endpoint disabled (nothing moves then).
    async fn record(&self, claim: &ClaimedWebhook, run: &mut Run) -> anyhow::Result<bool> {
        let Some(&DeliveryRecord { sequence, .. }) = run.delivered.last() else {
            return Ok(true);
        };
        let p = Progress::Delivered { through: sequence };
        let held = self
            .state
            .store()
            .webhook_progress(
                claim.webhook.id,
                &self.owner,
                run.cursor,
                &run.delivered,
                &p,
            )
            .await?;
        run.cursor = sequence;
        run.delivered.clear();
        run.since = None;
        Ok(held)
    }

    /// One attempt to deliver `event` (the one after the run's last delivery): a delivery is
    /// added to the run, to be recorded with the next ones; a failure is recorded at once, after
    /// the run's deliveries before it. False when the endpoint's run ends here (a failure to
    /// retry later, a disabled endpoint, a lost lease).
    async fn attempt(
        &self,
        claim: &ClaimedWebhook,
        run: &mut Run,
        event: &skillgrid_api::Event,
    ) -> anyhow::Result<bool> {
        let store = self.state.store();
        let w = &claim.webhook;
        let body = serde_json::to_vec(event)?;
        let now = Timestamp::now();
        let headers = sign_delivery(
            &w.signing_secrets(now),
            &event.id.to_string(),
            now.0.div_euclid(1000),
            &body,
        );
        let started = Instant::now();
        let (status, error, head) = self.post(&w.url, &headers, body).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        let outcome = match status {
            Some(s) if (200..300).contains(&s) => Outcome::Delivered,
            Some(410) => Outcome::Gone,
            _ => Outcome::Failed,
        };
        let attempt_no = claim.attempts + 1;
        let mut record = DeliveryRecord {
            id: Uuid::now_v7(),
            event_id: event.id,
            sequence: event.sequence,
            attempt: attempt_no,
            at: now,
            status: status.map(i32::from),
            error,
            latency_ms,
            response_head: head,
            next_attempt_at: None,
        };
        let lag = (Timestamp::now().0 - occurred_ms(event).unwrap_or(now.0)).max(0);
        match outcome {
            Outcome::Delivered => {
                metrics::counter!("skillgrid_webhook_deliveries_total", "outcome" => "ok")
                    .increment(1);
                metrics::histogram!("skillgrid_webhook_delivery_lag_seconds")
                    .record(lag as f64 / 1000.0);
                run.since.get_or_insert_with(Instant::now);
                run.delivered.push(record);
                Ok(true)
            }
            Outcome::Gone => {
                metrics::counter!("skillgrid_webhook_deliveries_total", "outcome" => "failed")
                    .increment(1);
                if !self.record(claim, run).await? {
                    return Ok(false);
                }
                let reason = "the endpoint answered 410 Gone".to_string();
                self.disable(claim, run.cursor, &record, reason).await?;
                Ok(false)
            }
            Outcome::Failed => {
                metrics::counter!("skillgrid_webhook_deliveries_total", "outcome" => "failed")
                    .increment(1);
                if !self.record(claim, run).await? {
                    return Ok(false);
                }
                let cursor = run.cursor;
                let since = claim.failing_since.unwrap_or(now);
                let window = self.options.retry_window.as_millis() as i64;
                if now.0 - since.0 >= window {
                    let reason = format!(
                        "retries ran out: event {} failed for {} hours (last: {})",
                        event.sequence,
                        window / 3_600_000,
                        describe(&record)
                    );
                    self.disable(claim, cursor, &record, reason).await?;
                    return Ok(false);
                }
                let next_at = later(now, self.options.retry_delay(attempt_no as u32));
                record.next_attempt_at = Some(next_at);
                let p = Progress::Retry {
                    attempts: attempt_no,
                    failing_since: since,
                    next_at,
                };
                store
                    .webhook_progress(w.id, &self.owner, cursor, &[record], &p)
                    .await?;
                Ok(false)
            }
        }
    }

    /// Records the last attempt, lets the endpoint go and disables it for `reason` (in the
    /// administrative audit trail, as the server's doing); its cursor stays where it is.
    async fn disable(
        &self,
        claim: &ClaimedWebhook,
        cursor: i64,
        record: &DeliveryRecord,
        reason: String,
    ) -> anyhow::Result<()> {
        let store = self.state.store();
        let w = &claim.webhook;
        let held = store
            .webhook_progress(
                w.id,
                &self.owner,
                cursor,
                std::slice::from_ref(record),
                &Progress::Release,
            )
            .await?;
        if !held {
            return Ok(());
        }
        tracing::warn!(webhook = %w.id, reason = %reason, "webhook disabled");
        let change = WebhookChange {
            disable_for: Some(reason),
            ..Default::default()
        };
        let by = skillgrid_store::ChangedBy::direct("webhook-dispatcher", Timestamp::now());
        store.update_webhook(w.org_id, w.id, &change, &by).await?;
        Ok(())
    }

    /// POSTs `body`: the status, or why there was none, and the first bytes of the answer.
    async fn post(
        &self,
        url: &str,
        headers: &skillgrid_core::webhooks::signing::SignedHeaders,
        body: Vec<u8>,
    ) -> (Option<u16>, Option<String>, Option<String>) {
        let parsed = match url::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return (None, Some(format!("the URL does not parse: {e}")), None),
        };
        // A name is judged by the resolver, after its lookup; an address here.
        if let Some(host) = parsed.host().filter(|h| !matches!(h, url::Host::Domain(_))) {
            let port = parsed.port_or_known_default().unwrap_or(0);
            if let Err(r) =
                crate::destination::resolve_host(host, port, self.state.webhook_policy()).await
            {
                return (None, Some(format!("refused: {r}")), None);
            }
        }
        let sent = self
            .http
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", &headers.id)
            .header("webhook-timestamp", headers.timestamp.to_string())
            .header("webhook-signature", &headers.signature)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return (None, Some(why(&e)), None),
        };
        let status = response.status().as_u16();
        // The status decides; an answer cut short (a timeout) keeps what had come.
        let mut head = Vec::new();
        while head.len() < skillgrid_store::webhooks::RESPONSE_HEAD_MAX {
            match response.chunk().await {
                Ok(Some(bytes)) => head.extend_from_slice(&bytes),
                Ok(None) | Err(_) => break,
            }
        }
        // The rest of the answer is dropped with the connection.
        drop(response);
        head.truncate(skillgrid_store::webhooks::RESPONSE_HEAD_MAX);
        let text = String::from_utf8_lossy(&head).into_owned();
        (Some(status), None, (!text.is_empty()).then_some(text))
    }
}

/// Why a request got no answer, in words, with a refusal by the destination policy named.
fn why(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return format!("refused: {r}");
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        let mut text = "could not connect".to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text = format!("could not connect: {s}");
            source = s.source();
        }
        text
    } else {
        format!("{e}")
    }
}

/// A failed attempt in a few words.
fn describe(d: &DeliveryRecord) -> String {
    match (d.status, &d.error) {
        (Some(s), _) => format!("status {s}"),
        (None, Some(e)) => e.clone(),
        (None, None) => "no answer".into(),
    }
}

fn occurred_ms(e: &skillgrid_api::Event) -> Option<i64> {
    Timestamp::parse_rfc3339(&e.occurred_at).map(|t| t.0)
}

fn later(t: Timestamp, by: Duration) -> Timestamp {
    Timestamp(t.0.saturating_add(by.as_millis() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_doubles_from_its_base_to_an_hour_and_jitters_below_its_ceiling() {
        let o = DispatchOptions::default();
        assert_eq!(o.retry_ceiling(1), Duration::from_secs(5));
        assert_eq!(o.retry_ceiling(2), Duration::from_secs(10));
        assert_eq!(o.retry_ceiling(10), Duration::from_secs(2560));
        assert_eq!(o.retry_ceiling(11), Duration::from_secs(3600));
        assert_eq!(o.retry_ceiling(500), Duration::from_secs(3600));
        for n in [1, 5, 40] {
            for _ in 0..50 {
                assert!(o.retry_delay(n) <= o.retry_ceiling(n));
            }
        }
        // 24 hours of retries are many attempts, not a few long waits.
        let worst: Duration = (1..=40).map(|n| o.retry_ceiling(n)).sum();
        assert!(worst > Duration::from_secs(24 * 3600));
    }
}
