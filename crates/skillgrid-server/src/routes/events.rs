//! The event feed: `GET /events?after=&limit=&types=` pages the organization's events in
//! sequence order, and `GET /events/stream` sends the same as Server-Sent Events, from
//! `Last-Event-ID` (or `after`) on, as they are committed.

use super::query;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::event_hub::{Refused, StreamSlot};
use crate::render::Renderer;
use crate::state::AppState;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use foldhash::HashMap;
use futures::Stream;
use skillgrid_api::AuditAction;
use skillgrid_api::{
    scopes, Changes, EntryCode, ErrorEntry, Event, EventActor, EventPage, Locator, ProblemCode,
    UpdatedAssignment,
};
use skillgrid_core::model::{ClientId, OrgId};
use skillgrid_core::validate::QueryValues;
use skillgrid_store::{EventData, EventRecord, EventType};
use std::collections::VecDeque;
use std::convert::Infallible;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list))
        .route("/events/stream", get(stream))
}

/// Events a stream reads from the store at once.
const STREAM_BATCH: u32 = 100;

/// The organization's events
///
/// Every committed change to the organization's agents' skill sets, agents, skills, settings
/// and API clients, in sequence order: `sequence` goes up by one per event of the
/// organization, in the order the changes were committed, with no gap. Follow the feed by
/// passing the last `sequence` seen as `after` (`nextAfter` is it); `nextCursor` is `null`
/// once the page reached the latest event.
#[utoipa::path(get, path = "/api/v2/events", tag = "events", operation_id = "listEvents",
    security(("oauth2" = ["admin:audit:read"])),
    params(
        ("after" = Option<i64>, Query, minimum = 0, description = "only events after this sequence number (default 0: from the oldest kept)"),
        ("types" = Option<String>, Query, description = "only events of these types, comma-separated, e.g. `assignment.changed,skill.deleted`"),
        super::Paging),
    responses((status = 200, description = "one page of events, in sequence order", body = EventPage)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<EventPage>> {
    caller.require(scopes::AUDIT_READ)?;
    let q = query(q, &["after", "cursor", "limit", "types"])?;
    let after = position(&q, None)?;
    let types = types(&q)?;
    let limit = q.limit.unwrap_or(100);
    let mut records = state
        .store()
        .events_after(caller.org_id, after, limit + 1, types.as_deref())
        .await?;
    let more = records.len() > limit as usize;
    records.truncate(limit as usize);
    let next_after = records.last().map_or(after, |e| e.sequence);
    let items = render_all(&state, caller.org_id, records).await?;
    Ok(Json(EventPage {
        items,
        next_cursor: more.then(|| next_after.to_string()),
        next_after,
    }))
}

/// The organization's events as Server-Sent Events
///
/// The events of `GET /api/v2/events` as a stream that stays open: each as one message whose
/// `id` is its sequence number, `event` its type and `data` the event as JSON; first those
/// after `Last-Event-ID` (or `after`), then each new one shortly after it is committed. A
/// comment line is sent when nothing else was for a while, so proxies keep the connection
/// open. A client that reconnects with the last id it got misses nothing and gets nothing
/// twice. An API client may hold a few streams open at once (429 beyond); the stream ends when
/// the client is disabled, loses the scope or has its secret rotated.
#[utoipa::path(get, path = "/api/v2/events/stream", tag = "events", operation_id = "streamEvents",
    security(("oauth2" = ["admin:audit:read"])),
    params(
        ("Last-Event-ID" = Option<i64>, Header, description = "the sequence number of the last event received; wins over `after`"),
        ("after" = Option<i64>, Query, minimum = 0, description = "start after this sequence number (default 0)"),
        ("types" = Option<String>, Query, description = "only events of these types, comma-separated")),
    responses((status = 200, description = "a stream of events (`text/event-stream`)", content_type = "text/event-stream", body = String)))]
