//! The outbox of events, backend-neutral: what a committed change leaves for consumers that
//! follow an organization's changes (the event feed, its stream, webhook deliveries).
//!
//! Each event is written in the transaction of the change it describes, numbered by a
//! per-organization `sequence` taken in that transaction (see migration 0012), so a change
//! that rolls back has no event, one that commits always has one, and an organization's
//! events read in sequence order are in commit order with no gap. Like an audit entry, an
//! event keeps the store's own documents (the states of `crate::admin_audit` and
//! `crate::clients`), never a wire type; the server renders them. An `assignment.changed`
//! event refers to the audit row written beside it and reads its packed entries from there
//! (see migration 0017): a write stores an agent's changes once.

use crate::*;
use anyhow::Context;

/// What an event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// One agent's skill set changed.
    AssignmentChanged,
    AgentCreated,
    AgentUpdated,
    SkillCreated,
    SkillUpdated,
    SkillDeleted,
    SettingsUpdated,
    /// An API client was created, changed, disabled or enabled, had its secret rotated, or
    /// was deleted (`EventData::Client::action` says which).
    ClientUpdated,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::AssignmentChanged,
        EventType::AgentCreated,
        EventType::AgentUpdated,
        EventType::SkillCreated,
        EventType::SkillUpdated,
        EventType::SkillDeleted,
        EventType::SettingsUpdated,
        EventType::ClientUpdated,
    ];

    /// Its name, as stored and as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AssignmentChanged => "assignment.changed",
            EventType::AgentCreated => "agent.created",
            EventType::AgentUpdated => "agent.updated",
            EventType::SkillCreated => "skill.created",
            EventType::SkillUpdated => "skill.updated",
            EventType::SkillDeleted => "skill.deleted",
            EventType::SettingsUpdated => "settings.updated",
            EventType::ClientUpdated => "client.updated",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// What an event holds beyond its header.
#[derive(Debug, Clone)]
pub enum EventData {
    /// An agent's skill set changed: its version afterwards and the changed assignments,
    /// recorded as the audit trail records them (`before` and `after` of each).
    Assignments {
        agent: AgentId,
        version: i64,
        changes: Vec<AuditRecord>,
    },
    /// A skill, an agent or the settings, before (none: created) and after (none: deleted).
    Admin {
        before: Option<AdminState>,
        after: Option<AdminState>,
    },
    /// An API client, before and after; never its secret nor the secret's hash.
    Client {
        action: ClientAuditAction,
        before: Option<ClientState>,
        after: Option<ClientState>,
    },
}

/// One stored event.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: Uuid,
    pub org: OrgId,
    /// From 1, one up per event of the organization, in commit order.
    pub sequence: i64,
    pub kind: EventType,
    pub occurred_at: Timestamp,
    pub request_id: String,
    /// The client whose token made the change; `None` for changes made on the database
    /// directly (the admin commands).
    pub actor: Option<ClientId>,
    /// The agent, skill, organization (settings) or client the event is about.
    pub subject: Uuid,
    pub data: EventData,
}

/// An event to write, in the store's own forms (see migration 0012).
pub(crate) struct NewEvent {
    pub kind: EventType,
    pub at: i64,
    pub request_id: String,
    pub actor: Option<Uuid>,
    pub subject: Uuid,
    pub version: Option<i64>,
    pub action: Option<&'static str>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl NewEvent {
    /// The event of a change recorded in the administrative audit trail; none for a console
    /// user's (users are not followed by consumers).
    pub(crate) fn admin(
        subject: Uuid,
        before: Option<&AdminState>,
        after: Option<&AdminState>,
        by: &ChangedBy,
    ) -> Result<Option<NewEvent>> {
        let kind = match (after.or(before), before.is_some(), after.is_some()) {
            (Some(AdminState::Skill(_)), false, _) => EventType::SkillCreated,
            (Some(AdminState::Skill(_)), true, true) => EventType::SkillUpdated,
            (Some(AdminState::Skill(_)), true, false) => EventType::SkillDeleted,
            (Some(AdminState::Agent(_)), false, _) => EventType::AgentCreated,
            (Some(AdminState::Agent(_)), true, _) => EventType::AgentUpdated,
            (Some(AdminState::Settings(_)), _, _) => EventType::SettingsUpdated,
            (Some(AdminState::User(_) | AdminState::Webhook(_)) | None, _, _) => return Ok(None),
        };
        Ok(Some(NewEvent {
            before: before.map(AdminState::to_json).transpose()?,
            after: after.map(AdminState::to_json).transpose()?,
            ..NewEvent::by(kind, subject, by)
        }))
    }

    /// An event of `kind` about `subject` made by `by`, with nothing but its header.
    fn by(kind: EventType, subject: Uuid, by: &ChangedBy) -> NewEvent {
        NewEvent {
            kind,
            at: by.now.0,
            request_id: by.request_id.clone(),
            actor: by.client.map(ClientId::get),
            subject,
            version: None,
            action: None,
            before: None,
            after: None,
        }
    }

