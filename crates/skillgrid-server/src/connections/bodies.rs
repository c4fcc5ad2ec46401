//! The bodies between hyper and the router, which tell the connection's state how a request
//! goes: the request body ends (or stops arriving in time: [`BodyTimeout`]), and hyper is done
//! with the answer.

use super::conn::Tracker;
use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

type BoxError = Box<dyn Error + Send + Sync>;

/// The request body did not arrive in full within the body timeout.
#[derive(Debug)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {:?} of its headers",
            self.0
        )
    }
}

impl Error for BodyTimeout {}

/// The body timeout behind an error of reading a body, through the layers that wrap it.
pub fn is_body_timeout<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a BodyTimeout> {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<BodyTimeout>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

/// A request body that must end within the body timeout of its head's arrival.
pub(super) struct RequestBody {
    inner: Incoming,
    tracker: Arc<Tracker>,
    limit: Duration,
    deadline: Instant,
    /// Set on the first wait for data, so that a body that is there at once costs no timer.
    timer: Option<Pin<Box<Sleep>>>,
    done: bool,
}

impl RequestBody {
    pub(super) fn new(inner: Incoming, tracker: Arc<Tracker>, limit: Duration) -> Self {
        RequestBody {
            inner,
            tracker,
            limit,
            deadline: Instant::now() + limit,
            timer: None,
            done: false,
        }
    }

    fn ended(&mut self) {
        if !self.done {
            self.done = true;
            self.tracker.on_body_done();
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.ended();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if this.inner.is_end_stream() {
                    this.ended();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Pending => {
                let deadline = this.deadline;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(this.limit))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body; hyper drops it once it has taken all of it.
pub(super) struct ResponseBody {
    inner: axum::body::Body,
    tracker: Arc<Tracker>,
}

impl ResponseBody {
    pub(super) fn new(inner: axum::body::Body, tracker: Arc<Tracker>) -> Self {
        ResponseBody { inner, tracker }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.tracker.on_answered();
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
