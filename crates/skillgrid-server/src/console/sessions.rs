//! Console sessions: the random token a browser holds in the `skillgrid_session` cookie, the
//! hash of it the database keeps, and how a request finds its session.
//!
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page
//! makes the browser send it: the console has no links in from elsewhere that must arrive
//! signed in), `Path=/` (the API takes it too), and `Secure` when the request came over HTTPS
//! as far as the server can tell (see [`ConsoleOptions::trust_proxy_headers`]).

use super::ConsoleOptions;
use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue};
use base64::Engine;
use sha2::{Digest, Sha256};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_store::{NewSession, SessionRecord, StoreError, UserRecord};
use std::net::{IpAddr, SocketAddr};

pub const COOKIE: &str = "skillgrid_session";

/// A random token: 256 bits, base64url.
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::auth::random_bytes())
}

/// What the database keeps of a session token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The session token the request's cookie holds, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// A request's live session, with the hash that names it.
#[derive(Debug, Clone)]
pub struct Session {
    pub record: SessionRecord,
    pub hash: [u8; 32],
}

/// The live session of the request's cookie, if it has one (using it keeps it alive).
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, StoreError> {
    let Some(token) = cookie_token(headers) else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let idle = state.console().idle.as_millis() as i64;
    Ok(state
        .store()
        .session(&hash, Timestamp::now(), idle)
        .await?
        .map(|record| Session { record, hash }))
}

/// A page's session: the signed-in session, or the answer that sends the browser to sign in
/// (or, while the user must choose a password and `password_page` is false, to do that).
pub async fn for_page(
    state: &AppState,
    headers: &HeaderMap,
    password_page: bool,
) -> Result<Result<Session, axum::response::Response>, StoreError> {
    match current(state, headers).await? {
        None => Ok(Err(super::layout::redirect("/console/sign-in"))),
        Some(s) if s.record.user.must_change_password && !password_page => {
            Ok(Err(super::layout::redirect("/console/password")))
        }
        Some(s) => Ok(Ok(s)),
    }
}

/// Starts a session for `user`; returns the `Set-Cookie` value that hands its token to the
/// browser.
pub async fn start(
    state: &AppState,
    user: &UserRecord,
    headers: &HeaderMap,
) -> Result<HeaderValue, StoreError> {
    let token = random_token();
    let now = Timestamp::now();
    let opts = state.console();
    state
        .store()
        .create_session(&NewSession {
            token_hash: token_hash(&token),
            user_id: user.id,
            org_id: user.org_id,
            csrf_token: random_token(),
            now,
            idle_ms: opts.idle.as_millis() as i64,
            absolute_expires_at: Timestamp(now.0 + opts.absolute.as_millis() as i64),
        })
        .await?;
    Ok(cookie(&token, is_https(headers, opts), false))
}

/// The `Set-Cookie` value that ends the browser's session cookie.
pub fn clearing_cookie(headers: &HeaderMap, opts: &ConsoleOptions) -> HeaderValue {
    cookie("", is_https(headers, opts), true)
}

fn cookie(token: &str, secure: bool, clear: bool) -> HeaderValue {
    let mut c = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    if clear {
        c.push_str("; Max-Age=0");
    }
    HeaderValue::from_str(&c).expect("a cookie of base64url characters")
}

/// Whether the browser reached the server over HTTPS. The server speaks plain HTTP itself, so
/// only a trusted proxy's `X-Forwarded-Proto: https` says so.
pub fn is_https(headers: &HeaderMap, opts: &ConsoleOptions) -> bool {
    opts.trust_proxy_headers
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The address a request came from: the connection's peer, or, behind a trusted proxy, the
/// last address the proxy added to `X-Forwarded-For`.
pub fn source_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    opts: &ConsoleOptions,
) -> Option<IpAddr> {
    if opts.trust_proxy_headers {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|p| p.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_hashed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; skillgrid_session=tok; b=2"),
        );
        assert_eq!(cookie_token(&h), Some("tok"));
        assert_ne!(token_hash("tok"), token_hash("tok2"));
        assert_eq!(cookie_token(&HeaderMap::new()), None);
    }

    #[test]
    fn secure_only_when_a_trusted_proxy_says_https() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let trusted = ConsoleOptions {
            trust_proxy_headers: true,
            ..Default::default()
        };
        assert!(is_https(&h, &trusted));
        assert!(!is_https(&h, &ConsoleOptions::default()));
        let set = cookie("t", true, false);
        let set = set.to_str().unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
            assert!(set.contains(part), "{set}");
        }
    }
}
