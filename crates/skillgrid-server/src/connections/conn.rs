//! One connection: the state it waits in, the deadline of that state, and the task that serves
//! it with hyper and closes it when the deadline passes, when it is evicted to make room, or
//! when the server shuts down.

use super::bodies::{RequestBody, ResponseBody};
use super::io::{Io, Leftover};
use super::{HttpLimits, Registry};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;
use tower::ServiceExt;

/// How long a connection closed with input unread keeps reading (and dropping) what the
/// client still sends after the answer, so that the client reads the answer rather than a
/// reset.
const LINGER: Duration = Duration::from_secs(2);

/// How long a connection told to close after a request it answered may take to flush the end
/// of that answer before it is dropped.
const CLOSE_PATIENCE: Duration = Duration::from_secs(1);

/// A deadline far enough away to stand for none.
const NEVER: Duration = Duration::from_secs(86_400);

/// What a connection is waiting for.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// A request, since `since`: the connection's first (`first`), or the next one after an
    /// answer on a kept-alive connection.
    Waiting { since: Instant, first: bool },
    /// The rest of a request head whose first bytes came; `since` is when the header timeout
    /// started (the connection's start for its first request).
    Head { since: Instant, first: bool },
    /// A request head was read and handed to the router; its body may still be arriving.
    Request { body_done: bool },
}

/// The server closing a connection that may not stay open.
#[derive(Debug, Clone, Copy)]
struct Closing {
    since: Instant,
    /// Shutting down: a request received in full may finish until then. None: evicted to make
    /// room, which only ever picks a connection that serves no request.
    until: Option<Instant>,
}

struct State {
    phase: Phase,
    closing: Option<Closing>,
    /// The connection is to close with input unread (a head hyper refused, a body cut short):
    /// its close waits a moment for that input (see [`LINGER`]).
    linger: bool,
}

/// What one connection is doing, shared by its task, its IO, its request and response bodies,
/// and the registry of open connections.
pub(super) struct Tracker {
    pub(super) id: u64,
    state: Mutex<State>,
    /// Woken when the state changes, so that the task sets its deadline again.
    changed: Notify,
}

