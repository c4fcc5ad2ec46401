//! The OpenAPI 3.1 document (`GET /api/v2/openapi.json`) and the page rendered from it
//! (`GET /docs`).
//!
//! utoipa derives the schemas from the wire types of `skillgrid-api` and the operations from
//! the annotations on the handlers. [`document`] then adds what a derive cannot know: the
//! security scheme, the organization defaults (limits, proficiency scale) taken from
//! `OrgSettings::default()`, valid request examples, and an example of every problem each
//! operation can answer, produced by the same code the handlers answer with ([`examples`]).
//!
//! It is shaped for the client generators integrators feed it (openapi-python-client,
//! openapi-typescript, Postman's converter): a `servers` entry, a plain bearer scheme beside
//! OAuth2 for tools that cannot run an OAuth2 flow, named schemas rather than inline copies,
//! codes as open strings, and examples that change nothing harmful when a tool sends them.

mod catalogue;
pub mod examples;
mod html;

pub use catalogue::meaning_and_fix;

use crate::state::AppState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use skillgrid_api::requests;
use skillgrid_api::{scopes, OrgSettings, Problem, ProblemCode};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "skillgrid admin API",
        description = "Contact-center agents' routing skills: the catalog, agents, each agent's skill set, bulk changes, audit."
    ),
    servers((url = "/", description = "this server: the paths are relative to where this document is served")),
    paths(
        crate::routes::settings::read,
        crate::routes::settings::update,
        crate::routes::skills::list,
        crate::routes::skills::create,
        crate::routes::skills::read,
        crate::routes::skills::update,
        crate::routes::skills::remove,
        crate::routes::agents::list,
        crate::routes::agents::create,
        crate::routes::agents::read,
        crate::routes::agents::update,
        crate::routes::agents_bulk::bulk,
        crate::routes::assignments::read,
        crate::routes::assignments::replace,
        crate::routes::assignments::merge,
        crate::routes::assignments::set_one,
        crate::routes::assignments::remove_one,
        crate::routes::assignments::history,
        bulk_agent_skills,
        assign_skill_to_agents,
        list_skill_holders,
        crate::routes::export::export,
        crate::routes::audit::list,
        crate::routes::clients::audit,
        crate::routes::admin_audit::list,
        crate::routes::events::list,
        crate::routes::events::stream,
        crate::routes::clients::list,
        crate::routes::clients::create,
        crate::routes::clients::read,
        crate::routes::clients::update,
        crate::routes::clients::remove,
        crate::routes::clients::rotate,
        crate::routes::webhooks::list,
        crate::routes::webhooks::create,
        crate::routes::webhooks::read,
        crate::routes::webhooks::update,
        crate::routes::webhooks::remove,
        crate::routes::webhooks::rotate,
        crate::routes::webhooks::deliveries,
        crate::routes::webhooks::replay,
        crate::routes::oauth::token,
        crate::routes::health::healthz,
        crate::routes::health::readyz,
        crate::routes::health::metrics,
        openapi_json,
        docs_page,
    ),
    components(schemas(Problem, skillgrid_api::ErrorEntry, skillgrid_api::AuditedUser)),
    tags(
        (name = "settings", description = "The organization's proficiency scale, limits and rate limit"),
        (name = "skills", description = "The skill catalog"),
        (name = "agents", description = "Agents"),
        (name = "assignments", description = "One agent's skills; every path also exists under /api/v2/admin/users/{userId}/skills"),
        (name = "bulk", description = "Many agents at once"),
        (name = "audit", description = "Who changed what"),
        (name = "events", description = "Every committed change, in commit order: a feed to page and a stream to follow"),
        (name = "clients", description = "API clients: who may call this API, with which scopes"),
        (name = "webhooks", description = "Signed deliveries of the organization's changes to endpoints it names (Standard Webhooks)"),
        (name = "oauth", description = "Access tokens"),
        (name = "operations", description = "Health, metrics and this documentation"),
    )
)]
struct ApiDoc;

const LIMIT_PARAM: &str = "page size, 1–1000 (default 100)";

// The bulk routes' operations are described here rather than on their handlers, so that the
// handlers' module stays about request handling.

