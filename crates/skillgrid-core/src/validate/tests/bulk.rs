//! The rules of `POST /agents/skills/bulk` (request-wide ones, which refuse the whole
//! request, and an item's own, kept with the item) and of `POST /admin/skills/{id}/agents`.

use super::super::{bulk_body, skill_to_agents_body};
use super::{body, check, w, with_rules, Row, Want, A, LIMITS, NONE, SCALE};
use skillgrid_api::WarningPolicy;

/// Rows whose request as a whole is refused.
fn refused(rows: &[Row]) {
    for (row, want) in rows {
        assert!(!want.is_empty(), "a refused row lists its entries");
        let text = body(row);
        let got = with_rules(WarningPolicy::Warn, |r| {
            bulk_body(text.as_bytes(), r, &LIMITS)
        });
        check(&text, got, want);
    }
}

/// Rows whose request is taken, with each item's entries (none for a valid item).
fn items(rows: &[(&str, &[&[Want]])]) {
    for (row, want) in rows {
        let text = body(row);
        let got = with_rules(WarningPolicy::Warn, |r| {
            bulk_body(text.as_bytes(), r, &LIMITS)
        });
        let req = got.unwrap_or_else(|e| panic!("{text}\nwas refused: {e:?}"));
        assert_eq!(req.items.len(), want.len(), "{text}");
        for (item, want) in req.items.into_iter().zip(*want) {
            check(&text, item, want);
        }
    }
}

const ITEM_FIELDS: &str = "only `agentId`, `skills`, `remove` and `ifMatch`";

