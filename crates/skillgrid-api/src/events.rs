//! The event feed (`/events`, `/events/stream`): every committed change a consumer may follow,
//! numbered per organization in commit order.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One committed change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Unique; the same event always has the same id (a consumer's key for spotting repeats).
    pub id: Uuid,
    /// `assignment.changed`, `agent.created`, `agent.updated`, `skill.created`,
    /// `skill.updated`, `skill.deleted`, `settings.updated` or `client.updated`.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// The organization's id.
    pub organization: Uuid,
    /// From 1, one up per event of the organization, in commit order, with no gap.
    pub sequence: i64,
    /// The request that made the change; `admin-cli` for the admin commands.
    pub request_id: String,
    pub actor: EventActor,
    /// What changed, in the shape `type` names (see the event types' documentation).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventActor {
    /// The client whose token (or console session) made the change; `null` when it was made
    /// on the database directly (the admin commands).
    #[schema(required = true)]
    pub client_id: Option<Uuid>,
    /// The console user who made the change, when it was made in the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// `admin-command` when the change was made by an admin command, `api` otherwise.
    pub via: String,
}

/// A page of the event feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    /// In sequence order.
    pub items: Vec<Event>,
    /// Pass it as `cursor` (or `after`) for the next page; `null` when this page reached the
    /// latest event.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// The sequence number to continue after, also when the page reached the latest event:
    /// poll with `after` set to it to get what comes next.
    pub next_after: i64,
}
