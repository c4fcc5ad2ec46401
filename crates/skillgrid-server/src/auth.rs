//! OAuth2 client credentials: hashed client secrets, signed expiring access tokens
//! (RFC 9068 JWTs, `typ: at+jwt`), and the [`Caller`] extractor every API route starts with.

use crate::error::ApiError;
pub use crate::keys::Keys;
use crate::state::{AppState, OrgView};
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use skillgrid_api::{OrgSettings, ProblemCode};
use skillgrid_core::model::{ClientId, OrgId};
use skillgrid_store::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

pub const TOKEN_TTL_SECS: u64 = 3600;
/// The bounds of a client's own token lifetime (`admin create-client --token-lifetime`): five
/// minutes to a year. Long-lived tokens are for identity providers, which keep one token; they
/// stay revocable at once by disabling the client or rotating its secret.
pub const TOKEN_TTL_MIN_SECS: u64 = 300;
pub const TOKEN_TTL_MAX_SECS: u64 = 31_536_000;
const ISSUER: &str = "skillgrid";
const AUDIENCE: &str = "skillgrid-api";
const TYP: &str = "at+jwt";
/// Seconds past its `exp` a token is still accepted (clocks of several instances differ).
const LEEWAY_SECS: u64 = 5;

/// 32 random bytes.
pub fn random_bytes() -> Vec<u8> {
    let mut b = vec![0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A new client secret: 256 random bits, base64url.
pub fn new_client_secret() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes())
}

/// Secrets are 256-bit random values, so one SHA-256 is enough to store them safely: there is
/// no dictionary to try, and the stored value is useless without the secret.
pub fn hash_secret(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn verify_secret(secret: &str, stored_hash: &str) -> bool {
    let h = hash_secret(secret);
    h.len() == stored_hash.len()
        && h.bytes()
            .zip(stored_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// RFC 9068 access-token claims, plus the organization.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    pub org_id: String,
    /// The client's token epoch when the token was issued: disabling the client or rotating
    /// its secret moves the epoch, which refuses the token. Tokens of versions before it have
    /// none, read as 0, every client's first epoch.
    #[serde(default)]
    pub client_epoch: i64,
}

pub fn issue_token(
    keys: &Keys,
    client: &skillgrid_store::ClientRecord,
    scopes: &[String],
    ttl_secs: u64,
) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = Claims {
        iss: ISSUER.into(),
        sub: client.id.to_string(),
        aud: AUDIENCE.into(),
        exp: now + ttl_secs,
        iat: now,
        jti: Uuid::now_v7().to_string(),
        client_id: client.id.to_string(),
        scope: scopes.join(" "),
        org_id: client.org_id.to_string(),
        client_epoch: client.token_epoch,
    };
    let (kid, key) = keys.signing();
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(TYP.into());
    header.kid = Some(kid.to_string());
    Ok(jsonwebtoken::encode(&header, &claims, key)?)
}

/// Who is calling: the organization every query is scoped to, the client, its scopes.
#[derive(Debug, Clone)]
pub struct Caller {
    pub org_id: OrgId,
    pub client_id: ClientId,
    pub scopes: Vec<String>,
    /// The client's token epoch the token was issued at.
    pub token_epoch: i64,
    /// The organization's settings and catalog as the rate-limit layer found them for this
    /// request, so a handler does not look a second time. Checked at the start of each
    /// request, they reflect every change made before it, on any instance.
    pub org: Option<Arc<OrgView>>,
    /// The console user whose session cookie made the request (`client_id` is then the API
    /// client made with the user); `None` for a bearer token.
    pub user_id: Option<Uuid>,
}

impl Caller {
    /// The organization's settings for this request.
    pub async fn settings(&self, state: &AppState) -> Result<OrgSettings, ApiError> {
        Ok(self.org(state).await?.settings.clone())
    }

    /// The organization's settings and catalog for this request.
    pub async fn org(&self, state: &AppState) -> Result<Arc<OrgView>, ApiError> {
        match &self.org {
            Some(v) => Ok(v.clone()),
            None => Ok(state.org_view(self.org_id).await?),
        }
    }

    /// 403 `insufficient_scope` unless the token holds `scope`.
    pub fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope) {
            return Ok(());
        }
        let has = if self.scopes.is_empty() {
            "none".to_string()
        } else {
            self.scopes.join(" ")
        };
        Err(ApiError::new(
            ProblemCode::InsufficientScope,
            format!("this route needs the scope `{scope}`; the token has: {has}"),
        )
        .with_header(
            WWW_AUTHENTICATE,
            &format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
        ))
    }
}

