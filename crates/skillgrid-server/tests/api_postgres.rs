//! The integration suite of `tests/api/`, compiled a second time to run on PostgreSQL: one
//! parameterised suite, not a copy (see `helpers::on_postgres`).

#[path = "api/main.rs"]
mod api;

// The suite's modules name their helpers `crate::helpers`.
pub(crate) use api::helpers;
