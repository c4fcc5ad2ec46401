//! `skillgrid-bench`: how close skillgrid's bulk path is to what the database itself can do,
//! measured side by side in one run (docs/PERFORMANCE.md).
//!
//! It builds nothing: it starts the release-built `skillgrid` found beside itself
//! (`cargo build --release -p skillgrid -p skillgrid-bench` first) on loopback over a fresh
//! database per run, and reports medians of `--runs` runs of:
//! 1. one atomic bulk request of `agents × skills` assignments (first write, then a re-write
//!    with every proficiency changed): assignments/s, wall time, peak server RSS;
//! 2. the raw ceiling: the same upserts straight into the database (see `ceiling`);
//! 3. the naive loop: single-skill PUTs one after another over one keep-alive connection;
//! 4. single-skill PUT and GET of an agent's skills at `--connections` connections, and the
//!    HTTP ceiling they are read against, by the same client at as many connections: a bare
//!    axum hello-world on the server's runtime (`skillgrid hello-world`), and `GET /healthz`
//!    of the server itself, through all of its middleware (alone with `--reads-only`);
//! 5. the peer: Datasette's JSON upsert API on the same rows (SQLite only);
//! 6. validation alone, in process, against plain typed parsing;
//! 7. the console's grid page (`GET /console`) over 10,000 agents × 200 skills: latency,
//!    size and SQL statements of each kind of page (see `console`; alone with
//!    `--console-only`);
//! 8. webhook deliveries to a consumer on loopback: events per second, and the delivery lag
//!    under steady writes (see `webhooks`; alone with `--webhooks-only`, not in the full run);
//! 9. SCIM provisioning, one User a request as identity providers send them (see `scim`; alone
//!    with `--scim-only`, not in the full run).
//!
//! With `--postgres URL` the server-side figures are measured on PostgreSQL too.
//!
//! `--scale` measures instead one organization grown to `--scale-sizes` stored assignments
//! (see `scale`), the database filled between the measured writes by a direct load into it
//! (`--scale-fill direct`, see `direct`) or through the bulk API (`--scale-fill api`).

mod ceiling;
mod console;
mod datasette;
mod direct;
mod load;
mod scale;
mod scim;
mod server;
mod stats;
mod validation;
mod webhooks;
mod workload;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use stats::median;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workload::Fixture;

