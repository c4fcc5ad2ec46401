//! Webhook endpoints: `/webhooks`, their secrets, their delivery attempts and replays.
//!
//! Every change is written with its entry in the administrative audit trail, in one
//! transaction. A secret is in the answer of a creation or a rotation and nowhere else: not in
//! reads, not in the audit trail, not in the logs.

use super::{checked_body, listing, page_request, query, Resource};
use crate::auth::{random_bytes, Caller};
use crate::error::{ApiError, ApiResult};
use crate::routes::clients::by;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use skillgrid_api::{
    scopes, EntryCode, ErrorEntry, Locator, Page, Webhook, WebhookDelivery, WebhookWithSecret,
};
use skillgrid_core::timestamp::Timestamp;
use skillgrid_core::validate;
use skillgrid_core::webhooks::signing::WebhookSecret;
use skillgrid_core::webhooks::DEFAULT_OVERLAP_SECONDS;
use skillgrid_store::{DeliveryRecord, WebhookChange, WebhookId, WebhookRecord, WebhookState};
use uuid::Uuid;

pub const WEBHOOK: Resource = Resource {
    param: "webhookId",
    what: "webhook",
    collection: "/api/v2/webhooks",
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route(
            "/webhooks/{webhookId}",
            get(read).patch(update).delete(remove),
        )
        .route("/webhooks/{webhookId}/secret", post(rotate))
        .route("/webhooks/{webhookId}/deliveries", get(deliveries))
        .route("/webhooks/{webhookId}/replay", post(replay))
}

/// A new secret: `whsec_` and 32 random bytes.
fn new_secret() -> WebhookSecret {
    WebhookSecret::from_key(&random_bytes())
}

/// A webhook as the API shows it: never its secrets.
pub(crate) fn render(w: &WebhookRecord) -> Webhook {
    let now = Timestamp::now();
    Webhook {
        id: w.id.get(),
        url: w.url.clone(),
        event_types: w.event_types.clone(),
        active: w.active,
        disabled_reason: w.disabled_reason.clone(),
        delivered_through: w.delivered_through,
        secret_created_at: w.secret_created_at.to_rfc3339(),
        previous_secret_expires_at: w.previous_expires_at(now).map(|t| t.to_rfc3339()),
        created_at: w.created_at.to_rfc3339(),
        updated_at: w.updated_at.to_rfc3339(),
    }
}

/// A webhook as one side of an administrative audit entry shows it.
pub(crate) fn render_state(id: Uuid, s: &WebhookState) -> Webhook {
    let at = |ms: i64| Timestamp(ms).to_rfc3339();
    Webhook {
        id,
        url: s.url.clone(),
        event_types: s.event_types.clone(),
        active: s.active,
        disabled_reason: s.disabled_reason.clone(),
        delivered_through: s.delivered_through,
        secret_created_at: at(s.secret_created_at),
        previous_secret_expires_at: s.previous_secret_expires_at.map(at),
        created_at: at(s.created_at),
        updated_at: at(s.updated_at),
    }
}

fn render_delivery(d: DeliveryRecord) -> WebhookDelivery {
    WebhookDelivery {
        id: d.id,
        event_id: d.event_id,
        sequence: d.sequence,
        attempt: d.attempt,
        at: d.at.to_rfc3339(),
        status_code: d.status,
        error: d.error,
        latency_ms: d.latency_ms,
        response_excerpt: d.response_head,
        next_attempt_at: d.next_attempt_at.map(|t| t.to_rfc3339()),
    }
}