#[test]
fn the_shape_of_an_item() {
    items(&[
        (
            r#"{"items": [{"agentId": "$B", "skills": [{"skillId": "$A"}]}]}"#,
            &[&[]],
        ),
        (r#"{"items": [{"agentId": "$B"}]}"#, &[&[]]),
        (
            r#"{"items": [{"skills": []}]}"#,
            &[&[w(
                "/items/0",
                "missing_field",
                "a bulk item needs `agentId`",
                "an object with `agentId`",
                NONE,
                NONE,
            )]],
        ),
        (
            r#"{"items": [{"id": "$B"}]}"#,
            &[&[w(
                "/items/0/id",
                "unknown_field",
                "`id` is not a field of a bulk item",
                ITEM_FIELDS,
                NONE,
                "did you mean `agentId`?",
            )]],
        ),
        (
            r#"{"items": [{"agentId": "nope"}]}"#,
            &[&[w(
                "/items/0/agentId",
                "invalid_format",
                "agentId `nope` is not a UUID",
                "a UUID such as",
                r#""nope""#,
                NONE,
            )]],
        ),
        (
            r#"{"items": [7]}"#,
            &[&[w(
                "/items/0",
                "invalid_type",
                "a bulk item must be an object, not a number",
                "an object",
                "7",
                "each item is an object such as",
            )]],
        ),
        (
            r#"{"items": [{"agentId": "$B"}, {"agentId": "$B"}]}"#,
            &[
                &[],
                &[w(
                    "/items/1/agentId",
                    "duplicate_agent",
                    "agent 0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0f appears in more than one item",
                    NONE,
                    "",
                    "it first appears in item 0",
                )],
            ],
        ),
        // An item's own problems stay with it; the others are still taken.
        (
            r#"{"items": [{"agentId": "$B", "skills": [{"skillId": "$A", "proficiency": "Guru"}]}, {"agentId": "$A", "skills": [{"skillId": "$A"}]}]}"#,
            &[
                &[w(
                    "/items/0/skills/0/proficiency",
                    "unknown_level",
                    "`Guru` is not a proficiency level",
                    SCALE,
                    r#""Guru""#,
                    NONE,
                )],
                &[],
            ],
        ),
    ]);
}

#[test]
fn mode() {
    const MODES: &str = r#""merge" or "replace""#;
    items(&[
        (
            r#"{"mode": "merge", "items": [{"agentId": "$B", "remove": ["$A"]}]}"#,
            &[&[]],
        ),
        (
            r#"{"mode": "replace", "items": [{"agentId": "$B", "skills": []}]}"#,
            &[&[]],
        ),
        (
            r#"{"mode": "replace", "items": [{"agentId": "$B"}]}"#,
            &[&[w(
                "/items/0",
                "missing_field",
                "in replace mode each item needs `skills`",
                "an object with `skills`",
                NONE,
                NONE,
            )]],
        ),
        (
            r#"{"mode": "replace", "items": [{"agentId": "$B", "skills": [], "remove": ["$A"]}]}"#,
            &[&[w(
                "/items/0/remove",
                "not_allowed",
                "`remove` is not allowed in replace mode",
                NONE,
                NONE,
                r#"or use mode "merge""#,
            )]],
        ),
    ]);
    refused(&[
        (
            r#"{"mode": "Merge", "items": []}"#,
            &[w(
                "/mode",
                "invalid_format",
                "mode `Merge` is not one of merge, replace",
                MODES,
                r#""Merge""#,
                r#"use "merge" (lower case)"#,
            )],
        ),
        (
            r#"{"mode": "upsert", "items": []}"#,
            &[w(
                "/mode",
                "invalid_format",
                "mode `upsert` is not one of merge, replace",
                MODES,
                r#""upsert""#,
                r#"use "merge" (lower case)"#,
            )],
        ),
        (
            r#"{"mode": "delete", "items": []}"#,
            &[w(
                "/mode",
                "invalid_format",
                "mode `delete` is not one of merge, replace",
                MODES,
                r#""delete""#,
                NONE,
            )],
        ),
        (
            r#"{"mode": 1, "items": []}"#,
            &[w(
                "/mode",
                "invalid_type",
                r#"mode must be "merge" or "replace", not a number"#,
                MODES,
                "1",
                NONE,
            )],
        ),
    ]);
}

#[test]
fn the_shape_and_limits_of_the_request() {
    refused(&[
        (
            r#"{"items": {}}"#,
            &[w(
                "/items",
                "invalid_type",
                "`items` must be an array of bulk items, not an object",
                "an array of bulk items",
                "{}",
                NONE,
            )],
        ),
        (
            r#"{"atomic": "yes", "items": []}"#,
            &[w(
                "/atomic",
                "invalid_type",
                "atomic must be true or false, not a string",
                "true or false",
                r#""yes""#,
                NONE,
            )],
        ),
        (
            r#"{"agents": []}"#,
            &[w(
                "/agents",
                "unknown_field",
                "`agents` is not a field of a bulk request",
                "only `mode`, `atomic` and `items`",
                NONE,
                "did you mean `items`?",
            )],
        ),
        (
            "[]",
            &[w(
                "",
                "invalid_type",
                "the request body must be an object, not an array",
                r#"{"mode": "merge", "atomic": true, "items": ["#,
                "[]",
                "wrap the items: {",
            )],
        ),
        (
            r#"{"items": [{"agentId": "$A"}, {"agentId": "$B"}, {"agentId": "$OFF"}, {"agentId": "$UNKNOWN"}]}"#,
            &[w(
                "/items",
                "too_many_items",
                "4 items were sent; at most 3 are allowed per request",
                "at most 3 items (limits.maxItemsPerBulk); split the request",
                "4",
                NONE,
            )],
        ),
        (
            r#"{"items": [{"agentId": "$A", "skills": [{"skillId": "$A"}, {"skillId": "$B"}, {"skillId": "$OFF"}]}, {"agentId": "$B", "skills": [{"skillId": "$A"}, {"skillId": "$B"}, {"skillId": "$OFF"}]}]}"#,
            &[w(
                "/items",
                "too_many_items",
                "6 assignments were sent; at most 5 are allowed per request",
                "(limits.maxAssignmentsPerRequest)",
                "6",
                NONE,
            )],
        ),
    ]);
}

#[test]
fn an_items_precondition() {
    const ETAG: &str = r#"a quoted version such as "7" (the ETag of GET …/skills), or *"#;
    items(&[
        (
            r#"{"items": [{"agentId": "$B", "ifMatch": "\"3\""}]}"#,
            &[&[]],
        ),
        (r#"{"items": [{"agentId": "$B", "ifMatch": "*"}]}"#, &[&[]]),
        (
            r#"{"items": [{"agentId": "$B", "ifMatch": 3}]}"#,
            &[&[w(
                "/items/0/ifMatch",
                "invalid_type",
                "ifMatch must be an ETag string",
                "an ETag string",
                "3",
                r#"send the ETag as a string: "\"3\"""#,
            )]],
        ),
        (
            r#"{"items": [{"agentId": "$B", "ifMatch": "3"}]}"#,
            &[&[w(
                "/items/0/ifMatch",
                "invalid_format",
                "ifMatch `3` is not an ETag of this API",
                ETAG,
                r#""3""#,
                r#"quote it: If-Match: "3""#,
            )]],
        ),
        (
            r#"{"items": [{"agentId": "$B", "ifMatch": "abc"}]}"#,
            &[&[w(
                "/items/0/ifMatch",
                "invalid_format",
                "ifMatch `abc` is not an ETag of this API",
                ETAG,
                r#""abc""#,
                NONE,
            )]],
        ),
        (
            r#"{"items": [{"agentId": "$B", "etag": "\"3\""}]}"#,
            &[&[w(
                "/items/0/etag",
                "unknown_field",
                "`etag` is not a field of a bulk item",
                ITEM_FIELDS,
                NONE,
                "did you mean `ifMatch`?",
            )]],
        ),
    ]);
}

/// What a skill-to-agents body gets: each entry's problems (none for a valid entry), or the
/// problems that refuse the whole request.
type Agents<'a> = Result<&'a [&'a [Want]], &'a [Want]>;

#[test]
fn one_skill_to_many_agents() {
    const ENTRY_FIELDS: &str =
        "only `agentId`, `proficiency`, `effectiveDate` and `expirationDate`";
    let rows: &[(&str, Agents)] = &[
        (
            r#"{"agents": [{"agentId": "$B", "proficiency": 75}]}"#,
            Ok(&[&[]]),
        ),
        (
            r#"{"agents": [{"agentId": "$B", "proficiency": "advanced", "effectiveDate": null}]}"#,
            Ok(&[&[]]),
        ),
        (
            r#"{"agents": [{"agentId": "$B"}, {"agentId": "$B"}]}"#,
            Ok(&[
                &[],
                &[w(
                    "/agents/1/agentId",
                    "duplicate_agent",
                    "agent 0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0f is listed more than once",
                    NONE,
                    "",
                    "it first appears at /agents/0/agentId",
                )],
            ]),
        ),
        (
            r#"{"agents": [{"userId": "$B"}]}"#,
            Ok(&[&[w(
                "/agents/0/userId",
                "unknown_field",
                "`userId` is not a field of an agent entry",
                ENTRY_FIELDS,
                NONE,
                "did you mean `agentId`?",
            )]]),
        ),
        (
            r#"{"agents": [{"agentId": "$B", "proficiency": 101}]}"#,
            Ok(&[&[w(
                "/agents/0/proficiency",
                "out_of_range",
                "proficiency 101 is outside",
                SCALE,
                "101",
                NONE,
            )]]),
        ),
        (
            r#"{"agents": [{"agentId": "$B", "effectiveDate": "2026-02-01T00:00:00Z", "expirationDate": "2026-01-01T00:00:00Z"}]}"#,
            Ok(&[&[w(
                "/agents/0/expirationDate",
                "invalid_date_range",
                "is not later than effectiveDate 2026-02-01T00:00:00.000Z",
                "a time after 2026-02-01T00:00:00.000Z",
                r#""2026-01-01T00:00:00Z""#,
                NONE,
            )]]),
        ),
        (
            r#"{"agents": [{"agentId": "$B", "expirationDate": "soon"}, 7]}"#,
            Ok(&[
                &[w(
                    "/agents/0/expirationDate",
                    "invalid_format",
                    "expirationDate `soon` is not an RFC 3339 timestamp",
                    "an RFC 3339 timestamp",
                    r#""soon""#,
                    "",
                )],
                &[w(
                    "/agents/1",
                    "invalid_type",
                    "an agent entry must be an object, not a number",
                    "an object",
                    "7",
                    NONE,
                )],
            ]),
        ),
        (
            r#"{"agents": [1, 2, 3, 4]}"#,
            Err(&[w(
                "/agents",
                "too_many_items",
                "4 agents were sent; at most 3 are allowed per request",
                NONE,
                "4",
                NONE,
            )]),
        ),
        (
            "[]",
            Err(&[w(
                "",
                "invalid_type",
                "the request body must be an object, not an array",
                "an object",
                "[]",
                r#"send {"agents": [{"agentId""#,
            )]),
        ),
    ];
    for (row, want) in rows {
        let text = body(row);
        let got = with_rules(WarningPolicy::Warn, |r| {
            skill_to_agents_body(text.as_bytes(), A.parse().unwrap(), r, &LIMITS)
        });
        match want {
            Ok(entries) => {
                let got = got.unwrap_or_else(|e| panic!("{text}\nwas refused: {e:?}"));
                assert_eq!(got.len(), entries.len(), "{text}");
                for ((item, _), want) in got.into_iter().zip(*entries) {
                    check(&text, item, want);
                }
            }
            Err(want) => check(&text, got, want),
        }
    }
}
