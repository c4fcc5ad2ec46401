//! Webhook deliveries (`--webhooks-only`): the server delivers to a consumer of the bench's
//! own on loopback (a minimal HTTP/1.1 server that answers 204 at once and notes each event's
//! arrival), on SQLite, and on PostgreSQL with `--postgres`.
//! 1. throughput: one bulk write of every agent makes one `assignment.changed` event each; the
//!    endpoint is enabled after it, and the events delivered per second to it are counted
//!    until the last arrives;
//! 2. lag: single writes at a steady rate for the phase's length; each event's lag is its
//!    arrival at the consumer minus its `occurredAt` (both to the millisecond): p50 and p99.

use crate::server::Server;
use crate::workload::{self, Fixture};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use skillgrid_core::timestamp::Timestamp;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Single writes a second in the lag phase.
const STEADY_RATE: f64 = 50.0;

/// Each event that arrived: its sequence number and its lag in milliseconds.
type Arrivals = Arc<Mutex<Vec<(i64, i64)>>>;

/// Both figures on the database `db` (`label` names it in the output).
pub async fn measure(
    bin: &Path,
    db: &str,
    dir: &Path,
    label: &str,
    agents: usize,
    phase: Duration,
) -> Result<Value> {
    let fixture = workload::seed(db, agents, 1).await?;
    let arrivals: Arrivals = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let consumer = tokio::spawn(consume(listener, arrivals.clone()));
    let http = reqwest::Client::builder().no_proxy().build()?;
    let env = [("SKILLGRID_WEBHOOKS_ALLOW_PRIVATE", "true")];
    let log = dir.join(format!("webhooks-{label}.log"));
    let server = Server::start(bin, db, &log, &http, &env).await?;
    let token = server
        .token(&http, fixture.client_id, &fixture.secret)
        .await?;
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{}/api/v2{path}", server.base))
            .bearer_auth(&token)
    };
    let created: Value = api(reqwest::Method::POST, "/webhooks")
        .json(&json!({"url": format!("http://127.0.0.1:{port}/bench"),
            "eventTypes": ["assignment.changed"], "active": false}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let hook = created["id"].as_str().context("no webhook id")?.to_string();

    // 1. The backlog of one bulk write, delivered.
    let items: Vec<Value> = fixture
        .agents
        .iter()
        .map(
            |a| json!({"agentId": a, "skills": [{"skillId": fixture.skills[0], "proficiency": 1}]}),
        )
        .collect();
    api(reqwest::Method::POST, "/agents/skills/bulk")
        .json(&json!({"mode": "replace", "atomic": true, "items": items}))
        .send()
        .await?
        .error_for_status()?;
    let start = Instant::now();
    api(reqwest::Method::PATCH, &format!("/webhooks/{hook}"))
        .json(&json!({"active": true}))
        .send()
        .await?
        .error_for_status()?;
    wait_for(&arrivals, agents, Duration::from_secs(600)).await?;
    let backlog_s = start.elapsed().as_secs_f64();
    let events_per_s = agents as f64 / backlog_s;
    println!(
        "webhooks ({label}): a backlog of {agents} events delivered in {backlog_s:.2} s = {events_per_s:.0} events/s (one endpoint, in order)"
    );

    // 2. Lag under steady single writes.
    arrivals.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let writes = steady_writes(&fixture, &api, phase).await?;
    wait_for(&arrivals, writes, Duration::from_secs(120)).await?;
    let mut lags: Vec<Duration> = arrivals
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(_, ms)| Duration::from_millis((*ms).max(0) as u64))
        .collect();
    lags.sort();
    let p50 = crate::stats::percentile_ms(&lags, 50.0);
    let p99 = crate::stats::percentile_ms(&lags, 99.0);
    println!(
        "webhooks ({label}): delivery lag under {STEADY_RATE:.0} writes/s ({writes} events): p50 {p50:.0} ms, p99 {p99:.0} ms"
    );
    server.stop().await?;
    consumer.abort();
    Ok(json!({
        "backlog_events": agents,
        "backlog_s": backlog_s,
        "events_per_s": events_per_s.round(),
        "steady_writes_per_s": STEADY_RATE,
        "steady_events": writes,
        "lag_p50_ms": p50,
        "lag_p99_ms": p99,
    }))
}

/// Single writes at [`STEADY_RATE`] for `phase`, each changing one agent's proficiency; how
/// many were made.
async fn steady_writes<F>(f: &Fixture, api: &F, phase: Duration) -> Result<usize>
where
    F: Fn(reqwest::Method, &str) -> reqwest::RequestBuilder,
{
    let every = Duration::from_secs_f64(1.0 / STEADY_RATE);
    let mut tick = tokio::time::interval(every);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < phase {
        tick.tick().await;
        let agent = f.agents[n % f.agents.len()];
        // 2, 3, … : never the bulk write's 1, so every write changes something.
        let value = (n / f.agents.len()) as i64 % 50 + 2;
        api(
            reqwest::Method::PUT,
            &format!("/agents/users/{agent}/skills"),
        )
        .json(&json!({"skills": [{"skillId": f.skills[0], "proficiency": value}]}))
        .send()
        .await?
        .error_for_status()?;
        n += 1;
    }
    Ok(n)
}

async fn wait_for(arrivals: &Arrivals, n: usize, within: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let got = arrivals.lock().unwrap_or_else(|p| p.into_inner()).len();
        if got >= n {
            return Ok(());
        }
        if start.elapsed() > within {
            bail!("{got} of {n} webhook deliveries arrived within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The consumer: accepts connections, answers each request 204 at once, and notes each new
/// event's sequence and lag.
async fn consume(listener: tokio::net::TcpListener, arrivals: Arrivals) {
    while let Ok((conn, _)) = listener.accept().await {
        tokio::spawn(connection(conn, arrivals.clone()));
    }
}

async fn connection(mut conn: tokio::net::TcpStream, arrivals: Arrivals) -> Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let now = Timestamp::now().0;
        if let Ok(event) = serde_json::from_slice::<Value>(&buf[head_end..head_end + len]) {
            let occurred = event["occurredAt"]
                .as_str()
                .and_then(Timestamp::parse_rfc3339);
            if let (Some(seq), Some(at)) = (event["sequence"].as_i64(), occurred) {
                arrivals
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((seq, now - at.0));
            }
        }
        buf.drain(..head_end + len);
        conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await?;
    }
}
