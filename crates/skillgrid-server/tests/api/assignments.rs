//! One agent's skills, on both of its paths.

use crate::helpers::{assert_problem, is_utc_millis, spawn_app, Resp, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// The two paths of the same resource.
const BASES: [&str; 2] = ["/api/v2/agents/users", "/api/v2/admin/users"];

fn skills_path(base: &str, agent: Uuid) -> String {
    format!("{base}/{agent}/skills")
}

/// A PUT/PATCH/DELETE with extra headers and the all-scopes token.
async fn write(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Resp {
    app.call(method, path, Some(&app.token), body, headers)
        .await
}

/// `(skillId, proficiency)` of a set, in the order given.
fn ids_and_prof(list: &Value) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["skillId"].as_str().unwrap().to_string(),
                a["proficiency"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn pair(id: Uuid, p: i64) -> (String, i64) {
    (id.to_string(), p)
}

fn actions(history: &Value) -> Vec<(String, String)> {
    history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["skillId"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// An app with three skills (named so that they sort A, B, C) and bigger rate limits.
async fn setup() -> (TestApp, Uuid, Uuid, Uuid) {
    let app = spawn_app().await;
    app.lift_rate_limit().await;
    let a = app.create_skill("A Billing").await;
    let b = app.create_skill("B Sales").await;
    let c = app.create_skill("C Spanish").await;
    (app, a, b, c)
}

#[tokio::test]
async fn get_of_a_fresh_agent_is_empty_at_version_0() {
    let (app, ..) = setup().await;
    for base in BASES {
        let agent = app
            .create_agent(&format!("{}@example.com", base.len()))
            .await;
        let r = app.get(&skills_path(base, agent)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("etag"), Some("\"0\""));
        assert_eq!(
            r.body,
            json!({"agentId": agent.to_string(), "version": 0, "skills": []})
        );
    }
}

#[tokio::test]
async fn put_replaces_the_set_wrapped_or_bare() {
    let (app, a, b, c) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("put{n}@example.com")).await;
        let path = skills_path(base, agent);

        let r = app
            .put(
                &path,
                &json!({"skills": [{"skillId": b}, {"skillId": a, "proficiency": 75}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("etag"), Some("\"1\""));
        assert_eq!(r.body["agentId"], agent.to_string());
        assert_eq!(r.body["version"], 1);
        assert_eq!(r.body["dryRun"], false);
        // Ordered by skill name; an omitted proficiency is the scale's default.
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(a, 75), pair(b, 50)]);
        assert_eq!(r.body["skills"][0]["skillName"], "A Billing");
        assert_eq!(r.body["skills"][0]["level"], "Advanced");
        assert_eq!(r.body["skills"][1]["level"], "Intermediate");
        let ch = &r.body["changes"];
        assert_eq!(
            ids_and_prof(&ch["added"])
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>(),
            [pair(a, 75), pair(b, 50)].into_iter().collect()
        );
        assert_eq!(ch["updated"], json!([]));
        assert_eq!(ch["removed"], json!([]));

        // GET answers the same representation, without dryRun and changes.
        let got = app.get(&path).await;
        assert_eq!(got.header("etag"), Some("\"1\""));
        let mut expect = r.body.clone();
        expect.as_object_mut().unwrap().remove("dryRun");
        expect.as_object_mut().unwrap().remove("changes");
        assert_eq!(got.body, expect);

        // A bare array is the same thing as {"skills": …}.
        let r = app
            .put(
                &path,
                &json!([{"skillId": b, "proficiency": 90}, {"skillId": c, "proficiency": "novice"}]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("etag"), Some("\"2\""));
        assert_eq!(r.body["version"], 2);
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(b, 90), pair(c, 25)]);
        let ch = &r.body["changes"];
        assert_eq!(ids_and_prof(&ch["added"]), [pair(c, 25)]);
        assert_eq!(ids_and_prof(&ch["removed"]), [pair(a, 75)]);
        assert_eq!(ch["updated"].as_array().unwrap().len(), 1);
        let u = &ch["updated"][0];
        assert_eq!(u["skillId"], b.to_string());
        assert_eq!(u["before"]["proficiency"], 50);
        assert_eq!(u["before"]["level"], "Intermediate");
        assert_eq!(u["before"]["skillName"], "B Sales");
        assert_eq!(u["after"]["proficiency"], 90);
        assert_eq!(u["after"]["level"], "Advanced");
        assert_eq!(ch["removed"][0]["skillName"], "A Billing");

        // {"skills": []} removes every skill.
        let r = app.put(&path, &json!({"skills": []})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["version"], 3);
        assert_eq!(r.body["skills"], json!([]));
        assert_eq!(r.body["changes"]["added"], json!([]));
        assert_eq!(r.body["changes"]["updated"], json!([]));
        assert_eq!(
            ids_and_prof(&r.body["changes"]["removed"]),
            [pair(b, 90), pair(c, 25)]
        );
        assert_eq!(app.get(&path).await.body["skills"], json!([]));
    }
}

#[tokio::test]
async fn writes_that_change_nothing_keep_the_version() {
    let (app, a, b, _) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("same{n}@example.com")).await;
        let path = skills_path(base, agent);
        let body = json!([{"skillId": a, "proficiency": 60, "expirationDate": "2099-01-01T00:00:00Z"}, {"skillId": b}]);
        let first = app.put(&path, &body).await;
        assert_eq!(first.body["version"], 1, "{}", first.text);
        let before = app.snapshot(agent).await;

        // The same set again, in other words: other order, level name, explicit default.
        for again in [
            body.clone(),
            json!({"skills": [{"skillId": b, "proficiency": "intermediate"}, {"skillId": a, "proficiency": 60, "expirationDate": "2099-01-01T01:00:00+01:00"}]}),
        ] {
            let r = app.put(&path, &again).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(r.header("etag"), Some("\"1\""));
            assert_eq!(r.body["version"], 1);
            assert_eq!(
                r.body["changes"],
                json!({"added": [], "updated": [], "removed": []})
            );
        }
        for merge in [
            json!({}),
            json!({"skills": [{"skillId": b, "proficiency": 50}]}),
            json!([]),
        ] {
            let r = app.patch(&path, &merge).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(r.body["version"], 1, "{merge}");
        }
        let r = app
            .put(&format!("{path}/{b}"), &json!({"proficiency": 50}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["version"], 1);
        assert_eq!(app.snapshot(agent).await, before, "nothing was written");
    }
}

#[tokio::test]
async fn patch_merges_and_removes() {
    let (app, a, b, c) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("merge{n}@example.com")).await;
        let path = skills_path(base, agent);
        let r = app
            .put(
                &path,
                &json!([{"skillId": a, "proficiency": 10}, {"skillId": b, "proficiency": 20}]),
            )
            .await;
        assert_eq!(r.body["version"], 1, "{}", r.text);

        let r = app
            .patch(
                &path,
                &json!({"skills": [{"skillId": b, "proficiency": 100}, {"skillId": c}], "remove": [a]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("etag"), Some("\"2\""));
        assert_eq!(r.body["dryRun"], false);
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(b, 100), pair(c, 50)]);
        let ch = &r.body["changes"];
        assert_eq!(ids_and_prof(&ch["added"]), [pair(c, 50)]);
        assert_eq!(ids_and_prof(&ch["removed"]), [pair(a, 10)]);
        assert_eq!(ch["updated"][0]["skillId"], b.to_string());
        assert_eq!(ch["updated"][0]["before"]["proficiency"], 20);
        assert_eq!(ch["updated"][0]["after"]["proficiency"], 100);

        // A bare array means `skills`; unlisted skills are kept.
        let r = app
            .patch(&path, &json!([{"skillId": a, "proficiency": "expert"}]))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["version"], 3);
        assert_eq!(
            ids_and_prof(&r.body["skills"]),
            [pair(a, 100), pair(b, 100), pair(c, 50)]
        );
        assert_eq!(ids_and_prof(&r.body["changes"]["added"]), [pair(a, 100)]);

        // Only `remove`.
        let r = app.patch(&path, &json!({"remove": [b, c]})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["version"], 4);
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(a, 100)]);
        assert_eq!(
            ids_and_prof(&r.body["changes"]["removed"]),
            [pair(b, 100), pair(c, 50)]
        );

        // Removing a skill the agent does not hold changes nothing.
        let r = app.patch(&path, &json!({"remove": [b]})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["version"], 4);
        assert_eq!(r.body["changes"]["removed"], json!([]));
        assert_eq!(app.get(&path).await.body["version"], 4);
    }
}

