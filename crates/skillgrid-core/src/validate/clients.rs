//! Bodies of the API client routes (`/admin/clients`).

use super::resources::object;
use super::{fields, index, wrong_type, Report, Schema};
use crate::model::{ClientPatch, NewClient};
use serde_json::Value;
use skillgrid_api::{scopes, EntryCode, ErrorEntry};

const NAME_MAX: usize = 200;

const CLIENT_CREATE: Schema = Schema {
    what: "an API client",
    fields: &["name", "scopes"],
    required: &["name", "scopes"],
    aliases: &[
        ("clientName", "name"),
        ("displayName", "name"),
        ("scope", "scopes"),
        ("permissions", "scopes"),
        ("roles", "scopes"),
    ],
};

const CLIENT_PATCH: Schema = Schema {
    what: "an API client update",
    fields: &["name", "scopes", "active"],
    required: &[],
    aliases: &[
        ("clientName", "name"),
        ("displayName", "name"),
        ("scope", "scopes"),
        ("permissions", "scopes"),
        ("roles", "scopes"),
        ("enabled", "active"),
        ("disabled", "active"),
        ("state", "active"),
    ],
};

/// What a caller adds to the entry of a name that is not a skillgrid scope (another
/// product's scope names are known to the server, which says which scopes are meant).
pub type ScopeHint<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn client_create(body: &Value, hint: ScopeHint) -> Result<NewClient, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let (mut name, mut scope_list) = (None, None);
    if let Some(map) = object(
        &mut r,
        body,
        r#"{"name": "importer", "scopes": ["admin:agent:read", "admin:agent:write"]}"#,
    ) {
        CLIENT_CREATE.walk(&mut r, "", map, |r, f, v, p| match f {
            "name" => name = fields::text(r, &p, "name", v, 1, NAME_MAX),
            _ => scope_list = scope_names(r, &p, v, hint),
        });
    }
    let out = name
        .zip(scope_list)
        .map(|(name, scopes)| NewClient { name, scopes });
    r.finish(out)
}

pub fn client_patch(body: &Value, hint: ScopeHint) -> Result<ClientPatch, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut patch = ClientPatch::default();
    if let Some(map) = object(
        &mut r,
        body,
        r#"{"name": "…", "scopes": ["admin:agent:read"], "active": false}"#,
    ) {
        CLIENT_PATCH.walk(&mut r, "", map, |r, f, v, p| match f {
            "name" => patch.name = fields::text(r, &p, "name", v, 1, NAME_MAX),
            "scopes" => patch.scopes = scope_names(r, &p, v, hint),
            _ => patch.active = fields::boolean(r, &p, "active", v),
        });
    }
    r.finish(Some(patch))
}

/// A non-empty array of skillgrid scope names; one named twice is kept once.
fn scope_names(r: &mut Report, ptr: &str, v: &Value, hint: ScopeHint) -> Option<Vec<String>> {
    let known = scopes::ALL.join(" ");
    let items = match v {
        Value::Array(items) => items,
        Value::String(s) => {
            let list: Vec<&str> = s.split_whitespace().collect();
            r.push(
                wrong_type(ptr, "scopes", "an array of scope names", v)
                    .hint(format!("send a list: {}", serde_json::json!(list))),
            );
            return None;
        }
        other => {
            r.push(wrong_type(ptr, "scopes", "an array of scope names", other));
            return None;
        }
    };
    if items.is_empty() {
        r.push(
            ErrorEntry::at(
                ptr,
                EntryCode::OutOfRange,
                "a client needs at least one scope",
            )
            .expected(format!("one or more of: {known}"))
            .received(Value::Array(vec![])),
        );
        return None;
    }
    let before = r.errors.len();
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(ptr, i);
        let Value::String(name) = item else {
            r.push(wrong_type(&p, "a scope", "a string", item));
            continue;
        };
        if !scopes::ALL.contains(&name.as_str()) {
            r.push(
                ErrorEntry::at(
                    p,
                    EntryCode::InvalidFormat,
                    format!("`{}` is not a skillgrid scope", fields::truncate(name)),
                )
                .expected(format!("one of: {known}"))
                .received(fields::received(item))
                .maybe_hint(hint(name)),
            );
            continue;
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    (r.errors.len() == before).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn none(_: &str) -> Option<String> {
        None
    }

    fn codes(r: Result<impl std::fmt::Debug, Vec<ErrorEntry>>) -> Vec<(String, EntryCode)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.pointer.unwrap_or_default(), e.code))
            .collect()
    }

    #[test]
    fn a_valid_client_keeps_each_scope_once_in_order() {
        let c = client_create(
            &json!({"name": " importer ", "scopes": ["admin:agent:write", "admin:agent:read", "admin:agent:write"]}),
            &none,
        )
        .unwrap();
        assert_eq!(c.name, "importer");
        assert_eq!(c.scopes, ["admin:agent:write", "admin:agent:read"]);
    }

    #[test]
    fn every_mistake_is_reported_with_its_pointer() {
        let r = client_create(
            &json!({"clientName": "x", "scopes": ["admin:skill:read", "admin:everything", 7]}),
            &|s: &str| (s == "admin:everything").then(|| "no such scope anywhere".to_string()),
        );
        let errors = r.clone().unwrap_err();
        assert_eq!(
            codes(r),
            [
                ("/clientName".to_string(), EntryCode::UnknownField),
                ("/scopes/1".to_string(), EntryCode::InvalidFormat),
                ("/scopes/2".to_string(), EntryCode::InvalidType),
            ]
        );
        assert_eq!(errors[0].hint.as_deref(), Some("did you mean `name`?"));
        assert_eq!(errors[1].hint.as_deref(), Some("no such scope anywhere"));
        assert_eq!(
            codes(client_create(&json!({"name": "x", "scopes": []}), &none)),
            [("/scopes".to_string(), EntryCode::OutOfRange)]
        );
        assert_eq!(
            codes(client_create(&json!([]), &none)),
            [(String::new(), EntryCode::InvalidType)]
        );
    }

    #[test]
    fn scopes_as_one_oauth_string_are_refused_with_the_list_to_send() {
        let r = client_patch(
            &json!({"scopes": "admin:skill:read admin:skill:write"}),
            &none,
        );
        let e = &r.unwrap_err()[0];
        assert_eq!(e.code, EntryCode::InvalidType);
        assert_eq!(
            e.hint.as_deref(),
            Some(r#"send a list: ["admin:skill:read","admin:skill:write"]"#)
        );
    }

    #[test]
    fn a_patch_takes_any_subset_and_names_enabled_as_active() {
        assert_eq!(
            client_patch(&json!({}), &none).unwrap(),
            ClientPatch::default()
        );
        let p = client_patch(&json!({"active": false, "name": "old importer"}), &none).unwrap();
        assert_eq!(
            (p.active, p.name.as_deref()),
            (Some(false), Some("old importer"))
        );
        let e = &client_patch(&json!({"enabled": false}), &none).unwrap_err()[0];
        assert_eq!(e.hint.as_deref(), Some("did you mean `active`?"));
        assert_eq!(
            codes(client_patch(&json!({"active": "no", "name": ""}), &none)),
            [
                ("/active".to_string(), EntryCode::InvalidType),
                ("/name".to_string(), EntryCode::OutOfRange)
            ]
        );
    }
}
