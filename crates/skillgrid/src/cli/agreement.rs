//! The CLI's readers held to the server's: each edge of an `ifMatch`, a date and an id read by
//! both, with the same verdict, or the difference the CLI means to make (and says why, beside
//! the reader).

use super::csvfile::{check_row, if_match_syntax, Kind, RawRow};
use super::id_of;
use serde_json::json;
use skillgrid_client::IfMatch;
use skillgrid_core::model::{CatalogSkill, Precondition, SkillId};
use skillgrid_core::validate::{self, SkillRules};
use std::collections::HashMap;
use uuid::Uuid;

#[test]
fn if_match_is_read_as_the_server_reads_it() {
    for (v, cli) in [
        (r#""7""#, Some(IfMatch::Version(7))),
        (r#" "7" "#, Some(IfMatch::Version(7))),
        (r#""0""#, Some(IfMatch::Version(0))),
        (r#""+7""#, Some(IfMatch::Version(7))),
        ("*", Some(IfMatch::Any)),
        ("7", None),
        (r#""-1""#, None),
        (r#""x""#, None),
        (r#""99999999999999999999""#, None),
        ("W/*", None),
        ("", None),
    ] {
        let server = validate::precondition_header(Some(v));
        assert_eq!(if_match_syntax(v).ok(), cli, "{v:?}");
        match cli {
            // What the CLI sends is read by the server as what the user wrote.
            Some(m) => assert_eq!(
                validate::precondition_header(Some(&m.to_string())),
                server,
                "{v:?}"
            ),
            None => assert!(server.is_err(), "{v:?}: {server:?}"),
        }
    }
}

#[test]
fn a_weak_etag_is_refused_before_sending_as_it_could_never_match() {
    // The server reads it, and then refuses the item with 412 whatever the version.
    let v = r#"W/"7""#;
    assert_eq!(
        validate::precondition_header(Some(v)),
        Ok(Some(Precondition::Weak))
    );
    assert!(!Precondition::Weak.matches(7));
    let e = if_match_syntax(v).unwrap_err();
    assert!(e.contains("weak ETag never matches"), "{e}");
    assert!(e.ends_with(r#"send "\"7\"""#), "{e}");
}

/// The `validate` command's verdict on an assignment row with this effective date.
fn cli_accepts_date(v: &str) -> bool {
    let row = RawRow {
        kind: Kind::Assign,
        line: 2,
        agent: "ana@example.com".into(),
        skill: "Billing".into(),
        proficiency: String::new(),
        effective_date: v.into(),
        expiration_date: String::new(),
        if_match: String::new(),
        pointer: None,
        extra_fields: 0,
    };
    check_row(&row).is_empty()
}

/// The server's verdict on an assignment with this effective date.
fn server_accepts_date(v: &str) -> bool {
    let settings = skillgrid_api::OrgSettings::default();
    let skill = SkillId::new(Uuid::from_u128(10));
    let catalog = HashMap::from([(
        skill,
        CatalogSkill {
            id: skill,
            name: "Billing".into(),
            active: true,
        },
    )]);
    let rules = SkillRules::new(&settings, &catalog);
    let body = json!({"proficiency": settings.proficiency_scale.min, "effectiveDate": v});
    validate::single_assignment(&body, &rules, skill).is_ok()
}

#[test]
fn dates_are_bounded_to_the_years_the_server_takes() {
    for (v, accepted) in [
        ("2030-01-01T00:00:00Z", true),
        ("0001-01-01T00:00:00Z", true),
        ("9999-12-31T23:59:59Z", true),
        // Year 0, written or reached through the offset.
        ("0000-12-31T23:59:59Z", false),
        ("0001-01-01T00:00:00+01:00", false),
        // Year 10000, written or reached through the offset.
        ("10000-01-01T00:00:00Z", false),
        ("9999-12-31T23:59:59-01:00", false),
        ("2030-01-01", false),
    ] {
        assert_eq!(server_accepts_date(v), accepted, "server: {v}");
        assert_eq!(cli_accepts_date(v), accepted, "cli: {v}");
    }
}

#[test]
fn ids_in_any_spelling_are_sent_in_the_one_the_server_reads() {
    let id: Uuid = "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e".parse().unwrap();
    for v in [
        "0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e",
        "0192F0C1-7A3E-7B4C-9D2E-5F6A7B8C9D0E",
    ] {
        assert_eq!(id_of(v), Some(id), "{v}");
        assert_eq!(validate::path_uuid("userId", v).ok(), Some(id), "{v}");
    }
    // The CLI's convenience: spellings the server refuses, sent hyphenated.
    for v in [
        "0192f0c17a3e7b4c9d2e5f6a7b8c9d0e",
        "{0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e}",
        "urn:uuid:0192f0c1-7a3e-7b4c-9d2e-5f6a7b8c9d0e",
    ] {
        assert!(validate::path_uuid("userId", v).is_err(), "{v}");
        let sent = id_of(v).unwrap().to_string();
        assert_eq!(validate::path_uuid("userId", &sent), Ok(id), "{v}");
    }
    for v in ["ana@example.com", "Billing", "0192f0c1-7a3e", ""] {
        assert_eq!(id_of(v), None, "{v}");
        assert!(validate::path_uuid("userId", v).is_err(), "{v}");
    }
}
