//! Differential property tests of the typed fast path (`validate::fast`) against the
//! all-errors walk over a `serde_json::Value`.
//!
//! Bodies are generated as JSON *text*, so that what a `Value` cannot hold is generated too:
//! duplicate keys (also spelt with escapes), escapes in keys and strings, `85.0`, `1e2`, `-0`,
//! numbers beyond i64, odd whitespace, a leading byte-order mark (or two), truncated
//! documents. For every body:
//! * when the fast path accepts it, the walk accepts it too, every item valid, with exactly the
//!   same typed result;
//! * for a bulk body, reading the items one by one (fast path where it can, walk where it
//!   cannot) answers exactly what the walk answers, whenever it answers at all;
//! * the public `*_body` functions answer exactly what the walk answers (or the one
//!   `invalid_json` entry when the text is not JSON), whichever path ran.
//!
//! Bodies built only from valid (if unusual) spellings must take the fast path, so that the
//! comparison above is not vacuous.

use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::Config;
use serde_json::Value;
use skillgrid_api::{ErrorEntry, Levels, OrgSettings, WarningPolicy};
use skillgrid_core::model::{CatalogSkill, SkillId};
use skillgrid_core::validate::{self, fast, BulkLimits, SkillRules, SkillSetBody};
use std::collections::HashMap;

const A1: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e";
const A2: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0f";
const A3: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d11";
const INACTIVE: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d10";
const UNKNOWN: &str = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e";
const AGENTS: [&str; 5] = [
    "0193aaaa-0000-7000-8000-000000000001",
    "0193aaaa-0000-7000-8000-000000000002",
    "0193AAAA-0000-7000-8000-000000000003",
    "0193aaaa-0000-7000-8000-000000000004",
    "0193aaaa-0000-7000-8000-000000000005",
];

const MAX_SKILLS: u64 = 3;
const LIMITS: BulkLimits = BulkLimits {
    max_items: 4,
    max_assignments: 12,
};

type S = BoxedStrategy<String>;
type Fields = Vec<(String, String)>;

fn catalog() -> HashMap<SkillId, CatalogSkill> {
    [
        (A1, "Billing", true),
        (A2, "Sales", true),
        (A3, "Expert", true),
        (INACTIVE, "Legacy Fax", false),
    ]
    .into_iter()
    .map(|(id, name, active)| {
        let id: SkillId = id.parse().unwrap();
        let skill = CatalogSkill {
            id,
            name: name.into(),
            active,
        };
        (id, skill)
    })
    .collect()
}

/// The default scale, or one with level names that are numbers and that differ only in case
/// in an organization that rejects writes that look like mistakes.
fn settings(odd: bool) -> OrgSettings {
    let mut s = OrgSettings::default();
    if odd {
        s.warnings = WarningPolicy::Reject;
        s.proficiency_scale.levels = Levels::new(vec![
            ("Novice".into(), 25),
            ("Guru".into(), 90),
            ("GURU".into(), 95),
            ("75".into(), 60),
            ("1e2".into(), 70),
        ]);
        s.proficiency_scale.default = 40;
    }
    s
}

fn rules<'a>(
    settings: &'a OrgSettings,
    catalog: &'a HashMap<SkillId, CatalogSkill>,
) -> SkillRules<'a> {
    SkillRules {
        scale: &settings.proficiency_scale,
        catalog,
        max_skills_per_agent: MAX_SKILLS,
        warnings: settings.warnings,
    }
}

/// A JSON string literal of `s` with its first character `\u`-escaped.
fn escaped(s: &str) -> String {
    let mut c = s.chars();
    let first = c.next().unwrap();
    format!("\"\\u{:04x}{}\"", first as u32, c.as_str())
}

fn q(s: &str) -> String {
    format!("\"{s}\"")
}

