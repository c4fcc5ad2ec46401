//! The bar at the top of every signed-in page: who is signed in, in which organization, with
//! which role, a link to change their password, and the sign-out button (a form, so that it
//! carries the anti-forgery token).

use super::csrf;
use super::sessions::Session;
use maud::{html, Markup};

pub fn bar(session: &Session, org_name: &str) -> Markup {
    let user = &session.record.user;
    html! {
        header {
            span.brand { "skillgrid" }
            span data-signed-in-as=(user.email) {
                span data-email=(user.email) { (user.email) }
                " · "
                span data-org=(org_name) { (org_name) }
                " · "
                span data-role=(user.role.as_str()) { (user.role.as_str()) }
            }
            @if user.role.scopes().contains(&skillgrid_core::api::scopes::AGENT_WRITE) {
                a href="/console/import" data-nav="import" { "Import" }
            }
            a href="/console/password" { "Change password" }
            form method="post" action="/console/sign-out" data-form="sign-out" {
                input type="hidden" name=(csrf::FIELD) value=(session.record.csrf_token);
                button type="submit" { "Sign out" }
            }
        }
    }
}
