//! Per-client token buckets, sized by the organization's `rateLimit` settings.
//!
//! On a store that keeps buckets where every process sees them (PostgreSQL), requests take
//! their tokens there: several instances on one database grant a client one budget between
//! them. A process sends one statement at a time per client, for every request of that client
//! that arrived meanwhile, and a busy client's statement takes tokens ahead for the requests
//! it will send next (see [`Limiters::take`]). Otherwise (SQLite, or `serve --rate-limits
//! process`) the buckets live in this process, and so does the fallback while the database
//! cannot be asked.
//!
//! A bucket starts full again when the settings it was made from change, so a settings PATCH
//! takes effect on the next request without a restart.

use crate::auth::{bearer_caller, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{Quota, RateLimiter};
use skillgrid_api::ProblemCode;
use skillgrid_api::RateLimit;
use skillgrid_store::{ClientId, DynStore, TokenTake};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

type Bucket = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    DefaultClock,
    StateInformationMiddleware,
>;

#[derive(Clone, Default)]
pub struct Limiters(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// This process's buckets.
    buckets: Mutex<HashMap<ClientId, (RateLimit, Arc<Bucket>)>>,
    /// Requests waiting for the database's bucket, by client. A client is here while a task
    /// takes tokens for its requests ([`Limiters::serve`]), and only then.
    waiting: Mutex<HashMap<ClientId, Vec<Waiter>>>,
    /// The last tokens this process took from each client's shared bucket, and what is left
    /// of those taken ahead.
    taken: Mutex<HashMap<ClientId, Taken>>,
    /// Count in this process only: told so, or the store keeps no buckets.
    per_process: AtomicBool,
    /// The store's buckets could not be reached on the last try (logged once per outage).
    unreachable: AtomicBool,
}

/// A request waiting for its token, with the settings it was read with.
struct Waiter {
    settings: RateLimit,
    reply: oneshot::Sender<Decision>,
}

/// How many requests' worth of tokens a statement takes ahead: what the client sent in this
/// long, at the rate it sent since the last statement. So a client sending thousands of
/// requests a second to this process costs about fifty statements a second, and one sending
/// a few costs one per request, as before. (On 2 cores at 64 connections, one statement per
/// request or per waiting batch left PostgreSQL's reads at 0.75 of their rate with the
/// limit counted in the process.)
const AHEAD_SPAN: Duration = Duration::from_millis(20);

/// At most this many times the requests since the last statement are taken ahead, so the
/// amount grows over a few statements to a client's rate rather than jumping to it.
const AHEAD_GROWTH: u64 = 4;

/// At most this many tokens are taken ahead at once.
const MAX_AHEAD: u64 = 10_000;

/// Tokens taken ahead lapse unused after this long: what they say of the bucket is then
/// too old (they are not given back: the bucket refills meanwhile).
const AHEAD_LAPSE: Duration = Duration::from_millis(500);

/// Clients whose last statement is kept past which those whose tokens taken ahead lapsed
/// are forgotten.
const KEPT_TAKEN: usize = 10_000;

/// A client's last statement: what it took, when it was sent, and the next of its tokens
/// to hand out (from `take.granted`, those taken ahead).
struct Taken {
    settings: RateLimit,
    take: TokenTake,
    next: u64,
    at: Instant,
}

impl Taken {
    /// The decision for one more request, from the tokens taken ahead, while any are left.
    fn hand_out(&mut self, settings: &RateLimit) -> Option<Decision> {
        let usable = self.settings == *settings
            && self.next < self.take.granted + self.take.ahead
            && self.at.elapsed() < AHEAD_LAPSE;
        if !usable {
            return None;
        }
        let d = Decision::in_batch(self.take, self.next, settings);
        self.next += 1;
        Some(d)
    }

    /// How many tokens to take ahead in a statement for `waiting` requests, after this one.
    fn ahead_of(&self, settings: &RateLimit, waiting: u64) -> u64 {
        if self.settings != *settings {
            return 0;
        }
        // The requests that came since this statement was sent: those answered from its
        // tokens taken ahead, and those waiting now.
        let came = self.next.saturating_sub(self.take.granted) + waiting;
        let elapsed = self.at.elapsed().as_secs_f64();
        let at_rate = (came as f64 * AHEAD_SPAN.as_secs_f64() / elapsed.max(1e-6)) as u64;
        at_rate
            .min(came.saturating_mul(AHEAD_GROWTH))
            .min(MAX_AHEAD)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the bucket is full again (allowed) or until the next request may pass.
    pub reset_secs: u64,
}

fn nz(v: u64) -> NonZeroU32 {
    NonZeroU32::new(v.clamp(1, u32::MAX as u64) as u32).unwrap_or(NonZeroU32::MIN)
}

impl Decision {
    /// The decision for the `i`th (from 0) of the requests that took `take` from a bucket of
    /// `settings` together: the first `take.granted` pass, each as if it had taken its token
    /// in turn; those from `take.granted` on, while any are left, took theirs from the
    /// tokens taken ahead.
    fn in_batch(take: TokenTake, i: u64, settings: &RateLimit) -> Decision {
        let per_token = 60.0 / settings.requests_per_minute.max(1) as f64;
        let burst = settings.burst as f64;
        let took = take.granted + take.ahead;
        if i < took {
            // What was left just after this request's token was taken (of the bucket as the
            // statement left it: it has refilled since, for those taken ahead).
            let left = (take.tokens + (took - 1 - i) as f64).clamp(0.0, burst);
            Decision {
                allowed: true,
                limit: settings.burst,
                remaining: left.floor() as u64,
                reset_secs: ((burst - left) * per_token).ceil() as u64,
            }
        } else {
            Decision {
                allowed: false,
                limit: settings.burst,
                remaining: 0,
                reset_secs: ((1.0 - take.tokens.clamp(0.0, 1.0)) * per_token)
                    .ceil()
                    .max(1.0) as u64,
            }
        }
    }
}

impl Limiters {
    /// Counts every client in this process only, even on a store that shares buckets: each
    /// of N instances then allows the whole rate, and a request spares a database round trip.
    pub fn count_per_process(&self) {
        self.0.per_process.store(true, Ordering::Relaxed);
    }

    /// Takes a token for one request of `client`: from the bucket the store shares between
    /// processes when it keeps one, else from this process's.
    ///
    /// The database is asked by one task per client at a time, which takes a token for every
    /// request of the client waiting by then in one statement, and again for those that
    /// arrived while it ran. So a lone request costs one round trip, and many at once cost a
    /// few between them instead of queueing on the bucket's row one connection each.
    ///
    /// A client sending many requests has tokens taken ahead for the next [`AHEAD_SPAN`] of
    /// them at its rate, at most a quarter of what the bucket holds (the store's bound): its
    /// requests take those without a round trip. Every request answered still took a token
    /// from the shared bucket, so N instances never grant more than the budget between them;
    /// tokens taken ahead and not used within [`AHEAD_LAPSE`] are lost to the client, which
    /// can then be granted a little less. A bucket of fewer than 5 tokens is never taken
    /// ahead of.
    pub async fn take(&self, store: &DynStore, client: ClientId, settings: &RateLimit) -> Decision {
        if self.0.per_process.load(Ordering::Relaxed) {
            return self.check(client, settings);
        }
        if let Some(d) = self.hand_out(client, settings) {
            return d;
        }
        let (reply, decided) = oneshot::channel();
        let waiter = Waiter {
            settings: settings.clone(),
            reply,
        };
        let first = {
            let mut waiting = lock(&self.0.waiting);
            match waiting.get_mut(&client) {
                Some(list) => {
                    list.push(waiter);
                    false
                }
                None => {
                    waiting.insert(client, vec![waiter]);
                    true
                }
            }
        };
        if first {
            tokio::spawn(self.clone().serve(store.clone(), client));
        }
        // The serving task ended without an answer (it cannot, short of a panic).
        decided
            .await
            .unwrap_or_else(|_| self.check(client, settings))
    }

    /// Takes tokens for `client`'s waiting requests, a batch at a time, until none wait.
    async fn serve(self, store: DynStore, client: ClientId) {
        // Whatever ends this task, the client is left to the next one: its waiting requests
        // are dropped, and fall back to this process's bucket.
        struct Leave<'a>(&'a Limiters, ClientId);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                lock(&self.0 .0.waiting).remove(&self.1);
            }
        }
        let leave = Leave(&self, client);
        loop {
            let batch = {
                let mut waiting = lock(&self.0.waiting);
                match waiting.get_mut(&client) {
                    Some(list) if !list.is_empty() => std::mem::take(list),
                    _ => {
                        waiting.remove(&client);
                        std::mem::forget(leave);
                        return;
                    }
                }
            };
            // Those that can be answered from tokens taken ahead (by the statement that
            // ended as they came).
            let mut batch = batch.into_iter();
            let rest: Vec<Waiter> = loop {
                let Some(w) = batch.next() else {
                    break Vec::new();
                };
                match self.hand_out(client, &w.settings) {
                    Some(d) => {
                        let _ = w.reply.send(d);
                    }
                    None => break std::iter::once(w).chain(batch).collect(),
                }
            };
            if !rest.is_empty() {
                self.answer(&store, client, rest).await;
            }
        }
    }

    /// The decision for one request of `client` from the tokens taken ahead for it, if any
    /// are left.
    fn hand_out(&self, client: ClientId, settings: &RateLimit) -> Option<Decision> {
        lock(&self.0.taken).get_mut(&client)?.hand_out(settings)
    }

    /// Answers `batch` (not empty) with one statement (see [`Limiters::decide`]).
    async fn answer(&self, store: &DynStore, client: ClientId, batch: Vec<Waiter>) {
        // The newest settings, should they have changed while requests waited.
        let settings = batch[batch.len() - 1].settings.clone();
        let decisions = self.decide(store, client, &settings, batch.len()).await;
        for (w, d) in batch.into_iter().zip(decisions) {
            let _ = w.reply.send(d);
        }
    }

    /// A token for each of `n` requests of `client`, in order, from the database's bucket,
    /// and tokens taken ahead for those to come; while the store cannot be asked, from this
    /// process's (each instance then allows the whole rate), so that a database hiccup never
    /// refuses requests the limit allows.
    async fn decide(
        &self,
        store: &DynStore,
        client: ClientId,
        settings: &RateLimit,
        n: usize,
    ) -> Vec<Decision> {
        let ahead = lock(&self.0.taken)
            .get(&client)
            .map_or(0, |t| t.ahead_of(settings, n as u64));
        let at = Instant::now();
        match store.take_tokens(client, settings, n as u64, ahead).await {
            Ok(Some(take)) => {
                if self.0.unreachable.swap(false, Ordering::Relaxed) {
                    metrics::gauge!("skillgrid_rate_limits_fallback").set(0.0);
                    tracing::info!("rate limits are counted in the database again");
                }
                let taken = Taken {
                    settings: settings.clone(),
                    take,
                    next: take.granted,
                    at,
                };
                let mut all = lock(&self.0.taken);
                if all.len() >= KEPT_TAKEN {
                    all.retain(|_, t| t.at.elapsed() < AHEAD_LAPSE);
                }
                all.insert(client, taken);
                return (0..n as u64)
                    .map(|i| Decision::in_batch(take, i, settings))
                    .collect();
            }
            Ok(None) => self.count_per_process(),
            Err(e) => {
                if !self.0.unreachable.swap(true, Ordering::Relaxed) {
                    metrics::gauge!("skillgrid_rate_limits_fallback").set(1.0);
                    tracing::warn!(error = %e, "the database's rate-limit buckets cannot be reached; counting in this process until they can");
                }
            }
        }
        (0..n).map(|_| self.check(client, settings)).collect()
    }

    /// Takes a token from this process's bucket of `client`.
    pub fn check(&self, client: ClientId, settings: &RateLimit) -> Decision {
        let bucket = {
            let mut map = lock(&self.0.buckets);
            match map.get(&client) {
                Some((s, b)) if s == settings => b.clone(),
                _ => {
                    let quota = Quota::per_minute(nz(settings.requests_per_minute))
                        .allow_burst(nz(settings.burst));
                    let b = Arc::new(
                        RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>(),
                    );
                    map.insert(client, (settings.clone(), b.clone()));
                    b
                }
            }
        };
        let per_token = 60.0 / settings.requests_per_minute.max(1) as f64;
        match bucket.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity() as u64;
                let missing = settings.burst.saturating_sub(remaining) as f64;
                Decision {
                    allowed: true,
                    limit: settings.burst,
                    remaining,
                    reset_secs: (missing * per_token).ceil() as u64,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Decision {
                    allowed: false,
                    limit: settings.burst,
                    remaining: 0,
                    reset_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
                }
            }
        }
    }
}

