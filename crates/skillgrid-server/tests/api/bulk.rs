//! Over real HTTP: bulk writes across agents, one skill to many agents,
//! idempotency keys and the audit log.

use crate::helpers::{spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const BULK: &str = "/api/v2/agents/skills/bulk";

pub(crate) async fn fixture(app: &TestApp, agents: usize, skills: usize) -> (Vec<Uuid>, Vec<Uuid>) {
    let mut s = Vec::new();
    for i in 0..skills {
        s.push(app.create_skill(&format!("Skill {i}")).await);
    }
    let mut a = Vec::new();
    for i in 0..agents {
        a.push(app.create_agent(&format!("agent{i}@example.com")).await);
    }
    (a, s)
}

async fn audit_all(app: &TestApp, token: &str) -> Vec<Value> {
    audit_pages(app, token, 1000).await
}

async fn audit_pages(app: &TestApp, token: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v2/audit?limit={limit}&cursor={c}"),
            None => format!("/api/v2/audit?limit={limit}"),
        };
        let r = app.call(Method::GET, &path, Some(token), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// Entries are stored per agent and write; pages of any size still list each one once, in
/// order, and an agent's history pages the same way backwards.
#[tokio::test]
async fn audit_pages_of_any_size_list_every_entry_of_a_bulk_once() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 3, 4).await;
    for round in 0..2 {
        let body = json!({"items": agents.iter().map(|a| json!({"agentId": a,
            "skills": skills.iter().map(|s| json!({"skillId": s, "proficiency": 10 + round})).collect::<Vec<_>>()}))
            .collect::<Vec<_>>()});
        let r = app.post(BULK, &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let all = audit_all(&app, &app.token).await;
    assert_eq!(all.len(), 24);
    let ids: std::collections::HashSet<&str> =
        all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 24, "entry ids repeat");
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[..12], ["added"; 12]);
    assert_eq!(actions[12..], ["updated"; 12]);
    for limit in [1, 4, 5, 7, 23] {
        assert_eq!(
            audit_pages(&app, &app.token, limit).await,
            all,
            "limit {limit}"
        );
    }
    let history = format!("/api/v2/agents/users/{}/skills/history", agents[1]);
    let mut mine: Vec<Value> = all
        .iter()
        .filter(|e| e["agentId"] == agents[1].to_string())
        .cloned()
        .collect();
    mine.reverse();
    let mut paged = Vec::new();
    let mut url = format!("{history}?limit=3");
    loop {
        let p = app.get(&url).await;
        assert_eq!(p.status, 200, "{}", p.text);
        paged.extend(p.body["items"].as_array().unwrap().iter().cloned());
        match p.body["nextCursor"].as_str() {
            Some(c) => url = format!("{history}?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, mine);
}

#[tokio::test]
async fn atomic_bulk_writes_every_item_in_one_go() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 3, 2).await;
    let body = json!({"items": agents.iter().map(|a| json!({"agentId": a, "skills": [
        {"skillId": skills[0], "proficiency": 80}, {"skillId": skills[1], "proficiency": "Novice"}]})).collect::<Vec<_>>()});
    let r = app.post(BULK, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["dryRun"], false);
    assert_eq!(
        r.body["summary"],
        json!({"items": 3, "succeeded": 3, "failed": 0, "added": 6, "updated": 0, "removed": 0, "unchanged": 0})
    );
    for (i, a) in agents.iter().enumerate() {
        let res = &r.body["results"][i];
        assert_eq!(res["index"], i);
        assert_eq!(res["agentId"], a.to_string());
        assert_eq!(res["status"], 200);
        assert_eq!(res["version"], 1);
        assert_eq!(res["changes"]["added"].as_array().unwrap().len(), 2);
        let s = app.skills_of(*a).await;
        assert_eq!(s["version"], 1);
        assert_eq!(s["skills"].as_array().unwrap().len(), 2);
    }
    assert_eq!(audit_all(&app, &app.token).await.len(), 6);
}

#[tokio::test]
async fn atomic_failure_writes_nothing_and_reports_every_error() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 3, 2).await;
    app.put(
        &format!("/api/v2/agents/users/{}/skills", agents[0]),
        &json!([{"skillId": skills[0], "proficiency": 10}]),
    )
    .await;
    let before: Vec<_> = futures_snapshot(&app, &agents).await;
    let audit_before = audit_all(&app, &app.token).await.len();
    let ghost = Uuid::now_v7();
    let body = json!({"mode": "merge", "items": [
        {"agentId": agents[0], "skills": [{"skillId": skills[0], "proficiency": 90}], "ifMatch": "\"7\""},
        {"agentId": agents[1], "skills": [{"skillId": skills[1], "proficiency": 190}]},
        {"agentId": ghost, "skills": [{"skillId": skills[1], "proficiency": 50}]},
        {"agentId": agents[2], "skills": [{"skillId": skills[1]}], "remove": [skills[1]]}
    ]});
    let r = app.post(BULK, &body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["code"], "validation_failed");
    assert_eq!(
        r.entries(),
        vec![
            (
                "pointer:/items/0/ifMatch".to_string(),
                "precondition_failed".to_string()
            ),
            (
                "pointer:/items/1/skills/0/proficiency".to_string(),
                "out_of_range".to_string()
            ),
            (
                "pointer:/items/2/agentId".to_string(),
                "unknown_agent".to_string()
            ),
            (
                "pointer:/items/3/remove/0".to_string(),
                "duplicate_skill".to_string()
            ),
        ]
    );
    assert_eq!(futures_snapshot(&app, &agents).await, before);
    assert_eq!(audit_all(&app, &app.token).await.len(), audit_before);
}

