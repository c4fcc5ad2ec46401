//! Several instances on one PostgreSQL database: two `skillgrid serve` processes, 64
//! concurrent conditional writers spread over both, all on the same agent. No update may be
//! lost, versions must be strictly sequential, and the history complete.

mod common;

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

const WRITERS: usize = 64;
const WRITES_EACH: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_versions_and_history() {
    let db = common::test_db(true).await;
    let (store, boot) = common::first_start(&db.url).await;
    common::set_rate_limit(&store, boot.org_id, 1_000_000, 100_000).await;
    let now = skillgrid_core::timestamp::Timestamp::now();
    let agent = store
        .create_agent(
            boot.org_id,
            &skillgrid_core::model::NewAgent {
                email: "shared@example.com".into(),
                name: "Shared".into(),
                external_id: None,
            },
            now,
        )
        .await
        .unwrap()
        .id;
    let mut skills = Vec::new();
    for i in 0..WRITERS {
        let s = skillgrid_core::model::NewSkill {
            name: format!("Queue {i:02}"),
            description: None,
        };
        skills.push(store.create_skill(boot.org_id, &s, now).await.unwrap().id);
    }

    let servers = [common::start(&db.url), common::start(&db.url)];
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = common::token(&http, &servers[0].base, boot.client_id, &boot.client_secret).await;
    let bases: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());
    let token = Arc::new(token);

    let mut tasks = Vec::new();
    for (me, my_skill) in skills.iter().copied().enumerate() {
        let (http, bases, token) = (http.clone(), bases.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut attempt = 0usize;
            while accepted.len() < WRITES_EACH {
                attempt += 1;
                assert!(attempt < 5000, "writer {me} starved");
                // Read on one instance, write on the other, alternating.
                let read_on = &bases[(me + attempt) % 2];
                let write_on = &bases[(me + attempt + 1) % 2];
                let path = format!("/api/v2/agents/users/{agent}/skills");
                let cur: Value = http
                    .get(format!("{read_on}{path}"))
                    .bearer_auth(token.as_str())
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let version = cur["version"].as_i64().unwrap();
                let mut set: Vec<Value> = cur["skills"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["skillId"] != my_skill.to_string())
                    .map(|s| json!({"skillId": s["skillId"], "proficiency": s["proficiency"]}))
                    .collect();
                let value = (accepted.len() + 1) as i64;
                set.push(json!({"skillId": my_skill, "proficiency": value}));
                let r = http
                    .put(format!("{write_on}{path}"))
                    .bearer_auth(token.as_str())
                    .header("If-Match", format!("\"{version}\""))
                    .json(&json!({"skills": set}))
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    200 => {
                        let body: Value = r.json().await.unwrap();
                        assert_eq!(body["version"].as_i64().unwrap(), version + 1);
                        accepted.push(version + 1);
                    }
                    412 => {}
                    other => panic!("unexpected {other}: {}", r.text().await.unwrap_or_default()),
                }
            }
            accepted
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.extend(t.await.unwrap());
    }
    versions.sort_unstable();
    let total = (WRITERS * WRITES_EACH) as i64;
    assert_eq!(
        versions,
        (1..=total).collect::<Vec<_>>(),
        "each version accepted exactly once, no gaps"
    );

    let fin = store.agent_skills(boot.org_id, agent).await.unwrap();
    assert_eq!(fin.version, total);
    assert_eq!(fin.skills.len(), WRITERS);
    assert!(
        fin.skills
            .iter()
            .all(|a| a.proficiency == WRITES_EACH as i64),
        "an update was lost"
    );

    let history = store
        .agent_history(
            boot.org_id,
            agent,
            skillgrid_store::PageRequest {
                after: None,
                limit: 1000,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        history.items.len() as i64,
        total,
        "one history entry per accepted write"
    );
    let ids: HashSet<_> = history.items.iter().map(|e| e.request_id.clone()).collect();
    assert_eq!(ids.len() as i64, total);
    let mut replay = BTreeMap::new();
    for e in history.items.iter().rev() {
        replay.insert(e.skill_id, e.after.unwrap().proficiency);
    }
    assert!(replay.values().all(|p| *p == WRITES_EACH as i64));
    drop(servers);
}

