//! The state every handler shares.

use crate::auth::Keys;
use crate::ratelimit::Limiters;
use metrics_exporter_prometheus::PrometheusHandle;
use skillgrid_store::DynStore;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: DynStore,
    keys: Keys,
    metrics: PrometheusHandle,
    limiters: Limiters,
}

impl AppState {
    pub fn new(store: DynStore, keys: Keys, metrics: PrometheusHandle) -> Self {
        AppState(Arc::new(Inner {
            store,
            keys,
            metrics,
            limiters: Limiters::default(),
        }))
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
}
