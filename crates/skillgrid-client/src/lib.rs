//! A typed async client of the skillgrid HTTP API (its reference is the server's `/docs`).
//!
//! - Authenticates with the OAuth 2.0 client-credentials grant at `POST /oauth/token`,
//!   caches the token until shortly before it expires, and fetches a new one once when a
//!   call answers 401.
//! - Maps `application/problem+json` answers to [`Error::Problem`] with every entry.
//! - Retries per [`RetryPolicy`]: 429 always (the server changed nothing), connection
//!   failures always (nothing was sent), 503 and other transport errors only for idempotent
//!   requests. Bulk calls always carry an `Idempotency-Key` (generated per call unless given)
//!   and reuse it on every retry of that call, so a retried bulk write happens once.
//!
//! ```no_run
//! # async fn run() -> skillgrid_client::Result<()> {
//! use skillgrid_client::{Client, NewSkill};
//! let client = Client::new("http://127.0.0.1:8080", "CLIENT_ID", "SECRET")?;
//! let billing = client.create_skill(&NewSkill::new("Billing")).await?;
//! # Ok(()) }
//! ```

mod api;
mod error;
mod requests;
mod retry;

pub use api::{BulkOutcome, Export};
pub use error::{Error, Result};
pub use requests::*;
pub use retry::RetryPolicy;
pub use skillgrid_api as types;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH};
use reqwest::{Method, StatusCode};
use skillgrid_api::TokenResponse;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The skillgrid API client. Cheap to clone: clones share the token cache and connections.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    retry: RetryPolicy,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    token_requests: AtomicU64,
    retries: AtomicU64,
}

struct CachedToken {
    access_token: String,
    refresh_at: Instant,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("client_id", &self.inner.client_id)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Counters of what the client did, for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests sent to `POST /oauth/token`.
    pub token_requests: u64,
    /// Requests sent again after a retryable failure (401 refreshes not included).
    pub retries: u64,
}

/// Configures a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    no_proxy: bool,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// Request only these scopes (space-separated) instead of all the client holds.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn max_attempts(mut self, n: u32) -> Self {
        self.retry.max_attempts = n.max(1);
        self
    }

    /// Timeout of one attempt, from sending to the end of the body (default 30 s; `None`: none).
    pub fn timeout(mut self, t: Option<Duration>) -> Self {
        self.timeout = t;
        self
    }

    /// Default 10 s.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Ignore proxy settings of the environment.
    pub fn no_proxy(mut self) -> Self {
        self.no_proxy = true;
        self
    }

    /// Use this `reqwest::Client` (the timeout and proxy settings above are then ignored).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    pub fn build(self) -> Result<Client> {
        let http = match self.http {
            Some(h) => h,
            None => {
                let mut b = reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .user_agent(concat!("skillgrid-client/", env!("CARGO_PKG_VERSION")));
                if let Some(t) = self.timeout {
                    b = b.timeout(t);
                }
                if self.no_proxy {
                    b = b.no_proxy();
                }
                b.build()?
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: self.base.trim_end_matches('/').to_string(),
                client_id: self.client_id,
                client_secret: self.client_secret,
                scope: self.scope,
                retry: self.retry,
                token: tokio::sync::Mutex::new(None),
                token_requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
            }),
        })
    }
}

/// One API request, kept so it can be sent again unchanged.
pub(crate) struct Call {
    pub method: Method,
    /// Below `/api/v2`, e.g. `/admin/skills`.
    pub path: String,
    pub query: requests::Query,
    pub body: Option<Vec<u8>>,
    pub if_match: Option<i64>,
    pub idempotency_key: Option<String>,
    /// A successful answer's body is left unread, for the caller to take as it comes.
    pub stream: bool,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            if_match: None,
            idempotency_key: None,
            stream: false,
        }
    }

    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = Some(serde_json::to_vec(body).expect("request bodies serialise"));
        self
    }

    pub fn query(mut self, q: requests::Query) -> Self {
        self.query.extend(q);
        self
    }

    pub fn dry_run(mut self, dry_run: bool) -> Self {
        if dry_run {
            self.query.push(("dryRun", "true".into()));
        }
        self
    }

    pub fn if_match(mut self, v: Option<i64>) -> Self {
        self.if_match = v;
        self
    }

    /// Safe to send twice: the same request has the same effect.
    fn idempotent(&self) -> bool {
        self.method != Method::POST || self.idempotency_key.is_some()
    }
}

/// A successful answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// A streamed call's answer, its body unread (see [`Call::stream`]).
    pub unread: Option<reqwest::Response>,
}

impl Answer {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::decode(
                self.status.as_u16(),
                format!("the body is not the expected JSON: {e}"),
                &self.body,
            )
        })
    }

    /// The version an `ETag: "N"` names.
    pub fn etag_version(&self) -> Option<i64> {
        let v = self.headers.get(ETAG)?.to_str().ok()?.trim();
        let v = v.strip_prefix("W/").unwrap_or(v);
        v.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
    }
}

impl Client {
    /// A client with the default settings; see [`Client::builder`].
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Client> {
        Self::builder(base_url, client_id, client_secret).build()
    }

    /// `base_url` is the server root (`http://host:port`), without `/api/v2`.
    pub fn builder(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            retry: RetryPolicy::default(),
            timeout: Some(Duration::from_secs(30)),
            connect_timeout: Duration::from_secs(10),
            no_proxy: false,
            http: None,
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            token_requests: self.inner.token_requests.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
        }
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Replaces the cached token (e.g. one shared by another process); it is used until
    /// `valid_for` has passed or the server refuses it.
    pub async fn set_token(&self, access_token: impl Into<String>, valid_for: Duration) {
        *self.inner.token.lock().await = Some(CachedToken {
            access_token: access_token.into(),
            refresh_at: Instant::now() + valid_for,
        });
    }

