//! Examples of the OpenAPI document, produced by the code that handles requests.
//!
//! A valid request body per operation (the tests run each through the real validator), and
//! for each operation an example of every problem it can answer. The validation examples come
//! from running `skillgrid-core`'s validators on deliberately bad bodies, and the other
//! problems from the very functions the handlers answer with, so an example cannot say
//! something the server does not.

use crate::auth::{self, Caller, Keys};
use crate::body;
use crate::error::{internal_problem, ApiError};
use crate::idempotency;
use crate::ratelimit::rate_limited;
use crate::routes;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use serde_json::{json, Value};
use skillgrid_api::{ErrorEntry, OrgSettings, Problem, ProblemCode};
use skillgrid_core::model::{CatalogSkill, SkillId};
use skillgrid_core::validate::{self, BulkLimits, SkillRules};
use skillgrid_store::{Conflict, StoreError, Unique};
use std::collections::HashMap;
use uuid::Uuid;

/// The ids the examples use.
pub const BILLING: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1b01";
pub const SALES: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1b02";
pub const RETIRED: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1b03";
pub const ANA: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1c01";
pub const BO: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1c02";
const UNKNOWN_SKILL: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1bff";
pub const REQUEST_ID: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1d01";
pub const IMPORTER: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1e01";
/// The webhook the examples name; no organization has it.
pub const HOOK: &str = "0193a5a2-7c1e-7d2a-9b51-2f4c8e0a1f01";

/// An example's id, of whichever kind is wanted.
fn id<I: From<Uuid>>(s: &str) -> I {
    I::from(Uuid::parse_str(s).expect("example ids are UUIDs"))
}

/// The catalog the examples are checked against: two active skills and an inactive one.
fn catalog() -> HashMap<SkillId, CatalogSkill> {
    [
        (BILLING, "Billing", true),
        (SALES, "Sales", true),
        (RETIRED, "Fax support", false),
    ]
    .into_iter()
    .map(|(i, n, a)| {
        (
            id(i),
            CatalogSkill {
                id: id(i),
                name: n.into(),
                active: a,
            },
        )
    })
    .collect()
}

fn limits(s: &OrgSettings) -> BulkLimits {
    BulkLimits {
        max_items: s.limits.max_items_per_bulk,
        max_assignments: s.limits.max_assignments_per_request,
    }
}

fn unit<T>(r: Result<T, Vec<ErrorEntry>>) -> Result<(), Vec<ErrorEntry>> {
    r.map(|_| ())
}

