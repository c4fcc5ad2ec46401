//! The [`Store`] implementation of both backends, for the backend's store type `This`, as a
//! table: each method names the function that does its work (of this folder or, where the
//! backends differ, of the backend) and what it runs on: the store's `read` pool, its `write`
//! pool, one transaction through `write`, or the whole store.

use super::{
    admin_trail, agents_bulk, begin_for_org, begin_write, catalog, clients, events, extra, grid,
    group, groups, keys, scim, trail, users, webhooks, Db,
};
use super::{agent_skills, agent_skills_at_generation, export, org_generation, take_tokens, write};
use crate::common::WRITE_PROBE_BYTES;
use crate::*;
use skillgrid_core::model::NewWebhook;
use skillgrid_core::webhooks::signing::WebhookSecret;

/// Runs `f` on what `on` names: the store's `read` or `write` pool, one write transaction
/// through `write` (committed when `f` succeeds), or the whole store.
macro_rules! call {
    ($store:expr, read, $($f:ident)::+, $($arg:expr),*) => {
        $($f)::+(&$store.read, $($arg),*).await
    };
    ($store:expr, write, $($f:ident)::+, $($arg:expr),*) => {
        $($f)::+(&$store.write, $($arg),*).await
    };
    ($store:expr, tx, $($f:ident)::+, $($arg:expr),*) => {{
        let mut tx = begin_write(&$store.write).await?;
        let done = $($f)::+(&mut tx, $($arg),*).await?;
        tx.commit().await?;
        Ok(done)
    }};
    ($store:expr, store, $($f:ident)::+, $($arg:expr),*) => {
        $($f)::+($store, $($arg),*).await
    };
}

/// The [`Store`] impl from its methods, each `method(arguments) -> T = on f(arguments);`: it
/// returns `Result<T>` from the function `f` of this folder or of the backend, called on what
/// `on` names (see [`call`]) and then the arguments given; then the methods written out.
macro_rules! store {
    (
        $($method:ident($($param:ident: $ty:ty),*) -> $t:ty
            = $on:ident $($f:ident)::+($($arg:expr),*);)*
        { $($own:tt)* }
    ) => {
        #[async_trait]
        impl Store for super::This {
            $(async fn $method(&self, $($param: $ty),*) -> Result<$t> {
                call!(self, $on, $($f)::+, $($arg),*)
            })*
            $($own)*
        }
    };
}

