//! Writes that are valid but look like a mistake: proficiencies of another product's scale,
//! and a set replaced with nothing. Each is an [`ErrorEntry`] with a warning code
//! ([`EntryCode::WARNINGS`]); the organization's [`WarningPolicy`] decides whether the answer
//! carries them as `warnings`, refuses the write with them as errors, or says nothing.
//!
//! The scale rules look at one agent's set as a request gives it (a skill-set body, or one bulk
//! item), after validation:
//! - every proficiency lies within 0–5 on a scale that reaches [`OTHER_SCALE_FROM`] or more
//!   (`other_scale`, at each number sent);
//! - otherwise, a number below the lowest level in a set that names no level
//!   (`below_lowest_level`).

use crate::model::{Assignment, Given};
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry, ProficiencyScale, WarningPolicy};

/// A scale whose `max` is at least this is not another product's 1–5 scale.
pub const OTHER_SCALE_FROM: i64 = 20;

/// The top of the small scales other products use (Amazon Connect's 1–5, Genesys Cloud's 0–5).
const SMALL_TOP: i64 = 5;

/// The warnings about one agent's set: `pointer(i)` is where the `i`th assignment's
/// proficiency is in the request.
pub fn scale_warnings(
    scale: &ProficiencyScale,
    set: &[Assignment],
    pointer: impl Fn(usize) -> String,
) -> Vec<ErrorEntry> {
    indexed_warnings(scale, set, pointer)
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

/// [`scale_warnings`], each with the index of its assignment in `set`.
pub fn indexed_warnings(
    scale: &ProficiencyScale,
    set: &[Assignment],
    pointer: impl Fn(usize) -> String,
) -> Vec<(usize, ErrorEntry)> {
    findings(scale, set)
        .into_iter()
        .map(|f| (f.at, f.entry(scale, pointer(f.at))))
        .collect()
}

/// What a scale rule found at one assignment: the rule and the value, without the words
/// (a bulk answer with tens of thousands of them writes each from a few texts it words once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// The assignment's index in its set.
    pub at: usize,
    /// [`EntryCode::OtherScale`] or [`EntryCode::BelowLowestLevel`].
    pub code: EntryCode,
    pub value: i64,
}

/// The scale rules (see the module's documentation) applied to one agent's set.
pub fn findings(scale: &ProficiencyScale, set: &[Assignment]) -> Vec<Finding> {
    if !set.iter().any(|a| a.given == Given::Number) {
        return Vec::new();
    }
    let numbers = set
        .iter()
        .enumerate()
        .filter(|(_, a)| a.given == Given::Number);
    let small = scale.max >= OTHER_SCALE_FROM
        && set.iter().all(|a| (0..=SMALL_TOP).contains(&a.proficiency));
    let code = if small {
        EntryCode::OtherScale
    } else {
        EntryCode::BelowLowestLevel
    };
    let below = match scale.levels.iter().next() {
        _ if small => i64::MAX,
        Some(_) if set.iter().any(|a| a.given == Given::Level) => return Vec::new(),
        Some((_, lowest)) => lowest,
        None => return Vec::new(),
    };
    numbers
        .filter(|(_, a)| a.proficiency < below)
        .map(|(at, a)| Finding {
            at,
            code,
            value: a.proficiency,
        })
        .collect()
}

impl Finding {
    /// The warning in words, at `pointer`.
    pub fn entry(&self, scale: &ProficiencyScale, pointer: String) -> ErrorEntry {
        if self.code == EntryCode::OtherScale {
            return other_scale(scale, pointer, self.value);
        }
        let (lowest, lowest_value) = scale.levels.iter().next().unwrap_or(("", scale.min));
        // Short: a bulk answer may carry tens of thousands of these; the hint states the scale.
        ErrorEntry::at(
            pointer,
            EntryCode::BelowLowestLevel,
            format!(
                "{} is below the lowest level of this organization's {}–{} scale, {lowest} ({lowest_value}): it is stored with no level",
                self.value, scale.min, scale.max
            ),
        )
        .received(Value::from(self.value))
        .hint(format!(
            "send a level name such as `{lowest}`, or a value of this scale ({})",
            level_list(scale)
        ))
    }
}

