//! Writes that succeed but look like a mistake: the payloads integrators from other products
//! send (a 1–5 rank, Genesys Cloud's 4.5, an empty set "to see if it is accepted"), answered
//! with `warnings`, refused under the `reject` setting, silent under `off`.

use super::bulk::fixture;
use crate::helpers::*;
use serde_json::{json, Value};
use uuid::Uuid;

const SETTINGS: &str = "/api/v2/organizations/settings";
const BULK: &str = "/api/v2/agents/skills/bulk";

fn skills_path(agent: Uuid) -> String {
    format!("/api/v2/agents/users/{agent}/skills")
}

/// The warnings of an answer as (pointer, code) pairs.
fn warned(v: &Value) -> Vec<(String, String)> {
    v["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| {
                    (
                        w["pointer"].as_str().unwrap_or("-").to_string(),
                        w["code"].as_str().unwrap_or("-").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

/// `PUT …/skills` of `agent`.
async fn put_set(app: &TestApp, agent: Uuid, body: Value) -> Resp {
    app.put(&skills_path(agent), &body).await
}

async fn set_policy(app: &TestApp, policy: &str) {
    let r = app.patch(SETTINGS, &json!({"warnings": policy})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["warnings"], policy);
}

#[tokio::test]
async fn five_and_three_of_a_hundred_are_written_with_a_warning_at_each() {
    let app = spawn_app().await;
    let (agents, s) = fixture(&app, 1, 2).await;
    let body = json!([{"skillId": s[0], "proficiency": 5}, {"skillId": s[1], "proficiency": 3}]);

    // The dry run says it first, and writes nothing.
    let dry = app
        .put(&format!("{}?dryRun=true", skills_path(agents[0])), &body)
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.body["dryRun"], true);
    assert_eq!(
        warned(&dry.body),
        pairs(&[
            ("/0/proficiency", "other_scale"),
            ("/1/proficiency", "other_scale")
        ])
    );
    assert_eq!(app.skills_of(agents[0]).await["version"], 0);

    let r = app.put(&skills_path(agents[0]), &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["warnings"], dry.body["warnings"]);
    let w = &r.body["warnings"][0];
    assert_eq!(
        w["detail"],
        "5 on this organization's 0–100 scale is below Novice (25); every proficiency of this set lies within 0–5, as on another product's 1–5 scale"
    );
    assert_eq!(w["hint"], "if you meant 5 of 5, send `Expert` or 100");
    assert_eq!(w["received"], 5);
    assert_eq!(
        w["expected"],
        "an integer from 0 to 100, or one of Novice, Intermediate, Advanced, Expert"
    );
    assert_eq!(
        r.body["warnings"][1]["hint"],
        "if you meant 3 of 5, send 60 (level Intermediate)"
    );
    // Written as sent: a warning is not an error.
    let stored = app.skills_of(agents[0]).await;
    assert_eq!(stored["version"], 1);
    let mut got: Vec<i64> = stored["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["proficiency"].as_i64().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, [3, 5]);

    // Wrapped, the pointers follow the body; a GET carries no warnings.
    let r = put_set(
        &app,
        agents[0],
        json!({"skills": [{"skillId": s[0], "proficiency": 4}]}),
    )
    .await;
    assert_eq!(
        warned(&r.body),
        pairs(&[("/skills/0/proficiency", "other_scale")])
    );
    assert!(app.skills_of(agents[0]).await.get("warnings").is_none());
}

#[tokio::test]
async fn genesys_4_5_is_refused_with_what_it_is_on_this_scale() {
    let app = spawn_app().await;
    let (agents, s) = fixture(&app, 1, 1).await;
    let before = app.snapshot(agents[0]).await;
    let r = put_set(
        &app,
        agents[0],
        json!([{"skillId": s[0], "proficiency": 4.5}]),
    )
    .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        pairs(&[("pointer:/0/proficiency", "invalid_type")])
    );
    assert_eq!(
        r.body["errors"][0]["hint"],
        "4.5 looks like Genesys Cloud's 0.0–5.0 scale: 4.5 of 5 is 90 on this scale; send 90 (level Advanced)"
    );
    assert_eq!(app.snapshot(agents[0]).await, before);
}

#[tokio::test]
async fn a_value_below_the_lowest_level_warns_unless_the_set_names_levels() {
    let app = spawn_app().await;
    let (agents, s) = fixture(&app, 1, 2).await;
    let r = app
        .patch(
            &skills_path(agents[0]),
            &json!([{"skillId": s[0], "proficiency": 10}, {"skillId": s[1], "proficiency": 80}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        warned(&r.body),
        pairs(&[("/0/proficiency", "below_lowest_level")])
    );
    assert!(r.body["warnings"][0]["detail"]
        .as_str()
        .unwrap()
        .starts_with(
            "10 is below the lowest level of this organization's 0–100 scale, Novice (25)"
        ));
    // A level name in the same set: the sender knows this scale.
    let r = app
        .patch(
            &skills_path(agents[0]),
            &json!([{"skillId": s[0], "proficiency": 11}, {"skillId": s[1], "proficiency": "expert"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("warnings").is_none(), "{}", r.text);
    // The single-skill PUT: its proficiency is at the root.
    let r = app
        .put(
            &format!("{}/{}", skills_path(agents[0]), s[1]),
            &json!({"proficiency": 2}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(warned(&r.body), pairs(&[("/proficiency", "other_scale")]));
}

#[tokio::test]
async fn replacing_a_set_with_nothing_says_how_many_skills_went() {
    let app = spawn_app().await;
    let (agents, s) = fixture(&app, 1, 2).await;
    let r = put_set(
        &app,
        agents[0],
        json!([{"skillId": s[0], "proficiency": 50}, {"skillId": s[1], "proficiency": "Expert"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("warnings").is_none(), "{}", r.text);

    let dry = app
        .put(
            &format!("{}?dryRun=true", skills_path(agents[0])),
            &json!([]),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(warned(&dry.body), pairs(&[("", "emptied_set")]));
    assert_eq!(
        dry.body["warnings"][0]["detail"],
        "this replacement lists no skills, so it would remove all 2 skills the agent held"
    );
    assert_eq!(
        app.skills_of(agents[0]).await["skills"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let r = put_set(&app, agents[0], json!({"skills": []})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(warned(&r.body), pairs(&[("/skills", "emptied_set")]));
    assert_eq!(
        r.body["warnings"][0]["detail"],
        "this replacement lists no skills, so it removed all 2 skills the agent held"
    );
    assert_eq!(r.body["changes"]["removed"].as_array().unwrap().len(), 2);
    // Nothing left to remove: nothing to say.
    let r = put_set(&app, agents[0], json!([])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("warnings").is_none(), "{}", r.text);
}

#[tokio::test]
async fn bulk_results_carry_their_own_warnings() {
    let app = spawn_app().await;
    let (agents, s) = fixture(&app, 3, 2).await;
    let r = put_set(
        &app,
        agents[1],
        json!([{"skillId": s[0], "proficiency": 50}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = json!({"mode": "replace", "items": [
        {"agentId": agents[0], "skills": [{"skillId": s[0], "proficiency": 5}, {"skillId": s[1], "proficiency": 3}]},
        {"agentId": agents[1], "skills": []},
        {"agentId": agents[2], "skills": [{"skillId": s[0], "proficiency": "Advanced"}]}
    ]});
    for dry_run in [true, false] {
        let r = app.post(&format!("{BULK}?dryRun={dry_run}"), &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let results = r.body["results"].as_array().unwrap();
        assert_eq!(
            warned(&results[0]),
            pairs(&[
                ("/items/0/skills/0/proficiency", "other_scale"),
                ("/items/0/skills/1/proficiency", "other_scale")
            ])
        );
        assert_eq!(
            results[0]["warnings"][0]["hint"],
            "if you meant 5 of 5, send `Expert` or 100"
        );
        assert_eq!(
            warned(&results[1]),
            pairs(&[("/items/1/skills", "emptied_set")])
        );
        let verb = if dry_run { "would remove" } else { "removed" };
        assert_eq!(
            results[1]["warnings"][0]["detail"],
            format!("this replacement lists no skills, so it {verb} all 1 skill the agent held")
        );
        assert!(results[2].get("warnings").is_none(), "{}", r.text);
    }
    assert_eq!(app.skills_of(agents[1]).await["skills"], json!([]));
}

#[tokio::test]
async fn one_skill_to_many_agents_is_judged_as_one_write() {
    let app = spawn_app().await;
    let (agents, s) = fixture(&app, 2, 1).await;
    let path = format!("/api/v2/admin/skills/{}/agents", s[0]);
    let r = app
        .post(
            &path,
            &json!({"agents": [{"agentId": agents[0], "proficiency": 5}, {"agentId": agents[1], "proficiency": 4}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        warned(&r.body["results"][0]),
        pairs(&[("/agents/0/proficiency", "other_scale")])
    );
    assert_eq!(
        warned(&r.body["results"][1]),
        pairs(&[("/agents/1/proficiency", "other_scale")])
    );
    // One value on this scale among them: no longer another scale's set.
    let r = app
        .post(
            &path,
            &json!({"agents": [{"agentId": agents[0], "proficiency": 5}, {"agentId": agents[1], "proficiency": "Novice"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["results"][0].get("warnings").is_none(), "{}", r.text);
}

#[tokio::test]
async fn a_large_bulk_warns_as_a_small_one_does() {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let (agents, s) = fixture(&app, 250, 5).await;
    let items: Vec<Value> = agents
        .iter()
        .map(|a| {
            json!({"agentId": a, "skills": s.iter().map(|k| json!({"skillId": k, "proficiency": 4})).collect::<Vec<_>>()})
        })
        .collect();
    let body = json!({"items": items});
    assert!(
        body.to_string().len() > 64 * 1024,
        "large enough to be written as it is read"
    );
    let r = app.post(BULK, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for (i, result) in r.body["results"].as_array().unwrap().iter().enumerate() {
        let want: Vec<(String, String)> = (0..s.len())
            .map(|k| {
                (
                    format!("/items/{i}/skills/{k}/proficiency"),
                    "other_scale".to_string(),
                )
            })
            .collect();
        assert_eq!(warned(result), want);
    }
}

#[tokio::test]
async fn an_organization_that_rejects_them_writes_nothing() {
    let app = spawn_app().await;
    let (agents, s) = fixture(&app, 3, 2).await;
    let r = put_set(
        &app,
        agents[1],
        json!([{"skillId": s[0], "proficiency": 50}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    set_policy(&app, "reject").await;
    let before: Vec<_> = snapshots(&app, &agents).await;

    // The 1–5 write: every value an error, nothing written.
    let r = put_set(
        &app,
        agents[0],
        json!([{"skillId": s[0], "proficiency": 5}, {"skillId": s[1], "proficiency": 3}]),
    )
    .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        pairs(&[
            ("pointer:/0/proficiency", "other_scale"),
            ("pointer:/1/proficiency", "other_scale")
        ])
    );
    assert!(r.body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .ends_with("this organization refuses such writes (its `warnings` setting is `reject`)"));
    assert_eq!(
        r.body["errors"][0]["hint"],
        "if you meant 5 of 5, send `Expert` or 100"
    );
    // The single-skill PUT, a set replaced with nothing.
    let r = app
        .put(
            &format!("{}/{}", skills_path(agents[0]), s[0]),
            &json!({"proficiency": 1}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        pairs(&[("pointer:/proficiency", "other_scale")])
    );
    let r = put_set(&app, agents[1], json!({"skills": []})).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.entries(), pairs(&[("pointer:/skills", "emptied_set")]));

    // Atomic bulk: every refusal at once, nothing written.
    let body = json!({"mode": "replace", "items": [
        {"agentId": agents[0], "skills": [{"skillId": s[0], "proficiency": 5}]},
        {"agentId": agents[1], "skills": []},
        {"agentId": agents[2], "skills": [{"skillId": s[0], "proficiency": 80}]}
    ]});
    let r = app.post(BULK, &body).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        pairs(&[
            ("pointer:/items/0/skills/0/proficiency", "other_scale"),
            ("pointer:/items/1/skills", "emptied_set")
        ])
    );
    assert_eq!(snapshots(&app, &agents).await, before);

    // Not atomic: the others are written.
    let mut body = body;
    body["atomic"] = json!(false);
    let r = app.post(BULK, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let statuses: Vec<_> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [400, 400, 200]);
    assert_eq!(snapshots(&app, &agents[..2]).await, before[..2]);

    // One skill to many agents: judged together, refused together.
    let r = app
        .post(
            &format!("/api/v2/admin/skills/{}/agents", s[1]),
            &json!({"agents": [{"agentId": agents[0], "proficiency": 4}, {"agentId": agents[1], "proficiency": 2}]}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        pairs(&[
            ("pointer:/agents/0/proficiency", "other_scale"),
            ("pointer:/agents/1/proficiency", "other_scale")
        ])
    );
    assert_eq!(snapshots(&app, &agents[..2]).await, before[..2]);

    // A set of an agent that holds nothing may be replaced with nothing.
    let r = put_set(&app, agents[0], json!([])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Values on this scale are written as ever.
    let r = put_set(
        &app,
        agents[0],
        json!([{"skillId": s[0], "proficiency": "Expert"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Each agent's snapshot (set, version and history), in order.
async fn snapshots(app: &TestApp, agents: &[Uuid]) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for a in agents {
        out.push(app.snapshot(*a).await);
    }
    out
}

#[tokio::test]
async fn an_organization_that_turns_them_off_hears_nothing() {
    let app = spawn_app().await;
    let (agents, s) = fixture(&app, 1, 2).await;
    set_policy(&app, "off").await;
    let r = put_set(
        &app,
        agents[0],
        json!([{"skillId": s[0], "proficiency": 5}, {"skillId": s[1], "proficiency": 3}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("warnings").is_none(), "{}", r.text);
    let r = put_set(&app, agents[0], json!([])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("warnings").is_none(), "{}", r.text);
}

#[tokio::test]
async fn the_setting_takes_only_its_three_values() {
    let app = spawn_app().await;
    let r = app.patch(SETTINGS, &json!({"warnings": "strict"})).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        pairs(&[("pointer:/warnings", "invalid_format")])
    );
    assert_eq!(r.body["errors"][0]["hint"], "did you mean `reject`?");
    let r = app.patch(SETTINGS, &json!({"warnings": true})).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.entries(), pairs(&[("pointer:/warnings", "invalid_type")]));
    assert_eq!(app.get(SETTINGS).await.body["warnings"], "warn");
}
