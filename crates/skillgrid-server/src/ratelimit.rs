//! Per-client token buckets, sized by the organization's `rateLimit` settings.
//!
//! On a store that keeps buckets where every process sees them (PostgreSQL), each request
//! takes its token there, in one statement: several instances on one database grant a client
//! one budget between them. Otherwise (SQLite, or `serve --rate-limits process`) the buckets
//! live in this process, and so does the fallback while the database cannot be asked.
//!
//! A bucket starts full again when the settings it was made from change, so a settings PATCH
//! takes effect on the next request without a restart.

use crate::auth::bearer_caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{Quota, RateLimiter};
use skillgrid_api::ProblemCode;
use skillgrid_api::RateLimit;
use skillgrid_store::{DynStore, TokenTake};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

type Bucket = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    DefaultClock,
    StateInformationMiddleware,
>;

#[derive(Default)]
pub struct Limiters {
    buckets: Mutex<HashMap<Uuid, (RateLimit, Arc<Bucket>)>>,
    /// Count in this process only: told so, or the store keeps no buckets.
    per_process: AtomicBool,
    /// The store's buckets could not be reached on the last try (logged once per outage).
    unreachable: AtomicBool,
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
    /// What a request that took from a bucket of `settings` learns from what is left in it.
    fn after(take: TokenTake, settings: &RateLimit) -> Decision {
        let per_token = 60.0 / settings.requests_per_minute.max(1) as f64;
        let tokens = take.tokens.clamp(0.0, settings.burst as f64);
        if take.granted {
            Decision {
                allowed: true,
                limit: settings.burst,
                remaining: tokens.floor() as u64,
                reset_secs: ((settings.burst as f64 - tokens) * per_token).ceil() as u64,
            }
        } else {
            Decision {
                allowed: false,
                limit: settings.burst,
                remaining: 0,
                reset_secs: ((1.0 - tokens) * per_token).ceil().max(1.0) as u64,
            }
        }
    }
}

impl Limiters {
    /// Counts every client in this process only, even on a store that shares buckets: each
    /// of N instances then allows the whole rate, and a request spares a database round trip.
    pub fn count_per_process(&self) {
        self.per_process.store(true, Ordering::Relaxed);
    }

    /// Takes a token for one request of `client`: from the bucket the store shares between
    /// processes when it keeps one, else from this process's. While the store cannot be asked,
    /// this process's buckets stand in (each instance then allows the whole rate): a database
    /// hiccup never refuses requests the limit allows.
    pub async fn take(&self, store: &DynStore, client: Uuid, settings: &RateLimit) -> Decision {
        if !self.per_process.load(Ordering::Relaxed) {
            match store.take_token(client, settings).await {
                Ok(Some(take)) => {
                    if self.unreachable.swap(false, Ordering::Relaxed) {
                        tracing::info!("rate limits are counted in the database again");
                    }
                    return Decision::after(take, settings);
                }
                Ok(None) => self.count_per_process(),
                Err(e) => {
                    if !self.unreachable.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "the database's rate-limit buckets cannot be reached; counting in this process until they can");
                    }
                }
            }
        }
        self.check(client, settings)
    }

    /// Takes a token from this process's bucket of `client`.
    pub fn check(&self, client: Uuid, settings: &RateLimit) -> Decision {
        let bucket = {
            let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
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

/// Layer of the `/api/v2` routes: a request with a valid token is counted against its
/// client's bucket (a bulk request is one request, whatever its size) and answered with the
/// `RateLimit-*` headers; one over the limit gets 429 and changes nothing. Requests without a
/// valid token pass through to get their 401 from the route.
pub async fn enforce(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(mut caller) = bearer_caller(req.headers(), state.keys()) else {
        return next.run(req).await;
    };
    let org = match state.org_view(caller.org_id).await {
        Ok(v) => v,
        // An organization that no longer exists: let the route answer.
        Err(_) => return next.run(req).await,
    };
    // A client deleted, disabled or revoked since: the route answers 401.
    if crate::auth::admit(&org, &mut caller).is_err() {
        return next.run(req).await;
    }
    let limit = &org.settings.rate_limit;
    let d = state
        .limiters()
        .take(state.store(), caller.client_id, limit)
        .await;
    if !d.allowed {
        let mut res = rate_limited(limit, d.reset_secs).into_response();
        set_headers(res.headers_mut(), &d);
        return res;
    }
    caller.org = Some(org);
    req.extensions_mut().insert(caller);
    let mut res = next.run(req).await;
    set_headers(res.headers_mut(), &d);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refused_and_new_settings_apply_at_once() {
        let l = Limiters::default();
        let c = Uuid::now_v7();
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
        let after = |granted, tokens| Decision::after(TokenTake { granted, tokens }, &s);
        let d = after(true, 99.0);
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining, d.reset_secs), (100, 99, 1));
        // 40.5 tokens: 40 whole ones left, full again in 59.5 tokens at 0.1 s each.
        let d = after(true, 40.5);
        assert_eq!((d.remaining, d.reset_secs), (40, 6));
        let d = after(false, 0.25);
        assert!(!d.allowed);
        assert_eq!((d.remaining, d.reset_secs), (0, 1));
        // At 1 per minute, three quarters of a token are 45 s away.
        let slow = RateLimit {
            requests_per_minute: 1,
            burst: 3,
        };
        let d = Decision::after(
            TokenTake {
                granted: false,
                tokens: 0.25,
            },
            &slow,
        );
        assert_eq!(d.reset_secs, 45);
    }
}
