//! The grid: searched, walked with the arrow keys, edited in place, and read-only for a
//! viewer.

use super::*;

#[tokio::test]
async fn the_grid_is_searched_walked_and_edited_in_place() {
    let s = start().await;
    let (ana, bob, billing, voice) = seed_grid(&s).await;
    s.sign_in_new("edi@example.com", Role::Editor).await;

    // Agents by skills, each cell its proficiency and level.
    let held = s.text_of(&Session::cell(&ana, &billing)).await;
    assert_eq!(held, "50 Intermediate");
    s.wait_for(&Session::cell(&bob, &voice)).await;

    // Search by name, in any case.
    s.fill("#q", "BOB").await;
    s.submit("grid-filters").await;
    s.wait_for("input#q[value=\"BOB\"]").await;
    let rows = s
        .browser
        .find_all(Locator::Css("tbody tr[data-agent-id]"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].attr("data-agent-id").await.unwrap().as_deref(),
        Some(bob.as_str())
    );
    s.browser.goto(&s.url("/console")).await.unwrap();

    // The arrow keys walk the grid: right from Billing is Voice, down from Ana is Bob.
    let td = s.wait_for(&Session::cell(&ana, &billing)).await;
    td.click().await.unwrap();
    td.send_keys(&Key::Right.to_string()).await.unwrap();
    let at = s.browser.active_element().await.unwrap();
    assert_eq!(at.attr("data-skill-id").await.unwrap(), Some(voice.clone()));
    at.send_keys(&Key::Down.to_string()).await.unwrap();
    let at = s.browser.active_element().await.unwrap();
    assert_eq!(at.attr("data-agent-id").await.unwrap(), Some(bob.clone()));

    // A level name in any case is saved, and the API has it.
    s.edit_cell(&ana, &voice, "expert").await;
    s.wait_for(&format!("{}.l4", Session::cell(&ana, &voice)))
        .await;
    assert_eq!(s.text_of(&Session::cell(&ana, &voice)).await, "100 Expert");
    let after = s.skills_of(&ana).await;
    assert_eq!(after["version"], 2, "{after}");
    let voice_held = after["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["skillId"] == json!(voice))
        .unwrap();
    assert_eq!(voice_held["proficiency"], 100);

    // A typo: the API's words at the cell, nothing written; Escape gives the cell back.
    s.edit_cell(&bob, &billing, "Expret").await;
    let error = s
        .wait_for(&format!(
            "{} [data-error-code]",
            Session::cell(&bob, &billing)
        ))
        .await;
    assert_eq!(
        error.attr("data-error-code").await.unwrap().as_deref(),
        Some("unknown_level")
    );
    let said = error.text().await.unwrap();
    assert!(said.contains("did you mean `Expert`?"), "{said}");
    s.check_accessibility("the editor's grid, an error at a cell")
        .await;
    s.screenshot("grid-error").await;
    assert_eq!(s.skills_of(&bob).await["version"], 0);
    let input = s
        .wait_for(&format!("{} input", Session::cell(&bob, &billing)))
        .await;
    input.send_keys(&Key::Escape.to_string()).await.unwrap();
    assert!(s
        .browser
        .find(Locator::Css(&format!(
            "{} input",
            Session::cell(&bob, &billing)
        )))
        .await
        .is_err());

    // Someone changes Ana through the API meanwhile: the stale edit is refused, and the cell
    // shows what is stored now.
    s.as_admin(
        reqwest::Method::PUT,
        &format!("/api/v2/agents/users/{ana}/skills/{billing}"),
        Some(json!({"proficiency": 75})),
    )
    .await;
    s.edit_cell(&ana, &billing, "25").await;
    s.wait_for(&format!(
        "{} [data-error-code=\"precondition_failed\"]",
        Session::cell(&ana, &billing)
    ))
    .await;
    let shown = s.text_of(&Session::cell(&ana, &billing)).await;
    assert!(shown.starts_with("75 Advanced"), "{shown}");
    let stored = s.skills_of(&ana).await;
    assert_eq!(stored["version"], 3, "{stored}");

    // Now up to date, the same edit is saved.
    s.edit_cell(&ana, &billing, "25").await;
    s.wait_for(&format!("{}.l1", Session::cell(&ana, &billing)))
        .await;
    assert_eq!(s.skills_of(&ana).await["version"], 4);

    // A value of another product's scale is saved, with the API's warning at the cell.
    s.edit_cell(&bob, &voice, "5").await;
    let warning = s
        .wait_for(&format!(
            "{} [data-warning-code]",
            Session::cell(&bob, &voice)
        ))
        .await;
    assert_eq!(
        warning.attr("data-warning-code").await.unwrap().as_deref(),
        Some("other_scale")
    );
    assert_eq!(s.skills_of(&bob).await["version"], 1);
    s.check_accessibility("the editor's grid, a warning at a cell")
        .await;
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_viewer_s_grid_cannot_be_edited() {
    let s = start().await;
    let (ana, _, billing, _) = seed_grid(&s).await;
    s.sign_in_new("vic@example.com", Role::Viewer).await;
    s.wait_for("table[data-editable=\"false\"]").await;
    let cell = Session::cell(&ana, &billing);
    let td = s.wait_for(&cell).await;
    td.click().await.unwrap();
    td.send_keys(&Key::Enter.to_string()).await.unwrap();
    assert!(s
        .browser
        .find(Locator::Css(&format!("{cell} input")))
        .await
        .is_err());
    assert_eq!(s.text_of(&cell).await, "50 Intermediate");
    s.check_accessibility("the viewer's grid").await;
    s.browser.clone().close().await.unwrap();
}