/// What the task does next.
#[derive(Debug, PartialEq)]
enum Next {
    /// Serve until then, then look again (the reason names the deadline).
    Until(Instant, &'static str),
    /// Serve with no deadline: a request being handled.
    Serve,
    Close(&'static str),
}

impl Tracker {
    pub(super) fn new(id: u64) -> Self {
        Tracker {
            id,
            state: Mutex::new(State {
                phase: Phase::Waiting {
                    since: Instant::now(),
                    first: true,
                },
                closing: None,
                linger: false,
            }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state());
        self.changed.notify_one();
    }

    /// Bytes came from the client: a request head has begun, if none was under way.
    pub(super) fn on_bytes(&self) {
        let mut s = self.state();
        if let Phase::Waiting { since, first } = s.phase {
            let since = if first { since } else { Instant::now() };
            s.phase = Phase::Head { since, first };
            drop(s);
            self.changed.notify_one();
        }
    }

    /// hyper read a request head and hands the request to the router.
    fn on_request(&self, body_done: bool) {
        self.update(|s| {
            s.phase = Phase::Request { body_done };
            s.linger = false;
        });
    }

    /// The request body was read to its end.
    pub(super) fn on_body_done(&self) {
        self.update(|s| {
            if let Phase::Request { body_done } = &mut s.phase {
                *body_done = true;
            }
        });
    }

    /// hyper has taken the whole answer; the connection waits for its next request.
    pub(super) fn on_answered(&self) {
        self.update(|s| {
            if let Phase::Request { body_done: false } = s.phase {
                s.linger = true;
            }
            s.phase = Phase::Waiting {
                since: Instant::now(),
                first: false,
            };
        });
    }

    /// The answer replaces one hyper gave to a head it refused.
    pub(super) fn refused(&self) {
        self.state().linger = true;
    }

    pub(super) fn lingers(&self) -> bool {
        self.state().linger
    }

    /// Closes this connection to make room, unless it serves a request (or is closing
    /// already); true if it will close.
    pub(super) fn evict(&self) -> bool {
        let mut s = self.state();
        if s.closing.is_some() || matches!(s.phase, Phase::Request { .. }) {
            return false;
        }
        s.closing = Some(Closing {
            since: Instant::now(),
            until: None,
        });
        drop(s);
        self.changed.notify_one();
        true
    }

    /// Shutting down: close once the request received in full (if any) is answered, by `until`.
    pub(super) fn stop(&self, until: Instant) {
        self.update(|s| {
            s.closing = Some(Closing {
                since: Instant::now(),
                until: Some(until),
            })
        });
    }

    fn closing(&self) -> bool {
        self.state().closing.is_some()
    }

    fn next(&self, limits: &HttpLimits, now: Instant) -> Next {
        let s = self.state();
        let next = match (s.closing, s.phase) {
            (None, Phase::Waiting { since, first: true }) => {
                Next::Until(since + limits.header_timeout, "header_timeout")
            }
            (
                None,
                Phase::Waiting {
                    since,
                    first: false,
                },
            ) => Next::Until(since + limits.idle_timeout, "idle_timeout"),
            (None, Phase::Head { since, .. }) => {
                Next::Until(since + limits.header_timeout, "header_timeout")
            }
            (None, Phase::Request { .. }) => Next::Serve,
            // Nothing was ever answered on it: nothing to finish.
            (Some(c), Phase::Waiting { first: true, .. } | Phase::Head { first: true, .. }) => {
                Next::Close(c.reason())
            }
            // hyper closes it once the last answer is flushed.
            (Some(c), Phase::Waiting { .. } | Phase::Head { .. }) => {
                Next::Until(c.since + CLOSE_PATIENCE, c.reason())
            }
            // Shutting down: a request still arriving is dropped, one received in full
            // finishes within the grace.
            (Some(c @ Closing { until: Some(_), .. }), Phase::Request { body_done: false }) => {
                Next::Close(c.reason())
            }
            (Some(Closing { until: Some(t), .. }), Phase::Request { body_done: true }) => {
                Next::Until(t, "shutdown")
            }
            (Some(Closing { until: None, .. }), Phase::Request { .. }) => Next::Serve,
        };
        match next {
            Next::Until(t, why) if t <= now => Next::Close(why),
            n => n,
        }
    }
}

impl Closing {
    fn reason(&self) -> &'static str {
        if self.until.is_some() {
            "shutdown"
        } else {
            "evicted"
        }
    }
}

/// Serves one connection until the client or hyper ends it, or its deadline passes; then
/// gives its slot back.
pub(super) async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    tracker: Arc<Tracker>,
    app: Router,
    limits: Arc<HttpLimits>,
    open: Arc<Registry>,
    _slot: OwnedSemaphorePermit,
) {
    let leftover: Arc<Mutex<Option<Leftover>>> = Arc::default();
    let io = TokioIo::new(Io::new(stream, tracker.clone(), leftover.clone()));
    let service = {
        let tracker = tracker.clone();
        let body_timeout = limits.body_timeout;
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            tracker.on_request(hyper::body::Body::is_end_stream(req.body()));
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            let body = RequestBody::new(body, tracker.clone(), body_timeout);
            let req = hyper::Request::from_parts(parts, axum::body::Body::new(body));
            let (app, tracker) = (app.clone(), tracker.clone());
            async move {
                let Ok(res) = app.oneshot(req).await;
                Ok::<_, Infallible>(res.map(|b| ResponseBody::new(b, tracker)))
            }
        })
    };
    let mut conn =
        Box::pin(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
    let sleep = tokio::time::sleep(NEVER);
    tokio::pin!(sleep);
    let mut told_to_close = false;
    let ended = loop {
        if !told_to_close && tracker.closing() {
            // Keep-alive off: hyper closes once the answer in progress (if any) is sent.
            conn.as_mut().graceful_shutdown();
            told_to_close = true;
        }
        let until = match tracker.next(&limits, Instant::now()) {
            Next::Close(why) => break Err(why),
            Next::Until(t, _) => t,
            Next::Serve => Instant::now() + NEVER,
        };
        sleep.as_mut().reset(until);
        tokio::select! {
            _ = conn.as_mut() => break Ok(()),
            _ = tracker.changed.notified() => {}
            _ = sleep.as_mut() => {}
        }
    };
    drop(conn);
    let leftover = leftover.lock().unwrap_or_else(|p| p.into_inner()).take();
    match ended {
        Ok(()) => {
            if let Some(l) = leftover {
                linger(l, &tracker).await;
            }
        }
        Err(why) => {
            tracing::debug!(%peer, reason = why, "connection closed by the server");
            metrics::counter!("http_connections_closed_total", "reason" => why).increment(1);
        }
    }
    open.remove(tracker.id);
}

