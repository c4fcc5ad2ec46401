//! Webhook endpoints as the API shows and takes them (`/webhooks`), and their delivery
//! attempts.
//!
//! An endpoint's signing secret is shown once, when it is made (create, rotate). The server
//! keeps it as it is, since signing needs the key itself, but never shows it again nor logs it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A webhook endpoint of the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: Uuid,
    /// Where deliveries are POSTed.
    #[schema(format = "uri")]
    pub url: String,
    /// The event types delivered; `["*"]`: every type.
    pub event_types: Vec<String>,
    /// `false`: nothing is delivered; events still accumulate, and are delivered from where
    /// the endpoint stopped once it is enabled again.
    pub active: bool,
    /// Why the server disabled the endpoint (an answer 410, retries exhausted); `null` while
    /// active or when a client disabled it.
    pub disabled_reason: Option<String>,
    /// The sequence number of the last event delivered (0: none yet).
    pub delivered_through: i64,
    /// When the current secret was made (at creation or by the last rotation).
    #[schema(format = DateTime)]
    pub secret_created_at: String,
    /// Until when the previous secret signs beside the current one after a rotation; `null`
    /// when only the current secret signs.
    #[schema(format = DateTime)]
    pub previous_secret_expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// An endpoint with its new secret: the answer of a creation or a rotation, the only time the
/// secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_` and the base64 of 32 random bytes, as the Standard Webhooks libraries take it.
    /// Store it now: it is not shown again.
    pub secret: String,
}

/// `POST /webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookCreate {
    /// An absolute `https://` or `http://` URL, without credentials or fragment, at most 2048
    /// characters. Link-local and cloud-metadata addresses are refused; loopback and private
    /// ones too unless the server allows them.
    #[schema(format = "uri", min_length = 1, max_length = 2048)]
    pub url: String,
    /// Known event types, or `["*"]` (the default) for every type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_items = 1)]
    pub event_types: Option<Vec<String>>,
    /// Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `PATCH /webhooks/{webhookId}`: any subset of the fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = "uri", min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_items = 1)]
    pub event_types: Option<Vec<String>>,
    /// `true` enables the endpoint again (clearing `disabledReason`); `false` disables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `POST /webhooks/{webhookId}/secret`; the body may be empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookRotation {
    /// How long the previous secret keeps signing beside the new one: 0 (it stops at once)
    /// to 604800 (a week); default 86400 (a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0, maximum = 604800)]
    pub overlap_seconds: Option<i64>,
}

/// One attempt to deliver one event to an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: Uuid,
    /// The event's id: the `webhook-id` header, the same on every attempt.
    pub event_id: Uuid,
    /// The event's sequence number in the organization.
    pub sequence: i64,
    /// 1 for the first attempt at this event, then 2, 3, …
    pub attempt: i32,
    #[schema(format = DateTime)]
    pub at: String,
    /// The HTTP status the endpoint answered; `null` when it gave no answer.
    pub status_code: Option<i32>,
    /// Why there was no answer (refused connection, timeout, refused address); `null` when
    /// there was one.
    pub error: Option<String>,
    /// From sending the request to the end of the answer (or the failure), in milliseconds.
    pub latency_ms: i64,
    /// The first bytes of the answer's body (at most 1024), as text.
    pub response_excerpt: Option<String>,
    /// When the event is tried again; `null` after a success or when no retry follows.
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
}
