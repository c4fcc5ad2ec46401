//! The console's page frame: one HTML layout, its stylesheet and scripts (built into the
//! binary), and the headers every page carries. Nothing is loaded from elsewhere: the
//! Content-Security-Policy allows only this server's own stylesheet and scripts (no inline
//! script), requests back to it, and forms that post back to it.

use crate::body::read_bytes;
use crate::error::ApiError;
use crate::routes::no_route;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use std::collections::HashMap;

pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The files built into the binary and served under `/console/assets/`: the stylesheet and
/// one script per screen that has one (no page carries an inline script).
const ASSETS: &[(&str, &str, &str)] = &[
    ("console.css", CSS, include_str!("console.css")),
    // The grid's cell editing.
    ("grid.js", JS, include_str!("grid.js")),
    // The grid's selection and bulk changes.
    ("bulk.js", JS, include_str!("bulk.js")),
    // The agent page's Undo buttons.
    ("agent.js", JS, include_str!("agent.js")),
    // The skills page's forms.
    ("skills.js", JS, include_str!("skills.js")),
    // The import page's upload and Apply.
    ("import.js", JS, include_str!("import.js")),
    // The admin screens' settings form and API clients' buttons.
    ("admin.js", JS, include_str!("admin.js")),
];
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// The largest form body a console page accepts: a few fields of a sign-in or a password.
const FORM_LIMIT: u64 = 16 * 1024;

/// A whole page: `title` in the tab and as the page's heading, `header` the signed-in bar
/// (empty before sign-in), `body` the page's own content.
pub fn frame(title: &str, header: Option<Markup>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · skillgrid" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                @if let Some(h) = header { (h) }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page as an answer, with the console's headers.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut res = (status, markup).into_response();
    secure_headers(res.headers_mut());
    res
}

fn secure_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // Pages show who is signed in and carry the anti-forgery token: never cached.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// 303 to `to`: after a form, the browser fetches the next page with GET.
pub fn redirect(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(to).expect("a path of the console"),
    );
    secure_headers(res.headers_mut());
    res
}

/// A refused request, as a page that says why.
pub fn refused(status: StatusCode, title: &str, why: &str) -> Response {
    respond(
        status,
        frame(
            title,
            None,
            html! {
                p.error role="alert" data-refusal { (why) }
                p { a href="/console" { "Back to the console" } }
            },
        ),
    )
}

/// The fields of an `application/x-www-form-urlencoded` body (the last of a repeated name).
pub async fn read_form(
    headers: &HeaderMap,
    body: Body,
) -> Result<HashMap<String, String>, ApiError> {
    let bytes = read_bytes(headers, body, FORM_LIMIT).await?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// `GET /console/assets/{file}`: one of `ASSETS`; the same for every user, so it may be
/// cached a while.
pub async fn asset(Path(file): Path<String>, method: Method) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return no_route(&method, &format!("/console/assets/{file}")).into_response();
    };
    let mut res = (
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        *body,
    )
        .into_response();
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}
