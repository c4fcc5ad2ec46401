//! The OpenAPI document and the `/docs` page, served by the real server on loopback.
//! (Backend-independent, so on SQLite only.)
//!
//! The last tests hold the properties the client generators integrators use depend on
//! (`.ci/api-check` runs openapi-python-client, openapi-typescript and Postman's converter with
//! newman on the served document): a `servers` entry, a plain bearer scheme, Basic first on the
//! token route, an `If-Match` pattern HTTP clients can send, named schemas instead of inline
//! copies, codes as open strings, and examples that are safe to send.

use serde_json::{json, Value};
use skillgrid_api::{scopes, EntryCode, OrgSettings, ProblemCode};
use skillgrid_core::validate;
use skillgrid_server::openapi::{self, examples};
use skillgrid_server::vendor_routes::{self, DOCS_ANCHOR, ROUTES};
use skillgrid_server::vendor_scopes;
use skillgrid_testkit::{spawn_server, test_db, TestServer};
use std::process::Command;

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

async fn server() -> (TestServer, skillgrid_testkit::TestDb) {
    let db = test_db(false).await;
    (spawn_server(&db.url).await, db)
}

async fn get(base: &str, path: &str) -> (u16, String, String) {
    let r = reqwest::get(format!("{base}{path}"))
        .await
        .expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, r.text().await.expect("body"))
}

/// Every (path, method, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((path.clone(), m.to_string(), op.clone()));
            }
        }
    }
    out
}

/// The routes that take a token: the API's, but for the document itself.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/v2/") && path != "/api/v2/openapi.json"
}

/// Every body a tool may send from a request body's media type: its `example`, each of its
/// `examples`, and the `example` of its schema (which Postman's converter prefers).
fn sent_examples(doc: &Value, media: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(e) = media.get("example") {
        out.push(("example".to_string(), e.clone()));
    }
    for (name, e) in media["examples"].as_object().into_iter().flatten() {
        out.push((name.clone(), e["value"].clone()));
    }
    if let Some(e) = component(doc, &media["schema"]).get("example") {
        out.push(("the schema's example".to_string(), e.clone()));
    }
    out
}

/// Every problem example of the document, with the status it is documented under.
fn problem_examples(doc: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (_, _, op) in operations(doc) {
        for (status, r) in op["responses"].as_object().expect("responses") {
            if let Some(exs) = r
                .pointer("/content/application~1problem+json/examples")
                .and_then(Value::as_object)
            {
                out.extend(exs.values().map(|e| (status.clone(), e["value"].clone())));
            }
        }
    }
    for e in doc["components"]["examples"]
        .as_object()
        .expect("examples")
        .values()
    {
        let v = e["value"].clone();
        out.push((v["status"].to_string(), v));
    }
    out
}

#[tokio::test]
async fn the_document_is_served_without_a_token_and_every_documented_route_exists() {
    let (app, _db) = server().await;
    let (status, ct, body) = get(&app.base, "/api/v2/openapi.json").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
    let doc: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(&doc, openapi::document());

    let http = reqwest::Client::new();
    let ops = operations(&doc);
    assert_eq!(ops.len(), 53, "every route of the server is documented");
    for (path, method, op) in &ops {
        let id = op["operationId"].as_str().expect("operationId");
        // Per-operation scopes on every API route.
        if is_api(path) {
            let scopes = op["security"]
                .as_array()
                .and_then(|s| s.iter().find_map(|r| r.get("oauth2")))
                .and_then(Value::as_array)
                .expect(id);
            assert_eq!(scopes.len(), 1, "{id}");
        }
        // The route exists with this method (no token: 401 or the route's own answer, never
        // the fallback's 404 or a 405), and every other method answers 405.
        let url = format!(
            "{}{}",
            app.base,
            path.replace("{userId}", &uuid::Uuid::nil().to_string())
                .replace("{skillId}", &uuid::Uuid::nil().to_string())
        );
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = http.request(m, &url).send().await.unwrap();
        assert!(
            ![404, 405].contains(&r.status().as_u16()) || path.contains('{'),
            "{method} {path}: {}",
            r.status()
        );
        let item = &doc["paths"][path.as_str()];
        for other in METHODS.iter().filter(|o| item.get(**o).is_none()) {
            let m = reqwest::Method::from_bytes(other.to_uppercase().as_bytes()).unwrap();
            let r = http.request(m, &url).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 405, "{other} {path} is not documented");
        }
    }
}

