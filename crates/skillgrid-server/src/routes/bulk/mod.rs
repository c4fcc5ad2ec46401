//! Many agents at once: `POST /agents/skills/bulk` and one skill to many
//! agents, `POST /admin/skills/{skillId}/agents`; who holds a skill,
//! `GET /admin/skills/{skillId}/agents`. Both writes run through [`run_items`], which calls the
//! same set-based store operation as the single-agent routes.

use super::{page, page_request, path_id, query, SKILL};
use crate::auth::Caller;
use crate::body;
use crate::error::{current_request_id, ApiError, ApiResult};
use crate::idempotency;
use crate::render::Renderer;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use skillgrid_api::{
    scopes, EntryCode, ErrorEntry, Locator, OrgSettings, Page, ProblemCode, SkillHolder,
    WarningPolicy,
};
use skillgrid_core::model::{
    AgentId, BulkMode, CatalogSkill, Precondition, SkillId, SkillSetWrite,
};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_core::validate::{self, warnings, BulkLimits, ItemResult, SkillRules};
use skillgrid_store::tuning::{FEED_CHUNK, STREAM_FROM_BYTES as STREAM_FROM};
use skillgrid_store::{
    AgentWrite, ItemOutcome, Items, Producer, StoreError, WriteContext, WriteOptions, WriteRequest,
    WriteResult,
};
use std::collections::HashMap;

mod answer;

use answer::{AnswerParts, Beside, BulkAnswer};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agents/skills/bulk", post(bulk))
        .route(
            "/admin/skills/{skillId}/agents",
            post(skill_to_agents).get(holders),
        )
}

fn limits(s: &OrgSettings) -> BulkLimits {
    BulkLimits {
        max_items: s.limits.max_items_per_bulk,
        max_assignments: s.limits.max_assignments_per_request,
    }
}

fn catalog_map(catalog: &[CatalogSkill]) -> HashMap<SkillId, CatalogSkill> {
    catalog.iter().map(|c| (c.id, c.clone())).collect()
}

async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    caller.require(scopes::AGENT_WRITE)?;
    let org = caller.org(&state).await?;
    let (settings, catalog) = (&org.settings, &org.catalog);
    let input = idempotency::BulkInput::read(
        "/api/v2/agents/skills/bulk",
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
            // Under `reject`, a set replaced with nothing is refused by looking at the agent
            // first (see `run_items`), which a streamed write does not do.
            if bytes.len() >= STREAM_FROM && settings.warnings != WarningPolicy::Reject {
                if let Some(head) = validate::fast::bulk_head(bytes) {
                    let streamed =
                        streamed(&state, &caller, settings, catalog, bytes, head, dry_run);
                    if let Some(answer) = streamed.await? {
                        return Ok(answer);
                    }
                }
            }
            // Small, or not accepted as it was read: validated whole (every problem reported).
            let rules = SkillRules::new(settings, &org.by_id);
            let req = validate::bulk_body(bytes, &rules, &limits(settings))
                .map_err(ApiError::validation)?;
            let items = req.items.into_iter().zip(req.agent_ids).collect();
            run_items(
                &state, &caller, settings, catalog, items, req.atomic, dry_run, "/items",
            )
            .await
        },
    )
    .await
}

/// The bulk route's own validation and write of a body already read, for the console's
/// import (`console/import.rs`): the same checks, dry run, atomic write and audit as
/// `POST /agents/skills/bulk`, without an idempotency key (the console recomputes its body
/// at each apply). Its answer, as the route would send it.
pub(crate) async fn write_read_body(
    state: &AppState,
    caller: &Caller,
    bytes: &[u8],
    dry_run: bool,
) -> ApiResult<skillgrid_api::BulkResponse> {
    use crate::idempotency::JsonAnswer;
    caller.require(scopes::AGENT_WRITE)?;
    let org = caller.org(state).await?;
    let (settings, catalog) = (&org.settings, &org.catalog);
    let rules = SkillRules::new(settings, &org.by_id);
    let req =
        validate::bulk_body(bytes, &rules, &limits(settings)).map_err(ApiError::validation)?;
    let items = req.items.into_iter().zip(req.agent_ids).collect();
    let answer = run_items(
        state, caller, settings, catalog, items, req.atomic, dry_run, "/items",
    )
    .await?;
    let mut json = Vec::new();
    answer.write_json(&mut json).map_err(ApiError::internal)?;
    serde_json::from_slice(&json).map_err(ApiError::internal)
}

