//! `PATCH /organizations/settings`: any subset of the settings object; nested objects merge,
//! and in `levels` a `null` removes a level (JSON merge patch, RFC 7396).

use super::{child, fields, wrong_type, Report, Schema};
use serde_json::{Map, Value};
use skillgrid_api::{
    EntryCode, ErrorEntry, Levels, OrgSettings, WarningPolicy, MAX_BODY_BYTES_CEILING,
};

const ROOT: Schema = Schema {
    what: "the organization settings",
    fields: &[
        "proficiencyScale",
        "limits",
        "requireIfMatch",
        "rateLimit",
        "warnings",
        "auditRetentionDays",
    ],
    required: &[],
    aliases: &[
        ("auditRetention", "auditRetentionDays"),
        ("retentionDays", "auditRetentionDays"),
        ("warningPolicy", "warnings"),
        ("warning", "warnings"),
        ("scale", "proficiencyScale"),
        ("proficiency", "proficiencyScale"),
        ("rateLimits", "rateLimit"),
        ("ifMatchRequired", "requireIfMatch"),
    ],
};
const SCALE: Schema = Schema {
    what: "a proficiency scale",
    fields: &["min", "max", "default", "levels"],
    required: &[],
    aliases: &[
        ("minimum", "min"),
        ("maximum", "max"),
        ("defaultValue", "default"),
    ],
};
const LIMITS: Schema = Schema {
    what: "the limits",
    fields: &[
        "maxSkillsPerAgent",
        "maxItemsPerBulk",
        "maxAssignmentsPerRequest",
        "maxBodyBytes",
    ],
    required: &[],
    aliases: &[],
};
const RATE: Schema = Schema {
    what: "the rate limit",
    fields: &["requestsPerMinute", "burst"],
    required: &[],
    aliases: &[
        ("rpm", "requestsPerMinute"),
        ("perMinute", "requestsPerMinute"),
    ],
};

const SCALE_BOUND: i64 = 1_000_000;

/// The longest audit retention that can be set: 100 years (`null` keeps entries forever).
pub const MAX_AUDIT_RETENTION_DAYS: i64 = 36_500;

/// `auditRetentionDays`: whole days from 1 to [`MAX_AUDIT_RETENTION_DAYS`], or `null`.
fn audit_retention(r: &mut Report, p: &str, v: &Value, slot: &mut Option<u32>) {
    if v.is_null() {
        *slot = None;
    } else if let Some(days) =
        fields::integer(r, p, "auditRetentionDays", v, 1, MAX_AUDIT_RETENTION_DAYS)
    {
        *slot = Some(days as u32);
    }
}

/// `warnings`: `warn`, `reject` or `off`, in any case.
fn warning_policy(r: &mut Report, p: &str, v: &Value) -> Option<WarningPolicy> {
    const EXPECTED: &str = "one of `warn`, `reject`, `off`";
    let Value::String(s) = v else {
        r.push(wrong_type(p, "warnings", EXPECTED, v));
        return None;
    };
    let found = WarningPolicy::ALL
        .into_iter()
        .find(|w| w.as_str().eq_ignore_ascii_case(s.trim()));
    if found.is_none() {
        let hint = match s.trim().to_ascii_lowercase().as_str() {
            "error" | "errors" | "strict" | "refuse" | "deny" => Some("`reject`"),
            "warning" | "on" | "true" => Some("`warn`"),
            "none" | "ignore" | "false" | "silent" => Some("`off`"),
            _ => None,
        };
        let mut e = ErrorEntry::at(
            p.to_string(),
            EntryCode::InvalidFormat,
            format!("`{}` is not a warnings setting", fields::truncate(s)),
        )
        .expected(EXPECTED)
        .received(v.clone());
        if let Some(h) = hint {
            e = e.hint(format!("did you mean {h}?"));
        }
        r.push(e);
    }
    found
}

fn sub_object<'v>(
    r: &mut Report,
    p: &str,
    what: &str,
    v: &'v Value,
) -> Option<&'v Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        other => {
            r.push(wrong_type(p, what, "an object", other));
            None
        }
    }
}

