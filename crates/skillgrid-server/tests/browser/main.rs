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
//! current value shown, a warning shown), and a viewer's grid that cannot be edited. And bulk
//! changes from the grid: 100 agents selected, a preview of the diff, then the summary.
//!
//! The admin screens: settings refused at a field in the API's words and then saved, a user
//! made with a one-time password shown once and disabled (their session ends), an API client
//! made and its secret rotated, each secret shown once; an editor refused them.
//!
//! The skills page: a skill created, renamed and deactivated, a duplicate name shown at its
//! field, holder counts, the link to the grid; the audit page: changes by two users and the
//! API client, filtered by user and by agent.
//!
//! Every screen (sign-in and change of password, each also with an error; the refusal page;
//! the editor's grid with an error and with a warning at a cell; the viewer's grid) passes
//! axe-core with no critical or serious violation. axe-core is read from the file
//! `AXE_CORE_JS` names (`scripts/test` installs it with npm); the test fails when it is missing.

mod admin;
mod agent;
mod audit;
mod bulk;
mod grid;
mod import;
mod sign_in;
mod skills;

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
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium outlives a killed chromedriver when the test did not close its session (a
        // failed assertion, or a test that simply ends): its processes are the ones started
        // with this test's own profile.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", "--"])
            .arg(format!("--user-data-dir={}", self.profile.path().display()))
            .status();
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
        profile,
    };
    let mut options = json!({
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,900",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            format!("--user-data-dir={}", driver.profile.path().display()),
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

    /// Waits for an element of the page the last action led to. A look made while the page
    /// is being replaced is made again: chromedriver answers it "aborted by navigation".
    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            match self.browser.find(Locator::Css(css)).await {
                Ok(found) => return found,
                Err(e) => {
                    let navigating = e.to_string().contains("aborted by navigation");
                    if !(e.is_no_such_element() || navigating)
                        || std::time::Instant::now() >= deadline
                    {
                        panic!("{css}: {e}");
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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

    /// Saves what the browser shows as `NAME.png`: into the directory `SKILLGRID_SCREENSHOTS`
    /// names (`scripts/screenshots` points it at `docs/console/` to refresh the pictures of
    /// the guide), else into `target/console-screenshots/`, where each run leaves them to look at.
    async fn screenshot(&self, name: &str) {
        let dir = std::env::var_os("SKILLGRID_SCREENSHOTS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../target/console-screenshots")
            });
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.browser.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
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
        let mut b = http
            .request(method, self.url(path))
            .bearer_auth(self.app.admin_token().await);
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
