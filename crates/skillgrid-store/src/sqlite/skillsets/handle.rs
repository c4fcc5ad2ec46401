//! SQLite's own handle under a sqlx connection, for the skill-set writes.
//!
//! sqlx hands every statement to a worker thread of its own; a write of thousands of rows
//! spends more on those hand-overs than on the SQL. The writes here borrow the connection's raw
//! handle instead ([`on_handle`], the one `unsafe` block of the workspace) and run rusqlite's
//! prepared statements on it. Also here: turning the foreign-key checks off for a large write
//! ([`ForeignKeysOff`]), and rusqlite's errors as the store's.

use crate::*;
use sqlx::SqliteConnection;

/// Foreign-key checks off on a connection until dropped (outside any transaction: SQLite
/// ignores the pragma inside one).
pub(super) struct ForeignKeysOff<'c>(&'c rusqlite::Connection);

impl<'c> ForeignKeysOff<'c> {
    pub(super) fn new(c: &'c rusqlite::Connection) -> Result<Self> {
        c.pragma_update(None, "foreign_keys", false)
            .map_err(sql_err)?;
        Ok(ForeignKeysOff(c))
    }
}

impl Drop for ForeignKeysOff<'_> {
    fn drop(&mut self) {
        // Checked by the caller with `foreign_keys_on`.
        let _ = self.0.pragma_update(None, "foreign_keys", true);
    }
}

/// Whether the foreign-key checks are on (false when that cannot be read).
pub(super) fn foreign_keys_on(c: &rusqlite::Connection) -> bool {
    c.pragma_query_value(None, "foreign_keys", |r| r.get::<_, bool>(0))
        .unwrap_or(false)
}

/// Runs `f` on SQLite's own handle of `conn`, wrapped by rusqlite; `long` when it blocks for a
/// while (see [`blocking`]).
pub(super) async fn on_handle<T>(
    conn: &mut SqliteConnection,
    long: bool,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T>,
) -> Result<T> {
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle();
    let run = || {
        // SAFETY: `handle` keeps the connection locked for us (sqlx's worker thread waits
        // until it is dropped) and open; the wrapper neither closes the handle nor outlives
        // this closure, and finalizes its statements when dropped.
        #[allow(unsafe_code)]
        let conn = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(sql_err)?;
        f(&conn)
    };
    let result = if long { blocking(run) } else { run() };
    drop(handle);
    result
}

/// Runs `f`, which blocks for a while, without stalling the other tasks of the runtime's
/// worker thread it runs on (when the runtime has more than one).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A rusqlite error as the store's (an error of the database, like sqlx's).
pub(in crate::sqlite) fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::from(anyhow::Error::from(e))
}
