//! The `skillgrid` binary: parses the command line and calls into the libraries.

mod cli;
mod logs;
mod memory;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use skillgrid_server::connections::parse_duration;
use skillgrid_server::{bootstrap, HttpLimits};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

/// Every allocation of Rust code (see `memory`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXAMPLES: &str = "\
Examples:
  skillgrid serve --demo
  skillgrid serve --listen 127.0.0.1:8080 --database sqlite://skillgrid.db
  skillgrid admin create-org --name acme --json
  skillgrid admin create-client --org acme --name importer --scopes \"admin:agent:read admin:agent:write\" --json
  skillgrid admin create-user --org acme --email ada@example.com --role editor

On its first start on an empty database, `serve` creates the organization `default` and the API
client `bootstrap` with every scope, and prints that client's id and secret once, to stderr.
Exchange them for a token at POST /oauth/token (grant_type=client_credentials). With --demo
it also creates the console user admin@example.com and prints its one-time password once.

The admin commands change the server's database, which must exist: run them in the server's
working directory or pass the server's --database. They refuse to create a new one unless
given --create-database.";

/// skillgrid: the admin API for contact-center agent skills.
#[derive(Parser)]
#[command(name = "skillgrid", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API.
    ///
    /// Example: skillgrid serve --listen 127.0.0.1:8080 --database sqlite://skillgrid.db --demo
    Serve(ServeArgs),
    /// Administrative commands that work on the database directly (also while a server runs).
    ///
    /// Example: skillgrid admin create-org --name acme --json
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Apply a CSV of skill assignments through the API (bulk requests, chunk by chunk).
    ///
    /// Columns: agent (id or email), skill (id or name), proficiency (number or level name,
    /// optional), effectiveDate, expirationDate (optional). JSON and NDJSON files hold bulk
    /// items ({"agentId", "skills", "remove", "ifMatch"}; ids or emails and names both work).
    /// Errors are reported as FILE:LINE: column NAME: message, each once, in line order.
    ///
    /// A file with a mistake on any row writes nothing: the whole file is checked first (here,
    /// then by the server's dry run of every chunk), and written chunk by chunk only when no row
    /// has a mistake. Each chunk is written atomically: one the server refuses at write time,
    /// because the data changed since the check (also by the file's own earlier chunks, when an
    /// agent's rows are scattered over several), is reported and writes nothing, while the
    /// other chunks are written. --no-atomic writes the rows without mistakes instead. The
    /// summary counts the rows with a mistake (failed) and those without one left unwritten
    /// (skipped). Exit codes: 0 success, 1 rows with mistakes, 2 usage or file errors, 3 server
    /// or network failure.
    ///
    /// The file is read in passes, row by row, and sent chunk by chunk, so memory does not
    /// grow with its length. With --mode replace an agent's rows must be next to each other
    /// (each agent's rows are one request item; a file sorted by agent, as `export` writes it,
    /// is).
    #[command(
        after_help = "Example: SKILLGRID_CLIENT_ID=… SKILLGRID_CLIENT_SECRET=… skillgrid apply skills.csv --mode merge --chunk 500"
    )]
    Apply(cli::ApplyArgs),
    /// Show what `apply` would change, per agent (+ added, ~ updated, - removed); writes nothing.
    #[command(after_help = "Example: skillgrid plan skills.csv --server http://127.0.0.1:8080")]
    Plan(cli::PlanArgs),
    /// Write every agent's assignments in the CSV shape `apply` reads (or, with --format json,
    /// as bulk items `apply` reads).
    ///
    /// Inactive agents and assignments of inactive skills are left out (the server refuses
    /// writes to them), so applying an export changes nothing; --include-inactive adds them.
    /// Note that `apply --mode replace` of an export removes the assignments of inactive
    /// skills, which an export leaves out and a replace cannot list.
    #[command(
        after_help = "Example: skillgrid export > skills.csv && skillgrid plan skills.csv && skillgrid apply skills.csv"
    )]
    Export(cli::ExportArgs),
    /// Check an assignment file (CSV, JSON or NDJSON) offline, without a server.
    ///
    /// Checks the columns, the types (proficiency a number or a level name, dates RFC 3339)
    /// and duplicate agent+skill rows. Errors are reported as FILE:LINE: column NAME: message.
    /// Exit codes: 0 clean, 1 problems found, 2 the file cannot be read.
    #[command(after_help = "Example: skillgrid validate skills.csv && skillgrid apply skills.csv")]
    Validate(cli::ValidateArgs),
    /// List, create, update and deactivate skills of the catalog.
    #[command(
        subcommand,
        after_help = "Example: skillgrid skills create --name Billing --description \"Invoices and refunds\""
    )]
    Skills(cli::SkillsCommand),
    /// List, create, update and deactivate agents.
    #[command(
        subcommand,
        after_help = "Example: skillgrid agents create --email ana@example.com --name \"Ana Lima\""
    )]
    Agents(cli::AgentsCommand),
    /// A bare axum hello-world on this binary's runtime: the benchmark's HTTP ceiling.
    #[command(hide = true)]
    HelloWorld {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: String,
    },
}