    /// The event of a change to an API client.
    pub(crate) fn client(
        action: ClientAuditAction,
        before: Option<&ClientRecord>,
        after: Option<&ClientRecord>,
        by: &ChangedBy,
    ) -> Result<NewEvent> {
        let subject = after.or(before).map_or(Uuid::nil(), |c| c.id.get());
        Ok(NewEvent {
            action: Some(client_action_name(action)),
            before: before.map(crate::clients::state_json).transpose()?,
            after: after.map(crate::clients::state_json).transpose()?,
            ..NewEvent::by(EventType::ClientUpdated, subject, by)
        })
    }
}

/// An `assignment.changed` event to write beside its audit row (see migration 0017): the
/// agent's version after the write, for each of `sets` in their order (one event per audit
/// row: one per agent, or one per 65,536 changes of an agent, which no organization's limits
/// allow).
pub(crate) fn assignment_versions(
    sets: &[crate::audit::AuditSet],
    agents: &foldhash::HashMap<AgentId, crate::common::AgentRow>,
) -> Vec<i64> {
    sets.iter()
        .map(|s| agents[&AgentId::from(s.agent)].version + 1)
        .collect()
}

fn client_action_name(a: ClientAuditAction) -> &'static str {
    match a {
        ClientAuditAction::Created => "created",
        ClientAuditAction::Updated => "updated",
        ClientAuditAction::SecretRotated => "secretRotated",
        ClientAuditAction::Deleted => "deleted",
    }
}

fn client_action(name: &str) -> Option<ClientAuditAction> {
    [
        ClientAuditAction::Created,
        ClientAuditAction::Updated,
        ClientAuditAction::SecretRotated,
        ClientAuditAction::Deleted,
    ]
    .into_iter()
    .find(|a| client_action_name(*a) == name)
}

/// The columns of its own an event is read with; its `entries` and `skills` come from the
/// backend's `EVENT_ENTRIES`, which may read them from the audit row the event refers to.
pub(crate) const EVENT_COLS: &str = "e.uuid, o.uuid AS org_uuid, e.sequence, e.kind,
    e.occurred_at, e.request_id, e.actor_uuid, e.subject_uuid, e.version, e.action, e.before,
    e.after";

/// An event as both backends read it.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    uuid: Uuid,
    org_uuid: Uuid,
    sequence: i64,
    kind: String,
    occurred_at: i64,
    request_id: String,
    actor_uuid: Option<Uuid>,
    subject_uuid: Uuid,
    version: Option<i64>,
    entries: Option<Vec<u8>>,
    /// The skills the entries name by place (SQLite's listed form), from their write's row.
    skills: Option<Vec<u8>>,
    action: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

impl EventRow {
    pub(crate) fn record(self) -> Result<EventRecord> {
        let bad = |what: &str| {
            StoreError::Other(anyhow::anyhow!(
                "event {} of sequence {} has {what}",
                self.uuid,
                self.sequence
            ))
        };
        let kind = EventType::parse(&self.kind).ok_or_else(|| bad("an unknown type"))?;
        let data = match kind {
            EventType::AssignmentChanged => {
                let set = crate::audit::StoredSet {
                    id: 0,
                    uuid: self.uuid,
                    at: self.occurred_at,
                    request_id: self.request_id.clone(),
                    client: self.actor_uuid.unwrap_or_default(),
                    agent: self.subject_uuid,
                    entries: self.entries.clone().ok_or_else(|| bad("no entries"))?,
                    skills: self.skills.clone(),
                };
                EventData::Assignments {
                    agent: self.subject_uuid.into(),
                    version: self.version.ok_or_else(|| bad("no version"))?,
                    changes: set.records()?,
                }
            }
            EventType::ClientUpdated => {
                let state = |t: &Option<String>| -> Result<Option<ClientState>> {
                    t.as_deref()
                        .map(|t| {
                            serde_json::from_str(t)
                                .context("a stored client state is not valid")
                                .map_err(StoreError::from)
                        })
                        .transpose()
                };
                EventData::Client {
                    action: self
                        .action
                        .as_deref()
                        .and_then(client_action)
                        .ok_or_else(|| bad("no client action"))?,
                    before: state(&self.before)?,
                    after: state(&self.after)?,
                }
            }
            _ => {
                let admin_kind = match kind {
                    EventType::AgentCreated | EventType::AgentUpdated => {
                        skillgrid_core::api::AdminAuditKind::Agent
                    }
                    EventType::SettingsUpdated => skillgrid_core::api::AdminAuditKind::Settings,
                    _ => skillgrid_core::api::AdminAuditKind::Skill,
                };
                let state = |t: &Option<String>| {
                    t.as_deref()
                        .map(|t| AdminState::from_json(admin_kind, t))
                        .transpose()
                };
                EventData::Admin {
                    before: state(&self.before)?,
                    after: state(&self.after)?,
                }
            }
        };
        Ok(EventRecord {
            id: self.uuid,
            org: self.org_uuid.into(),
            sequence: self.sequence,
            kind,
            occurred_at: Timestamp(self.occurred_at),
            request_id: self.request_id,
            actor: self.actor_uuid.map(ClientId::from),
            subject: self.subject_uuid,
            data,
        })
    }
}

/// Events are kept at least this long whatever an organization's audit retention: longer than
/// the longest window a webhook delivery is retried in (24 hours), with room to spare for an
/// endpoint that was down over a weekend.
pub const EVENT_RETENTION_MIN_MS: i64 = 3 * 24 * 60 * 60 * 1000;