/// One of `valid`; with `bad` > 0, one of `invalid` once in `bad` + 1 times.
fn pick(valid: Vec<String>, invalid: Vec<String>, bad: u32) -> S {
    if bad > 0 && !invalid.is_empty() {
        prop_oneof![bad => select(valid), 1 => select(invalid)].boxed()
    } else {
        select(valid).boxed()
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The ways one id may be written: as is, upper case, with an escape.
fn spellings(id: &str) -> Vec<String> {
    vec![q(id), q(&id.to_uppercase()), escaped(id)]
}

fn id_value(id: &'static str, bad: u32) -> S {
    pick(
        spellings(id),
        strs(&[
            "\"Billing\"",
            "\"0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0\"",
            "\"{0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e}\"",
            "\"0192f0c17a3e7b4c9d2e5f6a7b8c9d0e\"",
            "5",
            "null",
            "[]",
        ]),
        bad,
    )
}

fn proficiency(bad: u32) -> S {
    pick(
        strs(&[
            "0",
            "100",
            "50",
            "85",
            "\"Expert\"",
            "\"expert\"",
            "\" advanced \"",
            "\"NOVICE\"",
            "\"Int\\u0065rmediate\"",
        ]),
        strs(&[
            "85.0",
            "1e2",
            "75e0",
            "-0",
            "\"75\"",
            "\"1e2\"",
            "101",
            "-1",
            "null",
            "true",
            "\"advnced\"",
            "\"guru\"",
            "\"GURU\"",
            "\"\"",
            "99999999999999999999",
            "-9223372036854775809",
            "18446744073709551615",
            "{}",
        ]),
        // The value with the most rules: wrong more often than the others.
        bad.div_ceil(3),
    )
}

fn effective(bad: u32) -> S {
    pick(
        strs(&[
            "null",
            "\"2025-01-01T00:00:00Z\"",
            "\"2025-06-01T00:00:00+02:00\"",
            "\"2025-06-01t10:00:00.5z\"",
        ]),
        strs(&[
            "\"2027-01-01T00:00:00Z\"",
            "\"2026-01-01\"",
            "\"2026-01-01 10:00:00\"",
            "\"0000-01-01T00:00:00Z\"",
            "5",
            "\"\"",
        ]),
        bad,
    )
}

fn expiration(bad: u32) -> S {
    pick(
        strs(&[
            "null",
            "\"2026-01-01T00:00:00Z\"",
            "\"9999-12-31T23:59:59.999Z\"",
            "\"2026-01-01T00:00:00.123456-05:00\"",
            "\"2026\\u002d01-01T00:00:00Z\"",
        ]),
        strs(&[
            "\"2025-01-01T00:00:00Z\"",
            "\"2024-12-31T23:00:00-01:00\"",
            "\"2026-01-01T10:00:00\"",
            "false",
        ]),
        bad,
    )
}

/// The key of a field: its name, the name with an escape, or (with `bad`) a near miss.
fn key(name: &str, near: &[&str], bad: u32) -> S {
    let invalid = near.iter().map(|n| q(n)).collect();
    pick(vec![q(name), q(name), escaped(name)], invalid, bad)
}

/// In `extras`: a copy of another field of the object, key and value.
const REPEAT: &str = "(repeat)";

/// Keys that are not fields, or that repeat a field (`duplicate_key` to the walk), with another
/// value or the same one.
fn extras(pool: &'static [(&'static str, &'static str)], bad: u32) -> BoxedStrategy<Fields> {
    if bad == 0 {
        return Just(Vec::new()).boxed();
    }
    let one = prop_oneof![
        3 => select(pool).prop_map(|(k, v)| (k.to_string(), v.to_string())),
        1 => Just((REPEAT.to_string(), String::new())),
    ];
    prop_oneof![
        bad => Just(Vec::new()),
        1 => proptest::collection::vec(one, 1..3),
    ]
    .boxed()
}

/// `{fields}` in a shuffled order, written with one whitespace style.
fn object(parts: Vec<BoxedStrategy<Option<(String, String)>>>, extra: BoxedStrategy<Fields>) -> S {
    (parts, extra, select(vec!["", " ", "\n  "]))
        .prop_flat_map(|(fields, extra, ws)| {
            let mut all: Fields = fields.into_iter().flatten().collect();
            let copies: Fields = extra
                .into_iter()
                .filter_map(|(k, v)| {
                    if k == REPEAT {
                        all.first().cloned()
                    } else {
                        Some((k, v))
                    }
                })
                .collect();
            all.extend(copies);
            (Just(all).prop_shuffle(), Just(ws))
        })
        .prop_map(|(fields, ws)| {
            let inner: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{ws}{k}:{ws}{v}"))
                .collect();
            format!("{{{}{ws}}}", inner.join(","))
        })
        .boxed()
}

fn array(items: Vec<String>) -> String {
    format!("[{}]", items.join(", "))
}

fn field(k: S, v: S) -> BoxedStrategy<Option<(String, String)>> {
    (k, v).prop_map(Some).boxed()
}

fn optional(k: S, v: S) -> BoxedStrategy<Option<(String, String)>> {
    proptest::option::of((k, v)).boxed()
}

const ASSIGNMENT_EXTRAS: &[(&str, &str)] = &[
    ("\"colour\"", "1"),
    ("\"level\"", "\"Expert\""),
    ("\"id\"", "\"0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e\""),
    ("\"proficiency\"", "50"),
    ("\"proficiency\"", "\"bad\""),
    ("\"skillId\"", "\"0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0f\""),
    (
        "\"skill\\u0049d\"",
        "\"0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d11\"",
    ),
    ("\"effectiveDate\"", "null"),
    ("\"a/b~c\"", "null"),
];

/// An assignment (`id_key` = `skillId`) or an agent entry (`agentId`) naming `id`.
fn entry(id_key: &'static str, id: S, bad: u32) -> S {
    let id_part = if bad > 0 {
        prop_oneof![bad => field(key(id_key, &["id", "skillid", "skill_id"], bad), id), 1 => Just(None)]
            .boxed()
    } else {
        field(key(id_key, &[], bad), id)
    };
    object(
        vec![
            id_part,
            optional(
                key("proficiency", &["level", "Proficiency"], bad),
                proficiency(bad),
            ),
            optional(key("effectiveDate", &["startDate"], bad), effective(bad)),
            optional(key("expirationDate", &["endDate"], bad), expiration(bad)),
        ],
        extras(ASSIGNMENT_EXTRAS, bad),
    )
}

const SKILLS: [&str; 3] = [A1, A2, A3];
const ALL_SKILLS: [&str; 5] = [A1, A2, A3, INACTIVE, UNKNOWN];

/// Mostly the valid choice; with `bad` > 0, sometimes the free one. Lists are few per body, so
/// they go wrong more often than single values do.
fn list_of<T: Clone + std::fmt::Debug + 'static>(
    valid: BoxedStrategy<Vec<T>>,
    free: BoxedStrategy<Vec<T>>,
    bad: u32,
) -> BoxedStrategy<Vec<T>> {
    if bad == 0 {
        valid
    } else {
        prop_oneof![bad / 3 + 1 => valid, 1 => free].boxed()
    }
}

/// The skill ids of one agent's write: distinct active ones when valid; with `bad`, sometimes
/// repeated, inactive or unknown ones.
fn skill_ids(bad: u32) -> BoxedStrategy<Vec<&'static str>> {
    list_of(
        subsequence(&SKILLS[..], 0..=3).prop_shuffle().boxed(),
        proptest::collection::vec(select(&ALL_SKILLS[..]), 0..5).boxed(),
        bad,
    )
}

