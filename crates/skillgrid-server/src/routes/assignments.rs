//! One agent's skills, on both `/agents/users/{id}/skills` and
//! `/admin/users/{id}/skills`. Every write goes through [`apply`], which calls the same store
//! operation the bulk route uses, with one item.

use super::{audit_page, audit_page_request, path_id, query, AGENT};
use crate::auth::Caller;
use crate::body;
use crate::error::{current_request_id, ApiError, ApiResult};
use crate::ratelimit::{self, ViewToConfirm};
use crate::render::Renderer;
use crate::state::{AppState, OrgView};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Extension, Json, Router};
use serde_json::Value;
use skillgrid_api::{
    scopes, AgentSkills, AuditEntry, EntryCode, ErrorEntry, Locator, Page, ProblemCode,
    WarningPolicy,
};
use skillgrid_core::model::{AgentId, Precondition, SkillSetWrite};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_core::validate::{self, Document, SkillRules, SkillSetBody};
use skillgrid_store::{AgentWrite, ItemOutcome, StoreError, WriteContext, WriteOptions};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for base in [
        "/agents/users/{userId}/skills",
        "/admin/users/{userId}/skills",
    ] {
        r = r
            .route(base, get(read).put(replace).patch(merge))
            .route(&format!("{base}/history"), get(history))
            .route(
                &format!("{base}/{{skillId}}"),
                put(set_one).delete(remove_one),
            );
    }
    r
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header value")
}

/// Read one agent's skills
///
/// `version` increases by one with every change of the set; the `ETag` is it quoted. The set
/// is the agent's effective skills: its own assignments and what its SCIM Groups give, each
/// skill at the highest of them. With `?include=sources` each skill lists where it comes from.
#[utoipa::path(get, path = "/api/v2/agents/users/{userId}/skills", tag = "assignments", operation_id = "getAgentSkills",
    security(("oauth2" = ["admin:agent:read"])), params(("userId" = uuid::Uuid, Path, description = "the agent's id"),
        ("include" = Option<String>, Query, example = "sources", description = "`sources`: each skill lists where it comes from (its direct assignment, the SCIM Groups that give it)")),
    responses((status = 200, description = "the agent's skills", body = AgentSkills, headers(("ETag" = String, description = "the set's version, quoted: `\"N\"`")))))]
