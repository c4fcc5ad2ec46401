//! The console's agent page over plain HTTP: the agent, their skills with dates, their
//! history newest first in keyset pages naming who made each change, who may undo, and an
//! unknown agent's 404 page. (Undoing is the page's script calling the API: `tests/browser.rs`.)

use super::console::signed_in;
use super::console_grid::link;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;
use skillgrid_store::Role;
use uuid::Uuid;

/// The ids of the history rows of an agent page, in order.
fn history_rows(html: &str) -> Vec<String> {
    html.split("data-entry-id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn the_agent_page_shows_skills_dates_and_history_with_who_made_each_change() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let voice = app.create_skill("Voice").await;
    let chat = app.create_skill("Chat").await;
    let agent = app.create_agent("ana@example.com").await;
    let skills = format!("/api/v2/agents/users/{agent}/skills");
    let r = app
        .put(
            &format!("{skills}/{voice}"),
            &json!({"proficiency": 80, "effectiveDate": "2024-01-01T00:00:00Z",
                    "expirationDate": "2031-06-30T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let org = app.org.to_string();
    let (mut e, csrf) = signed_in(&app, &org, "edi@example.com", Role::Editor).await;
    let from_page = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", app.base.as_str()),
    ];
    let r = e
        .api(
            Method::PUT,
            &format!("{skills}/{chat}"),
            Some(&json!({"proficiency": 50})),
            &from_page,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let (mut v, _) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    let page = v.get(&format!("/console/agents/{agent}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let html = &page.html;
    for text in [
        "<h1>ana</h1>",
        "ana@example.com",
        "<th scope=\"row\">Voice</th>",
        "<th scope=\"row\">Chat</th>",
        "2024-01-01T00:00:00",
        "2031-06-30T00:00:00",
        "<caption>",
        "data-editable=\"false\"",
    ] {
        assert!(html.contains(text), "{text} missing from:\n{html}");
    }
    // Newest first: the editor's change, then the API client's.
    let rows = history_rows(html);
    assert_eq!(rows.len(), 2, "{html}");
    let who: Vec<&str> = html
        .split("<td data-who>")
        .skip(1)
        .map(|rest| &rest[..rest.find('<').unwrap()])
        .collect();
    assert_eq!(who[0], "edi@example.com", "{html}");
    assert!(who[1].starts_with("API client "), "{html}");
    assert!(html.contains("data-action=\"added\""), "{html}");
    // A viewer sees no Undo, and the API refuses the write the button would make.
    assert!(!html.contains("data-undo"), "{html}");
    let r = v
        .api(
            Method::DELETE,
            &format!("{skills}/{chat}"),
            None,
            &[("x-csrf-token", &page.csrf()), ("origin", &app.base)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // An editor sees one Undo per change.
    let page = e.get(&format!("/console/agents/{agent}")).await;
    assert_eq!(page.html.matches("data-undo").count(), 2, "{}", page.html);
    assert!(page.html.contains("data-editable=\"true\""));
    // The grid links each agent's name to their page.
    let grid = e.get("/console").await;
    assert!(
        grid.html
            .contains(&format!("href=\"/console/agents/{agent}\"")),
        "{}",
        grid.html
    );
    let script = e.get("/console/assets/agent.js").await;
    assert_eq!(script.status, 200);
    assert!(script.html.contains("x-csrf-token"));
}

#[tokio::test]
async fn the_history_pages_by_keyset_newest_first() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let voice = app.create_skill("Voice").await;
    let agent = app.create_agent("ana@example.com").await;
    for p in 1..=25 {
        let r = app
            .put(
                &format!("/api/v2/agents/users/{agent}/skills/{voice}"),
                &json!({ "proficiency": p }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let api = app
        .get(&format!(
            "/api/v2/agents/users/{agent}/skills/history?limit=100"
        ))
        .await;
    let all: Vec<String> = api.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 25);
    let org = app.org.to_string();
    let (mut v, _) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    let first = v.get(&format!("/console/agents/{agent}")).await;
    assert_eq!(history_rows(&first.html), all[..20], "{}", first.html);
    let older = link(&first.html, "older").expect("an older page");
    let second = v.get(&older).await;
    assert_eq!(second.status, 200, "{}", second.html);
    assert_eq!(history_rows(&second.html), all[20..]);
    assert!(link(&second.html, "older").is_none(), "{}", second.html);
    assert!(second.html.contains("data-page=\"newest\""));
    let bad = v
        .get(&format!("/console/agents/{agent}?cursor=nonsense"))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.html);
}

#[tokio::test]
async fn an_unknown_agent_is_a_404_page_and_signed_out_visitors_sign_in_first() {
    let app = spawn_app().await;
    let org = app.org.to_string();
    let (mut v, _) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    for id in [Uuid::now_v7().to_string(), "not-an-id".to_string()] {
        let page = v.get(&format!("/console/agents/{id}")).await;
        assert_eq!(page.status, 404, "{}", page.html);
        assert!(page.html.contains("data-refusal"), "{}", page.html);
    }
    let agent = app.create_agent("ana@example.com").await;
    let mut stranger = super::console::Visitor::new(&app);
    let page = stranger.get(&format!("/console/agents/{agent}")).await;
    assert_eq!(page.location(), Some("/console/sign-in"));
}
