//! The console's grid (`GET /console`) at the size it is made for: 10,000 agents × 200
//! skills, 50 rows a page. The organization is seeded through the store, its assignments
//! through the bulk API, and a console user signs in over HTTP (form post, session cookie)
//! like a browser. Each kind of page is then fetched over one keep-alive connection many
//! times, asking for gzip as a browser does: the client-side latency over loopback, the
//! page's size (sent, compressed, and its HTML) and the number of SQL statements the server
//! executed for it.
//!
//! The statements are counted, not inferred from the code: a second server over the same
//! database runs with `RUST_LOG=info,sqlx::query=debug`, under which sqlx logs every statement
//! it executes on either backend (one JSON line each, target `sqlx::query`), whatever path of
//! the server sent it, inside the span of the request that caused it (with its request id).
//! Each measured request carries an `X-Request-Id` of its own, and its statements are the log's
//! `sqlx::query` lines with that id: work the server does in the background, outside any
//! request, is not counted. The timings are taken on the first server, which does not log them.

use crate::server::Server;
use crate::stats::percentile_ms;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use skillgrid_api::{OrgSettings, RateLimit};
use skillgrid_core::model::{NewAgent, NewSkill};
use skillgrid_core::people::Role;
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{ChangedBy, NewUser};
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Agents holding every skill, named "Full agent …": the page `q=full` shows all their cells.
/// The others hold a realistic set, 20 to 40 of the 200 skills.
pub const FULL: usize = 50;
const SKILLS: usize = 200;
/// Agents per bulk request.
const CHUNK: usize = 2_000;
/// The page the deep page is (walked to by its `next` links), or the last one if there are
/// fewer.
const DEEP: usize = 100;
const EMAIL: &str = "bench-admin@example.com";
const PASSWORD: &str = "bench console password 7";

pub struct Seeded {
    org_name: String,
    client_id: Uuid,
    secret: String,
    agents: Vec<Uuid>,
    /// Agents before this index hold a realistic set, the others every skill.
    dense: usize,
    skills: Vec<Uuid>,
    /// The level filter's value: a level's name.
    level: String,
}

/// Every kind of page of one backend.
pub struct Console {
    pub agents: usize,
    pub assignments: usize,
    /// The deep page's number.
    pub deep_page: usize,
    pub pages: Vec<PageFigure>,
}

/// One kind of page, as measured.
pub struct PageFigure {
    pub kind: &'static str,
    pub path: String,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The HTML, uncompressed.
    pub bytes: usize,
    /// What the server sent when asked for gzip, as a browser asks.
    pub sent_bytes: usize,
    pub rows: usize,
    pub cells_filled: usize,
    /// SQL statements executed for one request, from three requests (all equal, or the run
    /// fails).
    pub statements: usize,
    /// Their summaries (sqlx's: the statement's first words), in order.
    pub statement_list: Vec<String>,
}

/// The skills agent `a` holds: 20 to 40 of them, spread over the catalog; all for a full agent.
fn held(a: usize, dense: usize) -> Vec<usize> {
    if a >= dense {
        return (0..SKILLS).collect();
    }
    let n = 20 + a % 21;
    let start = (a * 37) % SKILLS;
    (0..n).map(|k| (start + k * 7) % SKILLS).collect()
}

