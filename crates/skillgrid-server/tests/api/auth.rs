//! The token endpoint (RFC 6749 client credentials) and how API routes treat
//! missing, malformed, forged, expired and under-scoped tokens.

use crate::helpers::{assert_problem, spawn_app, Resp, TestApp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use skillgrid_api::scopes;
use skillgrid_server::auth::Claims;
use uuid::Uuid;

/// POSTs `form` to /oauth/token, optionally with HTTP Basic credentials.
pub(crate) async fn token_request(
    app: &TestApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Resp {
    let mut b = app.http.post(app.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        b = b.basic_auth(id, Some(secret));
    }
    let r = b.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    Resp {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
        text,
    }
}

#[track_caller]
pub(crate) fn assert_oauth_error(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.body["error"], error, "{}", r.text);
    assert!(
        r.body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        r.text
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

async fn get_skills(app: &TestApp, token: &str) -> Resp {
    app.call(Method::GET, "/api/v2/admin/skills", Some(token), None, &[])
        .await
}

/// The server's own signing key, read from the database it keeps it in.
async fn server_key(app: &TestApp) -> Vec<u8> {
    app.store.signing_key(vec![0; 32]).await.unwrap()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(app: &TestApp, exp: u64) -> Claims {
    Claims {
        iss: "skillgrid".into(),
        sub: app.client_id.to_string(),
        aud: "skillgrid-api".into(),
        exp,
        iat: now_secs() - 10,
        jti: Uuid::now_v7().to_string(),
        client_id: app.client_id.to_string(),
        scope: scopes::ALL.join(" "),
        org_id: app.org.to_string(),
        client_epoch: 0,
    }
}

fn sign(claims: &Claims, key: &[u8], typ: Option<&str>) -> String {
    let mut h = Header::new(Algorithm::HS256);
    h.typ = typ.map(String::from);
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(key)).unwrap()
}

/// 401 `unauthorized` with `error="invalid_token"` and a detail containing `says`.
#[track_caller]
fn assert_invalid_token(r: &Resp, says: &str) {
    assert_problem(r, 401, "unauthorized");
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let detail = r.body["detail"].as_str().unwrap().to_lowercase();
    assert!(detail.contains(says), "detail `{detail}` lacks `{says}`");
}

#[tokio::test]
async fn form_credentials_get_a_working_token() {
    let app = spawn_app().await;
    let id = app.client_id.to_string();
    let r = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &app.client_secret),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], scopes::ALL.join(" "));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let token = r.body["access_token"].as_str().unwrap();
    assert_eq!(get_skills(&app, token).await.status, 200);
}

#[tokio::test]
async fn http_basic_credentials_get_a_working_token() {
    let app = spawn_app().await;
    let id = app.client_id.to_string();
    let r = token_request(
        &app,
        &[("grant_type", "client_credentials")],
        Some((&id, &app.client_secret)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    let token = r.body["access_token"].as_str().unwrap();
    assert_eq!(get_skills(&app, token).await.status, 200);
    // The client id is accepted in any case.
    let upper = id.to_uppercase();
    let r = token_request(
        &app,
        &[("grant_type", "client_credentials")],
        Some((&upper, &app.client_secret)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn bad_clients_get_401_invalid_client() {
    let app = spawn_app().await;
    let id = app.client_id.to_string();
    let unknown = Uuid::now_v7().to_string();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "wrong secret",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", "not-the-secret"),
            ],
            None,
        ),
        (
            "unknown client",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &unknown),
                ("client_secret", &app.client_secret),
            ],
            None,
        ),
        (
            "client id that is not a uuid",
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "bootstrap"),
                ("client_secret", &app.client_secret),
            ],
            None,
        ),
        (
            "wrong secret over basic",
            vec![("grant_type", "client_credentials")],
            Some((&id, "not-the-secret")),
        ),
        (
            "unknown client over basic",
            vec![("grant_type", "client_credentials")],
            Some((&unknown, &app.client_secret)),
        ),
    ];
    for (what, form, basic) in cases {
        let r = token_request(&app, &form, basic).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_oauth_error(&r, 401, "invalid_client");
        assert!(
            r.header("www-authenticate").is_some(),
            "{what}: a 401 names its scheme"
        );
    }
}

