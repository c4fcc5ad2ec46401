//! SCIM provisioning (`--scim-only`): Users created one request at a time, as identity
//! providers provision them: for each, the lookup by `userName` an identity provider makes
//! first (Okta and Microsoft Entra ID both ask whether the User exists), then the create with
//! two skills of the skillgrid extension. On SQLite, and on PostgreSQL with `--postgres`:
//! creates per second (the lookup and the create of each User one after the other, on one
//! keep-alive connection) and each request's latency p50/p99.

use crate::server::Server;
use crate::workload;
use anyhow::{bail, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SKILLS: &str = "urn:ietf:params:scim:schemas:extension:skillgrid:2.0:User";

/// The figures on the database `db` (`label` names it in the output), for `users` Users.
pub async fn measure(bin: &Path, db: &str, dir: &Path, label: &str, users: usize) -> Result<Value> {
    let fixture = workload::seed(db, 0, 5).await?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let log = dir.join(format!("scim-{label}.log"));
    let server = Server::start(bin, db, &log, &http, &[]).await?;
    let token = server
        .token(&http, fixture.client_id, &fixture.secret)
        .await?;
    let users_url = format!("{}/scim/v2/Users", server.base);
    let (mut lookups, mut creates) = (Vec::with_capacity(users), Vec::with_capacity(users));
    let start = Instant::now();
    for i in 0..users {
        let user_name = format!("user{i}@example.com");
        let t = Instant::now();
        let found = http
            .get(&users_url)
            .bearer_auth(&token)
            .query(&[("filter", format!("userName eq \"{user_name}\""))])
            .send()
            .await?;
        if !found.status().is_success() {
            bail!("looking up {user_name} answered {}", found.status());
        }
        found.bytes().await?;
        lookups.push(t.elapsed());
        let body = json!({
            "schemas": [USER, SKILLS],
            "userName": user_name,
            "externalId": format!("idp-{i}"),
            "name": {"givenName": "User", "familyName": format!("{i}")},
            "displayName": format!("User {i}"),
            "emails": [{"value": user_name, "type": "work", "primary": true}],
            "active": true,
            SKILLS: {"skills": [
                {"skill": "Skill 00", "proficiency": 40 + (i % 50) as i64},
                {"skill": format!("Skill {:02}", 1 + i % 4), "proficiency": 60},
            ]},
        });
        let t = Instant::now();
        let created = http
            .post(&users_url)
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(serde_json::to_vec(&body)?)
            .send()
            .await?;
        if created.status() != reqwest::StatusCode::CREATED {
            let status = created.status();
            bail!(
                "creating {user_name} answered {status}: {}",
                created.text().await?
            );
        }
        created.bytes().await?;
        creates.push(t.elapsed());
    }
    let total = start.elapsed().as_secs_f64();
    let peak_rss_mb = server.peak_rss_mb().unwrap_or(0.0).round();
    server.stop().await?;
    let per_s = users as f64 / total;
    let (lookup, create) = (percentiles(&mut lookups), percentiles(&mut creates));
    println!(
        "scim ({label}): {users} Users provisioned one at a time (lookup, then create) in {total:.1} s = {per_s:.0} Users/s; \
         create p50 {:.1} ms p99 {:.1} ms, lookup p50 {:.1} ms p99 {:.1} ms, peak RSS {peak_rss_mb} MB",
        create.0, create.1, lookup.0, lookup.1
    );
    Ok(json!({
        "users": users,
        "users_per_s": per_s.round(),
        "create_p50_ms": create.0,
        "create_p99_ms": create.1,
        "lookup_p50_ms": lookup.0,
        "lookup_p99_ms": lookup.1,
        "peak_rss_mb": peak_rss_mb,
    }))
}

/// p50 and p99 of `d`, in milliseconds.
fn percentiles(d: &mut [Duration]) -> (f64, f64) {
    d.sort();
    let r = |p| (crate::stats::percentile_ms(d, p) * 10.0).round() / 10.0;
    (r(50.0), r(99.0))
}
