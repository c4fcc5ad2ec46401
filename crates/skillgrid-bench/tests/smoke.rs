//! The harness end to end at toy size: it starts the (debug) server built beside it, runs every
//! phase but the Datasette peer, and ends with one JSON line holding every figure the bench
//! names. The figures themselves are not checked: a test must not assert on timing.

use std::process::Command;

mod common;
use common::server_binary;

/// Runs the bench with `args` against the server beside it, on SQLite alone unless `postgres`
/// (then on PostgreSQL too when `SKILLGRID_BENCH_POSTGRES_URL` is set); the JSON of its last
/// line, and that line.
fn run(args: &[&str], postgres: bool) -> (serde_json::Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skillgrid-bench"));
    cmd.args(args).arg("--server").arg(server_binary());
    if !postgres {
        cmd.env_remove("SKILLGRID_BENCH_POSTGRES_URL");
    }
    let out = cmd.output().expect("the bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("some output").to_string();
    let v = serde_json::from_str(&last).expect("the last line is JSON");
    (v, last)
}

fn bench(args: &[&str]) -> (serde_json::Value, String) {
    run(args, false)
}

#[test]
fn a_tiny_run_ends_with_every_figure_as_json() {
    let (v, last) = bench(&[
        "--json",
        "--no-datasette",
        "--runs",
        "1",
        "--agents",
        "50",
        "--loop-sample",
        "20",
        "--connections",
        "4",
        "--seconds",
        "0.2",
        "--console-agents",
        "160",
        "--console-samples",
        "3",
    ]);
    for key in [
        "bulk_assignments_per_s",
        "ceiling_assignments_per_s",
        "bulk_over_ceiling",
        "bulk_over_loop",
        "validate_over_parse",
        "bulk_peak_rss_mb",
        "put_rps",
        "put_p99_ms",
        "get_rps",
        "get_p99_ms",
    ] {
        assert!(
            v[key].as_f64().is_some_and(|x| x > 0.0),
            "{key} is not a positive number in {last}"
        );
    }
    // Skipped, and said so rather than left out.
    assert!(v["bulk_over_datasette"].is_null());
    assert_eq!(v["assignments"], 500);

    // The console's grid: every kind of page was fetched, and each cost the same number of
    // SQL statements (as the server's statement log counted them); the full page is full.
    let console = &v["console"]["sqlite"];
    assert_eq!(console["agents"], 160, "{console}");
    let pages = console["pages"].as_object().expect("the console's pages");
    for kind in [
        "first",
        "deep",
        "search",
        "skill",
        "level",
        "skill+level",
        "by e-mail",
        "full",
    ] {
        let p = &pages[kind];
        assert!(p["bytes"].as_u64().is_some_and(|b| b > 0), "{kind}: {p}");
        // Asked for gzip as a browser asks, the page comes compressed.
        assert!(
            p["sent_bytes"].as_u64().is_some_and(|b| b > 0)
                && p["sent_bytes"].as_u64() < p["bytes"].as_u64(),
            "{kind}: {p}"
        );
        assert!(
            p["statements"].as_u64().is_some_and(|n| n > 0),
            "{kind}: {p}"
        );
        assert_eq!(
            p["statements"], pages["first"]["statements"],
            "{kind}: {console}"
        );
    }
    assert_eq!(pages["first"]["rows"], 50);
    // 160 agents make four pages: the walk towards page 100 stops at the last, of 10 rows.
    assert_eq!(console["deep_page"], 4);
    assert_eq!(pages["deep"]["rows"], 10);
    assert_eq!(pages["full"]["rows"], 50);
    assert_eq!(pages["full"]["cells_filled"], 50 * 200);
}

#[test]
fn the_webhook_phase_delivers_every_event_and_reports_its_figures() {
    let (v, _) = run(
        &[
            "--json",
            "--webhooks-only",
            "--agents",
            "40",
            "--seconds",
            "0.5",
        ],
        true,
    );
    let w = &v["webhooks"]["sqlite"];
    assert_eq!(w["backlog_events"], 40, "{w}");
    assert!(w["steady_events"].as_u64().is_some_and(|n| n > 0), "{w}");
    for key in ["events_per_s", "lag_p50_ms", "lag_p99_ms"] {
        assert!(w[key].as_f64().is_some_and(|x| x >= 0.0), "{key} in {w}");
    }
}

#[test]
fn a_tiny_scale_run_gives_every_figure_at_every_size() {
    let (v, last) = bench(&[
        "--scale",
        "--scale-sizes",
        "200,1000",
        "--json",
        "--connections",
        "4",
        "--seconds",
        "0.2",
        "--scale-samples",
        "3",
    ]);
    let sizes = v["scale"]["sqlite"]["sizes"]
        .as_array()
        .expect("a figure per size");
    assert_eq!(sizes.len(), 2, "{last}");
    for (size, want) in sizes.iter().zip([200, 1000]) {
        // The database really holds what the run says it grew to.
        assert_eq!(size["assignments"], want, "{size}");
        assert_eq!(size["agents"], want / 20, "{size}");
        for key in [
            "/bulk_first_us_per_assignment",
            "/bulk_rewrite_us_per_assignment",
            "/put/p99_ms",
            "/get/p99_ms",
            "/holders_first/p99_ms",
            "/holders_deep/p99_ms",
            "/bytes_per_assignment",
            "/startup_s",
            "/peak_rss_mb",
        ] {
            assert!(
                size.pointer(key)
                    .and_then(|x| x.as_f64())
                    .is_some_and(|x| x > 0.0),
                "{key} is not a positive number in {size}"
            );
        }
        // Present as figures, or null when the build has no export route: never left out.
        assert!(size.get("export").is_some(), "{size}");
    }
}

#[test]
fn the_scim_phase_provisions_every_user_and_reports_its_figures() {
    let (v, _) = bench(&["--json", "--scim-only", "--agents", "30"]);
    let s = &v["scim"]["sqlite"];
    assert_eq!(s["users"], 30, "{s}");
    for key in [
        "users_per_s",
        "create_p50_ms",
        "create_p99_ms",
        "lookup_p50_ms",
        "lookup_p99_ms",
    ] {
        assert!(s[key].as_f64().is_some_and(|x| x > 0.0), "{key} in {s}");
    }
}
