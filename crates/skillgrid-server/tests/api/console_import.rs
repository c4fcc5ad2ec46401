//! The console's CSV import over plain HTTP: the page and its link for those who may change
//! assignments, the plan (every mistake at its line, every change per agent), Apply all or
//! nothing, and the refusals: a viewer, a missing anti-forgery token, a file too large, a
//! file that is not UTF-8. Whatever is refused writes nothing.

use super::console::{signed_in, Page, Visitor};
use crate::helpers::*;
use serde_json::{json, Value};
use skillgrid_store::Role;
use uuid::Uuid;

/// The skills of `agent` as `(skillName, proficiency)`, through the API.
async fn skills(app: &TestApp, agent: Uuid) -> Vec<(String, i64)> {
    let r = app
        .get(&format!("/api/v2/agents/users/{agent}/skills"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut got: Vec<(String, i64)> = r.body["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["skillName"].as_str().unwrap().to_string(),
                a["proficiency"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    got
}

async fn post(v: &mut Visitor<'_>, app: &TestApp, csrf: &str, path: &str, body: &str) -> Page {
    let headers = [("x-csrf-token", csrf), ("origin", app.base.as_str())];
    v.post_bytes(path, body.as_bytes().to_vec(), &headers).await
}

/// A problem answer's `code`.
fn code(p: &Page) -> Value {
    serde_json::from_str::<Value>(&p.html).unwrap_or(Value::Null)["code"].clone()
}

/// Two agents, Ana holding Billing at 90, and an editor signed in.
async fn world(app: &TestApp) -> (Uuid, Uuid) {
    app.lift_rate_limit().await;
    let billing = app.create_skill("Billing").await;
    app.create_skill("Chat").await;
    let ana = app.create_agent("ana@example.com").await;
    let ben = app.create_agent("ben@example.com").await;
    let r = app
        .put(
            &format!("/api/v2/agents/users/{ana}/skills"),
            &json!([{"skillId": billing, "proficiency": 90}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    (ana, ben)
}

const WITH_A_TYPO: &str = "agent,skill,proficiency\n\
ana@example.com,Billing,40\n\
ana@example.com,Chat,novice\n\
ben@example.com,Chat,Expret\n\
nobody@example.com,Billing,1\n";

const FIXED: &str = "agent,skill,proficiency\n\
ana@example.com,Billing,40\n\
ana@example.com,Chat,novice\n\
BEN@example.com,Chat,Expert\n";

#[tokio::test]
async fn an_editor_sees_each_mistake_at_its_line_then_applies_the_fixed_file() {
    let app = spawn_app().await;
    let (ana, ben) = world(&app).await;
    let org = app.org.to_string();
    let (mut v, csrf) = signed_in(&app, &org, "ed@example.com", Role::Editor).await;

    let home = v.get("/console").await;
    assert!(home.html.contains("data-nav=\"import\""), "{}", home.html);
    let page = v.get("/console/import").await;
    assert_eq!(page.status, 200, "{}", page.html);
    for hook in [
        "<label for=\"import-file\">",
        "id=\"import-file\" type=\"file\"",
        "data-import-apply disabled",
        "<script src=\"/console/assets/import.js\" defer>",
    ] {
        assert!(page.html.contains(hook), "{hook} in {}", page.html);
    }
    let script = v.get("/console/assets/import.js").await;
    assert_eq!(script.status, 200);
    assert!(script.html.contains("/console/import/apply"));

    // The plan of a file with mistakes: each at its line, with the API's own hint.
    let plan = post(&mut v, &app, &csrf, "/console/import/plan", WITH_A_TYPO).await;
    assert_eq!(plan.status, 200, "{}", plan.html);
    let html = &plan.html;
    assert!(html.contains("data-ok=\"false\""), "{html}");
    assert!(
        html.contains("data-line=\"4\" data-column=\"proficiency\""),
        "{html}"
    );
    assert!(html.contains("did you mean"), "{html}");
    assert!(
        html.contains("data-line=\"5\" data-column=\"agent\" data-error-code=\"unknown_agent\""),
        "{html}"
    );
    assert!(!html.contains("data-line=\"2\""), "{html}");
    assert!(!html.contains("data-line=\"3\""), "{html}");
    // Apply refuses it and writes nothing.
    let refused = post(&mut v, &app, &csrf, "/console/import/apply", WITH_A_TYPO).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("data-applied=\"false\""));
    assert!(refused.html.contains("data-line=\"4\""), "{}", refused.html);
    assert_eq!(skills(&app, ana).await, [("Billing".into(), 90)]);
    assert_eq!(skills(&app, ben).await, []);

    // The fixed file: every change per agent, before and after, and the counts.
    let plan = post(&mut v, &app, &csrf, "/console/import/plan", FIXED).await;
    assert_eq!(plan.status, 200, "{}", plan.html);
    let html = &plan.html;
    assert!(html.contains("data-ok=\"true\""), "{html}");
    assert!(!html.contains("data-mistakes"), "{html}");
    assert!(
        html.contains("data-rows=\"3\" data-agents=\"2\" data-added=\"2\" data-updated=\"1\""),
        "{html}"
    );
    for hook in [
        "data-agent=\"ana@example.com\" data-skill=\"Billing\" data-change=\"updated\"",
        "data-agent=\"ana@example.com\" data-skill=\"Chat\" data-change=\"added\"",
        "data-agent=\"ben@example.com\" data-skill=\"Chat\" data-change=\"added\"",
    ] {
        assert!(html.contains(hook), "{hook} in {html}");
    }
    assert!(
        html.contains("<td>90 (Advanced)</td><td>40 (Novice)</td>"),
        "{html}"
    );
    assert_eq!(
        skills(&app, ana).await,
        [("Billing".into(), 90)],
        "a plan writes nothing"
    );

    let applied = post(&mut v, &app, &csrf, "/console/import/apply", FIXED).await;
    assert_eq!(applied.status, 200, "{}", applied.html);
    assert!(
        applied.html.contains("data-applied=\"true\""),
        "{}",
        applied.html
    );
    // The default scale: Novice is 25, Expert 100.
    let level = |name: &str| if name == "Novice" { 25 } else { 100 };
    assert_eq!(
        skills(&app, ana).await,
        [("Billing".into(), 40), ("Chat".into(), level("Novice"))]
    );
    assert_eq!(skills(&app, ben).await, [("Chat".into(), level("Expert"))]);
    // Applied again, it changes nothing.
    let again = post(&mut v, &app, &csrf, "/console/import/plan", FIXED).await;
    assert!(again.html.contains("data-no-changes"), "{}", again.html);
}

#[tokio::test]
async fn a_viewer_has_no_import_and_a_change_needs_its_anti_forgery_token() {
    let app = spawn_app().await;
    let (ana, _) = world(&app).await;
    let org = app.org.to_string();
    let (mut v, csrf) = signed_in(&app, &org, "vic@example.com", Role::Viewer).await;
    let home = v.get("/console").await;
    assert!(!home.html.contains("data-nav=\"import\""), "{}", home.html);
    let page = v.get("/console/import").await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert!(page.html.contains("data-refusal"), "{}", page.html);
    for path in ["/console/import/plan", "/console/import/apply"] {
        let r = post(&mut v, &app, &csrf, path, FIXED).await;
        assert_eq!(r.status, 403, "{}", r.html);
        assert_eq!(code(&r), json!("insufficient_scope"), "{}", r.html);
    }
    let (mut e, _) = signed_in(&app, &org, "ed@example.com", Role::Editor).await;
    let r = e
        .post_bytes(
            "/console/import/apply",
            FIXED.as_bytes().to_vec(),
            &[("origin", app.base.as_str())],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.html);
    assert_eq!(code(&r), json!("forbidden"), "{}", r.html);
    assert_eq!(skills(&app, ana).await, [("Billing".into(), 90)]);
}

#[tokio::test]
async fn a_file_too_large_or_not_utf8_or_without_its_columns_is_refused_precisely() {
    let app = spawn_app().await;
    let (ana, ben) = world(&app).await;
    let org = app.org.to_string();
    let (mut v, csrf) = signed_in(&app, &org, "ad@example.com", Role::Admin).await;
    let headers = [
        ("x-csrf-token", csrf.as_str()),
        ("origin", app.base.as_str()),
    ];

    let mut big = FIXED.as_bytes().to_vec();
    big.resize(1024 * 1024 + 1, b'\n');
    for path in ["/console/import/plan", "/console/import/apply"] {
        let r = v.post_bytes(path, big.clone(), &headers).await;
        assert_eq!(r.status, 413, "{}", r.html);
        assert_eq!(code(&r), json!("payload_too_large"), "{}", r.html);
        assert!(r.html.contains("1048576 bytes"), "{}", r.html);
    }

    // Latin-1 on line 3: the line, the byte, and what to do.
    let mut latin1 =
        b"agent,skill,proficiency\nana@example.com,Billing,40\nben@example.com,Caf".to_vec();
    latin1.extend([0xE9, b',', b'3', b'\n']);
    for (path, status) in [
        ("/console/import/plan", 200),
        ("/console/import/apply", 422),
    ] {
        let r = v.post_bytes(path, latin1.clone(), &headers).await;
        assert_eq!(r.status, status, "{}", r.html);
        assert!(
            r.html
                .contains("data-line=\"3\" data-column=\"-\" data-error-code=\"not_utf8\""),
            "{}",
            r.html
        );
        assert!(r.html.contains("save the file as UTF-8"), "{}", r.html);
    }

    // A header without the agent column, then a file with no rows.
    let r = post(
        &mut v,
        &app,
        &csrf,
        "/console/import/apply",
        "skill,proficiency\nBilling,3\n",
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.html);
    assert!(
        r.html
            .contains("data-line=\"1\" data-column=\"agent\" data-error-code=\"invalid_header\""),
        "{}",
        r.html
    );
    let r = post(
        &mut v,
        &app,
        &csrf,
        "/console/import/apply",
        "agent,skill\n",
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.html);
    assert!(r.html.contains("data-error-code=\"no_rows\""), "{}", r.html);
    // A bad date and a duplicate pair, each at its line.
    let r = post(
        &mut v,
        &app,
        &csrf,
        "/console/import/plan",
        "agent,skill,proficiency,effectiveDate\nana@example.com,Billing,40,tomorrow\nben@example.com,Chat,1,\nben@example.com,Chat,2,\n",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert!(
        r.html.contains(
            "data-line=\"2\" data-column=\"effectiveDate\" data-error-code=\"invalid_value\""
        ),
        "{}",
        r.html
    );
    assert!(
        r.html.contains("data-line=\"4\" data-column=\"skill\""),
        "{}",
        r.html
    );

    assert_eq!(skills(&app, ana).await, [("Billing".into(), 90)]);
    assert_eq!(skills(&app, ben).await, []);
}