#[tokio::test]
async fn single_skill_put_and_delete() {
    let (app, a, b, _) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("one{n}@example.com")).await;
        let path = skills_path(base, agent);

        let r = app
            .put(&format!("{path}/{a}"), &json!({"proficiency": "Expert"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("etag"), Some("\"1\""));
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(a, 100)]);
        assert_eq!(r.body["skills"][0]["level"], "Expert");
        assert_eq!(ids_and_prof(&r.body["changes"]["added"]), [pair(a, 100)]);

        // Setting another one keeps the first.
        let r = app
            .put(
                &format!("{path}/{}", b.to_string().to_uppercase()),
                &json!({"proficiency": 30, "expirationDate": "2099-06-01T00:00:00Z"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["version"], 2);
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(a, 100), pair(b, 30)]);
        assert_eq!(
            r.body["skills"][1]["expirationDate"],
            "2099-06-01T00:00:00.000Z"
        );

        // Updating it.
        let r = app
            .put(&format!("{path}/{a}"), &json!({"proficiency": 60}))
            .await;
        assert_eq!(r.body["version"], 3, "{}", r.text);
        assert_eq!(
            r.body["changes"]["updated"][0]["before"]["proficiency"],
            100
        );
        assert_eq!(r.body["changes"]["updated"][0]["after"]["proficiency"], 60);

        // DELETE: 204, then 404 once it is gone.
        let r = app.delete(&format!("{path}/{a}")).await;
        assert_eq!(r.status, 204, "{}", r.text);
        assert!(r.text.is_empty());
        let got = app.get(&path).await;
        assert_eq!(got.body["version"], 4);
        assert_eq!(ids_and_prof(&got.body["skills"]), [pair(b, 30)]);

        let before = app.snapshot(agent).await;
        assert_problem(&app.delete(&format!("{path}/{a}")).await, 404, "not_found");
        assert_problem(
            &app.delete(&format!("{path}/{}", Uuid::now_v7())).await,
            404,
            "not_found",
        );
        assert_eq!(app.snapshot(agent).await, before, "a 404 writes nothing");

        let r = app.delete(&format!("{path}/not-a-uuid")).await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("path:skillId".to_string(), "invalid_format".to_string())]
        );
        let r = app
            .put(&format!("{path}/{}", Uuid::now_v7()), &json!({}))
            .await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("path:skillId".to_string(), "unknown_skill".to_string())]
        );
    }
}

