//! The grid's markup: the filter form, the table of agents by skills, and the paging links.
//!
//! The page must stay small with 50 agents by 200 skills (10,000 cells), so a cell carries only
//! its text and its level's class: the agent's id and ETag are on its row, the skill's id on its
//! column's header, and the console's script (`grid.js`) copies them onto the cells.

use super::grid::GridQuery;
use foldhash::HashMap;
use maud::{html, Escaper, Markup, PreEscaped};
use skillgrid_core::api::ProficiencyScale;
use skillgrid_core::model::CatalogSkill;
use skillgrid_store::{GridCursor, GridPage, GridRow, SkillId};
use std::fmt::Write;

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
                        th scope="col" {
                            @if shown.editable {
                                input type="checkbox" data-select-page
                                    aria-label="Select every agent on this page";
                                " "
                            }
                            "Agent"
                        }
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
        @if shown.editable {
            (bulk_panel(shown))
            script src="/console/assets/bulk.js" defer {}
        }
    }
}

/// The selection's actions and the change to make of the selected agents, previewed (a dry
/// run of the API's bulk request) before it is applied; filled in by `bulk.js`.
fn bulk_panel(shown: &Shown) -> Markup {
    let levels: Vec<&str> = shown.scale.levels.iter().map(|(n, _)| n).collect();
    let scale = shown.scale;
    html! {
        section.bulk data-bulk-panel aria-labelledby="bulk-heading" {
            h2 #bulk-heading { "Change the selected agents" }
            p data-selection-count aria-live="polite" { "No agent selected." }
            div.bulk-select {
                button type="button" data-select-matching {
                    "Select every agent matching this filter"
                }
                button type="button" data-select-none { "Clear the selection" }
            }
            form.bulk-form data-form="bulk" {
                div {
                    label for="bulk-action" { "Change" }
                    select #bulk-action name="action" {
                        option value="assign" { "Assign a skill at a level" }
                        option value="change" { "Change the level of a skill (its holders only)" }
                        option value="remove" { "Remove a skill" }
                    }
                }
                div {
                    label for="bulk-skill" { "Skill" }
                    // Filled by the script from the grid's column heads: the page names
                    // each skill once there and once in the filters, not a third time.
                    select #bulk-skill name="skill" {}
                }
                div data-bulk-level-field {
                    label for="bulk-level" { "Level" }
                    input #bulk-level type="text" name="level" aria-describedby="bulk-level-help";
                    small #bulk-level-help {
                        "A number from " (scale.min) " to " (scale.max)
                        @if !levels.is_empty() { ", or one of " (levels.join(", ")) }
                        " (any case). Empty: the scale's default, " (scale.default) "."
                    }
                }
                button type="submit" data-bulk-preview { "Preview" }
            }
            div data-bulk-message role="status" {}
            div data-bulk-result {}
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
                @if shown.editable {
                    input type="checkbox" data-select-agent value=(a.id)
                        data-name=(a.name) aria-label=(format!("Select {}", a.name));
                    " "
                }
                a href=(format!("/console/agents/{}", a.id)) data-agent-link { (a.name) }
                @if !a.active { " " em { "(inactive)" } }
                br;
                small { (a.email) }
            }
            (cells(shown, row))
        }
    }
}

/// A row's cells, written by hand: a page has up to 10,000 of them, so each is left with no
/// end tag (HTML closes a cell at the next one or at the row's end) and an empty one is only
/// `<td>`; the class of its level is written unquoted (one word, as HTML allows).
fn cells(shown: &Shown, row: &GridRow) -> PreEscaped<String> {
    let mut out = String::with_capacity(shown.columns.skills.len() * 8);
    for cell in shown.columns.cells(row) {
        match cell {
            None => out.push_str("<td>"),
            Some(p) => {
                let (name, class) = level_of(shown.scale, p);
                let _ = write!(out, "<td class={class}>{p}");
                if let Some(name) = name {
                    out.push_str(" <small>");
                    let _ = Escaper::new(&mut out).write_str(name);
                    out.push_str("</small>");
                }
            }
        }
    }
    PreEscaped(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use skillgrid_core::timestamp::Timestamp;
    use skillgrid_store::AgentRecord;
    use uuid::Uuid;

    /// A full page of the largest grid the console is made for: 50 agents by 200 skills,
    /// each agent holding 20 of them.
    fn full_page() -> (Vec<CatalogSkill>, GridPage) {
        let skills: Vec<CatalogSkill> = (0..200)
            .map(|i| CatalogSkill {
                id: SkillId::from(Uuid::now_v7()),
                name: format!("Skill {i:03}"),
                active: true,
            })
            .collect();
        let rows = (0..50)
            .map(|i| GridRow {
                agent: AgentRecord {
                    id: Uuid::now_v7().into(),
                    email: format!("agent{i:05}@example.com"),
                    name: format!("Agent {i:05}"),
                    external_id: None,
                    active: true,
                    created_at: Timestamp(0),
                    updated_at: Timestamp(0),
                },
                version: 12,
                skills: (0..20).map(|k| (skills[k * 10 + i % 10].id, 75)).collect(),
            })
            .collect();
        let page = GridPage {
            skills: skills.clone(),
            rows,
            next: Some(123_456),
            previous: Some(123_406),
        };
        (skills, page)
    }

    #[test]
    fn a_full_page_weighs_under_150_kb() {
        let (skills, page) = full_page();
        let query = GridQuery::default();
        let scale = skillgrid_core::api::OrgSettings::default().proficiency_scale;
        let shown = Shown {
            query: &query,
            scale: &scale,
            columns: Columns::new(&skills),
            editable: true,
        };
        let html = render(&shown, &page).into_string();
        assert_eq!(html.matches("<td").count(), 50 * 200);
        assert_eq!(
            html.matches("<td class=l3>75 <small>Advanced</small>")
                .count(),
            1000
        );
        assert!(html.len() < 150 * 1024, "{} bytes", html.len());
    }

    #[test]
    fn levels_spread_over_the_colours() {
        let mut scale = skillgrid_core::api::OrgSettings::default().proficiency_scale;
        assert_eq!(level_of(&scale, 10), (None, "l0"));
        assert_eq!(level_of(&scale, 100), (Some("Expert"), "l4"));
        scale.levels =
            skillgrid_core::api::Levels::new((1..=9).map(|v| (format!("L{v}"), v * 10)).collect());
        assert_eq!(level_of(&scale, 10).1, "l1");
        assert_eq!(level_of(&scale, 90).1, "l5");
        assert_eq!(level_of(&scale, 55).1, "l3");
    }
}