store! {
    // Reads.
    ping() -> () = read ping();
    list_orgs() -> Vec<OrgRecord> = read catalog::list_orgs();
    find_client(client_id: ClientId) -> Option<ClientRecord> = read clients::find(client_id);
    list_clients(org: OrgId, page: PageRequest) -> Paged<ClientRecord>
        = read clients::list(org, page);
    get_client(org: OrgId, id: ClientId) -> ClientRecord = read clients::get(org, id);
    client_audit(org: OrgId, since: Option<Timestamp>, page: PageRequest)
        -> Paged<ClientAuditRecord> = read clients::audit(org, since, page);
    admin_audit(org: OrgId, since: Option<Timestamp>, page: PageRequest)
        -> Paged<AdminAuditRecord> = read admin_trail::list(org, since, page);
    admin_feed(org: OrgId, f: &AdminFilter, page: PageRequest) -> Paged<AdminAuditRecord>
        = read admin_trail::feed(org, f, page);
    settings(org: OrgId) -> OrgSettings = read catalog::settings(org);
    org_generation(org: OrgId) -> i64 = store org_generation(org);
    org_snapshot(org: OrgId) -> OrgSnapshot = store org_snapshot(org);
    catalog(org: OrgId) -> Vec<CatalogSkill> = read catalog::catalog(org);
    list_skills(org: OrgId, f: &SkillFilter, page: PageRequest) -> Paged<SkillRecord>
        = read catalog::list(org, f, page);
    get_skill(org: OrgId, id: SkillId) -> SkillRecord = read catalog::get(org, id);
    skill_holders(org: OrgId, skill: SkillId, page: PageRequest) -> Paged<SkillHolderRecord>
        = read catalog::skill_holders(org, skill, page);
    export(org: OrgId, options: ExportOptions) -> Export = store export(org, options);
    list_agents(org: OrgId, f: &AgentFilter, page: PageRequest) -> Paged<AgentRecord>
        = read catalog::list(org, f, page);
    get_agent(org: OrgId, id: AgentId) -> AgentRecord = read catalog::get(org, id);
    agents_by_ids(org: OrgId, ids: &[AgentId]) -> Vec<AgentRecord>
        = read catalog::agents_by_ids(org, ids);
    agent_skills(org: OrgId, agent: AgentId) -> AgentSkillSet = store agent_skills(org, agent);
    agent_skills_at_generation(org: OrgId, agent: AgentId) -> (i64, Option<AgentSkillSet>)
        = store agent_skills_at_generation(org, agent);
    agent_grid(org: OrgId, f: &GridFilter, at: Option<GridCursor>, limit: u32) -> GridPage
        = store grid::page(org, f, at, limit);
    agent_grid_ids(org: OrgId, f: &GridFilter, after: Option<i64>, limit: u32) -> GridIds
        = store grid::ids(org, f, after, limit);
    agent_history(org: OrgId, agent: AgentId, page: PageRequest) -> Paged<AuditRecord>
        = read trail::history(org, agent, page);
    agent_states(org: OrgId, ids: &[AgentId]) -> HashMap<AgentId, AgentState>
        = read extra::agent_states(org, ids);
    audit_log(org: OrgId, since: Option<Timestamp>, page: PageRequest) -> Paged<AuditRecord>
        = read trail::audit_log(org, since, page);
    audit_feed(org: OrgId, f: &AuditFilter, page: PageRequest) -> Paged<AuditRecord>
        = read trail::feed(org, f, page);
    skill_holder_counts(org: OrgId) -> Vec<SkillHolders> = read catalog::holder_counts(org);
    events_after(org: OrgId, after: i64, limit: u32, types: Option<&[EventType]>)
        -> Vec<EventRecord> = read events::after(org, after, limit, types);
    event_heads() -> Vec<(OrgId, i64)> = read events::heads();
    scim_users(org: OrgId) -> Vec<ScimUserRecord> = read scim::all(org);
    client_token_lifetime(client: ClientId) -> Option<i64> = read scim::token_lifetime(client);
    scim_user(org: OrgId, agent: AgentId) -> Option<ScimUserRecord>
        = read scim::of_agent(org, agent);
    scim_user_named(org: OrgId, user_name: &str) -> Option<ScimUserRecord>
        = read scim::named(org, user_name);
    scim_groups(org: OrgId) -> Vec<ScimGroupRecord> = read groups::all(org);
    scim_group(org: OrgId, id: Uuid) -> ScimGroupRecord = read groups::one(org, id);
    agent_groups(org: OrgId, agent: AgentId) -> Vec<(Uuid, String)>
        = read groups::of_agent(org, agent);
    agent_layers(org: OrgId, agent: AgentId) -> AgentLayers
        = read groups::agent_layers(org, agent);

    // Writes.
    probe_write() -> () = write probe_write();
    prune_audit(org: OrgId, before: Timestamp, batch: u32) -> u64
        = write prune_audit(org, before, batch);
    prune_admin_trails(org: OrgId, before: Timestamp, batch: u32) -> u64
        = tx admin_trail::prune(org, before, batch);
    prune_idempotency(before: Timestamp, batch: u32) -> u64
        = write extra::prune_idempotency(before, batch);
    signing_key(fresh: Vec<u8>) -> Vec<u8> = write catalog::signing_key(fresh);
    org_count() -> i64 = write catalog::org_count();
    find_org(id_or_name: &str) -> Option<OrgRecord> = write catalog::find_org(id_or_name);
    create_org(name: &str, settings: &OrgSettings) -> OrgRecord
        = write catalog::insert_org(name, settings);
    create_org_with_client(org_name: &str, settings: &OrgSettings, client_name: &str,
        secret_hash: &str, scopes: &[String], by: &ChangedBy) -> (OrgRecord, ClientRecord)
        = tx clients::insert_with_org((org_name, settings), (client_name, secret_hash, scopes), by);
    create_client(org: OrgId, name: &str, secret_hash: &str, scopes: &[String], by: &ChangedBy)
        -> ClientRecord = tx clients::insert(org, name, secret_hash, scopes, by);
    update_client(org: OrgId, id: ClientId, change: &ClientChange, by: &ChangedBy) -> ClientRecord
        = write clients::update(org, id, change, by);
    delete_client(org: OrgId, id: ClientId, if_scopes: Option<&[String]>, by: &ChangedBy)
        -> ClientRecord = write clients::delete(org, id, if_scopes, by);
    update_settings_by(org: OrgId, new: &OrgSettings, by: &ChangedBy) -> Result<(), Stranded>
        = write catalog::update_settings(org, new, by);
    create_skill_by(org: OrgId, new: &NewSkill, by: &ChangedBy) -> SkillRecord
        = write catalog::create(org, new, by);
    update_skill_by(org: OrgId, id: SkillId, patch: &SkillPatch, by: &ChangedBy) -> SkillRecord
        = write catalog::update(org, id, patch, by);
    delete_skill_by(org: OrgId, id: SkillId, by: &ChangedBy) -> ()
        = write catalog::delete_skill(org, id, by);
    prune_events(org: OrgId, before: Timestamp, batch: u32) -> u64
        = write events::prune(org, before, batch);
    create_agent_by(org: OrgId, new: &NewAgent, by: &ChangedBy) -> AgentRecord
        = write catalog::create(org, new, by);
    update_agent_by(org: OrgId, id: AgentId, patch: &AgentPatch, by: &ChangedBy) -> AgentRecord
        = write catalog::update(org, id, patch, by);
    upsert_agents(org: OrgId, agents: &[UpsertAgent], dry_run: bool, by: &ChangedBy)
        -> Vec<Upserted> = write agents_bulk::upsert(org, agents, dry_run, by);
    set_client_token_lifetime(org: OrgId, client: ClientId, seconds: Option<i64>) -> ()
        = write scim::set_token_lifetime(org, client, seconds);
    scim_write_user(org: OrgId, ctx: &WriteContext, by: &ChangedBy, write: &ScimUserWrite<'_>)
        -> ScimUserWritten = write scim::write_user(org, ctx, by, write);
    scim_save_group(org: OrgId, ctx: &WriteContext, save: &ScimGroupSave<'_>) -> ScimGroupRecord
        = write groups::save(org, ctx, save);
    scim_delete_group(org: OrgId, ctx: &WriteContext, id: Uuid, if_version: Option<i64>) -> ()
        = write groups::delete(org, ctx, id, if_version);
    write(request: WriteRequest<'_>) -> Written = store write(request);
    idempotency_begin(org: OrgId, client: ClientId, key: &str, fingerprint: &str, now: Timestamp)
        -> IdempotencyBegin = write keys::begin(org, client, key, fingerprint, now);
    idempotency_complete(org: OrgId, client: ClientId, key: &str, status: u16, body: &[u8]) -> ()
        = write keys::finish(org, client, key, Some((status, body)));
    idempotency_abandon(org: OrgId, client: ClientId, key: &str) -> ()
        = write keys::finish(org, client, key, None);
    take_tokens(client: ClientId, limit: &RateLimit, wanted: u64, ahead: u64)
        -> Option<TokenTake> = store take_tokens(client, limit, wanted, ahead);

    // Webhooks.
    create_webhook(org: OrgId, new: &NewWebhook, secret: &WebhookSecret, by: &ChangedBy)
        -> WebhookRecord = tx webhooks::insert(org, new, secret, by);
    list_webhooks(org: OrgId, page: PageRequest) -> Paged<WebhookRecord>
        = read webhooks::list(org, page);
    get_webhook(org: OrgId, id: WebhookId) -> WebhookRecord = read webhooks::get(org, id);
    update_webhook(org: OrgId, id: WebhookId, change: &WebhookChange, by: &ChangedBy)
        -> WebhookRecord = write webhooks::update(org, id, change, by);
    delete_webhook(org: OrgId, id: WebhookId, by: &ChangedBy) -> WebhookRecord
        = write webhooks::delete(org, id, by);
    webhook_deliveries(org: OrgId, id: WebhookId, page: PageRequest) -> Paged<DeliveryRecord>
        = read webhooks::deliveries(org, id, page);
    record_webhook_delivery(org: OrgId, id: WebhookId, delivery: &DeliveryRecord) -> ()
        = write webhooks::record_delivery(org, id, delivery);
    claim_webhook(owner: &str, now: Timestamp, until: Timestamp) -> Option<ClaimedWebhook>
        = store webhooks::claim(owner, now, until);
    renew_webhook_lease(id: WebhookId, owner: &str, until: Timestamp) -> Option<ClaimedWebhook>
        = write webhooks::renew(id, owner, until);
    webhook_progress(id: WebhookId, owner: &str, from: i64, attempts: &[DeliveryRecord],
        progress: &Progress) -> bool = write webhooks::progress(id, owner, from, attempts, progress);
    release_webhook_leases(owner: &str) -> u64 = write webhooks::release_all(owner);
    prune_webhook_deliveries(org: OrgId, before: Timestamp, batch: u32) -> u64
        = write webhooks::prune_deliveries(org, before, batch);

    // People and sessions.
    create_user(org: OrgId, new: &NewUser, by: &ChangedBy) -> UserRecord
        = write users::create(org, new, by);
    find_user(org: OrgId, email: &str) -> Option<UserRecord> = read users::find(org, email);
    get_user(org: OrgId, id: Uuid) -> UserRecord = read users::get(org, id);
    list_users(org: OrgId) -> Vec<UserRecord> = read users::list(org);
    update_user_by(org: OrgId, id: Uuid, change: &UserChange, by: &ChangedBy) -> UserRecord
        = write users::update(org, id, change, by);
    create_session(new: &NewSession) -> () = write users::create_session(new);
    session(token_hash: &[u8; 32], now: Timestamp, idle_ms: i64) -> Option<SessionRecord>
        = store session(token_hash, now, idle_ms);
    delete_session(token_hash: &[u8; 32]) -> () = write users::delete_session(token_hash);
    {
        fn disk_usage(&self) -> Vec<(&'static str, u64)> {
            super::disk_usage(self)
        }
    }
}

/// See [`Store::ping`].
async fn ping(pool: &sqlx::Pool<Db>) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// See [`Store::prune_audit`]: in a transaction that the organization's skill-set writes wait
/// for.
async fn prune_audit(
    pool: &sqlx::Pool<Db>,
    org: OrgId,
    before: Timestamp,
    batch: u32,
) -> Result<u64> {
    extra::prune_audit(begin_for_org(pool, org).await?, before, batch).await
}

/// See [`Store::org_snapshot`]: every read in one snapshot.
async fn org_snapshot(store: &super::This, org: OrgId) -> Result<OrgSnapshot> {
    catalog::org_snapshot(super::begin_snapshot(store).await?, org).await
}

/// See [`Store::session`]: read on the read pool, its last use recorded on the write pool.
async fn session(
    store: &super::This,
    token_hash: &[u8; 32],
    now: Timestamp,
    idle_ms: i64,
) -> Result<Option<SessionRecord>> {
    users::session(&store.read, &store.write, token_hash, now, idle_ms).await
}

/// See [`Store::probe_write`]: a row of a few pages of random bytes (which no database can
/// compress away), then deleted, in one committed write.
async fn probe_write(pool: &sqlx::Pool<Db>) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('write_probe', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
    )
    .bind(
        (0..WRITE_PROBE_BYTES / 16)
            .flat_map(|_| *Uuid::new_v4().as_bytes())
            .collect::<Vec<u8>>(),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM meta WHERE key = 'write_probe'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A write of items known beforehand, with no sink: small writes are grouped, several
/// committed at once (see `crate::group`); larger ones go to the backend's `write_many`.
pub(crate) async fn write_slice(
    store: &super::This,
    org: OrgId,
    ctx: &WriteContext,
    items: &[AgentWrite],
    opts: WriteOptions,
) -> Result<WriteResult> {
    if items.len() <= crate::group::SMALL {
        let pool = store.write.clone();
        let run = |jobs| group::run(pool, jobs);
        store.group.write(org, ctx, items, opts, run).await
    } else {
        super::write_many(store, org, ctx, items, opts).await
    }
}
