//! Signing in and out, the API reached with the session, what a viewer and another site
//! cannot do, and the sign-in screens' accessibility.

use super::*;

#[tokio::test]
async fn sign_in_change_the_password_work_through_the_api_and_sign_out() {
    let s = start().await;
    let (agent, skill) = s.agent_with_a_skill().await;
    let user = s.sign_in_new("edi@example.com", Role::Editor).await;
    let email = s.wait_for("[data-email]").await;
    assert_eq!(email.text().await.unwrap(), "edi@example.com");
    let org = s.wait_for("[data-org]").await;
    assert_eq!(org.text().await.unwrap(), "default");
    let cookie = s
        .browser
        .get_named_cookie("skillgrid_session")
        .await
        .unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    let old_cookie = cookie.value().to_string();

    // The page's script changes an agent's skills through the API with the session: refused
    // without the page's token, done with it, and the audit names the user.
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let body = json!([{"skillId": skill, "proficiency": 75}]);
    let (status, problem) = s.fetch("PUT", &path, Some(body.clone()), false).await;
    assert_eq!(
        (status, &problem["code"]),
        (403, &json!("forbidden")),
        "{problem}"
    );
    let (status, answer) = s.fetch("PUT", &path, Some(body), true).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["version"], 1);
    let history = s
        .as_admin(reqwest::Method::GET, &format!("{path}/history"), None)
        .await;
    assert_eq!(
        history["items"][0]["userId"],
        user.id.to_string(),
        "{history}"
    );
    assert_eq!(history["items"][0]["clientId"], user.client_id.to_string());

    // Sign out: back to the form, and the old cookie opens nothing any more.
    s.submit("sign-out").await;
    s.wait_for("form[data-form=\"sign-in\"]").await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = http
        .get(s.url("/console"))
        .header("cookie", format!("skillgrid_session={old_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/console/sign-in");
    let api = http
        .get(s.url(&path))
        .header("cookie", format!("skillgrid_session={old_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_viewer_changes_nothing_and_another_site_cannot_post() {
    let s = start().await;
    let (agent, skill) = s.agent_with_a_skill().await;
    s.sign_in_new("vic@example.com", Role::Viewer).await;
    let path = format!("/api/v2/agents/users/{agent}/skills");
    let (status, read) = s.fetch("GET", &path, None, false).await;
    assert_eq!(status, 200, "{read}");
    // Even with the page's token the server refuses a viewer's change, and nothing is written.
    let body = json!([{"skillId": skill, "proficiency": 75}]);
    let (status, problem) = s.fetch("PUT", &path, Some(body), true).await;
    assert_eq!(
        (status, &problem["code"]),
        (403, &json!("insufficient_scope")),
        "{problem}"
    );
    let after = s.as_admin(reqwest::Method::GET, &path, None).await;
    assert_eq!(
        (after["version"].clone(), after["skills"].clone()),
        (json!(0), json!([]))
    );

    // A page of another origin (same host, another port: the browser sends the cookie) posts
    // a sign-out form with a guessed token: refused, and the session lives on.
    let evil = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_base = format!("http://{}", evil.local_addr().unwrap());
    let target = s.url("/console/sign-out");
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><title>win a prize</title>\
         <form method=\"post\" action=\"{target}\" data-form=\"evil\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"guessed\">\
         <button type=\"submit\">Claim</button></form></html>"
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    tokio::spawn(async move { axum::serve(evil, router).await });
    s.browser.goto(&format!("{evil_base}/")).await.unwrap();
    s.submit("evil").await;
    let refusal = s.wait_for("[data-refusal]").await;
    assert!(refusal.text().await.unwrap().contains("another site"));
    s.check_accessibility("the refusal page").await;
    s.browser.goto(&s.url("/console")).await.unwrap();
    s.wait_for("[data-home]").await;
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn the_sign_in_and_password_screens_are_accessible() {
    let s = start().await;
    let org = s.app.boot.org_id.to_string();
    let made = bootstrap::create_user(&s.app.store, &org, "ida@example.com", Role::Admin, None)
        .await
        .unwrap();
    s.browser.goto(&s.url("/console/sign-in")).await.unwrap();
    s.wait_for("form[data-form=\"sign-in\"]").await;
    s.check_accessibility("the sign-in page").await;
    s.screenshot("sign-in").await;
    s.fill("#email", "ida@example.com").await;
    s.fill("#password", "not the password").await;
    s.submit("sign-in").await;
    s.wait_for("[data-sign-in-error]").await;
    s.check_accessibility("the sign-in page, with an error")
        .await;
    s.fill("#password", &made.password.unwrap()).await;
    s.submit("sign-in").await;
    s.wait_for("[data-must-change]").await;
    s.check_accessibility("the change of password").await;
    s.fill("#current", "not the password").await;
    s.fill("#new", CHOSEN).await;
    s.fill("#confirm", CHOSEN).await;
    s.submit("password").await;
    s.wait_for("[data-password-error]").await;
    s.check_accessibility("the change of password, with an error")
        .await;
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn disabling_a_user_ends_their_session_at_once() {
    let s = start().await;
    s.sign_in_new("max@example.com", Role::Admin).await;
    let org = s.app.boot.org_id.to_string();
    bootstrap::set_user_active(&s.app.store, &org, "max@example.com", false)
        .await
        .unwrap();
    s.browser.goto(&s.url("/console")).await.unwrap();
    s.wait_for("form[data-form=\"sign-in\"]").await;
    assert_eq!(s.path().await, "/console/sign-in");
    s.browser.clone().close().await.unwrap();
}
