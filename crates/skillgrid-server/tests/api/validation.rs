//! Table-driven: every kind of bad request sent over real HTTP,
//! each row asserting the status, the problem code and every error entry (locator, code and,
//! where one helps, the hint) in body order. Every write in the table must leave what
//! it targets unchanged (agent skills with version and history, settings, catalog, agents).
//!
//! All rows run against one app and every failing row is reported, not just the first.

use crate::helpers::{spawn_app, Resp, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const A: &str = "/api/v2/agents/users/{agent}/skills";
const B: &str = "/api/v2/admin/users/{agent}/skills";
const SETTINGS: &str = "/api/v2/organizations/settings";
const SKILLS: &str = "/api/v2/admin/skills";
const USERS: &str = "/api/v2/admin/users";

const PROBLEM_JSON: &str = "application/problem+json";

/// One expected error entry.
struct Exp {
    /// `pointer:/skills/0/id`, `header:If-Match`, `query:limit`, `path:userId`.
    loc: String,
    code: &'static str,
    /// A substring the entry's `hint` must contain.
    hint: Option<String>,
    /// A substring the entry's `detail` must contain.
    detail: Option<String>,
    /// Fields of the entry that must equal these values exactly (`line`, `column`, `received`).
    fields: Vec<(&'static str, Value)>,
}

/// One request and everything its answer must be.
struct Row {
    name: String,
    method: Method,
    /// With `{agent}`, `{skill}`, … placeholders (see [`Fixtures::sub`]).
    path: String,
    /// Sent as is after placeholder substitution; `None` sends no body.
    body: Option<Vec<u8>>,
    /// `None`: no Content-Type header at all.
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    status: u16,
    /// The problem `code`; `None` for the positive controls (2xx).
    problem: Option<&'static str>,
    entries: Vec<Exp>,
    /// Response headers that must contain these substrings.
    resp_headers: Vec<(&'static str, String)>,
    /// For positive controls: values at pointers of the response body.
    body_checks: Vec<(&'static str, Value)>,
}

fn row(name: impl Into<String>, method: Method, path: &str) -> Row {
    Row {
        name: name.into(),
        method,
        path: path.to_string(),
        body: None,
        content_type: None,
        headers: Vec::new(),
        status: 0,
        problem: None,
        entries: Vec::new(),
        resp_headers: Vec::new(),
        body_checks: Vec::new(),
    }
}

impl Row {
    /// A JSON body, sent as `application/json`.
    fn json(self, v: Value) -> Self {
        self.bytes(&serde_json::to_vec(&v).unwrap())
    }

    /// Raw text, sent as `application/json` unless [`Row::ctype`] says otherwise.
    fn text(self, s: &str) -> Self {
        self.bytes(s.as_bytes())
    }

    fn bytes(mut self, b: &[u8]) -> Self {
        self.body = Some(b.to_vec());
        if self.content_type.is_none() {
            self.content_type = Some("application/json");
        }
        self
    }

    fn ctype(mut self, ct: Option<&'static str>) -> Self {
        self.content_type = ct;
        self
    }

    fn header(mut self, k: &'static str, v: &str) -> Self {
        self.headers.push((k, v.to_string()));
        self
    }

    fn fails(mut self, status: u16, problem: &'static str) -> Self {
        self.status = status;
        self.problem = Some(problem);
        self
    }

    /// 400 `validation_failed`.
    fn invalid(self) -> Self {
        self.fails(400, "validation_failed")
    }

    /// A positive control: answered 200 (these are all dry runs or reads).
    fn ok(mut self) -> Self {
        self.status = 200;
        self.problem = None;
        self
    }

    /// An expected entry. A locator starting with `/` or empty is a body pointer; others are
    /// written `header:…`, `query:…` or `path:…`.
    fn e(mut self, loc: &str, code: &'static str) -> Self {
        let loc = if loc.is_empty() || loc.starts_with('/') {
            format!("pointer:{loc}")
        } else {
            loc.to_string()
        };
        self.entries.push(Exp {
            loc,
            code,
            hint: None,
            detail: None,
            fields: Vec::new(),
        });
        self
    }

    /// The last entry's hint contains `h`.
    fn hint(mut self, h: &str) -> Self {
        self.entries.last_mut().expect("an entry").hint = Some(h.to_string());
        self
    }

    /// The last entry's detail contains `d`.
    fn detail(mut self, d: &str) -> Self {
        self.entries.last_mut().expect("an entry").detail = Some(d.to_string());
        self
    }

    /// The last entry's `field` equals `v`.
    fn with(mut self, field: &'static str, v: Value) -> Self {
        self.entries
            .last_mut()
            .expect("an entry")
            .fields
            .push((field, v));
        self
    }

    fn resp_header(mut self, name: &'static str, contains: &str) -> Self {
        self.resp_headers.push((name, contains.to_string()));
        self
    }

    fn has(mut self, ptr: &'static str, v: Value) -> Self {
        self.body_checks.push((ptr, v));
        self
    }
}

/// What the rows refer to by placeholder.
struct Fixtures {
    subs: Vec<(&'static str, String)>,
    agent: Uuid,
}

impl Fixtures {
    fn sub(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (k, v) in &self.subs {
            s = s.replace(k, v);
        }
        s
    }

    /// Substitutes inside every string of a JSON value.
    fn sub_value(&self, v: &Value) -> Value {
        serde_json::from_str(&self.sub(&v.to_string())).expect("still JSON")
    }

    fn sub_bytes(&self, b: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(b) {
            Ok(s) => self.sub(s).into_bytes(),
            Err(_) => b.to_vec(),
        }
    }
}

/// What a row's request may touch, read before and after it.
async fn state_of(app: &TestApp, fx: &Fixtures, method: &Method, path: &str) -> Option<Value> {
    if *method == Method::GET {
        return None;
    }
    if path.starts_with("/api/v2/agents/users/")
        || (path.contains("/skills") && path.starts_with(USERS))
    {
        let (skills, history) = app.snapshot(fx.agent).await;
        return Some(json!([skills, history]));
    }
    let read = if path.starts_with(SETTINGS) {
        SETTINGS.to_string()
    } else if path.starts_with(SKILLS) {
        format!("{SKILLS}?limit=1000")
    } else if path.starts_with(USERS) {
        format!("{USERS}?limit=1000")
    } else {
        return None;
    };
    let r = app.get(&read).await;
    assert_eq!(r.status, 200, "{read}: {}", r.text);
    Some(r.body)
}

/// Sends one row and returns every way its answer differs from the expectation.
async fn run_row(app: &TestApp, fx: &Fixtures, row: &Row) -> Vec<String> {
    let path = fx.sub(&row.path);
    let body = row.body.as_deref().map(|b| fx.sub_bytes(b));
    let headers: Vec<(&str, String)> = row.headers.iter().map(|(k, v)| (*k, fx.sub(v))).collect();
    let header_refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let before = state_of(app, fx, &row.method, &path).await;
    let r = app
        .raw(
            row.method.clone(),
            &path,
            row.content_type,
            body.unwrap_or_default(),
            &header_refs,
        )
        .await;
    let after = state_of(app, fx, &row.method, &path).await;

    let mut bad = check(fx, row, &r);
    if before != after {
        bad.push(format!(
            "the request changed state:\n    before {}\n    after  {}",
            before.unwrap_or_default(),
            after.unwrap_or_default()
        ));
    }
    if !bad.is_empty() {
        bad.push(format!("answer: {} {}", r.status, r.text));
    }
    bad
}

fn check(fx: &Fixtures, row: &Row, r: &Resp) -> Vec<String> {
    let mut bad = Vec::new();
    if r.status != row.status {
        bad.push(format!("status {} instead of {}", r.status, row.status));
    }
    for (name, want) in &row.resp_headers {
        let want = fx.sub(want);
        match r.header(name) {
            Some(v) if v.contains(&want) => {}
            got => bad.push(format!(
                "header {name}: {got:?}, expected it to contain {want:?}"
            )),
        }
    }
    let request_id = r.header("x-request-id").unwrap_or_default();
    if request_id.is_empty() {
        bad.push("no X-Request-Id".into());
    }
    let Some(code) = row.problem else {
        for (ptr, want) in &row.body_checks {
            match r.body.pointer(ptr) {
                Some(got) if *got == fx.sub_value(want) => {}
                got => bad.push(format!("body {ptr}: {got:?}, expected {want}")),
            }
        }
        return bad;
    };

    let ct = r.header("content-type").unwrap_or_default();
    if !ct.starts_with(PROBLEM_JSON) {
        bad.push(format!("content type {ct:?} instead of {PROBLEM_JSON}"));
    }
    if r.body["code"] != code {
        bad.push(format!("problem code {} instead of {code}", r.body["code"]));
    }
    if r.body["status"] != row.status {
        bad.push(format!("problem status {}", r.body["status"]));
    }
    for k in ["type", "title", "detail"] {
        if r.body[k].as_str().is_none_or(str::is_empty) {
            bad.push(format!("problem `{k}` missing or empty"));
        }
    }
    if r.body["requestId"] != request_id {
        bad.push(format!(
            "requestId {} is not the X-Request-Id {request_id}",
            r.body["requestId"]
        ));
    }

    let got: Vec<Value> = match &r.body["errors"] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => {
            bad.push(format!("`errors` is not an array: {other}"));
            Vec::new()
        }
    };
    // An expected code of `*` accepts any code (where only the locator is documented).
    let got_summary: Vec<(String, String)> = got
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let code = match row.entries.get(i) {
                Some(w) if w.code == "*" => "*".to_string(),
                _ => code_of(e),
            };
            (locator(e), code)
        })
        .collect();
    let want_summary: Vec<(String, String)> = row
        .entries
        .iter()
        .map(|e| (fx.sub(&e.loc), e.code.to_string()))
        .collect();
    if got_summary != want_summary {
        bad.push(format!(
            "entries (locator, code):\n    got      {got_summary:?}\n    expected {want_summary:?}"
        ));
    }
    for (i, e) in got.iter().enumerate() {
        if e["detail"].as_str().is_none_or(str::is_empty) {
            bad.push(format!("entry {i} has no detail"));
        }
        let locators = ["pointer", "header", "query", "path"]
            .iter()
            .filter(|k| e.get(**k).is_some())
            .count();
        if locators != 1 {
            bad.push(format!("entry {i} has {locators} locators"));
        }
        let Some(want) = row.entries.get(i) else {
            continue;
        };
        if let Some(h) = &want.hint {
            let h = fx.sub(h);
            let hint = e["hint"].as_str().unwrap_or_default();
            if !hint.contains(&h) {
                bad.push(format!(
                    "entry {i}: hint {:?} does not contain {h:?}",
                    e["hint"]
                ));
            }
        }
        if let Some(d) = &want.detail {
            let d = fx.sub(d);
            if !e["detail"].as_str().unwrap_or_default().contains(&d) {
                bad.push(format!(
                    "entry {i}: detail {:?} does not contain {d:?}",
                    e["detail"]
                ));
            }
        }
        for (k, v) in &want.fields {
            let v = fx.sub_value(v);
            if e[*k] != v {
                bad.push(format!("entry {i}: `{k}` is {}, expected {v}", e[*k]));
            }
        }
    }
    bad
}

fn locator(e: &Value) -> String {
    ["pointer", "header", "query", "path"]
        .iter()
        .find_map(|k| e[*k].as_str().map(|v| format!("{k}:{v}")))
        .unwrap_or_else(|| "<none>".into())
}

fn code_of(e: &Value) -> String {
    e["code"].as_str().unwrap_or("<none>").to_string()
}

async fn run_table(app: &TestApp, fx: &Fixtures, rows: &[Row]) {
    let mut names = std::collections::HashSet::new();
    for r in rows {
        assert!(
            names.insert(r.name.clone()),
            "duplicate row name {}",
            r.name
        );
    }
    let mut failures = Vec::new();
    for row in rows {
        let bad = run_row(app, fx, row).await;
        if !bad.is_empty() {
            failures.push(format!(
                "[{}] {} {}\n  {}",
                row.name,
                row.method,
                row.path,
                bad.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}

async fn deactivate(app: &TestApp, path: String) {
    let r = app.patch(&path, &json!({"active": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// An active skill `Billing` (held by the agent), an active skill `Sales`, an inactive skill,
/// an agent holding Billing at 60 (version 1, one history entry) and an inactive agent.
async fn fixtures(app: &TestApp) -> Fixtures {
    app.lift_rate_limit().await;
    let skill = app.create_skill("Billing").await;
    let skill2 = app.create_skill("Sales").await;
    let inactive = app.create_skill("Legacy Fax").await;
    deactivate(app, format!("{SKILLS}/{inactive}")).await;
    let agent = app.create_agent("ana@example.com").await;
    let agent_inactive = app.create_agent("old@example.com").await;
    deactivate(app, format!("{USERS}/{agent_inactive}")).await;
    let r = app
        .put(
            &format!("/api/v2/agents/users/{agent}/skills"),
            &json!({"skills": [{"skillId": skill, "proficiency": 60,
                "effectiveDate": "2020-01-01T00:00:00Z", "expirationDate": "2099-01-01T00:00:00Z"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["version"], 1, "{}", r.text);
    Fixtures {
        subs: vec![
            ("{agent_inactive}", agent_inactive.to_string()),
            ("{agent}", agent.to_string()),
            ("{AGENT}", agent.to_string().to_uppercase()),
            ("{skill2}", skill2.to_string()),
            ("{skill}", skill.to_string()),
            ("{SKILL}", skill.to_string().to_uppercase()),
            ("{inactive}", inactive.to_string()),
            ("{nobody}", Uuid::new_v4().to_string()),
            ("{unknown}", Uuid::new_v4().to_string()),
        ],
        agent,
    }
}

/// `[ASSIGNMENT…]` bare or `{"skills": […]}` wrapped, and the pointer prefix of its items.
fn shaped(bare: bool, items: Value) -> (Value, &'static str) {
    if bare {
        (items, "")
    } else {
        (json!({ "skills": items }), "/skills")
    }
}

/// The eight combinations of path (both paths of an agent's skills), method (PUT, PATCH) and shape (bare,
/// wrapped), each with a name suffix.
fn combos() -> Vec<(String, Method, &'static str, bool)> {
    let mut v = Vec::new();
    for (pn, path) in [("agents", A), ("admin", B)] {
        for method in [Method::PUT, Method::PATCH] {
            for bare in [true, false] {
                let name = format!(
                    "{}_{pn}_{}",
                    method.as_str().to_lowercase(),
                    if bare { "bare" } else { "wrapped" }
                );
                v.push((name, method.clone(), path, bare));
            }
        }
    }
    v
}

fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let put = Method::PUT;
    let patch = Method::PATCH;
    let post = Method::POST;
    let get = Method::GET;

    // --- Foreign and misspelt keys on every path, method and shape (hints) -------------
    for (name, method, path, bare) in combos() {
        let (body, p) = shaped(bare, json!([{"id": "{skill}", "proficiency": 50}]));
        rows.push(
            row(
                format!("id_instead_of_skillId_{name}"),
                method.clone(),
                path,
            )
            .json(body)
            .invalid()
            .e(&format!("{p}/0/id"), "unknown_field")
            .hint("did you mean `skillId`?"),
        );
        let (body, p) = shaped(bare, json!([{"skillId": "{skill}", "proficiency": "80"}]));
        rows.push(
            row(format!("string_number_{name}"), method.clone(), path)
                .json(body)
                .invalid()
                .e(&format!("{p}/0/proficiency"), "invalid_type")
                .hint("drop the quotes")
                .with("received", json!("80")),
        );
    }
    rows.push(
        row("level_instead_of_proficiency", put.clone(), A)
            .json(json!({"skills": [{"skillId": "{skill}", "level": "Expert"}]}))
            .invalid()
            .e("/skills/0/level", "unknown_field")
            .hint("did you mean `proficiency`?"),
    );
    rows.push(
        row("startDate_instead_of_effectiveDate", put.clone(), B)
            .json(json!([{"skillId": "{skill}", "startDate": "2026-01-01T00:00:00Z"}]))
            .invalid()
            .e("/0/startDate", "unknown_field")
            .hint("did you mean `effectiveDate`?"),
    );
    rows.push(
        row("endDate_instead_of_expirationDate", patch.clone(), A)
            .json(json!({"skills": [{"skillId": "{skill}", "endDate": "2027-01-01T00:00:00Z"}]}))
            .invalid()
            .e("/skills/0/endDate", "unknown_field")
            .hint("did you mean `expirationDate`?"),
    );
    rows.push(
        row("misspelt_proficency", patch.clone(), B)
            .json(json!([{"skillId": "{skill}", "proficency": 70}]))
            .invalid()
            .e("/0/proficency", "unknown_field")
            .hint("did you mean `proficiency`?"),
    );
    rows.push(
        row("snake_case_skill_id", put.clone(), A)
            .json(json!({"skills": [{"skill_id": "{skill}"}]}))
            .invalid()
            .e("/skills/0/skill_id", "unknown_field")
            .hint("did you mean `skillId`?"),
    );
    rows.push(
        row(
            "unknown_key_without_near_miss_in_assignment",
            put.clone(),
            A,
        )
        .json(json!({"skills": [{"skillId": "{skill}", "colour": "red"}]}))
        .invalid()
        .e("/skills/0/colour", "unknown_field"),
    );
    rows.push(
        row(
            "unknown_key_with_slash_and_tilde_is_escaped",
            patch.clone(),
            A,
        )
        .json(json!({"skills": [{"skillId": "{skill}", "a/b~c": 1}]}))
        .invalid()
        .e("/skills/0/a~1b~0c", "unknown_field"),
    );
    rows.push(
        row("unknown_key_at_put_root", put.clone(), B)
            .json(json!({"skills": [], "force": true}))
            .invalid()
            .e("/force", "unknown_field"),
    );
    rows.push(
        row("assignments_instead_of_skills_at_put_root", put.clone(), A)
            .json(json!({"assignments": [{"skillId": "{skill}"}]}))
            .invalid()
            .e("/assignments", "unknown_field")
            .hint("did you mean `skills`?"),
    );
    rows.push(
        row("delete_instead_of_remove_at_patch_root", patch.clone(), A)
            .json(json!({"delete": ["{skill}"]}))
            .invalid()
            .e("/delete", "unknown_field")
            .hint("did you mean `remove`?"),
    );
    rows.push(
        row("put_wrapped_without_skills", put.clone(), A)
            .json(json!({}))
            .invalid()
            .e("", "missing_field"),
    );
    rows.push(
        row(
            "unknown_key_in_single_skill_body",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills/{skill2}",
        )
        .json(json!({"proficiency": 50, "notes": "x"}))
        .invalid()
        .e("/notes", "unknown_field"),
    );
    rows.push(
        row(
            "level_alias_in_single_skill_body",
            put.clone(),
            "/api/v2/admin/users/{agent}/skills/{skill2}",
        )
        .json(json!({"level": "Expert"}))
        .invalid()
        .e("/level", "unknown_field")
        .hint("did you mean `proficiency`?"),
    );

    rows.push(
        row(
            "id_in_single_skill_body",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills/{skill2}",
        )
        .json(json!({"id": "{skill2}", "proficiency": 50}))
        .invalid()
        .e("/id", "unknown_field")
        .hint("the skill is named by the path (…/skills/{skill2})"),
    );

    // --- Proficiency: numbers, ranges, level names ---------------------------------------
    for (name, v, code, hint) in [
        (
            "float",
            json!(75.5),
            "invalid_type",
            Some("send a whole number such as 75 or 76"),
        ),
        (
            "float_with_zero_fraction",
            json!(75.0),
            "invalid_type",
            Some("without a fractional part"),
        ),
        (
            "decimal_string",
            json!("75.5"),
            "invalid_type",
            Some("drop the quotes"),
        ),
        ("negative", json!(-1), "out_of_range", None),
        ("above_max", json!(101), "out_of_range", None),
        ("i64_max", json!(i64::MAX), "out_of_range", None),
        ("u64_max", json!(u64::MAX), "out_of_range", None),
        (
            "null",
            json!(null),
            "invalid_type",
            Some("omit proficiency to use the default 50"),
        ),
        ("boolean", json!(true), "invalid_type", None),
        ("object", json!({"value": 5}), "invalid_type", None),
        ("unknown_level", json!("Guru"), "unknown_level", None),
        (
            "near_miss_level",
            json!("Advnced"),
            "unknown_level",
            Some("did you mean `Advanced`?"),
        ),
        (
            "near_miss_level_transposed",
            json!("expret"),
            "unknown_level",
            Some("did you mean `Expert`?"),
        ),
        (
            "level_prefix",
            json!("inter"),
            "unknown_level",
            Some("did you mean `Intermediate`?"),
        ),
    ] {
        let mut r = row(format!("proficiency_{name}"), put.clone(), A)
            .json(json!({"skills": [{"skillId": "{skill}", "proficiency": v}]}))
            .invalid()
            .e("/skills/0/proficiency", code);
        if let Some(h) = hint {
            r = r.hint(h);
        }
        if code == "out_of_range" {
            r = r.with("received", v.clone());
        }
        rows.push(r);
    }
    // Integers beyond i64 and u64 must read as out of range, not as decimals.
    for (name, text) in [
        ("huge_beyond_u64", "99999999999999999999"),
        ("huge_negative_beyond_i64", "-99999999999999999999"),
        ("exponent_integer", "1e20"),
    ] {
        rows.push(
            row(format!("proficiency_{name}"), patch.clone(), B)
                .text(&format!(
                    r#"[{{"skillId": "{{skill}}", "proficiency": {text}}}]"#
                ))
                .invalid()
                .e("/0/proficiency", "out_of_range"),
        );
    }
    rows.push(
        row("proficiency_out_of_range_names_scale", put.clone(), B)
            .json(json!([{"skillId": "{skill}", "proficiency": 190}]))
            .invalid()
            .e("/0/proficiency", "out_of_range")
            .with("received", json!(190))
            .with(
                "expected",
                json!("an integer from 0 to 100, or one of Novice, Intermediate, Advanced, Expert"),
            ),
    );
    // Positive controls: level names in any case are accepted (dry runs: nothing is written).
    rows.push(
        row(
            "level_name_lower_case_is_accepted",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills?dryRun=true",
        )
        .json(json!({"skills": [{"skillId": "{skill}", "proficiency": "advanced"}]}))
        .ok()
        .has("/dryRun", json!(true))
        .has("/version", json!(1))
        .has("/skills/0/proficiency", json!(75))
        .has("/skills/0/level", json!("Advanced")),
    );
    rows.push(
        row(
            "level_name_upper_case_is_accepted",
            patch.clone(),
            "/api/v2/admin/users/{agent}/skills?dryRun=true",
        )
        .json(json!([{"skillId": "{skill2}", "proficiency": "EXPERT"}]))
        .ok()
        .has("/changes/added/0/proficiency", json!(100))
        .has("/changes/added/0/level", json!("Expert")),
    );
    rows.push(
        row(
            "level_name_mixed_case_single_skill_is_accepted",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills/{skill2}?dryRun=true",
        )
        .json(json!({"proficiency": "nOvIcE"}))
        .ok()
        .has("/changes/added/0/proficiency", json!(25)),
    );

    // --- Duplicates, unknown and inactive skills -------------------------------------------
    rows.push(
        row("duplicate_skill_names_first_index", put.clone(), A)
            .json(json!({"skills": [{"skillId": "{skill}"}, {"skillId": "{skill2}"}, {"skillId": "{SKILL}"}]}))
            .invalid()
            .e("/skills/2/skillId", "duplicate_skill")
            .hint("/skills/0/skillId"),
    );
    rows.push(
        row("duplicate_skill_bare_patch", patch.clone(), B)
            .json(json!([{"skillId": "{skill2}", "proficiency": 10}, {"skillId": "{skill2}", "proficiency": 20}]))
            .invalid()
            .e("/1/skillId", "duplicate_skill")
            .hint("/0/skillId"),
    );
    rows.push(
        row("skill_both_set_and_removed", patch.clone(), A)
            .json(json!({"skills": [{"skillId": "{skill}"}], "remove": ["{skill}"]}))
            .invalid()
            .e("/remove/0", "duplicate_skill")
            .hint("/skills/0/skillId"),
    );
    rows.push(
        row("unknown_skill", put.clone(), A)
            .json(json!({"skills": [{"skillId": "{unknown}"}]}))
            .invalid()
            .e("/skills/0/skillId", "unknown_skill")
            .with("received", json!("{unknown}")),
    );
    rows.push(
        row("inactive_skill", patch.clone(), B)
            .json(json!([{"skillId": "{inactive}", "proficiency": 50}]))
            .invalid()
            .e("/0/skillId", "inactive_skill")
            .hint("reactivate it"),
    );
    rows.push(
        row("skill_name_instead_of_id", put.clone(), A)
            .json(json!({"skills": [{"skillId": "billing"}]}))
            .invalid()
            .e("/skills/0/skillId", "invalid_format")
            .hint("`Billing` is a skill name; send its id {skill}"),
    );
    rows.push(
        row(
            "removing_an_inactive_skill_is_accepted",
            patch.clone(),
            "/api/v2/agents/users/{agent}/skills?dryRun=true",
        )
        .json(json!({"remove": ["{inactive}"]}))
        .ok()
        .has("/version", json!(1)),
    );

    // --- Bad UUIDs: body and path -------------------------------------------------------------
    for (name, v, code) in [
        ("not_a_uuid", json!("1234"), "invalid_format"),
        (
            "uuid_without_hyphens",
            json!("0192f0c17a3e7b4c9d2e5f6a7b8c9d0e"),
            "invalid_format",
        ),
        ("number_skill_id", json!(42), "invalid_type"),
        ("null_skill_id", json!(null), "invalid_type"),
    ] {
        rows.push(
            row(format!("skillId_{name}"), put.clone(), B)
                .json(json!([{"skillId": v}]))
                .invalid()
                .e("/0/skillId", code),
        );
    }
    rows.push(
        row(
            "bad_user_id_in_path_put",
            put.clone(),
            "/api/v2/agents/users/not-a-uuid/skills",
        )
        .json(json!({"skills": []}))
        .invalid()
        .e("path:userId", "invalid_format"),
    );
    rows.push(
        row(
            "bad_user_id_in_path_get",
            get.clone(),
            "/api/v2/admin/users/123/skills",
        )
        .invalid()
        .e("path:userId", "invalid_format"),
    );
    rows.push(
        row(
            "bad_user_id_in_agent_path",
            patch.clone(),
            "/api/v2/admin/users/xyz",
        )
        .json(json!({"name": "X"}))
        .invalid()
        .e("path:userId", "invalid_format"),
    );
    rows.push(
        row(
            "bad_skill_id_in_single_skill_path",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills/not-a-uuid",
        )
        .json(json!({"proficiency": 50}))
        .invalid()
        .e("path:skillId", "invalid_format"),
    );
    rows.push(
        row(
            "bad_skill_id_in_delete_path",
            Method::DELETE,
            "/api/v2/admin/users/{agent}/skills/xyz",
        )
        .invalid()
        .e("path:skillId", "invalid_format"),
    );
    rows.push(
        row(
            "bad_skill_id_in_catalog_path",
            patch.clone(),
            "/api/v2/admin/skills/xyz",
        )
        .json(json!({"name": "X"}))
        .invalid()
        .e("path:skillId", "invalid_format"),
    );
    rows.push(
        row(
            "unknown_skill_in_single_skill_path",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills/{unknown}",
        )
        .json(json!({"proficiency": 50}))
        .invalid()
        .e("path:skillId", "unknown_skill"),
    );
    rows.push(
        row(
            "inactive_skill_in_single_skill_path",
            put.clone(),
            "/api/v2/admin/users/{agent}/skills/{inactive}",
        )
        .json(json!({}))
        .invalid()
        .e("path:skillId", "inactive_skill")
        .hint("reactivate it"),
    );
    rows.push(
        row("upper_case_ids_are_accepted", put.clone(), "/api/v2/agents/users/{AGENT}/skills?dryRun=true")
            .json(json!({"skills": [{"skillId": "{SKILL}", "proficiency": 60,
                "effectiveDate": "2020-01-01T00:00:00Z", "expirationDate": "2099-01-01T00:00:00Z"}]}))
            .ok()
            .has("/agentId", json!("{agent}"))
            .has("/version", json!(1))
            .has("/changes/updated", json!([])),
    );
    rows.push(
        row(
            "unknown_agent",
            put.clone(),
            "/api/v2/agents/users/{nobody}/skills",
        )
        .json(json!({"skills": []}))
        .fails(404, "not_found"),
    );
    rows.push(
        row(
            "inactive_agent",
            patch.clone(),
            "/api/v2/admin/users/{agent_inactive}/skills",
        )
        .json(json!({"skills": [{"skillId": "{skill}"}]}))
        .fails(400, "inactive_agent")
        .e("path:userId", "inactive_agent"),
    );

    // --- Dates ------------------------------------------------------------------------------
    for (name, v, code, hint) in [
        (
            "impossible_month",
            json!("2026-13-01T00:00:00Z"),
            "invalid_format",
            None,
        ),
        ("words", json!("next tuesday"), "invalid_format", None),
        (
            "date_only",
            json!("2026-01-01"),
            "invalid_format",
            Some("add a time and offset: 2026-01-01T00:00:00Z"),
        ),
        (
            "space_separated",
            json!("2026-01-01 10:00:00"),
            "invalid_format",
            Some("separate date and time with `T`"),
        ),
        (
            "no_offset",
            json!("2026-01-01T10:00:00"),
            "invalid_format",
            Some("add the offset, e.g. 2026-01-01T10:00:00Z"),
        ),
        ("unix_seconds", json!(1767225600), "invalid_type", None),
    ] {
        let mut r = row(format!("effectiveDate_{name}"), put.clone(), A)
            .json(json!({"skills": [{"skillId": "{skill}", "effectiveDate": v}]}))
            .invalid()
            .e("/skills/0/effectiveDate", code);
        if let Some(h) = hint {
            r = r.hint(h);
        }
        rows.push(r);
    }
    rows.push(
        row("expirationDate_date_only_bare_patch", patch.clone(), B)
            .json(json!([{"skillId": "{skill}", "expirationDate": "2027-06-30"}]))
            .invalid()
            .e("/0/expirationDate", "invalid_format")
            .hint("2027-06-30T00:00:00Z"),
    );
    rows.push(
        row("expiration_before_effective", put.clone(), A)
            .json(json!({"skills": [{"skillId": "{skill}",
                "effectiveDate": "2026-06-01T00:00:00Z", "expirationDate": "2026-05-01T00:00:00Z"}]}))
            .invalid()
            .e("/skills/0/expirationDate", "invalid_date_range"),
    );
    rows.push(
        row("expiration_equal_to_effective", patch.clone(), B)
            .json(json!([{"skillId": "{skill}",
                "effectiveDate": "2026-06-01T00:00:00Z", "expirationDate": "2026-06-01T02:00:00+02:00"}]))
            .invalid()
            .e("/0/expirationDate", "invalid_date_range"),
    );
    rows.push(
        row("expiration_before_effective_single_skill", put.clone(), "/api/v2/agents/users/{agent}/skills/{skill}")
            .json(json!({"expirationDate": "2020-01-01T00:00:00Z", "effectiveDate": "2021-01-01T00:00:00Z"}))
            .invalid()
            .e("/expirationDate", "invalid_date_range"),
    );

    // --- Wrong shapes -----------------------------------------------------------------------
    for (name, text) in [
        ("string", "\"skills\""),
        ("number", "42"),
        ("null", "null"),
        ("true", "true"),
    ] {
        rows.push(
            row(format!("put_root_{name}"), put.clone(), A)
                .text(text)
                .invalid()
                .e("", "invalid_type")
                .hint(r#"{"skills": [{"skillId": "…", "proficiency": 75}]}"#),
        );
    }
    rows.push(
        row("patch_root_null", patch.clone(), B)
            .text("null")
            .invalid()
            .e("", "invalid_type")
            .hint(r#""remove": ["…"]"#),
    );
    rows.push(
        row(
            "single_skill_root_array",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills/{skill}",
        )
        .json(json!([{"proficiency": 50}]))
        .invalid()
        .e("", "invalid_type")
        .hint(r#"{"proficiency": 75"#),
    );
    rows.push(
        row("skills_not_an_array", put.clone(), A)
            .json(json!({"skills": {"skillId": "{skill}"}}))
            .invalid()
            .e("/skills", "invalid_type"),
    );
    rows.push(
        row("assignment_not_an_object", patch.clone(), A)
            .json(json!({"skills": ["{skill}"]}))
            .invalid()
            .e("/skills/0", "invalid_type")
            .hint(r#"{"skillId": "…", "proficiency": 75}"#),
    );
    rows.push(
        row("remove_not_an_array", patch.clone(), B)
            .json(json!({"remove": "{skill}"}))
            .invalid()
            .e("/remove", "invalid_type"),
    );
    rows.push(
        row("remove_with_bad_entries", patch.clone(), A)
            .json(json!({"remove": ["not-a-uuid", 42, "{unknown}", null]}))
            .invalid()
            .e("/remove/0", "invalid_format")
            .e("/remove/1", "invalid_type")
            .e("/remove/2", "unknown_skill")
            .e("/remove/3", "invalid_type"),
    );

    // --- Bodies that are not JSON -----------------------------------------------------------
    rows.push(
        row("empty_body", put.clone(), A)
            .text("")
            .invalid()
            .e("", "invalid_json")
            .hint("send a JSON body"),
    );
    rows.push(
        row("whitespace_body", post.clone(), SKILLS)
            .text("  \n\t ")
            .invalid()
            .e("", "invalid_json"),
    );
    rows.push(
        row("trailing_comma_line_and_column", put.clone(), B)
            .text("{\n  \"skills\": [1,]\n}")
            .invalid()
            .e("", "invalid_json")
            .with("line", json!(2))
            .with("column", json!(16)),
    );
    rows.push(
        row("single_quotes", patch.clone(), A)
            .text("{'skills': []}")
            .invalid()
            .e("", "invalid_json")
            .hint("double quotes")
            .with("line", json!(1))
            .with("column", json!(2)),
    );
    rows.push(
        row("truncated_json", put.clone(), A)
            .text("{\"skills\": [")
            .invalid()
            .e("", "invalid_json")
            .with("line", json!(1))
            .with("column", json!(12)),
    );
    rows.push(
        row("trailing_garbage", patch.clone(), SETTINGS)
            .text("{}\n\n  x")
            .invalid()
            .e("", "invalid_json")
            .with("line", json!(3))
            .with("column", json!(3)),
    );
    rows.push(
        row("invalid_utf8", put.clone(), A)
            .bytes(b"[\"\xff\xfe\"]")
            .invalid()
            .e("", "invalid_json")
            .with("line", json!(1)),
    );

    // --- Content types -----------------------------------------------------------------
    for (name, ct) in [
        ("text_plain", Some("text/plain")),
        ("none", None),
        ("xml", Some("application/xml")),
        ("form", Some("application/x-www-form-urlencoded")),
    ] {
        rows.push(
            row(format!("content_type_{name}"), put.clone(), A)
                .json(json!({"skills": []}))
                .ctype(ct)
                .fails(415, "unsupported_media_type")
                .e("header:Content-Type", "invalid_format"),
        );
    }
    rows.push(
        row("content_type_none_on_skill_create", post.clone(), SKILLS)
            .json(json!({"name": "Nope"}))
            .ctype(None)
            .fails(415, "unsupported_media_type")
            .e("header:Content-Type", "invalid_format"),
    );
    rows.push(
        row(
            "content_type_with_charset_is_accepted",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills?dryRun=true",
        )
        .json(json!({"skills": []}))
        .ctype(Some("application/json; charset=utf-8"))
        .ok()
        .has("/dryRun", json!(true))
        .has("/skills", json!([])),
    );

    // --- Query parameters -------------------------------------------------------------------
    rows.push(
        row(
            "unknown_query_parameter_on_write",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills?force=1",
        )
        .json(json!({"skills": []}))
        .invalid()
        .e("query:force", "unknown_field"),
    );
    rows.push(
        row(
            "snake_case_dry_run",
            patch.clone(),
            "/api/v2/admin/users/{agent}/skills?dry_run=true",
        )
        .json(json!({"skills": []}))
        .invalid()
        .e("query:dry_run", "unknown_field")
        .hint("did you mean `dryRun`?"),
    );
    rows.push(
        row(
            "dryRun_maybe",
            put.clone(),
            "/api/v2/agents/users/{agent}/skills?dryRun=maybe",
        )
        .json(json!({"skills": []}))
        .invalid()
        .e("query:dryRun", "invalid_type"),
    );
    rows.push(
        row("limit_zero", get.clone(), "/api/v2/admin/skills?limit=0")
            .invalid()
            .e("query:limit", "out_of_range"),
    );
    rows.push(
        row("limit_abc", get.clone(), "/api/v2/admin/users?limit=abc")
            .invalid()
            .e("query:limit", "invalid_type"),
    );
    rows.push(
        row(
            "limit_too_big",
            get.clone(),
            "/api/v2/admin/users?limit=1001",
        )
        .invalid()
        .e("query:limit", "out_of_range"),
    );
    rows.push(
        row(
            "limit_zero_on_history",
            get.clone(),
            "/api/v2/agents/users/{agent}/skills/history?limit=0",
        )
        .invalid()
        .e("query:limit", "out_of_range"),
    );
    rows.push(
        row(
            "bad_cursor",
            get.clone(),
            "/api/v2/admin/skills?cursor=not-a-cursor",
        )
        .invalid()
        .e("query:cursor", "invalid_format")
        .hint("nextCursor"),
    );
    rows.push(
        row("active_yes", get.clone(), "/api/v2/admin/users?active=yes")
            .invalid()
            .e("query:active", "invalid_type"),
    );
    rows.push(
        row(
            "query_parameter_on_a_route_without_any",
            get.clone(),
            "/api/v2/agents/users/{agent}/skills?limit=5",
        )
        .invalid()
        .e("query:limit", "unknown_field"),
    );
    rows.push(
        row(
            "several_query_problems_in_order",
            get.clone(),
            "/api/v2/admin/skills?limit=0&colour=red&active=perhaps",
        )
        .invalid()
        .e("query:limit", "out_of_range")
        .e("query:colour", "unknown_field")
        .e("query:active", "invalid_type"),
    );

    // --- If-Match ----------------------------------------------------------------------
    rows.push(
        row("if_match_unquoted", put.clone(), A)
            .json(json!({"skills": []}))
            .header("If-Match", "1")
            .invalid()
            .e("header:If-Match", "invalid_format")
            .hint("quote it"),
    );
    rows.push(
        row("if_match_not_a_version", patch.clone(), B)
            .json(json!({"skills": []}))
            .header("If-Match", "\"abc\"")
            .invalid()
            .e("header:If-Match", "invalid_format"),
    );
    rows.push(
        row("if_match_stale", put.clone(), A)
            .json(json!({"skills": []}))
            .header("If-Match", "\"99\"")
            .fails(412, "precondition_failed")
            .e("header:If-Match", "precondition_failed")
            .resp_header("etag", "\"1\""),
    );

    // --- Organization settings ----------------------------------------------------------
    rows.push(
        row("settings_unknown_in_scale", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"foo": 1}}))
            .invalid()
            .e("/proficiencyScale/foo", "unknown_field"),
    );
    rows.push(
        row("settings_unknown_in_limits", patch.clone(), SETTINGS)
            .json(json!({"limits": {"foo": 1}}))
            .invalid()
            .e("/limits/foo", "unknown_field"),
    );
    rows.push(
        row("settings_rpm_alias", patch.clone(), SETTINGS)
            .json(json!({"rateLimit": {"rpm": 5}}))
            .invalid()
            .e("/rateLimit/rpm", "unknown_field")
            .hint("did you mean `requestsPerMinute`?"),
    );
    rows.push(
        row("settings_unknown_root_near_miss", patch.clone(), SETTINGS)
            .json(json!({"requireIfmatch": true}))
            .invalid()
            .e("/requireIfmatch", "unknown_field")
            .hint("did you mean `requireIfMatch`?"),
    );
    rows.push(
        row("settings_min_equal_max", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"min": 10, "max": 10}}))
            .invalid()
            .e("/proficiencyScale/max", "out_of_range"),
    );
    rows.push(
        row("settings_max_below_min", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"min": 50, "max": 40}}))
            .invalid()
            .e("/proficiencyScale/max", "out_of_range"),
    );
    rows.push(
        row("settings_default_out_of_range", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"default": 150}}))
            .invalid()
            .e("/proficiencyScale/default", "out_of_range")
            .with("received", json!(150)),
    );
    rows.push(
        row("settings_numeric_level_name", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"levels": {"42": 60}}}))
            .invalid()
            .e("/proficiencyScale/levels/42", "invalid_format"),
    );
    rows.push(
        row("settings_level_name_with_spaces", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"levels": {" Guru": 90}}}))
            .invalid()
            .e("/proficiencyScale/levels/ Guru", "invalid_format"),
    );
    rows.push(
        row(
            "settings_level_value_outside_scale",
            patch.clone(),
            SETTINGS,
        )
        .json(json!({"proficiencyScale": {"levels": {"Guru": 150}}}))
        .invalid()
        .e("/proficiencyScale/levels/Guru", "out_of_range"),
    );
    rows.push(
        row("settings_level_value_as_string", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"levels": {"Guru": "90"}}}))
            .invalid()
            .e("/proficiencyScale/levels/Guru", "invalid_type")
            .hint("drop the quotes"),
    );
    rows.push(
        row(
            "settings_level_name_differs_only_in_case",
            patch.clone(),
            SETTINGS,
        )
        .json(json!({"proficiencyScale": {"levels": {"expert": 90}}}))
        .invalid()
        .e("/proficiencyScale/levels/expert", "invalid_format")
        .hint("differ only in case"),
    );
    rows.push(
        row("settings_new_level_reuses_a_value", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"levels": {"Guru": 75}}}))
            .invalid()
            .e("/proficiencyScale/levels/Guru", "invalid_format")
            .detail("`Advanced`"),
    );
    rows.push(
        row(
            "settings_changed_level_reuses_a_value",
            patch.clone(),
            SETTINGS,
        )
        .json(json!({"proficiencyScale": {"levels": {"Advanced": 100}}}))
        .invalid()
        .e("/proficiencyScale/levels/Advanced", "invalid_format"),
    );
    rows.push(
        row("settings_boolean_as_string", patch.clone(), SETTINGS)
            .json(json!({"requireIfMatch": "true"}))
            .invalid()
            .e("/requireIfMatch", "invalid_type")
            .hint("drop the quotes"),
    );
    rows.push(
        row("settings_limits_not_an_object", patch.clone(), SETTINGS)
            .json(json!({"limits": 5}))
            .invalid()
            .e("/limits", "invalid_type"),
    );
    rows.push(
        row("settings_limit_zero", patch.clone(), SETTINGS)
            .json(json!({"limits": {"maxSkillsPerAgent": 0}}))
            .invalid()
            .e("/limits/maxSkillsPerAgent", "out_of_range"),
    );
    rows.push(
        row("settings_body_limit_too_small", patch.clone(), SETTINGS)
            .json(json!({"limits": {"maxBodyBytes": 10}}))
            .invalid()
            .e("/limits/maxBodyBytes", "out_of_range"),
    );
    rows.push(
        row("settings_root_array", patch.clone(), SETTINGS)
            .json(json!([]))
            .invalid()
            .e("", "invalid_type")
            .hint(r#"{"requireIfMatch": true}"#),
    );
    rows.push(
        row(
            "settings_scale_would_strand_assignments",
            patch.clone(),
            SETTINGS,
        )
        .json(json!({"proficiencyScale": {"min": 61, "default": 70,
                "levels": {"Novice": null, "Intermediate": null}}}))
        .invalid()
        .e("/proficiencyScale/min", "out_of_range")
        .detail("1 stored assignment"),
    );

    // --- Skill catalog -------------------------------------------------------------------
    rows.push(
        row(
            "skill_create_duplicate_name_in_other_case",
            post.clone(),
            SKILLS,
        )
        .json(json!({"name": "BILLING"}))
        .fails(409, "conflict")
        .e("/name", "*"),
    );
    rows.push(
        row(
            "skill_patch_to_a_taken_name",
            patch.clone(),
            "/api/v2/admin/skills/{skill2}",
        )
        .json(json!({"name": "billing"}))
        .fails(409, "conflict")
        .e("/name", "*"),
    );
    rows.push(
        row(
            "agent_create_duplicate_email_in_other_case",
            post.clone(),
            USERS,
        )
        .json(json!({"email": "ANA@example.com", "name": "Ana 2"}))
        .fails(409, "conflict")
        .e("/email", "*"),
    );
    rows.push(
        row("skill_create_missing_name", post.clone(), SKILLS)
            .json(json!({}))
            .invalid()
            .e("", "missing_field"),
    );
    rows.push(
        row("skill_create_empty_name", post.clone(), SKILLS)
            .json(json!({"name": ""}))
            .invalid()
            .e("/name", "out_of_range"),
    );
    rows.push(
        row("skill_create_blank_name", post.clone(), SKILLS)
            .json(json!({"name": "   "}))
            .invalid()
            .e("/name", "out_of_range"),
    );
    rows.push(
        row("skill_create_name_too_long", post.clone(), SKILLS)
            .json(json!({"name": "x".repeat(201)}))
            .invalid()
            .e("/name", "out_of_range"),
    );
    rows.push(
        row("skill_create_name_wrong_type", post.clone(), SKILLS)
            .json(json!({"name": 42}))
            .invalid()
            .e("/name", "invalid_type"),
    );
    rows.push(
        row("skill_create_unknown_field", post.clone(), SKILLS)
            .json(json!({"name": "Chat", "colour": "red"}))
            .invalid()
            .e("/colour", "unknown_field"),
    );
    rows.push(
        row("skill_create_title_alias", post.clone(), SKILLS)
            .json(json!({"title": "Chat"}))
            .invalid()
            .e("/title", "unknown_field")
            .hint("did you mean `name`?"),
    );
    rows.push(
        row("skill_create_root_string", post.clone(), SKILLS)
            .json(json!("Chat"))
            .invalid()
            .e("", "invalid_type")
            .hint(r#"{"name": "Billing""#),
    );
    rows.push(
        row(
            "skill_patch_active_as_string",
            patch.clone(),
            "/api/v2/admin/skills/{skill2}",
        )
        .json(json!({"active": "false"}))
        .invalid()
        .e("/active", "invalid_type")
        .hint("drop the quotes"),
    );
    rows.push(
        row(
            "skill_patch_enabled_alias",
            patch.clone(),
            "/api/v2/admin/skills/{skill2}",
        )
        .json(json!({"enabled": false}))
        .invalid()
        .e("/enabled", "unknown_field")
        .hint("did you mean `active`?"),
    );
    rows.push(
        row(
            "skill_patch_name_null",
            patch.clone(),
            "/api/v2/admin/skills/{skill2}",
        )
        .json(json!({"name": null}))
        .invalid()
        .e("/name", "invalid_type"),
    );

    // --- Agents ------------------------------------------------------------------------------
    rows.push(
        row("agent_create_missing_fields", post.clone(), USERS)
            .json(json!({}))
            .invalid()
            .e("", "missing_field")
            .detail("email")
            .e("", "missing_field")
            .detail("name"),
    );
    rows.push(
        row("agent_create_missing_name", post.clone(), USERS)
            .json(json!({"email": "bo@example.com"}))
            .invalid()
            .e("", "missing_field")
            .detail("name"),
    );
    rows.push(
        row("agent_create_bad_email", post.clone(), USERS)
            .json(json!({"email": "not-an-email", "name": "Bo"}))
            .invalid()
            .e("/email", "invalid_format"),
    );
    rows.push(
        row("agent_create_email_with_space", post.clone(), USERS)
            .json(json!({"email": "bo x@example.com", "name": "Bo"}))
            .invalid()
            .e("/email", "invalid_format"),
    );
    rows.push(
        row("agent_create_mail_alias", post.clone(), USERS)
            .json(json!({"mail": "bo@example.com", "name": "Bo"}))
            .invalid()
            .e("/mail", "unknown_field")
            .hint("did you mean `email`?"),
    );
    rows.push(
        row("agent_create_root_array", post.clone(), USERS)
            .json(json!([{"email": "bo@example.com", "name": "Bo"}]))
            .invalid()
            .e("", "invalid_type")
            .hint(r#"{"email": "ana@example.com""#),
    );
    rows.push(
        row(
            "agent_patch_active_number",
            patch.clone(),
            "/api/v2/admin/users/{agent}",
        )
        .json(json!({"active": 1}))
        .invalid()
        .e("/active", "invalid_type"),
    );
    rows.push(
        row(
            "agent_patch_unknown_field",
            patch.clone(),
            "/api/v2/admin/users/{agent}",
        )
        .json(json!({"nickname": "Ana"}))
        .invalid()
        .e("/nickname", "unknown_field"),
    );

    // --- Several problems at once, in body order ---------------------------------------------
    rows.push(
        row("readme_example_three_problems", put.clone(), A)
            .json(json!({"skills": [
                {"id": "{skill}", "proficiency": 50},
                {"skillId": "{skill2}", "proficiency": 190},
                {"skillId": "{skill}", "effectiveDate": "2026-01-01"}]}))
            .invalid()
            .e("/skills/0/id", "unknown_field")
            .hint("did you mean `skillId`?")
            .e("/skills/1/proficiency", "out_of_range")
            .with("received", json!(190))
            .e("/skills/2/effectiveDate", "invalid_format")
            .hint("T00:00:00Z"),
    );
    rows.push(
        row("one_assignment_four_problems_in_key_order", put.clone(), B)
            .json(json!([{"proficiency": "Guru", "skillId": "nope",
                "effectiveDate": "yesterday", "extra": 1}]))
            .invalid()
            .e("/0/proficiency", "unknown_level")
            .e("/0/skillId", "invalid_format")
            .e("/0/effectiveDate", "invalid_format")
            .e("/0/extra", "unknown_field"),
    );
    rows.push(
        row("patch_remove_before_skills_problems", patch.clone(), A)
            .json(json!({"remove": ["nope", "{unknown}"],
                "skills": [{"skillId": "{inactive}"}, {"skillId": "{skill}", "proficiency": "Expertt"}]}))
            .invalid()
            .e("/remove/0", "invalid_format")
            .e("/remove/1", "unknown_skill")
            .e("/skills/0/skillId", "inactive_skill")
            .e("/skills/1/proficiency", "unknown_level")
            .hint("did you mean `Expert`?"),
    );
    rows.push(
        row("bare_array_range_duplicate_missing", put.clone(), B)
            .json(json!([{"skillId": "{skill}", "proficiency": -5},
                {"skillId": "{skill}"}, {"proficiency": 50}]))
            .invalid()
            .e("/0/proficiency", "out_of_range")
            .e("/1/skillId", "duplicate_skill")
            .hint("/0/skillId")
            .e("/2", "missing_field"),
    );
    rows.push(
        row("settings_four_problems", patch.clone(), SETTINGS)
            .json(json!({"proficiencyScale": {"min": "0", "bogus": 1},
                "limits": {"maxItemsPerBulk": -5}, "requireIfMatch": null}))
            .invalid()
            .e("/proficiencyScale/min", "invalid_type")
            .hint("drop the quotes")
            .e("/proficiencyScale/bogus", "unknown_field")
            .e("/limits/maxItemsPerBulk", "out_of_range")
            .e("/requireIfMatch", "invalid_type"),
    );
    rows.push(
        row("agent_create_three_problems", post.clone(), USERS)
            .json(json!({"email": 5, "name": "", "foo": true}))
            .invalid()
            .e("/email", "invalid_type")
            .e("/name", "out_of_range")
            .e("/foo", "unknown_field"),
    );
    rows.push(
        row("single_skill_body_three_problems", put.clone(), "/api/v2/agents/users/{agent}/skills/{skill2}")
            .json(json!({"proficiency": "12", "effectiveDate": "2026-02-30T00:00:00Z", "skillId": "{skill2}"}))
            .invalid()
            .e("/proficiency", "invalid_type")
            .hint("drop the quotes")
            .e("/effectiveDate", "invalid_format")
            .e("/skillId", "unknown_field")
            .hint("the skill is named by the path (…/skills/{skill2})"),
    );

    // --- Routes and methods ----------------------------------------------------------------------
    rows.push(
        row("method_not_allowed", post.clone(), A)
            .json(json!({"skills": []}))
            .fails(405, "method_not_allowed")
            .resp_header("allow", "PUT"),
    );
    rows
}

#[tokio::test]
async fn every_bad_request_is_reported_exactly_and_changes_nothing() {
    let app = spawn_app().await;
    let fx = fixtures(&app).await;
    let rows = rows();
    assert!(rows.len() >= 70, "only {} rows", rows.len());
    let start = app.snapshot(fx.agent).await;
    run_table(&app, &fx, &rows).await;
    // Nothing in the whole table was written.
    assert_eq!(app.snapshot(fx.agent).await, start);
    assert_eq!(start.0["version"], 1);
}

/// `limits.maxBodyBytes` and `limits.maxSkillsPerAgent` lowered in an app of their own.
#[tokio::test]
async fn bodies_and_sets_over_the_organization_limits() {
    let app = spawn_app().await;
    let fx = fixtures(&app).await;
    let third = app.create_skill("Chat").await;
    let r = app
        .patch(
            SETTINGS,
            &json!({"limits": {"maxBodyBytes": 1024, "maxSkillsPerAgent": 2}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["limits"]["maxBodyBytes"], 1024);

    /// Valid JSON of exactly `n` bytes (`{"skills": []}` and spaces).
    fn padded(n: usize) -> String {
        let s = r#"{"skills": []}"#;
        format!("{s}{}", " ".repeat(n - s.len()))
    }
    let t = third.to_string();
    let rows = vec![
        row("body_one_byte_over_the_limit", Method::PUT, A)
            .text(&padded(1025))
            .fails(413, "payload_too_large"),
        row("body_far_over_the_limit", Method::PATCH, B)
            .text(&padded(64 * 1024))
            .fails(413, "payload_too_large"),
        row("body_exactly_at_the_limit_is_accepted", Method::PUT, "/api/v2/agents/users/{agent}/skills?dryRun=true")
            .text(&padded(1024))
            .ok()
            .has("/dryRun", json!(true)),
        row("skill_create_over_the_limit", Method::POST, SKILLS)
            .json(json!({"name": "x", "description": "d".repeat(2000)}))
            .fails(413, "payload_too_large"),
        row("agent_create_over_the_limit", Method::POST, USERS)
            .json(json!({"email": "big@example.com", "name": "n".repeat(1100)}))
            .fails(413, "payload_too_large"),
        row("settings_patch_over_the_limit", Method::PATCH, SETTINGS)
            .text(&format!(r#"{{"limits": {{"maxBodyBytes": 33554432}}}}{}"#, " ".repeat(1100)))
            .fails(413, "payload_too_large"),
        row("invalid_json_over_the_limit_is_413", Method::PUT, A)
            .text(&"[".repeat(1500))
            .fails(413, "payload_too_large"),
        row("wrong_content_type_is_checked_before_size", Method::PUT, A)
            .text(&padded(2000))
            .ctype(Some("text/plain"))
            .fails(415, "unsupported_media_type")
            .e("header:Content-Type", "invalid_format"),
        row("too_many_skills_wrapped", Method::PUT, A)
            .json(json!({"skills": [{"skillId": "{skill}"}, {"skillId": "{skill2}"}, {"skillId": t}]}))
            .invalid()
            .e("/skills", "too_many_items"),
        row("too_many_skills_bare", Method::PUT, B)
            .json(json!([{"skillId": "{skill}"}, {"skillId": "{skill2}"}, {"skillId": t}]))
            .invalid()
            .e("", "too_many_items"),
    ];
    run_table(&app, &fx, &rows).await;

    // `requireIfMatch` on: a write without If-Match is refused before its body is read.
    let r = app.patch(SETTINGS, &json!({"requireIfMatch": true})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rows = vec![
        row("if_match_required_but_missing", Method::PUT, A)
            .json(json!({"skills": []}))
            .fails(428, "precondition_required")
            .e("header:If-Match", "missing_field"),
        row("if_match_required_and_bad_body", Method::PATCH, B)
            .json(json!({"skills": "nope"}))
            .fails(428, "precondition_required")
            .e("header:If-Match", "missing_field"),
        row(
            "if_match_star_satisfies_the_requirement",
            Method::PUT,
            "/api/v2/agents/users/{agent}/skills?dryRun=true",
        )
        .json(json!({"skills": []}))
        .header("If-Match", "*")
        .ok()
        .has("/skills", json!([])),
        row(
            "if_match_required_single_skill_delete",
            Method::DELETE,
            "/api/v2/admin/users/{agent}/skills/{skill}",
        )
        .fails(428, "precondition_required")
        .e("header:If-Match", "missing_field"),
    ];
    run_table(&app, &fx, &rows).await;
}
