//! Property tests of the validator over arbitrary JSON: every public entry point of
//! `skillgrid_core::validate` never panics, and every error it reports has exactly one locator
//! whose body pointer (when it is one) resolves in the document that was validated.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Number, Value};
use skillgrid_api::{ErrorEntry, OrgSettings, WarningPolicy};
use skillgrid_core::model::{CatalogSkill, SkillId};
use skillgrid_core::validate::{self, BulkLimits, SkillRules};
use std::collections::HashMap;

const ACTIVE: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e";
const ACTIVE2: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0f";
const INACTIVE: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d10";
const UNKNOWN: &str = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e";

/// Keys the validators know (and some they know as aliases), so that generated documents
/// reach deep into every rule; plus odd ones with `/` and `~` to exercise pointer escaping.
const KEYS: &[&str] = &[
    "skills",
    "remove",
    "skillId",
    "proficiency",
    "effectiveDate",
    "expirationDate",
    "id",
    "level",
    "startDate",
    "endDate",
    "assignments",
    "items",
    "agents",
    "agentId",
    "mode",
    "atomic",
    "ifMatch",
    "name",
    "description",
    "active",
    "email",
    "externalId",
    "proficiencyScale",
    "min",
    "max",
    "default",
    "levels",
    "limits",
    "maxSkillsPerAgent",
    "maxItemsPerBulk",
    "maxAssignmentsPerRequest",
    "maxBodyBytes",
    "requireIfMatch",
    "rateLimit",
    "requestsPerMinute",
    "burst",
    "Expert",
    "novice",
    "",
    "a/b",
    "~0",
    "~1",
    "~",
    "/",
    "x~/y",
];

/// Strings that mean something to some rule: ids, level names, dates, numbers in quotes.
const STRINGS: &[&str] = &[
    ACTIVE,
    ACTIVE2,
    INACTIVE,
    UNKNOWN,
    "0192F0C1-7A3E-7B4C-9D2E-5F6A7B8C9D0E",
    "Billing",
    "billing",
    "Advanced",
    "advnced",
    "EXPERT",
    "inter",
    "2026-01-01",
    "2026-01-01T00:00:00Z",
    "2025-01-01T00:00:00Z",
    "2026-01-01 10:00:00",
    "2026-01-01T10:00:00",
    "9999-12-31T23:59:59.999Z",
    "0000-01-01T00:00:00Z",
    "75",
    " 75 ",
    "75.5",
    "-1",
    "1e400",
    ".5",
    "+5",
    "true",
    "FALSE",
    "merge",
    "replace",
    "\"7\"",
    "*",
    "ana@example.com",
    "a@b",
    "",
    "   ",
    "\u{0}",
    "é",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(String::from),
        1 => "[a-zA-Z/~_ 0-9]{0,8}",
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => (-5i64..200).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => prop_oneof![Just(1e20), Just(-1e20), Just(75.0), Just(75.5), Just(9.3e18)]
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
        3 => proptest::sample::select(STRINGS).prop_map(|s| Value::String(s.into())),
        1 => "[a-z/~ ]{0,10}".prop_map(Value::String),
        1 => any::<String>().prop_map(Value::String),
        1 => "x{195,210}".prop_map(Value::String),
    ]
}

