//! End-to-end tests of the real `skillgrid` binary: every test runs
//! it as a child process in a temporary directory and talks HTTP to it on 127.0.0.1 only.
//!
//! No test sleeps waiting for a server: the server's stderr is read line by line (with a
//! deadline) until it logs the address it listens on. Every child is killed when its guard is
//! dropped, also when a test fails half-way, and every wait is bounded.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_skillgrid");
/// Generous: a cold SQLite file, migrations and a busy CI machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

const ALL_SCOPES: [&str; 10] = [
    "admin:org:read",
    "admin:org:write",
    "admin:skill:read",
    "admin:skill:write",
    "admin:agent:read",
    "admin:agent:write",
    "admin:audit:read",
    "admin:webhook:read",
    "admin:webhook:write",
    "scim",
];

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

/// A `skillgrid` command with a clean environment: none of the variables the binary reads
/// leak in from the environment the tests run in.
fn skillgrid(cwd: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(cwd)
        .env_remove("SKILLGRID_DATABASE_URL")
        .env_remove("SKILLGRID_LISTEN")
        .env_remove("SKILLGRID_SIGNING_KEY")
        .env_remove("SKILLGRID_SIGNING_KEY_FILE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Kills (and reaps) the child when dropped, so that no server outlives its test.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl ChildGuard {
    fn spawn(mut cmd: Command) -> ChildGuard {
        ChildGuard(cmd.spawn().expect("failed to start the skillgrid binary"))
    }

    /// Waits at most `timeout` for the child to exit; kills it and panics otherwise.
    fn wait_timeout(&mut self, timeout: Duration, what: &str) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.0.kill();
                let _ = self.0.wait();
                panic!("`{what}` did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stream {
    Stdout,
    Stderr,
}

/// Sends every line of `pipe` to `tx` from a thread of its own; the channel disconnects
/// once every sender's pipe is closed (the child exited).
fn forward_lines(
    pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::Sender<(Stream, String)>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send((stream, line)).is_err() {
                break;
            }
        }
    });
}

/// What a finished one-shot command (`admin …`, `--help`) printed.
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `skillgrid ARGS` in `cwd` with `envs` to completion, bounded by [`COMMAND_TIMEOUT`].
fn run(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = skillgrid(cwd);
    cmd.args(args).envs(envs.iter().copied());
    let mut child = ChildGuard::spawn(cmd);
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let out = read_all(Box::new(child.0.stdout.take().unwrap()));
    let err = read_all(Box::new(child.0.stderr.take().unwrap()));
    let status = child.wait_timeout(COMMAND_TIMEOUT, &format!("skillgrid {}", args.join(" ")));
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `run` that must succeed; returns stdout parsed as one JSON value.
fn run_json(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Value {
    let out = run(cwd, args, envs);
    assert!(out.status.success(), "skillgrid {args:?} failed:\n{out:?}");
    assert_eq!(
        out.stdout.trim_end().lines().count(),
        1,
        "--json must print exactly one line:\n{out:?}"
    );
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out:?}"))
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// A running `skillgrid serve`.
struct Server {
    guard: ChildGuard,
    lines: Receiver<(Stream, String)>,
    /// Every line read so far, from both streams, in the order each stream printed them.
    log: Vec<(Stream, String)>,
    addr: SocketAddr,
    base: String,
}

impl Server {
    /// Starts `skillgrid serve ARGS` in `cwd` and reads its stderr until it logs the address
    /// it listens on.
    fn start(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut cmd = skillgrid(cwd);
        cmd.arg("serve").args(args).envs(envs.iter().copied());
        let mut guard = ChildGuard::spawn(cmd);
        let (tx, lines) = mpsc::channel();
        forward_lines(guard.0.stdout.take().unwrap(), Stream::Stdout, tx.clone());
        forward_lines(guard.0.stderr.take().unwrap(), Stream::Stderr, tx);

        let mut log = Vec::new();
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok((stream, line)) => {
                    let addr = (stream == Stream::Stderr)
                        .then(|| listening_addr(&line))
                        .flatten();
                    log.push((stream, line));
                    if let Some(addr) = addr {
                        break addr;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("serve {args:?} did not log its address within {START_TIMEOUT:?}; output:\n{}", show(&log))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = guard.wait_timeout(STOP_TIMEOUT, "serve");
                    panic!(
                        "serve {args:?} exited ({status}) before listening; output:\n{}",
                        show(&log)
                    )
                }
            }
        };
        assert!(addr.ip().is_loopback(), "listening on {addr}, not loopback");
        assert_ne!(addr.port(), 0, "port 0 must be replaced by the port picked");
        Server {
            guard,
            lines,
            log,
            addr,
            base: format!("http://{addr}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The bootstrap client's id and secret, if this start printed them.
    fn bootstrap_credentials(&self) -> Option<(Uuid, String)> {
        let find = |prefix: &str| {
            let found: Vec<&str> = self
                .log
                .iter()
                .filter(|(s, _)| *s == Stream::Stderr)
                .filter_map(|(_, l)| l.trim_start().strip_prefix(prefix))
                .map(str::trim)
                .collect();
            assert!(
                found.len() <= 1,
                "`{prefix}` printed {} times:\n{}",
                found.len(),
                show(&self.log)
            );
            found.first().map(|s| s.to_string())
        };
        let id = find("client id:");
        let secret = find("client secret:");
        match (id, secret) {
            (None, None) => None,
            (Some(id), Some(secret)) => {
                let id = Uuid::parse_str(&id).unwrap_or_else(|e| panic!("client id `{id}`: {e}"));
                assert!(
                    !secret.is_empty() && !secret.contains(' '),
                    "secret `{secret}`"
                );
                Some((id, secret))
            }
            _ => panic!(
                "only one of client id / client secret printed:\n{}",
                show(&self.log)
            ),
        }
    }

    /// Kills the server and returns everything it printed.
    fn kill(mut self) -> Vec<(Stream, String)> {
        let _ = self.guard.0.kill();
        let _ = self.guard.wait_timeout(STOP_TIMEOUT, "killed serve");
        self.drain();
        std::mem::take(&mut self.log)
    }

    /// Reads the rest of the output of an exited server (until both pipes close).
    fn drain(&mut self) {
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.log.push(l),
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => panic!("output pipes of the server stayed open"),
            }
        }
    }
}

/// The address in a `listening on http://ADDR` JSON log line (field `addr`).
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let v: Value = serde_json::from_str(line).ok()?;
    let fields = &v["fields"];
    let message = fields["message"].as_str()?;
    let rest = message.strip_prefix("listening on http://")?;
    let addr: SocketAddr = fields["addr"]
        .as_str()
        .unwrap_or_else(|| panic!("listening line without an `addr` field: {line}"))
        .parse()
        .unwrap_or_else(|e| panic!("bad addr in {line}: {e}"));
    assert_eq!(
        rest,
        addr.to_string(),
        "message and addr field disagree: {line}"
    );
    Some(addr)
}

fn show(log: &[(Stream, String)]) -> String {
    log.iter().map(|(s, l)| format!("[{s:?}] {l}\n")).collect()
}

fn sqlite_url(dir: &Path, file: &str) -> String {
    format!("sqlite://{}", dir.join(file).display())
}

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// HTTP (127.0.0.1 only)
// ---------------------------------------------------------------------------------------------

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

struct Resp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Resp {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
    }
}

