//! The walk of `POST /admin/users/bulk`: many agents created or updated at once, each matched
//! by its email.
//!
//! As in the bulk skill-set request, request-wide problems (shape, `atomic`, `dryRun`, the
//! number of agents) fail the whole request, and problems inside an agent are kept per agent,
//! so a non-atomic request can write the good ones and report the bad ones. An email that
//! appears twice (in any case) is `duplicate_agent` at the later one's `email`. Pointers are
//! relative to the request body.

use super::fields::{self, received};
use super::resources::{email, object, AGENT_PATCH, EXTERNAL_ID_MAX, NAME_MAX};
use super::{index, wrong_type, Report, Schema};
use crate::model::UpsertAgent;
use serde_json::Value;
use skillgrid_api::{EntryCode, ErrorEntry};
use std::collections::HashMap;

const SHAPE: &str = r#"{"atomic": true, "agents": [{"email": "ana@example.com", "name": "Ana", "externalId": "E-1", "active": true}]}"#;

const ROOT: Schema = Schema {
    what: "a bulk agents request",
    fields: &["atomic", "dryRun", "agents"],
    required: &["agents"],
    aliases: &[
        ("items", "agents"),
        ("users", "agents"),
        ("data", "agents"),
        ("transactional", "atomic"),
        ("allOrNothing", "atomic"),
        ("dry_run", "dryRun"),
        ("preview", "dryRun"),
        ("validateOnly", "dryRun"),
    ],
};

/// One agent: the fields of an agent update, `email` and `name` required.
const AGENT: Schema = Schema {
    what: "an agent",
    fields: AGENT_PATCH.fields,
    required: &["email", "name"],
    aliases: AGENT_PATCH.aliases,
};

/// A bulk agents request as walked: its options, and each agent or its problems.
#[derive(Debug)]
pub struct AgentsBulk {
    pub atomic: bool,
    pub dry_run: bool,
    pub agents: Vec<Result<UpsertAgent, Vec<ErrorEntry>>>,
    /// Each agent's email as sent, when it was a string (for the answer).
    pub emails: Vec<Option<String>>,
}

impl AgentsBulk {
    /// Every agent's problems, in body order.
    pub fn problems(self) -> Vec<ErrorEntry> {
        self.agents
            .into_iter()
            .filter_map(Result::err)
            .flatten()
            .collect()
    }
}

/// Walks the body of `POST /admin/users/bulk`; at most `max_items` agents.
pub fn agents_bulk(body: &Value, max_items: u64) -> Result<AgentsBulk, Vec<ErrorEntry>> {
    let mut r = Report::default();
    let mut atomic = true;
    let mut dry_run = false;
    // Where the agents' problems go among the request-wide ones (body order), should the
    // request fail as a whole.
    let mut at = 0;
    let (list, base) = match body {
        // A bare array is the list of agents, with the defaults.
        Value::Array(list) => (list, String::new()),
        _ => {
            let Some(root) = object(&mut r, body, SHAPE) else {
                return Err(r.errors);
            };
            let mut agents = None;
            ROOT.walk(&mut r, "", root, |r, f, v, p| match f {
                "atomic" => atomic = fields::boolean(r, &p, "atomic", v).unwrap_or(atomic),
                "dryRun" => dry_run = fields::boolean(r, &p, "dryRun", v).unwrap_or(dry_run),
                _ => match v {
                    Value::Array(list) => {
                        agents = Some((list, p));
                        at = r.errors.len();
                    }
                    other => r.push(
                        wrong_type(&p, "`agents`", "an array of agents", other)
                            .hint(format!("send {SHAPE}")),
                    ),
                },
            });
            match agents {
                Some(found) => found,
                None => return Err(r.errors),
            }
        }
    };
    if list.len() as u64 > max_items {
        r.errors.insert(
            at,
            ErrorEntry::at(
                base.clone(),
                EntryCode::TooManyItems,
                format!(
                    "{} agents were sent; at most {max_items} are allowed per request",
                    list.len()
                ),
            )
            .expected(format!(
                "at most {max_items} agents (limits.maxItemsPerBulk); split the request"
            ))
            .received(Value::from(list.len())),
        );
        // Too many to be read one by one: the request is refused as a whole.
        return Err(r.errors);
    }
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut agents = Vec::with_capacity(list.len());
    let mut emails = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let mut ir = Report::default();
        let agent = upsert_agent(&mut ir, &index(&base, i), v, i, &mut first_seen);
        emails.push(v.get("email").and_then(Value::as_str).map(String::from));
        agents.push(match agent {
            Some(a) if ir.is_empty() => Ok(a),
            _ => Err(ir.errors),
        });
    }
    if !r.is_empty() {
        // A request-wide mistake fails the request: with every agent's mistakes too.
        let mut errors = r.errors;
        let items: Vec<ErrorEntry> = agents
            .into_iter()
            .filter_map(Result::err)
            .flatten()
            .collect();
        errors.splice(at..at, items);
        return Err(errors);
    }
    Ok(AgentsBulk {
        atomic,
        dry_run,
        agents,
        emails,
    })
}

