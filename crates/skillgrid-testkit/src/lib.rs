//! Test support shared by every test binary of the workspace: a fresh database on SQLite or
//! PostgreSQL, and the real server started in-process on a loopback port.

use skillgrid_server::bootstrap::{self, NewClient};
use skillgrid_store::DynStore;

/// The PostgreSQL server of the tests: `SKILLGRID_TEST_POSTGRES_URL`, by default the one these
/// machines run. Unreachable means the tests fail: they are never skipped.
pub fn postgres_admin_url() -> String {
    std::env::var("SKILLGRID_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh, empty database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

/// A new SQLite file in a temporary directory, or a new database on the test PostgreSQL server.
pub async fn test_db(postgres: bool) -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    if !postgres {
        let url = format!("sqlite://{}", dir.path().join("skillgrid.db").display());
        return TestDb {
            url,
            _dir: dir,
            postgres: None,
        };
    }
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let name = format!("skillgrid_t_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin} (SKILLGRID_TEST_POSTGRES_URL) is not reachable: {e}")
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .expect("create test database");
    let _ = c.close().await;
    let base = admin.split('?').next().unwrap_or(&admin);
    let url = format!(
        "{}/{name}",
        &base[..base.rfind('/').expect("a database URL")]
    );
    TestDb {
        url,
        _dir: dir,
        postgres: Some((admin, name)),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async code: use a small runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            });
        })
        .join();
    }
}

/// The real server, serving in this process on a free loopback port until dropped.
pub struct TestServer {
    pub base: String,
    pub store: DynStore,
    /// The bootstrap client of the `default` organization (every scope).
    pub boot: NewClient,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    /// A bearer token of the bootstrap client (every scope of the `default` organization).
    pub async fn admin_token(&self) -> String {
        client_token(
            &self.base,
            &self.boot.client_id.to_string(),
            &self.boot.client_secret,
        )
        .await
    }
}

/// A bearer token from `POST {base}/oauth/token` for a client's id and secret; panics, naming
/// the answer, when the server gives none.
pub async fn client_token(base: &str, client_id: &str, secret: &str) -> String {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client");
    let r = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("POST /oauth/token");
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    match body["access_token"].as_str() {
        Some(t) if status.is_success() => t.to_string(),
        _ => panic!("no token for client {client_id}: {status} {body}"),
    }
}

/// Opens `db_url`, runs the first start (organization `default`, client `bootstrap`) and serves.
pub async fn spawn_server(db_url: &str) -> TestServer {
    spawn_server_with(db_url, &skillgrid_server::StateOptions::default()).await
}

/// [`spawn_server`] with the shared state built from `options` (what `skillgrid serve` takes
/// from its flags).
pub async fn spawn_server_with(
    db_url: &str,
    options: &skillgrid_server::StateOptions,
) -> TestServer {
    let store = skillgrid_store::open(db_url).await.expect("open store");
    let boot = bootstrap::first_start(&store)
        .await
        .expect("first start")
        .expect("empty database");
    let state = skillgrid_server::build_state_with(store.clone(), options)
        .await
        .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(skillgrid_server::serve(listener, state, async {
        let _ = rx.await;
    }));
    TestServer {
        base,
        store,
        boot,
        _shutdown: tx,
    }
}
