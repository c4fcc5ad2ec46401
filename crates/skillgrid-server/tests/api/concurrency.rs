//! 64 clients doing conditional read-modify-write cycles on one agent: every accepted write
//! is in the history, versions are strictly sequential, and no update is lost.

use crate::helpers::spawn_app;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const CLIENTS: usize = 64;
const WRITES_EACH: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_writers_never_lose_an_update() {
    let app = Arc::new(spawn_app().await);
    // All 64 writers share one API client.
    app.lift_rate_limit().await;
    let agent = app.create_agent("contended@example.com").await;
    let mut skills = Vec::new();
    for i in 0..CLIENTS {
        skills.push(app.create_skill(&format!("Queue {i:02}")).await);
    }
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let mut tasks = Vec::new();
    for (me, my_skill) in skills.iter().copied().enumerate() {
        let app = app.clone();
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut attempts = 0;
            while accepted.len() < WRITES_EACH {
                attempts += 1;
                assert!(attempts < 5000, "client {me} starved");
                let cur = app.get(&path).await;
                assert_eq!(cur.status, 200);
                let version = cur.body["version"].as_i64().unwrap();
                // Read, modify (set my own skill to my next value), write the whole set back.
                let mut set: Vec<Value> = cur.body["skills"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["skillId"] != my_skill.to_string())
                    .map(|s| json!({"skillId": s["skillId"], "proficiency": s["proficiency"]}))
                    .collect();
                let value = (accepted.len() + 1) as i64;
                set.push(json!({"skillId": my_skill, "proficiency": value}));
                let etag = format!("\"{version}\"");
                let r = app
                    .call(
                        Method::PUT,
                        &path,
                        Some(&app.token),
                        Some(&json!({"skills": set})),
                        &[("If-Match", &etag)],
                    )
                    .await;
                match r.status {
                    200 => {
                        assert_eq!(r.body["version"].as_i64().unwrap(), version + 1);
                        accepted.push((r.body["version"].as_i64().unwrap(), value));
                    }
                    412 => assert_eq!(r.body["code"], "precondition_failed"),
                    other => panic!("unexpected {other}: {}", r.text),
                }
            }
            (me, accepted)
        }));
    }
    let mut by_version: BTreeMap<i64, (usize, i64)> = BTreeMap::new();
    for t in tasks {
        let (me, accepted) = t.await.unwrap();
        for (v, value) in accepted {
            assert!(
                by_version.insert(v, (me, value)).is_none(),
                "version {v} accepted twice"
            );
        }
    }
    let total = (CLIENTS * WRITES_EACH) as i64;
    assert_eq!(
        by_version.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "versions must be 1..=N with no gap"
    );

    // No lost update: every client's last value is there.
    let fin = app.skills_of(agent).await;
    assert_eq!(fin["version"], total);
    let held: BTreeMap<String, i64> = fin["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["skillId"].as_str().unwrap().to_string(),
                s["proficiency"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(held.len(), CLIENTS);
    for s in &skills {
        assert_eq!(held[&s.to_string()], WRITES_EACH as i64);
    }

    // Every accepted write is in the history: exactly one entry each, newest first.
    let h = app.get(&format!("{path}/history?limit=1000")).await;
    let entries = h.body["items"].as_array().unwrap();
    assert_eq!(entries.len() as i64, total);
    let mut request_ids = std::collections::HashSet::new();
    for e in entries {
        assert!(
            request_ids.insert(e["requestId"].as_str().unwrap().to_string()),
            "one change per accepted write"
        );
    }
    let mut replay: BTreeMap<String, i64> = BTreeMap::new();
    for e in entries.iter().rev() {
        replay.insert(
            e["skillId"].as_str().unwrap().to_string(),
            e["after"]["proficiency"].as_i64().unwrap(),
        );
    }
    assert_eq!(replay, held, "replaying the history gives the final state");
}