fn set_u64(r: &mut Report, p: &str, what: &str, v: &Value, min: i64, max: i64, slot: &mut u64) {
    if let Some(x) = fields::integer(r, p, what, v, min, max) {
        *slot = x as u64;
    }
}

/// Applies `patch` to `current`; every problem is reported at once.
pub fn settings_patch(
    patch: &Value,
    current: &OrgSettings,
) -> Result<OrgSettings, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut s = current.clone();
    let Value::Object(root) = patch else {
        r.push(
            wrong_type("", "the request body", "an object", patch)
                .hint(r#"send any subset of the settings, e.g. {"requireIfMatch": true}"#),
        );
        return Err(r.errors);
    };
    ROOT.walk(&mut r, "", root, |r, f, v, p| match f {
        "proficiencyScale" => {
            if let Some(m) = sub_object(r, &p, "proficiencyScale", v) {
                scale(r, &p, m, &mut s);
            }
        }
        "limits" => {
            if let Some(m) = sub_object(r, &p, "limits", v) {
                let l = &mut s.limits;
                LIMITS.walk(r, &p, m, |r, f, v, p| match f {
                    "maxSkillsPerAgent" => {
                        set_u64(r, &p, f, v, 1, 10_000, &mut l.max_skills_per_agent)
                    }
                    "maxItemsPerBulk" => {
                        set_u64(r, &p, f, v, 1, 100_000, &mut l.max_items_per_bulk)
                    }
                    "maxAssignmentsPerRequest" => set_u64(
                        r,
                        &p,
                        f,
                        v,
                        1,
                        1_000_000,
                        &mut l.max_assignments_per_request,
                    ),
                    _ => set_u64(
                        r,
                        &p,
                        f,
                        v,
                        1024,
                        MAX_BODY_BYTES_CEILING as i64,
                        &mut l.max_body_bytes,
                    ),
                });
            }
        }
        "requireIfMatch" => {
            if let Some(b) = fields::boolean(r, &p, "requireIfMatch", v) {
                s.require_if_match = b;
            }
        }
        "warnings" => {
            if let Some(w) = warning_policy(r, &p, v) {
                s.warnings = w;
            }
        }
        "auditRetentionDays" => audit_retention(r, &p, v, &mut s.audit_retention_days),
        _ => {
            if let Some(m) = sub_object(r, &p, "rateLimit", v) {
                let l = &mut s.rate_limit;
                RATE.walk(r, &p, m, |r, f, v, p| match f {
                    "requestsPerMinute" => {
                        set_u64(r, &p, f, v, 1, 1_000_000, &mut l.requests_per_minute)
                    }
                    _ => set_u64(r, &p, f, v, 1, 100_000, &mut l.burst),
                });
            }
        }
    });
    if r.is_empty() {
        consistent_scale(&mut r, root, &s);
    }
    r.finish(Some(s))
}

fn scale(r: &mut Report, p: &str, m: &Map<String, Value>, s: &mut OrgSettings) {
    let sc = &mut s.proficiency_scale;
    SCALE.walk(r, p, m, |r, f, v, p| match f {
        "min" | "max" | "default" => {
            if let Some(x) = fields::integer(r, &p, f, v, -SCALE_BOUND, SCALE_BOUND) {
                match f {
                    "min" => sc.min = x,
                    "max" => sc.max = x,
                    _ => sc.default = x,
                }
            }
        }
        _ => {
            let Some(levels) = sub_object(r, &p, "levels", v) else {
                return;
            };
            let mut merged: Vec<(String, i64)> =
                sc.levels.iter().map(|(n, v)| (n.to_string(), v)).collect();
            for (name, value) in levels {
                let lp = child(&p, name);
                if value.is_null() {
                    // Removing a level names it in any case, as level names are matched
                    // everywhere else; setting one with another case is reported below.
                    merged.retain(|(n, _)| n.to_lowercase() != name.to_lowercase());
                    continue;
                }
                merged.retain(|(n, _)| n != name);
                let ok_name = level_name(r, &lp, name);
                if let Some(x) =
                    fields::integer(r, &lp, "a level value", value, -SCALE_BOUND, SCALE_BOUND)
                {
                    if ok_name {
                        merged.push((name.clone(), x));
                    }
                }
            }
            sc.levels = Levels::new(merged);
        }
    });
}

