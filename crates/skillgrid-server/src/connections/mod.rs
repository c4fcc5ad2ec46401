//! The HTTP connections: accepting them, bounding what each client may hold, and shutting
//! down.
//!
//! axum's own `serve` waits for a client as long as it likes: a connection that sends nothing,
//! or a head or body a byte at a time, holds a file descriptor forever, and enough of them stop
//! the listener ("too many open files") and a graceful shutdown alike. Here hyper's HTTP/1
//! connections are driven one task each, with a deadline for every state a connection can wait
//! in ([`HttpLimits`]), a cap on open connections below the file limit (at the cap the oldest
//! connection serving no request is closed to make room), answers in problem+json for requests
//! hyper refuses before any route sees them, and a shutdown that finishes the requests received
//! in full and drops the rest.

mod bodies;
mod conn;
mod io;
mod limits;
mod refused;

pub use bodies::{is_body_timeout, BodyTimeout};
pub use limits::{default_max_connections, parse_duration, HttpLimits};
pub use refused::problem as refused_problem;

use conn::Tracker;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How long the listener pauses after an error that is not one client's (out of file
/// descriptors or memory) before it tries again.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The same warning at most once in this long; the others are counted into the next one.
const NOTICE_EVERY: Duration = Duration::from_secs(60);

/// Serves `state`'s API on `listener` within `limits` until `shutdown` completes, then lets the
/// requests already received finish, for at most `limits.shutdown_grace`.
pub async fn serve_with(
    listener: TcpListener,
    state: crate::AppState,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = crate::router(state);
    let limits = Arc::new(limits);
    let open = Arc::new(Registry::default());
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let (mut failing, mut full) = (Notices::default(), Notices::default());
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) if is_one_clients(&e) => continue,
            Err(e) => {
                // Out of file descriptors or memory: make room and pause, rather than spin on
                // the error while nothing changes.
                failing.warn(&format!("accepting a connection failed: {e}"));
                open.evict_oldest_idle();
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                }
            }
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let limit = limits.max_connections;
                full.warn(&format!("{limit} connections open (--max-connections): closing the oldest idle ones to make room"));
                tokio::select! {
                    _ = &mut shutdown => break,
                    p = make_room(&slots, &open) => p,
                }
            }
        };
        let tracker = open.add();
        tokio::spawn(conn::run(
            stream,
            peer,
            tracker,
            app.clone(),
            limits.clone(),
            open.clone(),
            permit,
        ));
    }
    drop(listener);
    let until = Instant::now() + limits.shutdown_grace;
    let n = open.stop(until);
    tracing::info!(
        connections = n,
        grace_s = limits.shutdown_grace.as_secs_f64(),
        "shutting down: finishing the requests received in full"
    );
    // Each connection gives its slot back as it ends; they all end by `until`.
    let all =
        u32::try_from(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout_at(until + Duration::from_secs(1), slots.acquire_many(all)).await;
    Ok(())
}

/// A free slot, once closing the oldest idle connection (or, while every connection serves a
/// request, the end of one) gives it back.
async fn make_room(slots: &Arc<Semaphore>, open: &Registry) -> OwnedSemaphorePermit {
    loop {
        open.evict_oldest_idle();
        tokio::select! {
            p = slots.clone().acquire_owned() => return p.expect("the semaphore is never closed"),
            // A connection busy now may be idle soon.
            _ = tokio::time::sleep(ACCEPT_PAUSE) => {}
        }
    }
}

/// Errors of one connection that never reached us: the next accept is unaffected.
fn is_one_clients(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    )
}

/// The open connections, oldest first.
#[derive(Default)]
struct Registry {
    open: Mutex<BTreeMap<u64, Arc<Tracker>>>,
    next: AtomicU64,
}

impl Registry {
    fn open(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Tracker>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self) -> Arc<Tracker> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let tracker = Arc::new(Tracker::new(id));
        let mut open = self.open();
        open.insert(id, tracker.clone());
        metrics::gauge!("http_connections_open").set(open.len() as f64);
        tracker
    }

    fn remove(&self, id: u64) {
        let mut open = self.open();
        open.remove(&id);
        metrics::gauge!("http_connections_open").set(open.len() as f64);
    }

    /// Closes the oldest connection that is serving no request; false if every one is.
    fn evict_oldest_idle(&self) -> bool {
        self.open().values().any(|t| t.evict())
    }

    /// Starts closing every connection; requests received in full may run until `until`.
    fn stop(&self, until: Instant) -> usize {
        let open = self.open();
        for t in open.values() {
            t.stop(until);
        }
        open.len()
    }
}

/// Warnings that a flood would repeat thousands of times a second, logged at most once per
/// [`NOTICE_EVERY`] with the number left out.
#[derive(Default)]
struct Notices {
    last: Option<Instant>,
    skipped: u64,
}

impl Notices {
    fn warn(&mut self, what: &str) {
        let now = Instant::now();
        if self.last.is_some_and(|l| now < l + NOTICE_EVERY) {
            self.skipped += 1;
            return;
        }
        tracing::warn!(skipped = self.skipped, "{what}");
        self.last = Some(now);
        self.skipped = 0;
    }
}
