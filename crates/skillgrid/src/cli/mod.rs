//! Client commands (`apply`, `plan`, `export`, `skills`, `agents`): they talk to a running
//! server through `skillgrid-client`; and `validate`, which checks a file offline.

mod agents_import;
#[cfg(test)]
mod agreement;
mod apply;
mod csvfile;
mod dups;
mod export;
mod ledger;
mod resources;
mod validate;

pub use apply::{apply, plan, ApplyArgs, PlanArgs};
pub use export::{export, ExportArgs};
pub use resources::{agents, skills, AgentsCommand, SkillsCommand};
pub use validate::{validate, ValidateArgs};

use clap::Args;
use skillgrid_client::Client;
use uuid::Uuid;

/// An agent's or a skill's id as a user may write it: any spelling of a UUID (hyphenated, 32
/// hex digits, braced, `urn:uuid:`), where the server reads only the hyphenated form. A
/// convenience on purpose: the CLI sends every id hyphenated (a `Uuid`'s `Display`), which the
/// server accepts, so an id copied in another spelling still names its agent or skill.
fn id_of(v: &str) -> Option<Uuid> {
    Uuid::parse_str(v).ok()
}

/// Exit codes of the client commands.
pub mod exit {
    pub const OK: u8 = 0;
    /// Some rows failed.
    pub const ROWS_FAILED: u8 = 1;
    /// Usage or file errors.
    pub const USAGE: u8 = 2;
    /// Server or network failure.
    pub const SERVER: u8 = 3;

    /// [`OK`] when no row has a mistake, else [`ROWS_FAILED`].
    pub fn of_rows(errors: u64) -> u8 {
        if errors == 0 {
            OK
        } else {
            ROWS_FAILED
        }
    }
}

/// Where the server is and how to sign in.
///
/// The client id and secret are optional to clap, so that `--help` does not show them as
/// required when the environment gives them; [`ClientOpts::client`] asks for them instead.
#[derive(Args, Debug, Clone)]
pub struct ClientOpts {
    /// Server root URL.
    #[arg(
        long,
        env = "SKILLGRID_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// API client id (required, by flag or environment).
    #[arg(long, env = "SKILLGRID_CLIENT_ID")]
    pub client_id: Option<String>,
    /// API client secret (required, by flag or environment).
    #[arg(long, env = "SKILLGRID_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Machine-readable output: one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

impl ClientOpts {
    /// The client; a usage error when the id or the secret is given neither way.
    fn client(&self) -> Result<Client, u8> {
        let (Some(id), Some(secret)) = (&self.client_id, &self.client_secret) else {
            let mut missing = Vec::new();
            if self.client_id.is_none() {
                missing.push(
                    "an API client id: pass --client-id <CLIENT_ID> or set SKILLGRID_CLIENT_ID",
                );
            }
            if self.client_secret.is_none() {
                missing.push("an API client secret: pass --client-secret <CLIENT_SECRET> or set SKILLGRID_CLIENT_SECRET");
            }
            for m in missing {
                eprintln!("error: missing {m}");
            }
            return Err(exit::USAGE);
        };
        Client::builder(&self.server, id, secret)
            .build()
            .map_err(|e| {
                eprintln!("error: {e}");
                exit::USAGE
            })
    }
}

/// Reports a failure of the server or the network and gives its exit code.
fn server_failure(what: &str, e: &skillgrid_client::Error) -> u8 {
    eprintln!("error: {what}: {e}");
    exit::SERVER
}
