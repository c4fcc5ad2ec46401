//! The console over plain HTTP: sign-in (a first one forces a new password), the signed-in
//! home, sign-out, the anti-forgery checks, failed sign-ins limited, and a disabled user's
//! session ended at once. (A real browser drives the same pages in `tests/browser.rs`.)

use crate::helpers::*;
use reqwest::redirect::Policy;
use reqwest::Method;
use serde_json::json;
use skillgrid_server::bootstrap;
use skillgrid_store::Role;
use uuid::Uuid;

/// A browser's part of the exchange: no redirects followed, the session cookie kept by hand.
pub struct Visitor<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    pub cookie: Option<String>,
}

/// One answer, as a page.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    pub fn set_cookie(&self) -> Option<&str> {
        self.headers.get("set-cookie").and_then(|v| v.to_str().ok())
    }

    /// The anti-forgery token the page's forms carry.
    pub fn csrf(&self) -> String {
        let at = self
            .html
            .find("name=\"csrf_token\" value=\"")
            .unwrap_or_else(|| panic!("no anti-forgery token in:\n{}", self.html));
        let rest = &self.html[at + "name=\"csrf_token\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Visitor {
            app,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&mut self, b: reqwest::RequestBuilder) -> Page {
        let b = match &self.cookie {
            Some(c) => b.header("cookie", format!("skillgrid_session={c}")),
            None => b,
        };
        let r = b.send().await.expect("request sent");
        let page = Page {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            html: r.text().await.unwrap_or_default(),
        };
        if let Some(set) = page.set_cookie() {
            let value = set
                .strip_prefix("skillgrid_session=")
                .and_then(|v| v.split(';').next())
                .unwrap_or_default();
            self.cookie = (!value.is_empty()).then(|| value.to_string());
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let b = self.http.get(self.app.url(path));
        self.send(b).await
    }

    /// Posts a form, with extra headers (such as a foreign `Origin`).
    pub async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut b = self.http.post(self.app.url(path)).form(form);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b).await
    }

    /// Posts raw bytes (a file, as the import page's script sends it), with extra headers.
    pub async fn post_bytes(
        &mut self,
        path: &str,
        bytes: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Page {
        let mut b = self
            .http
            .post(self.app.url(path))
            .header("content-type", "text/csv")
            .body(bytes);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b).await
    }

    /// A request to the API with the session cookie (and no bearer token).
    pub async fn api(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = self.http.request(method, self.app.url(path));
        if let Some(c) = &self.cookie {
            b = b.header("cookie", format!("skillgrid_session={c}"));
        }
        if let Some(v) = body {
            b = b.json(v);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let r = b.send().await.expect("request sent");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        Resp {
            status,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            headers,
            text,
        }
    }

    /// Posts the password form: `csrf` as its anti-forgery field (none: left out), the
    /// current password, and the new one twice.
    pub async fn change_password(&mut self, csrf: Option<&str>, current: &str, new: &str) -> Page {
        let mut form = vec![("current", current), ("new", new), ("confirm", new)];
        form.extend(csrf.map(|c| ("csrf_token", c)));
        self.post("/console/password", &form, &[]).await
    }

    pub async fn sign_in(&mut self, org: &str, email: &str, password: &str) -> Page {
        self.post(
            "/console/sign-in",
            &[
                ("organization", org),
                ("email", email),
                ("password", password),
            ],
            &[],
        )
        .await
    }
}

pub const CHOSEN: &str = "a password of my own";

/// The user of the app's organization with `email`, as stored.
async fn user(app: &TestApp, email: &str) -> skillgrid_store::UserRecord {
    app.store.find_user(app.org, email).await.unwrap().unwrap()
}

/// A user of `org` with `role`, signed in and past the change of their first password: the
/// visitor and the session's anti-forgery token.
pub async fn signed_in<'a>(
    app: &'a TestApp,
    org: &str,
    email: &str,
    role: Role,
) -> (Visitor<'a>, String) {
    let made = bootstrap::create_user(&app.store, org, email, role, None)
        .await
        .unwrap();
    let mut v = Visitor::new(app);
    let first = v
        .sign_in(org, email, made.password.as_deref().unwrap())
        .await;
    assert_eq!(first.location(), Some("/console/password"), "{first:?}");
    let csrf = v.get("/console/password").await.csrf();
    let current = made.password.unwrap();
    let changed = v.change_password(Some(&csrf), &current, CHOSEN).await;
    assert_eq!(changed.location(), Some("/console"), "{changed:?}");
    (v, csrf)
}