#[tokio::test]
async fn every_problem_code_has_a_catalogue_entry_and_an_example_in_the_document() {
    let (app, _db) = server().await;
    let (status, ct, html) = get(&app.base, "/docs").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"), "{ct}");
    let doc: Value = serde_json::from_str(&get(&app.base, "/api/v2/openapi.json").await.2).unwrap();
    let examples = problem_examples(&doc);
    for code in ProblemCode::ALL {
        let c = code.as_str();
        assert!(
            html.contains(&format!("id=\"problem-{c}\"")),
            "no catalogue entry for {c}"
        );
        let ex = examples
            .iter()
            .find(|(_, v)| v["code"] == c)
            .unwrap_or_else(|| panic!("no example of {c} in the document"));
        assert_eq!(ex.1["type"], format!("/docs#problem-{c}"));
        assert_eq!(ex.1["status"], code.status());
        assert_eq!(
            ex.0,
            code.status().to_string(),
            "{c} documented under its status"
        );
    }
    // Every example is a well-formed problem whose code is one of the catalogue's.
    for (_, v) in &examples {
        let c = v["code"].as_str().expect("code");
        assert!(ProblemCode::ALL.iter().any(|p| p.as_str() == c), "{c}");
        assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // The `type` of real answers points into the page.
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/api/v2/admin/skills"),
        ("GET", "/nowhere"),
        ("DELETE", "/api/v2/audit"),
    ] {
        let r = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", app.base),
            )
            .send()
            .await
            .unwrap();
        let p: Value = r.json().await.unwrap();
        let anchor = p["type"]
            .as_str()
            .unwrap()
            .strip_prefix("/docs#")
            .unwrap()
            .to_string();
        assert!(html.contains(&format!("id=\"{anchor}\"")), "{anchor}");
    }
}

#[test]
fn every_operation_with_a_body_has_valid_examples_and_an_invalid_one_with_real_pointers() {
    let doc = openapi::document();
    let mut with_body = 0;
    for (path, method, op) in operations(doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap()
            .trim_start_matches("admin");
        let id = format!("{}{}", id[..1].to_lowercase(), &id[1..]);
        let Some(media) = op.pointer("/requestBody/content/application~1json") else {
            continue;
        };
        with_body += 1;
        let exs = media["examples"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}: no example"));
        assert!(!exs.is_empty());
        for (name, body) in sent_examples(doc, media) {
            let r = examples::validate_body(&id, &body).expect("a validator");
            assert!(
                r.is_ok(),
                "{method} {path} example {name} is refused: {r:?}"
            );
        }
        // The invalid-body example: several entries, each pointer resolving in a body.
        let bad = op
            .pointer("/responses/400/content/application~1problem+json/examples/invalid-body/value")
            .unwrap_or_else(|| panic!("{method} {path}: no invalid-body example"));
        let entries = bad["errors"].as_array().unwrap();
        assert!(entries.len() >= 2, "{method} {path}: {bad}");
        for e in entries {
            assert!(e["pointer"].is_string() || e["path"].is_string(), "{e}");
        }
        // Every documented status has an example, and only problem codes of that status.
        for (status, r) in op["responses"].as_object().unwrap() {
            if let Some(exs) = r
                .pointer("/content/application~1problem+json/examples")
                .and_then(Value::as_object)
            {
                assert!(!exs.is_empty(), "{method} {path} {status}");
                for e in exs.values() {
                    assert_eq!(e["value"]["status"].to_string(), *status);
                }
            }
        }
    }
    assert_eq!(
        with_body, 19,
        "operations with a JSON body (aliases included)"
    );
}