/// Where `serve` and the admin commands find the database unless told otherwise: the same
/// place, so that run in one directory they work on one database.
const DATABASE_ENV: &str = "SKILLGRID_DATABASE_URL";
const DEFAULT_DATABASE: &str = "sqlite://skillgrid.db";

#[derive(Args)]
struct Database {
    /// Database URL: sqlite://PATH (relative to the working directory; created if missing) or
    /// postgres://USER@HOST/DB (its tables are created on the first start).
    #[arg(long, env = DATABASE_ENV, default_value = DEFAULT_DATABASE)]
    database: String,
}

/// The database of an admin command: the server's, which must exist already.
#[derive(Args)]
struct AdminDatabase {
    /// The server's database: sqlite://PATH (relative to the working directory, so run the
    /// command where the server runs, or give the full path: sqlite:///path/to/skillgrid.db)
    /// or postgres://USER@HOST/DB. It must exist; see --create-database.
    #[arg(long, env = DATABASE_ENV, default_value = DEFAULT_DATABASE)]
    database: String,
    /// Create the database if there is none (a new SQLite file, or skillgrid's tables in an
    /// empty PostgreSQL database) instead of refusing. Without it, a wrong or missing
    /// --database is an error rather than a new, empty database the server never reads.
    #[arg(long)]
    create_database: bool,
}

