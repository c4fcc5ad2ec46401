//! The CSV import: a file with a mistake shows it at its line and writes nothing; the fixed
//! file shows its plan, and Apply writes it.

use super::*;

/// Writes `text` to a CSV file of its own, for the file input.
fn csv_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    f
}

/// Chooses `file` in the page's file input.
async fn choose(s: &Session, file: &tempfile::NamedTempFile) {
    s.wait_for("input[data-import-file]")
        .await
        .send_keys(file.path().to_str().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_csv_with_one_bad_line_shows_the_line_then_the_fixed_file_is_applied() {
    let s = start().await;
    let (ana, bob, _, _) = seed_grid(&s).await;
    s.sign_in_new("edi@example.com", Role::Editor).await;
    s.browser.goto(&s.url("/console")).await.unwrap();
    s.wait_for("a[data-nav=import]")
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("input[data-import-file]").await;
    assert_eq!(s.path().await, "/console/import");

    // A typo in a level name on line 4.
    let bad = csv_file(
        "agent,skill,proficiency\nana@example.com,Billing,80\nbob@example.com,Billing,novice\nbob@example.com,Voice,Expret\n",
    );
    choose(&s, &bad).await;
    let row = s.wait_for("tr[data-line=\"4\"]").await;
    let text = row.text().await.unwrap();
    assert!(text.contains("Expret") && text.contains("Expert"), "{text}");
    assert_eq!(
        row.attr("data-column").await.unwrap().as_deref(),
        Some("proficiency")
    );
    assert!(row.attr("data-error-code").await.unwrap().is_some());
    let apply = s.wait_for("button[data-import-apply]").await;
    assert!(!apply.is_enabled().await.unwrap(), "Apply with a mistake");
    s.check_accessibility("the import plan with a mistake")
        .await;
    assert_eq!(s.skills_of(&ana).await["skills"][0]["proficiency"], 50);
    assert_eq!(s.skills_of(&bob).await["skills"], json!([]));

    // The fixed file: its plan per agent, then Apply.
    let fixed = csv_file(
        "agent,skill,proficiency\nana@example.com,Billing,80\nbob@example.com,Billing,novice\nbob@example.com,Voice,Expert\n",
    );
    choose(&s, &fixed).await;
    s.wait_for("[data-plan][data-ok=true]").await;
    let changes = s.text_of("table[data-changes] tbody").await;
    assert!(
        changes.contains("ana@example.com") && changes.contains("bob@example.com"),
        "{changes}"
    );
    assert!(
        changes.contains("50") && changes.contains("80"),
        "{changes}"
    );
    s.screenshot("import-plan").await;
    assert_eq!(
        s.skills_of(&ana).await["skills"][0]["proficiency"],
        50,
        "a plan writes nothing"
    );
    s.wait_for("button[data-import-apply]")
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("[data-plan][data-applied=true]").await;
    s.check_accessibility("the import summary").await;
    assert_eq!(s.skills_of(&ana).await["skills"][0]["proficiency"], 80);
    let bob_skills = s.skills_of(&bob).await;
    assert_eq!(
        bob_skills["skills"].as_array().unwrap().len(),
        2,
        "{bob_skills}"
    );
}
