//! `skillgrid export` makes one request, the server's streamed export, however many agents
//! and skills there are: a large organization is not throttled by the rate limit. A test
//! binary of its own, so that the server's `/metrics` (a process-wide registry) counts only
//! this.

use skillgrid_client::{
    assignment, BulkItem, BulkOptions, BulkRequest, Client, NewAgent, NewSkill,
};

/// GET requests the server counted on `route`.
async fn gets(base: &str, route: &str) -> u64 {
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("method=\"GET\"")
                && l.contains(&format!("route=\"{route}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn export_makes_one_request_and_none_per_skill_or_agent() {
    let db = skillgrid_testkit::test_db(false).await;
    let server = skillgrid_testkit::spawn_server(&db.url).await;
    let id = server.boot.client_id.to_string();
    let client = Client::builder(&server.base, &id, &server.boot.client_secret)
        .no_proxy()
        .build()
        .unwrap();
    let mut skills = Vec::new();
    for name in ["Billing", "Sales", "Spanish"] {
        skills.push(client.create_skill(&NewSkill::new(name)).await.unwrap().id);
    }
    let mut items = Vec::new();
    for i in 0..40 {
        let agent = client
            .create_agent(&NewAgent::new(format!("a{i:02}@example.com"), "A"))
            .await
            .unwrap();
        // Agent i holds the first 1 + i % 3 skills.
        let set = skills[..1 + i % 3]
            .iter()
            .map(|s| assignment(*s, 10 + i as i64))
            .collect();
        items.push(BulkItem::new(agent.id, set));
    }
    client
        .bulk(&BulkRequest::merge(items), &BulkOptions::default())
        .await
        .unwrap();

    let holders_before = gets(&server.base, "/api/v2/admin/skills/{skillId}/agents").await;
    let out = tokio::task::spawn_blocking({
        let (base, secret) = (server.base.clone(), server.boot.client_secret.clone());
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_skillgrid"))
                .arg("export")
                .env("SKILLGRID_SERVER", &base)
                .env("SKILLGRID_CLIENT_ID", &id)
                .env("SKILLGRID_CLIENT_SECRET", &secret)
                .env("NO_PROXY", "127.0.0.1")
                .env("no_proxy", "127.0.0.1")
                .env_remove("HTTP_PROXY")
                .env_remove("http_proxy")
                .env_remove("ALL_PROXY")
                .env_remove("all_proxy")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    // 40 agents holding 1, 2 or 3 skills: 14 + 2 × 13 + 3 × 13 = 79 rows, by agent, then skill.
    assert_eq!(rows.len(), 79, "{csv}");
    assert_eq!(rows[0], "a00@example.com,Billing,10,,");
    assert_eq!(rows[1], "a01@example.com,Billing,11,,");
    assert_eq!(rows[2], "a01@example.com,Sales,11,,");
    assert_eq!(rows[78], "a39@example.com,Billing,49,,");

    assert_eq!(gets(&server.base, "/api/v2/agents/skills/export").await, 1);
    let holders = gets(&server.base, "/api/v2/admin/skills/{skillId}/agents").await;
    assert_eq!(holders, holders_before, "no page of holders");
    for route in [
        "/api/v2/admin/users",
        "/api/v2/admin/skills",
        "/api/v2/agents/users/{userId}/skills",
        "/api/v2/admin/users/{userId}/skills",
    ] {
        assert_eq!(gets(&server.base, route).await, 0, "{route}");
    }
}