/// An atomic request: every item's problems, in body order.
fn all_items<T>(
    items: impl IntoIterator<Item = Result<T, Vec<ErrorEntry>>>,
) -> Result<(), Vec<ErrorEntry>> {
    let errors: Vec<ErrorEntry> = items
        .into_iter()
        .filter_map(Result::err)
        .flatten()
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Runs the validator of `operation` on `body` with the default settings and the example
/// catalog: `None` when the operation takes no JSON body.
pub fn validate_body(operation: &str, body: &Value) -> Option<Result<(), Vec<ErrorEntry>>> {
    validate_with(operation, body, &OrgSettings::default())
}

/// [`validate_body`] for an organization with these settings.
fn validate_with(
    operation: &str,
    body: &Value,
    settings: &OrgSettings,
) -> Option<Result<(), Vec<ErrorEntry>>> {
    let cat = catalog();
    let rules = SkillRules::new(settings, &cat);
    Some(match operation {
        "patchSettings" => unit(validate::settings_patch(body, settings)),
        "createSkill" => unit(validate::skill_create(body)),
        "patchSkill" => unit(validate::skill_patch(body)),
        "createAgent" => unit(validate::agent_create(body)),
        "patchAgent" => unit(validate::agent_patch(body)),
        "bulkUpsertAgents" => validate::agents_bulk(body, settings.limits.max_items_per_bulk)
            .and_then(|r| all_items(r.agents)),
        "createClient" => unit(validate::client_create(
            body,
            &routes::clients::foreign_scope,
        )),
        "patchClient" => unit(validate::client_patch(
            body,
            &routes::clients::foreign_scope,
        )),
        "createWebhook" => unit(validate::webhook_create(body, Default::default())),
        "patchWebhook" => unit(validate::webhook_patch(body, Default::default())),
        "rotateWebhookSecret" => unit(validate::webhook_rotation(body)),
        "putAgentSkills" => unit(validate::skill_set_replace(body, &rules)),
        "patchAgentSkills" => unit(validate::skill_set_merge(body, &rules)),
        "putAgentSkill" => unit(validate::single_assignment(body, &rules, id(BILLING))),
        "bulkAgentSkills" => {
            validate::bulk_request(body, &rules, &limits(settings)).and_then(|r| all_items(r.items))
        }
        "assignSkillToAgents" => {
            validate::skill_to_agents(body, id(BILLING), &rules, &limits(settings))
                .and_then(|items| all_items(items.into_iter().map(|(r, _)| r)))
        }
        _ => return None,
    })
}

/// The example of a write whose values come from another product's 1–5 scale: valid, and
/// answered with `warnings` (see [`answers`]).
const ANOTHER_SCALE: &str = "another product's 1–5 scale (answered with warnings)";

/// An integrator's "5 of 5" and "3 of 5", as a bare array.
fn ranks() -> Value {
    json!([{"skillId": BILLING, "proficiency": 5}, {"skillId": SALES, "proficiency": 3}])
}

/// Valid request bodies of `operation`, by example name. Tools send them as they are (a
/// collection generated from the document sends the first of each operation), so none may do
/// harm: the settings examples leave a new organization's settings as they are (the defaults'
/// own values; removing a level no organization starts with), and the examples naming a skill
/// or an agent by id name ones no organization has.
pub fn valid_bodies(operation: &str) -> Vec<(&'static str, Value)> {
    match operation {
        "patchSettings" => vec![
            ("If-Match optional", json!({"requireIfMatch": false})),
            ("warnings shown, not refused", json!({"warnings": "warn"})),
            (
                "levels",
                json!({"proficiencyScale": {"levels": {"Expert": 100, "Master": null}}}),
            ),
            (
                "limits and rate limit",
                json!({"limits": {"maxSkillsPerAgent": 500}, "rateLimit": {"requestsPerMinute": 600, "burst": 100}}),
            ),
        ],
        "createSkill" => vec![(
            "skill",
            json!({"name": "Billing", "description": "Invoices and refunds"}),
        )],
        "patchSkill" => vec![
            ("rename", json!({"name": "Billing and payments"})),
            ("deactivate", json!({"active": false})),
        ],
        "createAgent" => vec![(
            "agent",
            json!({"email": "ana@example.com", "name": "Ana García", "externalId": "E-1001"}),
        )],
        "patchAgent" => vec![
            ("rename", json!({"name": "Ana García López"})),
            ("deactivate", json!({"active": false})),
        ],
        "bulkUpsertAgents" => vec![
            (
                "two agents",
                json!({"agents": [
                {"email": "ana@example.com", "name": "Ana García", "externalId": "E-1001"},
                {"email": "bo@example.com", "name": "Bo Lind", "active": false}]}),
            ),
            (
                "not atomic, dry run",
                json!({"atomic": false, "dryRun": true, "agents": [
                {"email": "ana@example.com", "name": "Ana García López", "externalId": null}]}),
            ),
        ],
        "createClient" => vec![(
            "importer",
            json!({"name": "importer", "scopes": ["admin:agent:read", "admin:agent:write"]}),
        )],
        "patchClient" => vec![
            ("disable", json!({"active": false})),
            (
                "rename and narrow",
                json!({"name": "nightly importer", "scopes": ["admin:agent:write"]}),
            ),
        ],
        "createWebhook" => vec![
            (
                "some event types",
                json!({"url": "https://hooks.example.com/skillgrid", "eventTypes": ["assignment.changed", "agent.created"]}),
            ),
            (
                "every event type",
                json!({"url": "https://hooks.example.com/all", "eventTypes": ["*"]}),
            ),
        ],
        "patchWebhook" => vec![
            ("enable again", json!({"active": true})),
            ("every event type", json!({"eventTypes": ["*"]})),
        ],
        "rotateWebhookSecret" => vec![
            ("an hour's overlap", json!({"overlapSeconds": 3600})),
            ("the old secret stops at once", json!({"overlapSeconds": 0})),
        ],
        "putAgentSkills" => vec![
            (
                "wrapped",
                json!({"skills": [
                {"skillId": BILLING, "proficiency": 90},
                {"skillId": SALES, "proficiency": "Advanced", "expirationDate": "2027-01-01T00:00:00Z"}]}),
            ),
            (
                "bare array",
                json!([{"skillId": BILLING, "proficiency": "expert"}]),
            ),
            ("remove every skill", json!({"skills": []})),
            (ANOTHER_SCALE, ranks()),
        ],
        "patchAgentSkills" => vec![
            (
                "add and remove",
                json!({"skills": [{"skillId": BILLING, "proficiency": 80}], "remove": [SALES]}),
            ),
            (
                "bare array",
                json!([{"skillId": SALES, "proficiency": "Novice"}]),
            ),
            (ANOTHER_SCALE, ranks()),
        ],
        "putAgentSkill" => vec![
            ("level name", json!({"proficiency": "Advanced"})),
            (
                "with dates",
                json!({"proficiency": 60, "effectiveDate": "2026-12-01T00:00:00Z", "expirationDate": null}),
            ),
        ],
        "bulkAgentSkills" => vec![
            (
                "merge",
                json!({"mode": "merge", "items": [
                {"agentId": ANA, "skills": [{"skillId": BILLING, "proficiency": 90}], "remove": [SALES], "ifMatch": "\"7\""},
                {"agentId": BO, "skills": [{"skillId": SALES, "proficiency": "Intermediate"}]}]}),
            ),
            (
                "replace, not atomic",
                json!({"mode": "replace", "atomic": false, "items": [
                {"agentId": ANA, "skills": [{"skillId": BILLING, "proficiency": 75}]}]}),
            ),
            (
                ANOTHER_SCALE,
                json!({"items": [{"agentId": ANA, "skills": ranks()}]}),
            ),
        ],
        "assignSkillToAgents" => vec![(
            "two agents",
            json!({"agents": [
            {"agentId": ANA, "proficiency": 90},
            {"agentId": BO, "proficiency": "Novice", "expirationDate": "2027-06-30T00:00:00Z"}]}),
        )],
        _ => vec![],
    }
}

/// An example value of a parameter, by name: with the valid bodies, a valid request of every
/// operation (`cursor` has none: only a `nextCursor` the server returned is one).
pub fn parameter(name: &str) -> Option<Value> {
    Some(match name {
        "userId" => json!(ANA),
        "skillId" => json!(BILLING),
        "clientId" => json!(IMPORTER),
        "webhookId" => json!(HOOK),
        "fromSequence" => json!(1),
        "limit" => json!(50),
        "name" => json!("Billing"),
        "email" => json!("ana@example.com"),
        "active" => json!(true),
        "dryRun" => json!(true),
        "since" => json!("2026-11-22T11:30:00Z"),
        "after" => json!(41),
        "types" => json!("assignment.changed,skill.deleted"),
        "format" => json!("ndjson"),
        "Accept" => json!("application/x-ndjson"),
        "Last-Event-ID" => json!("41"),
        "If-Match" => json!("\"7\""),
        "Idempotency-Key" => json!("import-2026-11-23-part-1"),
        _ => return None,
    })
}

/// A body with several mistakes for `operation`'s validator to report.
fn bad_body(operation: &str) -> Option<Value> {
    Some(match operation {
        "patchSettings" => {
            json!({"proficiencyScale": {"min": 10, "max": 5}, "rateLimit": {"burst": 0}, "requireIfMatch": "yes"})
        }
        "createSkill" => json!({"skillName": "Billing", "description": 5}),
        "patchSkill" => json!({"name": "", "enabled": false}),
        "createAgent" => json!({"mail": "ana@example.com", "name": 7}),
        "patchAgent" => json!({"email": "not an email", "active": "no"}),
        "bulkUpsertAgents" => json!({"agents": [
            {"email": "ana@example.com", "name": "Ana García"},
            {"email": "ANA@example.com", "name": "Ana G."},
            {"mail": "bo@example.com", "name": ""}]}),
        "createClient" => {
            json!({"clientName": "importer", "scopes": ["admin:agent:write", "user:skill:write"]})
        }
        "patchClient" => json!({"scopes": "admin:agent:read", "enabled": false}),
        "createWebhook" => {
            json!({"url": "http://169.254.169.254/latest/meta-data/", "eventTypes": ["assignments.changed"], "enabled": true})
        }
        "patchWebhook" => json!({"url": "hooks.example.com/skillgrid", "active": "yes"}),
        "rotateWebhookSecret" => json!({"overlapSeconds": 999999999, "ttl": 60}),
        "putAgentSkills" => json!({"skills": [
            {"id": BILLING, "proficiency": 190},
            {"skillId": SALES, "proficiency": "Expret"},
            {"skillId": UNKNOWN_SKILL}]}),
        "patchAgentSkills" => json!({"skills": [
            {"skillId": BILLING, "proficiency": "75", "effectiveDate": "2027-01-01T00:00:00Z", "expirationDate": "2026-01-01T00:00:00Z"},
            {"skillId": RETIRED}], "remove": [BILLING, "billing"]}),
        "putAgentSkill" => {
            json!({"skillId": BILLING, "proficiency": 101, "expirationDate": "next year"})
        }
        "bulkAgentSkills" => json!({"mode": "merge", "items": [
            {"agentId": ANA, "skills": [{"skillId": BILLING, "proficiency": 500}]},
            {"agentId": ANA, "skills": [{"skillId": SALES, "proficiency": "Expret"}, {"skillId": SALES}], "ifMatch": 7}]}),
        "assignSkillToAgents" => {
            json!({"agents": [{"agentId": ANA, "proficiency": "guru"}, {"userId": BO}]})
        }
        _ => return None,
    })
}

/// One example of a problem answer.
pub struct ProblemExample {
    pub name: String,
    pub summary: String,
    pub problem: Problem,
}

/// What the handlers of an operation check, for choosing its problem examples.
struct Traits {
    scope: &'static str,
    query: &'static [&'static str],
    path: &'static [&'static str],
    body: bool,
    skill_write: bool,
    idempotent: bool,
}