/// The admin commands work on PostgreSQL too, also while a server runs on it.
#[tokio::test]
async fn admin_commands_work_against_postgres() {
    let db = common::test_db(true).await;
    let server = common::start(&db.url);
    let run = |args: &[&str]| -> Value {
        let out = common::admin(&db.url, &[args, &["--json"]].concat());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let org = run(&["admin", "create-org", "--name", "acme"]);
    assert_eq!(org["name"], "acme");
    let c = run(&[
        "admin",
        "create-client",
        "--org",
        "acme",
        "--name",
        "importer",
        "--scopes",
        "admin:skill:read",
    ]);
    assert_eq!(c["orgId"], org["orgId"]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let tok: Value = http
        .post(format!("{}/oauth/token", server.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c["clientId"].as_str().unwrap()),
            ("client_secret", c["clientSecret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tok["scope"], "admin:skill:read");
    let skills = http
        .get(format!("{}/api/v2/admin/skills", server.base))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(skills.status(), 200);
    let body: Value = skills.json().await.unwrap();
    assert_eq!(body["items"], json!([]));
}

/// Each instance keeps the settings and catalog it read, yet a change made through one
/// applies to the very next request on the other.
#[tokio::test]
async fn a_change_on_one_instance_applies_to_the_next_request_on_the_other() {
    let db = common::test_db(true).await;
    let (store, boot) = common::first_start(&db.url).await;
    let new = skillgrid_core::model::NewAgent {
        email: "both@example.com".into(),
        name: "Both".into(),
        external_id: None,
    };
    let now = skillgrid_core::timestamp::Timestamp::now();
    let agent = store.create_agent(boot.org_id, &new, now).await.unwrap().id;
    let [a, b] = [common::start(&db.url), common::start(&db.url)];
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = common::token(&http, &a.base, boot.client_id, &boot.client_secret).await;
    let call = |method: reqwest::Method, url: String, body: Value, if_match: Option<&str>| {
        let mut r = http.request(method, url).bearer_auth(&token).json(&body);
        if let Some(v) = if_match {
            r = r.header("If-Match", v);
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let skills = format!("/api/v2/agents/users/{agent}/skills");
    // Both instances read settings and catalog.
    for s in [&a, &b] {
        let r = call(
            reqwest::Method::GET,
            format!("{}{skills}", s.base),
            Value::Null,
            None,
        )
        .await;
        assert_eq!(r.0, 200, "{}", r.1);
    }

    // A skill created on one is assignable on the other.
    let (status, created) = call(
        reqwest::Method::POST,
        format!("{}/api/v2/admin/skills", a.base),
        json!({"name": "Chat"}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let one = format!("{}{skills}/{}", b.base, created["id"].as_str().unwrap());
    let r = call(
        reqwest::Method::PUT,
        one.clone(),
        json!({"proficiency": 10}),
        None,
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);

    // Settings changed on one apply on the other.
    let r = call(
        reqwest::Method::PATCH,
        format!("{}/api/v2/organizations/settings", a.base),
        json!({"requireIfMatch": true}),
        None,
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = call(
        reqwest::Method::PUT,
        one.clone(),
        json!({"proficiency": 20}),
        None,
    )
    .await;
    assert_eq!(
        (r.0, r.1["code"].as_str()),
        (428, Some("precondition_required"))
    );

    // A skill deactivated on one can no longer be assigned on the other.
    let r = call(
        reqwest::Method::PATCH,
        format!(
            "{}/api/v2/admin/skills/{}",
            a.base,
            created["id"].as_str().unwrap()
        ),
        json!({"active": false}),
        None,
    )
    .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = call(
        reqwest::Method::PUT,
        one,
        json!({"proficiency": 20}),
        Some("\"1\""),
    )
    .await;
    assert_eq!(r.0, 400, "{}", r.1);
    assert_eq!(r.1["errors"][0]["code"], "inactive_skill", "{}", r.1);
}
