//! The [`Store`] implementation of both backends, for the backend's store type `This`. Each
//! method reads from the store's `read` pool and writes through its `write` pool; where the
//! backends differ, it calls the backend's own function of the same name (`super::…`).

use super::{
    begin_for_org, begin_write, catalog, clients, extra, group, keys, trail, users, Db,
    INSERT_AGENT,
};
use crate::common::WRITE_PROBE_BYTES;
use crate::idempotency;
use crate::*;

#[async_trait]
impl Store for super::This {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<()> {
        probe_write(&self.write).await
    }

    fn disk_usage(&self) -> Vec<(&'static str, u64)> {
        super::disk_usage(self)
    }

    async fn list_orgs(&self) -> Result<Vec<OrgRecord>> {
        catalog::list_orgs(&self.read).await
    }

    async fn prune_audit(&self, org: OrgId, before: Timestamp, batch: u32) -> Result<u64> {
        let locked = begin_for_org(&self.write, org).await?;
        extra::prune_audit(locked, before, batch).await
    }

    async fn prune_idempotency(&self, before: Timestamp, batch: u32) -> Result<u64> {
        extra::prune_idempotency(&self.write, before, batch).await
    }

    async fn signing_key(&self, fresh: Vec<u8>) -> Result<Vec<u8>> {
        catalog::signing_key(&self.write, fresh).await
    }

    async fn org_count(&self) -> Result<i64> {
        catalog::org_count(&self.write).await
    }

    async fn create_org(&self, name: &str, settings: &OrgSettings) -> Result<OrgRecord> {
        catalog::insert_org(&self.write, name, settings).await
    }

    async fn find_org(&self, id_or_name: &str) -> Result<Option<OrgRecord>> {
        catalog::find_org(&self.write, id_or_name).await
    }

    async fn create_client(
        &self,
        org: OrgId,
        name: &str,
        secret_hash: &str,
        scopes: &[String],
        by: &ChangedBy,
    ) -> Result<ClientRecord> {
        let mut tx = begin_write(&self.write).await?;
        let client = clients::insert(&mut tx, org, name, secret_hash, scopes, by).await?;
        tx.commit().await?;
        Ok(client)
    }

    async fn create_org_with_client(
        &self,
        org_name: &str,
        settings: &OrgSettings,
        client_name: &str,
        secret_hash: &str,
        scopes: &[String],
        by: &ChangedBy,
    ) -> Result<(OrgRecord, ClientRecord)> {
        let mut tx = begin_write(&self.write).await?;
        let org = catalog::insert_org(&mut *tx, org_name, settings).await?;
        let client = clients::insert(&mut tx, org.id, client_name, secret_hash, scopes, by).await?;
        tx.commit().await?;
        Ok((org, client))
    }

    async fn find_client(&self, client_id: Uuid) -> Result<Option<ClientRecord>> {
        clients::find(&self.read, client_id).await
    }

    async fn list_clients(&self, org: OrgId, page: PageRequest) -> Result<Paged<ClientRecord>> {
        clients::list(&self.read, org, page).await
    }

    async fn get_client(&self, org: OrgId, id: Uuid) -> Result<ClientRecord> {
        clients::get(&self.read, org, id).await
    }

    async fn update_client(
        &self,
        org: OrgId,
        id: Uuid,
        change: &ClientChange,
        by: &ChangedBy,
    ) -> Result<ClientRecord> {
        clients::update(&self.write, org, id, change, by).await
    }

    async fn delete_client(
        &self,
        org: OrgId,
        id: Uuid,
        if_scopes: Option<&[String]>,
        by: &ChangedBy,
    ) -> Result<ClientRecord> {
        clients::delete(&self.write, org, id, if_scopes, by).await
    }