fn traits(operation: &str, scope: &'static str) -> Traits {
    let (query, path): (&'static [&'static str], &'static [&'static str]) = match operation {
        "listSkills" => (&["name", "active", "limit", "cursor"], &[]),
        "listAgents" => (&["email", "active", "limit", "cursor"], &[]),
        "listAudit" | "listClientAudit" => (&["since", "limit", "cursor"], &[]),
        "listClients" | "listWebhooks" => (&["limit", "cursor"], &[]),
        "getWebhook" | "patchWebhook" | "deleteWebhook" | "rotateWebhookSecret" => {
            (&[], &["webhookId"])
        }
        "listWebhookDeliveries" => (&["limit", "cursor"], &["webhookId"]),
        "replayWebhook" => (&["fromSequence"], &["webhookId"]),
        "getClient" | "patchClient" | "deleteClient" | "rotateClientSecret" => (&[], &["clientId"]),
        "getSkill" | "patchSkill" | "deleteSkill" => (&[], &["skillId"]),
        "getAgent" | "patchAgent" | "getAgentSkills" => (&[], &["userId"]),
        "getAgentSkillHistory" => (&["limit", "cursor"], &["userId"]),
        "putAgentSkills" | "patchAgentSkills" => (&["dryRun"], &["userId"]),
        "putAgentSkill" | "deleteAgentSkill" => (&["dryRun"], &["userId", "skillId"]),
        "listSkillHolders" => (&["limit", "cursor"], &["skillId"]),
        "assignSkillToAgents" => (&["dryRun"], &["skillId"]),
        "bulkAgentSkills" | "bulkUpsertAgents" => (&["dryRun"], &[]),
        _ => (&[], &[]),
    };
    Traits {
        scope,
        query,
        path,
        body: bad_body(operation).is_some(),
        skill_write: matches!(
            operation,
            "putAgentSkills" | "patchAgentSkills" | "putAgentSkill" | "deleteAgentSkill"
        ),
        idempotent: matches!(
            operation,
            "bulkAgentSkills" | "assignSkillToAgents" | "bulkUpsertAgents"
        ),
    }
}

