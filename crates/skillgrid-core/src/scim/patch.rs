//! SCIM PATCH (RFC 7644 section 3.5.2) applied to a User's JSON representation, as identity
//! providers send it: operation names in any case (Entra ID sends `Replace`), `add` or
//! `replace` without a path and an object of attributes (Okta), whose keys may themselves be
//! paths (`name.givenName`) or the extension's URN, and paths with a value filter
//! (`emails[type eq "work"].value`, `…:skills[skill eq "Billing"]`).
//!
//! The result is a whole representation again; the caller maps it onto the agent exactly as
//! it maps a `PUT`, so one set of rules decides what a User may be.

use super::filter::{self, attr_path, get_ci, AttrPath, Filter, Op, SKILLS_SCHEMA};
use serde_json::{Map, Value};

/// Why a PATCH is refused: its `scimType` and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub scim_type: &'static str,
    pub detail: String,
}

fn fail<T>(scim_type: &'static str, detail: impl Into<String>) -> Result<T, PatchError> {
    Err(PatchError {
        scim_type,
        detail: detail.into(),
    })
}

pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Attributes nobody may change.
const READ_ONLY: &[&str] = &["id", "meta", "groups"];

/// The spelling of the core attributes, for attributes a PATCH adds.
const SPELLING: &[&str] = &[
    "userName",
    "name",
    "displayName",
    "emails",
    "active",
    "externalId",
    "formatted",
    "givenName",
    "familyName",
    "value",
    "type",
    "primary",
    "skills",
    "skill",
    "proficiency",
];

fn spelt(name: &str) -> String {
    SPELLING
        .iter()
        .find(|s| s.eq_ignore_ascii_case(name))
        .map(|s| s.to_string())
        .unwrap_or_else(|| name.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Replace,
    Remove,
}

/// A PATCH path: an attribute, maybe a value filter on it, maybe a sub-attribute.
#[derive(Debug, Clone)]
struct Target {
    attr: AttrPath,
    filter: Option<Filter>,
}

fn target(path: &str) -> Result<Target, PatchError> {
    let invalid = |e: filter::FilterError| PatchError {
        scim_type: "invalidPath",
        detail: format!("the path `{path}` is not valid: {}", e.0),
    };
    let Some(open) = path.find('[') else {
        return Ok(Target {
            attr: attr_path(path.trim()).map_err(invalid)?,
            filter: None,
        });
    };
    let Some(close) = path.rfind(']') else {
        return fail(
            "invalidPath",
            format!("the path `{path}` opens `[` but never closes it"),
        );
    };
    let attr = attr_path(path[..open].trim()).map_err(invalid)?;
    if attr.sub.is_some() {
        return fail(
            "invalidPath",
            format!("the path `{path}` filters a sub-attribute"),
        );
    }
    let within = AttrPath {
        ext: attr.ext,
        attr: spelt(&attr.attr),
        sub: None,
    };
    let f = filter::parse_within(&path[open + 1..close], within.clone()).map_err(invalid)?;
    let rest = path[close + 1..].trim();
    let sub = match rest.strip_prefix('.') {
        Some(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Some(s.to_string())
        }
        None if rest.is_empty() => None,
        _ => return fail("invalidPath", format!("the path `{path}` ends in `{rest}`")),
    };
    Ok(Target {
        attr: AttrPath { sub, ..within },
        filter: Some(f),
    })
}

/// Applies a PATCH request's body to `resource`.
pub fn apply(resource: &mut Value, body: &Value) -> Result<(), PatchError> {
    let Some(obj) = body.as_object() else {
        return fail(
            "invalidSyntax",
            "a PATCH body is a JSON object with `schemas` and `Operations`",
        );
    };
    if let Some(schemas) = get_ci(body, "schemas") {
        let ok = schemas.as_array().is_some_and(|a| {
            a.iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP)))
        });
        if !ok {
            return fail("invalidSyntax", format!("`schemas` must list {PATCH_OP}"));
        }
    }
    let ops = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v);
    let Some(Value::Array(ops)) = ops else {
        return fail(
            "invalidSyntax",
            "`Operations` must be an array of operations",
        );
    };
    if ops.is_empty() {
        return fail("invalidSyntax", "`Operations` is empty");
    }
    for (i, op) in ops.iter().enumerate() {
        one(resource, op).map_err(|e| PatchError {
            detail: format!("Operations[{i}]: {}", e.detail),
            ..e
        })?;
    }
    Ok(())
}

