//! API clients through `/admin/clients`: their life (create, change, rotate, disable, delete)
//! and what it does to their tokens at once, who may change whom, and their audit trail.

use super::auth::{assert_oauth_error, token_request};
use crate::helpers::{assert_problem, is_utc_millis, spawn_app, Resp, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use skillgrid_api::scopes;
use skillgrid_store::ClientId;
use uuid::Uuid;

const CLIENTS: &str = "/api/v2/admin/clients";

async fn as_token(app: &TestApp, token: &str, m: Method, path: &str, body: Option<Value>) -> Resp {
    app.call(m, path, Some(token), body.as_ref(), &[]).await
}

fn client_id(r: &Resp) -> ClientId {
    r.body["id"].as_str().expect("an id").parse().unwrap()
}

/// A new client through the API, with the bootstrap token: its id and secret.
async fn create(app: &TestApp, name: &str, scope_list: &[&str]) -> (ClientId, String) {
    let r = app
        .post(CLIENTS, &json!({"name": name, "scopes": scope_list}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (
        client_id(&r),
        r.body["clientSecret"].as_str().unwrap().to_string(),
    )
}

async fn token_attempt(app: &TestApp, id: ClientId, secret: &str) -> Resp {
    let id = id.to_string();
    token_request(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", secret),
        ],
        None,
    )
    .await
}

/// 401 `unauthorized` whose detail says `says`.
#[track_caller]
fn assert_refused(r: &Resp, says: &str) {
    assert_problem(r, 401, "unauthorized");
    let d = r.body["detail"].as_str().unwrap();
    assert!(d.contains(says), "`{d}` lacks `{says}`");
    assert!(r
        .header("www-authenticate")
        .unwrap_or_default()
        .contains("invalid_token"));
}

async fn list_skills(app: &TestApp, token: &str) -> Resp {
    as_token(app, token, Method::GET, "/api/v2/admin/skills", None).await
}

#[tokio::test]
async fn a_client_is_created_shown_without_secret_and_its_secret_works_once_shown() {
    let app = spawn_app().await;
    let r = app
        .post(
            CLIENTS,
            &json!({"name": "importer", "scopes": ["admin:skill:read", "admin:skill:write", "admin:skill:read"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = client_id(&r);
    assert_eq!(
        r.header("location"),
        Some(format!("{CLIENTS}/{id}").as_str())
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        r.body["scopes"],
        json!(["admin:skill:read", "admin:skill:write"])
    );
    assert_eq!(r.body["active"], true);
    for f in ["createdAt", "updatedAt", "secretCreatedAt"] {
        assert!(is_utc_millis(r.body[f].as_str().unwrap()), "{f}");
    }
    let secret = r.body["clientSecret"].as_str().unwrap().to_string();
    let token = app.token_for(id, &secret).await;
    assert_eq!(list_skills(&app, &token).await.status, 200);

    // Read back: the same client, never its secret.
    let one = app.get(&format!("{CLIENTS}/{id}")).await;
    assert_eq!(one.status, 200, "{}", one.text);
    let mut expected = r.body.clone();
    expected.as_object_mut().unwrap().remove("clientSecret");
    assert_eq!(one.body, expected);
    let all = app.get(CLIENTS).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let names: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bootstrap", "importer"]);
    assert!(!all.text.contains(&secret) && !one.text.contains(&secret));
    for c in all.body["items"].as_array().unwrap() {
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "scopes",
                "active",
                "createdAt",
                "updatedAt",
                "secretCreatedAt"
            ]
        );
    }
    // Pages, as every list.
    let first = app.get(&format!("{CLIENTS}?limit=1")).await;
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second = app.get(&format!("{CLIENTS}?limit=1&cursor={cursor}")).await;
    assert_eq!(second.body["items"][0]["id"], id.to_string());
    assert_eq!(second.body["nextCursor"], Value::Null);

    let missing = app.get(&format!("{CLIENTS}/{}", Uuid::now_v7())).await;
    assert_problem(&missing, 404, "not_found");
}

#[tokio::test]
async fn disabling_rotating_narrowing_and_deleting_take_effect_on_the_next_request() {
    let app = spawn_app().await;
    let (id, secret) = create(&app, "importer", &["admin:skill:read", "admin:skill:write"]).await;
    let path = format!("{CLIENTS}/{id}");
    let first = app.token_for(id, &secret).await;

    // Narrowed: the token already issued loses the scope taken away, and keeps the rest.
    let r = app
        .patch(&path, &json!({"scopes": ["admin:skill:read"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["scopes"], json!(["admin:skill:read"]));
    assert_eq!(list_skills(&app, &first).await.status, 200);
    let write = as_token(
        &app,
        &first,
        Method::POST,
        "/api/v2/admin/skills",
        Some(json!({"name": "Billing"})),
    )
    .await;
    assert_problem(&write, 403, "insufficient_scope");

    // Rotated: the old secret and every token issued before are refused; the new one works.
    let r = app.post(&format!("{path}/secret"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let new_secret = r.body["clientSecret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_ne!(r.body["secretCreatedAt"], r.body["createdAt"]);
    assert_oauth_error(
        &token_attempt(&app, id, &secret).await,
        401,
        "invalid_client",
    );
    assert_refused(&list_skills(&app, &first).await, "revoked");
    let second = app.token_for(id, &new_secret).await;
    assert_eq!(list_skills(&app, &second).await.status, 200);

    // Disabled: its token is refused at once, and it gets no new one even with its secret.
    let r = app.patch(&path, &json!({"active": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_refused(&list_skills(&app, &second).await, "disabled");
    let r = token_attempt(&app, id, &new_secret).await;
    assert_oauth_error(&r, 401, "invalid_client");
    assert!(r.body["error_description"]
        .as_str()
        .unwrap()
        .contains("disabled"));

    // Enabled again: a new token works; the ones from before the disabling stay refused.
    let r = app.patch(&path, &json!({"active": true})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let third = app.token_for(id, &new_secret).await;
    assert_eq!(list_skills(&app, &third).await.status, 200);
    assert_refused(&list_skills(&app, &second).await, "revoked");

    // Deleted: gone, and so is its token.
    let r = app.delete(&path).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.get(&path).await, 404, "not_found");
    assert_problem(&app.delete(&path).await, 404, "not_found");
    assert_refused(&list_skills(&app, &third).await, "no longer exists");
    assert_oauth_error(
        &token_attempt(&app, id, &new_secret).await,
        401,
        "invalid_client",
    );
    // The bootstrap client is untouched by all of it.
    assert_eq!(app.get("/api/v2/admin/skills").await.status, 200);
}

/// A read of one agent's skills checks its caller against the organization's generation read
/// in the same statement as the set, not before it: a change made anywhere, even on the
/// database behind this process's back (as another instance does), applies to the very next
/// read, on both of the set's paths.
#[tokio::test]
async fn a_read_of_an_agents_skills_sees_each_change_to_its_client_at_once() {
    let app = spawn_app().await;
    let agent = app.create_agent("ada@example.com").await;
    let paths = [
        format!("/api/v2/agents/users/{agent}/skills"),
        format!("/api/v2/admin/users/{agent}/skills"),
    ];
    let (id, secret) = create(&app, "reader", &[scopes::AGENT_READ, scopes::SKILL_READ]).await;
    let token = app.token_for(id, &secret).await;
    let read = |path: &str| {
        let (app, token, path) = (&app, &token, path.to_string());
        async move { as_token(app, token, Method::GET, &path, None).await }
    };
    let behind_the_back = |change: skillgrid_store::ClientChange| {
        let store = app.store.clone();
        let org = app.org;
        async move {
            let by = skillgrid_store::ChangedBy::direct(
                "test",
                skillgrid_core::timestamp::Timestamp::now(),
            );
            store.update_client(org, id, &change, &by).await.unwrap();
        }
    };
    for p in &paths {
        let r = read(p).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["agentId"], json!(agent));
    }
    let missing = read(&format!("/api/v2/agents/users/{}/skills", Uuid::now_v7())).await;
    assert_problem(&missing, 404, "not_found");

    // Narrowed: the token loses the scope on the next read.
    behind_the_back(skillgrid_store::ClientChange {
        scopes: Some(vec![scopes::SKILL_READ.into()]),
        ..Default::default()
    })
    .await;
    for p in &paths {
        assert_problem(&read(p).await, 403, "insufficient_scope");
    }
    // Given back: the token, which names the scope, has it again on the next read.
    behind_the_back(skillgrid_store::ClientChange {
        scopes: Some(vec![scopes::AGENT_READ.into(), scopes::SKILL_READ.into()]),
        ..Default::default()
    })
    .await;
    for p in &paths {
        assert_eq!(read(p).await.status, 200);
    }
    // Disabled: refused on the next read.
    behind_the_back(skillgrid_store::ClientChange {
        active: Some(false),
        ..Default::default()
    })
    .await;
    for p in &paths {
        assert_refused(&read(p).await, "disabled");
    }
}

#[tokio::test]
async fn a_client_cannot_raise_its_own_scopes_nor_give_or_touch_what_it_does_not_hold() {
    let app = spawn_app().await;
    let held = [scopes::ORG_READ, scopes::ORG_WRITE, scopes::AGENT_READ];
    let (admin, admin_secret) = create(&app, "org admin", &held).await;
    let token = app.token_for(admin, &admin_secret).await;
    let before = app.get(CLIENTS).await.body;

    // Raising its own scopes: refused, each scope it lacks pointed at.
    let mine = format!("{CLIENTS}/{admin}");
    let wider = json!({"scopes": [scopes::ORG_READ, scopes::AGENT_WRITE, scopes::ORG_WRITE, scopes::AUDIT_READ]});
    let r = as_token(&app, &token, Method::PATCH, &mine, Some(wider)).await;
    assert_problem(&r, 403, "insufficient_scope");
    assert_eq!(
        r.entries(),
        [
            ("pointer:/scopes/1".to_string(), "not_allowed".to_string()),
            ("pointer:/scopes/3".to_string(), "not_allowed".to_string())
        ]
    );
    let challenge = r.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("scope=\"admin:agent:write admin:audit:read\""),
        "{challenge}"
    );
    // Giving a new client what it does not hold: refused too.
    let r = as_token(
        &app,
        &token,
        Method::POST,
        CLIENTS,
        Some(json!({"name": "escalate", "scopes": [scopes::SKILL_WRITE]})),
    )
    .await;
    assert_problem(&r, 403, "insufficient_scope");
    // Taking over a client that holds more: no rotation, no change, no deletion.
    let boot = format!("{CLIENTS}/{}", app.client_id);
    for (m, path, body) in [
        (Method::POST, format!("{boot}/secret"), None),
        (Method::PATCH, boot.clone(), Some(json!({"active": false}))),
        (
            Method::PATCH,
            boot.clone(),
            Some(json!({"name": "mine now"})),
        ),
        (Method::DELETE, boot.clone(), None),
    ] {
        let r = as_token(&app, &token, m.clone(), &path, body).await;
        assert_problem(&r, 403, "insufficient_scope");
        assert!(
            r.body["detail"].as_str().unwrap().contains("bootstrap"),
            "{m} {path}: {}",
            r.text
        );
    }
    assert_eq!(app.get(CLIENTS).await.body, before, "nothing changed");
    assert_eq!(app.get("/api/v2/admin/skills").await.status, 200);

    // Within what it holds it manages clients: creates, rotates, disables, deletes them.
    let r = as_token(
        &app,
        &token,
        Method::POST,
        CLIENTS,
        Some(json!({"name": "reader", "scopes": [scopes::AGENT_READ]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let reader = format!("{CLIENTS}/{}", client_id(&r));
    let r = as_token(
        &app,
        &token,
        Method::POST,
        &format!("{reader}/secret"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = as_token(
        &app,
        &token,
        Method::PATCH,
        &reader,
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = as_token(&app, &token, Method::DELETE, &reader, None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // It may narrow itself, but not disable or delete itself.
    let r = as_token(
        &app,
        &token,
        Method::PATCH,
        &mine,
        Some(json!({"active": false})),
    )
    .await;
    assert_problem(&r, 409, "conflict");
    let r = as_token(&app, &token, Method::DELETE, &mine, None).await;
    assert_problem(&r, 409, "conflict");
    let narrow = json!({"scopes": [scopes::ORG_READ, scopes::ORG_WRITE]});
    let r = as_token(&app, &token, Method::PATCH, &mine, Some(narrow)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Narrowed, its token can no longer read agents, nor give that scope.
    let r = as_token(
        &app,
        &token,
        Method::POST,
        CLIENTS,
        Some(json!({"name": "again", "scopes": [scopes::AGENT_READ]})),
    )
    .await;
    assert_problem(&r, 403, "insufficient_scope");

    // The scopes a token asked for are what count, not all its client holds.
    let r = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id.to_string()),
            ("client_secret", &app.client_secret),
            ("scope", "admin:org:read admin:org:write"),
        ],
        None,
    )
    .await;
    let narrow_boot = r.body["access_token"].as_str().unwrap().to_string();
    let r = as_token(
        &app,
        &narrow_boot,
        Method::POST,
        CLIENTS,
        Some(json!({"name": "x", "scopes": [scopes::SKILL_READ]})),
    )
    .await;
    assert_problem(&r, 403, "insufficient_scope");
    // And reading needs admin:org:read, writing admin:org:write.
    let agents_only = app.token_with(&[scopes::AGENT_READ]).await;
    assert_problem(
        &as_token(&app, &agents_only, Method::GET, CLIENTS, None).await,
        403,
        "insufficient_scope",
    );
    let read_only = app.token_with(&[scopes::ORG_READ]).await;
    assert_eq!(
        as_token(&app, &read_only, Method::GET, CLIENTS, None)
            .await
            .status,
        200
    );
    let r = as_token(
        &app,
        &read_only,
        Method::POST,
        CLIENTS,
        Some(json!({"name": "x", "scopes": [scopes::ORG_READ]})),
    )
    .await;
    assert_problem(&r, 403, "insufficient_scope");
}

#[tokio::test]
async fn bodies_are_checked_whole_with_hints() {
    let app = spawn_app().await;
    let r = app
        .post(
            CLIENTS,
            &json!({"clientName": "x", "scopes": ["admin:skill:read", "user:skill:write", 3]}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [
            (
                "pointer:/clientName".to_string(),
                "unknown_field".to_string()
            ),
            (
                "pointer:/scopes/1".to_string(),
                "invalid_format".to_string()
            ),
            ("pointer:/scopes/2".to_string(), "invalid_type".to_string()),
        ]
    );
    // Another product's scope: the product and skillgrid's scope meant.
    let hint = r.body["errors"][1]["hint"].as_str().unwrap();
    assert!(
        hint.contains("NICE CXone") && hint.contains("admin:agent:write"),
        "{hint}"
    );
    let r = app.post(CLIENTS, &json!({"name": "x", "scopes": []})).await;
    assert_eq!(
        r.entries(),
        [("pointer:/scopes".to_string(), "out_of_range".to_string())]
    );
    let path = format!("{CLIENTS}/{}", app.client_id);
    let r = app
        .patch(
            &path,
            &json!({"enabled": false, "scopes": "admin:org:read"}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.body["errors"][0]["hint"], "did you mean `active`?");
    let r = app.get(&format!("{CLIENTS}/importer")).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("path:clientId".to_string(), "invalid_format".to_string())]
    );
    // None of it wrote anything.
    assert_eq!(
        app.get(CLIENTS).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let audit = app.get("/api/v2/audit/clients").await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        audit.text
    );
}

#[tokio::test]
async fn every_change_to_a_client_is_audited_with_who_when_and_before_and_after() {
    let app = spawn_app().await;
    let rid = |n: &str| format!("clients-audit-{n}");
    let call = |m: Method, path: String, body: Option<Value>, n: &'static str| {
        let app = &app;
        let id = rid(n);
        async move {
            app.call(
                m,
                &path,
                Some(&app.token),
                body.as_ref(),
                &[("x-request-id", &id)],
            )
            .await
        }
    };
    let r = call(
        Method::POST,
        CLIENTS.into(),
        Some(json!({"name": "importer", "scopes": ["admin:agent:write"]})),
        "create",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = client_id(&r);
    let secret = r.body["clientSecret"].as_str().unwrap().to_string();
    let path = format!("{CLIENTS}/{id}");
    let r = call(
        Method::PATCH,
        path.clone(),
        Some(json!({"active": false})),
        "disable",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A change to nothing is not a change.
    let r = call(
        Method::PATCH,
        path.clone(),
        Some(json!({"active": false})),
        "again",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call(Method::POST, format!("{path}/secret"), None, "rotate").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rotated = r.body["clientSecret"].as_str().unwrap().to_string();
    // One made on the database directly, as the admin commands do.
    skillgrid_server::bootstrap::set_client_active(&app.store, "default", &id.to_string(), true)
        .await
        .unwrap();
    let r = call(Method::DELETE, path.clone(), None, "delete").await;
    assert_eq!(r.status, 204, "{}", r.text);

    let audit = app.get("/api/v2/audit/clients").await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert!(!audit.text.contains(&secret) && !audit.text.contains(&rotated));
    let entries: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["clientId"] == id.to_string())
        .collect();
    let boot = json!(app.client_id.to_string());
    let seen: Vec<(&str, &str, &Value)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["requestId"].as_str().unwrap(),
                &e["actorClientId"],
            )
        })
        .collect();
    let (create, disable, rotate, delete) =
        (rid("create"), rid("disable"), rid("rotate"), rid("delete"));
    assert_eq!(
        seen,
        [
            ("created", create.as_str(), &boot),
            ("updated", disable.as_str(), &boot),
            ("secretRotated", rotate.as_str(), &boot),
            ("updated", "admin-cli", &Value::Null),
            ("deleted", delete.as_str(), &boot),
        ]
    );
    let (c, d, del) = (entries[0], entries[1], entries[4]);
    assert_eq!(c["before"], Value::Null);
    assert_eq!(c["after"]["scopes"], json!(["admin:agent:write"]));
    assert_eq!(
        (&d["before"]["active"], &d["after"]["active"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(del["before"]["name"], "importer");
    assert_eq!(del["after"], Value::Null);
    assert!(is_utc_millis(c["at"].as_str().unwrap()));
    // The first start's bootstrap client is there too, made by nobody's token.
    let first = &audit.body["items"][0];
    assert_eq!(
        (
            &first["action"],
            &first["requestId"],
            &first["actorClientId"]
        ),
        (&json!("created"), &json!("first-start"), &Value::Null)
    );
    // `since` and pages, as the assignments' audit log.
    let at = entries[2]["at"].as_str().unwrap();
    let since = app
        .get(&format!(
            "/api/v2/audit/clients?since={}",
            at.replace('+', "%2B")
        ))
        .await;
    let got: Vec<&str> = since.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["requestId"].as_str().unwrap())
        .collect();
    assert!(
        got.ends_with(&[rotate.as_str(), "admin-cli", delete.as_str()]),
        "{got:?}"
    );
    assert!(!got.contains(&create.as_str()), "{got:?}");
    let page = app.get("/api/v2/audit/clients?limit=2").await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    assert!(page.body["nextCursor"].is_string());
    // The assignments' log holds assignments only; reading either needs admin:audit:read.
    assert_eq!(app.get("/api/v2/audit").await.body["items"], json!([]));
    let no_audit = app.token_with(&[scopes::ORG_READ, scopes::ORG_WRITE]).await;
    let r = as_token(&app, &no_audit, Method::GET, "/api/v2/audit/clients", None).await;
    assert_problem(&r, 403, "insufficient_scope");
}
