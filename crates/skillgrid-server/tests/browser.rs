//! The console in a real browser: headless Chromium driven over WebDriver by Debian's
//! `chromedriver`, which each test starts on a free loopback port with a fresh profile. The
//! test fails, never skips, when chromedriver is missing (`scripts/test` installs it).
//!
//! What a person does: sign in with a one-time password and be made to replace it, see the
//! home, sign out (after which the old cookie opens nothing); what the page's scripts will do:
//! call the API with the session (an editor's change lands and the audit names them, a
//! viewer's is refused by the server); and what another site's page cannot do. Then the grid:
//! agents by skills, searched, walked with the arrow keys and edited in place (a level name
//! saved, a typo shown at the cell with the API's words, a stale edit refused with the
//! current value shown, a warning shown), and a viewer's grid that cannot be edited.
//!
//! Every screen (sign-in and change of password, each also with an error; the refusal page;
//! the editor's grid with an error and with a warning at a cell; the viewer's grid) passes
//! axe-core with no critical or serious violation. axe-core is read from the file
//! `AXE_CORE_JS` names (`scripts/test` installs it with npm); the test fails when it is missing.

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use skillgrid_server::bootstrap;
use skillgrid_store::Role;
use skillgrid_testkit::{spawn_server, test_db, TestDb, TestServer};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHOSEN: &str = "a password of my own";

/// Debian's chromedriver; `CHROMEDRIVER` names another.
fn chromedriver() -> String {
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    match Command::new(&bin).arg("--version").output() {
        Ok(o) if o.status.success() => bin,
        _ => panic!(
            "the console's browser tests need chromedriver: `{bin}` was not found. Install \
             Debian's package (apt-get install -y chromium-driver), or set CHROMEDRIVER to its \
             path; scripts/test installs it"
        ),
    }
}

/// axe-core's script, from the file `AXE_CORE_JS` names (`scripts/test` installs it with npm
/// and sets the variable).
fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS").unwrap_or_default();
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the console's accessibility checks need axe-core's axe.min.js, named by AXE_CORE_JS \
             (now `{path}`: {e}). scripts/test installs it into target/ci-axe and sets the variable; after one run of it, \
             these tests alone run with \
             AXE_CORE_JS=$PWD/target/ci-axe/node_modules/axe-core/axe.min.js"
        )
    })
}

/// A chromedriver process, killed with the test.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server, its database, and a browser signed in to nothing yet.
struct Session {
    app: TestServer,
    browser: Client,
    _driver: Driver,
    _db: TestDb,
}

async fn start() -> Session {
    let bin = chromedriver();
    let db = test_db(false).await;
    let app = spawn_server(&db.url).await;
    // A free port: bound, read and let go (chromedriver binds it straight after).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };
    let mut options = json!({
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            format!("--user-data-dir={}", driver._profile.path().display()),
        ]
    });
    if let Ok(chromium) = std::env::var("CHROMIUM") {
        options["binary"] = Value::String(chromium);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let browser = connect(&driver.url, caps).await;
    Session {
        app,
        browser,
        _driver: driver,
        _db: db,
    }
}

