//! The bar at the top of every signed-in page: the console's screens, who is signed in, in
//! which organization, with which role, for an admin the links to the admin screens, a link to
//! change their password, and the sign-out button (a form, so that it carries the anti-forgery
//! token).

use super::csrf;
use super::sessions::Session;
use maud::{html, Markup};
use skillgrid_core::people::Role;

pub fn bar(session: &Session, org_name: &str) -> Markup {
    let user = &session.record.user;
    html! {
        header {
            span.brand { "skillgrid" }
            nav aria-label="Console" {
                a href="/console" data-nav="grid" { "Agents" }
                " "
                @if user.role.scopes().contains(&skillgrid_core::api::scopes::AGENT_WRITE) {
                    a href="/console/import" data-nav="import" { "Import" }
                    " "
                }
                a href="/console/skills" data-nav="skills" { "Skills" }
                " "
                a href="/console/audit" data-nav="audit" { "Audit" }
            }
            span data-signed-in-as=(user.email) {
                span data-email=(user.email) { (user.email) }
                " · "
                span data-org=(org_name) { (org_name) }
                " · "
                span data-role=(user.role.as_str()) { (user.role.as_str()) }
            }
            @if user.role == Role::Admin {
                nav aria-label="Administration" data-admin-links {
                    a href="/console/settings" { "Settings" }
                    " "
                    a href="/console/people" { "People" }
                    " "
                    a href="/console/clients" { "API clients" }
                }
            }
            a href="/console/password" { "Change password" }
            form method="post" action="/console/sign-out" data-form="sign-out" {
                input type="hidden" name=(csrf::FIELD) value=(session.record.csrf_token);
                button type="submit" { "Sign out" }
            }
        }
    }
}
