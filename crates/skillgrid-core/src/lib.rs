//! skillgrid's rules, free of I/O.
//!
//! * [`validate`]: turns raw JSON request bodies and query strings into domain types, collecting
//!   *every* problem (pointer, code, detail, expected, received, hint) before giving up;
//! * [`model`]: the validated domain types that cross into storage;
//! * [`ids`]: the ids of organizations, agents, skills and clients, each its own type;
//! * [`people`]: the console's users' roles and the API scopes each holds;
//! * [`diff`]: what a desired skill set changes against the stored one;
//! * [`timestamp`]: the one way times are parsed and printed;
//! * [`webhooks`]: the event types, how deliveries are signed, and where they may go.

pub mod csv_agents;
pub mod csv_import;
pub mod csv_records;
pub mod diff;
pub mod ids;
pub mod model;
pub mod people;
pub mod scim;
pub mod timestamp;
pub mod validate;
pub mod webhooks;

pub use skillgrid_api as api;
