//! Rows as both backends select them. `sqlx::FromRow` is derived generically over the
//! database, so one record reads a row of either backend, and each becomes its domain type
//! here, once.

use crate::*;

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

/// The row of a skill or an agent, as the backends read it.
pub(crate) trait CatalogRow {
    /// Its table.
    const TABLE: &str;
    /// The statement that selects it, to be finished by a `WHERE`.
    const SELECT: &str;
    /// Its key: the position of lists' cursors.
    fn pk(&self) -> i64;
}

/// A record made from what a request gave for a new one (`N`): active, created `now`, with a
/// new id.
pub(crate) trait FromNew<N> {
    fn from_new(new: &N, now: Timestamp) -> Self;
}

/// The row of a skill or an agent and its record, from the columns they share with the
/// request for a new one (`$new`): the row reads `id` (its key) and `uuid` (the record's id)
/// first, then those columns, then `active` and its times, stored as milliseconds.
macro_rules! catalog_row {
    ($row:ident from $table:literal => $record:ident, $new:ident { $($field:ident: $ty:ty),* }) => {
        #[derive(sqlx::FromRow)]
        pub(crate) struct $row {
            pub id: i64,
            uuid: Uuid,
            $($field: $ty,)*
            active: bool,
            created_at: i64,
            updated_at: i64,
        }

        impl CatalogRow for $row {
            const TABLE: &str = $table;
            const SELECT: &str = concat!(
                "SELECT id, uuid, ",
                $(stringify!($field), ", ",)*
                "active, created_at, updated_at FROM ",
                $table
            );
            fn pk(&self) -> i64 {
                self.id
            }
        }

        impl From<$row> for $record {
            fn from(r: $row) -> Self {
                $record {
                    id: r.uuid.into(),
                    $($field: r.$field,)*
                    active: r.active,
                    created_at: Timestamp(r.created_at),
                    updated_at: Timestamp(r.updated_at),
                }
            }
        }

        impl FromNew<$new> for $record {
            fn from_new(new: &$new, now: Timestamp) -> Self {
                $record {
                    id: Uuid::now_v7().into(),
                    $($field: new.$field.clone(),)*
                    active: true,
                    created_at: now,
                    updated_at: now,
                }
            }
        }
    };
}

catalog_row!(Skill from "skills" => SkillRecord, NewSkill {
    name: String, description: Option<String>
});
catalog_row!(Agent from "agents" => AgentRecord, NewAgent {
    email: String, name: String, external_id: Option<String>
});

/// Columns of an agent `g`, as [`Agent`] reads them.
pub(crate) const AGENT_COLS: &str =
    "g.id, g.uuid, g.email, g.name, g.external_id, g.active, g.created_at, g.updated_at";

/// An agent and its skill-set version, as the grid reads them.
#[derive(sqlx::FromRow)]
pub(crate) struct GridAgent {
    #[sqlx(flatten)]
    pub agent: Agent,
    pub version: i64,
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
    pub(crate) fn record(self, skill: SkillId) -> (i64, SkillHolderRecord) {
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

/// A skill and how many agents hold it, as [`SKILL_HOLDERS`] reads them.
#[derive(sqlx::FromRow)]
pub(crate) struct SkillCount {
    #[sqlx(flatten)]
    skill: Skill,
    holders: i64,
}

/// The organization's (`$1`) skills by name, each with its holders, counted on the index of
/// assignments by skill.
pub(crate) const SKILL_HOLDERS: &str =
    "SELECT k.id, k.uuid, k.name, k.description, k.active, k.created_at, k.updated_at,
       (SELECT count(*) FROM assignments a WHERE a.skill_id = k.id) AS holders
     FROM skills k WHERE k.org_id = (SELECT id FROM orgs WHERE uuid = $1)
     ORDER BY k.name_key, k.id";

impl From<SkillCount> for SkillHolders {
    fn from(r: SkillCount) -> Self {
        SkillHolders {
            skill: r.skill.into(),
            holders: r.holders,
        }
    }
}