fn ex(name: &str, summary: &str, e: ApiError) -> ProblemExample {
    let mut problem = e.into_problem();
    problem.request_id = REQUEST_ID.into();
    ProblemExample {
        name: name.into(),
        summary: summary.into(),
        problem,
    }
}

fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        name,
        HeaderValue::from_str(value).expect("example header values are ASCII"),
    );
    h
}

/// Every problem an authenticated API operation can answer with, one example each (or more
/// where one code has several causes).
pub fn problems(operation: &str, scope: &'static str) -> Vec<ProblemExample> {
    let t = traits(operation, scope);
    let mut out = Vec::new();
    let settings = OrgSettings::default();

    // Query parameters: every route rejects unknown ones.
    let bad_query = if t.query.contains(&"limit") {
        "limit=0&pageSize=10"
    } else {
        "pageSize=10"
    };
    if let Err(e) = routes::query(Some(bad_query.into()), t.query) {
        out.push(ex(
            "bad query",
            "an unknown or out-of-range query parameter",
            e,
        ));
    }
    if let Some(p) = t.path.first() {
        let e = routes::path_id::<Uuid>(p, "billing").expect_err("not a UUID");
        out.push(ex("bad path id", "an id in the path that is not a UUID", e));
    }
    if t.skill_write {
        let e = validate::precondition_header(Some("7")).expect_err("unquoted");
        out.push(ex(
            "bad If-Match",
            "an If-Match that is not an ETag",
            ApiError::one(e),
        ));
    }
    if t.idempotent {
        let e = idempotency::key_header(&headers(
            header::HeaderName::from_static(idempotency::HEADER),
            "",
        ))
        .expect_err("empty key");
        out.push(ex("bad Idempotency-Key", "an empty Idempotency-Key", e));
    }
    if t.body {
        let e = body::parse_json(b"{\n  \"name\": \"Billing\",\n}").expect_err("trailing comma");
        out.push(ex(
            "invalid JSON",
            "a body that is not JSON (here a trailing comma)",
            e,
        ));
        if let Some(Err(errors)) = bad_body(operation).and_then(|b| validate_body(operation, &b)) {
            out.push(ex(
                "invalid body",
                "every mistake in the body at once, each with its pointer",
                ApiError::validation(errors),
            ));
        }
        // The write answered with warnings elsewhere, in an organization that refuses them.
        let strict = OrgSettings {
            warnings: skillgrid_api::WarningPolicy::Reject,
            ..OrgSettings::default()
        };
        let refused = valid_bodies(operation)
            .into_iter()
            .find(|(n, _)| *n == ANOTHER_SCALE)
            .and_then(|(_, b)| validate_with(operation, &b, &strict));
        if let Some(Err(errors)) = refused {
            out.push(ex(
                "refused warnings",
                "values of another product's scale, in an organization whose `warnings` setting is `reject`",
                ApiError::validation(errors),
            ));
        }
        out.push(ex(
            "too large",
            "a body over the organization's limits.maxBodyBytes",
            body::too_large(settings.limits.max_body_bytes),
        ));
        out.push(ex(
            "not JSON",
            "a body not sent as application/json",
            body::require_json(&headers(header::CONTENT_TYPE, "text/plain"))
                .expect_err("text/plain"),
        ));
    }
    if t.skill_write {
        out.push(ex(
            "inactive agent",
            "the agent named by the path is inactive",
            routes::assignments::inactive_agent(id(ANA)),
        ));
        out.push(ex(
            "stale If-Match",
            "the agent's skills changed since the ETag was read",
            routes::assignments::precondition_failed(8, None),
        ));
        out.push(ex(
            "If-Match required",
            "the organization requires If-Match (requireIfMatch)",
            routes::assignments::precondition_required(),
        ));
    }
    if !t.path.is_empty() || t.skill_write {
        let e = [routes::SKILL, routes::CLIENT]
            .into_iter()
            .find(|r| t.path.first() == Some(&r.param))
            .unwrap_or(routes::AGENT)
            .missing();
        out.push(ex(
            "not found",
            "no such id in the caller's organization",
            e,
        ));
    }
    match operation {
        "createSkill" | "patchSkill" => out.push(ex(
            "duplicate name",
            "another skill has this name (any case)",
            StoreError::Conflict(Conflict::Taken(Unique::SkillName)).into(),
        )),
        "createAgent" | "patchAgent" => out.push(ex(
            "duplicate email",
            "another agent has this email (any case)",
            StoreError::Conflict(Conflict::Taken(Unique::AgentEmail)).into(),
        )),
        "deleteSkill" => out.push(ex(
            "in use",
            "agents still hold the skill",
            routes::skills::skill_in_use(3),
        )),
        "exportAgentSkills" => out.push(ex(
            "too many exports",
            "the organization already runs as many exports as it may at once",
            routes::export::too_many(crate::slots::Refused::Owner(2)),
        )),
        _ => {}
    }
    client_problems(operation, &mut out);
    if t.idempotent {
        out.push(ex(
            "key in use",
            "the first request with this Idempotency-Key is still running",
            idempotency::key_in_use(),
        ));
        out.push(ex(
            "key reused",
            "the Idempotency-Key was used with another body",
            idempotency::key_reused(),
        ));
    }
    let keys = Keys::from_secret(b"documentation examples");
    out.push(ex(
        "no token",
        "no Authorization header",
        auth::missing_token(),
    ));
    out.push(ex(
        "bad token",
        "a token that is not a JWT",
        auth::verify(&keys, "not-a-token").expect_err("not a JWT"),
    ));
    let reader = Caller {
        org_id: Uuid::nil().into(),
        client_id: Uuid::nil().into(),
        scopes: vec![if t.scope == "admin:audit:read" {
            "admin:skill:read".into()
        } else {
            "admin:audit:read".into()
        }],
        org: None,
        token_epoch: 0,
        user_id: None,
    };
    out.push(ex(
        "missing scope",
        "the token lacks the scope this route needs",
        reader.require(t.scope).expect_err("other scope"),
    ));
    out.push(ex(
        "rate limited",
        "over the client's rate limit",
        rate_limited(&settings.rate_limit, 1),
    ));
    if t.scope.ends_with(":write") {
        out.push(ex(
            "no anti-forgery token",
            "a change made with the console's session cookie, without its X-CSRF-Token",
            crate::console::api::forged(crate::console::csrf::Forgery::BadToken),
        ));
        out.push(ex(
            "storage full",
            "the server's disk is full; nothing was written",
            crate::storage::full(),
        ));
    }
    let mut internal = internal_problem(REQUEST_ID);
    internal.request_id = REQUEST_ID.into();
    out.push(ProblemExample {
        name: "internal".into(),
        summary: "a failure on the server's side".into(),
        problem: internal,
    });
    out
}

