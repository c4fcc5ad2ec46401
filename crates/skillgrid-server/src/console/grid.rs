//! `GET /console`: the grid, the console's home. Agents are its rows and the organization's
//! active skills its columns; each cell shows an agent's proficiency in a skill and the name
//! of its level. The query string filters and sorts the rows (`q`, `skill`, `level`, `active`,
//! `sort`) and pages through them 50 at a time (`after`, `before`).
//!
//! A page costs a constant number of store calls whatever its position or filters: the
//! session, the organization (name and scale), and one grid page with its columns, the
//! organization's active skills (see `Store::agent_grid`), which pages by keyset, never by
//! OFFSET.

use super::grid_view::{self, Columns, Shown};
use super::layout::{frame, refused, respond};
use super::navbar::bar;
use super::sessions;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use skillgrid_core::api::{scopes, ProficiencyScale};
use skillgrid_store::{GridCursor, GridFilter, GridSort, SkillId};
use uuid::Uuid;

const TITLE: &str = "Agents and skills";

/// Rows on one page of the grid.
pub const PAGE_ROWS: u32 = 50;

/// The grid's query string, as sent: every field may be missing or empty.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct GridQuery {
    /// Agents whose name or e-mail address contains this, in any case.
    pub q: Option<String>,
    /// A skill's id: only its holders.
    pub skill: Option<String>,
    /// A level's name, in any case: only agents holding a skill (`skill`, or any) at it.
    pub level: Option<String>,
    /// `active`, `inactive`, or anything else for both.
    pub active: Option<String>,
    /// `name` (the default) or `email`.
    pub sort: Option<String>,
    /// A cursor of the page before: this page starts after it.
    pub after: Option<String>,
    /// A cursor of the page after: this page ends before it.
    pub before: Option<String>,
}

/// A query-string value that says something: trimmed, and absent when empty.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl GridQuery {
    /// The store's filter, or why the query string cannot be one (with the parameter at
    /// fault).
    pub fn filter(&self, scale: &ProficiencyScale) -> Result<GridFilter, (&'static str, String)> {
        let skill = match given(&self.skill) {
            Some(s) => {
                Some(SkillId::from(Uuid::parse_str(s).map_err(|_| {
                    ("skill", format!("`{s}` is not a skill's id"))
                })?))
            }
            None => None,
        };
        let proficiency = match given(&self.level) {
            Some(name) => Some(level_range(scale, name).ok_or_else(|| {
                (
                    "level",
                    format!("`{name}` is not a level of this organization's scale"),
                )
            })?),
            None => None,
        };
        Ok(GridFilter {
            search: given(&self.q).map(str::to_string),
            skill,
            proficiency,
            active: match given(&self.active) {
                Some("active") => Some(true),
                Some("inactive") => Some(false),
                _ => None,
            },
            sort: match given(&self.sort) {
                Some("email") => GridSort::Email,
                _ => GridSort::Name,
            },
        })
    }

    fn cursor(&self) -> Result<Option<GridCursor>, String> {
        let number = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| format!("`{v}` is not a page's position"))
        };
        Ok(match (given(&self.after), given(&self.before)) {
            (Some(a), _) => Some(GridCursor::After(number(a)?)),
            (None, Some(b)) => Some(GridCursor::Before(number(b)?)),
            (None, None) => None,
        })
    }

    /// This query's filters and sort, with the paging cursor replaced by `at`: a link's
    /// query string.
    pub fn link(&self, at: Option<GridCursor>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.q),
            ("skill", &self.skill),
            ("level", &self.level),
            ("active", &self.active),
            ("sort", &self.sort),
        ] {
            if let Some(v) = given(v) {
                s.append_pair(k, v);
            }
        }
        match at {
            Some(GridCursor::After(pk)) => s.append_pair("after", &pk.to_string()),
            Some(GridCursor::Before(pk)) => s.append_pair("before", &pk.to_string()),
            None => &mut s,
        };
        format!("/console?{}", s.finish())
    }
}

/// The proficiencies a level stands for: from its value up to the next level's (as
/// `ProficiencyScale::level_of` names them).
fn level_range(scale: &ProficiencyScale, name: &str) -> Option<(i64, i64)> {
    let mut levels = scale.levels.iter();
    levels
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, low)| {
            let high = levels
                .find(|(_, v)| *v > low)
                .map_or(i64::MAX, |(_, v)| v - 1);
            (low, high)
        })
}

pub async fn page(
    State(state): State<AppState>,
    Query(query): Query<GridQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = match sessions::for_page(&state, &headers, false).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let org_id = s.record.user.org_id;
    let store = state.store();
    let org = store
        .find_org(&org_id.to_string())
        .await?
        .ok_or(skillgrid_store::StoreError::NotFound)?;
    let scale = &org.settings.proficiency_scale;
    let asked = query.filter(scale).map_err(|(_, why)| why);
    let (filter, at) = match asked.and_then(|f| Ok((f, query.cursor()?))) {
        Ok(asked) => asked,
        Err(why) => return Ok(refused(StatusCode::BAD_REQUEST, TITLE, &why)),
    };
    let grid = store.agent_grid(org_id, &filter, at, PAGE_ROWS).await?;
    let user = &s.record.user;
    let shown = Shown {
        query: &query,
        scale,
        columns: Columns::new(&grid.skills),
        editable: user.role.scopes().contains(&scopes::AGENT_WRITE),
    };
    Ok(respond(
        StatusCode::OK,
        frame(
            TITLE,
            Some(bar(&s, &org.name)),
            grid_view::render(&shown, &grid),
        ),
    ))
}