async fn get(srv: &Server, path: &str, token: Option<&str>) -> Resp {
    let mut b = http().get(srv.url(path));
    if let Some(t) = token {
        b = b.bearer_auth(t);
    }
    into_resp(b.send().await.unwrap()).await
}

async fn post_json(srv: &Server, path: &str, token: &str, body: Value) -> Resp {
    let r = http()
        .post(srv.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    into_resp(r).await
}

async fn token_request(srv: &Server, id: &str, secret: &str) -> Resp {
    let r = http()
        .post(srv.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    into_resp(r).await
}

/// Obtains a token; returns it and the scopes it holds.
async fn token(srv: &Server, id: &str, secret: &str) -> (String, BTreeSet<String>) {
    let r = token_request(srv, id, secret).await;
    assert_eq!(r.status, 200, "token for {id}: {}", r.body);
    assert_eq!(r.body["token_type"], "Bearer", "{}", r.body);
    assert_eq!(r.body["expires_in"], 3600, "{}", r.body);
    let scopes = r.body["scope"]
        .as_str()
        .unwrap_or_else(|| panic!("no scope in {}", r.body))
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let t = r.body["access_token"].as_str().unwrap().to_string();
    assert!(!t.is_empty());
    (t, scopes)
}

/// Checks that `srv` grants a token to the client an admin command printed, with exactly
/// `scopes`.
async fn assert_client_scopes(srv: &Server, client: &Value, scopes: &[&str]) {
    let (_, granted) = token(
        srv,
        client["clientId"].as_str().unwrap(),
        client["clientSecret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(granted, scope_set(scopes), "{client}");
}

fn scope_set(s: &[&str]) -> BTreeSet<String> {
    s.iter().map(|s| s.to_string()).collect()
}

async fn assert_up(srv: &Server) {
    assert_eq!(get(srv, "/healthz", None).await.status, 200, "/healthz");
    assert_eq!(get(srv, "/readyz", None).await.status, 200, "/readyz");
}

fn items(r: &Resp) -> &Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {}", r.body))
}

// ---------------------------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn first_start_prints_the_bootstrap_secret_once_and_it_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "db.sqlite");
    let args = ["--listen", "127.0.0.1:0", "--database", db.as_str()];

    let srv = Server::start(dir.path(), &args, &[]);
    let (id, secret) = srv
        .bootstrap_credentials()
        .unwrap_or_else(|| panic!("no bootstrap credentials printed:\n{}", show(&srv.log)));
    assert_up(&srv).await;

    let (tok, scopes) = token(&srv, &id.to_string(), &secret).await;
    assert_eq!(
        scopes,
        scope_set(&ALL_SCOPES),
        "the bootstrap client holds every scope"
    );
    let wrong = token_request(&srv, &id.to_string(), "not-the-secret").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(wrong.body["error"], "invalid_client", "{}", wrong.body);

    // Something written before the restart must be there after it.
    let created = post_json(
        &srv,
        "/api/v2/admin/skills",
        &tok,
        json!({"name": "Billing"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);

    let log = srv.kill();
    let secret_lines: Vec<_> = log.iter().filter(|(_, l)| l.contains(&secret)).collect();
    assert_eq!(
        secret_lines.len(),
        1,
        "the secret must appear exactly once, on the `client secret:` line:\n{}",
        show(&log)
    );
    assert!(
        log.iter().all(|(s, _)| *s == Stream::Stderr),
        "serve prints nothing to stdout:\n{}",
        show(&log)
    );

    // Second start on the same database: no new client, nothing secret printed.
    let srv = Server::start(dir.path(), &args, &[]);
    assert_eq!(
        srv.bootstrap_credentials(),
        None,
        "printed again:\n{}",
        show(&srv.log)
    );
    assert_up(&srv).await;
    let (tok, scopes) = token(&srv, &id.to_string(), &secret).await;
    assert_eq!(scopes, scope_set(&ALL_SCOPES));
    let skills = get(&srv, "/api/v2/admin/skills", Some(&tok)).await;
    let names: Vec<_> = items(&skills).iter().map(|s| s["name"].clone()).collect();
    assert_eq!(names, vec![json!("Billing")]);

    let log = srv.kill();
    assert!(
        !log.iter()
            .any(|(_, l)| l.contains(&secret) || l.contains("client secret")),
        "a restart must not print a secret:\n{}",
        show(&log)
    );
}

/// Two `serve` processes on one new database: both must come up, and exactly one prints the
/// credentials (`first_start` treats losing the race for `default` as "not empty").
#[tokio::test]
async fn two_servers_starting_together_on_an_empty_database_create_one_bootstrap_client() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "db.sqlite");
    let args = ["--listen", "127.0.0.1:0", "--database", db.as_str()];
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Server::start(dir.path(), &args, &[]));
        let b = s.spawn(|| Server::start(dir.path(), &args, &[]));
        (a.join(), b.join())
    });
    let (a, b) = (a.expect("first server"), b.expect("second server"));
    let printed: Vec<_> = [&a, &b]
        .iter()
        .filter_map(|s| s.bootstrap_credentials())
        .collect();
    assert_eq!(
        printed.len(),
        1,
        "exactly one server prints credentials:\n{}\n{}",
        show(&a.log),
        show(&b.log)
    );
    let (id, secret) = &printed[0];
    for srv in [&a, &b] {
        assert_up(srv).await;
        token(srv, &id.to_string(), secret).await;
    }
}

