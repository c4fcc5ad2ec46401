//! The all-errors-at-once validator.
//!
//! The big bodies (bulk, skill to agents, skill-set PUT and PATCH) arrive as bytes at
//! [`entry`], which first tries the typed fast path ([`fast`]); whenever it does not accept a
//! body, and for every other body, they are parsed to `serde_json::Value`s and walked
//! ([`bulk`], [`skillset`] and the modules of the small bodies). Both paths judge by the same
//! [`rules`] and never call each other. Each walk goes over its part of the document in body
//! order and records every problem in a [`Report`] with the RFC 6901 pointer of the offending
//! value (or, for a missing field, of the object that lacks it: a pointer always resolves in the
//! document that was sent). Only when the report is empty does a caller get typed values.
//! Keys an object repeats are found while the body is parsed ([`Document`]) and reported with
//! the walk's problems.

mod agents_bulk;
mod bulk;
mod clients;
mod entry;
pub mod fast;
mod fields;
mod hints;
mod json;
mod query;
mod resources;
pub mod rules;
mod settings;
mod skillset;
pub mod warnings;
mod webhooks;

pub use agents_bulk::{agents_bulk, AgentsBulk};
pub use bulk::{bulk_request, skill_to_agents};
pub use clients::{client_create, client_patch, ScopeHint};
pub use entry::{
    bulk_body, bulk_by_item, skill_set_merge_body, skill_set_replace_body, skill_to_agents_body,
};
pub use fields::{describe_json_type, timestamp};
pub use hints::nearest_level;
pub use json::{parse_json, strip_bom, Document};
pub use query::{parse_query, path_uuid, ExportFormat, QueryRules, QueryValues};
pub use resources::{agent_create, agent_patch, skill_create, skill_patch};
pub use rules::{
    precondition_header, BulkLimits, BulkRequest, ItemResult, SkillRules, SkillSetBody,
};
pub use settings::settings_patch;
pub use skillset::{single_assignment, skill_set_merge, skill_set_replace};
pub use webhooks::{webhook_create, webhook_patch, webhook_rotation};

use serde_json::{Map, Value};
use skillgrid_api::{EntryCode, ErrorEntry};

/// Every problem found so far, in body order.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<ErrorEntry>,
}

impl Report {
    pub fn push(&mut self, e: ErrorEntry) {
        self.errors.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when nothing was reported, else every entry.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<ErrorEntry>> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(self.errors),
        }
    }
}

/// Appends one reference token to a pointer, escaping `~` and `/` (RFC 6901 section 3).
pub fn child(ptr: &str, key: &str) -> String {
    let mut s = String::with_capacity(ptr.len() + key.len() + 1);
    s.push_str(ptr);
    s.push('/');
    for c in key.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

pub fn index(ptr: &str, i: usize) -> String {
    format!("{ptr}/{i}")
}

/// The fields an object may have, what it is called in messages, and which keys people
/// commonly send instead (other vendors' names, snake_case, …).
pub struct Schema {
    pub what: &'static str,
    pub fields: &'static [&'static str],
    pub required: &'static [&'static str],
    pub aliases: &'static [(&'static str, &'static str)],
}

impl Schema {
    /// Walks `map` in body order: known keys go to `visit`, unknown ones are reported with the
    /// field they most likely meant; afterwards missing required fields are reported at `ptr`
    /// (unless an unknown key was already taken to mean them).
    pub fn walk<'v>(
        &self,
        r: &mut Report,
        ptr: &str,
        map: &'v Map<String, Value>,
        mut visit: impl FnMut(&mut Report, &'static str, &'v Value, String),
    ) {
        let mut meant: Vec<&'static str> = Vec::new();
        for (key, value) in map {
            let p = child(ptr, key);
            if let Some(field) = self.fields.iter().find(|f| **f == key) {
                visit(r, field, value, p);
            } else {
                let guess = hints::nearest_field(key, self.fields, self.aliases);
                let mut e = ErrorEntry::at(
                    p,
                    EntryCode::UnknownField,
                    format!("`{key}` is not a field of {}", self.what),
                )
                .expected(format!("only {}", fields::list_fields(self.fields)));
                if let Some(g) = guess {
                    if !map.contains_key(g) {
                        meant.push(g);
                    }
                    e = e.hint(format!("did you mean `{g}`?"));
                }
                r.push(e);
            }
        }
        for req in self.required {
            if !map.contains_key(*req) && !meant.contains(req) {
                r.push(
                    ErrorEntry::at(
                        ptr.to_string(),
                        EntryCode::MissingField,
                        format!("{} needs `{req}`", self.what),
                    )
                    .expected(format!("an object with `{req}`")),
                );
            }
        }
    }
}

/// Reports a value of the wrong JSON type.
pub fn wrong_type(ptr: &str, what: &str, expected: &str, got: &Value) -> ErrorEntry {
    ErrorEntry::at(
        ptr.to_string(),
        EntryCode::InvalidType,
        format!("{what} must be {expected}, not {}", describe_json_type(got)),
    )
    .expected(expected.to_string())
    .received(fields::received(got))
}

#[cfg(test)]
mod tests;
