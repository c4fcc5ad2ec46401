//! Bulk changes from the grid: 100 of 120 agents selected across the grid's pages (every
//! agent matching the filter), a skill assigned at a level name, the preview (the API's dry
//! run, nothing written) then the summary, with the grid refreshed and the audit naming the
//! user; a change of level previewed for the skill's holders only; a skill removed; a bad level shown with the API's words and nothing written; and a viewer who sees no
//! selection. axe-core checks the panel, the preview, the refusal and the summary.

use super::*;

/// The bulk panel's state once the script has answered: the element matching `css`.
async fn shown(s: &Session, css: &str) -> fantoccini::elements::Element {
    s.wait_for(&format!("[data-bulk-panel] {css}")).await
}

/// 120 agents, 100 of them on the team (the filter `team`), and two skills.
async fn seed(s: &Session) -> (Vec<String>, String, String) {
    s.as_admin(
        reqwest::Method::PATCH,
        "/api/v2/organizations/settings",
        Some(json!({"rateLimit": {"requestsPerMinute": 100000, "burst": 100000}})),
    )
    .await;
    let billing = s
        .create("/api/v2/admin/skills", json!({"name": "Billing"}))
        .await;
    let voice = s
        .create("/api/v2/admin/skills", json!({"name": "Voice"}))
        .await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = s.app.admin_token().await;
    let mut team = Vec::new();
    for i in 0..120 {
        let (email, name) = if i < 100 {
            (
                format!("team{i:03}@example.com"),
                format!("Team member {i:03}"),
            )
        } else {
            (format!("solo{i:03}@example.com"), format!("Solo {i:03}"))
        };
        let r = http
            .post(s.url("/api/v2/admin/users"))
            .bearer_auth(&token)
            .json(&json!({"email": email, "name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let made: Value = r.json().await.unwrap();
        if i < 100 {
            team.push(made["id"].as_str().unwrap().to_string());
        }
    }
    (team, billing, voice)
}

/// Who holds a skill, through the API.
async fn holders(s: &Session, skill: &str) -> Vec<Value> {
    let r = s
        .as_admin(
            reqwest::Method::GET,
            &format!("/api/v2/admin/skills/{skill}/agents?limit=1000"),
            None,
        )
        .await;
    r["items"].as_array().unwrap().clone()
}

async fn audit(s: &Session) -> Vec<Value> {
    let r = s
        .as_admin(reqwest::Method::GET, "/api/v2/audit?limit=1000", None)
        .await;
    r["items"].as_array().unwrap().clone()
}

async fn choose(s: &Session, select: &str, value: &str) {
    s.wait_for(&format!("{select} option[value=\"{value}\"]"))
        .await
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_hundred_agents_get_a_skill_after_a_preview_and_a_summary() {
    let s = start().await;
    let (team, billing, voice) = seed(&s).await;
    let user = s.sign_in_new("edi@example.com", Role::Editor).await;

    // The filter leaves 100 of the 120 agents, over two pages of the grid.
    s.browser.goto(&s.url("/console?q=team")).await.unwrap();
    s.wait_for("[data-bulk-panel]").await;
    let boxes = s
        .browser
        .find_all(Locator::Css("input[data-select-agent]"))
        .await
        .unwrap();
    assert_eq!(boxes.len(), 50);
    assert_eq!(
        boxes[0].attr("aria-label").await.unwrap().as_deref(),
        Some("Select Team member 000")
    );
    s.check_accessibility("the grid's bulk panel").await;

    // One box, then the page's box, then every agent the filter matches.
    boxes[3].click().await.unwrap();
    s.wait_for("[data-selection-count][data-selected=\"1\"]")
        .await;
    s.wait_for("input[data-select-page]")
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("[data-selection-count][data-selected=\"50\"]")
        .await;
    shown(&s, "[data-select-matching]")
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("[data-selection-count][data-selected=\"100\"]")
        .await;
    let said = s.text_of("[data-bulk-message]").await;
    assert!(
        said.contains("All 100 agents matching this filter"),
        "{said}"
    );

    // Assign Billing at a level name, in any case: the preview shows 100 agents' diffs.
    choose(&s, "#bulk-action", "assign").await;
    choose(&s, "#bulk-skill", &billing).await;
    s.fill("#bulk-level", "advanced").await;
    s.submit("bulk").await;
    shown(&s, "[data-bulk-table]").await;
    let rows = s
        .browser
        .find_all(Locator::Css("[data-bulk-table] tr[data-bulk-row]"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 100);
    for i in [0, 57, 99] {
        let row = format!("tr[data-bulk-row][data-agent-id=\"{}\"]", team[i]);
        let tr = s.wait_for(&row).await;
        assert_eq!(
            tr.attr("data-change").await.unwrap().as_deref(),
            Some("added")
        );
        let who = s.text_of(&format!("{row} th")).await;
        assert_eq!(who, format!("Team member {i:03}"));
        assert_eq!(s.text_of(&format!("{row} [data-before]")).await, "—");
        assert_eq!(
            s.text_of(&format!("{row} [data-after]")).await,
            "75 Advanced"
        );
    }
    let plan = shown(&s, "[data-bulk-plan]").await;
    assert_eq!(
        plan.attr("data-changing").await.unwrap().as_deref(),
        Some("100")
    );
    assert!(plan.text().await.unwrap().contains("nothing written yet"));

    // Nothing is written by the preview.
    assert!(holders(&s, &billing).await.is_empty());
    assert!(audit(&s).await.is_empty());
    s.check_accessibility("the bulk preview").await;
    s.screenshot("bulk-preview").await;

    // Apply: the summary, and the grid's cells refreshed in place.
    shown(&s, "button[data-bulk-apply]")
        .await
        .click()
        .await
        .unwrap();
    let summary = shown(&s, "[data-bulk-summary]").await;
    for (attr, n) in [
        ("data-changed", "100"),
        ("data-unchanged", "0"),
        ("data-failed", "0"),
    ] {
        assert_eq!(
            summary.attr(attr).await.unwrap().as_deref(),
            Some(n),
            "{attr}"
        );
    }
    let text = summary.text().await.unwrap();
    assert!(text.contains("100 agents changed"), "{text}");
    assert!(text.contains("100 added"), "{text}");
    s.wait_for("table[data-grid][data-refreshed=\"1\"]").await;
    assert_eq!(
        s.text_of(&Session::cell(&team[0], &billing)).await,
        "75 Advanced"
    );
    s.check_accessibility("the bulk summary").await;
    s.screenshot("bulk-summary").await;

    // The API has it: 100 holders at 75, none of the others, and the audit names the user.
    let held = holders(&s, &billing).await;
    let mut ids: Vec<&str> = held
        .iter()
        .map(|h| h["agentId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want: Vec<&str> = team.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(ids, want);
    assert!(held.iter().all(|h| h["assignment"]["proficiency"] == 75));
    let trail = audit(&s).await;
    assert_eq!(trail.len(), 100);
    for e in &trail {
        assert_eq!(e["clientId"], user.client_id.to_string(), "{e}");
        assert_eq!(e["userId"], user.id.to_string(), "{e}");
        assert_eq!(e["action"], "added");
    }

    // Every agent, no filter: changing a level touches the 100 holders only, the other 20
    // are skipped; the preview writes nothing.
    s.browser.goto(&s.url("/console")).await.unwrap();
    shown(&s, "[data-select-matching]")
        .await
        .click()
        .await
        .unwrap();
    s.wait_for("[data-selection-count][data-selected=\"120\"]")
        .await;
    choose(&s, "#bulk-action", "change").await;
    choose(&s, "#bulk-skill", &billing).await;
    s.fill("#bulk-level", "EXPERT").await;
    s.submit("bulk").await;
    shown(&s, "[data-bulk-table]").await;
    let updated = s
        .browser
        .find_all(Locator::Css("tr[data-bulk-row][data-change=\"updated\"]"))
        .await
        .unwrap();
    let skipped = s
        .browser
        .find_all(Locator::Css("tr[data-bulk-row][data-change=\"skipped\"]"))
        .await
        .unwrap();
    assert_eq!((updated.len(), skipped.len()), (100, 20));
    let row = format!("tr[data-bulk-row][data-agent-id=\"{}\"]", team[42]);
    assert_eq!(
        s.text_of(&format!("{row} [data-before]")).await,
        "75 Advanced"
    );
    assert_eq!(
        s.text_of(&format!("{row} [data-after]")).await,
        "100 Expert"
    );
    assert!(holders(&s, &billing)
        .await
        .iter()
        .all(|h| h["assignment"]["proficiency"] == 75));

    // A level that is none: the API's words in the panel and at each agent, nothing written.
    choose(&s, "#bulk-action", "assign").await;
    choose(&s, "#bulk-skill", &voice).await;
    s.fill("#bulk-level", "Expret").await;
    s.submit("bulk").await;
    let error = shown(&s, "[data-bulk-message] li[data-error-code]").await;
    assert_eq!(
        error.attr("data-error-code").await.unwrap().as_deref(),
        Some("unknown_level")
    );
    let words = error.text().await.unwrap();
    assert!(words.contains("did you mean `Expert`?"), "{words}");
    let at_agent = s
        .wait_for(&format!(
            "tr[data-bulk-row][data-agent-id=\"{}\"] [data-error-code=\"unknown_level\"]",
            team[10]
        ))
        .await;
    assert!(at_agent.text().await.unwrap().contains("Expret"));
    let apply = shown(&s, "button[data-bulk-apply]").await;
    assert_eq!(
        apply.attr("disabled").await.unwrap().as_deref(),
        Some("true")
    );
    s.check_accessibility("the bulk preview refused").await;
    assert!(holders(&s, &voice).await.is_empty());
    assert_eq!(audit(&s).await.len(), 100);

    // Removing Billing from all 120: its 100 holders lose it, the others are unchanged.
    choose(&s, "#bulk-action", "remove").await;
    choose(&s, "#bulk-skill", &billing).await;
    s.submit("bulk").await;
    shown(&s, "[data-bulk-plan][data-changing=\"100\"]").await;
    let removed = s
        .browser
        .find_all(Locator::Css("tr[data-bulk-row][data-change=\"removed\"]"))
        .await
        .unwrap();
    assert_eq!(removed.len(), 100);
    assert_eq!(holders(&s, &billing).await.len(), 100);
    shown(&s, "button[data-bulk-apply]")
        .await
        .click()
        .await
        .unwrap();
    let summary = shown(&s, "[data-bulk-summary]").await;
    assert_eq!(
        summary.attr("data-changed").await.unwrap().as_deref(),
        Some("100")
    );
    assert_eq!(
        summary.attr("data-unchanged").await.unwrap().as_deref(),
        Some("20")
    );
    assert!(holders(&s, &billing).await.is_empty());
    assert_eq!(audit(&s).await.len(), 200);
    s.browser.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_viewer_sees_no_selection() {
    let s = start().await;
    seed_grid(&s).await;
    s.sign_in_new("vic@example.com", Role::Viewer).await;
    s.wait_for("table[data-editable=\"false\"]").await;
    for css in [
        "input[data-select-agent]",
        "input[data-select-page]",
        "[data-bulk-panel]",
    ] {
        assert!(
            s.browser.find(Locator::Css(css)).await.is_err(),
            "{css} shown to a viewer"
        );
    }
    s.browser.clone().close().await.unwrap();
}