#[tokio::test]
async fn history_is_newest_first_and_paginates() {
    let (app, a, b, _) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("hist{n}@example.com")).await;
        let other = app.create_agent(&format!("other{n}@example.com")).await;
        let path = skills_path(base, agent);
        let history = format!("{path}/history");

        let r = app.get(&history).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, json!({"items": [], "nextCursor": null}));

        let rid = format!("hist-{n}-add");
        let r = write(
            &app,
            Method::PUT,
            &path,
            Some(&json!([{"skillId": a, "proficiency": 40}, {"skillId": b}])),
            &[("x-request-id", &rid)],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.patch(&path, &json!([{"skillId": a, "proficiency": 80}]))
            .await;
        app.delete(&format!("{path}/{b}")).await;
        // Another agent's changes are not in this one's history.
        app.put(&skills_path(base, other), &json!([{"skillId": a}]))
            .await;

        let r = app.get(&history).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.body["nextCursor"].is_null());
        let acts = actions(&r.body);
        assert_eq!(acts.len(), 4, "{}", r.text);
        assert_eq!(acts[0], ("removed".to_string(), b.to_string()));
        assert_eq!(acts[1], ("updated".to_string(), a.to_string()));
        // The first write added both, in one request.
        let mut firsts = acts[2..].to_vec();
        firsts.sort();
        let mut want = vec![
            ("added".to_string(), a.to_string()),
            ("added".to_string(), b.to_string()),
        ];
        want.sort();
        assert_eq!(firsts, want);

        let items = r.body["items"].as_array().unwrap();
        for e in items {
            assert_eq!(e["agentId"], agent.to_string());
            assert_eq!(e["clientId"], app.client_id.to_string());
            assert!(is_utc_millis(e["at"].as_str().unwrap()));
            assert!(e["id"].as_str().unwrap().parse::<Uuid>().is_ok());
        }
        let removed = &items[0];
        assert_eq!(removed["before"]["proficiency"], 50);
        assert_eq!(removed["after"], Value::Null);
        let updated = &items[1];
        assert_eq!(updated["before"]["proficiency"], 40);
        assert_eq!(updated["after"]["proficiency"], 80);
        assert_eq!(updated["after"]["level"], "Advanced");
        for added in &items[2..] {
            assert_eq!(added["before"], Value::Null);
            assert_eq!(added["requestId"], rid.as_str());
        }
        let ats: Vec<&str> = items.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert!(ats.windows(2).all(|w| w[0] >= w[1]), "{ats:?}");

        // Page by page, the same entries in the same order.
        let mut paged = Vec::new();
        let mut url = format!("{history}?limit=1");
        loop {
            let p = app.get(&url).await;
            assert_eq!(p.status, 200, "{}", p.text);
            let got = p.body["items"].as_array().unwrap();
            assert_eq!(got.len(), 1, "{}", p.text);
            paged.push(got[0].clone());
            match p.body["nextCursor"].as_str() {
                Some(c) => url = format!("{history}?limit=1&cursor={c}"),
                None => break,
            }
            assert!(paged.len() <= 4);
        }
        assert_eq!(&paged, items);
        let p = app.get(&format!("{history}?limit=3")).await;
        assert_eq!(p.body["items"].as_array().unwrap().len(), 3);
        let c = p.body["nextCursor"].as_str().unwrap();
        let p = app.get(&format!("{history}?limit=3&cursor={c}")).await;
        assert_eq!(p.body["items"].as_array().unwrap().len(), 1);
        assert!(p.body["nextCursor"].is_null());
    }
}