fn assignments(bad: u32) -> S {
    skill_ids(bad)
        .prop_flat_map(move |ids| {
            ids.into_iter()
                .map(|id| entry("skillId", id_value(id, bad), bad))
                .collect::<Vec<_>>()
        })
        .prop_map(array)
        .boxed()
}

/// `remove`: the inactive skill (never listed among the assignments) when valid.
fn removals(bad: u32) -> S {
    let ids = list_of(
        subsequence(&[INACTIVE][..], 0..=1).boxed(),
        proptest::collection::vec(select(&ALL_SKILLS[..]), 0..3).boxed(),
        bad,
    );
    ids.prop_flat_map(move |ids| {
        ids.into_iter()
            .map(|id| id_value(id, bad))
            .collect::<Vec<_>>()
    })
    .prop_map(array)
    .boxed()
}

fn if_match(bad: u32) -> S {
    pick(
        strs(&[
            "\"\\\"7\\\"\"",
            "\"*\"",
            "\"W/\\\"3\\\"\"",
            "\" \\\"0\\\" \"",
        ]),
        strs(&["\"7\"", "7", "null", "\"\\\"-1\\\"\"", "\"\""]),
        bad,
    )
}

const ITEM_EXTRAS: &[(&str, &str)] = &[
    ("\"userId\"", "\"0193aaaa-0000-7000-8000-000000000001\""),
    ("\"agentId\"", "\"0193aaaa-0000-7000-8000-000000000005\""),
    ("\"skills\"", "[]"),
    ("\"remove\"", "[]"),
    ("\"etag\"", "\"*\""),
];