#[test]
fn descriptions_state_the_default_limits_and_scale() {
    let doc = openapi::document();
    let d = skillgrid_api::OrgSettings::default();
    let info = doc["info"]["description"].as_str().unwrap();
    for n in [
        d.limits.max_skills_per_agent,
        d.limits.max_items_per_bulk,
        d.limits.max_assignments_per_request,
        d.limits.max_body_bytes,
        d.rate_limit.requests_per_minute,
        d.rate_limit.burst,
    ] {
        assert!(info.contains(&n.to_string()), "{n}");
    }
    assert!(info.contains(&d.proficiency_scale.describe()));
    let bulk = doc["paths"]["/api/v2/agents/skills/bulk"]["post"]["description"]
        .as_str()
        .unwrap();
    assert!(bulk.contains(&format!("at most {} items", d.limits.max_items_per_bulk)));
    let scheme = &doc["components"]["securitySchemes"]["oauth2"];
    assert_eq!(
        scheme["flows"]["clientCredentials"]["tokenUrl"],
        "/oauth/token"
    );
    for s in skillgrid_api::scopes::ALL {
        assert!(
            scheme["flows"]["clientCredentials"]["scopes"]
                .get(s)
                .is_some(),
            "{s}"
        );
    }
}

/// Debian's Chromium; `CHROMIUM` names another binary.
fn chromium() -> String {
    let bin = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    match Command::new(&bin).arg("--version").output() {
        Ok(o) if o.status.success() => bin,
        _ => panic!(
            "the browser test needs headless Chromium: `{bin}` was not found. Install Debian's package \
             (apt-get install -y chromium), or set CHROMIUM to its path; .ci/run installs it"
        ),
    }
}

#[tokio::test]
async fn the_docs_page_renders_in_headless_chromium_with_no_network_but_loopback() {
    let bin = chromium();
    let (app, _db) = server().await;
    let profile = tempfile::tempdir().unwrap();
    let url = format!("{}/docs", app.base);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                // Anything but loopback goes to a dead proxy and resolves to nothing.
                "--proxy-server=http://127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=5000",
                &format!("--user-data-dir={}", profile.path().display()),
                "--dump-dom",
                &url,
            ])
            .output()
            .expect("run chromium")
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = operations(openapi::document()).len();
    // The navigation is built by the page's script in the browser: it is in the rendered DOM,
    // not in the HTML the server sent.
    assert!(!openapi::docs_html().contains("class=\"toc-op\""));
    assert_eq!(
        dom.matches("class=\"toc-op\"").count(),
        n,
        "one entry per operation"
    );
    assert!(dom.contains(&format!("data-rendered=\"{n}\"")));
    assert_eq!(dom.matches("class=\"operation\"").count(), n);
    for code in ProblemCode::ALL {
        assert!(dom.contains(&format!("id=\"problem-{}\"", code.as_str())));
    }
    assert!(dom.contains("<code>/api/v2/agents/skills/bulk</code>"));
    // The other products' routes: the section, one row per route, and its entry in the
    // navigation.
    assert!(dom.contains(&format!("id=\"{DOCS_ANCHOR}\"")));
    assert_eq!(dom.matches("class=\"foreign-route\"").count(), ROUTES.len());
    assert!(dom.contains(&format!(
        "<a href=\"#{DOCS_ANCHOR}\" class=\"toc-section\">Coming from another product</a>"
    )));
    // The warnings, like the errors, each with its entry.
    assert!(dom.contains("<h2 id=\"warnings\">Warnings</h2>"));
    for code in EntryCode::WARNINGS {
        assert!(dom.contains(&format!("id=\"warning-{}\"", code.as_str())));
    }
}

