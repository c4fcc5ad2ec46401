//! A full disk. A write that fails for lack of space answers 503 `storage_full` with
//! `Retry-After` (nothing was written, and retrying later is right); reads go on as usual.
//! Meanwhile `/readyz` answers not ready, so a balancer sends traffic elsewhere, until a small
//! write succeeds again: it probes for that itself, since no write may come while it says so.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::middleware::Next;
use axum::response::Response;
use skillgrid_api::ProblemCode;
use skillgrid_store::StoreError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What `Retry-After` tells a client whose write found no space: freeing space takes an
/// operator, so there is no point in retrying within seconds.
pub const RETRY_AFTER_SECS: u64 = 30;

/// `/readyz` probes with a write at most this often while space is short.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// 503 `storage_full`.
pub fn full() -> ApiError {
    ApiError::new(
        ProblemCode::StorageFull,
        "the server has no space left to store this change; nothing was written. \
         Reads still work; retry later",
    )
    .with_header(RETRY_AFTER, &RETRY_AFTER_SECS.to_string())
}

/// Carried by a response whose write failed for lack of space (see [`track`]).
#[derive(Debug, Clone, Copy)]
pub struct WriteFailedFull;

/// Whether writes were last seen failing for lack of space.
#[derive(Debug, Default)]
pub struct Space {
    full: AtomicBool,
    last_probe: Mutex<Option<Instant>>,
}

impl Space {
    fn mark_full(&self) {
        if !self.full.swap(true, Ordering::Relaxed) {
            metrics::gauge!("skillgrid_storage_full").set(1.0);
            tracing::warn!("a write failed for lack of space: not ready until writes succeed");
        }
    }

    /// `Ok` unless writes were seen failing for lack of space and a probe write (at most one
    /// per [`PROBE_EVERY`]) still fails.
    pub async fn writable(&self, state: &AppState) -> Result<(), StoreError> {
        if !self.full.load(Ordering::Relaxed) {
            return Ok(());
        }
        {
            let mut last = self.last_probe.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < PROBE_EVERY) {
                return Err(StoreError::Full);
            }
            *last = Some(Instant::now());
        }
        state.store().probe_write().await?;
        if self.full.swap(false, Ordering::Relaxed) {
            metrics::gauge!("skillgrid_storage_full").set(0.0);
            tracing::info!("writes succeed again: ready");
        }
        Ok(())
    }
}

/// Notes every answer whose write failed for lack of space.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.extensions().get::<WriteFailedFull>().is_some() {
        state.space().mark_full();
    }
    res
}