fn bulk_item(agent: &'static str, replace: bool, bad: u32) -> S {
    let skills = if replace && bad == 0 {
        field(key("skills", &[], bad), assignments(bad))
    } else {
        optional(key("skills", &["assignments"], bad), assignments(bad))
    };
    let remove = if replace && bad == 0 {
        Just(None).boxed()
    } else {
        optional(key("remove", &["delete"], bad), removals(bad))
    };
    object(
        vec![
            field(
                key("agentId", &["id", "agent_id"], bad),
                id_value(agent, bad),
            ),
            skills,
            remove,
            optional(key("ifMatch", &["if-match"], bad), if_match(bad)),
        ],
        extras(ITEM_EXTRAS, bad),
    )
}

fn agents(bad: u32) -> BoxedStrategy<Vec<&'static str>> {
    list_of(
        subsequence(&AGENTS[..], 0..=3).prop_shuffle().boxed(),
        proptest::collection::vec(select(&AGENTS[..]), 0..6).boxed(),
        bad,
    )
}

const ROOT_EXTRAS: &[(&str, &str)] = &[
    ("\"agents\"", "[]"),
    ("\"dryRun\"", "true"),
    ("\"items\"", "[]"),
    ("\"mode\"", "\"merge\""),
    ("\"atomic\"", "false"),
];

/// A whole body, sometimes after a byte-order mark, and sometimes (with `bad`) no longer JSON
/// or not an object.
fn whole(body: S, bad: u32) -> S {
    let bom = prop_oneof![4 => Just(""), 1 => Just("\u{feff}")];
    if bad == 0 {
        return (bom, body).prop_map(|(m, b)| format!("{m}{b}")).boxed();
    }
    let how = prop_oneof![bad => Just(4), 1 => 0usize..4];
    (bom, body, how, any::<prop::sample::Index>())
        .prop_map(|(m, b, how, at)| match how {
            0 if !b.is_empty() => b[..at.index(b.len())].to_string(),
            1 => format!("{b} x"),
            2 => format!("[{b}]"),
            // One mark is ignored; a second is not JSON.
            3 => format!("\u{feff}\u{feff}{b}"),
            _ => format!("{m}{b}"),
        })
        .boxed()
}

fn bulk(bad: u32) -> S {
    let mode = if bad > 0 {
        prop_oneof![
            bad => select(vec![None, Some("\"merge\""), Some("\"replace\"")]),
            1 => select(vec![Some("\"Merge\""), Some("\"put\""), Some("null"), Some("1")]),
        ]
        .boxed()
    } else {
        select(vec![None, Some("\"merge\""), Some("\"replace\"")]).boxed()
    };
    let body = (mode, agents(bad))
        .prop_flat_map(move |(mode, agents)| {
            let replace = mode == Some("\"replace\"");
            let items = agents
                .into_iter()
                .map(|a| bulk_item(a, replace, bad))
                .collect::<Vec<_>>()
                .prop_map(array)
                .boxed();
            let mode = mode.map(|m| (key("mode", &["strategy"], bad), Just(m.to_string())));
            object(
                vec![
                    match mode {
                        Some((k, v)) => field(k, v.boxed()),
                        None => Just(None).boxed(),
                    },
                    optional(
                        key("atomic", &["allOrNothing"], bad),
                        pick(
                            strs(&["true", "false"]),
                            strs(&["\"true\"", "null", "1"]),
                            bad,
                        ),
                    ),
                    field(key("items", &["agents", "data"], bad), items),
                ],
                extras(ROOT_EXTRAS, bad),
            )
        })
        .boxed();
    whole(body, bad)
}

