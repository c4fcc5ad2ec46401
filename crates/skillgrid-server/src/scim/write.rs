//! Making an agent what a SCIM User asks: its fields through the agent's own change (with its
//! entry in the administrative audit trail), its skills through the skill-set write (with
//! theirs), and what SCIM keeps of the User (userName, profile), all in one transaction.

use super::mapping::Desired;
use super::{ScimError, ScimResult};
use crate::auth::Caller;
use crate::error::current_request_id;
use crate::state::AppState;
use axum::http::StatusCode;
use skillgrid_core::model::{
    AgentId, AgentPatch, Assignment, Precondition, SkillSetWrite, StoredAssignment,
};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{
    AgentRecord, AgentSkillSet, Conflict, ItemOutcome, ScimAgent, ScimUserWrite, StoreError,
    Unique, WriteContext, WriteOptions,
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

/// Why [`save`] wrote nothing.
pub enum Refused {
    /// Another agent has the email (a new agent's, or the one the write gives).
    EmailTaken,
    Scim(ScimError),
}

impl Refused {
    /// The SCIM error of the refusal of `d`.
    pub fn into_scim(self, d: &Desired) -> ScimError {
        match self {
            Refused::EmailTaken => ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                format!(
                    "an agent with the email `{0}` already exists; find it with filter=emails.value eq \"{0}\"",
                    d.agent.email
                ),
            ),
            Refused::Scim(e) => e,
        }
    }
}

impl<E: Into<ScimError>> From<E> for Refused {
    fn from(e: E) -> Self {
        Refused::Scim(e.into())
    }
}

/// Makes an agent what `d` asks, in one transaction: a new agent (`found` is `None`), or
/// `found` (the agent and its skill set as read); its fields through the agent's own change
/// (with its audit entry), its skills through the skill-set write (with theirs), and what SCIM
/// keeps of the User, retired when `retired` says when. Nothing is written when any of it is
/// refused. Returns the agent's id.
pub async fn save(
    state: &AppState,
    caller: &Caller,
    found: Option<(&AgentRecord, &AgentSkillSet)>,
    d: &Desired,
    retired: Option<Timestamp>,
) -> Result<AgentId, Refused> {
    // A new agent starts as `d.agent` and active.
    let (email, name, external_id, active) = match found {
        Some((a, _)) => (&a.email, &a.name, &a.external_id, a.active),
        None => (&d.agent.email, &d.agent.name, &d.agent.external_id, true),
    };
    let patch = AgentPatch {
        email: (d.agent.email != *email).then(|| d.agent.email.clone()),
        name: (d.agent.name != *name).then(|| d.agent.name.clone()),
        external_id: (d.agent.external_id != *external_id).then(|| d.agent.external_id.clone()),
        active: (d.active != active).then_some(d.active),
    };
    let held = found.map_or(&[][..], |(_, set)| &set.skills[..]);
    let skills = d.skills.as_deref().and_then(|w| skills_write(held, w));
    let org = caller.org(state).await?;
    let ctx = WriteContext {
        request_id: current_request_id(),
        client_id: caller.client_id,
        now: Timestamp::now(),
    };
    let write = ScimUserWrite {
        agent: match found {
            Some((a, _)) => ScimAgent::Existing(a.id),
            None => ScimAgent::New(&d.agent),
        },
        patch: &patch,
        skills: skills
            .as_ref()
            .map(|w| (w, found.map(|(_, set)| Precondition::Version(set.version)))),
        opts: WriteOptions {
            dry_run: false,
            atomic: true,
            max_skills_per_agent: org.settings.limits.max_skills_per_agent,
            return_sets: false,
            // An inactive User's skills are its identity provider's to set too.
            inactive_ok: true,
        },
        user_name: &d.user_name,
        profile: &d.profile,
        retired,
    };
    let by = crate::routes::clients::by(caller);
    let written = state
        .store()
        .scim_write_user(caller.org_id, &ctx, &by, &write)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(Conflict::Taken(Unique::UserName)) => {
                Refused::Scim(taken(&d.user_name))
            }
            StoreError::Conflict(Conflict::Taken(Unique::AgentEmail)) => Refused::EmailTaken,
            e => e.into(),
        })?;
    let id = written.agent.id;
    Err(Refused::Scim(match written.skills {
        None | Some(ItemOutcome::Applied { .. }) => return Ok(id),
        Some(ItemOutcome::NotFound) => ScimError::not_found(&id.to_string()),
        Some(ItemOutcome::Inactive) => ScimError::bad(
            "invalidValue",
            "an inactive User's skills cannot change; set active to true in the same request",
        ),
        Some(ItemOutcome::PreconditionFailed { .. }) => ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "the User's skills changed while this request was served; read it again and retry",
        ),
        Some(ItemOutcome::TooManySkills { resulting }) => ScimError::bad(
            "invalidValue",
            format!(
                "{resulting} skills would exceed this organization's limit of {} per agent (limits.maxSkillsPerAgent)",
                org.settings.limits.max_skills_per_agent
            ),
        ),
    }))
}

/// The write that replaces the skills `held` with `wanted`, unless they are the same; an
/// assignment kept keeps its dates.
fn skills_write(held: &[StoredAssignment], wanted: &[Assignment]) -> Option<SkillSetWrite> {
    let held: HashMap<_, _> = held.iter().map(|s| (s.skill_id, s)).collect();
    let same = wanted.len() == held.len()
        && wanted.iter().all(|w| {
            held.get(&w.skill_id)
                .is_some_and(|h| h.proficiency == w.proficiency)
        });
    if same {
        return None;
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
    Some(SkillSetWrite::Replace(assignments))
}
