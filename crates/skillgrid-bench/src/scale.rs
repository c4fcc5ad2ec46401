//! `--scale`: one organization grown step by step to `--scale-sizes` stored assignments
//! (agents × 20 skills), measuring at each size what a large tenant feels: the bulk write's
//! cost per assignment, single PUT and GET at many connections, "who holds skill X" on its
//! first and a deep page, the streaming export, bytes stored per assignment, the start-up of
//! `serve` and its peak RSS.
//!
//! Between the measured writes (each size's 100,000 assignments, always a real bulk request)
//! the database is filled in rounds of 10,000 agents, each as the bulk API takes them: `POST
//! /admin/users/bulk` creating the round's agents, then `POST /agents/skills/bulk` in requests
//! of 100,000 assignments (5,000 agents × 20). `--scale-fill` chooses who writes them:
//!
//! - `direct` (the default): the first round is sent through the bulk API; every later one is
//!   written straight into the database with the server stopped, as copies of the rows the
//!   server wrote for the first round's first 100 agents (see `direct`), and the server is
//!   started again on it. `tests/direct_fill.rs` checks that this writes what the server writes.
//! - `api`: every round through the bulk API, as a tenant would fill it; every row is what
//!   the server writes, at the price of the fill's time (PostgreSQL slows to about 20,000
//!   assignments a second by 5,000,000).
//!
//! The JSON says which was used (`generation`) and what each part of the fill cost.

use crate::direct::{self, Direct, Shape};
use crate::load::{self, Concurrent};
use crate::server::Server;
use crate::stats::{median, percentile_ms};
use crate::workload::{self, Fixture};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Skills per agent: 1,000,000 agents × 20 = 20,000,000 assignments.
pub const SKILLS: usize = 20;
/// Agents per `POST /admin/users/bulk` (the default `maxItemsPerBulk`).
const AGENTS_PER_REQUEST: usize = 10_000;
/// The measured bulk write: 100,000 assignments (fewer when the first size is smaller).
const MEASURED_BULK: usize = 100_000;
/// How many times the measured write is then written again, each time with every proficiency
/// changed; the median is the re-write's figure (one sample swung by half on a shared machine).
const REWRITES: usize = 3;

/// How the database is grown between the measured writes (`--scale-fill`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fill {
    /// The first round through the bulk API, every later one written into the database with
    /// the server stopped, as copies of the first round's rows (see `direct`).
    Direct,
    /// Every round through the bulk API.
    Api,
}

pub struct Plan {
    pub sizes: Vec<usize>,
    pub fill: Fill,
    pub connections: usize,
    pub phase: Duration,
    /// Requests per kind of "who holds skill X" page.
    pub samples: usize,
}

/// The default sizes, in stored assignments.
pub const DEFAULT_SIZES: &str = "100000,1000000,10000000,20000000";

/// `--scale-sizes`: increasing multiples of 20 assignments.
pub fn parse_sizes(s: &str) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = Vec::new();
    for part in s.split(',') {
        let n: usize = part
            .trim()
            .replace('_', "")
            .parse()
            .with_context(|| format!("`{part}` in --scale-sizes is not a whole number"))?;
        if n == 0 || !n.is_multiple_of(SKILLS) {
            bail!("--scale-sizes: {n} is not a positive multiple of {SKILLS} (agents × {SKILLS} skills)");
        }
        if out.last().is_some_and(|&l| l >= n) {
            bail!(
                "--scale-sizes must increase: {n} follows {}",
                out[out.len() - 1]
            );
        }
        out.push(n);
    }
    Ok(out)
}

/// The organization as it grows: its client, skills and agents so far, and how many of them
/// hold their 20 skills.
struct Tenant {
    fixture: Fixture,
    assigned: usize,
    /// Seconds the fill spent creating agents through the API.
    agents_s: f64,
    /// The template of the direct load, once the first round is written.
    direct: Option<Direct>,
    /// Assignments the fill wrote through the API and directly, and the seconds each took
    /// (the direct load's with the server's stop and start).
    api: (usize, f64),
    loaded: (usize, f64),
    shape: Shape,
}

