//! `Idempotency-Key` on the bulk routes.
//!
//! The key is claimed in the database before the work starts (so a concurrent duplicate, on
//! this instance or another, gets 409), the fingerprint of client, method, path and body is
//! kept with it (another body → 422), and only a successful answer is stored for replay:
//! a request that failed validation can be corrected and sent again with the same key.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use skillgrid_api::{EntryCode, ErrorEntry, Locator, ProblemCode};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{ClientId, IdempotencyBegin};
use std::future::Future;

pub const HEADER: &str = "idempotency-key";

/// The key as sent: 1–255 visible ASCII characters.
pub fn key_header(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(HEADER) else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s) if (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => Ok(Some(s.to_string())),
        _ => Err(ApiError::one(
            ErrorEntry::new(Locator::Header("Idempotency-Key".into()), EntryCode::InvalidFormat, "Idempotency-Key must be 1 to 255 visible ASCII characters")
                .expected("a unique string per logical request, e.g. a UUID")
                .hint("generate a fresh UUID for each new request and reuse it only when retrying that request"),
        )),
    }
}

/// A bulk write as read before its work: `?dryRun`, the `Idempotency-Key`, the JSON body
/// within `max_body` bytes, and the path with its query that the key's fingerprint names.
pub struct BulkInput {
    pub dry_run: bool,
    pub key: Option<String>,
    pub bytes: Bytes,
    pub path: String,
}

impl BulkInput {
    /// Reads the request to `route` (its path, without the query).
    pub async fn read(
        route: &str,
        q: Option<String>,
        headers: &HeaderMap,
        body: Body,
        max_body: u64,
    ) -> ApiResult<Self> {
        let path = format!("{route}?{}", q.as_deref().unwrap_or_default());
        let dry_run = crate::routes::query(q, &["dryRun"])?.dry_run;
        let key = key_header(headers)?;
        crate::body::require_json(headers)?;
        let bytes = crate::body::read_bytes(headers, body, max_body).await?;
        Ok(BulkInput {
            dry_run,
            key,
            bytes,
            path,
        })
    }
}

/// What identifies a request: client, method, path with query, and body.
pub fn fingerprint(client: ClientId, method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [
        client.get().as_bytes().as_slice(),
        method.as_bytes(),
        path.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn json_response(status: u16, body: impl Into<Bytes>, replayed: bool) -> Response {
    let body: Bytes = body.into();
    let mut res = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        res.headers_mut()
            .insert("idempotency-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// A 200 JSON answer written out already, sent piece by piece (with its whole length).
fn pieces_response(pieces: Vec<Bytes>) -> Response {
    let mut res = Body::new(Pieces::new(pieces)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// A body of pieces whose whole length is known, so that it goes out with `Content-Length`.
struct Pieces {
    pieces: std::collections::VecDeque<Bytes>,
    left: u64,
}

impl Pieces {
    fn new(pieces: Vec<Bytes>) -> Self {
        let left = pieces.iter().map(|p| p.len() as u64).sum();
        Pieces {
            pieces: pieces.into(),
            left,
        }
    }
}

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let piece = self.pieces.pop_front();
        if let Some(p) = &piece {
            self.left -= p.len() as u64;
        }
        std::task::Poll::Ready(piece.map(|p| Ok(http_body::Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.left)
    }
}

/// 409: the first request with this key is still running.
pub fn key_in_use() -> ApiError {
    ApiError::new(
        ProblemCode::IdempotencyKeyInUse,
        "a request with this Idempotency-Key is still being processed; wait for it, then retry to get its answer",
    )
    .with_header(header::RETRY_AFTER, "1")
}

/// 422: the key was used with another request.
pub fn key_reused() -> ApiError {
    ApiError::new(
        ProblemCode::IdempotencyKeyReused,
        "this Idempotency-Key was used with a different request (client, method, path or body); use a new key for a new request",
    )
    .with_errors(vec![ErrorEntry::new(Locator::Header("Idempotency-Key".into()), EntryCode::InvalidFormat, "the key belongs to another request")])
}

/// Bytes handed to the connection at a time by [`streamed_json`].
const CHUNK: usize = 64 * 1024;

/// `io::Write` that sends what is written in chunks of about [`CHUNK`] bytes.
struct ChunkWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            // The client is gone: stop serializing.
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.write_all(b)?;
        Ok(b.len())
    }

    // serde_json writes every token with `write_all`: one copy and one length check each.
    #[inline]
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

/// An answer [`run`] can send: it writes its own JSON (a bulk answer is too large and too
/// regular to go through serde's general path).
pub trait JsonAnswer: Send + 'static + Sized {
    fn write_json<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()>;

    /// The JSON, if it is written out already, in pieces to be sent one after the other.
    fn into_pieces(self) -> Result<Vec<Bytes>, Self> {
        Err(self)
    }
}

/// A 200 JSON answer serialized while it is sent (on a blocking thread, chunk by chunk), so a
/// large bulk answer never exists whole in memory. Only answers that need not be kept for
/// replay are streamed.
fn streamed_json<T: JsonAnswer>(value: T) -> Response {
    let value = match value.into_pieces() {
        Ok(pieces) => return pieces_response(pieces),
        Err(value) => value,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            tx,
        };
        let done = value
            .write_json(&mut w)
            .and_then(|()| std::io::Write::flush(&mut w));
        if let Err(e) = done {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                tracing::error!(error = %e, "failed to serialize an answer");
                let _ = w.tx.blocking_send(Err(e));
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut res = Body::from_stream(stream).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Runs `work` at most once per key; answers 200 with its JSON.
pub async fn run<T: JsonAnswer>(
    state: &AppState,
    caller: &Caller,
    key: Option<String>,
    method: &str,
    path: &str,
    body: &[u8],
    work: impl Future<Output = ApiResult<T>>,
) -> ApiResult<Response> {
    let Some(key) = key else {
        return Ok(streamed_json(work.await?));
    };
    let fp = fingerprint(caller.client_id, method, path, body);
    let store = state.store();
    match store
        .idempotency_begin(caller.org_id, caller.client_id, &key, &fp, Timestamp::now())
        .await?
    {
        IdempotencyBegin::Replay { status, body } => Ok(json_response(status, body, true)),
        IdempotencyBegin::InProgress => Err(key_in_use()),
        IdempotencyBegin::Mismatch => Err(key_reused()),
        IdempotencyBegin::Fresh => {
            let result = async {
                // Kept for replay as one value: the pieces of one written out already are
                // joined, not written again.
                match work.await?.into_pieces() {
                    Ok(pieces) => Ok(pieces.concat()),
                    Err(answer) => {
                        let mut bytes = Vec::new();
                        answer.write_json(&mut bytes).map_err(ApiError::internal)?;
                        Ok::<_, ApiError>(bytes)
                    }
                }
            }
            .await;
            match result {
                Ok(bytes) => {
                    store
                        .idempotency_complete(caller.org_id, caller.client_id, &key, 200, &bytes)
                        .await?;
                    Ok(json_response(200, bytes, false))
                }
                Err(e) => {
                    // Failures are not kept: the client may fix the request and reuse the key.
                    if let Err(err) = store
                        .idempotency_abandon(caller.org_id, caller.client_id, &key)
                        .await
                    {
                        tracing::warn!(error = %err, "failed to release an idempotency key");
                    }
                    Err(e)
                }
            }
        }
    }
}
