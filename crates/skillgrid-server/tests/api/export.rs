//! `GET /agents/skills/export`: the same assignments as the per-skill listings, in one
//! answer, as of one moment.

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use skillgrid_core::model::NewAgent;
use skillgrid_core::timestamp::Timestamp;
use uuid::Uuid;

const EXPORT: &str = "/api/v2/agents/skills/export";
const CSV_HEADER: &str =
    "agentId,agentEmail,skillId,skillName,proficiency,level,effectiveDate,expirationDate\n";

/// `n` agents `a0000@example.com`, … made through the store (quicker than one request each).
async fn agents(app: &TestApp, n: usize) -> Vec<Uuid> {
    let mut out = Vec::new();
    for i in 0..n {
        let new = NewAgent {
            email: format!("a{i:04}@example.com"),
            name: "A".into(),
            external_id: None,
        };
        let a = app
            .store
            .create_agent(app.org, &new, Timestamp::now())
            .await
            .unwrap();
        out.push(a.id.get());
    }
    out
}

/// Gives every agent every skill at `proficiency`, in one bulk request.
async fn give_all(app: &TestApp, agents: &[Uuid], skills: &[Uuid], proficiency: i64) {
    let items = super::bulk_large::items(agents, skills, json!(proficiency));
    let r = app
        .post(
            "/api/v2/agents/skills/bulk",
            &json!({"mode": "replace", "items": items}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

/// The rest of an NDJSON answer whose first bytes were `body`, as rows.
async fn read_on(res: &mut reqwest::Response, mut body: Vec<u8>) -> Vec<Value> {
    while let Some(chunk) = res.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    ndjson(std::str::from_utf8(&body).unwrap())
}

#[tokio::test]
async fn the_export_holds_what_the_per_skill_listings_hold_in_one_answer() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let billing = app.create_skill("Billing").await;
    let sales = app.create_skill("sales, \"east\"").await;
    let spanish = app.create_skill("Spanish").await;
    let people = agents(&app, 6).await;
    for (i, a) in people.iter().enumerate() {
        let mut set = vec![json!({"skillId": billing, "proficiency": 10 * i as i64,
                                  "expirationDate": "2030-01-01T00:00:00Z"})];
        if i % 2 == 0 {
            set.push(json!({"skillId": sales, "proficiency": "Expert",
                            "effectiveDate": "2026-01-01T10:00:00.5Z"}));
        }
        if i == 5 {
            set.push(json!({"skillId": spanish, "proficiency": 30}));
        }
        let r = app
            .put(&format!("/api/v2/agents/users/{a}/skills"), &json!(set))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // An inactive agent and an inactive skill: in the export unless `active=true`.
    let r = app
        .patch(
            &format!("/api/v2/admin/users/{}", people[1]),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .patch(
            &format!("/api/v2/admin/skills/{spanish}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // What the per-skill listings say, as export rows, by e-mail then skill name.
    let mut expected = Vec::new();
    for skill in [billing, sales, spanish] {
        let name = app.get(&format!("/api/v2/admin/skills/{skill}")).await.body["name"].clone();
        let holders = app
            .get(&format!("/api/v2/admin/skills/{skill}/agents?limit=1000"))
            .await;
        for h in holders.body["items"].as_array().unwrap() {
            let a = &h["assignment"];
            assert_eq!(a["skillName"], name);
            expected.push(json!({
                "agentId": h["agentId"], "agentEmail": h["email"],
                "skillId": a["skillId"], "skillName": a["skillName"],
                "proficiency": a["proficiency"], "level": a["level"],
                "effectiveDate": a["effectiveDate"], "expirationDate": a["expirationDate"],
            }));
        }
    }
    let key = |v: &Value| {
        (
            v["agentEmail"].as_str().unwrap().to_lowercase(),
            v["skillName"].as_str().unwrap().to_lowercase(),
        )
    };
    expected.sort_by_key(key);
    assert_eq!(expected.len(), 10);

    let events = app.get("/api/v2/events?limit=1000").await;
    let last_event = events.body["items"].as_array().unwrap().last().unwrap()["sequence"].clone();

    let r = app.get(&format!("{EXPORT}?format=ndjson")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(
        r.header("skillgrid-event-sequence"),
        Some(&*last_event.to_string())
    );
    assert!(crate::helpers::is_utc_millis(
        r.header("skillgrid-snapshot-at").unwrap()
    ));
    assert_eq!(ndjson(&r.text), expected);

    // The Accept header chooses the format when the query does not.
    let by_accept = app
        .call(
            Method::GET,
            EXPORT,
            Some(&app.token),
            None,
            &[("accept", "application/x-ndjson")],
        )
        .await;
    assert_eq!(by_accept.text, r.text);

    // CSV by default: the same rows, quoted where a field needs it.
    let csv = app.get(EXPORT).await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "agentId,agentEmail,skillId,skillName,proficiency,level,effectiveDate,expirationDate"
    );
    assert_eq!(lines.len(), 11, "{}", csv.text);
    assert_eq!(
        lines[2],
        format!(
            "{},a0000@example.com,{sales},\"sales, \"\"east\"\"\",100,Expert,2026-01-01T10:00:00.500Z,",
            people[0]
        )
    );
    assert_eq!(
        lines[1],
        format!(
            "{},a0000@example.com,{billing},Billing,0,,,2030-01-01T00:00:00.000Z",
            people[0]
        )
    );

    // active=true: only active agents' assignments of active skills; false: the others.
    let active = ndjson(
        &app.get(&format!("{EXPORT}?format=ndjson&active=true"))
            .await
            .text,
    );
    let inactive = ndjson(
        &app.get(&format!("{EXPORT}?format=ndjson&active=false"))
            .await
            .text,
    );
    let off = |v: &Value| v["agentId"] == json!(people[1]) || v["skillId"] == json!(spanish);
    let (want_inactive, want_active): (Vec<Value>, Vec<Value>) =
        expected.iter().cloned().partition(off);
    assert_eq!(active, want_active);
    assert_eq!(inactive, want_inactive);
    assert_eq!(inactive.len(), 2);
}

#[tokio::test]
async fn every_mistake_of_the_query_is_reported_at_once_and_the_scope_is_checked() {
    let app = spawn_app().await;
    let r = app
        .get(&format!("{EXPORT}?format=xml&active=maybe&limit=5"))
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [
            ("query:format".to_string(), "invalid_format".to_string()),
            ("query:active".to_string(), "invalid_type".to_string()),
            ("query:limit".to_string(), "unknown_field".to_string()),
        ]
    );
    let token = app.token_with(&["admin:skill:read"]).await;
    let r = app.call(Method::GET, EXPORT, Some(&token), None, &[]).await;
    assert_problem(&r, 403, "insufficient_scope");
    let r = app.call(Method::GET, EXPORT, None, None, &[]).await;
    assert_problem(&r, 401, "unauthorized");
}

/// A bulk write committed while an export is being read (slowly: a chunk, then the write,
/// then the rest) is not in it at all; the next export has all of it.
#[tokio::test]
async fn a_bulk_write_during_an_export_is_in_it_entirely_or_not_at_all() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let mut skills = Vec::new();
    for i in 0..20 {
        skills.push(app.create_skill(&format!("Skill {i:02}")).await);
    }
    let people = agents(&app, 1000).await;
    give_all(&app, &people, &skills, 10).await;
    let before = app
        .get(EXPORT)
        .await
        .header("skillgrid-event-sequence")
        .map(str::to_string)
        .unwrap();

    let mut res = opened(&app).await;
    let sequence = res.headers()["skillgrid-event-sequence"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(sequence, before);
    let body = res.chunk().await.unwrap().unwrap().to_vec();

    // Every assignment of every agent changes, in one transaction, while the export is open.
    give_all(&app, &people, &skills, 20).await;

    let rows = read_on(&mut res, body).await;
    assert_eq!(rows.len(), 20_000);
    let stale = rows.iter().filter(|r| r["proficiency"] == 10).count();
    assert_eq!(stale, rows.len(), "the export holds part of a write");

    let after = app.get(&format!("{EXPORT}?format=ndjson")).await;
    let after_sequence: i64 = after
        .header("skillgrid-event-sequence")
        .unwrap()
        .parse()
        .unwrap();
    assert!(after_sequence > sequence.parse().unwrap());
    let rows = ndjson(&after.text);
    assert_eq!(rows.len(), 20_000);
    assert!(rows.iter().all(|r| r["proficiency"] == 20));
    // The event feed from the export's sequence holds the write: one event per agent.
    let since = app
        .get(&format!("/api/v2/events?after={sequence}&limit=1000"))
        .await;
    assert_eq!(since.body["items"].as_array().unwrap().len(), 1000);
}

/// An organization with `agents` agents each holding `skills` skills at `proficiency`: an
/// export of it (over a megabyte a part) is far larger than what the channel, the server's
/// socket and the client's unread one hold together, so a client that reads nothing keeps
/// its reader waiting.
async fn filled(app: &TestApp, agents_n: usize, skills_n: usize, proficiency: i64) -> Vec<Uuid> {
    app.lift_rate_limit().await;
    let mut skills = Vec::new();
    for i in 0..skills_n {
        // Long names make the parts larger, so that fewer of them fit in the sockets.
        let name = format!("Skill {i:02} {}", "x".repeat(90));
        skills.push(app.create_skill(&name).await);
    }
    let people = agents(app, agents_n).await;
    give_all(app, &people, &skills, proficiency).await;
    people
}

fn exports(per_org: usize, stall: std::time::Duration) -> skillgrid_server::StateOptions {
    skillgrid_server::StateOptions {
        exports: skillgrid_server::ExportLimits {
            per_org,
            total: 8,
            stall,
        },
        ..Default::default()
    }
}

/// An NDJSON export answered 200, its body not read yet: while it is not, a large export holds
/// its place and its reader waits.
async fn opened(app: &TestApp) -> reqwest::Response {
    let res = app
        .http
        .get(app.url(&format!("{EXPORT}?format=ndjson")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res
}

/// Asks for an export that streams nothing (every assignment is active) until one is let in,
/// each refusal being the documented 429; the number of refusals.
async fn until_let_in(app: &TestApp) -> usize {
    let probe = format!("{EXPORT}?active=false");
    for refused in 0..600 {
        let r = app.get(&probe).await;
        if r.status == 200 {
            assert_eq!(r.text, CSV_HEADER);
            return refused;
        }
        assert_problem(&r, 429, "rate_limited");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the export's place was never given back");
}

/// Each export holds a connection: an organization's beyond its share are refused with 429
/// and `Retry-After` (nothing read), another organization's are not, and the place comes
/// back once the held export's client goes away.
#[tokio::test]
async fn exports_beyond_an_organizations_share_are_refused_until_one_ends() {
    let app = spawn_app_with(&exports(1, std::time::Duration::from_secs(60))).await;
    filled(&app, 2000, 40, 10).await;
    let held = opened(&app).await;

    let r = app.get(&format!("{EXPORT}?active=false")).await;
    assert_problem(&r, 429, "rate_limited");
    assert_eq!(r.header("retry-after"), Some("10"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("organization already runs 1 exports"),
        "{detail}"
    );

    // Another organization is not held up by this one's exports.
    let (_, other) = app.other_org("other").await;
    let theirs = app.call(Method::GET, EXPORT, Some(&other), None, &[]).await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert_eq!(theirs.text, CSV_HEADER);

    // The client goes away: its reader stops at its next part and gives the place back.
    drop(held);
    until_let_in(&app).await;
}

/// A client that stops reading loses its export after the stall limit: the reader gives up,
/// its connection is closed and its place given back (a new export is let in), and the body
/// the client reads later ends broken, never as a shorter export that looks whole.
#[tokio::test]
async fn an_export_whose_client_stops_reading_ends_and_gives_its_place_back() {
    let app = spawn_app_with(&exports(1, std::time::Duration::from_millis(200))).await;
    filled(&app, 2000, 40, 10).await;
    let mut held = opened(&app).await;

    until_let_in(&app).await;

    let mut rows = 0;
    let ended = loop {
        match held.chunk().await {
            Ok(Some(c)) => rows += c.iter().filter(|b| **b == b'\n').count(),
            Ok(None) => break Ok(rows),
            Err(e) => break Err(e),
        }
    };
    assert!(ended.is_err(), "the stalled export ended whole");
    assert!(rows < 80_000, "{rows}");
}

/// The `level` column names levels by the scale of the export's own moment: levels renamed
/// while an export is read are not in it, and are in the next one.
#[tokio::test]
async fn the_level_column_is_named_by_the_scale_of_the_snapshot() {
    let app = spawn_app().await;
    filled(&app, 1000, 20, 80).await;
    let mut res = opened(&app).await;
    let body = res.chunk().await.unwrap().unwrap().to_vec();

    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"proficiencyScale": {"levels": {
                "Novice": null, "Intermediate": null, "Advanced": null, "Expert": null,
                "Bronze": 0, "Gold": 60}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let rows = read_on(&mut res, body).await;
    assert_eq!(rows.len(), 20_000);
    assert!(
        rows.iter().all(|r| r["level"] == "Advanced"),
        "{}",
        rows[19_999]
    );

    let after = ndjson(&app.get(&format!("{EXPORT}?format=ndjson")).await.text);
    assert_eq!(after.len(), 20_000);
    assert!(after.iter().all(|r| r["level"] == "Gold"));
}
