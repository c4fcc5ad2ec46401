//! `attributes` and `excludedAttributes` (RFC 7644 section 3.4.2.5, section 3.9): which attributes of a
//! resource an answer shows. `id` and `schemas` are always shown.

use super::filter::{attr_path, AttrPath, FilterError, SKILLS_SCHEMA};
use serde_json::{Map, Value};

/// An attribute named in a list: a path, or the skills extension as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    Path(AttrPath),
    Extension,
}

/// What an answer shows: only `only` (when given), less `excluded`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    pub only: Option<Vec<Selected>>,
    pub excluded: Vec<Selected>,
}

const ALWAYS: [&str; 2] = ["id", "schemas"];

/// A comma-separated list of attribute paths.
pub fn parse_list(s: &str) -> Result<Vec<Selected>, FilterError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.eq_ignore_ascii_case(SKILLS_SCHEMA) {
                Ok(Selected::Extension)
            } else {
                attr_path(p).map(Selected::Path)
            }
        })
        .collect()
}

fn key_of(m: &Map<String, Value>, name: &str) -> Option<String> {
    m.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn ext_key(m: &Map<String, Value>) -> Option<String> {
    key_of(m, SKILLS_SCHEMA)
}

impl Projection {
    pub fn is_empty(&self) -> bool {
        self.only.is_none() && self.excluded.is_empty()
    }

    /// Applies the projection to one resource.
    pub fn apply(&self, resource: &mut Value) {
        let Value::Object(m) = resource else { return };
        for sel in &self.excluded {
            remove(m, sel);
        }
        if let Some(only) = &self.only {
            let mut kept = Map::new();
            for name in ALWAYS {
                if let Some(k) = key_of(m, name) {
                    kept.insert(k.clone(), m[&k].clone());
                }
            }
            for sel in only {
                copy(m, &mut kept, sel);
            }
            *m = kept;
        }
    }
}

fn remove(m: &mut Map<String, Value>, sel: &Selected) {
    let p = match sel {
        Selected::Extension => {
            if let Some(k) = ext_key(m) {
                m.remove(&k);
            }
            return;
        }
        Selected::Path(p) => p,
    };
    if !p.ext && p.sub.is_none() && ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&p.attr)) {
        return;
    }
    let holder = if p.ext {
        match ext_key(m).and_then(|k| m.get_mut(&k)) {
            Some(Value::Object(e)) => e,
            _ => return,
        }
    } else {
        m
    };
    let Some(k) = key_of(holder, &p.attr) else {
        return;
    };
    match &p.sub {
        None => {
            holder.remove(&k);
        }
        Some(sub) => match holder.get_mut(&k) {
            Some(Value::Object(o)) => {
                if let Some(sk) = key_of(o, sub) {
                    o.remove(&sk);
                }
            }
            Some(Value::Array(items)) => {
                for i in items.iter_mut() {
                    if let Value::Object(o) = i {
                        if let Some(sk) = key_of(o, sub) {
                            o.remove(&sk);
                        }
                    }
                }
            }
            _ => {}
        },
    }
}

fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, sel: &Selected) {
    let p = match sel {
        Selected::Extension => {
            if let Some(k) = ext_key(from) {
                to.insert(k.clone(), from[&k].clone());
            }
            return;
        }
        Selected::Path(p) => p,
    };
    let (src, dst) = if p.ext {
        let Some(k) = ext_key(from) else { return };
        let Value::Object(src) = &from[&k] else {
            return;
        };
        let dst = to.entry(k).or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(dst) = dst else { return };
        (src, dst)
    } else {
        (from, &mut *to)
    };
    let Some(k) = key_of(src, &p.attr) else {
        return;
    };
    let value = &src[&k];
    match &p.sub {
        None => {
            dst.insert(k, value.clone());
        }
        Some(sub) => {
            let pick = |o: &Map<String, Value>| {
                let mut out = Map::new();
                if let Some(sk) = key_of(o, sub) {
                    out.insert(sk.clone(), o[&sk].clone());
                }
                out
            };
            let picked = match value {
                Value::Object(o) => Value::Object(pick(o)),
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|o| Value::Object(pick(o)))
                        .collect(),
                ),
                _ => return,
            };
            // Two sub-attributes of one attribute: merged.
            match (dst.get_mut(&k), picked) {
                (Some(Value::Object(have)), Value::Object(more)) => have.extend(more),
                (Some(Value::Array(have)), Value::Array(more)) => {
                    for (h, m) in have.iter_mut().zip(more) {
                        if let (Value::Object(h), Value::Object(m)) = (h, m) {
                            h.extend(m);
                        }
                    }
                }
                (_, picked) => {
                    dst.insert(k, picked);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"schemas": ["s"], "id": "1", "userName": "a", "displayName": "A",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x.io", "type": "work"}],
            "meta": {"resourceType": "User"},
            SKILLS_SCHEMA: {"skills": [{"skill": "Chat", "proficiency": "1"}]}})
    }

    fn projected(only: Option<&str>, excluded: &str) -> Value {
        let p = Projection {
            only: only.map(|o| parse_list(o).unwrap()),
            excluded: parse_list(excluded).unwrap(),
        };
        let mut u = user();
        p.apply(&mut u);
        u
    }

    #[test]
    fn only_what_is_asked_and_always_id() {
        assert_eq!(
            projected(Some("userName,name.familyName,emails.value"), ""),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"familyName": "B"},
                   "emails": [{"value": "a@x.io"}]})
        );
        assert_eq!(
            projected(Some(&format!("{SKILLS_SCHEMA}:skills")), "")[SKILLS_SCHEMA],
            json!({"skills": [{"skill": "Chat", "proficiency": "1"}]})
        );
    }

    #[test]
    fn excluded_ones_are_gone_but_never_id() {
        let u = projected(None, &format!("name,ID,emails.type,{SKILLS_SCHEMA}"));
        assert!(u.get("name").is_none());
        assert_eq!(u["id"], "1");
        assert_eq!(u["emails"], json!([{"value": "a@x.io"}]));
        assert!(u.get(SKILLS_SCHEMA).is_none());
        assert_eq!(u["displayName"], "A");
    }
}