fn skill_to_agents(bad: u32) -> S {
    let body = agents(bad)
        .prop_flat_map(move |agents| {
            agents
                .into_iter()
                .map(|a| entry("agentId", id_value(a, bad), bad))
                .collect::<Vec<_>>()
        })
        .prop_map(array)
        .prop_flat_map(move |list| {
            object(
                vec![field(key("agents", &["items"], bad), Just(list).boxed())],
                extras(ROOT_EXTRAS, bad),
            )
        })
        .boxed();
    whole(body, bad)
}

/// A skill set's body: a bare array, or an object with `skills` (and `remove` for a merge).
fn skill_set(replace: bool, bad: u32) -> S {
    let wrapped = if replace {
        object(
            vec![field(key("skills", &["items"], bad), assignments(bad))],
            extras(ROOT_EXTRAS, bad),
        )
    } else {
        object(
            vec![
                optional(key("skills", &["items"], bad), assignments(bad)),
                optional(key("remove", &["delete"], bad), removals(bad)),
            ],
            extras(ROOT_EXTRAS, bad),
        )
    };
    whole(prop_oneof![assignments(bad), wrapped].boxed(), bad)
}

/// Bodies with a few mistakes at most: valid spellings, and at every choice a mistake at
/// odds of 1 in 301, 101, 31 or 9.
fn near_valid(body: impl Fn(u32) -> S) -> S {
    prop_oneof![body(300), body(100), body(30), body(8)].boxed()
}

/// What the walk answers for `text`: its result, or the one `invalid_json` entry. When the
/// text repeats a key the body is refused, with the problems `problems_in` finds in what the
/// walk accepted.
fn walk<T>(
    text: &str,
    f: impl FnOnce(&Value) -> Result<T, Vec<ErrorEntry>>,
    problems_in: impl FnOnce(T) -> Vec<ErrorEntry>,
) -> Result<T, Vec<ErrorEntry>> {
    match validate::parse_json(text.as_bytes()) {
        Ok(doc) => doc.finish(f(doc.value()), problems_in),
        Err(e) => Err(vec![e]),
    }
}

/// The problems of the items of an accepted bulk body.
fn item_problems(
    items: impl IntoIterator<Item = Result<impl Sized, Vec<ErrorEntry>>>,
) -> Vec<ErrorEntry> {
    items
        .into_iter()
        .filter_map(Result::err)
        .flatten()
        .collect()
}

/// The fast path's answer is the walk's, or none; with `must_be_fast`, it is the walk's.
fn agree<T: PartialEq + std::fmt::Debug>(
    fast: Option<T>,
    walked: &Result<T, Vec<ErrorEntry>>,
    must_be_fast: bool,
) -> Result<(), TestCaseError> {
    match fast {
        Some(f) => prop_assert_eq!(
            Some(&f),
            walked.as_ref().ok(),
            "the fast path and the walk differ; the walk answers {:?}",
            walked
        ),
        None => prop_assert!(
            !must_be_fast,
            "a valid body left the fast path: {:?}",
            walked
        ),
    }
    Ok(())
}

fn check_bulk(text: &str, odd: bool, must_be_fast: bool) -> Result<(), TestCaseError> {
    let (s, c) = (settings(odd), catalog());
    let r = rules(&s, &c);
    let fast = fast::bulk(text.as_bytes(), &r, &LIMITS);
    let walked = walk(
        text,
        |v| validate::bulk_request(v, &r, &LIMITS),
        |req| item_problems(req.items),
    );
    if let Ok(w) = &walked {
        prop_assert!(
            fast.is_none() || w.items.iter().all(Result::is_ok),
            "the fast path accepted a body with bad items: {:?}",
            w
        );
    }
    check_streamed(text, &r, fast.as_ref())?;
    agree(fast, &walked, must_be_fast)?;
    // Item by item, the answer is the walk's whatever the items hold.
    if let Some(by_item) = validate::bulk_by_item(text.as_bytes(), &r, &LIMITS) {
        prop_assert_eq!(Some(&by_item), walked.as_ref().ok(), "item by item");
    }
    prop_assert_eq!(validate::bulk_body(text.as_bytes(), &r, &LIMITS), walked);
    Ok(())
}