/// Change many agents' skills at once
///
/// Atomic (the default): if anything is wrong anywhere, nothing is written and the answer is
/// one 400 problem listing every error of every item, with pointers into the body
/// (`/items/3/skills/0/proficiency`), including unknown or inactive agents and stale `ifMatch`
/// versions; otherwise all items are written in one transaction. `"atomic": false`: valid
/// items are written, the others come back with their own problem (status 400, 404 or 412) in
/// `results`. A bulk request counts as one request for the rate limit.
#[utoipa::path(post, path = "/api/v2/agents/skills/bulk", tag = "bulk", operation_id = "bulkAgentSkills",
    security(("oauth2" = ["admin:agent:write"])),
    params(("dryRun" = Option<bool>, Query, description = "`true`: answer as if written, write nothing"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key and body within 24 hours gets the first answer again (`Idempotency-Replayed: true`) and writes nothing")),
    request_body(content = requests::BulkRequest, content_type = "application/json"),
    responses((status = 200, description = "a result per item", body = skillgrid_api::BulkResponse,
        headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same Idempotency-Key")))))]
#[allow(dead_code)]
fn bulk_agent_skills() {}

/// Give one skill to many agents
///
/// Merge semantics, atomic: every error is reported at once and nothing is written, or every
/// agent gets the skill. The answer has the bulk route's shape.
#[utoipa::path(post, path = "/api/v2/admin/skills/{skillId}/agents", tag = "bulk", operation_id = "assignSkillToAgents",
    security(("oauth2" = ["admin:agent:write"])),
    params(("skillId" = uuid::Uuid, Path, description = "the skill's id"),
        ("dryRun" = Option<bool>, Query, description = "`true`: answer as if written, write nothing"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key and body within 24 hours gets the first answer again and writes nothing")),
    request_body(content = requests::SkillToAgents, content_type = "application/json"),
    responses((status = 200, description = "a result per agent", body = skillgrid_api::BulkResponse,
        headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same Idempotency-Key")))))]
#[allow(dead_code)]
fn assign_skill_to_agents() {}

/// Who holds a skill
#[utoipa::path(get, path = "/api/v2/admin/skills/{skillId}/agents", tag = "bulk", operation_id = "listSkillHolders",
    security(("oauth2" = ["admin:agent:read"])),
    params(("skillId" = uuid::Uuid, Path, description = "the skill's id"),
        crate::routes::Paging),
    responses((status = 200, description = "one page of the agents holding the skill", body = skillgrid_api::Page<skillgrid_api::SkillHolder>)))]
#[allow(dead_code)]
fn list_skill_holders() {}

/// This OpenAPI 3.1 document
#[utoipa::path(get, path = "/api/v2/openapi.json", tag = "operations", operation_id = "openapi", security(()),
    responses((status = 200, description = "the OpenAPI 3.1 document of every route, schema, example and error", content_type = "application/json", body = Object)))]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_bytes(),
    )
}

/// The documentation page
///
/// Every operation of this document, the schemas, and the error catalogue
/// (`/docs#problem-<code>`), served from the binary with nothing fetched from elsewhere.
#[utoipa::path(get, path = "/docs", tag = "operations", operation_id = "docs", security(()),
    responses((status = 200, description = "an HTML page", content_type = "text/html", body = String)))]
async fn docs_page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, html::CSP),
        ],
        docs_html(),
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v2/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
}

/// The document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn document_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| serde_json::to_vec_pretty(document()).expect("a JSON value serialises"))
}

/// The `/docs` page, rendered once.
pub fn docs_html() -> &'static str {
    static HTML: OnceLock<String> = OnceLock::new();
    HTML.get_or_init(|| html::render(document()))
}

fn build() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    let d = OrgSettings::default();
    doc["info"]["description"] = Value::String(info_description(&d));
    doc["components"]["securitySchemes"] = security_schemes();
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("schemas");
    page_items_by_ref(schemas);
    // The If-Match header takes what a bulk item's `ifMatch` takes.
    let if_match = schemas["BulkItem"]["properties"]["ifMatch"]["pattern"].clone();
    assert!(if_match.is_string(), "BulkItem.ifMatch has a pattern");
    let paths = doc["paths"].as_object_mut().expect("paths");
    for item in paths.values_mut() {
        for op in item.as_object_mut().expect("path item").values_mut() {
            enrich(op, &d, &if_match);
        }
    }
    // The one agent's skills resource has a second path; the same operations under it.
    let aliases: Vec<(String, Value)> = paths
        .iter()
        .filter_map(|(p, item)| {
            let rest = p.strip_prefix("/api/v2/agents/users/")?;
            let mut item = item.clone();
            for op in item.as_object_mut()?.values_mut() {
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                let mut chars = id.chars();
                let upper: String = chars
                    .next()
                    .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                    .unwrap_or_default();
                op["operationId"] = Value::String(format!("admin{upper}"));
                let desc = op["description"].as_str().unwrap_or_default().to_string();
                op["description"] = Value::String(format!(
                    "{desc}\n\nThe same resource as `{p}`, which behaves identically."
                ));
            }
            Some((format!("/api/v2/admin/users/{rest}"), item))
        })
        .collect();
    paths.extend(aliases);
    let mut routing = Map::new();
    for e in examples::routing_problems() {
        routing.insert(
            slug(&e.name),
            json!({"summary": e.summary, "value": e.problem}),
        );
    }
    doc["components"]["examples"] = Value::Object(routing);
    doc["components"]["responses"] = json!({
        "MethodNotAllowed": {
            "description": "`method_not_allowed`: any path answers a method it does not take with 405 and `Allow`",
            "headers": {"Allow": {"description": "the methods the path takes", "schema": {"type": "string"}}},
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"},
                "examples": {"method-not-allowed": {"$ref": "#/components/examples/method-not-allowed"}}}}
        },
        "NoRoute": {
            "description": "`not_found`: a path no route matches",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"},
                "examples": {"no-route": {"$ref": "#/components/examples/no-route"}}}}
        }
    });
    doc
}