/// The refusals of the API client routes: what a token may not give or change.
fn client_problems(operation: &str, out: &mut Vec<ProblemExample>) {
    use routes::clients::rules;
    let caller = Caller {
        org_id: Uuid::nil().into(),
        client_id: Uuid::nil().into(),
        scopes: vec!["admin:org:write".into(), "admin:agent:read".into()],
        org: None,
        token_epoch: 0,
        user_id: None,
    };
    let wanted = [
        "admin:agent:read".to_string(),
        "admin:agent:write".to_string(),
    ];
    let now = skillgrid_core::timestamp::Timestamp(1_796_300_000_000);
    let importer = skillgrid_store::ClientRecord {
        id: id(IMPORTER),
        org_id: Uuid::nil().into(),
        name: "importer".into(),
        secret_hash: String::new(),
        scopes: wanted.to_vec(),
        active: true,
        token_epoch: 0,
        created_at: now,
        updated_at: now,
        secret_created_at: now,
    };
    if matches!(operation, "createClient" | "patchClient") {
        out.push(ex(
            "scope not held",
            "a scope the calling token does not hold: a client cannot give it",
            rules::may_grant(&caller, &wanted, "/scopes").expect_err("not held"),
        ));
    }
    if matches!(
        operation,
        "patchClient" | "deleteClient" | "rotateClientSecret"
    ) {
        out.push(ex(
            "client holds more",
            "the client holds a scope the calling token does not: it cannot change it",
            rules::may_manage(&caller, &importer).expect_err("holds more"),
        ));
        out.push(ex(
            "changed meanwhile",
            "the client's scopes changed while the request ran",
            rules::changed_meanwhile(),
        ));
    }
    match operation {
        "patchClient" => out.push(ex(
            "itself",
            "a client disabling itself",
            rules::not_itself("disable"),
        )),
        "deleteClient" => out.push(ex(
            "itself",
            "a client deleting itself",
            rules::not_itself("delete"),
        )),
        _ => {}
    }
}

