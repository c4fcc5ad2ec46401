//! Bodies of the webhook routes (`/webhooks`): the endpoint's URL, where deliveries may go,
//! and the event types it takes.

use super::resources::object;
use super::{fields, index, wrong_type, Report, Schema};
use crate::model::{NewWebhook, WebhookPatch};
use crate::webhooks::destination::Policy;
use crate::webhooks::{ALL_EVENTS, EVENT_TYPES, MAX_OVERLAP_SECONDS};
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry};

/// Longer URLs are a mistake, and would be sent in every delivery's log line.
pub const URL_MAX: usize = 2048;

const ALIASES: &[(&str, &str)] = &[
    ("endpoint", "url"),
    ("uri", "url"),
    ("target", "url"),
    ("events", "eventTypes"),
    ("types", "eventTypes"),
    ("event_types", "eventTypes"),
    ("enabled", "active"),
    ("disabled", "active"),
];

const WEBHOOK_CREATE: Schema = Schema {
    what: "a webhook",
    fields: &["url", "eventTypes", "active"],
    required: &["url"],
    aliases: ALIASES,
};

const WEBHOOK_PATCH: Schema = Schema {
    what: "a webhook update",
    fields: &["url", "eventTypes", "active"],
    required: &[],
    aliases: ALIASES,
};

const ROTATION: Schema = Schema {
    what: "a secret rotation",
    fields: &["overlapSeconds"],
    required: &[],
    aliases: &[("overlap", "overlapSeconds"), ("ttl", "overlapSeconds")],
};

const SHAPE: &str =
    r#"{"url": "https://example.com/hooks/skillgrid", "eventTypes": ["assignment.changed"]}"#;

pub fn webhook_create(body: &Value, policy: Policy) -> Result<NewWebhook, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let (mut url, mut event_types, mut active) = (None, Some(vec![ALL_EVENTS.into()]), Some(true));
    if let Some(map) = object(&mut r, body, SHAPE) {
        WEBHOOK_CREATE.walk(&mut r, "", map, |r, f, v, p| match f {
            "url" => url = destination(r, &p, v, policy),
            "eventTypes" => event_types = event_type_list(r, &p, v),
            _ => active = fields::boolean(r, &p, "active", v),
        });
    }
    let out = match (url, event_types, active) {
        (Some(url), Some(event_types), Some(active)) => Some(NewWebhook {
            url,
            event_types,
            active,
        }),
        _ => None,
    };
    r.finish(out)
}

pub fn webhook_patch(body: &Value, policy: Policy) -> Result<WebhookPatch, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut patch = WebhookPatch::default();
    if let Some(map) = object(&mut r, body, r#"{"eventTypes": ["*"], "active": true}"#) {
        WEBHOOK_PATCH.walk(&mut r, "", map, |r, f, v, p| match f {
            "url" => patch.url = destination(r, &p, v, policy),
            "eventTypes" => patch.event_types = event_type_list(r, &p, v),
            _ => patch.active = fields::boolean(r, &p, "active", v),
        });
    }
    r.finish(Some(patch))
}

/// The body of a secret rotation: how many seconds the previous secret keeps signing beside
/// the new one (`None`: the default). An empty body is `null` here.
pub fn webhook_rotation(body: &Value) -> Result<Option<i64>, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut overlap = None;
    if body.is_null() {
        return Ok(None);
    }
    if let Some(map) = object(&mut r, body, r#"{"overlapSeconds": 86400}"#) {
        ROTATION.walk(&mut r, "", map, |r, _, v, p| {
            overlap = fields::integer(r, &p, "overlapSeconds", v, 0, MAX_OVERLAP_SECONDS);
        });
    }
    r.finish(Some(overlap))
}

