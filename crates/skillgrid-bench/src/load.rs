//! What a client does to the server: one bulk request, a loop of single-skill PUTs over one
//! keep-alive connection, and many connections of single PUTs or GETs at once, or of GETs of
//! a hello-world (the HTTP ceiling those GETs are read against).

use crate::stats::percentile_ms;
use crate::workload::Fixture;
use anyhow::{bail, Context, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One bulk request as the client saw it.
pub struct BulkRun {
    /// Seconds from sending the request to the arrival of the answer's last byte.
    pub wall_s: f64,
    pub summary: serde_json::Value,
}

/// Memory for bulk answers, made resident before any request is timed: the answer is copied
/// into it as it arrives, so the client neither keeps hyper's pieces (which would make hyper
/// take fresh memory for every read) nor faults in tens of megabytes while the clock runs.
/// The page faults measured are then the server's, not the client's.
pub struct AnswerBuffer(Vec<u8>);

impl AnswerBuffer {
    /// Room for `bytes` resident now (and kept: it is reused by every request).
    pub fn resident(bytes: usize) -> Self {
        let mut b = AnswerBuffer(Vec::new());
        b.reserve(bytes);
        b
    }

    /// At least `bytes` of room, every page of it touched; not timed.
    fn reserve(&mut self, bytes: usize) {
        if self.0.capacity() < bytes {
            self.0 = vec![0; bytes];
        } else {
            self.0.resize(bytes, 0);
        }
        self.0.clear();
    }
}

/// A JSON POST to `url` with `token`.
pub fn post_json(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    http.post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
}

/// Sends one bulk body and reads the answer as it arrives, copying it into `answer`.
pub async fn bulk(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: Vec<u8>,
    answer: &mut AnswerBuffer,
) -> Result<BulkRun> {
    answer.0.clear();
    let start = Instant::now();
    let mut r = post_json(
        http,
        &format!("{base}/api/v2/agents/skills/bulk"),
        token,
        body,
    )
    .send()
    .await?;
    let status = r.status();
    while let Some(piece) = r.chunk().await? {
        answer.0.extend_from_slice(&piece);
    }
    let wall_s = start.elapsed().as_secs_f64();
    let bytes = &answer.0;
    // The next answer may be larger: room for twice this one, made resident before it is timed.
    let next = 2 * bytes.len();
    if !status.is_success() {
        bail!(
            "bulk answered {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(2000)])
        );
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).context("bulk answer")?;
    answer.reserve(next);
    Ok(BulkRun {
        wall_s,
        summary: v["summary"].clone(),
    })
}

fn put_url(base: &str, f: &Fixture, a: usize, s: usize) -> String {
    format!(
        "{base}/api/v2/agents/users/{}/skills/{}",
        f.agents[a % f.agents.len()],
        f.skills[s % f.skills.len()]
    )
}

async fn put_one(http: &reqwest::Client, url: &str, token: &str, value: i64) -> Result<()> {
    let r = http
        .put(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(format!(r#"{{"proficiency": {value}}}"#))
        .send()
        .await?;
    let status = r.status();
    let text = r.bytes().await?;
    if !status.is_success() {
        bail!("PUT answered {status}: {}", String::from_utf8_lossy(&text));
    }
    Ok(())
}

/// `sample` single-skill PUTs, one after another over one keep-alive connection; seconds.
pub async fn naive_loop(base: &str, token: &str, f: &Fixture, sample: usize) -> Result<f64> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let start = Instant::now();
    for i in 0..sample {
        let (a, s) = (i / f.skills.len(), i % f.skills.len());
        put_one(
            &http,
            &put_url(base, f, a, s),
            token,
            100 - (i % 100) as i64,
        )
        .await?;
    }
    Ok(start.elapsed().as_secs_f64())
}

pub struct Concurrent {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Clone)]
pub enum Op {
    Put,
    Get,
    /// `GET` of this URL, without a token: a hello-world. The same client, connections and
    /// loop as `Get`, so that the two are measured alike on a machine they share with it.
    Hello(Arc<str>),
}

/// `connections` clients, each sending one request after another for `duration`; every
/// client works on its own agents, so PUTs change real rows without contending on one agent.
pub async fn concurrent(
    base: &str,
    token: &str,
    f: &Arc<Fixture>,
    op: Op,
    connections: usize,
    duration: Duration,
) -> Result<Concurrent> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let (http, f, base, token) = (http.clone(), f.clone(), base.to_string(), token.to_string());
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0usize;
            while Instant::now() < deadline {
                let agent = c + connections * (i / f.skills.len());
                let t = Instant::now();
                match &op {
                    Op::Put => {
                        let url = put_url(&base, &f, agent, i);
                        put_one(&http, &url, &token, (i % 100) as i64).await?;
                    }
                    Op::Get => {
                        let url = format!(
                            "{base}/api/v2/agents/users/{}/skills",
                            f.agents[agent % f.agents.len()]
                        );
                        let r = http.get(url).bearer_auth(&token).send().await?;
                        let status = r.status();
                        r.bytes().await?;
                        if !status.is_success() {
                            bail!("GET answered {status}");
                        }
                    }
                    Op::Hello(url) => {
                        let r = http.get(&**url).send().await?;
                        let status = r.status();
                        r.bytes().await?;
                        if !status.is_success() {
                            bail!("GET {url} answered {status}");
                        }
                    }
                }
                lat.push(t.elapsed());
                i += 1;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    Ok(Concurrent {
        rps: all.len() as f64 / elapsed,
        p50_ms: percentile_ms(&all, 50.0),
        p99_ms: percentile_ms(&all, 99.0),
    })
}