#[tokio::test]
async fn without_database_it_creates_skillgrid_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!dir.path().join("skillgrid.db").exists());
    let srv = Server::start(dir.path(), &["--listen", "127.0.0.1:0"], &[]);
    assert!(
        dir.path().join("skillgrid.db").is_file(),
        "no skillgrid.db in the working directory; it holds {:?}",
        listing(dir.path())
    );
    let (id, secret) = srv.bootstrap_credentials().expect("bootstrap credentials");
    assert_up(&srv).await;
    token(&srv, &id.to_string(), &secret).await;
    drop(srv);

    // The admin commands default to the same file.
    let org = run_json(
        dir.path(),
        &["admin", "create-org", "--name", "acme", "--json"],
        &[],
    );
    assert_eq!(org["name"], "acme");
    let client = run_json(
        dir.path(),
        &[
            "admin",
            "create-client",
            "--org",
            "default",
            "--name",
            "x",
            "--scopes",
            "admin:skill:read",
            "--json",
        ],
        &[],
    );
    let srv = Server::start(dir.path(), &["--listen", "127.0.0.1:0"], &[]);
    assert_eq!(srv.bootstrap_credentials(), None);
    assert_client_scopes(&srv, &client, &["admin:skill:read"]).await;
}

#[tokio::test]
async fn demo_fills_an_empty_database_with_skills_and_agents() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "demo.sqlite");
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--database",
        db.as_str(),
        "--demo",
    ];
    let srv = Server::start(dir.path(), &args, &[]);
    let (id, secret) = srv.bootstrap_credentials().expect("bootstrap credentials");
    let (tok, _) = token(&srv, &id.to_string(), &secret).await;
    // The demo admin of the console, with its one-time password, printed once.
    let printed = |prefix: &str| -> Vec<String> {
        srv.log
            .iter()
            .filter(|(s, _)| *s == Stream::Stderr)
            .filter_map(|(_, l)| l.trim_start().strip_prefix(prefix))
            .map(|v| v.trim().to_string())
            .collect()
    };
    assert_eq!(
        printed("e-mail:"),
        ["admin@example.com"],
        "{}",
        show(&srv.log)
    );
    assert!(printed("password:")[0].len() >= 20, "{}", show(&srv.log));

    let skills = get(&srv, "/api/v2/admin/skills", Some(&tok)).await;
    let skill_count = items(&skills).len();
    assert!(skill_count > 0, "no demo skills: {}", skills.body);
    let users = get(&srv, "/api/v2/admin/users", Some(&tok)).await;
    let users = items(&users).clone();
    assert!(!users.is_empty(), "no demo agents");

    let mut with_skills = 0;
    for u in &users {
        let uid = u["id"].as_str().unwrap();
        let r = get(
            &srv,
            &format!("/api/v2/admin/users/{uid}/skills"),
            Some(&tok),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["skills"].as_array().is_some_and(|s| !s.is_empty()) {
            with_skills += 1;
        }
    }
    assert!(with_skills > 0, "no demo agent holds a skill");
    drop(srv);

    // On a database that is not empty, --demo adds nothing.
    let srv = Server::start(dir.path(), &args, &[]);
    assert_eq!(srv.bootstrap_credentials(), None);
    assert!(!show(&srv.log).contains("password:"), "{}", show(&srv.log));
    let (tok, _) = token(&srv, &id.to_string(), &secret).await;
    let skills = get(&srv, "/api/v2/admin/skills", Some(&tok)).await;
    assert_eq!(items(&skills).len(), skill_count, "--demo ran twice");
}