#[tokio::test]
async fn malformed_token_requests_get_400_with_rfc6749_errors() {
    let app = spawn_app().await;
    let id = app.client_id.to_string();
    let secret = app.client_secret.as_str();

    let r = token_request(&app, &[("client_id", &id), ("client_secret", secret)], None).await;
    assert_oauth_error(&r, 400, "invalid_request");
    assert!(r.body["error_description"]
        .as_str()
        .unwrap()
        .contains("grant_type"));

    let r = token_request(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", secret),
        ],
        None,
    )
    .await;
    assert_oauth_error(&r, 400, "unsupported_grant_type");

    for scope in ["admin:everything", "admin:skill:read admin:bogus"] {
        let r = token_request(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", secret),
                ("scope", scope),
            ],
            None,
        )
        .await;
        assert_oauth_error(&r, 400, "invalid_scope");
    }

    // The right credentials as JSON: the endpoint takes forms only.
    let r = app
        .http
        .post(app.url("/oauth/token"))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(body["error_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn a_requested_subset_of_scopes_is_granted_reflected_and_enforced() {
    let app = spawn_app().await;
    let id = app.client_id.to_string();
    let asked = format!("{} {}", scopes::SKILL_READ, scopes::AGENT_READ);
    let r = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &app.client_secret),
            ("scope", &asked),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["scope"], asked);
    let token = r.body["access_token"].as_str().unwrap();

    assert_eq!(get_skills(&app, token).await.status, 200);
    let r = app
        .call(Method::GET, "/api/v2/admin/users", Some(token), None, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .call(
            Method::POST,
            "/api/v2/admin/skills",
            Some(token),
            Some(&json!({"name": "Billing"})),
            &[],
        )
        .await;
    assert_problem(&r, 403, "insufficient_scope");
    // Nothing was created.
    let list = app.get("/api/v2/admin/skills").await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn no_token_is_401_without_an_error_attribute() {
    let app = spawn_app().await;
    let r = app
        .call(Method::GET, "/api/v2/admin/skills", None, None, &[])
        .await;
    assert_problem(&r, 401, "unauthorized");
    let challenge = r.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("no access token"));
}

#[tokio::test]
async fn malformed_tokens_are_401_invalid_token() {
    let app = spawn_app().await;
    for token in ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30"] {
        let r = get_skills(&app, token).await;
        assert_invalid_token(&r, "malformed");
    }
    // Not a bearer token at all.
    for value in ["Basic Zm9vOmJhcg==", "Bearer", "Token abc"] {
        let r = app
            .call(
                Method::GET,
                "/api/v2/admin/skills",
                None,
                None,
                &[("authorization", value)],
            )
            .await;
        assert_invalid_token(&r, "malformed");
    }
}

#[tokio::test]
async fn forged_tokens_are_401_invalid_token() {
    let app = spawn_app().await;
    // Claims the server would issue, signed with a key it does not know.
    let token = sign(
        &claims(&app, now_secs() + 600),
        b"some other key, some other server",
        Some("at+jwt"),
    );
    let r = get_skills(&app, &token).await;
    assert_invalid_token(&r, "signature");

    // A real token with its payload swapped for another organization's.
    let real = app.token.clone();
    let mut forged_claims = claims(&app, now_secs() + 600);
    forged_claims.org_id = Uuid::now_v7().to_string();
    let other = sign(&forged_claims, b"attacker", Some("at+jwt"));
    let parts: Vec<&str> = real.split('.').collect();
    let payload = other.split('.').nth(1).unwrap();
    let spliced = format!("{}.{}.{}", parts[0], payload, parts[2]);
    let r = get_skills(&app, &spliced).await;
    assert_invalid_token(&r, "signature");
}

#[tokio::test]
async fn tokens_with_another_algorithm_are_401_invalid_token() {
    let app = spawn_app().await;
    let key = server_key(&app).await;
    // The right key, the wrong algorithm.
    let mut h = Header::new(Algorithm::HS512);
    h.typ = Some("at+jwt".into());
    let t = jsonwebtoken::encode(
        &h,
        &claims(&app, now_secs() + 600),
        &EncodingKey::from_secret(&key),
    )
    .unwrap();
    assert_invalid_token(&get_skills(&app, &t).await, "algorithm");

    // Unsigned (`alg: none`), with the payload of a real token.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = app.token.split('.').nth(1).unwrap();
    for t in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_invalid_token(&get_skills(&app, &t).await, "");
    }
}

#[tokio::test]
async fn expired_tokens_are_401_invalid_token() {
    let app = spawn_app().await;
    let key = server_key(&app).await;
    // Sanity: the same claims, unexpired, signed with this key, are accepted.
    let good = sign(&claims(&app, now_secs() + 600), &key, Some("at+jwt"));
    assert_eq!(get_skills(&app, &good).await.status, 200);

    let expired = sign(&claims(&app, now_secs() - 600), &key, Some("at+jwt"));
    let r = get_skills(&app, &expired).await;
    assert_invalid_token(&r, "expired");
}