impl AdminDatabase {
    /// Opens the database; without one (and without --create-database) the error says where
    /// it looked and how to point at the server's.
    async fn open(&self) -> anyhow::Result<skillgrid_store::DynStore> {
        use skillgrid_store::{IfMissing, NoDatabase};
        let if_missing = if self.create_database {
            IfMissing::Create
        } else {
            IfMissing::Refuse
        };
        let e = match skillgrid_store::open_with(&self.database, if_missing).await {
            Ok(store) => return Ok(store),
            Err(e) => e,
        };
        let Some(none) = e.downcast_ref::<NoDatabase>() else {
            return Err(e);
        };
        let sqlite = "run the command in the server's working directory or pass --database \
                      sqlite:///path/to/skillgrid.db";
        let (point, create) = match none {
            NoDatabase::NoFile(_) => (
                sqlite,
                "; to create a new database there, add --create-database",
            ),
            NoDatabase::NotSkillgrid(_) => (
                sqlite,
                "; to set up skillgrid's tables in that file, add --create-database",
            ),
            // Gone when the command ends: nothing to offer to create.
            NoDatabase::InMemory => (sqlite, ""),
            NoDatabase::Unmigrated(_) => (
                "pass --database postgres://USER@HOST/DB naming the server's database",
                "; to set up skillgrid's tables in that database, add --create-database",
            ),
        };
        anyhow::bail!(
            "{none}; to use the server's database, {point} (or set SKILLGRID_DATABASE_URL){create}"
        )
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the one picked is logged).
    #[arg(long, env = "SKILLGRID_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    db: Database,
    /// On an empty database, also add a small sample catalog and agents.
    #[arg(long)]
    demo: bool,
    /// SQLite: the most MiB the database file may take. Past it, writes answer 503
    /// `storage_full` as on a full disk, and reads go on. Unset: as much as the disk holds.
    #[arg(long, env = "SKILLGRID_MAX_DATABASE_MIB", value_parser = clap::value_parser!(u64).range(1..))]
    max_database_mib: Option<u64>,
    /// Seconds between two rounds of pruning (audit entries past the organization's
    /// `auditRetentionDays`, idempotency keys past 24 hours).
    #[arg(long, env = "SKILLGRID_PRUNE_EVERY_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    prune_every_secs: u64,
    /// A file of token signing keys, newest first (base64 of 32 random bytes each, one per
    /// line: the first signs, every one verifies), instead of the key kept in the database.
    /// SKILLGRID_SIGNING_KEY may hold the keys themselves instead. See docs/OPERATIONS.md.
    #[arg(long, env = "SKILLGRID_SIGNING_KEY_FILE")]
    signing_key_file: Option<std::path::PathBuf>,
    /// Failed client authentications at POST /oauth/token per client id: a burst of this many,
    /// refilled at this many a minute (429 beyond).
    #[arg(long, env = "SKILLGRID_TOKEN_FAILURES_PER_CLIENT", default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    token_failures_per_client: u32,
    /// The same, per source address (IPv6: per /64).
    #[arg(long, env = "SKILLGRID_TOKEN_FAILURES_PER_ADDRESS", default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    token_failures_per_address: u32,
    /// A console session unused this long ends (the user signs in again). [default: 30m]
    #[arg(long, env = "SKILLGRID_SESSION_IDLE", value_parser = parse_duration, value_name = "DURATION")]
    session_idle: Option<Duration>,
    /// A console session ends this long after its sign-in, however much it is used.
    /// [default: 12h]
    #[arg(long, env = "SKILLGRID_SESSION_MAX_AGE", value_parser = parse_duration, value_name = "DURATION")]
    session_max_age: Option<Duration>,
    /// Failed console sign-ins per account (organization and e-mail, whether or not it
    /// exists): a burst of this many, refilled at this many a minute (429 beyond).
    #[arg(long, env = "SKILLGRID_SIGN_IN_FAILURES_PER_ACCOUNT", default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    sign_in_failures_per_account: u32,
    /// The same, per source address (IPv6: per /64).
    #[arg(long, env = "SKILLGRID_SIGN_IN_FAILURES_PER_ADDRESS", default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    sign_in_failures_per_address: u32,
    /// Believe the X-Forwarded-Proto and X-Forwarded-For headers of a reverse proxy in front:
    /// the console's cookie is then marked Secure when the proxy was reached over HTTPS, and
    /// failed sign-ins are counted per the address the proxy saw. Only behind a proxy that
    /// sets both (and drops what clients send of them).
    #[arg(long, env = "SKILLGRID_TRUST_PROXY_HEADERS")]
    trust_proxy_headers: bool,
    /// Where each API client's rate limit is counted: `database` shares one budget between
    /// every instance on a PostgreSQL database (one database round trip per request);
    /// `process` counts in each process, so N instances allow N times the limit. SQLite is
    /// always counted in the process.
    #[arg(long, env = "SKILLGRID_RATE_LIMITS", value_enum, default_value_t = RateLimits::Database)]
    rate_limits: RateLimits,
    /// Let webhooks send to loopback and private addresses (127.0.0.0/8, ::1, 10/8,
    /// 172.16/12, 192.168/16, 100.64/10, fc00::/7), where on-premises consumers live.
    /// Link-local and cloud-metadata addresses stay refused.
    #[arg(long, env = "SKILLGRID_WEBHOOKS_ALLOW_PRIVATE")]
    webhooks_allow_private: bool,
    /// The webhook retry schedule's base: the first retry comes within it, each next one
    /// within twice the one before, up to 720 bases (an hour by default); an event is retried
    /// for 24 hours whatever the base. [default: 5s]
    #[arg(long, env = "SKILLGRID_WEBHOOK_RETRY_BASE", value_parser = parse_duration, value_name = "DURATION")]
    webhook_retry_base: Option<Duration>,
    /// Time a webhook delivery has, from connecting to the end of the answer's first
    /// kilobyte (connecting alone: at most 5 s). [default: 10s]
    #[arg(long, env = "SKILLGRID_WEBHOOK_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    webhook_timeout: Option<Duration>,
    /// How long this process holds a webhook endpoint it delivers to (renewed while it
    /// delivers); another instance takes the endpoint over this long after this one died.
    /// At least three times --webhook-timeout. [default: 30s]
    #[arg(long, env = "SKILLGRID_WEBHOOK_LEASE", value_parser = parse_duration, value_name = "DURATION")]
    webhook_lease: Option<Duration>,
    /// Webhook endpoints this process delivers to at once (each one's events in order).
    #[arg(long, env = "SKILLGRID_WEBHOOK_CONCURRENCY", default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=256))]
    webhook_concurrency: u32,
    /// Exports (GET /api/v2/agents/skills/export) this process runs at once, every
    /// organization's together; each holds a database connection while it runs (429 beyond).
    #[arg(long, env = "SKILLGRID_MAX_EXPORTS", default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_exports: u32,
    /// Exports one organization runs at once in this process (429 beyond).
    #[arg(long, env = "SKILLGRID_MAX_EXPORTS_PER_ORG", default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_exports_per_org: u32,
    #[command(flatten)]
    http: HttpFlags,
}