fn one(resource: &mut Value, op: &Value) -> Result<(), PatchError> {
    if !op.is_object() {
        return fail(
            "invalidSyntax",
            "an operation is an object with `op`, `path`, `value`",
        );
    }
    let kind = match get_ci(op, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => Kind::Add,
        Some("replace") => Kind::Replace,
        Some("remove") => Kind::Remove,
        Some(other) => {
            return fail(
                "invalidSyntax",
                format!("`{other}` is not an operation; use add, replace or remove"),
            )
        }
        None => return fail("invalidSyntax", "`op` is missing (add, replace or remove)"),
    };
    let path = match get_ci(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
        Some(_) => return fail("invalidPath", "`path` must be a non-empty string"),
    };
    let value = get_ci(op, "value");
    if path.is_some_and(|p| p.trim().eq_ignore_ascii_case(SKILLS_SCHEMA)) {
        return whole_extension(resource, kind, value);
    }
    match (kind, path) {
        (Kind::Remove, None) => fail("noTarget", "`remove` needs a `path`"),
        (Kind::Remove, Some(p)) => at(resource, kind, &target(p)?, None),
        (_, None) => {
            let Some(Value::Object(attrs)) = value else {
                return fail(
                    "invalidValue",
                    "without a `path`, `value` must be an object of attributes",
                );
            };
            for (k, v) in attrs {
                if k.eq_ignore_ascii_case(SKILLS_SCHEMA) {
                    whole_extension(resource, kind, Some(v))?;
                } else if k.eq_ignore_ascii_case("schemas") {
                    continue;
                } else {
                    at(resource, kind, &target(k)?, Some(v))?;
                }
            }
            Ok(())
        }
        (_, Some(p)) => match value {
            None => fail(
                "invalidValue",
                format!(
                    "`{}` at `{p}` needs a `value`",
                    if kind == Kind::Add { "add" } else { "replace" }
                ),
            ),
            Some(v) => at(resource, kind, &target(p)?, Some(v)),
        },
    }
}

/// An operation on the skills extension as a whole: its attributes added or replaced from an
/// object, or the extension removed.
fn whole_extension(
    resource: &mut Value,
    kind: Kind,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    if kind == Kind::Remove {
        if let Some(root) = resource.as_object_mut() {
            root.retain(|k, _| !k.eq_ignore_ascii_case(SKILLS_SCHEMA));
        }
        return Ok(());
    }
    let Some(Value::Object(ext)) = value else {
        return fail(
            "invalidValue",
            format!("the value for `{SKILLS_SCHEMA}` must be an object"),
        );
    };
    for (k, v) in ext {
        if k.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let mut t = target(k)?;
        t.attr.ext = true;
        at(resource, kind, &t, Some(v))?;
    }
    Ok(())
}

/// The object a target's attribute lives in: the resource or its extension object (made
/// when a value is added to it).
fn container(resource: &mut Value, ext: bool, make: bool) -> Option<&mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    if !ext {
        return Some(root);
    }
    let key = root
        .keys()
        .find(|k| k.eq_ignore_ascii_case(SKILLS_SCHEMA))
        .cloned();
    let key = match key {
        Some(k) => k,
        None if make => {
            root.insert(SKILLS_SCHEMA.to_string(), Value::Object(Map::new()));
            SKILLS_SCHEMA.to_string()
        }
        None => return None,
    };
    root.get_mut(&key)?.as_object_mut()
}

/// The key of `map` spelling `name` in some case, or the schema's spelling of it.
fn key_of(map: &Map<String, Value>, name: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| spelt(name))
}

