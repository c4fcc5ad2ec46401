//! The state every handler shares.

use crate::auth::Keys;
use crate::ratelimit::Limiters;
use crate::slots::{SlotLimits, Slots};
use crate::token_guard::TokenGuard;
use metrics_exporter_prometheus::PrometheusHandle;
use skillgrid_api::OrgSettings;
use skillgrid_core::model::{CatalogSkill, ClientId, OrgId, SkillId};
use skillgrid_store::{ClientGrant, DynStore, OrgSnapshot, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: DynStore,
    keys: Keys,
    metrics: PrometheusHandle,
    limiters: Limiters,
    space: crate::storage::Space,
    token_guard: TokenGuard,
    /// How the console's sessions live, and its failed sign-ins limited like the token's.
    console: crate::console::ConsoleOptions,
    sign_in_guard: TokenGuard<uuid::Uuid>,
    /// Where webhooks may send deliveries (the operator's `--webhooks-allow-private`).
    webhook_policy: skillgrid_core::webhooks::destination::Policy,
    /// The last settings and catalog read of each organization, with their generation.
    orgs: Mutex<HashMap<OrgId, Arc<OrgView>>>,
    /// What wakes this process's event streams.
    events: Arc<crate::event_hub::EventHub>,
    /// The exports running, per organization, and how long one waits for a stalled client.
    exports: Arc<Slots<OrgId>>,
    export_stall: std::time::Duration,
}

/// An organization's settings and catalog as of one generation of them.
#[derive(Debug)]
pub struct OrgView {
    pub generation: i64,
    pub settings: OrgSettings,
    pub catalog: Vec<CatalogSkill>,
    /// `catalog` by skill id.
    pub by_id: HashMap<SkillId, CatalogSkill>,
    /// The organization's API clients, by id: what each request's token is checked against.
    pub clients: HashMap<ClientId, ClientGrant>,
}

impl From<OrgSnapshot> for OrgView {
    fn from(s: OrgSnapshot) -> Self {
        OrgView {
            generation: s.generation,
            settings: s.settings,
            by_id: s.catalog.iter().map(|c| (c.id, c.clone())).collect(),
            catalog: s.catalog,
            clients: s.clients.into_iter().map(|c| (c.id, c)).collect(),
        }
    }
}

impl AppState {
    /// The state `options` ask for (its key source already loaded into `keys`).
    pub fn new(
        store: DynStore,
        keys: Keys,
        metrics: PrometheusHandle,
        options: &crate::StateOptions,
    ) -> Self {
        let console = options.console;
        let exports = options.exports;
        AppState(Arc::new(Inner {
            store,
            keys,
            metrics,
            limiters: Limiters::default(),
            space: Default::default(),
            token_guard: TokenGuard::new(options.token_failures),
            sign_in_guard: TokenGuard::new(console.sign_in_failures),
            console,
            webhook_policy: options.webhooks,
            orgs: Mutex::default(),
            events: crate::event_hub::EventHub::new(options.streams),
            exports: Slots::new(SlotLimits {
                per_owner: exports.per_org,
                total: exports.total,
            }),
            export_stall: exports.stall,
        }))
    }

    pub fn webhook_policy(&self) -> skillgrid_core::webhooks::destination::Policy {
        self.0.webhook_policy
    }

    pub fn events(&self) -> &Arc<crate::event_hub::EventHub> {
        &self.0.events
    }

    /// The places of the exports running in this process, per organization.
    pub fn exports(&self) -> &Arc<Slots<OrgId>> {
        &self.0.exports
    }

    /// How long an export waits for its client to take the next part before it ends.
    pub fn export_stall(&self) -> std::time::Duration {
        self.0.export_stall
    }

    pub fn store(&self) -> &DynStore {
        &self.0.store
    }

    pub fn keys(&self) -> &Keys {
        &self.0.keys
    }

    pub fn metrics(&self) -> &PrometheusHandle {
        &self.0.metrics
    }

    pub fn limiters(&self) -> &Limiters {
        &self.0.limiters
    }

    /// Whether writes are failing for lack of space (see `crate::storage`).
    pub fn space(&self) -> &crate::storage::Space {
        &self.0.space
    }

    /// The limits of failed attempts at the token endpoint.
    pub fn token_guard(&self) -> &TokenGuard {
        &self.0.token_guard
    }

    /// How the console's sessions live.
    pub fn console(&self) -> &crate::console::ConsoleOptions {
        &self.0.console
    }

    /// The limits of failed sign-ins at the console, per account and per source address.
    pub fn sign_in_guard(&self) -> &TokenGuard<uuid::Uuid> {
        &self.0.sign_in_guard
    }

    /// The organization's settings and catalog as committed when this is called, by any
    /// process: one read of the stored generation, and a new snapshot only when it has moved
    /// since the one kept here.
    pub async fn org_view(&self, org: OrgId) -> Result<Arc<OrgView>, StoreError> {
        let generation = self.store().org_generation(org).await?;
        let kept = self.orgs().get(&org).cloned();
        if let Some(view) = kept.filter(|v| v.generation == generation) {
            return Ok(view);
        }
        let view = Arc::new(OrgView::from(self.store().org_snapshot(org).await?));
        let mut orgs = self.orgs();
        // Two requests may read snapshots at once: the later generation stays.
        if orgs
            .get(&org)
            .is_none_or(|v| v.generation <= view.generation)
        {
            orgs.insert(org, view.clone());
        }
        Ok(view)
    }

    /// The view of the organization kept here, if any, without reading the stored generation:
    /// only for a request whose route reads the generation with its data and answers only if
    /// it is still this view's (see `ratelimit::ViewToConfirm`).
    pub fn kept_org_view(&self, org: OrgId) -> Option<Arc<OrgView>> {
        self.orgs().get(&org).cloned()
    }

    fn orgs(&self) -> std::sync::MutexGuard<'_, HashMap<OrgId, Arc<OrgView>>> {
        self.0.orgs.lock().unwrap_or_else(|p| p.into_inner())
    }
}
