//! The audit page: changes by two console users and the API client, newest first, each
//! naming who made it; filtered by user and by agent.

use super::*;

const ENTRY: &str = "table[data-audit] tbody tr";

/// The page's entries, as the browser shows their text.
async fn entries(s: &Session) -> Vec<String> {
    let mut out = Vec::new();
    for tr in s.browser.find_all(Locator::Css(ENTRY)).await.unwrap() {
        out.push(tr.text().await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_audit_feed_names_who_changed_what_and_filters_by_user_and_agent() {
    let s = start().await;
    // The API client gives Ana Billing; the editor gives Bob Voice; the admin raises Ana's
    // Billing.
    let (ana, bob, billing, voice) = seed_grid(&s).await;
    let edi = s.sign_in_new("edi@example.com", Role::Editor).await;
    let (status, _) = s
        .fetch(
            "PUT",
            &format!("/api/v2/agents/users/{bob}/skills/{voice}"),
            Some(json!({"proficiency": 30})),
            true,
        )
        .await;
    assert_eq!(status, 200);
    s.submit("sign-out").await;
    s.wait_for("form[data-form=\"sign-in\"]").await;
    s.sign_in_new("adm@example.com", Role::Admin).await;
    let (status, _) = s
        .fetch(
            "PUT",
            &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
            Some(json!({"proficiency": 80})),
            true,
        )
        .await;
    assert_eq!(status, 200);

    s.browser
        .find(Locator::Css("a[data-nav=\"audit\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait_for("table[data-audit]").await;
    let all = entries(&s).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(
        all[0].contains("adm@example.com") && all[0].contains("Billing"),
        "{all:?}"
    );
    assert!(
        all[1].contains("edi@example.com") && all[1].contains("Voice"),
        "{all:?}"
    );
    assert!(all[2].contains("API client bootstrap"), "{all:?}");
    s.check_accessibility("the audit page").await;
    s.screenshot("audit").await;

    // By user: the editor's change only.
    let user = edi.id.to_string();
    s.browser
        .find(Locator::Css(&format!("#user option[value=\"{user}\"]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.submit("audit-filters").await;
    s.wait_for(&format!("#user option[value=\"{user}\"][selected]"))
        .await;
    let mine = entries(&s).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert!(mine[0].contains("edi@example.com"), "{mine:?}");

    // By agent, named by e-mail, any user: Ana's two changes, linking to her page.
    s.browser
        .find(Locator::Css("#user option[value=\"\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.fill("#agent", "ana@example.com").await;
    s.submit("audit-filters").await;
    s.wait_for("#agent[value=\"ana@example.com\"]").await;
    let hers = entries(&s).await;
    assert_eq!(hers.len(), 2, "{hers:?}");
    assert!(hers.iter().all(|e| e.contains("Ana")), "{hers:?}");
    s.check_accessibility("the audit page filtered by agent")
        .await;
    s.wait_for(&format!("{ENTRY} a[href=\"/console/agents/{ana}\"]"))
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("table[data-history]").await;
    assert_eq!(s.path().await, format!("/console/agents/{ana}"));
    s.browser.clone().close().await.unwrap();
}
