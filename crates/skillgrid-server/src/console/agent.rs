//! `GET /console/agents/{agentId}`: one agent, their skills with the dates they hold them,
//! and their history, newest first, 20 changes a page (`cursor`, by keyset as the API's
//! history route pages). Each change names who made it: the console user (by e-mail) when it
//! was made in the console, else the API client (by name).
//!
//! Undoing a change is the page's script (`agent.js`) calling the API's own routes for one
//! skill, with the session's anti-forgery token and the agent's ETag: every rule, the audit
//! entry and the refusal of a viewer stay with the API. This page only shows what is there.

use super::layout::{frame, refused, respond};
use super::navbar::bar;
use super::sessions;
use crate::error::ApiError;
use crate::render::{decode_audit_cursor, encode_audit_cursor, Renderer};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use foldhash::HashMap;
use maud::{html, Markup};
use serde::Deserialize;
use skillgrid_api::{AssignmentOut, AuditEntry};
use skillgrid_core::api::scopes;
use skillgrid_core::model::{AgentId, ClientId};
use skillgrid_store::{AgentRecord, PageRequest, StoreError};
use uuid::Uuid;

/// Changes on one page of an agent's history.
pub const HISTORY_ROWS: u32 = 20;

#[derive(Debug, Default, Deserialize)]
pub struct AgentQuery {
    /// Where this page of the history starts (the previous page's `next`).
    pub cursor: Option<String>,
    /// Set by the script after an undo, so the reloaded page says it was done.
    pub undone: Option<String>,
}

/// A change of the history, as shown: the entry and who made it.
struct Change {
    entry: AuditEntry,
    who: String,
}

pub async fn page(
    State(state): State<AppState>,
    Path(agent): Path<String>,
    Query(query): Query<AgentQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = match sessions::for_page(&state, &headers, false).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let not_found = || {
        refused(
            StatusCode::NOT_FOUND,
            "Agent not found",
            "No agent of your organization has this id.",
        )
    };
    let Ok(agent) = Uuid::parse_str(&agent).map(AgentId::from) else {
        return Ok(not_found());
    };
    let after = match decode_audit_cursor(query.cursor.as_deref()) {
        Ok(after) => after,
        Err(e) => return Ok(refused(StatusCode::BAD_REQUEST, "Agent", &e.detail)),
    };
    let org_id = s.record.user.org_id;
    let store = state.store();
    let record = match store.get_agent(org_id, agent).await {
        Ok(a) => a,
        Err(StoreError::NotFound) => return Ok(not_found()),
        Err(e) => return Err(e.into()),
    };
    let set = store.agent_skills(org_id, agent).await?;
    let history = store
        .agent_history(
            org_id,
            agent,
            PageRequest {
                after,
                limit: HISTORY_ROWS,
            },
        )
        .await?;
    let org = store
        .find_org(&org_id.to_string())
        .await?
        .ok_or(StoreError::NotFound)?;
    let view = state.org_view(org_id).await?;
    let r = Renderer::new(&view.settings.proficiency_scale, &view.catalog);
    let users = store.list_users(org_id).await?;
    let emails: HashMap<ClientId, &str> = users
        .iter()
        .map(|u| (u.client_id, u.email.as_str()))
        .collect();
    let by_user: HashMap<ClientId, Uuid> = users.iter().map(|u| (u.client_id, u.id)).collect();
    let mut clients: HashMap<ClientId, String> = HashMap::default();
    let mut changes = Vec::with_capacity(history.items.len());
    for a in history.items {
        let client = a.client_id;
        let who = if let Some(email) = emails.get(&client) {
            email.to_string()
        } else if let Some(name) = clients.get(&client) {
            name.clone()
        } else {
            let name = match store.get_client(org_id, client).await {
                Ok(c) => format!("API client {}", c.name),
                Err(StoreError::NotFound) => format!("API client {client}"),
                Err(e) => return Err(e.into()),
            };
            clients.insert(client, name.clone());
            name
        };
        changes.push(Change {
            entry: r.audit(a, &by_user),
            who,
        });
    }
    let shown = Shown {
        agent: &record,
        skills: r.set(&set.skills),
        changes,
        next: encode_audit_cursor(history.next),
        first_page: after.is_none(),
        undone: query.undone.is_some(),
        editable: s.record.user.role.scopes().contains(&scopes::AGENT_WRITE),
    };
    Ok(respond(
        StatusCode::OK,
        frame(&record.name, Some(bar(&s, &org.name)), render(&shown)),
    ))
}