fn level_name(r: &mut Report, p: &str, name: &str) -> bool {
    let t = name.trim();
    let problem = if t.is_empty() || t.chars().count() > 50 {
        Some("a level name must have 1 to 50 characters")
    } else if t != name {
        Some("a level name must not start or end with spaces")
    } else if t.parse::<f64>().is_ok() {
        Some("a level name must not be a number (it would be read as a proficiency)")
    } else if t.chars().any(char::is_control) {
        Some("a level name must not contain control characters")
    } else {
        None
    };
    if let Some(detail) = problem {
        r.push(
            ErrorEntry::at(p.to_string(), EntryCode::InvalidFormat, detail)
                .expected("a name such as `Advanced`")
                .received(Value::String(fields::truncate(name).to_string())),
        );
        return false;
    }
    true
}

/// Cross-field rules of the merged scale; each error points at a field the patch sent.
fn consistent_scale(r: &mut Report, root: &Map<String, Value>, s: &OrgSettings) {
    let sc = &s.proficiency_scale;
    let sent = root.get("proficiencyScale").and_then(Value::as_object);
    let at = |candidates: &[&str]| -> String {
        for c in candidates {
            if sent.is_some_and(|m| m.contains_key(*c)) {
                return format!("/proficiencyScale/{c}");
            }
        }
        if sent.is_some() {
            "/proficiencyScale".into()
        } else {
            String::new()
        }
    };
    if sc.min >= sc.max {
        r.push(
            ErrorEntry::at(
                at(&["max", "min"]),
                EntryCode::OutOfRange,
                format!(
                    "the scale's max {} must be greater than its min {}",
                    sc.max, sc.min
                ),
            )
            .expected(format!("max greater than {}", sc.min)),
        );
        return;
    }
    if !(sc.min..=sc.max).contains(&sc.default) {
        r.push(
            ErrorEntry::at(
                at(&["default", "min", "max"]),
                EntryCode::OutOfRange,
                format!(
                    "the default {} is outside the scale {}–{}",
                    sc.default, sc.min, sc.max
                ),
            )
            .expected(format!("an integer from {} to {}", sc.min, sc.max))
            .received(Value::from(sc.default)),
        );
    }
    let sent_levels = sent
        .and_then(|m| m.get("levels"))
        .and_then(Value::as_object);
    let was_sent = |name: &str| sent_levels.is_some_and(|l| l.contains_key(name));
    // A level the patch sent is pointed at; otherwise the scale field that made it wrong.
    let lp = |names: &[&str]| match names.iter().find(|n| was_sent(n)) {
        Some(n) => child("/proficiencyScale/levels", n),
        None => at(&["min", "max", "levels"]),
    };
    let mut seen: Vec<(String, &str, i64)> = Vec::new();
    for (name, value) in sc.levels.iter() {
        if !(sc.min..=sc.max).contains(&value) {
            r.push(
                ErrorEntry::at(
                    lp(&[name]),
                    EntryCode::OutOfRange,
                    format!(
                        "level `{name}` = {value} is outside the scale {}–{}",
                        sc.min, sc.max
                    ),
                )
                .expected(format!("an integer from {} to {}", sc.min, sc.max))
                .received(Value::from(value)),
            );
        }
        let folded = name.to_lowercase();
        if let Some((_, other, _)) = seen.iter().find(|(f, _, _)| *f == folded) {
            let detail =
                format!("level `{name}` is defined twice (names are compared case-insensitively)");
            let hint = format!(
                "levels `{other}` and `{name}` differ only in case; keep one \
                 (`\"Name\": null` in `levels` removes a level)"
            );
            r.push(ErrorEntry::at(lp(&[name, other]), EntryCode::InvalidFormat, detail).hint(hint));
        } else if let Some((_, other, _)) = seen.iter().find(|(_, _, v)| *v == value) {
            let detail = format!(
                "level `{name}` has the value {value} of level `{other}`; \
                 each level needs its own value"
            );
            r.push(ErrorEntry::at(
                lp(&[name, other]),
                EntryCode::InvalidFormat,
                detail,
            ));
        }
        seen.push((folded, name, value));
    }
}
