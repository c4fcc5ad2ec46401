//! What tells the event streams of this process that new events may be there to read: a
//! counter bumped after every write request this process answers, and by a poller that reads
//! every organization's latest sequence number now and then, for events another process on
//! the same database committed. A stream wakes on a bump and reads from the store, which
//! stays the one source of events: a bump that finds nothing costs one query.

pub use crate::slots::Refused;
use crate::slots::{Slot, SlotLimits, Slots};
use skillgrid_core::model::{ClientId, OrgId};
use skillgrid_store::DynStore;
use std::sync::{Arc, OnceLock, Weak};
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
    /// The streams open, per API client.
    open: Arc<Slots<ClientId>>,
}

/// An open stream's place, given back when it is dropped.
pub type StreamSlot = Slot<ClientId>;

impl EventHub {
    pub fn new(options: StreamOptions) -> Arc<Self> {
        Arc::new(EventHub {
            options,
            bumps: watch::channel(0).0,
            poller: OnceLock::new(),
            open: Slots::new(SlotLimits {
                per_owner: options.per_client,
                total: options.total,
            }),
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
    pub fn open_stream(&self, client: ClientId) -> Result<StreamSlot, Refused> {
        self.open.take(client)
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
