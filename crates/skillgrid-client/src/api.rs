//! One typed method per route of the API, plus helpers that follow `nextCursor`.

use crate::requests::{
    AgentAssignment, AgentPatch, AgentQuery, AgentUpsert, AgentsBulk, AssignmentFields, AuditQuery,
    BulkOptions, BulkRequest, ExportQuery, NewAgent, NewSkill, PageQuery, SettingsPatch,
    SkillPatch, SkillQuery, SkillSetMerge, SkillSetReplace, SkillToAgents,
};
use crate::{Answer, Call, Client, Error, Result};
use reqwest::Method;
use skillgrid_api::{
    Agent, AgentSkills, AgentsBulkResponse, AssignmentIn, AuditEntry, BulkResponse, OrgSettings,
    Page, Skill, SkillHolder,
};
use std::future::Future;
use uuid::Uuid;

/// The answer of a bulk call: [`BulkResponse`], or the answer of another bulk route
/// (`AgentsBulkResponse`).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOutcome<R = BulkResponse> {
    pub response: R,
    /// The `Idempotency-Key` the call was sent with (generated unless given): send the same
    /// request again with it to get this answer back without writing anything.
    pub idempotency_key: String,
    /// True when the server replayed the answer of an earlier request with the same key.
    pub replayed: bool,
}

fn skills_path(agent: Uuid) -> String {
    format!("/agents/users/{agent}/skills")
}

/// Follows `nextCursor` from `first` until the last page.
async fn collect<T, F, Fut>(first: Option<String>, mut page: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut cursor = first;
    loop {
        let p = page(cursor.clone()).await?;
        out.extend(p.items);
        match p.next_cursor {
            // A cursor that does not move would loop for ever: stop there.
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            _ => return Ok(out),
        }
    }
}

/// An export being received: what its snapshot says, and its body a chunk at a time.
#[derive(Debug)]
pub struct Export {
    /// The organization's last event the export includes (`Skillgrid-Event-Sequence`).
    pub event_sequence: Option<i64>,
    response: reqwest::Response,
}

impl Export {
    /// The next piece of the body, `None` at its end. An export the server cut short fails
    /// here rather than ending early.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let chunk = self.response.chunk().await.map_err(Error::Transport)?;
        Ok(chunk.map(|c| c.to_vec()))
    }
}

impl Client {
    async fn json<T: serde::de::DeserializeOwned>(&self, call: Call) -> Result<T> {
        self.execute(&call).await?.json()
    }

    /// Agent-skill writes: the new representation, `version` from its `ETag`.
    async fn skill_set(&self, call: Call) -> Result<AgentSkills> {
        let a = self.execute(&call).await?;
        with_etag_version(&a)
    }

    async fn bulk_call<R: serde::de::DeserializeOwned>(
        &self,
        mut call: Call,
        opts: &BulkOptions,
    ) -> Result<BulkOutcome<R>> {
        let key = opts
            .idempotency_key
            .clone()
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        call.idempotency_key = Some(key.clone());
        let a = self.execute(&call.dry_run(opts.dry_run)).await?;
        let replayed = a
            .headers
            .get("idempotency-replayed")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(BulkOutcome {
            response: a.json()?,
            idempotency_key: key,
            replayed,
        })
    }

    // ---- organization settings ----

    /// `GET /organizations/settings`.
    pub async fn settings(&self) -> Result<OrgSettings> {
        self.json(Call::new(Method::GET, "/organizations/settings"))
            .await
    }

    /// `PATCH /organizations/settings`: the settings after the change.
    pub async fn patch_settings(&self, patch: &SettingsPatch) -> Result<OrgSettings> {
        self.json(Call::new(Method::PATCH, "/organizations/settings").json(patch))
            .await
    }

    // ---- skills ----

    /// `GET /admin/skills`: one page.
    pub async fn list_skills(&self, q: &SkillQuery) -> Result<Page<Skill>> {
        self.json(Call::new(Method::GET, "/admin/skills").query(q.to_query()))
            .await
    }

    /// Every skill matching `q`, following `nextCursor` (`q.limit` is the page size).
    pub async fn all_skills(&self, q: &SkillQuery) -> Result<Vec<Skill>> {
        collect(q.cursor.clone(), |cursor| {
            let q = SkillQuery {
                cursor,
                ..q.clone()
            };
            async move { self.list_skills(&q).await }
        })
        .await
    }

    /// `POST /admin/skills`.
    pub async fn create_skill(&self, new: &NewSkill) -> Result<Skill> {
        self.json(Call::new(Method::POST, "/admin/skills").json(new))
            .await
    }

