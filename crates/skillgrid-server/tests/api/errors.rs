//! Problem bodies for every error, request ids, a real internal error,
//! and the operational endpoints.

use crate::helpers::{assert_problem, spawn_app, Resp};
use reqwest::Method;
use serde_json::json;
use skillgrid_api::scopes;
use uuid::Uuid;

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = spawn_app().await;
    for path in [
        "/api/v2/nothing-here",
        "/api/v2/admin/skills/x/y/z",
        "/nothing",
        "/api/v3/admin/skills",
    ] {
        let r = app.get(path).await;
        assert_problem(&r, 404, "not_found");
        let r = app.call(Method::GET, path, None, None, &[]).await;
        assert_problem(&r, 404, "not_found");
    }
}

#[tokio::test]
async fn wrong_methods_are_405_problems_with_allow() {
    let app = spawn_app().await;
    let id = Uuid::now_v7();
    for (m, path, allowed) in [
        (
            Method::DELETE,
            "/api/v2/organizations/settings".to_string(),
            vec!["GET", "PATCH"],
        ),
        (
            Method::POST,
            format!("/api/v2/admin/skills/{id}"),
            vec!["GET", "PATCH", "DELETE"],
        ),
        (
            Method::DELETE,
            format!("/api/v2/admin/users/{id}"),
            vec!["GET", "PATCH"],
        ),
        (
            Method::POST,
            format!("/api/v2/agents/users/{id}/skills"),
            vec!["GET", "PUT", "PATCH"],
        ),
        (
            Method::PUT,
            format!("/api/v2/admin/users/{id}/skills/history"),
            vec!["GET"],
        ),
        (Method::GET, "/oauth/token".to_string(), vec!["POST"]),
    ] {
        let r = app
            .call(m.clone(), &path, Some(&app.token), Some(&json!({})), &[])
            .await;
        assert_problem(&r, 405, "method_not_allowed");
        let allow = r.header("allow").unwrap_or_default().to_string();
        let mut got: Vec<&str> = allow.split(',').map(str::trim).collect();
        got.retain(|m| *m != "HEAD");
        got.sort();
        let mut want = allowed.clone();
        want.sort();
        assert_eq!(got, want, "{m} {path}: Allow {allow}");
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains(m.as_str()), "{detail}");
        // The detail names the methods `Allow` lists.
        for a in allow.split(',').map(str::trim) {
            assert!(detail.contains(a), "{m} {path}: {detail} (Allow: {allow})");
        }
    }
}

#[tokio::test]
async fn every_error_is_a_problem_with_a_request_id() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let inactive = app.create_agent("gone@example.com").await;
    app.patch(
        &format!("/api/v2/admin/users/{inactive}"),
        &json!({"active": false}),
    )
    .await;
    let skills = format!("/api/v2/agents/users/{agent}/skills");
    let reader = app.token_with(&[scopes::SKILL_READ]).await;

    let mut answers: Vec<(u16, &str, Resp)> = Vec::new();
    answers.push((
        400,
        "validation_failed",
        app.raw(
            Method::PUT,
            &skills,
            Some("application/json"),
            b"{\"skills\": [".to_vec(),
            &[],
        )
        .await,
    ));
    answers.push((
        400,
        "validation_failed",
        app.raw(
            Method::PUT,
            &skills,
            Some("application/json"),
            Vec::new(),
            &[],
        )
        .await,
    ));
    answers.push((
        400,
        "validation_failed",
        app.get("/api/v2/admin/skills/%FF%FE").await,
    ));
    answers.push((
        400,
        "inactive_agent",
        app.put(
            &format!("/api/v2/agents/users/{inactive}/skills"),
            &json!([]),
        )
        .await,
    ));
    answers.push((
        401,
        "unauthorized",
        app.call(Method::GET, &skills, None, None, &[]).await,
    ));
    answers.push((
        401,
        "unauthorized",
        app.call(Method::GET, &skills, Some("junk"), None, &[])
            .await,
    ));
    answers.push((
        403,
        "insufficient_scope",
        app.call(Method::GET, &skills, Some(&reader), None, &[])
            .await,
    ));
    answers.push((404, "not_found", app.get("/api/v2/nope").await));
    answers.push((
        404,
        "not_found",
        app.get(&format!("/api/v2/admin/skills/{}", Uuid::now_v7()))
            .await,
    ));
    answers.push((
        405,
        "method_not_allowed",
        app.delete("/api/v2/admin/skills").await,
    ));
    answers.push((
        409,
        "conflict",
        app.post("/api/v2/admin/skills", &json!({"name": "billing"}))
            .await,
    ));
    answers.push((
        412,
        "precondition_failed",
        app.call(
            Method::PUT,
            &skills,
            Some(&app.token),
            Some(&json!([])),
            &[("if-match", "\"9\"")],
        )
        .await,
    ));
    answers.push((
        415,
        "unsupported_media_type",
        app.raw(
            Method::POST,
            "/api/v2/admin/skills",
            Some("text/plain"),
            b"{\"name\": \"Sales\"}".to_vec(),
            &[],
        )
        .await,
    ));
    answers.push((
        415,
        "unsupported_media_type",
        app.raw(Method::PUT, &skills, None, b"[]".to_vec(), &[])
            .await,
    ));
    // A body over the organization's limit.
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"limits": {"maxBodyBytes": 1024}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let one = json!({"skillId": skill, "effectiveDate": null, "expirationDate": null});
    let big = serde_json::Value::Array(vec![one; 40]);
    answers.push((413, "payload_too_large", app.put(&skills, &big).await));
    // requireIfMatch on: a write without If-Match.
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"requireIfMatch": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    answers.push((
        428,
        "precondition_required",
        app.put(&skills, &json!([])).await,
    ));

    for (status, code, r) in &answers {
        assert_problem(r, *status, code);
        assert!(!r.text.is_empty());
    }
    // Every answer had its own id.
    let mut ids: Vec<&str> = answers
        .iter()
        .map(|(_, _, r)| r.body["requestId"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), answers.len());
    // Nothing was written by any of them.
    assert_eq!(app.skills_of(agent).await["version"], 0);
}