pub(crate) async fn read(
    State(state): State<AppState>,
    mut caller: Caller,
    confirm: Option<Extension<ViewToConfirm>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let mut decision = None;
    // Admitted against the view this process kept (see `ViewToConfirm`): a scope missing
    // there may have been granted since.
    let mut confirm = confirm.is_some();
    if confirm && caller.require(scopes::AGENT_READ).is_err() {
        (caller, decision) = match ratelimit::admit_again(&state, &headers, &caller).await {
            Ok(v) => v,
            Err(res) => return Ok(res),
        };
        confirm = false;
    }
    caller.require(scopes::AGENT_READ)?;
    let wanted = query(q, &["include"])?;
    let agent: AgentId = path_id(AGENT.param, &user)?;
    // The organization's generation in the same statement as the set: the caller stands when
    // it is still the one of the view it was admitted with.
    let confirmed = if confirm {
        let kept = caller.org.as_ref().map(|v| v.generation);
        let read = state
            .store()
            .agent_skills_at_generation(caller.org_id, agent);
        match read.await {
            Ok((generation, set)) if Some(generation) == kept => Some(set),
            Ok(_) | Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let set = match confirmed {
        Some(set) => set.ok_or_else(|| AGENT.missing())?,
        None => {
            if confirm {
                // The organization changed since that view (or is gone).
                (caller, decision) = match ratelimit::admit_again(&state, &headers, &caller).await {
                    Ok(v) => v,
                    Err(res) => return Ok(res),
                };
                caller.require(scopes::AGENT_READ)?;
            }
            let set = state.store().agent_skills(caller.org_id, agent).await;
            set.map_err(|e| AGENT.not_found(e))?
        }
    };
    let org = caller.org(&state).await?;
    let r = Renderer::new(&org.settings.proficiency_scale, &org.catalog);
    let mut skills = r.set(&set.skills);
    if wanted.sources {
        let layers = state.store().agent_layers(caller.org_id, agent).await?;
        sources(&mut skills, &layers);
    }
    let body = AgentSkills {
        warnings: Vec::new(),
        agent_id: agent.get(),
        version: set.version,
        skills,
        dry_run: None,
        changes: None,
    };
    let mut res = ([(header::ETAG, etag(set.version))], Json(body)).into_response();
    if let Some(d) = decision {
        res.extensions_mut().insert(d);
    }
    Ok(res)
}

/// Each skill's sources: its direct assignment (where no group gives the skill, the
/// assignment is the direct one) and every group of the agent that gives it.
fn sources(skills: &mut [skillgrid_api::AssignmentOut], layers: &skillgrid_store::AgentLayers) {
    use skillgrid_api::SkillSource;
    for s in skills {
        let id = skillgrid_core::model::SkillId::from(s.skill_id);
        let direct = match layers.covered.iter().find(|(k, _)| *k == id) {
            Some((_, d)) => *d,
            None => Some(s.proficiency),
        };
        let mut list: Vec<SkillSource> = direct
            .map(|p| SkillSource {
                kind: "direct".into(),
                proficiency: p,
                group_id: None,
                display_name: None,
            })
            .into_iter()
            .collect();
        for (g, name, k, p) in &layers.groups {
            if *k == id {
                list.push(SkillSource {
                    kind: "group".into(),
                    proficiency: *p,
                    group_id: Some(*g),
                    display_name: Some(name.clone()),
                });
            }
        }
        s.sources = Some(list);
    }
}

/// One agent's audit history
///
/// Every change to the agent's assignments, newest first.
#[utoipa::path(get, path = "/api/v2/agents/users/{userId}/skills/history", tag = "assignments", operation_id = "getAgentSkillHistory",
    security(("oauth2" = ["admin:agent:read"])), params(("userId" = uuid::Uuid, Path, description = "the agent's id"), super::Paging),
    responses((status = 200, description = "one page of audit entries, newest first", body = Page<AuditEntry>)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<AuditEntry>>> {
    caller.require(scopes::AGENT_READ)?;
    let q = query(q, &["limit", "cursor"])?;
    let agent: AgentId = path_id(AGENT.param, &user)?;
    let p = state
        .store()
        .agent_history(caller.org_id, agent, audit_page_request(&q)?)
        .await
        .map_err(|e| AGENT.not_found(e))?;
    let org = caller.org(&state).await?;
    let r = Renderer::new(&org.settings.proficiency_scale, &org.catalog);
    let users = crate::console::api::users_by_client(&state, caller.org_id).await?;
    Ok(audit_page(p, |a| r.audit(a, &users)))
}

/// 428: the organization requires `If-Match` and none was sent.
pub(crate) fn precondition_required() -> ApiError {
    ApiError::new(
        ProblemCode::PreconditionRequired,
        "this organization requires If-Match on skill writes; send the ETag of GET …/skills (e.g. If-Match: \"7\"), or * to write unconditionally",
    )
    .with_errors(vec![ErrorEntry::new(Locator::Header("If-Match".into()), EntryCode::MissingField, "If-Match is required").expected("\"N\" or *")])
}

/// 400 `inactive_agent`: the agent named by the path is inactive.
pub(crate) fn inactive_agent(agent: AgentId) -> ApiError {
    ApiError::new(
        ProblemCode::InactiveAgent,
        format!("agent {agent} is inactive; its skills cannot be changed"),
    )
    .with_errors(vec![ErrorEntry::new(
        Locator::Path("userId".into()),
        EntryCode::InactiveAgent,
        "the agent is inactive",
    )
    .hint(format!(
        "reactivate it with PATCH /api/v2/admin/users/{agent} {{\"active\": true}}"
    ))])
}

/// 412: `If-Match` (as `sent`) names another version than the current one, or is a weak tag.
pub(crate) fn precondition_failed(current: i64, sent: Option<Precondition>) -> ApiError {
    let weak = (sent == Some(Precondition::Weak)).then(|| {
        format!("If-Match compares ETags strongly, so a weak one (W/\"N\") never matches: send \"{current}\"")
    });
    let mut e = ApiError::new(
        ProblemCode::PreconditionFailed,
        format!("the agent's skills are at version {current}, not the one If-Match names; GET them again and retry"),
    )
    .with_errors(vec![ErrorEntry::new(Locator::Header("If-Match".into()), EntryCode::PreconditionFailed, format!("the current version is {current}"))
        .expected(format!("\"{current}\""))
        .maybe_hint(weak)])
    .with_header(header::ETAG, &format!("\"{current}\""));
    if let ApiError::Problem { problem, .. } = &mut e {
        problem.current_version = Some(current);
    }
    e
}

/// What every write to one agent's skills has checked before its body is looked at (all but
/// the agent itself: see [`Target::agent_first`]).
struct Target {
    agent: AgentId,
    /// The organization's settings and catalog.
    org: Arc<OrgView>,
    if_match: Option<Precondition>,
    dry_run: bool,
}

async fn target(
    state: &AppState,
    caller: &Caller,
    user: &str,
    q: Option<String>,
    headers: &HeaderMap,
) -> ApiResult<Target> {
    caller.require(scopes::AGENT_WRITE)?;
    let q = query(q, &["dryRun"])?;
    let agent: AgentId = path_id("userId", user)?;
    let org = caller.org(state).await?;
    let raw = headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let if_match = validate::precondition_header(raw).map_err(ApiError::one)?;
    if org.settings.require_if_match && if_match.is_none() {
        return Err(precondition_required());
    }
    // The agent is not looked up here: the write finds it (404, or `inactive_agent`), and a
    // request refused before its write looks it up then (see `Target::agent_first`).
    Ok(Target {
        agent,
        org,
        if_match,
        dry_run: q.dry_run,
    })
}

impl Target {
    /// `refused`, the answer to a request stopped before its write, unless the agent does not
    /// exist or is inactive: that is answered first, as the write would have.
    async fn agent_first<T>(
        &self,
        state: &AppState,
        caller: &Caller,
        refused: ApiResult<T>,
    ) -> ApiResult<T> {
        let Err(refused) = refused else {
            return refused;
        };
        match state.store().get_agent(caller.org_id, self.agent).await {
            Ok(rec) if rec.active => Err(refused),
            Ok(_) => Err(inactive_agent(self.agent)),
            Err(e) => Err(AGENT.not_found(e)),
        }
    }

    async fn body(&self, headers: &HeaderMap, body: Body) -> ApiResult<Document> {
        body::read_json(headers, body, self.org.settings.limits.max_body_bytes).await
    }

    /// The raw body, for the validators that parse it themselves.
    async fn bytes(&self, headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
        body::require_json(headers)?;
        body::read_bytes(headers, body, self.org.settings.limits.max_body_bytes).await
    }

    fn validate<T>(
        &self,
        f: impl FnOnce(&SkillRules) -> Result<T, Vec<ErrorEntry>>,
    ) -> ApiResult<T> {
        let rules = SkillRules::new(&self.org.settings, &self.org.by_id);
        f(&rules).map_err(ApiError::validation)
    }
}

/// Where a write's assignments are in its body.
#[derive(Clone, Copy)]
enum Place {
    /// A list at this pointer (`/skills`, or `""` for a bare array).
    List(&'static str),
    /// One assignment at the root (the single-skill PUT), or none.
    Root,
}

impl Place {
    /// Where a too-long resulting set, or an emptied one, is reported.
    fn list(self) -> &'static str {
        match self {
            Place::List(p) => p,
            Place::Root => "",
        }
    }
}

/// Writes one agent's set and answers with the new representation and its changes.
/// `list_pointer` is where a too-long resulting set is reported.
async fn apply(
    state: &AppState,
    caller: &Caller,
    t: &Target,
    write: SkillSetWrite,
    place: Place,
) -> ApiResult<(i64, Option<skillgrid_core::diff::Plan>, Response)> {
    let list_pointer = place.list();
    let mut t = t;
    let pinned;
    let mut warnings = Vec::new();
    let policy = t.org.settings.warnings;
    let scale = &t.org.settings.proficiency_scale;
    let (upsert, emptying) = match &write {
        SkillSetWrite::Replace(set) => (set.as_slice(), set.is_empty()),
        SkillSetWrite::Merge { upsert, .. } => (upsert.as_slice(), false),
    };
    if policy == WarningPolicy::Warn {
        // The single-skill body names its proficiency at the root.
        warnings = match place {
            Place::Root => {
                validate::warnings::scale_warnings(scale, upsert, |_| "/proficiency".into())
            }
            Place::List(p) => validate::warnings::list_warnings(scale, p, upsert),
        };
    }
    if emptying && policy == WarningPolicy::Reject {
        // Refused if the agent holds skills; else written only if it still holds none.
        let held = state.store().agent_skills(caller.org_id, t.agent).await;
        if let Ok(set) = held {
            if !set.skills.is_empty() {
                let e = validate::warnings::emptied_set(list_pointer, set.skills.len(), true);
                let refused = Err(ApiError::validation(vec![validate::warnings::rejected(e)]));
                return t.agent_first(state, caller, refused).await;
            }
            pinned = Target {
                if_match: t.if_match.or(Some(Precondition::Version(set.version))),
                org: t.org.clone(),
                ..*t
            };
            t = &pinned;
        }
    }
    let ctx = WriteContext {
        request_id: current_request_id(),
        client_id: caller.client_id,
        now: Timestamp::now(),
    };
    let opts = WriteOptions {
        dry_run: t.dry_run,
        atomic: true,
        max_skills_per_agent: t.org.settings.limits.max_skills_per_agent,
        return_sets: true,
        inactive_ok: false,
    };
    let item = AgentWrite {
        agent_id: t.agent,
        write,
        if_match: t.if_match,
    };
    let mut result = state
        .store()
        .write_skill_sets(caller.org_id, &ctx, &[item], opts)
        .await?;
    match result.items.pop() {
        Some(ItemOutcome::Applied {
            version,
            plan,
            skills,
        }) => {
            if emptying && policy == WarningPolicy::Warn && !plan.removed.is_empty() {
                warnings.push(validate::warnings::emptied_set(
                    list_pointer,
                    plan.removed.len(),
                    t.dry_run,
                ));
            }
            let r = Renderer::new(&t.org.settings.proficiency_scale, &t.org.catalog);
            let body = AgentSkills {
                warnings,
                agent_id: t.agent.get(),
                version,
                skills: r.set(&skills),
                dry_run: Some(t.dry_run),
                changes: Some(r.changes(&plan, ctx.now)),
            };
            let res = ([(header::ETAG, etag(version))], Json(body)).into_response();
            Ok((version, Some(plan), res))
        }
        Some(ItemOutcome::PreconditionFailed { current }) => {
            Err(precondition_failed(current, t.if_match))
        }
        Some(ItemOutcome::TooManySkills { resulting }) => Err(ApiError::one(
            ErrorEntry::at(
                list_pointer,
                EntryCode::TooManyItems,
                format!(
                    "the agent would hold {resulting} skills; at most {} are allowed",
                    t.org.settings.limits.max_skills_per_agent
                ),
            )
            .expected(format!(
                "at most {} skills per agent (limits.maxSkillsPerAgent)",
                t.org.settings.limits.max_skills_per_agent
            ))
            .received(Value::from(resulting)),
        )),
        Some(ItemOutcome::Inactive) => Err(inactive_agent(t.agent)),
        Some(ItemOutcome::NotFound) | None => Err(AGENT.missing()),
    }
}

/// Replace one agent's whole skill set
///
/// `{"skills": [ASSIGNMENT, …]}`, or the bare array; `{"skills": []}` removes every skill.
/// Answers with the new set, its new `ETag`, and what changed.
#[utoipa::path(put, path = "/api/v2/agents/users/{userId}/skills", tag = "assignments", operation_id = "putAgentSkills",
    security(("oauth2" = ["admin:agent:write"])), params(("userId" = uuid::Uuid, Path, description = "the agent's id"), ("dryRun" = Option<bool>, Query, description = "`true`: answer as if written, write nothing"), ("If-Match" = Option<String>, Header, description = "`\"N\"` (the ETag of GET …/skills) or `*`: write only if the set is still at that version; required when the organization's `requireIfMatch` is on")),
    request_body(content = skillgrid_api::requests::SkillSetPut, content_type = "application/json"),
    responses((status = 200, description = "the new set and its changes", body = AgentSkills, headers(("ETag" = String, description = "the set's version, quoted: `\"N\"`")))))]
pub(crate) async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let t = target(&state, &caller, &user, q, &headers).await?;
    write_list(
        &state,
        &caller,
        &t,
        &headers,
        body,
        validate::skill_set_replace_body,
        |set| SkillSetWrite::Replace(set.upsert),
    )
    .await
}

