//! Crash safety: a `skillgrid serve` process is killed with SIGKILL in the middle of a large
//! atomic bulk request, many times at different moments. After each kill every agent is either
//! fully old or fully new (and all agents agree: the request is one transaction), versions
//! count the committed requests, and the audit log matches the data exactly.

use serde_json::{json, Value};
use skillgrid_core::model::{NewAgent, NewSkill};
use skillgrid_core::timestamp::Timestamp;
mod common;

use common::start;
use std::time::Instant;
use uuid::Uuid;

const AGENTS: usize = 2000;
const SKILLS: usize = 10;
const TRIALS: usize = 20;

struct Fixture {
    agents: Vec<skillgrid_store::AgentId>,
    skills: Vec<Uuid>,
    client_id: skillgrid_store::ClientId,
    secret: String,
}

async fn seed(db: &str) -> Fixture {
    let (store, boot) = common::first_start(db).await;
    let now = Timestamp::now();
    let mut skills = Vec::new();
    for i in 0..SKILLS {
        skills.push(
            store
                .create_skill(
                    boot.org_id,
                    &NewSkill {
                        name: format!("Skill {i}"),
                        description: None,
                    },
                    now,
                )
                .await
                .unwrap()
                .id
                .get(),
        );
    }
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let a = NewAgent {
            email: format!("a{i}@example.com"),
            name: format!("Agent {i}"),
            external_id: None,
        };
        agents.push(store.create_agent(boot.org_id, &a, now).await.unwrap().id);
    }
    Fixture {
        agents,
        skills,
        client_id: boot.client_id,
        secret: boot.client_secret,
    }
}

fn bulk_body(f: &Fixture, value: i64) -> Vec<u8> {
    let items: Vec<Value> = f
        .agents
        .iter()
        .map(|a| json!({"agentId": a, "skills": f.skills.iter().map(|s| json!({"skillId": s, "proficiency": value})).collect::<Vec<_>>()}))
        .collect();
    serde_json::to_vec(&json!({"mode": "replace", "atomic": true, "items": items})).unwrap()
}

async fn token(http: &reqwest::Client, base: &str, f: &Fixture) -> String {
    common::token(http, base, f.client_id, &f.secret).await
}

/// Every agent's (version, proficiencies) as stored.
async fn state(db: &str, f: &Fixture, org: skillgrid_store::OrgId) -> Vec<(i64, Vec<i64>)> {
    let store = skillgrid_store::open(db).await.unwrap();
    let mut out = Vec::new();
    for a in &f.agents {
        let s = store.agent_skills(org, *a).await.unwrap();
        out.push((s.version, s.skills.iter().map(|x| x.proficiency).collect()));
    }
    out
}

/// Waits until a killed server's PostgreSQL sessions have ended. They end on their own time: one
/// whose `COMMIT` was sent before the kill still commits after it, so reading the agents one by
/// one before then could see the commit land half-way through the reading.
async fn sessions_ended(db: &str) {
    for _ in 0..400 {
        let busy = common::scalar(
            db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
             AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'",
        )
        .await;
        if busy == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the killed server's PostgreSQL sessions did not end within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_atomic_bulk_leaves_all_old_or_all_new_sqlite() {
    sigkill_trials(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_atomic_bulk_leaves_all_old_or_all_new_postgres() {
    sigkill_trials(true).await;
}

/// The two backends' trials run one after the other: timing is calibrated per run, and a
/// second run on the other core would skew it.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn sigkill_trials(postgres: bool) {
    let _serial = SERIAL.lock().await;
    let test_db = common::test_db(postgres).await;
    let db = test_db.url.clone();
    let f = seed(&db).await;
    let org = skillgrid_store::open(&db)
        .await
        .unwrap()
        .find_org("default")
        .await
        .unwrap()
        .unwrap()
        .id;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    // Calibrate: one full request (committed) tells how long a request takes.
    let server = start(&db);
    let tok = token(&http, &server.base, &f).await;
    let t0 = Instant::now();
    let r = http
        .post(format!("{}/api/v2/agents/skills/bulk", server.base))
        .bearer_auth(&tok)
        .header("content-type", "application/json")
        .body(bulk_body(&f, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let full = t0.elapsed();
    drop(server);

    let mut committed: i64 = 1;
    let mut value: i64 = 1;
    for trial in 0..TRIALS {
        let next = value + 1;
        let mut server = start(&db);
        let body = bulk_body(&f, next);
        // Kill moments spread from "as soon as sent" to twice a calibrated request's duration.
        let delay = full.mul_f64(2.0 * trial as f64 / (TRIALS as f64 - 1.0));
        let url = format!("{}/api/v2/agents/skills/bulk", server.base);
        let req = http
            .post(url)
            .bearer_auth(&tok)
            .header("content-type", "application/json")
            .body(body)
            .send();
        let answered = tokio::select! {
            r = req => r.map(|r| r.status().as_u16()).ok(),
            _ = tokio::time::sleep(delay) => None,
        };
        let _ = server.child.kill();
        let _ = server.child.wait();
        drop(server);
        if postgres {
            sessions_ended(&db).await;
        }

        let st = state(&db, &f, org).await;
        let first = st[0].clone();
        assert!(
            st.iter().all(|s| *s == first),
            "trial {trial}: agents disagree after a kill (not atomic)"
        );
        let (version, profs) = first;
        assert_eq!(profs.len(), SKILLS);
        assert!(
            profs.iter().all(|p| *p == profs[0]),
            "trial {trial}: an agent is half old, half new: {profs:?}"
        );
        if profs[0] == next {
            committed += 1;
            value = next;
        } else {
            assert_eq!(profs[0], value, "trial {trial}: neither old nor new");
            assert_ne!(answered, Some(200), "trial {trial}: a 200 answer was lost");
        }
        assert_eq!(
            version, committed,
            "trial {trial}: version must count committed requests"
        );
        // The first request added every assignment; every later one updated every assignment.
        assert_eq!(
            // Entries are stored per agent and write, `n` in each row.
            common::scalar(&db, "SELECT coalesce(sum(n), 0) FROM audit_sets").await,
            committed * (AGENTS * SKILLS) as i64,
            "trial {trial}: audit does not match the data"
        );
    }
    eprintln!(
        "crash test: one request takes {full:?}; {committed} of {} requests committed",
        TRIALS + 1
    );
    assert!(
        committed > 1 && committed < TRIALS as i64 + 1,
        "kills should land both before and after commits (committed {committed})"
    );
}
