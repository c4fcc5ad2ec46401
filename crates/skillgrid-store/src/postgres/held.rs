//! Connections held for one kind of statement that runs on many requests (the batched read
//! of agents' skills, `reads.rs`), beside the pool that serves everything else.
//!
//! A sqlx pool makes a round trip to PostgreSQL each time a connection goes back to it (a
//! `Sync` and its answer, to find the connection still usable). For a statement that is the
//! whole use of its connection, that doubled the round trips and the wake-ups of PostgreSQL's
//! backends and of the server. Here a connection whose statement succeeded goes back as it is;
//! one whose statement failed, or whose use was cancelled, is closed; one idle for a while is
//! pinged before its next use, as the pool's are (see `PgStore::open_with`).
//!
//! Their statements are planned once per connection (`plan_cache_mode`). By default
//! PostgreSQL plans a prepared statement again at each run for as long as the plans it makes
//! for the run's own values look cheaper than a plan for any values; for the batched read
//! (`reads.rs`), whose arrays' lengths it then knows, they always did, and planning took a
//! quarter of PostgreSQL's time in reads. A statement held here has one plan whatever its
//! values.

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::{Semaphore, SemaphorePermit};

pub(super) struct Held {
    options: PgConnectOptions,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    permits: Semaphore,
}

/// A held connection in use; [`Lease::keep`] gives it back, dropping it closes it.
pub(super) struct Lease<'a> {
    held: &'a Held,
    conn: Option<PgConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Held {
    /// At most `max` connections (at least one) to the database `options` names, opened as
    /// they are needed.
    pub(super) fn new(options: &PgConnectOptions, max: u32) -> Self {
        Held {
            options: options
                .clone()
                .options([("plan_cache_mode", "force_generic_plan")]),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max.max(1) as usize),
        }
    }

    /// A connection, once fewer than `max` are in use: [`sqlx::Error::PoolTimedOut`] when
    /// none could be had within [`super::CONNECTION_WAIT`], as the pool's acquire.
    pub(super) async fn take(&self) -> sqlx::Result<Lease<'_>> {
        self.take_within(super::CONNECTION_WAIT).await
    }

    async fn take_within(&self, wait: std::time::Duration) -> sqlx::Result<Lease<'_>> {
        match tokio::time::timeout(wait, self.take_now()).await {
            Ok(lease) => lease,
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    async fn take_now(&self) -> sqlx::Result<Lease<'_>> {
        let Ok(permit) = self.permits.acquire().await else {
            return Err(sqlx::Error::PoolClosed);
        };
        loop {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some((mut conn, since)) = idle else {
                let conn = PgConnection::connect_with(&self.options).await?;
                return Ok(self.lease(conn, permit));
            };
            if since.elapsed() < super::PING_AFTER_IDLE || conn.ping().await.is_ok() {
                return Ok(self.lease(conn, permit));
            }
        }
    }

    fn lease<'a>(&'a self, conn: PgConnection, permit: SemaphorePermit<'a>) -> Lease<'a> {
        Lease {
            held: self,
            conn: Some(conn),
            _permit: permit,
        }
    }
}

impl Lease<'_> {
    /// Gives the connection back for the next use: its statement ended as it should.
    pub(super) fn keep(mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.held.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.push((conn, Instant::now()));
        }
    }
}

impl Deref for Lease<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until kept")
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until kept")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A PostgreSQL that accepts connections and never answers, and every connection in use:
    /// either way, a statement waiting for a connection fails in time rather than hangs.
    #[tokio::test]
    async fn a_connection_that_cannot_be_had_in_time_is_an_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let mut accepted = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                accepted.push(socket);
            }
        });
        let url = format!("postgres://postgres@127.0.0.1:{port}/test");
        let held = Held::new(&url.parse().unwrap(), 1);
        let wait = Duration::from_millis(300);
        let r = held.take_within(wait).await;
        assert!(matches!(r, Err(sqlx::Error::PoolTimedOut)), "{:?}", r.err());
        let _busy = held.permits.acquire().await.unwrap();
        let r = held.take_within(wait).await;
        assert!(matches!(r, Err(sqlx::Error::PoolTimedOut)), "{:?}", r.err());
        silent.abort();
    }
}