/// 401 for a request that sent no token at all.
pub fn missing_token() -> ApiError {
    unauthorized(
        "no access token was sent; send Authorization: Bearer TOKEN (from POST /oauth/token)",
        false,
    )
}

fn unauthorized(detail: &str, with_error: bool) -> ApiError {
    let challenge = if with_error {
        format!(
            "Bearer realm=\"skillgrid\", error=\"invalid_token\", error_description=\"{detail}\""
        )
    } else {
        "Bearer realm=\"skillgrid\"".to_string()
    };
    ApiError::new(ProblemCode::Unauthorized, detail).with_header(WWW_AUTHENTICATE, &challenge)
}

/// The caller a bearer token names, once its signature, type, issuer, audience and expiry
/// hold (whether its client still stands is [`admit`]'s to say).
pub fn verify(keys: &Keys, token: &str) -> Result<Caller, ApiError> {
    verify_at(keys, token, jsonwebtoken::get_current_timestamp())
}

fn verify_at(keys: &Keys, token: &str, now: u64) -> Result<Caller, ApiError> {
    let kept = keys.verified().get(token);
    let v = match kept {
        Some(v) => v,
        None => {
            let v = verify_signed(keys, token)?;
            keys.verified().keep(token, &v, now);
            v
        }
    };
    // `jsonwebtoken`'s own rule, which a kept token must still pass.
    if v.exp.saturating_add(LEEWAY_SECS) < now {
        return Err(expired());
    }
    Ok(Caller {
        org: None,
        org_id: v.org_id,
        client_id: v.client_id,
        scopes: v.scopes,
        token_epoch: v.token_epoch,
        user_id: None,
    })
}

fn expired() -> ApiError {
    unauthorized("the access token has expired; request a new one", true)
}

/// What a token says, once verified.
#[derive(Clone)]
struct Verified {
    org_id: OrgId,
    client_id: ClientId,
    scopes: Vec<String>,
    token_epoch: i64,
    exp: u64,
}

/// How many verified tokens are kept: far more than the clients that call at once.
const VERIFIED_KEPT: usize = 4096;

/// The tokens verified lately, by their text, with what they say.
///
/// A token's signature, header and claims are fixed by its text and the keys, which do not
/// change in a process's life (each [`Keys`] keeps its own), so a token verified once
/// verifies again until it expires, which [`verify`] still checks each time. What can change
/// (the client disabled, its secret rotated, its scopes narrowed, the organization gone) is
/// not kept here: [`admit`] checks it against the organization at each request. Not checking
/// the signature again (an HMAC, base64 and two JSON parses) let the GET benchmark answer
/// about a fifth more reads of one agent's skills. Only verified tokens are kept, so a client
/// sending forged or random tokens fills nothing; past [`VERIFIED_KEPT`] the expired ones are
/// let go, and if that frees too little, all of them.
#[derive(Default)]
pub(crate) struct VerifiedTokens(RwLock<HashMap<Box<str>, Verified>>);

impl VerifiedTokens {
    fn get(&self, token: &str) -> Option<Verified> {
        let kept = self.0.read().unwrap_or_else(|p| p.into_inner());
        kept.get(token).cloned()
    }

    fn keep(&self, token: &str, v: &Verified, now: u64) {
        let mut kept = self.0.write().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= VERIFIED_KEPT {
            kept.retain(|_, v| v.exp.saturating_add(LEEWAY_SECS) >= now);
            if kept.len() >= VERIFIED_KEPT / 2 {
                kept.clear();
            }
        }
        kept.insert(token.into(), v.clone());
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.read().unwrap().len()
    }
}

fn verify_signed(keys: &Keys, token: &str) -> Result<Verified, ApiError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| unauthorized("the access token is malformed (not a JWT)", true))?;
    if header
        .typ
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
        != Some(TYP)
    {
        return Err(unauthorized(
            "the token is not an access token (typ must be at+jwt)",
            true,
        ));
    }
    let key = keys.verifying(header.kid.as_deref()).ok_or_else(|| {
        unauthorized(
            "the access token is signed with a key this server does not know (its kid names no key); request a new token",
            true,
        )
    })?;
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[AUDIENCE]);
    v.set_issuer(&[ISSUER]);
    v.leeway = LEEWAY_SECS;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, key, &v).map_err(|e| match e.kind() {
        ErrorKind::ExpiredSignature => expired(),
        ErrorKind::InvalidSignature => unauthorized(
            "the access token's signature is invalid (forged or from another server)",
            true,
        ),
        ErrorKind::InvalidAlgorithm => unauthorized(
            "the access token is signed with an unexpected algorithm",
            true,
        ),
        ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => {
            unauthorized("the access token was not issued for this API", true)
        }
        _ => unauthorized("the access token is malformed", true),
    })?;
    let c = data.claims;
    let parse = |s: &str| {
        Uuid::parse_str(s).map_err(|_| unauthorized("the access token is malformed", true))
    };
    Ok(Verified {
        org_id: parse(&c.org_id)?.into(),
        client_id: parse(&c.client_id)?.into(),
        scopes: c.scope.split_whitespace().map(String::from).collect(),
        token_epoch: c.client_epoch,
        exp: c.exp,
    })
}