impl Tenant {
    fn stored(&self) -> usize {
        self.assigned * SKILLS
    }
}

/// Grows a database at `database` (empty) through every size of `plan`; every figure as JSON.
pub async fn measure<F, Fut>(
    bin: &Path,
    database: &str,
    dir: &Path,
    label: &str,
    plan: &Plan,
    size_of: F,
) -> Result<Value>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<u64>>,
{
    let started = Instant::now();
    let mut tenant = Tenant {
        fixture: workload::seed(database, 0, SKILLS).await?,
        assigned: 0,
        agents_s: 0.0,
        direct: None,
        api: (0, 0.0),
        loaded: (0, 0.0),
        shape: Shape::FILL,
    };
    let http = reqwest::Client::new();
    let mut logs = 0..;
    let mut log = || dir.join(format!("scale-{label}-{}.log", logs.next().unwrap_or(0)));
    let mut server = Server::start(bin, database, &log(), &http, &[]).await?;
    let mut sizes = Vec::new();
    let mut last = (0usize, 0u64);
    for &size in &plan.sizes {
        let measured = MEASURED_BULK.min(size - tenant.stored());
        let target = size - measured;
        let loaded = tenant.loaded.0;
        server = grow(
            &http,
            server,
            database,
            &mut log,
            bin,
            plan.fill,
            &mut tenant,
            target / SKILLS,
        )
        .await?;
        let token = server
            .token(&http, tenant.fixture.client_id, &tenant.fixture.secret)
            .await?;
        // A server just started on a database the direct load wrote meets everything cold:
        // its connections, PostgreSQL's caches (the load evicted them) and statistics (the
        // first plans after its ANALYZE). Filled through the API, the server would have been
        // writing until the measured write; one unmeasured write puts it there.
        let warm_up = if tenant.loaded.0 > loaded {
            Some(warm_up(&http, &server.base, &token, &tenant, measured / SKILLS).await?)
        } else {
            None
        };
        // The measured write: agents that hold nothing yet, then every proficiency changed.
        let agents_s =
            add_agents(&http, &server.base, &token, &mut tenant, measured / SKILLS).await?;
        let from = tenant.assigned;
        let (first, again) = {
            let body = |round| assign_body(&tenant.fixture, from, measured / SKILLS, round);
            let mut answer = load::AnswerBuffer::resident(8 * body(0).len());
            let first = load::bulk(&http, &server.base, &token, body(0), &mut answer).await?;
            if first.summary["added"] != json!(measured) {
                bail!("unexpected first bulk summary: {}", first.summary);
            }
            let mut again = Vec::with_capacity(REWRITES);
            for round in 1..=REWRITES {
                let w = load::bulk(&http, &server.base, &token, body(round), &mut answer).await?;
                if w.summary["updated"] != json!(measured) {
                    bail!("unexpected bulk re-write summary: {}", w.summary);
                }
                again.push(w.wall_s);
            }
            (first, again)
        };
        tenant.assigned += measured / SKILLS;
        // The server that filled and wrote, before it is restarted.
        let write_rss = server.peak_rss_mb()?;
        let stored = tenant.stored();
        eprintln!("{label}: {stored} assignments stored; restarting the server");
        server.stop().await?;
        let bytes = size_of().await?;
        let t = Instant::now();
        server = Server::start(bin, database, &log(), &http, &[]).await?;
        let startup_s = t.elapsed().as_secs_f64();
        let token = server
            .token(&http, tenant.fixture.client_id, &tenant.fixture.secret)
            .await?;
        let f = Arc::new(Fixture {
            agents: tenant.fixture.agents.clone(),
            skills: tenant.fixture.skills.clone(),
            client_id: tenant.fixture.client_id,
            secret: tenant.fixture.secret.clone(),
        });
        let put = load::concurrent(
            &server.base,
            &token,
            &f,
            load::Op::Put,
            plan.connections,
            plan.phase,
        )
        .await?;
        let get = load::concurrent(
            &server.base,
            &token,
            &f,
            load::Op::Get,
            plan.connections,
            plan.phase,
        )
        .await?;
        let holders = holders(&http, &server.base, &token, &tenant, plan.samples).await?;
        let export = export(&http, &server.base, &token, stored).await?;
        let rss = server.peak_rss_mb()?;
        let row = json!({
            "assignments": stored,
            "agents": tenant.assigned,
            "bulk_first_s": round3(first.wall_s),
            "bulk_rewrite_s": round3(median(again.clone())),
            "bulk_rewrite_samples_s": again.iter().map(|&s| round3(s)).collect::<Vec<_>>(),
            "bulk_first_us_per_assignment": round3(first.wall_s * 1e6 / measured as f64),
            "bulk_rewrite_us_per_assignment": round3(median(again) * 1e6 / measured as f64),
            "bulk_assignments": measured,
            // The write before them, on the server started after the direct load (null when
            // the fill was through the API up to here).
            "bulk_warm_up_s": warm_up.map(round3),
            // The measured write's 5,000 new agents, created by e-mail before it.
            "agents_bulk_s": round3(agents_s),
            "put": concurrent(&put),
            "get": concurrent(&get),
            "holders_first": holders.0,
            "holders_deep": holders.1,
            "export": export,
            "bytes": bytes,
            "bytes_per_assignment": round1(bytes as f64 / stored as f64),
            // What the assignments added since the last size cost, without the fixed part.
            "bytes_per_assignment_added": round1(
                bytes.saturating_sub(last.1) as f64 / (stored - last.0) as f64
            ),
            "startup_s": round3(startup_s),
            "peak_rss_mb": round1(rss),
            "write_peak_rss_mb": round1(write_rss),
        });
        last = (stored, bytes);
        report(label, &row);
        sizes.push(row);
    }
    server.stop().await?;
    if let Some(d) = tenant.direct.take() {
        d.close().await?;
    }
    let rate = |(n, s): (usize, f64)| {
        if s > 0.0 {
            json!((n as f64 / s).round())
        } else {
            Value::Null
        }
    };
    let all = (
        tenant.api.0 + tenant.loaded.0,
        tenant.api.1 + tenant.loaded.1,
    );
    let generation = if tenant.loaded.0 > 0 {
        "direct load: the first round (10,000 agents) through the bulk API, every later one written into the database with the server stopped, as copies of that round's rows (INSERT … SELECT, one statement per table and request the API would have been sent)"
    } else {
        "bulk API: POST /admin/users/bulk (10,000 agents a request), POST /agents/skills/bulk (100,000 assignments a request)"
    };
    Ok(json!({
        "sizes": sizes,
        "fill": match plan.fill { Fill::Direct => "direct", Fill::Api => "api" },
        "generation": generation,
        "fill_assignments_per_s": rate(all),
        "fill_s": round1(all.1),
        "fill_api_assignments": tenant.api.0,
        "fill_api_s": round1(tenant.api.1),
        "fill_api_assignments_per_s": rate(tenant.api),
        "fill_agents_s": round1(tenant.agents_s),
        "fill_direct_assignments": tenant.loaded.0,
        "fill_direct_s": round1(tenant.loaded.1),
        "fill_direct_assignments_per_s": rate(tenant.loaded),
        // The whole run on this backend: seeding, fill, measured writes and every phase.
        "wall_s": round1(started.elapsed().as_secs_f64()),
    }))
}

