//! The rules of one skill assignment and of the lists of them: `PUT` and `PATCH …/skills`,
//! and the single-skill `PUT …/skills/{skillId}`.

use super::super::{
    single_assignment, skill_set_merge_body, skill_set_replace_body, SkillRules, SkillSetBody,
};
use super::{body, check, w, with_rules, Row, A, NONE, SCALE};
use skillgrid_api::{ErrorEntry, WarningPolicy};

/// A skill set's body as `PUT` or `PATCH` reads it.
type SetBody = fn(&[u8], &SkillRules) -> Result<SkillSetBody, Vec<ErrorEntry>>;

fn run(rows: &[Row], validate: SetBody) {
    for (row, want) in rows {
        let text = body(row);
        let got = with_rules(WarningPolicy::Warn, |r| validate(text.as_bytes(), r));
        check(&text, got, want);
    }
}

fn put(rows: &[Row]) {
    run(rows, skill_set_replace_body);
}

fn patch(rows: &[Row]) {
    run(rows, skill_set_merge_body);
}

#[test]
fn proficiency_within_the_scale_and_at_its_ends() {
    put(&[
        (r#"[{"skillId": "$A", "proficiency": 0}]"#, &[]),
        (r#"[{"skillId": "$A", "proficiency": 100}]"#, &[]),
        (r#"[{"skillId": "$A", "proficiency": 50}]"#, &[]),
        (r#"[{"skillId": "$A"}]"#, &[]),
        (
            r#"[{"skillId": "$A", "proficiency": -1}]"#,
            &[w(
                "/0/proficiency",
                "out_of_range",
                "proficiency -1 is outside this organization's scale",
                SCALE,
                "-1",
                NONE,
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": 101}]"#,
            &[w(
                "/0/proficiency",
                "out_of_range",
                "proficiency 101 is outside",
                SCALE,
                "101",
                NONE,
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": 99999999999999999999}]"#,
            &[w(
                "/0/proficiency",
                "out_of_range",
                "proficiency 1e+20 is outside",
                SCALE,
                "1e+20",
                NONE,
            )],
        ),
    ]);
}

#[test]
fn level_names_in_any_case_and_unknown_ones_with_a_guess() {
    put(&[
        (r#"[{"skillId": "$A", "proficiency": "Expert"}]"#, &[]),
        (r#"[{"skillId": "$A", "proficiency": "expert"}]"#, &[]),
        (r#"[{"skillId": "$A", "proficiency": " ADVANCED "}]"#, &[]),
        (
            r#"[{"skillId": "$A", "proficiency": "Expret"}]"#,
            &[w(
                "/0/proficiency",
                "unknown_level",
                "`Expret` is not a proficiency level of this organization",
                SCALE,
                r#""Expret""#,
                "did you mean `Expert`?",
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": "Guru"}]"#,
            &[w(
                "/0/proficiency",
                "unknown_level",
                "`Guru` is not a proficiency level",
                SCALE,
                r#""Guru""#,
                NONE,
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": ""}]"#,
            &[w(
                "/0/proficiency",
                "unknown_level",
                "`` is not a proficiency level",
                SCALE,
                r#""""#,
                NONE,
            )],
        ),
    ]);
}

#[test]
fn decimals_and_quoted_numbers_are_not_proficiencies() {
    put(&[
        (
            r#"[{"skillId": "$A", "proficiency": 75.5}]"#,
            &[w(
                "/0/proficiency",
                "invalid_type",
                "proficiency must be an integer, not a decimal number",
                SCALE,
                "75.5",
                "send a whole number such as 75 or 76",
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": 75.0}]"#,
            &[w(
                "/0/proficiency",
                "invalid_type",
                "not a decimal number",
                SCALE,
                "75.0",
                "send 75 without a fractional part",
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": 3.5}]"#,
            &[w(
                "/0/proficiency",
                "invalid_type",
                "not a decimal number",
                SCALE,
                "3.5",
                "3.5 of 5 is 70 on this scale; send 70 (level Intermediate)",
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": "75"}]"#,
            &[w(
                "/0/proficiency",
                "invalid_type",
                "proficiency must be an integer, not a string",
                SCALE,
                r#""75""#,
                r#"drop the quotes: send 75, not "75""#,
            )],
        ),
    ]);
}

#[test]
fn a_proficiency_of_another_json_type() {
    put(&[
        (
            r#"[{"skillId": "$A", "proficiency": null}]"#,
            &[w(
                "/0/proficiency",
                "invalid_type",
                "an integer or a level name, not null",
                SCALE,
                "null",
                "omit proficiency to use the default 50",
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": true}]"#,
            &[w(
                "/0/proficiency",
                "invalid_type",
                "an integer or a level name, not a boolean",
                SCALE,
                "true",
                NONE,
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": [75]}]"#,
            &[w(
                "/0/proficiency",
                "invalid_type",
                "not an array",
                SCALE,
                "[75]",
                NONE,
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": {"value": 75}}]"#,
            &[w(
                "/0/proficiency",
                "invalid_type",
                "not an object",
                SCALE,
                r#"{"value":75}"#,
                NONE,
            )],
        ),
    ]);
}

#[test]
fn skill_references() {
    put(&[
        (
            r#"[{"skillId": 42}]"#,
            &[w(
                "/0/skillId",
                "invalid_type",
                "skillId must be a UUID",
                "a UUID such as",
                "42",
                NONE,
            )],
        ),
        (
            r#"[{"skillId": "not-a-uuid"}]"#,
            &[w(
                "/0/skillId",
                "invalid_format",
                "skillId `not-a-uuid` is not a UUID",
                "a UUID such as",
                r#""not-a-uuid""#,
                NONE,
            )],
        ),
        (
            r#"[{"skillId": "Billing"}]"#,
            &[w(
                "/0/skillId",
                "invalid_format",
                "skillId `Billing` is not a UUID",
                "a UUID such as",
                r#""Billing""#,
                "`Billing` is a skill name; send its id 0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e",
            )],
        ),
        (
            r#"[{"skillId": "$UNKNOWN"}]"#,
            &[w(
                "/0/skillId",
                "unknown_skill",
                "no skill with id 6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e exists in this organization",
                "GET /api/v2/admin/skills",
                r#""6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e""#,
                NONE,
            )],
        ),
        (
            r#"[{"skillId": "$OFF"}]"#,
            &[w(
                "/0/skillId",
                "inactive_skill",
                "skill `Legacy Fax` (0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d10) is inactive",
                NONE,
                r#""0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d10""#,
                r#"PATCH /api/v2/admin/skills/0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d10 {"active": true}"#,
            )],
        ),
        (
            r#"[{"proficiency": 75}]"#,
            &[w(
                "/0",
                "missing_field",
                "a skill assignment needs `skillId`",
                "an object with `skillId`",
                NONE,
                NONE,
            )],
        ),
    ]);
}

#[test]
fn unknown_fields_name_the_field_they_most_likely_mean() {
    const FIELDS: &str = "only `skillId`, `proficiency`, `effectiveDate` and `expirationDate`";
    put(&[
        // `id` is taken to mean `skillId`, so `skillId` is not also reported missing.
        (
            r#"[{"id": "$A", "proficiency": 75}]"#,
            &[w(
                "/0/id",
                "unknown_field",
                "`id` is not a field of a skill assignment",
                FIELDS,
                NONE,
                "did you mean `skillId`?",
            )],
        ),
        (
            r#"[{"skillId": "$A", "level": 75}]"#,
            &[w(
                "/0/level",
                "unknown_field",
                "`level` is not a field",
                FIELDS,
                NONE,
                "did you mean `proficiency`?",
            )],
        ),
        (
            r#"[{"skillId": "$A", "startDate": "2026-01-01T00:00:00Z"}]"#,
            &[w(
                "/0/startDate",
                "unknown_field",
                "`startDate` is not a field",
                FIELDS,
                NONE,
                "did you mean `effectiveDate`?",
            )],
        ),
        (
            r#"[{"skillId": "$A", "colour": "red"}]"#,
            &[w(
                "/0/colour",
                "unknown_field",
                "`colour` is not a field",
                FIELDS,
                NONE,
                NONE,
            )],
        ),
        (
            r#"{"assignments": []}"#,
            &[w(
                "/assignments",
                "unknown_field",
                "`assignments` is not a field of a skill-set replacement",
                "only `skills`",
                NONE,
                "did you mean `skills`?",
            )],
        ),
    ]);
    patch(&[(
        r#"{"delete": ["$A"]}"#,
        &[w(
            "/delete",
            "unknown_field",
            "`delete` is not a field of a skill-set merge",
            "only `skills` and `remove`",
            NONE,
            "did you mean `remove`?",
        )],
    )]);
}

#[test]
fn a_skill_is_listed_once_per_set() {
    put(&[
        (
            r#"[{"skillId": "$A"}, {"skillId": "$A"}]"#,
            &[w(
                "/1/skillId",
                "duplicate_skill",
                "skill 0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e is listed more than once",
                NONE,
                r#""0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e""#,
                "it first appears at /0/skillId; list each skill once",
            )],
        ),
        (
            r#"[{"skillId": "$A", "proficiency": 50}, {"skillId": "$B"}, {"skillId": "$A", "proficiency": 60}]"#,
            &[w(
                "/2/skillId",
                "duplicate_skill",
                "is listed more than once",
                NONE,
                "",
                "it first appears at /0/skillId",
            )],
        ),
    ]);
    patch(&[(
        r#"{"skills": [{"skillId": "$A"}], "remove": ["$A"]}"#,
        &[w(
            "/remove/0",
            "duplicate_skill",
            "is listed more than once",
            NONE,
            "",
            "it first appears at /skills/0/skillId; a skill is either set or removed, once",
        )],
    )]);
}

#[test]
fn empty_and_oversized_lists() {
    put(&[
        ("[]", &[]),
        (r#"{"skills": []}"#, &[]),
        (r#"[{"skillId": "$A"}, {"skillId": "$B"}]"#, &[]),
        (
            r#"[{"skillId": "$A"}, {"skillId": "$B"}, {"skillId": "$A"}, {"skillId": "$B"}]"#,
            &[w(
                "",
                "too_many_items",
                "4 skills were sent; an agent may hold at most 3",
                "at most 3 skill assignments",
                "4",
                NONE,
            )],
        ),
        (
            r#"{"skills": [{"skillId": "$A"}, {"skillId": "$B"}, {"skillId": "$A"}, {"skillId": "$B"}]}"#,
            &[w(
                "/skills",
                "too_many_items",
                "4 skills were sent",
                "",
                "4",
                NONE,
            )],
        ),
    ]);
}

#[test]
fn the_shape_of_a_skill_set() {
    put(&[
        (
            "{}",
            &[w(
                "",
                "missing_field",
                "a skill-set replacement needs `skills`",
                "an object with `skills`",
                NONE,
                NONE,
            )],
        ),
        (
            r#"{"skills": {}}"#,
            &[w(
                "/skills",
                "invalid_type",
                "`skills` must be an array of skill assignments, not an object",
                "an array of skill assignments",
                "{}",
                NONE,
            )],
        ),
        (
            r#""skills""#,
            &[w(
                "",
                "invalid_type",
                "the request body must be an object or an array, not a string",
                r#"{"skills": [{"skillId": "…", "proficiency": 75}]} or a bare array"#,
                r#""skills""#,
                r#"send {"skills""#,
            )],
        ),
        (
            "[1]",
            &[w(
                "/0",
                "invalid_type",
                "a skill assignment must be an object, not a number",
                "an object",
                "1",
                "each assignment is an object such as",
            )],
        ),
    ]);
    patch(&[
        ("{}", &[]),
        (
            r#"{"remove": "$A"}"#,
            &[w(
                "/remove",
                "invalid_type",
                "`remove` must be an array of skill ids, not a string",
                "an array of skill ids",
                "",
                NONE,
            )],
        ),
    ]);
}

#[test]
fn removals_may_name_inactive_skills_but_not_unknown_ones() {
    patch(&[
        (r#"{"remove": ["$OFF"]}"#, &[]),
        (
            r#"{"remove": ["$UNKNOWN"]}"#,
            &[w(
                "/remove/0",
                "unknown_skill",
                "no skill with id 6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e exists",
                "",
                "",
                NONE,
            )],
        ),
    ]);
}

#[test]
fn dates() {
    put(&[
        (r#"[{"skillId": "$A", "effectiveDate": null, "expirationDate": "2026-01-01T00:00:00Z"}]"#, &[]),
        (
            r#"{"skills": [{"skillId": "$A", "effectiveDate": "2026-02-01T00:00:00Z", "expirationDate": "2026-01-01T00:00:00Z"}]}"#,
            &[w("/skills/0/expirationDate", "invalid_date_range", "expirationDate 2026-01-01T00:00:00.000Z is not later than effectiveDate 2026-02-01T00:00:00.000Z", "a time after 2026-02-01T00:00:00.000Z", r#""2026-01-01T00:00:00Z""#, NONE)],
        ),
        (
            r#"[{"skillId": "$A", "effectiveDate": "2026-01-01"}]"#,
            &[w("/0/effectiveDate", "invalid_format", "effectiveDate `2026-01-01` is not an RFC 3339 timestamp", "an RFC 3339 timestamp", r#""2026-01-01""#, "add a time and offset: 2026-01-01T00:00:00Z")],
        ),
    ]);
}

#[test]
fn the_single_skill_body_names_its_skill_by_the_path() {
    const BY_PATH: &str = "the skill is named by the path (…/skills/0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e); drop this field";
    let rows: &[Row] = &[
        (r#"{"proficiency": 75}"#, &[]),
        ("{}", &[]),
        (
            r#"{"skillId": "$A", "proficiency": 75}"#,
            &[w(
                "/skillId",
                "unknown_field",
                "`skillId` is not a field of a single-skill assignment",
                "only `proficiency`, `effectiveDate` and `expirationDate`",
                NONE,
                BY_PATH,
            )],
        ),
        (
            r#"{"id": "x"}"#,
            &[w(
                "/id",
                "unknown_field",
                "`id` is not a field",
                "",
                NONE,
                BY_PATH,
            )],
        ),
        (
            r#"{"proficiency": "Expret"}"#,
            &[w(
                "/proficiency",
                "unknown_level",
                "`Expret` is not a proficiency level",
                SCALE,
                r#""Expret""#,
                "did you mean `Expert`?",
            )],
        ),
        (
            "[]",
            &[w(
                "",
                "invalid_type",
                "the request body must be an object or an array, not an array",
                r#"{"proficiency": 75, "effectiveDate": null, "expirationDate": null}"#,
                "[]",
                "send {",
            )],
        ),
    ];
    for (row, want) in rows {
        let text = body(row);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let got = with_rules(WarningPolicy::Warn, |r| {
            single_assignment(&v, r, A.parse().unwrap())
        });
        check(&text, got, want);
    }
}