async fn futures_snapshot(app: &TestApp, agents: &[Uuid]) -> Vec<(Value, Value)> {
    let mut v = Vec::new();
    for a in agents {
        v.push(app.snapshot(*a).await);
    }
    v
}

#[tokio::test]
async fn non_atomic_writes_good_items_and_reports_each_bad_one() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 3, 2).await;
    let body = json!({"atomic": false, "items": [
        {"agentId": agents[0], "skills": [{"skillId": skills[0], "proficiency": 60}]},
        {"agentId": agents[1], "skills": [{"skillId": skills[0], "proficiency": "Guru"}]},
        {"agentId": Uuid::now_v7(), "skills": [{"skillId": skills[0]}]},
        {"agentId": agents[2], "skills": [{"skillId": skills[1]}], "ifMatch": "\"3\""}
    ]});
    let r = app.post(BULK, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["summary"],
        json!({"items": 4, "succeeded": 1, "failed": 3, "added": 1, "updated": 0, "removed": 0, "unchanged": 0})
    );
    let statuses: Vec<_> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200, 400, 404, 412]);
    assert_eq!(
        r.body["results"][1]["problem"]["errors"][0]["pointer"],
        "/items/1/skills/0/proficiency"
    );
    assert_eq!(r.body["results"][2]["problem"]["code"], "not_found");
    assert_eq!(
        r.body["results"][3]["problem"]["code"],
        "precondition_failed"
    );
    assert_eq!(r.body["results"][3]["problem"]["currentVersion"], 0);
    assert_eq!(app.skills_of(agents[0]).await["version"], 1);
    assert_eq!(app.skills_of(agents[1]).await["version"], 0);
    assert_eq!(app.skills_of(agents[2]).await["version"], 0);
}

#[tokio::test]
async fn dry_run_shows_the_diff_and_writes_nothing() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 2, 1).await;
    let before = futures_snapshot(&app, &agents).await;
    let body = json!({"items": agents.iter().map(|a| json!({"agentId": a, "skills": [{"skillId": skills[0], "proficiency": 70}]})).collect::<Vec<_>>()});
    let r = app.post(&format!("{BULK}?dryRun=true"), &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["dryRun"], true);
    assert_eq!(r.body["summary"]["added"], 2);
    assert_eq!(futures_snapshot(&app, &agents).await, before);
}