/// Streamed in chunks, a bulk body is accepted exactly when the fast path accepts it with the
/// mode and atomicity known before `items`, and its items arrive in order, all of them.
fn check_streamed(
    text: &str,
    r: &SkillRules,
    fast: Option<&validate::BulkRequest>,
) -> Result<(), TestCaseError> {
    let head = fast::bulk_head(text.as_bytes());
    let Some(assumed) = head else {
        prop_assert!(fast.is_none(), "a valid body has no head: {}", text);
        return Ok(());
    };
    for chunk in [1, 2, 1000] {
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        let streamed = fast::bulk_streamed(text.as_bytes(), r, &LIMITS, assumed, chunk, &mut |c| {
            sizes.push(c.len());
            got.extend(c);
            true
        });
        let expected = fast.filter(|f| (f.mode, f.atomic) == assumed);
        prop_assert_eq!(
            streamed.is_some(),
            expected.is_some(),
            "streamed in {}",
            chunk
        );
        if let (Some(s), Some(f)) = (streamed, expected) {
            prop_assert_eq!(
                (s.mode, s.atomic, s.items),
                (f.mode, f.atomic, f.items.len())
            );
            let got: Vec<_> = got.into_iter().map(Ok).collect();
            prop_assert_eq!(&got, &f.items);
            prop_assert!(sizes.iter().all(|&n| n > 0 && n <= chunk));
        }
    }
    // A sink that refuses stops the reading.
    if fast.is_some_and(|f| !f.items.is_empty()) {
        let refused = fast::bulk_streamed(text.as_bytes(), r, &LIMITS, assumed, 1, &mut |_| false);
        prop_assert!(refused.is_none());
    }
    Ok(())
}

fn check_skill_to_agents(text: &str, odd: bool, must_be_fast: bool) -> Result<(), TestCaseError> {
    let (s, c) = (settings(odd), catalog());
    let r = rules(&s, &c);
    let skill: SkillId = A1.parse().unwrap();
    let fast = fast::skill_to_agents(text.as_bytes(), skill, &r, &LIMITS);
    let walked = walk(
        text,
        |v| validate::skill_to_agents(v, skill, &r, &LIMITS),
        |items| item_problems(items.into_iter().map(|(item, _)| item)),
    );
    agree(fast, &walked, must_be_fast)?;
    let body = validate::skill_to_agents_body(text.as_bytes(), skill, &r, &LIMITS);
    prop_assert_eq!(body, walked);
    Ok(())
}

fn check_skill_set(
    text: &str,
    replace: bool,
    odd: bool,
    must_be_fast: bool,
) -> Result<(), TestCaseError> {
    let (s, c) = (settings(odd), catalog());
    let r = rules(&s, &c);
    let fast = fast::skill_set(text.as_bytes(), &r, replace);
    let list_pointer = |v: &Value| {
        if v.get("skills").is_some() {
            "/skills"
        } else {
            ""
        }
    };
    let walked = walk(
        text,
        |v| {
            if replace {
                validate::skill_set_replace(v, &r).map(|upsert| (upsert, Vec::new()))
            } else {
                validate::skill_set_merge(v, &r)
            }
            .map(|(upsert, remove)| SkillSetBody {
                upsert,
                remove,
                list_pointer: list_pointer(v),
            })
        },
        |_| Vec::new(),
    );
    agree(fast, &walked, must_be_fast)?;
    let body = if replace {
        validate::skill_set_replace_body(text.as_bytes(), &r)
    } else {
        validate::skill_set_merge_body(text.as_bytes(), &r)
    };
    prop_assert_eq!(body, walked);
    Ok(())
}

proptest! {
    #![proptest_config(Config {
        cases: 2048,
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn bulk_fast_path_agrees_with_the_walk(text in near_valid(bulk), odd in any::<bool>()) {
        check_bulk(&text, odd, false)?;
    }

    #[test]
    fn valid_bulk_bodies_take_the_fast_path(text in bulk(0)) {
        check_bulk(&text, false, true)?;
    }

    #[test]
    fn skill_to_agents_fast_path_agrees_with_the_walk(text in near_valid(skill_to_agents), odd in any::<bool>()) {
        check_skill_to_agents(&text, odd, false)?;
    }

    #[test]
    fn valid_skill_to_agents_bodies_take_the_fast_path(text in skill_to_agents(0)) {
        check_skill_to_agents(&text, false, true)?;
    }

    #[test]
    fn skill_set_fast_path_agrees_with_the_walk(
        replace in any::<bool>(),
        text in any::<bool>().prop_flat_map(|r| near_valid(move |bad| skill_set(r, bad))),
        odd in any::<bool>(),
    ) {
        check_skill_set(&text, replace, odd, false)?;
    }

    #[test]
    fn valid_skill_sets_take_the_fast_path(
        (replace, text) in any::<bool>().prop_flat_map(|r| (Just(r), skill_set(r, 0))),
    ) {
        check_skill_set(&text, replace, false, true)?;
    }
}

