//! How fast a 100,000-assignment bulk body (10,000 items × 10 skills) is validated, against
//! plain `serde_json` parsing of the same body into simple typed structs (issue 7: at most 2×).
//!
//! `cargo run --release -p skillgrid-core --example validate_speed [-- RUNS [plain|fast|walk]]`
//! (naming one of the three runs only that one, for a profiler)
//!
//! Prints the median of RUNS (default 9) for each of: the plain typed parse, `bulk_body` (what
//! the server runs), and the all-errors walk alone (`Value` parse + `bulk_request`, the path
//! before the typed fast path and still the one every invalid body takes).

use serde::Deserialize;
use skillgrid_api::OrgSettings;
use skillgrid_core::model::CatalogSkill;
use skillgrid_core::validate::{self, BulkLimits, SkillRules};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainBulk {
    mode: String,
    atomic: bool,
    items: Vec<PlainItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PlainItem {
    agent_id: Uuid,
    skills: Vec<PlainAssignment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PlainAssignment {
    skill_id: Uuid,
    proficiency: i64,
}

/// A deterministic id: `n` spread over the bits, version 4 and variant bits set.
fn id(n: u64, salt: u64) -> Uuid {
    let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    uuid::Builder::from_random_bytes(
        ((u128::from(x) << 64) | u128::from(x.rotate_left(29) ^ n)).to_be_bytes(),
    )
    .into_uuid()
}

fn body(agents: u64, per_agent: u64, skills: &[Uuid]) -> Vec<u8> {
    let mut s = String::from(r#"{"mode": "merge", "atomic": true, "items": ["#);
    for a in 0..agents {
        if a > 0 {
            s.push_str(", ");
        }
        s.push_str(&format!(r#"{{"agentId": "{}", "skills": ["#, id(a, 1)));
        for k in 0..per_agent {
            if k > 0 {
                s.push_str(", ");
            }
            let skill = skills[((a + k) % skills.len() as u64) as usize];
            let p = (a * 7 + k * 13) % 101;
            s.push_str(&format!(r#"{{"skillId": "{skill}", "proficiency": {p}}}"#));
        }
        s.push_str("]}");
    }
    s.push_str("]}");
    s.into_bytes()
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(9);
    let settings = OrgSettings::default();
    let skills: Vec<Uuid> = (0..50).map(|n| id(n, 2)).collect();
    let catalog: HashMap<Uuid, CatalogSkill> = skills
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let c = CatalogSkill {
                id: *s,
                name: format!("Skill {i}"),
                active: true,
            };
            (*s, c)
        })
        .collect();
    let rules = SkillRules::new(&settings, &catalog);
    let limits = BulkLimits {
        max_items: settings.limits.max_items_per_bulk,
        max_assignments: settings.limits.max_assignments_per_request,
    };
    let bytes = body(10_000, 10, &skills);
    let mb = bytes.len() as f64 / 1e6;

    let req = validate::bulk_body(&bytes, &rules, &limits).expect("the body is valid");
    assert_eq!(req.items.len(), 10_000);
    assert!(req.items.iter().all(Result::is_ok));

    if let Some(only) = std::env::args().nth(2) {
        for _ in 0..runs {
            match only.as_str() {
                "plain" => drop(black_box(serde_json::from_slice::<PlainBulk>(&bytes))),
                "fast" => drop(black_box(validate::bulk_body(&bytes, &rules, &limits))),
                _ => drop(black_box(validate::bulk_request(
                    &validate::parse_json(&bytes).unwrap(),
                    &rules,
                    &limits,
                ))),
            }
        }
        return;
    }
    let plain = median(runs, || {
        black_box(serde_json::from_slice::<PlainBulk>(black_box(&bytes)).unwrap());
    });
    let fast = median(runs, || {
        black_box(validate::bulk_body(black_box(&bytes), &rules, &limits).unwrap());
    });
    let walk = median(runs, || {
        let v = validate::parse_json(black_box(&bytes)).unwrap();
        black_box(validate::bulk_request(&v, &rules, &limits).unwrap());
    });
    let rate = |d: Duration| mb / d.as_secs_f64();
    println!(
        "body: {:.2} MB, 100,000 assignments; median of {runs} runs",
        mb
    );
    println!(
        "plain typed serde_json::from_slice: {:7.1} ms {:7.1} MB/s",
        plain.as_secs_f64() * 1e3,
        rate(plain)
    );
    println!(
        "validate::bulk_body:                {:7.1} ms {:7.1} MB/s  ratio {:.2}",
        fast.as_secs_f64() * 1e3,
        rate(fast),
        fast.as_secs_f64() / plain.as_secs_f64()
    );
    println!(
        "Value parse + walk (before):        {:7.1} ms {:7.1} MB/s  ratio {:.2}",
        walk.as_secs_f64() * 1e3,
        rate(walk),
        walk.as_secs_f64() / plain.as_secs_f64()
    );
}
