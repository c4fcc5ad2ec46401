//! Bodies and preconditions whose meaning is ambiguous are refused, and harmless framing is
//! not: a repeated key in any JSON object is `duplicate_key` at the repeat (nothing written),
//! a weak `If-Match` never matches (412), a UTF-8 byte-order mark before a body is ignored,
//! and a whole number below the 64-bit integers is out of range, not a decimal.

use crate::helpers::{assert_problem, spawn_app, Resp, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const BULK: &str = "/api/v2/agents/skills/bulk";
const JSON: Option<&str> = Some("application/json");
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// An app with lifted rate limits, two skills and two agents.
async fn setup() -> (TestApp, [Uuid; 2], [Uuid; 2]) {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let skills = [
        app.create_skill("Billing").await,
        app.create_skill("Sales").await,
    ];
    let agents = [
        app.create_agent("ana@example.com").await,
        app.create_agent("ben@example.com").await,
    ];
    (app, skills, agents)
}

async fn send(app: &TestApp, method: Method, path: &str, text: &str) -> Resp {
    app.raw(method, path, JSON, text.as_bytes().to_vec(), &[])
        .await
}

/// Everything the tests here could change: settings, catalog, agents and their sets.
async fn everything(app: &TestApp, agents: &[Uuid]) -> Vec<Value> {
    let mut all = vec![
        app.get("/api/v2/organizations/settings").await.body,
        app.get("/api/v2/admin/skills?limit=1000").await.body,
        app.get("/api/v2/admin/users?limit=1000").await.body,
    ];
    for a in agents {
        let (set, history) = app.snapshot(*a).await;
        all.extend([set, history]);
    }
    all
}

/// `(pointer, code)` of each entry.
fn entries(r: &Resp) -> Vec<(String, String)> {
    r.entries()
}

fn at(pointer: &str, code: &str) -> (String, String) {
    (format!("pointer:{pointer}"), code.to_string())
}

#[tokio::test]
async fn a_repeated_key_in_any_body_is_reported_at_the_repeat_and_nothing_is_written() {
    let (app, [s1, s2], [a1, a2]) = setup().await;
    // One write so that the agents hold something a failed write could change.
    let r = app
        .put(
            &format!("/api/v2/agents/users/{a1}/skills"),
            &json!([{"skillId": s1, "proficiency": 50}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = everything(&app, &[a1, a2]).await;

    let set = format!("/api/v2/agents/users/{a1}/skills");
    let cases: Vec<(Method, String, String, &str)> = vec![
        (
            Method::PATCH,
            "/api/v2/organizations/settings".into(),
            r#"{"requireIfMatch": true, "requireIfMatch": false}"#.into(),
            "/requireIfMatch",
        ),
        (
            Method::PATCH,
            "/api/v2/organizations/settings".into(),
            r#"{"rateLimit": {"burst": 10, "burst": 20}}"#.into(),
            "/rateLimit/burst",
        ),
        (
            Method::POST,
            "/api/v2/admin/skills".into(),
            r#"{"name": "dupA", "name": "dupB"}"#.into(),
            "/name",
        ),
        (
            Method::PATCH,
            format!("/api/v2/admin/skills/{s2}"),
            r#"{"active": false, "description": "x", "active": true}"#.into(),
            "/active",
        ),
        (
            Method::POST,
            "/api/v2/admin/users".into(),
            r#"{"email": "cy@example.com", "name": "Cy", "email": "dee@example.com"}"#.into(),
            "/email",
        ),
        (
            Method::PATCH,
            format!("/api/v2/admin/users/{a2}"),
            r#"{"name": "One", "name": "Two"}"#.into(),
            "/name",
        ),
        (
            Method::PUT,
            set.clone(),
            format!(
                r#"{{"skills": [{{"skillId": "{s2}", "proficiency": 10, "proficiency": 90}}]}}"#
            ),
            "/skills/0/proficiency",
        ),
        (
            Method::PUT,
            set.clone(),
            format!(r#"{{"skills": [{{"skillId": "{s2}"}}], "skills": []}}"#),
            "/skills",
        ),
        (
            Method::PATCH,
            set.clone(),
            format!(r#"[{{"skillId": "{s1}", "skillId": "{s2}", "proficiency": 60}}]"#),
            "/0/skillId",
        ),
        (
            Method::PUT,
            format!("{set}/{s2}"),
            r#"{"proficiency": 10, "proficiency": 20}"#.into(),
            "/proficiency",
        ),
        (
            Method::POST,
            BULK.into(),
            format!(
                r#"{{"atomic": true, "items": [{{"agentId": "{a2}", "skills": []}}], "atomic": false}}"#
            ),
            "/atomic",
        ),
        (
            Method::POST,
            BULK.into(),
            // Not atomic: a repeat still writes nothing, not even the other item.
            format!(
                r#"{{"atomic": false, "items": [{{"agentId": "{a2}", "skills": [{{"skillId": "{s1}"}}]}},
                    {{"agentId": "{a1}", "skills": [{{"skillId": "{s2}", "proficiency": 1, "proficiency": 2}}]}}]}}"#
            ),
            "/items/1/skills/0/proficiency",
        ),
        (
            Method::POST,
            format!("/api/v2/admin/skills/{s2}/agents"),
            format!(r#"{{"agents": [{{"agentId": "{a1}", "agentId": "{a2}"}}]}}"#),
            "/agents/0/agentId",
        ),
        (
            Method::POST,
            format!("/api/v2/admin/skills/{s2}/agents"),
            // The same key spelled with an escape is the same key.
            format!(r#"{{"agents": [{{"agentId": "{a1}"}}], "\u0061gents": []}}"#),
            "/agents",
        ),
    ];
    for (method, path, body, pointer) in cases {
        let r = send(&app, method.clone(), &path, &body).await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            entries(&r),
            [at(pointer, "duplicate_key")],
            "{method} {path} {body}: {}",
            r.text
        );
        let e = &r.body["errors"][0];
        let key = pointer.rsplit('/').next().unwrap();
        assert!(
            e["detail"].as_str().unwrap().contains(&format!("`{key}`")),
            "{}",
            r.text
        );
    }
    assert_eq!(everything(&app, &[a1, a2]).await, before);
}

#[tokio::test]
async fn a_repeated_key_is_reported_with_every_other_problem_in_body_order() {
    let (app, [s1, _], [a1, a2]) = setup().await;
    let r = send(
        &app,
        Method::POST,
        "/api/v2/admin/skills",
        r#"{"nmae": "x", "name": "a", "name": "b", "active": "yes"}"#,
    )
    .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        entries(&r),
        [
            at("/nmae", "unknown_field"),
            at("/name", "duplicate_key"),
            at("/active", "unknown_field"),
        ],
        "{}",
        r.text
    );

    let body = format!(
        r#"{{"items": [
            {{"agentId": "{a1}", "skills": [{{"skillId": "{s1}", "proficiency": 500}}]}},
            {{"agentId": "{a2}", "agentId": "{a2}", "skills": [{{"skillId": "{s1}", "level": 3}}]}}
        ]}}"#
    );
    let r = send(&app, Method::POST, BULK, &body).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        entries(&r),
        [
            at("/items/0/skills/0/proficiency", "out_of_range"),
            at("/items/1/agentId", "duplicate_key"),
            at("/items/1/skills/0/level", "unknown_field"),
        ],
        "{}",
        r.text
    );
    // Three times the same key: one entry.
    let r = send(
        &app,
        Method::PATCH,
        &format!("/api/v2/admin/users/{a1}"),
        r#"{"name": "a", "name": "b", "name": "c"}"#,
    )
    .await;
    assert_eq!(entries(&r), [at("/name", "duplicate_key")], "{}", r.text);
}

