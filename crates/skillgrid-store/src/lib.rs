//! Storage of skillgrid: one [`Store`] trait, implemented for SQLite (embedded default) and
//! PostgreSQL (several server processes sharing one database). Every method that touches
//! tenant data takes the organization's id, and every query filters on it: a foreign id reads
//! exactly like a missing one.
//!
//! Handlers never see SQL or a backend type; they call these methods with validated domain
//! types from `skillgrid-core`.

mod admin_audit;
mod audit;
mod batch;
mod clients;
mod common;
mod console;
mod events;
pub mod export;
mod grid;
mod group;
mod idempotency;
mod layers;
pub mod postgres;
mod rows;
#[cfg(test)]
mod seed;
mod settings;
pub mod sqlite;
pub mod tuning;
pub mod webhooks;
pub mod write;

pub use admin_audit::{
    AdminAuditRecord, AdminFilter, AdminState, AgentAudited, SkillState, UserState,
};
pub use audit::legacy_position;
pub use clients::ClientState;
pub use common::{IDEMPOTENCY_STALE_MS, IDEMPOTENCY_TTL_MS};
pub use console::{AuditFilter, SkillHolders};
pub use events::{EventData, EventRecord, EventType, EVENT_RETENTION_MIN_MS};
pub use export::{Export, ExportAgent, ExportHeld, ExportOptions, ExportPart, ExportSkill};
pub use grid::{GridCursor, GridFilter, GridIds, GridPage, GridRow, GridSort};
pub use webhooks::{
    ClaimedWebhook, DeliveryRecord, Progress, WebhookChange, WebhookRecord, WebhookState,
};
pub use write::{Items, OutcomeSink, Producer, WriteRequest, Written};
// The ids the trait's methods take, and one agent's part of a write, for callers that name
// no other part of the core.
pub use skillgrid_core::ids::{AgentId, ClientId, OrgId, SkillId, WebhookId};
pub use skillgrid_core::model::AgentWrite;

use async_trait::async_trait;
use skillgrid_core::api::{AuditAction, ClientAuditAction, OrgSettings, RateLimit};
use skillgrid_core::diff::Plan;
use skillgrid_core::model::{
    AgentPatch, CatalogSkill, NewAgent, NewSkill, Precondition, SkillPatch, SkillSetWrite,
    StoredAssignment, UpsertAgent,
};
use skillgrid_core::timestamp::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

pub type DynStore = Arc<dyn Store>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The write clashes with what is stored (see [`Conflict`]).
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The row is still referenced (a skill some agent holds).
    #[error("still in use by {count} assignments")]
    InUse { count: i64 },
    /// The write failed for lack of space: the disk is full, or the SQLite file reached its
    /// configured maximum size. Reads still work; writes work again once space is freed.
    #[error("no space left for the write")]
    Full,
    #[error(transparent)]
    Other(anyhow::Error),
}

/// What a refused write clashed with, in the store's own terms; the server words it for the
/// request that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A unique value is taken.
    #[error("{0} is taken")]
    Taken(Unique),
    /// A skill the write names was deleted while the write ran.
    #[error("a skill was deleted meanwhile")]
    SkillGone,
    /// An API client's scopes are no longer those the caller found (see
    /// [`ClientChange::if_scopes`]).
    #[error("the client's scopes changed meanwhile")]
    ScopesChanged,
    /// A SCIM Group is no longer at the version the caller found (its `If-Match`).
    #[error("the group changed meanwhile")]
    GroupChanged,
}

/// The unique constraints of the stored tables that a write can run into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unique {
    /// An organization's name (case-insensitively).
    #[error("the organization name")]
    OrgName,
    /// A skill's name within its organization (case-insensitively).
    #[error("the skill name")]
    SkillName,
    /// An agent's e-mail within its organization (case-insensitively).
    #[error("the agent e-mail")]
    AgentEmail,
    /// A console user's e-mail within its organization (case-insensitively).
    #[error("the user e-mail")]
    UserEmail,
    /// A SCIM Group's displayName within its organization (case-insensitively).
    #[error("the group displayName")]
    GroupName,
    /// A SCIM User's userName within its organization (case-insensitively).
    #[error("the userName")]
    UserName,
    /// Any other unique key: a row's id, an idempotency key.
    #[error("a key")]
    Key,
}

impl StoreError {
    /// The error for each of several requests that one failed statement or transaction
    /// served. A full disk stays [`StoreError::Full`] (the server answers it as such to each);
    /// anything else becomes its text after `context`, since it may concern only one of them.
    pub(crate) fn shared(&self, context: &str) -> StoreError {
        match self {
            StoreError::Full => StoreError::Full,
            e => StoreError::Other(anyhow::anyhow!("{context}: {e:#}")),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(anyhow::Error::from(e))
    }
}

impl From<anyhow::Error> for StoreError {
    fn from(e: anyhow::Error) -> Self {
        if is_storage_full(&e) {
            StoreError::Full
        } else {
            StoreError::Other(e)
        }
    }
}

/// SQLite's result code for a full disk or a file at its maximum page count.
const SQLITE_FULL: &str = "13";
/// PostgreSQL's SQLSTATE `disk_full`.
const PG_DISK_FULL: &str = "53100";

/// True when a database error anywhere in `e`'s chain says there is no space left.
pub fn is_storage_full(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(sqlx::Error::Database(db)) = cause.downcast_ref::<sqlx::Error>() {
            return matches!(db.code().as_deref(), Some(SQLITE_FULL | PG_DISK_FULL));
        }
        matches!(
            cause.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DiskFull
        )
    })
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct OrgRecord {
    pub id: OrgId,
    pub name: String,
    pub settings: OrgSettings,
}

