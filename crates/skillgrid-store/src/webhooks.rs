//! Webhook endpoints, backend-neutral: what a change does to an endpoint, how its rows read,
//! and what the administrative audit trail keeps of it (never a secret).

use crate::admin_audit::AdminState;
use crate::common::set;
use crate::*;
use serde::{Deserialize, Serialize};
use skillgrid_core::ids::WebhookId;
use skillgrid_core::webhooks::signing::WebhookSecret;

/// The longest answer excerpt a delivery keeps, in bytes.
pub const RESPONSE_HEAD_MAX: usize = 1024;

/// A webhook endpoint of an organization.
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub org_id: OrgId,
    pub url: String,
    /// Event types, each once; `["*"]`: every type.
    pub event_types: Vec<String>,
    pub active: bool,
    /// Why the server disabled it; `None` while active or when a client disabled it.
    pub disabled_reason: Option<String>,
    /// The sequence number of the last event delivered to it (0: none yet).
    pub delivered_through: i64,
    pub secret: WebhookSecret,
    pub secret_created_at: Timestamp,
    /// The secret before the last rotation, and until when it signs beside `secret`.
    pub previous_secret: Option<(WebhookSecret, Timestamp)>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WebhookRecord {
    /// The secrets a delivery made at `now` is signed with: the current one, and the previous
    /// one while its overlap lasts.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&WebhookSecret> {
        let mut out = vec![&self.secret];
        if let Some((s, until)) = &self.previous_secret {
            if now < *until {
                out.push(s);
            }
        }
        out
    }

    /// Until when the previous secret signs, if it still may at `now`.
    pub fn previous_expires_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.previous_secret
            .as_ref()
            .map(|(_, t)| *t)
            .filter(|t| now < *t)
    }

    pub(crate) fn audited(&self) -> AdminState {
        AdminState::Webhook(WebhookState {
            url: self.url.clone(),
            event_types: self.event_types.clone(),
            active: self.active,
            disabled_reason: self.disabled_reason.clone(),
            delivered_through: self.delivered_through,
            secret_created_at: self.secret_created_at.0,
            previous_secret_expires_at: self.previous_secret.as_ref().map(|(_, t)| t.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

/// A webhook as one side of an administrative audit entry: everything but its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookState {
    pub url: String,
    pub event_types: Vec<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub delivered_through: i64,
    pub secret_created_at: i64,
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A change to a webhook; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `Some(true)` also clears the reason the server disabled it for.
    pub active: Option<bool>,
    /// The server disables the endpoint, for this reason (an answer 410, retries exhausted).
    pub disable_for: Option<String>,
    /// A rotation: the new secret, and how long the current one keeps signing beside it (in
    /// milliseconds; 0: not at all). A previous secret still overlapping is dropped.
    pub rotate: Option<(WebhookSecret, i64)>,
    /// A replay: deliver again from this sequence number on (the cursor moves to one before
    /// it), and enable the endpoint.
    pub replay_from: Option<i64>,
}

/// The webhook after `change`; `None` when it changes nothing.
pub(crate) fn apply(
    current: &WebhookRecord,
    change: &WebhookChange,
    now: Timestamp,
) -> Option<WebhookRecord> {
    let mut w = current.clone();
    let mut changed = set(&mut w.url, &change.url);
    changed |= set(&mut w.event_types, &change.event_types);
    changed |= set(&mut w.active, &change.active);
    if change.active == Some(true) {
        changed |= w.disabled_reason.take().is_some();
    }
    if let Some(reason) = &change.disable_for {
        changed |= w.active || w.disabled_reason.as_deref() != Some(reason);
        w.active = false;
        w.disabled_reason = Some(reason.clone());
    }
    if let Some((secret, overlap_ms)) = &change.rotate {
        let until = Timestamp(now.0.saturating_add(*overlap_ms));
        w.previous_secret = (*overlap_ms > 0).then(|| (w.secret.clone(), until));
        w.secret = secret.clone();
        w.secret_created_at = now;
        changed = true;
    }
    if let Some(from) = change.replay_from {
        w.delivered_through = from.saturating_sub(1).max(0);
        w.active = true;
        w.disabled_reason = None;
        // A replay is recorded even when the cursor was already there: it was asked for.
        changed = true;
    }
    if !changed {
        return None;
    }
    w.updated_at = now;
    Some(w)
}

/// One attempt to deliver one event to a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub event_id: Uuid,
    pub sequence: i64,
    pub attempt: i32,
    pub at: Timestamp,
    /// The HTTP status answered; `None` when there was no answer.
    pub status: Option<i32>,
    /// Why there was no answer.
    pub error: Option<String>,
    pub latency_ms: i64,
    /// The first bytes of the answer's body, at most [`RESPONSE_HEAD_MAX`].
    pub response_head: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
}

/// `text` cut to at most [`RESPONSE_HEAD_MAX`] bytes, on a character boundary.
pub(crate) fn head(text: &str) -> &str {
    let mut cut = text.len().min(RESPONSE_HEAD_MAX);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// A webhook's row, as both backends select it.
#[derive(sqlx::FromRow)]
pub(crate) struct WebhookRow {
    pub pk: i64,
    uuid: Uuid,
    org_uuid: Uuid,
    url: String,
    event_types: String,
    active: bool,
    disabled_reason: Option<String>,
    delivered_through: i64,
    secret: String,
    secret_at: i64,
    previous_secret: Option<String>,
    previous_expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// A webhook's row with its organization's key, for a change to record.
#[derive(sqlx::FromRow)]
pub(crate) struct LocatedWebhook {
    #[sqlx(flatten)]
    pub webhook: WebhookRow,
    pub org_pk: i64,
}

fn secret(text: &str) -> Result<WebhookSecret> {
    WebhookSecret::parse(text).map_err(|e| StoreError::Other(anyhow::anyhow!(e)))
}

impl WebhookRow {
    pub(crate) fn record(self) -> Result<WebhookRecord> {
        let previous = match (self.previous_secret, self.previous_expires_at) {
            (Some(s), Some(t)) => Some((secret(&s)?, Timestamp(t))),
            _ => None,
        };
        Ok(WebhookRecord {
            id: self.uuid.into(),
            org_id: self.org_uuid.into(),
            url: self.url,
            event_types: types_from(&self.event_types),
            active: self.active,
            disabled_reason: self.disabled_reason,
            delivered_through: self.delivered_through,
            secret: secret(&self.secret)?,
            secret_created_at: Timestamp(self.secret_at),
            previous_secret: previous,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

/// Event types as stored: space-separated.
pub(crate) fn types_text(types: &[String]) -> String {
    types.join(" ")
}

fn types_from(text: &str) -> Vec<String> {
    text.split_whitespace().map(String::from).collect()
}

/// A webhook as a dispatcher holds it: the endpoint, where its retries stand, and the sequence
/// number of its organization's latest event.
#[derive(Debug, Clone)]
pub struct ClaimedWebhook {
    pub webhook: WebhookRecord,
    /// Failed attempts at the event after `delivered_through`.
    pub attempts: i32,
    /// When the first of them was made.
    pub failing_since: Option<Timestamp>,
    /// The organization's latest event when the webhook was read.
    pub head: i64,
}

/// What a dispatcher's attempt did to a webhook it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Delivered through this sequence number: the cursor moves there, the retries are over.
    Delivered { through: i64 },
    /// The event failed: retry at `next_at`; the webhook is let go until then.
    Retry {
        attempts: i32,
        failing_since: Timestamp,
        next_at: Timestamp,
    },
    /// Let go, as it is.
    Release,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClaimRow {
    #[sqlx(flatten)]
    webhook: WebhookRow,
    attempts: i32,
    failing_since: Option<i64>,
    head: i64,
}

impl ClaimRow {
    pub(crate) fn claimed(self) -> Result<ClaimedWebhook> {
        Ok(ClaimedWebhook {
            webhook: self.webhook.record()?,
            attempts: self.attempts,
            failing_since: self.failing_since.map(Timestamp),
            head: self.head,
        })
    }
}

/// A delivery's row, as both backends select it.
#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    pub id: i64,
    uuid: Uuid,
    event_uuid: Uuid,
    sequence: i64,
    attempt: i32,
    at: i64,
    status: Option<i32>,
    error: Option<String>,
    latency_ms: i64,
    response_head: Option<String>,
    next_attempt_at: Option<i64>,
}

impl DeliveryRow {
    pub(crate) fn entry(self) -> (i64, DeliveryRecord) {
        (
            self.id,
            DeliveryRecord {
                id: self.uuid,
                event_id: self.event_uuid,
                sequence: self.sequence,
                attempt: self.attempt,
                at: Timestamp(self.at),
                status: self.status,
                error: self.error,
                latency_ms: self.latency_ms,
                response_head: self.response_head,
                next_attempt_at: self.next_attempt_at.map(Timestamp),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillgrid_core::webhooks::signing::KEY_BYTES;

    fn webhook() -> WebhookRecord {
        WebhookRecord {
            id: Uuid::now_v7().into(),
            org_id: Uuid::now_v7().into(),
            url: "https://example.com/h".into(),
            event_types: vec!["*".into()],
            active: true,
            disabled_reason: None,
            delivered_through: 40,
            secret: WebhookSecret::from_key(&[1; KEY_BYTES]),
            secret_created_at: Timestamp(1),
            previous_secret: None,
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        }
    }

    #[test]
    fn a_rotation_keeps_the_old_secret_signing_for_the_overlap_only() {
        let w = webhook();
        let new = WebhookSecret::from_key(&[2; KEY_BYTES]);
        let rotate = WebhookChange {
            rotate: Some((new.clone(), 1000)),
            ..Default::default()
        };
        let r = apply(&w, &rotate, Timestamp(100)).unwrap();
        assert_eq!(r.secret, new);
        assert_eq!(r.secret_created_at, Timestamp(100));
        assert_eq!(r.signing_secrets(Timestamp(1099)), [&new, &w.secret]);
        assert_eq!(r.signing_secrets(Timestamp(1100)), [&new]);
        assert_eq!(r.previous_expires_at(Timestamp(500)), Some(Timestamp(1100)));
        assert_eq!(r.previous_expires_at(Timestamp(1100)), None);
        let at_once = WebhookChange {
            rotate: Some((new.clone(), 0)),
            ..Default::default()
        };
        assert!(apply(&w, &at_once, Timestamp(100))
            .unwrap()
            .previous_secret
            .is_none());
    }

    #[test]
    fn enabling_clears_the_servers_reason_and_a_replay_moves_the_cursor_and_enables() {
        let w = webhook();
        let off = WebhookChange {
            disable_for: Some("the endpoint answered 410 Gone".into()),
            ..Default::default()
        };
        let d = apply(&w, &off, Timestamp(5)).unwrap();
        assert!(!d.active);
        assert!(d.disabled_reason.is_some());
        let on = WebhookChange {
            active: Some(true),
            ..Default::default()
        };
        let e = apply(&d, &on, Timestamp(6)).unwrap();
        assert!(e.active && e.disabled_reason.is_none());
        let replay = WebhookChange {
            replay_from: Some(7),
            ..Default::default()
        };
        let r = apply(&d, &replay, Timestamp(7)).unwrap();
        assert_eq!((r.delivered_through, r.active), (6, true));
        assert!(r.disabled_reason.is_none());
    }

    #[test]
    fn a_change_to_what_is_there_changes_nothing() {
        let w = webhook();
        let same = WebhookChange {
            url: Some(w.url.clone()),
            event_types: Some(w.event_types.clone()),
            active: Some(true),
            ..Default::default()
        };
        assert!(apply(&w, &same, Timestamp(9)).is_none());
    }

    #[test]
    fn an_answer_excerpt_is_cut_on_a_character_boundary() {
        let long = "é".repeat(RESPONSE_HEAD_MAX);
        let h = head(&long);
        assert!(h.len() <= RESPONSE_HEAD_MAX && h.len() >= RESPONSE_HEAD_MAX - 1);
        assert_eq!(head("short"), "short");
    }
}
