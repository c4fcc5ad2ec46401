use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn put_then_get_round_trips() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let r = app
        .put(
            &format!("/api/v2/agents/users/{agent}/skills"),
            &json!([{"skillId": skill, "proficiency": "advanced"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag"), Some("\"1\""));
    let got = app.skills_of(agent).await;
    assert_eq!(got["skills"][0]["proficiency"], 75);
    assert_eq!(got["skills"][0]["level"], "Advanced");
}
