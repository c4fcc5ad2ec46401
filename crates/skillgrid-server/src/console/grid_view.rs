//! The grid's markup: the filter form, the table of agents by skills, and the paging links.
//!
//! The page must stay small with 50 agents by 200 skills (10,000 cells), so a cell carries only
//! its text and its level's class: the agent's id and ETag are on its row, the skill's id on its
//! column's header, and the console's script (`grid.js`) copies them onto the cells.

use super::grid::GridQuery;
use foldhash::HashMap;
use maud::{html, Markup};
use skillgrid_core::api::ProficiencyScale;
use skillgrid_core::model::CatalogSkill;
use skillgrid_store::{GridCursor, GridPage, GridRow, SkillId};

/// The grid's columns, in order, and where each skill's column is.
pub struct Columns<'a> {
    pub skills: &'a [CatalogSkill],
    at: HashMap<SkillId, usize>,
}

impl<'a> Columns<'a> {
    pub fn new(skills: &'a [CatalogSkill]) -> Self {
        let at = skills.iter().enumerate().map(|(i, k)| (k.id, i)).collect();
        Columns { skills, at }
    }

    /// One row's proficiencies, column by column.
    fn cells(&self, row: &GridRow) -> Vec<Option<i64>> {
        let mut cells = vec![None; self.skills.len()];
        for (skill, proficiency) in &row.skills {
            if let Some(&i) = self.at.get(skill) {
                cells[i] = Some(*proficiency);
            }
        }
        cells
    }
}

/// What a page shows besides its rows.
pub struct Shown<'a> {
    pub query: &'a GridQuery,
    pub scale: &'a ProficiencyScale,
    pub columns: Columns<'a>,
    /// Whether the signed-in user may change assignments (the API decides anyway).
    pub editable: bool,
}

/// The classes of levels, from below the lowest (`l0`) to the highest (`l5`): an
/// organization's levels are spread over them, so any number of levels gets a colour each
/// (neighbours share one past five).
const LEVEL_CLASSES: [&str; 6] = ["l0", "l1", "l2", "l3", "l4", "l5"];

/// A proficiency's level name (none below the lowest level) and the class of its colour.
pub fn level_of(scale: &ProficiencyScale, proficiency: i64) -> (Option<&str>, &'static str) {
    let count = scale.levels.len();
    let rank = scale
        .levels
        .iter()
        .filter(|(_, v)| *v <= proficiency)
        .count();
    let class = match (rank, count) {
        (0, _) => 0,
        (r, n) if n <= 5 => r,
        (r, n) => 1 + (r - 1) * 4 / (n - 1),
    };
    (scale.level_of(proficiency), LEVEL_CLASSES[class])
}

pub fn render(shown: &Shown, page: &GridPage) -> Markup {
    html! {
        (filters(shown))
        div.grid-scroll {
            table.grid #grid data-grid data-home data-editable=(shown.editable)
                data-levels=(levels_json(shown.scale)) {
                caption {
                    "Agents (rows) and their proficiency in each active skill (columns)"
                    @if shown.editable {
                        ". Arrow keys move between cells, Enter edits a cell and saves it, \
                         Escape cancels."
                    }
                }
                thead {
                    tr {
                        th scope="col" { "Agent" }
                        @for k in shown.columns.skills {
                            th scope="col" data-skill-id=(k.id) { (k.name) }
                        }
                    }
                }
                tbody {
                    @for row in &page.rows {
                        (grid_row(shown, row))
                    }
                }
            }
        }
        @if page.rows.is_empty() {
            p.notice data-empty { "No agent matches these filters." }
        }
        script src="/console/assets/grid.js" defer {}
        nav.pager aria-label="Pages" {
            @if let Some(pk) = page.previous {
                a rel="prev" data-page="previous"
                    href=(shown.query.link(Some(GridCursor::Before(pk)))) { "Previous" }
            }
            @if let Some(pk) = page.next {
                a rel="next" data-page="next"
                    href=(shown.query.link(Some(GridCursor::After(pk)))) { "Next" }
            }
        }
    }
}

/// The scale's levels, lowest first, as `[[name, value], …]`: the script colours a saved cell
/// as the server does.
fn levels_json(scale: &ProficiencyScale) -> String {
    let levels: Vec<(&str, i64)> = scale.levels.iter().collect();
    serde_json::to_string(&levels).expect("names and numbers")
}

fn grid_row(shown: &Shown, row: &GridRow) -> Markup {
    let a = &row.agent;
    html! {
        tr data-agent-id=(a.id) data-etag=(format!("\"{}\"", row.version))
            data-active=(a.active) {
            th scope="row" {
                (a.name)
                @if !a.active { " " em { "(inactive)" } }
                br;
                small { (a.email) }
            }
            @for cell in shown.columns.cells(row) {
                @match cell {
                    Some(p) => {
                        @let (name, class) = level_of(shown.scale, p);
                        td class=(class) {
                            (p)
                            @if let Some(name) = name { " " small { (name) } }
                        }
                    }
                    None => td {},
                }
            }
        }
    }
}

fn filters(shown: &Shown) -> Markup {
    let q = shown.query;
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let (skill, level, active, sort) = (
        value(&q.skill),
        value(&q.level).to_lowercase(),
        value(&q.active),
        value(&q.sort),
    );
    html! {
        form.filters method="get" action="/console" role="search" data-form="grid-filters" {
            div {
                label for="q" { "Name or e-mail contains" }
                input #q type="search" name="q" value=(value(&q.q));
            }
            div {
                label for="skill" { "Holds skill" }
                select #skill name="skill" {
                    option value="" { "Any skill" }
                    @for k in shown.columns.skills {
                        @let id = k.id.to_string();
                        option value=(id) selected[id == skill] { (k.name) }
                    }
                }
            }
            div {
                label for="level" { "At level" }
                select #level name="level" {
                    option value="" { "Any level" }
                    @for (name, _) in shown.scale.levels.iter() {
                        option value=(name) selected[name.to_lowercase() == level] { (name) }
                    }
                }
            }
            div {
                label for="active" { "Agents" }
                select #active name="active" {
                    option value="" { "Active and inactive" }
                    option value="active" selected[active == "active"] { "Active only" }
                    option value="inactive" selected[active == "inactive"] { "Inactive only" }
                }
            }
            div {
                label for="sort" { "Sort by" }
                select #sort name="sort" {
                    option value="name" { "Name" }
                    option value="email" selected[sort == "email"] { "E-mail" }
                }
            }
            button type="submit" { "Show" }
        }
    }
}