/// Agent `i` at `ptr`; `first_seen` holds the emails (lower case) of the agents before it.
fn upsert_agent(
    r: &mut Report,
    ptr: &str,
    v: &Value,
    i: usize,
    first_seen: &mut HashMap<String, usize>,
) -> Option<UpsertAgent> {
    let Value::Object(map) = v else {
        r.push(wrong_type(ptr, "an agent", "an object", v).hint(
            r#"each agent is an object such as {"email": "ana@example.com", "name": "Ana"}"#,
        ));
        return None;
    };
    let (mut address, mut name) = (None, None);
    let (mut external_id, mut active) = (None, None);
    let mut valid = true;
    AGENT.walk(r, ptr, map, |r, f, v, p| match f {
        "email" => {
            address = email(r, &p, v);
            valid &= address.is_some();
            if let Some(a) = &address {
                duplicate(r, &p, a, v, i, first_seen);
            }
        }
        "name" => {
            name = fields::text(r, &p, "name", v, 1, NAME_MAX);
            valid &= name.is_some();
        }
        "externalId" => {
            external_id = fields::optional_text(r, &p, "externalId", v, EXTERNAL_ID_MAX);
            valid &= external_id.is_some();
        }
        _ => {
            active = fields::boolean(r, &p, "active", v);
            valid &= active.is_some();
        }
    });
    match (address, name) {
        (Some(email), Some(name)) if valid => Some(UpsertAgent {
            email,
            name,
            external_id,
            active,
        }),
        _ => None,
    }
}

/// `duplicate_agent` when an earlier agent has this email in any case.
fn duplicate(
    r: &mut Report,
    p: &str,
    address: &str,
    v: &Value,
    i: usize,
    first_seen: &mut HashMap<String, usize>,
) {
    let key = address.to_lowercase();
    if let Some(first) = first_seen.get(&key) {
        r.push(
            ErrorEntry::at(
                p.to_string(),
                EntryCode::DuplicateAgent,
                format!(
                    "the email `{}` appears in more than one agent (emails are compared case-insensitively)",
                    fields::truncate(address)
                ),
            )
            .received(received(v))
            .hint(format!(
                "it first appears in agent {first}; send each agent once"
            )),
        );
    } else {
        first_seen.insert(key, i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(errors: &[ErrorEntry]) -> Vec<(String, EntryCode)> {
        errors
            .iter()
            .map(|e| (e.pointer.clone().unwrap_or_default(), e.code))
            .collect()
    }

    #[test]
    fn every_agents_mistakes_at_once_with_pointers() {
        let body = json!({"agents": [
            {"email": "ana@example.com", "name": "Ana"},
            {"email": "not-an-email", "name": "x".repeat(201)},
            {"email": "ANA@example.com", "name": "Ana again", "enabled": true},
            {"mail": "bo@example.com", "name": 7, "active": "yes"},
            "carla@example.com"
        ]});
        let req = agents_bulk(&body, 100).expect("request-wide fine");
        assert!(req.atomic && !req.dry_run);
        assert!(req.agents[0].is_ok());
        let all = req.problems();
        assert_eq!(
            codes(&all),
            vec![
                ("/agents/1/email".into(), EntryCode::InvalidFormat),
                ("/agents/1/name".into(), EntryCode::OutOfRange),
                ("/agents/2/email".into(), EntryCode::DuplicateAgent),
                ("/agents/2/enabled".into(), EntryCode::UnknownField),
                ("/agents/3/mail".into(), EntryCode::UnknownField),
                ("/agents/3/name".into(), EntryCode::InvalidType),
                ("/agents/3/active".into(), EntryCode::InvalidType),
                ("/agents/4".into(), EntryCode::InvalidType),
            ]
        );
        assert!(all[2]
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("agent 0"));
    }

    #[test]
    fn request_wide_problems_fail_the_request() {
        let too_many =
            json!({"agents": [{"email": "a@b.co", "name": "A"}, {"email": "c@b.co", "name": "C"}]});
        let e = agents_bulk(&too_many, 1).expect_err("over the limit");
        assert_eq!(codes(&e), vec![("/agents".into(), EntryCode::TooManyItems)]);
        let e = agents_bulk(&json!({"items": [], "atomic": "no"}), 10).expect_err("bad root");
        assert_eq!(
            codes(&e),
            vec![
                ("/items".into(), EntryCode::UnknownField),
                ("/atomic".into(), EntryCode::InvalidType),
            ]
        );
        let body = json!({"agents": [{"email": "x"}], "dryRun": "yes", "atomic": 1});
        let e = agents_bulk(&body, 10).expect_err("bad options");
        assert_eq!(
            codes(&e),
            vec![
                ("/agents/0/email".into(), EntryCode::OutOfRange),
                ("/agents/0".into(), EntryCode::MissingField),
                ("/dryRun".into(), EntryCode::InvalidType),
                ("/atomic".into(), EntryCode::InvalidType),
            ],
            "every mistake, in body order"
        );
        let e = agents_bulk(&json!("agents"), 10).expect_err("a string");
        assert_eq!(codes(&e), vec![("".into(), EntryCode::InvalidType)]);
    }

    #[test]
    fn options_and_a_bare_array() {
        let body = json!({"atomic": false, "dryRun": true, "agents": [
            {"email": "a@b.co", "name": "A", "externalId": null, "active": false}]});
        let req = agents_bulk(&body, 10).expect("valid");
        assert!(!req.atomic && req.dry_run);
        let a = req.agents[0].as_ref().expect("valid agent");
        assert_eq!((a.external_id.clone(), a.active), (Some(None), Some(false)));
        let bare = agents_bulk(&json!([{"email": "a@b.co"}]), 10).expect("valid shape");
        assert_eq!(
            codes(&bare.problems()),
            vec![("/0".into(), EntryCode::MissingField)]
        );
    }
}