/// Creates the organization, its API client, a console admin, the skills and `agents` agents
/// (`FULL` of them full).
pub async fn seed(database: &str, agents: usize) -> Result<Seeded> {
    let dense = agents.saturating_sub(FULL);
    let store = skillgrid_store::open(database).await?;
    let boot = skillgrid_server::bootstrap::first_start(&store)
        .await?
        .context("the console's database was not empty")?;
    let org = store
        .find_org(&boot.org_id.to_string())
        .await?
        .context("the organization just made is missing")?;
    let mut settings = OrgSettings {
        rate_limit: RateLimit {
            requests_per_minute: 100_000_000,
            burst: 1_000_000,
        },
        ..org.settings.clone()
    };
    settings.limits.max_skills_per_agent = settings.limits.max_skills_per_agent.max(SKILLS as u64);
    store
        .update_settings(boot.org_id, &settings)
        .await?
        .map_err(|_| anyhow::anyhow!("the benchmark's settings were refused"))?;
    // The level below the highest: the proficiencies given (0 to 99) reach it, and the
    // highest (from 100) on the default scale is held by nobody.
    let levels: Vec<String> = settings
        .proficiency_scale
        .levels
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let level = levels
        .iter()
        .rev()
        .nth(1)
        .or(levels.first())
        .cloned()
        .context("the scale has no level")?;
    let now = Timestamp::now();
    let mut skills = Vec::with_capacity(SKILLS);
    for i in 0..SKILLS {
        let s = NewSkill {
            name: format!("Skill {i:03}"),
            description: None,
        };
        skills.push(store.create_skill(boot.org_id, &s, now).await?.id.get());
    }
    let mut ids = Vec::with_capacity(dense + FULL);
    for i in 0..dense + FULL {
        let a = if i < dense {
            NewAgent {
                email: format!("agent{i}@example.com"),
                name: format!("Agent {i}"),
                external_id: None,
            }
        } else {
            NewAgent {
                email: format!("full{i}@example.com"),
                name: format!("Full agent {i}"),
                external_id: None,
            }
        };
        ids.push(store.create_agent(boot.org_id, &a, now).await?.id.get());
    }
    let user = NewUser {
        email: EMAIL.into(),
        role: Role::Admin,
        password_hash: skillgrid_server::console::passwords::hash(PASSWORD)?,
        must_change_password: false,
    };
    let by = ChangedBy {
        request_id: "bench".into(),
        client: None,
        now,
    };
    store.create_user(boot.org_id, &user, &by).await?;
    Ok(Seeded {
        org_name: org.name,
        client_id: boot.client_id.get(),
        secret: boot.client_secret,
        agents: ids,
        dense,
        skills,
        level,
    })
}

