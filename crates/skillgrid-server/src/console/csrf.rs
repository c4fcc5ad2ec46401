//! Protection against cross-site request forgery, in one place for the pages and the API.
//!
//! A request authenticated by the session cookie that may change something (any method but
//! GET, HEAD and OPTIONS) must carry the session's anti-forgery token, in the `X-CSRF-Token`
//! header (scripts) or the `csrf_token` form field (forms), and, when the browser names the
//! page it comes from in `Origin`, come from this server's own origin. Another site can make a
//! browser send the cookie (were `SameSite` not honoured) but can read neither the token nor
//! change the `Origin` a browser sends. Requests with a bearer token are not checked: no
//! browser adds one by itself.

use super::sessions::is_https;
use super::ConsoleOptions;
use axum::http::{header, HeaderMap, Method};

pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "csrf_token";

/// Why a state-changing request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// `Origin` names another site.
    ForeignOrigin,
    /// No anti-forgery token, or not the session's.
    BadToken,
}

impl Forgery {
    pub fn detail(self) -> &'static str {
        match self {
            Forgery::ForeignOrigin => {
                "the request comes from another site (its Origin is not this server's)"
            }
            Forgery::BadToken => {
                "a request made with the console's session must carry the session's anti-forgery token (X-CSRF-Token header or csrf_token field)"
            }
        }
    }
}

/// Whether a request of this method may change something.
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a request whose `Origin` (or, without one, whose `Sec-Fetch-Site`) says it comes
/// from another site. A request that says neither (not sent by a browser) passes.
pub fn check_origin(headers: &HeaderMap, opts: &ConsoleOptions) -> Result<(), Forgery> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let scheme = if is_https(headers, opts) {
            "https"
        } else {
            "http"
        };
        let own = host.map(|h| format!("{scheme}://{h}"));
        return match (origin.to_str().ok(), own) {
            (Some(o), Some(own)) if o.eq_ignore_ascii_case(&own) => Ok(()),
            _ => Err(Forgery::ForeignOrigin),
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site" | "same-site") => Err(Forgery::ForeignOrigin),
        _ => Ok(()),
    }
}

/// The whole check of a state-changing request of a session whose token is `expected`:
/// `sent` is the token the request carries (header or form field).
pub fn check(
    headers: &HeaderMap,
    sent: Option<&str>,
    expected: &str,
    opts: &ConsoleOptions,
) -> Result<(), Forgery> {
    check_origin(headers, opts)?;
    match sent {
        Some(s) if same(s.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(Forgery::BadToken),
    }
}

/// The token of the `X-CSRF-Token` header, if sent.
pub fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(HEADER).and_then(|v| v.to_str().ok())
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_the_session_s_token_from_its_own_origin_passes() {
        let o = ConsoleOptions::default();
        let own = headers(&[
            ("host", "grid.example:8080"),
            ("origin", "http://grid.example:8080"),
        ]);
        assert_eq!(check(&own, Some("t0k"), "t0k", &o), Ok(()));
        assert_eq!(check(&own, Some("t0x"), "t0k", &o), Err(Forgery::BadToken));
        assert_eq!(check(&own, None, "t0k", &o), Err(Forgery::BadToken));
        let foreign = headers(&[
            ("host", "grid.example:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(
            check(&foreign, Some("t0k"), "t0k", &o),
            Err(Forgery::ForeignOrigin)
        );
        let no_origin = headers(&[("host", "grid.example:8080")]);
        assert_eq!(check(&no_origin, Some("t0k"), "t0k", &o), Ok(()));
        let fetched = headers(&[("host", "grid.example"), ("sec-fetch-site", "cross-site")]);
        assert_eq!(check_origin(&fetched, &o), Err(Forgery::ForeignOrigin));
        assert!(!changes_state(&Method::GET) && changes_state(&Method::PUT));
    }
}
