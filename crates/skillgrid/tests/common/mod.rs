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
    /// What it logged before it listened.
    pub log: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `skillgrid serve` on a free loopback port and waits for the address it logs.
pub fn start(db: &str) -> Server {
    start_with(db, &[], &[])
}

/// As [`start`], with more `serve` flags, and run through `wrap` (a command that runs the one
/// after it in its own process, e.g. `prlimit --nofile=1024:1024 --`) when not empty.
pub fn start_with(db: &str, flags: &[&str], wrap: &[&str]) -> Server {
    let bin = env!("CARGO_BIN_EXE_skillgrid");
    let mut cmd = match wrap.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", db])
        .args(flags);
    launch(cmd)
}

/// [`start`] with more arguments and environment variables.
pub fn start_with_env(db: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skillgrid"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", db])
        .args(args)
        .envs(env.iter().copied());
    launch(cmd)
}

/// Runs `cmd`, a `skillgrid serve` command (perhaps through a shell that `exec`s it), with
/// none of the server's variables from the tests' environment but those it sets, and waits
/// for the address it logs.
pub fn launch(mut cmd: Command) -> Server {
    for var in [
        "SKILLGRID_LISTEN",
        "SKILLGRID_DATABASE_URL",
        "SKILLGRID_SIGNING_KEY",
        "SKILLGRID_SIGNING_KEY_FILE",
    ] {
        if !cmd.get_envs().any(|(k, v)| k == var && v.is_some()) {
            cmd.env_remove(var);
        }
    }
    let mut child = cmd
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start skillgrid");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut before = Some(Vec::new());
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let addr: String = addr
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                let _ = tx.send((addr, before.take().unwrap_or_default()));
            } else if let Some(b) = before.as_mut() {
                b.push(line);
            }
        }
    });
    let (addr, log) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server did not start");
    Server {
        child,
        base: format!("http://{addr}"),
        log,
    }
}

#[allow(unused_imports)] // not every test binary needs it, as for the functions above
pub use skillgrid_testkit::test_db;

/// Opens the database at `url` and runs the first start: the store, and the bootstrap client
/// of the organization `default`.
pub async fn first_start(
    url: &str,
) -> (
    skillgrid_store::DynStore,
    skillgrid_server::bootstrap::NewClient,
) {
    let store = skillgrid_store::open(url).await.unwrap();
    let boot = skillgrid_server::bootstrap::first_start(&store)
        .await
        .unwrap()
        .expect("an empty database");
    (store, boot)
}

/// Sets an organization's rate limit, in the database behind the servers' back.
pub async fn set_rate_limit(
    store: &skillgrid_store::DynStore,
    org: skillgrid_store::OrgId,
    per_minute: u64,
    burst: u64,
) {
    let mut settings = store.settings(org).await.unwrap();
    settings.rate_limit.requests_per_minute = per_minute;
    settings.rate_limit.burst = burst;
    store
        .update_settings(org, &settings)
        .await
        .unwrap()
        .unwrap();
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

/// `POST /oauth/token` with a client's id and secret as form fields.
pub async fn token_request(
    http: &reqwest::Client,
    base: &str,
    client: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}

/// An access token of a client, from the server at `base`.
pub async fn token(
    http: &reqwest::Client,
    base: &str,
    client: skillgrid_store::ClientId,
    secret: &str,
) -> String {
    let r = token_request(http, base, &client.to_string(), secret).await;
    let body: serde_json::Value = r.json().await.unwrap();
    body["access_token"].as_str().expect("a token").to_string()
}

/// Runs `skillgrid ARGS --database DB` to its end (an admin command).
pub fn admin(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_skillgrid"))
        .args(args)
        .args(["--database", db])
        .env_remove("SKILLGRID_DATABASE_URL")
        .output()
        .unwrap()
}
