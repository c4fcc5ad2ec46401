//! The store's scenarios, written once against the `Store` trait. Both backends' test
//! binaries compile this suite (`sqlite.rs` and `postgres.rs` include it with `#[path]`), and
//! each runs every scenario on a database of its own kind ([`db::TestDb`]): what the store
//! promises is checked on both from one text. Where the backends legitimately differ, the
//! scenario says so beside the check, under [`db::on_postgres`].

pub mod audit_view;
pub mod db;
pub mod helpers;

mod agents_bulk;
mod bulk;
mod catalog;
mod clients;
mod console;
mod events;
mod export;
mod generation;
mod grid;
mod grouped;
mod idempotency;
mod orgs;
mod pruning;
mod races;
mod skill_sets;
mod stranded;
mod users;
mod webhooks;
