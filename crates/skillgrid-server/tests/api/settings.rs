//! Organization settings.

use crate::helpers::{assert_problem, spawn_app};
use serde_json::{json, Value};

const SETTINGS: &str = "/api/v2/organizations/settings";

fn defaults() -> Value {
    json!({
      "proficiencyScale": {"min": 0, "max": 100, "default": 50,
                           "levels": {"Novice": 25, "Intermediate": 50, "Advanced": 75, "Expert": 100}},
      "limits": {"maxSkillsPerAgent": 500, "maxItemsPerBulk": 10000,
                 "maxAssignmentsPerRequest": 100000, "maxBodyBytes": 33554432},
      "requireIfMatch": false,
      "rateLimit": {"requestsPerMinute": 600, "burst": 100},
      "warnings": "warn",
      "auditRetentionDays": null
    })
}

fn level_names(settings: &Value) -> Vec<String> {
    settings["proficiencyScale"]["levels"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn defaults_are_exactly_the_documented_ones() {
    let app = spawn_app().await;
    let r = app.get(SETTINGS).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.body, defaults());
    assert_eq!(
        level_names(&r.body),
        ["Novice", "Intermediate", "Advanced", "Expert"]
    );
}

#[tokio::test]
async fn patch_merges_nested_objects() {
    let app = spawn_app().await;
    let r = app
        .patch(SETTINGS, &json!({"limits": {"maxSkillsPerAgent": 10}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut want = defaults();
    want["limits"]["maxSkillsPerAgent"] = json!(10);
    assert_eq!(r.body, want);
    assert_eq!(app.get(SETTINGS).await.body, want);

    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"default": 40, "levels": {"Master": 90}},
                    "rateLimit": {"burst": 5}, "requireIfMatch": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    want["proficiencyScale"]["default"] = json!(40);
    want["proficiencyScale"]["levels"]["Master"] = json!(90);
    want["rateLimit"]["burst"] = json!(5);
    want["requireIfMatch"] = json!(true);
    assert_eq!(r.body, want);
    // Levels read from lowest to highest.
    assert_eq!(
        level_names(&r.body),
        ["Novice", "Intermediate", "Advanced", "Master", "Expert"]
    );
    assert_eq!(app.get(SETTINGS).await.body, want);

    // The new level and default apply to assignments.
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let r = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&app.token),
            Some(&json!([{"skillId": skill, "proficiency": "master"}])),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["skills"][0]["proficiency"], 90);
    assert_eq!(r.body["skills"][0]["level"], "Master");
    let r = app
        .call(
            reqwest::Method::PUT,
            &path,
            Some(&app.token),
            Some(&json!([{"skillId": skill}])),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(r.body["skills"][0]["proficiency"], 40, "{}", r.text);
    assert_eq!(r.body["skills"][0]["level"], "Novice");
}

#[tokio::test]
async fn a_level_set_to_null_is_removed() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let r = app
        .put(&path, &json!([{"skillId": skill, "proficiency": 30}]))
        .await;
    assert_eq!(r.body["skills"][0]["level"], "Novice", "{}", r.text);

    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"levels": {"Novice": null}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["proficiencyScale"]["levels"],
        json!({"Intermediate": 50, "Advanced": 75, "Expert": 100})
    );
    assert_eq!(app.get(SETTINGS).await.body, r.body);

    // The stored proficiency now sits below the lowest level.
    let got = app.skills_of(agent).await;
    assert_eq!(got["skills"][0]["proficiency"], 30);
    assert_eq!(got["skills"][0]["level"], Value::Null);
    // And the name is no longer accepted.
    let r = app
        .put(&path, &json!([{"skillId": skill, "proficiency": "Novice"}]))
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [(
            "pointer:/0/proficiency".to_string(),
            "unknown_level".to_string()
        )]
    );
}

