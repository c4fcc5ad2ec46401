//! The administrative audit trail, `GET /api/v2/audit/admin`: every change to a skill, an
//! agent, the settings or a console user, with its author (an API client; the console user
//! whose session made it; or none, `"via": "admin-command"`, for the admin commands) and the
//! subject before and after; paged oldest first; bad queries refused.

use super::console::signed_in;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use skillgrid_api::scopes;
use skillgrid_server::bootstrap;
use skillgrid_store::Role;

/// Every entry of the trail, page after page of `limit`.
async fn all(app: &TestApp, limit: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/api/v2/audit/admin?limit={limit}");
    loop {
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => path = format!("/api/v2/audit/admin?limit={limit}&cursor={c}"),
            None => return out,
        }
    }
}

/// (kind, action, subject) of an entry.
fn what(e: &Value) -> (&str, &str, &str) {
    (
        e["kind"].as_str().unwrap(),
        e["action"].as_str().unwrap(),
        e["subjectId"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn every_change_to_skills_agents_settings_and_users_is_in_the_admin_trail() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let org = app.org.to_string();
    let me = app.client_id.to_string();
    let skip = all(&app, 100).await.len();

    // Through the API, with the app's token.
    let skill = app.create_skill("Billing").await.to_string();
    let r = app
        .patch(
            &format!("/api/v2/admin/skills/{skill}"),
            &json!({"name": "Invoices", "description": "bills"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A patch that changes nothing records nothing; a refused one neither.
    let r = app
        .patch(
            &format!("/api/v2/admin/skills/{skill}"),
            &json!({"name": "Invoices"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .patch(
            &format!("/api/v2/admin/skills/{skill}"),
            &json!({"name": ""}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let agent = app.create_agent("ana@example.com").await.to_string();
    let r = app
        .patch(
            &format!("/api/v2/admin/users/{agent}"),
            &json!({"name": "Ana B", "externalId": "E-7", "active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"requireIfMatch": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // An admin made by the admin command, signed in to the console: a skill deactivated with
    // the session, and a user made, given another role, disabled and enabled on the people
    // screen.
    let (mut v, csrf) = signed_in(&app, &org, "adm@example.com", Role::Admin).await;
    let adm = app
        .store
        .find_user(app.org, "adm@example.com")
        .await
        .unwrap()
        .unwrap();
    let from_page = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", app.base.as_str()),
    ];
    let r = v
        .api(
            Method::PATCH,
            &format!("/api/v2/admin/skills/{skill}"),
            Some(&json!({"active": false})),
            &from_page,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let own = [("origin", app.base.as_str())];
    let made = v
        .post(
            "/console/people",
            &[
                ("email", "ada@example.com"),
                ("role", "editor"),
                ("csrf_token", csrf.as_str()),
            ],
            &own,
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.html);
    let ada = app
        .store
        .find_user(app.org, "ada@example.com")
        .await
        .unwrap()
        .unwrap();
    for (path, field, value) in [
        ("role", "role", "viewer"),
        ("active", "active", "false"),
        ("active", "active", "true"),
    ] {
        let r = v
            .post(
                &format!("/console/people/{}/{path}", ada.id),
                &[(field, value), ("csrf_token", csrf.as_str())],
                &own,
            )
            .await;
        assert!(r.status < 400, "{path}: {}", r.html);
    }
    // The admin command disables Ada.
    bootstrap::set_user_active(&app.store, &org, "ada@example.com", false)
        .await
        .unwrap();

    let entries = all(&app, 3).await;
    assert_eq!(entries, all(&app, 1000).await, "pages add up to the whole");
    let entries = &entries[skip..];
    let (adm_id, ada_id) = (adm.id.to_string(), ada.id.to_string());
    let got: Vec<_> = entries.iter().map(what).collect();
    assert_eq!(
        got,
        [
            ("skill", "created", skill.as_str()),
            ("skill", "updated", skill.as_str()),
            ("agent", "created", agent.as_str()),
            ("agent", "updated", agent.as_str()),
            ("settings", "updated", org.as_str()),
            ("user", "created", adm_id.as_str()),
            ("skill", "updated", skill.as_str()),
            ("user", "created", ada_id.as_str()),
            ("user", "updated", ada_id.as_str()),
            ("user", "updated", ada_id.as_str()),
            ("user", "updated", ada_id.as_str()),
            ("user", "updated", ada_id.as_str()),
        ],
        "{entries:#?}"
    );
    // Who: the token's client; the admin command; the console user through their client.
    let adm_client = adm.client_id.to_string();
    let by: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e["actorClientId"].as_str(),
                e["actorUserId"].as_str(),
                e["via"].as_str().unwrap(),
            )
        })
        .collect();
    let token = (Some(me.as_str()), None, "api");
    let console = (Some(adm_client.as_str()), Some(adm_id.as_str()), "api");
    let command = (None, None, "admin-command");
    assert_eq!(
        by,
        [
            token, token, token, token, token, command, console, console, console, console,
            console, command
        ]
    );
    assert_eq!(entries[5]["requestId"], "admin-cli");
    for e in entries {
        assert!(is_utc_millis(e["at"].as_str().unwrap()), "{e}");
        assert!(e["actorClientId"].is_null() || e["requestId"] != "admin-cli");
    }

    // Before and after, as the API shows each.
    let created = &entries[0];
    assert_eq!(created["before"], Value::Null);
    assert_eq!(created["after"]["name"], "Billing");
    assert_eq!(created["after"]["id"], skill.as_str());
    let renamed = &entries[1];
    assert_eq!(
        (
            &renamed["before"]["name"],
            &renamed["before"]["description"]
        ),
        (&json!("Billing"), &Value::Null)
    );
    assert_eq!(
        (&renamed["after"]["name"], &renamed["after"]["description"]),
        (&json!("Invoices"), &json!("bills"))
    );
    let agent_change = &entries[3];
    assert_eq!(agent_change["before"]["email"], "ana@example.com");
    assert_eq!(
        (
            &agent_change["before"]["active"],
            &agent_change["after"]["active"]
        ),
        (&json!(true), &json!(false))
    );
    assert_eq!(agent_change["after"]["externalId"], "E-7");
    assert_eq!(agent_change["after"]["name"], "Ana B");
    let settings = &entries[4];
    assert_eq!(settings["before"]["requireIfMatch"], false);
    assert_eq!(settings["after"]["requireIfMatch"], true);
    assert_eq!(
        settings["after"],
        app.get("/api/v2/organizations/settings").await.body
    );
    let deactivated = &entries[6];
    assert_eq!(
        (
            &deactivated["before"]["active"],
            &deactivated["after"]["active"]
        ),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        entries[7]["after"],
        json!({"id": ada_id, "email": "ada@example.com", "role": "editor", "active": true})
    );
    let sides: Vec<_> = entries[8..]
        .iter()
        .map(|e| {
            (
                e["before"]["role"].as_str().unwrap(),
                e["before"]["active"].as_bool().unwrap(),
                e["after"]["role"].as_str().unwrap(),
                e["after"]["active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sides,
        [
            ("editor", true, "viewer", true),
            ("viewer", true, "viewer", false),
            ("viewer", false, "viewer", true),
            ("viewer", true, "viewer", false),
        ]
    );
    // Nothing of a password, ever (the admin's first password change is not an entry).
    let text = serde_json::to_string(entries).unwrap();
    assert!(
        !text.contains("password") && !text.contains("argon2"),
        "{text}"
    );

    // `since` keeps the later ones.
    let at = entries[7]["at"].as_str().unwrap().replace('+', "%2B");
    let later = app.get(&format!("/api/v2/audit/admin?since={at}")).await;
    let later = later.body["items"].as_array().unwrap().clone();
    assert!(
        later.len() >= 5 && later.len() <= entries.len(),
        "{later:?}"
    );
    assert_eq!(later.last(), entries.last());

    // Bad queries are refused; the scope is needed.
    for bad in ["?limit=0", "?since=yesterday", "?cursor=%%", "?kind=skill"] {
        let r = app.get(&format!("/api/v2/audit/admin{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    let no_audit = app
        .token_with(&[scopes::ORG_READ, scopes::SKILL_WRITE])
        .await;
    let r = app
        .call(
            Method::GET,
            "/api/v2/audit/admin",
            Some(&no_audit),
            None,
            &[],
        )
        .await;
    assert_problem(&r, 403, "insufficient_scope");
}