/// The writes' answers show `warnings` in their schema and examples, built by the code that
/// answers them; an organization that rejects them is an example of their problems.
#[test]
fn warnings_are_in_the_schemas_the_examples_and_the_catalogue() {
    let doc = openapi::document();
    let schemas = &doc["components"]["schemas"];
    for schema in ["AgentSkills", "BulkItemResult"] {
        let w = &schemas[schema]["properties"]["warnings"];
        assert_eq!(w["type"], "array", "{schema}: {w}");
        assert_eq!(
            w["items"]["$ref"], "#/components/schemas/ErrorEntry",
            "{schema}"
        );
    }
    let settings = &schemas["OrgSettings"]["properties"]["warnings"];
    assert!(settings.to_string().contains("reject"), "{settings}");
    let codes = |v: &Value| -> Vec<String> {
        let mut out = Vec::new();
        walk(v, "", &mut |_, x| {
            if let Some(c) = x.get("code").and_then(Value::as_str) {
                if x.get("pointer").is_some() {
                    out.push(c.to_string());
                }
            }
        });
        out
    };
    for (path, method) in [
        ("/api/v2/agents/users/{userId}/skills", "put"),
        ("/api/v2/agents/users/{userId}/skills", "patch"),
        ("/api/v2/agents/skills/bulk", "post"),
    ] {
        let op = &doc["paths"][path][method];
        let answers = &op["responses"]["200"]["content"]["application/json"]["examples"];
        let warned: Vec<String> = answers
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}: no answer examples"))
            .values()
            .flat_map(|e| codes(&e["value"]))
            .collect();
        assert!(
            warned.iter().any(|c| c == "other_scale"),
            "{method} {path}: {warned:?}"
        );
        let refused = &op["responses"]["400"]["content"]["application/problem+json"]["examples"]
            ["refused-warnings"]["value"];
        assert_eq!(refused["code"], "validation_failed", "{method} {path}");
        assert!(
            codes(refused).iter().all(|c| c == "other_scale"),
            "{refused}"
        );
        assert!(!codes(refused).is_empty(), "{method} {path}");
        let d = op["description"].as_str().unwrap();
        assert!(d.contains("`warnings`") && d.contains("`reject`"), "{d}");
    }
    let html = openapi::docs_html();
    for code in EntryCode::WARNINGS {
        assert!(
            html.contains(&format!("id=\"warning-{}\"", code.as_str())),
            "{code:?}"
        );
    }
}

#[test]
fn the_docs_page_and_the_api_guide_list_every_route_of_another_product() {
    let html = openapi::docs_html();
    let section = html
        .split_once(&format!(
            "<h2 id=\"{DOCS_ANCHOR}\">Coming from another product</h2>"
        ))
        .expect("the section")
        .1;
    let section = section.split_once("</table>").expect("its table").0;
    for r in ROUTES {
        let row = format!(
            "<tr class=\"foreign-route\" data-product=\"{}\" data-method=\"{}\" data-path=\"{}\">",
            r.product.name(),
            r.method,
            r.path
        );
        let cells = section
            .split_once(&row)
            .unwrap_or_else(|| panic!("no row for {} {}", r.method, r.path))
            .1;
        let cells = cells.split_once("</tr>").unwrap().0;
        // Each of skillgrid's routes links to its operation on the page.
        for (m, p) in r.equivalent {
            let id = openapi::document()["paths"][*p][m.to_lowercase()]["operationId"]
                .as_str()
                .unwrap();
            assert!(
                cells.contains(&format!("<a href=\"#op-{id}\"><code>{m} {p}</code></a>")),
                "{cells}"
            );
            assert!(html.contains(&format!("id=\"op-{id}\"")), "{id}");
        }
    }

    // The guide lists the same routes under each product, and no others.
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/api-guide.md"
    ))
    .expect("docs/api-guide.md");
    let section = guide
        .split_once("## Coming from another product")
        .expect("a section of the guide")
        .1;
    let section = section.split("\n## ").next().unwrap();
    let lists = &section[section.find("- **").expect("a list per product")..];
    // The lists end where the next subsection (scope names, scales) begins.
    let lists = lists.split("\n### ").next().unwrap();
    let table = vendor_routes::paths();
    for product in vendor_routes::Product::ALL {
        let name = product.name();
        let item = lists
            .split("- **")
            .find(|i| i.starts_with(&format!("{name}**")))
            .unwrap_or_else(|| panic!("the guide has no item for {name}"));
        let listed: Vec<&str> = item
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|code| {
                code.split_once(' ').is_some_and(|(m, p)| {
                    p.starts_with('/') && m.bytes().all(|b| b.is_ascii_uppercase() || b == b'|')
                })
            })
            .collect();
        let expected: Vec<&str> = table
            .iter()
            .filter(|(p, _)| *p == product)
            .map(|(_, route)| route.as_str())
            .collect();
        assert_eq!(listed, expected, "{name}");
    }
}

