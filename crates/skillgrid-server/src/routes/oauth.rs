//! `POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 section 4.4), with errors
//! in the shape of RFC 6749 section 5.2 rather than problem details, as OAuth clients expect.

use crate::auth::{issue_token, verify_secret, TOKEN_TTL_SECS};
use crate::body::read_bytes;
use crate::state::AppState;
use crate::token_guard::Refusal;
use crate::vendor_scopes::{self, Asked};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use skillgrid_api::{OAuthError, ProblemCode, TokenResponse};
use skillgrid_core::model::ClientId;
use std::collections::HashMap;
use std::net::SocketAddr;

const FORM_LIMIT: u64 = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", post(token))
}

fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    let mut res = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(OAuthError {
            error: error.into(),
            error_description: description.into(),
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"skillgrid\""),
        );
    }
    res
}

fn bad(error: &str, d: impl Into<String>) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error, d)
}

fn invalid_client() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed: unknown client or wrong secret",
    )
}

/// 429 for a client id or an address whose failed attempts are spent; `invalid_client`, the
/// RFC 6749 error of a client authentication that did not succeed, with `Retry-After`.
pub(crate) fn too_many_failures(r: Refusal) -> Response {
    let secs = r.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let whose = if r.by_client {
        "this client id"
    } else {
        "this address"
    };
    let mut res = oauth_error(
        StatusCode::TOO_MANY_REQUESTS,
        "invalid_client",
        format!("too many failed authentication attempts for {whose}; retry in {secs} s"),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    res
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 section 2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, Response> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| bad("invalid_request", "the Authorization header is malformed"))?;
    let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad(
            "invalid_request",
            "client credentials go in the form body or in HTTP Basic authentication",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            bad(
                "invalid_request",
                "the Basic credentials are not valid base64",
            )
        })?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| bad("invalid_request", "the Basic credentials lack a `:`"))?;
    let dec = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((dec(id), dec(secret))))
}

/// Get an access token
///
/// The OAuth 2.0 client-credentials grant (RFC 6749 section 4.4). The client authenticates with
/// `client_id` and `client_secret` in the form, or with HTTP Basic. Tokens are signed JWTs
/// valid for one hour. Errors have the RFC 6749 section 5.2 shape, not problem details.
///
/// `scope` asks for a subset of the client's scopes. Other products' scope and permission
/// names (NICE CXone, Genesys Cloud, Amazon Connect, Salesforce, Webex Contact Center, Vonage
/// Contact Center), such as `user:skill:write`, `admin:users:write` or `routing:skill:assign`, are
/// recognised, in any case: the `invalid_scope` answer names the product each comes from and
/// the skillgrid scopes to request instead. A name that is neither is answered with the list
/// of skillgrid scopes; a skillgrid scope the client does not hold, with the scopes it holds.
// HTTP Basic is the first security requirement: tools take the first one, and with it the
// form needs only `grant_type`.
#[utoipa::path(post, path = "/oauth/token", tag = "oauth", operation_id = "getToken",
    security(("clientBasic" = []), ()),
    request_body(content = skillgrid_api::requests::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "an access token", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_scope` (another product's scope name is answered with skillgrid's equivalent) or `unsupported_grant_type`", body = OAuthError),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret or disabled client", body = OAuthError,
            headers(("WWW-Authenticate" = String, description = "`Basic realm=\"skillgrid\"`"))),
        (status = 429, description = "`invalid_client`: too many failed attempts for this client id or from this address; nothing was checked", body = OAuthError,
            headers(("Retry-After" = String, description = "seconds until an attempt may be made again"))),
    ))]
