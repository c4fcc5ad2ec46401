//! The socket as hyper sees it. Reads tell the connection's state that a request has begun;
//! the answer hyper writes itself to a head it refuses (a bare status, no body) is replaced by
//! a problem+json one; and a connection closed with input unread is handed back to its task,
//! which finishes the close (see `conn::linger`).

use super::conn::Tracker;
use super::refused;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A stream hyper is done with and the server still has to close: the rest of the answer to
/// send first.
pub(super) struct Leftover {
    pub stream: TcpStream,
    pub answer: Vec<u8>,
}

pub(super) struct Io {
    /// Always there until dropped.
    stream: Option<TcpStream>,
    tracker: Arc<Tracker>,
    leftover: Arc<Mutex<Option<Leftover>>>,
    /// The problem+json answer that replaces hyper's own; once set, hyper's writes are
    /// swallowed and the connection's task sends this instead.
    refusal: Option<Vec<u8>>,
}

impl Io {
    pub(super) fn new(
        stream: TcpStream,
        tracker: Arc<Tracker>,
        leftover: Arc<Mutex<Option<Leftover>>>,
    ) -> Self {
        Io {
            stream: Some(stream),
            tracker,
            leftover,
            refusal: None,
        }
    }

    fn stream(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(
            self.stream
                .as_mut()
                .expect("the stream is there until dropped"),
        )
    }

    /// Whether hyper's writes go nowhere: its answer to a refused head is being replaced.
    fn swallow(&mut self, first: &[u8]) -> bool {
        if self.refusal.is_none() {
            self.refusal = refused::replacement(first);
            if self.refusal.is_some() {
                self.tracker.refused();
            }
        }
        self.refusal.is_some()
    }

    /// The server closes this connection itself, after the answer (see [`Leftover`]).
    fn handed_back(&self) -> bool {
        self.refusal.is_some() || self.tracker.lingers()
    }
}

impl AsyncRead for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = self.stream().poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracker.on_bytes();
        }
        r
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.swallow(buf) {
            return Poll::Ready(Ok(buf.len()));
        }
        self.stream().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
        if self.swallow(first) {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        self.stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.refusal.is_some() {
            return Poll::Ready(Ok(()));
        }
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.handed_back() {
            return Poll::Ready(Ok(()));
        }
        self.stream().poll_shutdown(cx)
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        if !self.handed_back() {
            return;
        }
        if let Some(stream) = self.stream.take() {
            let answer = self.refusal.take().unwrap_or_default();
            *self.leftover.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Leftover { stream, answer });
        }
    }
}