/// Grows the tenant until `agents` hold their 20 skills: through the bulk API, or (`Direct`)
/// the first round through it and the rest written directly with the server stopped, the
/// server started again after.
#[allow(clippy::too_many_arguments)]
async fn grow(
    http: &reqwest::Client,
    server: Server,
    database: &str,
    log: &mut impl FnMut() -> std::path::PathBuf,
    bin: &Path,
    how: Fill,
    tenant: &mut Tenant,
    agents: usize,
) -> Result<Server> {
    if tenant.assigned >= agents {
        return Ok(server);
    }
    let token = server
        .token(http, tenant.fixture.client_id, &tenant.fixture.secret)
        .await?;
    // The template is the first agents of the first round of at least as many.
    let base = tenant.assigned;
    let template = how == Fill::Direct
        && tenant.direct.is_none()
        && agents - base >= direct::TEMPLATE
        && tenant.shape.request >= direct::TEMPLATE;
    let through_api = match how {
        Fill::Api => agents,
        Fill::Direct if template => agents.min(base + tenant.shape.round),
        Fill::Direct if tenant.direct.is_some() => tenant.assigned,
        Fill::Direct => agents,
    };
    if through_api > tenant.assigned {
        let t = Instant::now();
        let before = tenant.stored();
        fill(http, &server.base, &token, tenant, through_api).await?;
        tenant.api.0 += tenant.stored() - before;
        tenant.api.1 += t.elapsed().as_secs_f64();
    }
    if template {
        tenant.direct = Some(Direct::capture(database, base).await?);
    }
    let Some(d) = tenant.direct.as_mut() else {
        return Ok(server);
    };
    if tenant.assigned >= agents {
        return Ok(server);
    }
    let t = Instant::now();
    server.stop().await?;
    let from = tenant.assigned;
    let ids = d.fill(from, agents, tenant.shape).await?;
    if tenant.fixture.agents.len() != from {
        bail!(
            "the direct load starts at agent {from} beside {} agents",
            tenant.fixture.agents.len()
        );
    }
    tenant.fixture.agents.extend(ids);
    tenant.assigned = agents;
    let server = Server::start(bin, database, &log(), http, &[]).await?;
    tenant.loaded.0 += (agents - from) * SKILLS;
    tenant.loaded.1 += t.elapsed().as_secs_f64();
    eprintln!(
        "direct load: agents {from} to {agents} ({} assignments) in {:.1} s",
        (agents - from) * SKILLS,
        t.elapsed().as_secs_f64()
    );
    Ok(server)
}

