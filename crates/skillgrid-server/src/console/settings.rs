//! `GET /console/settings` (admins only): the organization's settings as a form. Saving is
//! the page's script (`admin.js`) sending the API's own `PATCH /api/v2/organizations/settings`
//! with the session's anti-forgery token: the API validates, refuses with every mistake at
//! its JSON pointer (the script puts each at its field, in the API's words) and saves nothing
//! on any error. This page only shows what is stored.

use super::admin;
use super::csrf;
use super::layout::{frame, respond};
use super::navbar::bar;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use skillgrid_api::{OrgSettings, WarningPolicy};

#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    /// Set by the script after a save, so the reloaded page says it was done.
    pub saved: Option<String>,
}

const TITLE: &str = "Settings";

pub async fn page(
    State(state): State<AppState>,
    Query(query): Query<SettingsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (s, org) = match admin::session(&state, &headers, TITLE).await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    let settings = state.store().settings(s.record.user.org_id).await?;
    let body = render(&settings, &s.record.csrf_token, query.saved.is_some());
    Ok(respond(
        StatusCode::OK,
        frame(TITLE, Some(bar(&s, &org)), body),
    ))
}

/// One labelled text field: its id, label, the JSON pointer the API names it by, its value.
fn field(id: &str, label: &str, pointer: &str, value: &str, hint: Option<&str>) -> Markup {
    let hint_id = format!("{id}-hint");
    html! {
        div.field data-field=(pointer) {
            label for=(id) { (label) }
            @if let Some(h) = hint { small #(hint_id) { (h) } }
            input #(id) type="text" inputmode="numeric" name=(id) value=(value)
                data-pointer=(pointer) aria-describedby=[hint.map(|_| hint_id.as_str())];
        }
    }
}

fn render(s: &OrgSettings, csrf_token: &str, saved: bool) -> Markup {
    let scale = &s.proficiency_scale;
    let levels: serde_json::Map<String, serde_json::Value> = scale
        .levels
        .iter()
        .map(|(n, v)| (n.to_string(), v.into()))
        .collect();
    let levels = serde_json::Value::Object(levels).to_string();
    let (l, r) = (&s.limits, &s.rate_limit);
    html! {
        @if saved {
            p.notice role="status" data-saved { "The settings were saved." }
        }
        input type="hidden" name=(csrf::FIELD) value=(csrf_token);
        div #settings-errors data-errors {}
        form.settings data-form="settings" data-levels=(levels) novalidate {
            fieldset {
                legend { "Proficiency scale" }
                (field("scale-min", "Lowest proficiency", "/proficiencyScale/min", &scale.min.to_string(), None))
                (field("scale-max", "Highest proficiency", "/proficiencyScale/max", &scale.max.to_string(), None))
                (field("scale-default", "Default proficiency", "/proficiencyScale/default", &scale.default.to_string(), None))
                fieldset data-field="/proficiencyScale/levels" {
                    legend { "Named levels" }
                    div data-levels-list {
                        @for (i, (name, value)) in scale.levels.iter().enumerate() {
                            (level_row(i, name, value))
                        }
                    }
                    button type="button" data-add-level { "Add a level" }
                }
            }
            fieldset {
                legend { "Limits" }
                (field("max-skills", "Skills per agent, at most", "/limits/maxSkillsPerAgent", &l.max_skills_per_agent.to_string(), None))
                (field("max-items", "Items per bulk request, at most", "/limits/maxItemsPerBulk", &l.max_items_per_bulk.to_string(), None))
                (field("max-assignments", "Assignments per request, at most", "/limits/maxAssignmentsPerRequest", &l.max_assignments_per_request.to_string(), None))
                (field("max-body", "Request body bytes, at most", "/limits/maxBodyBytes", &l.max_body_bytes.to_string(), None))
            }
            fieldset {
                legend { "Rate limit" }
                (field("rate-rpm", "Requests per minute", "/rateLimit/requestsPerMinute", &r.requests_per_minute.to_string(), None))
                (field("rate-burst", "Burst", "/rateLimit/burst", &r.burst.to_string(), None))
            }
            fieldset {
                legend { "Writes" }
                div.field data-field="/requireIfMatch" {
                    input #require-if-match type="checkbox" name="require-if-match"
                        data-pointer="/requireIfMatch" checked[s.require_if_match];
                    label.inline for="require-if-match" { "Require If-Match on every change (requireIfMatch)" }
                }
                div.field data-field="/warnings" {
                    label for="warnings" { "Writes that look like mistakes" }
                    select #warnings name="warnings" data-pointer="/warnings" {
                        @for w in WarningPolicy::ALL {
                            option value=(w.as_str()) selected[w == s.warnings] {
                                (match w {
                                    WarningPolicy::Warn => "warn: written, with warnings",
                                    WarningPolicy::Reject => "reject: refused, nothing written",
                                    WarningPolicy::Off => "off: written without a word",
                                })
                            }
                        }
                    }
                }
                (field("audit-retention", "Keep audit entries this many days", "/auditRetentionDays",
                    &s.audit_retention_days.map(|d| d.to_string()).unwrap_or_default(),
                    Some("Empty: keep them forever.")))
            }
            button type="submit" { "Save settings" }
        }
        script src="/console/assets/admin.js" defer {}
    }
}

/// A named level's row: its name and value, and a button that removes it. The script makes
/// the rows it adds the same way.
fn level_row(i: usize, name: &str, value: i64) -> Markup {
    let pointer = format!(
        "/proficiencyScale/levels/{}",
        name.replace('~', "~0").replace('/', "~1")
    );
    html! {
        div.level-row data-level-row data-field=(pointer) {
            label for=(format!("level-name-{i}")) { "Level name" }
            input #(format!("level-name-{i}")) type="text" data-level-name value=(name);
            label for=(format!("level-value-{i}")) { "Value" }
            input #(format!("level-value-{i}")) type="text" inputmode="numeric" data-level-value value=(value);
            button type="button" data-remove-level { "Remove" span.visually-hidden { " level " (name) } }
        }
    }
}
