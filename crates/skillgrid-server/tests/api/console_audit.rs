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

/// The entries of an audit page showing the administrative trail: (subject, who, action).
fn admin_entries(html: &str) -> Vec<(String, String, String)> {
    html.split("<tr data-admin-entry-id=\"")
        .skip(1)
        .map(|rest| {
            let after = |m: &str, end: char| {
                let at = rest.find(m).unwrap() + m.len();
                rest[at..at + rest[at..].find(end).unwrap()].to_string()
            };
            (
                after("data-subject-id=\"", '"'),
                after("<td data-who>", '<'),
                after("data-action=\"", '"'),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_audit_page_shows_changes_to_skills_agents_settings_and_people() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let org = app.org.to_string();
    let voice = app.create_skill("Voice").await.to_string();
    let ana = app.create_agent("ana@example.com").await.to_string();
    let (mut a, csrf) = signed_in(&app, &org, "adm@example.com", Role::Admin).await;
    let from_page = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", app.base.as_str()),
    ];
    for (path, body) in [
        (
            format!("/api/v2/admin/skills/{voice}"),
            json!({"name": "Voice & video"}),
        ),
        (
            format!("/api/v2/admin/users/{ana}"),
            json!({"name": "Ana B"}),
        ),
        (
            "/api/v2/organizations/settings".to_string(),
            json!({"requireIfMatch": true}),
        ),
    ] {
        let r = a.api(Method::PATCH, &path, Some(&body), &from_page).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let made = a
        .post(
            "/console/people",
            &[
                ("email", "ada@example.com"),
                ("role", "viewer"),
                ("csrf_token", csrf.as_str()),
            ],
            &[("origin", app.base.as_str())],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.html);
    let users = app.store.list_users(app.org).await.unwrap();
    let adm = users.iter().find(|u| u.email == "adm@example.com").unwrap();
    let ada = users.iter().find(|u| u.email == "ada@example.com").unwrap();
    let by_api = "API client bootstrap".to_string();
    let t = |s: &str, w: &str, x: &str| (s.to_string(), w.to_string(), x.to_string());

    // A viewer reads each kind, newest first, naming who.
    let (mut v, _) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    macro_rules! get {
        ($q:expr) => {{
            let q: String = $q;
            let p = v.get(&format!("/console/audit?{q}")).await;
            (p.status, p.html)
        }};
    }
    let (status, html) = get!("what=skills".into());
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        admin_entries(&html),
        [
            t(&voice, "adm@example.com", "updated"),
            t(&voice, &by_api, "created")
        ]
    );
    for hook in [
        "<label for=\"what\">",
        "<option value=\"skills\" selected>Skills</option>",
        "<li data-field=\"name\">name: <span data-before>Voice</span> → <span data-after>Voice &amp; video</span></li>",
        "<caption>Changes to skills, newest first</caption>",
    ] {
        assert!(html.contains(hook), "{hook} missing:\n{html}");
    }
    assert!(!html.contains("<script"), "{html}");
    let (_, html) = get!("what=agents".into());
    assert_eq!(
        admin_entries(&html),
        [
            t(&ana, "adm@example.com", "updated"),
            t(&ana, &by_api, "created")
        ]
    );
    assert!(
        html.contains(&format!(
            "<a href=\"/console/agents/{ana}\">Ana B (ana@example.com)</a>"
        )),
        "{html}"
    );
    let (_, html) = get!("what=settings".into());
    assert_eq!(
        admin_entries(&html)[0],
        t(&org, "adm@example.com", "updated")
    );
    assert!(
        html.contains("<li data-field=\"requireIfMatch\">"),
        "{html}"
    );
    let (_, html) = get!("what=people".into());
    let people = admin_entries(&html);
    assert_eq!(
        people[0],
        t(&vic_id(&app).await, "admin command", "created")
    );
    assert_eq!(
        people[1],
        t(&ada.id.to_string(), "adm@example.com", "created")
    );
    assert_eq!(
        people[2],
        t(&adm.id.to_string(), "admin command", "created")
    );

    // Filters: by user, by the skill or agent changed, and time.
    let (_, html) = get!(format!("what=skills&user={}", adm.id));
    assert_eq!(
        admin_entries(&html),
        [t(&voice, "adm@example.com", "updated")]
    );
    let (_, html) = get!(format!("what=skills&client={}", app.client_id));
    assert_eq!(admin_entries(&html), [t(&voice, &by_api, "created")]);
    let (_, html) = get!("what=agents&agent=ana@example.com".to_string());
    assert_eq!(admin_entries(&html).len(), 2);
    let (_, html) = get!(format!("what=skills&skill={voice}&to=2000-01-01T00:00"));
    assert!(html.contains("data-no-changes"), "{html}");

    // What means nothing, or a filter that does not apply: refused, saying why.
    for (q, why) in [
        (
            "what=everything".to_string(),
            "is not something the audit shows",
        ),
        (
            format!("what=settings&skill={voice}"),
            "the skill filter applies",
        ),
        (
            format!("what=skills&agent={ana}"),
            "the agent filter applies",
        ),
    ] {
        let (status, html) = get!(q.clone());
        assert_eq!(status, 400, "{q}: {html}");
        assert!(html.contains(why), "{q}: {html}");
    }
    // The assignments' feed is the default, and empty here.
    let (_, html) = get!(String::new());
    assert!(html.contains("data-no-changes"), "{html}");
    assert!(
        html.contains("<option value=\"assignments\" selected>"),
        "{html}"
    );
}

async fn vic_id(app: &TestApp) -> String {
    app.store
        .find_user(app.org, "vic@example.com")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

#[tokio::test]
async fn the_changes_to_skills_come_fifty_a_page() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let mut made = Vec::new();
    for i in 0..52 {
        made.push(app.create_skill(&format!("Skill {i:02}")).await.to_string());
    }
    let (mut v, _) = signed_in(&app, &app.org.to_string(), "vic@example.com", Role::Viewer).await;
    let first = v.get("/console/audit?what=skills").await;
    let mut seen: Vec<String> = admin_entries(&first.html)
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(seen.len(), 50);
    let older = link(&first.html, "older").expect("a next page");
    assert!(older.contains("what=skills"), "{older}");
    let second = v.get(&older.replace("&amp;", "&")).await;
    assert_eq!(second.status, 200, "{}", second.html);
    seen.extend(admin_entries(&second.html).into_iter().map(|e| e.0));
    assert_eq!(link(&second.html, "older"), None);
    made.reverse();
    assert_eq!(seen, made);
}