/// The HTTP layer's bounds (see docs/OPERATIONS.md). Durations take a unit: 500ms, 10s, 2m.
#[derive(Args)]
struct HttpFlags {
    /// Time a client has to send a request's headers, from connecting (or from the first byte
    /// of its next request on a kept-alive connection); past it the connection is closed.
    /// [default: 10s]
    #[arg(long, env = "SKILLGRID_HEADER_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    header_timeout: Option<Duration>,
    /// Time a kept-alive connection may wait, silent, for its next request. [default: 75s]
    #[arg(long, env = "SKILLGRID_IDLE_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    idle_timeout: Option<Duration>,
    /// Time a client has to send a request's body, from the end of its headers; past it the
    /// request is answered 408. [default: 30s]
    #[arg(long, env = "SKILLGRID_BODY_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    body_timeout: Option<Duration>,
    /// Connections open at once; at the cap the oldest idle one is closed for a new one.
    /// [default: the open-file limit (ulimit -n) less 128, at most 65536]
    #[arg(long, env = "SKILLGRID_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    max_connections: Option<u32>,
    /// On SIGTERM or Ctrl-C: time the requests received in full have to finish; idle
    /// connections and requests still arriving are closed at once. [default: 30s]
    #[arg(long, env = "SKILLGRID_SHUTDOWN_GRACE", value_parser = parse_duration, value_name = "DURATION")]
    shutdown_grace: Option<Duration>,
}

