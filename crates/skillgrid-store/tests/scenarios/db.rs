//! A fresh database for one scenario, of the kind the test binary runs on: a real file in a
//! temporary directory for SQLite, a database of its own on the server
//! `SKILLGRID_TEST_POSTGRES_URL` names for PostgreSQL (by default
//! `postgres://postgres@127.0.0.1:5432/test`), dropped at the end. Without a server the
//! PostgreSQL tests fail: they are never skipped.

use skillgrid_store::DynStore;
use sqlx::Connection;
use uuid::Uuid;

const URL_VAR: &str = "SKILLGRID_TEST_POSTGRES_URL";

/// This suite is compiled twice: in `sqlite` it runs on SQLite, in `postgres` on PostgreSQL.
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME") == "postgres"
}

/// A fresh database, removed when dropped (also when the test fails).
pub struct TestDb {
    pub url: String,
    /// The database's name on the PostgreSQL server, and the server's URL to drop it through.
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        if !on_postgres() {
            return TestDb {
                url: format!("sqlite://{}", dir.path().join("store.db").display()),
                postgres: None,
                _dir: dir,
            };
        }
        let admin_url = std::env::var(URL_VAR)
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {URL_VAR}={admin_url}: {e}"));
        let name = format!("skillgrid_t_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        conn.close().await.ok();
        let url = match admin_url.split_once('?') {
            Some((base, query)) => format!("{}/{name}?{query}", base_without_db(base)),
            None => format!("{}/{name}", base_without_db(&admin_url)),
        };
        TestDb {
            url,
            postgres: Some((name, admin_url)),
            _dir: dir,
        }
    }

    /// The database's name on the PostgreSQL server.
    // Only PostgreSQL's own tests name it; the SQLite binary compiles it unused.
    #[allow(dead_code)]
    pub fn name(&self) -> &str {
        &self.postgres.as_ref().expect("a PostgreSQL database").0
    }

    /// A store on this database; each call opens another, as another process would.
    pub async fn store(&self) -> DynStore {
        skillgrid_store::open(&self.url)
            .await
            .expect("open the store")
    }

    /// The number a counting statement returns, read behind the store's back.
    pub async fn count(&self, sql: &str) -> i64 {
        if on_postgres() {
            let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap();
            c.close().await.ok();
            n
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            let n = sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap();
            c.close().await.ok();
            n
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((name, admin_url)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async code (maybe while a test unwinds): a small runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !std::thread::panicking() {
            dropped
                .expect("drop the test database")
                .expect("drop the test database");
        }
    }
}

/// `postgres://user@host:port/db` without `/db`.
fn base_without_db(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}
