//! The console's admin screens over plain HTTP: settings, people and API clients are an
//! admin's only (an editor and a viewer get 403 on every page and form); the settings change
//! through the API with the session and its anti-forgery token, refused with the API's errors
//! at their pointers and nothing saved; a user made with a one-time password shown once,
//! disabled (their session ends at once) and given another role; the clients listed with the
//! console users' own marked and without buttons.

use super::console::{signed_in, Visitor};
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;
use skillgrid_store::Role;

const PAGES: [&str; 3] = ["/console/settings", "/console/people", "/console/clients"];

/// The one-time password a page shows, if any.
fn one_time_password(html: &str) -> Option<String> {
    let marker = "<code data-one-time-password>";
    let at = html.find(marker)? + marker.len();
    let rest = &html[at..];
    Some(rest[..rest.find('<').unwrap()].to_string())
}

#[tokio::test]
async fn editors_and_viewers_get_no_admin_screen_and_change_nothing() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    let (mut admin, _) = signed_in(&app, &org, "root@example.com", Role::Admin).await;
    let people = admin.get("/console/people").await;
    let root = app
        .store
        .find_user(app.org, "root@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(people.status, 200);
    for (email, role) in [
        ("ed@example.com", Role::Editor),
        ("vi@example.com", Role::Viewer),
    ] {
        let (mut v, csrf) = signed_in(&app, &org, email, role).await;
        let home = v.get("/console").await;
        assert!(!home.html.contains("data-admin-links"), "{}", home.html);
        assert!(!home.html.contains("/console/settings"), "{}", home.html);
        for page in PAGES {
            let r = v.get(page).await;
            assert_eq!(r.status, 403, "{page}: {}", r.html);
            assert!(r.html.contains("data-refusal"), "{}", r.html);
        }
        let r = v
            .post(
                "/console/people",
                &[
                    ("email", "new@example.com"),
                    ("role", "admin"),
                    ("csrf_token", &csrf),
                ],
                &[],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.html);
        for (path, form) in [
            (
                "active",
                [("active", "false"), ("csrf_token", csrf.as_str())],
            ),
            ("role", [("role", "viewer"), ("csrf_token", csrf.as_str())]),
        ] {
            let path = format!("/console/people/{}/{path}", root.id);
            let r = v.post(&path, &form, &[]).await;
            assert_eq!(r.status, 403, "{path}: {}", r.html);
        }
        let from_page = [("x-csrf-token", csrf.as_str())];
        let r = v
            .api(
                Method::PATCH,
                "/api/v2/organizations/settings",
                Some(&json!({"requireIfMatch": true})),
                &from_page,
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text);
        let r = v
            .api(
                Method::POST,
                "/api/v2/admin/clients",
                Some(&json!({"name": "x", "scopes": ["admin:org:read"]})),
                &from_page,
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text);
    }
    assert!(app
        .store
        .find_user(app.org, "new@example.com")
        .await
        .unwrap()
        .is_none());
    let root_after = app
        .store
        .find_user(app.org, "root@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(root_after.active && root_after.role == Role::Admin);
    assert!(
        !app.get("/api/v2/organizations/settings").await.body["requireIfMatch"]
            .as_bool()
            .unwrap()
    );
}

#[tokio::test]
async fn the_settings_page_shows_the_settings_and_the_api_refuses_at_the_fields() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    let (mut v, csrf) = signed_in(&app, &org, "root@example.com", Role::Admin).await;
    let home = v.get("/console").await;
    assert!(
        home.html.contains("href=\"/console/settings\""),
        "{}",
        home.html
    );
    let stored = app.get("/api/v2/organizations/settings").await.body;
    let page = v.get("/console/settings").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let min = stored["proficiencyScale"]["min"].to_string();
    for hook in [
        "data-form=\"settings\"".to_string(),
        format!("id=\"scale-min\" type=\"text\" inputmode=\"numeric\" name=\"scale-min\" value=\"{min}\" data-pointer=\"/proficiencyScale/min\""),
        "data-pointer=\"/rateLimit/requestsPerMinute\"".into(),
        "data-pointer=\"/requireIfMatch\"".into(),
        "src=\"/console/assets/admin.js\"".into(),
    ] {
        assert!(page.html.contains(&hook), "{hook}: {}", page.html);
    }
    for (name, _) in stored["proficiencyScale"]["levels"].as_object().unwrap() {
        assert!(
            page.html
                .contains(&format!("data-level-name value=\"{name}\"")),
            "{name}"
        );
    }
    // What the page's script sends: without the token, refused; an invalid scale, refused
    // with its pointer and nothing saved; a valid one saved.
    let bad = json!({"proficiencyScale": {"min": 10, "max": 5}});
    let r = v
        .api(
            Method::PATCH,
            "/api/v2/organizations/settings",
            Some(&bad),
            &[],
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    let from_page = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", app.base.as_str()),
    ];
    let r = v
        .api(
            Method::PATCH,
            "/api/v2/organizations/settings",
            Some(&bad),
            &from_page,
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert!(
        r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["pointer"]
                .as_str()
                .unwrap()
                .starts_with("/proficiencyScale/")),
        "{}",
        r.text
    );
    assert_eq!(app.get("/api/v2/organizations/settings").await.body, stored);
    let r = v
        .api(
            Method::PATCH,
            "/api/v2/organizations/settings",
            Some(&json!({"requireIfMatch": true})),
            &from_page,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let page = v.get("/console/settings?saved=1").await;
    assert!(page.html.contains("data-saved"), "{}", page.html);
    assert!(
        page.html
            .contains("data-pointer=\"/requireIfMatch\" checked"),
        "{}",
        page.html
    );
    // The script is served from the binary.
    let js = v.get("/console/assets/admin.js").await;
    assert_eq!(js.status, 200);
    assert!(js.html.contains("/api/v2/organizations/settings"));
}

#[tokio::test]
async fn an_admin_creates_disables_and_changes_the_role_of_a_user() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    let (mut v, csrf) = signed_in(&app, &org, "root@example.com", Role::Admin).await;
    let own = [("origin", app.base.as_str())];
    let new_user = |email: &'static str, role: &'static str| {
        [
            ("email", email),
            ("role", role),
            ("csrf_token", csrf.as_str()),
        ]
    };
    let found = |email: &'static str| {
        let store = app.store.clone();
        async move { store.find_user(app.org, email).await.unwrap() }
    };
    // Without the token, or from another site: refused, nothing made.
    let r = v
        .post(
            "/console/people",
            &[("email", "ada@example.com"), ("role", "editor")],
            &own,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.html);
    let r = v
        .post(
            "/console/people",
            &new_user("ada@example.com", "editor"),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.html);
    assert!(found("ada@example.com").await.is_none());
    // Bad input: the precise reason at the form, the e-mail kept, nothing made.
    let r = v
        .post(
            "/console/people",
            &new_user("not-an-address", "editor"),
            &own,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.html);
    assert!(r.html.contains("data-user-error"), "{}", r.html);
    assert!(r.html.contains("is not an e-mail address"), "{}", r.html);
    assert!(r.html.contains("value=\"not-an-address\""), "{}", r.html);
    let r = v
        .post(
            "/console/people",
            &new_user("ada@example.com", "owner"),
            &own,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.html);
    assert!(r.html.contains("unknown role `owner`"), "{}", r.html);
    assert!(found("ada@example.com").await.is_none());
    // Made: the one-time password on this answer only.
    let r = v
        .post(
            "/console/people",
            &new_user("ada@example.com", "editor"),
            &own,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.html);
    let password = one_time_password(&r.html).expect("the one-time password");
    let list = v.get("/console/people").await;
    assert!(
        list.html.contains("data-email=\"ada@example.com\""),
        "{}",
        list.html
    );
    assert!(!list.html.contains(&password));
    assert!(one_time_password(&list.html).is_none());
    let again = v
        .post(
            "/console/people",
            &new_user("ADA@example.com", "viewer"),
            &own,
        )
        .await;
    assert_eq!(again.status, 422, "{}", again.html);
    assert!(again.html.contains("already has a user"), "{}", again.html);
    // The password signs Ada in; she must replace it.
    let mut ada = Visitor::new(&app);
    let signed = ada.sign_in(&org, "ada@example.com", &password).await;
    assert_eq!(signed.location(), Some("/console/password"), "{signed:?}");
    let ada_user = found("ada@example.com").await.unwrap();
    assert_eq!(ada_user.role, Role::Editor);
    assert!(ada_user.must_change_password);
    // Her creation is in the clients' audit trail, by the admin's client.
    let root = found("root@example.com").await.unwrap();
    let audit = app.get("/api/v2/audit/clients").await;
    assert!(
        audit.text.contains(&ada_user.client_id.to_string()),
        "{}",
        audit.text
    );
    assert!(
        audit.text.contains(&root.client_id.to_string()),
        "{}",
        audit.text
    );

    let active = |id: uuid::Uuid| format!("/console/people/{id}/active");
    let role = |id: uuid::Uuid| format!("/console/people/{id}/role");
    let with_token =
        |name: &'static str, value: &'static str| [(name, value), ("csrf_token", csrf.as_str())];
    // Bad input, no such user, oneself, no token: refused, nothing changed.
    for (path, form, status) in [
        (active(ada_user.id), with_token("active", "maybe"), 422),
        (role(ada_user.id), with_token("role", "owner"), 422),
        (
            "/console/people/nope/active".to_string(),
            with_token("active", "false"),
            404,
        ),
        (
            active(uuid::Uuid::now_v7()),
            with_token("active", "false"),
            404,
        ),
        (active(root.id), with_token("active", "false"), 409),
        (role(root.id), with_token("role", "viewer"), 409),
        (
            active(ada_user.id),
            [("active", "false"), ("csrf_token", "forged")],
            403,
        ),
    ] {
        let r = v.post(&path, &form, &own).await;
        assert_eq!(r.status, status, "{path}: {}", r.html);
    }
    let still = found("ada@example.com").await.unwrap();
    assert!(still.active && still.role == Role::Editor);
    let root_now = found("root@example.com").await.unwrap();
    assert!(root_now.active && root_now.role == Role::Admin);

    // A role changed; a session ended by disabling; enabled again.
    let r = v
        .post(&role(ada_user.id), &with_token("role", "viewer"), &own)
        .await;
    assert_eq!(
        (r.status, r.location()),
        (303, Some("/console/people?done=role"))
    );
    assert_eq!(found("ada@example.com").await.unwrap().role, Role::Viewer);
    let (mut bo, _) = signed_in(&app, &org, "bo@example.com", Role::Editor).await;
    assert_eq!(bo.get("/console").await.status, 200);
    let bo_user = found("bo@example.com").await.unwrap();
    let r = v
        .post(&active(bo_user.id), &with_token("active", "false"), &own)
        .await;
    assert_eq!(
        (r.status, r.location()),
        (303, Some("/console/people?done=disabled"))
    );
    let ended = bo.get("/console").await;
    assert_eq!(
        (ended.status, ended.location()),
        (303, Some("/console/sign-in"))
    );
    assert!(!found("bo@example.com").await.unwrap().active);
    let list = v.get("/console/people?done=disabled").await;
    assert!(list.html.contains("data-done"), "{}", list.html);
    let r = v
        .post(&active(bo_user.id), &with_token("active", "true"), &own)
        .await;
    assert_eq!(r.location(), Some("/console/people?done=enabled"));
    assert!(found("bo@example.com").await.unwrap().active);
}