#[tokio::test]
async fn environment_variables_work_instead_of_flags() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "env.sqlite");
    let env = [
        ("SKILLGRID_DATABASE_URL", db.as_str()),
        ("SKILLGRID_LISTEN", "127.0.0.1:0"),
    ];
    let srv = Server::start(dir.path(), &[], &env);
    assert!(
        dir.path().join("env.sqlite").is_file(),
        "SKILLGRID_DATABASE_URL ignored"
    );
    assert!(
        !dir.path().join("skillgrid.db").exists(),
        "the default file was created"
    );
    let (id, secret) = srv.bootstrap_credentials().expect("bootstrap credentials");
    assert_up(&srv).await;
    token(&srv, &id.to_string(), &secret).await;

    // The admin commands read SKILLGRID_DATABASE_URL too (and run while the server does).
    let db_env = [("SKILLGRID_DATABASE_URL", db.as_str())];
    let org = run_json(
        dir.path(),
        &["admin", "create-org", "--name", "env-org", "--json"],
        &db_env,
    );
    let client = run_json(
        dir.path(),
        &[
            "admin",
            "create-client",
            "--org",
            "env-org",
            "--name",
            "c",
            "--scopes",
            "admin:org:read",
            "--json",
        ],
        &db_env,
    );
    assert_eq!(client["orgId"], org["orgId"]);
    assert!(
        !dir.path().join("skillgrid.db").exists(),
        "admin ignored SKILLGRID_DATABASE_URL"
    );
    let (tok, _) = token(
        &srv,
        client["clientId"].as_str().unwrap(),
        client["clientSecret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        get(&srv, "/api/v2/organizations/settings", Some(&tok))
            .await
            .status,
        200
    );
    drop(srv);

    // A flag wins over its environment variable.
    let other = sqlite_url(dir.path(), "flag.sqlite");
    let bad_env = [
        ("SKILLGRID_DATABASE_URL", db.as_str()),
        ("SKILLGRID_LISTEN", "127.0.0.1:1"),
    ];
    let srv = Server::start(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--database", other.as_str()],
        &bad_env,
    );
    assert_ne!(srv.addr.port(), 1);
    assert!(dir.path().join("flag.sqlite").is_file());
    assert!(
        srv.bootstrap_credentials().is_some(),
        "flag.sqlite is a new, empty database"
    );
}

#[tokio::test]
async fn serve_fails_clearly_when_it_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "db.sqlite");

    // A port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(
        dir.path(),
        &["serve", "--listen", &addr, "--database", &db],
        &[],
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(
        out.stderr.contains(&addr),
        "should name the address:\n{out:?}"
    );

    // A database URL of an unknown kind.
    let out = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "mysql://localhost/x",
        ],
        &[],
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(
        out.stderr.contains("sqlite://"),
        "should say what is expected:\n{out:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "db.sqlite");
    let mut srv = Server::start(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--database", &db],
        &[],
    );
    assert_up(&srv).await;
    let pid = srv.guard.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = srv.guard.wait_timeout(STOP_TIMEOUT, "serve after SIGTERM");
    srv.drain();
    assert!(
        status.success(),
        "exit {status} after SIGTERM:\n{}",
        show(&srv.log)
    );
    assert!(
        srv.log.iter().any(|(_, l)| l.contains("stopped")),
        "no `stopped` log line:\n{}",
        show(&srv.log)
    );
}