#[derive(Parser)]
#[command(
    about = "Benchmark the release-built skillgrid server against the raw database ceiling, the per-skill loop and Datasette",
    after_help = "Example:\n  cargo build --release -p skillgrid -p skillgrid-bench\n  target/release/skillgrid-bench --json"
)]
struct Args {
    /// Scale the work down (2,000 agents, shorter phases) so the whole run takes under a minute.
    #[arg(long)]
    quick: bool,
    /// End the output with one line holding every figure as a JSON object.
    #[arg(long)]
    json: bool,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Agents in the bulk request (default 10,000; 2,000 with --quick).
    #[arg(long)]
    agents: Option<usize>,
    /// Skills per agent.
    #[arg(long, default_value_t = 10)]
    skills: usize,
    /// Single-skill PUTs in the naive loop's sample (default 2,000; 500 with --quick).
    #[arg(long)]
    loop_sample: Option<usize>,
    /// Concurrent connections for the single PUT and GET figures.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of each concurrent phase (default 5; 1 with --quick).
    #[arg(long)]
    seconds: Option<f64>,
    /// Also measure on this PostgreSQL server (databases are created and dropped there).
    #[arg(long, env = "SKILLGRID_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Measure the console's grid page only (on SQLite, and on PostgreSQL with --postgres).
    #[arg(long)]
    console_only: bool,
    /// Measure webhook deliveries only (on SQLite, and on PostgreSQL with --postgres): events
    /// per second delivered to a consumer on loopback, from a backlog of --agents events, and
    /// the delivery lag p50/p99 under steady single writes for --seconds (default 10; 2 with
    /// --quick).
    #[arg(long)]
    webhooks_only: bool,
    /// Measure SCIM provisioning only (on SQLite, and on PostgreSQL with --postgres): --agents
    /// Users (default 10,000; 1,000 with --quick) created one request at a time, each after a
    /// lookup by userName, as identity providers do: Users per second, latency p50/p99.
    #[arg(long)]
    scim_only: bool,
    /// Agents in the console's organization (default 10,000; 2,000 with --quick).
    #[arg(long)]
    console_agents: Option<usize>,
    /// Requests per kind of console page (default 500; 100 with --quick).
    #[arg(long)]
    console_samples: Option<usize>,
    /// Grow one organization (agents × 20 skills) to each of --scale-sizes stored assignments
    /// and measure at each size (on SQLite, and on PostgreSQL with --postgres); see
    /// docs/PERFORMANCE.md, "Growth".
    #[arg(long)]
    scale: bool,
    /// The sizes of --scale, in stored assignments, increasing multiples of 20.
    #[arg(long, default_value = scale::DEFAULT_SIZES)]
    scale_sizes: String,
    /// How --scale grows the database between its measured writes: `direct` writes every
    /// round after the first straight into the database (the server stopped) as copies of the
    /// rows the bulk API wrote for the first; `api` sends every round through the bulk API.
    #[arg(long, value_enum, default_value = "direct")]
    scale_fill: scale::Fill,
    /// Seed the empty database --database and fill it until this many agents hold their 20
    /// skills (--scale-fill, in rounds of --fill-round agents and skills requests of
    /// --fill-request), then stop; for the direct load's test.
    #[arg(long, hide = true, requires = "database")]
    scale_fill_only: Option<usize>,
    #[arg(long, hide = true)]
    database: Option<String>,
    #[arg(long, hide = true, default_value_t = direct::Shape::FILL.round)]
    fill_round: usize,
    #[arg(long, hide = true, default_value_t = direct::Shape::FILL.request)]
    fill_request: usize,
    /// Requests per kind of "who holds skill X" page in --scale.
    #[arg(long, default_value_t = 200)]
    scale_samples: usize,
    /// Skip the Datasette peer.
    #[arg(long)]
    no_datasette: bool,
    /// Measure the reads only (on SQLite, and on PostgreSQL with --postgres): GET of an
    /// agent's skills and single-skill PUT at --connections connections, against the
    /// hello-worlds of the HTTP ceiling, after one bulk write that gives every agent its skills.
    #[arg(long)]
    reads_only: bool,
    /// The skillgrid binary (default: `skillgrid` beside this one, i.e. target/release).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Datasette's virtualenv, created once and reused (default: target/bench/datasette-venv).
    #[arg(long)]
    venv: Option<PathBuf>,
}

struct Plan {
    /// Only the concurrent phases (see `Args::reads_only`).
    reads_only: bool,
    agents: usize,
    skills: usize,
    runs: usize,
    loop_sample: usize,
    connections: usize,
    phase: Duration,
}