/// [`scale_warnings`] for a list of assignments at `list` (`/skills`, `""` for a bare
/// array, `/items/3/skills`).
pub fn list_warnings(scale: &ProficiencyScale, list: &str, set: &[Assignment]) -> Vec<ErrorEntry> {
    scale_warnings(scale, set, |i| format!("{list}/{i}/proficiency"))
}

/// Under `reject`, reports `found` as errors; else does nothing (the answer shows them).
pub fn reject_into(policy: WarningPolicy, r: &mut super::Report, found: Vec<ErrorEntry>) {
    if policy == WarningPolicy::Reject {
        r.errors.extend(found.into_iter().map(rejected));
    }
}

/// `other_scale` at `ptr`: `value` looks like a rank on a 1–5 scale.
fn other_scale(scale: &ProficiencyScale, ptr: String, value: i64) -> ErrorEntry {
    let here = match scale.level_of(value) {
        Some(level) => format!("is level {level}"),
        None => match scale.levels.iter().next() {
            Some((lowest, v)) => format!("is below {lowest} ({v})"),
            None => "is near the bottom".to_string(),
        },
    };
    let meant = of_five(scale, value as f64);
    ErrorEntry::at(
        ptr,
        EntryCode::OtherScale,
        format!(
            "{value} on this organization's {}–{} scale {here}; every proficiency of this set lies within 0–{SMALL_TOP}, as on another product's 1–5 scale",
            scale.min, scale.max
        ),
    )
    .expected(scale.describe())
    .received(Value::from(value))
    .hint(format!(
        "if you meant {value} of {SMALL_TOP}, send {}",
        send(scale, meant)
    ))
}

/// `value` of 5 on this scale: the same rank, rounded.
pub fn of_five(scale: &ProficiencyScale, value: f64) -> i64 {
    let span = (scale.max - scale.min) as f64;
    (scale.min as f64 + value / SMALL_TOP as f64 * span).round() as i64
}

/// How to send `value`: its level's name too when a level has exactly this value.
fn send(scale: &ProficiencyScale, value: i64) -> String {
    match scale.levels.iter().find(|(_, v)| *v == value) {
        Some((name, _)) => format!("`{name}` or {value}"),
        None => match scale.level_of(value) {
            Some(level) => format!("{value} (level {level})"),
            None => value.to_string(),
        },
    }
}

/// "Novice 25, Intermediate 50, …", or "no named levels".
fn level_list(scale: &ProficiencyScale) -> String {
    if scale.levels.is_empty() {
        return "no named levels".into();
    }
    let levels: Vec<String> = scale
        .levels
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    format!("levels {}", levels.join(", "))
}

/// The hint for a fractional proficiency that probably comes from another product's scale, or
/// `None` when the value does not look like one.
pub fn fractional_hint(scale: &ProficiencyScale, value: f64) -> Option<String> {
    if scale.max < OTHER_SCALE_FROM || !(value > 0.0 && value <= SMALL_TOP as f64) {
        return None;
    }
    let shown = trim_float(value);
    if value < 1.0 {
        let here = (scale.min as f64 + value * (scale.max - scale.min) as f64).round() as i64;
        return Some(format!(
            "{shown} looks like a fraction of 1: it is {here} on this scale; send {}",
            send(scale, here)
        ));
    }
    let here = of_five(scale, value);
    let from = if value.fract() == 0.0 {
        "Amazon Connect's 1.0–5.0 levels or Genesys Cloud's 0.0–5.0 scale"
    } else {
        "Genesys Cloud's 0.0–5.0 scale"
    };
    Some(format!(
        "{shown} looks like {from}: {shown} of 5 is {here} on this scale; send {}",
        send(scale, here)
    ))
}

/// `4.5` as 4.5, `4.0` as 4.0 (as sent, without float noise).
fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').to_string()
    }
}

