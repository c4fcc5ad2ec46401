//! Wire types of the skillgrid HTTP API.
//!
//! Everything a client sees or sends travels through these types, so the server and the
//! client library agree on one shape. Requests are *validated* by `skillgrid-core` from raw
//! JSON (so every mistake can be reported at once); the request types here are what a client
//! serialises and what the validator produces once a body is known to be good.

pub mod admin_audit;
pub mod clients;
pub mod events;
pub mod problem;
pub mod requests;
pub mod resources;
pub mod settings;
pub mod webhooks;

pub use admin_audit::*;
pub use clients::*;
pub use events::*;
pub use problem::{EntryCode, ErrorEntry, Locator, Problem, ProblemCode};
pub use resources::*;
pub use settings::*;
pub use webhooks::*;