/// The server-side figures of one backend.
#[derive(Default)]
struct Figures {
    bulk_first_s: Vec<f64>,
    bulk_rewrite_s: Vec<f64>,
    /// CPU seconds the server spent on each bulk write, all threads.
    bulk_cpu_s: Vec<f64>,
    bulk_rewrite_cpu_s: Vec<f64>,
    peak_rss_mb: Vec<f64>,
    loop_s: Vec<f64>,
    put: Vec<load::Concurrent>,
    get: Vec<load::Concurrent>,
    /// A bare axum hello-world on the server's runtime (`skillgrid hello-world`).
    hello_bare: Vec<load::Concurrent>,
    /// `GET /healthz` of the server under test: a hello-world through all its middleware.
    hello_stack: Vec<load::Concurrent>,
    /// Each run's GET req/s over the bare hello-world's, measured seconds apart.
    get_over_hello: Vec<f64>,
    get_over_stack: Vec<f64>,
    ceiling_insert_s: Vec<f64>,
    ceiling_reupsert_s: Vec<f64>,
    /// Each run's bulk/ceiling: the worse of first write against insert and re-write against
    /// re-upsert, both measured in that run.
    ceiling_ratio: Vec<f64>,
    /// SQLite only: the insert ceiling without a sync at commit.
    ceiling_normal_insert_s: Vec<f64>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let plan = Plan {
        reads_only: args.reads_only,
        agents: args
            .agents
            .unwrap_or(if args.quick { 2_000 } else { 10_000 }),
        skills: args.skills,
        runs: args.runs.max(1),
        loop_sample: args
            .loop_sample
            .unwrap_or(if args.quick { 500 } else { 2_000 }),
        connections: args.connections.max(1),
        phase: Duration::from_secs_f64(args.seconds.unwrap_or(if args.quick { 1.0 } else { 5.0 })),
    };
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().context("no directory for the bench binary")?;
    let server_bin = args
        .server
        .clone()
        .unwrap_or_else(|| bin_dir.join("skillgrid"));
    if !server_bin.exists() {
        bail!(
            "{} not found: build it first with `cargo build --release -p skillgrid`",
            server_bin.display()
        );
    }
    let started = Instant::now();
    if let (Some(agents), Some(database)) = (args.scale_fill_only, &args.database) {
        let shape = direct::Shape {
            round: args.fill_round.clamp(1, 10_000),
            request: args.fill_request.max(1),
        };
        let dir = tempfile::Builder::new()
            .prefix("skillgrid-bench")
            .tempdir()?;
        let out = scale::fill_only(
            &server_bin,
            database,
            dir.path(),
            args.scale_fill,
            shape,
            agents,
        )
        .await?;
        println!("{out}");
        return Ok(());
    }
    if args.scale {
        let plan = scale::Plan {
            sizes: scale::parse_sizes(&args.scale_sizes)?,
            fill: args.scale_fill,
            connections: plan.connections,
            phase: plan.phase,
            samples: args.scale_samples.max(1),
        };
        println!(
            "skillgrid-bench --scale: one organization, agents × {} skills, grown to {:?} assignments; server {}",
            scale::SKILLS,
            plan.sizes,
            server_bin.display()
        );
        println!("machine: {}", machine());
        let scale_tmp = tempfile::Builder::new()
            .prefix("skillgrid-bench")
            .tempdir()?;
        let out = run_scale(&args, &plan, &server_bin, scale_tmp.path()).await?;
        println!("total {:.1} s", started.elapsed().as_secs_f64());
        if args.json {
            println!("{}", json!({ "scale": out, "machine": machine() }));
        }
        return Ok(());
    }
    let n = plan.agents * plan.skills;
    println!(
        "skillgrid-bench: {} agents × {} skills = {n} assignments, median of {} runs; server {}",
        plan.agents,
        plan.skills,
        plan.runs,
        server_bin.display()
    );
    println!("machine: {}", machine());