/// `emptied_set` at `ptr`: a replacement with nothing removed the agent's `removed` skills.
pub fn emptied_set(ptr: &str, removed: usize, dry_run: bool) -> ErrorEntry {
    let (did, skills) = (
        if dry_run { "would remove" } else { "removed" },
        if removed == 1 { "skill" } else { "skills" },
    );
    ErrorEntry::at(
        ptr.to_string(),
        EntryCode::EmptiedSet,
        format!("this replacement lists no skills, so it {did} all {removed} {skills} the agent held"),
    )
    .received(Value::Array(Vec::new()))
    .hint("to clear an agent's skills this is right; to add or change skills and keep the others, send PATCH (merge) instead; the removed assignments are in `changes.removed` if they must be put back")
}

/// A warning as the error of an organization whose `warnings` setting is `reject`.
pub fn rejected(mut e: ErrorEntry) -> ErrorEntry {
    e.detail
        .push_str("; this organization refuses such writes (its `warnings` setting is `reject`)");
    e
}

/// Whether a set as validated would be refused under `policy`, for the fast path (which
/// then leaves the report to the walk).
pub fn refuses(policy: WarningPolicy, scale: &ProficiencyScale, set: &[Assignment]) -> bool {
    policy == WarningPolicy::Reject && !findings(scale, set).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SkillId;
    use skillgrid_api::OrgSettings;
    use uuid::Uuid;

    fn a(p: i64, given: Given) -> Assignment {
        Assignment {
            given,
            proficiency: p,
            ..Assignment::omitted(SkillId::new(Uuid::nil()), 50)
        }
    }

    fn at(i: usize) -> String {
        format!("/skills/{i}/proficiency")
    }

    #[test]
    fn five_and_three_of_a_hundred_are_another_scale() {
        let scale = OrgSettings::default().proficiency_scale;
        let w = scale_warnings(&scale, &[a(5, Given::Number), a(3, Given::Number)], at);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].code, EntryCode::OtherScale);
        assert_eq!(w[0].pointer.as_deref(), Some("/skills/0/proficiency"));
        assert!(
            w[0].detail
                .starts_with("5 on this organization's 0–100 scale is below Novice (25)"),
            "{}",
            w[0].detail
        );
        assert_eq!(
            w[0].hint.as_deref(),
            Some("if you meant 5 of 5, send `Expert` or 100")
        );
        assert_eq!(
            w[1].hint.as_deref(),
            Some("if you meant 3 of 5, send 60 (level Intermediate)")
        );
    }

    #[test]
    fn a_level_name_or_a_large_value_in_the_set_means_this_scale() {
        let scale = OrgSettings::default().proficiency_scale;
        assert!(scale_warnings(&scale, &[a(5, Given::Number), a(75, Given::Level)], at).is_empty());
        // 5 beside 80: not another scale, but below the lowest level in a set without names.
        let w = scale_warnings(&scale, &[a(5, Given::Number), a(80, Given::Number)], at);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, EntryCode::BelowLowestLevel);
        assert_eq!(w[0].pointer.as_deref(), Some("/skills/0/proficiency"));
        assert!(scale_warnings(&scale, &[a(50, Given::Omitted)], at).is_empty());
    }

    #[test]
    fn a_small_scale_of_its_own_is_not_another_products() {
        let mut scale = OrgSettings::default().proficiency_scale;
        scale.max = 5;
        scale.levels = Default::default();
        assert!(scale_warnings(&scale, &[a(5, Given::Number)], at).is_empty());
    }

    #[test]
    fn fractions_name_the_scale_they_come_from() {
        let scale = OrgSettings::default().proficiency_scale;
        assert_eq!(
            fractional_hint(&scale, 4.5).as_deref(),
            Some("4.5 looks like Genesys Cloud's 0.0–5.0 scale: 4.5 of 5 is 90 on this scale; send 90 (level Advanced)")
        );
        assert!(fractional_hint(&scale, 4.0)
            .unwrap()
            .contains("Amazon Connect"));
        assert!(fractional_hint(&scale, 0.75)
            .unwrap()
            .contains("send `Advanced` or 75"));
        assert_eq!(fractional_hint(&scale, 42.5), None);
    }
}