/// utoipa inlines the item schema of a `Page<T>`, so generators would make a type per page
/// (`PageSkillItemsItem`) instead of using `Skill`: each page's items become a `$ref` to the
/// named schema, once the inline copy is checked to be exactly that schema.
fn page_items_by_ref(schemas: &mut Map<String, Value>) {
    let pages: Vec<String> = schemas
        .keys()
        .filter(|k| k.starts_with("Page_"))
        .cloned()
        .collect();
    for page in pages {
        let item = &page["Page_".len()..];
        let named = schemas
            .get(item)
            .unwrap_or_else(|| panic!("{page}: no schema named {item}"))
            .clone();
        let inline = schemas
            .get_mut(&page)
            .and_then(|p| p.pointer_mut("/properties/items/items"))
            .unwrap_or_else(|| panic!("{page} has no items"));
        assert_eq!(*inline, named, "{page}'s items are not the {item} schema");
        *inline = json!({"$ref": format!("#/components/schemas/{item}")});
    }
}

fn info_description(d: &OrgSettings) -> String {
    let l = &d.limits;
    let levels: Vec<String> = d
        .proficiency_scale
        .levels
        .iter()
        .map(|(n, v)| format!("`{n}` = {v}"))
        .collect();
    format!(
        "Give contact-center agents the right routing skills at the right proficiency, and get \
every mistake of a request reported at once, each with its JSON pointer, what was expected, \
what was received and how to fix it.\n\n\
Authenticate with an OAuth2 client-credentials token from `POST /oauth/token` (the client's id \
and secret as HTTP Basic credentials, `grant_type=client_credentials` in the form) and send it \
as `Authorization: Bearer TOKEN`; each operation names the scope it needs. Every error is \
`application/problem+json` (RFC 9457) whose `type` links to its entry in the error catalogue \
of `/docs`.\n\n\
Organization settings (`GET|PATCH /api/v2/organizations/settings`) tune the rules. The defaults \
of a new organization:\n\n\
- proficiency scale: {scale}, default {default}; levels {levels} (a proficiency may be sent as a \
level name in any case, and is stored as its value)\n\
- `maxSkillsPerAgent` {ms}: skills one agent may hold\n\
- `maxItemsPerBulk` {mi}: items of one bulk request\n\
- `maxAssignmentsPerRequest` {ma}: assignments of one request\n\
- `maxBodyBytes` {mb}: bytes of one request body (413 above)\n\
- `requireIfMatch` {rim}: whether writes to an agent's skills need `If-Match` (428 without)\n\
- `rateLimit`: {rpm} requests per minute per API client, bursts of {burst} (429 above, with \
`Retry-After`; `RateLimit-*` headers on every authenticated answer)\n\n\
Lists take `limit` ({LIMIT_PARAM}) and `cursor` and answer `{{\"items\": [...], \"nextCursor\": \
\"…\" or null}}`. Times are RFC 3339, returned in UTC with milliseconds. Unknown fields and \
query parameters are rejected, never ignored.",
        scale = d.proficiency_scale.describe(),
        default = d.proficiency_scale.default,
        levels = levels.join(", "),
        ms = l.max_skills_per_agent,
        mi = l.max_items_per_bulk,
        ma = l.max_assignments_per_request,
        mb = l.max_body_bytes,
        rim = d.require_if_match,
        rpm = d.rate_limit.requests_per_minute,
        burst = d.rate_limit.burst,
    )
}