/// Merge into one agent's skill set
///
/// Listed skills are added or updated, `remove` ones dropped, the rest kept. A bare array
/// means `skills`.
#[utoipa::path(patch, path = "/api/v2/agents/users/{userId}/skills", tag = "assignments", operation_id = "patchAgentSkills",
    security(("oauth2" = ["admin:agent:write"])), params(("userId" = uuid::Uuid, Path, description = "the agent's id"), ("dryRun" = Option<bool>, Query, description = "`true`: answer as if written, write nothing"), ("If-Match" = Option<String>, Header, description = "`\"N\"` (the ETag of GET …/skills) or `*`: write only if the set is still at that version; required when the organization's `requireIfMatch` is on")),
    request_body(content = skillgrid_api::requests::SkillSetPatch, content_type = "application/json"),
    responses((status = 200, description = "the new set and its changes", body = AgentSkills, headers(("ETag" = String, description = "the set's version, quoted: `\"N\"`")))))]
pub(crate) async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let t = target(&state, &caller, &user, q, &headers).await?;
    write_list(
        &state,
        &caller,
        &t,
        &headers,
        body,
        validate::skill_set_merge_body,
        |set| SkillSetWrite::Merge {
            upsert: set.upsert,
            remove: set.remove,
        },
    )
    .await
}