async fn skill_to_agents(
    State(state): State<AppState>,
    caller: Caller,
    Path(skill): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    caller.require(scopes::AGENT_WRITE)?;
    let raw_query = q.clone();
    let q = query(q, &["dryRun"])?;
    let skill: SkillId = path_id(SKILL.param, &skill)?;
    let key = idempotency::key_header(&headers)?;
    let org = caller.org(&state).await?;
    let (settings, catalog) = (&org.settings, &org.catalog);
    match org.by_id.get(&skill) {
        None => return Err(SKILL.missing()),
        Some(c) if !c.active => {
            return Err(ApiError::one(
                ErrorEntry::new(
                    Locator::Path("skillId".into()),
                    EntryCode::InactiveSkill,
                    format!("skill `{}` is inactive and cannot be assigned", c.name),
                )
                .hint(format!(
                    "reactivate it with PATCH /api/v2/admin/skills/{skill} {{\"active\": true}}"
                )),
            ))
        }
        Some(_) => {}
    }
    body::require_json(&headers)?;
    let bytes = body::read_bytes(&headers, body, settings.limits.max_body_bytes).await?;
    let path = format!(
        "/api/v2/admin/skills/{skill}/agents?{}",
        raw_query.unwrap_or_default()
    );
    idempotency::run(&state, &caller, key, "POST", &path, &bytes, async {
        let rules = SkillRules::new(settings, &org.by_id);
        let items = validate::skill_to_agents_body(&bytes, skill, &rules, &limits(settings))
            .map_err(ApiError::validation)?;
        run_items(
            &state, &caller, settings, catalog, items, true, q.dry_run, "/agents",
        )
        .await
    })
    .await
}

fn agent_entry(base: &str, i: usize, code: EntryCode, agent: AgentId) -> ErrorEntry {
    let detail = match code {
        EntryCode::UnknownAgent => format!("no agent with id {agent} exists in this organization"),
        _ => format!("agent {agent} is inactive; its skills cannot be changed"),
    };
    let e = ErrorEntry::at(format!("{base}/{i}/agentId"), code, detail)
        .received(Value::String(agent.to_string()));
    if code == EntryCode::InactiveAgent {
        e.hint(format!(
            "reactivate it with PATCH /api/v2/admin/users/{agent} {{\"active\": true}}"
        ))
    } else {
        e
    }
}

fn precondition_entry(base: &str, i: usize, current: i64) -> ErrorEntry {
    ErrorEntry::at(
        format!("{base}/{i}/ifMatch"),
        EntryCode::PreconditionFailed,
        format!("the agent's skills are at version {current}"),
    )
    .expected(format!("\"{current}\""))
    .hint("read the agent's skills again, re-apply your change and retry with the new ETag")
}

fn too_many_entry(base: &str, i: usize, resulting: usize, max: u64) -> ErrorEntry {
    let p = if base == "/items" {
        format!("{base}/{i}/skills")
    } else {
        format!("{base}/{i}")
    };
    ErrorEntry::at(
        p,
        EntryCode::TooManyItems,
        format!("the agent would hold {resulting} skills; at most {max} are allowed"),
    )
    .expected(format!(
        "at most {max} skills per agent (limits.maxSkillsPerAgent)"
    ))
    .received(Value::from(resulting))
}

/// A large bulk body validated while the store writes the items accepted so far
/// (`Store::write` of produced items: on SQLite, the validator runs on the thread that plans
/// the write), so that the database's work starts with the first items rather than after the
/// last. `head` is the body's `mode` and `atomic` as known before its `items`.
///
/// Nothing is kept unless the validator accepts the whole body (the typed fast path; see
/// `validate::fast::bulk_streamed`). When it does not, the write is dropped and `None` says so:
/// the caller then validates the body whole, which reports every problem.
async fn streamed(
    state: &AppState,
    caller: &Caller,
    settings: &OrgSettings,
    catalog: &[CatalogSkill],
    bytes: &[u8],
    head: (BulkMode, bool),
    dry_run: bool,
) -> ApiResult<Option<BulkAnswer>> {
    let map = catalog_map(catalog);
    let rules = SkillRules::new(settings, &map);
    let limits = limits(settings);
    // The validator's items are the store's: each chunk is handed over as it was read.
    let produce: Producer<'_> = Box::new(|sink| {
        validate::fast::bulk_streamed(bytes, &rules, &limits, head, FEED_CHUNK, sink).is_some()
    });
    let mut prepared = Prepared::new(caller, settings, catalog, dry_run, "/items");
    let opts = prepared.options(head.1);
    let beside = Beside::from_items(&prepared.parts);
    let render = |items: &[AgentWrite], outcomes: &[ItemOutcome]| beside.write(items, outcomes);
    let written = state
        .store()
        .write(
            WriteRequest::new(caller.org_id, &prepared.ctx, Items::Produced(produce), opts)
                .sink(&render),
        )
        .await
        .map_err(write_error)?;
    let Some(result) = written.result else {
        return Ok(None);
    };
    let rendered = beside.finish(&result.items);
    prepared.parts.total = written.produced.len();
    prepared.parts.written = written
        .produced
        .iter()
        .map(|w| w.agent_id)
        .enumerate()
        .collect();
    prepared.finish(head.1, result, rendered).map(Some)
}