impl HttpFlags {
    fn limits(&self) -> HttpLimits {
        let d = HttpLimits::default();
        HttpLimits {
            header_timeout: self.header_timeout.unwrap_or(d.header_timeout),
            idle_timeout: self.idle_timeout.unwrap_or(d.idle_timeout),
            body_timeout: self.body_timeout.unwrap_or(d.body_timeout),
            max_connections: self
                .max_connections
                .map_or(d.max_connections, |n| n as usize),
            shutdown_grace: self.shutdown_grace.unwrap_or(d.shutdown_grace),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RateLimits {
    Database,
    Process,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an organization.
    ///
    /// Example: skillgrid admin create-org --name acme --json
    CreateOrg {
        /// Organization name; unique, compared case-insensitively.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: AdminDatabase,
        /// Print {"orgId", "name"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create an API client of an organization; its secret is printed once.
    ///
    /// Example: skillgrid admin create-client --org acme --name importer --scopes "admin:agent:read admin:agent:write" --json
    CreateClient {
        /// Organization id or name.
        #[arg(long)]
        org: String,
        /// A name for the client, for your own records.
        #[arg(long)]
        name: String,
        /// Space-separated scopes, e.g. "admin:skill:read admin:agent:write".
        #[arg(long)]
        scopes: String,
        /// How long the client's access tokens last, in seconds (300 to 31536000; default
        /// 3600): long for an identity provider's SCIM client, which keeps one token.
        #[arg(long, value_name = "SECONDS")]
        token_lifetime: Option<u64>,
        #[command(flatten)]
        db: AdminDatabase,
        /// Print {"clientId", "clientSecret", "orgId", "scopes"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the API clients of an organization (never their secrets).
    ///
    /// Example: skillgrid admin list-clients --org acme --json
    ListClients {
        /// Organization id or name.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: AdminDatabase,
        /// Print a JSON array of {"clientId", "name", "scopes", "active", "createdAt", "secretCreatedAt"}.
        #[arg(long)]
        json: bool,
    },
    /// Disable an API client: it gets no new token, and the tokens it holds are refused from
    /// the next request on, by every server on the database.
    ///
    /// Example: skillgrid admin disable-client --org acme --client importer
    DisableClient(ClientArgs),
    /// Enable a disabled API client again; the tokens it held before stay refused.
    ///
    /// Example: skillgrid admin enable-client --org acme --client importer
    EnableClient(ClientArgs),
    /// Give an API client a new secret, printed once; the old secret stops working, and so do
    /// the tokens issued before.
    ///
    /// Example: skillgrid admin rotate-secret --org acme --client importer --json
    RotateSecret {
        #[command(flatten)]
        client: ClientArgs,
        /// Print {"clientId", "clientSecret", "orgId", "scopes"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a user of the web console (at /console); a one-time password is printed once,
    /// to be changed at the first sign-in.
    ///
    /// Example: skillgrid admin create-user --org acme --email ada@example.com --role editor
    CreateUser {
        #[command(flatten)]
        user: UserArgs,
        /// admin (everything, including settings and API clients), editor (assignments,
        /// skills and agents) or viewer (reads only).
        #[arg(long)]
        role: skillgrid_core::people::Role,
        /// Read the first password from the first line of standard input instead of making
        /// one (it must still be changed at the first sign-in).
        #[arg(long)]
        password_stdin: bool,
        /// Print {"userId", "orgId", "email", "role", "password"} as JSON ("password" only
        /// when one was made).
        #[arg(long)]
        json: bool,
    },
    /// List the console users of an organization.
    ///
    /// Example: skillgrid admin list-users --org acme --json
    ListUsers {
        /// Organization id or name.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: AdminDatabase,
        /// Print a JSON array of {"userId", "email", "role", "active", "mustChangePassword", "createdAt"}.
        #[arg(long)]
        json: bool,
    },
    /// Disable a console user: they cannot sign in, and their sessions end at once.
    ///
    /// Example: skillgrid admin disable-user --org acme --email ada@example.com
    DisableUser(UserArgs),
    /// Enable a disabled console user again.
    ///
    /// Example: skillgrid admin enable-user --org acme --email ada@example.com
    EnableUser(UserArgs),
}

/// One console user of an organization.
#[derive(Args)]
struct UserArgs {
    /// Organization id or name.
    #[arg(long)]
    org: String,
    /// The user's e-mail (compared case-insensitively).
    #[arg(long)]
    email: String,
    #[command(flatten)]
    db: AdminDatabase,
}

/// One API client of an organization.
#[derive(Args)]
struct ClientArgs {
    /// Organization id or name.
    #[arg(long)]
    org: String,
    /// The client's id, or its name when no other client of the organization has it.
    #[arg(long)]
    client: String,
    #[command(flatten)]
    db: AdminDatabase,
}

/// Logs to stderr, buffered (see `logs`): the lines still waiting are written when the
/// returned guard is dropped, so the server keeps it until it has stopped.
fn init_tracing() -> logs::Flush<std::io::Stderr> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (lines, flush) = logs::buffered(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(lines);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        // One span per line (the request's): its list would repeat it.
        builder.json().with_span_list(false).init();
    }
    flush
}

fn main() -> ExitCode {
    // Before the runtime starts any thread (see `memory`).
    memory::limit_malloc_arenas();
    memory::tune_mimalloc();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime could not be started")
        .block_on(run())
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            let logs = init_tracing();
            let result = serve(args).await;
            // Every line logged is written before the error, if any, below.
            drop(logs);
            result
        }
        Command::Admin(cmd) => admin(cmd).await,
        Command::Apply(args) => return ExitCode::from(cli::apply(args).await),
        Command::Plan(args) => return ExitCode::from(cli::plan(args).await),
        Command::Export(args) => return ExitCode::from(cli::export(args).await),
        Command::Validate(args) => return ExitCode::from(cli::validate(args)),
        Command::Skills(cmd) => return ExitCode::from(cli::skills(cmd).await),
        Command::Agents(cmd) => return ExitCode::from(cli::agents(cmd).await),
        Command::HelloWorld { listen } => hello_world(&listen).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line with the chain of causes; never a backtrace (even with RUST_BACKTRACE
            // set), which would bury the message that says what to fix.
            eprintln!("error: {}", error_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text is already there
/// (many library errors repeat their source in their own message).
fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

async fn hello_world(listen: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("hello-world listening on {}", listener.local_addr()?);
    Ok(skillgrid_server::hello::serve_hello_world(listener).await?)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let bounds = skillgrid_store::Bounds {
        max_database_bytes: args.max_database_mib.map(|m| m.saturating_mul(1024 * 1024)),
    };
    let store = skillgrid_store::open_bounded(
        &args.db.database,
        skillgrid_store::IfMissing::Create,
        bounds,
    )
    .await?;
    if let Some(c) = bootstrap::first_start(&store).await? {
        // The only time a secret is ever printed: once, to stderr, at first start.
        eprintln!(
            "skillgrid: created organization `default` and API client `bootstrap` with every scope.\n\
             \x20 client id:     {}\n\x20 client secret: {}\n\
             Store the secret now; it is not shown again.",
            c.client_id, c.client_secret
        );
        if args.demo {
            bootstrap::demo_data(&store, c.org_id, c.client_id).await?;
            tracing::info!("added demo skills and agents to organization `default`");
            let u = bootstrap::create_user(
                &store,
                &c.org_id.to_string(),
                bootstrap::DEMO_ADMIN,
                skillgrid_core::people::Role::Admin,
                None,
            )
            .await?;
            eprintln!(
                "skillgrid: created console user `{}` (admin) in organization `default`; sign in at /console.\n\
                 \x20 e-mail:   {}\n\x20 password: {}\n\
                 Store the password now; it is not shown again, and must be changed at the first sign-in.",
                u.email,
                u.email,
                u.password.unwrap_or_default()
            );
        }
    } else if args.demo {
        tracing::info!("--demo ignored: the database is not empty");
    }
    let upkeep = skillgrid_server::upkeep::spawn(
        store.clone(),
        std::time::Duration::from_secs(args.prune_every_secs),
    );
    let console = console_options(&args);
    let options = skillgrid_server::StateOptions {
        keys: skillgrid_server::keys::KeySource::choose(
            args.signing_key_file,
            std::env::var(skillgrid_server::keys::KEY_ENV).ok(),
        )?,
        token_failures: skillgrid_server::token_guard::FailureLimits {
            per_client: args.token_failures_per_client,
            per_address: args.token_failures_per_address,
        },
        console,
        webhooks: skillgrid_core::webhooks::destination::Policy {
            allow_private: args.webhooks_allow_private,
        },
        streams: Default::default(),
        exports: skillgrid_server::ExportLimits {
            per_org: args.max_exports_per_org as usize,
            total: args.max_exports as usize,
            ..Default::default()
        },
    };
    let state = skillgrid_server::build_state_with(store, &options).await?;
    tracing::info!(source = ?options.keys, kids = ?state.keys().ids(), "token signing keys loaded");
    if args.rate_limits == RateLimits::Process {
        state.limiters().count_per_process();
    }
    let dispatch = {
        let d = skillgrid_server::dispatch::DispatchOptions::default();
        let timeout = args.webhook_timeout.unwrap_or(d.timeout);
        skillgrid_server::dispatch::DispatchOptions {
            retry_base: args.webhook_retry_base.unwrap_or(d.retry_base),
            timeout,
            connect_timeout: d.connect_timeout.min(timeout),
            concurrency: args.webhook_concurrency as usize,
            lease: args.webhook_lease.unwrap_or(d.lease),
            ..d
        }
    };
    anyhow::ensure!(
        dispatch.lease >= dispatch.timeout * 3,
        "--webhook-lease must be at least three times --webhook-timeout ({:?})",
        dispatch.timeout
    );
    let dispatcher = skillgrid_server::dispatch::spawn(state.clone(), dispatch)?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let limits = args.http.limits();
    tracing::info!(
        max_connections = limits.max_connections,
        header_timeout_s = limits.header_timeout.as_secs_f64(),
        idle_timeout_s = limits.idle_timeout.as_secs_f64(),
        body_timeout_s = limits.body_timeout.as_secs_f64(),
        shutdown_grace_s = limits.shutdown_grace.as_secs_f64(),
        "HTTP limits"
    );
    tracing::info!(%addr, "listening on http://{addr}");
    skillgrid_server::serve_with(listener, state, limits, shutdown_signal()).await?;
    upkeep.abort();
    dispatcher.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// The console's session lifetimes and sign-in limits from the flags.
fn console_options(args: &ServeArgs) -> skillgrid_server::console::ConsoleOptions {
    let d = skillgrid_server::console::ConsoleOptions::default();
    skillgrid_server::console::ConsoleOptions {
        idle: args.session_idle.unwrap_or(d.idle),
        absolute: args.session_max_age.unwrap_or(d.absolute),
        trust_proxy_headers: args.trust_proxy_headers,
        sign_in_failures: skillgrid_server::token_guard::FailureLimits {
            per_client: args.sign_in_failures_per_account,
            per_address: args.sign_in_failures_per_address,
        },
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn admin(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::CreateOrg { name, db, json } => {
            let store = db.open().await?;
            let org = bootstrap::create_org(&store, &name).await?;
            if json {
                println!("{}", serde_json::to_string(&org)?);
            } else {
                println!("created organization `{}` with id {}", org.name, org.org_id);
            }
        }
        AdminCommand::CreateClient {
            org,
            name,
            scopes,
            token_lifetime,
            db,
            json,
        } => {
            let store = db.open().await?;
            let c = bootstrap::create_client_lasting(&store, &org, &name, &scopes, token_lifetime)
                .await?;
            if json {
                println!("{}", serde_json::to_string(&c)?);
            } else {
                println!(
                    "created client `{name}`\n  client id:     {}\n  client secret: {}\n  scopes:        {}\nStore the secret now; it is not shown again.",
                    c.client_id,
                    c.client_secret,
                    c.scopes.join(" ")
                );
            }
        }
        AdminCommand::ListClients { org, db, json } => {
            let store = db.open().await?;
            let clients = bootstrap::list_clients(&store, &org).await?;
            print_list(&clients, json, |c| {
                format!(
                    "{}  {:8}  {}  [{}]  secret made {}",
                    c.client_id,
                    state(c.active),
                    c.name,
                    c.scopes.join(" "),
                    c.secret_created_at
                )
            })?;
        }
        AdminCommand::DisableClient(ClientArgs { org, client, db }) => {
            let store = db.open().await?;
            let c = bootstrap::set_client_active(&store, &org, &client, false).await?;
            println!(
                "disabled client `{}` ({}); its tokens are refused from now on",
                c.name, c.client_id
            );
        }
        AdminCommand::EnableClient(ClientArgs { org, client, db }) => {
            let store = db.open().await?;
            let c = bootstrap::set_client_active(&store, &org, &client, true).await?;
            println!("enabled client `{}` ({})", c.name, c.client_id);
        }
        AdminCommand::RotateSecret {
            client: ClientArgs { org, client, db },
            json,
        } => {
            let store = db.open().await?;
            let c = bootstrap::rotate_secret(&store, &org, &client).await?;
            if json {
                println!("{}", serde_json::to_string(&c)?);
            } else {
                println!(
                    "new secret for client {}\n  client secret: {}\nStore it now; it is not shown again. The old secret and the tokens issued with it no longer work.",
                    c.client_id, c.client_secret
                );
            }
        }
        AdminCommand::CreateUser {
            user: UserArgs { org, email, db },
            role,
            password_stdin,
            json,
        } => {
            let given = if password_stdin {
                Some(read_password_line()?)
            } else {
                None
            };
            let store = db.open().await?;
            let u = bootstrap::create_user(&store, &org, &email, role, given.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string(&u)?);
            } else {
                println!(
                    "created console user `{}` ({}) with id {}",
                    u.email, u.role, u.user_id
                );
                if let Some(p) = &u.password {
                    println!(
                        "  one-time password: {p}\nStore it now; it is not shown again. It must be changed at the first sign-in."
                    );
                }
            }
        }
        AdminCommand::ListUsers { org, db, json } => {
            let store = db.open().await?;
            let users = bootstrap::list_users(&store, &org).await?;
            print_list(&users, json, |u| {
                format!(
                    "{}  {:8}  {:6}  {}",
                    u.user_id,
                    state(u.active),
                    u.role,
                    u.email
                )
            })?;
        }
        AdminCommand::DisableUser(UserArgs { org, email, db }) => {
            let store = db.open().await?;
            let u = bootstrap::set_user_active(&store, &org, &email, false).await?;
            println!(
                "disabled console user `{}`; their sessions have ended",
                u.email
            );
        }
        AdminCommand::EnableUser(UserArgs { org, email, db }) => {
            let store = db.open().await?;
            let u = bootstrap::set_user_active(&store, &org, &email, true).await?;
            println!("enabled console user `{}`", u.email);
        }
    }
    Ok(())
}

/// What an admin command lists: the whole list as one JSON array with `json`, else a line each.
fn print_list<T: serde::Serialize>(
    items: &[T],
    json: bool,
    line: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(items)?);
    } else {
        for item in items {
            println!("{}", line(item));
        }
    }
    Ok(())
}

/// How a listing shows whether a client or user is enabled.
fn state(active: bool) -> &'static str {
    if active {
        "active"
    } else {
        "disabled"
    }
}

/// The first line of standard input, without its line ending: a password piped in, kept out
/// of the command line (and so of `ps` and shell history).
fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_session_flags_help_states_the_defaults_in_force() {
        let d = skillgrid_server::console::ConsoleOptions::default();
        let mut cli = Cli::command();
        let serve = cli.find_subcommand_mut("serve").expect("serve");
        for (flag, default, said) in [
            ("session_idle", d.idle, "30m"),
            ("session_max_age", d.absolute, "12h"),
        ] {
            let arg = serve
                .get_arguments()
                .find(|a| a.get_id() == flag)
                .expect(flag);
            let help = arg.get_long_help().or(arg.get_help()).unwrap().to_string();
            assert!(
                help.contains(&format!("[default: {said}]")),
                "{flag}: {help}"
            );
            assert_eq!(parse_duration(said), Ok(default));
        }
    }

    #[test]
    fn the_http_flags_help_states_the_defaults_in_force() {
        let d = HttpLimits::default();
        let mut cli = Cli::command();
        let serve = cli.find_subcommand_mut("serve").expect("serve");
        for (flag, default) in [
            ("header_timeout", d.header_timeout),
            ("idle_timeout", d.idle_timeout),
            ("body_timeout", d.body_timeout),
            ("shutdown_grace", d.shutdown_grace),
        ] {
            let arg = serve
                .get_arguments()
                .find(|a| a.get_id() == flag)
                .expect(flag);
            let help = arg.get_long_help().or(arg.get_help()).unwrap().to_string();
            let said = format!("[default: {}s]", default.as_secs());
            assert!(help.contains(&said), "{flag}: {help}");
            assert_eq!(
                parse_duration(&format!("{}s", default.as_secs())),
                Ok(default)
            );
        }
    }
}