    let tmp = tempfile::Builder::new()
        .prefix("skillgrid-bench")
        .tempdir()?;
    let console_plan = (
        args.console_agents
            .unwrap_or(if args.quick { 2_000 } else { 10_000 })
            .max(console::FULL + 1),
        args.console_samples
            .unwrap_or(if args.quick { 100 } else { 500 })
            .max(1),
    );
    if args.webhooks_only {
        let phase = args
            .seconds
            .map_or(Duration::from_secs(if args.quick { 2 } else { 10 }), |s| {
                Duration::from_secs_f64(s)
            });
        let (bin, dir, agents) = (&server_bin, tmp.path(), plan.agents);
        let file = format!("sqlite://{}", dir.join("webhooks.db").display());
        let mut out = json!({
            "sqlite": webhooks::measure(bin, &file, dir, "SQLite", agents, phase).await?
        });
        if let Some(url) = &args.postgres {
            out["postgres"] = on_scratch_postgres(url, "webhooks", |db| async move {
                webhooks::measure(bin, &db, dir, "PostgreSQL", agents, phase).await
            })
            .await?;
        }
        println!("total {:.1} s", started.elapsed().as_secs_f64());
        if args.json {
            println!("{}", json!({ "webhooks": out }));
        }
        return Ok(());
    }
    if args.scim_only {
        let (bin, dir) = (&server_bin, tmp.path());
        let users = args
            .agents
            .unwrap_or(if args.quick { 1_000 } else { 10_000 });
        let file = format!("sqlite://{}", dir.join("scim.db").display());
        let mut out = json!({ "sqlite": scim::measure(bin, &file, dir, "SQLite", users).await? });
        if let Some(url) = &args.postgres {
            out["postgres"] = on_scratch_postgres(url, "scim", |db| async move {
                scim::measure(bin, &db, dir, "PostgreSQL", users).await
            })
            .await?;
        }
        println!("total {:.1} s", started.elapsed().as_secs_f64());
        if args.json {
            println!("{}", json!({ "scim": out }));
        }
        return Ok(());
    }
    if args.console_only {
        let out = run_console(&args, &server_bin, tmp.path(), console_plan).await?;
        println!("total {:.1} s", started.elapsed().as_secs_f64());
        if args.json {
            println!("{out}");
        }
        return Ok(());
    }
    if plan.reads_only {
        let sqlite = run_sqlite(&plan, &server_bin, tmp.path()).await?.1;
        report_reads("SQLite", &plan, &sqlite);
        let mut out = json!({ "sqlite": reads_summary(&sqlite) });
        if let Some(url) = &args.postgres {
            let pg = run_postgres(&plan, &server_bin, tmp.path(), url).await?;
            report_reads("PostgreSQL", &plan, &pg);
            out["postgres"] = reads_summary(&pg);
        }
        out["runs"] = json!(plan.runs);
        out["connections"] = json!(plan.connections);
        out["skills"] = json!(plan.skills);
        out["machine"] = json!(machine());
        println!("total {:.1} s", started.elapsed().as_secs_f64());
        if args.json {
            println!("{out}");
        }
        return Ok(());
    }
    let sqlite = run_sqlite(&plan, &server_bin, tmp.path()).await?;
    let fixture = &sqlite.0;
    let sqlite = &sqlite.1;
    report("SQLite", &plan, sqlite);

    let body = workload::bulk_body(fixture, 0);
    let v = validation::measure(fixture, &body, plan.runs.max(5))?;
    println!(
        "validation ({:.1} MB body): validate {:.0} MB/s, typed serde_json parse {:.0} MB/s, validate/parse time {:.2}",
        body.len() as f64 / 1e6,
        v.validate_mb_s,
        v.parse_mb_s,
        v.validate_over_parse
    );

    let peer = if args.no_datasette {
        None
    } else {
        let venv_dir = args
            .venv
            .clone()
            .unwrap_or_else(|| bin_dir.join("../bench/datasette-venv"));
        let venv = datasette::venv(&venv_dir).await?;
        let (mut first, mut re) = (Vec::new(), Vec::new());
        for _ in 0..plan.runs {
            let (a, b) = datasette::measure(&venv, tmp.path(), plan.agents, plan.skills).await?;
            first.push(a);
            re.push(b);
        }
        let (first, re) = (median(first), median(re));
        println!(
            "datasette {} upsert ({} rows per request, one connection): first write {:.3} s = {:.0}/s, re-write {:.3} s = {:.0}/s",
            datasette::VERSION,
            5000,
            first,
            n as f64 / first,
            re,
            n as f64 / re
        );
        Some((first, re))
    };

    let pg = match &args.postgres {
        Some(url) => {
            let f = run_postgres(&plan, &server_bin, tmp.path(), url).await?;
            report("PostgreSQL", &plan, &f);
            Some(f)
        }
        None => None,
    };

    let mut out = summary(&plan, sqlite);
    let o = out.as_object_mut().expect("an object");
    let bulk_rate = n as f64 / median(sqlite.bulk_first_s.clone());
    let bulk_re_rate = n as f64 / median(sqlite.bulk_rewrite_s.clone());
    if let Some((first, re)) = peer {
        let ratio = (bulk_rate / (n as f64 / first)).min(bulk_re_rate / (n as f64 / re));
        o.insert(
            "datasette_assignments_per_s".into(),
            json!(round(n as f64 / first)),
        );
        o.insert(
            "datasette_rewrite_assignments_per_s".into(),
            json!(round(n as f64 / re)),
        );
        o.insert("bulk_over_datasette".into(), json!(round2(ratio)));
    } else {
        o.insert("bulk_over_datasette".into(), Value::Null);
    }
    o.insert("validate_mb_s".into(), json!(round(v.validate_mb_s)));
    o.insert("parse_mb_s".into(), json!(round(v.parse_mb_s)));
    o.insert(
        "validate_over_parse".into(),
        json!(round2(v.validate_over_parse)),
    );
    if let Some(pg) = &pg {
        o.insert("postgres".into(), summary(&plan, pg));
    }
    let console = run_console(&args, &server_bin, tmp.path(), console_plan).await?;
    o.insert("console".into(), console);
    o.insert("assignments".into(), json!(n));
    o.insert("runs".into(), json!(plan.runs));
    o.insert("quick".into(), json!(args.quick));
    o.insert("machine".into(), json!(machine()));
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    if args.json {
        println!("{out}");
    }
    Ok(())
}

