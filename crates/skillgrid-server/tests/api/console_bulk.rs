//! The grid's bulk changes over plain HTTP: the ids of every agent the grid's filter matches
//! (`GET /console/grid/agent-ids`), in the grid's order across its pages, refused beyond what
//! one bulk request takes, for bad filters, and to a viewer; the selection and the panel shown
//! to those who may write only. (The change itself is the API's bulk route, tested in
//! `bulk.rs`; a browser drives the whole screen in `tests/browser/bulk.rs`.)

use super::console::signed_in;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use skillgrid_store::Role;

const IDS: &str = "/console/grid/agent-ids";

fn ids(body: &Value) -> Vec<String> {
    body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_agent_matching_the_filter_across_pages_and_no_more_than_one_bulk_takes() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let voice = app.create_skill("Voice").await;
    let mut agents = Vec::new();
    for i in 0..60 {
        agents.push(app.create_agent(&format!("agent{i:02}@example.com")).await);
    }
    // 55 of them hold Voice: more than the grid's page of 50.
    let items: Vec<Value> = agents[..55]
        .iter()
        .map(|a| json!({"agentId": a, "skills": [{"skillId": voice, "proficiency": "Expert"}]}))
        .collect();
    let r = app
        .post("/api/v2/agents/skills/bulk", &json!({"items": items}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let org = app.org.to_string();
    let (mut e, _) = signed_in(&app, &org, "ed@example.com", Role::Editor).await;
    let all: Vec<String> = agents.iter().map(|a| a.to_string()).collect();

    let r = e.api(Method::GET, IDS, None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["count"], 60);
    assert_eq!(ids(&r.body), all);
    assert_eq!(r.body["agents"][7]["name"], "agent07");
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // The grid's filters, whatever page the grid was on.
    let q = format!("{IDS}?skill={voice}&level=expert&after=12345&sort=name");
    let r = e.api(Method::GET, &q, None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.body), all[..55]);
    let r = e
        .api(Method::GET, &format!("{IDS}?q=AGENT5"), None, &[])
        .await;
    assert_eq!(ids(&r.body), all[50..60]);
    let r = e
        .api(
            Method::GET,
            &format!("{IDS}?skill={voice}&level=novice"),
            None,
            &[],
        )
        .await;
    assert_eq!((r.status, r.body["count"].clone()), (200, json!(0)));

    // Filters that mean nothing, with the grid's words.
    let r = e
        .api(Method::GET, &format!("{IDS}?skill=voice"), None, &[])
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.body["errors"][0]["query"], "skill");
    assert_eq!(r.body["errors"][0]["code"], "invalid_format");
    assert_eq!(r.body["errors"][0]["received"], "voice");
    let r = e
        .api(Method::GET, &format!("{IDS}?level=guru"), None, &[])
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.body["errors"][0]["query"], "level");

    // No more than one bulk request takes: beyond, a refusal that says so.
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"limits": {"maxItemsPerBulk": 55}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = e.api(Method::GET, IDS, None, &[]).await;
    assert_problem(&r, 400, "validation_failed");
    let entry = &r.body["errors"][0];
    assert_eq!(entry["code"], "too_many_items");
    // With no filter, the search is the one to give.
    assert_eq!(entry["query"], "q", "{}", r.text);
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("more than 55 agents match"),
        "{}",
        r.text
    );
    assert!(entry["hint"]
        .as_str()
        .unwrap()
        .contains("narrow the filter"));
    // With a filter given, that filter is the one to narrow.
    let r = e
        .api(Method::GET, &format!("{IDS}?active=active"), None, &[])
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.body["errors"][0]["query"], "active", "{}", r.text);
    let r = e
        .api(Method::GET, &format!("{IDS}?skill={voice}"), None, &[])
        .await;
    assert_eq!((r.status, r.body["count"].clone()), (200, json!(55)));
}

#[tokio::test]
async fn a_viewer_may_not_select_and_sees_no_selection() {
    let app = spawn_app().await;
    app.create_agent("ann@example.com").await;
    app.create_skill("Voice").await;
    let org = app.org.to_string();
    let (mut v, _) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    let r = v.api(Method::GET, IDS, None, &[]).await;
    assert_problem(&r, 403, "insufficient_scope");
    assert!(!r.text.contains("ann"), "{}", r.text);
    let page = v.get("/console").await;
    assert_eq!(page.status, 200, "{}", page.html);
    for hook in [
        "data-select-agent",
        "data-select-page",
        "data-bulk-panel",
        "bulk.js",
    ] {
        assert!(!page.html.contains(hook), "{hook}: {}", page.html);
    }

    // An editor gets the boxes, labelled with the agents' names, and the panel.
    let (mut e, _) = signed_in(&app, &org, "ed@example.com", Role::Editor).await;
    let page = e.get("/console").await;
    for hook in [
        "aria-label=\"Select ann\"",
        "data-select-page",
        "data-bulk-panel",
        "data-select-matching",
        "<label for=\"bulk-level\">",
        "src=\"/console/assets/bulk.js\"",
    ] {
        assert!(page.html.contains(hook), "{hook}: {}", page.html);
    }
    let js = e.get("/console/assets/bulk.js").await;
    assert_eq!(js.status, 200);
    assert!(js.html.contains("/api/v2/agents/skills/bulk"));

    // Without a session, nothing.
    let r = app.call(Method::GET, IDS, None, None, &[]).await;
    assert_problem(&r, 401, "unauthorized");
}
