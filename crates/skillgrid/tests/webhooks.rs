//! Webhook deliveries end to end: real `skillgrid serve` processes deliver to a real consumer
//! on loopback (`webhook_receiver.py`), which verifies every delivery with the official
//! Standard Webhooks library and records it. What arrives is compared with the event feed.

mod common;

use common::Server;
use serde_json::{json, Value};
use skillgrid_core::model::{NewAgent, NewSkill};
use skillgrid_core::timestamp::Timestamp;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python interpreter that has the official `standardwebhooks` library, from the path
/// `STANDARDWEBHOOKS_PYTHON` names (`scripts/test` installs it); the test fails without it.
fn standardwebhooks_python() -> String {
    let path = std::env::var("STANDARDWEBHOOKS_PYTHON").unwrap_or_default();
    assert!(
        !path.is_empty() && std::path::Path::new(&path).exists(),
        "verifying webhook deliveries needs the official Python library: set \
         STANDARDWEBHOOKS_PYTHON to a python that has `standardwebhooks` installed (scripts/test \
         installs it: python3 -m venv target/ci-webhooks && target/ci-webhooks/bin/pip install \
         standardwebhooks==1.3.0, then STANDARDWEBHOOKS_PYTHON=$PWD/target/ci-webhooks/bin/python)"
    );
    path
}

/// The consumer: a `webhook_receiver.py` process on a fixed loopback port, stopped and started
/// again on the same port at will.
struct Receiver {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Receiver {
    fn new() -> Receiver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Receiver {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        r.start();
        r
    }