/// The console's grid on SQLite, and on PostgreSQL when asked: every figure as JSON.
async fn run_console(
    args: &Args,
    bin: &Path,
    dir: &Path,
    (agents, samples): (usize, usize),
) -> Result<Value> {
    let file = dir.join("console.db");
    let f = console::measure(
        bin,
        &format!("sqlite://{}", file.display()),
        dir,
        "sqlite",
        agents,
        samples,
    )
    .await?;
    console::report("SQLite", &f);
    let mut out = json!({ "sqlite": console::summary(&f) });
    if let Some(url) = &args.postgres {
        let f = on_scratch_postgres(url, "console", |db| async move {
            console::measure(bin, &db, dir, "postgres", agents, samples).await
        })
        .await?;
        console::report("PostgreSQL", &f);
        out["postgres"] = console::summary(&f);
    }
    Ok(out)
}

/// `--scale` on SQLite, and on PostgreSQL when asked: every figure as JSON.
async fn run_scale(args: &Args, plan: &scale::Plan, bin: &Path, dir: &Path) -> Result<Value> {
    let file = dir.join("scale.db");
    let url = format!("sqlite://{}", file.display());
    let size = || {
        let file = file.clone();
        async move {
            // The database file and its write-ahead log (the server has stopped, so the log
            // holds what the last checkpoint left).
            let mut bytes = std::fs::metadata(&file)?.len();
            let wal = file.with_extension("db-wal");
            bytes += std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            anyhow::Ok(bytes)
        }
    };
    let mut out = json!({ "sqlite": scale::measure(bin, &url, dir, "SQLite", plan, size).await? });
    if let Some(url) = &args.postgres {
        out["postgres"] = on_scratch_postgres(url, "scale", |db| async move {
            let size = || {
                let db = db.clone();
                async move {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&db).await?;
                    let n: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                        .fetch_one(&mut c)
                        .await?;
                    anyhow::Ok(n as u64)
                }
            };
            scale::measure(bin, &db, dir, "PostgreSQL", plan, size).await
        })
        .await?;
    }
    Ok(out)
}

