//! The console: server-rendered pages for the people who own an organization's skill
//! assignments, signed in with a password and a session cookie, beside the JSON API.
//!
//! It is another front door onto the same rules and store: a signed-in user's requests to the
//! API are checked with the scopes of their role (see `skillgrid_core::people`), and its pages
//! change nothing the API could not.

pub mod passwords;