#[tokio::test]
async fn every_parameter_but_the_cursor_has_an_example_and_example_reads_are_valid_requests() {
    let (app, _db) = server().await;
    let http = reqwest::Client::new();
    let token = app.admin_token().await;
    for (path, method, op) in operations(openapi::document()) {
        let mut url = path.clone();
        let mut query = Vec::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            if name == "cursor" {
                continue;
            }
            let ex = p
                .get("example")
                .unwrap_or_else(|| panic!("{method} {path}: no example of {name}"));
            let v = ex
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| ex.to_string());
            match p["in"].as_str().unwrap() {
                "path" => url = url.replace(&format!("{{{name}}}"), &v),
                "query" => query.push((name.to_string(), v)),
                _ => {}
            }
        }
        if method != "get" {
            continue;
        }
        // The example ids name no row of this database: 200 or 404, never a 400.
        let r = http
            .get(format!("{}{url}", app.base))
            .query(&query)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(
            [200, 404].contains(&r.status().as_u16()),
            "GET {url} {query:?}: {} {}",
            r.status(),
            r.text().await.unwrap()
        );
    }
}

/// A component schema by name, following one `$ref`.
fn component<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => s,
    }
}

fn refused_at(operation: &str, body: &Value, pointer: &str) -> bool {
    match examples::validate_body(operation, body).expect("a validator") {
        Ok(()) => false,
        Err(errors) => errors.iter().any(|e| e.pointer.as_deref() == Some(pointer)),
    }
}