pub(crate) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Sse<impl Stream<Item = Result<sse::Event, Infallible>>>> {
    caller.require(scopes::AUDIT_READ)?;
    let q = query(q, &["after", "types"])?;
    let after = position(&q, last_event_id(&headers)?)?;
    let types = types(&q)?;
    let hub = state.events().clone();
    let slot = hub.open_stream(caller.client_id).map_err(too_many)?;
    let bumps = hub.subscribe(state.store());
    let feed = Feed {
        state,
        caller,
        after,
        types,
        bumps,
        queue: VecDeque::new(),
        _slot: slot,
    };
    let events = futures::stream::unfold(feed, |mut f| async move {
        let e = f.next().await?;
        Some((Ok(e), f))
    });
    let keep_alive = KeepAlive::new().interval(hub.options().keep_alive);
    Ok(Sse::new(events).keep_alive(keep_alive))
}

/// One stream's place in the organization's events.
struct Feed {
    state: AppState,
    caller: Caller,
    after: i64,
    types: Option<Vec<EventType>>,
    bumps: tokio::sync::watch::Receiver<u64>,
    queue: VecDeque<(i64, &'static str, String)>,
    _slot: StreamSlot,
}

impl Feed {
    /// The next message; `None` ends the stream.
    async fn next(&mut self) -> Option<sse::Event> {
        loop {
            if let Some((sequence, kind, data)) = self.queue.pop_front() {
                return Some(
                    sse::Event::default()
                        .id(sequence.to_string())
                        .event(kind)
                        .data(data),
                );
            }
            // Seen before reading: a bump after this read wakes the wait below.
            self.bumps.borrow_and_update();
            match self.fill().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "an event stream ended");
                    return None;
                }
            }
            self.bumps.changed().await.ok()?;
        }
    }

    /// Reads the next events into the queue; false when there were none. An error when the
    /// caller may no longer read them.
    async fn fill(&mut self) -> anyhow::Result<bool> {
        let org = self.caller.org_id;
        let view = self.state.org_view(org).await?;
        // A token's client is admitted again as a request's would be (a console session is
        // checked when the stream opens only).
        if self.caller.user_id.is_none() {
            let mut now = self.caller.clone();
            let admitted = crate::auth::admit(&view, &mut now).is_ok()
                && now.scopes.iter().any(|s| s == scopes::AUDIT_READ);
            anyhow::ensure!(admitted, "the stream's client may no longer read events");
        }
        let records = self
            .state
            .store()
            .events_after(org, self.after, STREAM_BATCH, self.types.as_deref())
            .await?;
        let Some(last) = records.last() else {
            return Ok(false);
        };
        self.after = last.sequence;
        let events = render_all(&self.state, org, records)
            .await
            .map_err(|_| anyhow::anyhow!("rendering events failed"))?;
        for e in events {
            let kind = EventType::parse(&e.kind).map_or("event", EventType::as_str);
            self.queue
                .push_back((e.sequence, kind, serde_json::to_string(&e)?));
        }
        Ok(true)
    }
}

/// 429 for a stream beyond the limits.
fn too_many(r: Refused) -> ApiError {
    let detail = match r {
        Refused::Owner(n) => {
            format!("this API client already holds {n} event streams open; close one first")
        }
        Refused::Process(n) => format!("this server already serves {n} event streams"),
    };
    ApiError::new(ProblemCode::RateLimited, detail)
        .with_header(axum::http::header::RETRY_AFTER, "5")
}

/// The sequence number to start after: the `Last-Event-ID` header's, else `after`'s (or a
/// `cursor` from `nextCursor`), else 0.
fn position(q: &QueryValues, header: Option<i64>) -> ApiResult<i64> {
    if let Some(h) = header {
        return Ok(h);
    }
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::one(
                ErrorEntry::new(
                    Locator::Query("cursor".into()),
                    EntryCode::InvalidFormat,
                    "`cursor` is not a cursor of this feed",
                )
                .expected("the `nextCursor` of the previous page")
                .received(serde_json::Value::String(c.to_string())),
            )
        })?),
    };
    match (q.after, cursor) {
        (Some(_), Some(_)) => Err(ApiError::one(
            ErrorEntry::new(
                Locator::Query("cursor".into()),
                EntryCode::NotAllowed,
                "give `after` or `cursor`, not both",
            )
            .hint("drop `cursor`: `after` says where to start"),
        )),
        (a, c) => Ok(a.or(c).unwrap_or(0)),
    }
}

