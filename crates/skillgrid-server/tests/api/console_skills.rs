//! The console's skills page over plain HTTP: the catalog, active and inactive, with each
//! skill's holders and its link to the grid; who sees the forms; and the changes its script
//! makes through the API's skill routes with the session (a viewer refused, a taken or empty
//! name answered at the field). (The script itself runs in `tests/browser/skills.rs`.)

use super::console::signed_in;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;
use skillgrid_store::Role;

/// The row of skill `id` on a skills page: from its `<tr>` to its end.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("<tr data-skill-id=\"{id}\""))
        .unwrap_or_else(|| panic!("no row of {id}:\n{html}"));
    let rest = &html[at..];
    &rest[..rest.find("</tr>").unwrap()]
}

#[tokio::test]
async fn the_skills_page_lists_the_catalog_with_holders_and_links_to_the_grid() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let voice = app.create_skill("Voice").await;
    let chat = app.create_skill("Chat").await;
    let old = app.create_skill("Old").await;
    let (a, b) = (
        app.create_agent("a@example.com").await,
        app.create_agent("b@example.com").await,
    );
    for (agent, body) in [
        (
            a,
            json!([{"skillId": voice, "proficiency": 80}, {"skillId": chat, "proficiency": 20}]),
        ),
        (b, json!([{"skillId": voice, "proficiency": 40}])),
    ] {
        let r = app
            .put(&format!("/api/v2/agents/users/{agent}/skills"), &body)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = app
        .patch(
            &format!("/api/v2/admin/skills/{old}"),
            &json!({"active": false, "description": "Retired in 2025"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let org = app.org.to_string();

    // Not signed in: sent to sign in.
    let mut anon = super::console::Visitor::new(&app);
    let away = anon.get("/console/skills").await;
    assert_eq!(
        (away.status, away.location()),
        (303, Some("/console/sign-in"))
    );

    // A viewer reads every skill by name with its holders, and no form.
    let (mut v, vcsrf) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    let page = v.get("/console/skills").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let html = &page.html;
    let order: Vec<usize> = [chat, old, voice]
        .iter()
        .map(|k| html.find(&format!("<tr data-skill-id=\"{k}\"")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "by name: {html}");
    for (id, name, holders, status) in [
        (voice, "Voice", 2, "Active"),
        (chat, "Chat", 1, "Active"),
        (old, "Old", 0, "Inactive"),
    ] {
        let r = row(html, &id.to_string());
        for hook in [
            format!("data-active=\"{}\"", status == "Active"),
            format!("data-holders=\"{holders}\">{holders}</td>"),
            format!("<td data-status>{status}</td>"),
            format!("href=\"/console?skill={id}\""),
            format!(">{name}</a>"),
        ] {
            assert!(r.contains(&hook), "{hook} missing in {r}");
        }
    }
    assert!(row(html, &old.to_string()).contains("Retired in 2025"));
    for hook in [
        "<caption>",
        "data-editable=\"false\"",
        "data-nav=\"skills\"",
    ] {
        assert!(html.contains(hook), "{hook} missing:\n{html}");
    }
    assert!(!html.contains("data-form=\"skill-create\""), "{html}");
    assert!(!html.contains("<script"), "{html}");
    // The API refuses the viewer's change made with the session, and nothing changes.
    let from_page = [
        ("x-csrf-token", vcsrf.as_str()),
        ("origin", app.base.as_str()),
    ];
    let r = v
        .api(
            Method::POST,
            "/api/v2/admin/skills",
            Some(&json!({"name": "Sneaky"})),
            &from_page,
        )
        .await;
    assert_problem(&r, 403, "insufficient_scope");
    let r = v
        .api(
            Method::PATCH,
            &format!("/api/v2/admin/skills/{voice}"),
            Some(&json!({"active": false})),
            &from_page,
        )
        .await;
    assert_problem(&r, 403, "insufficient_scope");
    assert_eq!(v.get("/console/skills").await.html, *html);

    // An editor gets the forms, each field labelled, and the script that sends them.
    let (mut e, csrf) = signed_in(&app, &org, "edi@example.com", Role::Editor).await;
    let page = e.get("/console/skills").await;
    let html = &page.html;
    for hook in [
        "data-form=\"skill-create\"".to_string(),
        "<label for=\"new-name\">".into(),
        "<label for=\"new-description\">".into(),
        format!("<label for=\"name-{voice}\">Name of Voice</label>"),
        format!("data-form=\"skill-edit\" data-skill-id=\"{voice}\""),
        "data-toggle-active=\"true\"".into(),
        "data-toggle-active=\"false\"".into(),
        "<script src=\"/console/assets/skills.js\" defer>".into(),
        "data-editable=\"true\"".into(),
    ] {
        assert!(html.contains(&hook), "{hook} missing:\n{html}");
    }
    let script = e.get("/console/assets/skills.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );

    // What the script sends, the API judges: a taken name (in any case) and an empty one are
    // refused at `/name`, in the API's words; a new skill, a rename and a deactivation pass.
    let from_page = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", app.base.as_str()),
    ];
    macro_rules! send {
        ($m:expr, $path:expr, $body:expr) => {
            e.api($m, &$path, Some(&$body), &from_page).await
        };
    }
    let r = send!(
        Method::POST,
        "/api/v2/admin/skills",
        json!({"name": "voice"})
    );
    assert_problem(&r, 409, "conflict");
    assert_eq!(r.body["errors"][0]["pointer"], "/name");
    let r = send!(Method::POST, "/api/v2/admin/skills", json!({"name": "  "}));
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.body["errors"][0]["pointer"], "/name");
    let r = send!(
        Method::POST,
        "/api/v2/admin/skills",
        json!({"name": "E-mail", "description": "Written"})
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let mail = r.body["id"].as_str().unwrap().to_string();
    let r = send!(
        Method::PATCH,
        format!("/api/v2/admin/skills/{chat}"),
        json!({"name": "Voice"})
    );
    assert_problem(&r, 409, "conflict");
    let r = send!(
        Method::PATCH,
        format!("/api/v2/admin/skills/{chat}"),
        json!({"name": "Live chat", "description": null})
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send!(
        Method::PATCH,
        format!("/api/v2/admin/skills/{voice}"),
        json!({"active": false})
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let page = e.get("/console/skills").await;
    let html = &page.html;
    assert!(row(html, &mail).contains("data-holders=\"0\""), "{html}");
    assert!(row(html, &mail).contains("Written"), "{html}");
    assert!(row(html, &chat.to_string()).contains(">Live chat</a>"));
    let voice_row = row(html, &voice.to_string());
    assert!(
        voice_row.contains("<td data-status>Inactive</td>"),
        "{voice_row}"
    );
    assert!(
        voice_row.contains("data-holders=\"2\""),
        "still held: {voice_row}"
    );
    assert!(voice_row.contains("Reactivate"), "{voice_row}");
}
