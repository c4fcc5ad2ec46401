//! The server under test: the release-built `skillgrid serve` as a child process on loopback.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use uuid::Uuid;

pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
}

/// A free port on loopback (bound, read, released).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("no free port on loopback")?;
    Ok(l.local_addr()?.port())
}

/// Polls `url` until it answers 200, for at most `within`.
pub async fn wait_ready(http: &reqwest::Client, url: &str, within: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if start.elapsed() > within {
            bail!("{url} did not answer within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Server {
    /// Starts `bin serve` on a free loopback port over `database`, logging to `log`, with the
    /// environment variables `env` added, and waits for `/healthz`.
    pub async fn start(
        bin: &Path,
        database: &str,
        log: &Path,
        http: &reqwest::Client,
        env: &[(&str, &str)],
    ) -> Result<Server> {
        Server::spawn(
            bin,
            &["serve", "--database", database],
            log,
            http,
            env,
            "/healthz",
        )
        .await
    }

    /// Starts `bin hello-world` (a bare axum hello-world on the server's runtime, answering
    /// `GET /`) on a free loopback port, logging to `log`, and waits for it to answer.
    pub async fn hello_world(bin: &Path, log: &Path, http: &reqwest::Client) -> Result<Server> {
        Server::spawn(bin, &["hello-world"], log, http, &[], "/").await
    }

    /// `bin ARGS --listen 127.0.0.1:PORT`, ready once `ready` answers 200.
    async fn spawn(
        bin: &Path,
        args: &[&str],
        log: &Path,
        http: &reqwest::Client,
        env: &[(&str, &str)],
        ready: &str,
    ) -> Result<Server> {
        let port = free_port()?;
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        // A profiler may wrap the server (`serve` only), e.g.
        // SKILLGRID_BENCH_WRAP="perf record -g -o srv.data --" (figures read from /proc are then
        // the wrapper's).
        let wrap = match args.first() {
            Some(&"serve") => std::env::var("SKILLGRID_BENCH_WRAP").unwrap_or_default(),
            _ => String::new(),
        };
        let mut words = wrap.split_whitespace();
        let mut cmd = match words.next() {
            Some(w) => {
                let mut c = Command::new(w);
                c.args(words).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let child = cmd
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let base = format!("http://127.0.0.1:{port}");
        let server = Server { child, pid, base };
        wait_ready(
            http,
            &format!("{}{ready}", server.base),
            Duration::from_secs(60),
        )
        .await
        .with_context(|| format!("the server did not start; see {}", log.display()))?;
        Ok(server)
    }

    /// The peak resident set size of the process so far (`VmHWM`), in MB.
    pub fn peak_rss_mb(&self) -> Result<f64> {
        status_kb(self.pid, "VmHWM:").map(|kb| kb as f64 / 1024.0)
    }

    /// CPU seconds the process has used so far, user and system, all its threads (those that
    /// have ended too), to the kernel's tick (usually 10 ms).
    pub fn cpu_s(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .with_context(|| format!("cannot read /proc/{}/stat", self.pid))?;
        // Fields after the command name, which is in parentheses and may hold spaces:
        // utime and stime are the 14th and 15th fields of the line, in clock ticks.
        let rest = stat
            .rsplit_once(')')
            .context("no command in /proc/PID/stat")?
            .1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| -> Result<f64> {
            f.get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .context("short /proc/PID/stat")
        };
        Ok((ticks(11)? + ticks(12)?) / CLOCK_TICKS)
    }

    /// Asks the server to shut down (SIGTERM, so a wrapping profiler can write its data), and
    /// kills it if it is still running after 10 s.
    pub async fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await.context("cannot stop the server")?;
        }
        Ok(())
    }

    /// A bearer token for the API client `id`.
    pub async fn token(&self, http: &reqwest::Client, id: Uuid, secret: &str) -> Result<String> {
        let r = http
            .post(format!("{}/oauth/token", self.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id.to_string()),
                ("client_secret", secret),
            ])
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("token request answered {}", r.status());
        }
        let v: serde_json::Value = r.json().await?;
        v["access_token"]
            .as_str()
            .map(String::from)
            .context("no access_token in the token answer")
    }
}

/// A `kB` line of `/proc/<pid>/status`.
/// `sysconf(_SC_CLK_TCK)`: 100 on Linux for every architecture this runs on.
const CLOCK_TICKS: f64 = 100.0;

pub fn status_kb(pid: u32, field: &str) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}