    /// `GET /admin/skills/{id}`.
    pub async fn skill(&self, id: Uuid) -> Result<Skill> {
        self.json(Call::new(Method::GET, format!("/admin/skills/{id}")))
            .await
    }

    /// `PATCH /admin/skills/{id}`.
    pub async fn patch_skill(&self, id: Uuid, patch: &SkillPatch) -> Result<Skill> {
        self.json(Call::new(Method::PATCH, format!("/admin/skills/{id}")).json(patch))
            .await
    }

    /// `DELETE /admin/skills/{id}`: 409 `conflict` while an agent holds it.
    pub async fn delete_skill(&self, id: Uuid) -> Result<()> {
        self.execute(&Call::new(Method::DELETE, format!("/admin/skills/{id}")))
            .await
            .map(drop)
    }

    // ---- agents ----

    /// `GET /admin/users`: one page.
    pub async fn list_agents(&self, q: &AgentQuery) -> Result<Page<Agent>> {
        self.json(Call::new(Method::GET, "/admin/users").query(q.to_query()))
            .await
    }

    /// Every agent matching `q`, following `nextCursor` (`q.limit` is the page size).
    pub async fn all_agents(&self, q: &AgentQuery) -> Result<Vec<Agent>> {
        collect(q.cursor.clone(), |cursor| {
            let q = AgentQuery {
                cursor,
                ..q.clone()
            };
            async move { self.list_agents(&q).await }
        })
        .await
    }

    /// `POST /admin/users`.
    pub async fn create_agent(&self, new: &NewAgent) -> Result<Agent> {
        self.json(Call::new(Method::POST, "/admin/users").json(new))
            .await
    }

    /// `GET /admin/users/{id}`.
    pub async fn agent(&self, id: Uuid) -> Result<Agent> {
        self.json(Call::new(Method::GET, format!("/admin/users/{id}")))
            .await
    }

    /// `PATCH /admin/users/{id}`.
    pub async fn patch_agent(&self, id: Uuid, patch: &AgentPatch) -> Result<Agent> {
        self.json(Call::new(Method::PATCH, format!("/admin/users/{id}")).json(patch))
            .await
    }

    // ---- one agent's skills ----

    /// `GET …/skills`; `version` is the one the `ETag` names (use it as `if_match`).
    pub async fn agent_skills(&self, agent: Uuid) -> Result<AgentSkills> {
        self.skill_set(Call::new(Method::GET, skills_path(agent)))
            .await
    }

    /// `PUT …/skills`: replaces the whole set (`[]` removes every skill).
    pub async fn put_agent_skills(
        &self,
        agent: Uuid,
        skills: &[AssignmentIn],
        if_match: Option<i64>,
        dry_run: bool,
    ) -> Result<AgentSkills> {
        let call = Call::new(Method::PUT, skills_path(agent))
            .json(&SkillSetReplace { skills })
            .if_match(if_match)
            .dry_run(dry_run);
        self.skill_set(call).await
    }

    /// `PATCH …/skills`: adds or updates `skills`, drops `remove`, keeps the rest.
    pub async fn patch_agent_skills(
        &self,
        agent: Uuid,
        skills: &[AssignmentIn],
        remove: &[Uuid],
        if_match: Option<i64>,
        dry_run: bool,
    ) -> Result<AgentSkills> {
        let call = Call::new(Method::PATCH, skills_path(agent))
            .json(&SkillSetMerge { skills, remove })
            .if_match(if_match)
            .dry_run(dry_run);
        self.skill_set(call).await
    }

    /// `PUT …/skills/{skillId}`: sets one assignment.
    pub async fn put_agent_skill(
        &self,
        agent: Uuid,
        skill: Uuid,
        fields: &AssignmentFields,
        if_match: Option<i64>,
        dry_run: bool,
    ) -> Result<AgentSkills> {
        let call = Call::new(Method::PUT, format!("{}/{skill}", skills_path(agent)))
            .json(fields)
            .if_match(if_match)
            .dry_run(dry_run);
        self.skill_set(call).await
    }

    /// `DELETE …/skills/{skillId}`: the set's version afterwards (404 if not held).
    pub async fn delete_agent_skill(
        &self,
        agent: Uuid,
        skill: Uuid,
        if_match: Option<i64>,
        dry_run: bool,
    ) -> Result<i64> {
        let call = Call::new(Method::DELETE, format!("{}/{skill}", skills_path(agent)))
            .if_match(if_match)
            .dry_run(dry_run);
        let a = self.execute(&call).await?;
        a.etag_version().ok_or_else(|| {
            Error::decode(
                a.status.as_u16(),
                "the answer lacks an ETag version",
                &a.body,
            )
        })
    }

