//! Bounded disk and a full disk, on the real binary with a SQLite file.
//!
//! - A minute of saturated writes (bulk and single, several clients, with readers) keeps the
//!   `-wal` file under 64 MiB, and it shrinks to nothing once writes stop; the server's memory
//!   stays within its stated bound; a backup taken with `VACUUM INTO` meanwhile opens and serves.
//! - With no space left (the database at the size `--max-database-mib` allows, which SQLite
//!   reports exactly as a full disk), writes answer 503 `storage_full` with `Retry-After`,
//!   `/readyz` answers 503 and reads still work; once space is freed, both recover.

mod common;

use serde_json::{json, Value};
use skillgrid_core::model::{NewAgent, NewSkill};
use skillgrid_core::timestamp::Timestamp;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

struct Fixture {
    agents: Vec<skillgrid_store::AgentId>,
    skills: Vec<skillgrid_store::SkillId>,
    client_id: skillgrid_store::ClientId,
    secret: String,
}

/// The first start's organization and client, with `agents` agents and `skills` skills and a
/// rate limit no test here reaches.
async fn seed(db: &str, agents: usize, skills: usize) -> Fixture {
    let store = skillgrid_store::open(db).await.unwrap();
    let boot = skillgrid_server::bootstrap::first_start(&store)
        .await
        .unwrap()
        .unwrap();
    let mut settings = store.settings(boot.org_id).await.unwrap();
    settings.rate_limit.requests_per_minute = 1_000_000;
    settings.rate_limit.burst = 100_000;
    store
        .update_settings(boot.org_id, &settings)
        .await
        .unwrap()
        .unwrap();
    let now = Timestamp::now();
    let mut f = Fixture {
        agents: Vec::new(),
        skills: Vec::new(),
        client_id: boot.client_id,
        secret: boot.client_secret,
    };
    for i in 0..skills {
        let s = NewSkill {
            name: format!("Skill {i}"),
            description: None,
        };
        f.skills
            .push(store.create_skill(boot.org_id, &s, now).await.unwrap().id);
    }
    for i in 0..agents {
        let a = NewAgent {
            email: format!("a{i}@example.com"),
            name: format!("Agent {i}"),
            external_id: None,
        };
        f.agents
            .push(store.create_agent(boot.org_id, &a, now).await.unwrap().id);
    }
    f
}

fn bulk_body(
    agents: &[skillgrid_store::AgentId],
    skills: &[skillgrid_store::SkillId],
    value: i64,
) -> Value {
    let items: Vec<Value> = agents
        .iter()
        .map(|a| json!({"agentId": a, "skills": skills.iter().map(|s| json!({"skillId": s, "proficiency": value})).collect::<Vec<_>>()}))
        .collect();
    json!({"mode": "replace", "atomic": true, "items": items})
}

