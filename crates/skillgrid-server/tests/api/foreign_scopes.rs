//! The token endpoint asked for scope names of other products (NICE CXone, Genesys Cloud,
//! Amazon Connect, …): the answer names the product and skillgrid's equivalent, apart from
//! names that are simply unknown and skillgrid scopes the client does not hold.

use super::auth::{assert_oauth_error, token_request};
use crate::helpers::{spawn_app, Resp, TestApp};
use skillgrid_api::scopes;

/// Asks for `scope` with the bootstrap client, which holds every skillgrid scope.
async fn ask(app: &TestApp, scope: &str) -> Resp {
    ask_as(app, &app.client_id.to_string(), &app.client_secret, scope).await
}

async fn ask_as(app: &TestApp, id: &str, secret: &str, scope: &str) -> Resp {
    token_request(
        app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", scope),
        ],
        None,
    )
    .await
}

/// The `error_description` of a 400 `invalid_scope`, checked to hold only the characters
/// RFC 6749 section 5.2 allows there.
#[track_caller]
fn invalid_scope(r: &Resp) -> String {
    assert_oauth_error(r, 400, "invalid_scope");
    let d = r.body["error_description"].as_str().unwrap().to_string();
    assert!(
        d.bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
        "outside RFC 6749 section 5.2: {d}"
    );
    d
}

#[track_caller]
fn assert_says(description: &str, parts: &[&str]) {
    for p in parts {
        assert!(description.contains(p), "`{description}` lacks `{p}`");
    }
}

/// The scopes a description advises to request instead of `foreign`.
fn advised(description: &str, foreign: &str) -> String {
    let from = description
        .find(&format!("`{foreign}`"))
        .unwrap_or_else(|| panic!("{foreign} not in {description}"));
    let rest = &description[from..];
    let start = rest.find("request `").expect("advice") + "request `".len();
    let len = rest[start..].find('`').unwrap();
    rest[start..start + len].to_string()
}

#[tokio::test]
async fn a_single_foreign_scope_names_its_product_and_the_skillgrid_scope_to_ask_for() {
    let app = spawn_app().await;
    for (foreign, product, kind, ours) in [
        (
            "user:skill:write",
            "NICE CXone",
            "scope",
            scopes::AGENT_WRITE,
        ),
        (
            "admin:users:write",
            "NICE CXone",
            "scope",
            scopes::AGENT_WRITE,
        ),
        (
            "routing:skill:assign",
            "Genesys Cloud",
            "permission",
            scopes::AGENT_WRITE,
        ),
        (
            "routing:skill:manage",
            "Genesys Cloud",
            "permission",
            scopes::SKILL_WRITE,
        ),
        (
            "connect:ListUserProficiencies",
            "Amazon Connect",
            "IAM action",
            scopes::AGENT_READ,
        ),
    ] {
        let d = invalid_scope(&ask(&app, foreign).await);
        assert_says(
            &d,
            &[
                &format!("`{foreign}` is a"),
                &format!("{product} {kind}, not a skillgrid"),
                &format!("request `{ours}` here"),
            ],
        );
        assert!(!d.contains("not granted"), "{d}");
        assert!(!d.contains("unknown"), "{d}");
        // Following the advice works.
        let r = ask(&app, &advised(&d, foreign)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["scope"], ours);
    }
}

#[tokio::test]
async fn foreign_names_are_recognised_in_any_case_and_read_variants_map_to_read_scopes() {
    let app = spawn_app().await;
    let d = invalid_scope(&ask(&app, "ADMIN:USERS:WRITE").await);
    assert_says(
        &d,
        &[
            "`ADMIN:USERS:WRITE` is a NICE CXone scope",
            "request `admin:agent:write` here",
        ],
    );
    for (read, ours) in [
        ("admin:users:read", "admin:agent:read"),
        ("users:readonly", "admin:agent:read"),
        ("routing:readonly", "admin:skill:read admin:agent:read"),
        ("routing:skill:view", "admin:skill:read"),
    ] {
        let d = invalid_scope(&ask(&app, read).await);
        assert_eq!(advised(&d, read), ours, "{d}");
        assert!(!d.contains("write"), "a read-only name maps to reads: {d}");
    }
}

#[tokio::test]
async fn every_foreign_scope_of_a_mixed_request_is_named_in_one_description() {
    let app = spawn_app().await;
    let asked = format!(
        "{} user:skill:write routing:skill:manage {} connect:CreatePredefinedAttribute",
        scopes::SKILL_READ,
        scopes::AGENT_READ
    );
    let d = invalid_scope(&ask(&app, &asked).await);
    assert_says(
        &d,
        &[
            "`user:skill:write` is a NICE CXone scope",
            "`routing:skill:manage` is a Genesys Cloud permission",
            "`connect:CreatePredefinedAttribute` is an Amazon Connect IAM action",
        ],
    );
    assert_eq!(advised(&d, "user:skill:write"), scopes::AGENT_WRITE);
    assert_eq!(advised(&d, "routing:skill:manage"), scopes::SKILL_WRITE);
    assert_eq!(
        advised(&d, "connect:CreatePredefinedAttribute"),
        scopes::SKILL_WRITE
    );
    // The skillgrid scopes of the request are not called foreign.
    assert!(!d.contains(&format!("`{}` is", scopes::SKILL_READ)), "{d}");
    assert!(!d.contains(&format!("`{}` is", scopes::AGENT_READ)), "{d}");
}

#[tokio::test]
async fn an_unknown_scope_is_called_unknown_with_the_known_scopes() {
    let app = spawn_app().await;
    let d = invalid_scope(&ask(&app, &format!("{} admin:everything", scopes::SKILL_READ)).await);
    assert_says(
        &d,
        &[
            "unknown scope `admin:everything`",
            &format!("known scopes: {}", scopes::ALL.join(" ")),
        ],
    );
    assert!(!d.contains("not granted"), "{d}");

    // Beside a recognised one, both are said.
    let d = invalid_scope(&ask(&app, "admin:everything users").await);
    assert_says(
        &d,
        &[
            "`users` is a Genesys Cloud scope",
            "request `admin:agent:read admin:agent:write` here",
            "unknown scope `admin:everything`",
        ],
    );

    // A name that no scope could have: refused without being quoted back.
    let d = invalid_scope(&ask(&app, "admin:skill:read\"").await);
    assert_says(&d, &["printable ASCII"]);
}

#[tokio::test]
async fn a_client_cannot_ask_for_scopes_it_does_not_hold() {
    let app = spawn_app().await;
    let c = skillgrid_server::bootstrap::create_client(
        &app.store,
        &app.org.to_string(),
        "reader",
        scopes::SKILL_READ,
    )
    .await
    .unwrap();
    let id = c.client_id.to_string();
    let d = invalid_scope(&ask_as(&app, &id, &c.client_secret, scopes::SKILL_WRITE).await);
    assert_says(
        &d,
        &[
            &format!("`{}` is not granted to this client", scopes::SKILL_WRITE),
            &format!("it holds: {}", scopes::SKILL_READ),
        ],
    );
    assert!(!d.contains("unknown"), "{d}");
    // A foreign name is explained even to a client that could not use the equivalent.
    let d = invalid_scope(&ask_as(&app, &id, &c.client_secret, "routing:skill:assign").await);
    assert_says(&d, &["Genesys Cloud permission", "`admin:agent:write`"]);
}