/// Hand-picked bodies whose two readings differ or could: the fast path must step aside.
#[test]
fn known_traps_leave_the_fast_path() {
    let item = |rest: &str| format!(r#"{{"items": [{{"agentId": "{}"{rest}}}]}}"#, AGENTS[0]);
    let traps = [
        // A repeated key: refused, whichever value would pass.
        item(&format!(
            r#", "skills": [{{"skillId": "{A1}", "proficiency": "x", "proficiency": 50}}]"#
        )),
        item(&format!(
            r#", "skills": [], "skills": [{{"skillId": "{A1}"}}]"#
        )),
        // Numbers that are not integers to the walk.
        item(&format!(
            r#", "skills": [{{"skillId": "{A1}", "proficiency": 85.0}}]"#
        )),
        item(&format!(
            r#", "skills": [{{"skillId": "{A1}", "proficiency": 1e2}}]"#
        )),
        item(&format!(
            r#", "skills": [{{"skillId": "{A1}", "proficiency": -0}}]"#
        )),
        // A unit variant written as a map would fool a derived enum.
        r#"{"mode": {"merge": null}, "items": []}"#.to_string(),
        // null where a value is required is not "absent".
        r#"{"atomic": null, "items": []}"#.to_string(),
        item(r#", "ifMatch": null"#),
        item(r#", "skills": null"#),
        // The same instant written with two offsets: not a later expiration.
        item(&format!(
            r#", "skills": [{{"skillId": "{A1}", "effectiveDate": "2026-01-01T00:00:00Z", "expirationDate": "2026-01-01T01:00:00+01:00"}}]"#
        )),
        item(&format!(
            r#", "skills": [{{"skillId": "{A1}", "proficiency": 18446744073709551615}}]"#
        )),
        item(&format!(r#", "skills": [{{"skillId": "{INACTIVE}"}}]"#)),
        item(&format!(r#", "remove": ["{UNKNOWN}"]"#)),
        item(r#", "ifMatch": "7""#),
        // One agent twice, in two spellings.
        format!(
            r#"{{"items": [{{"agentId": "{}"}}, {{"agentId": "{}"}}]}}"#,
            AGENTS[0],
            AGENTS[0].to_uppercase()
        ),
    ];
    let (s, c) = (settings(false), catalog());
    let r = rules(&s, &c);
    for t in &traps {
        assert!(fast::bulk(t.as_bytes(), &r, &LIMITS).is_none(), "{t}");
        check_bulk(t, false, false).unwrap_or_else(|e| panic!("{t}: {e}"));
    }
    // The first trap would be valid with its last value, 50: the repeat is all that is wrong.
    let errors = validate::bulk_body(traps[0].as_bytes(), &r, &LIMITS).unwrap_err();
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.pointer.as_deref(), e.code.as_str()))
        .collect();
    assert_eq!(
        found,
        [(Some("/items/0/skills/0/proficiency"), "duplicate_key")]
    );
}

/// Valid bodies after a byte-order mark take the fast path, with the answer they get without it.
#[test]
fn a_byte_order_mark_changes_nothing() {
    let (s, c) = (settings(false), catalog());
    let r = rules(&s, &c);
    let body = format!(
        r#"{{"mode": "merge", "items": [{{"agentId": "{}", "skills": [{{"skillId": "{A1}", "proficiency": 50}}]}}]}}"#,
        AGENTS[0]
    );
    let marked = format!("\u{feff}{body}");
    let plain = fast::bulk(body.as_bytes(), &r, &LIMITS).expect("valid");
    assert_eq!(fast::bulk(marked.as_bytes(), &r, &LIMITS), Some(plain));
    assert!(fast::bulk_head(marked.as_bytes()).is_some());
    check_bulk(&marked, false, true).unwrap();
}