fn wal_bytes(db_file: &Path) -> u64 {
    let mut wal = db_file.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// The resident memory of a process, from /proc.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// Polls `check` every 100 ms until it holds or `limit` passes; whether it held.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Load that runs until `stop`: counts of answers, and the first unexpected one.
#[derive(Default)]
struct Load {
    ok: AtomicU64,
    bulk: AtomicU64,
    failed: std::sync::Mutex<Option<String>>,
}

impl Load {
    fn answer(&self, what: &str, r: reqwest::Result<reqwest::Response>, bulk: bool) {
        match r {
            Ok(r) if r.status().is_success() => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                if bulk {
                    self.bulk.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(r) => {
                let _ = self
                    .failed
                    .lock()
                    .unwrap()
                    .get_or_insert(format!("{what}: {}", r.status()));
            }
            Err(e) => {
                let _ = self
                    .failed
                    .lock()
                    .unwrap()
                    .get_or_insert(format!("{what}: {e}"));
            }
        }
    }
}

/// What the clients of the load share.
struct Run {
    base: String,
    token: String,
    http: reqwest::Client,
    stop: AtomicBool,
    load: Load,
    f: Fixture,
}

const AGENTS: usize = 2000;
const SKILLS: usize = 10;
const LOAD: Duration = Duration::from_secs(60);
const WAL_LIMIT: u64 = 64 * MIB;
/// The page caches' bound (128 MiB, see docs/OPERATIONS.md) and room for the rest of the
/// process: buffers of requests in flight, the runtime, the binary.
const RSS_LIMIT: u64 = 400 * MIB;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saturated_writes_keep_the_wal_bounded_and_a_backup_taken_meanwhile_opens() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("load.db");
    let db = format!("sqlite://{}", file.display());
    let f = seed(&db, AGENTS, SKILLS).await;
    let server = common::start(&db);
    let pid = server.child.id();
    let http = http();
    let run = Arc::new(Run {
        token: common::token(&http, &server.base, f.client_id, &f.secret).await,
        base: server.base.clone(),
        http: http.clone(),
        stop: AtomicBool::new(false),
        load: Load::default(),
        f,
    });
    let mut tasks = Vec::new();

    // Two clients send bulk replaces of 500 agents × 10 skills, round after round.
    for client in 0..2usize {
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            let mut round = 0i64;
            while !run.stop.load(Ordering::Relaxed) {
                for chunk in run.f.agents.chunks(500).skip(client).step_by(2) {
                    let body = bulk_body(chunk, &run.f.skills, 1 + (round % 100));
                    let r = run
                        .http
                        .post(format!("{}/api/v2/agents/skills/bulk", run.base))
                        .bearer_auth(&run.token)
                        .json(&body)
                        .send()
                        .await;
                    run.load.answer("bulk", r, true);
                }
                round += 1;
            }
        }));
    }
    // Four clients write one assignment at a time; one reads.
    for client in 0..5usize {
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = client;
            while !run.stop.load(Ordering::Relaxed) {
                let agent = run.f.agents[i % AGENTS];
                let skill = run.f.skills[i % SKILLS];
                let url = format!("{}/api/v2/agents/users/{agent}/skills", run.base);
                let r = if client == 4 {
                    let r = run.http.get(&url).bearer_auth(&run.token).send().await;
                    run.load.answer("read", r, false);
                    let audit = format!("{}/api/v2/audit?limit=1000", run.base);
                    run.http.get(audit).bearer_auth(&run.token).send().await
                } else {
                    run.http
                        .put(format!("{url}/{skill}"))
                        .bearer_auth(&run.token)
                        .json(&json!({"proficiency": (i % 100) as i64 + 1}))
                        .send()
                        .await
                };
                run.load.answer("single", r, false);
                i += 5;
            }
        }));
    }

    // Watch the WAL and the server's memory; take a backup half-way.
    let backup = dir.path().join("backup.db");
    let started = Instant::now();
    let (mut max_wal, mut max_rss, mut backed_up) = (0, 0, false);
    while started.elapsed() < LOAD {
        max_wal = max_wal.max(wal_bytes(&file));
        max_rss = max_rss.max(rss_bytes(pid));
        if !backed_up && started.elapsed() > LOAD / 2 {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
            sqlx::query("VACUUM INTO ?")
                .bind(backup.to_str().unwrap())
                .execute(&mut c)
                .await
                .expect("backup while the server writes");
            c.close().await.unwrap();
            backed_up = true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    max_wal = max_wal.max(wal_bytes(&file));
    let db_bytes = std::fs::metadata(&file).unwrap().len();
    eprintln!(
        "{} answers ({} bulk) in {LOAD:?}; WAL at most {:.1} MiB, database {:.1} MiB, RSS at most {:.0} MiB",
        run.load.ok.load(Ordering::Relaxed),
        run.load.bulk.load(Ordering::Relaxed),
        max_wal as f64 / MIB as f64,
        db_bytes as f64 / MIB as f64,
        max_rss as f64 / MIB as f64,
    );
    assert_eq!(
        *run.load.failed.lock().unwrap(),
        None,
        "every request succeeds"
    );
    assert!(
        run.load.bulk.load(Ordering::Relaxed) >= 10,
        "the load wrote too little to mean anything"
    );
    assert!(
        max_wal < WAL_LIMIT,
        "the WAL reached {max_wal} bytes under load (limit {WAL_LIMIT})"
    );
    assert!(
        max_rss < RSS_LIMIT,
        "the server's RSS reached {max_rss} bytes (limit {RSS_LIMIT})"
    );
    // Idle, the WAL is emptied.
    assert!(
        eventually(Duration::from_secs(30), || async { wal_bytes(&file) < MIB }).await,
        "the WAL stayed at {} bytes once writes stopped",
        wal_bytes(&file)
    );
    drop(server);

    // The backup is a whole database: intact, every agent there, and a server serves it.
    let copy = format!("sqlite://{}", backup.display());
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&copy).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        c.close().await.unwrap();
    }
    assert_eq!(
        common::scalar(&copy, "SELECT count(*) FROM agents").await,
        AGENTS as i64
    );
    let restored = common::start(&copy);
    let token = common::token(&http, &restored.base, run.f.client_id, &run.f.secret).await;
    let r = http
        .get(format!(
            "{}/api/v2/agents/users/{}/skills",
            restored.base, run.f.agents[0]
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["skills"].as_array().map(Vec::len), Some(SKILLS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_and_not_ready_then_recovers_when_space_is_freed() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("full.db");
    let db = format!("sqlite://{}", file.display());
    let f = seed(&db, 200, 5).await;
    // Space that can be freed later: 4 MiB of padding beside skillgrid's tables.
    let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
    sqlx::query("CREATE TABLE padding (b BLOB)")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("INSERT INTO padding VALUES (zeroblob(4194304))")
        .execute(&mut c)
        .await
        .unwrap();
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    // The whole MiB the database has begun: less than a MiB left for writes.
    let mib = (pages as u64 * 4096).div_ceil(MIB);
    let server = common::start_with(&db, &["--max-database-mib", &mib.to_string()], &[]);
    let http = http();
    let token = common::token(&http, &server.base, f.client_id, &f.secret).await;
    let base = server.base.clone();
    let get = |path: &str| http.get(format!("{base}{path}")).bearer_auth(&token).send();
    let bulk = |value: i64| {
        http.post(format!("{base}/api/v2/agents/skills/bulk"))
            .bearer_auth(&token)
            .json(&bulk_body(&f.agents, &f.skills, value))
            .send()
    };
    assert_eq!(get("/readyz").await.unwrap().status(), 200);

    // Write until the space is gone (each bulk adds 1,000 audit entries).
    let mut value = 0;
    let full = loop {
        value += 1;
        assert!(value < 500, "the database never filled up");
        let r = bulk(value).await.unwrap();
        if r.status() != 200 {
            break r;
        }
    };
    assert_eq!(full.status(), 503);
    assert_eq!(
        full.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let retry: u64 = full.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    let problem: Value = full.json().await.unwrap();
    assert_eq!(problem["code"], "storage_full");
    assert_eq!(problem["status"], 503);

    // The failed bulk wrote nothing.
    let skills: Value = get(&format!("/api/v2/agents/users/{}/skills", f.agents[1]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(skills["skills"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["proficiency"] == value - 1));
    // Small writes may still fit in pages partly used; they too fail once nothing is left.
    let agent = f.agents[0];
    let mut single = 0;
    let r = loop {
        single += 1;
        assert!(single < 10_000, "single writes never ran out of space");
        let r = http
            .put(format!(
                "{base}/api/v2/agents/users/{agent}/skills/{}",
                f.skills[single % f.skills.len()]
            ))
            .bearer_auth(&token)
            .json(&json!({"proficiency": 1 + single % 100}))
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            break r;
        }
    };
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "storage_full");

    // Not ready; reads go on.
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/api/v2/admin/skills").await.unwrap().status(), 200);
    assert_eq!(get("/api/v2/audit?limit=10").await.unwrap().status(), 200);
    let metrics = || async { get("/metrics").await.unwrap().text().await.unwrap() };
    let text = metrics().await;
    assert!(text.contains("skillgrid_storage_full 1"));
    // What an operator watches beside it: the files' sizes and the process's memory and files.
    let gauge = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{name}` in /metrics:\n{text}"))
    };
    assert!(gauge("skillgrid_database_file_bytes{file=\"database\"}") > 0.0);
    assert!(gauge("skillgrid_database_file_bytes{file=\"wal\"}") >= 0.0);
    assert!(gauge("process_resident_memory_bytes") > 0.0);
    assert!(gauge("process_open_fds") > 0.0);
    assert!(gauge("process_max_fds") > 0.0);

    // Space is freed: ready again, and writes succeed.
    let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
    sqlx::query("DELETE FROM padding")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    assert!(
        eventually(Duration::from_secs(30), || async {
            get("/readyz").await.is_ok_and(|r| r.status() == 200)
        })
        .await,
        "/readyz did not recover after space was freed: {}",
        get("/readyz").await.unwrap().text().await.unwrap()
    );
    assert_eq!(bulk(value).await.unwrap().status(), 200);
    assert!(metrics().await.contains("skillgrid_storage_full 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_prunes_audit_past_retention_and_expired_idempotency_keys() {
    use skillgrid_core::model::{Assignment, SkillSetWrite};
    use skillgrid_store::{AgentWrite, WriteContext, WriteOptions};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("prune.db").display());
    let f = seed(&db, 3, 1).await;
    let store = skillgrid_store::open(&db).await.unwrap();
    let org = store.find_org("default").await.unwrap().unwrap().id;
    let day = 24 * 3600 * 1000;
    let now = Timestamp::now().0;
    // Entries 40 and 10 days old, and an idempotency key two days old.
    for (age, p) in [(40, 10), (10, 20)] {
        let items: Vec<AgentWrite> = f
            .agents
            .iter()
            .map(|a| AgentWrite {
                agent_id: *a,
                write: SkillSetWrite::Replace(vec![Assignment {
                    proficiency: p,
                    ..Assignment::omitted(f.skills[0], 50)
                }]),
                if_match: None,
            })
            .collect();
        let ctx = WriteContext {
            request_id: format!("{age} days ago"),
            client_id: f.client_id,
            now: Timestamp(now - age * day),
        };
        let opts = WriteOptions {
            dry_run: false,
            atomic: true,
            max_skills_per_agent: 500,
            return_sets: false,
            inactive_ok: false,
        };
        assert!(
            store
                .write_skill_sets(org, &ctx, &items, opts)
                .await
                .unwrap()
                .committed
        );
    }
    store
        .idempotency_begin(org, f.client_id, "old", "fp", Timestamp(now - 2 * day))
        .await
        .unwrap();
    drop(store);

    let server = common::start_with(&db, &["--prune-every-secs", "1"], &[]);
    let http = http();
    let token = common::token(&http, &server.base, f.client_id, &f.secret).await;
    let audit = || async {
        let r = http
            .get(format!("{}/api/v2/audit?limit=100", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        body["items"].as_array().unwrap().clone()
    };
    let keys = || common::scalar(&db, "SELECT count(*) FROM idempotency_keys");
    // Expired keys go by themselves; audit is kept while no retention is set.
    assert!(
        eventually(Duration::from_secs(30), || async { keys().await == 0 }).await,
        "the expired idempotency key was not pruned"
    );
    assert_eq!(audit().await.len(), 6);

    let r = http
        .patch(format!("{}/api/v2/organizations/settings", server.base))
        .bearer_auth(&token)
        .json(&json!({"auditRetentionDays": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        eventually(Duration::from_secs(30), || async {
            audit().await.len() == 3
        })
        .await,
        "entries older than 30 days were not pruned"
    );
    // What is left is the newer write's.
    assert!(audit()
        .await
        .iter()
        .all(|e| e["requestId"] == "10 days ago"));
}
