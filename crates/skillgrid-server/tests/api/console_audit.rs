//! The console's audit page over plain HTTP: the organization's changes newest first, each
//! naming who made it (a console user by e-mail, an API client by name) and linking to its
//! agent; filtered by agent (id or e-mail), skill, user, API client and time; keyset pages of
//! 50; filters that mean nothing refused, saying why.

use super::console::signed_in;
use super::console_grid::link;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;
use skillgrid_store::Role;

/// The entries of an audit page: (agent, skill, who), in order.
fn entries(html: &str) -> Vec<(String, String, String)> {
    html.split("<tr data-entry-id=\"")
        .skip(1)
        .map(|rest| {
            let attr = |name: &str| {
                let m = format!("{name}=\"");
                let at = rest.find(&m).unwrap() + m.len();
                rest[at..at + rest[at..].find('"').unwrap()].to_string()
            };
            let who = {
                let at = rest.find("<td data-who>").unwrap() + "<td data-who>".len();
                rest[at..at + rest[at..].find('<').unwrap()].to_string()
            };
            (attr("data-agent-id"), attr("data-skill-id"), who)
        })
        .collect()
}

#[tokio::test]
async fn the_audit_page_shows_who_changed_what_filtered_and_paged() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let voice = app.create_skill("Voice").await;
    let chat = app.create_skill("Chat").await;
    let ana = app.create_agent("ana@example.com").await;
    let bo = app.create_agent("bo@example.com").await;
    let org = app.org.to_string();
    let bootstrap = app.client_id.to_string();

    // The API client gives Ana Voice; the editor gives Bo Chat; the admin changes Ana's Voice.
    let r = app
        .put(
            &format!("/api/v2/agents/users/{ana}/skills/{voice}"),
            &json!({"proficiency": 50}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (mut e, ecsrf) = signed_in(&app, &org, "edi@example.com", Role::Editor).await;
    let (mut a, acsrf) = signed_in(&app, &org, "adm@example.com", Role::Admin).await;
    for (who, csrf, agent, skill, p) in [
        (&mut e, &ecsrf, bo, chat, 30),
        (&mut a, &acsrf, ana, voice, 90),
    ] {
        let from_page = [
            ("x-csrf-token", csrf.as_str()),
            ("origin", app.base.as_str()),
        ];
        let r = who
            .api(
                Method::PUT,
                &format!("/api/v2/agents/users/{agent}/skills/{skill}"),
                Some(&json!({"proficiency": p})),
                &from_page,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let users = app.store.list_users(app.org).await.unwrap();
    let edi = users.iter().find(|u| u.email == "edi@example.com").unwrap();
    let (ana_s, bo_s, voice_s, chat_s) = (
        ana.to_string(),
        bo.to_string(),
        voice.to_string(),
        chat.to_string(),
    );
    let client_name = app
        .get(&format!("/api/v2/admin/clients/{bootstrap}"))
        .await
        .body["name"]
        .as_str()
        .unwrap()
        .to_string();
    let by_api = format!("API client {client_name}");

    // A viewer reads the whole feed, newest first, with who, the agent's link and the values.
    let (mut v, _) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    let page = v.get("/console/audit").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let html = &page.html;
    let t = |a: &str, k: &str, w: &str| (a.to_string(), k.to_string(), w.to_string());
    assert_eq!(
        entries(html),
        [
            t(&ana_s, &voice_s, "adm@example.com"),
            t(&bo_s, &chat_s, "edi@example.com"),
            t(&ana_s, &voice_s, &by_api),
        ]
    );
    for hook in [
        format!("<a href=\"/console/agents/{ana}\" data-agent-link>ana</a>"),
        "<td data-action=\"updated\">updated</td>".into(),
        "<td>50 (Intermediate)</td><td>90 (Advanced)</td>".into(),
        "<caption>".into(),
        "<label for=\"agent\">".into(),
        "<label for=\"skill\">".into(),
        "<label for=\"user\">".into(),
        "<label for=\"client\">".into(),
        "<label for=\"from\">".into(),
        "<label for=\"to\">".into(),
        format!("<option value=\"{}\">edi@example.com</option>", edi.id),
        format!("<option value=\"{bootstrap}\">{client_name}</option>"),
        "data-nav=\"audit\"".into(),
    ] {
        assert!(html.contains(&hook), "{hook} missing:\n{html}");
    }
    // The users' own API clients are offered as users, not as clients.
    assert!(!html.contains(&format!("<option value=\"{}\"", edi.client_id)));
    assert!(!html.contains("<script"), "{html}");
    assert_eq!(link(html, "older"), None);

    // Filters: by user, API client, agent (id or e-mail), skill, and time.
    macro_rules! only {
        ($q:expr) => {{
            let q: String = $q;
            let p = v.get(&format!("/console/audit?{q}")).await;
            assert_eq!(p.status, 200, "{q}: {}", p.html);
            entries(&p.html)
        }};
    }
    assert_eq!(
        only!(format!("user={}", edi.id)),
        [t(&bo_s, &chat_s, "edi@example.com")]
    );
    assert_eq!(
        only!(format!("client={bootstrap}")),
        [t(&ana_s, &voice_s, &by_api)]
    );
    assert_eq!(only!(format!("agent={ana}")).len(), 2);
    assert_eq!(
        only!("agent=BO%40example.com".into()),
        [t(&bo_s, &chat_s, "edi@example.com")]
    );
    assert_eq!(only!(format!("skill={chat}")).len(), 1);
    assert_eq!(only!(format!("skill={voice}&user={}", edi.id)), []);
    assert_eq!(only!("to=2000-01-01T00:00".into()), []);
    assert_eq!(
        only!("from=2000-01-01T00:00&to=2999-12-31T23:59".into()).len(),
        3
    );
    assert_eq!(only!("from=2999-01-01T00:00:00Z".into()), []);

    // Filters that mean nothing are refused, saying why; nothing is shown.
    for (q, says) in [
        ("skill=nope", "is not a skill's id"),
        ("user=nope", "is not a user's id"),
        ("client=nope", "is not an API client's id"),
        (
            "agent=nobody%40example.com",
            "no agent of your organization",
        ),
        ("from=yesterday", "is not a time for `from`"),
        (
            "from=2026-01-02T00:00&to=2026-01-01T00:00",
            "`from` is after `to`",
        ),
        ("cursor=%25%25", ""),
    ] {
        let p = v.get(&format!("/console/audit?{q}")).await;
        assert_eq!(p.status, 400, "{q}: {}", p.html);
        assert!(p.html.contains("data-refusal"), "{q}: {}", p.html);
        assert!(p.html.contains(says), "{q}: {}", p.html);
        assert!(!p.html.contains("data-entry-id"), "{q}");
    }
    let both = v
        .get(&format!(
            "/console/audit?user={}&client={bootstrap}",
            edi.id
        ))
        .await;
    assert_eq!(both.status, 400, "{}", both.html);
    assert!(both.html.contains("not both"), "{}", both.html);
    let unknown = v
        .get(&format!("/console/audit?user={}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.html);

    // Keyset pages of 50: 52 more changes by the API client, the filter kept from page to
    // page, and back to the newest.
    for p in 0..52 {
        let r = app
            .put(
                &format!("/api/v2/agents/users/{bo}/skills/{voice}"),
                &json!({"proficiency": p}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let first = v.get(&format!("/console/audit?client={bootstrap}")).await;
    let newest = entries(&first.html);
    assert_eq!(newest.len(), 50);
    assert!(newest.iter().all(|e| e.2 == by_api));
    assert_eq!(link(&first.html, "newest"), None);
    let older = link(&first.html, "older").expect("an older page");
    assert!(older.contains(&format!("client={bootstrap}")), "{older}");
    let second = v.get(&older).await;
    assert_eq!(
        entries(&second.html),
        [
            t(&bo_s, &voice_s, &by_api),
            t(&bo_s, &voice_s, &by_api),
            t(&ana_s, &voice_s, &by_api),
        ]
    );
    assert_eq!(link(&second.html, "older"), None);
    assert_eq!(
        link(&second.html, "newest").as_deref(),
        Some(format!("/console/audit?client={bootstrap}").as_str())
    );
}
