//! `GET /console/clients` (admins only): the organization's API clients, their scopes and
//! state. Creating one, disabling or enabling it and rotating its secret are the page's script
//! (`admin.js`) calling the API's own routes (`POST /api/v2/admin/clients`, `PATCH` and
//! `POST …/{clientId}/secret`) with the session's anti-forgery token: the API validates,
//! audits and answers with the secret, which the script shows once and nothing keeps. The
//! clients that record a console user's changes (`console: EMAIL`) are marked and have no
//! buttons: the API refuses to change them (409), they change with the user (People).

use super::admin;
use super::csrf;
use super::layout::{frame, respond};
use super::navbar::bar;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use foldhash::HashMap;
use maud::{html, Markup};
use skillgrid_api::scopes;
use skillgrid_core::model::ClientId;
use skillgrid_store::{ClientRecord, PageRequest};

const TITLE: &str = "API clients";

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (s, org) = match admin::session(&state, &headers, TITLE).await? {
        Ok(ok) => ok,
        Err(answer) => return Ok(answer),
    };
    let org_id = s.record.user.org_id;
    let store = state.store();
    let mut clients = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_clients(org_id, PageRequest { after, limit: 200 })
            .await?;
        clients.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let users: HashMap<ClientId, String> = store
        .list_users(org_id)
        .await?
        .into_iter()
        .map(|u| (u.client_id, u.email))
        .collect();
    let body = render(&clients, &users, &s.record.csrf_token);
    Ok(respond(
        StatusCode::OK,
        frame(TITLE, Some(bar(&s, &org)), body),
    ))
}

fn render(clients: &[ClientRecord], users: &HashMap<ClientId, String>, token: &str) -> Markup {
    html! {
        input type="hidden" name=(csrf::FIELD) value=(token);
        div #secret-shown.notice role="status" data-secret-shown hidden {
            p { "The secret of " strong data-secret-client {} ": " code data-secret {} }
            p { "Store it now: it is not shown again." }
        }
        div #clients-errors data-errors {}
        section aria-labelledby="new-client-heading" {
            h2 #new-client-heading { "New API client" }
            form data-form="new-client" novalidate {
                div.field data-field="/name" {
                    label for="client-name" { "Name" }
                    input #client-name type="text" name="name" data-pointer="/name" autocomplete="off";
                }
                fieldset.field data-field="/scopes" {
                    legend { "Scopes" }
                    @for (i, scope) in scopes::ALL.iter().enumerate() {
                        div.check {
                            input #(format!("scope-{i}")) type="checkbox" name="scopes" value=(scope) data-scope;
                            label.inline for=(format!("scope-{i}")) { code { (scope) } }
                        }
                    }
                }
                button type="submit" { "Create client" }
            }
        }
        section aria-labelledby="clients-heading" {
            h2 #clients-heading { "API clients" }
            table.list data-clients {
                caption { "The organization's API clients, oldest first" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Id" }
                    th scope="col" { "Scopes" }
                    th scope="col" { "Active" }
                    th scope="col" { "Changes" }
                } }
                tbody {
                    @for c in clients {
                        @let user = users.get(&c.id);
                        tr data-client-id=(c.id) data-name=(c.name) data-console-user[user.is_some()] {
                            th scope="row" { (c.name) }
                            td { code { (c.id) } }
                            td data-scopes { (c.scopes.join(" ")) }
                            td data-active=(c.active) { @if c.active { "Yes" } @else { "No" } }
                            td {
                                @if let Some(email) = user {
                                    "Records the changes of the console user " (email) "; it changes with them (People)."
                                } @else {
                                    button type="button" data-toggle-active {
                                        @if c.active { "Disable" } @else { "Enable" }
                                        span.visually-hidden { " " (c.name) }
                                    }
                                    " "
                                    button type="button" data-rotate {
                                        "Rotate secret" span.visually-hidden { " of " (c.name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        script src="/console/assets/admin.js" defer {}
    }
}
