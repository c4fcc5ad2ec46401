//! A token sees and writes nothing of another organization; such ids answer
//! exactly as ids that do not exist.

use crate::helpers::{assert_problem, spawn_app, Resp, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const BASES: [&str; 2] = ["/api/v2/agents/users", "/api/v2/admin/users"];

/// Org 1 (the app's own): a skill held by an agent, some history, changed settings.
struct World {
    app: TestApp,
    skill: Uuid,
    agent: Uuid,
    /// A token with every scope in a second organization.
    other: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"rateLimit": {"requestsPerMinute": 100000, "burst": 10000},
                    "limits": {"maxSkillsPerAgent": 50}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let r = app
        .put(
            &format!("/api/v2/agents/users/{agent}/skills"),
            &json!([{"skillId": skill, "proficiency": 90}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, other) = app.other_org("acme").await;
    let r = app
        .call(
            Method::PATCH,
            "/api/v2/organizations/settings",
            Some(&other),
            Some(&json!({"rateLimit": {"requestsPerMinute": 100000, "burst": 10000}})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    World {
        app,
        skill,
        agent,
        other,
    }
}

/// Everything org 1 has: settings, catalog, agents, the agent's skills and history.
async fn org1_state(w: &World) -> Vec<Value> {
    let app = &w.app;
    let (skills, history) = app.snapshot(w.agent).await;
    vec![
        app.get("/api/v2/organizations/settings").await.body,
        app.get("/api/v2/admin/skills").await.body,
        app.get("/api/v2/admin/users").await.body,
        skills,
        history,
    ]
}

/// The parts of a problem that do not depend on the request: status, code, detail, entries.
fn shape(r: &Resp) -> (u16, Value, Value, Vec<(String, String)>) {
    (
        r.status,
        r.body["code"].clone(),
        r.body["detail"].clone(),
        r.entries(),
    )
}

async fn as_other(w: &World, m: Method, path: &str, body: Option<&Value>) -> Resp {
    w.app.call(m, path, Some(&w.other), body, &[]).await
}

/// Each route that names an agent or a skill by id, with a body where it takes one.
fn id_routes(agent: Uuid, skill: Uuid) -> Vec<(Method, String, Option<Value>)> {
    let mut v = vec![
        (Method::GET, format!("/api/v2/admin/skills/{skill}"), None),
        (
            Method::PATCH,
            format!("/api/v2/admin/skills/{skill}"),
            Some(json!({"name": "Stolen", "active": false})),
        ),
        (
            Method::DELETE,
            format!("/api/v2/admin/skills/{skill}"),
            None,
        ),
        (Method::GET, format!("/api/v2/admin/users/{agent}"), None),
        (
            Method::PATCH,
            format!("/api/v2/admin/users/{agent}"),
            Some(json!({"active": false})),
        ),
    ];
    for base in BASES {
        let p = format!("{base}/{agent}/skills");
        v.push((Method::GET, p.clone(), None));
        v.push((Method::PUT, p.clone(), Some(json!({"skills": []}))));
        v.push((Method::PATCH, p.clone(), Some(json!({"remove": []}))));
        v.push((Method::GET, format!("{p}/history"), None));
        v.push((
            Method::PUT,
            format!("{p}/{skill}"),
            Some(json!({"proficiency": 1})),
        ));
        v.push((Method::DELETE, format!("{p}/{skill}"), None));
    }
    v
}

#[tokio::test]
async fn every_id_of_another_org_answers_as_a_missing_one() {
    let w = world().await;
    let before = org1_state(&w).await;
    let missing = Uuid::now_v7();

    // Each route with an id, once with org 1's id and once with one that exists nowhere.
    let foreign = id_routes(w.agent, w.skill);
    let nowhere = id_routes(missing, missing);
    assert_eq!(foreign.len(), 17);
    for ((m, path, body), (_, miss_path, _)) in foreign.iter().zip(&nowhere) {
        let r = as_other(&w, m.clone(), path, body.as_ref()).await;
        assert_problem(&r, 404, "not_found");
        let miss = as_other(&w, m.clone(), miss_path, body.as_ref()).await;
        assert_eq!(shape(&r), shape(&miss), "{m} {path}");
        // With dryRun and If-Match too: still nothing but 404.
        if *m != Method::GET
            && path.contains("/skills")
            && !path.starts_with("/api/v2/admin/skills")
        {
            let r = w
                .app
                .call(
                    m.clone(),
                    &format!("{path}?dryRun=true"),
                    Some(&w.other),
                    body.as_ref(),
                    &[("if-match", "\"1\"")],
                )
                .await;
            assert_problem(&r, 404, "not_found");
        }
    }
    // Upper-case spellings of the same ids change nothing.
    let up = w.agent.to_string().to_uppercase();
    let r = as_other(&w, Method::GET, &format!("/api/v2/admin/users/{up}"), None).await;
    assert_problem(&r, 404, "not_found");

    assert_eq!(org1_state(&w).await, before, "org 1 is untouched");
    // And org 1's own token still sees everything.
    assert_eq!(
        w.app.skills_of(w.agent).await["skills"][0]["skillId"],
        w.skill.to_string()
    );
}

#[tokio::test]
async fn another_orgs_skill_ids_are_unknown_skills_in_its_own_agents() {
    let w = world().await;
    let before = org1_state(&w).await;
    let r = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/users",
        Some(&json!({"email": "bob@acme.example", "name": "Bob"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mine: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let missing = Uuid::now_v7();
    for base in BASES {
        let p = format!("{base}/{mine}/skills");
        type Case = (Method, String, Option<Value>);
        let cases = |s: Uuid| -> Vec<(Case, Option<(&str, &str)>)> {
            vec![
                (
                    (Method::PUT, p.clone(), Some(json!([{"skillId": s}]))),
                    Some(("pointer:/0/skillId", "unknown_skill")),
                ),
                (
                    (Method::PATCH, p.clone(), Some(json!({"remove": [s]}))),
                    Some(("pointer:/remove/0", "unknown_skill")),
                ),
                (
                    (Method::PUT, format!("{p}/{s}"), Some(json!({}))),
                    Some(("path:skillId", "unknown_skill")),
                ),
                ((Method::DELETE, format!("{p}/{s}"), None), None),
            ]
        };
        for (((m, path, body), want), ((_, miss_path, miss_body), _)) in
            cases(w.skill).into_iter().zip(cases(missing))
        {
            let r = as_other(&w, m.clone(), &path, body.as_ref()).await;
            let miss = as_other(&w, m.clone(), &miss_path, miss_body.as_ref()).await;
            match want {
                Some((loc, code)) => {
                    assert_problem(&r, 400, "validation_failed");
                    assert_eq!(
                        r.entries(),
                        [(loc.to_string(), code.to_string())],
                        "{m} {path}"
                    );
                }
                None => assert_problem(&r, 404, "not_found"),
            }
            assert_eq!(
                (r.status, r.body["code"].clone(), r.entries()),
                (miss.status, miss.body["code"].clone(), miss.entries()),
                "{m} {path}"
            );
        }
    }
    assert_eq!(org1_state(&w).await, before, "org 1 is untouched");
}

#[tokio::test]
async fn lists_never_show_another_orgs_rows() {
    let w = world().await;
    for path in [
        "/api/v2/admin/skills",
        "/api/v2/admin/skills?name=billing",
        "/api/v2/admin/skills?active=true&limit=1000",
        "/api/v2/admin/users",
        "/api/v2/admin/users?email=ana@example.com",
        "/api/v2/admin/users?active=true",
    ] {
        let r = as_other(&w, Method::GET, path, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, json!({"items": [], "nextCursor": null}), "{path}");
    }
    // Org 1's cursor, used by org 2, does not reveal org 1's rows either.
    w.app.create_skill("Sales").await;
    let page = w.app.get("/api/v2/admin/skills?limit=1").await;
    let cursor = page.body["nextCursor"].as_str().unwrap().to_string();
    let r = as_other(
        &w,
        Method::GET,
        &format!("/api/v2/admin/skills?limit=1&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"], json!([]));
    // Org 2's own rows are all it sees.
    let r = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/skills",
        Some(&json!({"name": "Acme only"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = as_other(&w, Method::GET, "/api/v2/admin/skills", None).await;
    let names: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme only"]);
}

#[tokio::test]
async fn the_export_holds_only_the_callers_organization() {
    let w = world().await;
    // Org 2's own last event, never org 1's.
    let feed = as_other(&w, Method::GET, "/api/v2/events?limit=1000", None).await;
    let own = feed.body["items"].as_array().unwrap().len().to_string();
    for path in [
        "/api/v2/agents/skills/export",
        "/api/v2/agents/skills/export?format=ndjson",
        "/api/v2/agents/skills/export?active=true",
    ] {
        // Org 2 has no assignments: a header row, or nothing at all.
        let r = as_other(&w, Method::GET, path, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(!r.text.contains("ana@example.com"), "{path}: {}", r.text);
        assert!(r.text.lines().count() <= 1, "{path}: {}", r.text);
        assert_eq!(r.header("skillgrid-event-sequence"), Some(&*own), "{path}");
    }
    // Org 1's own export holds its assignment.
    let r = w.app.get("/api/v2/agents/skills/export").await;
    assert_eq!(r.text.lines().count(), 2, "{}", r.text);
    assert!(r.text.contains("ana@example.com"), "{}", r.text);
    // And org 2's own assignments are all it sees.
    let mine = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/users",
        Some(&json!({"email": "bob@acme.example", "name": "Bob"})),
    )
    .await;
    let skill = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/skills",
        Some(&json!({"name": "Acme only"})),
    )
    .await;
    let r = as_other(
        &w,
        Method::PUT,
        &format!(
            "/api/v2/agents/users/{}/skills",
            mine.body["id"].as_str().unwrap()
        ),
        Some(&json!([{"skillId": skill.body["id"], "proficiency": 5}])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = as_other(&w, Method::GET, "/api/v2/agents/skills/export", None).await;
    let rows: Vec<&str> = r.text.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{}", r.text);
    assert!(rows[0].contains("bob@acme.example,") && rows[0].contains(",Acme only,5,"));
}

#[tokio::test]
async fn writes_of_another_org_change_nothing_here() {
    let w = world().await;
    let before = org1_state(&w).await;

    // Same names and emails are free in another organization.
    let r = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/skills",
        Some(&json!({"name": "BILLING"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let their_skill = r.body["id"].as_str().unwrap().to_string();
    let r = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/users",
        Some(&json!({"email": "ANA@example.com", "name": "Other Ana"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let their_agent = r.body["id"].as_str().unwrap().to_string();
    // Their bulk upsert matches emails among their agents only: org 1's Ana is not touched.
    let r = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/users/bulk",
        Some(&json!({"agents": [
            {"email": "ana@EXAMPLE.com", "name": "Bulk Ana", "active": false},
            {"email": "bo@example.com", "name": "Bo"}]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][0]["outcome"], "updated", "{}", r.text);
    assert_eq!(r.body["results"][0]["agent"]["id"], their_agent.as_str());
    assert_eq!(r.body["results"][1]["outcome"], "created", "{}", r.text);
    let r = as_other(
        &w,
        Method::PATCH,
        &format!("/api/v2/admin/users/{their_agent}"),
        Some(&json!({"active": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = as_other(
        &w,
        Method::PUT,
        &format!("/api/v2/agents/users/{their_agent}/skills"),
        Some(&json!([{"skillId": their_skill, "proficiency": 10}])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["version"], 1);

    // Their settings are their own: org 1 holds a 90, which does not stop a lower max there.
    let r = as_other(
        &w,
        Method::PATCH,
        "/api/v2/organizations/settings",
        Some(&json!({"requireIfMatch": true,
                     "proficiencyScale": {"max": 80, "levels": {"Expert": 80}}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let theirs = as_other(&w, Method::GET, "/api/v2/organizations/settings", None).await;
    assert_eq!(theirs.body["requireIfMatch"], true);
    assert_eq!(theirs.body["proficiencyScale"]["max"], 80);

    assert_eq!(org1_state(&w).await, before, "org 1 is untouched");
    // And org 1's writes are not bound by org 2's settings.
    let r = w
        .app
        .put(
            &format!("/api/v2/agents/users/{}/skills", w.agent),
            &json!([{"skillId": w.skill, "proficiency": 100}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Their org-1-sized stranding check counts only their own assignments.
    let r = w
        .app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"proficiencyScale": {"min": 20}}),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "org 2's proficiency 10 is not org 1's: {}",
        r.text
    );
    // The history of org 2's agent is only its own.
    let h = as_other(
        &w,
        Method::GET,
        &format!("/api/v2/agents/users/{their_agent}/skills/history"),
        None,
    )
    .await;
    assert_eq!(h.body["items"].as_array().unwrap().len(), 1, "{}", h.text);

    // An Idempotency-Key of one organization's bulk upsert is not the other's.
    let key = [("Idempotency-Key", "same-key")];
    let ours = json!({"agents": [{"email": "ours@example.com", "name": "Ours"}]});
    let theirs = json!({"agents": [{"email": "theirs@example.com", "name": "Theirs"}]});
    for (token, body) in [(&w.app.token, &ours), (&w.other, &theirs)] {
        let r = w
            .app
            .call(
                Method::POST,
                "/api/v2/admin/users/bulk",
                Some(token),
                Some(body),
                &key,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("idempotency-replayed"), None);
        assert_eq!(r.body["results"][0]["outcome"], "created", "{}", r.text);
    }
    let mine = w
        .app
        .get("/api/v2/admin/users?email=theirs@example.com")
        .await;
    assert_eq!(mine.body["items"], json!([]), "{}", mine.text);
}

#[tokio::test]
async fn another_orgs_api_clients_answer_as_missing_ones_and_never_show() {
    let w = world().await;
    let clients = w.app.get("/api/v2/admin/clients").await.body;
    let audit = w.app.get("/api/v2/audit/clients").await.body;
    let ours = format!("/api/v2/admin/clients/{}", w.app.client_id);
    let missing = format!("/api/v2/admin/clients/{}", Uuid::now_v7());
    for (m, body, suffix) in [
        (Method::GET, None, ""),
        (Method::PATCH, Some(json!({"active": false})), ""),
        (Method::PATCH, Some(json!({"name": "taken over"})), ""),
        (Method::DELETE, None, ""),
        (Method::POST, None, "/secret"),
    ] {
        let r = as_other(&w, m.clone(), &format!("{ours}{suffix}"), body.as_ref()).await;
        assert_problem(&r, 404, "not_found");
        let miss = as_other(&w, m.clone(), &format!("{missing}{suffix}"), body.as_ref()).await;
        assert_eq!(shape(&r), shape(&miss), "{m} {ours}{suffix}");
    }
    // Lists are the other organization's own: its client, its changes.
    let theirs = as_other(&w, Method::GET, "/api/v2/admin/clients", None).await;
    let names: Vec<&str> = theirs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["other"]);
    let their_audit = as_other(&w, Method::GET, "/api/v2/audit/clients", None).await;
    assert!(!their_audit.text.contains(&w.app.client_id.to_string()));
    assert_eq!(their_audit.body["items"].as_array().unwrap().len(), 1);
    // A client it creates is its own: org 1 cannot see it.
    let r = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/clients",
        Some(&json!({"name": "acme importer", "scopes": ["admin:agent:read"]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = w
        .app
        .get(&format!(
            "/api/v2/admin/clients/{}",
            r.body["id"].as_str().unwrap()
        ))
        .await;
    assert_problem(&r, 404, "not_found");
    // Org 1's clients, its changes and its token are as they were.
    assert_eq!(w.app.get("/api/v2/admin/clients").await.body, clients);
    assert_eq!(w.app.get("/api/v2/audit/clients").await.body, audit);
    assert_eq!(w.app.get("/api/v2/admin/skills").await.status, 200);
}

#[tokio::test]
async fn another_orgs_webhooks_answer_as_missing_ones_and_never_show() {
    let w = world().await;
    let r = w
        .app
        .post(
            "/api/v2/webhooks",
            &json!({"url": "https://hooks.example.com/org1", "eventTypes": ["skill.created"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let hooks = w.app.get("/api/v2/webhooks").await.body;
    let ours = format!("/api/v2/webhooks/{id}");
    let missing = format!("/api/v2/webhooks/{}", Uuid::now_v7());
    let routes = [
        (Method::GET, None, ""),
        (Method::PATCH, Some(json!({"active": false})), ""),
        (
            Method::PATCH,
            Some(json!({"url": "https://attacker.example.com/"})),
            "",
        ),
        (Method::DELETE, None, ""),
        (Method::POST, None, "/secret"),
        (Method::POST, Some(json!({"overlapSeconds": 0})), "/secret"),
        (Method::GET, None, "/deliveries"),
        (Method::POST, None, "/replay?fromSequence=1"),
    ];
    for (m, body, suffix) in routes {
        let r = as_other(&w, m.clone(), &format!("{ours}{suffix}"), body.as_ref()).await;
        assert_problem(&r, 404, "not_found");
        let miss = as_other(&w, m.clone(), &format!("{missing}{suffix}"), body.as_ref()).await;
        assert_eq!(shape(&r), shape(&miss), "{m} {ours}{suffix}");
    }
    // Lists are the other organization's own, and so is a webhook it creates.
    let theirs = as_other(&w, Method::GET, "/api/v2/webhooks", None).await;
    assert_eq!(theirs.body, json!({"items": [], "nextCursor": null}));
    let r = as_other(
        &w,
        Method::POST,
        "/api/v2/webhooks",
        Some(&json!({"url": "https://hooks.acme.example/"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = w
        .app
        .get(&format!(
            "/api/v2/webhooks/{}",
            r.body["id"].as_str().unwrap()
        ))
        .await;
    assert_problem(&r, 404, "not_found");
    // Org 1's webhook is as it was, secret included.
    assert_eq!(w.app.get("/api/v2/webhooks").await.body, hooks);
    let their_audit = as_other(&w, Method::GET, "/api/v2/audit/admin", None).await;
    assert!(!their_audit.text.contains(&id));
}

/// The console's users are kept to their organization as tokens are: a session of another
/// organization's admin, with its anti-forgery token, finds nothing here and changes nothing.
#[tokio::test]
async fn a_console_session_of_another_org_sees_and_changes_nothing_here() {
    use super::console::{signed_in, Visitor, CHOSEN};
    use skillgrid_store::Role;
    let w = world().await;
    let victim = skillgrid_server::bootstrap::create_user(
        &w.app.store,
        &w.app.org.to_string(),
        "victim@example.com",
        Role::Editor,
        None,
    )
    .await
    .unwrap();
    let before = org1_state(&w).await;
    let (mut v, csrf) = signed_in(&w.app, "acme", "boss@example.com", Role::Admin).await;
    let from_page = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", w.app.base.as_str()),
    ];
    for (m, path, body) in id_routes(w.agent, w.skill) {
        let r = v.api(m.clone(), &path, body.as_ref(), &from_page).await;
        assert_problem(&r, 404, "not_found");
    }
    let clients = format!("/api/v2/admin/clients/{}", w.app.client_id);
    let r = v.api(Method::DELETE, &clients, None, &from_page).await;
    assert_problem(&r, 404, "not_found");
    for path in [
        "/api/v2/admin/skills",
        "/api/v2/admin/users",
        "/api/v2/audit",
    ] {
        let r = v.api(Method::GET, path, None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["items"], json!([]), "{path}");
    }
    let home = v.get("/console").await;
    assert!(home.html.contains("data-org=\"acme\""), "{}", home.html);
    // Org 1's agent has no page here.
    let agent_page = v.get(&format!("/console/agents/{}", w.agent)).await;
    assert_eq!(agent_page.status, 404, "{}", agent_page.html);
    assert!(
        !agent_page.html.contains("ana@example.com"),
        "{}",
        agent_page.html
    );
    // Its grid shows none of org 1's agents or skills, even filtered by org 1's skill.
    let filtered = v.get(&format!("/console?skill={}", w.skill)).await;
    assert_eq!(filtered.status, 200, "{}", filtered.html);
    assert!(filtered.html.contains("data-empty"), "{}", filtered.html);
    // Selecting every agent of its grid finds none of org 1's, even by org 1's skill.
    for path in [
        "/console/grid/agent-ids".to_string(),
        format!("/console/grid/agent-ids?skill={}", w.skill),
    ] {
        let r = v.api(Method::GET, &path, None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["agents"], json!([]), "{path}");
        assert!(!r.text.contains(&w.agent.to_string()), "{}", r.text);
    }
    for page in [&home, &filtered] {
        for id in [w.agent, w.skill] {
            assert!(!page.html.contains(&id.to_string()), "{}", page.html);
        }
    }
    // The admin screens show acme's own settings, people and clients, and the forms that
    // change a user find none of org 1's.
    let settings = v.get("/console/settings").await;
    assert_eq!(settings.status, 200, "{}", settings.html);
    // Org 1's limit of 50 skills per agent is not acme's.
    assert!(
        !settings.html.contains("name=\"max-skills\" value=\"50\""),
        "{}",
        settings.html
    );
    assert!(settings.html.contains("name=\"max-skills\" value=\""));
    let people = v.get("/console/people").await;
    assert_eq!(people.status, 200, "{}", people.html);
    let clients_page = v.get("/console/clients").await;
    assert_eq!(clients_page.status, 200, "{}", clients_page.html);
    for page in [&people, &clients_page] {
        assert!(page.html.contains("boss@example.com"), "{}", page.html);
        for foreign in [
            victim.user_id.to_string(),
            "victim@example.com".into(),
            w.app.client_id.to_string(),
        ] {
            assert!(!page.html.contains(&foreign), "{foreign}: {}", page.html);
        }
    }
    for (path, form) in [
        (
            "active",
            [("active", "false"), ("csrf_token", csrf.as_str())],
        ),
        ("role", [("role", "admin"), ("csrf_token", csrf.as_str())]),
    ] {
        let path = format!("/console/people/{}/{path}", victim.user_id);
        let r = v.post(&path, &form, &[]).await;
        assert_eq!(r.status, 404, "{path}: {}", r.html);
    }
    // Its skills page lists none of org 1's skills, and its audit feed none of org 1's
    // changes, even filtered by org 1's agent, skill or API client.
    let skills = v.get("/console/skills").await;
    assert_eq!(skills.status, 200, "{}", skills.html);
    assert!(skills.html.contains("data-no-skills"), "{}", skills.html);
    assert!(!skills.html.contains("Billing"), "{}", skills.html);
    let audit = v.get("/console/audit").await;
    assert_eq!(audit.status, 200, "{}", audit.html);
    for page in [&skills, &audit] {
        for id in [w.agent, w.skill] {
            assert!(!page.html.contains(&id.to_string()), "{}", page.html);
        }
        assert!(!page.html.contains(&w.app.client_id.to_string()));
    }
    for query in [
        format!("agent={}", w.agent),
        format!("skill={}", w.skill),
        format!("client={}", w.app.client_id),
    ] {
        let filtered = v.get(&format!("/console/audit?{query}")).await;
        assert_eq!(filtered.status, 200, "{}", filtered.html);
        assert!(
            filtered.html.contains("data-no-changes"),
            "{}",
            filtered.html
        );
        assert!(
            !filtered.html.contains("data-entry-id"),
            "{}",
            filtered.html
        );
    }
    // Org 1's agent cannot be named by its e-mail address either.
    let by_email = v.get("/console/audit?agent=ana%40example.com").await;
    assert_eq!(by_email.status, 400, "{}", by_email.html);
    // An import naming org 1's agent and skill, by id and by name, finds neither and
    // writes nothing.
    let csv = format!(
        "agent,skill,proficiency\n{},{},50\nana@example.com,Billing,50\n",
        w.agent, w.skill
    );
    for path in ["/console/import/plan", "/console/import/apply"] {
        let r = v
            .post_bytes(path, csv.clone().into_bytes(), &from_page)
            .await;
        assert!(r.status == 200 || r.status == 422, "{r:?}");
        for code in ["unknown_agent", "unknown_skill"] {
            for line in [2, 3] {
                let hook = format!(
                    "data-line=\"{line}\" data-column=\"{}\" data-error-code=\"{code}\"",
                    &code[8..]
                );
                assert!(r.html.contains(&hook), "{hook} in {}", r.html);
            }
        }
        assert!(r.html.contains("data-ok=\"false\""), "{}", r.html);
    }
    // The user signs in to their own organization only.
    let mut elsewhere = Visitor::new(&w.app);
    let r = elsewhere
        .sign_in("default", "boss@example.com", CHOSEN)
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(org1_state(&w).await, before, "org 1 is untouched");
}

/// The administrative audit trail is the organization's own: another organization's token
/// reads only its own changes there, and its changes never join ours.
#[tokio::test]
async fn the_admin_trail_holds_only_the_organizations_own_changes() {
    let w = world().await;
    let ours = w.app.get("/api/v2/audit/admin").await;
    assert_eq!(ours.status, 200, "{}", ours.text);
    for id in [w.skill, w.agent] {
        assert!(ours.text.contains(&id.to_string()), "{}", ours.text);
    }
    let theirs = as_other(&w, Method::GET, "/api/v2/audit/admin", None).await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    let items = theirs.body["items"].as_array().unwrap();
    // Its one settings change, and nothing of org 1.
    assert_eq!(items.len(), 1, "{}", theirs.text);
    assert_eq!(items[0]["kind"], "settings");
    for id in [w.skill, w.agent, w.app.org.get()] {
        assert!(!theirs.text.contains(&id.to_string()), "{}", theirs.text);
    }
    // Its skill and its failed attempt at ours leave our trail as it was.
    let r = as_other(
        &w,
        Method::POST,
        "/api/v2/admin/skills",
        Some(&json!({"name": "Theirs"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = as_other(
        &w,
        Method::PATCH,
        &format!("/api/v2/admin/skills/{}", w.skill),
        Some(&json!({"name": "Taken over"})),
    )
    .await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(w.app.get("/api/v2/audit/admin").await.body, ours.body);
    let theirs = as_other(&w, Method::GET, "/api/v2/audit/admin", None).await;
    assert_eq!(theirs.body["items"].as_array().unwrap().len(), 2);
}

/// The event feed and its stream show a token its own organization's events only: another's
/// changes are not there, and its numbers are its own, from 1.
#[tokio::test]
async fn the_event_feed_shows_only_the_callers_organization() {
    let w = world().await;
    let mine = w.app.get("/api/v2/events?limit=1000").await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let r = as_other(&w, Method::GET, "/api/v2/events?limit=1000", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let theirs = r.body["items"].as_array().unwrap();
    // The second organization's own: its client (made by the admin command) and its settings.
    let kinds: Vec<&str> = theirs.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["client.updated", "settings.updated"]);
    let seq: Vec<i64> = theirs
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(seq, [1, 2]);
    let org1 = w.app.org.to_string();
    assert!(theirs.iter().all(|e| e["organization"] != org1.as_str()));
    let ids = |v: &Value| -> Vec<Value> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].clone())
            .collect()
    };
    let mine_ids = ids(&mine.body);
    assert!(mine_ids.len() >= 4);
    assert!(ids(&r.body).iter().all(|id| !mine_ids.contains(id)));
    // Filtered to org 1's subjects, from past the other's numbers: still nothing of org 1.
    let r = as_other(
        &w,
        Method::GET,
        "/api/v2/events?after=0&types=assignment.changed,skill.created,agent.created",
        None,
    )
    .await;
    assert_eq!(r.body["items"], json!([]));
}

#[tokio::test]
async fn scim_of_another_org_sees_and_changes_nothing() {
    use super::scim::{assert_scim_error, send_as};
    let w = world().await;
    let before = org1_state(&w).await;
    let missing = Uuid::now_v7();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let put = json!({"userName": "ana@example.com", "active": false});
    let cases = [
        (Method::GET, None),
        (Method::PUT, Some(&put)),
        (Method::PATCH, Some(&patch)),
        (Method::DELETE, None),
    ];
    for (m, body) in cases {
        let path = format!("/scim/v2/Users/{}", w.agent);
        let r = send_as(&w.app, &w.other, m.clone(), &path, body, &[]).await;
        assert_scim_error(&r, 404, None);
        let miss = send_as(
            &w.app,
            &w.other,
            m.clone(),
            &format!("/scim/v2/Users/{missing}"),
            body,
            &[("if-match", "*")],
        )
        .await;
        assert_eq!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .replace(&w.agent.to_string(), "ID"),
            miss.body["detail"]
                .as_str()
                .unwrap()
                .replace(&missing.to_string(), "ID"),
            "{m}"
        );
    }
    // Listings and filters see only the caller's own Users.
    for q in [
        "",
        "?filter=userName%20eq%20%22ana%40example.com%22",
        "?filter=userName%20pr",
    ] {
        let r = send_as(
            &w.app,
            &w.other,
            Method::GET,
            &format!("/scim/v2/Users{q}"),
            None,
            &[],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["totalResults"], 0, "{q}: {}", r.text);
    }
    let search = json!({"filter": "userName eq \"ana@example.com\""});
    for path in ["/scim/v2/Users/.search", "/scim/v2/.search"] {
        let r = send_as(&w.app, &w.other, Method::POST, path, Some(&search), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["totalResults"], 0, "{path}: {}", r.text);
    }
    // The extension's schema suggests the caller's own skills, never another organization's.
    let ext = "urn:ietf:params:scim:schemas:extension:skillgrid:2.0:User";
    let r = send_as(
        &w.app,
        &w.other,
        Method::GET,
        &format!("/scim/v2/Schemas/{ext}"),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains("Billing"), "{}", r.text);
    let r = send_as(
        &w.app,
        &w.app.token,
        Method::GET,
        &format!("/scim/v2/Schemas/{ext}"),
        None,
        &[],
    )
    .await;
    assert!(r.text.contains("Billing"), "{}", r.text);
    // The same userName in the other organization is another agent, not a conflict.
    let r = send_as(
        &w.app,
        &w.other,
        Method::POST,
        "/scim/v2/Users",
        Some(&json!({"userName": "ana@example.com"})),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_ne!(r.body["id"], w.agent.to_string());
    assert_eq!(org1_state(&w).await, before, "org 1 is untouched");
    // Org 1's own SCIM token still sees its agent, active.
    let r = send_as(
        &w.app,
        &w.app.token,
        Method::GET,
        &format!("/scim/v2/Users/{}", w.agent),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], true);
}

#[tokio::test]
async fn scim_groups_of_another_org_are_out_of_reach() {
    use super::scim::{assert_scim_error, send_as};
    let w = world().await;
    let gext = "urn:ietf:params:scim:schemas:extension:skillgrid:2.0:Group";
    // Org 1's group gives its agent a skill.
    let r = send_as(
        &w.app,
        &w.app.token,
        Method::POST,
        "/scim/v2/Groups",
        Some(
            &json!({"displayName": "Tier 1", "members": [{"value": w.agent}],
            gext: {"skills": [{"skill": "Billing", "proficiency": 95}]}}),
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let g = r.body["id"].as_str().unwrap().to_string();
    let before = org1_state(&w).await;
    let missing = Uuid::now_v7();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members"}]});
    let put = json!({"displayName": "Taken over", "members": []});
    for (m, body) in [
        (Method::GET, None),
        (Method::PUT, Some(&put)),
        (Method::PATCH, Some(&patch)),
        (Method::DELETE, None),
    ] {
        let r = send_as(
            &w.app,
            &w.other,
            m.clone(),
            &format!("/scim/v2/Groups/{g}"),
            body,
            &[],
        )
        .await;
        assert_scim_error(&r, 404, None);
        let miss = send_as(
            &w.app,
            &w.other,
            m.clone(),
            &format!("/scim/v2/Groups/{missing}"),
            body,
            &[],
        )
        .await;
        assert_eq!(
            r.body["detail"].as_str().unwrap().replace(&g, "ID"),
            miss.body["detail"]
                .as_str()
                .unwrap()
                .replace(&missing.to_string(), "ID"),
            "{m}"
        );
    }
    for q in [
        "",
        "?filter=displayName%20eq%20%22Tier%201%22",
        &format!("?filter=members.value%20eq%20%22{}%22", w.agent),
    ] {
        let r = send_as(
            &w.app,
            &w.other,
            Method::GET,
            &format!("/scim/v2/Groups{q}"),
            None,
            &[],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["totalResults"], 0, "{q}: {}", r.text);
    }
    // Org 1's agent cannot be made a member of the other organization's group: it does not
    // exist there. The same displayName there is no conflict.
    let r = send_as(
        &w.app,
        &w.other,
        Method::POST,
        "/scim/v2/Groups",
        Some(&json!({"displayName": "Tier 1", "members": [{"value": w.agent}]})),
        &[],
    )
    .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("members[0].value"),
        "{}",
        r.text
    );
    let r = send_as(
        &w.app,
        &w.other,
        Method::POST,
        "/scim/v2/Groups",
        Some(&json!({"displayName": "Tier 1"})),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // The sources of org 1's agent's skills are not readable from the other organization.
    let r = as_other(
        &w,
        Method::GET,
        &format!("/api/v2/agents/users/{}/skills?include=sources", w.agent),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(org1_state(&w).await, before, "org 1 is untouched");
    let r = w
        .app
        .get(&format!(
            "/api/v2/agents/users/{}/skills?include=sources",
            w.agent
        ))
        .await;
    assert_eq!(r.body["skills"][0]["proficiency"], 95, "{}", r.text);
    assert_eq!(r.body["skills"][0]["sources"][1]["displayName"], "Tier 1");
}
