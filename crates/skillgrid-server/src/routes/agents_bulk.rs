//! Many agents at once: `POST /admin/users/bulk`, an upsert by email.
//!
//! It behaves as the bulk skill-set route does: every mistake of every agent at once with
//! its pointer, atomic by default (`"atomic": false` writes the valid agents and answers the
//! others' problems per item), `dryRun`, `Idempotency-Key`, one request for the rate limit.
//! The validator (`validate::agents_bulk`) says which agents are valid; the store writes
//! them in one transaction with set-based statements, audited with their events.

use crate::auth::Caller;
use crate::body;
use crate::error::{current_request_id, ApiError, ApiResult};
use crate::idempotency::{self, JsonAnswer};
use crate::render;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use skillgrid_api::{
    scopes, AgentsBulkResponse, AgentsBulkResult, AgentsBulkSummary, ErrorEntry, Problem,
    ProblemCode, UpsertOutcome,
};
use skillgrid_core::model::UpsertAgent;
use skillgrid_core::validate::{self, AgentsBulk};
use skillgrid_store::{StoreError, Upserted};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/users/bulk", post(bulk))
}

impl JsonAnswer for AgentsBulkResponse {
    fn write_json<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        serde_json::to_writer(w, self).map_err(std::io::Error::other)
    }
}

/// Create or update many agents
///
/// Each agent is matched by its `email` (any case): created when no agent of the
/// organization has it (`outcome` `created`, status 201), else its `name`, `externalId` and
/// `active` are set to what was sent and the email's case to the one sent (`updated`, or
/// `unchanged` when they already were; status 200). Fields left out keep their value (a new
/// agent: no external id, active). An email may appear only once (`duplicate_agent` at the
/// later one's `email`).
///
/// Atomic (the default): if anything is wrong anywhere, nothing is written and the answer is
/// one 400 problem listing every error with its pointer (`/agents/3/email`); otherwise every
/// agent is written in one transaction. `"atomic": false`: the valid agents are written, the
/// others come back in `results` with their own problem (status 400). `"dryRun": true` in the
/// body or `?dryRun=true` answers as if written and writes nothing (a new agent's `id` is then
/// not kept). A bare array of agents is taken as `{"agents": [...]}`. Every change is in the
/// administrative audit trail (`/api/v2/audit/admin`) with its `agent.created` or
/// `agent.updated` event. A bulk request counts as one request for the rate limit.
#[utoipa::path(post, path = "/api/v2/admin/users/bulk", tag = "agents", operation_id = "bulkUpsertAgents",
    security(("oauth2" = ["admin:agent:write"])),
    params(("dryRun" = Option<bool>, Query, description = "`true`: answer as if written, write nothing"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; a retry with the same key and body within 24 hours gets the first answer again (`Idempotency-Replayed: true`) and writes nothing")),
    request_body(content = skillgrid_api::requests::AgentsBulkBody, content_type = "application/json"),
    responses((status = 200, description = "a result per agent", body = AgentsBulkResponse,
        headers(("Idempotency-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same Idempotency-Key")))))]
pub(crate) async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    caller.require(scopes::AGENT_WRITE)?;
    let settings = caller.settings(&state).await?;
    let input = idempotency::BulkInput::read(
        "/api/v2/admin/users/bulk",
        q,
        &headers,
        body,
        settings.limits.max_body_bytes,
    )
    .await?;
    let (bytes, dry_run) = (&input.bytes, input.dry_run);
    idempotency::run(
        &state,
        &caller,
        input.key,
        "POST",
        &input.path,
        bytes,
        async {
            let doc = body::parse_json(bytes)?;
            let max = settings.limits.max_items_per_bulk;
            let req = doc
                .finish(
                    validate::agents_bulk(doc.value(), max),
                    AgentsBulk::problems,
                )
                .map_err(ApiError::validation)?;
            upsert(&state, &caller, req, dry_run).await
        },
    )
    .await
}

/// Writes the valid agents of `req` (all or nothing when it is atomic) and answers.
async fn upsert(
    state: &AppState,
    caller: &Caller,
    req: AgentsBulk,
    dry_run: bool,
) -> ApiResult<AgentsBulkResponse> {
    let dry_run = dry_run || req.dry_run;
    let (atomic, emails) = (req.atomic, req.emails);
    let mut valid: Vec<(usize, UpsertAgent)> = Vec::new();
    let mut invalid: Vec<(usize, Vec<ErrorEntry>)> = Vec::new();
    for (i, a) in req.agents.into_iter().enumerate() {
        match a {
            Ok(a) => valid.push((i, a)),
            Err(e) => invalid.push((i, e)),
        }
    }
    if atomic && !invalid.is_empty() {
        return Err(ApiError::validation(
            invalid.into_iter().flat_map(|(_, e)| e).collect(),
        ));
    }
    let (indices, agents): (Vec<usize>, Vec<UpsertAgent>) = valid.into_iter().unzip();
    let done = state
        .store()
        .upsert_agents(caller.org_id, &agents, dry_run, &super::clients::by(caller))
        .await
        .map_err(write_error)?;
    let mut results: Vec<Option<AgentsBulkResult>> = vec![None; emails.len()];
    let mut summary = AgentsBulkSummary {
        items: emails.len() as u64,
        ..AgentsBulkSummary::default()
    };
    for (i, d) in indices.into_iter().zip(done) {
        let (outcome, status, agent) = match d {
            Upserted::Created(a) => (UpsertOutcome::Created, 201, a),
            Upserted::Updated(a) => (UpsertOutcome::Updated, 200, a),
            Upserted::Unchanged(a) => (UpsertOutcome::Unchanged, 200, a),
        };
        match outcome {
            UpsertOutcome::Created => summary.created += 1,
            UpsertOutcome::Updated => summary.updated += 1,
            UpsertOutcome::Unchanged => summary.unchanged += 1,
        }
        summary.succeeded += 1;
        results[i] = Some(AgentsBulkResult {
            index: i as u64,
            email: emails[i].clone(),
            status,
            outcome: Some(outcome),
            agent: Some(render::agent(agent)),
            problem: None,
        });
    }
    for (i, errors) in invalid {
        summary.failed += 1;
        let mut p = Problem::new(
            ProblemCode::ValidationFailed,
            format!(
                "{} problems in this agent; it was not written",
                errors.len()
            ),
        )
        .with_errors(errors);
        p.request_id = current_request_id();
        results[i] = Some(AgentsBulkResult {
            index: i as u64,
            email: emails[i].clone(),
            status: 400,
            outcome: None,
            agent: None,
            problem: Some(p),
        });
    }
    Ok(AgentsBulkResponse {
        dry_run,
        summary,
        results: results.into_iter().flatten().collect(),
    })
}

/// The store's errors of a bulk upsert, as the API words them.
fn write_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::new(
            ProblemCode::Conflict,
            "an agent with one of these emails was created by another request meanwhile; nothing was written; retry",
        ),
        e => e.into(),
    }
}