#[tokio::test]
async fn a_scale_that_strands_stored_proficiencies_is_refused() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    let other = app.create_skill("Sales").await;
    for (email, p) in [
        ("a@example.com", 90),
        ("b@example.com", 95),
        ("c@example.com", 10),
    ] {
        let agent = app.create_agent(email).await;
        let r = app
            .put(
                &format!("/api/v2/agents/users/{agent}/skills"),
                &json!([{"skillId": skill, "proficiency": p}, {"skillId": other, "proficiency": 50}]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let before = app.get(SETTINGS).await.body;

    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"max": 80, "levels": {"Expert": 80, "Advanced": 70}}}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(
        r.entries(),
        [(
            "pointer:/proficiencyScale/max".to_string(),
            "out_of_range".to_string()
        )]
    );
    assert_eq!(
        refusals(&r),
        [(
            "/proficiencyScale/max",
            "2 stored assignments have a proficiency above the new max 80",
            "a max of at least the highest stored proficiency (95)",
            "update or remove those assignments first, or keep the current max",
        )]
    );
    assert_eq!(app.get(SETTINGS).await.body, before, "nothing changed");

    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"min": 20, "max": 80, "levels": {"Novice": 20, "Expert": 80, "Advanced": 70}}}),
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    let mut entries = r.entries();
    entries.sort();
    assert_eq!(
        entries,
        [
            (
                "pointer:/proficiencyScale/max".to_string(),
                "out_of_range".to_string()
            ),
            (
                "pointer:/proficiencyScale/min".to_string(),
                "out_of_range".to_string()
            )
        ]
    );
    assert_eq!(
        refusals(&r),
        [
            (
                "/proficiencyScale/min",
                "1 stored assignment has a proficiency below the new min 20",
                "a min of at most the lowest stored proficiency (10)",
                "update or remove that assignment first, or keep the current min",
            ),
            (
                "/proficiencyScale/max",
                "2 stored assignments have a proficiency above the new max 80",
                "a max of at least the highest stored proficiency (95)",
                "update or remove those assignments first, or keep the current max",
            )
        ]
    );
    assert_eq!(app.get(SETTINGS).await.body, before, "nothing changed");

    // A scale that keeps every stored value is fine, and so is a wider one.
    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"min": 10, "max": 95, "levels": {"Expert": 95}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"min": -5, "max": 1000}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The `(pointer, detail, expected, hint)` of each error of a refused scale change, in order;
/// also checks that each received the value the patch sent.
fn refusals(r: &crate::helpers::Resp) -> Vec<(&str, &str, &str, &str)> {
    assert_problem(r, 400, "validation_failed");
    fn text<'a>(e: &'a Value, field: &str) -> &'a str {
        e[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {e}"))
    }
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["code"], "out_of_range", "{e}");
            assert!(e["received"].is_i64(), "{e}");
            (
                text(e, "pointer"),
                text(e, "detail"),
                text(e, "expected"),
                text(e, "hint"),
            )
        })
        .collect()
}