fn last_event_id(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("");
    match text.trim().parse::<i64>() {
        Ok(n) if n >= 0 => Ok(Some(n)),
        _ => Err(ApiError::one(
            ErrorEntry::new(
                Locator::Header("Last-Event-ID".into()),
                EntryCode::InvalidFormat,
                "`Last-Event-ID` is not a sequence number of this feed",
            )
            .expected("the `id` of the last event received, an integer from 0")
            .received(serde_json::Value::String(text.to_string())),
        )),
    }
}

/// The `types` filter: `None` for every type.
fn types(q: &QueryValues) -> ApiResult<Option<Vec<EventType>>> {
    let Some(raw) = q.types.as_deref() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for name in raw.split(',').map(str::trim) {
        match EventType::parse(name) {
            Some(t) => out.push(t),
            None => errors.push(
                ErrorEntry::new(
                    Locator::Query("types".into()),
                    EntryCode::InvalidFormat,
                    format!(
                        "`{}` is not an event type",
                        name.chars().take(64).collect::<String>()
                    ),
                )
                .expected(format!(
                    "event types separated by commas: {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                )),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(Some(out))
}

/// Events as the API shows them, assignments with the organization's current scale and
/// catalog, like the audit trail.
pub(crate) async fn render_all(
    state: &AppState,
    org: OrgId,
    records: Vec<EventRecord>,
) -> ApiResult<Vec<Event>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let view = state.org_view(org).await?;
    let r = Renderer::new(&view.settings.proficiency_scale, &view.catalog);
    let users = crate::console::api::users_by_client(state, org).await?;
    Ok(records.into_iter().map(|e| render(&r, &users, e)).collect())
}

fn render(r: &Renderer<'_>, users: &HashMap<ClientId, Uuid>, e: EventRecord) -> Event {
    let data = match &e.data {
        EventData::Assignments {
            agent,
            version,
            changes,
        } => {
            let mut c = Changes::default();
            for a in changes {
                match (a.action, &a.before, &a.after) {
                    (AuditAction::Added, _, Some(after)) => c.added.push(r.assignment(after)),
                    (AuditAction::Updated, Some(before), Some(after)) => {
                        c.updated.push(UpdatedAssignment {
                            skill_id: a.skill_id.get(),
                            before: r.assignment(before),
                            after: r.assignment(after),
                        })
                    }
                    (_, Some(before), _) => c.removed.push(r.assignment(before)),
                    _ => {}
                }
            }
            serde_json::json!({"agentId": agent.get(), "version": version, "changes": c})
        }
        EventData::Admin { before, after } => {
            let side = |s: &Option<_>| s.as_ref().map(|s| super::admin_audit::side(e.subject, s));
            serde_json::json!({"before": side(before), "after": side(after)})
        }
        EventData::Client {
            action,
            before,
            after,
        } => {
            let id = ClientId::from(e.subject);
            let side = |s: &Option<_>| {
                s.as_ref()
                    .map(|s| super::clients::rules::render_state(id, s))
            };
            serde_json::json!({"clientId": e.subject, "action": action,
                "before": side(before), "after": side(after)})
        }
    };
    Event {
        id: e.id,
        kind: e.kind.as_str().to_string(),
        occurred_at: e.occurred_at.to_rfc3339(),
        organization: e.org.get(),
        sequence: e.sequence,
        request_id: e.request_id,
        actor: EventActor {
            client_id: e.actor.map(ClientId::get),
            user_id: e.actor.and_then(|a| users.get(&a).copied()),
            via: if e.actor.is_some() {
                "api"
            } else {
                super::admin_audit::VIA_ADMIN_COMMAND
            }
            .into(),
        },
        data,
    }
}

/// After a request that may have written (any method but GET, HEAD and OPTIONS) is answered,
/// wakes this process's event streams.
pub async fn after_writes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(req).await;
    if writes && response.status().is_success() {
        state.events().bump();
    }
    response
}
