//! Other products' routes: a 404 whose detail names skillgrid's route for the same job.

use crate::helpers::{assert_problem, spawn_app, Resp, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const PLAIN: &str = "no route matches this path; see /docs for the routes";

fn detail(r: &Resp) -> &str {
    r.body["detail"].as_str().unwrap_or_default()
}

/// Sends `method path` with `body` and `token`, asserts a 404 `not_found` exactly like the
/// fallback's but for a detail naming `product`, and returns that detail.
async fn foreign(
    app: &TestApp,
    (method, path): (Method, &str),
    body: &Value,
    token: Option<&str>,
    product: &str,
) -> String {
    let plain = app.get("/nothing-here").await;
    assert_problem(&plain, 404, "not_found");
    assert_eq!(detail(&plain), PLAIN);
    let r = app.call(method, path, token, Some(body), &[]).await;
    assert_problem(&r, 404, "not_found");
    for k in ["type", "title", "status", "code"] {
        assert_eq!(r.body[k], plain.body[k], "{k}: {}", r.text);
    }
    let d = detail(&r).to_string();
    assert_mentions(&d, &[product, "/docs#coming-from-another-product"]);
    d
}

#[track_caller]
fn assert_mentions(detail: &str, parts: &[&str]) {
    for p in parts {
        assert!(detail.contains(p), "no {p} in: {detail}");
    }
}

#[tokio::test]
async fn a_genesys_bulk_request_names_skillgrids_route_for_the_agent_and_the_body_to_send() {
    let app = spawn_app().await;
    let agent = app.create_agent("ana@example.com").await;
    let skill = app.create_skill("Billing").await;
    let path = format!("/api/v2/users/{agent}/routingskills/bulk");
    let body = json!([{"id": skill, "proficiency": 4.5}]);

    let d = foreign(
        &app,
        (Method::PUT, &path),
        &body,
        Some(&app.token),
        "Genesys Cloud",
    )
    .await;

    let ours = format!("/api/v2/agents/users/{agent}/skills");
    assert_mentions(
        &d,
        &[
            "`PUT /api/v2/users/{userId}/routingskills/bulk` is Genesys Cloud's route to replace a user's routing skills",
            &format!("`PUT {ours}`"),
            "`{id, proficiency 0–5}`",
            "`{skillId, proficiency}`",
            "0–100 by default",
        ],
    );
    // Nothing was written; the route the detail names does the job.
    assert_eq!(app.skills_of(agent).await["skills"], json!([]));
    let r = app
        .put(&ours, &json!([{"skillId": skill, "proficiency": "Expert"}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["skills"][0]["proficiency"], 100);
}

#[tokio::test]
async fn the_answer_comes_before_authentication() {
    let app = spawn_app().await;
    let path = format!("/api/v2/users/{}/routingskills/bulk", Uuid::now_v7());
    let body = json!([{"id": Uuid::now_v7(), "proficiency": 3}]);
    let route = (Method::PUT, path.as_str());
    let with = foreign(&app, route, &body, Some(&app.token), "Genesys").await;
    for token in [None, Some("not-a-token")] {
        let r = app.call(Method::PUT, &path, token, Some(&body), &[]).await;
        assert_problem(&r, 404, "not_found");
        assert_eq!(detail(&r), with);
        assert!(r.header("www-authenticate").is_none(), "{:?}", r.headers);
    }
}

#[tokio::test]
async fn genesys_catalog_routes_name_the_skill_catalog() {
    let app = spawn_app().await;
    let (token, genesys) = (Some(app.token.as_str()), "Genesys Cloud");
    let d = foreign(
        &app,
        (Method::GET, "/api/v2/routing/skills"),
        &json!(null),
        token,
        genesys,
    )
    .await;
    assert_mentions(
        &d,
        &[
            "route to list the organization's routing skills",
            "`GET /api/v2/admin/skills`",
        ],
    );
    let create = (Method::POST, "/api/v2/routing/skills");
    let d = foreign(&app, create, &json!({"name": "Billing"}), token, genesys).await;
    assert_mentions(&d, &["`POST /api/v2/admin/skills`"]);
    // No skill was created.
    let list = app.get("/api/v2/admin/skills").await;
    assert_eq!(list.body["items"], json!([]), "{}", list.text);
}

#[tokio::test]
async fn a_cxone_request_in_any_letter_case_names_skillgrids_route() {
    let app = spawn_app().await;
    let body = json!({"skills": [{"skillId": 4321, "proficiency": 1, "isActive": true}]});
    let mut details = Vec::new();
    for path in [
        "/inContactAPI/services/v30.0/agents/12345/skills",
        "/incontactapi/services/V23.0/Agents/12345/Skills",
    ] {
        let d = foreign(&app, (Method::POST, path), &body, None, "NICE CXone").await;
        assert_mentions(
            &d,
            &[
                "route to assign skills to an agent",
                "`PATCH /api/v2/agents/users/{userId}/skills`",
                "proficiency 1–20",
                "higher is better",
            ],
        );
        details.push(d);
    }
    assert_eq!(details[0], details[1]);
}

#[tokio::test]
async fn an_amazon_connect_request_names_skillgrids_route_for_the_user() {
    let app = spawn_app().await;
    let (instance, user) = (Uuid::now_v7(), Uuid::now_v7());
    let path = format!("/users/{instance}/{user}/associate-proficiencies");
    let body = json!({"UserProficiencies": [
        {"AttributeName": "Language", "AttributeValue": "Spanish", "Level": 4.0}
    ]});
    let token = Some(app.token.as_str());
    let d = foreign(&app, (Method::POST, &path), &body, token, "Amazon Connect").await;
    assert_mentions(
        &d,
        &[
            &format!("`PATCH /api/v2/agents/users/{user}/skills`"),
            "UserProficiencies",
        ],
    );
    assert!(!d.contains(&instance.to_string()), "{d}");
}

#[tokio::test]
async fn a_salesforce_request_names_skillgrids_route() {
    let app = spawn_app().await;
    let path = "/services/data/v60.0/sobjects/ServiceResourceSkill";
    let body = json!({"ServiceResourceId": "0HnXX0000000001", "SkillId": "0C5XX0000000001",
                      "SkillLevel": 50});
    let token = Some(app.token.as_str());
    let d = foreign(&app, (Method::POST, path), &body, token, "Salesforce").await;
    assert_mentions(
        &d,
        &[
            "`PUT /api/v2/agents/users/{userId}/skills/{skillId}`",
            "SkillLevel 0–99.99",
        ],
    );
}

#[tokio::test]
async fn another_method_on_a_recognised_path_names_the_methods_it_takes() {
    let app = spawn_app().await;
    let id = Uuid::now_v7();
    let path = format!("/api/v2/users/{id}/routingskills/bulk");
    let body = json!([{"id": Uuid::now_v7(), "proficiency": 4}]);
    let token = Some(app.token.as_str());
    let d = foreign(&app, (Method::POST, &path), &body, token, "Genesys Cloud").await;
    assert_mentions(
        &d,
        &[
            "`PUT` to replace a user's routing skills",
            "`PATCH` to add routing skills to a user",
            &format!("`PATCH /api/v2/agents/users/{id}/skills`"),
        ],
    );
}

#[tokio::test]
async fn unrecognised_and_odd_paths_get_the_plain_404_and_never_a_500() {
    let app = spawn_app().await;
    let long = "a".repeat(4000);
    let many = "/x".repeat(500);
    let odd = [
        "/api/v2/users/x/routingskills/bulk/extra".to_string(),
        "/api/v2/userz/x/routingskills/bulk".to_string(),
        "/inContactAPI/services/v30./agents/1/skills".to_string(),
        "/inContactAPI/services/vx/agents/1/skills".to_string(),
        "/users/i/u/Associate-Proficiencies".to_string(),
        "/api/v2/users/%00/routingskillz/bulk".to_string(),
        format!("/api/v2/users/{long}/routingskillz/bulk"),
        format!("/api/v2{many}"),
        "/%E2%82%AC/%ZZ/..".to_string(),
    ];
    for path in &odd {
        for m in [Method::GET, Method::PUT, Method::DELETE] {
            let r = app
                .call(m.clone(), path, Some(&app.token), Some(&json!([])), &[])
                .await;
            assert_problem(&r, 404, "not_found");
            assert_eq!(detail(&r), PLAIN, "{m} {path}");
        }
    }
    // Odd ids in a recognised path: recognised, and nothing of them is sent back.
    for id in ["%00", "%E2%82%AC", &long, "%2F", "a.b"] {
        let path = format!("/api/v2/users/{id}/routingskills/bulk");
        let d = foreign(&app, (Method::PUT, &path), &json!([]), None, "Genesys").await;
        assert_mentions(&d, &["`PUT /api/v2/agents/users/{userId}/skills`"]);
        assert!(!d.contains(id), "{id}: {d}");
    }
}

#[tokio::test]
async fn every_documented_route_answers_as_itself() {
    let app = spawn_app().await;
    let id = Uuid::now_v7().to_string();
    let doc = skillgrid_server::openapi::document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = path.replace("{userId}", &id).replace("{skillId}", &id);
        for m in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            if crate::helpers::is_stream(path, &method) {
                continue;
            }
            let r = app.call(method, &url, Some(&app.token), None, &[]).await;
            assert!(r.status < 500, "{m} {url}: {}", r.text);
            assert!(!detail(&r).contains("product"), "{m} {url}: {}", r.text);
        }
    }
}