/// The store's errors of a bulk write, as the API words them.
fn write_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::new(
            ProblemCode::Conflict,
            "a skill in the request was deleted while it was being written; retry",
        ),
        e => e.into(),
    }
}

/// What a bulk write and its answer need before the store is called.
struct Prepared {
    ctx: WriteContext,
    max: u64,
    dry_run: bool,
    parts: AnswerParts,
}

impl Prepared {
    fn new(
        caller: &Caller,
        settings: &OrgSettings,
        catalog: &[CatalogSkill],
        dry_run: bool,
        base: &'static str,
    ) -> Self {
        let ctx = WriteContext {
            request_id: current_request_id(),
            client_id: caller.client_id,
            now: Timestamp::now(),
        };
        let max = settings.limits.max_skills_per_agent;
        let parts = AnswerParts {
            dry_run,
            total: 0,
            request_id: ctx.request_id.clone(),
            base,
            max,
            written: Vec::new(),
            invalid: Vec::new(),
            scale: settings.proficiency_scale.clone(),
            catalog: catalog.to_vec(),
            at: ctx.now,
            policy: settings.warnings,
            lint: Default::default(),
        };
        Prepared {
            ctx,
            max,
            dry_run,
            parts,
        }
    }

    fn options(&self, atomic: bool) -> WriteOptions {
        WriteOptions {
            dry_run: self.dry_run,
            atomic,
            max_skills_per_agent: self.max,
            // The answer lists changes, not whole sets.
            return_sets: false,
            inactive_ok: false,
        }
    }

    /// The answer, once the store has decided every item written: an atomic write with a
    /// failed item answers every such failure at once.
    fn finish(
        self,
        atomic: bool,
        result: WriteResult,
        rendered: Option<Vec<Bytes>>,
    ) -> ApiResult<BulkAnswer> {
        let parts = self.parts;
        if atomic {
            let errors: Vec<ErrorEntry> = parts
                .written
                .iter()
                .zip(&result.items)
                .filter_map(|((i, agent), o)| {
                    failure(parts.base, parts.max, *i, o, *agent).map(|(_, _, e)| e)
                })
                .collect();
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
        }
        Ok(BulkAnswer {
            parts,
            outcomes: result.items,
            rendered,
        })
    }
}

/// Writes the valid items (all or nothing when `atomic`) and answers the bulk body.
#[allow(clippy::too_many_arguments)]
async fn run_items(
    state: &AppState,
    caller: &Caller,
    settings: &OrgSettings,
    catalog: &[CatalogSkill],
    items: Vec<ItemResult>,
    atomic: bool,
    dry_run: bool,
    base: &'static str,
) -> ApiResult<BulkAnswer> {
    let mut invalid: Vec<(usize, Vec<ErrorEntry>)> = Vec::new();
    let mut valid: Vec<(usize, AgentWrite)> = Vec::new();
    let agent_ids: Vec<Option<AgentId>> = items.iter().map(|(_, id)| *id).collect();
    for (i, (it, _)) in items.into_iter().enumerate() {
        match it {
            Ok(w) => valid.push((i, w)),
            Err(e) => invalid.push((i, e)),
        }
    }

    if settings.warnings == WarningPolicy::Reject && base == "/items" {
        refuse_emptying(state, caller, &mut valid, &mut invalid).await;
    }

    if atomic && !invalid.is_empty() {
        // Report every problem at once: the agents' own state too, not only the bodies.
        let ids: Vec<AgentId> = agent_ids.iter().flatten().copied().collect();
        let states = state.store().agent_states(caller.org_id, &ids).await?;
        let if_match: HashMap<usize, Option<Precondition>> =
            valid.iter().map(|(i, w)| (*i, w.if_match)).collect();
        let mut by_item: Vec<Vec<ErrorEntry>> = vec![Vec::new(); agent_ids.len()];
        for (i, id) in agent_ids.iter().enumerate() {
            let Some(id) = id else { continue };
            match states.get(id) {
                None => by_item[i].push(agent_entry(base, i, EntryCode::UnknownAgent, *id)),
                Some(s) if !s.active => {
                    by_item[i].push(agent_entry(base, i, EntryCode::InactiveAgent, *id))
                }
                Some(s) => {
                    if let Some(Some(p)) = if_match.get(&i) {
                        if !p.matches(s.version) {
                            by_item[i].push(precondition_entry(base, i, s.version));
                        }
                    }
                }
            }
        }
        for (i, e) in invalid {
            by_item[i].extend(e);
        }
        return Err(ApiError::validation(
            by_item.into_iter().flatten().collect(),
        ));
    }

    let mut prepared = Prepared::new(caller, settings, catalog, dry_run, base);
    // The writes are moved to the store, not copied: a bulk request may carry 100,000.
    let (indices, writes): (Vec<usize>, Vec<AgentWrite>) = valid.into_iter().unzip();
    let opts = prepared.options(atomic);
    prepared.parts.total = agent_ids.len();
    prepared.parts.written = indices
        .into_iter()
        .zip(writes.iter().map(|w| w.agent_id))
        .collect();
    let p = &prepared.parts;
    prepared.parts.lint = answer::lint(&p.scale, p.policy, base, &p.written, &writes);
    prepared.parts.invalid = invalid
        .into_iter()
        .map(|(i, e)| (i, agent_ids[i], e))
        .collect();
    // A large answer is written while the store is still writing (and committing): it is
    // kept only if the write commits.
    let beside = Beside::new(&prepared.parts);
    let render = |_: &[AgentWrite], outcomes: &[ItemOutcome]| beside.write(&[], outcomes);
    let written = state
        .store()
        .write(
            WriteRequest::new(caller.org_id, &prepared.ctx, Items::Slice(&writes), opts)
                .sink(&render),
        )
        .await
        .map_err(write_error)?;
    let result = written.result.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("the store dropped a write of known items"))
    })?;
    let rendered = beside.finish(&result.items);
    prepared.finish(atomic, result, rendered)
}