fn round(v: f64) -> i64 {
    v.round() as i64
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The keys every backend reports; ratios compare like with like (first write with inserts
/// into an empty table, re-write with re-upserts) and keep the worse of the two.
fn summary(plan: &Plan, f: &Figures) -> Value {
    let n = (plan.agents * plan.skills) as f64;
    let bulk = n / median(f.bulk_first_s.clone());
    let bulk_re = n / median(f.bulk_rewrite_s.clone());
    let ceil = n / median(f.ceiling_insert_s.clone());
    let ceil_re = n / median(f.ceiling_reupsert_s.clone());
    let loop_rate = plan.loop_sample as f64 / median(f.loop_s.clone());
    let mut out = json!({
        "bulk_assignments_per_s": round(bulk),
        "bulk_rewrite_assignments_per_s": round(bulk_re),
        "bulk_wall_s": round3(median(f.bulk_first_s.clone())),
        "bulk_rewrite_wall_s": round3(median(f.bulk_rewrite_s.clone())),
        "bulk_server_cpu_s": round3(median(f.bulk_cpu_s.clone())),
        "bulk_rewrite_server_cpu_s": round3(median(f.bulk_rewrite_cpu_s.clone())),
        "ceiling_assignments_per_s": round(ceil),
        "ceiling_rewrite_assignments_per_s": round(ceil_re),
        "bulk_over_ceiling": round2(median(f.ceiling_ratio.clone())),
        // Each run's figures, in run order: the spread the medians hide.
        "bulk_over_ceiling_samples": f.ceiling_ratio.iter().map(|r| round2(*r)).collect::<Vec<_>>(),
        "bulk_samples_s": f.bulk_first_s.iter().zip(&f.bulk_rewrite_s)
            .map(|(a, b)| [round3(*a), round3(*b)]).collect::<Vec<_>>(),
        "ceiling_samples_s": f.ceiling_insert_s.iter().zip(&f.ceiling_reupsert_s)
            .map(|(a, b)| [round3(*a), round3(*b)]).collect::<Vec<_>>(),
        "loop_assignments_per_s": round(loop_rate),
        "bulk_over_loop": round2(bulk.min(bulk_re) / loop_rate),
        "bulk_peak_rss_mb": round(median(f.peak_rss_mb.clone())),
    });
    if let (Some(o), Value::Object(reads)) = (out.as_object_mut(), reads_summary(f)) {
        o.extend(reads);
    }
    out
}

/// The concurrent phases' figures: PUT, GET, the hello-worlds, and GET over each of them
/// (the median of each run's ratio).
fn reads_summary(f: &Figures) -> Value {
    let mut out = json!({
        "get_over_hello": round2(median(f.get_over_hello.clone())),
        "get_over_healthz": round2(median(f.get_over_stack.clone())),
    });
    for (name, phase) in [
        ("put", &f.put),
        ("get", &f.get),
        ("hello", &f.hello_bare),
        ("healthz", &f.hello_stack),
    ] {
        let m = |g: fn(&load::Concurrent) -> f64| median(phase.iter().map(g).collect());
        out[format!("{name}_rps")] = json!(round(m(|c| c.rps)));
        out[format!("{name}_p50_ms")] = json!(round2(m(|c| c.p50_ms)));
        out[format!("{name}_p99_ms")] = json!(round2(m(|c| c.p99_ms)));
    }
    out
}

/// The concurrent phases of one backend, as text.
fn report_reads(backend: &str, plan: &Plan, f: &Figures) {
    let s = reads_summary(f);
    if plan.reads_only {
        println!("== {backend}");
    }
    let c = plan.connections;
    println!(
        "single-skill PUT at {c} connections: {} req/s, p50 {} ms, p99 {} ms",
        s["put_rps"], s["put_p50_ms"], s["put_p99_ms"]
    );
    println!(
        "GET an agent's skills at {c} connections: {} req/s, p50 {} ms, p99 {} ms",
        s["get_rps"], s["get_p50_ms"], s["get_p99_ms"]
    );
    println!(
        "HTTP ceiling at {c} connections: bare axum hello-world {} req/s (p99 {} ms), GET /healthz through the server's middleware {} req/s (p99 {} ms)",
        s["hello_rps"], s["hello_p99_ms"], s["healthz_rps"], s["healthz_p99_ms"]
    );
    println!(
        "GET/ceiling {} (of the bare hello-world), {} (of /healthz)",
        s["get_over_hello"], s["get_over_healthz"]
    );
}

fn report(backend: &str, plan: &Plan, f: &Figures) {
    let s = summary(plan, f);
    let n = plan.agents * plan.skills;
    println!("== {backend}");
    println!(
        "bulk, one atomic request of {n}: first write {} s = {}/s, re-write {} s = {}/s, peak server RSS {} MB",
        s["bulk_wall_s"], s["bulk_assignments_per_s"], s["bulk_rewrite_wall_s"],
        s["bulk_rewrite_assignments_per_s"], s["bulk_peak_rss_mb"]
    );
    println!(
        "  (from sending the request until the answer's last byte arrived; server CPU, all threads: {} s and {} s)",
        s["bulk_server_cpu_s"], s["bulk_rewrite_server_cpu_s"]
    );
    println!(
        "raw ceiling: insert {}/s, re-upsert {}/s; bulk/ceiling {}",
        s["ceiling_assignments_per_s"],
        s["ceiling_rewrite_assignments_per_s"],
        s["bulk_over_ceiling"]
    );
    println!(
        "naive loop ({} single PUTs, one connection): {}/s, {:.0} s for {n}; bulk/loop {}",
        plan.loop_sample,
        s["loop_assignments_per_s"],
        n as f64 / s["loop_assignments_per_s"].as_f64().unwrap_or(1.0),
        s["bulk_over_loop"]
    );
    report_reads(backend, plan, f);
}

fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem:.1} GiB memory")
}

