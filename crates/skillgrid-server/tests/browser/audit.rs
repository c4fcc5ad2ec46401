//! The audit page: changes by two console users and the API client, newest first, each
//! naming who made it; filtered by user and by agent; a skill renamed on the skills page
//! shown among the changes to skills, with the e-mail of the user who renamed it.

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

#[tokio::test]
async fn a_skill_renamed_in_the_console_is_among_the_changes_to_skills_with_its_user() {
    let s = start().await;
    let (_, _, billing, _) = seed_grid(&s).await;
    s.sign_in_new("adm@example.com", Role::Admin).await;
    s.browser.goto(&s.url("/console/skills")).await.unwrap();
    s.wait_for("table[data-skills]").await;
    s.fill(&format!("#name-{billing}"), "Invoices").await;
    s.browser
        .find(Locator::Css(&format!(
            "form[data-form=\"skill-edit\"][data-skill-id=\"{billing}\"] button[type=submit]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait_for("table[data-skills] tr[data-name=\"Invoices\"]")
        .await;

    // The audit page, "What changed": skills.
    s.browser
        .find(Locator::Css("a[data-nav=\"audit\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait_for("table[data-audit]").await;
    s.browser
        .find(Locator::Css("#what option[value=\"skills\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.submit("audit-filters").await;
    s.wait_for("table[data-admin-audit]").await;
    let rows = s
        .browser
        .find_all(Locator::Css("table[data-admin-audit] tbody tr"))
        .await
        .unwrap();
    let newest = &rows[0];
    assert_eq!(
        newest.attr("data-subject-id").await.unwrap().as_deref(),
        Some(billing.as_str())
    );
    let text = newest.text().await.unwrap();
    assert!(text.contains("adm@example.com"), "{text}");
    assert!(text.contains("Billing → Invoices"), "{text}");
    assert_eq!(
        s.text_of(
            "table[data-admin-audit] tbody tr:first-child [data-field=\"name\"] [data-after]"
        )
        .await,
        "Invoices"
    );
    // The skill's creation by the API client is there too, older.
    let last = rows.last().unwrap().text().await.unwrap();
    assert!(
        last.contains("API client bootstrap") && last.contains("created"),
        "{last}"
    );
    s.check_accessibility("the audit page showing changes to skills")
        .await;
    s.screenshot("audit-skills").await;
    s.browser.clone().close().await.unwrap();
}