    async fn client_audit(
        &self,
        org: OrgId,
        since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<Paged<ClientAuditRecord>> {
        clients::audit(&self.read, org, since, page).await
    }

    async fn settings(&self, org: OrgId) -> Result<OrgSettings> {
        catalog::settings(&self.read, org).await
    }

    async fn org_generation(&self, org: OrgId) -> Result<i64> {
        catalog::org_generation(&self.read, org).await
    }

    async fn org_snapshot(&self, org: OrgId) -> Result<OrgSnapshot> {
        let tx = super::begin_snapshot(self).await?;
        catalog::org_snapshot(tx, org).await
    }

    async fn update_settings(&self, org: OrgId, new: &OrgSettings) -> Result<Result<(), Stranded>> {
        catalog::update_settings(&self.write, org, new).await
    }

    async fn catalog(&self, org: OrgId) -> Result<Vec<CatalogSkill>> {
        catalog::catalog(&self.read, org).await
    }

    async fn list_skills(
        &self,
        org: OrgId,
        f: &SkillFilter,
        page: PageRequest,
    ) -> Result<Paged<SkillRecord>> {
        catalog::list_skills(&self.read, org, f, page).await
    }

    async fn get_skill(&self, org: OrgId, id: SkillId) -> Result<SkillRecord> {
        catalog::get_skill(&self.read, org, id).await
    }

    async fn create_skill(
        &self,
        org: OrgId,
        new: &NewSkill,
        now: Timestamp,
    ) -> Result<SkillRecord> {
        catalog::create_skill(&self.write, org, new, now).await
    }

    async fn update_skill(
        &self,
        org: OrgId,
        id: SkillId,
        p: &SkillPatch,
        now: Timestamp,
    ) -> Result<SkillRecord> {
        catalog::update_skill(&self.write, org, id, p, now).await
    }

    async fn delete_skill(&self, org: OrgId, id: SkillId) -> Result<()> {
        catalog::delete_skill(&self.write, org, id).await
    }

    async fn list_agents(
        &self,
        org: OrgId,
        f: &AgentFilter,
        page: PageRequest,
    ) -> Result<Paged<AgentRecord>> {
        catalog::list_agents(&self.read, org, f, page).await
    }

    async fn get_agent(&self, org: OrgId, id: AgentId) -> Result<AgentRecord> {
        catalog::get_agent(&self.read, org, id).await
    }

    async fn create_agent(
        &self,
        org: OrgId,
        new: &NewAgent,
        now: Timestamp,
    ) -> Result<AgentRecord> {
        catalog::create_agent(&self.write, INSERT_AGENT, org, new, now).await
    }

    async fn update_agent(
        &self,
        org: OrgId,
        id: AgentId,
        p: &AgentPatch,
        now: Timestamp,
    ) -> Result<AgentRecord> {
        catalog::update_agent(&self.write, org, id, p, now).await
    }

    async fn agent_skills(&self, org: OrgId, agent: AgentId) -> Result<AgentSkillSet> {
        super::agent_skills(self, org, agent).await
    }

    async fn write(&self, request: WriteRequest<'_>) -> Result<Written> {
        super::write(self, request).await
    }

    async fn agent_history(
        &self,
        org: OrgId,
        agent: AgentId,
        page: PageRequest,
    ) -> Result<Paged<AuditRecord>> {
        let pk = catalog::agent_pk(&self.read, org, agent).await?;
        trail::history(&self.read, pk, page).await
    }

    async fn agent_states(
        &self,
        org: OrgId,
        ids: &[AgentId],
    ) -> Result<HashMap<AgentId, AgentState>> {
        extra::agent_states(&self.read, org, ids).await
    }

    async fn skill_holders(
        &self,
        org: OrgId,
        skill: SkillId,
        page: PageRequest,
    ) -> Result<Paged<SkillHolderRecord>> {
        catalog::skill_holders(&self.read, org, skill, page).await
    }

    async fn audit_log(
        &self,
        org: OrgId,
        since: Option<Timestamp>,
        page: PageRequest,
    ) -> Result<Paged<AuditRecord>> {
        trail::audit_log(&self.read, org, since, page).await
    }

    async fn idempotency_begin(
        &self,
        org: OrgId,
        client: Uuid,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<IdempotencyBegin> {
        keys::begin(&self.write, org, client, key, fingerprint, now).await
    }

    async fn idempotency_complete(
        &self,
        org: OrgId,
        client: Uuid,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<()> {
        sqlx::query(idempotency::COMPLETE)
            .bind(i32::from(status))
            .bind(body)
            .bind(org.get())
            .bind(client)
            .bind(key)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn idempotency_abandon(&self, org: OrgId, client: Uuid, key: &str) -> Result<()> {
        sqlx::query(idempotency::ABANDON)
            .bind(org.get())
            .bind(client)
            .bind(key)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn take_tokens(
        &self,
        client: Uuid,
        limit: &RateLimit,
        wanted: u64,
    ) -> Result<Option<TokenTake>> {
        super::take_tokens(self, client, limit, wanted).await
    }

    // People and sessions.

    async fn create_user(&self, org: OrgId, new: &NewUser, by: &ChangedBy) -> Result<UserRecord> {
        users::create(&self.write, org, new, by).await
    }

    async fn find_user(&self, org: OrgId, email: &str) -> Result<Option<UserRecord>> {
        users::find(&self.read, org, email).await
    }

    async fn get_user(&self, org: OrgId, id: Uuid) -> Result<UserRecord> {
        users::get(&self.read, org, id).await
    }

    async fn list_users(&self, org: OrgId) -> Result<Vec<UserRecord>> {
        users::list(&self.read, org).await
    }

    async fn update_user(
        &self,
        org: OrgId,
        id: Uuid,
        change: &UserChange,
        now: Timestamp,
    ) -> Result<UserRecord> {
        users::update(&self.write, org, id, change, now).await
    }

    async fn create_session(&self, new: &NewSession) -> Result<()> {
        users::create_session(&self.write, new).await
    }

    async fn session(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
        idle_ms: i64,
    ) -> Result<Option<SessionRecord>> {
        users::session(&self.read, &self.write, token_hash, now, idle_ms).await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        users::delete_session(&self.write, token_hash).await
    }
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