fn set_headers(headers: &mut HeaderMap, d: &Decision) {
    for (name, value) in [
        ("ratelimit-limit", d.limit),
        ("ratelimit-remaining", d.remaining),
        ("ratelimit-reset", d.reset_secs),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

/// 429 for a client over its bucket, with `Retry-After`.
pub fn rate_limited(limit: &RateLimit, reset_secs: u64) -> ApiError {
    ApiError::new(
        ProblemCode::RateLimited,
        format!(
            "this client may send {} requests per minute with bursts of {}; retry in {} s",
            limit.requests_per_minute, limit.burst, reset_secs
        ),
    )
    .with_header(header::RETRY_AFTER, &reset_secs.to_string())
}

/// Marks a request admitted and counted against the view of its organization kept in this
/// process, without reading the stored generation first: its route reads the generation in
/// the same statement as its data and answers only if it is still that view's, else calls
/// [`admit_again`]. So the check that a disabled client's or rotated secret's tokens are
/// refused from the next request on, on every instance, costs that route no round trip of
/// its own. Only the routes in [`CONFIRMING_ROUTES`] get it.
#[derive(Debug, Clone, Copy)]
pub struct ViewToConfirm;

/// The routes (`GET` and `HEAD`) that confirm the view themselves (see [`ViewToConfirm`]).
pub const CONFIRMING_ROUTES: [&str; 2] = [
    "/api/v2/agents/users/{userId}/skills",
    "/api/v2/admin/users/{userId}/skills",
];

fn confirms_view(req: &Request) -> bool {
    matches!(*req.method(), Method::GET | Method::HEAD)
        && req
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|p| CONFIRMING_ROUTES.contains(&p.as_str()))
}

/// For a request marked [`ViewToConfirm`] whose route found the organization changed since
/// the view it was admitted with (`admitted`): its caller admitted again as the
/// organization stands now (the error is the route's 401 or 403 of any request), and counted
/// again if the change was to its rate limit, as the first request of the new bucket. The
/// `Decision` to answer with goes on the response as an extension.
pub async fn admit_again(
    state: &AppState,
    headers: &HeaderMap,
    admitted: &Caller,
) -> Result<(Caller, Option<Decision>), Response> {
    let caller = crate::auth::authenticate_bearer(state, headers)
        .await
        .map_err(IntoResponse::into_response)?;
    let (Some(now), Some(before)) = (&caller.org, &admitted.org) else {
        return Ok((caller, None));
    };
    let limit = &now.settings.rate_limit;
    if *limit == before.settings.rate_limit {
        return Ok((caller, None));
    }
    let d = take_or_refuse(state, caller.client_id, limit).await?;
    Ok((caller, Some(d)))
}

/// One request of `client` counted under `limit`: the decision, or the 429 to answer, with
/// its `RateLimit-*` headers and the decision as an extension (see [`enforce`]).
async fn take_or_refuse(
    state: &AppState,
    client: ClientId,
    limit: &RateLimit,
) -> Result<Decision, Response> {
    let d = state.limiters().take(state.store(), client, limit).await;
    if d.allowed {
        return Ok(d);
    }
    let mut res = rate_limited(limit, d.reset_secs).into_response();
    set_headers(res.headers_mut(), &d);
    res.extensions_mut().insert(d);
    Err(res)
}

/// Layer of the `/api/v2` routes: a request with a valid token is counted against its
/// client's bucket (a bulk request is one request, whatever its size) and answered with the
/// `RateLimit-*` headers; one over the limit gets 429 and changes nothing. Requests without a
/// valid token pass through to get their 401 from the route.
pub async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let caller = match bearer_caller(req.headers(), state.keys()) {
        Some(c) => Some(c),
        // No token at all: the console's session, counted against the client its user's
        // changes are recorded under. A refused session is the route's to answer.
        None if !req.headers().contains_key(header::AUTHORIZATION) => {
            crate::console::api::session_caller(&state, req.method(), req.headers())
                .await
                .ok()
                .flatten()
        }
        None => None,
    };
    let Some(mut caller) = caller else {
        return next.run(req).await;
    };
    // A bearer token on a route that confirms the view itself, once this process has one.
    let kept = (caller.user_id.is_none() && confirms_view(&req))
        .then(|| state.kept_org_view(caller.org_id))
        .flatten();
    let confirm = kept.is_some();
    let org = match kept {
        Some(v) => v,
        None => match state.org_view(caller.org_id).await {
            Ok(v) => v,
            // An organization that no longer exists: let the route answer.
            Err(_) => return next.run(req).await,
        },
    };
    // A client deleted, disabled or revoked since: the route answers 401. (A session was
    // checked against its user just now.)
    if caller.user_id.is_none() && crate::auth::admit(&org, &mut caller).is_err() {
        return next.run(req).await;
    }
    let d = match take_or_refuse(&state, caller.client_id, &org.settings.rate_limit).await {
        Ok(d) => d,
        Err(res) => return res,
    };
    caller.org = Some(org);
    req.extensions_mut().insert(caller);
    if confirm {
        req.extensions_mut().insert(ViewToConfirm);
    }
    let mut res = next.run(req).await;
    // Counted again by the route (see `admit_again`): that decision is the one in force.
    let d = res.extensions_mut().remove::<Decision>().unwrap_or(d);
    set_headers(res.headers_mut(), &d);
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn burst_then_refused_and_new_settings_apply_at_once() {
        let l = Limiters::default();
        let c = ClientId::new(Uuid::now_v7());
        let s = RateLimit {
            requests_per_minute: 1,
            burst: 2,
        };
        assert!(l.check(c, &s).allowed);
        let second = l.check(c, &s);
        assert!(second.allowed);
        assert_eq!(second.remaining, 0);
        let third = l.check(c, &s);
        assert!(!third.allowed);
        assert!(third.reset_secs >= 1);
        let bigger = RateLimit {
            requests_per_minute: 60,
            burst: 10,
        };
        assert!(l.check(c, &bigger).allowed);
    }

    #[test]
    fn a_shared_bucket_reads_as_the_headers_say() {
        let s = RateLimit {
            requests_per_minute: 600,
            burst: 100,
        };
        let one = |granted, tokens| {
            Decision::in_batch(
                TokenTake {
                    granted,
                    ahead: 0,
                    tokens,
                },
                0,
                &s,
            )
        };
        let d = one(1, 99.0);
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining, d.reset_secs), (100, 99, 1));
        // 40.5 tokens: 40 whole ones left, full again in 59.5 tokens at 0.1 s each.
        let d = one(1, 40.5);
        assert_eq!((d.remaining, d.reset_secs), (40, 6));
        let d = one(0, 0.25);
        assert!(!d.allowed);
        assert_eq!((d.remaining, d.reset_secs), (0, 1));
        // Three of five requests got a token and left 0.5: each of the three saw what its
        // own token left, the other two none.
        let take = TokenTake {
            granted: 3,
            ahead: 0,
            tokens: 0.5,
        };
        let batch: Vec<(bool, u64)> = (0..5)
            .map(|i| Decision::in_batch(take, i, &s))
            .map(|d| (d.allowed, d.remaining))
            .collect();
        assert_eq!(
            batch,
            [(true, 2), (true, 1), (true, 0), (false, 0), (false, 0)]
        );
        // At 1 per minute, three quarters of a token are 45 s away.
        let slow = RateLimit {
            requests_per_minute: 1,
            burst: 3,
        };
        let d = Decision::in_batch(
            TokenTake {
                granted: 0,
                ahead: 0,
                tokens: 0.25,
            },
            0,
            &slow,
        );
        assert_eq!(d.reset_secs, 45);
    }

    /// Two requests got their tokens and three were taken ahead: the next three requests take
    /// those, each seeing what its token left, then none are left; other settings, or time,
    /// end them too.
    #[test]
    fn tokens_taken_ahead_are_handed_out_once_each_while_fresh() {
        let s = RateLimit {
            requests_per_minute: 600,
            burst: 100,
        };
        let take = TokenTake {
            granted: 2,
            ahead: 3,
            tokens: 80.5,
        };
        let batch: Vec<u64> = (0..2)
            .map(|i| Decision::in_batch(take, i, &s).remaining)
            .collect();
        assert_eq!(batch, [84, 83]);
        let mut taken = Taken {
            settings: s.clone(),
            take,
            next: take.granted,
            at: Instant::now(),
        };
        let other = RateLimit {
            requests_per_minute: 600,
            burst: 50,
        };
        assert!(taken.hand_out(&other).is_none());
        let later: Vec<(bool, u64)> = std::iter::from_fn(|| taken.hand_out(&s))
            .map(|d| (d.allowed, d.remaining))
            .collect();
        assert_eq!(later, [(true, 82), (true, 81), (true, 80)]);
        assert!(taken.hand_out(&s).is_none());

        let mut stale = Taken {
            at: Instant::now() - AHEAD_LAPSE,
            next: take.granted,
            ..taken
        };
        assert!(stale.hand_out(&s).is_none());
    }

    /// What a statement takes ahead follows the requests since the last one: none for a
    /// client whose requests come one at a time, growing over a few statements for a busy one,
    /// and none across a settings change.
    #[test]
    fn how_many_are_taken_ahead_follows_the_clients_rate() {
        let s = RateLimit {
            requests_per_minute: 600_000,
            burst: 100_000,
        };
        let last = |ago: Duration, used_ahead: u64| Taken {
            settings: s.clone(),
            take: TokenTake {
                granted: 1,
                ahead: used_ahead,
                tokens: 1000.0,
            },
            next: 1 + used_ahead,
            at: Instant::now() - ago,
        };
        // One request a second: none ahead.
        assert_eq!(last(Duration::from_secs(1), 0).ahead_of(&s, 1), 0);
        // Four requests in a tenth of a millisecond (40,000 a second, 800 in the span), grown
        // to at most four times the four.
        assert_eq!(last(Duration::from_micros(100), 0).ahead_of(&s, 4), 16);
        // 200 in 10 ms: 20,000 a second, 400 in the span (fewer as the test's own time
        // passes), not the 800 the growth would allow.
        let n = last(Duration::from_millis(10), 196).ahead_of(&s, 4);
        assert!((100..=400).contains(&n), "{n}");
        // At most MAX_AHEAD.
        let n = last(Duration::from_micros(100), 9_996).ahead_of(&s, 4);
        assert_eq!(n, MAX_AHEAD);
        let other = RateLimit {
            requests_per_minute: 600,
            burst: 100,
        };
        assert_eq!(last(Duration::from_micros(100), 0).ahead_of(&other, 4), 0);
    }
}
