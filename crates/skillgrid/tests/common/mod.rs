//! Shared by the tests that run the real `skillgrid` binary: starting a server process on a
//! loopback port, and fresh databases on either backend.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `skillgrid serve` child process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `skillgrid serve` on a free loopback port and waits for the address it logs.
pub fn start(db: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skillgrid"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
        .env("RUST_LOG", "info")
        .env_remove("SKILLGRID_LISTEN")
        .env_remove("SKILLGRID_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start skillgrid");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let addr: String = addr
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server did not start");
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

/// The PostgreSQL server of the tests (`SKILLGRID_TEST_POSTGRES_URL`, by default the one these
/// machines run). Unreachable means the test fails; it is never skipped.
pub fn postgres_admin_url() -> String {
    std::env::var("SKILLGRID_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

pub async fn test_db(postgres: bool) -> TestDb {
    let dir = tempfile::tempdir().unwrap();
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
        .unwrap();
    let base = admin.split('?').next().unwrap_or(&admin).to_string();
    let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
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

/// A number from the database behind the server's back.
pub async fn scalar(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}