    fn start(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhook_receiver.py");
        let mut child = Command::new(standardwebhooks_python())
            .arg(script)
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "listening", "the receiver did not start");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn write(&self, name: &str, text: &str) {
        let tmp = self.dir.path().join(format!("{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, self.dir.path().join(name)).unwrap();
    }

    fn set_mode(&self, mode: &str) {
        self.write("mode", mode);
    }

    fn set_secrets(&self, secrets: &HashMap<String, Vec<String>>) {
        self.write("secrets.json", &serde_json::to_string(secrets).unwrap());
    }

    /// Every delivery so far, in arrival order.
    fn lines(&self) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("deliveries.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn lines_of(&self, path: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["path"] == path)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A database with an organization of `agents` agents and two skills, its bootstrap client.
struct Fixture {
    db: skillgrid_testkit::TestDb,
    agents: Vec<skillgrid_store::AgentId>,
    skills: Vec<uuid::Uuid>,
    client_id: skillgrid_store::ClientId,
    secret: String,
}

async fn fixture(postgres: bool, agents: usize) -> Fixture {
    let db = common::test_db(postgres).await;
    let (store, boot) = common::first_start(&db.url).await;
    common::set_rate_limit(&store, boot.org_id, 1_000_000, 1_000_000).await;
    let now = Timestamp::now();
    let mut skills = Vec::new();
    for name in ["Chat", "Voice"] {
        let new = NewSkill {
            name: name.into(),
            description: None,
        };
        skills.push(
            store
                .create_skill(boot.org_id, &new, now)
                .await
                .unwrap()
                .id
                .get(),
        );
    }
    let mut ids = Vec::new();
    for i in 0..agents {
        let a = NewAgent {
            email: format!("a{i}@example.com"),
            name: format!("Agent {i}"),
            external_id: None,
        };
        ids.push(store.create_agent(boot.org_id, &a, now).await.unwrap().id);
    }
    Fixture {
        db,
        agents: ids,
        skills,
        client_id: boot.client_id,
        secret: boot.client_secret,
    }
}

/// Serve flags of these tests: loopback consumers allowed, retries quick.
const FLAGS: &[&str] = &["--webhooks-allow-private", "--webhook-retry-base", "20ms"];

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(server: &Server, f: &Fixture) -> Api {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let token = common::token(&http, &server.base, f.client_id, &f.secret).await;
        Api {
            http,
            base: server.base.clone(),
            token,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a webhook, not active yet (see [`Api::activate`]); its id and secret.
    async fn create_webhook(&self, url: &str, types: Value) -> (String, String) {
        let (s, b) = self
            .send(
                reqwest::Method::POST,
                "/api/v2/webhooks",
                Some(json!({"url": url, "eventTypes": types, "active": false})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        (
            b["id"].as_str().unwrap().to_string(),
            b["secret"].as_str().unwrap().to_string(),
        )
    }

    async fn activate(&self, id: &str) {
        let (s, b) = self
            .send(
                reqwest::Method::PATCH,
                &format!("/api/v2/webhooks/{id}"),
                Some(json!({"active": true})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }

    /// Every delivery attempt of a webhook, newest first.
    async fn deliveries(&self, id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut path = format!("/api/v2/webhooks/{id}/deliveries?limit=1000");
        loop {
            let (s, b) = self.send(reqwest::Method::GET, &path, None).await;
            assert_eq!(s, 200, "{b}");
            out.extend(b["items"].as_array().unwrap().iter().cloned());
            match b["nextCursor"].as_str() {
                Some(c) => path = format!("/api/v2/webhooks/{id}/deliveries?limit=1000&cursor={c}"),
                None => return out,
            }
        }
    }

    async fn webhook(&self, id: &str) -> Value {
        let (s, b) = self
            .send(
                reqwest::Method::GET,
                &format!("/api/v2/webhooks/{id}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b
    }

    /// Every event of the organization of these types (all when empty), in sequence order.
    async fn events(&self, types: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let q = if types.is_empty() {
                String::new()
            } else {
                format!("&types={types}")
            };
            let (s, b) = self
                .send(
                    reqwest::Method::GET,
                    &format!("/api/v2/events?after={after}&limit=1000{q}"),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{b}");
            let items = b["items"].as_array().unwrap().clone();
            if items.is_empty() {
                return out;
            }
            after = items.last().unwrap()["sequence"].as_i64().unwrap();
            out.extend(items);
        }
    }

    /// One agent's skill set replaced by one skill at `value`.
    async fn single_write(&self, f: &Fixture, agent: usize, value: i64) -> u16 {
        let path = format!("/api/v2/agents/users/{}/skills", f.agents[agent]);
        let body = json!({"skills": [{"skillId": f.skills[0], "proficiency": value}]});
        self.send(reqwest::Method::PUT, &path, Some(body)).await.0
    }

    /// Every agent's skill set replaced in one atomic bulk write.
    async fn bulk(&self, f: &Fixture, value: i64) -> u16 {
        let items: Vec<Value> = f
            .agents
            .iter()
            .map(|a| {
                json!({"agentId": a, "skills": [{"skillId": f.skills[1], "proficiency": value}]})
            })
            .collect();
        let body = json!({"mode": "replace", "atomic": true, "items": items});
        let (s, b) = self
            .send(
                reqwest::Method::POST,
                "/api/v2/agents/skills/bulk",
                Some(body),
            )
            .await;
        assert!(s == 200 || s == 207, "{s}: {b}");
        s
    }
}

/// Runs a statement on the database behind the server's back.
async fn exec(url: &str, sql: &str) {
    use sqlx::Connection;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
}

/// Waits until `done` holds, or panics with `what` after `limit`.
async fn until<F, Fut>(limit: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Checks the deliveries to `path`: every one verified by the library (with each secret of
/// `secrets`' indexes that must verify it), one `webhook-id` per sequence number, the first
/// acceptance of each event in increasing sequence order, and exactly the events `expected`
/// (by sequence number) accepted. Returns how many deliveries there were.
fn check(lines: &[Value], expected: &BTreeSet<i64>) -> usize {
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut accepted = Vec::new();
    for l in lines {
        assert!(
            !l["verified"].as_array().unwrap().is_empty(),
            "a delivery that does not verify: {l}"
        );
        let id = l["id"].as_str().unwrap().to_string();
        let seq = l["sequence"].as_i64().unwrap();
        if let Some(before) = ids.insert(id.clone(), seq) {
            assert_eq!(before, seq, "one webhook-id for two events: {l}");
        }
        if l["status"] == 204 && !accepted.contains(&seq) {
            accepted.push(seq);
        }
    }
    assert!(
        accepted.windows(2).all(|w| w[0] < w[1]),
        "events accepted out of sequence order"
    );
    let got: BTreeSet<i64> = accepted.iter().copied().collect();
    let missing: Vec<_> = expected.difference(&got).take(10).collect();
    let extra: Vec<_> = got.difference(expected).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, not expected {extra:?}"
    );
    lines.len()
}

fn sequences(events: &[Value]) -> BTreeSet<i64> {
    events
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect()
}

/// 1,000 single writes and one bulk write of 10,000 agents: every `assignment.changed` event
/// arrives, verified, in order, none missing, and no other type (the endpoint takes only
/// that one; the 10,000 `agent.created` before it are passed over).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_committed_change_arrives_verified_in_order() {
    let f = fixture(false, 10_000).await;
    let receiver = Receiver::new();
    let server = common::start_with(&f.db.url, FLAGS, &[]);
    let api = Api::new(&server, &f).await;
    let (id, secret) = api
        .create_webhook(&receiver.url("/a"), json!(["assignment.changed"]))
        .await;
    receiver.set_secrets(&HashMap::from([("/a".to_string(), vec![secret])]));
    api.activate(&id).await;
    let api = std::sync::Arc::new(api);
    let f = std::sync::Arc::new(f);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (api, f) = (api.clone(), f.clone());
        tasks.push(tokio::spawn(async move {
            for i in (t..1000).step_by(8) {
                assert_eq!(api.single_write(&f, i, 3).await, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    api.bulk(&f, 2).await;
    let expected = sequences(&api.events("assignment.changed").await);
    assert_eq!(expected.len(), 11_000);
    until(Duration::from_secs(400), "every delivery", || {
        let n = receiver
            .lines_of("/a")
            .iter()
            .filter(|l| l["status"] == 204)
            .count();
        let want = expected.len();
        async move { n >= want }
    })
    .await;
    let lines = receiver.lines_of("/a");
    check(&lines, &expected);
    assert!(lines.iter().all(|l| l["type"] == "assignment.changed"));
}

/// The consumer answers 503 for a minute, then is not there for another: everything written
/// meanwhile arrives once it is back, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_down_for_two_minutes_gets_everything_in_order_when_back() {
    let f = fixture(false, 50).await;
    let mut receiver = Receiver::new();
    let server = common::start_with(&f.db.url, FLAGS, &[]);
    let api = Api::new(&server, &f).await;
    let (id, secret) = api.create_webhook(&receiver.url("/b"), json!(["*"])).await;
    receiver.set_secrets(&HashMap::from([("/b".to_string(), vec![secret])]));
    receiver.set_mode("503");
    api.activate(&id).await;
    let start = Instant::now();
    let mut value = 0;
    let mut agent = 0;
    while start.elapsed() < Duration::from_secs(60) {
        value = value % 5 + 1;
        assert_eq!(api.single_write(&f, agent % 50, value).await, 200);
        agent += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    receiver.stop();
    while start.elapsed() < Duration::from_secs(120) {
        value = value % 5 + 1;
        assert_eq!(api.single_write(&f, agent % 50, value).await, 200);
        agent += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let refused_meanwhile = api.webhook(&id).await;
    assert_eq!(refused_meanwhile["active"], true, "{refused_meanwhile}");
    assert_eq!(refused_meanwhile["deliveredThrough"], 0);
    receiver.set_mode("ok");
    receiver.start();
    let expected = sequences(&api.events("").await);
    until(Duration::from_secs(60), "the backlog", || {
        let got: BTreeSet<i64> = receiver
            .lines_of("/b")
            .iter()
            .filter(|l| l["status"] == 204)
            .map(|l| l["sequence"].as_i64().unwrap())
            .collect();
        let n = got.len();
        let want = expected.len();
        async move { n >= want }
    })
    .await;
    let lines = receiver.lines_of("/b");
    check(&lines, &expected);
    // The first event was tried many times while the consumer was away, every later one
    // only once it had been delivered.
    let first = *expected.first().unwrap();
    assert!(lines.iter().filter(|l| l["sequence"] == first).count() > 10);
    let items = api.deliveries(&id).await;
    assert!(items.iter().any(|d| d["statusCode"] == 503));
    assert!(items
        .iter()
        .any(|d| d["statusCode"].is_null() && d["error"].as_str().is_some()));
}

/// After a rotation with an overlap, every delivery verifies with the old secret and with the
/// new one, each on its own; after an immediate rotation, with the new one only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_rotations_overlap_deliveries_verify_with_either_secret() {
    let f = fixture(false, 20).await;
    let receiver = Receiver::new();
    let server = common::start_with(&f.db.url, FLAGS, &[]);
    let api = Api::new(&server, &f).await;
    let (id, old) = api.create_webhook(&receiver.url("/e"), json!(["*"])).await;
    let (s, b) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v2/webhooks/{id}/secret"),
            Some(json!({"overlapSeconds": 3600})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let new = b["secret"].as_str().unwrap().to_string();
    receiver.set_secrets(&HashMap::from([("/e".to_string(), vec![old, new.clone()])]));
    api.activate(&id).await;
    for i in 0..10 {
        assert_eq!(api.single_write(&f, i, 4).await, 200);
    }
    let expected = sequences(&api.events("").await);
    until(Duration::from_secs(60), "the deliveries", || {
        let n = receiver.lines_of("/e").len();
        let want = expected.len();
        async move { n >= want }
    })
    .await;
    let lines = receiver.lines_of("/e");
    check(&lines, &expected);
    for l in &lines {
        assert_eq!(l["verified"], json!([0, 1]), "{l}");
    }
    // Rotated again at once: the overlapping secret is dropped, only the newest signs.
    let (s, b) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v2/webhooks/{id}/secret"),
            Some(json!({"overlapSeconds": 0})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let newest = b["secret"].as_str().unwrap().to_string();
    receiver.set_secrets(&HashMap::from([("/e".to_string(), vec![new, newest])]));
    let before = lines.len();
    assert_eq!(api.single_write(&f, 15, 4).await, 200);
    until(Duration::from_secs(60), "the next delivery", || {
        let n = receiver.lines_of("/e").len();
        async move { n > before }
    })
    .await;
    let last = receiver.lines_of("/e").pop().unwrap();
    assert_eq!(last["verified"], json!([1]), "{last}");
}

/// A 410 disables the endpoint with the reason, its cursor where it was; a redirect is not
/// followed (and retried); `localhost` and metadata addresses are refused at delivery when
/// the server does not allow private addresses, and the attempt says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_redirects_are_not_followed_refused_destinations_are_not_sent_to() {
    let f = fixture(false, 20).await;
    let receiver = Receiver::new();
    let server = common::start_with(&f.db.url, FLAGS, &[]);
    let api = Api::new(&server, &f).await;
    let (gone, s1) = api
        .create_webhook(&receiver.url("/gone"), json!(["*"]))
        .await;
    let (moved, s2) = api
        .create_webhook(&receiver.url("/moved"), json!(["*"]))
        .await;
    receiver.set_secrets(&HashMap::from([
        ("/gone".to_string(), vec![s1]),
        ("/moved".to_string(), vec![s2]),
    ]));
    receiver.set_mode("410");
    api.activate(&gone).await;
    assert_eq!(api.single_write(&f, 0, 2).await, 200);
    until(Duration::from_secs(30), "the endpoint disabled", || async {
        api.webhook(&gone).await["active"] == false
    })
    .await;
    let w = api.webhook(&gone).await;
    assert!(w["disabledReason"].as_str().unwrap().contains("410"), "{w}");
    assert_eq!(w["deliveredThrough"], 0);
    // Redirects, now.
    receiver.set_mode("redirect");
    api.activate(&moved).await;
    until(Duration::from_secs(30), "redirected attempts", || {
        let n = receiver
            .lines_of("/moved")
            .iter()
            .filter(|l| l["status"] == 302)
            .count();
        async move { n >= 3 }
    })
    .await;
    assert!(receiver.lines_of("/elsewhere").is_empty());
    assert_eq!(api.webhook(&moved).await["deliveredThrough"], 0);
    // An https:// endpoint is spoken to in TLS: this plain HTTP consumer cannot answer it.
    let (tls, _) = api
        .create_webhook(
            &format!("https://127.0.0.1:{}/tls", receiver.port),
            json!(["*"]),
        )
        .await;
    api.activate(&tls).await;
    until(Duration::from_secs(30), "a failed TLS attempt", || async {
        let d = api.deliveries(&tls).await;
        !d.is_empty()
    })
    .await;
    let failed = api.deliveries(&tls).await.pop().unwrap();
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(failed["statusCode"].is_null(), "{failed}");
    assert!(
        error.starts_with("could not connect") && !error.contains("scheme"),
        "{failed}"
    );
    assert!(receiver.lines_of("/tls").is_empty());
    drop(server);

    // Without --webhooks-allow-private: an endpoint created under the flag, whose name
    // resolves to loopback, is refused at delivery and nothing is sent.
    let strict = common::start_with(&f.db.url, &["--webhook-retry-base", "20ms"], &[]);
    let api = Api::new(&strict, &f).await;
    receiver.set_mode("ok");
    let (s, _) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v2/webhooks/{gone}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let local = format!("http://localhost:{}/local", receiver.port);
    let sent_before = receiver.lines().len();
    // Made valid under the flag: change the stored URL behind the API's back.
    let hook = {
        let (s, b) = api
            .send(
                reqwest::Method::POST,
                "/api/v2/webhooks",
                Some(json!({"url": local})),
            )
            .await;
        assert_eq!(s, 400, "the API refuses it too: {b}");
        // The existing endpoint is pointed there in the database.
        moved.clone()
    };
    exec(
        &f.db.url,
        &format!("UPDATE webhooks SET url = '{local}', attempts = 0, next_attempt_at = 0, lease_owner = NULL, lease_until = NULL"),
    )
    .await;
    assert_eq!(api.single_write(&f, 1, 3).await, 200);
    let deliveries = format!("/api/v2/webhooks/{hook}/deliveries");
    let latest = || async {
        let (_, b) = api.send(reqwest::Method::GET, &deliveries, None).await;
        b["items"][0].clone()
    };
    until(Duration::from_secs(30), "a refused attempt", || async {
        latest().await["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused"))
    })
    .await;
    let refused = latest().await;
    assert!(refused["statusCode"].is_null(), "{refused}");
    assert_eq!(receiver.lines().len(), sent_before, "nothing was sent");
    // A metadata address, written as an address, is refused the same way.
    exec(
        &f.db.url,
        "UPDATE webhooks SET url = 'http://169.254.169.254/latest', attempts = 0, next_attempt_at = 0, lease_owner = NULL, lease_until = NULL",
    )
    .await;
    assert_eq!(api.single_write(&f, 2, 3).await, 200);
    until(
        Duration::from_secs(30),
        "a refused metadata attempt",
        || async {
            latest().await["error"]
                .as_str()
                .is_some_and(|e| e.contains("169.254.169.254"))
        },
    )
    .await;
}

/// Every event of the feed delivered to `path` (by sequence number), each with the id the feed
/// gives it; no delivery of an event the feed does not have.
fn check_against_feed(lines: &[Value], feed: &[Value]) {
    let ids: HashMap<i64, &str> = feed
        .iter()
        .map(|e| (e["sequence"].as_i64().unwrap(), e["id"].as_str().unwrap()))
        .collect();
    for l in lines {
        let seq = l["sequence"].as_i64().unwrap();
        assert_eq!(
            ids.get(&seq).copied(),
            l["id"].as_str(),
            "a delivery of no committed event: {l}"
        );
    }
    check(lines, &sequences(feed));
}

/// Deliveries to `path` accepted so far, by sequence number.
fn accepted(receiver: &Receiver, path: &str) -> BTreeSet<i64> {
    receiver
        .lines_of(path)
        .iter()
        .filter(|l| l["status"] == 204)
        .map(|l| l["sequence"].as_i64().unwrap())
        .collect()
}

/// The server killed with SIGKILL ten times while it writes and delivers: after each restart
/// every committed event is delivered (repeats keep their `webhook-id`), and nothing that was
/// not committed ever is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_writes_and_deliveries_loses_and_invents_nothing() {
    let f = std::sync::Arc::new(fixture(false, 100).await);
    let receiver = Receiver::new();
    receiver.write("delay_ms", "5");
    // A short lease, so a restarted server takes its endpoint back soon after a kill.
    let flags = [
        FLAGS,
        &["--webhook-lease", "3s", "--webhook-timeout", "1s"][..],
    ]
    .concat();
    let server = common::start_with(&f.db.url, &flags, &[]);
    let api = Api::new(&server, &f).await;
    let (id, secret) = api.create_webhook(&receiver.url("/c"), json!(["*"])).await;
    receiver.set_secrets(&HashMap::from([("/c".to_string(), vec![secret])]));
    api.activate(&id).await;
    let mut server = Some(server);
    for round in 0..10 {
        let s = server
            .take()
            .unwrap_or_else(|| common::start_with(&f.db.url, &flags, &[]));
        let api = std::sync::Arc::new(Api::new(&s, &f).await);
        // What was committed before this start is all delivered.
        let feed = api.events("").await;
        let want = sequences(&feed);
        until(Duration::from_secs(60), "the committed events", || {
            let got = accepted(&receiver, "/c");
            let done = want.is_subset(&got);
            async move { done }
        })
        .await;
        check_against_feed(&receiver.lines_of("/c"), &feed);
        // Writes, four at a time, until the kill.
        let mut writers = Vec::new();
        for w in 0..4 {
            let (api, f) = (api.clone(), f.clone());
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let agent = (w * 25 + i) % 100;
                    let _ = tokio::time::timeout(
                        Duration::from_secs(5),
                        api.single_write(&f, agent, (round + i) as i64 % 5 + 1),
                    )
                    .await;
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(400 + 150 * round as u64)).await;
        let mut s = s;
        s.child.kill().unwrap();
        s.child.wait().unwrap();
        for w in writers {
            w.abort();
        }
    }
    let s = common::start_with(&f.db.url, &flags, &[]);
    let api = Api::new(&s, &f).await;
    let feed = api.events("").await;
    let want = sequences(&feed);
    until(Duration::from_secs(60), "every committed event", || {
        let done = want.is_subset(&accepted(&receiver, "/c"));
        async move { done }
    })
    .await;
    check_against_feed(&receiver.lines_of("/c"), &feed);
}

/// Two instances on one PostgreSQL database deliver to three endpoints: every event arrives,
/// and no endpoint ever has two deliveries in flight at once (the consumer holds each one
/// 20 ms and notes any that arrives while another is held).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_postgres_never_deliver_to_one_endpoint_at_once() {
    let f = std::sync::Arc::new(fixture(true, 100).await);
    let receiver = Receiver::new();
    receiver.write("delay_ms", "20");
    let one = common::start_with(&f.db.url, FLAGS, &[]);
    let two = common::start_with(&f.db.url, FLAGS, &[]);
    let a = std::sync::Arc::new(Api::new(&one, &f).await);
    let b = std::sync::Arc::new(Api::new(&two, &f).await);
    let paths = ["/d1", "/d2", "/d3"];
    let mut secrets = HashMap::new();
    let mut ids = Vec::new();
    for p in paths {
        let (id, secret) = a.create_webhook(&receiver.url(p), json!(["*"])).await;
        secrets.insert(p.to_string(), vec![secret]);
        ids.push(id);
    }
    receiver.set_secrets(&secrets);
    for id in &ids {
        a.activate(id).await;
    }
    let mut writers = Vec::new();
    for (w, api) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        let f = f.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..75 {
                assert_eq!(
                    api.single_write(&f, w * 25 + i % 25, i as i64 / 25 + 1)
                        .await,
                    200
                );
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let feed = a.events("").await;
    let want = sequences(&feed);
    until(
        Duration::from_secs(120),
        "every event at every endpoint",
        || {
            let done = paths
                .iter()
                .all(|p| want.is_subset(&accepted(&receiver, p)));
            async move { done }
        },
    )
    .await;
    for p in paths {
        let lines = receiver.lines_of(p);
        check_against_feed(&lines, &feed);
        let overlapping: Vec<_> = lines.iter().filter(|l| l["overlap"] == true).collect();
        assert!(
            overlapping.is_empty(),
            "deliveries at once to {p}: {overlapping:?}"
        );
    }
}

/// An endpoint that answers too late times out, one that answers without end is cut after
/// its first kilobyte: neither holds up another endpoint's deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_huge_answer_stalls_nothing() {
    let f = fixture(false, 5).await;
    let slow = Receiver::new();
    slow.write("delay_ms", "5000");
    let huge = Receiver::new();
    huge.set_mode("huge");
    let quick = Receiver::new();
    let flags = [
        FLAGS,
        &["--webhook-timeout", "1s", "--webhook-lease", "3s"][..],
    ]
    .concat();
    let server = common::start_with(&f.db.url, &flags, &[]);
    let api = Api::new(&server, &f).await;
    let mut hooks = Vec::new();
    for (r, path) in [(&slow, "/slow"), (&huge, "/huge"), (&quick, "/quick")] {
        let (id, secret) = api.create_webhook(&r.url(path), json!(["*"])).await;
        r.set_secrets(&HashMap::from([(path.to_string(), vec![secret])]));
        hooks.push(id);
    }
    for id in &hooks {
        api.activate(id).await;
    }
    for i in 0..5 {
        assert_eq!(api.single_write(&f, i, 2).await, 200);
    }
    let feed = api.events("").await;
    let head = feed.last().unwrap()["sequence"].as_i64().unwrap();
    until(
        Duration::from_secs(20),
        "the quick and huge deliveries",
        || async {
            api.webhook(&hooks[2]).await["deliveredThrough"] == head
                && api.webhook(&hooks[1]).await["deliveredThrough"] == head
        },
    )
    .await;
    check_against_feed(&quick.lines_of("/quick"), &feed);
    for d in api.deliveries(&hooks[1]).await {
        assert_eq!(d["statusCode"], 200, "{d}");
        assert!(d["latencyMs"].as_i64().unwrap() < 1000, "{d}");
        let excerpt = d["responseExcerpt"].as_str().unwrap();
        assert_eq!(excerpt.len(), 1024, "{d}");
    }
    until(Duration::from_secs(20), "a timed-out attempt", || async {
        !api.deliveries(&hooks[0]).await.is_empty()
    })
    .await;
    let timed_out = api.deliveries(&hooks[0]).await;
    for d in &timed_out {
        assert!(d["statusCode"].is_null(), "{d}");
        assert_eq!(d["error"], "timed out", "{d}");
    }
    assert_eq!(api.webhook(&hooks[0]).await["deliveredThrough"], 0);
}

/// A lease shorter than three attempts is refused at start, with the reason.
#[test]
fn a_lease_too_short_for_the_timeout_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_skillgrid"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .args(["--webhook-timeout", "10s", "--webhook-lease", "20s"])
        .env_remove("SKILLGRID_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--webhook-lease must be at least three times --webhook-timeout"),
        "{err}"
    );
}

/// A server stopped with SIGTERM in the middle of a delivery lets go of the endpoint: the
/// next one takes it at once, rather than when the lease runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_lets_go_of_its_endpoints() {
    let f = fixture(false, 5).await;
    let receiver = Receiver::new();
    receiver.write("delay_ms", "3000");
    let mut server = common::start_with(&f.db.url, FLAGS, &[]);
    let api = Api::new(&server, &f).await;
    let (id, secret) = api.create_webhook(&receiver.url("/s"), json!(["*"])).await;
    receiver.set_secrets(&HashMap::from([("/s".to_string(), vec![secret])]));
    api.activate(&id).await;
    until(Duration::from_secs(20), "a delivery in flight", || async {
        common::scalar(
            &f.db.url,
            "SELECT COUNT(*) FROM webhooks WHERE lease_owner IS NOT NULL",
        )
        .await
            == 1
    })
    .await;
    let stopped = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let held = common::scalar(
        &f.db.url,
        "SELECT COUNT(*) FROM webhooks WHERE lease_owner IS NOT NULL",
    )
    .await;
    assert_eq!(held, 0);
}