/// Ends a close the server decided with input unread: sends what is left of the answer, shuts
/// its side, and reads what the client still sends for a moment (a shutdown's deadline cuts
/// it short), so that the answer reaches the client instead of a reset.
async fn linger(l: Leftover, tracker: &Tracker) {
    let mut until = Instant::now() + LINGER;
    if let Some(Closing { until: Some(t), .. }) = tracker.state().closing {
        until = until.min(t);
    }
    let Leftover { mut stream, answer } = l;
    let _ = tokio::time::timeout_at(until, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 8192];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> HttpLimits {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 10,
            shutdown_grace: Duration::from_secs(30),
        }
    }

    fn at(t: &Tracker) -> Instant {
        match t.state().phase {
            Phase::Waiting { since, .. } | Phase::Head { since, .. } => since,
            Phase::Request { .. } => panic!("no start in a request"),
        }
    }

    #[test]
    fn each_state_has_its_deadline() {
        let l = limits();
        let t = Tracker::new(1);
        let start = at(&t);
        // Silent since it connected: the header timeout.
        assert_eq!(
            t.next(&l, start),
            Next::Until(start + l.header_timeout, "header_timeout")
        );
        assert_eq!(
            t.next(&l, start + l.header_timeout),
            Next::Close("header_timeout")
        );
        // Its first bytes do not restart the clock.
        t.on_bytes();
        assert_eq!(at(&t), start);
        // A request being served has no deadline here (its body has its own).
        t.on_request(false);
        assert_eq!(t.next(&l, start + NEVER), Next::Serve);
        t.on_body_done();
        t.on_answered();
        assert!(!t.lingers());
        // Kept alive: the idle timeout, then the header timeout from the next first byte.
        let idle = at(&t);
        assert_eq!(
            t.next(&l, idle),
            Next::Until(idle + l.idle_timeout, "idle_timeout")
        );
        t.on_bytes();
        let head = at(&t);
        assert!(head >= idle);
        assert_eq!(
            t.next(&l, head),
            Next::Until(head + l.header_timeout, "header_timeout")
        );
    }

    #[test]
    fn an_answer_before_the_body_ended_lingers() {
        let t = Tracker::new(1);
        t.on_request(false);
        t.on_answered();
        assert!(t.lingers());
        // The next request starts afresh.
        t.on_request(true);
        assert!(!t.lingers());
    }

    #[test]
    fn eviction_spares_requests_and_closes_silent_connections_at_once() {
        let l = limits();
        let busy = Tracker::new(1);
        busy.on_request(true);
        assert!(!busy.evict());
        let silent = Tracker::new(2);
        assert!(silent.evict());
        assert!(!silent.evict(), "once");
        assert_eq!(silent.next(&l, Instant::now()), Next::Close("evicted"));
        // A kept-alive one gets a moment to flush its last answer.
        let kept = Tracker::new(3);
        kept.on_request(true);
        kept.on_answered();
        assert!(kept.evict());
        assert!(matches!(
            kept.next(&l, Instant::now()),
            Next::Until(_, "evicted")
        ));
    }

    #[test]
    fn shutdown_finishes_complete_requests_and_drops_the_rest() {
        let l = limits();
        let now = Instant::now();
        let until = now + l.shutdown_grace;
        let complete = Tracker::new(1);
        complete.on_request(false);
        complete.on_body_done();
        let arriving = Tracker::new(2);
        arriving.on_request(false);
        let half_head = Tracker::new(3);
        half_head.on_bytes();
        for t in [&complete, &arriving, &half_head] {
            t.stop(until);
        }
        assert_eq!(complete.next(&l, now), Next::Until(until, "shutdown"));
        assert_eq!(complete.next(&l, until), Next::Close("shutdown"));
        assert_eq!(arriving.next(&l, now), Next::Close("shutdown"));
        assert_eq!(half_head.next(&l, now), Next::Close("shutdown"));
    }
}