#[tokio::test]
async fn replace_mode_drops_unlisted_skills_and_refuses_remove() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 1, 3).await;
    let a = agents[0];
    app.put(
        &format!("/api/v2/agents/users/{a}/skills"),
        &json!([{"skillId": skills[0]}, {"skillId": skills[1]}]),
    )
    .await;
    let merge = app
        .post(
            BULK,
            &json!({"items": [{"agentId": a, "skills": [{"skillId": skills[2]}]}]}),
        )
        .await;
    assert_eq!(merge.status, 200, "{}", merge.text);
    assert_eq!(
        app.skills_of(a).await["skills"].as_array().unwrap().len(),
        3
    );
    let replace = app.post(BULK, &json!({"mode": "replace", "items": [{"agentId": a, "skills": [{"skillId": skills[2], "proficiency": 99}]}]})).await;
    assert_eq!(replace.status, 200, "{}", replace.text);
    assert_eq!(replace.body["summary"]["removed"], 2);
    assert_eq!(replace.body["summary"]["updated"], 1);
    let now = app.skills_of(a).await;
    assert_eq!(now["skills"].as_array().unwrap().len(), 1);
    assert_eq!(now["version"], 3);
    let bad = app.post(BULK, &json!({"mode": "replace", "items": [{"agentId": a, "skills": [], "remove": [skills[0]]}]})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.entries(),
        vec![(
            "pointer:/items/0/remove".to_string(),
            "not_allowed".to_string()
        )]
    );
}

#[tokio::test]
async fn limits_come_from_the_settings() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 3, 1).await;
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"limits": {"maxItemsPerBulk": 2, "maxAssignmentsPerRequest": 2}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = json!({"items": agents.iter().map(|a| json!({"agentId": a, "skills": [{"skillId": skills[0]}]})).collect::<Vec<_>>()});
    let r = app.post(BULK, &body).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.entries(),
        vec![
            ("pointer:/items".to_string(), "too_many_items".to_string()),
            ("pointer:/items".to_string(), "too_many_items".to_string())
        ]
    );
    assert!(r.body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("at most 2"));
    let dup = app
        .post(
            BULK,
            &json!({"items": [{"agentId": agents[0]}, {"agentId": agents[0]}]}),
        )
        .await;
    assert_eq!(
        dup.entries(),
        vec![(
            "pointer:/items/1/agentId".to_string(),
            "duplicate_agent".to_string()
        )]
    );
}

#[tokio::test]
async fn idempotent_replay_reuse_and_in_progress() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 2, 1).await;
    let body = json!({"items": [{"agentId": agents[0], "skills": [{"skillId": skills[0], "proficiency": 40}]}]});
    let key = [("Idempotency-Key", "import-2026-11-23-chunk-1")];
    let first = app
        .call(Method::POST, BULK, Some(&app.token), Some(&body), &key)
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("idempotency-replayed"), None);
    let again = app
        .call(Method::POST, BULK, Some(&app.token), Some(&body), &key)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(app.skills_of(agents[0]).await["version"], 1);
    assert_eq!(audit_all(&app, &app.token).await.len(), 1);

    let other = json!({"items": [{"agentId": agents[1], "skills": [{"skillId": skills[0]}]}]});
    let reused = app
        .call(Method::POST, BULK, Some(&app.token), Some(&other), &key)
        .await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.body["code"], "idempotency_key_reused");

    // A failed validation is not stored: the corrected request may reuse the key.
    let bad = json!({"items": [{"agentId": agents[1], "skills": [{"skillId": skills[0], "proficiency": 500}]}]});
    let k2 = [("Idempotency-Key", "k2")];
    assert_eq!(
        app.call(Method::POST, BULK, Some(&app.token), Some(&bad), &k2)
            .await
            .status,
        400
    );
    assert_eq!(
        app.call(Method::POST, BULK, Some(&app.token), Some(&other), &k2)
            .await
            .status,
        200
    );

    // A request still in flight (claimed, e.g. by another instance) answers 409.
    let fp = skillgrid_server::idempotency::fingerprint(
        app.client_id,
        "POST",
        &format!("{BULK}?"),
        &serde_json::to_vec(&other).unwrap(),
    );
    let claimed = app
        .store
        .idempotency_begin(
            app.org,
            app.client_id,
            "k3",
            &fp,
            skillgrid_core::timestamp::Timestamp::now(),
        )
        .await
        .unwrap();
    assert!(matches!(claimed, skillgrid_store::IdempotencyBegin::Fresh));
    let busy = app
        .call(
            Method::POST,
            BULK,
            Some(&app.token),
            Some(&other),
            &[("Idempotency-Key", "k3")],
        )
        .await;
    assert_eq!(busy.status, 409, "{}", busy.text);
    assert_eq!(busy.body["code"], "idempotency_key_in_use");
}