/// `--scale-fill-only`: seeds the empty database at `database` and grows it until `agents`
/// hold their 20 skills, `how` and in requests of `shape`, then stops; what the fill did, as
/// JSON. The test of the direct load compares two databases filled so.
pub async fn fill_only(
    bin: &Path,
    database: &str,
    dir: &Path,
    how: Fill,
    shape: Shape,
    agents: usize,
) -> Result<Value> {
    let mut tenant = Tenant {
        fixture: workload::seed(database, 0, SKILLS).await?,
        assigned: 0,
        agents_s: 0.0,
        direct: None,
        api: (0, 0.0),
        loaded: (0, 0.0),
        shape,
    };
    let http = reqwest::Client::new();
    let mut logs = 0..;
    let mut log = || dir.join(format!("fill-{}.log", logs.next().unwrap_or(0)));
    let mut server = Server::start(bin, database, &log(), &http, &[]).await?;
    server = grow(
        &http,
        server,
        database,
        &mut log,
        bin,
        how,
        &mut tenant,
        agents,
    )
    .await?;
    server.stop().await?;
    if let Some(d) = tenant.direct.take() {
        d.close().await?;
    }
    Ok(json!({
        "agents": tenant.assigned,
        "api_assignments": tenant.api.0,
        "direct_assignments": tenant.loaded.0,
        "client_id": tenant.fixture.client_id,
        "secret": tenant.fixture.secret,
    }))
}

fn concurrent(c: &Concurrent) -> Value {
    json!({"rps": c.rps.round(), "p50_ms": round2(c.p50_ms), "p99_ms": round2(c.p99_ms)})
}

