//! Signing deliveries as the Standard Webhooks specification says, so that consumers verify
//! them with its official libraries.
//!
//! A secret is `whsec_` and the base64 of its random key; the signature of a delivery is
//! `v1,` and the base64 of HMAC-SHA256 under that key over `{id}.{timestamp}.{body}`. While a
//! rotated secret overlaps the new one, a delivery carries one signature per valid secret,
//! separated by spaces; a consumer holding either verifies it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The prefix of every webhook secret.
pub const PREFIX: &str = "whsec_";

/// How many random bytes a new secret holds (the specification asks for 24 to 64).
pub const KEY_BYTES: usize = 32;

/// A webhook's signing secret, `whsec_…`. It must be kept as it is (a signature needs the key
/// itself), so it is never printed: `Debug` shows only that there is one.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// A stored secret that is not `whsec_` and base64 of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedSecret;

impl fmt::Display for MalformedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a webhook secret is not `whsec_` and base64 of its key")
    }
}

impl std::error::Error for MalformedSecret {}

impl WebhookSecret {
    /// The secret made of `key` (random bytes the caller drew).
    pub fn from_key(key: &[u8]) -> Self {
        WebhookSecret(format!("{PREFIX}{}", STANDARD.encode(key)))
    }

    /// A secret as stored or as the specification prints it; refused unless its key decodes.
    pub fn parse(text: &str) -> Result<Self, MalformedSecret> {
        let s = WebhookSecret(text.to_string());
        match s.key() {
            Some(k) if !k.is_empty() => Ok(s),
            _ => Err(MalformedSecret),
        }
    }

    /// The secret's text, to store it or to show it the one time it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Option<Vec<u8>> {
        let b64 = self.0.strip_prefix(PREFIX)?;
        STANDARD.decode(b64).ok()
    }

    /// `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under this secret's key.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // `parse` and `from_key` made sure the key decodes; HMAC takes a key of any length.
        let key = self.key().unwrap_or_default();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The three headers of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `webhook-id`: the event's id, the same on every attempt (consumers deduplicate by it).
    pub id: String,
    /// `webhook-timestamp`: Unix seconds of this attempt.
    pub timestamp: i64,
    /// `webhook-signature`: one `v1,…` per secret, space-separated.
    pub signature: String,
}

/// The headers of a delivery of `body` as the event `id`, at `timestamp`, signed with every
/// secret in `secrets` (the current one, and the previous one during a rotation's overlap).
pub fn sign_delivery(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> SignedHeaders {
    let signature = secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ");
    SignedHeaders {
        id: id.to_string(),
        timestamp,
        signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector the specification publishes (and its reference libraries test).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specifications_test_vector_signs_alike() {
        let s = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            s.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes()),
            SPEC_SIGNATURE
        );
        // Any other byte of the message signs otherwise.
        assert_ne!(
            s.sign(SPEC_ID, SPEC_TIMESTAMP + 1, SPEC_BODY.as_bytes()),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn during_an_overlap_each_secret_signs_and_the_signatures_are_space_separated() {
        let old = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let new = WebhookSecret::from_key(&[7; KEY_BYTES]);
        let h = sign_delivery(&[&new, &old], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes());
        let parts: Vec<&str> = h.signature.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], SPEC_SIGNATURE);
        assert_eq!(
            parts[0],
            new.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes())
        );
        assert_eq!((h.id.as_str(), h.timestamp), (SPEC_ID, SPEC_TIMESTAMP));
    }

    #[test]
    fn a_secret_never_prints_and_a_malformed_one_is_refused() {
        let s = WebhookSecret::from_key(&[1; KEY_BYTES]);
        assert!(s.expose().starts_with(PREFIX));
        assert_eq!(WebhookSecret::parse(s.expose()), Ok(s.clone()));
        assert!(!format!("{s:?}").contains(&s.expose()[PREFIX.len()..]));
        for bad in [
            "",
            "whsec_",
            "whsec_not base64!",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert_eq!(WebhookSecret::parse(bad), Err(MalformedSecret), "{bad}");
        }
    }
}
