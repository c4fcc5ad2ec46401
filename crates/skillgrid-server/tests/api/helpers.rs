//! `spawn_app()`: a real server on a loopback port over a fresh SQLite file, and a client
//! that speaks HTTP to it.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use skillgrid_server::bootstrap;
use skillgrid_store::{DynStore, OrgId};
use std::sync::Once;
use uuid::Uuid;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: DynStore,
    pub org: OrgId,
    /// A token of the bootstrap client: every scope.
    pub token: String,
    pub client_id: skillgrid_store::ClientId,
    pub client_secret: String,
    pub db_url: String,
    _server: skillgrid_testkit::TestServer,
    _db: TestDb,
}

/// The answer to one request.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem's entries as (pointer-or-locator, code) pairs.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let loc = ["pointer", "header", "query", "path"]
                            .iter()
                            .find_map(|k| e[*k].as_str().map(|v| format!("{k}:{v}")))
                            .unwrap_or_default();
                        (loc, e["code"].as_str().unwrap_or_default().to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_test_writer()
                .init();
        }
    });
}

/// This suite is compiled twice: as `api` it runs on SQLite, as `api_postgres` on PostgreSQL.
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME") == "api_postgres"
}

pub use skillgrid_testkit::TestDb;

/// A route whose answer to a good request never ends (the event stream): tests that read
/// every route's whole answer leave it out (`events.rs` reads it).
pub fn is_stream(path: &str, method: &Method) -> bool {
    *method == Method::GET && path.ends_with("/events/stream")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&skillgrid_server::StateOptions::default()).await
}

/// [`spawn_app`] with the server's shared state built from `options` (what `skillgrid serve`
/// takes from its flags).
pub async fn spawn_app_with(options: &skillgrid_server::StateOptions) -> TestApp {
    init_logs();
    let db = skillgrid_testkit::test_db(on_postgres()).await;
    let db_url = db.url.clone();
    let server = skillgrid_testkit::spawn_server_with(&db_url, options).await;
    let boot = server.boot.clone();
    let (base, store) = (server.base.clone(), server.store.clone());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut app = TestApp {
        base,
        http,
        store,
        org: boot.org_id,
        token: String::new(),
        client_id: boot.client_id,
        client_secret: boot.client_secret.clone(),
        db_url,
        _server: server,
        _db: db,
    };
    app.token = app.token_for(boot.client_id, &boot.client_secret).await;
    app
}

impl TestApp {
    /// Runs SQL on the test database behind the server's back (to break it on purpose).
    pub async fn execute_sql(&self, sql: &str) {
        use sqlx::Connection;
        if on_postgres() {
            let mut c = sqlx::PgConnection::connect(&self.db_url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.db_url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn token_for(&self, id: skillgrid_store::ClientId, secret: &str) -> String {
        let r = self
            .http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id.to_string()),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A token of a new client of this organization holding only `scopes`.
    pub async fn token_with(&self, scopes: &[&str]) -> String {
        let c = bootstrap::create_client(
            &self.store,
            &self.org.to_string(),
            "limited",
            &scopes.join(" "),
        )
        .await
        .unwrap();
        self.token_for(c.client_id, &c.client_secret).await
    }

    /// A second organization and a token with every scope in it.
    pub async fn other_org(&self, name: &str) -> (OrgId, String) {
        let o = bootstrap::create_org(&self.store, name).await.unwrap();
        let c = bootstrap::create_client(
            &self.store,
            &o.org_id.to_string(),
            "other",
            &skillgrid_api::scopes::ALL.join(" "),
        )
        .await
        .unwrap();
        (
            o.org_id,
            self.token_for(c.client_id, &c.client_secret).await,
        )
    }

    /// Sends a request; `body` is sent as JSON unless `raw` is used.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = self.http.request(method, self.url(path));
        if let Some(t) = token {
            b = b.bearer_auth(t);
        }
        if let Some(v) = body {
            b = b
                .header("content-type", "application/json")
                .body(serde_json::to_vec(v).unwrap());
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        finish(b.send().await.expect("request sent")).await
    }

    /// Sends raw bytes with the given content type (None: no Content-Type header).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        bytes: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .body(bytes);
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        finish(b.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, Some(&self.token), None, &[])
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, Some(&self.token), Some(body), &[])
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::PUT, path, Some(&self.token), Some(body), &[])
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::PATCH, path, Some(&self.token), Some(body), &[])
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, Some(&self.token), None, &[])
            .await
    }

    pub async fn create_skill(&self, name: &str) -> Uuid {
        let r = self
            .post("/api/v2/admin/skills", &json!({"name": name}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn create_agent(&self, email: &str) -> Uuid {
        let r = self
            .post(
                "/api/v2/admin/users",
                &json!({"email": email, "name": email.split('@').next().unwrap()}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Lifts the organization's rate limit out of the way of a test that sends many requests.
    pub async fn lift_rate_limit(&self) {
        let r = self
            .patch(
                "/api/v2/organizations/settings",
                &json!({"rateLimit": {"requestsPerMinute": 1000000, "burst": 100000}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// The agent's skills (GET …/skills) body.
    pub async fn skills_of(&self, agent: Uuid) -> Value {
        let r = self
            .get(&format!("/api/v2/agents/users/{agent}/skills"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }

    /// Everything a failed write must leave untouched: version, set and history.
    pub async fn snapshot(&self, agent: Uuid) -> (Value, Value) {
        let skills = self.skills_of(agent).await;
        let history = self
            .get(&format!(
                "/api/v2/agents/users/{agent}/skills/history?limit=1000"
            ))
            .await;
        assert_eq!(history.status, 200, "{}", history.text);
        (skills, history.body)
    }
}

async fn finish(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

/// True for `2026-11-22T11:30:00.000Z`: RFC 3339 in UTC with exactly three fraction digits.
pub fn is_utc_millis(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Asserts an `application/problem+json` answer with `status` and `code`, a non-empty
/// detail, and the request id of the `X-Request-Id` header.
#[track_caller]
pub fn assert_problem(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct}: {}",
        r.text
    );
    assert_eq!(r.body["status"], status, "{}", r.text);
    assert_eq!(r.body["code"], code, "{}", r.text);
    assert!(
        r.body["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        r.text
    );
    assert!(
        r.body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        r.text
    );
    assert!(
        r.body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        r.text
    );
    let id = r.body["requestId"].as_str().unwrap_or_default();
    assert!(!id.is_empty(), "no requestId: {}", r.text);
    assert_eq!(r.header("x-request-id"), Some(id), "{}", r.text);
}