fn security_schemes() -> Value {
    let descriptions: BTreeMap<&str, &str> = [
        (
            scopes::ORG_READ,
            "read the organization settings and its API clients",
        ),
        (
            scopes::ORG_WRITE,
            "change the organization settings and its API clients",
        ),
        (scopes::SKILL_READ, "read the skill catalog"),
        (scopes::SKILL_WRITE, "change the skill catalog"),
        (scopes::AGENT_READ, "read agents and their skills"),
        (
            scopes::AGENT_WRITE,
            "change agents and their skills, bulk included",
        ),
        (scopes::AUDIT_READ, "read the organization-wide audit log"),
        (
            scopes::WEBHOOK_READ,
            "read webhooks and their delivery attempts (never their secrets)",
        ),
        (
            scopes::WEBHOOK_WRITE,
            "create, change, delete and replay webhooks and rotate their secrets",
        ),
        (
            scopes::SCIM,
            "provision agents and their skills through SCIM 2.0 (/scim/v2)",
        ),
    ]
    .into_iter()
    .collect();
    let scopes: Map<String, Value> = scopes::ALL
        .iter()
        .map(|s| (s.to_string(), Value::String(descriptions[s].to_string())))
        .collect();
    json!({
        "oauth2": {
            "type": "oauth2",
            "description": "OAuth2 client credentials: `POST /oauth/token` with the client's id and secret gives a signed token valid for one hour, holding the client's scopes (or the subset asked for with `scope`).",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": scopes}}
        },
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The same token as `oauth2`, for tools that cannot run an OAuth2 flow: get it from `POST /oauth/token` and send it as `Authorization: Bearer TOKEN`. Each operation's `oauth2` requirement names the scope the token must hold."
        },
        "clientBasic": {
            "type": "http",
            "scheme": "basic",
            "description": "`POST /oauth/token` only: the client id and secret as HTTP Basic credentials, instead of form fields."
        }
    })
}