// ---------------------------------------------------------------------------------------------
// admin
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_commands_work_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "db.sqlite");
    let srv = Server::start(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--database", &db],
        &[],
    );
    let (boot_id, boot_secret) = srv.bootstrap_credentials().expect("bootstrap credentials");
    let (boot, _) = token(&srv, &boot_id.to_string(), &boot_secret).await;
    let created = post_json(
        &srv,
        "/api/v2/admin/skills",
        &boot,
        json!({"name": "Default only"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);

    // RUST_BACKTRACE set, as many developers have it: errors must still be one clear line.
    let admin = |args: &[&str]| {
        let mut a = vec!["admin"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--database", &db]);
        let out = run(dir.path(), &a, &[("RUST_BACKTRACE", "1")]);
        if !out.status.success() {
            assert!(out.stderr.starts_with("error: "), "{out:?}");
            assert!(!out.stderr.contains("backtrace"), "{out:?}");
        }
        out
    };
    let admin_json = |args: &[&str]| {
        let mut a = vec!["admin"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--database", &db, "--json"]);
        run_json(dir.path(), &a, &[])
    };

    // create-org
    let org = admin_json(&["create-org", "--name", "acme"]);
    assert_eq!(keys(&org), BTreeSet::from(["orgId", "name"]), "{org}");
    assert_eq!(org["name"], "acme");
    let org_id = Uuid::parse_str(org["orgId"].as_str().unwrap()).expect("orgId is a UUID");
    assert_eq!(
        org["orgId"],
        org_id.hyphenated().to_string(),
        "lower-case hyphenated"
    );

    // create-client, ORG by name
    let client = admin_json(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        "importer",
        "--scopes",
        "admin:agent:read admin:skill:read",
    ]);
    assert_eq!(
        keys(&client),
        BTreeSet::from(["clientId", "clientSecret", "orgId", "scopes"]),
        "{client}"
    );
    Uuid::parse_str(client["clientId"].as_str().unwrap()).expect("clientId is a UUID");
    assert!(
        client["clientSecret"]
            .as_str()
            .is_some_and(|s| s.len() >= 16),
        "{client}"
    );
    assert_eq!(client["orgId"], org["orgId"]);
    assert_eq!(
        client["scopes"],
        json!(["admin:agent:read", "admin:skill:read"])
    );

    // ORG by id (in any case)
    let by_id = admin_json(&[
        "create-client",
        "--org",
        &org_id.to_string().to_uppercase(),
        "--name",
        "reader",
        "--scopes",
        "admin:skill:read",
    ]);
    assert_eq!(by_id["orgId"], org["orgId"]);
    assert_eq!(by_id["scopes"], json!(["admin:skill:read"]));
    assert_ne!(by_id["clientId"], client["clientId"]);
    assert_ne!(by_id["clientSecret"], client["clientSecret"]);

    // The running server accepts the new clients, with exactly their scopes and their org.
    let (tok, scopes) = token(
        &srv,
        client["clientId"].as_str().unwrap(),
        client["clientSecret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(scopes, scope_set(&["admin:agent:read", "admin:skill:read"]));
    let skills = get(&srv, "/api/v2/admin/skills", Some(&tok)).await;
    assert!(
        items(&skills).is_empty(),
        "acme sees another org's skills: {}",
        skills.body
    );
    assert_eq!(
        get(&srv, "/api/v2/admin/users", Some(&tok)).await.status,
        200
    );

    let denied = post_json(&srv, "/api/v2/admin/skills", &tok, json!({"name": "Sales"})).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body["code"], "insufficient_scope", "{}", denied.body);
    assert!(
        denied
            .header("www-authenticate")
            .contains("insufficient_scope")
            && denied
                .header("www-authenticate")
                .contains("admin:skill:write"),
        "WWW-Authenticate: {}",
        denied.header("www-authenticate")
    );
    assert_eq!(
        get(&srv, "/api/v2/organizations/settings", Some(&tok))
            .await
            .status,
        403
    );
    let skills = get(&srv, "/api/v2/admin/skills", Some(&tok)).await;
    assert!(
        items(&skills).is_empty(),
        "the refused write wrote something"
    );

    let (tok2, scopes2) = token(
        &srv,
        by_id["clientId"].as_str().unwrap(),
        by_id["clientSecret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(scopes2, scope_set(&["admin:skill:read"]));
    assert_eq!(
        get(&srv, "/api/v2/admin/skills", Some(&tok2)).await.status,
        200
    );
    assert_eq!(
        get(&srv, "/api/v2/admin/users", Some(&tok2)).await.status,
        403
    );

    // An identity provider's client, whose tokens last a year; a lifetime out of bounds is
    // refused before any client is made.
    let idp = admin_json(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        "okta-scim",
        "--scopes",
        "scim",
        "--token-lifetime",
        "31536000",
    ]);
    let r = token_request(
        &srv,
        idp["clientId"].as_str().unwrap(),
        idp["clientSecret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.body["expires_in"], 31536000, "{}", r.body);
    let out = admin(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        "too-long",
        "--scopes",
        "scim",
        "--token-lifetime",
        "31536001",
    ]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("--token-lifetime"), "{out:?}");
    let out = admin(&["list-clients", "--org", "acme", "--json"]);
    assert!(!out.stdout.contains("too-long"), "{out:?}");

    // Without --json: human-readable, with the secret.
    let out = admin(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        "human",
        "--scopes",
        "admin:audit:read",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("client secret:"), "{out:?}");

    // Unknown scope: refused, naming it and the known scopes.
    let out = admin(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        "typo",
        "--scopes",
        "admin:skill:read admin:skills:write",
        "--json",
    ]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        out.stderr.contains("admin:skills:write") && out.stderr.contains("admin:skill:write"),
        "should name the unknown scope and list the known ones:\n{out:?}"
    );

    // Another product's scope: refused like any admin error, naming the product and the
    // skillgrid scope meant.
    let out = admin(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        "from-cxone",
        "--scopes",
        "admin:skill:read admin:users:write",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        out.stderr
            .contains("`admin:users:write` is a NICE CXone scope")
            && out.stderr.contains("use `admin:agent:write` instead")
            && !out.stderr.contains("unknown scope"),
        "should name the product and the skillgrid scope meant:\n{out:?}"
    );

    // Scopes may be separated by any whitespace or commas; one given twice is held once.
    let dup = admin_json(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        "dup",
        "--scopes",
        "admin:skill:read,admin:skill:read\tadmin:agent:read",
    ]);
    assert_eq!(
        dup["scopes"],
        json!(["admin:skill:read", "admin:agent:read"])
    );

    // An empty client name.
    let out = admin(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        " ",
        "--scopes",
        "admin:skill:read",
        "--json",
    ]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("name"), "{out:?}");

    // No scope at all.
    let out = admin(&[
        "create-client",
        "--org",
        "acme",
        "--name",
        "none",
        "--scopes",
        " ",
        "--json",
    ]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("scope"), "{out:?}");

    // Unknown org, by name and by id.
    for unknown in ["nope", &Uuid::new_v4().to_string()] {
        let out = admin(&[
            "create-client",
            "--org",
            unknown,
            "--name",
            "x",
            "--scopes",
            "admin:skill:read",
            "--json",
        ]);
        assert!(!out.status.success(), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        assert!(
            out.stderr.contains(unknown) && out.stderr.contains("organization"),
            "should say which organization was not found:\n{out:?}"
        );
    }

    // Duplicate org name.
    let out = admin(&["create-org", "--name", "acme", "--json"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        out.stderr.contains("acme") && out.stderr.contains("already exists"),
        "{out:?}"
    );

    // The server is still fine and the bootstrap client unaffected.
    assert_up(&srv).await;
    let skills = get(&srv, "/api/v2/admin/skills", Some(&boot)).await;
    assert_eq!(items(&skills).len(), 1);
}

/// The two admin commands, without `--database`.
const CREATE_ORG: [&str; 4] = ["admin", "create-org", "--name", "acme"];
const CREATE_CLIENT: [&str; 8] = [
    "admin",
    "create-client",
    "--org",
    "acme",
    "--name",
    "importer",
    "--scopes",
    "admin:org:read",
];

/// What the admin commands add to their refusal of a SQLite database, after the reason.
const SQLITE_HINT: &str = "; to use the server's database, run the command in the server's \
    working directory or pass --database sqlite:///path/to/skillgrid.db (or set \
    SKILLGRID_DATABASE_URL)";

/// Run where no database is, an admin command must not create one and fill it (the server
/// would never see what it made): it says where it looked, exits 1 and leaves no file.
/// The admin commands list, disable, enable and rotate API clients on the server's database
/// while it runs; each change holds for the server's next request.
#[tokio::test]
async fn admin_commands_manage_api_clients_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "clients.sqlite");
    let srv = Server::start(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--database", &db],
        &[],
    );
    let (boot_id, boot_secret) = srv.bootstrap_credentials().expect("bootstrap credentials");
    let admin = |args: &[&str]| {
        let mut a = vec!["admin"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--database", &db]);
        run(dir.path(), &a, &[])
    };
    let admin_json = |args: &[&str]| {
        let mut a = vec!["admin"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--database", &db, "--json"]);
        run_json(dir.path(), &a, &[])
    };
    let client = admin_json(&[
        "create-client",
        "--org",
        "default",
        "--name",
        "importer",
        "--scopes",
        "admin:skill:read",
    ]);
    let id = client["clientId"].as_str().unwrap().to_string();
    let secret = client["clientSecret"].as_str().unwrap().to_string();
    let (first, _) = token(&srv, &id, &secret).await;
    let skills = |t: String| {
        let srv = &srv;
        async move { get(srv, "/api/v2/admin/skills", Some(&t)).await.status }
    };
    assert_eq!(skills(first.clone()).await, 200);

    // Listed, oldest first, without secrets; as text too.
    let listed = admin_json(&["list-clients", "--org", "default"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["clientId"], boot_id.to_string());
    assert_eq!(listed[1]["clientId"], id.as_str());
    assert_eq!(
        keys(&listed[1]),
        BTreeSet::from([
            "clientId",
            "name",
            "scopes",
            "active",
            "createdAt",
            "secretCreatedAt"
        ])
    );
    assert_eq!(listed[1]["scopes"], json!(["admin:skill:read"]));
    let text = admin(&["list-clients", "--org", "default"]);
    assert!(text.status.success(), "{text:?}");
    assert!(
        text.stdout.contains(&id) && text.stdout.contains("importer"),
        "{text:?}"
    );
    assert!(!text.stdout.contains(&secret), "{text:?}");

    // Disabled by name: the token it holds is refused by the running server's next request.
    let out = admin(&["disable-client", "--org", "default", "--client", "importer"]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("disabled"), "{out:?}");
    assert_eq!(skills(first.clone()).await, 401);
    assert_eq!(token_request(&srv, &id, &secret).await.status, 401);
    let listed = admin_json(&["list-clients", "--org", "default"]);
    assert_eq!(listed[1]["active"], false);

    // Enabled by id: a new token works, the one from before stays refused.
    let out = admin(&["enable-client", "--org", "default", "--client", &id]);
    assert!(out.status.success(), "{out:?}");
    let (second, _) = token(&srv, &id, &secret).await;
    assert_eq!(skills(second.clone()).await, 200);
    assert_eq!(skills(first).await, 401);

    // Rotated: the new secret is printed once; the old one and its tokens stop working.
    let rotated = admin_json(&["rotate-secret", "--org", "default", "--client", &id]);
    assert_eq!(
        keys(&rotated),
        BTreeSet::from(["clientId", "clientSecret", "orgId", "scopes"])
    );
    let new_secret = rotated["clientSecret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(token_request(&srv, &id, &secret).await.status, 401);
    assert_eq!(skills(second).await, 401);
    let (third, _) = token(&srv, &id, new_secret).await;
    assert_eq!(skills(third).await, 200);
    let text = admin(&["rotate-secret", "--org", "default", "--client", "importer"]);
    assert!(text.status.success(), "{text:?}");
    assert!(text.stdout.contains("not shown again"), "{text:?}");

    // Mistakes name what is wrong.
    for (args, says) in [
        (
            vec!["disable-client", "--org", "default", "--client", "nobody"],
            "no client with id or name `nobody`",
        ),
        (
            vec!["disable-client", "--org", "nowhere", "--client", "importer"],
            "no organization",
        ),
    ] {
        let out = admin(&args);
        assert!(!out.status.success(), "{out:?}");
        assert!(out.stderr.contains(says), "{out:?}");
    }
    admin_json(&[
        "create-client",
        "--org",
        "default",
        "--name",
        "importer",
        "--scopes",
        "admin:org:read",
    ]);
    let out = admin(&["rotate-secret", "--org", "default", "--client", "importer"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("give the client's id"), "{out:?}");
    // Every change is in the clients' audit log, made by the admin commands.
    let (boot_token, _) = token(&srv, &boot_id.to_string(), &boot_secret).await;
    let audit = get(&srv, "/api/v2/audit/clients", Some(&boot_token)).await;
    let actions: Vec<(&str, &str)> = items(&audit)
        .iter()
        .filter(|e| e["clientId"] == id.as_str())
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["requestId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("created", "admin-cli"),
            ("updated", "admin-cli"),
            ("updated", "admin-cli"),
            ("secretRotated", "admin-cli"),
            ("secretRotated", "admin-cli"),
        ]
    );
}

#[tokio::test]
async fn admin_commands_refuse_to_create_a_sqlite_database_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    let absolute = sqlite_url(&root, "absolute.db");
    let refused = |args: &[&str], envs: &[(&str, &str)], reason: &str, create: &str| {
        for command in [&CREATE_ORG[..], &CREATE_CLIENT] {
            let mut all = command.to_vec();
            all.extend_from_slice(args);
            let out = run(&root, &all, envs);
            assert_eq!(out.status.code(), Some(1), "{all:?}: {out:?}");
            assert_eq!(out.stdout, "", "{all:?}");
            assert_eq!(
                out.stderr,
                format!("error: {reason}{SQLITE_HINT}{create}\n"),
                "{all:?}"
            );
        }
    };
    let create_new = "; to create a new database there, add --create-database";
    let missing = |file: &str| format!("no database file at {}", root.join(file).display());
    // The default, a relative and an absolute path, from the flag or the environment, also
    // with a URL that asks SQLite to create the file.
    refused(&[], &[], &missing("skillgrid.db"), create_new);
    refused(
        &["--database", "sqlite://sub/relative.db"],
        &[],
        &missing("sub/relative.db"),
        create_new,
    );
    refused(
        &["--database", &absolute],
        &[],
        &missing("absolute.db"),
        create_new,
    );
    refused(
        &[],
        &[("SKILLGRID_DATABASE_URL", "sqlite://env.db?mode=rwc")],
        &missing("env.db"),
        create_new,
    );
    // An in-memory database is always new: there is nothing to offer to create.
    refused(
        &["--database", "sqlite::memory:"],
        &[],
        "an in-memory SQLite database holds no skillgrid database",
        "",
    );
    assert_eq!(listing(&root), ["sub"], "a refusal left a file behind");
    assert!(listing(&root.join("sub")).is_empty());

    // A file that is there but is no skillgrid database is left exactly as it was.
    std::fs::write(root.join("skillgrid.db"), "").unwrap();
    refused(
        &[],
        &[],
        &format!(
            "the SQLite file {} holds no skillgrid database",
            root.join("skillgrid.db").display()
        ),
        "; to set up skillgrid's tables in that file, add --create-database",
    );
    assert_eq!(listing(&root), ["skillgrid.db", "sub"]);
    assert_eq!(std::fs::read(root.join("skillgrid.db")).unwrap(), b"");
    std::fs::remove_file(root.join("skillgrid.db")).unwrap();

    // --create-database creates it on purpose; after that the flag is not needed, and it
    // changes nothing on a database that exists.
    let mut args = CREATE_ORG.to_vec();
    args.extend(["--create-database", "--json"]);
    let org = run_json(&root, &args, &[]);
    assert_eq!(org["name"], "acme");
    assert!(root.join("skillgrid.db").is_file());
    let mut args = CREATE_CLIENT.to_vec();
    args.push("--json");
    let client = run_json(&root, &args, &[]);
    assert_eq!(client["orgId"], org["orgId"]);
    let again = run_json(
        &root,
        &[
            "admin",
            "create-org",
            "--name",
            "beta",
            "--create-database",
            "--json",
        ],
        &[],
    );
    assert_ne!(again["orgId"], org["orgId"]);

    // A server on that file serves the client the admin command made.
    let srv = Server::start(&root, &["--listen", "127.0.0.1:0"], &[]);
    assert_eq!(
        srv.bootstrap_credentials(),
        None,
        "the database was not empty"
    );
    assert_client_scopes(&srv, &client, &["admin:org:read"]).await;
}

/// A PostgreSQL database that exists but has no skillgrid tables (a server never started on
/// it) is refused the same way, naming the database, and stays empty.
#[tokio::test]
async fn admin_commands_refuse_a_postgres_database_without_skillgrid_tables() {
    use sqlx::Connection;
    let db = skillgrid_testkit::test_db(true).await;
    let name = db.url.rsplit('/').next().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tables = || async {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        n
    };
    for command in [&CREATE_ORG[..], &CREATE_CLIENT] {
        let mut args = command.to_vec();
        args.extend(["--database", &db.url]);
        let out = run(dir.path(), &args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        assert_eq!(
            out.stderr,
            format!(
                "error: the PostgreSQL database `{name}` holds no skillgrid tables; to use the \
                 server's database, pass --database postgres://USER@HOST/DB naming the server's \
                 database (or set SKILLGRID_DATABASE_URL); to set up skillgrid's tables in that \
                 database, add --create-database\n"
            ),
            "{args:?}"
        );
    }
    assert_eq!(tables().await, 0, "a refusal created tables");
    assert!(
        listing(dir.path()).is_empty(),
        "a refusal left a file behind"
    );

    let mut args = CREATE_ORG.to_vec();
    args.extend(["--database", &db.url, "--create-database", "--json"]);
    let org = run_json(dir.path(), &args, &[]);
    assert!(tables().await > 0);
    let mut args = CREATE_CLIENT.to_vec();
    args.extend(["--database", &db.url, "--json"]);
    let client = run_json(dir.path(), &args, &[]);
    assert_eq!(client["orgId"], org["orgId"]);
    let srv = Server::start(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--database", &db.url],
        &[],
    );
    assert_client_scopes(&srv, &client, &["admin:org:read"]).await;
}

#[test]
fn admin_create_user_prints_a_one_time_password_once_or_reads_one() {
    let dir = tempfile::tempdir().unwrap();
    // Leaked, so that every argument list below is of `&'static str`.
    let db: &'static str = sqlite_url(dir.path(), "users.sqlite").leak();
    let db_args = ["--database", db, "--create-database"];
    let admin = |args: &[&'static str]| [&["admin"][..], args, &db_args].concat();
    run_json(
        dir.path(),
        &admin(&["create-org", "--name", "acme", "--json"]),
        &[],
    );

    let made = run_json(
        dir.path(),
        &admin(&[
            "create-user",
            "--org",
            "acme",
            "--email",
            "Ada@example.com",
            "--role",
            "editor",
            "--json",
        ]),
        &[],
    );
    assert_eq!(
        keys(&made),
        BTreeSet::from(["userId", "orgId", "email", "role", "password"])
    );
    assert_eq!(
        (made["email"].as_str(), made["role"].as_str()),
        (Some("Ada@example.com"), Some("editor"))
    );
    let password = made["password"].as_str().unwrap();
    assert!(password.len() >= 20, "{password}");

    // The same e-mail in another case is taken; an unknown role is refused by name.
    let again = run(
        dir.path(),
        &admin(&[
            "create-user",
            "--org",
            "acme",
            "--email",
            "ada@EXAMPLE.com",
            "--role",
            "viewer",
        ]),
        &[],
    );
    assert!(!again.status.success());
    assert!(again.stderr.contains("already has a user"), "{again:?}");
    let bad = run(
        dir.path(),
        &admin(&[
            "create-user",
            "--org",
            "acme",
            "--email",
            "b@example.com",
            "--role",
            "owner",
        ]),
        &[],
    );
    assert!(
        !bad.status.success() && bad.stderr.contains("owner"),
        "{bad:?}"
    );

    // --password-stdin reads one line and prints no password.
    let mut cmd = skillgrid(dir.path());
    cmd.args(admin(&[
        "create-user",
        "--org",
        "acme",
        "--email",
        "bo@example.com",
        "--role",
        "viewer",
        "--password-stdin",
        "--json",
    ]))
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long chosen password\nnot read\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let given: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        keys(&given),
        BTreeSet::from(["userId", "orgId", "email", "role"])
    );
    assert_eq!(given["orgId"], made["orgId"]);

    // Listed, then disabled and enabled by e-mail.
    let listed = run_json(
        dir.path(),
        &admin(&["list-users", "--org", "acme", "--json"]),
        &[],
    );
    let emails: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["Ada@example.com", "bo@example.com"]);
    assert_eq!(listed[0]["mustChangePassword"], true);
    let off = run(
        dir.path(),
        &admin(&["disable-user", "--org", "acme", "--email", "BO@example.com"]),
        &[],
    );
    assert!(off.status.success(), "{off:?}");
    let listed = run_json(
        dir.path(),
        &admin(&["list-users", "--org", "acme", "--json"]),
        &[],
    );
    assert_eq!(
        (listed[0]["active"].as_bool(), listed[1]["active"].as_bool()),
        (Some(true), Some(false))
    );
    let on = run(
        dir.path(),
        &admin(&["enable-user", "--org", "acme", "--email", "bo@example.com"]),
        &[],
    );
    assert!(on.status.success(), "{on:?}");

    // A user's own client is changed only with the user: not rotated or disabled on its own.
    let own = format!("console: {}", "Ada@example.com").leak();
    for command in ["rotate-secret", "disable-client"] {
        let refused = run(
            dir.path(),
            &admin(&[command, "--org", "acme", "--client", own]),
            &[],
        );
        assert!(!refused.status.success(), "{command}: {refused:?}");
        assert!(
            refused.stderr.contains("console user Ada@example.com"),
            "{command}: {refused:?}"
        );
    }
}

#[test]
fn help_texts_succeed_and_show_examples() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["admin", "--help"],
        &["admin", "create-org", "--help"],
        &["admin", "create-client", "--help"],
        &["admin", "list-clients", "--help"],
        &["admin", "disable-client", "--help"],
        &["admin", "enable-client", "--help"],
        &["admin", "rotate-secret", "--help"],
        &["admin", "create-user", "--help"],
        &["admin", "list-users", "--help"],
        &["admin", "disable-user", "--help"],
        &["admin", "enable-user", "--help"],
    ] {
        let out = run(dir.path(), args, &[]);
        assert!(out.status.success(), "skillgrid {args:?}:\n{out:?}");
        assert!(
            out.stdout.contains("Example"),
            "skillgrid {args:?} shows no example:\n{out:?}"
        );
    }
    for command in ["create-org", "create-client"] {
        let out = run(dir.path(), &["admin", command, "--help"], &[]);
        assert!(out.stdout.contains("--create-database"), "{out:?}");
        assert!(!out.stdout.contains("created if missing"), "{out:?}");
    }
    assert!(
        !dir.path().join("skillgrid.db").exists(),
        "--help must not create a database"
    );
}