#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub id: ClientId,
    pub org_id: OrgId,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    /// A disabled client gets no token, and the tokens it holds are refused.
    pub active: bool,
    /// Carried by every token issued to the client. Disabling the client or rotating its
    /// secret moves it, which refuses every token issued before.
    pub token_epoch: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the current secret was made.
    pub secret_created_at: Timestamp,
}

/// What a server checks of a token's client on every request (see [`OrgSnapshot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientGrant {
    pub id: ClientId,
    pub active: bool,
    pub token_epoch: i64,
    pub scopes: Vec<String>,
}

/// Who changes an API client, a skill, an agent, the settings or a console user: recorded in
/// the change's audit entry.
#[derive(Debug, Clone)]
pub struct ChangedBy {
    pub request_id: String,
    /// The client whose token made the change; `None` for changes made on the database
    /// directly (the admin commands, the first start).
    pub client: Option<ClientId>,
    pub now: Timestamp,
}

impl ChangedBy {
    /// A change made on the database directly (no client): an admin command, a seed.
    pub fn direct(request_id: &str, now: Timestamp) -> Self {
        ChangedBy {
            request_id: request_id.into(),
            client: None,
            now,
        }
    }
}

/// A change to an API client; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChange {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub active: Option<bool>,
    /// The hash of a new secret: a rotation.
    pub secret_hash: Option<String>,
    /// The scopes the caller found the client holding when it decided it may change it: the
    /// change is refused with [`Conflict::ScopesChanged`] if they have moved since.
    pub if_scopes: Option<Vec<String>>,
}

/// One change to an API client, with the client as it was before and after.
#[derive(Debug, Clone)]
pub struct ClientAuditRecord {
    pub id: Uuid,
    pub at: Timestamp,
    pub request_id: String,
    pub actor: Option<ClientId>,
    pub client_id: ClientId,
    pub action: ClientAuditAction,
    pub before: Option<ClientState>,
    pub after: Option<ClientState>,
}

#[derive(Debug, Clone)]
pub struct SkillRecord {
    pub id: SkillId,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct AgentRecord {
    pub id: AgentId,
    pub email: String,
    pub name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What [`Store::upsert_agents`] did with one agent: the agent as it is afterwards (in a dry
/// run, as it would be).
#[derive(Debug, Clone)]
pub enum Upserted {
    Created(AgentRecord),
    Updated(AgentRecord),
    Unchanged(AgentRecord),
}

/// What SCIM keeps of an agent: the userName and profile (JSON: the name parts, display
/// name and emails) its identity provider last sent, and whether it deleted the agent, which
/// SCIM then no longer shows (agents are never deleted).
#[derive(Debug, Clone)]
pub struct ScimUserRecord {
    pub agent_id: AgentId,
    pub user_name: String,
    pub profile: String,
    pub retired: bool,
}

/// The agent of a SCIM User's write: a new one, or one of the organization.
#[derive(Debug, Clone, Copy)]
pub enum ScimAgent<'a> {
    New(&'a NewAgent),
    Existing(AgentId),
}

/// A SCIM User's write, all of it in one transaction (see [`Store::scim_write_user`]).
#[derive(Debug, Clone, Copy)]
pub struct ScimUserWrite<'a> {
    pub agent: ScimAgent<'a>,
    /// Applied to the agent (a new one too); a patch that changes nothing writes nothing.
    pub patch: &'a AgentPatch,
    /// The agent's own assignments, written after the patch (none: left as they are), with
    /// the precondition on its skill-set version.
    pub skills: Option<(&'a SkillSetWrite, Option<Precondition>)>,
    pub opts: WriteOptions,
    /// What SCIM keeps of the User, and whether SCIM deleted it (`Some(when)`).
    pub user_name: &'a str,
    pub profile: &'a str,
    pub retired: Option<Timestamp>,
}

/// What a SCIM User's write did: the agent as it stands after the patch, and the outcome of
/// its skills' write (if any). An outcome other than [`ItemOutcome::Applied`] means that
/// nothing at all was written (a new agent was not created).
#[derive(Debug, Clone)]
pub struct ScimUserWritten {
    pub agent: AgentRecord,
    pub skills: Option<ItemOutcome>,
}

/// A SCIM Group: a skill profile that its members hold (see migration 0016 and
/// `per_backend/groups.rs`). `members` in the order they joined; `skills` by skill.
#[derive(Debug, Clone)]
pub struct ScimGroupRecord {
    pub id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    /// Moves with every change of the group: its `meta.version`.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub members: Vec<ScimMember>,
    pub skills: Vec<(SkillId, i64)>,
}

/// A member of a SCIM Group: an agent, and the `display` and `type` its identity provider
/// sent with it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimMember {
    pub agent: AgentId,
    pub display: Option<String>,
    pub kind: Option<String>,
}

/// A SCIM Group as a write makes it, whole: its members and skills replace those it had.
#[derive(Debug, Clone, Copy)]
pub struct ScimGroupSave<'a> {
    pub id: Uuid,
    /// A new group (`id` is then its new id), or a change of the group `id`.
    pub create: bool,
    pub display_name: &'a str,
    pub external_id: Option<&'a str>,
    /// Agents of the organization; others are left out.
    pub members: &'a [ScimMember],
    pub skills: &'a [(SkillId, i64)],
    /// The version the caller found (`If-Match`); another is [`Conflict::GroupChanged`].
    pub if_version: Option<i64>,
}

/// Where an agent's skills come from, beyond its effective assignments: for each skill some
/// group of the agent gives, the agent's direct assignment's proficiency (if it has one), and
/// each group giving a skill (its id, displayName, the skill, the proficiency it gives).
#[derive(Debug, Clone, Default)]
pub struct AgentLayers {
    pub covered: Vec<(SkillId, Option<i64>)>,
    pub groups: Vec<(Uuid, String, SkillId, i64)>,
}

/// A page request: rows after the cursor position, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: u32,
}