/// An example's key: OpenAPI wants `[A-Za-z0-9._-]` in component names; used everywhere alike.
pub fn slug(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_ascii_alphanumeric() || "._-".contains(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn header(description: &str) -> Value {
    json!({"description": description, "schema": {"type": "string"}})
}

/// The headers every answer of an operation carries.
fn common_headers(secured: bool, status: u16) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("X-Request-Id".into(), header("the request's id: the client's own when it sent a valid one (1–128 of `[A-Za-z0-9._-]`), else a new one"));
    if secured && status != 401 {
        h.insert(
            "RateLimit-Limit".into(),
            header("the burst of the client's rate limit"),
        );
        h.insert(
            "RateLimit-Remaining".into(),
            header("requests left in the bucket"),
        );
        h.insert(
            "RateLimit-Reset".into(),
            header("seconds until the bucket is full again"),
        );
    }
    h
}

/// What the writes of assignments say about warnings.
const WARNINGS: &str = "A write that succeeds but looks like a mistake answers with `warnings` (entries shaped like a problem's `errors`): values of another product's scale (`other_scale`, `below_lowest_level`), a set replaced with nothing (`emptied_set`); a dry run shows them before anything is written. Under the organization's `warnings` setting `reject` they are errors and nothing is written; under `off` they are not reported. See Warnings in the error catalogue of `/docs`.";

fn enrich(op: &mut Value, d: &OrgSettings, if_match: &Value) {
    let id = op["operationId"].as_str().unwrap_or_default().to_string();
    let scope = op["security"]
        .as_array()
        .and_then(|s| s.iter().find_map(|r| r.get("oauth2")))
        .and_then(|s| s.get(0))
        .and_then(Value::as_str)
        .and_then(|s| scopes::ALL.iter().find(|a| **a == s).copied());
    // The description: what utoipa took from the doc comment, plus the scope and limits.
    let mut desc = op["description"].as_str().unwrap_or_default().to_string();
    if let Some(s) = scope {
        desc.push_str(&format!("\n\nRequired scope: `{s}`."));
        // Either requirement is enough. The plain bearer scheme comes first: tools that cannot
        // run an OAuth2 flow (Postman's converter, newman) take the first one they know.
        op["security"] = json!([{"bearer": []}, {"oauth2": [s]}]);
    }
    let scale = d.proficiency_scale.describe();
    let l = &d.limits;
    match id.as_str() {
        "putAgentSkills" | "patchAgentSkills" | "putAgentSkill" => desc.push_str(&format!(
            "\n\nA proficiency is {scale} on the default scale (omitted: {}); an agent holds at most {} skills (`maxSkillsPerAgent`). The organization's settings may differ.\n\n{WARNINGS}",
            d.proficiency_scale.default, l.max_skills_per_agent
        )),
        "bulkUpsertAgents" => desc.push_str(&format!(
            "\n\nDefault limits: at most {} agents (`maxItemsPerBulk`), {} bytes of body (`maxBodyBytes`). The organization's settings may differ.",
            l.max_items_per_bulk, l.max_body_bytes
        )),
        "bulkAgentSkills" | "assignSkillToAgents" => desc.push_str(&format!(
            "\n\n{WARNINGS} Each result carries its own.\n\nDefault limits: at most {} items (`maxItemsPerBulk`), {} assignments in all (`maxAssignmentsPerRequest`), {} skills per agent (`maxSkillsPerAgent`), {} bytes of body (`maxBodyBytes`); a proficiency is {scale}. The organization's settings may differ.",
            l.max_items_per_bulk, l.max_assignments_per_request, l.max_skills_per_agent, l.max_body_bytes
        )),
        _ => {}
    }
    op["description"] = Value::String(desc.trim().to_string());

    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            if let Some(e) = examples::parameter(p["name"].as_str().unwrap_or_default()) {
                p["example"] = e;
            }
        }
    }
    // Header parameters: what the handlers accept, as patterns.
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut().filter(|p| p["in"] == "header") {
            p["schema"] = match p["name"].as_str() {
                Some("If-Match") => json!({"type": "string", "pattern": if_match}),
                Some("Idempotency-Key") => {
                    json!({"type": "string", "minLength": 1, "maxLength": 255,
                    "pattern": "^[\\x20-\\x7e]*[\\x21-\\x7e][\\x20-\\x7e]*$"})
                }
                _ => continue,
            };
        }
    }
    if let Some(content) = op.pointer_mut("/requestBody/content/application~1json") {
        let valid = examples::valid_bodies(&id);
        if !valid.is_empty() {
            let ex: Map<String, Value> = valid
                .into_iter()
                .map(|(n, v)| {
                    (
                        slug(n),
                        json!({"summary": format!("a valid request: {n}"), "value": v}),
                    )
                })
                .collect();
            content["examples"] = Value::Object(ex);
        }
    }
    let answers = examples::answers(&id);
    if let Some(content) = op.pointer_mut("/responses/200/content/application~1json") {
        if !answers.is_empty() {
            let ex: Map<String, Value> = answers
                .into_iter()
                .map(|(n, v)| (slug(n), json!({"summary": n, "value": v})))
                .collect();
            content["examples"] = Value::Object(ex);
        }
    }
    let secured = scope.is_some();
    if let Some(responses) = op["responses"].as_object_mut() {
        for (status, r) in responses.iter_mut() {
            let status: u16 = status.parse().unwrap_or(0);
            let mut h = common_headers(secured, status);
            if let Some(existing) = r.get("headers").and_then(Value::as_object) {
                h.extend(existing.clone());
            }
            r["headers"] = Value::Object(h);
        }
        if let Some(scope) = scope {
            add_problem_responses(responses, &id, scope);
        }
    }
}

fn add_problem_responses(responses: &mut Map<String, Value>, id: &str, scope: &'static str) {
    let mut by_status: BTreeMap<u16, Vec<examples::ProblemExample>> = BTreeMap::new();
    for e in examples::problems(id, scope) {
        by_status.entry(e.problem.status).or_default().push(e);
    }
    for (status, list) in by_status {
        let mut codes: Vec<&str> = Vec::new();
        for e in &list {
            if !codes.contains(&e.problem.code.as_str()) {
                codes.push(&e.problem.code);
            }
        }
        let description = codes
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut h = common_headers(true, status);
        let code = |c: ProblemCode| codes.contains(&c.as_str());
        if status == 401 || status == 403 {
            h.insert(
                "WWW-Authenticate".into(),
                header("the Bearer challenge, with `error` and, on 403, the `scope` needed"),
            );
        }
        if code(ProblemCode::RateLimited)
            || code(ProblemCode::IdempotencyKeyInUse)
            || code(ProblemCode::StorageFull)
        {
            h.insert(
                "Retry-After".into(),
                header("seconds to wait before retrying"),
            );
        }
        if code(ProblemCode::PreconditionFailed) {
            h.insert("ETag".into(), header("the current version, quoted"));
        }
        let examples: Map<String, Value> = list
            .into_iter()
            .map(|e| {
                (
                    slug(&e.name),
                    json!({"summary": e.summary, "value": e.problem}),
                )
            })
            .collect();
        responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "headers": h,
                "content": {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "examples": examples
                }}
            }),
        );
    }
}