#[tokio::test]
async fn tokens_that_are_not_access_tokens_are_401_invalid_token() {
    let app = spawn_app().await;
    let key = server_key(&app).await;
    for typ in [Some("JWT"), None, Some("id+jwt")] {
        let t = sign(&claims(&app, now_secs() + 600), &key, typ);
        let r = get_skills(&app, &t).await;
        assert_invalid_token(&r, "at+jwt");
    }
}

/// One route per scope; a token holding every other scope gets 403 there.
#[tokio::test]
async fn each_scope_guards_its_routes() {
    let app = spawn_app().await;
    let skill = app.create_skill("Billing").await;
    let agent = app.create_agent("ana@example.com").await;
    let skills = format!("/api/v2/agents/users/{agent}/skills");
    let routes: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            scopes::ORG_READ,
            Method::GET,
            "/api/v2/organizations/settings".into(),
            None,
        ),
        (
            scopes::ORG_WRITE,
            Method::PATCH,
            "/api/v2/organizations/settings".into(),
            Some(json!({"requireIfMatch": false})),
        ),
        (
            scopes::SKILL_READ,
            Method::GET,
            format!("/api/v2/admin/skills/{skill}"),
            None,
        ),
        (
            scopes::SKILL_WRITE,
            Method::POST,
            "/api/v2/admin/skills".into(),
            Some(json!({"name": "Sales"})),
        ),
        (scopes::AGENT_READ, Method::GET, skills.clone(), None),
        (
            scopes::AGENT_WRITE,
            Method::PUT,
            skills.clone(),
            Some(json!([{"skillId": skill}])),
        ),
    ];
    for (needed, method, path, body) in routes {
        let held: Vec<&str> = scopes::ALL
            .iter()
            .copied()
            .filter(|s| *s != needed)
            .collect();
        let token = app.token_with(&held).await;
        let r = app
            .call(method.clone(), &path, Some(&token), body.as_ref(), &[])
            .await;
        assert_problem(&r, 403, "insufficient_scope");
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(
            challenge.contains(&format!("scope=\"{needed}\"")),
            "{challenge}"
        );
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains(needed), "{method} {path}: {detail}");
        for h in &held {
            assert!(detail.contains(h), "{method} {path}: `{detail}` lacks {h}");
        }
        // The same token with the needed scope added goes through.
        let mut all = held.clone();
        all.push(needed);
        let token = app.token_with(&all).await;
        let r = app
            .call(method.clone(), &path, Some(&token), body.as_ref(), &[])
            .await;
        assert!(r.status < 300, "{method} {path}: {}", r.text);
    }
    // Nothing the refused writes asked for happened: only the final, allowed writes did.
    let names: Vec<String> = app.get("/api/v2/admin/skills").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Billing", "Sales"]);
}

#[tokio::test]
async fn a_token_with_one_scope_names_it_in_the_detail() {
    let app = spawn_app().await;
    let token = app.token_with(&[scopes::AUDIT_READ]).await;
    let r = get_skills(&app, &token).await;
    assert_problem(&r, 403, "insufficient_scope");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains(scopes::SKILL_READ), "{detail}");
    assert!(detail.contains(scopes::AUDIT_READ), "{detail}");
}

#[tokio::test]
async fn a_token_naming_another_organization_or_an_unknown_key_is_401() {
    let app = spawn_app().await;
    let key = server_key(&app).await;
    // The server's own key, the bootstrap client, another organization: the client is not
    // that organization's.
    let (other, _) = app.other_org("acme").await;
    let mut elsewhere = claims(&app, now_secs() + 600);
    elsewhere.org_id = other.to_string();
    let t = sign(&elsewhere, &key, Some("at+jwt"));
    assert_invalid_token(
        &get_skills(&app, &t).await,
        "no longer exists in its organization",
    );

    // The right key, named by an id the server does not give it: refused; by its own id, fine.
    let signed = |kid: &str| {
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("at+jwt".into());
        h.kid = Some(kid.into());
        jsonwebtoken::encode(
            &h,
            &claims(&app, now_secs() + 600),
            &EncodingKey::from_secret(&key),
        )
        .unwrap()
    };
    assert_invalid_token(&get_skills(&app, &signed("rotated-away")).await, "kid");
    let own = skillgrid_server::keys::kid(&key);
    assert_eq!(get_skills(&app, &signed(&own)).await.status, 200);
    // The server's tokens name that key.
    let header = jsonwebtoken::decode_header(&app.token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(own.as_str()));
}