#[tokio::test]
async fn a_body_starting_with_a_byte_order_mark_is_accepted() {
    let (app, [s1, s2], [a1, a2]) = setup().await;
    let with_bom = |v: &Value| [BOM, v.to_string().as_bytes()].concat();
    let set = format!("/api/v2/agents/users/{a1}/skills");
    for (method, path, body, status) in [
        (
            Method::PATCH,
            "/api/v2/organizations/settings".to_string(),
            json!({"requireIfMatch": false}),
            200,
        ),
        (
            Method::POST,
            "/api/v2/admin/skills".into(),
            json!({"name": "From .NET"}),
            201,
        ),
        (
            Method::PUT,
            set.clone(),
            json!({"skills": [{"skillId": s1, "proficiency": 50}]}),
            200,
        ),
        (
            Method::PATCH,
            set.clone(),
            json!([{"skillId": s2, "proficiency": 60}]),
            200,
        ),
        (
            Method::PUT,
            format!("/api/v2/agents/users/{a2}/skills/{s1}"),
            json!({"proficiency": 70}),
            200,
        ),
        (
            Method::POST,
            BULK.into(),
            json!({"items": [{"agentId": a2, "skills": [{"skillId": s2, "proficiency": 80}]}]}),
            200,
        ),
        (
            Method::POST,
            format!("/api/v2/admin/skills/{s2}/agents"),
            json!({"agents": [{"agentId": a1, "proficiency": 90}]}),
            200,
        ),
    ] {
        let r = app
            .raw(method.clone(), &path, JSON, with_bom(&body), &[])
            .await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
    }
    let set = app.skills_of(a1).await;
    assert_eq!(set["skills"][1]["proficiency"], 90, "{set}");

    // A large bulk (validated while it is written) too.
    let mut agents = Vec::new();
    for i in 0..40 {
        agents.push(app.create_agent(&format!("bom{i}@example.com")).await);
    }
    let items: Vec<Value> = agents
        .iter()
        .map(|a| {
            json!({"agentId": a, "skills": [{"skillId": s1, "proficiency": 40,
                "effectiveDate": "2026-01-01T00:00:00Z", "expirationDate": null}]})
        })
        .collect();
    let mut bytes = with_bom(&json!({"mode": "merge", "items": items}));
    // Whitespace after the document takes it above the size from which bulk bodies are
    // validated while they are written.
    bytes.extend(std::iter::repeat_n(b' ', 70 * 1024));
    let r = app.raw(Method::POST, BULK, JSON, bytes, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["summary"]["succeeded"], 40, "{}", r.text);

    // A byte-order mark is not a licence for anything else: what follows must be JSON.
    let r = app
        .raw(
            Method::POST,
            "/api/v2/admin/skills",
            JSON,
            [BOM, b"{\"name\": }"].concat(),
            &[],
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(entries(&r), [at("", "invalid_json")], "{}", r.text);
    // Nor twice.
    let r = app
        .raw(
            Method::POST,
            "/api/v2/admin/skills",
            JSON,
            [BOM, BOM, b"{\"name\": \"Twice\"}"].concat(),
            &[],
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(entries(&r), [at("", "invalid_json")], "{}", r.text);
}

#[tokio::test]
async fn a_weak_etag_never_matches_if_match() {
    let (app, [s1, s2], [a1, a2]) = setup().await;
    let set = format!("/api/v2/agents/users/{a1}/skills");
    let r = app
        .put(&set, &json!([{"skillId": s1, "proficiency": 50}]))
        .await;
    assert_eq!(r.header("etag"), Some("\"1\""));
    let before = app.snapshot(a1).await;
    let body = json!([{"skillId": s2, "proficiency": 60}]);
    let one = json!({"proficiency": 60});
    for (method, path, body) in [
        (Method::PUT, set.clone(), Some(&body)),
        (Method::PATCH, set.clone(), Some(&body)),
        (Method::PUT, format!("{set}/{s2}"), Some(&one)),
        (Method::DELETE, format!("{set}/{s1}"), None),
    ] {
        for weak in ["W/\"1\"", " W/\"1\" "] {
            let r = app
                .call(
                    method.clone(),
                    &path,
                    Some(&app.token),
                    body,
                    &[("If-Match", weak)],
                )
                .await;
            assert_problem(&r, 412, "precondition_failed");
            assert_eq!(r.body["currentVersion"], 1, "{}", r.text);
        }
    }
    assert_eq!(app.snapshot(a1).await, before);
    // The strong tag of the same version matches.
    let r = app
        .call(
            Method::PATCH,
            &set,
            Some(&app.token),
            Some(&body),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A bulk item's `ifMatch` compares the same way: atomic, nothing is written...
    let items = json!([
        {"agentId": a2, "skills": [{"skillId": s1}]},
        {"agentId": a1, "ifMatch": "W/\"2\"", "skills": [{"skillId": s1}]},
    ]);
    let before = (app.snapshot(a1).await, app.snapshot(a2).await);
    let r = app.post(BULK, &json!({"items": items})).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        entries(&r),
        [at("/items/1/ifMatch", "precondition_failed")],
        "{}",
        r.text
    );
    assert_eq!((app.snapshot(a1).await, app.snapshot(a2).await), before);
    // ...not atomic, that item fails alone.
    let r = app
        .post(BULK, &json!({"atomic": false, "items": items}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][0]["status"], 200, "{}", r.text);
    assert_eq!(r.body["results"][1]["status"], 412, "{}", r.text);
    assert_eq!(
        r.body["results"][1]["problem"]["code"], "precondition_failed",
        "{}",
        r.text
    );
    assert_eq!(app.skills_of(a1).await["version"], 2);
}

#[tokio::test]
async fn a_whole_number_below_the_64_bit_integers_is_out_of_range() {
    let (app, [s1, _], [a1, _]) = setup().await;
    let set = format!("/api/v2/agents/users/{a1}/skills");
    let settings = "/api/v2/organizations/settings";
    for (method, path, body, pointer) in [
        (
            Method::PUT,
            set.as_str(),
            format!(r#"[{{"skillId": "{s1}", "proficiency": -9223372036854775809}}]"#),
            "/0/proficiency",
        ),
        (
            Method::PUT,
            set.as_str(),
            format!(r#"[{{"skillId": "{s1}", "proficiency": -9223372036854775808.0e0}}]"#),
            "/0/proficiency",
        ),
        (
            Method::PATCH,
            settings,
            r#"{"rateLimit": {"burst": -9223372036854775809}}"#.to_string(),
            "/rateLimit/burst",
        ),
    ] {
        let r = send(&app, method, path, &body).await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            entries(&r),
            [at(pointer, "out_of_range")],
            "{body}: {}",
            r.text
        );
        let detail = r.body["errors"][0]["detail"].as_str().unwrap();
        assert!(!detail.contains("decimal"), "{detail}");
    }
}
