//! Large bulk bodies (64 KiB and more), whose items the server writes while it is still
//! validating the rest of the body: they must answer exactly as a small body would, write
//! nothing when anything in them is wrong, however late, and honour `mode` and `atomic`
//! wherever they stand in the body.

use crate::helpers::{spawn_app, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

const BULK: &str = "/api/v2/agents/skills/bulk";
const AGENTS: usize = 110;
const SKILLS: usize = 10;

/// An organization with room for many requests, `AGENTS` agents and `SKILLS` skills.
async fn fixture(app: &TestApp) -> (Vec<Uuid>, Vec<Uuid>) {
    app.lift_rate_limit().await;
    super::bulk::fixture(app, AGENTS, SKILLS).await
}

/// Every agent given every skill at `proficiency`, as bulk items.
pub(crate) fn items(agents: &[Uuid], skills: &[Uuid], proficiency: Value) -> Vec<Value> {
    agents
        .iter()
        .map(|a| {
            let skills: Vec<Value> = skills
                .iter()
                .map(|s| json!({"skillId": s, "proficiency": proficiency}))
                .collect();
            json!({"agentId": a, "skills": skills})
        })
        .collect()
}

/// Posts `text` (a body written out by hand, so that its keys keep their order), checking
/// that it is large enough to be written while it is validated.
async fn post_text(app: &TestApp, text: String) -> crate::helpers::Resp {
    assert!(text.len() >= 64 * 1024, "only {} bytes", text.len());
    app.raw(
        reqwest::Method::POST,
        BULK,
        Some("application/json"),
        text.into_bytes(),
        &[],
    )
    .await
}

async fn post(app: &TestApp, body: &Value) -> crate::helpers::Resp {
    post_text(app, body.to_string()).await
}

/// What must not change when a write is refused: every agent's set, version and history, and
/// the audit log.
async fn everything(app: &TestApp, agents: &[Uuid]) -> Vec<(Value, Value)> {
    let mut v = Vec::new();
    for a in agents {
        v.push(app.snapshot(*a).await);
    }
    let audit = app.get("/api/v2/audit?limit=1000").await;
    v.push((audit.body, Value::Null));
    v
}

#[tokio::test]
async fn a_large_bulk_answers_as_a_small_one_does() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app).await;
    let body =
        json!({"mode": "merge", "atomic": true, "items": items(&agents, &skills, json!(40))});
    let r = post(&app, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let n = (AGENTS * SKILLS) as u64;
    assert_eq!(
        r.body["summary"],
        json!({"items": AGENTS, "succeeded": AGENTS, "failed": 0, "added": n, "updated": 0, "removed": 0, "unchanged": 0})
    );
    let results = r.body["results"].as_array().unwrap();
    for (i, (res, a)) in results.iter().zip(&agents).enumerate() {
        assert_eq!(
            (
                &res["index"],
                &res["agentId"],
                &res["status"],
                &res["version"]
            ),
            (&json!(i), &json!(a), &json!(200), &json!(1))
        );
        assert_eq!(res["changes"]["added"].as_array().unwrap().len(), SKILLS);
    }
    // Its audit entries: one per assignment, each with the request, the client, the agent,
    // the skill and the value written.
    let request_id = r.header("x-request-id").unwrap().to_string();
    let audit = app.get("/api/v2/audit?limit=1000").await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1000);
    for (k, e) in entries.iter().enumerate() {
        let (agent, skill) = (agents[k / SKILLS], skills[k % SKILLS]);
        assert_eq!(
            (
                &e["requestId"],
                &e["clientId"],
                &e["agentId"],
                &e["skillId"],
                &e["action"]
            ),
            (
                &json!(request_id),
                &json!(app.client_id),
                &json!(agent),
                &json!(skill),
                &json!("added")
            ),
            "{e}"
        );
        assert_eq!(
            (&e["before"], &e["after"]["proficiency"]),
            (&Value::Null, &json!(40))
        );
    }
    // A re-write with levels by name: every assignment updated, before and after shown.
    let body = json!({"items": items(&agents, &skills, json!("expert"))});
    let r = post(&app, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["summary"]["updated"], n);
    let updated = &r.body["results"][AGENTS - 1]["changes"]["updated"][SKILLS - 1];
    assert_eq!(updated["before"]["proficiency"], 40);
    assert_eq!(updated["after"]["proficiency"], 100);
    assert_eq!(updated["after"]["level"], "Expert");
    let set = app.skills_of(agents[AGENTS - 1]).await;
    assert_eq!(set["version"], 2);
    let audit = app.get("/api/v2/audit?limit=1000").await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1000);
    // The same body again changes nothing.
    let r = post(&app, &body).await;
    assert_eq!(r.body["summary"]["unchanged"], n, "{}", r.text);
    assert_eq!(app.skills_of(agents[0]).await["version"], 2);
}