fn at(
    resource: &mut Value,
    kind: Kind,
    t: &Target,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    let name = t.attr.attr.clone();
    if !t.attr.ext && READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
        return fail("mutability", format!("`{name}` is read-only"));
    }
    let Some(map) = container(resource, t.attr.ext, kind != Kind::Remove) else {
        return Ok(()); // removing from an extension the resource does not have
    };
    let key = key_of(map, &name);
    match (&t.filter, &t.attr.sub) {
        (None, None) => {
            match kind {
                Kind::Remove => {
                    map.remove(&key);
                }
                _ => {
                    let v = value.cloned().unwrap_or(Value::Null);
                    let merged = match (map.get_mut(&key), v) {
                        (Some(Value::Array(have)), Value::Array(more)) if kind == Kind::Add => {
                            add_elements(have, more);
                            None
                        }
                        (Some(Value::Object(have)), Value::Object(more)) => {
                            for (k, v) in more {
                                let k = key_of(have, &k);
                                have.insert(k, v);
                            }
                            None
                        }
                        (_, v) => Some(v),
                    };
                    if let Some(v) = merged {
                        map.insert(key, v);
                    }
                }
            }
            Ok(())
        }
        (None, Some(sub)) => {
            match map.get_mut(&key) {
                Some(Value::Array(items)) => {
                    for item in items.iter_mut() {
                        set_sub(item, sub, kind, value);
                    }
                }
                Some(v @ Value::Object(_)) => set_sub(v, sub, kind, value),
                _ if kind == Kind::Remove => {}
                _ => {
                    let mut o = Value::Object(Map::new());
                    set_sub(&mut o, sub, kind, value);
                    map.insert(key, o);
                }
            }
            Ok(())
        }
        (Some(f), sub) => {
            let items = match map.get_mut(&key) {
                Some(Value::Array(items)) => items,
                Some(_) => return fail("invalidPath", format!("`{name}` is not multi-valued")),
                None if kind == Kind::Remove => return Ok(()),
                None => {
                    map.insert(key.clone(), Value::Array(Vec::new()));
                    match map.get_mut(&key) {
                        Some(Value::Array(items)) => items,
                        _ => return Ok(()),
                    }
                }
            };
            let hit: Vec<usize> = (0..items.len())
                .filter(|i| filter::matches_element(f, &items[*i]))
                .collect();
            match (kind, sub) {
                (Kind::Remove, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !hit.contains(&i);
                        i += 1;
                        keep
                    });
                }
                (Kind::Remove, Some(sub)) => {
                    for i in hit {
                        set_sub(&mut items[i], sub, kind, None);
                    }
                }
                (_, _) if hit.is_empty() => {
                    // Nothing matches: an element made of the filter's `eq` terms, with the
                    // value (Entra ID sends `replace emails[type eq "work"].value` for a user
                    // without one).
                    let Some(mut made) = element_of(f) else {
                        return fail(
                            "noTarget",
                            format!("no value of `{name}` matches the filter"),
                        );
                    };
                    match (sub, value) {
                        (Some(sub), v) => set_sub(&mut made, sub, Kind::Replace, v),
                        (None, Some(Value::Object(more))) => {
                            if let Value::Object(m) = &mut made {
                                m.extend(more.clone());
                            }
                        }
                        (None, _) => {
                            return fail(
                                "invalidValue",
                                format!("the value for `{name}[…]` must be an object"),
                            )
                        }
                    }
                    items.push(made);
                }
                (_, Some(sub)) => {
                    for i in hit {
                        set_sub(&mut items[i], sub, kind, value);
                    }
                }
                (_, None) => {
                    let Some(Value::Object(more)) = value else {
                        return fail(
                            "invalidValue",
                            format!("the value for `{name}[…]` must be an object"),
                        );
                    };
                    for i in hit {
                        if let Value::Object(m) = &mut items[i] {
                            for (k, v) in more {
                                let k = key_of(m, k);
                                m.insert(k, v.clone());
                            }
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

fn set_sub(item: &mut Value, sub: &str, kind: Kind, value: Option<&Value>) {
    let Value::Object(m) = item else { return };
    let k = key_of(m, sub);
    match (kind, value) {
        (Kind::Remove, _) | (_, None) => {
            m.remove(&k);
        }
        (_, Some(v)) => {
            m.insert(k, v.clone());
        }
    }
}

/// Adds elements to a multi-valued attribute; an element equal to one already there, or a
/// skill already held (same `skill`, any case), replaces it rather than repeating it.
fn add_elements(have: &mut Vec<Value>, more: Vec<Value>) {
    for v in more {
        let same_skill = |e: &Value| match (get_ci(e, "skill"), get_ci(&v, "skill")) {
            (Some(Value::String(a)), Some(Value::String(b))) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        if let Some(i) = have.iter().position(|e| *e == v || same_skill(e)) {
            have[i] = v;
        } else {
            have.push(v);
        }
    }
}

/// The element a filter of `eq` terms joined by `and` describes, if it is one.
fn element_of(f: &Filter) -> Option<Value> {
    let mut m = Map::new();
    fn walk(f: &Filter, m: &mut Map<String, Value>) -> bool {
        match f {
            Filter::And(a, b) => walk(a, m) && walk(b, m),
            Filter::Compare(p, Op::Eq, v) => match &p.sub {
                Some(s) => {
                    m.insert(s.clone(), v.clone());
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
    walk(f, &mut m).then_some(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "x",
            "userName": "ana@example.com",
            "name": {"formatted": "Ana Lopez", "givenName": "Ana", "familyName": "Lopez"},
            "emails": [{"value": "ana@example.com", "type": "work", "primary": true}],
            "active": true,
            SKILLS_SCHEMA: {"skills": [{"skill": "Billing", "proficiency": 75},
                                       {"skill": "Sales", "proficiency": 50}]}
        })
    }

    fn patched(ops: Value) -> Result<Value, PatchError> {
        let mut u = user();
        apply(&mut u, &json!({"schemas": [PATCH_OP], "Operations": ops}))?;
        Ok(u)
    }

    #[test]
    fn entra_replace_with_capital_op_and_filtered_path() {
        let u = patched(json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ana.l@example.com"},
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "name.givenName", "value": "Anna"}
        ]))
        .unwrap();
        assert_eq!(u["emails"][0]["value"], "ana.l@example.com");
        assert_eq!(u["active"], "False");
        assert_eq!(u["name"]["givenName"], "Anna");
        assert_eq!(u["name"]["familyName"], "Lopez");
    }

    #[test]
    fn okta_replace_without_path() {
        let u = patched(
            json!([{"op": "replace", "value": {"active": false, "name.familyName": "Diaz",
            SKILLS_SCHEMA: {"skills": [{"skill": "Chat", "proficiency": 10}]}}}]),
        )
        .unwrap();
        assert_eq!(u["active"], false);
        assert_eq!(u["name"]["familyName"], "Diaz");
        assert_eq!(
            u[SKILLS_SCHEMA]["skills"],
            json!([{"skill": "Chat", "proficiency": 10}])
        );
    }

    #[test]
    fn skills_removed_and_added_by_filter() {
        let path = format!("{SKILLS_SCHEMA}:skills[skill eq \"billing\"]");
        let u = patched(json!([
            {"op": "remove", "path": path},
            {"op": "add", "path": format!("{SKILLS_SCHEMA}:skills"), "value": [{"skill": "sales", "proficiency": 90}]}
        ]))
        .unwrap();
        assert_eq!(
            u[SKILLS_SCHEMA]["skills"],
            json!([{"skill": "sales", "proficiency": 90}])
        );
        let u = patched(json!([{"op": "replace", "path": format!("{SKILLS_SCHEMA}:skills[skill eq \"Sales\"].proficiency"), "value": 60}])).unwrap();
        assert_eq!(u[SKILLS_SCHEMA]["skills"][1]["proficiency"], 60);
    }

    #[test]
    fn the_extension_as_a_whole() {
        let u = patched(json!([{"op": "replace", "path": SKILLS_SCHEMA,
            "value": {"skills": [{"skill": "Chat", "proficiency": 1}]}}]))
        .unwrap();
        assert_eq!(
            u[SKILLS_SCHEMA]["skills"],
            json!([{"skill": "Chat", "proficiency": 1}])
        );
        let u = patched(json!([{"op": "remove", "path": SKILLS_SCHEMA}])).unwrap();
        assert!(u.get(SKILLS_SCHEMA).is_none());
    }

    #[test]
    fn a_missing_element_is_made_from_the_filter() {
        let mut u = user();
        u.as_object_mut().unwrap().remove("emails");
        apply(&mut u, &json!({"Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@example.com"}]})).unwrap();
        assert_eq!(
            u["emails"],
            json!([{"type": "work", "value": "b@example.com"}])
        );
    }

    #[test]
    fn refusals_name_their_scim_type() {
        let cases = [
            (json!([{"op": "remove"}]), "noTarget"),
            (json!([{"op": "move", "path": "active"}]), "invalidSyntax"),
            (
                json!([{"op": "replace", "path": "id", "value": "y"}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": "emails[type zz \"work\"]", "value": {}}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails[value pr].value", "value": "a"}]),
                "noTarget",
            ),
            (json!([{"op": "add", "path": "active"}]), "invalidValue"),
            (json!([{"op": "add", "value": 3}]), "invalidValue"),
            (json!([]), "invalidSyntax"),
        ];
        for (ops, ty) in cases {
            let mut u = user();
            u.as_object_mut().unwrap().remove("emails");
            let e = apply(
                &mut u,
                &json!({"schemas": [PATCH_OP], "Operations": ops.clone()}),
            )
            .unwrap_err();
            assert_eq!(e.scim_type, ty, "{ops}");
        }
        let e = apply(&mut user(), &json!({"schemas": ["x"], "Operations": []})).unwrap_err();
        assert_eq!(e.scim_type, "invalidSyntax");
    }
}
