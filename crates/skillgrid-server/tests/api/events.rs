//! The event feed over real HTTP: `GET /api/v2/events` pages every committed change in
//! sequence order, with the write's request id and the same diff the write answered; bad
//! parameters are refused precisely; `/events/stream` sends the same as Server-Sent Events,
//! pushes new ones as they are committed, and resumes from `Last-Event-ID` with no gap and no
//! repeat.

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use skillgrid_server::event_hub::StreamOptions;
use std::time::Duration;
use uuid::Uuid;

/// Every event the app's token sees, in pages of `limit`, following `nextCursor`.
async fn feed(app: &TestApp, limit: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/api/v2/events?limit={limit}");
    loop {
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        assert_eq!(
            r.body["nextAfter"],
            out.last().map_or(json!(0), |e| e["sequence"].clone())
        );
        match r.body["nextCursor"].as_str() {
            Some(c) => path = format!("/api/v2/events?limit={limit}&cursor={c}"),
            None => return out,
        }
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn sequences(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_feed_pages_every_change_in_sequence_order() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v2/agents/users/{agent}/skills"),
            Some(&app.token),
            Some(&json!([{"skillId": skill, "proficiency": 90}])),
            &[("x-request-id", "put-ana-1")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let answered = r.body["changes"].clone();
    let r = app
        .patch(
            &format!("/api/v2/agents/users/{agent}/skills"),
            &json!({"skills": [{"skillId": skill, "proficiency": 40}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let updated = r.body["changes"].clone();

    // The first start's client is the first event.
    let events = feed(&app, 2).await;
    assert_eq!(events[0]["data"]["action"], "created");
    assert_eq!(events[0]["actor"]["via"], "admin-command");
    let events = &events[1..];
    assert_eq!(
        types(events),
        [
            "skill.created",
            "agent.created",
            "assignment.changed",
            "assignment.changed"
        ]
    );
    assert_eq!(sequences(events), [2, 3, 4, 5]);
    let e = &events[2];
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort();
    assert_eq!(
        keys,
        [
            "actor",
            "data",
            "id",
            "occurredAt",
            "organization",
            "requestId",
            "sequence",
            "type"
        ]
    );
    assert_eq!(e["requestId"], "put-ana-1");
    assert_eq!(e["organization"], app.org.to_string());
    assert_eq!(e["actor"]["clientId"], app.client_id.to_string());
    assert_eq!(e["actor"]["via"], "api");
    assert!(crate::helpers::is_utc_millis(
        e["occurredAt"].as_str().unwrap()
    ));
    assert_eq!(e["data"]["agentId"], agent.to_string());
    assert_eq!(e["data"]["version"], 1);
    // The same diff the write answered.
    assert_eq!(e["data"]["changes"], answered);
    assert_eq!(events[3]["data"]["changes"]["updated"], updated["updated"]);
    assert_eq!(events[3]["data"]["version"], 2);
    assert_eq!(events[0]["data"]["after"]["name"], "Billing");
    assert_eq!(events[0]["data"]["before"], Value::Null);

    // From the middle, and by type.
    let r = app.get("/api/v2/events?after=3&limit=1").await;
    assert_eq!(sequences(r.body["items"].as_array().unwrap()), [4]);
    assert_eq!(r.body["nextAfter"], 4);
    let r = app
        .get("/api/v2/events?types=agent.created,skill.created")
        .await;
    assert_eq!(sequences(r.body["items"].as_array().unwrap()), [2, 3]);
    assert_eq!(r.body["nextCursor"], Value::Null);
    let r = app.get("/api/v2/events?after=5").await;
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(r.body["nextAfter"], 5);
}

#[tokio::test]
async fn writes_that_change_nothing_leave_no_event() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let body = json!([{"skillId": skill, "proficiency": 90}]);
    let r = app.put(&format!("{path}?dryRun=true"), &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .call(
            Method::PUT,
            &path,
            Some(&app.token),
            Some(&body),
            &[("if-match", "\"7\"")],
        )
        .await;
    assert_problem(&r, 412, "precondition_failed");
    let r = app
        .post(
            "/api/v2/agents/skills/bulk",
            &json!({"items": [{"agentId": agent, "skills": [{"skillId": skill}]},
                              {"agentId": Uuid::now_v7(), "skills": [{"skillId": skill}]}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        types(&feed(&app, 100).await),
        ["client.updated", "skill.created", "agent.created"]
    );
}

#[tokio::test]
async fn bad_parameters_are_refused_with_their_place() {
    let app = spawn_app().await;
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("after=-1", &[("query:after", "invalid_format")]),
        ("after=ten", &[("query:after", "invalid_format")]),
        ("limit=0", &[("query:limit", "out_of_range")]),
        (
            "limit=1001&after=x",
            &[
                ("query:limit", "out_of_range"),
                ("query:after", "invalid_format"),
            ],
        ),
        (
            "types=skill.created,agent.gone",
            &[("query:types", "invalid_format")],
        ),
        ("cursor=abc", &[("query:cursor", "invalid_format")]),
        ("after=1&cursor=2", &[("query:cursor", "not_allowed")]),
        (
            "since=2026-01-01T00:00:00Z",
            &[("query:since", "unknown_field")],
        ),
    ];
    for (q, want) in cases {
        for path in ["/api/v2/events", "/api/v2/events/stream"] {
            // The stream takes no page size and no cursor.
            if path.ends_with("stream") && (q.contains("limit") || q.contains("cursor")) {
                continue;
            }
            let r = app.get(&format!("{path}?{q}")).await;
            assert_problem(&r, 400, "validation_failed");
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            assert_eq!(r.entries(), want, "{path}?{q}");
        }
    }
    let r = app
        .call(
            Method::GET,
            "/api/v2/events/stream",
            Some(&app.token),
            None,
            &[("last-event-id", "yesterday")],
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [(
            "header:Last-Event-ID".to_string(),
            "invalid_format".to_string()
        )]
    );
}

#[tokio::test]
async fn the_feed_needs_the_audit_scope() {
    let app = spawn_app().await;
    let token = app
        .token_with(&["admin:agent:read", "admin:agent:write"])
        .await;
    for path in ["/api/v2/events", "/api/v2/events/stream"] {
        let r = app.call(Method::GET, path, Some(&token), None, &[]).await;
        assert_problem(&r, 403, "insufficient_scope");
        assert!(r.body["detail"]
            .as_str()
            .unwrap()
            .contains("admin:audit:read"));
        let r = app.call(Method::GET, path, None, None, &[]).await;
        assert_problem(&r, 401, "unauthorized");
    }
}

/// An open event stream, read message by message.
struct Stream {
    response: reqwest::Response,
    buffer: String,
    /// Comment lines seen so far.
    comments: usize,
}

/// One message: id, event, data.
type Message = (i64, String, Value);

impl Stream {
    async fn open(app: &TestApp, query: &str, last_id: Option<i64>) -> Stream {
        Stream::open_as(app, &app.token, query, last_id).await
    }

    async fn open_as(app: &TestApp, token: &str, query: &str, last_id: Option<i64>) -> Stream {
        let mut b = app
            .http
            .get(app.url(&format!("/api/v2/events/stream{query}")))
            .bearer_auth(token);
        if let Some(id) = last_id {
            b = b.header("last-event-id", id.to_string());
        }
        let response = b.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Stream {
            response,
            buffer: String::new(),
            comments: 0,
        }
    }

    /// The next message, within `wait`; `None` when none came.
    async fn next(&mut self, wait: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, None);
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(v).unwrap());
                    }
                }
                if let (Some(id), Some(event), Some(data)) = (id, event, data) {
                    return Some((id, event, data));
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

fn fast() -> skillgrid_server::StateOptions {
    skillgrid_server::StateOptions {
        streams: StreamOptions {
            keep_alive: Duration::from_millis(150),
            poll: Duration::from_millis(200),
            per_client: 2,
            ..StreamOptions::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn the_stream_resumes_from_the_last_event_id_with_no_gap_and_no_repeat() {
    let app = spawn_app_with(&fast()).await;
    let skills = [
        app.create_skill("Billing").await,
        app.create_skill("Sales").await,
    ];
    let mut agents = Vec::new();
    for i in 0..3 {
        agents.push(app.create_agent(&format!("{i}@example.com")).await);
    }
    // The first start's client, 2 skills, 3 agents so far.
    let mut s = Stream::open(&app, "", None).await;
    let mut got: Vec<Message> = Vec::new();
    for _ in 0..6 {
        got.push(s.next(Duration::from_secs(5)).await.expect("an event"));
    }
    assert_eq!(
        got.iter().map(|m| m.1.as_str()).collect::<Vec<_>>(),
        [
            "client.updated",
            "skill.created",
            "skill.created",
            "agent.created",
            "agent.created",
            "agent.created"
        ]
    );
    // New events come while the stream is open, promptly.
    let r = app
        .put(
            &format!("/api/v2/agents/users/{}/skills", agents[0]),
            &json!([{"skillId": skills[0], "proficiency": 10}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    got.push(s.next(Duration::from_secs(5)).await.expect("an event"));
    assert_eq!(got[6].1, "assignment.changed");
    assert_eq!(got[6].2["data"]["agentId"], agents[0].to_string());
    // Nothing more to send: keep-alive comments.
    assert!(s.next(Duration::from_millis(500)).await.is_none());
    assert!(s.comments >= 1, "keep-alive comments while idle");
    drop(s);

    // Meanwhile: a bulk write to every agent.
    let items: Vec<Value> = agents
        .iter()
        .map(|a| json!({"agentId": a, "skills": [{"skillId": skills[1], "proficiency": 70}]}))
        .collect();
    let r = app
        .post("/api/v2/agents/skills/bulk", &json!({"items": items}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let last = got.last().unwrap().0;
    let mut s = Stream::open(&app, "?after=1", Some(last)).await;
    while let Some(m) = s.next(Duration::from_millis(700)).await {
        got.push(m);
    }
    let ids: Vec<i64> = got.iter().map(|m| m.0).collect();
    assert_eq!(ids, (1..=10).collect::<Vec<i64>>(), "no gap, no repeat");
    // The messages are the feed's events, to the byte.
    let page = feed(&app, 100).await;
    let data: Vec<Value> = got.iter().map(|m| m.2.clone()).collect();
    assert_eq!(data, page);
    for (m, e) in got.iter().zip(&page) {
        assert_eq!(m.1, e["type"]);
    }
    drop(s);

    // `after` alone, and a type filter.
    let mut s = Stream::open(&app, "?after=7&types=assignment.changed", None).await;
    let m = s.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!((m.0, m.1.as_str()), (8, "assignment.changed"));
}

#[tokio::test]
async fn a_client_holds_a_few_streams_at_most() {
    let app = spawn_app_with(&fast()).await;
    let a = Stream::open(&app, "", None).await;
    let b = Stream::open(&app, "", None).await;
    let r = app.get("/api/v2/events/stream").await;
    assert_problem(&r, 429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    drop(a);
    // The place is given back once the server sees the connection gone.
    let mut open = None;
    for _ in 0..50 {
        let r = app
            .http
            .get(app.url("/api/v2/events/stream"))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            open = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(open.is_some(), "a closed stream's place is given back");
    drop(b);
}

/// A second server on the same database: what it commits reaches a stream of the first within
/// about the poll interval, with no request through the first to wake it.
#[tokio::test]
async fn a_stream_sees_what_another_server_on_the_database_commits() {
    let app = spawn_app_with(&fast()).await;
    let store = skillgrid_store::open(&app.db_url).await.unwrap();
    let state = skillgrid_server::build_state(store).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(skillgrid_server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let mut s = Stream::open(&app, "", None).await;
    let first = s.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.1, "client.updated");
    assert!(s.next(Duration::from_millis(300)).await.is_none());
    let r = app
        .http
        .post(format!("{other}/api/v2/admin/skills"))
        .bearer_auth(&app.token)
        .json(&json!({"name": "Billing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let started = std::time::Instant::now();
    let m = s
        .next(Duration::from_secs(5))
        .await
        .expect("the other server's event");
    assert_eq!((m.0, m.1.as_str()), (2, "skill.created"));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(stop);
}

/// Upkeep keeps events for the longer of the audit retention and three days, and those of an
/// organization that keeps its audit trail forever, forever.
#[tokio::test]
async fn upkeep_keeps_events_three_days_at_least() {
    use skillgrid_core::timestamp::Timestamp;
    use skillgrid_server::upkeep::prune;
    const DAY: i64 = 24 * 3600 * 1000;
    let app = spawn_app().await;
    app.create_skill("Billing").await;
    let now = Timestamp::now().0;
    // No retention: kept forever.
    assert_eq!(
        prune(&app.store, Timestamp(now + 400 * DAY))
            .await
            .unwrap()
            .events,
        0
    );
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"auditRetentionDays": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = count(&app).await;
    assert_eq!(before, 3);
    // Two days on: older than the retention, younger than three days.
    assert_eq!(
        prune(&app.store, Timestamp(now + 2 * DAY))
            .await
            .unwrap()
            .events,
        0
    );
    assert_eq!(count(&app).await, before);
    let p = prune(&app.store, Timestamp(now + 3 * DAY + 60_000))
        .await
        .unwrap();
    assert_eq!(p.events, before as u64);
    assert_eq!(count(&app).await, 0);
    // Numbers go on.
    let r = app.get("/api/v2/events").await;
    assert_eq!(r.body["nextAfter"], 0);
    app.create_skill("Sales").await;
    let r = app.get("/api/v2/events").await;
    assert_eq!(r.body["items"][0]["sequence"], before as i64 + 1);
}

async fn count(app: &TestApp) -> usize {
    let r = app.get("/api/v2/events?limit=1000").await;
    r.body["items"].as_array().unwrap().len()
}

/// Disabling the client of an open stream ends the stream.
#[tokio::test]
async fn a_stream_ends_when_its_client_is_disabled() {
    let app = spawn_app_with(&fast()).await;
    let c = skillgrid_server::bootstrap::create_client(
        &app.store,
        &app.org.to_string(),
        "follower",
        "admin:audit:read",
    )
    .await
    .unwrap();
    let token = app.token_for(c.client_id, &c.client_secret).await;
    let mut s = Stream::open_as(&app, &token, "", None).await;
    let mut seen = 0;
    while s.next(Duration::from_millis(400)).await.is_some() {
        seen += 1;
    }
    assert_eq!(seen, 2, "the first start's client and the follower's");
    let r = app
        .patch(
            &format!("/api/v2/admin/clients/{}", c.client_id),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The stream ends: its body finishes, rather than sending the client's event.
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match s.response.chunk().await {
                Ok(Some(c)) => assert!(
                    !String::from_utf8_lossy(&c).contains("id: "),
                    "no event after the client was disabled"
                ),
                _ => return,
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the stream ended");
}