/// A page of rows and the cursor position of the next one.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct SkillFilter {
    pub name: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    pub email: Option<String>,
    pub active: Option<bool>,
}

/// One agent's skills as stored, with the names of the skills.
#[derive(Debug, Clone)]
pub struct AgentSkillSet {
    pub version: i64,
    pub active: bool,
    pub skills: Vec<StoredAssignment>,
}

/// Who is writing: recorded in every audit entry.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub request_id: String,
    pub client_id: ClientId,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Compute everything, write nothing.
    pub dry_run: bool,
    /// Any failed item rolls back every item.
    pub atomic: bool,
    pub max_skills_per_agent: u64,
    /// Return each applied agent's whole set afterwards (`ItemOutcome::Applied::skills`);
    /// when false it is left empty, which spares a bulk write that answers with changes only
    /// from building 100,000 assignments nobody reads.
    pub return_sets: bool,
    /// Writes an inactive agent's skills too, rather than refusing it
    /// ([`ItemOutcome::Inactive`]): SCIM keeps an inactive User's skills as its identity
    /// provider sets them.
    pub inactive_ok: bool,
}

/// What happened (or, on a dry run or a rolled-back atomic write, would have happened) to one item.
#[derive(Debug, Clone)]
pub enum ItemOutcome {
    Applied {
        /// The version afterwards; on a dry run, the current one (a dry run changes nothing).
        version: i64,
        plan: Plan,
        /// The agent's whole set afterwards; empty unless `WriteOptions::return_sets`.
        skills: Vec<StoredAssignment>,
    },
    NotFound,
    Inactive,
    PreconditionFailed {
        current: i64,
    },
    TooManySkills {
        resulting: usize,
    },
}

#[derive(Debug, Clone)]
pub struct WriteResult {
    pub items: Vec<ItemOutcome>,
    /// True when something was written.
    pub committed: bool,
}

/// A stored audit entry; assignments are rendered by the caller with the current scale.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: Timestamp,
    pub request_id: String,
    pub client_id: ClientId,
    pub agent_id: AgentId,
    pub skill_id: SkillId,
    pub action: AuditAction,
    pub before: Option<StoredAssignment>,
    pub after: Option<StoredAssignment>,
}

/// An agent's skill-set version and whether it is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentState {
    pub version: i64,
    pub active: bool,
}

/// One agent holding a skill.
#[derive(Debug, Clone)]
pub struct SkillHolderRecord {
    pub agent: AgentRecord,
    pub assignment: StoredAssignment,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// The key is now claimed by this request: do the work.
    Fresh,
    /// The same request was answered before: send this again.
    Replay { status: u16, body: Vec<u8> },
    /// The same request is being processed right now.
    InProgress,
    /// The key was used with another request.
    Mismatch,
}

/// An organization's settings and catalog as of one generation (see [`Store::org_snapshot`]).
#[derive(Debug, Clone)]
pub struct OrgSnapshot {
    pub generation: i64,
    pub settings: OrgSettings,
    pub catalog: Vec<CatalogSkill>,
    /// The organization's API clients: a client's changes move the generation too.
    pub clients: Vec<ClientGrant>,
}

/// A client's rate-limit bucket after requests took from it (see [`Store::take_tokens`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenTake {
    /// How many of the tokens wanted were taken.
    pub granted: u64,
    /// How many more were taken for requests yet to come (see [`Store::take_tokens`]).
    pub ahead: u64,
    /// Tokens left afterwards; fractional, as the bucket refills continuously.
    pub tokens: f64,
}

/// The result of a settings update whose new scale would strand stored proficiencies: how
/// many of the organization's assignments fall below its min and above its max, and the
/// lowest and highest proficiency the organization stores (what a refusal can offer instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stranded {
    pub below_min: i64,
    pub above_max: i64,
    pub lowest: i64,
    pub highest: i64,
}

// People and sessions: the console's users and their signed-in sessions (see
// `per_backend/users.rs`).

pub use skillgrid_core::people::Role;

/// A person who signs in to the console, in one organization.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    /// Argon2id, in the PHC string format.
    pub password_hash: String,
    /// The password was given to the user (a one-time password): they must choose their own
    /// before anything else.
    pub must_change_password: bool,
    /// A disabled user cannot sign in, and has no sessions.
    pub active: bool,
    /// The API client, of the user's organization, that the user's changes are recorded under
    /// in the audit trail: made with the user, it holds no scopes and no usable secret.
    pub client_id: ClientId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for UserRecord {
    // Even a hash of a password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("must_change_password", &self.must_change_password)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// A user to create.
#[derive(Clone)]
pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    /// A new password hash, and whether it must be changed at the next sign-in.
    pub password: Option<(String, bool)>,
    /// Disabling a user ends every session of theirs in the same transaction.
    pub active: Option<bool>,
    /// With a new password: the session (by its token's hash) that stays; every other session
    /// of the user ends in the same transaction, so a password changed because it leaked
    /// also signs out whoever used it.
    pub keep_session: Option<[u8; 32]>,
}