#[tokio::test]
async fn if_match_guards_every_write() {
    let (app, a, b, _) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("etag{n}@example.com")).await;
        let path = skills_path(base, agent);
        let one = format!("{path}/{a}");
        let set = json!([{"skillId": a}]);

        let r = write(
            &app,
            Method::PUT,
            &path,
            Some(&set),
            &[("if-match", "\"0\"")],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("etag"), Some("\"1\""));

        let before = app.snapshot(agent).await;
        let stale: Vec<(Method, &str, Option<Value>)> = vec![
            (Method::PUT, path.as_str(), Some(json!([{"skillId": b}]))),
            (Method::PATCH, path.as_str(), Some(json!({"remove": [a]}))),
            (Method::PUT, one.as_str(), Some(json!({"proficiency": 99}))),
            (Method::DELETE, one.as_str(), None),
        ];
        for (m, p, body) in &stale {
            for tag in ["\"0\"", "\"2\"", "\"17\""] {
                let r = write(&app, m.clone(), p, body.as_ref(), &[("if-match", tag)]).await;
                assert_problem(&r, 412, "precondition_failed");
                assert_eq!(r.header("etag"), Some("\"1\""), "{m} {p} {tag}");
                assert_eq!(r.body["currentVersion"], 1, "{}", r.text);
            }
        }
        assert_eq!(app.snapshot(agent).await, before, "a 412 writes nothing");

        let r = write(
            &app,
            Method::PATCH,
            &path,
            Some(&json!([{"skillId": b}])),
            &[("if-match", "\"1\"")],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("etag"), Some("\"2\""));
        let r = write(
            &app,
            Method::PUT,
            &one,
            Some(&json!({"proficiency": 99})),
            &[("if-match", "*")],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["version"], 3);
        let r = write(&app, Method::DELETE, &one, None, &[("if-match", "\"3\"")]).await;
        assert_eq!(r.status, 204, "{}", r.text);

        let r = write(&app, Method::PUT, &path, Some(&set), &[("if-match", "4")]).await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("header:If-Match".to_string(), "invalid_format".to_string())]
        );
    }
}