/// The refusal names the organization's own lowest and highest stored proficiency (not the
/// current scale's ends, nor another organization's values), and counts in proper English.
#[tokio::test]
async fn a_refused_scale_names_the_real_stored_extremes() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    for (email, p) in [("low@example.com", 30), ("high@example.com", 80)] {
        let agent = app.create_agent(email).await;
        let r = app
            .put(
                &format!("/api/v2/agents/users/{agent}/skills"),
                &json!([{"skillId": skill, "proficiency": p}]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Another organization stores the ends of the scale; they must not count here.
    let (_, other) = app.other_org("acme").await;
    let post = |path: &'static str, body: Value| {
        let other = other.clone();
        let app = &app;
        async move {
            let r = app
                .call(reqwest::Method::POST, path, Some(&other), Some(&body), &[])
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let their_skill = post("/api/v2/admin/skills", json!({"name": "Billing"})).await;
    for (email, p) in [("zero@example.com", 0), ("full@example.com", 100)] {
        let agent = post("/api/v2/admin/users", json!({"email": email, "name": "x"})).await;
        let r = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v2/agents/users/{agent}/skills"),
                Some(&other),
                Some(&json!([{"skillId": their_skill, "proficiency": p}])),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let before = app.get(SETTINGS).await.body;

    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"max": 70, "levels": {"Expert": 70, "Advanced": 60}}}),
        )
        .await;
    let max_70 = (
        "/proficiencyScale/max",
        "1 stored assignment has a proficiency above the new max 70",
        "a max of at least the highest stored proficiency (80)",
        "update or remove that assignment first, or keep the current max",
    );
    assert_eq!(refusals(&r), [max_70]);
    assert_eq!(r.body["errors"][0]["received"], 70);
    assert_eq!(
        r.body["detail"],
        "1 problem in the request body: 1 stored assignment has a proficiency above the new max \
         70; nothing was written"
    );

    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"min": 40, "levels": {"Novice": 40}}}),
        )
        .await;
    let min_40 = (
        "/proficiencyScale/min",
        "1 stored assignment has a proficiency below the new min 40",
        "a min of at most the lowest stored proficiency (30)",
        "update or remove that assignment first, or keep the current min",
    );
    assert_eq!(refusals(&r), [min_40]);
    assert_eq!(r.body["errors"][0]["received"], 40);

    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"min": 40, "max": 70,
                    "levels": {"Novice": 40, "Expert": 70, "Advanced": 60}}}),
        )
        .await;
    assert_eq!(refusals(&r), [min_40, max_70]);

    // Both stored values beyond one end: the plural.
    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"min": 0, "max": 20, "default": 10,
                    "levels": {"Novice": 10, "Intermediate": null, "Advanced": null, "Expert": 20}}}),
        )
        .await;
    assert_eq!(
        refusals(&r),
        [(
            "/proficiencyScale/max",
            "2 stored assignments have a proficiency above the new max 20",
            "a max of at least the highest stored proficiency (80)",
            "update or remove those assignments first, or keep the current max",
        )]
    );
    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"min": 85, "default": 90,
                    "levels": {"Novice": null, "Intermediate": null, "Advanced": null}}}),
        )
        .await;
    assert_eq!(
        refusals(&r),
        [(
            "/proficiencyScale/min",
            "2 stored assignments have a proficiency below the new min 85",
            "a min of at most the lowest stored proficiency (30)",
            "update or remove those assignments first, or keep the current min",
        )]
    );
    assert_eq!(app.get(SETTINGS).await.body, before, "nothing changed");

    // The values the refusals named are the limits: a scale from 30 to 80 is accepted.
    let r = app
        .patch(
            SETTINGS,
            &json!({"proficiencyScale": {"min": 30, "max": 80,
                    "levels": {"Novice": 30, "Expert": 80, "Advanced": 70}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_refused_patch_changes_nothing() {
    let app = spawn_app().await;
    let before = app.get(SETTINGS).await.body;
    for bad in [
        json!({"requireIfMatch": true, "limits": {"maxSkillsPerAgent": 0}}),
        json!({"requireIfMatch": true, "limits": {"maxSkills": 3}}),
        json!({"requireIfMatch": true, "proficiencyScale": {"min": 100, "max": 0}}),
        json!({"requireIfMatch": "yes"}),
        json!([{"requireIfMatch": true}]),
    ] {
        let r = app.patch(SETTINGS, &bad).await;
        assert_problem(&r, 400, "validation_failed");
        assert!(!r.entries().is_empty(), "{}", r.text);
        assert_eq!(app.get(SETTINGS).await.body, before, "{bad}");
    }
    let r = app
        .patch(SETTINGS, &json!({"limits": {"maxSkills": 3}}))
        .await;
    assert_eq!(
        r.entries(),
        [(
            "pointer:/limits/maxSkills".to_string(),
            "unknown_field".to_string()
        )]
    );
}

#[tokio::test]
async fn removing_a_level_matches_its_name_in_any_case() {
    let app = crate::helpers::spawn_app().await;
    let r = app
        .patch(
            "/api/v2/organizations/settings",
            &serde_json::json!({"proficiencyScale": {"levels": {"novice": null}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let levels = r.body["proficiencyScale"]["levels"].as_object().unwrap();
    assert!(!levels.contains_key("Novice"), "{levels:?}");
    assert_eq!(levels.len(), 3);
}

/// The server keeps the settings and catalog it read, but a change made anywhere else (another
/// instance, an admin command: here the store itself, behind the server's back) applies to
/// the very next request.
#[tokio::test]
async fn a_change_made_elsewhere_applies_to_the_next_request() {
    use skillgrid_core::model::{NewSkill, SkillPatch};
    use skillgrid_core::timestamp::Timestamp;
    let app = spawn_app().await;
    let agent = app.create_agent("elsewhere@example.com").await;
    let first = app.create_skill("Billing").await;
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let one = |skill: uuid::Uuid| format!("{path}/{skill}");
    // Both read by the server before the changes below.
    let r = app.put(&one(first), &json!({"proficiency": 60})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["skills"][0]["level"], "Intermediate");

    // A new skill, a renamed one, a renamed level and `requireIfMatch`, all in the store.
    let now = Timestamp::now();
    let new = NewSkill {
        name: "Chat".into(),
        description: None,
    };
    let chat = app.store.create_skill(app.org, &new, now).await.unwrap().id;
    let rename = SkillPatch {
        name: Some("Billing EU".into()),
        ..Default::default()
    };
    app.store
        .update_skill(app.org, first.into(), &rename, now)
        .await
        .unwrap();
    let mut settings = app.store.settings(app.org).await.unwrap();
    let levels = settings.proficiency_scale.levels.iter();
    let renamed = levels.map(|(name, v)| {
        let name = if name == "Intermediate" {
            "Competent"
        } else {
            name
        };
        (name.to_string(), v)
    });
    settings.proficiency_scale.levels = skillgrid_api::Levels::new(renamed.collect());
    settings.require_if_match = true;
    app.store
        .update_settings(app.org, &settings)
        .await
        .unwrap()
        .unwrap();

    let r = app.put(&one(chat.get()), &json!({"proficiency": 10})).await;
    assert_problem(&r, 428, "precondition_required");
    let r = app
        .call(
            reqwest::Method::PUT,
            &one(chat.get()),
            Some(&app.token),
            Some(&json!({"proficiency": "competent"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let held: Vec<(&str, &str, i64)> = r.body["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["skillName"].as_str().unwrap(),
                s["level"].as_str().unwrap(),
                s["proficiency"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [("Billing EU", "Competent", 60), ("Chat", "Competent", 50)]
    );

    // A skill deactivated elsewhere can no longer be assigned here.
    let off = SkillPatch {
        active: Some(false),
        ..Default::default()
    };
    app.store
        .update_skill(app.org, chat, &off, now)
        .await
        .unwrap();
    let r = app
        .call(
            reqwest::Method::PUT,
            &one(chat.get()),
            Some(&app.token),
            Some(&json!({"proficiency": 70})),
            &[("If-Match", "\"2\"")],
        )
        .await;
    assert_problem(&r, 400, "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "inactive_skill", "{}", r.text);
}

#[tokio::test]
async fn audit_retention_is_whole_days_or_null() {
    let app = spawn_app().await;
    let r = app
        .patch(SETTINGS, &json!({"auditRetentionDays": 365}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["auditRetentionDays"], 365);
    assert_eq!(app.get(SETTINGS).await.body["auditRetentionDays"], 365);

    for (bad, code) in [
        (json!(0), "out_of_range"),
        (json!(36501), "out_of_range"),
        (json!(1.5), "invalid_type"),
        (json!("30"), "invalid_type"),
    ] {
        let r = app
            .patch(SETTINGS, &json!({"auditRetentionDays": bad}))
            .await;
        assert_problem(&r, 400, "validation_failed");
        assert_eq!(
            r.body["errors"][0]["pointer"], "/auditRetentionDays",
            "{}",
            r.text
        );
        assert_eq!(r.body["errors"][0]["code"], code, "{bad}: {}", r.text);
    }
    assert_eq!(app.get(SETTINGS).await.body["auditRetentionDays"], 365);

    // null keeps entries forever again.
    let r = app
        .patch(SETTINGS, &json!({"auditRetentionDays": null}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, defaults());
}
