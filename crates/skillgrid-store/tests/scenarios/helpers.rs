//! What the scenarios build their writes from: organizations with skills and agents, items of
//! a write, the usual options, and a write of many agents at a given time.

use skillgrid_core::api::OrgSettings;
use skillgrid_core::model::{
    AgentId, Assignment, NewAgent, NewSkill, OrgId, Precondition, SkillSetWrite, StoredAssignment,
};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::*;
use uuid::Uuid;

/// A change to API clients made by `request` at `now`, by no client (as an admin command).
pub fn by(request: &str, now: i64) -> ChangedBy {
    ChangedBy {
        request_id: request.into(),
        client: None,
        now: Timestamp(now),
    }
}

/// The author of the clients the scenarios make.
pub fn cli() -> ChangedBy {
    by("test", Timestamp::now().0)
}

pub fn page(limit: u32) -> PageRequest {
    PageRequest { after: None, limit }
}

/// A write's context at `now`, its request named after it.
pub fn ctx(now: i64) -> WriteContext {
    WriteContext {
        request_id: format!("req-{now}"),
        client_id: ClientId::new(Uuid::nil()),
        now: Timestamp(now),
    }
}

pub fn opts() -> WriteOptions {
    WriteOptions {
        dry_run: false,
        atomic: true,
        max_skills_per_agent: 500,
        return_sets: true,
        inactive_ok: false,
    }
}

pub fn asg(skill: SkillId, proficiency: i64) -> Assignment {
    Assignment {
        proficiency,
        ..Assignment::omitted(skill, 50)
    }
}

pub fn replace(
    agent: AgentId,
    skills: Vec<Assignment>,
    if_match: Option<Precondition>,
) -> AgentWrite {
    AgentWrite {
        agent_id: agent,
        write: SkillSetWrite::Replace(skills),
        if_match,
    }
}

pub fn merge(agent: AgentId, upsert: Vec<Assignment>, remove: Vec<SkillId>) -> AgentWrite {
    AgentWrite {
        agent_id: agent,
        write: SkillSetWrite::Merge { upsert, remove },
        if_match: None,
    }
}

/// A new organization named `name`, with the default settings.
pub async fn new_org(s: &dyn Store, name: &str) -> OrgId {
    s.create_org(name, &OrgSettings::default())
        .await
        .expect("create organization")
        .id
}

pub async fn new_skill(s: &dyn Store, org: OrgId, name: &str) -> SkillId {
    s.create_skill(
        org,
        &NewSkill {
            name: name.into(),
            description: None,
        },
        Timestamp(1),
    )
    .await
    .expect("create skill")
    .id
}

pub async fn new_agent(s: &dyn Store, org: OrgId, email: &str) -> AgentId {
    s.create_agent(
        org,
        &NewAgent {
            email: email.into(),
            name: "Agent".into(),
            external_id: None,
        },
        Timestamp(1),
    )
    .await
    .expect("create agent")
    .id
}

pub fn applied(o: &ItemOutcome) -> (i64, &skillgrid_core::diff::Plan, &[StoredAssignment]) {
    match o {
        ItemOutcome::Applied {
            version,
            plan,
            skills,
        } => (*version, plan, skills),
        other => panic!("expected Applied, got {other:?}"),
    }
}

/// An organization with skills named `Skill 0`, `Skill 1`, … and agents `0@example.com`, ….
pub struct Org {
    pub id: OrgId,
    pub agents: Vec<AgentId>,
    pub skills: Vec<SkillId>,
}

impl Org {
    pub async fn new(s: &dyn Store, name: &str, skills: usize, agents: usize) -> Org {
        let id = new_org(s, name).await;
        let mut org = Org {
            id,
            agents: Vec::new(),
            skills: Vec::new(),
        };
        for n in 0..skills {
            org.skills
                .push(new_skill(s, id, &format!("Skill {n}")).await);
        }
        for i in 0..agents {
            org.agents
                .push(new_agent(s, id, &format!("{i}@example.com")).await);
        }
        org
    }

    /// Applies `write(index)` to each of `agents` at `at`, all in one committed write (one
    /// audit row per agent).
    pub async fn write_at(
        &self,
        s: &dyn Store,
        agents: &[AgentId],
        at: i64,
        write: impl Fn(usize) -> SkillSetWrite,
    ) {
        let items: Vec<AgentWrite> = agents
            .iter()
            .enumerate()
            .map(|(i, a)| AgentWrite {
                agent_id: *a,
                write: write(i),
                if_match: None,
            })
            .collect();
        let ctx = WriteContext {
            request_id: format!("write at {at}"),
            client_id: ClientId::new(Uuid::from_u128(0xc11e)),
            now: Timestamp(at),
        };
        let opts = WriteOptions {
            return_sets: false,
            ..opts()
        };
        let r = s
            .write_skill_sets(self.id, &ctx, &items, opts)
            .await
            .unwrap();
        assert!(r.committed);
    }
}