#[tokio::test]
async fn concurrent_duplicates_write_once() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 1, 1).await;
    let body = json!({"items": [{"agentId": agents[0], "skills": [{"skillId": skills[0], "proficiency": 33}]}]});
    let key = [("Idempotency-Key", "same")];
    let calls = (0..8).map(|_| app.call(Method::POST, BULK, Some(&app.token), Some(&body), &key));
    let answers = futures::future::join_all(calls).await;
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let busy = answers
        .iter()
        .filter(|r| r.status == 409 && r.body["code"] == "idempotency_key_in_use")
        .count();
    assert_eq!(
        ok + busy,
        8,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .filter(|r| r.status == 200 && r.header("idempotency-replayed").is_none())
            .count()
            == 1
    );
    assert_eq!(audit_all(&app, &app.token).await.len(), 1);
    assert_eq!(app.skills_of(agents[0]).await["version"], 1);
}

#[tokio::test]
async fn one_skill_to_many_agents_and_its_holders() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 3, 1).await;
    let s = skills[0];
    let r = app.post(&format!("/api/v2/admin/skills/{s}/agents"), &json!({"agents": [
        {"agentId": agents[0], "proficiency": 90}, {"agentId": agents[1], "proficiency": "expert", "expirationDate": "2030-01-01T00:00:00Z"}]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["summary"]["added"], 2);
    let h = app.get(&format!("/api/v2/admin/skills/{s}/agents")).await;
    assert_eq!(h.status, 200, "{}", h.text);
    let items = h.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["assignment"]["proficiency"], 100);
    assert_eq!(
        items[1]["assignment"]["expirationDate"],
        "2030-01-01T00:00:00.000Z"
    );
    let bad = app.post(&format!("/api/v2/admin/skills/{s}/agents"), &json!({"agents": [{"agentId": agents[2], "proficiency": 101}, {"agentId": Uuid::now_v7()}]})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.entries(),
        vec![
            (
                "pointer:/agents/0/proficiency".to_string(),
                "out_of_range".to_string()
            ),
            (
                "pointer:/agents/1/agentId".to_string(),
                "unknown_agent".to_string()
            ),
        ]
    );
    assert_eq!(
        app.post(
            &format!("/api/v2/admin/skills/{}/agents", Uuid::now_v7()),
            &json!({"agents": []})
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn audit_entries_carry_request_and_client_and_stay_in_their_org() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 1, 2).await;
    let a = agents[0];
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v2/agents/users/{a}/skills"),
            Some(&app.token),
            Some(&json!([{"skillId": skills[0]}, {"skillId": skills[1], "proficiency": 20}])),
            &[("X-Request-Id", "import-42")],
        )
        .await;
    assert_eq!(r.status, 200);
    app.patch(
        &format!("/api/v2/agents/users/{a}/skills"),
        &json!({"skills": [{"skillId": skills[0], "proficiency": 60}], "remove": [skills[1]]}),
    )
    .await;
    let all = audit_all(&app, &app.token).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[0]["requestId"], "import-42");
    assert_eq!(all[0]["clientId"], app.client_id.to_string());
    assert_eq!(all[0]["action"], "added");
    assert_eq!(all[0]["before"], Value::Null);
    let actions: Vec<_> = all
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions[2..]
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        2
    );
    let since = app
        .get(&format!(
            "/api/v2/audit?since={}",
            all[2]["at"].as_str().unwrap()
        ))
        .await;
    assert!(since.body["items"].as_array().unwrap().len() >= 2);
    let (_, other) = app.other_org("other").await;
    assert!(audit_all(&app, &other).await.is_empty());
    let no_scope = app.token_with(&["admin:agent:read"]).await;
    assert_eq!(
        app.call(Method::GET, "/api/v2/audit", Some(&no_scope), None, &[])
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = spawn_app().await;
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"rateLimit": {"requestsPerMinute": 1, "burst": 3}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = app.get("/api/v2/admin/skills").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("ratelimit-limit"), Some("3"));
        remaining.push(r.header("ratelimit-remaining").unwrap().to_string());
        assert!(r.header("ratelimit-reset").is_some());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let limited = app.post(BULK, &json!({"items": []})).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.body["code"], "rate_limited");
    assert!(
        limited
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    // A settings change applies at once (the settings route is limited too, so use the store).
    let mut s = app.store.settings(app.org).await.unwrap();
    s.rate_limit.burst = 50;
    s.rate_limit.requests_per_minute = 6000;
    app.store
        .update_settings(app.org, &s)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.get("/api/v2/admin/skills").await.status, 200);
}