fn report(label: &str, r: &Value) {
    println!(
        "{label} at {} assignments: bulk {} µs/assignment first, {} re-write (warm-up write {} s); its 5,000 agents created in {} s; PUT {}; GET {}; holders first {}, deep {}; export {}; {} bytes/assignment ({} for those added); start-up {} s; peak RSS {} MB after restart, {} MB while filling and writing",
        r["assignments"],
        r["bulk_first_us_per_assignment"],
        r["bulk_rewrite_us_per_assignment"],
        r["bulk_warm_up_s"],
        r["agents_bulk_s"],
        r["put"],
        r["get"],
        r["holders_first"],
        r["holders_deep"],
        r["export"],
        r["bytes_per_assignment"],
        r["bytes_per_assignment_added"],
        r["startup_s"],
        r["peak_rss_mb"],
        r["write_peak_rss_mb"],
    );
}

/// Adds agents and gives them their 20 skills until `agents` hold them.
async fn fill(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    tenant: &mut Tenant,
    agents: usize,
) -> Result<()> {
    while tenant.assigned < agents {
        let n = (agents - tenant.assigned).min(tenant.shape.round);
        let t = Instant::now();
        add_agents(http, base, token, tenant, n).await?;
        tenant.agents_s += t.elapsed().as_secs_f64();
        let mut answer = load::AnswerBuffer::resident(0);
        for from in (tenant.assigned..tenant.assigned + n).step_by(tenant.shape.request) {
            let count = tenant.shape.request.min(tenant.assigned + n - from);
            let body = assign_body(&tenant.fixture, from, count, 0);
            let r = load::bulk(http, base, token, body, &mut answer).await?;
            if r.summary["added"] != json!(count * SKILLS) {
                bail!("a fill request answered {}", r.summary);
            }
        }
        tenant.assigned += n;
    }
    Ok(())
}

/// Re-writes the last `agents` agents the fill gave skills to, every proficiency changed (the
/// fill wrote round 0), in one bulk request; its wall time in seconds.
async fn warm_up(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    tenant: &Tenant,
    agents: usize,
) -> Result<f64> {
    let count = agents.min(tenant.assigned);
    let body = assign_body(&tenant.fixture, tenant.assigned - count, count, 1);
    let mut answer = load::AnswerBuffer::resident(0);
    let w = load::bulk(http, base, token, body, &mut answer).await?;
    if w.summary["updated"] != json!(count * SKILLS) {
        bail!("unexpected warm-up summary: {}", w.summary);
    }
    Ok(w.wall_s)
}