#[tokio::test]
async fn require_if_match_makes_writes_without_it_428() {
    let (app, a, _, _) = setup().await;
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"requireIfMatch": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["requireIfMatch"], true);
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("req{n}@example.com")).await;
        let path = skills_path(base, agent);
        let one = format!("{path}/{a}");
        for (m, p, body) in [
            (Method::PUT, path.as_str(), Some(json!([{"skillId": a}]))),
            (Method::PATCH, path.as_str(), Some(json!([{"skillId": a}]))),
            (Method::PUT, one.as_str(), Some(json!({}))),
            (Method::DELETE, one.as_str(), None),
        ] {
            let r = write(&app, m.clone(), p, body.as_ref(), &[]).await;
            assert_problem(&r, 428, "precondition_required");
        }
        assert_eq!(app.skills_of(agent).await["version"], 0);
        // Reads need none.
        assert_eq!(app.get(&format!("{path}/history")).await.status, 200);

        let r = write(
            &app,
            Method::PUT,
            &path,
            Some(&json!([{"skillId": a}])),
            &[("if-match", "\"0\"")],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = write(&app, Method::DELETE, &one, None, &[("if-match", "*")]).await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
}

#[tokio::test]
async fn dry_run_shows_the_changes_and_writes_nothing() {
    let (app, a, b, c) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("dry{n}@example.com")).await;
        let path = skills_path(base, agent);
        app.put(
            &path,
            &json!([{"skillId": a, "proficiency": 10}, {"skillId": b, "proficiency": 20}]),
        )
        .await;
        let before = app.snapshot(agent).await;

        let r = app
            .put(
                &format!("{path}?dryRun=true"),
                &json!([{"skillId": b, "proficiency": 30}, {"skillId": c}]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["dryRun"], true);
        assert_eq!(r.body["version"], 1, "a dry run leaves the version alone");
        assert_eq!(r.header("etag"), Some("\"1\""));
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(b, 30), pair(c, 50)]);
        let ch = &r.body["changes"];
        assert_eq!(ids_and_prof(&ch["added"]), [pair(c, 50)]);
        assert_eq!(ids_and_prof(&ch["removed"]), [pair(a, 10)]);
        assert_eq!(ch["updated"][0]["after"]["proficiency"], 30);

        let r = app
            .patch(&format!("{path}?dryRun=true"), &json!({"remove": [a, b]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["dryRun"], true);
        assert_eq!(r.body["skills"], json!([]));
        assert_eq!(r.body["changes"]["removed"].as_array().unwrap().len(), 2);

        let r = app
            .put(
                &format!("{path}/{c}?dryRun=true"),
                &json!({"proficiency": 1}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["dryRun"], true);
        assert_eq!(ids_and_prof(&r.body["changes"]["added"]), [pair(c, 1)]);

        let r = write(
            &app,
            Method::DELETE,
            &format!("{path}/{a}?dryRun=true"),
            None,
            &[],
        )
        .await;
        assert!(r.status == 200 || r.status == 204, "{}", r.text);

        // A dry run honours If-Match like a write.
        let r = write(
            &app,
            Method::PUT,
            &format!("{path}?dryRun=true"),
            Some(&json!([])),
            &[("if-match", "\"7\"")],
        )
        .await;
        assert_problem(&r, 412, "precondition_failed");

        assert_eq!(
            app.snapshot(agent).await,
            before,
            "a dry run writes nothing"
        );

        // dryRun=false is an ordinary write.
        let r = app
            .put(&format!("{path}?dryRun=false"), &json!([{"skillId": c}]))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["dryRun"], false);
        assert_eq!(r.body["version"], 2);
        assert_eq!(app.skills_of(agent).await["version"], 2);
    }
}