/// Everything against one server: `fresh` gives each run a copy of the seeded template, and
/// `ceiling` measures the raw ceiling of a run right after its bulk writes, so that each
/// bulk/ceiling ratio compares figures taken seconds apart on a machine whose speed drifts.
async fn server_runs<F, Fut, C, CFut>(
    plan: &Plan,
    bin: &Path,
    dir: &Path,
    f: &Arc<Fixture>,
    mut fresh: F,
    mut ceiling: C,
) -> Result<Figures>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
    C: FnMut(usize) -> CFut,
    CFut: std::future::Future<Output = Result<ceiling::Ceiling>>,
{
    let http = reqwest::Client::new();
    let n = plan.agents * plan.skills;
    let bodies = [workload::bulk_body(f, 0), workload::bulk_body(f, 1)];
    // A re-write's answer (before and after of every assignment) is about 6.3 times its body.
    let mut answer = load::AnswerBuffer::resident(8 * bodies[0].len());
    let mut out = Figures::default();
    let hello = server::Server::hello_world(bin, &dir.join("hello-world.log"), &http).await?;
    let hello_url: Arc<str> = format!("{}/", hello.base).into();
    for run in 0..plan.runs {
        let db = fresh(run).await?;
        let s = server::Server::start(bin, &db, &dir.join(format!("server-{run}.log")), &http, &[])
            .await?;
        let token = s.token(&http, f.client_id, &f.secret).await?;
        let cpu0 = s.cpu_s()?;
        let first = load::bulk(&http, &s.base, &token, bodies[0].clone(), &mut answer).await?;
        if first.summary["added"] != json!(n) {
            bail!("unexpected bulk summary: {}", first.summary);
        }
        if !plan.reads_only {
            let cpu1 = s.cpu_s()?;
            let again = load::bulk(&http, &s.base, &token, bodies[1].clone(), &mut answer).await?;
            let cpu2 = s.cpu_s()?;
            out.bulk_cpu_s.push(cpu1 - cpu0);
            out.bulk_rewrite_cpu_s.push(cpu2 - cpu1);
            if again.summary["updated"] != json!(n) {
                bail!("unexpected bulk summary: {}", again.summary);
            }
            out.peak_rss_mb.push(s.peak_rss_mb()?);
            out.bulk_first_s.push(first.wall_s);
            out.bulk_rewrite_s.push(again.wall_s);
            let c = ceiling(run).await?;
            out.ceiling_insert_s.push(c.insert_s);
            out.ceiling_reupsert_s.push(c.reupsert_s);
            out.ceiling_ratio
                .push((c.insert_s / first.wall_s).min(c.reupsert_s / again.wall_s));
            out.loop_s
                .push(load::naive_loop(&s.base, &token, f, plan.loop_sample).await?);
        }
        let phase = |op| load::concurrent(&s.base, &token, f, op, plan.connections, plan.phase);
        out.put.push(phase(load::Op::Put).await?);
        // The GET and its ceilings one right after the other, so that their ratio compares
        // figures taken seconds apart on a machine whose speed drifts.
        let get = phase(load::Op::Get).await?;
        let healthz = phase(load::Op::Hello(format!("{}/healthz", s.base).into())).await?;
        let bare = phase(load::Op::Hello(hello_url.clone())).await?;
        out.get_over_hello.push(get.rps / bare.rps);
        out.get_over_stack.push(get.rps / healthz.rps);
        out.get.push(get);
        out.hello_stack.push(healthz);
        out.hello_bare.push(bare);
        s.stop().await?;
    }
    hello.stop().await?;
    Ok(out)
}

