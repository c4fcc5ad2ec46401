//! The skills page: the catalog with holder counts, a skill created, a duplicate name shown
//! at its field in the API's words, a rename, a deactivation, and the link to the grid.

use super::*;

/// A skill's row on the skills page.
fn row(id: &str) -> String {
    format!("table[data-skills] tr[data-skill-id=\"{id}\"]")
}

#[tokio::test]
async fn skills_are_created_renamed_and_deactivated_with_errors_at_the_field() {
    let s = start().await;
    let (ana, _, billing, voice) = seed_grid(&s).await;
    s.sign_in_new("adm@example.com", Role::Admin).await;
    s.browser.goto(&s.url("/console/skills")).await.unwrap();
    s.wait_for("table[data-skills]").await;
    // Holders: Ana holds Billing; nobody Voice.
    for (id, holders) in [(&billing, "1"), (&voice, "0")] {
        let cell = s.text_of(&format!("{} td[data-holders]", row(id))).await;
        assert_eq!(cell, holders, "{id}");
    }
    s.check_accessibility("the skills page").await;

    // A new skill, with a description.
    s.fill("#new-name", "Chat").await;
    s.fill("#new-description", "Live chat").await;
    s.submit("skill-create").await;
    let chat_row = s
        .wait_for("table[data-skills] tr[data-name=\"Chat\"]")
        .await;
    let chat = chat_row.attr("data-skill-id").await.unwrap().unwrap();
    assert!(s
        .text_of("[data-skill-status]")
        .await
        .contains("Chat was created"));
    assert_eq!(
        s.text_of(&format!("{} td[data-holders]", row(&chat))).await,
        "0"
    );

    // A duplicate name (in another case) is refused at the field, with the API's words.
    s.fill("#new-name", "billing").await;
    s.submit("skill-create").await;
    let error = s
        .wait_for("#new-name-error[data-error-code=\"conflict\"]")
        .await;
    let said = error.text().await.unwrap();
    assert!(
        said.contains("a skill with this name already exists"),
        "{said}"
    );
    let field = s.browser.find(Locator::Id("new-name")).await.unwrap();
    assert_eq!(
        field.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    s.check_accessibility("the skills page with an error at a field")
        .await;
    s.screenshot("skills").await;

    // Rename Chat, then deactivate it.
    s.fill(&format!("#name-{chat}"), "Chat support").await;
    s.browser
        .find(Locator::Css(&format!(
            "form[data-form=\"skill-edit\"][data-skill-id=\"{chat}\"] button[type=submit]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.wait_for("table[data-skills] tr[data-name=\"Chat support\"]")
        .await;
    s.wait_for(&format!(
        "{} button[data-toggle-active=\"false\"]",
        row(&chat)
    ))
    .await
    .click()
    .await
    .unwrap();
    s.wait_for(&format!("{}[data-active=\"false\"]", row(&chat)))
        .await;
    assert_eq!(
        s.text_of(&format!("{} td[data-status]", row(&chat))).await,
        "Inactive"
    );
    let stored = s
        .as_admin(
            reqwest::Method::GET,
            &format!("/api/v2/admin/skills/{chat}"),
            None,
        )
        .await;
    assert_eq!(stored["name"], "Chat support", "{stored}");
    assert_eq!(stored["active"], false, "{stored}");
    assert_eq!(stored["description"], "Live chat", "{stored}");

    // A skill's name leads to the grid filtered by it: Ana only.
    s.wait_for(&format!("{} a[data-grid-link]", row(&billing)))
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("table[data-grid]").await;
    let rows = s
        .browser
        .find_all(Locator::Css("table[data-grid] tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].attr("data-agent-id").await.unwrap().as_deref(),
        Some(ana.as_str())
    );
    s.browser.clone().close().await.unwrap();
}