/// Connects once chromedriver answers (it takes a moment to start).
async fn connect(url: &str, caps: serde_json::Map<String, Value>) -> Client {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(url)
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("chromedriver at {url}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

impl Session {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    async fn path(&self) -> String {
        self.browser.current_url().await.unwrap().path().to_string()
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.browser.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn submit(&self, form: &str) {
        let css = format!("form[data-form=\"{form}\"] button[type=submit]");
        self.browser
            .find(Locator::Css(&css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Waits for an element of the page the last action led to.
    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// Runs axe-core in the page now shown and fails on any violation of impact `critical` or
    /// `serious`, naming `screen`, each rule, its help and the elements at fault. WebDriver's
    /// scripts run outside the page's Content-Security-Policy, which stays as the product
    /// serves it.
    async fn check_accessibility(&self, screen: &str) {
        self.browser.execute(&axe_source(), vec![]).await.unwrap();
        const RUN: &str = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ["violations"]})
                .then(r => done(r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.map(n => n.target.join(" ")),
                }))))
                .catch(e => done(String(e)));
        "#;
        let out = self.browser.execute_async(RUN, vec![]).await.unwrap();
        let violations = out
            .as_array()
            .unwrap_or_else(|| panic!("axe-core failed on {screen}: {out}"));
        let serious: Vec<String> = violations
            .iter()
            .filter(|v| v["impact"] == "critical" || v["impact"] == "serious")
            .map(|v| {
                format!(
                    "  {} ({}): {}; at {}",
                    v["id"].as_str().unwrap_or_default(),
                    v["impact"].as_str().unwrap_or_default(),
                    v["help"].as_str().unwrap_or_default(),
                    v["targets"]
                )
            })
            .collect();
        assert!(
            serious.is_empty(),
            "accessibility violations on {screen}:\n{}",
            serious.join("\n")
        );
    }

    /// A user of `role` made with a one-time password, signed in through the form and past the
    /// page that makes them replace it; returns the user's id and client id.
    async fn sign_in_new(&self, email: &str, role: Role) -> skillgrid_store::UserRecord {
        let org = self.app.boot.org_id.to_string();
        let made = bootstrap::create_user(&self.app.store, &org, email, role, None)
            .await
            .unwrap();
        let one_time = made.password.unwrap();
        self.browser.goto(&self.url("/console")).await.unwrap();
        self.wait_for("form[data-form=\"sign-in\"]").await;
        assert_eq!(self.path().await, "/console/sign-in");
        // One organization: it is filled in already.
        let org_field = self
            .browser
            .find(Locator::Id("organization"))
            .await
            .unwrap();
        assert_eq!(
            org_field.prop("value").await.unwrap().as_deref(),
            Some("default")
        );
        self.fill("#email", email).await;
        self.fill("#password", &one_time).await;
        self.submit("sign-in").await;
        self.wait_for("[data-must-change]").await;
        assert_eq!(self.path().await, "/console/password");
        self.fill("#current", &one_time).await;
        self.fill("#new", CHOSEN).await;
        self.fill("#confirm", CHOSEN).await;
        self.submit("password").await;
        // The grid, the home; the bar above it (on every signed-in page) names the role.
        self.wait_for("[data-grid]").await;
        let role_shown = self.wait_for("[data-role]").await;
        assert_eq!(role_shown.text().await.unwrap(), role.as_str());
        self.app
            .store
            .find_user(self.app.boot.org_id, email)
            .await
            .unwrap()
            .unwrap()
    }

    /// What the console's scripts do: `fetch` from the page with the session cookie; with
    /// `csrf`, the page's anti-forgery token in `X-CSRF-Token`. Returns the status and body.
    async fn fetch(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (u16, Value) {
        const SCRIPT: &str = r#"
            const [method, path, body, csrf, done] = arguments;
            const headers = {"content-type": "application/json"};
            if (csrf) {
                headers["x-csrf-token"] = document.querySelector("input[name=csrf_token]").value;
            }
            fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body),
                         credentials: "same-origin"})
                .then(async r => done([r.status, await r.text()]))
                .catch(e => done([0, String(e)]));
        "#;
        let out = self
            .browser
            .execute_async(
                SCRIPT,
                vec![
                    json!(method),
                    json!(path),
                    body.unwrap_or(Value::Null),
                    json!(csrf),
                ],
            )
            .await
            .unwrap();
        let status = out[0].as_u64().unwrap() as u16;
        let text = out[1].as_str().unwrap_or_default();
        (
            status,
            serde_json::from_str(text).unwrap_or(Value::String(text.into())),
        )
    }

    /// A request to the API with the bootstrap client's token, as the test's own eyes.
    async fn as_admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let token: Value = http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &self.app.boot.client_id.to_string()),
                ("client_secret", &self.app.boot.client_secret),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut b = http
            .request(method, self.url(path))
            .bearer_auth(token["access_token"].as_str().unwrap());
        if let Some(v) = body {
            b = b.json(&v);
        }
        let r = b.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// The grid's cell of an agent and a skill.
    fn cell(agent: &str, skill: &str) -> String {
        format!("td[data-agent-id=\"{agent}\"][data-skill-id=\"{skill}\"]")
    }

    /// Moves to a cell, opens it with Enter, types `text` and presses Enter.
    async fn edit_cell(&self, agent: &str, skill: &str, text: &str) {
        let cell = Self::cell(agent, skill);
        let td = self.wait_for(&cell).await;
        td.click().await.unwrap();
        td.send_keys(&Key::Enter.to_string()).await.unwrap();
        let input = self.wait_for(&format!("{cell} input")).await;
        input.clear().await.unwrap();
        input
            .send_keys(&format!("{text}{}", Key::Enter))
            .await
            .unwrap();
    }

    /// The text of the first element of `css` once it has some.
    async fn text_of(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.wait_for(css).await.text().await.unwrap_or_default();
            if !text.trim().is_empty() || Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The agent's skills through the API, with a bearer token.
    async fn skills_of(&self, agent: &str) -> Value {
        self.as_admin(
            reqwest::Method::GET,
            &format!("/api/v2/agents/users/{agent}/skills"),
            None,
        )
        .await
    }

    /// Creates something through the API (a skill, an agent) and returns its id.
    async fn create(&self, path: &str, body: Value) -> String {
        let made = self.as_admin(reqwest::Method::POST, path, Some(body)).await;
        made["id"].as_str().unwrap().to_string()
    }

    async fn agent_with_a_skill(&self) -> (String, String) {
        let skill = self
            .create("/api/v2/admin/skills", json!({"name": "Billing"}))
            .await;
        let agent = self
            .create(
                "/api/v2/admin/users",
                json!({"email": "ana@example.com", "name": "Ana"}),
            )
            .await;
        (agent, skill)
    }
}

