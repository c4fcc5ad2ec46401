//! The admin screens: settings (a mistake shown at its field in the API's words and nothing
//! saved, then a change saved), people (a user made with a one-time password shown once, then
//! disabled, which ends their session), API clients (one made with its secret shown once, its
//! secret rotated, disabled); and an editor, who gets no link and a refusal.

use super::*;

/// What `POST /oauth/token` answers for a client's id and secret.
async fn token_status(s: &Session, id: &str, secret: &str) -> u16 {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(s.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Signs `email` in over plain HTTP with `password`, as another browser would: its cookie.
async fn other_browser(s: &Session, email: &str, password: &str) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(s.url("/console/sign-in"))
        .form(&[
            ("organization", "default"),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    (http, cookie)
}

/// Where `path` sends the other browser: its status and `Location`.
async fn visit(s: &Session, http: &reqwest::Client, cookie: &str, path: &str) -> (u16, String) {
    let r = http
        .get(s.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), to)
}

async fn click(s: &Session, css: &str) {
    s.wait_for(css).await.click().await.unwrap();
}

#[tokio::test]
async fn an_admin_changes_settings_people_and_clients() {
    let s = start().await;
    s.sign_in_new("root@example.com", Role::Admin).await;
    let stored = s
        .as_admin(reqwest::Method::GET, "/api/v2/organizations/settings", None)
        .await;

    // Settings: a proficiency that is not a number, refused at its field in the API's words.
    click(&s, "[data-admin-links] a[href=\"/console/settings\"]").await;
    s.wait_for("form[data-form=\"settings\"]").await;
    s.check_accessibility("the settings").await;
    s.screenshot("settings").await;
    s.fill("#scale-min", "low").await;
    s.submit("settings").await;
    let error = "[data-field=\"/proficiencyScale/min\"] .field-error[data-pointer=\"/proficiencyScale/min\"]";
    let text = s.text_of(error).await;
    let code = s
        .wait_for(error)
        .await
        .attr("data-error-code")
        .await
        .unwrap();
    assert!(code.is_some_and(|c| !c.is_empty()));
    assert!(!text.is_empty());
    let (status, refused) = s
        .fetch(
            "PATCH",
            "/api/v2/organizations/settings",
            Some(json!({"proficiencyScale": {"min": "low"}})),
            true,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        text.starts_with(refused["errors"][0]["detail"].as_str().unwrap()),
        "{text}"
    );
    s.check_accessibility("the settings with an error").await;
    // A scale whose max is below its min: the API's words at the max.
    s.fill("#scale-min", "0").await;
    s.fill("#scale-max", "-5").await;
    s.submit("settings").await;
    s.wait_for("[data-field=\"/proficiencyScale/max\"] .field-error[data-pointer=\"/proficiencyScale/max\"]")
        .await;
    let now = s
        .as_admin(reqwest::Method::GET, "/api/v2/organizations/settings", None)
        .await;
    assert_eq!(now, stored, "nothing saved");
    // A valid change: saved, the page says so.
    s.fill("#scale-max", "120").await;
    s.fill("#rate-burst", "777").await;
    s.submit("settings").await;
    s.wait_for("[data-saved]").await;
    let now = s
        .as_admin(reqwest::Method::GET, "/api/v2/organizations/settings", None)
        .await;
    assert_eq!(now["proficiencyScale"]["max"], 120, "{now}");
    assert_eq!(now["rateLimit"]["burst"], 777, "{now}");
    assert_eq!(
        now["proficiencyScale"]["levels"],
        stored["proficiencyScale"]["levels"]
    );

    // People: a mistake, then a user with a one-time password shown once.
    click(&s, "[data-admin-links] a[href=\"/console/people\"]").await;
    s.wait_for("form[data-form=\"new-user\"]").await;
    s.check_accessibility("people").await;
    // (The browser itself refuses what is not an e-mail address; the server, an e-mail taken.)
    s.fill("#user-email", "ROOT@example.com").await;
    s.submit("new-user").await;
    assert!(s
        .text_of("[data-user-error]")
        .await
        .contains("already has a user"));
    s.check_accessibility("people with an error").await;
    s.fill("#user-email", "ada@example.com").await;
    s.submit("new-user").await;
    let password = s.text_of("[data-one-time-password]").await;
    assert!(password.len() >= 12, "{password}");
    s.check_accessibility("people with a one-time password")
        .await;
    s.screenshot("people").await;
    s.browser.goto(&s.url("/console/people")).await.unwrap();
    s.wait_for("tr[data-email=\"ada@example.com\"]").await;
    let shown = s
        .browser
        .find_all(Locator::Css("[data-one-time-password]"))
        .await
        .unwrap();
    assert!(shown.is_empty(), "the password is shown once");
    // Ada signs in elsewhere; disabling her ends that session at once.
    let (http, cookie) = other_browser(&s, "ada@example.com", &password).await;
    assert_eq!(visit(&s, &http, &cookie, "/console/password").await.0, 200);
    click(
        &s,
        "tr[data-email=\"ada@example.com\"] form[data-form=\"user-active\"] button",
    )
    .await;
    s.wait_for("[data-done]").await;
    s.wait_for("tr[data-email=\"ada@example.com\"] td[data-active=\"false\"]")
        .await;
    assert_eq!(
        visit(&s, &http, &cookie, "/console/password").await,
        (303, "/console/sign-in".to_string())
    );

    // API clients: a mistake at its fields, then a client with its secret shown once.
    click(&s, "[data-admin-links] a[href=\"/console/clients\"]").await;
    s.wait_for("table[data-clients]").await;
    s.check_accessibility("API clients").await;
    s.submit("new-client").await;
    s.wait_for("[data-field=\"/name\"] .field-error").await;
    s.check_accessibility("API clients with an error").await;
    s.fill("#client-name", "etl").await;
    click(&s, "input[data-scope][value=\"admin:org:read\"]").await;
    s.submit("new-client").await;
    let row = "tr[data-name=\"etl\"]";
    let id = s
        .wait_for(row)
        .await
        .attr("data-client-id")
        .await
        .unwrap()
        .unwrap();
    let secret = s.text_of("[data-secret-shown] [data-secret]").await;
    assert_eq!(token_status(&s, &id, &secret).await, 200);
    s.check_accessibility("API clients with a secret").await;
    s.screenshot("clients").await;
    // Rotated: a new secret shown, the old one refused.
    click(&s, &format!("{row} button[data-rotate]")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let rotated = loop {
        let now = s.text_of("[data-secret-shown] [data-secret]").await;
        if now != secret || Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(rotated, secret);
    assert_eq!(token_status(&s, &id, &secret).await, 401);
    assert_eq!(token_status(&s, &id, &rotated).await, 200);
    // Disabled: no token.
    click(&s, &format!("{row} button[data-toggle-active]")).await;
    s.wait_for(&format!("{row} td[data-active=\"false\"]"))
        .await;
    assert_ne!(token_status(&s, &id, &rotated).await, 200);
    // Reloaded: no secret on the page; the console users' own clients have no buttons.
    s.browser.goto(&s.url("/console/clients")).await.unwrap();
    s.wait_for(row).await;
    let secret_box = s.wait_for("[data-secret-shown]").await;
    assert!(!secret_box.is_displayed().await.unwrap());
    let own = s
        .browser
        .find_all(Locator::Css("tr[data-console-user] button"))
        .await
        .unwrap();
    assert!(own.is_empty());
}

#[tokio::test]
async fn an_editor_gets_no_admin_link_and_a_refusal() {
    let s = start().await;
    s.sign_in_new("edi@example.com", Role::Editor).await;
    let links = s
        .browser
        .find_all(Locator::Css("[data-admin-links]"))
        .await
        .unwrap();
    assert!(links.is_empty());
    for page in ["/console/settings", "/console/people", "/console/clients"] {
        s.browser.goto(&s.url(page)).await.unwrap();
        let why = s.text_of("[data-refusal]").await;
        assert!(why.contains("Only an admin"), "{page}: {why}");
    }
    s.check_accessibility("an admin screen refused to an editor")
        .await;
}
