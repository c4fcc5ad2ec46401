//! The console's grid over plain HTTP: agents by active skills with each cell's proficiency
//! and level, its filters (search, holders of a skill, level, active) and sort, keyset pages
//! of 50 both ways, refusals of filters that mean nothing, who may edit, and the page's one
//! script served from the binary.

use super::console::signed_in;
use crate::helpers::*;
use serde_json::json;
use skillgrid_store::Role;

/// The rows of a grid page: the agents' ids, in order.
fn rows(html: &str) -> Vec<String> {
    html.split("<tr data-agent-id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The link to the `which` page (`next` or `previous`), if the page has one.
pub fn link(html: &str, which: &str) -> Option<String> {
    let marker = format!("data-page=\"{which}\" href=\"");
    let at = html.find(&marker)? + marker.len();
    let rest = &html[at..];
    Some(rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
}

#[tokio::test]
async fn the_grid_filters_sorts_and_pages_through_agents() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let voice = app.create_skill("Voice").await;
    let chat = app.create_skill("Chat").await;
    let retired = app.create_skill("Retired").await;
    let mut agents = Vec::new();
    for i in 0..55 {
        agents.push(app.create_agent(&format!("agent{i:02}@example.com")).await);
    }
    let (held, low) = (agents[3], agents[7]);
    let r = app
        .put(
            &format!("/api/v2/agents/users/{held}/skills"),
            &json!([{"skillId": voice, "proficiency": 80}, {"skillId": chat, "proficiency": "novice"},
                    {"skillId": retired, "proficiency": 100}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .put(
            &format!("/api/v2/agents/users/{low}/skills"),
            &json!([{"skillId": voice, "proficiency": 10}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .patch(
            &format!("/api/v2/admin/skills/{retired}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .patch(
            &format!("/api/v2/admin/users/{}", agents[54]),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let org = app.org.to_string();
    let (mut v, _) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;

    // The first page: 50 agents by name, the active skills as labelled columns, each cell
    // its proficiency, level name and colour, the row its ETag; a viewer cannot edit.
    let first = v.get("/console").await;
    assert_eq!(first.status, 200, "{}", first.html);
    let html = &first.html;
    let ids: Vec<String> = agents.iter().map(|a| a.to_string()).collect();
    assert_eq!(rows(html), ids[..50]);
    for hook in [
        "<caption>".to_string(),
        format!("<th scope=\"col\" data-skill-id=\"{voice}\">Voice</th>"),
        format!("<th scope=\"col\" data-skill-id=\"{chat}\">Chat</th>"),
        format!("<tr data-agent-id=\"{held}\" data-etag=\"&quot;1&quot;\""),
        "<td class=l3>80 <small>Advanced</small><".into(),
        "<td class=l1>25 <small>Novice</small><".into(),
        "<td class=l0>10<".into(),
        "<label for=\"q\">".into(),
        "<label for=\"skill\">".into(),
        "<label for=\"level\">".into(),
        "<label for=\"active\">".into(),
        "data-editable=\"false\"".into(),
        "data-role=\"viewer\"".into(),
    ] {
        assert!(html.contains(&hook), "{hook} missing:\n{html}");
    }
    assert!(
        !html.contains(&retired.to_string()),
        "inactive skills are no column"
    );
    // Its one script is the server's own file, allowed by the page's policy; none is inline.
    assert!(
        html.contains("<script src=\"/console/assets/grid.js\" defer>"),
        "{html}"
    );
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    let script = v.get("/console/assets/grid.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    let csp = first.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(link(html, "previous"), None);

    // Keyset pages: the next one has the last five (one of them inactive), and its previous
    // link leads back to the first.
    let next = link(html, "next").expect("a next page");
    let second = v.get(&next).await;
    assert_eq!(rows(&second.html), ids[50..]);
    assert!(
        second.html.contains("<em>(inactive)</em>"),
        "{}",
        second.html
    );
    assert_eq!(link(&second.html, "next"), None);
    let back = v.get(&link(&second.html, "previous").unwrap()).await;
    assert_eq!(rows(&back.html), ids[..50]);
    assert_eq!(link(&back.html, "previous"), None);

    // Filters, alone and together, kept in the paging links.
    let cases: [(String, Vec<&String>); 8] = [
        ("q=AGENT07".into(), vec![&ids[7]]),
        (
            "q=t5".into(),
            vec![&ids[50], &ids[51], &ids[52], &ids[53], &ids[54]],
        ),
        (format!("skill={voice}"), vec![&ids[3], &ids[7]]),
        (format!("skill={chat}&level=NOVICE"), vec![&ids[3]]),
        ("level=advanced".into(), vec![&ids[3]]),
        (format!("skill={voice}&level=expert"), vec![]),
        ("active=inactive".into(), vec![&ids[54]]),
        (
            "q=example&sort=email&active=inactive".into(),
            vec![&ids[54]],
        ),
    ];
    for (query, expected) in cases {
        let page = v.get(&format!("/console?{query}")).await;
        assert_eq!(page.status, 200, "{query}: {}", page.html);
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(rows(&page.html), expected, "{query}");
        assert_eq!(
            page.html.contains("data-empty"),
            expected.is_empty(),
            "{query}"
        );
    }
    let active = v.get("/console?active=active&q=agent").await;
    let next = link(&active.html, "next").unwrap();
    assert!(
        next.contains("active=active") && next.contains("q=agent"),
        "{next}"
    );
    assert_eq!(rows(&v.get(&next).await.html), ids[50..54]);

    // Sorted by e-mail (here the same order as by name), backwards from the end.
    let by_email = v.get("/console?sort=email").await;
    assert_eq!(rows(&by_email.html), ids[..50]);
    let tail = v.get(&link(&by_email.html, "next").unwrap()).await;
    assert!(link(&tail.html, "previous").unwrap().contains("sort=email"));

    // A filter that names nothing is refused, saying why.
    for (query, why) in [
        ("skill=nonsense", "not a skill"),
        ("level=guru", "not a level"),
        ("after=first", "not a page"),
    ] {
        let page = v.get(&format!("/console?{query}")).await;
        assert_eq!(page.status, 400, "{query}");
        assert!(page.html.contains(why), "{query}: {}", page.html);
    }

    // An editor's grid is editable.
    let (mut e, _) = signed_in(&app, &org, "edi@example.com", Role::Editor).await;
    let page = e.get("/console").await;
    assert!(
        page.html.contains("data-editable=\"true\""),
        "{}",
        page.html
    );
}

/// `GET path` as a browser asks for it: the session cookie and `Accept-Encoding: encoding`,
/// the answer read as sent (this client decompresses nothing).
async fn get_encoded(
    app: &TestApp,
    cookie: &str,
    path: &str,
    encoding: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(app.url(path))
        .header("cookie", format!("skillgrid_session={cookie}"))
        .header("accept-encoding", encoding)
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn console_pages_are_compressed_when_asked_and_the_api_never() {
    use std::io::Read;
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let skill = app.create_skill("Voice").await;
    for i in 0..30 {
        let agent = app.create_agent(&format!("agent{i:02}@example.com")).await;
        let r = app
            .put(
                &format!("/api/v2/agents/users/{agent}/skills"),
                &json!([{"skillId": skill, "proficiency": 80}]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let org = app.org.to_string();
    let (mut v, _) = signed_in(&app, &org, "ed@example.com", Role::Editor).await;
    let cookie = v.cookie.clone().unwrap();
    let plain = v.get("/console").await;
    assert_eq!(plain.status, 200);
    assert_eq!(header(&plain.headers, "content-encoding"), None);
    assert_eq!(rows(&plain.html).len(), 30);

    // gzip: the same page, in fewer bytes, and caches told that it depends on the header.
    let (status, headers, body) = get_encoded(&app, &cookie, "/console", "gzip").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert!(header(&headers, "vary")
        .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")));
    assert!(
        body.len() < plain.html.len() / 3,
        "{} of {} bytes",
        body.len(),
        plain.html.len()
    );
    let mut html = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut html)
        .unwrap();
    assert_eq!(html, plain.html);

    // Brotli when the browser prefers it; scripts too.
    let (_, headers, _) = get_encoded(&app, &cookie, "/console", "br;q=1, gzip;q=0.5").await;
    assert_eq!(header(&headers, "content-encoding"), Some("br"));
    let (status, headers, _) = get_encoded(&app, &cookie, "/console/assets/grid.js", "gzip").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));

    // A refusal is sent as it is; so is every answer of the JSON API, whoever asks.
    let (status, headers, _) = get_encoded(&app, &cookie, "/console?level=nope", "gzip").await;
    assert_eq!(status, 400);
    assert_eq!(header(&headers, "content-encoding"), None);
    let r = reqwest::Client::new()
        .get(app.url("/api/v2/audit?limit=1000"))
        .bearer_auth(&app.token)
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(r.headers(), "content-encoding"), None);
    assert!(header(r.headers(), "vary").is_none_or(|v| !v.contains("accept-encoding")));
    let sent = r.bytes().await.unwrap();
    let plain = app.get("/api/v2/audit?limit=1000").await;
    assert!(plain.text.len() > 1024, "{}", plain.text);
    assert_eq!(std::str::from_utf8(&sent).unwrap(), plain.text);
}