/// Problems of no one operation: a path no route matches, a method a route does not take, a
/// request the HTTP layer refuses before any route sees it or whose body stops arriving.
pub fn routing_problems() -> Vec<ProblemExample> {
    let mut nf = routes::no_route(&Method::GET, "/nowhere").into_problem();
    nf.request_id = REQUEST_ID.into();
    let mut foreign = routes::no_route(
        &Method::PUT,
        &format!("/api/v2/users/{ANA}/routingskills/bulk"),
    )
    .into_problem();
    foreign.request_id = REQUEST_ID.into();
    let mut mna = Problem::new(
        ProblemCode::MethodNotAllowed,
        crate::middleware::method_not_allowed_detail("DELETE", "GET,HEAD,PATCH"),
    );
    mna.request_id = REQUEST_ID.into();
    let refused = |status: u16| {
        let mut p = crate::connections::refused_problem(status);
        p.request_id = REQUEST_ID.into();
        p
    };
    let timeout = crate::connections::BodyTimeout(crate::HttpLimits::default().body_timeout);
    let mut slow = body::timed_out(&timeout).into_problem();
    slow.request_id = REQUEST_ID.into();
    vec![
        ProblemExample {
            name: "no route".into(),
            summary: "no route matches the path".into(),
            problem: nf,
        },
        ProblemExample {
            name: "another products route".into(),
            summary:
                "a route of another product: the detail names skillgrid's route for the same job"
                    .into(),
            problem: foreign,
        },
        ProblemExample {
            name: "method not allowed".into(),
            summary: "the route does not take this method (see `Allow`)".into(),
            problem: mna,
        },
        ProblemExample {
            name: "malformed request".into(),
            summary: "not well-formed HTTP/1.1, e.g. two different Content-Length headers".into(),
            problem: refused(400),
        },
        ProblemExample {
            name: "body too slow".into(),
            summary: "the body did not arrive within the body timeout".into(),
            problem: slow,
        },
        ProblemExample {
            name: "uri too long".into(),
            summary: "a URI longer than the server reads".into(),
            problem: refused(414),
        },
        ProblemExample {
            name: "headers too large".into(),
            summary: "a request head larger than the server reads".into(),
            problem: refused(431),
        },
    ]
}

