//! Agents.

use crate::helpers::{assert_problem, is_utc_millis, spawn_app, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

const USERS: &str = "/api/v2/admin/users";

fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap().to_string())
        .collect()
}

async fn pages(app: &TestApp, path: &str, limit: u32) -> Vec<Vec<String>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut url = format!("{path}{sep}limit={limit}");
    loop {
        let r = app.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text);
        out.push(emails(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(c) => url = format!("{path}{sep}limit={limit}&cursor={c}"),
            None => {
                assert!(r.body["nextCursor"].is_null(), "{}", r.text);
                break;
            }
        }
        assert!(out.len() < 50, "pagination does not end");
    }
    out
}

#[tokio::test]
async fn create_answers_201_with_location_and_the_agent() {
    let app = spawn_app().await;
    let r = app
        .post(
            USERS,
            &json!({"email": "Ana.Garcia@Example.com", "name": "Ana García", "externalId": "EMP-1001"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(r.body["id"], id.to_string());
    assert_eq!(r.header("location"), Some(&*format!("{USERS}/{id}")));
    assert_eq!(r.body["email"], "Ana.Garcia@Example.com", "stored as sent");
    assert_eq!(r.body["name"], "Ana García");
    assert_eq!(r.body["externalId"], "EMP-1001");
    assert_eq!(r.body["active"], true);
    let created = r.body["createdAt"].as_str().unwrap();
    assert!(is_utc_millis(created), "{created}");
    assert_eq!(r.body["updatedAt"], created);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "email",
            "name",
            "externalId",
            "active",
            "createdAt",
            "updatedAt"
        ]
    );
    let got = app.get(r.header("location").unwrap()).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, r.body);

    // externalId is optional.
    let r = app
        .post(USERS, &json!({"email": "ben@example.com", "name": "Ben"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["externalId"], Value::Null);
    let upper = r.body["id"].as_str().unwrap().to_uppercase();
    assert_eq!(app.get(&format!("{USERS}/{upper}")).await.body, r.body);
}

#[tokio::test]
async fn list_filters_by_email_and_active_and_paginates() {
    let app = spawn_app().await;
    let all = [
        "ana@example.com",
        "ben@example.com",
        "chloe@example.com",
        "dev@example.com",
        "emma@example.com",
    ];
    let mut ids = Vec::new();
    for e in all {
        ids.push(app.create_agent(e).await);
    }
    let r = app
        .patch(&format!("{USERS}/{}", ids[1]), &json!({"active": false}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = app.get(USERS).await;
    assert_eq!(emails(&r.body), all);
    assert!(r.body["nextCursor"].is_null());

    for q in [
        "email=dev@example.com",
        "email=DEV%40EXAMPLE.COM",
        "email=Dev@Example.com",
    ] {
        let r = app.get(&format!("{USERS}?{q}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(emails(&r.body), ["dev@example.com"], "{q}");
    }
    let r = app.get(&format!("{USERS}?email=nobody@example.com")).await;
    assert_eq!(r.body, json!({"items": [], "nextCursor": null}));

    let r = app.get(&format!("{USERS}?active=false")).await;
    assert_eq!(emails(&r.body), ["ben@example.com"]);

    assert_eq!(
        pages(&app, USERS, 2).await,
        [
            vec!["ana@example.com", "ben@example.com"],
            vec!["chloe@example.com", "dev@example.com"],
            vec!["emma@example.com"]
        ]
    );
    assert_eq!(
        pages(&app, &format!("{USERS}?active=true"), 2).await,
        [
            vec!["ana@example.com", "chloe@example.com"],
            vec!["dev@example.com", "emma@example.com"]
        ]
    );
    let r = app.get(&format!("{USERS}?name=ana")).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("query:name".to_string(), "unknown_field".to_string())]
    );
    // PostgreSQL refuses NUL in text: a filter with one was a 500 there.
    let r = app.get(&format!("{USERS}?email=a%00b@example.com")).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("query:email".to_string(), "invalid_format".to_string())]
    );
}

#[tokio::test]
async fn duplicate_emails_conflict_case_insensitively() {
    let app = spawn_app().await;
    app.create_agent("ana@example.com").await;
    for email in ["ana@example.com", "ANA@example.com", "Ana@Example.Com"] {
        let r = app
            .post(USERS, &json!({"email": email, "name": "Another Ana"}))
            .await;
        assert_problem(&r, 409, "conflict");
        assert_eq!(
            r.entries(),
            [("pointer:/email".to_string(), "conflict".to_string())],
            "{email}"
        );
    }
    let ben = app.create_agent("ben@example.com").await;
    let r = app
        .patch(
            &format!("{USERS}/{ben}"),
            &json!({"email": "aNa@example.COM"}),
        )
        .await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(
        r.entries(),
        [("pointer:/email".to_string(), "conflict".to_string())]
    );
    assert_eq!(
        emails(&app.get(USERS).await.body),
        ["ana@example.com", "ben@example.com"]
    );
    // Changing one's own email's case is fine.
    let r = app
        .patch(
            &format!("{USERS}/{ben}"),
            &json!({"email": "Ben@Example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "Ben@Example.com");
}

#[tokio::test]
async fn patch_changes_fields_and_deactivates() {
    let app = spawn_app().await;
    let r = app
        .post(
            USERS,
            &json!({"email": "ana@example.com", "name": "Ana", "externalId": "E1"}),
        )
        .await;
    let path = r.header("location").unwrap().to_string();
    let created = r.body.clone();

    let r = app
        .patch(
            &path,
            &json!({"email": "ana.garcia@example.com", "name": "Ana García", "externalId": "E2"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["email"], "ana.garcia@example.com");
    assert_eq!(r.body["name"], "Ana García");
    assert_eq!(r.body["externalId"], "E2");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["createdAt"], created["createdAt"]);
    assert!(r.body["updatedAt"].as_str().unwrap() >= created["updatedAt"].as_str().unwrap());

    let r = app
        .patch(&path, &json!({"active": false, "externalId": null}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["externalId"], Value::Null);
    assert_eq!(app.get(&path).await.body, r.body);
    assert_eq!(
        emails(&app.get(&format!("{USERS}?active=false")).await.body),
        ["ana.garcia@example.com"]
    );

    let r = app.patch(&path, &json!({"active": true})).await;
    assert_eq!(r.body["active"], true);

    let before = app.get(&path).await.body;
    let r = app
        .patch(&path, &json!({"name": "Fine", "email": "not-an-email"}))
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("pointer:/email".to_string(), "invalid_format".to_string())]
    );
    assert_eq!(app.get(&path).await.body, before, "nothing was written");
}

#[tokio::test]
async fn missing_and_malformed_ids() {
    let app = spawn_app().await;
    let missing = format!("{USERS}/{}", Uuid::now_v7());
    assert_problem(&app.get(&missing).await, 404, "not_found");
    assert_problem(
        &app.patch(&missing, &json!({"name": "X"})).await,
        404,
        "not_found",
    );
    let r = app.get(&format!("{USERS}/ana@example.com")).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("path:userId".to_string(), "invalid_format".to_string())]
    );
}