/// Admits a verified caller as its organization stands for this request: its client must
/// still exist there (the token's organization must be the client's), be active, and be at
/// the token epoch the token was issued at; the token keeps only the scopes its client still
/// holds. The organization's view is read once per request anyway, so this costs no query.
pub fn admit(org: &OrgView, caller: &mut Caller) -> Result<(), ApiError> {
    let Some(client) = org.clients.get(&caller.client_id) else {
        return Err(unauthorized(
            "the access token's client no longer exists in its organization",
            true,
        ));
    };
    if !client.active {
        return Err(unauthorized(
            "the access token's client is disabled; an administrator can enable it again",
            true,
        ));
    }
    if client.token_epoch != caller.token_epoch {
        return Err(unauthorized(
            "the access token was revoked (its client's secret was rotated or the client was disabled since it was issued); request a new token",
            true,
        ));
    }
    caller.scopes.retain(|s| client.scopes.contains(s));
    Ok(())
}

/// [`verify`] and [`admit`], reading the organization's view.
async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let mut caller = verify(state.keys(), token)?;
    let org = match state.org_view(caller.org_id).await {
        Ok(v) => v,
        Err(StoreError::NotFound) => {
            return Err(unauthorized(
                "the access token's organization no longer exists",
                true,
            ))
        }
        Err(e) => return Err(e.into()),
    };
    admit(&org, &mut caller)?;
    caller.org = Some(org);
    Ok(caller)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The rate-limit layer has already verified and admitted the token.
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        if !parts.headers.contains_key(AUTHORIZATION) {
            // Without a token, the console's session cookie, if the request carries one.
            let session =
                crate::console::api::session_caller(state, &parts.method, &parts.headers).await?;
            return session.ok_or_else(missing_token);
        }
        authenticate_bearer(state, &parts.headers).await
    }
}

/// The caller of the bearer token in `headers`, verified and admitted as its organization
/// stands now.
pub async fn authenticate_bearer(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Caller, ApiError> {
    let value = headers.get(AUTHORIZATION).ok_or_else(missing_token)?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is malformed", true))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthorized(
            "the Authorization header is malformed; expected `Bearer TOKEN`",
            true,
        ));
    }
    authenticate(state, token.trim()).await
}