/// Example answers (200) of the writes whose answers may carry `warnings`, by example name:
/// built by the code the handlers answer with, from the payloads integrators coming from
/// other products send.
pub fn answers(operation: &str) -> Vec<(&'static str, Value)> {
    use crate::render::Renderer;
    use skillgrid_api::{AgentSkills, BulkItemResult, BulkResponse, BulkSummary};
    use skillgrid_core::diff::Plan;
    use skillgrid_core::model::{Assignment, Given, StoredAssignment};
    use skillgrid_core::timestamp::Timestamp;
    use skillgrid_core::validate::warnings;

    let settings = OrgSettings::default();
    let scale = &settings.proficiency_scale;
    let catalog: Vec<CatalogSkill> = catalog().into_values().collect();
    let r = Renderer::new(scale, &catalog);
    let at = Timestamp(1_796_300_000_000);
    let sent = |skill: &str, p: i64| Assignment {
        proficiency: p,
        given: Given::Number,
        ..Assignment::omitted(id(skill), scale.default)
    };
    let stored = |a: &Assignment| StoredAssignment {
        skill_id: a.skill_id,
        proficiency: a.proficiency,
        effective: a.effective,
        expires: a.expires,
        updated_at: at,
    };
    // An integrator's "5 of 5" and "3 of 5", as a bare array.
    let ranks = [sent(BILLING, 5), sent(SALES, 3)];
    let added = Plan {
        added: ranks.to_vec(),
        resulting_len: 2,
        ..Plan::default()
    };
    let held: Vec<StoredAssignment> = ranks.iter().map(stored).collect();
    let set = |warnings, plan: &Plan, skills: &[StoredAssignment], version| {
        serde_json::to_value(AgentSkills {
            warnings,
            agent_id: id(ANA),
            version,
            skills: r.set(skills),
            dry_run: Some(false),
            changes: Some(r.changes(plan, at)),
        })
        .unwrap_or_default()
    };
    let other_scale = |list: &str| warnings::list_warnings(scale, list, &ranks);
    let emptied = Plan {
        removed: held.clone(),
        ..Plan::default()
    };
    match operation {
        "putAgentSkills" => vec![
            (ANOTHER_SCALE, set(other_scale(""), &added, &held, 1)),
            (
                "written, with a warning: a set replaced with nothing",
                set(
                    vec![warnings::emptied_set("/skills", 2, false)],
                    &emptied,
                    &[],
                    2,
                ),
            ),
        ],
        "patchAgentSkills" => vec![(ANOTHER_SCALE, set(other_scale(""), &added, &held, 1))],
        "bulkAgentSkills" => {
            let result = BulkItemResult {
                index: 0,
                agent_id: Some(id(ANA)),
                status: 200,
                version: Some(1),
                changes: Some(r.changes(&added, at)),
                warnings: other_scale("/items/0/skills"),
                problem: None,
            };
            let answer = BulkResponse {
                dry_run: true,
                summary: BulkSummary {
                    items: 1,
                    succeeded: 1,
                    added: 2,
                    ..BulkSummary::default()
                },
                results: vec![result],
            };
            vec![(
                ANOTHER_SCALE,
                serde_json::to_value(answer).unwrap_or_default(),
            )]
        }
        _ => vec![],
    }
}
