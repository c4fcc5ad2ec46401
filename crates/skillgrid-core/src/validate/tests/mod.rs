//! Table tests of the validator's rules, one row per case: a body, and the entries it must
//! get (where, which code, and the words of its detail, expected, received and hint). They
//! pin what a client is told today; the HTTP tests check the same through the server.
//!
//! Bodies go in through the same functions the server calls (the fast path first, the walk
//! when it does not accept the body), so a row holds whichever path answers.

mod assignments;
mod bulk;
mod preconditions;
mod scale_warnings;

use super::{child, index, BulkLimits, SkillRules};
use crate::model::{CatalogSkill, SkillId};
use skillgrid_api::{ErrorEntry, OrgSettings, WarningPolicy};
use std::collections::HashMap;
use std::fmt::Debug;

/// An active skill, `Billing`.
const A: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e";
/// An active skill, `Sales`.
const B: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0f";
/// An inactive skill, `Legacy Fax`.
const OFF: &str = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d10";
/// An id of no skill.
const UNKNOWN: &str = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e";

/// In a [`Want`], a field that must be absent from the entry.
const NONE: &str = "<none>";

/// What the default scale's errors expect of a proficiency.
const SCALE: &str = "an integer from 0 to 100, or one of Novice, Intermediate, Advanced, Expert";

/// One expected entry: its locator (a body pointer, or `header:Name` or `path:name`), its
/// code, and words of its texts. `detail`, `expected` and `hint` must contain their words;
/// `received` is the JSON of the value echoed, exactly. An empty string checks nothing there;
/// [`NONE`] says the field is absent.
struct Want {
    at: &'static str,
    code: &'static str,
    detail: &'static str,
    expected: &'static str,
    received: &'static str,
    hint: &'static str,
}

const fn w(
    at: &'static str,
    code: &'static str,
    detail: &'static str,
    expected: &'static str,
    received: &'static str,
    hint: &'static str,
) -> Want {
    Want {
        at,
        code,
        detail,
        expected,
        received,
        hint,
    }
}

/// A row: the body (with `$A`, `$B`, `$OFF` and `$UNKNOWN` standing for the ids above), and
/// its entries in order; none when the body is valid.
type Row<'a> = (&'static str, &'a [Want]);

/// The body of a row with its ids filled in.
fn body(row: &str) -> String {
    row.replace("$UNKNOWN", UNKNOWN)
        .replace("$OFF", OFF)
        .replace("$A", A)
        .replace("$B", B)
}

fn catalog() -> HashMap<SkillId, CatalogSkill> {
    [
        (A, "Billing", true),
        (B, "Sales", true),
        (OFF, "Legacy Fax", false),
    ]
    .into_iter()
    .map(|(id, name, active)| {
        let id = SkillId::new(id.parse().unwrap());
        let name = name.to_string();
        (id, CatalogSkill { id, name, active })
    })
    .collect()
}

/// The default settings, except that an agent may hold at most 3 skills (so that a list too
/// long is short to write), with this warning policy.
fn settings(warnings: WarningPolicy) -> OrgSettings {
    let mut s = OrgSettings::default();
    s.limits.max_skills_per_agent = 3;
    s.warnings = warnings;
    s
}

/// At most 3 items and 5 assignments in one request.
const LIMITS: BulkLimits = BulkLimits {
    max_items: 3,
    max_assignments: 5,
};

/// Runs `validate` with the rules of an organization of [`settings`] and [`catalog`].
fn with_rules<T>(warnings: WarningPolicy, validate: impl FnOnce(&SkillRules) -> T) -> T {
    let settings = settings(warnings);
    let catalog = catalog();
    validate(&SkillRules::new(&settings, &catalog))
}

/// Where an entry points, as a [`Want`] writes it.
fn locator(e: &ErrorEntry) -> String {
    let named = |kind: &str, name: &Option<String>| name.as_ref().map(|n| format!("{kind}:{n}"));
    e.pointer
        .clone()
        .or_else(|| named("header", &e.header))
        .or_else(|| named("path", &e.path))
        .or_else(|| named("query", &e.query))
        .unwrap_or_default()
}

/// Checks one text of an entry against the words a [`Want`] has for it.
fn text_matches(got: Option<&str>, want: &str) -> bool {
    match want {
        "" => true,
        NONE => got.is_none(),
        w => got.is_some_and(|g| g.contains(w)),
    }
}

fn entry_matches(e: &ErrorEntry, want: &Want) -> bool {
    let code = serde_json::to_value(e.code).unwrap();
    let received = e.received.as_ref().map(|v| v.to_string());
    locator(e) == want.at
        && code.as_str() == Some(want.code)
        && e.detail.contains(want.detail)
        && text_matches(e.expected.as_deref(), want.expected)
        && match want.received {
            "" => true,
            NONE => received.is_none(),
            w => received.as_deref() == Some(w),
        }
        && text_matches(e.hint.as_deref(), want.hint)
}

/// Asserts that `got` is valid when `want` is empty, else exactly the entries of `want`.
fn check<T: Debug>(body: &str, got: Result<T, Vec<ErrorEntry>>, want: &[Want]) {
    let entries = match got {
        Ok(v) => {
            assert!(want.is_empty(), "{body}\nwas accepted as {v:?}");
            return;
        }
        Err(entries) => entries,
    };
    let shown = serde_json::to_string_pretty(&entries).unwrap();
    assert_eq!(entries.len(), want.len(), "{body}\ngot {shown}");
    for (e, w) in entries.iter().zip(want) {
        assert!(
            entry_matches(e, w),
            "{body}\nentry at {} does not match the row's\ngot {shown}",
            w.at
        );
    }
}

#[test]
fn pointer_tokens_are_escaped() {
    assert_eq!(child("", "a/b~c"), "/a~1b~0c");
    assert_eq!(index("/skills", 3), "/skills/3");
}
