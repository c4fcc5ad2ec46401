//! What tells the event streams of this process that new events may be there to read: a
//! counter bumped after every write request this process answers, and by a poller that reads
//! every organization's latest sequence number now and then, for events another process on
//! the same database committed. A stream wakes on a bump and reads from the store, which
//! stays the one source of events: a bump that finds nothing costs one query.

use skillgrid_core::model::{ClientId, OrgId};
use skillgrid_store::DynStore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// How event streams behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// How often a stream with nothing to send sends a keep-alive comment.
    pub keep_alive: Duration,
    /// How often the latest sequence numbers are read, for events committed by other
    /// processes.
    pub poll: Duration,
    /// Streams one API client may hold open at once.
    pub per_client: usize,
    /// Streams this process holds open at once.
    pub total: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            keep_alive: Duration::from_secs(15),
            poll: Duration::from_secs(1),
            per_client: 4,
            total: 256,
        }
    }
}

pub struct EventHub {
    options: StreamOptions,
    bumps: watch::Sender<u64>,
    poller: OnceLock<()>,
    open: Mutex<HashMap<ClientId, usize>>,
}

/// Why a stream could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Client(usize),
    Process(usize),
}

/// An open stream's place, given back when it is dropped.
pub struct StreamSlot {
    hub: Arc<EventHub>,
    client: ClientId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.hub.open();
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

impl EventHub {
    pub fn new(options: StreamOptions) -> Arc<Self> {
        Arc::new(EventHub {
            options,
            bumps: watch::channel(0).0,
            poller: OnceLock::new(),
            open: Mutex::default(),
        })
    }

    pub fn options(&self) -> StreamOptions {
        self.options
    }

    /// New events may have been committed.
    pub fn bump(&self) {
        self.bumps.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every later [`EventHub::bump`]; starts the poller on first use.
    pub fn subscribe(self: &Arc<Self>, store: &DynStore) -> watch::Receiver<u64> {
        self.poller.get_or_init(|| {
            tokio::spawn(poll(Arc::downgrade(self), store.clone()));
        });
        self.bumps.subscribe()
    }

    /// A place for one more stream of `client`, within the limits.
    pub fn open_stream(self: &Arc<Self>, client: ClientId) -> Result<StreamSlot, Refused> {
        let mut open = self.open();
        let total: usize = open.values().sum();
        if total >= self.options.total {
            return Err(Refused::Process(self.options.total));
        }
        let mine = open.entry(client).or_default();
        if *mine >= self.options.per_client {
            return Err(Refused::Client(self.options.per_client));
        }
        *mine += 1;
        Ok(StreamSlot {
            hub: self.clone(),
            client,
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, usize>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads the organizations' latest sequence numbers every `poll` and bumps when they moved,
/// until the hub is gone.
async fn poll(hub: Weak<EventHub>, store: DynStore) {
    let mut seen: Option<Vec<(OrgId, i64)>> = None;
    loop {
        let Some(every) = hub.upgrade().map(|h| h.options.poll) else {
            return;
        };
        tokio::time::sleep(every).await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        match store.event_heads().await {
            Ok(heads) => {
                // The first read bumps too: a stream that found nothing before it may have
                // missed what it reads.
                if seen.as_ref() != Some(&heads) {
                    hub.bump();
                }
                seen = Some(heads);
            }
            Err(e) => tracing::warn!(error = format!("{e:#}"), "reading the event heads failed"),
        }
    }
}
