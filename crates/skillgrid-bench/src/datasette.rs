//! The peer: Datasette's JSON upsert API (`POST /<db>/<table>/-/upsert`) on an SQLite table
//! with the same columns and key as ours, installed from PyPI into a virtualenv of its own that
//! later runs reuse. Datasette reads at most 2 MB per body (`max_post_body_bytes`), so rows go
//! in chunks of `CHUNK_ROWS`, one request after another over one keep-alive connection.

use crate::server::{free_port, wait_ready};
use crate::workload::proficiency;
use anyhow::{bail, Context, Result};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

pub const VERSION: &str = "1.0a41";
const CHUNK_ROWS: usize = 5000;
const MAX_BODY: usize = 2_097_152;
const SECRET: &str = "skillgrid-bench-secret";

/// The virtualenv in `dir` with Datasette `VERSION`, created (once) if missing.
pub async fn venv(dir: &Path) -> Result<PathBuf> {
    let bin = dir.join("bin");
    let datasette = bin.join("datasette");
    if let Ok(out) = Command::new(&datasette).arg("--version").output().await {
        if String::from_utf8_lossy(&out.stdout).contains(VERSION) {
            return Ok(bin);
        }
    }
    eprintln!(
        "installing datasette=={VERSION} into {} (once)",
        dir.display()
    );
    run(Command::new("python3").args(["-m", "venv"]).arg(dir)).await?;
    run(Command::new(bin.join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("datasette=={VERSION}"),
    ]))
    .await?;
    Ok(bin)
}

async fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn rows_body(rows: std::ops::Range<usize>, skills: usize, round: usize, now: i64) -> String {
    let mut s = String::from(r#"{"rows": ["#);
    for (n, i) in rows.enumerate() {
        if n > 0 {
            s.push_str(", ");
        }
        let (a, k) = (i / skills, i % skills);
        let _ = write!(
            s,
            r#"{{"agent_id": {}, "skill_id": {}, "proficiency": {}, "effective_at": null, "expires_at": null, "updated_at": {now}}}"#,
            a + 1,
            k + 1,
            proficiency(a, k, round)
        );
    }
    s.push_str("]}");
    s
}

/// Seconds for the first write and the re-write of `agents × skills` rows through a fresh
/// Datasette on a fresh file in `dir`.
pub async fn measure(bin: &Path, dir: &Path, agents: usize, skills: usize) -> Result<(f64, f64)> {
    let file = dir.join("peer.db");
    let _ = std::fs::remove_file(&file);
    {
        let conn = rusqlite::Connection::open(&file)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(crate::ceiling::SQLITE_TABLE)?;
    }
    let token =
        run(Command::new(bin.join("datasette")).args(["create-token", "root", "--secret", SECRET]))
            .await?;
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("datasette.log"))?;
    let mut child = Command::new(bin.join("datasette"))
        .arg("serve")
        .arg(&file)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--root"])
        .args(["--setting", "max_insert_rows", &CHUNK_ROWS.to_string()])
        .env("DATASETTE_SECRET", SECRET)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("cannot start datasette")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let result = async {
        wait_ready(
            &http,
            &format!("{base}/-/versions.json"),
            Duration::from_secs(60),
        )
        .await?;
        let url = format!("{base}/peer/assignments/-/upsert");
        let n = agents * skills;
        let mut times = Vec::new();
        for round in 0..2 {
            let now = crate::ceiling::now_ms();
            let bodies: Vec<String> = (0..n)
                .step_by(CHUNK_ROWS)
                .map(|lo| rows_body(lo..(lo + CHUNK_ROWS).min(n), skills, round, now))
                .collect();
            if let Some(b) = bodies.iter().find(|b| b.len() >= MAX_BODY) {
                bail!(
                    "a chunk of {} bytes is over Datasette's body limit",
                    b.len()
                );
            }
            let start = Instant::now();
            for b in bodies {
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(b)
                    .send()
                    .await?;
                let status = r.status();
                let text = r.text().await?;
                if !status.is_success() {
                    bail!("datasette answered {status}: {text}");
                }
            }
            times.push(start.elapsed().as_secs_f64());
        }
        let count: i64 = rusqlite::Connection::open(&file)?.query_row(
            "SELECT count(*) FROM assignments",
            [],
            |r| r.get(0),
        )?;
        if count as usize != n {
            bail!("datasette stored {count} rows, expected {n}");
        }
        Ok((times[0], times[1]))
    }
    .await;
    child.kill().await.ok();
    result
}