#[tokio::test]
async fn level_is_the_highest_at_or_below_the_proficiency() {
    let (app, a, ..) = setup().await;
    let agent = app.create_agent("levels@example.com").await;
    for base in BASES {
        let one = format!("{}/{a}", skills_path(base, agent));
        for (p, level) in [
            (0, Value::Null),
            (24, Value::Null),
            (25, json!("Novice")),
            (49, json!("Novice")),
            (50, json!("Intermediate")),
            (74, json!("Intermediate")),
            (75, json!("Advanced")),
            (99, json!("Advanced")),
            (100, json!("Expert")),
        ] {
            let r = app.put(&one, &json!({"proficiency": p})).await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(r.body["skills"][0]["proficiency"], p);
            assert_eq!(r.body["skills"][0]["level"], level, "proficiency {p}");
            assert_eq!(app.skills_of(agent).await["skills"][0]["level"], level);
        }
    }
}

#[tokio::test]
async fn active_follows_the_effective_and_expiration_dates() {
    let (app, a, b, c) = setup().await;
    let d = app.create_skill("D French").await;
    let e = app.create_skill("E German").await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("dates{n}@example.com")).await;
        let path = skills_path(base, agent);
        let r = app
            .put(
                &path,
                &json!([
                    {"skillId": a},
                    {"skillId": b, "effectiveDate": "2099-01-01T00:00:00Z"},
                    {"skillId": c, "expirationDate": "2000-01-01T00:00:00Z"},
                    {"skillId": d, "effectiveDate": "2000-01-01T00:00:00Z", "expirationDate": "2099-01-01T00:00:00Z"},
                    {"skillId": e, "effectiveDate": null, "expirationDate": null}
                ]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let active: Vec<bool> = r.body["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["active"].as_bool().unwrap())
            .collect();
        assert_eq!(active, [true, false, false, true, true]);
        let got = app.skills_of(agent).await;
        assert_eq!(got["skills"], r.body["skills"]);
        assert_eq!(r.body["changes"]["added"][1]["active"], false);
    }
}

#[tokio::test]
async fn dates_round_trip_in_utc_with_milliseconds() {
    let (app, a, b, _) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("utc{n}@example.com")).await;
        let path = skills_path(base, agent);
        let r = app
            .put(
                &path,
                &json!([
                    {"skillId": a, "effectiveDate": "2026-11-22T12:30:00.5+01:00",
                     "expirationDate": "2027-01-01T00:00:00Z"},
                    {"skillId": b, "effectiveDate": "2026-11-22T11:30:00.123456Z",
                     "expirationDate": "2026-11-21T23:00:00-13:00"}
                ]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let s = &r.body["skills"];
        assert_eq!(s[0]["effectiveDate"], "2026-11-22T11:30:00.500Z");
        assert_eq!(s[0]["expirationDate"], "2027-01-01T00:00:00.000Z");
        assert_eq!(s[1]["effectiveDate"], "2026-11-22T11:30:00.123Z");
        assert_eq!(s[1]["expirationDate"], "2026-11-22T12:00:00.000Z");
        for x in s.as_array().unwrap() {
            assert!(is_utc_millis(x["updatedAt"].as_str().unwrap()), "{x}");
        }
        let got = app.skills_of(agent).await;
        assert_eq!(got["skills"], r.body["skills"]);

        // The stored values are what a PUT of the returned ones finds unchanged.
        let back: Vec<Value> = s
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                json!({"skillId": x["skillId"], "proficiency": x["proficiency"],
                       "effectiveDate": x["effectiveDate"], "expirationDate": x["expirationDate"]})
            })
            .collect();
        let r = app.put(&path, &Value::Array(back)).await;
        assert_eq!(r.body["version"], 1, "{}", r.text);

        let r = app
            .put(
                &path,
                &json!([{"skillId": a, "effectiveDate": "2027-01-01T00:00:00Z",
                          "expirationDate": "2027-01-01T00:00:00Z"}]),
            )
            .await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [(
                "pointer:/0/expirationDate".to_string(),
                "invalid_date_range".to_string()
            )]
        );
    }
}