/// The verified caller of a request carrying a valid bearer token, if any.
pub fn bearer_caller(headers: &axum::http::HeaderMap, keys: &Keys) -> Option<Caller> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    verify(keys, token.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_verify_against_their_hash_only() {
        let s = new_client_secret();
        let h = hash_secret(&s);
        assert!(verify_secret(&s, &h));
        assert!(!verify_secret("wrong", &h));
        assert_ne!(s, h);
    }

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let k = Keys::from_secret(&random_bytes());
        let c = client();
        let t = issue_token(&k, &c, &["admin:skill:read".into()], TOKEN_TTL_SECS).unwrap();
        let caller = verify(&k, &t).unwrap();
        assert_eq!((caller.client_id, caller.org_id), (c.id, c.org_id));
        assert_eq!(caller.token_epoch, c.token_epoch);
        let other = Keys::from_secret(&random_bytes());
        assert!(verify(&other, &t).is_err());
    }

    /// A token verified once is kept and answers the same, and is still refused once it has
    /// expired; one that fails is not kept.
    #[test]
    fn a_verified_token_is_kept_until_it_expires_and_a_forged_one_never() {
        let k = Keys::from_secret(&random_bytes());
        let c = client();
        let t = issue_token(&k, &c, &c.scopes, TOKEN_TTL_MIN_SECS).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let first = verify_at(&k, &t, now).unwrap();
        assert_eq!(k.verified().len(), 1);
        let again = verify_at(&k, &t, now).unwrap();
        assert_eq!(
            (
                again.org_id,
                again.client_id,
                &again.scopes,
                again.token_epoch
            ),
            (
                first.org_id,
                first.client_id,
                &first.scopes,
                first.token_epoch
            )
        );
        assert_eq!(again.scopes, c.scopes);
        // Within the leeway past `exp`, then past it.
        let claims = t.split('.').nth(1).unwrap();
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap();
        let exp = serde_json::from_slice::<Claims>(&claims).unwrap().exp;
        assert!(verify_at(&k, &t, exp + LEEWAY_SECS).is_ok());
        let e = verify_at(&k, &t, exp + LEEWAY_SECS + 1).unwrap_err();
        assert!(e.into_problem().detail.contains("expired"));
        // The same token with another signature, or with its claims changed.
        let (head, sig) = t.rsplit_once('.').unwrap();
        let forged = format!("{head}.{}", sig.chars().rev().collect::<String>());
        assert!(verify_at(&k, &forged, now).is_err());
        let other = issue_token(&Keys::from_secret(&random_bytes()), &c, &c.scopes, 300).unwrap();
        assert!(verify_at(&k, &other, now).is_err());
        assert_eq!(k.verified().len(), 1);
    }

    #[test]
    fn the_kept_tokens_are_bounded() {
        let k = Keys::from_secret(&random_bytes());
        let c = client();
        let now = jsonwebtoken::get_current_timestamp();
        for _ in 0..VERIFIED_KEPT + 10 {
            let t = issue_token(&k, &c, &c.scopes, TOKEN_TTL_SECS).unwrap();
            verify_at(&k, &t, now).unwrap();
            assert!(k.verified().len() <= VERIFIED_KEPT);
        }
        assert!(k.verified().len() < VERIFIED_KEPT);
    }

    fn client() -> skillgrid_store::ClientRecord {
        let now = skillgrid_core::timestamp::Timestamp::now();
        skillgrid_store::ClientRecord {
            id: Uuid::now_v7().into(),
            org_id: Uuid::now_v7().into(),
            name: "importer".into(),
            secret_hash: String::new(),
            scopes: vec!["admin:skill:read".into(), "admin:skill:write".into()],
            active: true,
            token_epoch: 2,
            created_at: now,
            updated_at: now,
            secret_created_at: now,
        }
    }

    /// Tokens name their key; a ring verifies the tokens of each of its keys, and a token
    /// naming a key it does not hold is refused even when its signature would check.
    #[test]
    fn tokens_name_their_key_and_a_ring_verifies_each_of_its_own() {
        let (new, old) = (random_bytes(), random_bytes());
        let before = Keys::from_secret(&old);
        let after = Keys::from_secrets(&[new.clone(), old.clone()]).unwrap();
        let c = client();
        let old_token = issue_token(&before, &c, &c.scopes, TOKEN_TTL_SECS).unwrap();
        let new_token = issue_token(&after, &c, &c.scopes, TOKEN_TTL_SECS).unwrap();
        let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
        assert_eq!(kid(&old_token), crate::keys::kid(&old));
        assert_eq!(kid(&new_token), crate::keys::kid(&new));
        assert!(verify(&after, &old_token).is_ok());
        assert!(verify(&after, &new_token).is_ok());
        let only_new = Keys::from_secret(&new);
        let e = verify(&only_new, &old_token).unwrap_err().into_problem();
        assert!(e.detail.contains("kid"), "{}", e.detail);
    }

    #[test]
    fn a_token_is_admitted_only_while_its_client_is_there_active_and_at_its_epoch() {
        use skillgrid_store::ClientGrant;
        let c = client();
        let token = issue_token(&Keys::from_secret(b"k"), &c, &c.scopes, TOKEN_TTL_SECS).unwrap();
        let caller = verify(&Keys::from_secret(b"k"), &token).unwrap();
        let grant = ClientGrant {
            id: c.id,
            active: true,
            token_epoch: c.token_epoch,
            scopes: vec!["admin:skill:read".into()],
        };
        let view = |g: Option<ClientGrant>| OrgView {
            generation: 1,
            settings: OrgSettings::default(),
            catalog: vec![],
            by_id: Default::default(),
            clients: g.into_iter().map(|g| (g.id, g)).collect(),
        };
        let mut ok = caller.clone();
        admit(&view(Some(grant.clone())), &mut ok).unwrap();
        // The scope taken from the client since is gone from the token.
        assert_eq!(ok.scopes, ["admin:skill:read"]);
        for (g, says) in [
            (None, "no longer exists"),
            (
                Some(ClientGrant {
                    active: false,
                    ..grant.clone()
                }),
                "disabled",
            ),
            (
                Some(ClientGrant {
                    token_epoch: 3,
                    ..grant.clone()
                }),
                "revoked",
            ),
            // Another organization's view: the client is not there.
            (
                Some(ClientGrant {
                    id: Uuid::now_v7().into(),
                    ..grant.clone()
                }),
                "no longer exists",
            ),
        ] {
            let e = admit(&view(g), &mut caller.clone())
                .unwrap_err()
                .into_problem();
            assert_eq!(e.status, 401);
            assert!(e.detail.contains(says), "{}", e.detail);
        }
    }
}