#[tokio::test]
async fn a_first_sign_in_forces_a_new_password_and_sign_out_ends_the_session() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    let made = bootstrap::create_user(&app.store, &org, "ada@example.com", Role::Editor, None)
        .await
        .unwrap();
    let one_time = made.password.unwrap();
    let mut v = Visitor::new(&app);

    // Not signed in: every page sends the browser to sign in.
    let home = v.get("/console").await;
    assert_eq!(
        (home.status, home.location()),
        (303, Some("/console/sign-in"))
    );
    let form = v.get("/console/sign-in").await;
    assert_eq!(form.status, 200);
    let csp = form.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    for hook in [
        "<html lang=\"en\"",
        "<label for=\"email\"",
        "data-form=\"sign-in\"",
        "value=\"default\"",
    ] {
        assert!(form.html.contains(hook), "{hook} missing:\n{}", form.html);
    }
    let css = v.get("/console/assets/console.css").await;
    assert_eq!(css.status, 200);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));

    // A wrong password: the form again, no session.
    let wrong = v
        .sign_in("default", "ada@example.com", "not the password")
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("data-sign-in-error"), "{}", wrong.html);
    assert!(wrong.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(v.cookie, None);
    let nobody = v.sign_in("default", "nobody@example.com", &one_time).await;
    assert_eq!(nobody.status, 401);

    // The one-time password signs in, to the password page only.
    let first = v.sign_in("default", "ADA@example.com", &one_time).await;
    assert_eq!(
        (first.status, first.location()),
        (303, Some("/console/password"))
    );
    let set = first.set_cookie().unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let first_cookie = v.cookie.clone().unwrap();
    let home = v.get("/console").await;
    assert_eq!(home.location(), Some("/console/password"));
    let page = v.get("/console/password").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("data-must-change"), "{}", page.html);
    let csrf = page.csrf();

    // The change is refused without the session's token, or with a short password.
    let no_token = v.change_password(None, &one_time, CHOSEN).await;
    assert_eq!(no_token.status, 403);
    let short = v.change_password(Some(&csrf), &one_time, "short").await;
    assert_eq!(short.status, 422);
    let done = v.change_password(Some(&csrf), &one_time, CHOSEN).await;
    assert_eq!((done.status, done.location()), (303, Some("/console")));

    // The home says who, where and with which role.
    let home = v.get("/console").await;
    assert_eq!(home.status, 200, "{}", home.html);
    for hook in [
        "data-email=\"ada@example.com\"",
        "data-role=\"editor\"",
        "data-org=\"default\"",
    ] {
        assert!(home.html.contains(hook), "{hook} missing:\n{}", home.html);
    }
    // The first session, which changed the password, lives on.
    assert_eq!(v.get("/console").await.status, 200);
    // The one-time password no longer signs in; the chosen one does.
    let mut other = Visitor::new(&app);
    assert_eq!(
        other
            .sign_in("default", "ada@example.com", &one_time)
            .await
            .status,
        401
    );
    assert_eq!(
        other
            .sign_in("default", "ada@example.com", CHOSEN)
            .await
            .location(),
        Some("/console")
    );

    // Sign-out needs the token too; then the old cookie is worth nothing.
    let refused = v.post("/console/sign-out", &[], &[]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(v.get("/console").await.status, 200);
    let out = v
        .post("/console/sign-out", &[("csrf_token", &csrf)], &[])
        .await;
    assert_eq!(
        (out.status, out.location()),
        (303, Some("/console/sign-in"))
    );
    assert!(out.set_cookie().unwrap().contains("Max-Age=0"));
    v.cookie = Some(first_cookie);
    let home = v.get("/console").await;
    assert_eq!(home.location(), Some("/console/sign-in"));
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    let (mut v, csrf) =
        signed_in(&app, &app.org.to_string(), "eve@example.com", Role::Viewer).await;
    let evil = [("origin", "https://evil.example")];
    // Even with the right token, another site's page cannot sign the user out.
    let out = v
        .post("/console/sign-out", &[("csrf_token", &csrf)], &evil)
        .await;
    assert_eq!(out.status, 403);
    assert!(out.html.contains("data-refusal"), "{}", out.html);
    // Nor with a wrong token from our own origin.
    let own = app.base.clone();
    let out = v
        .post(
            "/console/sign-out",
            &[("csrf_token", "forged")],
            &[("origin", &own)],
        )
        .await;
    assert_eq!(out.status, 403);
    assert_eq!(v.get("/console").await.status, 200, "still signed in");
    // Nor sign anybody in.
    let mut w = Visitor::new(&app);
    let r = w
        .post(
            "/console/sign-in",
            &[
                ("organization", "default"),
                ("email", "eve@example.com"),
                ("password", CHOSEN),
            ],
            &evil,
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(w.cookie, None);
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_account() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    bootstrap::create_user(
        &app.store,
        &org,
        "kim@example.com",
        Role::Viewer,
        Some("the right password"),
    )
    .await
    .unwrap();
    let mut v = Visitor::new(&app);
    for _ in 0..10 {
        let r = v
            .sign_in("default", "kim@example.com", "a wrong password")
            .await;
        assert_eq!(r.status, 401);
    }
    // The bucket is empty: even the right password waits.
    let r = v
        .sign_in("default", "kim@example.com", "the right password")
        .await;
    assert_eq!(r.status, 429, "{}", r.html);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(v.cookie, None);
    // Another account from the same address is not held up yet.
    let r = v
        .sign_in("default", "lee@example.com", "a wrong password")
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn disabling_a_user_ends_their_session_at_once() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    let (mut v, _) = signed_in(&app, &org, "max@example.com", Role::Admin).await;
    assert_eq!(v.get("/console").await.status, 200);
    bootstrap::set_user_active(&app.store, &org, "max@example.com", false)
        .await
        .unwrap();
    assert_eq!(v.get("/console").await.location(), Some("/console/sign-in"));
    let again = v.sign_in("default", "max@example.com", CHOSEN).await;
    assert_eq!(again.status, 401);
    bootstrap::set_user_active(&app.store, &org, "max@example.com", true)
        .await
        .unwrap();
    assert_eq!(
        v.sign_in("default", "max@example.com", CHOSEN)
            .await
            .location(),
        Some("/console")
    );
}

/// The headers a console page's script sends with a change: the session's token, from the
/// server's own origin.
fn from_page<'a>(app: &'a TestApp, csrf: &'a str) -> [(&'static str, &'a str); 2] {
    [("x-csrf-token", csrf), ("origin", app.base.as_str())]
}