/// Mistakes anywhere in a large atomic body, the last item included, are all reported and
/// nothing is written, although the items before them were being written already.
#[tokio::test]
async fn a_late_mistake_in_a_large_atomic_bulk_writes_nothing_and_every_error_is_reported() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app).await;
    post(&app, &json!({"items": items(&agents, &skills, json!(10))})).await;
    let before = everything(&app, &agents).await;
    let mut list = items(&agents, &skills, json!(60));
    list[3]["skills"][1]["proficiency"] = json!("Expret");
    list[AGENTS - 1]["skills"][SKILLS - 1]["proficiency"] = json!(190);
    let r = post(&app, &json!({"items": list})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.entries(),
        vec![
            (
                "pointer:/items/3/skills/1/proficiency".into(),
                "unknown_level".into()
            ),
            (
                format!(
                    "pointer:/items/{}/skills/{}/proficiency",
                    AGENTS - 1,
                    SKILLS - 1
                ),
                "out_of_range".into()
            ),
        ]
    );
    assert_eq!(everything(&app, &agents).await, before);
    // An agent that does not exist, and a stale ifMatch: found by the store, late in the write.
    let mut list = items(&agents, &skills, json!(60));
    let ghost = Uuid::now_v7();
    list[AGENTS - 2]["agentId"] = json!(ghost);
    list[AGENTS - 1]["ifMatch"] = json!("\"7\"");
    let r = post(&app, &json!({"items": list})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.entries(),
        vec![
            (
                format!("pointer:/items/{}/agentId", AGENTS - 2),
                "unknown_agent".into()
            ),
            (
                format!("pointer:/items/{}/ifMatch", AGENTS - 1),
                "precondition_failed".into()
            ),
        ]
    );
    assert_eq!(everything(&app, &agents).await, before);
    // The same agent twice.
    let mut list = items(&agents, &skills, json!(60));
    list[AGENTS - 1]["agentId"] = json!(agents[0]);
    let r = post(&app, &json!({"items": list})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.entries(),
        vec![(
            format!("pointer:/items/{}/agentId", AGENTS - 1),
            "duplicate_agent".into()
        )]
    );
    assert_eq!(everything(&app, &agents).await, before);
}

/// `mode` and `atomic` after `items` decide as they do before it.
#[tokio::test]
async fn mode_and_atomic_after_the_items_of_a_large_bulk_still_decide() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app).await;
    post(&app, &json!({"items": items(&agents, &skills, json!(10))})).await;
    // Replace, said last: each agent keeps only the one skill listed.
    let list: Vec<Value> = agents
        .iter()
        .map(|a| {
            json!({"agentId": a, "skills": [{"skillId": skills[0], "proficiency": 70}],
            "ifMatch": "\"1\""})
        })
        .collect();
    // Made large with whitespace, which JSON allows between any two tokens.
    let list = Value::Array(list);
    let text = format!(
        "{{\"items\": {list}, {}\"mode\": \"replace\"}}",
        " ".repeat(64 * 1024)
    );
    let r = post_text(&app, text).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let n = AGENTS as u64;
    assert_eq!(r.body["summary"]["removed"], n * (SKILLS as u64 - 1));
    assert_eq!(r.body["summary"]["updated"], n);
    let set = app.skills_of(agents[5]).await;
    assert_eq!(set["skills"].as_array().unwrap().len(), 1);
    // Not atomic, said last: the good items are written, the bad one is reported alone.
    let mut list = items(&agents, &skills, json!(20));
    list[7]["skills"][0]["proficiency"] = json!(-1);
    let text = format!("{{\"items\": {}, \"atomic\": false}}", Value::Array(list));
    let r = post_text(&app, text).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["summary"]["failed"], 1);
    assert_eq!(r.body["results"][7]["status"], 400);
    assert_eq!(r.body["results"][8]["status"], 200);
    assert_eq!(
        app.skills_of(agents[8]).await["skills"]
            .as_array()
            .unwrap()
            .len(),
        SKILLS
    );
    assert_eq!(app.skills_of(agents[7]).await["version"], 2);
}

/// A large dry run shows every change and writes none.
#[tokio::test]
async fn a_large_dry_run_writes_nothing() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app).await;
    let before = everything(&app, &agents).await;
    let text = json!({"items": items(&agents, &skills, json!(30))}).to_string();
    assert!(text.len() >= 64 * 1024);
    let r = app
        .raw(
            reqwest::Method::POST,
            &format!("{BULK}?dryRun=true"),
            Some("application/json"),
            text.into_bytes(),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["dryRun"], true);
    assert_eq!(r.body["summary"]["added"], (AGENTS * SKILLS) as u64);
    assert_eq!(r.body["results"][0]["version"], 0);
    assert_eq!(everything(&app, &agents).await, before);
}

/// A large bulk with an `Idempotency-Key`: its answer, written beside the write, is kept whole
/// and replayed byte for byte, with nothing written again.
#[tokio::test]
async fn a_large_bulk_with_an_idempotency_key_is_replayed_byte_for_byte() {
    let app = spawn_app().await;
    let (agents, skills) = fixture(&app).await;
    let body = json!({"items": items(&agents, &skills, json!(55))}).to_string();
    assert!(body.len() >= 64 * 1024);
    let key = [("Idempotency-Key", "large-import-1")];
    let send = || {
        app.raw(
            reqwest::Method::POST,
            BULK,
            Some("application/json"),
            body.clone().into_bytes(),
            &key,
        )
    };
    let first = send().await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("idempotency-replayed"), None);
    let n = (AGENTS * SKILLS) as u64;
    assert_eq!(first.body["summary"]["added"], json!(n));
    let after = everything(&app, &agents).await;

    let again = send().await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.text, first.text);
    assert_eq!(
        everything(&app, &agents).await,
        after,
        "the replay wrote something"
    );
}