#[tokio::test]
async fn an_inactive_agent_cannot_be_written() {
    let (app, a, ..) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("gone{n}@example.com")).await;
        let path = skills_path(base, agent);
        app.put(&path, &json!([{"skillId": a}])).await;
        let r = app
            .patch(
                &format!("/api/v2/admin/users/{agent}"),
                &json!({"active": false}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let before = app.snapshot(agent).await;
        let one = format!("{path}/{a}");
        for (m, p, body) in [
            (Method::PUT, path.as_str(), Some(json!([]))),
            (Method::PATCH, path.as_str(), Some(json!({"remove": [a]}))),
            (Method::PUT, one.as_str(), Some(json!({"proficiency": 1}))),
            (Method::DELETE, one.as_str(), None),
        ] {
            let r = write(&app, m.clone(), p, body.as_ref(), &[]).await;
            assert_problem(&r, 400, "inactive_agent");
            assert_eq!(
                r.entries(),
                [("path:userId".to_string(), "inactive_agent".to_string())],
                "{m} {p}"
            );
        }
        // Reading still works.
        assert_eq!(app.snapshot(agent).await, before);
    }
}

#[tokio::test]
async fn an_unknown_agent_is_404() {
    let (app, a, ..) = setup().await;
    for base in BASES {
        let agent = Uuid::now_v7();
        let path = skills_path(base, agent);
        let one = format!("{path}/{a}");
        let history = format!("{path}/history");
        for (m, p, body) in [
            (Method::GET, path.as_str(), None),
            (Method::PUT, path.as_str(), Some(json!([{"skillId": a}]))),
            (Method::PATCH, path.as_str(), Some(json!([{"skillId": a}]))),
            (Method::PUT, one.as_str(), Some(json!({}))),
            (Method::DELETE, one.as_str(), None),
            (Method::GET, history.as_str(), None),
        ] {
            let r = write(&app, m.clone(), p, body.as_ref(), &[]).await;
            assert_problem(&r, 404, "not_found");
        }
        let r = app.get(&format!("{base}/agent-7/skills")).await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("path:userId".to_string(), "invalid_format".to_string())]
        );
    }
}