#[test]
fn documented_ranges_and_lengths_are_the_validators_own() {
    let doc = openapi::document();
    let schemas = &doc["components"]["schemas"];
    // Every bounded number of the settings: one past each bound is refused at its pointer;
    // the bounds of the limits and the rate limit are accepted.
    let settings = &schemas["SettingsPatch"]["properties"];
    let mut checked = 0;
    for (group, gs) in settings.as_object().unwrap() {
        let Some(props) = component(doc, gs)["properties"].as_object() else {
            continue;
        };
        for (field, fs) in props {
            let (Some(min), Some(max)) = (fs["minimum"].as_i64(), fs["maximum"].as_i64()) else {
                continue;
            };
            let body = |v: i64| serde_json::json!({ group.as_str(): { field.as_str(): v } });
            let at = format!("/{group}/{field}");
            assert!(
                refused_at("patchSettings", &body(max + 1), &at),
                "{at} above {max}"
            );
            assert!(
                refused_at("patchSettings", &body(min - 1), &at),
                "{at} below {min}"
            );
            if group != "proficiencyScale" {
                for v in [min, max] {
                    let r = examples::validate_body("patchSettings", &body(v)).unwrap();
                    assert!(r.is_ok(), "{at} = {v}: {r:?}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9, "bounded settings");
    // Text lengths: the longest documented value is accepted, one more character refused.
    let mut lengths = 0;
    for (operation, schema) in [
        ("createSkill", "SkillCreate"),
        ("patchSkill", "SkillUpdate"),
        ("createAgent", "AgentCreate"),
        ("patchAgent", "AgentUpdate"),
        ("createClient", "ApiClientCreate"),
        ("patchClient", "ApiClientUpdate"),
    ] {
        for (field, fs) in schemas[schema]["properties"].as_object().unwrap() {
            let Some(max) = fs["maxLength"].as_u64() else {
                continue;
            };
            let value = |n: u64| {
                let s = "a".repeat(n as usize);
                if field == "email" {
                    format!("{}@example.com", &s[..(n as usize).saturating_sub(12)])
                } else {
                    s
                }
            };
            let mut body = match operation {
                "createAgent" => serde_json::json!({"email": "ana@example.com", "name": "Ana"}),
                "createSkill" => serde_json::json!({"name": "Billing"}),
                "createClient" => {
                    serde_json::json!({"name": "importer", "scopes": ["admin:org:read"]})
                }
                _ => serde_json::json!({}),
            };
            body[field.as_str()] = Value::String(value(max));
            let r = examples::validate_body(operation, &body).unwrap();
            assert!(r.is_ok(), "{operation} {field} of {max}: {r:?}");
            body[field.as_str()] = Value::String(value(max + 1));
            assert!(
                refused_at(operation, &body, &format!("/{field}")),
                "{operation} {field}"
            );
            lengths += 1;
        }
    }
    assert_eq!(lengths, 12, "bounded text fields");
}

/// Calls `f` with the JSON pointer and value of every node of `v`.
fn walk(v: &Value, ptr: &str, f: &mut impl FnMut(&str, &Value)) {
    f(ptr, v);
    let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, c)| walk(c, &format!("{ptr}/{}", esc(k)), f)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| walk(c, &format!("{ptr}/{i}"), f)),
        _ => {}
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

#[tokio::test]
async fn the_servers_entry_is_relative_and_resolves_to_the_serving_server() {
    let (app, _db) = server().await;
    let doc = openapi::document();
    let servers = doc["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0]["url"], "/");
    // A relative server URL is resolved against where the document was fetched; the paths
    // follow it.
    let served = reqwest::Url::parse(&format!("{}/api/v2/openapi.json", app.base)).unwrap();
    let base = served.join(servers[0]["url"].as_str().unwrap()).unwrap();
    for path in ["/healthz", "/api/v2/openapi.json"] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
        let url = format!("{}{path}", base.as_str().trim_end_matches('/'));
        let r = reqwest::get(&url).await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
    }
}

#[tokio::test]
async fn api_operations_take_a_plain_bearer_token_first_and_the_token_route_basic_first() {
    let doc = openapi::document();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["clientBasic"]["type"], "http");
    assert_eq!(schemes["clientBasic"]["scheme"], "basic");
    let mut api = 0;
    for (path, method, op) in operations(doc) {
        if !is_api(&path) {
            continue;
        }
        // Either requirement is enough; tools that cannot run OAuth2 take the first.
        let scope = op["security"][1]["oauth2"][0].as_str().unwrap_or_default();
        assert!(
            scopes::ALL.contains(&scope),
            "{method} {path}: {}",
            op["security"]
        );
        assert_eq!(
            op["security"],
            json!([{"bearer": []}, {"oauth2": [scope]}]),
            "{method} {path}"
        );
        api += 1;
    }
    assert_eq!(api, 47, "API operations, aliases included");
    let token_op = &doc["paths"]["/oauth/token"]["post"];
    assert_eq!(token_op["security"], json!([{"clientBasic": []}, {}]));

    // What a tool does with the first requirements works: the client's id and secret as Basic
    // with the form's example get a token, which goes as a plain bearer token.
    let (app, _db) = server().await;
    let media = &token_op["requestBody"]["content"]["application/x-www-form-urlencoded"];
    let example = component(doc, &media["schema"])["example"].clone();
    assert_eq!(example, json!({"grant_type": "client_credentials"}));
    let form: Vec<(String, String)> = example
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/oauth/token", app.base))
        .basic_auth(app.boot.client_id, Some(&app.boot.client_secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token: Value = r.json().await.unwrap();
    let r = http
        .get(format!("{}/api/v2/admin/skills", app.base))
        .header(
            "Authorization",
            format!("Bearer {}", token["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn if_match_patterns_allow_spaces_and_tabs_around_the_etag_and_nothing_else() {
    let doc = openapi::document();
    let pattern = r#"^[ \t]*(\*|(W/)?"[0-9]{1,18}")[ \t]*$"#;
    assert_eq!(
        doc["components"]["schemas"]["BulkItem"]["properties"]["ifMatch"]["pattern"],
        pattern
    );
    let mut if_match = 0;
    for (path, method, op) in operations(doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "If-Match" {
                assert_eq!(p["schema"]["pattern"], pattern, "{method} {path}");
                if_match += 1;
            }
            // No header pattern with `\s`: it matches line breaks and a BOM, which HTTP
            // clients refuse to send in a header.
            if let (Some("header"), Some(pat)) = (p["in"].as_str(), p["schema"]["pattern"].as_str())
            {
                assert!(!pat.contains(r"\s"), "{method} {path} {}: {pat}", p["name"]);
            }
        }
    }
    assert_eq!(
        if_match, 8,
        "the writes to one agent's skills, aliases included"
    );
    // The server takes what the pattern admits around an ETag.
    for v in ["\"7\"", " \t\"7\"\t ", "*", "\tW/\"7\" "] {
        assert!(validate::precondition_header(Some(v)).is_ok(), "{v:?}");
    }
}

#[test]
fn pages_and_every_other_use_of_a_named_schema_refer_to_it() {
    let doc = openapi::document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (page, item) in [
        ("Page_Skill", "Skill"),
        ("Page_Agent", "Agent"),
        ("Page_AuditEntry", "AuditEntry"),
        ("Page_SkillHolder", "SkillHolder"),
    ] {
        assert_eq!(
            schemas[page]["properties"]["items"]["items"],
            schema_ref(item),
            "{page}"
        );
    }
    // No copy of a named schema anywhere but under its own name: a generator would make a
    // type of each copy.
    let named: Vec<(&String, &Value)> = schemas
        .iter()
        .filter(|(_, s)| s.get("properties").is_some() || s.get("oneOf").is_some())
        .collect();
    assert!(named.len() > 30, "{}", named.len());
    let mut copies = Vec::new();
    walk(doc, "", &mut |ptr, v| {
        for (name, s) in &named {
            if v == *s && ptr != format!("/components/schemas/{name}") {
                copies.push(format!("{ptr} is a copy of {name}"));
            }
        }
    });
    assert!(copies.is_empty(), "{copies:#?}");
}

#[test]
fn a_proficiency_is_one_named_schema() {
    let doc = openapi::document();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Proficiency"]["oneOf"],
        json!([{"type": "integer", "format": "int64"}, {"type": "string", "minLength": 1}])
    );
    for schema in ["AssignmentIn", "AssignmentFields", "AgentAssignment"] {
        assert_eq!(
            schemas[schema]["properties"]["proficiency"],
            schema_ref("Proficiency"),
            "{schema}"
        );
    }
    // Nowhere else an "integer or string" choice of its own.
    let choice = &schemas["Proficiency"]["oneOf"];
    let (mut refs, mut copies) = (0, Vec::new());
    walk(doc, "", &mut |ptr, v| {
        if *v == schema_ref("Proficiency") {
            refs += 1;
        }
        if v.get("oneOf") == Some(choice) && ptr != "/components/schemas/Proficiency" {
            copies.push(ptr.to_string());
        }
    });
    assert_eq!(refs, 3);
    assert!(copies.is_empty(), "{copies:?}");
}

#[test]
fn codes_are_open_strings_whose_descriptions_and_the_catalogue_list_them() {
    let doc = openapi::document();
    let schemas = &doc["components"]["schemas"];
    let problem: Vec<&str> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
    let entry: Vec<&str> = EntryCode::ALL.iter().map(|c| c.as_str()).collect();
    for (schema, codes) in [("Problem", &problem), ("ErrorEntry", &entry)] {
        let code = &schemas[schema]["properties"]["code"];
        // A closed `enum` would make generated clients reject a code added later.
        assert_eq!(code["type"], "string", "{schema}");
        assert!(code.get("enum").is_none(), "{schema}: {code}");
        let d = code["description"].as_str().unwrap();
        for c in codes.iter() {
            assert!(d.contains(&format!("`{c}`")), "{schema} does not list {c}");
        }
    }
    assert!(schemas.get("EntryCode").is_none(), "no closed list left");
    let html = openapi::docs_html();
    for c in problem {
        assert!(html.contains(&format!("id=\"problem-{c}\"")), "{c}");
    }
    for c in entry {
        assert!(html.contains(&format!("<li><code>{c}</code>: ")), "{c}");
    }
}

#[test]
fn sending_any_settings_example_leaves_a_new_organizations_settings_as_they_are() {
    let doc = openapi::document();
    let op = &doc["paths"]["/api/v2/organizations/settings"]["patch"];
    let sent = sent_examples(doc, &op["requestBody"]["content"]["application/json"]);
    assert!(sent.len() >= 3, "{sent:?}");
    let defaults = OrgSettings::default();
    let names = |s: &OrgSettings| -> Vec<String> {
        s.proficiency_scale
            .levels
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()
    };
    let mut fields = Vec::new();
    for (name, body) in &sent {
        let after = validate::settings_patch(body, &defaults)
            .unwrap_or_else(|e| panic!("{name} is refused: {e:?}"));
        assert!(!after.require_if_match, "{name} turns requireIfMatch on");
        assert_eq!(names(&after), names(&defaults), "{name} changes the levels");
        assert_eq!(after, defaults, "{name} changes the settings");
        fields.extend(body.as_object().unwrap().keys().cloned());
    }
    // They still show every part of the settings a PATCH can change.
    for f in ["proficiencyScale", "limits", "requireIfMatch", "rateLimit"] {
        assert!(fields.iter().any(|x| x == f), "no example sets {f}");
    }
}

/// The other products' names the token endpoint recognises are the rows of the table in
/// docs/api-guide.md, in order, and the token route's description names every product.
#[test]
fn the_api_guide_and_the_token_route_show_every_recognised_foreign_scope() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api-guide.md");
    let guide = std::fs::read_to_string(path).expect("docs/api-guide.md");
    let section = guide
        .split("\n## Coming from another product\n")
        .nth(1)
        .expect("a section `Coming from another product`")
        .split("\n## ")
        .next()
        .unwrap();
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    // One row per product, kind and equivalent, in the order of the code's table.
    let mut groups: Vec<(String, &[&str], Vec<String>)> = Vec::new();
    for e in vendor_scopes::TABLE {
        let name = format!("`{}`", e.name);
        match groups
            .iter_mut()
            .find(|(what, ours, _)| *what == e.what() && *ours == e.scopes)
        {
            Some((_, _, names)) => names.push(name),
            None => groups.push((e.what(), e.scopes, vec![name])),
        }
    }
    let expected: Vec<String> = groups
        .iter()
        .map(|(what, ours, names)| {
            let ours: Vec<String> = ours.iter().map(|s| format!("`{s}`")).collect();
            format!("| {} | {what} | {} |", names.join(", "), ours.join(" "))
        })
        .collect();
    assert_eq!(
        rows,
        expected,
        "the table should read:\n{}",
        expected.join("\n")
    );

    let doc = openapi::document();
    let token = doc["paths"]["/oauth/token"]["post"]["description"]
        .as_str()
        .unwrap()
        .replace('\n', " ");
    for e in vendor_scopes::TABLE {
        assert!(token.contains(e.product), "{} in: {token}", e.product);
    }
}