/// An absolute `https` or `http` URL whose host deliveries may go to under `policy`.
fn destination(r: &mut Report, ptr: &str, v: &Value, policy: Policy) -> Option<String> {
    let text = fields::text(r, ptr, "url", v, 1, URL_MAX)?;
    let refuse = |code: EntryCode, detail: String, hint: Option<String>| {
        ErrorEntry::at(ptr.to_string(), code, detail)
            .expected("an absolute https:// or http:// URL")
            .received(fields::received(v))
            .maybe_hint(hint)
    };
    let url = match url::Url::parse(&text) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            r.push(refuse(
                EntryCode::InvalidFormat,
                "url is not absolute".into(),
                Some(format!(
                    "add the scheme: https://{}",
                    fields::truncate(&text)
                )),
            ));
            return None;
        }
        Err(e) => {
            r.push(refuse(
                EntryCode::InvalidFormat,
                format!("url is not a URL: {e}"),
                None,
            ));
            return None;
        }
    };
    let problem = match (url.scheme(), url.host()) {
        ("https" | "http", None) => Some(("url has no host".to_string(), None)),
        ("https" | "http", Some(host)) => {
            if !url.username().is_empty() || url.password().is_some() {
                Some((
                    "url holds credentials; deliveries are signed instead".to_string(),
                    Some("drop the `user:password@` part".to_string()),
                ))
            } else if url.fragment().is_some() {
                Some((
                    "url has a fragment, which is never sent".to_string(),
                    Some("drop the `#…` part".to_string()),
                ))
            } else if let Err(refusal) = policy.check_host(&host) {
                r.push(refuse(
                    EntryCode::NotAllowed,
                    format!("url points to {refusal}"),
                    None,
                ));
                return None;
            } else {
                None
            }
        }
        (other, _) => Some((
            format!(
                "url has the scheme `{}`; webhooks are sent over https or http",
                fields::truncate(other)
            ),
            None,
        )),
    };
    if let Some((detail, hint)) = problem {
        r.push(refuse(EntryCode::InvalidFormat, detail, hint));
        return None;
    }
    Some(url.to_string())
}