#[tokio::test]
async fn sign_in_change_the_password_work_through_the_api_and_sign_out() {
    let s = start().await;
    let (agent, skill) = s.agent_with_a_skill().await;
    let user = s.sign_in_new("edi@example.com", Role::Editor).await;
    let email = s.wait_for("[data-email]").await;
    assert_eq!(email.text().await.unwrap(), "edi@example.com");
    let org = s.wait_for("[data-org]").await;
    assert_eq!(org.text().await.unwrap(), "default");
    let cookie = s
        .browser
        .get_named_cookie("skillgrid_session")
        .await
        .unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    let old_cookie = cookie.value().to_string();

    // The page's script changes an agent's skills through the API with the session: refused
    // without the page's token, done with it, and the audit names the user.
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let body = json!([{"skillId": skill, "proficiency": 75}]);
    let (status, problem) = s.fetch("PUT", &path, Some(body.clone()), false).await;
    assert_eq!(
        (status, &problem["code"]),
        (403, &json!("forbidden")),
        "{problem}"
    );
    let (status, answer) = s.fetch("PUT", &path, Some(body), true).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["version"], 1);
    let history = s
        .as_admin(reqwest::Method::GET, &format!("{path}/history"), None)
        .await;
    assert_eq!(
        history["items"][0]["userId"],
        user.id.to_string(),
        "{history}"
    );
    assert_eq!(history["items"][0]["clientId"], user.client_id.to_string());

    // Sign out: back to the form, and the old cookie opens nothing any more.
    s.submit("sign-out").await;
    s.wait_for("form[data-form=\"sign-in\"]").await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = http
        .get(s.url("/console"))
        .header("cookie", format!("skillgrid_session={old_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/console/sign-in");
    let api = http
        .get(s.url(&path))
        .header("cookie", format!("skillgrid_session={old_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_viewer_changes_nothing_and_another_site_cannot_post() {
    let s = start().await;
    let (agent, skill) = s.agent_with_a_skill().await;
    s.sign_in_new("vic@example.com", Role::Viewer).await;
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let (status, read) = s.fetch("GET", &path, None, false).await;
    assert_eq!(status, 200, "{read}");
    // Even with the page's token the server refuses a viewer's change, and nothing is written.
    let body = json!([{"skillId": skill, "proficiency": 75}]);
    let (status, problem) = s.fetch("PUT", &path, Some(body), true).await;
    assert_eq!(
        (status, &problem["code"]),
        (403, &json!("insufficient_scope")),
        "{problem}"
    );
    let after = s.as_admin(reqwest::Method::GET, &path, None).await;
    assert_eq!(
        (after["version"].clone(), after["skills"].clone()),
        (json!(0), json!([]))
    );

    // A page of another origin (same host, another port: the browser sends the cookie) posts
    // a sign-out form with a guessed token: refused, and the session lives on.
    let evil = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_base = format!("http://{}", evil.local_addr().unwrap());
    let target = s.url("/console/sign-out");
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><title>win a prize</title>\
         <form method=\"post\" action=\"{target}\" data-form=\"evil\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"guessed\">\
         <button type=\"submit\">Claim</button></form></html>"
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    tokio::spawn(async move { axum::serve(evil, router).await });
    s.browser.goto(&format!("{evil_base}/")).await.unwrap();
    s.submit("evil").await;
    let refusal = s.wait_for("[data-refusal]").await;
    assert!(refusal.text().await.unwrap().contains("another site"));
    s.check_accessibility("the refusal page").await;
    s.browser.goto(&s.url("/console")).await.unwrap();
    s.wait_for("[data-home]").await;
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn the_sign_in_and_password_screens_are_accessible() {
    let s = start().await;
    let org = s.app.boot.org_id.to_string();
    let made = bootstrap::create_user(&s.app.store, &org, "ida@example.com", Role::Admin, None)
        .await
        .unwrap();
    s.browser.goto(&s.url("/console/sign-in")).await.unwrap();
    s.wait_for("form[data-form=\"sign-in\"]").await;
    s.check_accessibility("the sign-in page").await;
    s.fill("#email", "ida@example.com").await;
    s.fill("#password", "not the password").await;
    s.submit("sign-in").await;
    s.wait_for("[data-sign-in-error]").await;
    s.check_accessibility("the sign-in page, with an error")
        .await;
    s.fill("#password", &made.password.unwrap()).await;
    s.submit("sign-in").await;
    s.wait_for("[data-must-change]").await;
    s.check_accessibility("the change of password").await;
    s.fill("#current", "not the password").await;
    s.fill("#new", CHOSEN).await;
    s.fill("#confirm", CHOSEN).await;
    s.submit("password").await;
    s.wait_for("[data-password-error]").await;
    s.check_accessibility("the change of password, with an error")
        .await;
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn disabling_a_user_ends_their_session_at_once() {
    let s = start().await;
    s.sign_in_new("max@example.com", Role::Admin).await;
    let org = s.app.boot.org_id.to_string();
    bootstrap::set_user_active(&s.app.store, &org, "max@example.com", false)
        .await
        .unwrap();
    s.browser.goto(&s.url("/console")).await.unwrap();
    s.wait_for("form[data-form=\"sign-in\"]").await;
    assert_eq!(s.path().await, "/console/sign-in");
    s.browser.clone().close().await.unwrap();
}

/// Two agents, two skills, one assignment: Ana holds Billing at 50.
async fn seed_grid(s: &Session) -> (String, String, String, String) {
    let (ana, billing) = s.agent_with_a_skill().await;
    let voice = s
        .create("/api/v2/admin/skills", json!({"name": "Voice"}))
        .await;
    let bob = s
        .create(
            "/api/v2/admin/users",
            json!({"email": "bob@example.com", "name": "Bob"}),
        )
        .await;
    s.as_admin(
        reqwest::Method::PUT,
        &format!("/api/v2/agents/users/{ana}/skills"),
        Some(json!([{"skillId": billing, "proficiency": 50}])),
    )
    .await;
    (ana, bob, billing, voice)
}

#[tokio::test]
async fn the_grid_is_searched_walked_and_edited_in_place() {
    let s = start().await;
    let (ana, bob, billing, voice) = seed_grid(&s).await;
    s.sign_in_new("edi@example.com", Role::Editor).await;

    // Agents by skills, each cell its proficiency and level.
    let held = s.text_of(&Session::cell(&ana, &billing)).await;
    assert_eq!(held, "50 Intermediate");
    s.wait_for(&Session::cell(&bob, &voice)).await;

    // Search by name, in any case.
    s.fill("#q", "BOB").await;
    s.submit("grid-filters").await;
    s.wait_for("input#q[value=\"BOB\"]").await;
    let rows = s
        .browser
        .find_all(Locator::Css("tbody tr[data-agent-id]"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].attr("data-agent-id").await.unwrap().as_deref(),
        Some(bob.as_str())
    );
    s.browser.goto(&s.url("/console")).await.unwrap();

    // The arrow keys walk the grid: right from Billing is Voice, down from Ana is Bob.
    let td = s.wait_for(&Session::cell(&ana, &billing)).await;
    td.click().await.unwrap();
    td.send_keys(&Key::Right.to_string()).await.unwrap();
    let at = s.browser.active_element().await.unwrap();
    assert_eq!(at.attr("data-skill-id").await.unwrap(), Some(voice.clone()));
    at.send_keys(&Key::Down.to_string()).await.unwrap();
    let at = s.browser.active_element().await.unwrap();
    assert_eq!(at.attr("data-agent-id").await.unwrap(), Some(bob.clone()));

    // A level name in any case is saved, and the API has it.
    s.edit_cell(&ana, &voice, "expert").await;
    s.wait_for(&format!("{}.l4", Session::cell(&ana, &voice)))
        .await;
    assert_eq!(s.text_of(&Session::cell(&ana, &voice)).await, "100 Expert");
    let after = s.skills_of(&ana).await;
    assert_eq!(after["version"], 2, "{after}");
    let voice_held = after["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["skillId"] == json!(voice))
        .unwrap();
    assert_eq!(voice_held["proficiency"], 100);

    // A typo: the API's words at the cell, nothing written; Escape gives the cell back.
    s.edit_cell(&bob, &billing, "Expret").await;
    let error = s
        .wait_for(&format!(
            "{} [data-error-code]",
            Session::cell(&bob, &billing)
        ))
        .await;
    assert_eq!(
        error.attr("data-error-code").await.unwrap().as_deref(),
        Some("unknown_level")
    );
    let said = error.text().await.unwrap();
    assert!(said.contains("did you mean `Expert`?"), "{said}");
    s.check_accessibility("the editor's grid, an error at a cell")
        .await;
    assert_eq!(s.skills_of(&bob).await["version"], 0);
    let input = s
        .wait_for(&format!("{} input", Session::cell(&bob, &billing)))
        .await;
    input.send_keys(&Key::Escape.to_string()).await.unwrap();
    assert!(s
        .browser
        .find(Locator::Css(&format!(
            "{} input",
            Session::cell(&bob, &billing)
        )))
        .await
        .is_err());

    // Someone changes Ana through the API meanwhile: the stale edit is refused, and the cell
    // shows what is stored now.
    s.as_admin(
        reqwest::Method::PUT,
        &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
        Some(json!({"proficiency": 75})),
    )
    .await;
    s.edit_cell(&ana, &billing, "25").await;
    s.wait_for(&format!(
        "{} [data-error-code=\"precondition_failed\"]",
        Session::cell(&ana, &billing)
    ))
    .await;
    let shown = s.text_of(&Session::cell(&ana, &billing)).await;
    assert!(shown.starts_with("75 Advanced"), "{shown}");
    let stored = s.skills_of(&ana).await;
    assert_eq!(stored["version"], 3, "{stored}");

    // Now up to date, the same edit is saved.
    s.edit_cell(&ana, &billing, "25").await;
    s.wait_for(&format!("{}.l1", Session::cell(&ana, &billing)))
        .await;
    assert_eq!(s.skills_of(&ana).await["version"], 4);

    // A value of another product's scale is saved, with the API's warning at the cell.
    s.edit_cell(&bob, &voice, "5").await;
    let warning = s
        .wait_for(&format!(
            "{} [data-warning-code]",
            Session::cell(&bob, &voice)
        ))
        .await;
    assert_eq!(
        warning.attr("data-warning-code").await.unwrap().as_deref(),
        Some("other_scale")
    );
    assert_eq!(s.skills_of(&bob).await["version"], 1);
    s.check_accessibility("the editor's grid, a warning at a cell")
        .await;
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_viewer_s_grid_cannot_be_edited() {
    let s = start().await;
    let (ana, _, billing, _) = seed_grid(&s).await;
    s.sign_in_new("vic@example.com", Role::Viewer).await;
    s.wait_for("table[data-editable=\"false\"]").await;
    let cell = Session::cell(&ana, &billing);
    let td = s.wait_for(&cell).await;
    td.click().await.unwrap();
    td.send_keys(&Key::Enter.to_string()).await.unwrap();
    assert!(s
        .browser
        .find(Locator::Css(&format!("{cell} input")))
        .await
        .is_err());
    assert_eq!(s.text_of(&cell).await, "50 Intermediate");
    s.check_accessibility("the viewer's grid").await;
    s.browser.clone().close().await.unwrap();
}

/// The history rows of the agent page, newest first.
const HISTORY_ROW: &str = "table[data-history] tbody tr";

/// An agent's page opened from the grid shows their skills with dates and their history;
/// Undo restores the change's `before` through the API, and the new change names the user.
#[tokio::test]
async fn an_agent_s_change_is_undone_from_their_page() {
    let s = start().await;
    let (ana, _, billing, _) = seed_grid(&s).await;
    let user = s.sign_in_new("edi@example.com", Role::Editor).await;
    let (status, _) = s
        .fetch(
            "PUT",
            &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
            Some(json!({"proficiency": 75, "expirationDate": "2031-06-30T00:00:00Z"})),
            true,
        )
        .await;
    assert_eq!(status, 200);
    s.browser.goto(&s.url("/console")).await.unwrap();
    s.wait_for(&format!("a[href=\"/console/agents/{ana}\"]"))
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("table[data-history]").await;
    assert_eq!(s.path().await, format!("/console/agents/{ana}"));
    let skills = s.text_of("table[data-skills] tbody").await;
    assert!(
        skills.contains("Billing") && skills.contains("2031-06-30"),
        "{skills}"
    );
    let rows = s.browser.find_all(Locator::Css(HISTORY_ROW)).await.unwrap();
    assert_eq!(rows.len(), 2);
    let newest = rows[0].text().await.unwrap();
    assert!(newest.contains("edi@example.com"), "{newest}");
    s.check_accessibility("the agent page").await;

    // Undo the editor's change: Billing is back at 50, with no expiration.
    rows[0]
        .find(Locator::Css("button[data-undo]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait_for("[data-undone]").await;
    let stored = s.skills_of(&ana).await;
    assert_eq!(stored["version"], 3, "{stored}");
    assert_eq!(stored["skills"][0]["proficiency"], 50, "{stored}");
    assert_eq!(
        stored["skills"][0]["expirationDate"],
        Value::Null,
        "{stored}"
    );
    // The undo is a change of its own, newest, made by the user.
    let rows = s.browser.find_all(Locator::Css(HISTORY_ROW)).await.unwrap();
    assert_eq!(rows.len(), 3);
    let newest = rows[0].text().await.unwrap();
    assert!(newest.contains("edi@example.com"), "{newest}");
    assert!(newest.contains("updated"), "{newest}");
    let history = s
        .as_admin(
            reqwest::Method::GET,
            &format!("/api/v2/agents/users/{ana}/skills/history"),
            None,
        )
        .await;
    assert_eq!(
        history["items"][0]["userId"],
        json!(user.id.to_string()),
        "{history}"
    );
    assert_eq!(history["items"][0]["after"]["proficiency"], 50, "{history}");
    s.browser.clone().close().await.unwrap();
}

/// A change whose skill has moved on since is not undone: the row says why, nothing is written.
#[tokio::test]
async fn an_undo_is_refused_when_the_value_has_moved_on() {
    let s = start().await;
    let (ana, _, billing, _) = seed_grid(&s).await;
    s.sign_in_new("edi@example.com", Role::Editor).await;
    s.browser
        .goto(&s.url(&format!("/console/agents/{ana}")))
        .await
        .unwrap();
    s.wait_for("table[data-history]").await;
    // Someone changes Billing through the API after the page was shown.
    s.as_admin(
        reqwest::Method::PUT,
        &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
        Some(json!({"proficiency": 60})),
    )
    .await;
    s.wait_for(&format!("{HISTORY_ROW} button[data-undo]"))
        .await
        .click()
        .await
        .unwrap();
    let refusal = s
        .wait_for(&format!(
            "{HISTORY_ROW} [data-error-code=\"value_moved_on\"]"
        ))
        .await;
    let said = refusal.text().await.unwrap();
    assert!(said.contains("current value differs"), "{said}");
    s.check_accessibility("the agent page, an undo refused at a row")
        .await;
    let stored = s.skills_of(&ana).await;
    assert_eq!(stored["version"], 2, "{stored}");
    assert_eq!(stored["skills"][0]["proficiency"], 60, "{stored}");
    s.browser.clone().close().await.unwrap();
}

/// Undoing a removal adds the skill back as it was; undoing that addition removes it again.
#[tokio::test]
async fn undoing_a_removal_re_adds_the_skill_and_undoing_an_addition_removes_it() {
    let s = start().await;
    let (ana, _, billing, _) = seed_grid(&s).await;
    s.sign_in_new("edi@example.com", Role::Editor).await;
    let (status, _) = s
        .fetch(
            "DELETE",
            &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
            None,
            true,
        )
        .await;
    assert_eq!(status, 204);
    for (undone, held) in [(1, true), (2, false)] {
        let page = format!("/console/agents/{ana}");
        s.browser.goto(&s.url(&page)).await.unwrap();
        s.wait_for(&format!("{HISTORY_ROW} button[data-undo]"))
            .await
            .click()
            .await
            .unwrap();
        s.wait_for("[data-undone]").await;
        let stored = s.skills_of(&ana).await;
        assert_eq!(stored["version"], 2 + undone, "{stored}");
        let skills = stored["skills"].as_array().unwrap();
        assert_eq!(!skills.is_empty(), held, "{stored}");
        if held {
            assert_eq!(skills[0]["proficiency"], 50, "{stored}");
        }
        let action = if held { "added" } else { "removed" };
        let newest = s.text_of(HISTORY_ROW).await;
        assert!(newest.contains(action), "{newest}");
    }
    s.browser.clone().close().await.unwrap();
}