/// Creates `n` agents beyond those the tenant has, through `POST /admin/users/bulk`; the
/// seconds its requests took.
async fn add_agents(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    tenant: &mut Tenant,
    n: usize,
) -> Result<f64> {
    let started = Instant::now();
    let agents = &mut tenant.fixture.agents;
    let end = agents.len() + n;
    while agents.len() < end {
        let from = agents.len();
        let count = AGENTS_PER_REQUEST.min(end - from);
        let mut body = String::with_capacity(count * 80);
        body.push_str(r#"{"agents": ["#);
        for i in from..from + count {
            if i > from {
                body.push_str(", ");
            }
            let _ = write!(
                body,
                r#"{{"email": "agent{i}@example.com", "name": "Agent {i}"}}"#
            );
        }
        body.push_str("]}");
        let url = format!("{base}/api/v2/admin/users/bulk");
        let r = load::post_json(http, &url, token, body).send().await?;
        let status = r.status();
        let v: Value = r.json().await.context("the agents bulk answer")?;
        if !status.is_success() {
            bail!("POST /admin/users/bulk answered {status}: {v}");
        }
        let results = v["results"].as_array().context("no results")?;
        for r in results {
            let id = r["agent"]["id"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .with_context(|| format!("no agent id in {r}"))?;
            agents.push(id);
        }
        if agents.len() != from + count {
            bail!(
                "POST /admin/users/bulk created {} agents of {count}",
                agents.len() - from
            );
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// One atomic merge giving agents `from..from + count` all 20 skills at `round`'s values.
fn assign_body(f: &Fixture, from: usize, count: usize, round: usize) -> Vec<u8> {
    workload::bulk_body_of(f, from..from + count, round)
}

/// "Who holds skill X": `samples` first pages and `samples` pages 90% of the way down
/// (100 holders each, one keep-alive connection), latency p50/p99 of each.
async fn holders(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    tenant: &Tenant,
    samples: usize,
) -> Result<(Value, Value)> {
    let skill = tenant.fixture.skills[SKILLS / 2];
    let url = format!("{base}/api/v2/admin/skills/{skill}/agents?limit=100");
    let page = |cursor: Option<String>| {
        let url = match cursor {
            Some(c) => format!("{url}&cursor={c}"),
            None => url.clone(),
        };
        async move {
            let t = Instant::now();
            let r = http.get(url).bearer_auth(token).send().await?;
            let status = r.status();
            let v: Value = r.json().await?;
            let took = t.elapsed();
            if !status.is_success() {
                bail!("who holds skill X answered {status}: {v}");
            }
            anyhow::Ok((took, v))
        }
    };
    // The first page's cursor names the position of its last holder; a deep cursor is a
    // position 90% of the way down the agents, as a client paging that far would hold.
    let (_, first) = page(None).await?;
    let items = first["items"].as_array().map_or(0, Vec::len);
    if items != 100.min(tenant.assigned) {
        bail!("the first page of holders has {items} items");
    }
    let last = first["nextCursor"]
        .as_str()
        .map(|c| skillgrid_server::render::decode_cursor(Some(c)))
        .transpose()
        .map_err(|e| anyhow::anyhow!("an unreadable cursor: {}", e.detail))?
        .flatten();
    let deep = last.map(|p| {
        let pos = p + (tenant.assigned as i64 * 9 / 10) - 100;
        skillgrid_server::render::encode_cursor(Some(pos)).expect("a cursor")
    });
    let mut out = Vec::new();
    for cursor in [None, deep] {
        let mut lat = Vec::with_capacity(samples);
        for _ in 0..samples {
            let (took, v) = page(cursor.clone()).await?;
            if v["items"].as_array().map_or(0, Vec::len) == 0 && tenant.assigned > 100 {
                bail!("an empty page of holders: {v}");
            }
            lat.push(took);
        }
        lat.sort();
        out.push(json!({
            "p50_ms": round2(percentile_ms(&lat, 50.0)),
            "p99_ms": round2(percentile_ms(&lat, 99.0)),
        }));
    }
    let deep = out.pop().expect("two");
    let first = out.pop().expect("two");
    Ok((first, deep))
}

/// The streaming export as NDJSON: rows (lines) and bytes of the body, rows per second;
/// null when the build has no export route (404).
async fn export(http: &reqwest::Client, base: &str, token: &str, stored: usize) -> Result<Value> {
    let t = Instant::now();
    let mut r = http
        .get(format!("{base}/api/v2/agents/skills/export?format=ndjson"))
        .bearer_auth(token)
        .send()
        .await?;
    if r.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(Value::Null);
    }
    if !r.status().is_success() {
        bail!("the export answered {}", r.status());
    }
    let (mut rows, mut bytes) = (0usize, 0usize);
    while let Some(piece) = r.chunk().await? {
        bytes += piece.len();
        rows += piece.iter().filter(|&&b| b == b'\n').count();
    }
    let s = t.elapsed().as_secs_f64();
    if rows < stored {
        bail!("the export streamed {rows} rows of {stored}");
    }
    Ok(json!({
        "rows": rows,
        "bytes": bytes,
        "s": round3(s),
        "rows_per_s": (rows as f64 / s).round(),
    }))
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_increasing_multiples_of_twenty() {
        assert_eq!(parse_sizes("100,1_000").unwrap(), vec![100, 1000]);
        assert_eq!(
            parse_sizes(DEFAULT_SIZES).unwrap(),
            vec![100_000, 1_000_000, 10_000_000, 20_000_000]
        );
        for bad in ["", "0", "30", "100,100", "1000,100", "ten"] {
            assert!(parse_sizes(bad).is_err(), "{bad} was accepted");
        }
    }
}