    /// Forgets the cached token; the next call fetches a new one.
    pub async fn clear_token(&self) {
        *self.inner.token.lock().await = None;
    }

    /// A valid access token: the cached one, or a new one from `POST /oauth/token`.
    pub async fn access_token(&self) -> Result<String> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if Instant::now() < t.refresh_at {
                return Ok(t.access_token.clone());
            }
        }
        // Fetched while holding the lock: concurrent callers wait for this one token.
        let fetched_at = Instant::now();
        let t = self.fetch_token().await?;
        let ttl = Duration::from_secs(t.expires_in);
        // Refresh shortly before expiry: a minute early, or half-way for short-lived tokens.
        let margin = Duration::from_secs(60).min(ttl / 2);
        *slot = Some(CachedToken {
            access_token: t.access_token.clone(),
            refresh_at: fetched_at + ttl - margin,
        });
        Ok(t.access_token)
    }

    async fn invalidate_token(&self, used: &str) {
        let mut slot = self.inner.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.access_token == used) {
            *slot = None;
        }
    }

    async fn fetch_token(&self) -> Result<TokenResponse> {
        let url = format!("{}/oauth/token", self.inner.base);
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("client_id", &self.inner.client_id),
            ("client_secret", &self.inner.client_secret),
        ];
        if let Some(s) = &self.inner.scope {
            form.push(("scope", s));
        }
        let mut failed = 0u32;
        loop {
            self.inner.token_requests.fetch_add(1, Ordering::Relaxed);
            let sent = self.inner.http.post(&url).form(&form).send().await;
            let (err, retry_after) = match sent {
                Err(e) => (Error::Transport(e), None),
                Ok(res) => {
                    let status = res.status();
                    let ra = error::retry_after(res.headers());
                    match res.bytes().await {
                        Err(e) => (Error::Transport(e), None),
                        Ok(body) if status.is_success() => {
                            return serde_json::from_slice(&body).map_err(|e| {
                                Error::decode(
                                    status.as_u16(),
                                    format!("the token answer is not a token: {e}"),
                                    &body,
                                )
                            })
                        }
                        Ok(body) => (Error::from_token_response(status.as_u16(), &body), ra),
                    }
                }
            };
            // The token request changes nothing: every transient failure may be retried.
            let transient = match &err {
                Error::Transport(_) => true,
                e => matches!(e.status(), Some(429 | 502 | 503 | 504)),
            };
            failed += 1;
            if !transient || failed >= self.inner.retry.max_attempts {
                return Err(err);
            }
            let Some(wait) = self.inner.retry.delay(failed, retry_after) else {
                return Err(err);
            };
            tracing::debug!(error = %err, ?wait, "token request failed; retrying");
            self.inner.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(&self, call: &Call, token: &str) -> Result<Answer, reqwest::Error> {
        let url = format!("{}/api/v2{}", self.inner.base, call.path);
        let mut b = self.inner.http.request(call.method.clone(), url);
        if !call.query.is_empty() {
            b = b.query(&call.query);
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
        auth.set_sensitive(true);
        b = b.header(AUTHORIZATION, auth);
        if let Some(v) = call.if_match {
            b = b.header(IF_MATCH, format!("\"{v}\""));
        }
        if let Some(k) = &call.idempotency_key {
            b = b.header("idempotency-key", k.as_str());
        }
        if let Some(body) = &call.body {
            b = b
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let res = b.send().await?;
        let status = res.status();
        let headers = res.headers().clone();
        if call.stream && status.is_success() {
            return Ok(Answer {
                status,
                headers,
                body: Vec::new(),
                unread: Some(res),
            });
        }
        let body = res.bytes().await?.to_vec();
        Ok(Answer {
            status,
            headers,
            body,
            unread: None,
        })
    }

    /// Sends `call`, refreshing the token once on 401 and retrying per the policy.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Answer> {
        let policy = &self.inner.retry;
        let idempotent = call.idempotent();
        let mut failed = 0u32;
        let mut refreshed = false;
        loop {
            let token = self.access_token().await?;
            let (err, retryable, retry_after) = match self.send_once(call, &token).await {
                Err(e) => {
                    // A failed connect sent nothing; anything later may have reached the server.
                    let retryable = e.is_connect() || idempotent;
                    (Error::Transport(e), retryable, None)
                }
                Ok(a) if a.status.is_success() => return Ok(a),
                Ok(a) => {
                    let err = Error::from_api_response(a.status.as_u16(), &a.headers, &a.body);
                    if a.status == StatusCode::UNAUTHORIZED && !refreshed {
                        // Expired or revoked signing key: get a new token and try once more.
                        refreshed = true;
                        self.invalidate_token(&token).await;
                        continue;
                    }
                    let retryable = match a.status.as_u16() {
                        429 => true,
                        503 => idempotent,
                        409 => {
                            call.idempotency_key.is_some()
                                && err.code() == Some("idempotency_key_in_use")
                        }
                        _ => false,
                    };
                    let ra = error::retry_after(&a.headers);
                    (err, retryable, ra)
                }
            };
            failed += 1;
            if !retryable || failed >= policy.max_attempts {
                return Err(err);
            }
            let Some(wait) = policy.delay(failed, retry_after) else {
                return Err(err);
            };
            tracing::debug!(
                method = %call.method, path = %call.path, attempt = failed,
                ?wait, error = %err, "retrying"
            );
            self.inner.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }
}