#[tokio::test]
async fn the_clients_page_lists_clients_and_marks_the_console_users_own() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    let (mut v, csrf) = signed_in(&app, &org, "root@example.com", Role::Admin).await;
    let root = app
        .store
        .find_user(app.org, "root@example.com")
        .await
        .unwrap()
        .unwrap();
    let page = v.get("/console/clients").await;
    assert_eq!(page.status, 200, "{}", page.html);
    // The bootstrap client with its buttons; the admin's own client marked, without any.
    let row = |id: String| {
        let at = page
            .html
            .find(&format!("<tr data-client-id=\"{id}\""))
            .expect("a row");
        let rest = &page.html[at..];
        rest[..rest.find("</tr>").unwrap()].to_string()
    };
    let boot = row(app.client_id.to_string());
    assert!(
        boot.contains("data-rotate") && boot.contains("data-toggle-active"),
        "{boot}"
    );
    let own = row(root.client_id.to_string());
    assert!(own.contains("data-console-user"), "{own}");
    assert!(
        !own.contains("data-rotate") && !own.contains("<button"),
        "{own}"
    );
    // What the page's script sends, with the session: a client made, its secret once; the
    // console user's client refused.
    let from_page = [("x-csrf-token", csrf.as_str())];
    let r = v
        .api(
            Method::POST,
            "/api/v2/admin/clients",
            Some(&json!({"name": "etl", "scopes": ["admin:org:read"]})),
            &from_page,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body["clientSecret"].is_string());
    let page = v.get("/console/clients").await;
    assert!(page.html.contains("data-name=\"etl\""), "{}", page.html);
    assert!(!page.html.contains(r.body["clientSecret"].as_str().unwrap()));
    let r = v
        .api(
            Method::POST,
            &format!("/api/v2/admin/clients/{}/secret", root.client_id),
            None,
            &from_page,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
}