async fn run_sqlite(plan: &Plan, bin: &Path, dir: &Path) -> Result<(Fixture, Figures)> {
    let template = dir.join("template.db");
    let t = Instant::now();
    let fixture = workload::seed(
        &format!("sqlite://{}", template.display()),
        plan.agents,
        plan.skills,
    )
    .await?;
    eprintln!(
        "seeded the SQLite template in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let f = Arc::new(fixture);
    let mut figures = server_runs(
        plan,
        bin,
        dir,
        &f,
        |run| {
            let (template, dir) = (template.clone(), dir.to_path_buf());
            async move {
                let file = dir.join(format!("run-{run}.db"));
                let conn = rusqlite::Connection::open(&template)?;
                conn.execute("VACUUM INTO ?1", [file.to_string_lossy()])?;
                Ok(format!("sqlite://{}", file.display()))
            }
        },
        |run| {
            let file = dir.join(format!("ceiling-full-{run}.db"));
            async move { ceiling::sqlite(&file, plan.agents, plan.skills, "FULL") }
        },
    )
    .await?;
    if plan.reads_only {
        let fixture = Arc::try_unwrap(f).map_err(|_| anyhow::anyhow!("fixture still shared"))?;
        return Ok((fixture, figures));
    }
    for run in 0..plan.runs {
        let file = dir.join(format!("ceiling-normal-{run}.db"));
        let c = ceiling::sqlite(&file, plan.agents, plan.skills, "NORMAL")?;
        figures.ceiling_normal_insert_s.push(c.insert_s);
    }
    println!(
        "raw ceiling with synchronous=NORMAL instead of FULL: insert {:.0}/s",
        (plan.agents * plan.skills) as f64 / median(figures.ceiling_normal_insert_s.clone())
    );
    let fixture = Arc::try_unwrap(f).map_err(|_| anyhow::anyhow!("fixture still shared"))?;
    Ok((fixture, figures))
}

/// `url` with its database name replaced by `name`.
/// Runs `f` on a database of its own (its URL given) on the PostgreSQL server at `url`,
/// dropped afterwards whatever `f` came to.
async fn on_scratch_postgres<T, F, Fut>(url: &str, what: &str, f: F) -> Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let db = format!("skillgrid_bench_{what}_{}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await?;
    let out = async { f(with_db(url, &db)?).await }.await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    out
}

fn with_db(url: &str, name: &str) -> Result<String> {
    let (scheme, rest) = url.split_once("://").context("not a URL")?;
    let (authority, after) = rest.split_once('/').unwrap_or((rest, ""));
    let query = after
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Ok(format!("{scheme}://{authority}/{name}{query}"))
}

async fn run_postgres(plan: &Plan, bin: &Path, dir: &Path, url: &str) -> Result<Figures> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let tag = std::process::id();
    let template = format!("skillgrid_bench_tpl_{tag}");
    let runs: Vec<String> = (0..plan.runs)
        .map(|r| format!("skillgrid_bench_run_{tag}_{r}"))
        .collect();
    let scratch = format!("skillgrid_bench_ceiling_{tag}");
    for db in [&template, &scratch] {
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut admin)
            .await?;
    }
    let result = async {
        let t = Instant::now();
        let fixture = workload::seed(&with_db(url, &template)?, plan.agents, plan.skills).await?;
        eprintln!("seeded the PostgreSQL template in {:.1} s", t.elapsed().as_secs_f64());
        let f = Arc::new(fixture);
        let admin_url = url.to_string();
        let figures = server_runs(plan, bin, dir, &f, |run| {
            let (template, db, admin_url) = (template.clone(), runs[run].clone(), admin_url.clone());
            async move {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                // The seeding store's pool may still hold connections to the template.
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
                    .bind(&template)
                    .execute(&mut admin)
                    .await?;
                sqlx::query(&format!("CREATE DATABASE {db} TEMPLATE {template}"))
                    .execute(&mut admin)
                    .await?;
                with_db(&admin_url, &db)
            }
        }, |_| {
            let scratch = with_db(url, &scratch);
            async move { ceiling::postgres(&scratch?, plan.agents, plan.skills).await }
        })
        .await?;
        anyhow::Ok(figures)
    }
    .await;
    for db in runs.iter().chain([&template, &scratch]) {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
    }
    result
}
