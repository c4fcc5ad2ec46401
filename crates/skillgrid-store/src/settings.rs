//! Organization settings as the database keeps them: a JSON document whose shape is the
//! store's own, written out here, so that a change to the API's [`OrgSettings`] (a renamed or
//! moved field) never changes what is stored, and a stored document keeps reading the same.
//! Its field names are those the API used when the document was introduced; fields added
//! later have defaults, so older documents still read.

use anyhow::Context;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use skillgrid_core::api::{
    Levels, Limits, OrgSettings, ProficiencyScale, RateLimit, WarningPolicy,
};
use std::collections::BTreeMap;

/// The settings of one organization, as stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(rename = "proficiencyScale")]
    scale: Scale,
    limits: StoredLimits,
    #[serde(rename = "requireIfMatch")]
    require_if_match: bool,
    #[serde(rename = "rateLimit")]
    rate_limit: Rate,
    #[serde(default)]
    warnings: Warnings,
    #[serde(rename = "auditRetentionDays", default)]
    audit_retention_days: Option<u32>,
}

#[derive(Serialize, Deserialize)]
struct Scale {
    min: i64,
    max: i64,
    default: i64,
    levels: StoredLevels,
}

/// Level names and their values, written lowest first as one JSON object.
struct StoredLevels(Vec<(String, i64)>);

impl Serialize for StoredLevels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

impl<'de> Deserialize<'de> for StoredLevels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let levels = BTreeMap::<String, i64>::deserialize(d)?;
        Ok(StoredLevels(levels.into_iter().collect()))
    }
}

#[derive(Serialize, Deserialize)]
struct StoredLimits {
    #[serde(rename = "maxSkillsPerAgent")]
    max_skills_per_agent: u64,
    #[serde(rename = "maxItemsPerBulk")]
    max_items_per_bulk: u64,
    #[serde(rename = "maxAssignmentsPerRequest")]
    max_assignments_per_request: u64,
    #[serde(rename = "maxBodyBytes")]
    max_body_bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Rate {
    #[serde(rename = "requestsPerMinute")]
    requests_per_minute: u64,
    burst: u64,
}

#[derive(Serialize, Deserialize, Default)]
enum Warnings {
    #[default]
    #[serde(rename = "warn")]
    Warn,
    #[serde(rename = "reject")]
    Reject,
    #[serde(rename = "off")]
    Off,
}

/// The document stored for `settings`.
pub(crate) fn to_json(settings: &OrgSettings) -> anyhow::Result<String> {
    let s = settings;
    let p = &s.proficiency_scale;
    let stored = Stored {
        scale: Scale {
            min: p.min,
            max: p.max,
            default: p.default,
            levels: StoredLevels(p.levels.iter().map(|(n, v)| (n.to_string(), v)).collect()),
        },
        limits: StoredLimits {
            max_skills_per_agent: s.limits.max_skills_per_agent,
            max_items_per_bulk: s.limits.max_items_per_bulk,
            max_assignments_per_request: s.limits.max_assignments_per_request,
            max_body_bytes: s.limits.max_body_bytes,
        },
        require_if_match: s.require_if_match,
        rate_limit: Rate {
            requests_per_minute: s.rate_limit.requests_per_minute,
            burst: s.rate_limit.burst,
        },
        warnings: match s.warnings {
            WarningPolicy::Warn => Warnings::Warn,
            WarningPolicy::Reject => Warnings::Reject,
            WarningPolicy::Off => Warnings::Off,
        },
        audit_retention_days: s.audit_retention_days,
    };
    serde_json::to_string(&stored).context("serialising settings")
}

/// The settings a stored document holds.
pub(crate) fn from_json(json: &str) -> anyhow::Result<OrgSettings> {
    let s: Stored = serde_json::from_str(json).context("stored settings are not valid")?;
    Ok(OrgSettings {
        proficiency_scale: ProficiencyScale {
            min: s.scale.min,
            max: s.scale.max,
            default: s.scale.default,
            levels: Levels::new(s.scale.levels.0),
        },
        limits: Limits {
            max_skills_per_agent: s.limits.max_skills_per_agent,
            max_items_per_bulk: s.limits.max_items_per_bulk,
            max_assignments_per_request: s.limits.max_assignments_per_request,
            max_body_bytes: s.limits.max_body_bytes,
        },
        require_if_match: s.require_if_match,
        rate_limit: RateLimit {
            requests_per_minute: s.rate_limit.requests_per_minute,
            burst: s.rate_limit.burst,
        },
        warnings: match s.warnings {
            Warnings::Warn => WarningPolicy::Warn,
            Warnings::Reject => WarningPolicy::Reject,
            Warnings::Off => WarningPolicy::Off,
        },
        audit_retention_days: s.audit_retention_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom() -> OrgSettings {
        let default = OrgSettings::default();
        OrgSettings {
            proficiency_scale: ProficiencyScale {
                min: 1,
                max: 5,
                default: 3,
                levels: Levels::new(vec![("Expert".into(), 5), ("Basic".into(), 1)]),
            },
            require_if_match: true,
            warnings: WarningPolicy::Reject,
            audit_retention_days: Some(365),
            rate_limit: RateLimit {
                burst: 7,
                ..default.rate_limit
            },
            ..default
        }
    }

    /// The document is the one the database has always held: the default settings' exactly.
    #[test]
    fn the_stored_document_is_pinned() {
        assert_eq!(
            to_json(&OrgSettings::default()).unwrap(),
            r#"{"proficiencyScale":{"min":0,"max":100,"default":50,"levels":{"Novice":25,"Intermediate":50,"Advanced":75,"Expert":100}},"limits":{"maxSkillsPerAgent":500,"maxItemsPerBulk":10000,"maxAssignmentsPerRequest":100000,"maxBodyBytes":33554432},"requireIfMatch":false,"rateLimit":{"requestsPerMinute":600,"burst":100},"warnings":"warn","auditRetentionDays":null}"#
        );
    }

    /// Until now the database held the API's own serialization: the same bytes.
    #[test]
    fn the_document_is_what_the_api_type_wrote_before() {
        for s in [OrgSettings::default(), custom()] {
            assert_eq!(to_json(&s).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn settings_read_back_as_written() {
        for s in [OrgSettings::default(), custom()] {
            assert_eq!(from_json(&to_json(&s).unwrap()).unwrap(), s);
        }
    }

    /// Documents stored before `warnings` and `auditRetentionDays` existed read with their
    /// defaults.
    #[test]
    fn an_older_document_reads_with_the_defaults_of_later_fields() {
        let old = r#"{"proficiencyScale":{"min":1,"max":5,"default":3,"levels":{"Expert":5,"Basic":1}},"limits":{"maxSkillsPerAgent":100,"maxItemsPerBulk":10000,"maxAssignmentsPerRequest":100000,"maxBodyBytes":33554432},"requireIfMatch":true,"rateLimit":{"requestsPerMinute":600,"burst":7}}"#;
        let s = from_json(old).unwrap();
        assert_eq!(s.warnings, WarningPolicy::Warn);
        assert_eq!(s.audit_retention_days, None);
        let levels: Vec<_> = s.proficiency_scale.levels.iter().collect();
        assert_eq!(levels, [("Basic", 1), ("Expert", 5)]);
    }
}
