//! The harness end to end at toy size: it starts the (debug) server built beside it, runs every
//! phase but the Datasette peer, and ends with one JSON line holding every figure the issue
//! names. The figures themselves are not checked: a test must not assert on timing.

use std::path::PathBuf;
use std::process::Command;

fn server_binary() -> PathBuf {
    // target/<profile>/skillgrid, beside the bench binary cargo built for this test.
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_skillgrid-bench"));
    let server = bench.with_file_name("skillgrid");
    assert!(
        server.exists(),
        "{} is missing: `cargo test --workspace` builds it (or `cargo build -p skillgrid`)",
        server.display()
    );
    server
}

#[test]
fn a_tiny_run_ends_with_every_figure_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_skillgrid-bench"))
        .args(["--json", "--no-datasette", "--runs", "1", "--agents", "50"])
        .args([
            "--loop-sample",
            "20",
            "--connections",
            "4",
            "--seconds",
            "0.2",
        ])
        .arg("--server")
        .arg(server_binary())
        .env_remove("SKILLGRID_BENCH_POSTGRES_URL")
        .output()
        .expect("the bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("some output");
    let v: serde_json::Value = serde_json::from_str(last).expect("the last line is JSON");
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
}