#[tokio::test]
async fn token_endpoint_errors_are_never_empty() {
    let app = spawn_app().await;
    let r = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("x-request-id").is_some());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn request_ids_are_echoed_when_valid_and_replaced_otherwise() {
    let app = spawn_app().await;
    let max = "a".repeat(128);
    for good in [
        "abc",
        "A-b_c.9",
        max.as_str(),
        "0",
        "01a207c5-67a2-77ca-ba33-4117a0e210c8",
    ] {
        let r = app
            .call(
                Method::GET,
                "/api/v2/admin/skills",
                Some(&app.token),
                None,
                &[("x-request-id", good)],
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-request-id"), Some(good));
        // Also on errors, in the body.
        let r = app
            .call(
                Method::GET,
                "/api/v2/nope",
                None,
                None,
                &[("x-request-id", good)],
            )
            .await;
        assert_eq!(r.header("x-request-id"), Some(good));
        assert_eq!(r.body["requestId"], good);
    }
    let too_long = "a".repeat(129);
    for bad in [
        too_long.as_str(),
        "",
        "has space",
        "slash/ed",
        "quote\"d",
        "semi;colon",
        "ümlaut",
    ] {
        let r = app
            .http
            .get(app.url("/api/v2/nope"))
            .header(
                "x-request-id",
                reqwest::header::HeaderValue::from_bytes(bad.as_bytes()).unwrap(),
            )
            .send()
            .await
            .unwrap();
        let got = r.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_ne!(got, bad);
        assert!(
            (1..=128).contains(&got.len())
                && got
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "generated id `{got}`"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["requestId"], got.as_str());
    }
    // Without one, each response gets its own.
    let a = app.get("/healthz").await;
    let b = app.get("/healthz").await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
    assert!(a.header("x-request-id").is_some());
}

#[tokio::test]
async fn an_internal_error_is_a_500_naming_only_the_request_id() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let r = app.put(&path, &json!([{"skillId": skill}])).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Break the database underneath the running server (PostgreSQL drops no table a view
    // reads: the audit_entries view goes first).
    app.execute_sql("DROP VIEW audit_entries").await;
    app.execute_sql("DROP TABLE audit_sets").await;

    let r = app
        .call(
            Method::PUT,
            &path,
            Some(&app.token),
            Some(&json!([{"skillId": skill, "proficiency": 99}])),
            &[("x-request-id", "boom-1")],
        )
        .await;
    assert_problem(&r, 500, "internal");
    assert_eq!(r.body["requestId"], "boom-1");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("boom-1"), "{detail}");
    let lower = r.text.to_lowercase();
    for secret in ["audit", "sql", "table", "insert", "no such"] {
        assert!(
            !lower.contains(secret),
            "the 500 leaks `{secret}`: {}",
            r.text
        );
    }
    assert!(r.body.get("errors").is_none());

    // The failed write was rolled back whole; reads and readiness still work.
    let got = app.skills_of(agent).await;
    assert_eq!(got["version"], 1);
    assert_eq!(got["skills"][0]["proficiency"], 50);
    assert_eq!(app.get("/readyz").await.status, 200);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let r = app.call(Method::GET, path, None, None, &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let skill = app.create_skill("Billing").await;
    app.get(&format!("/api/v2/admin/skills/{skill}")).await;
    app.get(&format!("/api/v2/admin/skills/{}", Uuid::now_v7()))
        .await;
    app.get("/api/v2/admin/skills").await;

    let r = app.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let lines: Vec<&str> = r
        .text
        .lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .collect();
    assert!(!lines.is_empty(), "{}", r.text);
    let has = |route: &str, status: &str| {
        lines.iter().any(|l| {
            l.contains(&format!("route=\"{route}\"")) && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(has("/api/v2/admin/skills", "201"), "{}", r.text);
    assert!(has("/api/v2/admin/skills", "200"), "{}", r.text);
    // Routes are labelled by their template, not by the ids in the path.
    assert!(has("/api/v2/admin/skills/{skillId}", "200"), "{}", r.text);
    assert!(has("/api/v2/admin/skills/{skillId}", "404"), "{}", r.text);
    assert!(!r.text.contains(&skill.to_string()), "ids in metric labels");
}