fn json() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(5, 96, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::vec((key(), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

/// Bodies shaped almost like real ones: objects of known keys holding arbitrary values,
/// arrays of such objects, wrapped under the keys the routes take.
fn plausible() -> impl Strategy<Value = Value> {
    let field = (
        proptest::sample::select(KEYS).prop_map(String::from),
        json(),
    );
    let object = proptest::collection::vec(field, 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
        .boxed();
    let list = proptest::collection::vec(prop_oneof![4 => object.clone(), 1 => json()], 0..6)
        .prop_map(Value::Array);
    prop_oneof![
        list.clone(),
        object.clone(),
        (
            proptest::sample::select(&["skills", "items", "agents", "remove"][..]),
            list.clone(),
            proptest::option::of(list),
            proptest::option::of(object)
        )
            .prop_map(|(k, l, remove, extra)| {
                let mut m = Map::new();
                m.insert(k.to_string(), l);
                if let Some(r) = remove {
                    m.insert("remove".into(), r);
                }
                if let Some(Value::Object(e)) = extra {
                    m.extend(e);
                }
                Value::Object(m)
            }),
    ]
}

fn catalog() -> HashMap<SkillId, CatalogSkill> {
    [
        (ACTIVE, "Billing", true),
        (ACTIVE2, "Sales", true),
        (INACTIVE, "Legacy Fax", false),
    ]
    .into_iter()
    .map(|(id, name, active)| {
        let id: SkillId = id.parse().unwrap();
        (
            id,
            CatalogSkill {
                id,
                name: name.into(),
                active,
            },
        )
    })
    .collect()
}

/// Checks every entry of one validator's answer against `doc`.
fn check(entry_point: &str, doc: &Value, errors: &[ErrorEntry]) -> Result<(), TestCaseError> {
    for e in errors {
        let locators = [&e.pointer, &e.header, &e.query, &e.path]
            .iter()
            .filter(|l| l.is_some())
            .count();
        prop_assert_eq!(
            locators,
            1,
            "{}: entry {:?} has {} locators",
            entry_point,
            e,
            locators
        );
        prop_assert!(
            !e.detail.is_empty(),
            "{}: entry without detail: {:?}",
            entry_point,
            e
        );
        if let Some(p) = &e.pointer {
            prop_assert!(
                p.is_empty() || p.starts_with('/'),
                "{}: pointer {:?} is not RFC 6901",
                entry_point,
                p
            );
            prop_assert!(
                doc.pointer(p).is_some(),
                "{}: pointer {:?} does not resolve in {}\n{:?}",
                entry_point,
                p,
                doc,
                e
            );
        }
    }
    Ok(())
}

/// Runs `doc` through every public validator entry point.
fn every_entry_point(doc: &Value) -> Result<(), TestCaseError> {
    let settings = OrgSettings::default();
    let catalog = catalog();
    let rules = SkillRules {
        scale: &settings.proficiency_scale,
        catalog: &catalog,
        max_skills_per_agent: 5,
        warnings: WarningPolicy::Warn,
    };
    let limits = BulkLimits {
        max_items: 4,
        max_assignments: 12,
    };
    let errs = |r: Result<(), Vec<ErrorEntry>>| r.err().unwrap_or_default();

    check(
        "skill_set_replace",
        doc,
        &errs(validate::skill_set_replace(doc, &rules).map(drop)),
    )?;
    check(
        "skill_set_merge",
        doc,
        &errs(validate::skill_set_merge(doc, &rules).map(drop)),
    )?;
    for id in [ACTIVE, INACTIVE, UNKNOWN] {
        let id: SkillId = id.parse().unwrap();
        let found = errs(validate::single_assignment(doc, &rules, id).map(drop));
        check("single_assignment", doc, &found)?;
        for e in &found {
            // The only non-pointer locator a single-skill body can produce is the path's id.
            if e.pointer.is_none() {
                prop_assert_eq!(e.path.as_deref(), Some("skillId"), "{:?}", e);
            }
        }
    }
    check(
        "settings_patch",
        doc,
        &errs(validate::settings_patch(doc, &settings).map(drop)),
    )?;
    check(
        "skill_create",
        doc,
        &errs(validate::skill_create(doc).map(drop)),
    )?;
    check(
        "skill_patch",
        doc,
        &errs(validate::skill_patch(doc).map(drop)),
    )?;
    check(
        "agent_create",
        doc,
        &errs(validate::agent_create(doc).map(drop)),
    )?;
    check(
        "agent_patch",
        doc,
        &errs(validate::agent_patch(doc).map(drop)),
    )?;

    // The bulk bodies share the ASSIGNMENT rules; their item errors must resolve too.
    match validate::bulk_request(doc, &rules, &limits) {
        Ok(req) => {
            for item in &req.items {
                if let Err(found) = item {
                    check("bulk_request item", doc, found)?;
                }
            }
        }
        Err(found) => check("bulk_request", doc, &found)?,
    }
    let skill: SkillId = ACTIVE.parse().unwrap();
    check(
        "skill_to_agents",
        doc,
        &errs(validate::skill_to_agents(doc, skill, &rules, &limits).map(drop)),
    )?;
    Ok(())
}

proptest! {
    #![proptest_config(Config {
        cases: 512,
        // Shrunk failures are printed; no regression files next to the sources.
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn arbitrary_json_never_panics_and_pointers_resolve(doc in json()) {
        every_entry_point(&doc)?;
    }

    #[test]
    fn plausible_bodies_never_panic_and_pointers_resolve(doc in plausible()) {
        every_entry_point(&doc)?;
    }

    /// The same on the document a server would see: the body serialised and parsed again (keys
    /// with `/` and `~` must be escaped so that a client resolving the pointer on the JSON it
    /// sent finds the value).
    #[test]
    fn pointers_resolve_after_a_round_trip(doc in plausible()) {
        let wire: Value = serde_json::from_str(&doc.to_string()).unwrap();
        every_entry_point(&wire)?;
    }
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    /// Any whole number, however large, is within the scale or `out_of_range`; beyond i64 it is
    /// never taken for a decimal to be rounded, even when written with an exponent (`1e20`).
    /// Within i64, the exponent form is a decimal (`75e0` reads as 75.0): `invalid_type`.
    #[test]
    fn whole_numbers_are_in_or_out_of_range(
        n in prop_oneof![-300i128..300, any::<i64>().prop_map(i128::from), any::<i128>()],
        exp in any::<bool>(),
    ) {
        let lit = if exp { format!("{n}e0") } else { n.to_string() };
        let doc: Value = serde_json::from_str(&format!(
            r#"[{{"skillId": "{ACTIVE}", "proficiency": {lit}}}]"#
        ))
        .unwrap();
        let settings = OrgSettings::default();
        let catalog = catalog();
        let rules = SkillRules {
            scale: &settings.proficiency_scale,
            catalog: &catalog,
            max_skills_per_agent: 5,
            warnings: WarningPolicy::Warn,
        };
        let as_float = doc[0]["proficiency"].is_f64();
        let beyond_i64 = match doc[0]["proficiency"].as_f64() {
            Some(f) if as_float => f >= i64::MAX as f64 || f <= i64::MIN as f64,
            _ => i64::try_from(n).is_err(),
        };
        match validate::skill_set_replace(&doc, &rules) {
            Ok(set) => {
                prop_assert!(!exp && (0..=100).contains(&n), "{} accepted", lit);
                prop_assert_eq!(i128::from(set[0].proficiency), n);
            }
            Err(errors) => {
                prop_assert_eq!(errors.len(), 1, "{:?}", errors);
                let e = &errors[0];
                prop_assert_eq!(e.pointer.as_deref(), Some("/0/proficiency"));
                let want = if as_float && !beyond_i64 { "invalid_type" } else { "out_of_range" };
                prop_assert_eq!(e.code.as_str(), want, "{}: {:?}", lit, e);
                prop_assert!(exp || !(0..=100).contains(&n), "{} refused: {:?}", lit, e);
            }
        }
    }
}

/// Hand-picked documents that once were, or easily could be, trouble.
#[test]
fn known_edge_cases() {
    let docs = [
        r#"{"skills": [{"a/b~c": 1}]}"#,
        r#"{"~1": {"/": []}}"#,
        r#"[{"skillId": "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e", "proficiency": 1e400}]"#,
        r#"[{"proficiency": 99999999999999999999999999}]"#,
        r#"[{"proficiency": -99999999999999999999999999, "effectiveDate": "2026-01-01"}]"#,
        r#"{"proficiencyScale": {"levels": {"expert": 90, "a/b": 20}}}"#,
        r#"{"proficiencyScale": {"min": 1000001, "levels": {"": null}}}"#,
        r#"{"proficiencyScale": {"levels": {"Guru": 75, "GURU": 80}}}"#,
        r#"{"items": [{"agentId": "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e", "skills": [{}]}]}"#,
        r#"{"agents": [{"agentId": null, "proficiency": "9.3e18"}]}"#,
    ];
    for d in docs {
        // Some of these are not representable (1e400): serde_json rejects them; skip those.
        let Ok(doc) = serde_json::from_str::<Value>(d) else {
            continue;
        };
        every_entry_point(&doc).unwrap_or_else(|e| panic!("{d}: {e}"));
    }
}