pub(crate) async fn token(State(state): State<AppState>, req: Request) -> Response {
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return bad(
            "invalid_request",
            "send the token request as application/x-www-form-urlencoded",
        );
    }
    let bytes = match read_bytes(&headers, body, FORM_LIMIT).await {
        Ok(b) => b,
        Err(e) if e.is(ProblemCode::PayloadTooLarge) => {
            return bad("invalid_request", "the token request is too large")
        }
        // A body that broke off or stopped arriving is an HTTP failure, not an OAuth one.
        Err(e) => return e.into_response(),
    };
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in form_urlencoded::parse(&bytes) {
        if params.insert(k.to_string(), v.into_owned()).is_some() {
            return bad(
                "invalid_request",
                format!("parameter `{k}` is given more than once"),
            );
        }
    }
    let basic = match basic_credentials(&headers) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match params.get("grant_type").map(String::as_str) {
        None => {
            return bad(
                "invalid_request",
                "grant_type is missing; send grant_type=client_credentials",
            )
        }
        Some("client_credentials") => {}
        Some(other) => {
            return bad(
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported; use client_credentials"),
            )
        }
    }
    let (id, secret) = match (basic, params.get("client_id"), params.get("client_secret")) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return bad(
                "invalid_request",
                "send client credentials either in the body or with HTTP Basic, not both",
            )
        }
        (Some(c), None, None) => c,
        (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
        (None, None, _) => return bad("invalid_request", "client_id is missing"),
        (None, Some(_), None) => return bad("invalid_request", "client_secret is missing"),
    };
    // Failed attempts are counted by the client id named (when it is one) and the address,
    // and checked before the secret is.
    let named: Option<ClientId> = id.trim().parse().ok();
    let attempt = match state.token_guard().attempt(named, address) {
        Ok(a) => a,
        Err(refusal) => return too_many_failures(refusal),
    };
    let failed = || {
        attempt.failed();
        invalid_client()
    };
    let Some(client_id) = named else {
        return failed();
    };
    let client = match state.store().find_client(client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return failed(),
        Err(e) => {
            tracing::error!(error = %e, "client lookup failed");
            return crate::error::internal_response();
        }
    };
    if !verify_secret(&secret, &client.secret_hash) {
        return failed();
    }
    // A console user's client records their changes: a token of it would act in their name.
    // It is made without a usable secret; this holds even after one is given to it.
    match state.store().list_users(client.org_id).await {
        Ok(users) if users.iter().any(|u| u.client_id == client.id) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "this client records a console user's changes and is given no token",
            )
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "console user lookup failed");
            return crate::error::internal_response();
        }
    }
    // Only a caller holding the secret learns that the client is disabled.
    if !client.active {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "this client is disabled; an administrator can enable it again",
        );
    }
    let granted: Vec<String> = match params
        .get("scope")
        .map(|s| s.split_whitespace().collect::<Vec<_>>())
    {
        None => client.scopes.clone(),
        Some(asked) if asked.is_empty() => client.scopes.clone(),
        Some(asked) => {
            // RFC 6749 section 3.3: a scope is printable ASCII but for `"` and `\`; the
            // description may then quote what was asked and stay within section 5.2.
            if asked.iter().any(|s| {
                s.bytes()
                    .any(|b| !(0x21..=0x7e).contains(&b) || b == b'"' || b == b'\\')
            }) {
                return bad(
                    "invalid_scope",
                    "a scope is printable ASCII without double quotes or backslashes",
                );
            }
            if let Some(why) = vendor_scopes::refusal(&asked, Asked::Token) {
                return bad("invalid_scope", why);
            }
            if let Some(missing) = asked
                .iter()
                .find(|s| !client.scopes.iter().any(|c| c == *s))
            {
                return bad(
                    "invalid_scope",
                    format!(
                        "scope `{missing}` is not granted to this client; it holds: {}",
                        client.scopes.join(" ")
                    ),
                );
            }
            let mut g: Vec<String> = Vec::new();
            for s in asked {
                if !g.iter().any(|x| x == s) {
                    g.push(s.to_string());
                }
            }
            g
        }
    };
    // The client's own lifetime, if an administrator gave it one (an identity provider's).
    let ttl = match state.store().client_token_lifetime(client.id).await {
        Ok(t) => t.map_or(TOKEN_TTL_SECS, |s| s.max(0) as u64),
        Err(e) => {
            tracing::error!(error = %e, "reading the client's token lifetime failed");
            return crate::error::internal_response();
        }
    };
    match issue_token(state.keys(), &client, &granted, ttl) {
        Ok(token) => (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(TokenResponse {
                access_token: token,
                token_type: "Bearer".into(),
                expires_in: ttl,
                scope: granted.join(" "),
            }),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "token signing failed");
            crate::error::internal_response()
        }
    }
}