/// Writes every agent's assignments through the bulk API, `CHUNK` agents a request.
async fn assign(http: &reqwest::Client, s: &Server, seeded: &Seeded) -> Result<usize> {
    let token = s.token(http, seeded.client_id, &seeded.secret).await?;
    let mut total = 0;
    for (c, chunk) in seeded.agents.chunks(CHUNK).enumerate() {
        let mut body = String::from(r#"{"mode": "merge", "atomic": true, "items": ["#);
        for (i, agent) in chunk.iter().enumerate() {
            let a = c * CHUNK + i;
            if i > 0 {
                body.push_str(", ");
            }
            let _ = write!(body, r#"{{"agentId": "{agent}", "skills": ["#);
            for (j, k) in held(a, seeded.dense).into_iter().enumerate() {
                if j > 0 {
                    body.push_str(", ");
                }
                let _ = write!(
                    body,
                    r#"{{"skillId": "{}", "proficiency": {}}}"#,
                    seeded.skills[k],
                    crate::workload::proficiency(a, k, 0)
                );
                total += 1;
            }
            body.push_str("]}");
        }
        body.push_str("]}");
        let r = http
            .post(format!("{}/api/v2/agents/skills/bulk", s.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = r.status();
        if !status.is_success() {
            bail!("a bulk request answered {status}: {}", r.text().await?);
        }
    }
    Ok(total)
}

/// A client that keeps its connection and does not follow redirects.
fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()?)
}

/// Signs in with the console's form; returns the `Cookie` header value of the session.
async fn sign_in(http: &reqwest::Client, s: &Server, seeded: &Seeded) -> Result<String> {
    let r = http
        .post(format!("{}/console/sign-in", s.base))
        .header("origin", &s.base)
        .form(&[
            ("organization", seeded.org_name.as_str()),
            ("email", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    let status = r.status();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    if !status.is_redirection() || cookie.is_empty() {
        bail!("signing in answered {status} with no session cookie");
    }
    Ok(cookie)
}

/// GETs `path` with the session; the page's HTML.
async fn get(http: &reqwest::Client, s: &Server, cookie: &str, path: &str) -> Result<String> {
    let r = http
        .get(format!("{}{path}", s.base))
        .header("cookie", cookie)
        .send()
        .await?;
    let status = r.status();
    let body = r.text().await?;
    if status != reqwest::StatusCode::OK {
        bail!("GET {path} answered {status}");
    }
    Ok(body)
}

/// GETs `path` with the session as a browser does, asking for a compressed answer
/// (`Accept-Encoding: gzip`); the bytes sent (the client does not decompress them).
async fn get_sent(http: &reqwest::Client, s: &Server, cookie: &str, path: &str) -> Result<usize> {
    let r = http
        .get(format!("{}{path}", s.base))
        .header("cookie", cookie)
        .header("accept-encoding", "gzip")
        .send()
        .await?;
    let status = r.status();
    let body = r.bytes().await?;
    if status != reqwest::StatusCode::OK {
        bail!("GET {path} answered {status}");
    }
    Ok(body.len())
}

/// The value of the first `attr="…"` after `marker` in `html`.
fn attr_after<'a>(html: &'a str, marker: &str, attr: &str) -> Option<&'a str> {
    let rest = &html[html.find(marker)?..];
    let start = rest.find(&format!("{attr}=\""))? + attr.len() + 2;
    let end = rest[start..].find('"')?;
    Some(&rest[start..start + end])
}

/// The link of a page's `next` button, unescaped.
fn next_link(html: &str) -> Option<String> {
    // The `a` element holds rel="next" before its href.
    let at = html.find(r#"rel="next""#)?;
    let open = html[..at].rfind("<a")?;
    attr_after(&html[open..], "<a", "href").map(|h| h.replace("&amp;", "&"))
}

/// The kinds of page measured, with their paths; the deep page is found by walking `next`.
async fn pages(
    http: &reqwest::Client,
    s: &Server,
    cookie: &str,
    seeded: &Seeded,
) -> Result<(Vec<(&'static str, String)>, usize)> {
    let mut path = "/console".to_string();
    let mut page = 1;
    while page < DEEP {
        let html = get(http, s, cookie, &path).await?;
        match next_link(&html) {
            Some(next) => path = next,
            None => break,
        }
        page += 1;
    }
    let skill = seeded.skills[SKILLS / 2];
    let level = &seeded.level;
    let kinds = vec![
        ("first", "/console".to_string()),
        ("deep", path),
        ("search", "/console?q=agent%2042".to_string()),
        ("skill", format!("/console?skill={skill}")),
        ("level", format!("/console?level={level}")),
        (
            "skill+level",
            format!("/console?skill={skill}&level={level}"),
        ),
        ("by e-mail", "/console?sort=email".to_string()),
        ("full", "/console?q=full".to_string()),
    ];
    Ok((kinds, page))
}

/// Whether a statement is one a pool runs once on each connection it opens (SQLite's
/// pragmas, PostgreSQL's session settings): the pool opens connections when it sees fit, in
/// whichever request needs one, so they are a connection's cost, not a page's.
fn connection_setup(summary: &str) -> bool {
    summary.starts_with("PRAGMA ") || summary.starts_with("SET ")
}

/// The statements the server's log holds for the request `id`, but a new connection's setup:
/// their summaries, in order.
///
/// The server writes its log lines a few milliseconds after they happen, so this waits (up to
/// 10 s) for the request's own closing line, which follows every statement it executed.
async fn statements_of(log: &Path, id: &str) -> Result<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log)?;
        let mut out = Vec::new();
        let mut ended = false;
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if v["span"]["request_id"] != id {
                continue;
            }
            if v["target"] == "sqlx::query" {
                let summary = v["fields"]["summary"].as_str().unwrap_or("?");
                if !connection_setup(summary) {
                    out.push(summary.to_string());
                }
            } else if v["fields"]["message"] == "request" {
                ended = true;
            }
        }
        if ended {
            return Ok(out);
        }
        if Instant::now() > deadline {
            bail!("the server's log has no closing line for request {id} after 10 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seeds `database` (empty), then measures every kind of page `samples` times.
pub async fn measure(
    bin: &Path,
    database: &str,
    dir: &Path,
    tag: &str,
    agents: usize,
    samples: usize,
) -> Result<Console> {
    let t = Instant::now();
    let seeded = seed(database, agents).await?;
    let http = client()?;
    let s = Server::start(
        bin,
        database,
        &dir.join(format!("console-{tag}.log")),
        &http,
        &[],
    )
    .await?;
    let n = assign(&http, &s, &seeded).await?;
    if database.starts_with("postgres") {
        // What autovacuum does within a minute of a load this size: without statistics the
        // planner guesses, and its guesses for the grid's filters read every assignment.
        let pool = sqlx::PgPool::connect(database).await?;
        sqlx::query("ANALYZE").execute(&pool).await?;
        pool.close().await;
    }
    eprintln!(
        "console: seeded {} agents, {SKILLS} skills, {n} assignments in {:.1} s",
        seeded.agents.len(),
        t.elapsed().as_secs_f64()
    );
    let cookie = sign_in(&http, &s, &seeded).await?;
    let (kinds, deep_page) = pages(&http, &s, &cookie, &seeded).await?;
    let mut out = Vec::new();
    for (kind, path) in &kinds {
        let html = get(&http, &s, &cookie, path).await?;
        let sent_bytes = get_sent(&http, &s, &cookie, path).await?;
        for _ in 0..samples.div_ceil(10) {
            get_sent(&http, &s, &cookie, path).await?;
        }
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            get_sent(&http, &s, &cookie, path).await?;
            times.push(start.elapsed());
        }
        times.sort();
        let rows = html.matches("<tr data-agent-id=").count();
        let cells_filled = html.matches("<td class=").count();
        out.push(PageFigure {
            kind,
            path: path.clone(),
            p50_ms: percentile_ms(&times, 50.0),
            p99_ms: percentile_ms(&times, 99.0),
            bytes: html.len(),
            sent_bytes,
            rows,
            cells_filled,
            statements: 0,
            statement_list: Vec::new(),
        });
    }
    s.stop().await?;

    // The same pages on a server that logs every statement it executes.
    let log = dir.join(format!("console-{tag}-statements.log"));
    let http = client()?;
    let s = Server::start(
        bin,
        database,
        &log,
        &http,
        &[("RUST_LOG", "info,sqlx::query=debug")],
    )
    .await?;
    for f in &mut out {
        // A fresh session for each kind: a session's use moves its end forward with a write
        // once a minute, which is not the page's cost and would make the counts differ.
        let cookie = sign_in(&http, &s, &seeded).await?;
        get(&http, &s, &cookie, &f.path).await?;
        let mut counts = Vec::new();
        let mut lists = Vec::new();
        for _ in 0..3 {
            let id = Uuid::new_v4().to_string();
            let r = http
                .get(format!("{}{}", s.base, f.path))
                .header("cookie", &cookie)
                .header("x-request-id", &id)
                .send()
                .await?;
            if r.status() != reqwest::StatusCode::OK {
                bail!("GET {} answered {}", f.path, r.status());
            }
            r.bytes().await?;
            let statements = statements_of(&log, &id).await?;
            counts.push(statements.len());
            lists.push(statements);
        }
        if counts.iter().any(|&c| c != counts[0]) || counts[0] == 0 {
            bail!(
                "GET {} executed {counts:?} statements in three requests: {lists:?}",
                f.path
            );
        }
        f.statement_list = lists.swap_remove(0);
        f.statements = counts[0];
    }
    s.stop().await?;
    Ok(Console {
        agents: seeded.agents.len(),
        assignments: n,
        deep_page,
        pages: out,
    })
}

pub fn report(backend: &str, c: &Console) {
    println!(
        "== console grid, {backend}: {} agents × {SKILLS} skills, {} assignments, 50 rows a page; deep = page {}",
        c.agents, c.assignments, c.deep_page
    );
    let figures = &c.pages;
    println!(
        "{:<12} {:>8} {:>8} {:>9} {:>9} {:>5} {:>6} {:>10}",
        "page", "p50 ms", "p99 ms", "sent KB", "HTML KB", "rows", "cells", "statements"
    );
    for f in figures {
        println!(
            "{:<12} {:>8.2} {:>8.2} {:>9.1} {:>9.1} {:>5} {:>6} {:>10}",
            f.kind,
            f.p50_ms,
            f.p99_ms,
            f.sent_bytes as f64 / 1024.0,
            f.bytes as f64 / 1024.0,
            f.rows,
            f.cells_filled,
            f.statements
        );
    }
    let counts: Vec<usize> = figures.iter().map(|f| f.statements).collect();
    let same = counts.windows(2).all(|w| w[0] == w[1]);
    if let Some(f) = figures.first() {
        println!(
            "statements of the first page: {}",
            f.statement_list.join(" | ")
        );
    }
    println!(
        "statements per page: {} (counted in the server's statement log)",
        if same {
            format!("{} on every page", counts.first().copied().unwrap_or(0))
        } else {
            format!("differ: {counts:?}")
        }
    );
}

pub fn summary(c: &Console) -> Value {
    let pages = Value::Object(
        c.pages
            .iter()
            .map(|f| {
                (
                    f.kind.to_string(),
                    json!({
                        "p50_ms": (f.p50_ms * 100.0).round() / 100.0,
                        "p99_ms": (f.p99_ms * 100.0).round() / 100.0,
                        "bytes": f.bytes,
                        "sent_bytes": f.sent_bytes,
                        "rows": f.rows,
                        "cells_filled": f.cells_filled,
                        "statements": f.statements,
                    }),
                )
            })
            .collect(),
    );
    json!({
        "agents": c.agents,
        "skills": SKILLS,
        "assignments": c.assignments,
        "deep_page": c.deep_page,
        "pages": pages,
    })
}
