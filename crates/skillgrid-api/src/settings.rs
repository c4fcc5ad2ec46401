//! Organization settings with their defaults.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgSettings {
    pub proficiency_scale: ProficiencyScale,
    pub limits: Limits,
    pub require_if_match: bool,
    pub rate_limit: RateLimit,
    /// What a write that succeeds but looks like a mistake (proficiencies from another
    /// product's scale, a set replaced with nothing) gets: `warn` (the answer carries
    /// `warnings`), `reject` (they are errors and nothing is written) or `off`.
    #[serde(default)]
    pub warnings: WarningPolicy,
    /// Audit entries older than this many days (of assignments, and of skills, agents,
    /// settings, console users and API clients) are deleted in the background; `null` keeps
    /// them forever.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 36500)]
    pub audit_retention_days: Option<u32>,
}

/// What writes that look like mistakes get: see [`OrgSettings::warnings`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WarningPolicy {
    /// Written, with `warnings` in the answer.
    #[default]
    Warn,
    /// Refused: each warning is an error, and nothing is written.
    Reject,
    /// Written without a word.
    Off,
}

impl WarningPolicy {
    pub const ALL: [WarningPolicy; 3] = [Self::Warn, Self::Reject, Self::Off];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warn => "warn",
            Self::Reject => "reject",
            Self::Off => "off",
        }
    }
}

/// A proficiency scale: integers from `min` to `max`, with named levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProficiencyScale {
    pub min: i64,
    pub max: i64,
    pub default: i64,
    /// Level names and their values, lowest first; names match case-insensitively.
    #[schema(value_type = std::collections::BTreeMap<String, i64>)]
    pub levels: Levels,
}

/// Named levels, kept sorted by value (then name) so they read from lowest to highest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Levels(Vec<(String, i64)>);

impl Levels {
    pub fn new(mut levels: Vec<(String, i64)>) -> Self {
        levels.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Levels(levels)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl Serialize for Levels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Levels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LevelsVisitor;
        impl<'de> Visitor<'de> for LevelsVisitor {
            type Value = Levels;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of level names to integers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Levels, A::Error> {
                let mut levels = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, i64>()? {
                    levels.push((k, v));
                }
                Ok(Levels::new(levels))
            }
        }
        deserializer.deserialize_map(LevelsVisitor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub max_skills_per_agent: u64,
    pub max_items_per_bulk: u64,
    pub max_assignments_per_request: u64,
    pub max_body_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub requests_per_minute: u64,
    pub burst: u64,
}

impl Default for OrgSettings {
    fn default() -> Self {
        OrgSettings {
            proficiency_scale: ProficiencyScale {
                min: 0,
                max: 100,
                default: 50,
                levels: Levels::new(vec![
                    ("Novice".into(), 25),
                    ("Intermediate".into(), 50),
                    ("Advanced".into(), 75),
                    ("Expert".into(), 100),
                ]),
            },
            limits: Limits {
                max_skills_per_agent: 500,
                max_items_per_bulk: 10_000,
                max_assignments_per_request: 100_000,
                max_body_bytes: 33_554_432,
            },
            require_if_match: false,
            rate_limit: RateLimit {
                requests_per_minute: 600,
                burst: 100,
            },
            warnings: WarningPolicy::Warn,
            audit_retention_days: None,
        }
    }
}

/// Hard ceiling on `maxBodyBytes` whatever an organization sets: 256 MiB.
pub const MAX_BODY_BYTES_CEILING: u64 = 268_435_456;

impl ProficiencyScale {
    /// The name of the highest level whose value is at most `proficiency` (None below the lowest).
    pub fn level_of(&self, proficiency: i64) -> Option<&str> {
        self.levels
            .iter()
            .filter(|(_, v)| *v <= proficiency)
            .last()
            .map(|(n, _)| n)
    }

    /// "an integer from 0 to 100, or one of Novice, Intermediate, Advanced, Expert"
    pub fn describe(&self) -> String {
        let mut s = format!("an integer from {} to {}", self.min, self.max);
        if !self.levels.is_empty() {
            let names: Vec<&str> = self.levels.iter().map(|(n, _)| n).collect();
            s.push_str(", or one of ");
            s.push_str(&names.join(", "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serialise_as_documented() {
        let v = serde_json::to_value(OrgSettings::default()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
              "proficiencyScale": {"min": 0, "max": 100, "default": 50,
                "levels": {"Novice": 25, "Intermediate": 50, "Advanced": 75, "Expert": 100}},
              "limits": {"maxSkillsPerAgent": 500, "maxItemsPerBulk": 10000,
                "maxAssignmentsPerRequest": 100000, "maxBodyBytes": 33554432},
              "requireIfMatch": false,
              "rateLimit": {"requestsPerMinute": 600, "burst": 100},
              "warnings": "warn",
              "auditRetentionDays": null
            })
        );
        let order: Vec<_> = v["proficiencyScale"]["levels"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(order, ["Novice", "Intermediate", "Advanced", "Expert"]);
    }

    #[test]
    fn settings_stored_before_warnings_existed_read_as_warn() {
        let mut v = serde_json::to_value(OrgSettings::default()).unwrap();
        v.as_object_mut().unwrap().remove("warnings");
        let s: OrgSettings = serde_json::from_value(v).unwrap();
        assert_eq!(s.warnings, WarningPolicy::Warn);
    }

    #[test]
    fn settings_stored_before_audit_retention_existed_keep_audit_forever() {
        let mut v = serde_json::to_value(OrgSettings::default()).unwrap();
        v.as_object_mut().unwrap().remove("auditRetentionDays");
        let s: OrgSettings = serde_json::from_value(v).unwrap();
        assert_eq!(s.audit_retention_days, None);
    }

    #[test]
    fn level_is_highest_at_or_below() {
        let s = OrgSettings::default().proficiency_scale;
        assert_eq!(s.level_of(24), None);
        assert_eq!(s.level_of(25), Some("Novice"));
        assert_eq!(s.level_of(90), Some("Advanced"));
        assert_eq!(s.level_of(100), Some("Expert"));
    }
}