struct Shown<'a> {
    agent: &'a AgentRecord,
    skills: Vec<AssignmentOut>,
    changes: Vec<Change>,
    /// The cursor of the next (older) page of the history.
    next: Option<String>,
    first_page: bool,
    undone: bool,
    /// Whether the signed-in user may change assignments (the API decides anyway).
    editable: bool,
}

/// A value as shown (a date, an external id), or `none` when there is none.
fn text_or<'a>(d: &'a Option<String>, none: &'a str) -> &'a str {
    d.as_deref().unwrap_or(none)
}

/// An assignment's values as the script compares and restores them (`null` for none).
fn values(a: &Option<AssignmentOut>) -> String {
    let v = a.as_ref().map(|a| {
        serde_json::json!({
            "proficiency": a.proficiency,
            "effectiveDate": a.effective_date,
            "expirationDate": a.expiration_date,
        })
    });
    serde_json::to_string(&v).expect("numbers and strings")
}

/// An assignment in one cell of the history: proficiency, level, and dates when set.
pub(super) fn assignment(a: &Option<AssignmentOut>) -> Markup {
    html! {
        @match a {
            None => "(none)",
            Some(a) => {
                (a.proficiency)
                @if let Some(level) = &a.level { " (" (level) ")" }
                @if let Some(d) = &a.effective_date { ", from " (d) }
                @if let Some(d) = &a.expiration_date { ", until " (d) }
            }
        }
    }
}

/// The history's columns; the last, Undo, only for those who may change assignments.
const HISTORY_COLUMNS: [&str; 7] = ["When", "Who", "Skill", "Action", "Before", "After", "Undo"];

/// A table's header row.
fn head(columns: &[&str]) -> Markup {
    html! {
        thead { tr { @for c in columns { th scope="col" { (c) } } } }
    }
}

fn render(s: &Shown) -> Markup {
    let a = s.agent;
    let path = format!("/console/agents/{}", a.id);
    html! {
        p { a href="/console" { "Back to the grid" } }
        @if s.undone {
            p.notice role="status" data-undone { "The change was undone." }
        }
        section aria-labelledby="agent-heading" {
            h2 #agent-heading { "Agent" }
            dl data-agent-id=(a.id) {
                dt { "Name" } dd { (a.name) }
                dt { "E-mail" } dd { (a.email) }
                dt { "Active" } dd data-active=(a.active) { @if a.active { "Yes" } @else { "No" } }
                dt { "External id" } dd { (text_or(&a.external_id, "(none)")) }
            }
        }
        section aria-labelledby="skills-heading" {
            h2 #skills-heading { "Skills" }
            @if s.skills.is_empty() {
                p data-no-skills { "This agent holds no skill." }
            } @else {
                table.list data-skills {
                    caption { "The agent's skills, by name" }
                    (head(&["Skill", "Proficiency", "Effective", "Expires", "Last updated"]))
                    tbody {
                        @for k in &s.skills {
                            tr data-skill-id=(k.skill_id) {
                                th scope="row" { (k.skill_name) }
                                td { (k.proficiency) @if let Some(l) = &k.level { " " small { (l) } } }
                                td { (text_or(&k.effective_date, "since it was set")) }
                                td { (text_or(&k.expiration_date, "never")) }
                                td { (k.updated_at) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="history-heading" {
            h2 #history-heading { "History" }
            @if s.changes.is_empty() {
                p data-no-history { "No change on this page of the history." }
            } @else {
                table.list #history data-history data-agent-id=(a.id) data-editable=(s.editable) {
                    caption { "Changes to the agent's skills, newest first" }
                    (head(&HISTORY_COLUMNS[..HISTORY_COLUMNS.len() - usize::from(!s.editable)]))
                    tbody {
                        @for c in &s.changes {
                            @let e = &c.entry;
                            @let skill = e.after.as_ref().or(e.before.as_ref()).map_or("(deleted skill)", |k| k.skill_name.as_str());
                            tr data-entry-id=(e.id) data-skill-id=(e.skill_id)
                                data-before=(values(&e.before)) data-after=(values(&e.after)) {
                                td { (e.at) }
                                td data-who { (c.who) }
                                th scope="row" { (skill) }
                                td data-action=(e.action.as_str()) { (e.action.as_str()) }
                                td { (assignment(&e.before)) }
                                td { (assignment(&e.after)) }
                                @if s.editable {
                                    td { button type="button" data-undo { "Undo" span.visually-hidden { " this change to " (skill) } } }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="History pages" {
                @if !s.first_page {
                    a data-page="newest" href=(path) { "Newest changes" }
                }
                @if let Some(next) = &s.next {
                    a rel="next" data-page="older" href=(format!("{path}?cursor={next}")) { "Older changes" }
                }
            }
        }
        script src="/console/assets/agent.js" defer {}
    }
}
