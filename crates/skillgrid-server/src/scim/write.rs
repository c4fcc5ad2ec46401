//! Making an agent what a SCIM User asks: its fields through the agent's own change (with its
//! entry in the administrative audit trail), its skills through the skill-set write (with
//! theirs), and what SCIM keeps of the User (userName, profile). They are written one after
//! the other, each in its own transaction.

use super::mapping::Desired;
use super::{ScimError, ScimResult};
use crate::auth::Caller;
use crate::error::current_request_id;
use crate::state::AppState;
use axum::http::StatusCode;
use skillgrid_core::model::{
    AgentId, AgentPatch, AgentWrite, Assignment, Precondition, SkillSetWrite,
};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{
    AgentRecord, AgentSkillSet, ItemOutcome, StoreError, WriteContext, WriteOptions,
};
use std::collections::HashMap;

pub fn taken(user_name: &str) -> ScimError {
    ScimError::new(
        StatusCode::CONFLICT,
        Some("uniqueness"),
        format!("a User with userName `{user_name}` already exists; find it with filter=userName eq \"{user_name}\""),
    )
}

/// Refuses a userName another User has.
pub async fn check_user_name(
    state: &AppState,
    caller: &Caller,
    d: &Desired,
    me: Option<AgentId>,
) -> ScimResult<()> {
    match state
        .store()
        .scim_user_named(caller.org_id, &d.user_name)
        .await?
    {
        Some(k) if Some(k.agent_id) != me => Err(taken(&d.user_name)),
        _ => Ok(()),
    }
}

/// Keeps the userName and profile of a User just written.
pub async fn keep(state: &AppState, caller: &Caller, id: AgentId, d: &Desired) -> ScimResult<()> {
    state
        .store()
        .scim_save_user(caller.org_id, id, &d.user_name, &d.profile, None)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => taken(&d.user_name),
            e => e.into(),
        })
}

/// Makes the agent `a` (with `set`) what `d` asks: its fields through the agent's own change
/// (with its audit entry), its skills through the skill-set write (with theirs). Skills are
/// written while the agent is active: after activating it, before deactivating it.
pub async fn apply(
    state: &AppState,
    caller: &Caller,
    a: &AgentRecord,
    set: &AgentSkillSet,
    d: &Desired,
) -> ScimResult<()> {
    let change = AgentPatch {
        email: (d.agent.email != a.email).then(|| d.agent.email.clone()),
        name: (d.agent.name != a.name).then(|| d.agent.name.clone()),
        external_id: (d.agent.external_id != a.external_id).then(|| d.agent.external_id.clone()),
        active: (d.active != a.active).then_some(d.active),
    };
    let changes = change != AgentPatch::default();
    let by = crate::routes::clients::by(caller);
    let store = state.store();
    if changes && d.active {
        store
            .update_agent_by(caller.org_id, a.id, &change, &by)
            .await?;
    }
    if let Some(skills) = &d.skills {
        write_skills(state, caller, a.id, set, skills).await?;
    }
    if changes && !d.active {
        store
            .update_agent_by(caller.org_id, a.id, &change, &by)
            .await?;
    }
    Ok(())
}

/// Replaces the agent's skills with `wanted` unless they are the same; an assignment kept
/// keeps its dates.
async fn write_skills(
    state: &AppState,
    caller: &Caller,
    agent: AgentId,
    set: &AgentSkillSet,
    wanted: &[Assignment],
) -> ScimResult<()> {
    let held: HashMap<_, _> = set.skills.iter().map(|s| (s.skill_id, s)).collect();
    let same = wanted.len() == held.len()
        && wanted.iter().all(|w| {
            held.get(&w.skill_id)
                .is_some_and(|h| h.proficiency == w.proficiency)
        });
    if same {
        return Ok(());
    }
    let assignments = wanted
        .iter()
        .map(|w| match held.get(&w.skill_id) {
            Some(h) => Assignment {
                effective: h.effective,
                expires: h.expires,
                ..*w
            },
            None => *w,
        })
        .collect();
    let org = caller.org(state).await?;
    let ctx = WriteContext {
        request_id: current_request_id(),
        client_id: caller.client_id,
        now: Timestamp::now(),
    };
    let opts = WriteOptions {
        dry_run: false,
        atomic: true,
        max_skills_per_agent: org.settings.limits.max_skills_per_agent,
        return_sets: false,
        // An inactive User's skills are its identity provider's to set too.
        inactive_ok: true,
    };
    let item = AgentWrite {
        agent_id: agent,
        write: SkillSetWrite::Replace(assignments),
        if_match: Some(Precondition::Version(set.version)),
    };
    let mut result = state
        .store()
        .write_skill_sets(caller.org_id, &ctx, &[item], opts)
        .await?;
    match result.items.pop() {
        Some(ItemOutcome::Applied { .. }) => Ok(()),
        Some(ItemOutcome::NotFound) => Err(ScimError::not_found(&agent.to_string())),
        Some(ItemOutcome::Inactive) => Err(ScimError::bad(
            "invalidValue",
            "an inactive User's skills cannot change; set active to true in the same request",
        )),
        Some(ItemOutcome::PreconditionFailed { .. }) => Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "the User's skills changed while this request was served; read it again and retry",
        )),
        Some(ItemOutcome::TooManySkills { resulting }) => Err(ScimError::bad(
            "invalidValue",
            format!(
                "{resulting} skills would exceed this organization's limit of {} per agent (limits.maxSkillsPerAgent)",
                org.settings.limits.max_skills_per_agent
            ),
        )),
        None => Err(ScimError::from(crate::error::ApiError::internal(anyhow::anyhow!(
            "a write of one item answered nothing"
        )))),
    }
}