/// A session to start. Only a hash of the session's token is stored: a copy of the database
/// signs nobody in.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the token the browser holds.
    pub token_hash: [u8; 32],
    pub user_id: Uuid,
    pub org_id: OrgId,
    /// The anti-forgery token every state-changing request of the session must carry.
    pub csrf_token: String,
    pub now: Timestamp,
    /// The session ends when unused this long (milliseconds)...
    pub idle_ms: i64,
    /// ...and at this time whatever happens.
    pub absolute_expires_at: Timestamp,
}

/// A live session and its user, as each request made with it sees them.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub idle_expires_at: Timestamp,
    pub absolute_expires_at: Timestamp,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database does.
    async fn ping(&self) -> Result<()>;

    /// Commits a small write that takes new space and gives it back: [`StoreError::Full`]
    /// while writes fail for lack of space, `Ok` once they can succeed again.
    async fn probe_write(&self) -> Result<()>;

    /// The sizes in bytes of the files that hold the database on this machine, by name (such
    /// as `database` and `wal`); empty when the database keeps no files here.
    fn disk_usage(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Every organization, with its settings.
    async fn list_orgs(&self) -> Result<Vec<OrgRecord>>;

    /// Deletes up to `batch` of the organization's oldest audit rows (a row holds one agent's
    /// entries of one write) recorded before `before`, stopping at the first newer one, in
    /// one short transaction; returns how many rows went. Call again while it returns `batch`.
    async fn prune_audit(&self, org: OrgId, before: Timestamp, batch: u32) -> Result<u64>;

    /// Deletes up to `batch` of the organization's oldest entries of the trails of its
    /// skills, agents, settings and console users, and of its API clients, recorded before
    /// `before`, in one short transaction; returns how many went. Call again while it returns
    /// `batch`.
    async fn prune_admin_trails(&self, org: OrgId, before: Timestamp, batch: u32) -> Result<u64>;

    /// Deletes up to `batch` idempotency keys claimed before `before`, in one short
    /// transaction; returns how many went. Call again while it returns `batch`.
    async fn prune_idempotency(&self, before: Timestamp, batch: u32) -> Result<u64>;

    /// The key that signs access tokens, created on first use and kept in the database.
    async fn signing_key(&self, fresh: Vec<u8>) -> Result<Vec<u8>>;

    async fn org_count(&self) -> Result<i64>;
    async fn create_org(&self, name: &str, settings: &OrgSettings) -> Result<OrgRecord>;
    /// By id (any case) or by name (case-insensitively).
    async fn find_org(&self, id_or_name: &str) -> Result<Option<OrgRecord>>;
    /// Creates an API client and its audit entry, in one transaction.
    async fn create_client(
        &self,
        org: OrgId,
        name: &str,
        secret_hash: &str,
        scopes: &[String],
        by: &ChangedBy,
    ) -> Result<ClientRecord>;
    /// A client of any organization, by id (for the token endpoint).
    async fn find_client(&self, client_id: ClientId) -> Result<Option<ClientRecord>>;
    /// The organization's clients, oldest first.
    async fn list_clients(&self, org: OrgId, page: PageRequest) -> Result<Paged<ClientRecord>>;
    /// One client of the organization.
    async fn get_client(&self, org: OrgId, id: ClientId) -> Result<ClientRecord>;
    /// Changes a client of the organization and records the change in its audit trail, in
    /// one transaction; a change that changes nothing writes nothing.
    async fn update_client(
        &self,
        org: OrgId,
        id: ClientId,
        change: &ClientChange,
        by: &ChangedBy,
    ) -> Result<ClientRecord>;
    /// Deletes a client of the organization (refused with [`Conflict::ScopesChanged`] unless
    /// it still holds `if_scopes`, when given) and records it; returns what it was.
    async fn delete_client(
        &self,
        org: OrgId,
        id: ClientId,
        if_scopes: Option<&[String]>,
        by: &ChangedBy,
    ) -> Result<ClientRecord>;
    /// The changes to the organization's clients at or after `since`, oldest first.
    async fn client_audit(
        &self,
        org: OrgId,
        since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<Paged<ClientAuditRecord>>;
    /// Creates a webhook endpoint signing with `secret`, and its entry in the administrative
    /// audit trail, in one transaction.
    async fn create_webhook(
        &self,
        org: OrgId,
        new: &skillgrid_core::model::NewWebhook,
        secret: &skillgrid_core::webhooks::signing::WebhookSecret,
        by: &ChangedBy,
    ) -> Result<WebhookRecord>;
    /// The organization's webhooks, oldest first.
    async fn list_webhooks(&self, org: OrgId, page: PageRequest) -> Result<Paged<WebhookRecord>>;
    /// One webhook of the organization.
    async fn get_webhook(&self, org: OrgId, id: WebhookId) -> Result<WebhookRecord>;
    /// Changes a webhook of the organization (a patch, a rotation, a replay, the server
    /// disabling it) with its audit entry, in one transaction; a change that changes nothing
    /// writes nothing.
    async fn update_webhook(
        &self,
        org: OrgId,
        id: WebhookId,
        change: &WebhookChange,
        by: &ChangedBy,
    ) -> Result<WebhookRecord>;
    /// Deletes a webhook of the organization and its delivery attempts, and records it;
    /// returns what it was.
    async fn delete_webhook(
        &self,
        org: OrgId,
        id: WebhookId,
        by: &ChangedBy,
    ) -> Result<WebhookRecord>;
    /// A webhook's delivery attempts, newest first.
    async fn webhook_deliveries(
        &self,
        org: OrgId,
        id: WebhookId,
        page: PageRequest,
    ) -> Result<Paged<DeliveryRecord>>;
    /// Records one attempt to deliver an event to a webhook of the organization.
    async fn record_webhook_delivery(
        &self,
        org: OrgId,
        id: WebhookId,
        delivery: &DeliveryRecord,
    ) -> Result<()>;
    /// Takes, for `owner` until `until`, the due webhook (active, with events after its
    /// cursor, its next attempt's time come, held by no live lease) waiting longest, of any
    /// organization: what a dispatcher delivers next. Two processes never hold one webhook.
    async fn claim_webhook(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<ClaimedWebhook>>;
    /// Extends `owner`'s lease of the webhook to `until` and reads it again; `None` when the
    /// lease was lost or the webhook disabled or deleted.
    async fn renew_webhook_lease(
        &self,
        id: WebhookId,
        owner: &str,
        until: Timestamp,
    ) -> Result<Option<ClaimedWebhook>>;
    /// Lets go of every webhook `owner` holds (a dispatcher stopping); how many.
    async fn release_webhook_leases(&self, owner: &str) -> Result<u64>;
    /// Records a dispatcher's attempts (none, one, or a run of deliveries) and moves the
    /// webhook on as `progress` says, in one transaction; the webhook only while `owner` holds
    /// it and its cursor is still `from`, and a delivery only while the webhook is active
    /// (false otherwise: a lost lease, a replay or a disabled endpoint moves nothing).
    async fn webhook_progress(
        &self,
        id: WebhookId,
        owner: &str,
        from: i64,
        attempts: &[DeliveryRecord],
        progress: &Progress,
    ) -> Result<bool>;
    /// Deletes up to `batch` of the oldest attempts to deliver to the organization's webhooks
    /// made before `before`; returns how many went.
    async fn prune_webhook_deliveries(
        &self,
        org: OrgId,
        before: Timestamp,
        batch: u32,
    ) -> Result<u64>;
    /// An organization and its first client in one transaction: the first start's
    /// `default` + `bootstrap`, so a process killed in between leaves neither.
    async fn create_org_with_client(
        &self,
        org_name: &str,
        settings: &OrgSettings,
        client_name: &str,
        secret_hash: &str,
        scopes: &[String],
        by: &ChangedBy,
    ) -> Result<(OrgRecord, ClientRecord)>;

    async fn settings(&self, org: OrgId) -> Result<OrgSettings>;
    /// The organization's generation: it grows with every committed change to its settings,
    /// skills or API clients (database triggers make it in the change's transaction).
    async fn org_generation(&self, org: OrgId) -> Result<i64>;
    /// The organization's settings and catalog with their generation, read in one snapshot.
    async fn org_snapshot(&self, org: OrgId) -> Result<OrgSnapshot>;
    /// Stores `new` unless stored proficiencies fall outside its scale, made on the database
    /// directly: [`Store::update_settings_by`] with no client.
    async fn update_settings(&self, org: OrgId, new: &OrgSettings) -> Result<Result<(), Stranded>> {
        let by = ChangedBy::direct("admin-cli", Timestamp::now());
        self.update_settings_by(org, new, &by).await
    }
    /// Stores `new` unless stored proficiencies fall outside its scale, with its entry in the
    /// administrative audit trail (when it changed anything) in the same transaction.
    async fn update_settings_by(
        &self,
        org: OrgId,
        new: &OrgSettings,
        by: &ChangedBy,
    ) -> Result<Result<(), Stranded>>;
    /// The changes to the organization's skills, agents, settings and console users at or
    /// after `since`, oldest first.
    async fn admin_audit(
        &self,
        org: OrgId,
        since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<Paged<AdminAuditRecord>>;
    /// The administrative audit trail as `f` filters it, newest first, before position
    /// `page.after`: one statement.
    async fn admin_feed(
        &self,
        org: OrgId,
        f: &AdminFilter,
        page: PageRequest,
    ) -> Result<Paged<AdminAuditRecord>>;

    /// Every skill of the organization, for validating assignments.
    async fn catalog(&self, org: OrgId) -> Result<Vec<CatalogSkill>>;
    async fn list_skills(
        &self,
        org: OrgId,
        f: &SkillFilter,
        page: PageRequest,
    ) -> Result<Paged<SkillRecord>>;
    async fn get_skill(&self, org: OrgId, id: SkillId) -> Result<SkillRecord>;
    /// [`Store::create_skill_by`] on the database directly (no client).
    async fn create_skill(
        &self,
        org: OrgId,
        new: &NewSkill,
        now: Timestamp,
    ) -> Result<SkillRecord> {
        self.create_skill_by(org, new, &ChangedBy::direct("admin-cli", now))
            .await
    }
    /// Creates a skill, with its entry in the administrative audit trail, in one transaction.
    async fn create_skill_by(
        &self,
        org: OrgId,
        new: &NewSkill,
        by: &ChangedBy,
    ) -> Result<SkillRecord>;
    /// [`Store::update_skill_by`] on the database directly (no client).
    async fn update_skill(
        &self,
        org: OrgId,
        id: SkillId,
        patch: &SkillPatch,
        now: Timestamp,
    ) -> Result<SkillRecord> {
        self.update_skill_by(org, id, patch, &ChangedBy::direct("admin-cli", now))
            .await
    }
    /// Changes a skill, with its entry in the administrative audit trail, in one
    /// transaction; a patch that changes nothing writes nothing.
    async fn update_skill_by(
        &self,
        org: OrgId,
        id: SkillId,
        patch: &SkillPatch,
        by: &ChangedBy,
    ) -> Result<SkillRecord>;
    /// [`Store::delete_skill_by`] on the database directly (no client).
    async fn delete_skill(&self, org: OrgId, id: SkillId) -> Result<()> {
        let by = ChangedBy::direct("admin-cli", Timestamp::now());
        self.delete_skill_by(org, id, &by).await
    }
    /// Deletes a skill no agent holds, with its `skill.deleted` event, in one transaction.
    async fn delete_skill_by(&self, org: OrgId, id: SkillId, by: &ChangedBy) -> Result<()>;

    /// The organization's events after sequence number `after`, in sequence order, at most
    /// `limit`; only those of `types` when given. What the event feed, its stream and a
    /// webhook dispatcher read.
    async fn events_after(
        &self,
        org: OrgId,
        after: i64,
        limit: u32,
        types: Option<&[EventType]>,
    ) -> Result<Vec<EventRecord>>;
    /// Every organization that has had an event, with the sequence number of its latest:
    /// how a dispatcher or a stream finds which organizations have new events, one statement.
    async fn event_heads(&self) -> Result<Vec<(OrgId, i64)>>;
    /// Deletes up to `batch` of the organization's oldest events that occurred before
    /// `before`; returns how many went. Call again while it returns `batch`.
    async fn prune_events(&self, org: OrgId, before: Timestamp, batch: u32) -> Result<u64>;
    /// Every skill of the organization, active or not, by name (case-insensitively), each
    /// with how many agents hold it: one statement.
    async fn skill_holder_counts(&self, org: OrgId) -> Result<Vec<SkillHolders>>;

    async fn list_agents(
        &self,
        org: OrgId,
        f: &AgentFilter,
        page: PageRequest,
    ) -> Result<Paged<AgentRecord>>;
    async fn get_agent(&self, org: OrgId, id: AgentId) -> Result<AgentRecord>;
    /// The organization's agents among `ids`, in no order; an id of no agent of the
    /// organization is left out.
    async fn agents_by_ids(&self, org: OrgId, ids: &[AgentId]) -> Result<Vec<AgentRecord>>;
    /// [`Store::create_agent_by`] on the database directly (no client).
    async fn create_agent(
        &self,
        org: OrgId,
        new: &NewAgent,
        now: Timestamp,
    ) -> Result<AgentRecord> {
        self.create_agent_by(org, new, &ChangedBy::direct("admin-cli", now))
            .await
    }
    /// Creates an agent, with its entry in the administrative audit trail, in one transaction.
    async fn create_agent_by(
        &self,
        org: OrgId,
        new: &NewAgent,
        by: &ChangedBy,
    ) -> Result<AgentRecord>;
    /// [`Store::update_agent_by`] on the database directly (no client).
    async fn update_agent(
        &self,
        org: OrgId,
        id: AgentId,
        patch: &AgentPatch,
        now: Timestamp,
    ) -> Result<AgentRecord> {
        self.update_agent_by(org, id, patch, &ChangedBy::direct("admin-cli", now))
            .await
    }
    /// Changes an agent, with its entry in the administrative audit trail, in one
    /// transaction; a patch that changes nothing writes nothing.
    async fn update_agent_by(
        &self,
        org: OrgId,
        id: AgentId,
        patch: &AgentPatch,
        by: &ChangedBy,
    ) -> Result<AgentRecord>;

    /// Creates or updates many agents of the organization, each matched by its email
    /// (case-insensitively; the caller sends an email at most once): in one transaction,
    /// with set-based statements, each change in the administrative audit trail with its
    /// `agent.created` or `agent.updated` event. `dry_run`: the outcomes, nothing written.
    async fn upsert_agents(
        &self,
        org: OrgId,
        agents: &[UpsertAgent],
        dry_run: bool,
        by: &ChangedBy,
    ) -> Result<Vec<Upserted>>;

    /// How long the client's access tokens last, in seconds, when it has its own lifetime
    /// (else the default hour).
    async fn client_token_lifetime(&self, client: ClientId) -> Result<Option<i64>>;
    /// Gives the client of the organization its own token lifetime (`None`: the default).
    async fn set_client_token_lifetime(
        &self,
        org: OrgId,
        client: ClientId,
        seconds: Option<i64>,
    ) -> Result<()>;
    /// What SCIM keeps of the organization's agents (see [`ScimUserRecord`]).
    async fn scim_users(&self, org: OrgId) -> Result<Vec<ScimUserRecord>>;
    /// What SCIM keeps of one agent, if anything.
    async fn scim_user(&self, org: OrgId, agent: AgentId) -> Result<Option<ScimUserRecord>>;
    /// The SCIM User of this userName (any case), if any.
    async fn scim_user_named(&self, org: OrgId, user_name: &str) -> Result<Option<ScimUserRecord>>;

    /// Makes an agent what a SCIM User asks, in one transaction: creates it or finds it, patches
    /// it (with its entry in the administrative audit trail), writes its own skills (with their
    /// audit entries and events, as `ctx` says) and records what SCIM keeps of the User. A
    /// userName another agent has is [`Conflict::Taken`]`(`[`Unique::UserName`]`)`, an email
    /// another agent has `Taken(AgentEmail)`, an unknown agent [`StoreError::NotFound`]; each
    /// writes nothing.
    async fn scim_write_user(
        &self,
        org: OrgId,
        ctx: &WriteContext,
        by: &ChangedBy,
        write: &ScimUserWrite<'_>,
    ) -> Result<ScimUserWritten>;

    /// The organization's SCIM Groups, in creation order.
    async fn scim_groups(&self, org: OrgId) -> Result<Vec<ScimGroupRecord>>;
    /// One SCIM Group of the organization ([`StoreError::NotFound`] if none).
    async fn scim_group(&self, org: OrgId, id: Uuid) -> Result<ScimGroupRecord>;
    /// Creates or changes a SCIM Group, and in the same transaction its members' skills (with
    /// their audit entries and events, as `ctx` says): each member holds every skill of its
    /// groups at the highest proficiency of its groups and its own assignment; what a group no
    /// longer gives goes back to the agent's own assignment, or away.
    async fn scim_save_group(
        &self,
        org: OrgId,
        ctx: &WriteContext,
        save: &ScimGroupSave<'_>,
    ) -> Result<ScimGroupRecord>;
    /// Deletes a SCIM Group; its members keep only what their own assignments and other groups
    /// give, in the same transaction.
    async fn scim_delete_group(
        &self,
        org: OrgId,
        ctx: &WriteContext,
        id: Uuid,
        if_version: Option<i64>,
    ) -> Result<()>;
    /// The SCIM Groups an agent is a member of: (id, displayName).
    async fn agent_groups(&self, org: OrgId, agent: AgentId) -> Result<Vec<(Uuid, String)>>;
    /// Where the agent's skills come from (see [`AgentLayers`]).
    async fn agent_layers(&self, org: OrgId, agent: AgentId) -> Result<AgentLayers>;

    /// A page of the console's grid: at most `limit` agents as `f` filters and sorts them,
    /// from `at` (the first page without), with their versions and their assignments of the
    /// organization's active skills, read in one snapshot.
    async fn agent_grid(
        &self,
        org: OrgId,
        f: &GridFilter,
        at: Option<GridCursor>,
        limit: u32,
    ) -> Result<GridPage>;
    /// The ids of the agents `f` matches, in the grid's order, after the agent with the key
    /// `after` (from the first without): at most `limit`, and the key to continue after.
    async fn agent_grid_ids(
        &self,
        org: OrgId,
        f: &GridFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<GridIds>;
    /// One agent's skills and version, read in one snapshot.
    async fn agent_skills(&self, org: OrgId, agent: AgentId) -> Result<AgentSkillSet>;
    /// The organization's generation (see [`Store::org_generation`]) and one agent's skills,
    /// read together: a GET of the set checks its caller against the organization as it
    /// stands in the same round trip. `NotFound` when the organization does not exist, `None`
    /// when it has no such agent. Both backends read the two in one statement, so one
    /// snapshot.
    async fn agent_skills_at_generation(
        &self,
        org: OrgId,
        agent: AgentId,
    ) -> Result<(i64, Option<AgentSkillSet>)> {
        let generation = self.org_generation(org).await?;
        match self.agent_skills(org, agent).await {
            Ok(set) => Ok((generation, Some(set))),
            Err(StoreError::NotFound) => Ok((generation, None)),
            Err(e) => Err(e),
        }
    }
    /// Applies skill-set writes to one or many agents in one transaction, with their audit
    /// entries; see [`WriteOptions`] for dry runs and atomicity, and the [`write`](crate::write)
    /// module for where the items come from and where their outcomes may go.
    async fn write(&self, request: WriteRequest<'_>) -> Result<Written>;
    /// [`Store::write`] of the items of a slice, with no sink.
    async fn write_skill_sets(
        &self,
        org: OrgId,
        ctx: &WriteContext,
        items: &[AgentWrite],
        opts: WriteOptions,
    ) -> Result<WriteResult> {
        let request = WriteRequest::new(org, ctx, Items::Slice(items), opts);
        let written = self.write(request).await?;
        // A slice has no producer to refuse it: its write is always kept.
        written
            .result
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("a slice's write was dropped")))
    }
    /// The agent's audit entries, newest first.
    async fn agent_history(
        &self,
        org: OrgId,
        agent: AgentId,
        page: PageRequest,
    ) -> Result<Paged<AuditRecord>>;

    /// Version and state of the given agents of the organization (missing ones are absent).
    async fn agent_states(
        &self,
        org: OrgId,
        ids: &[AgentId],
    ) -> Result<HashMap<AgentId, AgentState>>;
    /// Who holds a skill, in agent order.
    async fn skill_holders(
        &self,
        org: OrgId,
        skill: SkillId,
        page: PageRequest,
    ) -> Result<Paged<SkillHolderRecord>>;
    /// Every assignment of the organization as of one moment, read on a connection of its
    /// own and handed over a part at a time (see [`export`]).
    async fn export(&self, org: OrgId, options: ExportOptions) -> Result<Export>;
    /// The organization's audit entries at or after `since`, oldest first.
    async fn audit_log(
        &self,
        org: OrgId,
        since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<Paged<AuditRecord>>;

    /// The organization's audit entries as `f` filters them, newest first, before position
    /// `page.after`: one statement. A page filtered by skill may hold fewer than `page.limit`
    /// entries and still have a next one (the rows read named the skill in other entries).
    async fn audit_feed(
        &self,
        org: OrgId,
        f: &AuditFilter,
        page: PageRequest,
    ) -> Result<Paged<AuditRecord>>;

    /// Claims `key` for a request with `fingerprint` (pruning keys older than 24 hours).
    async fn idempotency_begin(
        &self,
        org: OrgId,
        client: ClientId,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<IdempotencyBegin>;
    /// Stores the answer of a claimed key for replay.
    async fn idempotency_complete(
        &self,
        org: OrgId,
        client: ClientId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()>;
    /// Releases a claimed key whose request failed.
    async fn idempotency_abandon(&self, org: OrgId, client: ClientId, key: &str) -> Result<()>;

    /// Takes up to `wanted` whole tokens (one per request) from `client`'s bucket of
    /// `limit.burst` tokens, refilled at `limit.requests_per_minute`, kept in the database
    /// where every process on it takes from the same bucket; one round trip. Once all
    /// `wanted` are taken, up to `ahead` more are, for the caller's requests yet to come, but
    /// at most a quarter of what is then left. A bucket last used with other sizes starts
    /// full. `None` when this store keeps no buckets (one process serves it): the caller then
    /// counts in its own process.
    async fn take_tokens(
        &self,
        client: ClientId,
        limit: &RateLimit,
        wanted: u64,
        ahead: u64,
    ) -> Result<Option<TokenTake>> {
        let _ = (client, limit, wanted, ahead);
        Ok(None)
    }

    // People and sessions.

    /// Creates a user of the organization, the API client their changes are recorded under,
    /// and the entries of both in the audit trails, in one transaction; an e-mail taken in the organization (case-insensitively) is
    /// [`Conflict::Taken`]`(`[`Unique::UserEmail`]`)`.
    async fn create_user(&self, org: OrgId, new: &NewUser, by: &ChangedBy) -> Result<UserRecord>;
    /// A user of the organization by e-mail, case-insensitively.
    async fn find_user(&self, org: OrgId, email: &str) -> Result<Option<UserRecord>>;
    async fn get_user(&self, org: OrgId, id: Uuid) -> Result<UserRecord>;
    /// The organization's users, oldest first.
    async fn list_users(&self, org: OrgId) -> Result<Vec<UserRecord>>;
    /// Changes a user; disabling them deletes their sessions in the same transaction, and a
    /// new password every session but [`UserChange::keep_session`].
    async fn update_user(
        &self,
        org: OrgId,
        id: Uuid,
        change: &UserChange,
        now: Timestamp,
    ) -> Result<UserRecord> {
        self.update_user_by(org, id, change, &ChangedBy::direct("admin-cli", now))
            .await
    }
    /// [`Store::update_user`] by `by`: a change to the user's role or state is recorded in the
    /// administrative audit trail in the same transaction (a new password alone is not).
    async fn update_user_by(
        &self,
        org: OrgId,
        id: Uuid,
        change: &UserChange,
        by: &ChangedBy,
    ) -> Result<UserRecord>;
    /// Starts a session (and deletes every expired one).
    async fn create_session(&self, new: &NewSession) -> Result<()>;
    /// The live session whose token hashes to `token_hash`, of an active user, as of `now`;
    /// using it moves its idle expiry to `now + idle_ms` (never past its absolute expiry).
    async fn session(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
        idle_ms: i64,
    ) -> Result<Option<SessionRecord>>;
    /// Ends a session; ending one that is gone is no error.
    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()>;
}

/// What [`open_with`] does with a database that holds no skillgrid tables yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Create it (a missing SQLite file) and set it up: how a server starts on a new database.
    Create,
    /// Refuse with [`NoDatabase`], creating nothing: a command that means to change the
    /// server's database must not fill a new, empty one that nothing reads.
    Refuse,
}

/// [`open_with`] found no skillgrid database where the URL points and was told not to make one.
#[derive(Debug, thiserror::Error)]
pub enum NoDatabase {
    /// The absolute path of a SQLite file that does not exist.
    #[error("no database file at {}", .0.display())]
    NoFile(std::path::PathBuf),
    /// A SQLite file that exists but was never set up by skillgrid (empty, or another program's).
    #[error("the SQLite file {} holds no skillgrid database", .0.display())]
    NotSkillgrid(std::path::PathBuf),
    /// An in-memory or temporary SQLite database: empty when opened, gone when closed.
    #[error("an in-memory SQLite database holds no skillgrid database")]
    InMemory,
    /// The name of a PostgreSQL database without skillgrid's tables.
    #[error("the PostgreSQL database `{0}` holds no skillgrid tables")]
    Unmigrated(String),
}

/// Bounds a server sets on its store beyond the defaults (see docs/OPERATIONS.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bounds {
    /// SQLite: the most bytes the database file may take (rounded down to whole pages); a
    /// write that would need more fails with [`StoreError::Full`], as on a full disk. `None`:
    /// as much as the disk holds. PostgreSQL manages its own files and ignores it.
    pub max_database_bytes: Option<u64>,
}

/// Opens the store a database URL names, creating and setting up a new database if needed.
pub async fn open(url: &str) -> anyhow::Result<DynStore> {
    open_with(url, IfMissing::Create).await
}

/// Opens the store a database URL names; `if_missing` says what happens when there is no
/// skillgrid database there yet. An existing one is brought up to date either way.
pub async fn open_with(url: &str, if_missing: IfMissing) -> anyhow::Result<DynStore> {
    open_bounded(url, if_missing, Bounds::default()).await
}

/// [`open_with`] under `bounds`.
pub async fn open_bounded(
    url: &str,
    if_missing: IfMissing,
    bounds: Bounds,
) -> anyhow::Result<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteStore::open_bounded(url, if_missing, bounds).await?,
        ))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(
            postgres::PgStore::open_with(url, if_missing).await?,
        ))
    } else {
        anyhow::bail!("unsupported database URL `{url}`: expected sqlite://PATH or postgres://…")
    }
}