/// A write of the set's list (PUT replaces the set, PATCH merges into it): the raw body read
/// by `check`, then written as `write` makes of it.
async fn write_list(
    state: &AppState,
    caller: &Caller,
    t: &Target,
    headers: &HeaderMap,
    body: Body,
    check: fn(&[u8], &SkillRules) -> Result<SkillSetBody, Vec<ErrorEntry>>,
    write: fn(SkillSetBody) -> SkillSetWrite,
) -> ApiResult<Response> {
    let set = async {
        let bytes = t.bytes(headers, body).await?;
        t.validate(|rules| check(&bytes, rules))
    };
    let set = t.agent_first(state, caller, set.await).await?;
    let place = Place::List(set.list_pointer);
    Ok(apply(state, caller, t, write(set), place).await?.2)
}

/// Set one skill of an agent
///
/// Adds the skill, or updates its proficiency and dates; the other skills are kept.
#[utoipa::path(put, path = "/api/v2/agents/users/{userId}/skills/{skillId}", tag = "assignments", operation_id = "putAgentSkill",
    security(("oauth2" = ["admin:agent:write"])), params(("userId" = uuid::Uuid, Path, description = "the agent's id"), ("skillId" = uuid::Uuid, Path, description = "the skill's id"), ("dryRun" = Option<bool>, Query, description = "`true`: answer as if written, write nothing"), ("If-Match" = Option<String>, Header, description = "`\"N\"` (the ETag of GET …/skills) or `*`: write only if the set is still at that version; required when the organization's `requireIfMatch` is on")),
    request_body(content = skillgrid_api::requests::AssignmentFields, content_type = "application/json"),
    responses((status = 200, description = "the new set and its changes", body = AgentSkills, headers(("ETag" = String, description = "the set's version, quoted: `\"N\"`")))))]
