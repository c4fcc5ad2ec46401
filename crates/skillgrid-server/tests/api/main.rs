//! Integration tests: the real server on loopback, a real SQLite file, real HTTP.

pub mod helpers;

mod admin_audit;
mod agents;
mod agents_bulk;
mod assignments;
mod auth;
mod bulk;
mod bulk_large;
mod catalog;
mod clients;
mod concurrency;
mod console;
mod console_admin;
mod console_agent;
mod console_audit;
mod console_bulk;
mod console_grid;
mod console_import;
mod console_skills;
mod errors;
mod events;
mod export;
mod foreign_routes;
mod foreign_scopes;
mod isolation;
mod scim;
mod scim_groups;
mod settings;
mod smoke;
mod strict_bodies;
mod validation;
mod warnings;
mod webhooks;