/// A webhook with its new secret, never cached on the way.
fn with_secret(
    w: &WebhookRecord,
    secret: &WebhookSecret,
) -> (
    [(header::HeaderName, &'static str); 1],
    Json<WebhookWithSecret>,
) {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(WebhookWithSecret {
            webhook: render(w),
            secret: secret.expose().to_string(),
        }),
    )
}

/// The organization's webhook the path names, on a route that takes no query parameters.
async fn found(
    state: &AppState,
    caller: &Caller,
    q: Option<String>,
    id: &str,
) -> ApiResult<WebhookRecord> {
    let (_, w) = WEBHOOK
        .fetch(q, id, |id: WebhookId| {
            state.store().get_webhook(caller.org_id, id)
        })
        .await?;
    Ok(w)
}

/// List the webhooks
///
/// Oldest first; secrets are never shown, only when the current one was made.
#[utoipa::path(get, path = "/api/v2/webhooks", tag = "webhooks", operation_id = "listWebhooks",
    security(("oauth2" = ["admin:webhook:read"])),
    params(super::Paging),
    responses((status = 200, description = "one page of webhooks", body = Page<Webhook>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<Webhook>>> {
    caller.require(scopes::WEBHOOK_READ)?;
    let q = query(q, &["limit", "cursor"])?;
    listing(
        &q,
        |p| state.store().list_webhooks(caller.org_id, p),
        |w| render(&w),
    )
    .await
}

/// Create a webhook
///
/// Its signing secret is in this answer and never again. Deliveries are signed with it as the
/// Standard Webhooks specification says (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`). The URL must be absolute `https://` or `http://`; link-local and
/// cloud-metadata addresses are refused, loopback and private ones too unless the server was
/// started with `--webhooks-allow-private`.
#[utoipa::path(post, path = "/api/v2/webhooks", tag = "webhooks", operation_id = "createWebhook",
    security(("oauth2" = ["admin:webhook:write"])),
    request_body(content = skillgrid_api::WebhookCreate, content_type = "application/json"),
    responses((status = 201, description = "the new webhook and its secret", body = WebhookWithSecret,
        headers(("Location" = String, description = "the new webhook's URL"), ("Cache-Control" = String, description = "`no-store`: the answer holds a secret")))))]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    caller.require(scopes::WEBHOOK_WRITE)?;
    query(q, &[])?;
    let policy = state.webhook_policy();
    let new = checked_body(&state, &caller, &headers, body, |v| {
        validate::webhook_create(v, policy)
    })
    .await?;
    let secret = new_secret();
    let w = state
        .store()
        .create_webhook(caller.org_id, &new, &secret, &by(&caller))
        .await?;
    Ok(WEBHOOK.created(w.id, with_secret(&w, &secret)))
}

/// Read a webhook
#[utoipa::path(get, path = "/api/v2/webhooks/{webhookId}", tag = "webhooks", operation_id = "getWebhook",
    security(("oauth2" = ["admin:webhook:read"])), params(("webhookId" = uuid::Uuid, Path, description = "the webhook's id")),
    responses((status = 200, description = "the webhook", body = Webhook)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Webhook>> {
    caller.require(scopes::WEBHOOK_READ)?;
    Ok(Json(render(&found(&state, &caller, q, &id).await?)))
}

/// Change a webhook
///
/// Takes `url`, `eventTypes` (the whole new list) and `active`. `{"active": true}` enables an
/// endpoint the server disabled and clears `disabledReason`; delivery resumes after
/// `deliveredThrough`.
#[utoipa::path(patch, path = "/api/v2/webhooks/{webhookId}", tag = "webhooks", operation_id = "patchWebhook",
    security(("oauth2" = ["admin:webhook:write"])), params(("webhookId" = uuid::Uuid, Path, description = "the webhook's id")),
    request_body(content = skillgrid_api::WebhookUpdate, content_type = "application/json"),
    responses((status = 200, description = "the webhook after the change", body = Webhook)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Webhook>> {
    caller.require(scopes::WEBHOOK_WRITE)?;
    let current = found(&state, &caller, q, &id).await?;
    let policy = state.webhook_policy();
    let patch = checked_body(&state, &caller, &headers, body, |v| {
        validate::webhook_patch(v, policy)
    })
    .await?;
    let change = WebhookChange {
        url: patch.url,
        event_types: patch.event_types,
        active: patch.active,
        ..WebhookChange::default()
    };
    change_webhook(&state, &caller, current.id, &change)
        .await
        .map(|w| Json(render(&w)))
}

async fn change_webhook(
    state: &AppState,
    caller: &Caller,
    id: WebhookId,
    change: &WebhookChange,
) -> ApiResult<WebhookRecord> {
    state
        .store()
        .update_webhook(caller.org_id, id, change, &by(caller))
        .await
        .map_err(|e| WEBHOOK.not_found(e))
}

/// Delete a webhook
///
/// Nothing more is delivered to it; its delivery attempts go with it, its audit entries stay.
#[utoipa::path(delete, path = "/api/v2/webhooks/{webhookId}", tag = "webhooks", operation_id = "deleteWebhook",
    security(("oauth2" = ["admin:webhook:write"])), params(("webhookId" = uuid::Uuid, Path, description = "the webhook's id")),
    responses((status = 204, description = "deleted")))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    caller.require(scopes::WEBHOOK_WRITE)?;
    let current = found(&state, &caller, q, &id).await?;
    state
        .store()
        .delete_webhook(caller.org_id, current.id, &by(&caller))
        .await
        .map_err(|e| WEBHOOK.not_found(e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a webhook's secret
///
/// The new secret is in this answer and never again. The previous one keeps signing beside
/// it for `overlapSeconds` (default 86400, a day; 0 to 604800): deliveries meanwhile carry
/// both signatures, so a consumer verifies with either while it switches. A secret still
/// overlapping from an earlier rotation stops signing. The body may be empty.
#[utoipa::path(post, path = "/api/v2/webhooks/{webhookId}/secret", tag = "webhooks", operation_id = "rotateWebhookSecret",
    security(("oauth2" = ["admin:webhook:write"])), params(("webhookId" = uuid::Uuid, Path, description = "the webhook's id")),
    request_body(content = Option<skillgrid_api::WebhookRotation>, content_type = "application/json"),
    responses((status = 200, description = "the webhook and its new secret", body = WebhookWithSecret,
        headers(("Cache-Control" = String, description = "`no-store`: the answer holds a secret")))))]
pub(crate) async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    caller.require(scopes::WEBHOOK_WRITE)?;
    let current = found(&state, &caller, q, &id).await?;
    let overlap = optional_body(&state, &caller, &headers, body, validate::webhook_rotation)
        .await?
        .flatten()
        .unwrap_or(DEFAULT_OVERLAP_SECONDS);
    let secret = new_secret();
    let change = WebhookChange {
        rotate: Some((secret.clone(), overlap * 1000)),
        ..WebhookChange::default()
    };
    let w = change_webhook(&state, &caller, current.id, &change).await?;
    Ok(with_secret(&w, &secret))
}

