//! The skill catalog.

use crate::helpers::{assert_problem, is_utc_millis, spawn_app, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

const SKILLS: &str = "/api/v2/admin/skills";

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `path` (which has a query already or not), following `nextCursor`.
async fn all_pages(app: &TestApp, path: &str, limit: u32) -> Vec<Vec<String>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}{sep}limit={limit}"),
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
        };
        let r = app.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages.push(names(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert!(r.body["nextCursor"].is_null(), "{}", r.text);
                break;
            }
        }
        assert!(pages.len() < 50, "pagination does not end");
    }
    pages
}

#[tokio::test]
async fn create_answers_201_with_location_and_the_skill() {
    let app = spawn_app().await;
    let r = app
        .post(
            SKILLS,
            &json!({"name": "Billing", "description": "Invoices and refunds"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(r.body["id"], id.to_string(), "lower-case hyphenated");
    assert_eq!(r.header("location"), Some(&*format!("{SKILLS}/{id}")));
    assert_eq!(r.body["name"], "Billing");
    assert_eq!(r.body["description"], "Invoices and refunds");
    assert_eq!(r.body["active"], true);
    let created = r.body["createdAt"].as_str().unwrap();
    assert!(is_utc_millis(created), "{created}");
    assert_eq!(r.body["updatedAt"], created);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "description",
            "active",
            "createdAt",
            "updatedAt"
        ]
    );

    let got = app.get(r.header("location").unwrap()).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, r.body);

    // Without a description it is null; ids are accepted in upper case too.
    let r = app.post(SKILLS, &json!({"name": "Sales"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["description"], Value::Null);
    let upper = r.body["id"].as_str().unwrap().to_uppercase();
    let got = app.get(&format!("{SKILLS}/{upper}")).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body["id"], r.body["id"]);
}

#[tokio::test]
async fn list_filters_by_name_and_active() {
    let app = spawn_app().await;
    for n in ["Billing", "Sales", "Retention", "Spanish"] {
        app.create_skill(n).await;
    }
    let sales = app.get(&format!("{SKILLS}?name=Sales")).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .patch(&format!("{SKILLS}/{sales}"), &json!({"active": false}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let all = app.get(SKILLS).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(
        names(&all.body),
        ["Billing", "Sales", "Retention", "Spanish"]
    );
    assert!(all.body["nextCursor"].is_null());

    // Names are matched case-insensitively.
    for q in ["name=billing", "name=BILLING", "name=Billing"] {
        let r = app.get(&format!("{SKILLS}?{q}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(names(&r.body), ["Billing"], "{q}");
    }
    let r = app.get(&format!("{SKILLS}?name=Nothing")).await;
    assert_eq!(r.body, json!({"items": [], "nextCursor": null}));

    let r = app.get(&format!("{SKILLS}?active=false")).await;
    assert_eq!(names(&r.body), ["Sales"]);
    let r = app.get(&format!("{SKILLS}?active=true")).await;
    assert_eq!(names(&r.body), ["Billing", "Retention", "Spanish"]);
    let r = app.get(&format!("{SKILLS}?name=sales&active=true")).await;
    assert_eq!(names(&r.body), Vec::<String>::new());

    let r = app.get(&format!("{SKILLS}?active=maybe")).await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("query:active".to_string(), "invalid_type".to_string())]
    );
}

#[tokio::test]
async fn list_paginates_with_limit_and_cursor() {
    let app = spawn_app().await;
    let all: Vec<String> = (1..=5).map(|i| format!("Skill {i}")).collect();
    for n in &all {
        app.create_skill(n).await;
    }
    let pages = all_pages(&app, SKILLS, 2).await;
    assert_eq!(
        pages,
        [
            vec!["Skill 1", "Skill 2"],
            vec!["Skill 3", "Skill 4"],
            vec!["Skill 5"]
        ]
    );
    // An exact multiple ends with nextCursor null, not with an empty page.
    let pages = all_pages(&app, SKILLS, 5).await;
    assert_eq!(pages, vec![all.clone()]);
    let pages = all_pages(&app, SKILLS, 1000).await;
    assert_eq!(pages, vec![all.clone()]);

    // Filters hold across pages.
    app.patch(
        &format!(
            "{SKILLS}/{}",
            app.get(&format!("{SKILLS}?name=Skill%202")).await.body["items"][0]["id"]
                .as_str()
                .unwrap()
        ),
        &json!({"active": false}),
    )
    .await;
    let pages = all_pages(&app, &format!("{SKILLS}?active=true"), 2).await;
    assert_eq!(
        pages,
        [vec!["Skill 1", "Skill 3"], vec!["Skill 4", "Skill 5"]]
    );

    for (q, loc, code) in [
        ("limit=0", "query:limit", "out_of_range"),
        ("limit=1001", "query:limit", "out_of_range"),
        ("limit=ten", "query:limit", "invalid_type"),
        ("cursor=garbage!", "query:cursor", "invalid_format"),
        ("colour=red", "query:colour", "unknown_field"),
        // PostgreSQL refuses NUL in text: a filter with one was a 500 there.
        ("name=a%00b", "query:name", "invalid_format"),
    ] {
        let r = app.get(&format!("{SKILLS}?{q}")).await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(r.entries(), [(loc.to_string(), code.to_string())], "{q}");
    }
}

#[tokio::test]
async fn patch_changes_name_description_and_active() {
    let app = spawn_app().await;
    let r = app
        .post(SKILLS, &json!({"name": "Billing", "description": "old"}))
        .await;
    let path = r.header("location").unwrap().to_string();
    let created = r.body.clone();

    let r = app
        .patch(
            &path,
            &json!({"name": "Billing Tier 2", "description": "Invoices"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Billing Tier 2");
    assert_eq!(r.body["description"], "Invoices");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["createdAt"], created["createdAt"]);
    assert!(r.body["updatedAt"].as_str().unwrap() >= created["updatedAt"].as_str().unwrap());
    assert!(is_utc_millis(r.body["updatedAt"].as_str().unwrap()));

    let r = app
        .patch(&path, &json!({"active": false, "description": null}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["description"], Value::Null);
    assert_eq!(r.body["name"], "Billing Tier 2");

    let got = app.get(&path).await;
    assert_eq!(got.body, r.body);

    // Renaming a skill to its own name in another case is no conflict.
    let r = app.patch(&path, &json!({"name": "BILLING TIER 2"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "BILLING TIER 2");

    // An empty patch changes nothing.
    let before = app.get(&path).await.body;
    let r = app.patch(&path, &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, before);

    // A bad patch is refused whole.
    let r = app
        .patch(&path, &json!({"name": "Fine", "active": "yes"}))
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [("pointer:/active".to_string(), "invalid_type".to_string())]
    );
    assert_eq!(app.get(&path).await.body, before);
}

#[tokio::test]
async fn duplicate_names_conflict_case_insensitively() {
    let app = spawn_app().await;
    app.create_skill("Billing").await;
    app.create_skill("Ärger").await;
    for name in ["Billing", "billing", "BILLING", "  billing  ", "äRGER"] {
        let r = app.post(SKILLS, &json!({"name": name})).await;
        assert_problem(&r, 409, "conflict");
        assert_eq!(
            r.entries(),
            [("pointer:/name".to_string(), "conflict".to_string())],
            "{name}"
        );
    }
    let other = app.create_skill("Sales").await;
    let r = app
        .patch(&format!("{SKILLS}/{other}"), &json!({"name": "bILLING"}))
        .await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(
        r.entries(),
        [("pointer:/name".to_string(), "conflict".to_string())]
    );
    assert_eq!(
        names(&app.get(SKILLS).await.body),
        ["Billing", "Ärger", "Sales"],
        "nothing was created or renamed"
    );
}

#[tokio::test]
async fn delete_answers_204_then_404() {
    let app = spawn_app().await;
    let id = app.create_skill("Billing").await;
    let path = format!("{SKILLS}/{id}");
    let r = app.delete(&path).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_problem(&app.get(&path).await, 404, "not_found");
    assert_problem(&app.delete(&path).await, 404, "not_found");
    assert_eq!(app.get(SKILLS).await.body["items"], json!([]));
    // The name is free again.
    app.create_skill("billing").await;
}

#[tokio::test]
async fn a_held_skill_cannot_be_deleted() {
    let app = spawn_app().await;
    let id = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let skills = format!("/api/v2/agents/users/{agent}/skills");
    let r = app.put(&skills, &json!([{"skillId": id}])).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let path = format!("{SKILLS}/{id}");
    let r = app.delete(&path).await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(
        r.body["detail"],
        "1 agent holds this skill, so it cannot be deleted; deactivate it instead with PATCH {\"active\": false}"
    );
    assert_eq!(app.get(&path).await.status, 200);
    assert_eq!(
        app.skills_of(agent).await["skills"][0]["skillId"],
        id.to_string()
    );

    // Deactivated, it is still held and still not deletable; once dropped, it is.
    let r = app.patch(&path, &json!({"active": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_problem(&app.delete(&path).await, 409, "conflict");
    let r = app.put(&skills, &json!({"skills": []})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.delete(&path).await.status, 204);
}

#[tokio::test]
async fn missing_and_malformed_ids() {
    let app = spawn_app().await;
    let missing = format!("{SKILLS}/{}", Uuid::now_v7());
    assert_problem(&app.get(&missing).await, 404, "not_found");
    assert_problem(
        &app.patch(&missing, &json!({"name": "X"})).await,
        404,
        "not_found",
    );
    assert_problem(&app.delete(&missing).await, 404, "not_found");

    for r in [
        app.get(&format!("{SKILLS}/billing")).await,
        app.patch(&format!("{SKILLS}/12"), &json!({"name": "X"}))
            .await,
        app.delete(&format!("{SKILLS}/not-a-uuid")).await,
    ] {
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.entries(),
            [("path:skillId".to_string(), "invalid_format".to_string())]
        );
    }
}

#[tokio::test]
async fn the_default_page_is_100_items() {
    let app = spawn_app().await;
    let org = app.org;
    for i in 0..101 {
        app.store
            .create_skill(
                org,
                &skillgrid_core::model::NewSkill {
                    name: format!("Skill {i:03}"),
                    description: None,
                },
                skillgrid_core::timestamp::Timestamp::now(),
            )
            .await
            .unwrap();
    }
    let r = app.get(SKILLS).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first = names(&r.body);
    assert_eq!(first.len(), 100);
    assert_eq!(first[0], "Skill 000");
    let c = r.body["nextCursor"].as_str().unwrap();
    let r = app.get(&format!("{SKILLS}?cursor={c}")).await;
    assert_eq!(names(&r.body), ["Skill 100"]);
    assert!(r.body["nextCursor"].is_null());
}
