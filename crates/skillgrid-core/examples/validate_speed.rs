//! How fast a 100,000-assignment bulk body (10,000 items × 10 skills) is validated, against
//! plain `serde_json` parsing of the same body into simple typed structs (the target: at most 2×).
//!
//! `cargo run --release -p skillgrid-core --example validate_speed [-- RUNS [NAME]]`
//! (part of a contender's NAME, e.g. `plain`, `bulk_body`, `walk`, runs only that one, for a
//! profiler)
//!
//! Prints the median of RUNS (default 9) for each of: the plain typed parse, `bulk_body` (what
//! the server runs) on the valid body and on the same body with one bad item, and the
//! all-errors walk alone (`Value` parse + `bulk_request`: the path before the typed fast path,
//! still the one a body with request-wide problems takes), and the walk's parse alone against
//! `serde_json`'s own `Value` parse (the price of noting repeated keys).

use serde::Deserialize;
use skillgrid_api::OrgSettings;
use skillgrid_core::model::{CatalogSkill, SkillId};
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

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(9);
    let settings = OrgSettings::default();
    let skills: Vec<Uuid> = (0..50).map(|n| id(n, 2)).collect();
    let catalog: HashMap<SkillId, CatalogSkill> = skills
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let id = SkillId::new(*s);
            let c = CatalogSkill {
                id,
                name: format!("Skill {i}"),
                active: true,
            };
            (id, c)
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

    // The same body with one out-of-range proficiency in item 5,000: bad items are walked one
    // by one, the others stay on the fast path.
    let bad = String::from_utf8(bytes.clone())
        .unwrap()
        .replacen("\"proficiency\": ", "\"proficiency\": 1", 50_001)
        .replacen("\"proficiency\": 1", "\"proficiency\": ", 50_000)
        .into_bytes();
    let bad_req = validate::bulk_body(&bad, &rules, &limits).expect("only item 5,000 is bad");
    assert!(req.items[5_000].is_ok() && bad_req.items[5_000].is_err());

    let contenders: [(&str, &dyn Fn()); 6] = [
        ("plain typed serde_json::from_slice", &|| {
            black_box(serde_json::from_slice::<PlainBulk>(black_box(&bytes)).unwrap());
        }),
        ("validate::bulk_body", &|| {
            black_box(validate::bulk_body(black_box(&bytes), &rules, &limits).unwrap());
        }),
        ("bulk_body, one bad item of 10,000", &|| {
            black_box(validate::bulk_body(black_box(&bad), &rules, &limits).unwrap());
        }),
        ("Value parse + walk (before)", &|| {
            let doc = validate::parse_json(black_box(&bytes)).unwrap();
            black_box(validate::bulk_request(doc.value(), &rules, &limits).unwrap());
        }),
        ("serde_json::from_slice::<Value> alone", &|| {
            black_box(serde_json::from_slice::<serde_json::Value>(black_box(&bytes)).unwrap());
        }),
        ("parse_json alone (repeated keys noted)", &|| {
            black_box(validate::parse_json(black_box(&bytes)).unwrap());
        }),
    ];
    if let Some(only) = std::env::args().nth(2) {
        let (_, f) = contenders
            .iter()
            .find(|(name, _)| name.contains(only.as_str()))
            .expect("name part of a contender: plain, bulk_body, one bad, walk");
        (0..runs).for_each(|_| f());
        return;
    }
    // Each contender runs its own streak (a warm-up, then RUNS runs), so that each is measured
    // with the allocator in its own steady state (interleaving them makes whichever runs after
    // a large free pay for it in page faults).
    let mut times: Vec<Vec<Duration>> = contenders
        .iter()
        .map(|(_, f)| {
            f();
            (0..runs)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed()
                })
                .collect()
        })
        .collect();
    let median = |t: &mut Vec<Duration>| {
        t.sort();
        t[t.len() / 2]
    };
    let medians: Vec<Duration> = times.iter_mut().map(median).collect();
    println!("body: {mb:.2} MB, 100,000 assignments; median of {runs} runs");
    for ((name, _), d) in contenders.iter().zip(&medians) {
        println!(
            "{name:<40} {:7.1} ms {:7.1} MB/s  time / plain {:.2}",
            d.as_secs_f64() * 1e3,
            mb / d.as_secs_f64(),
            d.as_secs_f64() / medians[0].as_secs_f64()
        );
    }
}
