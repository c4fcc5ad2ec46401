//! One agent's page: their skills with dates, their history, and Undo.

use super::*;

/// The history rows of the agent page, newest first.
const HISTORY_ROW: &str = "table[data-history] tbody tr";

/// An agent's page opened from the grid shows their skills with dates and their history;
/// Undo restores the change's `before` through the API, and the new change names the user.
#[tokio::test]
async fn an_agent_s_change_is_undone_from_their_page() {
    let s = start().await;
    let (ana, _, billing, _) = seed_grid(&s).await;
    let user = s.sign_in_new("edi@example.com", Role::Editor).await;
    let (status, _) = s
        .fetch(
            "PUT",
            &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
            Some(json!({"proficiency": 75, "expirationDate": "2031-06-30T00:00:00Z"})),
            true,
        )
        .await;
    assert_eq!(status, 200);
    s.browser.goto(&s.url("/console")).await.unwrap();
    s.wait_for(&format!("a[href=\"/console/agents/{ana}\"]"))
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("table[data-history]").await;
    assert_eq!(s.path().await, format!("/console/agents/{ana}"));
    let skills = s.text_of("table[data-skills] tbody").await;
    assert!(
        skills.contains("Billing") && skills.contains("2031-06-30"),
        "{skills}"
    );
    let rows = s.browser.find_all(Locator::Css(HISTORY_ROW)).await.unwrap();
    assert_eq!(rows.len(), 2);
    let newest = rows[0].text().await.unwrap();
    assert!(newest.contains("edi@example.com"), "{newest}");
    s.check_accessibility("the agent page").await;
    s.screenshot("agent").await;

    // Undo the editor's change: Billing is back at 50, with no expiration.
    rows[0]
        .find(Locator::Css("button[data-undo]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait_for("[data-undone]").await;
    let stored = s.skills_of(&ana).await;
    assert_eq!(stored["version"], 3, "{stored}");
    assert_eq!(stored["skills"][0]["proficiency"], 50, "{stored}");
    assert_eq!(
        stored["skills"][0]["expirationDate"],
        Value::Null,
        "{stored}"
    );
    // The undo is a change of its own, newest, made by the user.
    let rows = s.browser.find_all(Locator::Css(HISTORY_ROW)).await.unwrap();
    assert_eq!(rows.len(), 3);
    let newest = rows[0].text().await.unwrap();
    assert!(newest.contains("edi@example.com"), "{newest}");
    assert!(newest.contains("updated"), "{newest}");
    let history = s
        .as_admin(
            reqwest::Method::GET,
            &format!("/api/v2/agents/users/{ana}/skills/history"),
            None,
        )
        .await;
    assert_eq!(
        history["items"][0]["userId"],
        json!(user.id.to_string()),
        "{history}"
    );
    assert_eq!(history["items"][0]["after"]["proficiency"], 50, "{history}");
    s.browser.clone().close().await.unwrap();
}

/// A change whose skill has moved on since is not undone: the row says why, nothing is written.
#[tokio::test]
async fn an_undo_is_refused_when_the_value_has_moved_on() {
    let s = start().await;
    let (ana, _, billing, _) = seed_grid(&s).await;
    s.sign_in_new("edi@example.com", Role::Editor).await;
    s.browser
        .goto(&s.url(&format!("/console/agents/{ana}")))
        .await
        .unwrap();
    s.wait_for("table[data-history]").await;
    // Someone changes Billing through the API after the page was shown.
    s.as_admin(
        reqwest::Method::PUT,
        &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
        Some(json!({"proficiency": 60})),
    )
    .await;
    s.wait_for(&format!("{HISTORY_ROW} button[data-undo]"))
        .await
        .click()
        .await
        .unwrap();
    let refusal = s
        .wait_for(&format!(
            "{HISTORY_ROW} [data-error-code=\"value_moved_on\"]"
        ))
        .await;
    let said = refusal.text().await.unwrap();
    assert!(said.contains("current value differs"), "{said}");
    s.check_accessibility("the agent page, an undo refused at a row")
        .await;
    let stored = s.skills_of(&ana).await;
    assert_eq!(stored["version"], 2, "{stored}");
    assert_eq!(stored["skills"][0]["proficiency"], 60, "{stored}");
    s.browser.clone().close().await.unwrap();
}

/// Undoing a removal adds the skill back as it was; undoing that addition removes it again.
#[tokio::test]
async fn undoing_a_removal_re_adds_the_skill_and_undoing_an_addition_removes_it() {
    let s = start().await;
    let (ana, _, billing, _) = seed_grid(&s).await;
    s.sign_in_new("edi@example.com", Role::Editor).await;
    let (status, _) = s
        .fetch(
            "DELETE",
            &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
            None,
            true,
        )
        .await;
    assert_eq!(status, 204);
    for (undone, held) in [(1, true), (2, false)] {
        let page = format!("/console/agents/{ana}");
        s.browser.goto(&s.url(&page)).await.unwrap();
        s.wait_for(&format!("{HISTORY_ROW} button[data-undo]"))
            .await
            .click()
            .await
            .unwrap();
        s.wait_for("[data-undone]").await;
        let stored = s.skills_of(&ana).await;
        assert_eq!(stored["version"], 2 + undone, "{stored}");
        let skills = stored["skills"].as_array().unwrap();
        assert_eq!(!skills.is_empty(), held, "{stored}");
        if held {
            assert_eq!(skills[0]["proficiency"], 50, "{stored}");
        }
        let action = if held { "added" } else { "removed" };
        let newest = s.text_of(HISTORY_ROW).await;
        assert!(newest.contains(action), "{newest}");
    }
    s.browser.clone().close().await.unwrap();
}