/// A body that may be left out: `None` when it is empty (with or without a JSON
/// `Content-Type`), else the body checked by `walk` as any other.
async fn optional_body<T>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
    walk: impl FnOnce(&serde_json::Value) -> Result<T, Vec<ErrorEntry>>,
) -> ApiResult<Option<T>> {
    let settings = caller.settings(state).await?;
    let bytes = crate::body::read_bytes(headers, body, settings.limits.max_body_bytes).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    crate::body::require_json(headers)?;
    let doc = crate::body::parse_json(&bytes)?;
    crate::body::check(&doc, walk).map(Some)
}

/// A webhook's delivery attempts
///
/// Newest first: each attempt with the event it carried, the status answered (or why there
/// was no answer), its latency and the first bytes (at most 1 KB) of the answer.
#[utoipa::path(get, path = "/api/v2/webhooks/{webhookId}/deliveries", tag = "webhooks", operation_id = "listWebhookDeliveries",
    security(("oauth2" = ["admin:webhook:read"])),
    params(("webhookId" = uuid::Uuid, Path, description = "the webhook's id"), super::Paging),
    responses((status = 200, description = "one page of delivery attempts, newest first", body = Page<WebhookDelivery>)))]
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Page<WebhookDelivery>>> {
    caller.require(scopes::WEBHOOK_READ)?;
    let q = query(q, &["limit", "cursor"])?;
    let id: WebhookId = super::path_id(WEBHOOK.param, &id)?;
    let p = state
        .store()
        .webhook_deliveries(caller.org_id, id, page_request(&q)?)
        .await
        .map_err(|e| WEBHOOK.not_found(e))?;
    Ok(super::page(p, render_delivery))
}

/// Deliver again from an event on
///
/// Sets the webhook's cursor back to just before the event numbered `fromSequence` (its
/// `deliveredThrough` becomes `fromSequence - 1`) and enables it: every event from there on is
/// delivered again, in order. A replay goes back, never forward: `fromSequence` is 1 to
/// `deliveredThrough + 1`, so no event is ever skipped. Consumers see the same `webhook-id` for an event delivered
/// before, and deduplicate by it.
#[utoipa::path(post, path = "/api/v2/webhooks/{webhookId}/replay", tag = "webhooks", operation_id = "replayWebhook",
    security(("oauth2" = ["admin:webhook:write"])),
    params(("webhookId" = uuid::Uuid, Path, description = "the webhook's id"),
        ("fromSequence" = i64, Query, minimum = 1, description = "the sequence number of the first event to deliver again")),
    responses((status = 200, description = "the webhook after the replay was set", body = Webhook)))]
pub(crate) async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Webhook>> {
    caller.require(scopes::WEBHOOK_WRITE)?;
    let q = query(q, &["fromSequence"])?;
    let Some(from) = q.from_sequence else {
        return Err(ApiError::one(
            ErrorEntry::new(
                Locator::Query("fromSequence".into()),
                EntryCode::MissingField,
                "a replay needs `fromSequence`, the first event to deliver again",
            )
            .expected("an event sequence number: an integer of 1 or more"),
        ));
    };
    let current = found(&state, &caller, None, &id).await?;
    // A replay goes back: from further on, the events between would never be delivered.
    let newest = current.delivered_through.saturating_add(1);
    if from > newest {
        return Err(ApiError::one(
            ErrorEntry::new(
                Locator::Query("fromSequence".into()),
                EntryCode::OutOfRange,
                format!(
                    "fromSequence {from} is past the events delivered so far: a replay starts at \
                     {newest} at the latest, or events would be skipped"
                ),
            )
            .expected(format!("an integer from 1 to {newest}"))
            .received(serde_json::json!(from.to_string())),
        ));
    }
    let change = WebhookChange {
        replay_from: Some(from),
        ..WebhookChange::default()
    };
    change_webhook(&state, &caller, current.id, &change)
        .await
        .map(|w| Json(render(&w)))
}
