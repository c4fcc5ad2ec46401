//! `GET /console/skills`: the organization's skill catalog, active and inactive, each skill with
//! how many agents hold it (one store call, `Store::skill_holder_counts`) and a link to the
//! grid filtered by it. Every role reads it.
//!
//! Creating, renaming, describing, deactivating and reactivating a skill is the page's script
//! (`skills.js`) calling the API's own skill routes with the session's anti-forgery token: the
//! validation, the conflict of a taken name and the refusal of a viewer stay with the API, and
//! the script shows what it answers at the field it names. The forms are shown only to a role
//! that may change skills; the API decides anyway.

use super::layout::{frame, respond};
use super::navbar::bar;
use super::sessions;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use skillgrid_core::api::scopes;
use skillgrid_store::{SkillHolders, StoreError};

const TITLE: &str = "Skills";

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let s = match sessions::for_page(&state, &headers, false).await? {
        Ok(s) => s,
        Err(to_sign_in) => return Ok(to_sign_in),
    };
    let org_id = s.record.user.org_id;
    let store = state.store();
    let org = store
        .find_org(&org_id.to_string())
        .await?
        .ok_or(StoreError::NotFound)?;
    let skills = store.skill_holder_counts(org_id).await?;
    let editable = s.record.user.role.scopes().contains(&scopes::SKILL_WRITE);
    Ok(respond(
        StatusCode::OK,
        frame(TITLE, Some(bar(&s, &org.name)), render(&skills, editable)),
    ))
}

/// A labelled text field of a form; `id` is unique on the page.
fn field(id: &str, name: &str, label: &str, value: &str, required: bool) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            input #(id) type="text" name=(name) value=(value) required[required] data-field=(name);
        }
    }
}

fn render(skills: &[SkillHolders], editable: bool) -> Markup {
    html! {
        @if editable {
            section aria-labelledby="new-skill-heading" {
                h2 #new-skill-heading { "New skill" }
                form.skill-form data-form="skill-create" novalidate {
                    (field("new-name", "name", "Name", "", true))
                    (field("new-description", "description", "Description (optional)", "", false))
                    button type="submit" { "Create skill" }
                }
            }
        }
        p.notice role="status" data-skill-status hidden {}
        section aria-labelledby="catalog-heading" {
            h2 #catalog-heading { "Catalog" }
            @if skills.is_empty() {
                p data-no-skills { "This organization has no skill yet." }
            } @else {
                table.list data-skills data-editable=(editable) {
                    caption { "The organization's skills by name, with how many agents hold each" }
                    thead {
                        tr {
                            th scope="col" { "Skill" }
                            th scope="col" { "Description" }
                            th scope="col" { "Holders" }
                            th scope="col" { "Status" }
                            @if editable { th scope="col" { "Change" } }
                        }
                    }
                    tbody {
                        @for k in skills {
                            (row(k, editable))
                        }
                    }
                }
            }
        }
        @if editable {
            script src="/console/assets/skills.js" defer {}
        }
    }
}

fn row(k: &SkillHolders, editable: bool) -> Markup {
    let s = &k.skill;
    let id = s.id.to_string();
    let description = s.description.as_deref().unwrap_or("");
    html! {
        tr data-skill-id=(id) data-active=(s.active) data-name=(s.name) {
            th scope="row" {
                a href=(format!("/console?skill={id}")) data-grid-link
                    aria-label=(format!("{}: its holders in the grid", s.name)) { (s.name) }
            }
            td data-description { (description) }
            td data-holders=(k.holders) { (k.holders) }
            td data-status { @if s.active { "Active" } @else { "Inactive" } }
            @if editable {
                td {
                    form.skill-form data-form="skill-edit" data-skill-id=(id) novalidate {
                        (field(&format!("name-{id}"), "name", &format!("Name of {}", s.name), &s.name, true))
                        (field(&format!("description-{id}"), "description",
                            &format!("Description of {}", s.name), description, false))
                        button type="submit" { "Save" span.visually-hidden { " " (s.name) } }
                    }
                    button type="button" data-toggle-active=(!s.active) {
                        @if s.active { "Deactivate" } @else { "Reactivate" }
                        span.visually-hidden { " " (s.name) }
                    }
                }
            }
        }
    }
}