pub(crate) async fn set_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, skill)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let t = target(&state, &caller, &user, q, &headers).await?;
    let a = async {
        let skill = path_id("skillId", &skill)?;
        let v = t.body(&headers, body).await?;
        t.validate(|rules| v.check(|v| validate::single_assignment(v, rules, skill)))
    };
    let a = t.agent_first(&state, &caller, a.await).await?;
    Ok(apply(
        &state,
        &caller,
        &t,
        SkillSetWrite::Merge {
            upsert: vec![a],
            remove: vec![],
        },
        Place::Root,
    )
    .await?
    .2)
}

/// Remove one skill from an agent
///
/// 404 when the agent does not hold it.
#[utoipa::path(delete, path = "/api/v2/agents/users/{userId}/skills/{skillId}", tag = "assignments", operation_id = "deleteAgentSkill",
    security(("oauth2" = ["admin:agent:write"])), params(("userId" = uuid::Uuid, Path, description = "the agent's id"), ("skillId" = uuid::Uuid, Path, description = "the skill's id"), ("dryRun" = Option<bool>, Query, description = "`true`: answer as if written, write nothing"), ("If-Match" = Option<String>, Header, description = "`\"N\"` (the ETag of GET …/skills) or `*`: write only if the set is still at that version; required when the organization's `requireIfMatch` is on")),
    responses((status = 204, description = "removed (or, on a dry run, would be)", headers(("ETag" = String, description = "the set's version, quoted: `\"N\"`")))))]
pub(crate) async fn remove_one(
    State(state): State<AppState>,
    caller: Caller,
    Path((user, skill)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let t = target(&state, &caller, &user, q, &headers).await?;
    let skill = t
        .agent_first(&state, &caller, path_id("skillId", &skill))
        .await?;
    let not_held = || {
        ApiError::new(
            ProblemCode::NotFound,
            format!("agent {} does not hold skill {skill}", t.agent),
        )
    };
    if !t.org.by_id.contains_key(&skill) {
        return t.agent_first(&state, &caller, Err(not_held())).await;
    }
    let (version, plan, _) = apply(
        &state,
        &caller,
        &t,
        SkillSetWrite::Merge {
            upsert: vec![],
            remove: vec![skill],
        },
        Place::Root,
    )
    .await?;
    if plan.is_none_or(|p| p.removed.is_empty()) {
        return Err(not_held());
    }
    Ok((StatusCode::NO_CONTENT, [(header::ETAG, etag(version))]).into_response())
}