/// An unknown or inactive agent is reported before anything wrong with the body or the skill
/// in the path, on every write route (the agent is looked up only when the write is refused).
#[tokio::test]
async fn the_agent_is_reported_before_the_body() {
    let (app, a, ..) = setup().await;
    let inactive = app.create_agent("asleep@example.com").await;
    let r = app
        .patch(
            &format!("/api/v2/admin/users/{inactive}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let nowhere = Uuid::now_v7();
    for base in BASES {
        for (agent, status, code) in [
            (Uuid::now_v7(), 404, "not_found"),
            (inactive, 400, "inactive_agent"),
        ] {
            let path = skills_path(base, agent);
            let one = format!("{path}/{a}");
            let elsewhere = format!("{path}/{nowhere}");
            let malformed = format!("{path}/skill-7");
            for (m, p, body) in [
                (
                    Method::PUT,
                    path.as_str(),
                    Some(json!({"skills": [{"skillId": "x"}]})),
                ),
                (Method::PUT, path.as_str(), Some(json!("not a set"))),
                (Method::PATCH, path.as_str(), Some(json!({"remove": [7]}))),
                (
                    Method::PUT,
                    one.as_str(),
                    Some(json!({"proficiency": "Wizard"})),
                ),
                (Method::PUT, malformed.as_str(), Some(json!({}))),
                (Method::PUT, elsewhere.as_str(), Some(json!({}))),
                (Method::DELETE, elsewhere.as_str(), None),
                (Method::DELETE, malformed.as_str(), None),
            ] {
                let r = write(&app, m.clone(), p, body.as_ref(), &[]).await;
                assert_eq!(r.status, status, "{m} {p}: {}", r.text);
                assert_eq!(r.body["code"], code, "{m} {p}: {}", r.text);
            }
        }
    }
    // With a known, active agent the same requests get their own answers.
    let agent = app.create_agent("awake@example.com").await;
    let path = skills_path(BASES[0], agent);
    let r = app.put(&path, &json!({"skills": [{"skillId": "x"}]})).await;
    assert_problem(&r, 400, "validation_failed");
    let r = app.delete(&format!("{path}/{nowhere}")).await;
    assert_problem(&r, 404, "not_found");
    assert!(
        r.body["detail"].as_str().unwrap().contains("does not hold"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn max_skills_per_agent_is_enforced() {
    let (app, a, b, c) = setup().await;
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &json!({"limits": {"maxSkillsPerAgent": 2}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["limits"]["maxSkillsPerAgent"], 2);
    for (n, base) in BASES.iter().enumerate() {
        let agent = app.create_agent(&format!("max{n}@example.com")).await;
        let path = skills_path(base, agent);

        let r = app
            .put(
                &path,
                &json!({"skills": [{"skillId": a}, {"skillId": b}, {"skillId": c}]}),
            )
            .await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("pointer:/skills".to_string(), "too_many_items".to_string())]
        );
        let r = app
            .put(
                &path,
                &json!([{"skillId": a}, {"skillId": b}, {"skillId": c}]),
            )
            .await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("pointer:".to_string(), "too_many_items".to_string())]
        );
        assert_eq!(app.skills_of(agent).await["version"], 0);

        let r = app
            .put(&path, &json!([{"skillId": a}, {"skillId": b}]))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let before = app.snapshot(agent).await;

        // A merge or a single PUT that would make three.
        let r = app.patch(&path, &json!({"skills": [{"skillId": c}]})).await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("pointer:/skills".to_string(), "too_many_items".to_string())]
        );
        assert_eq!(r.body["errors"][0]["received"], 3);
        let r = app.put(&format!("{path}/{c}"), &json!({})).await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(r.entries()[0].1, "too_many_items");
        assert_eq!(app.snapshot(agent).await, before);

        // Swapping one for another stays within the limit.
        let r = app
            .patch(&path, &json!({"skills": [{"skillId": c}], "remove": [a]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(b, 50), pair(c, 50)]);
        let r = app
            .put(&path, &json!([{"skillId": a}, {"skillId": c}]))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test]
async fn a_deactivated_skill_can_be_removed_but_not_assigned() {
    let (app, a, b, c) = setup().await;
    for (n, base) in BASES.iter().enumerate() {
        let agent = app
            .create_agent(&format!("inactive-skill{n}@example.com"))
            .await;
        let path = skills_path(base, agent);
        let r = app
            .put(
                &path,
                &json!([{"skillId": a}, {"skillId": b}, {"skillId": c}]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        for s in [a, b, c] {
            let r = app
                .patch(
                    &format!("/api/v2/admin/skills/{s}"),
                    &json!({"active": false}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        // Still held and shown.
        assert_eq!(
            app.get(&path).await.body["skills"]
                .as_array()
                .unwrap()
                .len(),
            3
        );

        let r = app
            .put(&format!("{path}/{a}"), &json!({"proficiency": 1}))
            .await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("path:skillId".to_string(), "inactive_skill".to_string())]
        );
        let r = app.delete(&format!("{path}/{a}")).await;
        assert_eq!(r.status, 204, "{}", r.text);
        let r = app.patch(&path, &json!({"remove": [b]})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(ids_and_prof(&r.body["skills"]), [pair(c, 50)]);
        let r = app.put(&path, &json!({"skills": []})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["skills"], json!([]));
        for s in [a, b, c] {
            app.patch(
                &format!("/api/v2/admin/skills/{s}"),
                &json!({"active": true}),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn history_outlives_a_deleted_skill() {
    let (app, a, ..) = setup().await;
    let agent = app.create_agent("ana@example.com").await;
    let path = skills_path(BASES[0], agent);
    app.put(&path, &json!([{"skillId": a, "proficiency": 70}]))
        .await;
    app.put(&path, &json!([])).await;
    assert_eq!(
        app.delete(&format!("/api/v2/admin/skills/{a}"))
            .await
            .status,
        204
    );
    let r = app.get(&format!("{path}/history")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        actions(&r.body),
        [
            ("removed".to_string(), a.to_string()),
            ("added".to_string(), a.to_string())
        ]
    );
    assert_eq!(r.body["items"][0]["before"]["proficiency"], 70);
    // A new skill does not inherit the deleted one's history.
    let fresh = app.create_skill("A Billing").await;
    let r = app.put(&path, &json!([{"skillId": fresh}])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let h = app.get(&format!("{path}/history")).await;
    assert_eq!(
        actions(&h.body)[0],
        ("added".to_string(), fresh.to_string())
    );
    assert_eq!(actions(&h.body)[1].1, a.to_string());
}