/// A non-empty list of known event types, each kept once, or `["*"]` alone for every type.
fn event_type_list(r: &mut Report, ptr: &str, v: &Value) -> Option<Vec<String>> {
    let known = || format!("`*` or any of: {}", EVENT_TYPES.join(", "));
    let Value::Array(items) = v else {
        let mut e = wrong_type(ptr, "eventTypes", "an array of event types", v);
        if let Value::String(s) = v {
            e = e.hint(format!("send a list: {}", serde_json::json!([s])));
        }
        r.push(e);
        return None;
    };
    if items.is_empty() {
        r.push(
            ErrorEntry::at(
                ptr,
                EntryCode::OutOfRange,
                "a webhook needs at least one event type",
            )
            .expected(known())
            .received(Value::Array(vec![]))
            .hint(r#"send ["*"] for every event type"#),
        );
        return None;
    }
    let before = r.errors.len();
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(ptr, i);
        let Value::String(name) = item else {
            r.push(wrong_type(&p, "an event type", "a string", item));
            continue;
        };
        if name != ALL_EVENTS && !EVENT_TYPES.contains(&name.as_str()) {
            r.push(
                ErrorEntry::at(
                    p,
                    EntryCode::InvalidFormat,
                    format!("`{}` is not an event type", fields::truncate(name)),
                )
                .expected(known())
                .received(fields::received(item))
                .maybe_hint(nearest_event(name).map(|t| format!("did you mean `{t}`?"))),
            );
            continue;
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    if r.errors.len() != before {
        return None;
    }
    if out.len() > 1 && out.iter().any(|t| t == ALL_EVENTS) {
        r.push(
            ErrorEntry::at(
                ptr,
                EntryCode::InvalidFormat,
                "`*` already takes every event type and stands alone",
            )
            .expected(known())
            .received(v.clone())
            .hint(r#"send ["*"] alone, or only the types you want"#),
        );
        return None;
    }
    Some(out)
}

/// The event type `s` most likely meant: case and separators aside, or a small edit away.
fn nearest_event(s: &str) -> Option<&'static str> {
    let fold = |t: &str| {
        t.to_ascii_lowercase()
            .replace(['_', '-', ':', '/', ' '], ".")
    };
    let f = fold(s);
    let singular = |t: &str| {
        t.replace("assignments", "assignment")
            .replace("agents", "agent")
            .replace("skills", "skill")
    };
    EVENT_TYPES
        .iter()
        .copied()
        .find(|t| fold(t) == f || singular(&f) == *t)
        .or_else(|| {
            EVENT_TYPES
                .iter()
                .copied()
                .map(|t| (strsim::levenshtein(&f, t), t))
                .filter(|(d, _)| *d <= 3)
                .min_by_key(|(d, _)| *d)
                .map(|(_, t)| t)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STRICT: Policy = Policy {
        allow_private: false,
    };

    fn codes(r: Result<impl std::fmt::Debug, Vec<ErrorEntry>>) -> Vec<(String, EntryCode)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.pointer.unwrap_or_default(), e.code))
            .collect()
    }

    #[test]
    fn a_valid_webhook_defaults_to_every_event_and_active() {
        let w = webhook_create(&json!({"url": "https://example.com/h"}), STRICT).unwrap();
        assert_eq!(
            w,
            NewWebhook {
                url: "https://example.com/h".into(),
                event_types: vec!["*".into()],
                active: true
            }
        );
        let w = webhook_create(
            &json!({"url": "http://hooks.example.com:8080/a?b=c", "eventTypes": ["skill.created", "agent.created", "skill.created"], "active": false}),
            STRICT,
        )
        .unwrap();
        assert_eq!(w.event_types, ["skill.created", "agent.created"]);
        assert!(!w.active);
    }

    #[test]
    fn every_mistake_is_reported_at_once_with_its_pointer_and_hint() {
        let r = webhook_create(
            &json!({"url": "ftp://example.com/", "eventTypes": ["skill.created", "Skill_Updated", "assignments.changed", "nope.nope.nope", 3], "enabled": true}),
            STRICT,
        );
        let errors = r.clone().unwrap_err();
        assert_eq!(
            codes(r),
            [
                ("/url".to_string(), EntryCode::InvalidFormat),
                ("/eventTypes/1".to_string(), EntryCode::InvalidFormat),
                ("/eventTypes/2".to_string(), EntryCode::InvalidFormat),
                ("/eventTypes/3".to_string(), EntryCode::InvalidFormat),
                ("/eventTypes/4".to_string(), EntryCode::InvalidType),
                ("/enabled".to_string(), EntryCode::UnknownField),
            ]
        );
        assert_eq!(
            errors[1].hint.as_deref(),
            Some("did you mean `skill.updated`?")
        );
        assert_eq!(
            errors[2].hint.as_deref(),
            Some("did you mean `assignment.changed`?")
        );
        assert_eq!(errors[3].hint, None);
        assert_eq!(errors[5].hint.as_deref(), Some("did you mean `active`?"));
        assert_eq!(
            codes(webhook_create(&json!({"eventTypes": []}), STRICT)),
            [
                ("/eventTypes".to_string(), EntryCode::OutOfRange),
                (String::new(), EntryCode::MissingField),
            ]
        );
        assert_eq!(
            codes(webhook_create(
                &json!({"url": "https://e.com", "eventTypes": ["*", "skill.created"]}),
                STRICT
            )),
            [("/eventTypes".to_string(), EntryCode::InvalidFormat)]
        );
    }

    #[test]
    fn urls_must_be_absolute_http_without_credentials() {
        for (url, code) in [
            ("example.com/hook", EntryCode::InvalidFormat),
            ("https://user:pw@example.com/", EntryCode::InvalidFormat),
            ("https://example.com/#frag", EntryCode::InvalidFormat),
            ("mailto:ops@example.com", EntryCode::InvalidFormat),
            ("https://", EntryCode::InvalidFormat),
            ("", EntryCode::OutOfRange),
        ] {
            assert_eq!(
                codes(webhook_patch(&json!({ "url": url }), STRICT)),
                [("/url".to_string(), code)],
                "{url}"
            );
        }
        let e = &webhook_patch(&json!({"url": "example.com/hook"}), STRICT).unwrap_err()[0];
        assert_eq!(
            e.hint.as_deref(),
            Some("add the scheme: https://example.com/hook")
        );
    }

    #[test]
    fn refused_destinations_are_not_allowed_and_private_ones_pass_when_the_operator_allows() {
        let lenient = Policy {
            allow_private: true,
        };
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://metadata.google.internal/",
            "http://[::ffff:169.254.169.254]/",
        ] {
            for p in [STRICT, lenient] {
                assert_eq!(
                    codes(webhook_create(&json!({ "url": url }), p)),
                    [("/url".to_string(), EntryCode::NotAllowed)],
                    "{url}"
                );
            }
        }
        for url in [
            "http://127.0.0.1:9000/",
            "http://10.0.0.7/",
            "http://localhost/",
            "http://[fc00::1]/",
        ] {
            assert_eq!(
                codes(webhook_create(&json!({ "url": url }), STRICT)),
                [("/url".to_string(), EntryCode::NotAllowed)],
                "{url}"
            );
            assert!(
                webhook_create(&json!({ "url": url }), lenient).is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn a_rotation_takes_an_optional_bounded_overlap() {
        assert_eq!(webhook_rotation(&Value::Null), Ok(None));
        assert_eq!(webhook_rotation(&json!({})), Ok(None));
        assert_eq!(webhook_rotation(&json!({"overlapSeconds": 0})), Ok(Some(0)));
        assert_eq!(
            codes(webhook_rotation(
                &json!({"overlapSeconds": MAX_OVERLAP_SECONDS + 1})
            )),
            [("/overlapSeconds".to_string(), EntryCode::OutOfRange)]
        );
        assert_eq!(
            codes(webhook_rotation(&json!({"overlap": 5}))),
            [("/overlap".to_string(), EntryCode::UnknownField)]
        );
    }
}