    /// `GET …/skills/history`: one page, newest first.
    pub async fn agent_skill_history(
        &self,
        agent: Uuid,
        q: &PageQuery,
    ) -> Result<Page<AuditEntry>> {
        let call =
            Call::new(Method::GET, format!("{}/history", skills_path(agent))).query(q.to_query());
        self.json(call).await
    }

    /// The agent's whole history, newest first.
    pub async fn all_agent_skill_history(
        &self,
        agent: Uuid,
        q: &PageQuery,
    ) -> Result<Vec<AuditEntry>> {
        collect(q.cursor.clone(), |cursor| {
            let q = PageQuery {
                cursor,
                ..q.clone()
            };
            async move { self.agent_skill_history(agent, &q).await }
        })
        .await
    }

    // ---- many agents ----

    /// `POST /agents/skills/bulk`, with an `Idempotency-Key` (generated unless given) that
    /// every retry of this call reuses.
    pub async fn bulk(&self, req: &BulkRequest, opts: &BulkOptions) -> Result<BulkOutcome> {
        self.bulk_call(
            Call::new(Method::POST, "/agents/skills/bulk").json(req),
            opts,
        )
        .await
    }

    /// `POST /admin/users/bulk`: creates or updates many agents, matched by email, all or
    /// nothing when `atomic`; with an `Idempotency-Key` (generated unless given) that every
    /// retry of this call reuses.
    pub async fn upsert_agents(
        &self,
        agents: &[AgentUpsert],
        atomic: bool,
        opts: &BulkOptions,
    ) -> Result<BulkOutcome<AgentsBulkResponse>> {
        let call =
            Call::new(Method::POST, "/admin/users/bulk").json(&AgentsBulk { atomic, agents });
        self.bulk_call(call, opts).await
    }

    /// `POST /admin/skills/{skillId}/agents`: one skill to many agents (merge, atomic).
    pub async fn skill_to_agents(
        &self,
        skill: Uuid,
        agents: &[AgentAssignment],
        opts: &BulkOptions,
    ) -> Result<BulkOutcome> {
        let call = Call::new(Method::POST, format!("/admin/skills/{skill}/agents"))
            .json(&SkillToAgents { agents });
        self.bulk_call(call, opts).await
    }

    /// `GET /admin/skills/{skillId}/agents`: one page of who holds the skill.
    /// Every assignment of the organization as of one moment, in one streamed answer.
    pub async fn export(&self, q: ExportQuery) -> Result<Export> {
        let mut call = Call::new(Method::GET, "/agents/skills/export").query(q.to_query());
        call.stream = true;
        let a = self.execute(&call).await?;
        let event_sequence = a
            .headers
            .get("skillgrid-event-sequence")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        match a.unread {
            Some(response) => Ok(Export {
                event_sequence,
                response,
            }),
            None => Err(Error::decode(
                a.status.as_u16(),
                "the export's answer was read before its body was asked for",
                &a.body,
            )),
        }
    }

    pub async fn skill_holders(&self, skill: Uuid, q: &PageQuery) -> Result<Page<SkillHolder>> {
        let call =
            Call::new(Method::GET, format!("/admin/skills/{skill}/agents")).query(q.to_query());
        self.json(call).await
    }

    /// Everyone who holds the skill.
    pub async fn all_skill_holders(&self, skill: Uuid, q: &PageQuery) -> Result<Vec<SkillHolder>> {
        collect(q.cursor.clone(), |cursor| {
            let q = PageQuery {
                cursor,
                ..q.clone()
            };
            async move { self.skill_holders(skill, &q).await }
        })
        .await
    }

    // ---- audit ----

    /// `GET /audit`: one page, oldest first.
    pub async fn audit(&self, q: &AuditQuery) -> Result<Page<AuditEntry>> {
        self.json(Call::new(Method::GET, "/audit").query(q.to_query()))
            .await
    }

    /// The whole audit log from `q.since` on, following `nextCursor`.
    pub async fn all_audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        collect(q.cursor.clone(), |cursor| {
            let q = AuditQuery {
                cursor,
                ..q.clone()
            };
            async move { self.audit(&q).await }
        })
        .await
    }
}

fn with_etag_version(a: &Answer) -> Result<AgentSkills> {
    let mut s: AgentSkills = a.json()?;
    if let Some(v) = a.etag_version() {
        s.version = v;
    }
    Ok(s)
}
