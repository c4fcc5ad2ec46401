//! `POST /api/v2/admin/users/bulk` over real HTTP: upsert by email, every mistake at once,
//! all or nothing by default, dry run, idempotency keys, the audit trail and the events.

use crate::helpers::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const BULK: &str = "/api/v2/admin/users/bulk";

/// Every agent of the organization as (email, name, externalId, active), by email.
async fn agents(app: &TestApp) -> Vec<(String, String, Value, bool)> {
    let r = app.get("/api/v2/admin/users?limit=1000").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut out: Vec<_> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap().to_string(),
                a["name"].as_str().unwrap().to_string(),
                a["externalId"].clone(),
                a["active"].as_bool().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The number of entries of the administrative trail and of events.
async fn trail_and_events(app: &TestApp) -> (usize, usize) {
    let t = app.get("/api/v2/audit/admin?limit=1000").await;
    assert_eq!(t.status, 200, "{}", t.text);
    let e = app.get("/api/v2/events?limit=1000").await;
    assert_eq!(e.status, 200, "{}", e.text);
    (
        t.body["items"].as_array().unwrap().len(),
        e.body["items"].as_array().unwrap().len(),
    )
}

fn outcomes(r: &Value) -> Vec<(u64, String)> {
    r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["status"].as_u64().unwrap(),
                x["outcome"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn creates_updates_and_leaves_unchanged_by_email_in_any_case() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v2/admin/users",
            &json!({"email": "Ana@Example.com", "name": "Ana", "externalId": "E-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let ana = r.body["id"].clone();
    app.post(
        "/api/v2/admin/users",
        &json!({"email": "carla@example.com", "name": "Carla"}),
    )
    .await;
    let (trail0, events0) = trail_and_events(&app).await;

    let r = app
        .post(
            BULK,
            &json!({"agents": [
                {"email": "ana@example.com", "name": "Ana García", "active": false},
                {"email": "bo@example.com", "name": "Bo", "externalId": "E-2"},
                {"email": "CARLA@example.com", "name": "Carla"},
                {"email": "carla2@example.com", "name": "Carla Two"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["dryRun"], false);
    assert_eq!(
        r.body["summary"],
        json!({"items": 4, "succeeded": 4, "failed": 0, "created": 2, "updated": 2, "unchanged": 0})
    );
    assert_eq!(
        outcomes(&r.body),
        [
            (200, "updated".into()),
            (201, "created".into()),
            (200, "updated".into()),
            (201, "created".into())
        ]
    );
    let first = &r.body["results"][0];
    assert_eq!(first["index"], 0);
    assert_eq!(first["email"], "ana@example.com");
    assert_eq!(
        first["agent"]["id"], ana,
        "the same agent, matched by email"
    );
    assert_eq!(first["agent"]["externalId"], "E-1", "left out: kept");
    assert_eq!(
        agents(&app).await,
        [
            (
                "CARLA@example.com".into(),
                "Carla".into(),
                Value::Null,
                true
            ),
            (
                "ana@example.com".into(),
                "Ana García".into(),
                json!("E-1"),
                false
            ),
            ("bo@example.com".into(), "Bo".into(), json!("E-2"), true),
            (
                "carla2@example.com".into(),
                "Carla Two".into(),
                Value::Null,
                true
            ),
        ]
    );
    // Each change is in the administrative trail with its event, written with it.
    let (trail, events) = trail_and_events(&app).await;
    assert_eq!((trail - trail0, events - events0), (4, 4));
    let e = app
        .get("/api/v2/events?types=agent.created,agent.updated&limit=1000")
        .await;
    let kinds: Vec<&str> = e.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(4)
        .map(|x| x["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "agent.created").count(), 2);

    // The same again: nothing changes, nothing is recorded.
    let again = app
        .post(
            BULK,
            &json!([{"email": "ANA@example.com", "name": "Ana García", "active": false}]),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        outcomes(&again.body),
        [(200, "updated".into())],
        "case of the email"
    );
    let same = app
        .post(
            BULK,
            &json!([{"email": "ANA@example.com", "name": "Ana García", "externalId": "E-1"}]),
        )
        .await;
    assert_eq!(outcomes(&same.body), [(200, "unchanged".into())]);
    assert_eq!(trail_and_events(&app).await, (trail + 1, events + 1));
}

#[tokio::test]
async fn every_mistake_at_once_with_its_pointer_and_nothing_written() {
    let app = spawn_app().await;
    let before = agents(&app).await;
    let (trail0, events0) = trail_and_events(&app).await;
    let long = "x".repeat(201);
    let r = app
        .post(
            BULK,
            &json!({"agents": [
                {"email": "ok@example.com", "name": "Fine"},
                {"email": "not-an-email", "name": long},
                {"email": "OK@example.com", "name": "Twice"},
                {"mail": "bo@example.com", "name": "Bo", "active": "true"}
            ]}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [
            ("pointer:/agents/1/email".into(), "invalid_format".into()),
            ("pointer:/agents/1/name".into(), "out_of_range".into()),
            ("pointer:/agents/2/email".into(), "duplicate_agent".into()),
            ("pointer:/agents/3/mail".into(), "unknown_field".into()),
            ("pointer:/agents/3/active".into(), "invalid_type".into()),
        ]
    );
    let dup = &r.body["errors"][2];
    assert!(dup["hint"].as_str().unwrap().contains("agent 0"), "{dup}");
    assert!(r.body["errors"][3]["hint"]
        .as_str()
        .unwrap()
        .contains("email"));
    assert_eq!(agents(&app).await, before);
    assert_eq!(trail_and_events(&app).await, (trail0, events0));

    // Request-wide mistakes: the shape, the options, a key twice, too many agents.
    let r = app
        .post(BULK, &json!({"items": [], "atomic": "no", "dryRun": 1}))
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [
            ("pointer:/items".into(), "unknown_field".into()),
            ("pointer:/atomic".into(), "invalid_type".into()),
            ("pointer:/dryRun".into(), "invalid_type".into()),
        ]
    );
    // With a request-wide mistake, the agents' own are listed too, in body order.
    let r = app
        .post(
            BULK,
            &json!({"agents": [{"email": "a@example.com"}], "atomic": "no"}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [
            ("pointer:/agents/0".into(), "missing_field".into()),
            ("pointer:/atomic".into(), "invalid_type".into()),
        ]
    );
    let r = app
        .raw(
            Method::POST,
            BULK,
            Some("application/json"),
            br#"{"agents": [{"email": "a@example.com", "name": "A", "name": "B"}]}"#.to_vec(),
            &[],
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("pointer:/agents/0/name".into(), "duplicate_key".into())]
    );
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"limits": {"maxItemsPerBulk": 2}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let three: Vec<Value> = (0..3)
        .map(|i| json!({"email": format!("a{i}@example.com"), "name": "A"}))
        .collect();
    let r = app.post(BULK, &json!({ "agents": three })).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("pointer:/agents".into(), "too_many_items".into())]
    );
    let r = app.post(&format!("{BULK}?dry=1"), &json!([])).await;
    assert_problem(&r, 400, "validation_failed");
    let r = app
        .raw(Method::POST, BULK, Some("text/csv"), b"a,b".to_vec(), &[])
        .await;
    assert_problem(&r, 415, "unsupported_media_type");
    assert_eq!(agents(&app).await, before);
}

#[tokio::test]
async fn not_atomic_writes_the_valid_agents_and_answers_the_others() {
    let app = spawn_app().await;
    let r = app
        .post(
            BULK,
            &json!({"atomic": false, "agents": [
                {"email": "a@example.com", "name": "A"},
                {"email": "A@EXAMPLE.COM", "name": "A again"},
                {"email": "b@example.com", "name": ""},
                {"email": "c@example.com", "name": "C", "externalId": null}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["summary"],
        json!({"items": 4, "succeeded": 2, "failed": 2, "created": 2, "updated": 0, "unchanged": 0})
    );
    assert_eq!(
        outcomes(&r.body),
        [
            (201, "created".into()),
            (400, "-".into()),
            (400, "-".into()),
            (201, "created".into())
        ]
    );
    let p = &r.body["results"][1]["problem"];
    assert_eq!(p["code"], "validation_failed");
    assert_eq!(p["errors"][0]["pointer"], "/agents/1/email");
    assert_eq!(p["errors"][0]["code"], "duplicate_agent");
    assert_eq!(
        r.body["results"][2]["problem"]["errors"][0]["pointer"],
        "/agents/2/name"
    );
    let emails: Vec<String> = agents(&app).await.into_iter().map(|a| a.0).collect();
    assert_eq!(emails, ["a@example.com", "c@example.com"]);
}

#[tokio::test]
async fn a_dry_run_answers_as_if_written_and_writes_nothing() {
    let app = spawn_app().await;
    app.create_agent("ana@example.com").await;
    let before = agents(&app).await;
    let counts = trail_and_events(&app).await;
    let body = json!({"agents": [
        {"email": "ana@example.com", "name": "Ana Renamed"},
        {"email": "new@example.com", "name": "New"}]});
    for (path, body) in [
        (format!("{BULK}?dryRun=true"), body.clone()),
        (
            BULK.to_string(),
            json!({"dryRun": true, "agents": body["agents"]}),
        ),
    ] {
        let r = app.post(&path, &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["dryRun"], true);
        assert_eq!(
            outcomes(&r.body),
            [(200, "updated".into()), (201, "created".into())]
        );
        assert_eq!(r.body["results"][0]["agent"]["name"], "Ana Renamed");
        assert_eq!(agents(&app).await, before);
        assert_eq!(trail_and_events(&app).await, counts);
    }
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let app = spawn_app().await;
    let body = json!({"agents": [{"email": "a@example.com", "name": "A"}]});
    let key = [("Idempotency-Key", "agents-2026-12-06-part-1")];
    let first = app
        .call(Method::POST, BULK, Some(&app.token), Some(&body), &key)
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("idempotency-replayed"), None);
    let counts = trail_and_events(&app).await;
    let again = app
        .call(Method::POST, BULK, Some(&app.token), Some(&body), &key)
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(
        again.body, first.body,
        "created, not unchanged: the first answer"
    );
    assert_eq!(trail_and_events(&app).await, counts);

    let other = json!({"agents": [{"email": "b@example.com", "name": "B"}]});
    let reused = app
        .call(Method::POST, BULK, Some(&app.token), Some(&other), &key)
        .await;
    assert_problem(&reused, 422, "idempotency_key_reused");
    assert_eq!(agents(&app).await.len(), 1);

    let empty = [("Idempotency-Key", "")];
    let r = app
        .call(Method::POST, BULK, Some(&app.token), Some(&body), &empty)
        .await;
    assert_problem(&r, 400, "validation_failed");
}

#[tokio::test]
async fn needs_the_agent_write_scope_and_counts_as_one_request() {
    let app = spawn_app().await;
    let reader = app.token_with(&["admin:agent:read"]).await;
    let body = json!({"agents": [{"email": "a@example.com", "name": "A"}]});
    let r = app
        .call(Method::POST, BULK, Some(&reader), Some(&body), &[])
        .await;
    assert_problem(&r, 403, "insufficient_scope");
    assert!(agents(&app).await.is_empty());

    let many: Vec<Value> = (0..300)
        .map(|i| json!({"email": format!("a{i}@example.com"), "name": format!("Agent {i}")}))
        .collect();
    let r = app.post(BULK, &json!({ "agents": many })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let left: i64 = r.header("ratelimit-remaining").unwrap().parse().unwrap();
    let r = app.get("/api/v2/admin/users?limit=1").await;
    let after: i64 = r.header("ratelimit-remaining").unwrap().parse().unwrap();
    assert!(left - after <= 1, "{left} then {after}");
    assert_eq!(agents(&app).await.len(), 300);
}
