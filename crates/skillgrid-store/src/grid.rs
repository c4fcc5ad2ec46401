//! What the console's grid reads: one page of an organization's agents, as the grid filters
//! and sorts them, each with its skill-set version and its assignments of the organization's
//! active skills (the grid's columns), read with the page in one snapshot. One call per page, whatever the page. And the ids of
//! every agent a filter matches, a keyset page at a time.

use crate::{AgentId, AgentRecord, SkillId};
use skillgrid_core::model::CatalogSkill;

/// The order of the grid's rows (ties broken by the agent's key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GridSort {
    #[default]
    Name,
    /// By e-mail address, case-insensitively.
    Email,
}

/// Which agents the grid shows.
#[derive(Debug, Clone, Default)]
pub struct GridFilter {
    /// Agents whose name or e-mail address contains this, case-insensitively (on SQLite, whose
    /// `lower` folds ASCII letters only, other letters of a name match in their own case).
    pub search: Option<String>,
    /// Only the holders of this skill.
    pub skill: Option<SkillId>,
    /// Only agents holding a skill (`skill` when given, any otherwise) at a proficiency in
    /// this range, both ends included.
    pub proficiency: Option<(i64, i64)>,
    pub active: Option<bool>,
    pub sort: GridSort,
}

/// Where a page starts: after the agent with this cursor, or (going back) before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridCursor {
    After(i64),
    Before(i64),
}

/// One row of the grid.
#[derive(Debug, Clone)]
pub struct GridRow {
    pub agent: AgentRecord,
    /// Its skill-set version: the ETag of its skills.
    pub version: i64,
    /// Its assignments of active skills: the skill and the proficiency.
    pub skills: Vec<(SkillId, i64)>,
}

/// A page of the grid, with the cursors of the pages around it.
#[derive(Debug, Clone)]
pub struct GridPage {
    /// The grid's columns: the organization's active skills, by name in any case.
    pub skills: Vec<CatalogSkill>,
    pub rows: Vec<GridRow>,
    /// `GridCursor::After` this for the next page.
    pub next: Option<i64>,
    /// `GridCursor::Before` this for the previous page.
    pub previous: Option<i64>,
}

/// Some of the agents a filter matches, as the grid orders them: their ids and names only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridIds {
    pub agents: Vec<(AgentId, String)>,
    /// The key to read on after (the last id's agent), when more agents match.
    pub next: Option<i64>,
}
