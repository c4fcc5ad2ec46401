//! What the two backends do alike, written once.
//!
//! This folder is compiled once inside each backend: `sqlite` and `postgres` both include this
//! file with `#[path]`, so everything here is built against that backend's own database type
//! and the few pieces it provides (imported below from the backend's `mod.rs`), with no
//! generic bounds. SQL here numbers its parameters `$1, $2, …`, which SQLite reads too; where
//! the backends' SQL differs, the backend passes its own statement.

mod admin_trail;
mod agents_bulk;
pub(super) mod catalog;
mod clients;
pub(crate) mod events;
mod grid;
mod groups;
mod keys;
mod scim;
pub(super) mod store;
mod trail;
mod users;
mod webhooks;

// What a backend provides (in its `mod.rs`):
//
// The sqlx database, and the store `Store` is implemented for, with its `read` and `write`
// pools.
use super::{Db, This};
// Transactions: one that writes; one whose reads all see one snapshot; one that writes
// beside skill-set writes of the organization, one that no such write runs beside, and one
// for a change of its settings (the last three with the organization's key).
use super::{begin_for_org, begin_org_exclusive, begin_settings_change};
use super::{begin_snapshot, begin_write};
// The end of a select that locks the rows it reads until the transaction ends (nothing,
// where a write transaction locks the whole database).
use super::for_update;
// Deletes expired idempotency keys inside a claim's transaction.
use super::prune_expired_keys;
// Its own statements: the audit trail's reads.
use super::{skillsets::AGENT_AUDIT, skillsets::FEED, skillsets::ORG_AUDIT};
// What `Store` does differently on each backend.
use super::{
    agent_skills, agent_skills_at_generation, disk_usage, export, extra, org_generation,
    take_tokens,
};
// The rest of an event's select: where its entries come from, and the tables.
use super::EVENT_SOURCE;
// The expression of an agent `g`'s skill-set version.
use super::AGENT_VERSION;
// Skill-set writes: one agent's, many agents', a group's.
use super::{group, write, write_many};
// A skill-set write inside the caller's transaction (which holds the organization's lock):
// its connection, the organization and its key, the context, the items, the options, and
// whether they are the agents' own assignments (layered under what SCIM Groups give) or the
// effective sets a group's change decided (not layered again).
use super::write_inside;
// The assignments of a page of the grid, by key.
use super::grid_held;