#[tokio::test]
async fn a_session_holds_its_role_s_scopes_and_the_audit_names_its_user() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let body = json!([{"skillId": skill, "proficiency": 60}]);
    let before = app.snapshot(agent).await;

    // A viewer reads, and can change nothing: the server refuses it whatever the page does.
    let (mut viewer, vcsrf) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    let r = viewer.api(Method::GET, &path, None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = viewer
        .api(Method::PUT, &path, Some(&body), &from_page(&app, &vcsrf))
        .await;
    assert_problem(&r, 403, "insufficient_scope");
    let r = viewer
        .api(
            Method::POST,
            "/api/v2/admin/skills",
            Some(&json!({"name": "Sales"})),
            &from_page(&app, &vcsrf),
        )
        .await;
    assert_problem(&r, 403, "insufficient_scope");
    assert_eq!(app.snapshot(agent).await, before, "nothing written");

    // An editor changes assignments, with the session's token from the server's own origin.
    let (mut editor, csrf) = signed_in(&app, &org, "edi@example.com", Role::Editor).await;
    let r = editor.api(Method::PUT, &path, Some(&body), &[]).await;
    assert_problem(&r, 403, "forbidden");
    let r = editor
        .api(
            Method::PUT,
            &path,
            Some(&body),
            &[("x-csrf-token", "forged")],
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    let r = editor
        .api(
            Method::PUT,
            &path,
            Some(&body),
            &[("x-csrf-token", &csrf), ("origin", "https://evil.example")],
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    assert_eq!(app.snapshot(agent).await, before, "nothing written");
    let r = editor
        .api(Method::PUT, &path, Some(&body), &from_page(&app, &csrf))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // ...but not the organization's settings: that is an admin's.
    let r = editor
        .api(
            Method::PATCH,
            "/api/v2/organizations/settings",
            Some(&json!({"requireIfMatch": true})),
            &from_page(&app, &csrf),
        )
        .await;
    assert_problem(&r, 403, "insufficient_scope");

    // The audit names the user, under the client made with them; a token's entries name none.
    let edi = user(&app, "edi@example.com").await;
    let audit = app.get("/api/v2/audit").await;
    let entries = audit.body["items"].as_array().unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last["userId"], edi.id.to_string(), "{}", audit.text);
    assert_eq!(last["clientId"], edi.client_id.to_string());
    let r = app.put(&path, &json!([])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let history = app.get(&format!("{path}/history")).await;
    let newest = &history.body["items"][0];
    assert_eq!(newest["clientId"], app.client_id.to_string());
    assert!(newest.get("userId").is_none(), "{newest}");
    assert_eq!(history.body["items"][1]["userId"], edi.id.to_string());

    // An admin's change to an API client made in the console names the admin too.
    let (mut admin, acsrf) = signed_in(&app, &org, "adm@example.com", Role::Admin).await;
    let r = admin
        .api(
            Method::POST,
            "/api/v2/admin/clients",
            Some(&json!({"name": "importer", "scopes": ["admin:agent:read"]})),
            &from_page(&app, &acsrf),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let adm = user(&app, "adm@example.com").await;
    let changes = app.get("/api/v2/audit/clients").await;
    let last = changes.body["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["actorUserId"], adm.id.to_string(), "{last}");
    assert_eq!(last["actorClientId"], adm.client_id.to_string());
    let first = &changes.body["items"][0];
    assert!(first.get("actorUserId").is_none(), "{first}");

    // The user's client is changed only with the user: no secret, scope or deletion through
    // the clients' routes, and still no token.
    let own = format!("/api/v2/admin/clients/{}", edi.client_id);
    let r = app.post(&format!("{own}/secret"), &json!({})).await;
    assert_problem(&r, 409, "conflict");
    assert!(r.text.contains("edi@example.com"), "{}", r.text);
    let r = app
        .patch(&own, &json!({"scopes": ["admin:agent:write"]}))
        .await;
    assert_problem(&r, 409, "conflict");
    let r = app.delete(&own).await;
    assert_problem(&r, 409, "conflict");
    let still = app.get(&own).await;
    assert_eq!(still.status, 200, "{}", still.text);
    assert_eq!(still.body["scopes"], json!([]));
    let token = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &edi.client_id.to_string()),
            ("client_secret", "anything"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 401);

    // A user yet to replace a one-time password gets nothing from the API.
    let made = bootstrap::create_user(&app.store, &org, "new@example.com", Role::Admin, None)
        .await
        .unwrap();
    let mut fresh = Visitor::new(&app);
    fresh
        .sign_in(
            "default",
            "new@example.com",
            made.password.as_deref().unwrap(),
        )
        .await;
    let r = fresh.api(Method::GET, &path, None, &[]).await;
    assert_problem(&r, 403, "forbidden");

    // Signed out, the old cookie is refused; so is one that names no session.
    let old = editor.cookie.clone();
    let out = editor
        .post("/console/sign-out", &[("csrf_token", &csrf)], &[])
        .await;
    assert_eq!(out.status, 303);
    editor.cookie = old;
    let r = editor.api(Method::GET, &path, None, &[]).await;
    assert_problem(&r, 401, "unauthorized");
    let mut stale = Visitor::new(&app);
    stale.cookie = Some("not-a-session".into());
    let r = stale.api(Method::GET, &path, None, &[]).await;
    assert_problem(&r, 401, "unauthorized");
}

/// A request with a bearer token is the token's, whatever cookie it carries: every operation
/// of the API answers as it does without one, with no anti-forgery check.
#[tokio::test]
async fn a_bearer_token_is_answered_as_before_whatever_cookie_comes_with_it() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let (viewer, _) = signed_in(&app, &app.org.to_string(), "vic@example.com", Role::Viewer).await;
    let cookie = format!("skillgrid_session={}", viewer.cookie.clone().unwrap());
    let doc = app.get("/api/v2/openapi.json").await.body;
    let mut operations = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        // Ids that exist nowhere, and an empty body: nothing is written either way.
        let path: String = template
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    Uuid::now_v7().to_string()
                } else {
                    seg.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if crate::helpers::is_stream(template, &m) {
                continue;
            }
            let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
            let plain = app
                .call(m.clone(), &path, Some(&app.token), body.as_ref(), &[])
                .await;
            let with_cookie = app
                .call(
                    m.clone(),
                    &path,
                    Some(&app.token),
                    body.as_ref(),
                    &[("cookie", &cookie), ("origin", "https://evil.example")],
                )
                .await;
            assert_eq!(
                (plain.status, &plain.body["code"]),
                (with_cookie.status, &with_cookie.body["code"]),
                "{m} {path}"
            );
            operations += 1;
        }
    }
    assert!(operations > 20, "{operations}");
}
