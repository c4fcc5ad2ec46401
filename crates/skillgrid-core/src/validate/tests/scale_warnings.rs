//! Writes that are valid but look like a mistake (another product's scale, a number below the
//! lowest level): the warnings a set gets, and under `warnings: reject` the same as errors.

use super::super::{skill_set_replace_body, warnings};
use super::{body, check, w, with_rules, Row, NONE, SCALE};
use skillgrid_api::{ErrorEntry, WarningPolicy};

const REFUSED: &str = "this organization refuses such writes (its `warnings` setting is `reject`)";
const LEVELS: &str = "send a level name such as `Novice`, or a value of this scale (levels Novice 25, Intermediate 50, Advanced 75, Expert 100)";

/// The rows, each with the warnings of its set; a set without any is valid under either
/// policy.
const ROWS: &[Row<'static>] = &[
    (r#"[{"skillId": "$A", "proficiency": 80}]"#, &[]),
    (r#"[{"skillId": "$A", "proficiency": 25}]"#, &[]),
    (r#"[{"skillId": "$A", "proficiency": 30}, {"skillId": "$B", "proficiency": 60}]"#, &[]),
    // A level name in the set says the numbers are of this scale.
    (r#"[{"skillId": "$A", "proficiency": 10}, {"skillId": "$B", "proficiency": "Advanced"}]"#, &[]),
    (
        r#"[{"skillId": "$A", "proficiency": 3}]"#,
        &[w("/0/proficiency", "other_scale", "3 on this organization's 0–100 scale is below Novice (25); every proficiency of this set lies within 0–5", SCALE, "3", "if you meant 3 of 5, send 60 (level Intermediate)")],
    ),
    (
        r#"[{"skillId": "$A", "proficiency": 4}, {"skillId": "$B", "proficiency": 5}]"#,
        &[
            w("/0/proficiency", "other_scale", "4 on this organization's 0–100 scale", SCALE, "4", "if you meant 4 of 5, send 80 (level Advanced)"),
            w("/1/proficiency", "other_scale", "5 on this organization's 0–100 scale", SCALE, "5", "if you meant 5 of 5, send `Expert` or 100"),
        ],
    ),
    (
        r#"{"skills": [{"skillId": "$A", "proficiency": 0}]}"#,
        &[w("/skills/0/proficiency", "other_scale", "0 on this organization's 0–100 scale", SCALE, "0", "if you meant 0 of 5, send 0")],
    ),
    (
        r#"[{"skillId": "$A", "proficiency": 10}, {"skillId": "$B", "proficiency": 60}]"#,
        &[w("/0/proficiency", "below_lowest_level", "10 is below the lowest level of this organization's 0–100 scale, Novice (25): it is stored with no level", NONE, "10", LEVELS)],
    ),
];

#[test]
fn a_set_is_written_with_its_warnings() {
    for (row, want) in ROWS {
        let text = body(row);
        let found: Result<(), Vec<ErrorEntry>> = with_rules(WarningPolicy::Warn, |r| {
            let set = skill_set_replace_body(text.as_bytes(), r).expect("valid");
            let found = warnings::list_warnings(r.scale, set.list_pointer, &set.upsert);
            // The words of a warning do not speak of refusing.
            assert!(found.iter().all(|e| !e.detail.contains(REFUSED)), "{text}");
            if found.is_empty() {
                Ok(())
            } else {
                Err(found)
            }
        });
        check(&text, found, want);
    }
}

#[test]
fn under_reject_a_set_that_would_warn_is_refused_with_the_same_entries() {
    for (row, want) in ROWS {
        let text = body(row);
        let got = with_rules(WarningPolicy::Reject, |r| {
            skill_set_replace_body(text.as_bytes(), r)
        });
        check(&text, got.as_ref().map(drop).map_err(Clone::clone), want);
        if let Err(entries) = got {
            assert!(
                entries.iter().all(|e| e.detail.ends_with(REFUSED)),
                "{text}"
            );
        }
    }
}
