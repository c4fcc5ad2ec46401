//! Rows as both backends select them. `sqlx::FromRow` is derived generically over the
//! database, so one record reads a row of either backend, and each becomes its domain type
//! here, once.

use crate::*;

/// Skills as [`Skill`] reads them, to be finished by a `WHERE`.
pub(crate) const SELECT_SKILLS: &str =
    "SELECT id, uuid, name, description, active, created_at, updated_at FROM skills";
/// Agents as [`Agent`] reads them, to be finished by a `WHERE`.
pub(crate) const SELECT_AGENTS: &str =
    "SELECT id, uuid, email, name, external_id, active, created_at, updated_at FROM agents";
/// Columns of an organization, as [`Org`] reads them.
pub(crate) const ORG_COLS: &str = "uuid, name, settings";

#[derive(sqlx::FromRow)]
pub(crate) struct Org {
    uuid: Uuid,
    name: String,
    /// JSON, the whole settings object (see `crate::settings`).
    settings: String,
}

impl Org {
    pub(crate) fn record(self) -> Result<OrgRecord> {
        Ok(OrgRecord {
            id: self.uuid.into(),
            name: self.name,
            settings: crate::settings::from_json(&self.settings)?,
        })
    }
}

/// A row with an integer key: the position of lists' cursors.
pub(crate) trait Keyed {
    fn pk(&self) -> i64;
}

#[derive(sqlx::FromRow)]
pub(crate) struct Skill {
    /// Its key: the position of lists' cursors.
    pub id: i64,
    uuid: Uuid,
    name: String,
    description: Option<String>,
    active: bool,
    created_at: i64,
    updated_at: i64,
}

impl Keyed for Skill {
    fn pk(&self) -> i64 {
        self.id
    }
}

impl From<Skill> for SkillRecord {
    fn from(r: Skill) -> Self {
        SkillRecord {
            id: r.uuid.into(),
            name: r.name,
            description: r.description,
            active: r.active,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct Agent {
    /// Its key: the position of lists' cursors.
    pub id: i64,
    uuid: Uuid,
    email: String,
    name: String,
    external_id: Option<String>,
    active: bool,
    created_at: i64,
    updated_at: i64,
}

impl Keyed for Agent {
    fn pk(&self) -> i64 {
        self.id
    }
}

impl From<Agent> for AgentRecord {
    fn from(r: Agent) -> Self {
        AgentRecord {
            id: r.uuid.into(),
            email: r.email,
            name: r.name,
            external_id: r.external_id,
            active: r.active,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
        }
    }
}

/// An agent holding a skill: the agent's columns (`g.`), then the assignment's.
#[derive(sqlx::FromRow)]
pub(crate) struct Holder {
    #[sqlx(flatten)]
    agent: Agent,
    proficiency: i64,
    effective_at: Option<i64>,
    expires_at: Option<i64>,
    assigned_at: i64,
}

/// The columns a [`Holder`] reads, of `assignments a JOIN agents g`.
pub(crate) const HOLDER_COLS: &str =
    "g.id, g.uuid, g.email, g.name, g.external_id, g.active, g.created_at, g.updated_at,
     a.proficiency, a.effective_at, a.expires_at, a.updated_at AS assigned_at";

impl Holder {
    /// The holder of `skill` and its cursor position.
    pub(crate) fn record(self, skill: Uuid) -> (i64, SkillHolderRecord) {
        (
            self.agent.id,
            SkillHolderRecord {
                agent: self.agent.into(),
                assignment: StoredAssignment {
                    skill_id: skill,
                    proficiency: self.proficiency,
                    effective: self.effective_at.map(Timestamp),
                    expires: self.expires_at.map(Timestamp),
                    updated_at: Timestamp(self.assigned_at),
                },
            },
        )
    }
}

/// An organization with its key and generation, as a snapshot reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct OrgAt {
    pub id: i64,
    pub generation: i64,
    #[sqlx(flatten)]
    pub org: Org,
}

/// An agent's version and whether it is active, by its id.
#[derive(sqlx::FromRow)]
pub(crate) struct State {
    uuid: Uuid,
    version: i64,
    active: bool,
}

impl State {
    pub(crate) fn entry(self) -> (AgentId, AgentState) {
        (
            self.uuid.into(),
            AgentState {
                version: self.version,
                active: self.active,
            },
        )
    }
}