/// Under `reject`: items that replace an agent's set with nothing fail if the agent holds
/// skills, and are written only if it still holds none (their `ifMatch`, when not given, is
/// the version seen).
async fn refuse_emptying(
    state: &AppState,
    caller: &Caller,
    valid: &mut Vec<(usize, AgentWrite)>,
    invalid: &mut Vec<(usize, Vec<ErrorEntry>)>,
) {
    let mut refused = Vec::new();
    for (n, (i, w)) in valid.iter_mut().enumerate() {
        if !matches!(&w.write, SkillSetWrite::Replace(set) if set.is_empty()) {
            continue;
        }
        // An agent that cannot be read is answered by the write (404 or inactive).
        let Ok(set) = state.store().agent_skills(caller.org_id, w.agent_id).await else {
            continue;
        };
        if set.skills.is_empty() {
            w.if_match = w.if_match.or(Some(Precondition::Version(set.version)));
        } else {
            let at = format!("/items/{i}/skills");
            let e = warnings::emptied_set(&at, set.skills.len(), true);
            refused.push((n, warnings::rejected(e)));
        }
    }
    for (n, e) in refused.into_iter().rev() {
        let (i, _) = valid.remove(n);
        invalid.push((i, vec![e]));
    }
    invalid.sort_by_key(|(i, _)| *i);
}

/// Why an item the store did not apply failed: status, problem code and error entry.
fn failure(
    base: &str,
    max: u64,
    i: usize,
    o: &ItemOutcome,
    agent: AgentId,
) -> Option<(u16, ProblemCode, ErrorEntry)> {
    match o {
        ItemOutcome::Applied { .. } => None,
        ItemOutcome::NotFound => Some((
            404,
            ProblemCode::NotFound,
            agent_entry(base, i, EntryCode::UnknownAgent, agent),
        )),
        ItemOutcome::Inactive => Some((
            400,
            ProblemCode::InactiveAgent,
            agent_entry(base, i, EntryCode::InactiveAgent, agent),
        )),
        ItemOutcome::PreconditionFailed { current } => Some((
            412,
            ProblemCode::PreconditionFailed,
            precondition_entry(base, i, *current),
        )),
        ItemOutcome::TooManySkills { resulting } => Some((
            400,
            ProblemCode::ValidationFailed,
            too_many_entry(base, i, *resulting, max),
        )),
    }
}

async fn holders(
    State(state): State<AppState>,
    caller: Caller,
    Path(skill): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<SkillHolder>>> {
    caller.require(scopes::AGENT_READ)?;
    let q = query(q, &["limit", "cursor"])?;
    let skill: SkillId = path_id(SKILL.param, &skill)?;
    let p = state
        .store()
        .skill_holders(caller.org_id, skill, page_request(&q)?)
        .await
        .map_err(|e| SKILL.not_found(e))?;
    let org = caller.org(&state).await?;
    let r = Renderer::new(&org.settings.proficiency_scale, &org.catalog);
    Ok(page(p, |h| SkillHolder {
        agent_id: h.agent.id.get(),
        email: h.agent.email,
        name: h.agent.name,
        assignment: r.assignment(&h.assignment),
    }))
}