/// A bulk of more agents than the store plans at once (on SQLite, a pipelined write whose
/// answer is written while the rows are): items that fail validation or name no agent keep
/// their place among the written ones, the replay of its idempotency key is the same answer,
/// and a second pass updates every row it wrote.
#[tokio::test]
async fn a_large_mixed_bulk_answers_every_item_in_order_and_replays_it() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app, 70, 2).await;
    let nobody = Uuid::now_v7();
    let body = |p: i64, bad: Option<usize>| {
        let mut items: Vec<Value> = agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let p = if Some(i) == bad { 500 } else { p };
                json!({"agentId": a, "skills": skills.iter()
                    .map(|s| json!({"skillId": s, "proficiency": p})).collect::<Vec<_>>()})
            })
            .collect();
        items.insert(50, json!({"agentId": nobody, "skills": []}));
        json!({"atomic": false, "items": items})
    };
    let keyed = || {
        let key = [("Idempotency-Key", "large-mixed-1")];
        let body = body(40, Some(35));
        let app = &app;
        async move {
            app.call(Method::POST, BULK, Some(&app.token), Some(&body), &key)
                .await
        }
    };
    let first = keyed().await;
    assert_eq!(first.status, 200, "{}", first.text);
    let s = &first.body["summary"];
    assert_eq!(
        (
            s["items"].as_u64(),
            s["succeeded"].as_u64(),
            s["failed"].as_u64(),
            s["added"].as_u64()
        ),
        (Some(71), Some(69), Some(2), Some(138))
    );
    let results = first.body["results"].as_array().unwrap();
    let indexes: Vec<u64> = results
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..71).collect::<Vec<u64>>());
    assert_eq!(results[35]["status"], 400);
    assert_eq!(results[35]["agentId"], agents[35].to_string());
    assert_eq!(
        results[35]["problem"]["errors"][0]["pointer"],
        "/items/35/skills/0/proficiency"
    );
    assert_eq!(results[50]["status"], 404);
    assert_eq!(results[51]["agentId"], agents[50].to_string());
    assert_eq!(results[70]["changes"]["added"].as_array().unwrap().len(), 2);
    assert_eq!(results[70]["version"], 1);
    let again = keyed().await;
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.text, first.text);

    let second = app.post(BULK, &body(60, None)).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let s = &second.body["summary"];
    assert_eq!(
        (
            s["updated"].as_u64(),
            s["added"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(138), Some(2), Some(1))
    );
    let updated = &second.body["results"][0]["changes"]["updated"][0];
    assert_eq!(
        (
            updated["before"]["proficiency"].as_i64(),
            updated["after"]["proficiency"].as_i64()
        ),
        (Some(40), Some(60))
    );
    assert_eq!(app.skills_of(agents[69]).await["version"], 2);
    assert_eq!(audit_all(&app, &app.token).await.len(), 138 + 140);
}
